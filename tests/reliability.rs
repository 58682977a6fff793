//! The fast half of the reliability tests (docs/reliability.md): concurrency, retries after a
//! lost response, clients that leave, and upstream faults, each against a real server on
//! loopback with a real database file. The crash loop, the soak, schemathesis and the fuzz
//! targets run from `scripts/reliability.sh`, not here.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use arena::battle::{BattleRecord, Status};
use arena::store::{BattleFilter, Mode, Store};

use crate::support::server::{Server, json};
use crate::support::{Upstream, refused_port};

fn mocks() -> Value {
    json!({"models": [
        {"name": "mock-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        {"name": "mock-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
    ]})
}

fn battles(s: &Server) -> Vec<BattleRecord> {
    s.runtime.block_on(async {
        let store = arena::store::open(&s.db(), Mode::Read).await.expect("open");
        store
            .battles(BattleFilter::default())
            .await
            .expect("battles")
    })
}

fn votes(s: &Server) -> usize {
    battles(s).iter().filter(|b| b.winner.is_some()).count()
}

/// Waits (ten seconds at most) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within ten seconds");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a POST over a raw connection and returns the connection unread.
fn post_raw(s: &Server, path: &str, body: &Value) -> std::net::TcpStream {
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).expect("connect");
    let body = body.to_string();
    write!(
        tcp,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    tcp.flush().expect("flush");
    tcp
}

#[test]
fn the_same_rpid_started_at_once_is_one_battle() {
    let s = Server::start(&json!({}), &mocks());
    let start = json!({"model": "arena", "user": "twice",
                       "messages": [{"role": "user", "content": "$sA77 Say hello"}]});
    let answers = s.post_at_once("/v1/chat/completions", vec![start; 20]);
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let all = battles(&s);
    assert_eq!(all.len(), 1, "one battle for one RPID: {}", all.len());
    assert_eq!(all[0].rpid.as_deref(), Some("77"));
}

#[test]
fn a_vote_whose_answer_was_lost_counts_once_when_retried() {
    let s = Server::start(&json!({}), &mocks());
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "user_id": "web:lost"}),
    );
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
    let vote = json!({"vote_choice": "model_b", "user_id": "web:lost"});
    // The vote arrives and is recorded; its answer never reaches the client.
    let tcp = post_raw(&s, &format!("/vote/{id}"), &vote);
    eventually("the vote recorded", || votes(&s) == 1);
    drop(tcp);
    // The client retries, as the SDKs do: the same answer, still one vote.
    for _ in 0..3 {
        let (status, body) = s.post(&format!("/vote/{id}"), &vote);
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["vote_choice"], json!("model_b"));
    }
    assert_eq!(votes(&s), 1);
    assert_eq!(s.battles_on_board("/leaderboard"), 2);

    // The same for a result command in chat.
    let chat = |content: &str| {
        s.post(
            "/v1/chat/completions",
            &json!({"model": "arena", "user": "lost",
                    "messages": [{"role": "user", "content": content}]}),
        )
    };
    assert_eq!(chat("$sA5 Say hello").0, 200);
    assert_eq!(chat("$B5").0, 200);
    let result = json!({"model": "arena", "user": "lost",
                        "messages": [{"role": "user", "content": "$wB5"}]});
    let tcp = post_raw(&s, "/v1/chat/completions", &result);
    eventually("the result recorded", || votes(&s) == 2);
    drop(tcp);
    let (status, again) = chat("$wB5");
    assert_eq!(status, 200, "{again}");
    assert!(
        again.contains("mock-1") && again.contains("mock-2"),
        "the reveal again: {again}"
    );
    assert_eq!(votes(&s), 2);
}

#[test]
fn a_rest_client_that_leaves_while_its_battle_generates_finds_it_finished() {
    let up = Upstream::start();
    let base = up.base_url();
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "saturn", "model": "hold-one", "base_url": base},
            {"name": "neptune", "model": "hold-two", "base_url": base},
        ]}),
    );
    let tcp = post_raw(
        &s,
        "/battle",
        &json!({"battle_type": "low_tier", "user_id": "web:gone"}),
    );
    eventually("the battle under way", || {
        up.hits("hold-one") + up.hits("hold-two") == 2
    });
    drop(tcp);
    up.release();
    eventually("the battle finished", || {
        battles(&s)
            .first()
            .is_some_and(|b| b.status != Status::PendingGeneration)
    });
    let b = &battles(&s)[0];
    assert_eq!(b.status, Status::PendingVote, "{:?}", b.status);
    assert!(b.a.response.is_some() && b.b.response.is_some());
    let (status, body) = s.post("/battleback", &json!({"user_id": "web:gone"}));
    assert_eq!(status, 200, "{body}");
}

/// Each fault of an upstream: the client gets a clear error in bounded time, the battle ends
/// `failed` (never stuck), and a pool with a sound second endpoint answers instead.
#[test]
fn every_upstream_fault_ends_in_a_clear_error_and_a_failed_battle() {
    let up = Upstream::start();
    let base = up.base_url();
    let refused = format!("http://127.0.0.1:{}/v1", refused_port());
    let faults: [(&str, &str, &str); 8] = [
        ("http 500", "fail-500", ""),
        ("http 429", "fail-429", ""),
        ("connection refused", "anything", "refused"),
        ("a response that never starts", "silent", ""),
        ("a stream that stops mid-way", "cut-x", ""),
        ("malformed SSE lines", "garbled-x", ""),
        ("one byte a second", "trickle", ""),
        ("a reply over max_answer_bytes", "endless-text", ""),
    ];
    let config = json!({
        "request_timeout_seconds": 3, "stream_idle_timeout_seconds": 2,
        "generation_timeout_seconds": 8, "max_answer_bytes": 8192,
    });
    let mut failed_ok = 0;
    for (i, (what, model, place)) in faults.iter().enumerate() {
        let url = if *place == "refused" {
            refused.clone()
        } else {
            base.clone()
        };
        let s = Server::start(
            &config,
            &json!({"models": [
                {"name": "steady", "model": "stream-one", "base_url": base},
                {"name": "faulty", "model": model, "base_url": url},
            ]}),
        );
        let started = Instant::now();
        let (status, body) = s.post(
            "/battle",
            &json!({"battle_type": "low_tier", "user_id": format!("web:f{i}")}),
        );
        let took = started.elapsed();
        assert!(status == 502 || status == 504, "{what}: {status} {body}");
        let detail = json(&body)["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(!detail.is_empty(), "{what}: {body}");
        assert!(
            !detail.contains("faulty") && !detail.contains(model),
            "{what}: {detail}"
        );
        assert!(took < Duration::from_secs(15), "{what}: {took:?}");
        let all = battles(&s);
        assert_eq!(all.len(), 1, "{what}");
        assert_eq!(all[0].status, Status::Failed, "{what}: {:?}", all[0].status);
        failed_ok += 1;
        // With a sound endpoint beside it, a fault before the first byte is retried there.
        if i < 4 {
            let s = Server::start(
                &config,
                &json!({"models": [
                    {"name": "steady", "model": "stream-one", "base_url": base},
                    {"name": "pooled", "endpoints": [
                        {"model": model, "base_url": url},
                        {"model": "stream-two", "base_url": base}]},
                ]}),
            );
            for _ in 0..3 {
                let (status, body) = s.post(
                    "/battle",
                    &json!({"battle_type": "low_tier", "user_id": format!("web:p{i}")}),
                );
                assert_eq!(status, 201, "{what} with a second endpoint: {body}");
                s.advance(60_000);
            }
        }
    }
    assert_eq!(failed_ok, faults.len());
}

/// Hostile input to every kind of route: never a 5xx, never a panic, and the database as it
/// was.
#[test]
fn hostile_input_gets_clear_4xx_and_leaves_the_database_whole() {
    let s = Server::start(&json!({"max_request_body_bytes": 65536}), &mocks());
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "user_id": "web:'; DROP TABLE votes; --"}),
    );
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
    // A fresh connection each: a response sent before its body was read (a 404 or 405)
    // ends its connection, and one taken from the pool as it closes would fail the send.
    let fresh = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .expect("a client");
    let ids = [
        "1' OR '1'='1",
        "..%2F..%2Fetc%2Fpasswd",
        "../../etc/passwd",
        "%00",
        "🙂",
        "00000000-0000-0000-0000-000000000000; DELETE FROM battles",
        &"9".repeat(5000),
    ];
    for bad in ids {
        for (method, path) in [
            ("GET", format!("/battle/{bad}")),
            ("POST", format!("/vote/{bad}")),
        ] {
            let request = fresh
                .request(method.parse().expect("method"), s.url(&path))
                .json(&json!({"vote_choice": "model_a", "user_id": "web:x"}));
            let (status, body) = s.send(request);
            assert!(
                (400..500).contains(&status),
                "{method} {path}: {status} {body}"
            );
        }
    }
    let raw = |path: &str, body: Vec<u8>| {
        s.send(
            fresh
                .post(s.url(path))
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bodies: Vec<Vec<u8>> = vec![
        b"{\"battle_type\": \"low_tier\"".to_vec(),
        b"{\"vote_choice\": ".to_vec(),
        vec![0xc3, 0x28, b'{', b'}'],
        b"{\"model\": \"arena\", \"messages\": [{\"role\": \"user\", \"content\": \"\xff\xfe\"}]}"
            .to_vec(),
        deep.into_bytes(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"battle_type\": [\"low_tier\"], \"user_id\": {\"$ne\": null}}".to_vec(),
        json!({"model": "arena", "messages": [{"role": "user", "content": {"deep": [1, 2]}}]})
            .to_string()
            .into_bytes(),
        json!({"model": "arena", "messages": [{"role": "user", "content": "$sA1 hi"}],
               "user": "x".repeat(100_000)})
        .to_string()
        .into_bytes(),
    ];
    for path in [
        "/battle",
        &format!("/vote/{id}"),
        "/battleback",
        "/battleunstuck",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/images/generations",
    ] {
        for body in &bodies {
            let (status, text) = raw(path, body.clone());
            assert!(
                status < 500,
                "{path} {:?}: {status} {text}",
                String::from_utf8_lossy(&body[..body.len().min(60)])
            );
        }
    }
    // A prompt longer than max_prompt_bytes is refused with the limit named.
    let s2 = Server::start(&json!({"max_prompt_bytes": 1000}), &mocks());
    let (status, body) = s2.post(
        "/battle",
        &json!({"battle_type": "high_tier", "custom_prompt": "word ".repeat(1000)}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("max_prompt_bytes"), "{body}");
    // Every table is still there and the database is whole (an SQLite file's own check).
    if s.on_postgres() {
        return;
    }
    let conn = rusqlite::Connection::open(s.db()).expect("open");
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("check");
    assert_eq!(check, "ok");
    let battles: i64 = conn
        .query_row("SELECT count(*) FROM battles", [], |r| r.get(0))
        .expect("battles");
    assert!(battles >= 1);
    conn.query_row("SELECT count(*) FROM votes", [], |r| r.get::<_, i64>(0))
        .expect("the votes table");
}

/// Before its vote, no endpoint names a battle's models: not the listings, not the
/// statistics, not the battle itself; and the raw ids of its users are nowhere in the file.
#[test]
fn nothing_before_the_vote_names_a_battles_models_and_no_file_holds_a_raw_user() {
    let up = Upstream::start();
    let base = up.base_url();
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "saturn", "model": "stream-one", "base_url": base},
            {"name": "neptune", "model": "stream-two", "base_url": base},
        ]}),
    );
    let secret_user = "web:someone-very-specific-4242";
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "low_tier", "user_id": secret_user}),
    );
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
    let chat_user = "chat-user-very-specific-9191";
    let (status, _) = s.post(
        "/v1/chat/completions",
        &json!({"model": "arena", "user": chat_user,
                "messages": [{"role": "user", "content": "$sA4 Say hello"}]}),
    );
    assert_eq!(status, 200);
    let mut seen = String::new();
    for path in [
        format!("/battle/{id}"),
        "/leaderboard".into(),
        "/api/battle_statistics".into(),
        "/api/prompt_statistics".into(),
        "/v1/leaderboard".into(),
        "/health".into(),
    ] {
        let (status, body) = s.get(&path);
        assert_eq!(status, 200, "{path}: {body}");
        // Only the battle's own answers may name a model (see `left_out`): drop them.
        let mut v = json(&body);
        if let Some(o) = v.as_object_mut() {
            o.remove("response_a");
            o.remove("response_b");
        }
        seen.push_str(&v.to_string());
    }
    let (_, back) = s.post("/battleback", &json!({"user_id": secret_user}));
    let mut back = json(&back);
    if let Some(o) = back.as_object_mut() {
        o.remove("response_a");
        o.remove("response_b");
    }
    seen.push_str(&back.to_string());
    for name in ["saturn", "neptune", "stream-one", "stream-two"] {
        assert!(!seen.contains(name), "{name} before the vote: {seen}");
    }
    // The raw user ids: in no byte of the database, its journal or anything beside it.
    let (_, dir) = s.stop();
    for entry in std::fs::read_dir(dir.path()).expect("dir").flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        for raw in [secret_user, "someone-very-specific-4242", chat_user] {
            assert!(
                !bytes.windows(raw.len()).any(|w| w == raw.as_bytes()),
                "{raw} in {}",
                entry.path().display()
            );
        }
    }
}

/// A side of a REST battle that fails: the upstream's error names its model (as OpenAI's do)
/// and a transport error would name the address. Neither reaches `POST /battle` or
/// `/battleback` before the vote.
#[test]
fn a_failing_side_is_named_by_neither_the_upstream_words_nor_its_address() {
    let up = Upstream::start();
    let base = up.base_url();
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "mercury", "model": "fail-404", "base_url": base},
            {"name": "venus", "model": "stream-one", "base_url": base},
        ]}),
    );
    let (status, failed) = s.post(
        "/battle",
        &json!({"battle_type": "low_tier", "user_id": "web:other", "custom_prompt": "Hello"}),
    );
    assert_eq!(status, 502, "{failed}");
    assert!(failed.contains("failed"), "{failed}");
    let mut seen = failed;
    let (_, back) = s.post("/battleback", &json!({"user_id": "web:other"}));
    seen.push_str(&back);
    // (Battle mode in chat: `openai::a_side_that_fails_in_a_battle_names_neither_its_model_nor_its_upstream`.)
    let address = base.trim_start_matches("http://");
    // (An answer may name its model, so `stream-one` is not looked for.)
    for name in ["mercury", "venus", "fail-404", address] {
        assert!(!seen.contains(name), "{name} before the vote: {seen}");
    }
}

#[test]
fn the_server_listens_beyond_this_machine_only_when_told_so_on_the_command_line() {
    let t = crate::support::Test::new().with_config_keys(&json!({"host": "0.0.0.0"}));
    t.arena()
        .args(["serve", "--port", "0"])
        .run()
        .code(2)
        .stderr_contains("--host 0.0.0.0");
}
