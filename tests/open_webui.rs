//! Requests shaped as Open WebUI 0.12 sends them to the battle model (its forwarded user
//! headers, a service key that trusts them, the whole history each time), for the buttons
//! under an answer: "Continue Response" resends the history ending with the answer shown so
//! far, and must neither add a turn nor repeat the answer the client already has.

use serde_json::{Value, json};

use crate::support::server::{Server, json};
use crate::support::{Upstream, answer};

const SERVICE: &str = "open-webui-service-key-0123456789";

/// Open WebUI's headers with `ENABLE_FORWARD_USER_INFO_HEADERS=true`.
const HEADERS: [(&str, &str); 6] = [
    (
        "X-OpenWebUI-User-Id",
        "9b2f6c1e-5d4a-4c3b-8a7e-2f1d0c9b8a71",
    ),
    ("X-OpenWebUI-User-Name", "Alice"),
    ("X-OpenWebUI-User-Email", "alice@example.invalid"),
    ("X-OpenWebUI-User-Role", "user"),
    (
        "X-OpenWebUI-Chat-Id",
        "0fbec41b-1fd9-4458-abb1-eaa5f53acfb3",
    ),
    (
        "X-OpenWebUI-Message-Id",
        "a388dd54-42bf-47d1-a19d-dcba92a95764",
    ),
];

fn server(up: &Upstream) -> Server {
    let base = up.base_url();
    Server::start(
        &json!({"api_key": SERVICE, "trust_forwarded_user": true}),
        &json!({"models": [
            {"name": "saturn", "model": "stream-one", "base_url": base},
            {"name": "neptune", "model": "stream-two", "base_url": base},
        ]}),
    )
}

/// The streamed reply's text, and whether the stream ended properly.
fn streamed(body: &str) -> (String, bool) {
    let mut text = String::new();
    let mut done = false;
    for frame in body.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if frame == "[DONE]" {
            done = true;
            continue;
        }
        if let Some(t) = json(frame)["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
    }
    (text, done)
}

/// One request as Open WebUI sends it: the whole history, streamed, with its headers.
fn send(s: &Server, messages: &[(&str, &str)]) -> String {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut request = s
        .client
        .post(s.url("/v1/chat/completions"))
        .bearer_auth(SERVICE)
        .json(&json!({"model": "arena", "stream": true, "messages": messages}));
    for (name, value) in HEADERS {
        request = request.header(name, value);
    }
    let (status, body) = s.send(request);
    assert_eq!(status, 200, "{body}");
    let (text, done) = streamed(&body);
    assert!(done, "the stream did not end with [DONE]: {body}");
    text
}

/// The battle's stored follow-up turns (the first turn is the battle's own prompt).
fn turns(s: &Server) -> i64 {
    let db = rusqlite::Connection::open(s.db()).expect("the database");
    db.query_row("SELECT count(*) FROM turns", [], |r| r.get(0))
        .expect("count")
}

#[test]
fn continue_response_adds_no_turn_and_sends_only_what_the_client_lacks() {
    let up = Upstream::start();
    let s = server(&up);
    let start = "$sA1 Write a haiku";
    let a = send(&s, &[("user", start)]);
    assert!(!a.is_empty());
    assert_eq!(up.requests().len(), 2, "both sides asked at the start");

    // Stopped half-way in the client, then continued: the rest of A's answer, no new
    // battle and no new request upstream.
    let cut = a
        .char_indices()
        .nth(a.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let rest = send(&s, &[("user", start), ("assistant", &a[..cut])]);
    assert_eq!(rest, a[cut..], "the continuation is the rest of A's answer");

    // Continuing an answer the client has whole adds nothing.
    let b = send(&s, &[("user", start), ("assistant", &a), ("user", "$B1")]);
    let again = send(
        &s,
        &[
            ("user", start),
            ("assistant", &a),
            ("user", "$B1"),
            ("assistant", &b),
        ],
    );
    assert_eq!(again, "", "B's answer was repeated");

    // A plain follow-up is a turn of both sides; continuing its answer is not another.
    let history = [
        ("user", start),
        ("assistant", a.as_str()),
        ("user", "$B1"),
        ("assistant", b.as_str()),
        ("user", "Make it rhyme"),
    ];
    let before = turns(&s);
    let follow = send(&s, &history);
    assert_eq!(up.requests().len(), 4, "the follow-up went to both sides");
    let after = turns(&s);
    assert_eq!(after, before + 1);
    let mut continued = history.to_vec();
    continued.push(("assistant", follow.as_str()));
    assert_eq!(send(&s, &continued), "");
    assert_eq!(
        up.requests().len(),
        4,
        "a continuation asked the models again"
    );
    assert_eq!(turns(&s), after, "a continuation added a turn");

    // Continuing the revealed result repeats nothing.
    let mut voted = continued.clone();
    // (The plain message went on as B, the side shown last; A's answer is still to see.)
    voted.push(("user", "$A1"));
    let a2 = send(&s, &voted);
    voted.push(("assistant", a2.as_str()));
    voted.push(("user", "$wA1"));
    let reveal = send(&s, &voted);
    assert!(reveal.contains("Battle 1"), "{reveal}");
    voted.push(("assistant", reveal.as_str()));
    assert_eq!(send(&s, &voted), "");
    assert_eq!(turns(&s), after);

    // What each model received: the same user turns, its own earlier answer, never the
    // other's, never a command; and nothing for any continuation.
    let sent: Vec<(String, Vec<(String, String)>)> = up
        .requests()
        .iter()
        .map(|r| {
            let messages = r.body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| {
                    let text = m["content"].as_str().unwrap_or_default().to_owned();
                    (m["role"].as_str().unwrap_or_default().to_owned(), text)
                })
                .collect();
            (r.model.clone(), messages)
        })
        .collect();
    assert_eq!(sent.len(), 4, "{sent:?}");
    for (model, messages) in &sent {
        let own = answer(model);
        let expected: Vec<(String, String)> = if messages.len() == 1 {
            vec![("user".into(), "Write a haiku".into())]
        } else {
            vec![
                ("user".into(), "Write a haiku".into()),
                ("assistant".into(), own),
                ("user".into(), "Make it rhyme".into()),
            ]
        };
        assert_eq!(messages, &expected, "what {model} received");
    }
}

/// One whole (not streamed) request: the reply's text.
fn send_whole(s: &Server, messages: &[(&str, &str)]) -> String {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut request = s
        .client
        .post(s.url("/v1/chat/completions"))
        .bearer_auth(SERVICE)
        .json(&json!({"model": "arena", "messages": messages}));
    for (name, value) in HEADERS {
        request = request.header(name, value);
    }
    let (status, body) = s.send(request);
    assert_eq!(status, 200, "{body}");
    json(&body)["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn continuing_whole_replies_and_edited_answers_adds_nothing_that_was_not_asked() {
    let up = Upstream::start();
    let s = server(&up);
    let start = "$sB2 Name three colours";
    let b = send_whole(&s, &[("user", start)]);
    assert!(
        [answer("stream-one"), answer("stream-two")].contains(&b),
        "the start shows a model's answer: {b}"
    );
    let cut = b.find(' ').map_or(0, |i| i + 1);
    let rest = send_whole(&s, &[("user", start), ("assistant", &b[..cut])]);
    assert_eq!(rest, b[cut..], "a whole reply continues with the rest only");

    // An answer edited in the client is no beginning of B's: nothing is added to it.
    let edited = send_whole(&s, &[("user", start), ("assistant", "Colours: teal")]);
    assert_eq!(edited, "");
    assert_eq!(
        up.requests().len(),
        2,
        "a continuation asked the models again"
    );
}
