//! The soak (docs/reliability.md): `arena serve` under a steady mixed load for
//! `ARENA_SOAK_SECONDS` (default 1800; Glicko-2 rating periods of 5 minutes): every second
//! `ARENA_SOAK_RATE` (default 20) each of
//! battles with their vote, leaderboard reads, and proxied streams from a fake upstream on
//! this machine. Every `ARENA_SOAK_WINDOW` seconds (default 60) it prints the server's
//! resident memory (anonymous, which a leak grows, and file-backed: the binary), its open
//! file descriptors and the window's p50/p99 latency per
//! kind; at the end, the first window after warm-up beside the last, and whether anonymous
//! memory grew more than 10%. Loopback only; bounded by its duration.
//!
//!   ARENA_SOAK_SECONDS=1800 cargo bench --bench soak

#[allow(dead_code)]
mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

const ARENA: &str = env!("CARGO_BIN_EXE_arena");

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn upstream(body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let model = v["model"].as_str().unwrap_or("fast").to_owned();
    let mut text = String::new();
    for piece in ["Soak ", "test ", "answer ", "in ", "pieces."] {
        let c = json!({"id": "chatcmpl-soak", "object": "chat.completion.chunk", "created": 0,
            "model": model, "choices": [{"index": 0, "delta": {"content": piece},
            "finish_reason": null}]});
        text.push_str(&format!("data: {c}\n\n"));
    }
    let end = json!({"id": "chatcmpl-soak", "object": "chat.completion.chunk", "created": 0,
        "model": model, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
    text.push_str(&format!("data: {end}\n\ndata: [DONE]\n\n"));
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from(text))
        .unwrap_or_default()
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

#[derive(Default)]
struct Window {
    battle: Vec<f64>,
    board: Vec<f64>,
    stream: Vec<f64>,
    errors: u64,
}

struct Figures {
    rss_mb: f64,
    /// The heap and other anonymous memory: what a leak grows.
    anon_mb: f64,
    /// File-backed pages: the binary and its libraries (the server reads its database
    /// unmapped).
    file_mb: f64,
    fds: usize,
    p99: [f64; 3],
    errors: u64,
}

fn main() {
    let seconds = env_u64("ARENA_SOAK_SECONDS", 1800);
    let rate = env_u64("ARENA_SOAK_RATE", 20);
    let window_secs = env_u64("ARENA_SOAK_WINDOW", 60).max(1);
    let dir = tempfile::tempdir().expect("temporary directory");

    let (_up_runtime, up_addr) =
        common::upstream(Router::new().route("/v1/chat/completions", post(upstream)));

    let config = dir.path().join("config.jsonc");
    std::fs::write(
        &config,
        // A rating period of 5 minutes: Glicko-2 holds a period's votes until it ends, so
        // the soak sees several periods fold in and free them.
        json!({"battles_per_hour": 0, "battle_interval_seconds": 0, "max_concurrent_battles": 0,
               "glicko2": {"rating_period": "5m"},
               "upstream": {"api_key_env": null},
               "user_id_salt": "soak-user-key-0123456789abcdef0123456789"})
        .to_string(),
    )
    .expect("config");
    let models = dir.path().join("models.json");
    std::fs::write(
        &models,
        json!({"models": [
            {"name": "mock-1", "provider": "mock", "params": {"delay_ms": 0}},
            {"name": "mock-2", "provider": "mock", "params": {"delay_ms": 0}},
            {"name": "mock-3", "provider": "mock", "params": {"delay_ms": 0}},
            // In rotation too: a model of weight 0 is not served on /v1.
            {"name": "proxied", "model": "fast", "base_url": format!("http://{up_addr}/v1")},
        ]})
        .to_string(),
    )
    .expect("models");
    let mut child = Command::new(ARENA)
        .arg("--db")
        .arg(dir.path().join("soak.sqlite3"))
        .arg("--config")
        .arg(&config)
        .arg("--models")
        .arg(&models)
        .args(["-q", "serve", "--port", "0"])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("arena serve");
    let pid = child.id();
    let base = common::served_address(&mut child);

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let window = Arc::new(Mutex::new(Window::default()));
    let mut history: Vec<Figures> = Vec::new();
    println!(
        "soak: {seconds} s at {rate}/s each of battle+vote, leaderboard and proxied stream; \
         a line every {window_secs} s"
    );
    runtime.block_on(async {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
        let mut next_report = started + Duration::from_secs(window_secs);
        let mut n = 0u64;
        while Instant::now() < deadline {
            tick.tick().await;
            n += 1;
            let (c, b, w) = (client.clone(), base.clone(), window.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let made = c
                    .post(format!("{b}/battle"))
                    .json(
                        &json!({"battle_type": "low_tier", "user_id": format!("web:soak{}", n % 50),
                                  "custom_prompt": format!("Soak question {n}")}),
                    )
                    .send()
                    .await;
                let id = match made {
                    Ok(r) if r.status() == 201 => r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| v["battle_id"].as_str().map(str::to_owned)),
                    _ => None,
                };
                let choice = ["model_a", "model_b", "tie"][usize::try_from(n % 3).unwrap_or(0)];
                let ok = match id {
                    Some(id) => c
                        .post(format!("{b}/vote/{id}"))
                        .json(&json!({"vote_choice": choice,
                                      "user_id": format!("web:soak{}", n % 50)}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200),
                    None => false,
                };
                if let Ok(mut w) = w.lock() {
                    w.battle.push(t.elapsed().as_secs_f64() * 1e3);
                    w.errors += u64::from(!ok);
                }
            });
            let (c, b, w) = (client.clone(), base.clone(), window.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let ok = match c.get(format!("{b}/leaderboard")).send().await {
                    Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if let Ok(mut w) = w.lock() {
                    w.board.push(t.elapsed().as_secs_f64() * 1e3);
                    w.errors += u64::from(!ok);
                }
            });
            let (c, b, w) = (client.clone(), base.clone(), window.clone());
            tokio::spawn(async move {
                let t = Instant::now();
                let r = c
                    .post(format!("{b}/v1/chat/completions"))
                    .json(&json!({"model": "proxied", "stream": true,
                                  "messages": [{"role": "user", "content": "Say something"}]}))
                    .send()
                    .await;
                let ok = match r {
                    Ok(r) if r.status() == 200 => r
                        .bytes()
                        .await
                        .is_ok_and(|b| b.ends_with(b"data: [DONE]\n\n")),
                    _ => false,
                };
                if let Ok(mut w) = w.lock() {
                    w.stream.push(t.elapsed().as_secs_f64() * 1e3);
                    w.errors += u64::from(!ok);
                }
            });
            if Instant::now() >= next_report {
                next_report += Duration::from_secs(window_secs);
                let mut w = window
                    .lock()
                    .map(|mut w| std::mem::take(&mut *w))
                    .unwrap_or_default();
                let q = |v: &mut Vec<f64>| {
                    v.sort_by(f64::total_cmp);
                    (common::percentile(v, 0.5), common::percentile(v, 0.99))
                };
                let (b50, b99) = q(&mut w.battle);
                let (l50, l99) = q(&mut w.board);
                let (s50, s99) = q(&mut w.stream);
                #[allow(clippy::cast_precision_loss)]
                let f = Figures {
                    rss_mb: common::status_kb(pid, "VmRSS:") as f64 / 1024.0,
                    anon_mb: common::status_kb(pid, "RssAnon:") as f64 / 1024.0,
                    file_mb: common::status_kb(pid, "RssFile:") as f64 / 1024.0,
                    fds: fds(pid),
                    p99: [b99, l99, s99],
                    errors: w.errors,
                };
                println!(
                    "{:>6.0} s: rss {:.1} MB (anonymous {:.1}, file-backed {:.1}), {} fds; \
                     p50/p99 ms battle+vote {:.2}/{:.2}, leaderboard {:.2}/{:.2}, \
                     stream {:.2}/{:.2}; {} errors",
                    started.elapsed().as_secs_f64(),
                    f.rss_mb,
                    f.anon_mb,
                    f.file_mb,
                    f.fds,
                    b50,
                    b99,
                    l50,
                    l99,
                    s50,
                    s99,
                    f.errors
                );
                history.push(f);
            }
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    // Warm-up (`ARENA_SOAK_WARMUP`, default a sixth of the run, at most 300 s): SQLite's
    // page cache fills to its cap as the database grows.
    let warmup = env_u64("ARENA_SOAK_WARMUP", (seconds / 6).min(300));
    let warm = usize::try_from(warmup.div_ceil(window_secs))
        .unwrap_or(usize::MAX)
        .max(1)
        .min(history.len().saturating_sub(1));
    let (Some(first), Some(last)) = (history.get(warm), history.last()) else {
        println!("soak: too short for a comparison (one window or fewer)");
        return;
    };
    let growth = (last.anon_mb / first.anon_mb - 1.0) * 100.0;
    let errors: u64 = history.iter().map(|f| f.errors).sum();
    let db_mb = std::fs::metadata(dir.path().join("soak.sqlite3")).map_or(0.0, |m| {
        #[allow(clippy::cast_precision_loss)]
        let mb = m.len() as f64 / 1_048_576.0;
        mb
    });
    println!(
        "soak: after warm-up, anonymous memory {:.1} MB → {:.1} MB at the end ({growth:+.1}%); \
         rss {:.1} → {:.1} MB, of it file-backed {:.1} → {:.1} MB (the binary; the database is \
         now {db_mb:.1} MB); fds {} → {}; p99 ms battle+vote {:.2} → {:.2}, leaderboard {:.2} → {:.2}, \
         stream {:.2} → {:.2}; {errors} errors in all",
        first.anon_mb,
        last.anon_mb,
        first.rss_mb,
        last.rss_mb,
        first.file_mb,
        last.file_mb,
        first.fds,
        last.fds,
        first.p99[0],
        last.p99[0],
        first.p99[1],
        last.p99[1],
        first.p99[2],
        last.p99[2]
    );
    if growth > 10.0 || last.fds > first.fds + 16 {
        println!("soak: FAILED (anonymous memory grew more than 10%, or descriptors grew)");
        std::process::exit(1);
    }
    println!("soak: anonymous memory flat within 10%, descriptors flat");
}
