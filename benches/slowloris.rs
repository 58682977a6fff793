//! `arena serve` against slow clients (slowloris), loopback only, bounded in time: with the
//! server's descriptor limit at 1,024 (`ulimit -n`), 1,100 slow connections are held open
//! (a third send a request head one byte a second, a third sit idle after one request, a
//! third send a body one byte a second; each reconnects when the server closes it), while
//! `/health` is asked every 100 ms on a new connection. Prints how long `/health` took
//! (median, 99th percentile, worst), how many probes failed, and how many slow connections
//! the server closed; asserts nothing about speed. Default timeouts and cap (three quarters
//! of the descriptor limit: 768).
//!
//!   cargo bench --bench slowloris   (ARENA_BENCH_SECONDS, default 20; ARENA_SLOW_CLIENTS,
//!                                    default 1100; ARENA_FD_LIMIT, default 1024)

#[allow(dead_code)]
mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ARENA: &str = env!("CARGO_BIN_EXE_arena");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One slow client of kind `kind` (0 head, 1 idle, 2 body) until `stop`: returns whether the
/// server closed it.
async fn slow(addr: &str, kind: usize, stop: &AtomicBool) -> bool {
    let Ok(mut tcp) = TcpStream::connect(addr).await else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return false;
    };
    let (first, trickle): (&[u8], &[u8]) = match kind {
        0 => (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"a"),
        1 => (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", b""),
        _ => (
            b"POST /battle HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\n\r\n{",
            b" ",
        ),
    };
    if tcp.write_all(first).await.is_err() {
        return true;
    }
    let mut buf = [0u8; 1024];
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            read = tcp.read(&mut buf) => match read {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            },
            _ = tick.tick() => {
                if stop.load(Ordering::SeqCst) {
                    return false;
                }
                if !trickle.is_empty() && tcp.write_all(trickle).await.is_err() {
                    return true;
                }
            }
        }
    }
}

/// `GET /health` on a new connection: the time to a whole 200, or `None`.
async fn probe(addr: &str) -> Option<Duration> {
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        let mut tcp = TcpStream::connect(addr).await.ok()?;
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut got = Vec::new();
        tcp.read_to_end(&mut got).await.ok()?;
        Some(got)
    })
    .await
    .ok()
    .flatten()?;
    answer
        .starts_with(b"HTTP/1.1 200")
        .then(|| started.elapsed())
}

fn main() {
    let seconds = env_or("ARENA_BENCH_SECONDS", 20);
    let clients = usize::try_from(env_or("ARENA_SLOW_CLIENTS", 1100)).unwrap_or(1100);
    let fd_limit = env_or("ARENA_FD_LIMIT", 1024);
    // This process holds every slow connection: room for them all.
    let own = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    if own.current.is_some_and(|c| c < 4096) {
        let _ = rustix::process::setrlimit(
            rustix::process::Resource::Nofile,
            rustix::process::Rlimit {
                current: own.maximum.map(|m| m.min(65_536)),
                maximum: own.maximum,
            },
        );
    }
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("config.jsonc");
    std::fs::write(&config, "{}").expect("config");
    let models = dir.path().join("models.json");
    std::fs::write(&models, r#"["model-000", "model-001"]"#).expect("models");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {fd_limit} && exec \"$0\" \"$@\""))
        .arg(ARENA)
        .arg("--db")
        .arg(dir.path().join("arena.sqlite3"))
        .arg("--config")
        .arg(&config)
        .arg("--models")
        .arg(&models)
        .args(["serve", "--port", "0"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("arena serve");
    let base = common::served_address(&mut child);
    let addr = base.trim_start_matches("http://").to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicU64::new(0));
    runtime.block_on(async {
        for i in 0..clients {
            let (addr, stop, opened, closed) =
                (addr.clone(), stop.clone(), opened.clone(), closed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    opened.fetch_add(1, Ordering::SeqCst);
                    if slow(&addr, i % 3, &stop).await {
                        closed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut times = Vec::new();
        let mut failed = 0;
        while Instant::now() < deadline {
            match probe(&addr).await {
                Some(t) => times.push(t.as_secs_f64() * 1e3),
                None => failed += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::SeqCst);
        times.sort_by(f64::total_cmp);
        println!(
            "{clients} slow clients for {seconds} s against a server limited to {fd_limit} \
             descriptors: {} slow connections opened, {} closed by the server",
            opened.load(Ordering::SeqCst),
            closed.load(Ordering::SeqCst)
        );
        println!(
            "GET /health every 100 ms on a new connection: {} answered 200, {failed} failed; \
             median {:.1} ms, p99 {:.1} ms, worst {:.1} ms",
            times.len(),
            common::percentile(&times, 0.5),
            common::percentile(&times, 0.99),
            times.last().copied().unwrap_or(f64::NAN)
        );
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}
