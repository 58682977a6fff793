//! The server's perimeter against hostile clients, over real TCP: slow connections (heads
//! sent byte by byte, idle keep-alives, bodies that never end) under the connection cap and
//! the timeouts, one `max_inflight_requests` for the whole server held by a stream, request
//! ids, JSON content types, `Host` and `Origin`, CORS, `Retry-After`, and what the prompt
//! statistics publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::Upstream;
use crate::support::server::{Server, json};

fn mocks() -> Value {
    json!({"models": [
        {"name": "mock-high-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        {"name": "mock-high-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
    ]})
}

/// A guard against a hang, never an assertion on speed.
const HANG: Duration = Duration::from_secs(30);

/// The `host:port` of a server.
fn address(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_owned()
}

/// How a slow client behaves.
#[derive(Debug, Clone, Copy)]
enum Slow {
    /// A request head, one byte every 100 ms, never finished.
    Head,
    /// One whole request, then silence on the kept-alive connection.
    Idle,
    /// A whole head announcing 1,000 bytes of body, then one byte every 100 ms.
    Body,
}

/// Connects as a `kind` client and keeps at it until the server closes the connection (or
/// `stop` is set); returns everything the server sent and how long the connection lasted.
/// Panics if the server keeps it past [`HANG`].
async fn slow_client(addr: &str, kind: Slow, stop: &AtomicBool) -> Option<(Vec<u8>, Duration)> {
    let mut tcp = TcpStream::connect(addr).await.ok()?;
    let started = Instant::now();
    let (first, trickle): (String, &[u8]) = match kind {
        Slow::Head => (
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".into(),
            b"a",
        ),
        Slow::Idle => (
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".into(),
            b"",
        ),
        Slow::Body => (
            "POST /battle HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: 1000\r\n\r\n{"
                .into(),
            b" ",
        ),
    };
    tcp.write_all(first.as_bytes()).await.ok()?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            read = tcp.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Some((got, started.elapsed())),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick() => {
                if stop.load(Ordering::SeqCst) {
                    return None;
                }
                assert!(started.elapsed() < HANG, "{kind:?}: the server kept it for {HANG:?}");
                if !trickle.is_empty() && tcp.write_all(trickle).await.is_err() {
                    return Some((got, started.elapsed()));
                }
            }
        }
    }
}

#[test]
fn slow_heads_idle_keepalives_and_slow_bodies_are_closed_after_their_timeouts() {
    let s = Server::start(
        &json!({"header_read_timeout_seconds": 1, "keepalive_timeout_seconds": 2,
                "body_read_timeout_seconds": 1}),
        &mocks(),
    );
    let addr = address(&s);
    let never = AtomicBool::new(false);
    let (head, idle, body) = s.runtime.block_on(async {
        tokio::join!(
            slow_client(&addr, Slow::Head, &never),
            slow_client(&addr, Slow::Idle, &never),
            slow_client(&addr, Slow::Body, &never),
        )
    });
    let (sent, lasted) = head.expect("connected");
    assert!(sent.is_empty(), "{}", String::from_utf8_lossy(&sent));
    assert!(lasted >= Duration::from_secs(1), "{lasted:?}");
    let (sent, lasted) = idle.expect("connected");
    let sent = String::from_utf8_lossy(&sent);
    assert!(sent.starts_with("HTTP/1.1 200"), "{sent}");
    assert!(lasted >= Duration::from_secs(2), "{lasted:?}");
    let (sent, lasted) = body.expect("connected");
    let sent = String::from_utf8_lossy(&sent);
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(sent.contains("body_read_timeout_seconds"), "{sent}");
    assert!(lasted >= Duration::from_secs(1), "{lasted:?}");
    // The same on /v1, in OpenAI's shape.
    let sent = s.runtime.block_on(async {
        let mut tcp = TcpStream::connect(&addr).await.expect("connect");
        tcp.write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
        )
        .await
        .expect("write");
        let mut got = Vec::new();
        let read = tokio::time::timeout(HANG, tcp.read_to_end(&mut got)).await;
        assert!(read.is_ok(), "the server kept a slow /v1 body for {HANG:?}");
        got
    });
    let sent = String::from_utf8_lossy(&sent);
    assert!(sent.starts_with("HTTP/1.1 408"), "{sent}");
    assert!(sent.contains("\"code\":\"request_timeout\""), "{sent}");
}

#[test]
fn health_answers_throughout_while_slow_connections_outnumber_the_cap() {
    // Timeouts far beyond the test: only the cap can make room for /health here.
    let cap = 24;
    let s = Server::start(
        &json!({"max_connections": cap, "header_read_timeout_seconds": 600,
                "keepalive_timeout_seconds": 600, "body_read_timeout_seconds": 600}),
        &mocks(),
    );
    let addr = address(&s);
    let attack = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let slow = 4 * cap;
    for i in 0..slow {
        let kind = [Slow::Head, Slow::Idle, Slow::Body][i % 3];
        let (addr, stop, opened, closed) =
            (addr.clone(), stop.clone(), opened.clone(), closed.clone());
        attack.spawn(async move {
            // Bounded: each client reconnects at most every 200 ms until told to stop.
            while !stop.load(Ordering::SeqCst) {
                opened.fetch_add(1, Ordering::SeqCst);
                if slow_client(&addr, kind, &stop).await.is_some() {
                    closed.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
    // Every slow client has connected at least once before the first probe.
    let waited = Instant::now();
    while opened.load(Ordering::SeqCst) < slow && waited.elapsed() < HANG {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _inside = s.runtime.enter();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let mut worst = Duration::ZERO;
    for _ in 0..30 {
        let started = Instant::now();
        let probe = s
            .runtime
            .block_on(client.get(s.url("/health")).send())
            .map(|r| r.status().as_u16());
        assert!(
            matches!(probe, Ok(200)),
            "/health while {slow} slow clients hold on: {probe:?}"
        );
        worst = worst.max(started.elapsed());
        std::thread::sleep(Duration::from_millis(30));
    }
    stop.store(true, Ordering::SeqCst);
    attack.shutdown_timeout(Duration::from_secs(5));
    assert!(
        closed.load(Ordering::SeqCst) > 0,
        "no slow connection was closed for a new one"
    );
    eprintln!(
        "{slow} slow clients over a cap of {cap}: {} connections, {} closed for new ones; \
         /health at worst {worst:?}",
        opened.load(Ordering::SeqCst),
        closed.load(Ordering::SeqCst)
    );
}

#[test]
fn a_running_stream_holds_the_servers_one_place_until_it_ends() {
    let up = Upstream::start();
    let base = up.base_url();
    let models = json!({"models": [
        {"name": "holder", "model": "hold-one", "base_url": base},
        {"name": "other", "model": "stream-two", "base_url": base},
    ]});
    let s = Server::start(&json!({"max_inflight_requests": 1}), &models);
    let request = json!({"model": "holder", "stream": true,
                         "messages": [{"role": "user", "content": "hi"}]});
    let mut stream = s
        .runtime
        .block_on(
            s.client
                .post(s.url("/v1/chat/completions"))
                .json(&request)
                .send(),
        )
        .expect("a response");
    assert_eq!(stream.status(), 200);
    let mut seen = String::new();
    while !seen.contains("first") {
        let chunk = s
            .runtime
            .block_on(stream.chunk())
            .expect("a chunk")
            .expect("the stream goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    // Another route, and the same one: the stream holds the one place.
    for (path, body) in [
        ("/leaderboard", None),
        (
            "/v1/chat/completions",
            Some(json!({"model": "other", "messages": [{"role": "user", "content": "hi"}]})),
        ),
    ] {
        let request = match &body {
            Some(body) => s.client.post(s.url(path)).json(body),
            None => s.client.get(s.url(path)),
        };
        let response = s.runtime.block_on(request.send()).expect("a response");
        assert_eq!(response.status(), 503, "{path}");
        assert_eq!(
            response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("1"),
            "{path}"
        );
    }
    up.release();
    while let Some(chunk) = s.runtime.block_on(stream.chunk()).expect("a chunk") {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("[DONE]"), "{seen}");
    drop(stream);
    assert_eq!(s.get("/leaderboard").0, 200);
}

#[test]
fn a_request_id_is_kept_only_as_a_short_token() {
    let s = Server::start(&json!({}), &mocks());
    let echoed = |id: &str| {
        let response = s
            .runtime
            .block_on(
                s.client
                    .get(s.url("/health"))
                    .header("x-request-id", id)
                    .send(),
            )
            .expect("a response");
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("an x-request-id")
    };
    let fine = "4f0c2d1e-8b7a-4c3d-9e2f-0a1b2c3d4e5f";
    assert_eq!(echoed(fine), fine);
    for forged in [
        "abc status=500 path=/admin".to_owned(),
        "x".repeat(300_000),
        "a=b".to_owned(),
    ] {
        let replaced = echoed(&forged);
        assert_ne!(replaced, forged);
        assert!(
            arena::server::request_id_is_token(replaced.as_bytes()),
            "{replaced}"
        );
        assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    }
}

#[test]
fn json_bodies_need_a_json_content_type_on_every_route() {
    let up = Upstream::start();
    let models = json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": up.base_url()},
        {"name": "neptune", "model": "stream-two", "base_url": up.base_url()},
    ]});
    let s = Server::start(&json!({}), &models);
    let chat = json!({"model": "saturn", "messages": [{"role": "user", "content": "hi"}]});
    let battle = json!({"battle_type": "high_tier", "discord_id": "1"});
    for (path, body, kind) in [
        ("/v1/chat/completions", &chat, "text/plain"),
        (
            "/v1/chat/completions",
            &chat,
            "application/x-www-form-urlencoded",
        ),
        ("/v1/completions", &chat, "text/plain"),
        ("/battle", &battle, "text/plain"),
        ("/battleunstuck", &battle, "multipart/form-data; boundary=x"),
    ] {
        let (status, answer) = s.send(
            s.client
                .post(s.url(path))
                .header("content-type", kind)
                .body(body.to_string()),
        );
        assert_eq!(status, 415, "{path} {kind}: {answer}");
        let answer = json(&answer);
        let message = if path.starts_with("/v1/") {
            &answer["error"]["message"]
        } else {
            &answer["detail"]
        };
        assert!(
            message
                .as_str()
                .is_some_and(|m| m.contains("application/json")),
            "{answer}"
        );
    }
    // No content type at all is no JSON either; a JSON one with parameters is.
    let (status, _) = s.send(
        s.client
            .post(s.url("/v1/chat/completions"))
            .body(chat.to_string()),
    );
    assert_eq!(status, 415);
    let (status, answer) = s.send(
        s.client
            .post(s.url("/v1/chat/completions"))
            .header("content-type", "application/json; charset=utf-8")
            .body(chat.to_string()),
    );
    assert_eq!(status, 200, "{answer}");
}

/// `GET /health` with `Host: host`.
fn with_host(s: &Server, host: &str) -> (u16, String) {
    s.send(s.client.get(s.url("/health")).header("host", host))
}

#[test]
fn a_loopback_server_answers_its_own_names_and_the_allowed_hosts_only() {
    let s = Server::start(&json!({}), &mocks());
    let port = s.base.rsplit(':').next().expect("a port").to_owned();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "localhost".to_owned(),
        format!("[::1]:{port}"),
        "LOCALHOST".to_owned(),
    ] {
        assert_eq!(with_host(&s, &host).0, 200, "{host}");
    }
    for host in [
        format!("evil.example:{port}"),
        "localhost.evil.example".to_owned(),
        "192.168.1.7".to_owned(),
    ] {
        let (status, body) = with_host(&s, &host);
        assert_eq!(status, 403, "{host}: {body}");
        assert!(body.contains("allowed_hosts"), "{body}");
    }
    let (status, body) = s.send(
        s.client
            .get(s.url("/v1/models"))
            .header("host", "evil.example"),
    );
    assert_eq!(status, 403);
    assert_eq!(json(&body)["error"]["code"], json!("forbidden"));
    drop(s);
    let s = Server::start(
        &json!({"allowed_hosts": ["arena.example.com", ".lan.example"]}),
        &mocks(),
    );
    for host in [
        "arena.example.com",
        "ARENA.example.com:8443",
        "box.lan.example",
        "localhost",
    ] {
        assert_eq!(with_host(&s, host).0, 200, "{host}");
    }
    for host in ["evil.example", "arena.example.com.evil"] {
        assert_eq!(with_host(&s, host).0, 403, "{host}");
    }
    drop(s);
    let s = Server::start(&json!({"allowed_hosts": ["*"]}), &mocks());
    assert_eq!(with_host(&s, "anything.example").0, 200);
}

#[test]
fn pages_of_other_sites_cannot_change_anything() {
    let s = Server::start(
        &json!({"cors_allowed_origins": ["https://app.example"]}),
        &mocks(),
    );
    let own = s.base.clone();
    let post = |origin: Option<&str>| {
        let mut request = s
            .client
            .post(s.url("/battle"))
            .json(&json!({"battle_type": "high_tier", "discord_id": "5"}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        s.send(request)
    };
    for origin in ["https://evil.example", "null", "http://127.0.0.1:1"] {
        let (status, body) = post(Some(origin));
        assert_eq!(status, 403, "{origin}: {body}");
        assert!(body.contains("cors_allowed_origins"), "{body}");
    }
    for origin in [Some("https://app.example"), Some(own.as_str()), None] {
        let (status, body) = post(origin);
        assert_eq!(status, 201, "{origin:?}: {body}");
    }
    // Reading is not changing: a GET from another site is CORS's business (its answer is
    // not shown to the page), not refused.
    let (status, _) = s.send(
        s.client
            .get(s.url("/leaderboard"))
            .header("origin", "https://evil.example"),
    );
    assert_eq!(status, 200);
    let (status, body) = s.send(
        s.client
            .post(s.url("/v1/chat/completions"))
            .header("origin", "https://evil.example")
            .json(&json!({"model": "arena", "messages": [{"role": "user", "content": "$sA"}]})),
    );
    assert_eq!(status, 403, "{body}");
    // Without any origin configured, only the server's own pages.
    drop(s);
    let s = Server::start(&json!({}), &mocks());
    let (status, _) = s.send(
        s.client
            .post(s.url("/battleunstuck"))
            .header("origin", "https://app.example")
            .json(&json!({"discord_id": "5"})),
    );
    assert_eq!(status, 403);
    drop(s);
    let s = Server::start(&json!({"cors_allowed_origins": ["*"]}), &mocks());
    let (status, _) = s.send(
        s.client
            .post(s.url("/battleunstuck"))
            .header("origin", "https://anyone.example")
            .json(&json!({"discord_id": "5"})),
    );
    assert_eq!(status, 200);
}

#[test]
fn a_cors_preflight_allows_the_authorization_header() {
    let s = Server::start(
        &json!({"cors_allowed_origins": ["https://app.example"], "api_key": "k"}),
        &mocks(),
    );
    let response = s
        .runtime
        .block_on(
            s.client
                .request(reqwest::Method::OPTIONS, s.url("/v1/chat/completions"))
                .header("origin", "https://app.example")
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "authorization, content-type",
                )
                .send(),
        )
        .expect("a response");
    assert!(response.status().is_success(), "{}", response.status());
    let allowed = response
        .headers()
        .get("access-control-allow-headers")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    assert!(allowed.contains("content-type"), "{allowed}");
    assert_ne!(allowed.trim(), "*");
}

/// `POST /battle` of `user`: the response itself, headers and all.
fn start_battle(s: &Server, user: &str) -> reqwest::Response {
    s.runtime
        .block_on(
            s.client
                .post(s.url("/battle"))
                .json(&json!({"battle_type": "high_tier", "discord_id": user}))
                .send(),
        )
        .expect("a response")
}

/// The `Retry-After` of a response, in seconds.
fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

#[test]
fn limits_say_when_to_try_again() {
    let s = Server::start(&json!({"max_concurrent_battles": 1}), &mocks());
    assert_eq!(start_battle(&s, "9").status(), 201);
    let response = start_battle(&s, "9");
    assert_eq!(response.status(), 429);
    let retry = retry_after(&response).expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry), "{retry}");
    let body = json(&s.runtime.block_on(response.text()).expect("a body"));
    // A vote frees the place, not a clock: no time is promised (not the week of the expiry).
    assert_eq!(body["detail"]["available_at"], Value::Null, "{body}");
    assert_eq!(
        body["detail"]["message"],
        json!(
            "You have 1 battle generating or waiting for a vote, the most at once: vote on one \
             first."
        ),
    );
    drop(s);
    let s = Server::start(&json!({"battle_interval_seconds": 90}), &mocks());
    assert_eq!(start_battle(&s, "8").status(), 201);
    s.advance(30_000);
    let response = start_battle(&s, "8");
    assert_eq!(response.status(), 429);
    assert_eq!(
        retry_after(&response),
        Some(60),
        "90 s apart, 30 s of it gone"
    );
    let body = json(&s.runtime.block_on(response.text()).expect("a body"));
    assert!(body["detail"]["available_at"].is_f64(), "{body}");
}

#[test]
fn prompt_statistics_publish_the_pools_prompts_not_the_users_own() {
    let run = |config: Value| {
        let s = Server::start(&config, &mocks());
        for (i, custom) in [None, Some("My private question about my health")]
            .into_iter()
            .enumerate()
        {
            let mut battle = json!({"battle_type": "high_tier", "discord_id": "3"});
            if let Some(text) = custom {
                battle["custom_prompt"] = json!(text);
            }
            let (status, body) = s.post("/battle", &battle);
            assert_eq!(status, 201, "{body}");
            let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
            let (status, body) = s.post(
                &format!("/vote/{id}"),
                &json!({"vote_choice": if i == 0 { "model_a" } else { "tie" }, "discord_id": "3"}),
            );
            assert_eq!(status, 200, "{body}");
        }
        s.get("/api/prompt_statistics").1
    };
    let shown = run(json!({}));
    assert!(!shown.contains("private question"), "{shown}");
    let prompts = json(&shown)["prompt_statistics"]
        .as_array()
        .expect("prompts")
        .len();
    assert_eq!(prompts, 1, "the pool's prompt is shown: {shown}");
    let shown = run(json!({"publish_custom_prompts": true}));
    assert!(shown.contains("private question"), "{shown}");
}
