//! The harness: [`Test`] is a temporary directory with its own database, `config.jsonc` and
//! `models.json`; [`Test::arena`] builds one run of the binary in it, and [`Outcome`] asserts on
//! what came out. Every run passes `--db`, `--config` and `--models` explicitly, runs in the
//! temporary directory with `HOME` and the XDG directories pointed inside it, and has colour
//! off, so nothing reads or writes the real user's files.

pub mod postgres;
pub mod server;
pub mod upstream;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tempfile::TempDir;

pub use upstream::{ANSI_ANSWER, Upstream, answer, refused_port};

/// The binary under test.
pub const ARENA: &str = env!("CARGO_BIN_EXE_arena");

/// The environment variable that holds the fake upstream's key in the models we write.
pub const KEY_VAR: &str = "ARENA_TEST_UPSTREAM_KEY";

/// The key itself.
pub const KEY: &str = "test-key-0123";

/// A run that takes longer than this is killed and fails its test: a guard against hangs, not
/// an assertion on speed.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Environment variables that could make a run read the real user's files or change output.
const SCRUBBED: &[&str] = &[
    "ARENA_DB",
    "ARENA_CONFIG",
    "ARENA_MODELS",
    "ARENA_API_KEY",
    "OPENAI_API_KEY",
    "RUST_LOG",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "LINES",
];

/// The settings of the `config.jsonc` every test starts with: generous timeouts, no rate
/// limits, and a default upstream where nothing listens, so a model that forgets its
/// `base_url` fails fast.
fn default_settings() -> Map<String, Value> {
    let settings = json!({
        "request_timeout_seconds": 60,
        "stream_idle_timeout_seconds": 30,
        "generation_timeout_seconds": 90,
        "max_concurrent_battles": 100,
        "battles_per_hour": 10000,
        "battle_interval_seconds": 0,
        "user_id_salt": "0123456789abcdef0123456789abcdef-integration-tests",
        "upstream": {
            "base_url": format!("http://127.0.0.1:{}/v1", refused_port()),
            "api_key_env": null,
        },
    });
    settings.as_object().cloned().unwrap_or_default()
}

/// Settings as JSONC, with a comment and a trailing comma as people write them.
fn render_config(settings: &Map<String, Value>) -> String {
    let mut text = String::from("// written by the integration tests\n{\n");
    for (key, value) in settings {
        text.push_str(&format!("  {}: {value},\n", json!(key)));
    }
    text.push_str("}\n");
    text
}

/// A new PostgreSQL database for a test that runs under `on_postgres::` (the modules that
/// `tests/main.rs` runs a second time on PostgreSQL), told by the test's thread, which the
/// harness names after the test; `None` for the others, and where PostgreSQL is not
/// installed (the test then runs on SQLite again, saying so).
pub fn backend_database() -> Option<String> {
    let on_postgres = std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with("on_postgres::"));
    if !on_postgres {
        return None;
    }
    let url = postgres::database();
    if url.is_none() {
        eprintln!("PostgreSQL is not installed: this test ran on SQLite");
    }
    url
}

/// A temporary arena: one directory, one database, one config, one model pool.
pub struct Test {
    dir: TempDir,
    /// The PostgreSQL database of a test run on PostgreSQL, else the directory's SQLite file.
    database: Option<String>,
}

impl Test {
    /// A fresh directory with the default config and two offline mock models, `mock-a` and
    /// `mock-b`.
    pub fn new() -> Test {
        let dir = tempfile::Builder::new()
            .prefix("arena-test-")
            .tempdir()
            .expect("a temporary directory");
        std::fs::create_dir_all(dir.path().join("home")).expect("a home directory");
        let test = Test {
            dir,
            database: backend_database(),
        };
        test.write("config.jsonc", &render_config(&default_settings()));
        test.with_models(&json!({"models": [
            {"name": "mock-a", "provider": "mock", "params": {"delay_ms": 0}},
            {"name": "mock-b", "provider": "mock", "params": {"delay_ms": 0}},
        ]}))
    }

    /// Replaces `models.json`.
    pub fn with_models(self, models: &Value) -> Test {
        let text = serde_json::to_string_pretty(models).expect("models as JSON");
        self.write("models.json", &text);
        self
    }

    /// Models of the fake upstream, given as (public name, upstream id).
    pub fn with_upstream_models(self, upstream: &Upstream, models: &[(&str, &str)]) -> Test {
        let entries: Vec<Value> = models
            .iter()
            .map(|(name, id)| upstream.model(name, id))
            .collect();
        self.with_models(&json!({ "models": entries }))
    }

    /// Replaces `config.jsonc` with `text`, verbatim.
    pub fn with_config(self, text: &str) -> Test {
        self.write("config.jsonc", text);
        self
    }

    /// The default config with these top-level keys replaced or added.
    pub fn with_config_keys(self, keys: &Value) -> Test {
        let mut settings = default_settings();
        let keys = keys.as_object().expect("config keys as an object");
        settings.extend(keys.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.with_config(&render_config(&settings))
    }

    /// The temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside the temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The database: its SQLite file, or the address of its PostgreSQL database.
    pub fn db(&self) -> PathBuf {
        match &self.database {
            Some(url) => PathBuf::from(url),
            None => self.path("arena.sqlite3"),
        }
    }

    /// Whether the test's database is PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.database.is_some()
    }

    /// Copies `tests/fixtures/NAME` into the temporary directory, under its file name.
    pub fn fixture(&self, name: &str) -> PathBuf {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let to = self.path(from.file_name().and_then(|n| n.to_str()).unwrap_or(name));
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        to
    }

    /// Writes a file into the temporary directory.
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path(name), text).expect("write a test file");
    }

    /// One run of `arena`, with `--db`, `--config` and `--models` before the arguments.
    pub fn arena(&self) -> Cmd<'_> {
        Cmd {
            test: self,
            args: Vec::new(),
            stdin: Vec::new(),
            env: Vec::new(),
            config: Some(self.path("config.jsonc")),
            models: Some(self.path("models.json")),
            db: Some(self.db()),
        }
    }

    /// The environment every run gets.
    pub fn environment(&self) -> Vec<(OsString, OsString)> {
        let home = self.path("home");
        [
            ("HOME", home.clone().into_os_string()),
            ("XDG_CONFIG_HOME", home.join("config").into_os_string()),
            ("XDG_DATA_HOME", home.join("data").into_os_string()),
            ("XDG_CACHE_HOME", home.join("cache").into_os_string()),
            ("NO_COLOR", "1".into()),
            (KEY_VAR, KEY.into()),
        ]
        .into_iter()
        .map(|(k, v)| (OsString::from(k), v))
        .collect()
    }

    /// The base command line of a run: the binary and the three file flags, in the temporary
    /// directory, with the test environment (also used to drive the binary through a pty).
    pub fn command(&self, config: &Path, models: &Path) -> std::process::Command {
        self.command_on(Some(&self.db()), Some(config), Some(models))
    }

    /// [`Test::command`] on another database file, or with no `--db` at all.
    pub fn command_on(
        &self,
        db: Option<&Path>,
        config: Option<&Path>,
        models: Option<&Path>,
    ) -> std::process::Command {
        let mut command = std::process::Command::new(ARENA);
        command.current_dir(self.dir());
        for var in SCRUBBED {
            command.env_remove(var);
        }
        command.envs(self.environment());
        if let Some(db) = db {
            command.arg("--db").arg(db);
        }
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        if let Some(models) = models {
            command.arg("--models").arg(models);
        }
        command
    }

    // -----------------------------------------------------------------------------------------
    // Shorthands for the commands most tests need.

    /// `arena battle ARGS --no-vote --format json`, which must succeed; the blinded battle.
    pub fn battle(&self, args: &[&str]) -> Value {
        self.arena()
            .arg("battle")
            .args(args)
            .args(["--no-vote", "--format", "json"])
            .run()
            .success()
            .json()
    }

    /// `arena show ID --format json`.
    pub fn show(&self, id: &str) -> Value {
        self.arena()
            .args(["show", id, "--format", "json"])
            .run()
            .success()
            .json()
    }

    /// `arena vote ID CHOICE --format json`, which must succeed; the reveal.
    pub fn vote(&self, id: &str, choice: &str) -> Value {
        self.arena()
            .args(["vote", id, choice, "--format", "json"])
            .run()
            .success()
            .json()
    }

    /// Creates the (empty) database with `arena init`, writing its templates aside.
    pub fn create_db(&self) {
        self.arena()
            .args(["init", "--dir"])
            .arg(self.path("init-templates"))
            .run()
            .success();
        if !self.on_postgres() {
            assert!(self.db().is_file(), "init created no database");
        }
    }

    /// `arena battles --format json`: every battle, as a script sees it.
    pub fn battles(&self) -> Value {
        self.arena()
            .args(["battles", "--format", "json"])
            .run()
            .success()
            .json()
    }
}

/// One run of `arena` being put together.
pub struct Cmd<'t> {
    test: &'t Test,
    args: Vec<OsString>,
    stdin: Vec<u8>,
    env: Vec<(OsString, OsString)>,
    config: Option<PathBuf>,
    models: Option<PathBuf>,
    db: Option<PathBuf>,
}

impl Cmd<'_> {
    /// Passes `--db` with this file instead of the test's database.
    pub fn db(mut self, path: impl Into<PathBuf>) -> Self {
        self.db = Some(path.into());
        self
    }

    /// Passes no `--db`: the database comes from `ARENA_DB` or the data directory.
    pub fn without_db_flag(mut self) -> Self {
        self.db = None;
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// What the run reads on stdin (nothing by default; stdin is never a terminal).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = input.into();
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Passes `--config` with this file of the temporary directory instead of `config.jsonc`.
    pub fn config_file(mut self, name: &str) -> Self {
        self.config = Some(self.test.path(name));
        self
    }

    /// Passes neither `--config` nor `--models`: the files are found as a user's would be.
    pub fn without_config_flags(mut self) -> Self {
        self.config = None;
        self.models = None;
        self
    }

    /// Passes `--models` with this file of the temporary directory instead of `models.json`.
    pub fn models_file(mut self, name: &str) -> Self {
        self.models = Some(self.test.path(name));
        self
    }

    /// Runs to the end (killed after a generous guard against hangs).
    pub fn run(self) -> Outcome {
        let mut command = self.test.command_on(
            self.db.as_deref(),
            self.config.as_deref(),
            self.models.as_deref(),
        );
        command.args(&self.args);
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        let line = render_command_line(&command);
        let output = assert_cmd::Command::from_std(command)
            .write_stdin(self.stdin)
            .timeout(HANG_GUARD)
            .output()
            .unwrap_or_else(|e| panic!("cannot run `{line}`: {e}"));
        Outcome { line, output }
    }
}

fn render_command_line(command: &std::process::Command) -> String {
    let mut line = String::from("arena");
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// What a run produced. Every assertion names the command and shows both streams on failure.
pub struct Outcome {
    line: String,
    output: Output,
}

impl Outcome {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn report(&self, problem: &str) -> ! {
        panic!(
            "{problem}\ncommand: {}\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.line,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }

    /// Exit code 0.
    #[track_caller]
    pub fn success(self) -> Self {
        self.code(0)
    }

    /// Exactly this exit code (a run killed by the hang guard has none).
    #[track_caller]
    pub fn code(self, expected: i32) -> Self {
        match self.output.status.code() {
            Some(code) if code == expected => self,
            Some(code) => self.report(&format!("expected exit code {expected}, got {code}")),
            None => self.report(&format!(
                "expected exit code {expected}, but the process was killed (a hang?)"
            )),
        }
    }

    #[track_caller]
    pub fn stdout_contains(self, needle: &str) -> Self {
        if !self.stdout().contains(needle) {
            self.report(&format!("stdout does not contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stdout_lacks(self, needle: &str) -> Self {
        if self.stdout().contains(needle) {
            self.report(&format!("stdout contains {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_contains(self, needle: &str) -> Self {
        if !self.stderr().contains(needle) {
            self.report(&format!("stderr does not contain {needle:?}"));
        }
        self
    }

    #[track_caller]
    pub fn stderr_lacks(self, needle: &str) -> Self {
        if self.stderr().contains(needle) {
            self.report(&format!("stderr contains {needle:?}"));
        }
        self
    }

    /// Nothing at all on stdout.
    #[track_caller]
    pub fn stdout_empty(self) -> Self {
        if !self.output.stdout.is_empty() {
            self.report("stdout is not empty");
        }
        self
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| self.report(&format!("stdout is not one JSON document: {e}")))
    }

    /// Stdout without surrounding whitespace.
    pub fn stdout_trimmed(&self) -> String {
        self.stdout().trim().to_owned()
    }
}

/// The string field `key` of a JSON object, failing with the object when it is absent.
#[track_caller]
pub fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string `{key}` in {value:#}"))
}

/// Whether a battle id looks like one (a UUID).
pub fn is_battle_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The style kept on the latest battle of the SQLite file `db`, once there is one: the turn it
/// covers and its eight counts (side a's tokens, headers, list items, bold spans, then b's).
pub fn kept_style(db: &std::path::Path) -> Option<(i64, Vec<u32>)> {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let kept: Option<String> = conn
        .query_row(
            "SELECT style FROM battles ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .expect("a battle");
    let kept: Value = serde_json::from_str(&kept?).expect("kept style JSON");
    let counts = kept["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|v| u32::try_from(v.as_u64().expect("a count")).expect("u32"))
        .collect();
    Some((kept["turn"].as_i64().expect("turn"), counts))
}

/// The eight style counts stored with the only vote of the SQLite file `db`.
pub fn vote_style(db: &std::path::Path) -> Vec<u32> {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let blob: Vec<u8> = conn
        .query_row("SELECT style FROM votes", [], |r| r.get(0))
        .expect("the vote's style");
    blob.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
