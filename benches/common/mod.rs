//! What the whole-process benchmarks share: the served address of an `arena serve` child,
//! its memory from `/proc`, and a fake upstream on a runtime of its own.

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::Child;

use axum::Router;

/// A field of `/proc/PID/status` in kB (`VmRSS:`, `RssAnon:`, `RssFile:`), 0 if unreadable.
pub fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The `q` quantile of `sorted` (nearest rank); NaN when empty.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Resident memory in kB.
pub fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

/// The base URL `arena serve --port 0` prints as its first line on stderr (which must be
/// piped); the rest of its log is read and dropped, so it never blocks on a full pipe.
pub fn served_address(child: &mut Child) -> String {
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("the address");
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("an address")
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    base
}

/// `app` served on 127.0.0.1 from a one-thread runtime of its own (kept alive by the
/// caller), so that the fake upstream does not share the load generator's threads.
pub fn upstream(app: Router) -> (tokio::runtime::Runtime, SocketAddr) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (runtime, addr)
}
