//! `arena serve` as an OpenAI-compatible proxy, beside LiteLLM's proxy, in front of one fake
//! upstream on this machine (loopback only, bounded in time and count):
//!
//! - the latency each proxy adds over calling the upstream directly: one request at a time,
//!   whole and streamed, p50 and p99;
//! - throughput: requests per second with many connections, whole and streamed;
//! - arena's resident memory while it relays 1,000 concurrent slow streams.
//!
//! Prints the figures; asserts nothing about speed.
//!
//!   cargo bench --bench proxy
//!   LITELLM=/path/to/venv/bin/litellm cargo bench --bench proxy   (with LiteLLM beside)
//!
//! `ARENA_BENCH_SECONDS` (default 5) is each throughput phase; `ARENA_BENCH_STREAMS`
//! (default 1000) the concurrent streams.

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
use futures_util::StreamExt;
use serde_json::{Value, json};

const ARENA: &str = env!("CARGO_BIN_EXE_arena");
/// Requests one at a time, for latency.
const SEQUENTIAL: usize = 2000;
/// Connections at once, for throughput.
const CONNECTIONS: usize = 32;
/// The pieces of a streamed answer.
const PIECES: usize = 8;
/// A slow stream: a piece this often, this many times.
const SLOW_EVERY: Duration = Duration::from_millis(500);
const SLOW_PIECES: usize = 20;
/// Both proxies' key.
const KEY: &str = "sk-bench-0123456789abcdef0123456789abcdef";

fn chunk(text: &str, finish: Option<&str>) -> String {
    let v = json!({"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0,
        "model": "fast", "choices": [{"index": 0, "delta": {"content": text},
        "finish_reason": finish}]});
    format!("data: {v}\n\n")
}

/// The fake upstream: `fast` answers at once (one body, or all its chunks at once), `slow`
/// streams a piece every [`SLOW_EVERY`].
async fn upstream(body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let stream = v["stream"].as_bool().unwrap_or(false);
    let sse = |body: Body| {
        Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(body)
            .unwrap_or_default()
    };
    if v["model"] == json!("slow") {
        let pieces = futures_util::stream::iter(0..SLOW_PIECES).then(|i| async move {
            tokio::time::sleep(SLOW_EVERY).await;
            let text = if i + 1 == SLOW_PIECES {
                chunk("end", Some("stop")) + "data: [DONE]\n\n"
            } else {
                chunk("word ", None)
            };
            Ok::<_, std::convert::Infallible>(text)
        });
        return sse(Body::from_stream(pieces));
    }
    if stream {
        let mut text: String = (0..PIECES).map(|_| chunk("word ", None)).collect();
        text.push_str(&chunk("", Some("stop")));
        text.push_str("data: [DONE]\n\n");
        return sse(Body::from(text));
    }
    let answer = json!({"id": "chatcmpl-bench", "object": "chat.completion", "created": 0,
        "model": "fast", "choices": [{"index": 0, "message": {"role": "assistant",
        "content": "word ".repeat(PIECES)}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}});
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(answer.to_string()))
        .unwrap_or_default()
}

fn request(model: &str, stream: bool) -> Bytes {
    Bytes::from(
        json!({"model": model, "stream": stream,
               "messages": [{"role": "user", "content": "Name three colours."}]})
        .to_string(),
    )
}

/// One request, its body read to the end; whether it was a 200 with a whole answer.
async fn one(client: &reqwest::Client, url: &str, body: Bytes, stream: bool) -> bool {
    let Ok(r) = client
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {KEY}"))
        .body(body)
        .send()
        .await
    else {
        return false;
    };
    let ok = r.status() == 200;
    let Ok(bytes) = r.bytes().await else {
        return false;
    };
    ok && if stream {
        bytes.ends_with(b"data: [DONE]\n\n") || bytes.ends_with(b"data: [DONE]\r\n\r\n")
    } else {
        bytes.starts_with(b"{")
    }
}

/// Latencies in ms of `SEQUENTIAL` requests one after another, sorted, after a warm-up.
async fn latencies(client: &reqwest::Client, url: &str, model: &str, stream: bool) -> Vec<f64> {
    let body = request(model, stream);
    for _ in 0..200 {
        assert!(one(client, url, body.clone(), stream).await, "{url} failed");
    }
    let mut lat = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let t = Instant::now();
        assert!(one(client, url, body.clone(), stream).await, "{url} failed");
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    lat.sort_by(f64::total_cmp);
    lat
}

/// Requests per second with `CONNECTIONS` at once for `seconds`, and the failures.
async fn throughput(
    client: &reqwest::Client,
    url: &str,
    model: &str,
    stream: bool,
    seconds: u64,
) -> (f64, u64) {
    let body = request(model, stream);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_owned(), body.clone());
            let (done, failed) = (done.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    if one(&client, &url, body.clone(), stream).await {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    #[allow(clippy::cast_precision_loss)]
    let rps = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    (rps, failed.load(Ordering::Relaxed))
}

/// A proxy under test: its process and its chat URL.
struct Proxy {
    name: &'static str,
    child: Child,
    url: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_arena(dir: &std::path::Path, upstream: &str) -> Proxy {
    let config = dir.join("config.jsonc");
    std::fs::write(
        &config,
        json!({"max_inflight_requests": 8192, "api_key": KEY,
               "upstream": {"api_key_env": null}})
        .to_string(),
    )
    .expect("config");
    let models = dir.join("models.json");
    let models_json = json!({"models": [
        {"name": "bench", "model": "fast", "base_url": upstream},
        {"name": "slow", "model": "slow", "base_url": upstream},
    ]});
    std::fs::write(&models, models_json.to_string()).expect("models");
    let mut child = Command::new(ARENA)
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
    Proxy {
        name: "arena",
        child,
        url: format!("{base}/v1/chat/completions"),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_litellm(bin: &str, dir: &std::path::Path, upstream: &str) -> Option<Proxy> {
    let config = dir.join("litellm.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: bench\n    litellm_params:\n      model: openai/fast\n      \
             api_base: {upstream}\n      api_key: sk-bench\n  - model_name: slow\n    \
             litellm_params:\n      model: openai/slow\n      api_base: {upstream}\n      \
             api_key: sk-bench\n"
        ),
    )
    .expect("litellm config");
    let port = free_port();
    let child = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env("LITELLM_MASTER_KEY", KEY)
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_TELEMETRY", "False")
        .env("NO_DOCS", "True")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let proxy = Proxy {
        name: "litellm",
        child,
        url: format!("http://127.0.0.1:{port}/chat/completions"),
    };
    let ready = format!("http://127.0.0.1:{port}/health/liveliness");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if ready_probe(&ready) {
            return Some(proxy);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("litellm did not come up within 120 s");
    None
}

/// Whether `GET url` answers 200: a blocking probe over a raw TCP request.
fn ready_probe(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// `n` slow streams through `proxy` at once: how many completed, in how long, and the
/// proxy's resident memory before and at its peak, in MB.
async fn concurrent_streams(
    client: &reqwest::Client,
    proxy: &Proxy,
    n: usize,
) -> (usize, f64, u64, u64) {
    let pid = proxy.child.id();
    let before = common::rss_kb(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                peak.fetch_max(common::rss_kb(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (client, url) = (client.clone(), proxy.url.clone());
            tokio::spawn(async move { one(&client, &url, request("slow", true), true).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap_or(false) {
            ok += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::SeqCst);
    let _ = sampler.join();
    (ok, secs, before / 1024, peak.load(Ordering::SeqCst) / 1024)
}

fn main() {
    let seconds: u64 = std::env::var("ARENA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let streams: usize = std::env::var("ARENA_BENCH_STREAMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temporary directory");
    // The fake upstream, on a runtime of its own.
    let (_up_runtime, up_addr) =
        common::upstream(Router::new().route("/v1/chat/completions", post(upstream)));
    let upstream_base = format!("http://{up_addr}/v1");
    let direct = format!("{upstream_base}/chat/completions");

    let mut proxies = vec![start_arena(dir.path(), &upstream_base)];
    match std::env::var("LITELLM") {
        Ok(bin) => match start_litellm(&bin, dir.path(), &upstream_base) {
            Some(p) => proxies.push(p),
            None => eprintln!("LiteLLM ({bin}) could not start: compared with nothing"),
        },
        Err(_) => eprintln!("LITELLM unset: arena alone (see the header of benches/proxy.rs)"),
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(streams.max(CONNECTIONS))
        .no_proxy()
        .build()
        .expect("client");
    runtime.block_on(async {
        for stream in [false, true] {
            let kind = if stream { "streamed" } else { "whole" };
            let base = latencies(&client, &direct, "fast", stream).await;
            println!(
                "direct {kind}: p50 {:.3} ms, p99 {:.3} ms ({SEQUENTIAL} requests one at a time)",
                common::percentile(&base, 0.5),
                common::percentile(&base, 0.99)
            );
            for p in &proxies {
                let lat = latencies(&client, &p.url, "bench", stream).await;
                println!(
                    "{} {kind}: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms; added p50 {:.3} ms, p99 {:.3} ms",
                    p.name,
                    common::percentile(&lat, 0.5),
                    common::percentile(&lat, 0.9),
                    common::percentile(&lat, 0.99),
                    common::percentile(&lat, 0.5) - common::percentile(&base, 0.5),
                    common::percentile(&lat, 0.99) - common::percentile(&base, 0.99),
                );
            }
        }
        for stream in [false, true] {
            let kind = if stream { "streamed" } else { "whole" };
            let (rps, failed) = throughput(&client, &direct, "fast", stream, seconds).await;
            println!(
                "direct {kind}: {rps:.0} requests/s at {CONNECTIONS} connections ({failed} failed)"
            );
            let mut figures = Vec::new();
            for p in &proxies {
                let (rps, failed) = throughput(&client, &p.url, "bench", stream, seconds).await;
                println!(
                    "{} {kind}: {rps:.0} requests/s at {CONNECTIONS} connections ({failed} failed)",
                    p.name
                );
                figures.push(rps);
            }
            if let [arena, litellm] = figures[..] {
                println!("arena / litellm {kind}: {:.1}x", arena / litellm);
            }
        }

        // Memory: `streams` slow streams through each proxy at once.
        for p in &proxies {
            let (ok, secs, before, peak) = concurrent_streams(&client, p, streams).await;
            println!(
                "{} with {streams} concurrent streams: {ok} completed in {secs:.1} s; \
                 resident memory {before} MB before, {peak} MB at the peak",
                p.name
            );
        }
    });
}
