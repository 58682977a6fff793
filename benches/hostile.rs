//! `arena serve` (the release binary) under hostile `/v1/chat/completions` bodies, each
//! proxied to one fake upstream on this machine (loopback only, bounded in count and time):
//! for each shape and size, the growth of the server's resident memory at its peak while it
//! takes the body, per MiB of body, and what is still held a moment after the answer.
//!
//! Shapes (each a valid request of a pool model, padded to the size asked):
//!
//! - `objects`: an unknown field holding many small objects (`[{"a":1},...]`);
//! - `parts`: one message whose content is many small text parts;
//! - `keys`: an unknown field holding one object of many keys;
//! - `nesting`: an unknown field holding many arrays nested 100 deep (within serde_json's
//!   recursion limit of 128);
//! - `string`: one message of one long string;
//! - `messages`: many small messages (refused past the message limit, 400).
//!
//! Each shape runs on a server of its own, its sizes from the smallest; then
//! `ARENA_BENCH_PARALLEL` (default 6) bodies of the `objects` shape at the largest size, all
//! at once, on a fresh server. Prints the figures; asserts nothing.
//!
//!   cargo bench --bench hostile
//!   ARENA_BENCH_MIB=8 ARENA_BENCH_PARALLEL=0 cargo bench --bench hostile
//!
//! `ARENA_BENCH_MIB` is a comma-separated list of sizes in MiB (default `4,16,38`: the chat
//! body limit is 40 MiB by default); `ARENA_BENCH_SHAPES` a list of shapes; `ARENA_BIN`
//! another `arena` binary to measure (an older build, to compare).

#[allow(dead_code)]
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;

const ARENA: &str = env!("CARGO_BIN_EXE_arena");

fn arena_bin() -> String {
    std::env::var("ARENA_BIN").unwrap_or_else(|_| ARENA.to_owned())
}
const MIB: usize = 1 << 20;
/// How long the server is left alone after an answer before "after" is read.
const SETTLE: Duration = Duration::from_secs(2);

/// The fake upstream: reads the whole body and answers a short completion.
async fn upstream(body: Bytes) -> Response {
    let answer = json!({"id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
        "model": "fast", "choices": [{"index": 0, "message": {"role": "assistant",
        "content": format!("{} bytes", body.len())}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}});
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(answer.to_string()))
        .unwrap_or_default()
}

/// `piece` repeated, comma-separated, to about `bytes` bytes.
fn repeated(piece: &str, bytes: usize) -> String {
    let n = bytes / (piece.len() + 1);
    let mut out = String::with_capacity(n * (piece.len() + 1));
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        out.push_str(piece);
    }
    out
}

/// A hostile body of `shape` of about `bytes` bytes.
fn body(shape: &str, bytes: usize) -> Vec<u8> {
    let head = r#"{"model":"bench","messages":[{"role":"user","content":"hi"}],"junk":"#;
    let text = match shape {
        "objects" => format!("{head}[{}]}}", repeated(r#"{"a":1}"#, bytes)),
        "parts" => format!(
            r#"{{"model":"bench","messages":[{{"role":"user","content":[{}]}}]}}"#,
            repeated(r#"{"type":"text","text":"x"}"#, bytes)
        ),
        "keys" => {
            let mut keys = String::with_capacity(bytes + 64);
            let mut i = 0u64;
            while keys.len() < bytes {
                if i > 0 {
                    keys.push(',');
                }
                keys.push_str(&format!("\"k{i}\":0"));
                i += 1;
            }
            format!("{head}{{{keys}}}}}")
        }
        "nesting" => {
            let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
            format!("{head}[{}]}}", repeated(&deep, bytes))
        }
        "string" => format!(
            r#"{{"model":"bench","messages":[{{"role":"user","content":"{}"}}]}}"#,
            "x".repeat(bytes)
        ),
        "messages" => format!(
            r#"{{"model":"bench","messages":[{}]}}"#,
            repeated(r#"{"role":"user","content":"x"}"#, bytes)
        ),
        other => panic!("no shape {other}"),
    };
    text.into_bytes()
}

/// The server under test.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, upstream: &str) -> Served {
    let config = dir.join("config.jsonc");
    std::fs::write(
        &config,
        json!({"upstream": {"api_key_env": null}, "server_request_timeout_seconds": 600,
               "request_timeout_seconds": 600})
        .to_string(),
    )
    .expect("config");
    let models = dir.join("models.json");
    std::fs::write(
        &models,
        json!({"models": [
            {"name": "bench", "model": "fast", "base_url": upstream},
            {"name": "other", "model": "fast", "base_url": upstream},
        ]})
        .to_string(),
    )
    .expect("models");
    let mut child = Command::new(arena_bin())
        .arg("--db")
        .arg(dir.join("arena.sqlite3"))
        .arg("--config")
        .arg(&config)
        .arg("--models")
        .arg(&models)
        .args(["-q", "serve", "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("arena serve");
    let base = common::served_address(&mut child);
    Served {
        child,
        url: format!("{base}/v1/chat/completions"),
    }
}

/// Samples the resident memory of `pid` every few milliseconds until stopped: the peak.
struct Sampler {
    peak: Arc<AtomicU64>,
    running: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let peak = Arc::new(AtomicU64::new(common::rss_kb(pid)));
        let running = Arc::new(AtomicBool::new(true));
        let thread = {
            let (peak, running) = (peak.clone(), running.clone());
            std::thread::spawn(move || {
                while running.load(Ordering::SeqCst) {
                    peak.fetch_max(common::rss_kb(pid), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        };
        Sampler {
            peak,
            running,
            thread: Some(thread),
        }
    }

    /// The peak, in kB.
    fn stop(mut self) -> u64 {
        self.running.store(false, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::SeqCst)
    }
}

/// Posts every body at once: each status.
async fn post_all(client: &reqwest::Client, url: &str, bodies: Vec<Bytes>) -> Vec<u16> {
    let calls = bodies.into_iter().map(|b| {
        let request = client
            .post(url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(b);
        async move {
            match request.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let _ = r.bytes().await;
                    status
                }
                Err(_) => 0,
            }
        }
    });
    futures_util::future::join_all(calls).await
}

#[allow(clippy::cast_precision_loss)]
fn mib_of(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// One round: `bodies` posted at once. Prints the figures.
async fn round(client: &reqwest::Client, s: &Served, label: &str, bodies: Vec<Bytes>) {
    let pid = s.child.id();
    let total: usize = bodies.iter().map(Bytes::len).sum();
    let before = common::rss_kb(pid);
    let sampler = Sampler::start(pid);
    let started = Instant::now();
    let statuses = post_all(client, &s.url, bodies).await;
    let took = started.elapsed();
    let peak = sampler.stop();
    tokio::time::sleep(SETTLE).await;
    let after = common::rss_kb(pid);
    #[allow(clippy::cast_precision_loss)]
    let mib = total as f64 / MIB as f64;
    println!(
        "{label}: {mib:.1} MiB, statuses {statuses:?} in {:.2} s; RSS {:.1} MiB before, \
         peak +{:.1} MiB ({:.2} per MiB of body), {:.1} MiB {} s after (+{:.1} MiB)",
        took.as_secs_f64(),
        mib_of(before),
        mib_of(peak.saturating_sub(before)),
        mib_of(peak.saturating_sub(before)) / mib,
        mib_of(after),
        SETTLE.as_secs(),
        mib_of(after.saturating_sub(before)),
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("ARENA_BENCH_MIB")
        .unwrap_or_else(|_| "4,16,38".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let parallel: usize = std::env::var("ARENA_BENCH_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let shapes: Vec<String> = std::env::var("ARENA_BENCH_SHAPES")
        .unwrap_or_else(|_| "objects,parts,keys,nesting,string,messages".into())
        .split(',')
        .map(str::to_owned)
        .collect();
    let (_up_runtime, up_addr) = common::upstream(
        Router::new()
            .route("/v1/chat/completions", post(upstream))
            .layer(axum::extract::DefaultBodyLimit::disable()),
    );
    let upstream = format!("http://{up_addr}/v1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("client");
    runtime.block_on(async {
        for shape in &shapes {
            let dir = tempfile::tempdir().expect("temporary directory");
            let s = start(dir.path(), &upstream);
            println!(
                "{shape}: a fresh server, RSS {:.1} MiB",
                mib_of(common::rss_kb(s.child.id()))
            );
            for &size in &sizes {
                let b = Bytes::from(body(shape, size * MIB));
                round(&client, &s, &format!("{shape} {size} MiB"), vec![b]).await;
            }
        }
        if parallel > 0
            && let Some(&largest) = sizes.iter().max()
        {
            let dir = tempfile::tempdir().expect("temporary directory");
            let s = start(dir.path(), &upstream);
            println!(
                "parallel: a fresh server, RSS {:.1} MiB",
                mib_of(common::rss_kb(s.child.id()))
            );
            let b = Bytes::from(body("objects", largest * MIB));
            let bodies = vec![b; parallel];
            round(
                &client,
                &s,
                &format!("{parallel} x objects {largest} MiB at once"),
                bodies,
            )
            .await;
            tokio::time::sleep(Duration::from_secs(10)).await;
            println!(
                "parallel: RSS {:.1} MiB {} s later",
                mib_of(common::rss_kb(s.child.id())),
                10 + SETTLE.as_secs()
            );
        }
    });
}
