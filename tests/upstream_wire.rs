//! What arena sends its upstreams and makes of what they send back, against the fake
//! upstream's real-server behaviours: a stream that says `[DONE]` without a finish_reason, a
//! one-slot server that cuts a running answer, a `length` finish, an upstream that refuses
//! `stream_options`, LiteLLM's chunk after the finish, a quiet start; and the bodies each
//! upstream received (one token limit, the model's own params, a request for usage).

use serde_json::{Value, json};

use crate::support::server::{Server, json};
use crate::support::upstream::Request;
use crate::support::{Test, Upstream, text};

/// The SSE `data:` payloads of a stream body, `[DONE]` left out, as JSON.
fn frames(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(json)
        .collect()
}

fn ask(model: &str, content: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": content}]})
}

fn model(up: &Upstream, name: &str, id: &str) -> Value {
    json!({"name": name, "model": id, "base_url": up.base_url()})
}

/// The stored completion tokens of the latest battle, per side: (model, tokens).
fn stored_tokens(db: &std::path::Path) -> Vec<(String, Option<i64>)> {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    conn.query_row(
        "SELECT ma.name, b.completion_tokens_a, mb.name, b.completion_tokens_b FROM battles b \
         JOIN models ma ON ma.id = b.model_a JOIN models mb ON mb.id = b.model_b \
         ORDER BY b.id DESC LIMIT 1",
        [],
        |r| {
            Ok(vec![
                (r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?),
                (r.get::<_, String>(2)?, r.get::<_, Option<i64>>(3)?),
            ])
        },
    )
    .expect("a battle")
}

#[test]
fn a_stream_that_says_done_without_a_finish_reason_is_cut_everywhere() {
    let up = Upstream::start();
    // A battle: the side fails, the battle with it.
    let t = Test::new().with_upstream_models(
        &up,
        &[("cutoff", "done-no-finish-a"), ("steady", "stream-b")],
    );
    let out = t
        .arena()
        .args(["battle", "Hello", "--models", "cutoff,steady", "--no-vote"])
        .args(["--format", "json"])
        .run()
        .code(3);
    let battle = out.json();
    assert_eq!(battle["status"], json!("failed"), "{battle:#}");
    assert!(
        text(&battle, "error").contains("may be cut short"),
        "{battle:#}"
    );

    // The proxy: an error frame, then [DONE]; a whole answer is a 502.
    let s = Server::start(
        &json!({}),
        &json!({"models": [model(&up, "cut-one", "done-no-finish-1"),
                           model(&up, "cut-two", "done-no-finish-2")]}),
    );
    let (status, body) = s.post("/v1/chat/completions", &ask("cut-one", "hi", true));
    assert_eq!(status, 200, "{body}");
    let got = frames(&body);
    let last = got.last().expect("frames");
    assert!(
        text(&last["error"], "message").contains("may be cut short"),
        "{body}"
    );
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    let (status, body) = s.post("/v1/chat/completions", &ask("cut-one", "hi", false));
    assert_eq!(status, 502, "{body}");

    // Battle mode: the side's answer ends in an error, never in a `stop`.
    let (status, body) = s.post("/v1/chat/completions", &ask("arena", "$sA1 Hello", true));
    assert_eq!(status, 200, "{body}");
    let got = frames(&body);
    assert!(
        got.last().is_some_and(|f| f.get("error").is_some()),
        "{body}"
    );
    assert!(
        !got.iter()
            .any(|f| f["choices"][0]["finish_reason"] == json!("stop")),
        "{body}"
    );
}

#[test]
fn a_one_slot_server_cuts_a_battle_unless_max_concurrent_makes_the_sides_queue() {
    let up = Upstream::start();
    let pair = |limit: Option<u32>| {
        let mut a = model(&up, "north", "one-slot-north");
        let mut b = model(&up, "south", "one-slot-south");
        if let Some(n) = limit {
            a["max_concurrent"] = json!(n);
            b["max_concurrent"] = json!(n);
        }
        json!({"models": [a, b]})
    };
    // Without a limit the two sides collide, and the cut one is not taken for an answer.
    let t = Test::new().with_models(&pair(None));
    let battle = t
        .arena()
        .args(["battle", "Hello", "--models", "north,south", "--no-vote"])
        .args(["--format", "json"])
        .run()
        .code(3)
        .json();
    assert_eq!(battle["status"], json!("failed"), "{battle:#}");
    assert!(
        text(&battle, "error").contains("max_concurrent"),
        "{battle:#}"
    );

    // With one slot, the second side waits for the first: both whole, never overlapping.
    let t = Test::new().with_models(&pair(Some(1)));
    let battle = t.battle(&["Hello", "--models", "north,south"]);
    assert_eq!(battle["status"], json!("pending_vote"), "{battle:#}");
    for side in ["response_a", "response_b"] {
        assert!(
            text(&battle, side).ends_with("red green blue."),
            "{battle:#}"
        );
    }
    let requests: Vec<_> = up
        .requests()
        .into_iter()
        .filter(|r| r.model.starts_with("one-slot-"))
        .collect();
    let (a, b) = (&requests[requests.len() - 2], &requests[requests.len() - 1]);
    assert!(!a.overlaps(b), "the sides ran at once on a one-slot server");

    // The proxy queues too.
    let s = Server::start(&json!({}), &pair(Some(1)));
    let before = up.requests().len();
    let answers = s.post_at_once(
        "/v1/chat/completions",
        [ask("north", "one", true), ask("north", "two", true)],
    );
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        let got = frames(body);
        assert!(got.iter().all(|f| f.get("error").is_none()), "{body}");
        assert!(
            got.iter()
                .any(|f| f["choices"][0]["finish_reason"] == json!("stop")),
            "{body}"
        );
    }
    let requests = up.requests();
    assert!(!requests[before].overlaps(&requests[before + 1]));
}

#[test]
fn battle_mode_keeps_the_upstreams_finish_reason() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({}),
        &json!({"models": [model(&up, "cut-a", "length-a"), model(&up, "cut-b", "length-b")]}),
    );
    let (status, body) = s.post("/v1/chat/completions", &ask("arena", "$sA1 Hello", true));
    assert_eq!(status, 200, "{body}");
    let reasons: Vec<Value> = frames(&body)
        .iter()
        .map(|f| f["choices"][0]["finish_reason"].clone())
        .filter(|r| !r.is_null())
        .collect();
    assert_eq!(reasons, [json!("length")], "{body}");
    let (status, body) = s.post("/v1/chat/completions", &ask("arena", "$B1", false));
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["choices"][0]["finish_reason"], json!("length"));
    // And the proxy passes it on, streamed or whole.
    let (_, body) = s.post("/v1/chat/completions", &ask("cut-a", "hi", true));
    assert!(
        frames(&body)
            .iter()
            .any(|f| f["choices"][0]["finish_reason"] == json!("length")),
        "{body}"
    );
    let (_, body) = s.post("/v1/chat/completions", &ask("cut-a", "hi", false));
    assert_eq!(json(&body)["choices"][0]["finish_reason"], json!("length"));
}

#[test]
fn one_token_limit_goes_upstream_the_clients() {
    let up = Upstream::start();
    let mut capped = model(&up, "capped", "stream-capped");
    capped["params"] = json!({"max_tokens": 48, "top_p": 0.5});
    let mut newer = model(&up, "newer", "stream-newer");
    newer["params"] = json!({"max_completion_tokens": 100});
    let models = json!({"models": [capped, newer]});
    let s = Server::start(&json!({}), &models);
    let sent = |body: Value| {
        let (status, answer) = s.post("/v1/chat/completions", &body);
        assert_eq!(status, 200, "{answer}");
        up.requests().last().expect("a request").body.clone()
    };
    // The client's limit, alone, under the name the params use (the operator's `max_tokens`
    // says the upstream reads that name).
    let mut body = ask("capped", "hi", false);
    body["max_completion_tokens"] = json!(5);
    let got = sent(body);
    assert_eq!(got["max_tokens"], json!(5), "{got}");
    assert!(got.get("max_completion_tokens").is_none(), "{got}");
    assert_eq!(got["top_p"], json!(0.5), "other params still fill in");
    let mut body = ask("newer", "hi", false);
    body["max_tokens"] = json!(9);
    let got = sent(body);
    assert_eq!(
        (&got["max_completion_tokens"], got.get("max_tokens")),
        (&json!(9), None)
    );
    let mut body = ask("capped", "hi", true);
    body["max_tokens"] = json!(7);
    let got = sent(body);
    assert_eq!(
        (&got["max_tokens"], got.get("max_completion_tokens")),
        (&json!(7), None)
    );
    let got = sent(ask("capped", "hi", false));
    assert_eq!(
        got["max_tokens"],
        json!(48),
        "the params' limit when the client sets none"
    );

    // A battle's limit goes under the name the model's params use, alone.
    let t = Test::new().with_models(&models);
    t.battle(&["Hello", "--models", "capped,newer", "--max-tokens", "5"]);
    let requests = up.requests();
    let by = |id: &str| {
        requests
            .iter()
            .rev()
            .find(|r| r.model == id)
            .expect("a request")
            .body
            .clone()
    };
    let newer = by("stream-newer");
    assert_eq!(newer["max_completion_tokens"], json!(5), "{newer}");
    assert!(newer.get("max_tokens").is_none(), "{newer}");
    let capped = by("stream-capped");
    assert_eq!(capped["max_tokens"], json!(5), "{capped}");
    assert!(capped.get("max_completion_tokens").is_none(), "{capped}");
}

#[test]
fn battles_ask_for_usage_and_store_the_real_counts_or_an_honest_estimate() {
    let up = Upstream::start();
    let t = Test::new().with_upstream_models(
        &up,
        &[
            ("counted", "stream-counted"),
            ("refusing", "refuse-usage-x"),
        ],
    );
    t.battle(&["Hello", "--models", "counted,refusing"]);
    let requests = up.requests();
    let counted: Vec<_> = requests
        .iter()
        .filter(|r| r.model == "stream-counted")
        .collect();
    assert_eq!(counted.len(), 1);
    assert_eq!(
        counted[0].body["stream_options"],
        json!({"include_usage": true})
    );
    // The refusal is answered by asking again without the field.
    let refusing: Vec<_> = requests
        .iter()
        .filter(|r| r.model == "refuse-usage-x")
        .collect();
    assert_eq!(refusing.len(), 2, "{refusing:#?}");
    assert!(refusing[0].body.get("stream_options").is_some());
    assert!(refusing[1].body.get("stream_options").is_none());
    for (model, completion) in stored_tokens(&t.db()) {
        match model.as_str() {
            // The upstream's own count (the fake says 11), not the 6 chunks it sent.
            "counted" => assert_eq!(completion, Some(11)),
            // No count from the upstream: an estimate of "Answer from refuse-usage-x: red
            // green blue.", each word and each punctuation mark once, however it was cut.
            _ => assert_eq!(completion, Some(12)),
        }
    }
}

#[test]
fn an_endpoint_that_refused_usage_is_asked_without_it_from_then_on() {
    let up = Upstream::start();
    // Two models on one endpoint (the same server and upstream id), so whichever side
    // answers, it is the same endpoint.
    let s = Server::start(
        &json!({}),
        &json!({"models": [model(&up, "refusing", "refuse-usage-y"),
                           model(&up, "other", "refuse-usage-y")]}),
    );
    let mut first = 0;
    for n in 1..=2 {
        let (status, body) = s.post(
            "/v1/chat/completions",
            &ask("arena", &format!("$sA{n} Hello"), true),
        );
        assert_eq!(status, 200, "{body}");
        assert!(
            frames(&body).iter().all(|f| f.get("error").is_none()),
            "{body}"
        );
        if n == 1 {
            first = up.requests().len();
        }
    }
    // Refused (by both sides, asked at once), then asked without the field from then on.
    let with = |r: &[Request]| {
        r.iter()
            .filter(|r| r.body.get("stream_options").is_some())
            .count()
    };
    let requests = up.requests();
    assert!(with(&requests[..first]) >= 1, "{requests:#?}");
    assert_eq!(with(&requests[first..]), 0, "{requests:#?}");
}

#[test]
fn models_check_sends_the_models_own_params() {
    let up = Upstream::start();
    let t = Test::new().with_models(&json!({"models": [
        {"name": "hot", "model": "strict-hot", "base_url": up.base_url(),
         "params": {"temperature": 5}},
        {"name": "limited", "model": "stream-limited", "base_url": up.base_url(),
         "params": {"max_tokens": 3}},
    ]}));
    t.arena()
        .args(["models", "check", "hot"])
        .run()
        .code(3)
        .stdout_contains("temperature must be between 0 and 2");
    assert_eq!(
        up.requests().last().expect("a request").body["temperature"],
        json!(5)
    );
    t.arena()
        .args(["models", "check", "limited"])
        .run()
        .success();
    let sent = up.requests().last().expect("a request").body.clone();
    assert_eq!(sent["max_tokens"], json!(3), "{sent}");
    assert!(sent.get("temperature").is_none(), "{sent}");
}

#[test]
fn nothing_but_usage_follows_the_finish_chunk_of_a_relayed_stream() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({}),
        &json!({"models": [model(&up, "routed", "litellm-one"), model(&up, "b", "stream-b")]}),
    );
    let mut body = ask("routed", "hi", true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, raw) = s.post("/v1/chat/completions", &body);
    assert_eq!(status, 200, "{raw}");
    let got = frames(&raw);
    let finish = got
        .iter()
        .position(|f| f["choices"][0]["finish_reason"] == json!("stop"))
        .expect("a finish chunk");
    let after = &got[finish + 1..];
    assert_eq!(after.len(), 1, "{raw}");
    assert_eq!(after[0]["choices"], json!([]));
    assert_eq!(after[0]["usage"]["completion_tokens"], json!(11));
}

#[test]
fn a_quiet_proxied_stream_gets_keep_alive_comments_before_its_first_byte() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"sse_keepalive_seconds": 1, "request_timeout_seconds": 3}),
        &json!({"models": [model(&up, "quiet", "silent"), model(&up, "busy", "fail-429"),
                           model(&up, "stalling", "stall")]}),
    );
    // The upstream sends nothing, headers included: the client gets its response and
    // comments all the same, and the failure as an error frame.
    let (status, raw) = s.post("/v1/chat/completions", &ask("quiet", "hi", true));
    assert_eq!(status, 200, "{raw}");
    let comment = raw.find(": keep-alive\n\n").expect("a keep-alive comment");
    let error = raw.find("data: {\"error\"").expect("an error frame");
    assert!(comment < error, "{raw}");
    assert!(raw.ends_with("data: [DONE]\n\n"), "{raw}");
    // A failure known at once keeps its own status.
    let (status, raw) = s.post("/v1/chat/completions", &ask("busy", "hi", true));
    assert_eq!(status, 429, "{raw}");
    // Quiet after the first byte: the same comment, as documented.
    let (status, raw) = s.post("/v1/chat/completions", &ask("stalling", "hi", true));
    assert_eq!(status, 200, "{raw}");
    let first = raw.find("I will say more").expect("the first piece");
    assert!(
        raw[first..].contains("\n\n: keep-alive\n\n"),
        "no keep-alive after the first byte: {raw}"
    );
    assert!(!raw.contains("\n:\n"), "a bare `:` comment: {raw}");
}
