//! Battles of chat clients are fair: each side is sent exactly the conversation it would have
//! seen alone (the battle's system text and user turns, and its own earlier answers), never
//! the other side's answers or command text, whatever history the client resends. Every
//! test reads what each upstream RECEIVED from the recording fake upstream, not only what the
//! client got back.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::support::Upstream;
use crate::support::server::{Server, json};

/// Two models whose answers name their upstream id (so a test can tell the sides apart).
fn pair(up: &Upstream, a: &str, b: &str) -> Value {
    let base = up.base_url();
    json!({"models": [
        {"name": "saturn", "model": a, "base_url": base},
        {"name": "neptune", "model": b, "base_url": base},
    ]})
}

fn frames(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

/// The text of a reply, whole or streamed.
fn text_of(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return v["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
    }
    frames(body)
        .iter()
        .filter(|f| f.as_str() != "[DONE]")
        .filter_map(|f| {
            json(f)["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// A chat client of the battle model, as user `user`.
struct Client<'s> {
    s: &'s Server,
    user: &'static str,
}

impl Client<'_> {
    fn send(&self, messages: Value, stream: bool) -> (u16, String) {
        self.s.post(
            "/v1/chat/completions",
            &json!({"model": "arena", "user": self.user, "stream": stream, "messages": messages}),
        )
    }

    fn say(&self, content: &str) -> String {
        let (status, body) = self.send(json!([{"role": "user", "content": content}]), false);
        assert_eq!(status, 200, "{content}: {body}");
        text_of(&body)
    }

    fn strict(&self, content: &str) -> (u16, String) {
        self.s.post(
            "/v1/chat/completions",
            &json!({"model": "arena", "user": self.user, "strict": true,
                    "messages": [{"role": "user", "content": content}]}),
        )
    }
}

/// The messages each upstream model id received, in arrival order: (role, text).
fn received(up: &Upstream) -> Vec<(String, Vec<(String, String)>)> {
    up.requests()
        .into_iter()
        .map(|r| {
            let messages = r.body["messages"]
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
                .collect();
            (r.model, messages)
        })
        .collect()
}

/// Whether `text` holds something shaped like a UUID (an internal battle id).
fn has_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(35)).any(|i| {
        b[i..i + 36].iter().enumerate().all(|(k, c)| {
            if [8, 13, 18, 23].contains(&k) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
    })
}

fn answer(model: &str) -> String {
    crate::support::upstream::answer(model)
}

fn user(t: &str) -> (String, String) {
    ("user".to_owned(), t.to_owned())
}

fn assistant(t: &str) -> (String, String) {
    ("assistant".to_owned(), t.to_owned())
}

/// Which upstream answered as A: each answers a text of its own.
fn a_model(a_text: &str) -> (&'static str, &'static str) {
    if a_text == answer("stream-one") {
        ("stream-one", "stream-two")
    } else {
        assert_eq!(a_text, answer("stream-two"));
        ("stream-two", "stream-one")
    }
}

#[test]
fn both_sides_answer_the_same_conversation_turn_after_turn() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let c = Client {
        s: &s,
        user: "fair",
    };
    let start = json!({"role": "system", "content": "Answer in English."});
    let (status, body) = c.send(
        json!([start, {"role": "user", "content": "$sA7 Write a poem"}]),
        true,
    );
    assert_eq!(status, 200, "{body}");
    let a_text = text_of(&body);
    let (a, b) = a_model(&a_text);
    assert_eq!(a_text, answer(a));
    // Both sides were asked at once, with the same conversation and no command.
    let first = vec![
        ("system".to_owned(), "Answer in English.".to_owned()),
        user("Write a poem"),
    ];
    let mut got = received(&up);
    got.sort();
    let mut want = vec![(a.to_owned(), first.clone()), (b.to_owned(), first.clone())];
    want.sort();
    assert_eq!(got, want);

    // $B with the history a client resends (A's answer in it): B's own answer, and no
    // new request: B answered the question when the battle started.
    let (status, body) = c.send(
        json!([start, {"role": "user", "content": "$sA7 Write a poem"},
               {"role": "assistant", "content": a_text},
               {"role": "user", "content": "$B7"}]),
        false,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], json!("Assistant B"));
    assert_eq!(text_of(&body), answer(b));
    assert_eq!(up.requests().len(), 2, "$B asked nothing more");

    // A follow-up with command text and a made-up history: each side gets its own
    // transcript, the same user turns, never the other's answer.
    let (status, body) = c.send(
        json!([{"role": "user", "content": "$sA7 Write a poem"},
               {"role": "assistant", "content": "something the client made up"},
               {"role": "user", "content": "$A7 make it shorter"}]),
        true,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(text_of(&body), answer(a));
    let later: Vec<_> = received(&up).into_iter().skip(2).collect();
    assert_eq!(later.len(), 2, "both sides answer a follow-up: {later:?}");
    for (model, messages) in later {
        let own = if model == a { answer(a) } else { answer(b) };
        assert_eq!(
            messages,
            vec![
                ("system".to_owned(), "Answer in English.".to_owned()),
                user("Write a poem"),
                assistant(&own),
                user("make it shorter"),
            ],
            "{model}"
        );
    }
    // A plain message (a client's "regenerate with more details") inside the battle goes on
    // with both sides too.
    let (status, body) = c.send(
        json!([{"role": "user", "content": "$sA7 Write a poem"},
               {"role": "assistant", "content": "..."},
               {"role": "user", "content": "Add more details"}]),
        false,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], json!("Assistant A"));
    let third: Vec<_> = received(&up).into_iter().skip(4).collect();
    assert_eq!(third.len(), 2);
    for (model, messages) in third {
        assert_eq!(messages.len(), 6, "{model}: {messages:?}");
        assert_eq!(messages[5], user("Add more details"));
        let other = if model == a { answer(b) } else { answer(a) };
        assert!(
            messages
                .iter()
                .all(|(_, t)| *t != other && !t.contains('$')),
            "{model} saw the other side or a command: {messages:?}"
        );
    }
    // The result needs both answers to the latest turn shown: only A's was.
    let refused = c.say("$wA7");
    assert!(
        refused.contains("Assistant B") && refused.contains("$B7"),
        "{refused}"
    );
    let (status, _) = c.strict("$wA7");
    assert_eq!(status, 409);
    c.say("$B7");
    let reveal = c.say("$wA7");
    assert!(
        reveal.contains("saturn") && reveal.contains("neptune"),
        "{reveal}"
    );
    // The battle and its turns are kept: both sides' answers to every turn.
    let (_, board) = s.get("/v1/leaderboard");
    assert_eq!(json(&board).as_array().map(Vec::len), Some(2));
}

#[test]
fn the_result_waits_until_both_answers_were_shown() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let c = Client {
        s: &s,
        user: "eager",
    };
    c.say("$sA3 Name a colour");
    let text = c.say("$wA3");
    assert!(text.contains("has not been shown"), "{text}");
    let (status, body) = c.strict("$tie3");
    assert_eq!(status, 409, "{body}");
    assert_eq!(json(&body)["error"]["type"], json!("invalid_request_error"));
    // Nothing was recorded.
    let (_, board) = s.get("/v1/leaderboard");
    assert_eq!(json(&board), json!([]));
    // A skip leaves the battle without a result, shown or not.
    let skipped = c.say("$skip3");
    assert!(skipped.contains("skipped"), "{skipped}");
}

#[test]
fn b_before_it_finished_streams_the_rest_and_both_started_at_once() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "hold-one", "hold-two"));
    let addr = s.base.trim_start_matches("http://").to_owned();
    let open = |content: &str| {
        let mut tcp = std::net::TcpStream::connect(&addr).expect("connect");
        let body = json!({"model": "arena", "user": "early", "stream": true,
                          "messages": [{"role": "user", "content": content}]})
        .to_string();
        write!(
            tcp,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        tcp
    };
    let read_until = |tcp: &mut std::net::TcpStream, seen: &mut String, what: &str| {
        let mut buf = [0u8; 4096];
        while !seen.contains(what) {
            let n = tcp.read(&mut buf).expect("read");
            assert!(n > 0, "ended before `{what}`: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    let mut a = open("$sA5 Tell a story");
    let mut seen_a = String::new();
    read_until(&mut a, &mut seen_a, "\"content\":\"first ");
    // Both sides were asked as the battle started, B too, although nobody watches it (its
    // request may reach the fake a moment after A's first word reached the client).
    let asked = std::time::Instant::now();
    while up.requests().len() < 2 && asked.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(up.requests().len(), 2);
    let mut b = open("$B5");
    let mut seen_b = String::new();
    read_until(&mut b, &mut seen_b, "\"content\":\"first ");
    up.release();
    read_until(&mut a, &mut seen_a, "[DONE]");
    read_until(&mut b, &mut seen_b, "[DONE]");
    let body = |raw: &str| raw.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    let (ta, tb) = (text_of(&body(&seen_a)), text_of(&body(&seen_b)));
    assert_eq!((ta.as_str(), tb.as_str()), ("first second", "first second"));
    assert_eq!(up.requests().len(), 2, "$B streamed the running answer");
    // Both were shown in full: the result is taken.
    let c = Client {
        s: &s,
        user: "early",
    };
    assert!(c.say("$bad5").contains("both bad"));
}

#[test]
fn pieces_and_usage_do_not_tell_the_sides_apart() {
    let up = Upstream::start();
    // One side's upstream streams in six pieces with its own usage, the other answers
    // whole: what the client gets is cut and counted by one rule.
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "json-two"));
    let c = Client {
        s: &s,
        user: "sleuth",
    };
    let ask = |content: &str| {
        let (status, body) = c.s.post(
            "/v1/chat/completions",
            &json!({"model": "arena", "user": "sleuth", "stream": true,
                    "stream_options": {"include_usage": true},
                    "messages": [{"role": "user", "content": content}]}),
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let shape = |body: &str| -> (Vec<usize>, Value) {
        let frames = frames(body);
        let pieces = frames
            .iter()
            .filter(|f| f.as_str() != "[DONE]")
            .filter_map(|f| {
                json(f)["choices"][0]["delta"]["content"]
                    .as_str()
                    .map(str::len)
            })
            .filter(|&n| n > 0)
            .collect();
        let usage = frames
            .iter()
            .filter(|f| f.as_str() != "[DONE]")
            .map(|f| json(f))
            .find(|v| v["usage"].is_object())
            .map(|v| v["usage"].clone())
            .unwrap_or(Value::Null);
        (pieces, usage)
    };
    let a = ask("$sA1 Say hi");
    let b = ask("$B1");
    let (pa, ua) = shape(&a);
    let (pb, ub) = shape(&b);
    // The two answers differ only by their upstream id's letters: the same rule cuts them
    // into as many pieces (a word each), and counts them by arena's one estimate, not by
    // what an upstream says.
    assert_eq!(pa.len(), pb.len(), "{a}\n{b}");
    assert_eq!(pa.len(), text_of(&a).split_inclusive(' ').count(), "{a}");
    assert!(pa.iter().chain(&pb).all(|&n| n <= 32));
    assert_eq!(ua["prompt_tokens"], ub["prompt_tokens"], "{ua} {ub}");
    for (body, usage) in [(&a, &ua), (&b, &ub)] {
        let n = arena::provider::wire::estimate_tokens(&text_of(body));
        assert_eq!(usage["completion_tokens"], json!(n), "{usage}");
    }
    assert!(!a.contains("system_fingerprint") && !b.contains("system_fingerprint"));
}

#[test]
fn sampling_fields_are_checked_once_and_sent_alike() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let (status, body) = s.post(
        "/v1/chat/completions",
        &json!({"model": "arena", "user": "tuner", "strict": true, "temperature": 7,
                "messages": [{"role": "user", "content": "$sA1 hi"}]}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("temperature"), "{body}");
    assert!(up.requests().is_empty(), "a bad field reached a model");
    let (status, body) = s.post(
        "/v1/chat/completions",
        &json!({"model": "arena", "user": "tuner", "temperature": 0.3, "top_p": 0.5,
                "max_completion_tokens": 50, "logit_bias": {"42": 100}, "tools": [],
                "messages": [{"role": "user", "content": "$sA1 hi"}]}),
    );
    assert_eq!(status, 200, "{body}");
    let sent: Vec<Value> = up.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(sent.len(), 2);
    for body in &sent {
        assert_eq!(body["temperature"], json!(0.3));
        assert_eq!(body["top_p"], json!(0.5));
        assert_eq!(body["max_tokens"], json!(50));
        assert!(body.get("logit_bias").is_none() && body.get("tools").is_none());
    }
}

#[test]
fn a_failed_battle_says_so_without_naming_the_side() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "fail-500"));
    let c = Client {
        s: &s,
        user: "unlucky",
    };
    let mut seen = String::new();
    for content in ["$sA2 hi", "$B2", "$A2"] {
        let text = c.say(content);
        seen.push_str(&text);
        seen.push('\n');
    }
    assert!(seen.contains("battle `2` failed"), "{seen}");
    for side in ["Assistant A", "Assistant B", "A's", "B's"] {
        assert!(
            !seen.contains(&format!("{side}'s model")) && !seen.contains(side),
            "a failure named a side: {seen}"
        );
    }
    let (status, _) = c.strict("$B2");
    assert_eq!(status, 502);
}

#[test]
fn a_start_under_an_open_battles_id_is_refused_and_a_retry_is_the_same_battle() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let c = Client {
        s: &s,
        user: "forgetful",
    };
    let first = c.say("$sA50 Write a haiku");
    // The same start again (a retry, a regenerate): the same battle, the same answer.
    assert_eq!(c.say("$sA50 Write a haiku"), first);
    assert_eq!(up.requests().len(), 2);
    // Another question under the same id is refused, naming the battle and the way out.
    let refused = c.say("$sA50 Something else entirely");
    assert!(
        refused.contains("`50`") && refused.contains("$skip50") && refused.contains("$wA50"),
        "{refused}"
    );
    assert_eq!(up.requests().len(), 2, "nothing asked");
    let (status, _) = c.strict("$sA50 Something else entirely");
    assert_eq!(status, 409);
    // Messages name battles by their RPID, never by an internal id.
    assert!(!has_uuid(&refused), "{refused}");
}

#[test]
fn the_same_result_again_answers_the_very_same_text() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let c = Client {
        s: &s,
        user: "retrier",
    };
    c.say("$sA9 Write a limerick");
    c.say("$B9");
    let first = c.say("$wB9");
    assert!(first.contains("Elo"), "{first}");
    for _ in 0..3 {
        assert_eq!(c.say("$wB9"), first);
    }
    let other = c.say("$wA9");
    assert!(other.contains("`9`") && other.contains("result"), "{other}");
    assert!(!other.contains("Elo"), "{other}");
}

#[test]
fn every_turn_is_held_to_the_prompt_limit_and_a_battle_to_its_turns() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"max_prompt_bytes": 64, "max_battle_turns": 2}),
        &pair(&up, "stream-one", "stream-two"),
    );
    let c = Client {
        s: &s,
        user: "talker",
    };
    let long = "x".repeat(65);
    let (status, body) = c.strict(&format!("$sA1 {long}"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("max_prompt_bytes"), "{body}");
    c.say("$sA1 short");
    let (status, body) = c.strict(&format!("$A1 {long}"));
    assert_eq!(status, 400, "{body}");
    c.say("$B1");
    c.say("$A1 second");
    let (status, body) = c.strict("$A1 third");
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("max_battle_turns"), "{body}");
    assert_eq!(up.requests().len(), 4, "two turns, both sides each");
}

#[test]
fn a_client_that_leaves_mid_answer_leaves_the_battle_whole() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "hold-one", "hold-two"));
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut tcp = std::net::TcpStream::connect(&addr).expect("connect");
    let body = json!({"model": "arena", "user": "stopper", "stream": true,
                      "messages": [{"role": "user", "content": "$sA8 Count slowly"}]})
    .to_string();
    write!(
        tcp,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"content\":\"first") {
        let n = tcp.read(&mut buf).expect("read");
        assert!(n > 0, "the stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    // The client stops (a chat client's Stop button): the battle's generation goes on.
    drop(tcp);
    up.release();
    let c = Client {
        s: &s,
        user: "stopper",
    };
    assert_eq!(c.say("$A8"), "first second");
    assert_eq!(c.say("$B8"), "first second");
    assert!(
        up.requests().iter().all(|r| r.ended.is_some()),
        "an upstream answer was cut off"
    );
    assert_eq!(up.requests().len(), 2);
    assert!(c.say("$tie8").contains("a tie"));
}

/// The counts of the style kept on the latest battle for `turn`, once they are there.
fn kept_style(s: &Server, turn: i64) -> Vec<u32> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let kept = crate::support::kept_style(&s.db());
        match kept {
            Some((t, counts)) if t == turn => return counts,
            _ => assert!(
                std::time::Instant::now() < deadline,
                "no style of turn {turn} kept: {kept:?}"
            ),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn each_turns_answers_are_counted_for_the_vote_once_they_are_in() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pair(&up, "stream-one", "stream-two"));
    let c = Client {
        s: &s,
        user: "counted",
    };
    c.say("$sA7 Write a poem");
    let first = kept_style(&s, 0);
    c.say("$A7 make it shorter");
    let second = kept_style(&s, 1);
    // Both turns' answers counted: each side's tokens grew.
    assert!(
        second[0] > first[0] && second[4] > first[4],
        "{first:?} {second:?}"
    );
    c.say("$B7");
    let reveal = c.say("$wA7");
    assert!(reveal.contains("saturn"), "{reveal}");
    assert_eq!(crate::support::vote_style(&s.db()), second);
}
