//! An `arena serve` in process, on a real TCP port of 127.0.0.1, with a real database (a file,
//! or PostgreSQL for the tests under `on_postgres::`),
//! a clock the test moves, and a real HTTP client.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde_json::Value;
use tempfile::TempDir;

use arena::config::{Config, Models};
use arena::server::AppState;
use arena::store::{Mode, Store};

/// A running server; stopped (gracefully) when dropped.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub runtime: tokio::runtime::Runtime,
    dir: Option<TempDir>,
    /// The PostgreSQL database of a test run on PostgreSQL.
    database: Option<String>,
    /// The engine's clock, Unix milliseconds.
    pub clock: Arc<AtomicI64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<arena::Result<()>>>,
}

impl Server {
    /// A server with the default config changed by `config` (a JSON object) and the models
    /// of `models` (any form of models.json).
    pub fn start(config: &Value, models: &Value) -> Server {
        Self::start_as(config, models, false)
    }

    /// [`Server::start`] on 127.0.0.1, but told it listens beyond this machine (as
    /// `--host 0.0.0.0` would), which tests may not do.
    pub fn start_beyond_loopback(config: &Value, models: &Value) -> Server {
        Self::start_as(config, models, true)
    }

    fn start_as(config: &Value, models: &Value, beyond_loopback: bool) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut settings = serde_json::json!({
            "user_id_salt": "0123456789abcdef0123456789abcdef-server-tests",
            "battle_interval_seconds": 0,
            "battles_per_hour": 10000,
            "max_concurrent_battles": 10000,
            "generation_timeout_seconds": 60,
        });
        if let (Some(s), Some(c)) = (settings.as_object_mut(), config.as_object()) {
            s.extend(c.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let config_path = dir.path().join("config.jsonc");
        std::fs::write(&config_path, settings.to_string()).expect("config");
        let config: Config = arena::config::load_config(&config_path).expect("a valid config");
        let models_path = dir.path().join("models.json");
        std::fs::write(&models_path, models.to_string()).expect("models");
        let models: Models = arena::config::load_models(&models_path, &config).expect("models");
        let clock = Arc::new(AtomicI64::new(arena::store::now_ms()));
        let database = crate::support::backend_database();
        let db = database.as_ref().map_or_else(
            || dir.path().join("arena.sqlite3"),
            std::path::PathBuf::from,
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (base, task) = runtime.block_on(async {
            let store = arena::store::open_with_readers(&db, Mode::Create, 4)
                .await
                .expect("store");
            // A small prompt pool: the server draws its battles' prompts from it.
            store
                .add_prompts(
                    [
                        "poetry_spring: Write a poem about spring",
                        "story_space: A short story in space",
                    ]
                    .iter()
                    .map(|p| {
                        let (id, text) = p.split_once(": ").unwrap_or((p, p));
                        arena::store::Prompt {
                            id: id.to_owned(),
                            text: text.to_owned(),
                            theme: id.split('_').next().unwrap_or("general").to_owned(),
                        }
                    })
                    .collect(),
                )
                .await
                .expect("prompts");
            let read = clock.clone();
            let engine = arena::Arena::new(store, config, models)
                .await
                .expect("engine")
                .with_clock(Arc::new(move || read.load(Ordering::SeqCst)));
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1:0");
            let base = format!("http://{}", listener.local_addr().expect("address"));
            let task = tokio::spawn(arena::server::serve(
                listener,
                if beyond_loopback {
                    AppState::new(engine).listening_on([0, 0, 0, 0].into())
                } else {
                    AppState::new(engine)
                },
                async move {
                    let _ = stopped.await;
                },
            ));
            (base, task)
        });
        Server {
            base,
            client: reqwest::Client::new(),
            runtime,
            dir: Some(dir),
            database,
            clock,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Moves the engine's clock on.
    pub fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    /// `GET path`: status and raw body.
    pub fn get(&self, path: &str) -> (u16, String) {
        self.send(self.client.get(self.url(path)))
    }

    /// `POST path` with a JSON body: status and raw body.
    pub fn post(&self, path: &str, body: &Value) -> (u16, String) {
        self.send(self.client.post(self.url(path)).json(body))
    }

    /// `POST path` with every body at once (as racing clients or retries send them):
    /// statuses and raw bodies, in the order of the bodies.
    pub fn post_at_once(
        &self,
        path: &str,
        bodies: impl IntoIterator<Item = Value>,
    ) -> Vec<(u16, String)> {
        let url = self.url(path);
        self.runtime.block_on(async {
            let calls = bodies.into_iter().map(|body| {
                let request = self.client.post(&url).json(&body);
                async move {
                    let response = request.send().await.expect("a response");
                    let status = response.status().as_u16();
                    (status, response.text().await.expect("a body"))
                }
            });
            futures_util::future::join_all(calls).await
        })
    }

    /// The battles a leaderboard (`/leaderboard` or `/v1/leaderboard`) counts over all its
    /// models: twice the votes that count.
    pub fn battles_on_board(&self, path: &str) -> u64 {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{body}");
        let board = json(&body);
        board
            .get("leaderboard")
            .unwrap_or(&board)
            .as_array()
            .unwrap_or_else(|| panic!("no rows: {body}"))
            .iter()
            .filter_map(|r| r["battles"].as_u64())
            .sum()
    }

    pub fn send(&self, request: reqwest::RequestBuilder) -> (u16, String) {
        self.runtime.block_on(async {
            let response = request.send().await.expect("a response");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a body"))
        })
    }

    /// Stops the server gracefully and waits for it; the directory of its database stays
    /// as long as the returned handle.
    pub fn stop(mut self) -> (arena::Result<()>, TempDir) {
        let stopped = self.shutdown();
        let dir = self.dir.take().expect("the directory");
        (stopped, dir)
    }

    fn shutdown(&mut self) -> arena::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => self
                .runtime
                .block_on(task)
                .unwrap_or_else(|e| Err(arena::Error::Internal(e.to_string()))),
            None => Ok(()),
        }
    }

    /// Whether the server's database is PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.database.is_some()
    }

    /// The database: its SQLite file, or the address of its PostgreSQL database.
    pub fn db(&self) -> std::path::PathBuf {
        match &self.database {
            Some(url) => std::path::PathBuf::from(url),
            None => self
                .dir
                .as_ref()
                .expect("a running server's directory")
                .path()
                .join("arena.sqlite3"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// The JSON of a body.
#[track_caller]
pub fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}
