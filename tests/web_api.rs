//! The web page's streaming battle API and its files: both sides of a turn streamed as
//! server-sent events at once, no model named before the vote, votes only once both answers
//! were read, each side's own transcript on a follow-up turn (read from what the recording
//! fake upstream received), side-by-side votes kept apart from the default board, the
//! caller's own battles only, the REST API's limits, and the embedded page with ETags and
//! gzip. Real server, real database file, real HTTP.

use std::io::Read;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::server::{Server, json};
use crate::support::{Test, Upstream, answer};

/// A guard against hangs while reading a stream, not an assertion on speed.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// The config's `api_key`: a service key.
const SERVICE: &str = "service-key-web-0123456789";

/// Two models of the fake upstream: `saturn` and `neptune`, answering as the upstream ids
/// `a` and `b`.
fn pair(up: &Upstream, a: &str, b: &str) -> Value {
    let base = up.base_url();
    json!({"models": [
        {"name": "saturn", "model": a, "base_url": base, "tier": "high"},
        {"name": "neptune", "model": b, "base_url": base, "tier": "high"},
    ]})
}

/// Every word that would name a model of [`pair`] with `stream-one` and `stream-two`.
const NAMES: [&str; 4] = ["saturn", "neptune", "stream-one", "stream-two"];

/// An open event stream of the API.
struct Events {
    response: reqwest::Response,
    buffer: String,
    /// Every byte received, as text.
    raw: String,
}

/// One event: its name and its data.
#[derive(Debug, Clone)]
struct Ev {
    name: String,
    data: Value,
}

impl Ev {
    fn side(&self) -> &str {
        self.data["side"].as_str().unwrap_or_default()
    }
}

impl Events {
    /// The next event (comments skipped); `None` at the end of the stream.
    fn next(&mut self, s: &Server) -> Option<Ev> {
        loop {
            if let Some(at) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..at + 2).collect();
                let mut name = None;
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = Some(n.trim().to_owned());
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if let Some(name) = name {
                    return Some(Ev {
                        name,
                        data: json(&data),
                    });
                }
                continue;
            }
            let chunk = s.runtime.block_on(async {
                tokio::time::timeout(HANG_GUARD, self.response.chunk())
                    .await
                    .expect("the stream went quiet for a minute")
                    .expect("the stream broke")
            })?;
            let text = String::from_utf8_lossy(&chunk).into_owned();
            self.raw.push_str(&text);
            self.buffer.push_str(&text);
        }
    }

    /// Reads on until the bytes received hold `needle`, keeping the events for [`next`].
    fn read_until(&mut self, s: &Server, needle: &str) {
        while !self.raw.contains(needle) {
            let chunk = s
                .runtime
                .block_on(async {
                    tokio::time::timeout(HANG_GUARD, self.response.chunk())
                        .await
                        .expect("the stream went quiet for a minute")
                        .expect("the stream broke")
                })
                .unwrap_or_else(|| panic!("the stream ended without {needle:?}: {}", self.raw));
            let text = String::from_utf8_lossy(&chunk).into_owned();
            self.raw.push_str(&text);
            self.buffer.push_str(&text);
        }
    }

    /// Every event up to the end of the stream.
    fn rest(&mut self, s: &Server) -> Vec<Ev> {
        std::iter::from_fn(|| self.next(s)).collect()
    }
}

/// A request's response: the status, and its events when it is a stream, else its body.
enum Answer {
    Stream(Events),
    Body(u16, String, reqwest::header::HeaderMap),
}

impl Answer {
    #[track_caller]
    fn stream(self) -> Events {
        match self {
            Answer::Stream(e) => e,
            Answer::Body(status, body, _) => panic!("not a stream: {status} {body}"),
        }
    }

    #[track_caller]
    fn refused(self) -> (u16, String, reqwest::header::HeaderMap) {
        match self {
            Answer::Body(status, body, headers) => (status, body, headers),
            Answer::Stream(_) => panic!("a stream, where a refusal was expected"),
        }
    }
}

fn send(s: &Server, request: reqwest::RequestBuilder) -> Answer {
    s.runtime.block_on(async {
        let response = request.send().await.expect("a response");
        let streams = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if response.status() == 200 && streams {
            Answer::Stream(Events {
                response,
                buffer: String::new(),
                raw: String::new(),
            })
        } else {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            Answer::Body(status, response.text().await.expect("a body"), headers)
        }
    })
}

fn post(s: &Server, key: Option<&str>, path: &str, body: &Value) -> Answer {
    let mut request = s.client.post(s.url(path)).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    send(s, request)
}

fn get(s: &Server, key: Option<&str>, path: &str) -> (u16, String) {
    let mut request = s.client.get(s.url(path));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    s.send(request)
}

fn vote(s: &Server, key: Option<&str>, id: &str, body: &Value) -> (u16, String) {
    let (status, body, _) = post(s, key, &format!("/api/battles/{id}/vote"), body).refused();
    (status, body)
}

/// The text each side streamed, and whether `done` said the battle may be voted.
fn texts(events: &[Ev]) -> (String, String, Option<bool>) {
    let of = |side: &str| -> String {
        events
            .iter()
            .filter(|e| e.name == "delta" && e.side() == side)
            .filter_map(|e| e.data["text"].as_str())
            .collect()
    };
    let done = events
        .iter()
        .find(|e| e.name == "done")
        .and_then(|e| e.data["votable"].as_bool());
    (of("a"), of("b"), done)
}

fn battle_id(events: &[Ev]) -> String {
    let head = events.first().expect("events");
    assert_eq!(head.name, "battle", "{events:?}");
    head.data["battle_id"]
        .as_str()
        .expect("a battle id")
        .to_owned()
}

/// The upstream model ids on side A and B, told by the text each side streamed.
fn sides(a_text: &str) -> (&'static str, &'static str) {
    if a_text == answer("stream-one") {
        ("stream-one", "stream-two")
    } else {
        assert_eq!(a_text, answer("stream-two"));
        ("stream-two", "stream-one")
    }
}

/// The messages of every request the fake received for upstream id `model`: (role, text).
fn received(up: &Upstream, model: &str) -> Vec<Vec<(String, String)>> {
    up.requests()
        .into_iter()
        .filter(|r| r.model == model)
        .map(|r| {
            r.body["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .map(|m| {
                    let text = match &m["content"] {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (m["role"].as_str().unwrap_or_default().to_owned(), text)
                })
                .collect()
        })
        .collect()
}

fn msg(role: &str, text: &str) -> (String, String) {
    (role.to_owned(), text.to_owned())
}

#[test]
fn both_sides_stream_at_once_and_no_model_is_named_before_the_vote() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let user = json!({"prompt": "Write a poem", "user_id": "web:alice"});
    let mut stream = post(&s, None, "/api/battles", &user).stream();
    let events = stream.rest(&s);
    let id = battle_id(&events);
    assert_eq!(events[0].data["mode"], "anonymous");
    assert_eq!(events[0].data["turn"], 0);
    assert_eq!(events[0].data["prompt"], "Write a poem");
    // Each side's answer came as a stream of its own pieces, both in the one response.
    for side in ["a", "b"] {
        let deltas = events
            .iter()
            .filter(|e| e.name == "delta" && e.side() == side)
            .count();
        assert!(deltas >= 3, "side {side}: {deltas} deltas in {events:?}");
        let ends: Vec<&Ev> = events
            .iter()
            .filter(|e| e.name == "side_end" && e.side() == side)
            .collect();
        assert_eq!(ends.len(), 1, "{events:?}");
        assert_eq!(ends[0].data["finish_reason"], "stop");
    }
    let (a_text, b_text, votable) = texts(&events);
    let (a, b) = sides(&a_text);
    assert_eq!(b_text, answer(b));
    assert_eq!(votable, Some(true));
    assert_eq!(events.last().map(|e| e.name.as_str()), Some("done"));

    // Nothing before the vote names a model: not the stream, the list or the battle.
    let (status, list) = get(&s, None, "/api/battles?user_id=web:alice");
    assert_eq!(status, 200, "{list}");
    let (status, detail) = get(&s, None, &format!("/api/battles/{id}?user_id=web:alice"));
    assert_eq!(status, 200, "{detail}");
    for raw in [&stream.raw, &list, &detail] {
        for name in NAMES {
            assert!(!raw.contains(name), "{name} named before the vote: {raw}");
        }
    }
    assert_eq!(json(&detail)["turns"][0]["response_a"], json!(answer(a)));

    let (status, body) = vote(
        &s,
        None,
        &id,
        &json!({"winner": "model_a", "user_id": "web:alice"}),
    );
    assert_eq!(status, 200, "{body}");
    let reveal = json(&body);
    let name = |upstream: &str| {
        if upstream == "stream-one" {
            "saturn"
        } else {
            "neptune"
        }
    };
    assert_eq!(reveal["model_a"], name(a));
    assert_eq!(reveal["model_b"], name(b));
    assert_eq!(reveal["winner"], "model_a");
    let elo = &reveal["elo"]["model_a"];
    assert!(
        elo["rating_after"].as_f64() > elo["rating_before"].as_f64(),
        "{body}"
    );
    assert!(reveal.get("left_out").is_none(), "{body}");
    // After the vote the battle names its models.
    let (_, detail) = get(&s, None, &format!("/api/battles/{id}?user_id=web:alice"));
    let detail = json(&detail);
    assert_eq!(detail["model_a"], name(a));
    assert_eq!(detail["status"], "completed");
    assert_eq!(detail["winner"], "model_a");
}

#[test]
fn both_sides_are_streamed_before_either_ends() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "hold-one", "hold-two"));
    let mut stream = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "Say two words", "user_id": "web:alice"}),
    )
    .stream();
    // Both upstreams hold their answer after its first piece: both sides' first pieces
    // come out while neither has ended.
    let mut seen = Vec::new();
    while !(seen.iter().any(|e: &Ev| e.side() == "a") && seen.iter().any(|e| e.side() == "b")) {
        let e = stream.next(&s).expect("an event");
        assert_ne!(e.name, "side_end", "a side ended early: {seen:?}");
        if e.name == "delta" {
            seen.push(e);
        }
    }
    up.release();
    let rest = stream.rest(&s);
    let all: Vec<Ev> = seen.into_iter().chain(rest).collect();
    let (a, b, votable) = texts(&all);
    assert_eq!((a.as_str(), b.as_str()), ("first second", "first second"));
    assert_eq!(votable, Some(true));
}

#[test]
fn a_vote_waits_for_both_answers_read_to_their_end_and_a_resumed_stream_reads_them() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "hold-one", "hold-two"));
    let me = json!({"user_id": "web:alice"});
    let mut stream = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "Say two words", "user_id": "web:alice"}),
    )
    .stream();
    let id = battle_id(&[stream.next(&s).expect("the battle event")]);
    // The page goes away before the answers end.
    let first = stream.next(&s).expect("a delta");
    assert_eq!(first.name, "delta");
    drop(stream);
    let ballot = json!({"winner": "tie", "user_id": "web:alice"});
    let (status, body) = vote(&s, None, &id, &ballot);
    assert_eq!(status, 409, "{body}");

    // Resumed: the text so far at once, then the rest live.
    let mut resumed = post(&s, None, &format!("/api/battles/{id}/stream"), &me).stream();
    let head = resumed.next(&s).expect("the battle event");
    assert_eq!(head.data["battle_id"], json!(id));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let e = resumed.next(&s).expect("an event");
        assert_eq!(e.name, "delta", "{e:?}");
        seen.push(e);
    }
    // The answers are still held upstream: not votable yet.
    let (status, body) = vote(&s, None, &id, &ballot);
    assert_eq!(status, 409, "{body}");
    up.release();
    let all: Vec<Ev> = seen.into_iter().chain(resumed.rest(&s)).collect();
    let (a, b, votable) = texts(&all);
    assert_eq!((a.as_str(), b.as_str()), ("first second", "first second"));
    assert_eq!(votable, Some(true));

    let (status, body) = vote(&s, None, &id, &ballot);
    assert_eq!(status, 200, "{body}");
    // The same vote again is answered as the first; another is refused.
    let (status, again) = vote(&s, None, &id, &ballot);
    assert_eq!((status, json(&again)), (200, json(&body)));
    let (status, body) = vote(
        &s,
        None,
        &id,
        &json!({"winner": "model_b", "user_id": "web:alice"}),
    );
    assert_eq!(status, 409, "{body}");
    // No more turns on a voted battle.
    let (status, body, _) = post(
        &s,
        None,
        &format!("/api/battles/{id}/turns"),
        &json!({"text": "more", "user_id": "web:alice"}),
    )
    .refused();
    assert_eq!(status, 409, "{body}");
}

#[test]
fn a_follow_up_turn_reaches_each_upstream_with_its_own_transcript_only() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let events = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "Q1", "system": "Be brief.", "user_id": "web:alice"}),
    )
    .stream()
    .rest(&s);
    let id = battle_id(&events);
    let (a_text, _, _) = texts(&events);
    let (a, b) = sides(&a_text);
    let events = post(
        &s,
        None,
        &format!("/api/battles/{id}/turns"),
        &json!({"text": "Q2", "user_id": "web:alice"}),
    )
    .stream()
    .rest(&s);
    assert_eq!(events[0].data["turn"], 1);
    assert_eq!(events[0].data["prompt"], "Q2");
    let (a2, b2, votable) = texts(&events);
    assert_eq!((a2, b2), (answer(a), answer(b)));
    assert_eq!(votable, Some(true));
    for model in [a, b] {
        let got = received(&up, model);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[1],
            [
                msg("system", "Be brief."),
                msg("user", "Q1"),
                msg("assistant", &answer(model)),
                msg("user", "Q2"),
            ],
            "{model} was sent another conversation"
        );
    }
    let (_, detail) = get(&s, None, &format!("/api/battles/{id}?user_id=web:alice"));
    let turns = &json(&detail)["turns"];
    assert_eq!(turns[1]["prompt"], "Q2");
    assert_eq!(turns[1]["response_b"], json!(answer(b)));
    let (_, list) = get(&s, None, "/api/battles?user_id=web:alice");
    assert_eq!(json(&list)["battles"][0]["turns"], 2);
    let (status, body) = vote(
        &s,
        None,
        &id,
        &json!({"winner": "model_b", "user_id": "web:alice"}),
    );
    assert_eq!(status, 200, "{body}");
}

#[test]
fn images_go_to_both_sides_as_parts_of_the_message() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    let events = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "What is this?", "images": [png], "user_id": "web:alice"}),
    )
    .stream()
    .rest(&s);
    assert_eq!(texts(&events).2, Some(true), "{events:?}");
    for model in ["stream-one", "stream-two"] {
        let request = up
            .requests()
            .into_iter()
            .find(|r| r.model == model)
            .expect("a request");
        assert_eq!(
            request.body["messages"][0]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": png}},
            ])
        );
    }
    let (status, body, _) = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "x", "images": ["https://example.com/a.png"], "user_id": "web:bob"}),
    )
    .refused();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("images[0]"), "{body}");
}

#[test]
fn a_random_prompt_comes_from_the_pool_by_theme() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let events = post(
        &s,
        None,
        "/api/battles",
        &json!({"random": true, "theme": "poetry", "user_id": "web:alice"}),
    )
    .stream()
    .rest(&s);
    assert_eq!(events[0].data["prompt"], "Write a poem about spring");
    assert_eq!(events[0].data["prompt_theme"], "poetry");
    let (status, body, _) = post(
        &s,
        None,
        "/api/battles",
        &json!({"random": true, "theme": "cooking", "user_id": "web:bob"}),
    )
    .refused();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cooking"), "{body}");
    // Neither a prompt nor a random one: refused, naming the field.
    let (status, body, _) =
        post(&s, None, "/api/battles", &json!({"user_id": "web:bob"})).refused();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("prompt"), "{body}");
}

#[test]
fn side_by_side_votes_are_kept_apart_from_the_default_board() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let events = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "Hi", "mode": "named", "model_a": "neptune", "model_b": "saturn",
                "user_id": "web:alice"}),
    )
    .stream()
    .rest(&s);
    let id = battle_id(&events);
    assert_eq!(events[0].data["mode"], "named");
    assert_eq!(events[0].data["model_a"], "neptune");
    assert_eq!(events[0].data["model_b"], "saturn");
    // The sides are as named.
    let (a_text, b_text, _) = texts(&events);
    assert_eq!(
        (a_text, b_text),
        (answer("stream-two"), answer("stream-one"))
    );
    let (status, body) = vote(
        &s,
        None,
        &id,
        &json!({"winner": "model_a", "user_id": "web:alice"}),
    );
    assert_eq!(status, 200, "{body}");
    let reveal = json(&body);
    assert_eq!(reveal["left_out"], json!(["named"]));
    // Kept apart: the Elo of the running board did not move.
    assert_eq!(
        reveal["elo"]["model_a"]["rating_before"],
        reveal["elo"]["model_a"]["rating_after"]
    );

    let board = |query: &str| {
        let (status, body) = get(&s, None, &format!("/api/leaderboard?bootstrap=0{query}"));
        assert_eq!(status, 200, "{body}");
        json(&body)
    };
    let default = board("");
    assert_eq!(default["votes"], 0, "{default}");
    assert_eq!(default["left_out"]["named"], 1, "{default}");
    let named = board("&include_named=true");
    assert_eq!(named["votes"], 1, "{named}");
    assert_eq!(named["include_named"], true);
    let first = &named["leaderboard"][0];
    assert_eq!(first["model_name"], "neptune", "{named}");
    // The statistics take them on request too.
    let (_, stats) = get(&s, None, "/api/battle_statistics");
    assert_eq!(json(&stats)["match_count_matrix"], json!({}));
    let (_, stats) = get(&s, None, "/api/battle_statistics?include_named=true");
    assert_eq!(json(&stats)["match_count_matrix"]["neptune"]["saturn"], 1);

    // Named mode needs two different known models.
    for (a, b) in [("saturn", "saturn"), ("saturn", "pluto")] {
        let (status, body, _) = post(
            &s,
            None,
            "/api/battles",
            &json!({"prompt": "Hi", "mode": "named", "model_a": a, "model_b": b,
                    "user_id": "web:alice"}),
        )
        .refused();
        assert_eq!(status, 400, "{a} {b}: {body}");
    }
}

#[test]
fn a_server_that_hides_its_pool_takes_no_side_by_side_battle() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"expose_pool": false}),
        &pair(&up, "stream-one", "stream-two"),
    );
    let (status, body) = get(&s, None, "/api/models");
    assert_eq!(status, 200);
    assert_eq!(json(&body), json!({"models": [], "chat": false}));
    let (status, body, _) = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "Hi", "mode": "named", "model_a": "neptune", "model_b": "saturn",
                "user_id": "web:alice"}),
    )
    .refused();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("expose_pool"), "{body}");
}

#[test]
fn callers_see_and_touch_only_their_own_battles() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let start = |user: &str| {
        battle_id(
            &post(
                &s,
                None,
                "/api/battles",
                &json!({"prompt": format!("from {user}"), "user_id": user}),
            )
            .stream()
            .rest(&s),
        )
    };
    let alice = start("web:alice");
    let bob = start("web:bob");
    let list = |user: &str| -> Vec<String> {
        let (status, body) = get(&s, None, &format!("/api/battles?user_id={user}"));
        assert_eq!(status, 200, "{body}");
        json(&body)["battles"]
            .as_array()
            .expect("battles")
            .iter()
            .map(|b| b["battle_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(list("web:alice"), std::slice::from_ref(&alice));
    assert_eq!(list("web:bob"), std::slice::from_ref(&bob));
    let (_, body) = get(&s, None, "/api/battles?user_id=web:alice");
    assert_eq!(json(&body)["battles"][0]["status"], "pending_vote");
    assert_eq!(json(&body)["battles"][0]["prompt"], "from web:alice");

    // Bob's battle is not Alice's to read, stream, continue or vote.
    let as_alice = json!({"user_id": "web:alice"});
    assert_eq!(
        get(&s, None, &format!("/api/battles/{bob}?user_id=web:alice")).0,
        403
    );
    let (status, _, _) = post(&s, None, &format!("/api/battles/{bob}/stream"), &as_alice).refused();
    assert_eq!(status, 403);
    let (status, _, _) = post(
        &s,
        None,
        &format!("/api/battles/{bob}/turns"),
        &json!({"text": "mine now", "user_id": "web:alice"}),
    )
    .refused();
    assert_eq!(status, 403);
    let (status, body) = vote(
        &s,
        None,
        &bob,
        &json!({"winner": "model_a", "user_id": "web:alice"}),
    );
    assert_eq!(status, 403, "{body}");
    // An unknown battle is a 404, a user id of the wrong shape a 400.
    let unknown = "00000000-0000-7000-8000-000000000000";
    assert_eq!(
        get(
            &s,
            None,
            &format!("/api/battles/{unknown}?user_id=web:alice")
        )
        .0,
        404
    );
    assert_eq!(get(&s, None, "/api/battles?user_id=alice").0, 400);
}

#[test]
fn with_keys_the_key_is_the_user() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"api_key": SERVICE}),
        &pair(&up, "stream-one", "stream-two"),
    );
    let t = Test::new();
    let key = |name: &str| {
        t.arena()
            .db(s.db())
            .args(["keys", "add", name])
            .run()
            .success()
            .stdout_trimmed()
    };
    let alice = key("alice");
    let bob = key("bob");
    // No key, no battle; the page itself needs none.
    let (status, _, _) = post(&s, None, "/api/battles", &json!({"prompt": "Hi"})).refused();
    assert_eq!(status, 401);
    assert_eq!(get(&s, None, "/api/config").0, 401);
    assert_eq!(get(&s, None, "/").0, 200);
    let (status, body) = get(&s, Some(&alice), "/api/config");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["auth"], "key");

    let events = post(&s, Some(&alice), "/api/battles", &json!({"prompt": "Hi"}))
        .stream()
        .rest(&s);
    let id = battle_id(&events);
    // A user key naming another user is refused.
    let (status, body, _) = post(
        &s,
        Some(&alice),
        "/api/battles",
        &json!({"prompt": "Hi", "user_id": "web:bob"}),
    )
    .refused();
    assert_eq!(status, 403, "{body}");
    // Bob's key sees none of it.
    let (_, list) = get(&s, Some(&bob), "/api/battles");
    assert_eq!(json(&list)["battles"], json!([]));
    assert_eq!(get(&s, Some(&bob), &format!("/api/battles/{id}")).0, 403);
    let (status, _) = vote(&s, Some(&bob), &id, &json!({"winner": "tie"}));
    assert_eq!(status, 403);
    let (_, list) = get(&s, Some(&alice), "/api/battles");
    assert_eq!(json(&list)["battles"][0]["battle_id"], json!(id));
    let (status, body) = vote(&s, Some(&alice), &id, &json!({"winner": "tie"}));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_limits_on_new_battles_answer_429_with_retry_after() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"battle_interval_seconds": 30}),
        &pair(&up, "stream-one", "stream-two"),
    );
    let body = json!({"prompt": "Hi", "user_id": "web:alice"});
    let events = post(&s, None, "/api/battles", &body).stream().rest(&s);
    let id = battle_id(&events);
    let (status, text, headers) = post(&s, None, "/api/battles", &body).refused();
    assert_eq!(status, 429, "{text}");
    let wait: u64 = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=30).contains(&wait), "{wait}");
    assert!(json(&text)["detail"]["message"].is_string(), "{text}");
    // A follow-up turn is not a new battle.
    let events = post(
        &s,
        None,
        &format!("/api/battles/{id}/turns"),
        &json!({"text": "more", "user_id": "web:alice"}),
    )
    .stream()
    .rest(&s);
    assert_eq!(texts(&events).2, Some(true));
    // Another user is limited apart.
    let other = json!({"prompt": "Hi", "user_id": "web:bob"});
    post(&s, None, "/api/battles", &other).stream().rest(&s);
}

#[test]
fn a_failed_side_is_an_error_that_names_no_side() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "fail-500"));
    for attempt in 0..2 {
        let events = post(
            &s,
            None,
            "/api/battles",
            &json!({"prompt": "Hi", "user_id": format!("web:u{attempt}")}),
        )
        .stream()
        .rest(&s);
        let id = battle_id(&events);
        let last = events.last().expect("events");
        assert_eq!(last.name, "error", "{events:?}");
        assert!(!events.iter().any(|e| e.name == "done"), "{events:?}");
        let message = last.data["message"].as_str().expect("a message");
        assert!(message.contains("failed"), "{message}");
        for word in [
            "Assistant A",
            "Assistant B",
            "side",
            "saturn",
            "neptune",
            "fail-500",
            "500",
        ] {
            assert!(!message.contains(word), "{word} in {message}");
        }
        let user = format!("web:u{attempt}");
        let (status, body) = vote(&s, None, &id, &json!({"winner": "tie", "user_id": user}));
        assert_eq!(status, 409, "{body}");
        let (status, _, _) = post(
            &s,
            None,
            &format!("/api/battles/{id}/stream"),
            &json!({"user_id": user}),
        )
        .refused();
        assert_eq!(status, 409);
    }
}

#[test]
fn the_page_is_served_without_a_key_cached_and_compressed() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"api_key": SERVICE}),
        &pair(&up, "stream-one", "stream-two"),
    );
    let plain = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("a client");
    let fetch = |headers: &[(&str, &str)]| {
        let mut request = plain.get(s.url("/"));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        s.runtime.block_on(async {
            let r = request.send().await.expect("a response");
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            (status, headers, r.bytes().await.expect("a body").to_vec())
        })
    };
    let (status, headers, body) = fetch(&[]);
    assert_eq!(status, 200);
    let page = String::from_utf8(body.clone()).expect("text");
    let on_disk = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web/index.html"),
    )
    .expect("web/index.html");
    assert!(page.starts_with("<!doctype html>"), "{page}");
    assert_eq!(
        page.contains("/openapi.json"),
        on_disk.contains("/openapi.json")
    );
    let header = |h: &reqwest::header::HeaderMap, name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header(&headers, "content-type").starts_with("text/html"));
    assert_eq!(header(&headers, "cache-control"), "no-cache");
    assert!(header(&headers, "content-security-policy").contains("script-src 'self'"));
    let etag = header(&headers, "etag");
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");

    // Revalidated: not sent again.
    let (status, headers, body) = fetch(&[("if-none-match", &etag)]);
    assert_eq!(status, 304);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "etag"), etag);
    let (status, _, _) = fetch(&[("if-none-match", "\"stale\"")]);
    assert_eq!(status, 200);

    // Compressed for clients that take it, the same page once inflated.
    let (status, headers, gz) = fetch(&[("accept-encoding", "gzip, br")]);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-encoding"), "gzip");
    assert_eq!(header(&headers, "vary"), "accept-encoding");
    assert_ne!(header(&headers, "etag"), etag);
    let mut inflated = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut inflated)
        .expect("gzip");
    assert_eq!(inflated, page);
    let (status, _, _) = fetch(&[
        ("accept-encoding", "gzip"),
        ("if-none-match", &header(&headers, "etag")),
    ]);
    assert_eq!(status, 304);

    // A file asked for by the hash of its content is kept for good; otherwise revalidated.
    let hash = etag.trim_matches('"');
    let cache = |path: &str| {
        let (status, headers, _) = s.runtime.block_on(async {
            let r = plain.get(s.url(path)).send().await.expect("a response");
            (r.status().as_u16(), r.headers().clone(), ())
        });
        assert_eq!(status, 200, "{path}");
        header(&headers, "cache-control")
    };
    assert_eq!(
        cache(&format!("/assets/index.html?v={hash}")),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(cache("/assets/index.html?v=0123"), "no-cache");
    assert_eq!(cache("/assets/index.html"), "no-cache");

    // A file the page does not have is a 404; other routes still need the key.
    let (status, body) = get(&s, None, "/assets/nothing-here.js");
    assert_eq!(status, 404, "{body}");
    assert_eq!(get(&s, None, "/api/models").0, 401);
}

#[test]
fn models_and_config_tell_the_page_what_it_may_offer() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"language": "zh-CN"}),
        &pair(&up, "stream-one", "stream-two"),
    );
    let (status, body) = get(&s, None, "/api/models");
    assert_eq!(status, 200);
    let models = json(&body);
    assert_eq!(models["chat"], true);
    let names: Vec<&str> = models["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["saturn", "neptune"]);
    assert_eq!(models["models"][0]["tier"], "high");
    let (status, body) = get(&s, None, "/api/config");
    assert_eq!(status, 200);
    let config = json(&body);
    assert_eq!(config["language"], "zh-CN");
    assert_eq!(config["auth"], "open");
    assert_eq!(config["version"], env!("CARGO_PKG_VERSION"));
}

/// A board as the API and the command line give it, without the time it was made.
fn comparable(mut board: Value) -> Value {
    if let Some(b) = board.as_object_mut() {
        b.remove("generated_at");
    }
    board
}

#[test]
fn the_api_leaderboard_is_the_command_lines() {
    let up = Upstream::start();
    let base = up.base_url();
    let models = json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": base},
        {"name": "neptune", "model": "stream-two", "base_url": base},
        {"name": "uranus", "model": "stream-three", "base_url": base},
    ]});
    // A rating period of ten years: the server and the command line read the same one.
    let glicko2 = json!({"rating_period": "3650d"});
    let s = Server::start(&json!({"glicko2": glicko2}), &models);
    let winners = ["model_a", "model_b", "tie", "model_a", "both_bad"];
    for (i, winner) in winners.iter().enumerate() {
        let user = format!("web:voter{i}");
        let events = post(
            &s,
            None,
            "/api/battles",
            &json!({"prompt": format!("question {i}"), "user_id": user}),
        )
        .stream()
        .rest(&s);
        let id = battle_id(&events);
        let (status, body) = vote(&s, None, &id, &json!({"winner": winner, "user_id": user}));
        assert_eq!(status, 200, "{body}");
    }
    let events = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "named", "mode": "named", "model_a": "uranus", "model_b": "saturn",
                "user_id": "web:named"}),
    )
    .stream()
    .rest(&s);
    let id = battle_id(&events);
    vote(
        &s,
        None,
        &id,
        &json!({"winner": "model_a", "user_id": "web:named"}),
    );

    let t = Test::new().with_config_keys(&json!({"glicko2": glicko2}));
    for (query, args) in [
        ("", vec![]),
        (
            "?method=bt&bootstrap=100&seed=3",
            vec!["--method", "bt", "--seed", "3"],
        ),
        ("?include_named=true", vec!["--include-named"]),
        ("?method=elo", vec!["--method", "elo"]),
        ("?method=glicko2", vec!["--method", "glicko2"]),
        (
            "?method=bt&bootstrap=0&theme=general",
            vec!["--bootstrap", "0", "--theme", "general"],
        ),
    ] {
        let (status, body) = get(&s, None, &format!("/api/leaderboard{query}"));
        assert_eq!(status, 200, "{query}: {body}");
        let cli = t
            .arena()
            .db(s.db())
            .args(["leaderboard", "--format", "json"])
            .args(&args)
            .run()
            .success()
            .json();
        assert_eq!(comparable(json(&body)), comparable(cli), "{query}");
    }
    let (status, body) = get(&s, None, "/api/leaderboard?method=elo&bootstrap=10");
    assert_eq!(status, 400, "{body}");
    let (status, body) = get(&s, None, "/api/leaderboard?method=best");
    assert_eq!(status, 400, "{body}");
}

#[test]
fn a_quiet_stream_carries_keep_alive_comments() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"sse_keepalive_seconds": 1}),
        &pair(&up, "hold-one", "hold-two"),
    );
    let mut stream = post(
        &s,
        None,
        "/api/battles",
        &json!({"prompt": "Say two words", "user_id": "web:alice"}),
    )
    .stream();
    // Both upstreams hold their answers: the stream says it is alive meanwhile.
    stream.read_until(&s, ": keep-alive\n");
    assert!(!stream.raw.contains("side_end"), "{}", stream.raw);
    up.release();
    assert_eq!(texts(&stream.rest(&s)).2, Some(true));
}
