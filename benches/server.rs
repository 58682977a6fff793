//! `arena serve` under load from another process on this machine, loopback only, bounded in
//! time: durable `POST /vote` per second and their latency at 64 connections, cached
//! `GET /leaderboard` per second on a database of 1,000,000 votes, and the server's resident
//! memory idle and under that load. Prints the figures; asserts nothing about speed.
//!
//!   cargo bench --bench server       (ARENA_BENCH_SECONDS=N per phase, default 5)

#[allow(dead_code)]
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arena::battle::Origin;
use arena::store::{Mode, NewBattle, SideOutcome, Store, VoteStyle};

const ARENA: &str = env!("CARGO_BIN_EXE_arena");
const CONNECTIONS: usize = 64;

/// A battle log of `n` votes over 200 models, in JSON Lines.
fn write_log(path: &std::path::Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("log"));
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let winners = ["model_a", "model_b", "tie", "tie (bothbad)"];
    for _ in 0..n {
        let a = next() % 200;
        let b = (a + 1 + next() % 199) % 200;
        let w = winners[(next() % 4) as usize];
        writeln!(
            out,
            "{{\"model_a\": \"model-{a:03}\", \"model_b\": \"model-{b:03}\", \"winner\": \"{w}\"}}"
        )
        .expect("write");
    }
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seconds: u64 = std::env::var("ARENA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("arena.sqlite3");
    let log = dir.path().join("votes.jsonl");
    write_log(&log, 1_000_000);
    let status = Command::new(ARENA)
        .args(["--db"])
        .arg(&db)
        .args(["--no-progress", "-q", "import"])
        .arg(&log)
        .status()
        .expect("import");
    assert!(status.success());
    let battles = 60_000usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let ids: Vec<uuid::Uuid> = runtime.block_on(async {
        let store = arena::store::open(&db, Mode::Write).await.expect("open");
        let side = |t: &str| SideOutcome {
            response: Some(t.into()),
            ..SideOutcome::default()
        };
        let mut ids = Vec::with_capacity(battles);
        for i in 0..battles {
            let b = store
                .create_battle(NewBattle {
                    id: uuid::Uuid::now_v7(),
                    origin: Origin::Api,
                    user_hash: None,
                    prompt: "Q".into(),
                    prompt_id: None,
                    theme: "general".into(),
                    system: None,
                    model_a: format!("model-{:03}", i % 200),
                    model_b: format!("model-{:03}", (i * 7 + 1) % 200),
                    rpid: None,
                    now: arena::store::now_ms(),
                    limits: None,
                    prompt_content: None,
                })
                .await
                .expect("battle");
            store
                .finish_generation(b.id, side("a"), side("b"))
                .await
                .expect("finish");
            // As the engine does once a battle's answers are in.
            let turns = store.chat_state(b.id).await.expect("state").turns;
            store
                .keep_style(b.id, 0, VoteStyle::of_turns(&turns))
                .await
                .expect("keep the style");
            ids.push(b.id);
        }
        store.close().await.expect("close");
        ids
    });
    let config = dir.path().join("config.jsonc");
    std::fs::write(&config, r#"{"max_inflight_requests": 4096}"#).expect("config");
    let models = dir.path().join("models.json");
    std::fs::write(&models, r#"["model-000", "model-001"]"#).expect("models");
    let mut child = Command::new(ARENA)
        .arg("--db")
        .arg(&db)
        .arg("--config")
        .arg(&config)
        .arg("--models")
        .arg(&models)
        .args(["-q", "serve", "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("arena serve");
    let pid = child.id();
    let base = common::served_address(&mut child);
    std::thread::sleep(Duration::from_millis(500));
    let memory = |what: &str, rss: u64, anon: u64| {
        println!(
            "server resident memory {what}: {} MB (anonymous {} MB, the rest the binary and files)",
            rss / 1024,
            anon / 1024
        );
    };
    memory(
        "idle",
        common::rss_kb(pid),
        common::status_kb(pid, "RssAnon:"),
    );

    let peak = Arc::new(AtomicU64::new(0));
    let peak_anon = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, peak_anon, sampling) = (peak.clone(), peak_anon.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                peak.fetch_max(common::rss_kb(pid), Ordering::SeqCst);
                peak_anon.fetch_max(common::status_kb(pid, "RssAnon:"), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let ids = Arc::new(ids);
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .build()
            .expect("client");
        // Votes: each connection takes the next battle; one vote each, durable when answered.
        let next = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let (client, next, ids, base) =
                    (client.clone(), next.clone(), ids.clone(), base.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let i = usize::try_from(next.fetch_add(1, Ordering::SeqCst)).unwrap_or(0);
                        let Some(id) = ids.get(i) else { break };
                        let t = Instant::now();
                        let r = client
                            .post(format!("{base}/vote/{id}"))
                            .json(&serde_json::json!({"vote_choice": "model_a"}))
                            .send()
                            .await
                            .expect("vote");
                        assert_eq!(r.status(), 200);
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    lat
                })
            })
            .collect();
        let started = Instant::now();
        let mut lat: Vec<f64> = Vec::new();
        for t in tasks {
            lat.extend(t.await.expect("task"));
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        #[allow(clippy::cast_precision_loss)]
        let rate = lat.len() as f64 / secs;
        println!(
            "POST /vote at {CONNECTIONS} connections: {} votes in {secs:.1} s = {rate:.0} votes/s; \
             p50 {:.2} ms, p99 {:.2} ms",
            lat.len(),
            common::percentile(&lat, 0.5),
            common::percentile(&lat, 0.99)
        );

        // Leaderboards: cached after the first, until the next vote.
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let first = client
            .get(format!("{base}/leaderboard"))
            .send()
            .await
            .expect("leaderboard");
        assert_eq!(first.status(), 200);
        let _ = first.bytes().await;
        let tasks: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let (client, base) = (client.clone(), base.clone());
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let r = client
                            .get(format!("{base}/leaderboard"))
                            .send()
                            .await
                            .expect("leaderboard");
                        let _ = r.bytes().await;
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    lat
                })
            })
            .collect();
        let started = Instant::now();
        let mut lat: Vec<f64> = Vec::new();
        for t in tasks {
            lat.extend(t.await.expect("task"));
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        #[allow(clippy::cast_precision_loss)]
        let rate = lat.len() as f64 / secs;
        println!(
            "GET /leaderboard (1,000,000 votes, cached) at {CONNECTIONS} connections: {rate:.0} \
             requests/s; p50 {:.2} ms, p99 {:.2} ms",
            common::percentile(&lat, 0.5),
            common::percentile(&lat, 0.99)
        );
    });
    sampling.store(false, Ordering::SeqCst);
    let _ = sampler.join();
    memory(
        "under load, peak",
        peak.load(Ordering::SeqCst),
        peak_anon.load(Ordering::SeqCst),
    );
    // SIGTERM: a graceful stop.
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let _ = child.wait();
}
