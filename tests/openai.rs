//! The OpenAI-compatible endpoints over real TCP against the fake upstream: the streaming
//! proxy (chunk by chunk, pass-through, failover, cancellation), images, legacy completions,
//! and whole battles driven by in-chat commands, with anonymity on the raw bytes.

use std::io::Read;

use serde_json::{Value, json};

use crate::support::server::{Server, json};
use crate::support::{Upstream, answer, refused_port};

/// A pool for the proxy tests: every model served on `/v1` (none of weight 0). No battle
/// runs on it: see [`battle_models`].
fn models(up: &Upstream) -> Value {
    let base = up.base_url();
    json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": base, "tier": "high"},
        {"name": "neptune", "model": "stream-two", "base_url": base, "tier": "high"},
        {"name": "holder", "model": "hold-one", "base_url": base},
        {"name": "slowpoke", "model": "slow-one", "base_url": base},
        {"name": "escapist", "model": "ansi-free", "base_url": base},
        {"name": "wholesome", "model": "json-free", "base_url": base},
        {"name": "pooled", "endpoints": [
            {"base_url": format!("http://127.0.0.1:{}/v1", refused_port()), "model": "stream-pool"},
            {"base_url": base, "model": "stream-pool"}]},
        {"name": "painter", "model": "img-one", "base_url": base, "kind": "image",
         "images_per_request": 1},
        {"name": "muralist", "model": "img-many", "base_url": base, "kind": "image"},
    ]})
}

/// The pool of the battle tests: two models (and the image models, never in battles).
fn battle_models(up: &Upstream) -> Value {
    let mut m = models(up);
    if let Some(list) = m["models"].as_array_mut() {
        list.retain(|e| matches!(e["name"].as_str(), Some("saturn" | "neptune")));
    }
    m
}

/// The SSE `data:` payloads of a stream body, in order.
fn frames(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

fn chat(s: &Server, body: &Value) -> (u16, String) {
    s.post("/v1/chat/completions", body)
}

#[test]
fn models_lists_the_battle_model_and_the_pool_in_rotation() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &battle_models(&up));
    let (status, body) = s.get("/v1/models");
    assert_eq!(status, 200);
    let list = json(&body);
    assert_eq!(list["object"], json!("list"));
    let ids: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, ["arena", "saturn", "neptune"]);
    for m in list["data"].as_array().expect("data") {
        assert_eq!(m["object"], json!("model"));
        assert!(m["created"].is_u64() && m["owned_by"].is_string(), "{m}");
    }
    assert_eq!(json(&s.get("/v1/models/saturn").1)["id"], json!("saturn"));
    let (status, body) = s.get("/v1/models/nothing");
    assert_eq!(status, 404);
    assert_eq!(json(&body)["error"]["code"], json!("model_not_found"));
    let (status, body) = s.get("/v1/leaderboard");
    assert_eq!((status, json(&body)), (200, json!([])));
}

#[test]
fn the_proxy_passes_every_field_on_and_names_the_public_model() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    let request = json!({
        "model": "saturn",
        "messages": [
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        "response_format": {"type": "json_object"},
        "seed": 7, "top_k": 3, "n": 1, "vendor_field": {"x": 1},
    });
    let (status, body) = chat(&s, &request);
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["model"], json!("saturn"));
    assert_eq!(v["object"], json!("chat.completion"));
    assert!(v["usage"].is_object(), "{body}");
    let sent = up.requests().last().expect("a request").body.clone();
    assert_eq!(sent["model"], json!("stream-one"));
    for key in ["tools", "response_format", "seed", "top_k", "vendor_field"] {
        assert_eq!(sent[key], request[key], "{key} was not passed on");
    }
    // Images stay; developer goes on as system to an upstream other than OpenAI's.
    assert_eq!(
        sent["messages"][1]["content"],
        request["messages"][1]["content"]
    );
    assert_eq!(sent["messages"][0]["role"], json!("system"));
    // Bad requests are OpenAI errors.
    let (status, body) = chat(&s, &json!({"model": "saturn", "messages": [], "n": 1}));
    assert_eq!(status, 400);
    assert_eq!(json(&body)["error"]["param"], json!("messages"));
    let (status, body) = chat(
        &s,
        &json!({"model": "saturn", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(status, 400);
    assert_eq!(json(&body)["error"]["param"], json!("n"));
    let (status, body) = chat(
        &s,
        &json!({"model": "nope", "messages": [{"role": "user", "content": "x"}]}),
    );
    assert_eq!(status, 404, "{body}");
    assert_eq!(json(&body)["error"]["code"], json!("model_not_found"));
    let huge = format!("data:image/png;base64,{}", "A".repeat(7 << 20));
    let (status, body) = chat(
        &s,
        &json!({"model": "saturn", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": huge}}]}]}),
    );
    assert_eq!(status, 413, "{}", &body[..body.len().min(300)]);
}

#[test]
fn a_proxied_stream_arrives_chunk_by_chunk_while_the_upstream_is_still_answering() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    let request = json!({"model": "holder", "stream": true, "stream_options": {"include_usage": true},
                         "messages": [{"role": "user", "content": "hi"}]});
    let url = s.url("/v1/chat/completions");
    // A blocking client: read the first chunk while the fake still holds the rest.
    let mut response = reqwest::blocking_like(&url, &request);
    assert_eq!(
        response.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    assert_eq!(
        response.header("cache-control").as_deref(),
        Some("no-cache")
    );
    assert_eq!(response.header("x-accel-buffering").as_deref(), Some("no"));
    let first = response.read_until("first");
    assert!(first.contains("\"role\":\"assistant\""), "{first}");
    up.release();
    let rest = response.read_to_end();
    let all = first + &rest;
    assert!(
        !all.lines()
            .any(|l| l.starts_with("id:") || l.starts_with("retry:")),
        "{all}"
    );
    let frames = frames(&all);
    assert_eq!(frames.last().map(String::as_str), Some("[DONE]"));
    for f in &frames[..frames.len() - 1] {
        let c = json(f);
        assert_eq!(c["object"], json!("chat.completion.chunk"), "{f}");
        assert_eq!(c["model"], json!("holder"), "{f}");
        assert!(c["id"].is_string() && c["created"].is_u64(), "{f}");
        for choice in c["choices"].as_array().expect("choices") {
            assert!(choice["index"].is_u64(), "{f}");
            assert!(
                choice
                    .as_object()
                    .expect("choice")
                    .contains_key("finish_reason"),
                "{f}"
            );
        }
    }
    assert!(!all.contains("hold-one"), "the upstream id leaked: {all}");
}

#[test]
fn a_usage_chunk_comes_exactly_when_asked_for_and_carries_the_upstreams_counts() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    let ask = |stream_options: Value, model: &str| {
        let (status, body) = chat(
            &s,
            &json!({"model": model, "stream": true, "stream_options": stream_options,
                    "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(status, 200, "{body}");
        frames(&body)
            .into_iter()
            .filter(|f| f != "[DONE]")
            .map(|f| json(&f))
            .collect::<Vec<Value>>()
    };
    let asked = ask(json!({"include_usage": true}), "saturn");
    let usage_only: Vec<&Value> = asked.iter().filter(|c| c["choices"] == json!([])).collect();
    assert_eq!(usage_only.len(), 1, "{asked:?}");
    assert_eq!(
        asked.last(),
        usage_only.first().copied(),
        "usage comes last"
    );
    assert_eq!(usage_only[0]["usage"]["completion_tokens"], json!(11));
    assert!(
        asked
            .iter()
            .filter(|c| c["choices"] != json!([]))
            .all(|c| c.get("usage").is_none())
    );
    let unasked = ask(json!({"include_usage": false}), "saturn");
    assert!(
        unasked
            .iter()
            .all(|c| c["choices"] != json!([]) && c.get("usage").is_none()),
        "{unasked:?}"
    );
    // An upstream that sends no usage: arena counts the answer's words.
    let counted = ask(json!({"include_usage": true}), "escapist");
    let last = counted.last().expect("chunks");
    assert_eq!(last["choices"], json!([]), "{counted:?}");
    assert!(
        last["usage"]["completion_tokens"].as_u64() > Some(0),
        "{last}"
    );
    // An upstream that answers one body to a streamed request: the client still gets a
    // stream, its text whole in one chunk, and the upstream's usage.
    let whole = ask(json!({"include_usage": true}), "wholesome");
    assert_eq!(whole.len(), 2, "{whole:?}");
    assert_eq!(whole[0]["object"], json!("chat.completion.chunk"));
    assert_eq!(whole[0]["model"], json!("wholesome"));
    assert_eq!(whole[0]["choices"][0]["delta"]["role"], json!("assistant"));
    assert!(
        whole[0]["choices"][0]["delta"]["content"]
            .as_str()
            .is_some_and(|t| t == answer("json-free"))
    );
    assert_eq!(whole[0]["choices"][0]["finish_reason"], json!("stop"));
    assert_eq!(whole[1]["usage"]["completion_tokens"], json!(6));
}

#[test]
fn a_pool_fails_over_before_the_first_byte_and_a_client_that_leaves_cancels_the_upstream() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    for _ in 0..6 {
        let (status, body) = chat(
            &s,
            &json!({"model": "pooled", "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    }
    let url = s.url("/v1/chat/completions");
    let mut response = reqwest::blocking_like(
        &url,
        &json!({"model": "slowpoke", "stream": true, "messages": [{"role": "user", "content": "go"}]}),
    );
    let _ = response.read_until("tick");
    drop(response);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while up.cancelled() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(up.cancelled(), 1, "the upstream stream outlived its client");
}

#[test]
fn images_and_legacy_completions_are_proxied() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    let (status, body) = s.post(
        "/v1/images/generations",
        &json!({"model": "painter", "prompt": "a cat", "n": 3, "size": "256x256"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(up.hits("img-one"), 3, "one image per request, in parallel");
    let (status, body) = s.post(
        "/v1/images/generations",
        &json!({"model": "muralist", "prompt": "a dog", "n": 3}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(up.hits("img-many"), 1, "n in one request");
    let (status, _) = s.post(
        "/v1/images/generations",
        &json!({"model": "saturn", "prompt": "x"}),
    );
    assert_eq!(status, 400);
    let (status, body) = s.post(
        "/v1/completions",
        &json!({"model": "saturn", "prompt": "Say hi", "max_tokens": 5}),
    );
    assert_eq!(status, 200, "{body}");
    let v = json(&body);
    assert_eq!(v["model"], json!("saturn"));
    assert!(v["choices"][0]["text"].is_string(), "{body}");
    let (_, streamed) = s.post(
        "/v1/completions",
        &json!({"model": "saturn", "prompt": "Say hi", "stream": true}),
    );
    assert!(streamed.ends_with("data: [DONE]\n\n"), "{streamed}");
    // The frames name the model the client asked for.
    for frame in frames(&streamed).iter().filter(|f| *f != "[DONE]") {
        assert_eq!(json(frame)["model"], json!("saturn"), "{frame}");
    }
}

const SECRETS: [&str; 4] = ["saturn", "neptune", "stream-one", "stream-two"];

fn assert_blind(raw: &str) {
    // Only the text of an answer may name a model (an answer may name itself: an identity
    // leak, kept apart from the ratings). What else the bytes say must name no model.
    for frame in frames(raw) {
        if frame == "[DONE]" {
            continue;
        }
        let mut v = json(&frame);
        for choice in v["choices"].as_array_mut().into_iter().flatten() {
            if let Some(d) = choice.get_mut("delta") {
                d.as_object_mut().map(|o| o.remove("content"));
            }
        }
        let text = v.to_string();
        for s in SECRETS {
            assert!(!text.contains(s), "`{s}` before the result: {frame}");
        }
    }
}

#[test]
fn a_whole_battle_through_in_chat_commands() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &battle_models(&up));
    let turn = |messages: Value, stream: bool| {
        chat(
            &s,
            &json!({"model": "arena", "stream": stream, "user": "chatter", "messages": messages}),
        )
    };
    let (status, a) = turn(json!([{"role": "user", "content": "$sA7 写一首诗"}]), true);
    assert_eq!(status, 200, "{a}");
    assert_blind(&a);
    assert!(a.contains("\"model\":\"Assistant A\""), "{a}");
    let sent = up.requests().last().expect("a request").body.clone();
    assert_eq!(
        sent["messages"][0]["content"],
        json!("写一首诗"),
        "the command went upstream"
    );
    let first_answer = frames(&a)
        .iter()
        .filter(|f| f.as_str() != "[DONE]")
        .filter_map(|f| {
            json(f)["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect::<String>();
    let (status, b) = turn(
        json!([{"role": "user", "content": "$sA7 写一首诗"},
               {"role": "assistant", "content": first_answer},
               {"role": "user", "content": "$B7"}]),
        false,
    );
    assert_eq!(status, 200, "{b}");
    let b = json(&b);
    assert_eq!(b["model"], json!("Assistant B"));
    assert!(!b["id"].as_str().unwrap_or_default().contains("fake"));
    // A later turn goes to both models, each with its own transcript, commands stripped:
    // what the client resends as history ("...") reaches neither.
    let (status, more) = turn(
        json!([{"role": "user", "content": "$sA7 写一首诗"},
               {"role": "assistant", "content": "..."},
               {"role": "user", "content": "$A 再来一首"}]),
        true,
    );
    assert_eq!(status, 200, "{more}");
    assert_blind(&more);
    let requests = up.requests();
    assert_eq!(requests.len(), 4, "two turns, both sides each");
    for r in &requests[2..] {
        let contents: Vec<&str> = r.body["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect();
        let own = crate::support::upstream::answer(&r.model);
        assert_eq!(contents, ["写一首诗", own.as_str(), "再来一首"]);
    }
    let (status, _) = turn(json!([{"role": "user", "content": "$B7"}]), false);
    assert_eq!(status, 200);

    let (status, result) = turn(json!([{"role": "user", "content": "$wA7"}]), false);
    assert_eq!(status, 200, "{result}");
    let text = json(&result)["choices"][0]["message"]["content"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(
        text.contains("saturn") && text.contains("neptune"),
        "{text}"
    );
    assert!(text.contains("Elo"), "{text}");
    // The same result again (a retry) changes nothing and reads the same; another is
    // refused.
    let (_, again) = turn(json!([{"role": "user", "content": "$wA7"}]), false);
    assert_eq!(
        json(&again)["choices"][0]["message"]["content"],
        json!(text),
        "{again}"
    );
    let (status, other) = chat(
        &s,
        &json!({"model": "arena", "user": "chatter", "strict": true,
                "messages": [{"role": "user", "content": "$wB7"}]}),
    );
    assert_eq!(status, 409, "{other}");
    assert_eq!(s.battles_on_board("/v1/leaderboard"), 2, "one vote");
    // After the result, the battle takes no more turns.
    let (_, closed) = turn(json!([{"role": "user", "content": "$A7 again"}]), false);
    assert!(closed.contains("has its result"), "{closed}");
}

#[test]
fn battle_mode_explains_errors_or_fails_strictly_and_skips_housekeeping() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &battle_models(&up));
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "messages": [{"role": "user", "content": "hello"}]}),
    );
    assert_eq!(status, 200);
    assert!(body.contains("$sA"), "{body}");
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "strict": true, "messages": [{"role": "user", "content": "$sA hello"}]}),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(json(&body)["error"]["type"], json!("invalid_request_error"));
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "strict": true, "messages": [{"role": "user", "content": "$wA99"}]}),
    );
    assert_eq!(status, 404, "{body}");
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "messages": [{"role": "user", "content": "### Task:\nGenerate a concise title for the chat."}]}),
    );
    assert_eq!(status, 200);
    assert!(body.contains("title"), "{body}");
    let (_, health) = s.get("/health");
    assert_eq!(json(&health)["completed_battles_count"], json!(0));
    assert!(up.requests().is_empty(), "housekeeping reached a model");
    // The battle server's extra_body fields work as commands.
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "user": "x", "extra_body": {"rpid": "55", "start_models": "B"},
                "messages": [{"role": "user", "content": "Name a colour"}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], json!("Assistant B"));
}

#[test]
fn the_key_guards_the_v1_endpoints_with_openai_errors() {
    let up = Upstream::start();
    let s = Server::start(&json!({"api_key": "k-123456"}), &models(&up));
    let (status, body) = s.get("/v1/models");
    assert_eq!(status, 401);
    assert_eq!(json(&body)["error"]["type"], json!("authentication_error"));
    let ok = s.send(s.client.get(s.url("/v1/models")).bearer_auth("k-123456"));
    assert_eq!(ok.0, 200);
}

/// A minimal blocking reader of a streamed response, so a test reads it piece by piece.
mod reqwest {
    use super::Read;

    pub struct Streamed {
        stream: std::net::TcpStream,
        head: String,
        buffered: Vec<u8>,
    }

    /// POSTs `body` as JSON to `url` over a raw TCP connection and reads the head.
    pub fn blocking_like(url: &str, body: &serde_json::Value) -> Streamed {
        use std::io::Write;
        let rest = url.strip_prefix("http://").expect("http");
        let (host, path) = rest.split_once('/').expect("a path");
        let mut stream = std::net::TcpStream::connect(host).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .expect("timeout");
        let payload = body.to_string();
        write!(
            stream,
            "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
            payload.len()
        )
        .expect("write");
        let mut buffered = Vec::new();
        let mut byte = [0u8; 4096];
        let head_end = loop {
            let n = stream.read(&mut byte).expect("read");
            assert!(n > 0, "the connection closed before the head");
            buffered.extend_from_slice(&byte[..n]);
            if let Some(i) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buffered[..head_end]).into_owned();
        let buffered = buffered[head_end..].to_vec();
        Streamed {
            stream,
            head,
            buffered,
        }
    }

    impl Streamed {
        pub fn header(&self, name: &str) -> Option<String> {
            self.head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        }

        /// Reads until `needle` has arrived; returns the text so far (chunked framing and
        /// all, which the tests ignore).
        pub fn read_until(&mut self, needle: &str) -> String {
            let mut byte = [0u8; 4096];
            while !String::from_utf8_lossy(&self.buffered).contains(needle) {
                let n = self.stream.read(&mut byte).expect("read");
                assert!(n > 0, "the stream ended before {needle:?}");
                self.buffered.extend_from_slice(&byte[..n]);
            }
            let text = String::from_utf8_lossy(&self.buffered).into_owned();
            self.buffered.clear();
            dechunk(&text)
        }

        pub fn read_to_end(&mut self) -> String {
            let mut rest = std::mem::take(&mut self.buffered);
            let _ = self.stream.read_to_end(&mut rest);
            dechunk(&String::from_utf8_lossy(&rest))
        }
    }

    /// Drops the chunk-size lines of chunked transfer encoding.
    fn dechunk(text: &str) -> String {
        text.split("\r\n")
            .filter(|l| l.is_empty() || !l.chars().all(|c| c.is_ascii_hexdigit()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[test]
fn a_body_beyond_the_limit_is_an_openai_413_that_names_the_limit() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"max_request_body_bytes": 2000, "max_attachment_bytes": 100}),
        &models(&up),
    );
    let long = "x".repeat(3000);
    let (status, body) = chat(
        &s,
        &json!({"model": "saturn", "messages": [{"role": "user", "content": long}]}),
    );
    assert_eq!(status, 413, "{body}");
    let e = json(&body);
    assert_eq!(e["error"]["code"], json!("request_too_large"), "{body}");
    assert!(
        e["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2000 bytes")),
        "{body}"
    );
    // An unknown path under /v1 is an OpenAI error too.
    let (status, body) = s.get("/v1/nothing");
    assert_eq!(status, 404);
    assert_eq!(json(&body)["error"]["code"], json!("unknown_url"));
}

#[test]
fn an_upstream_that_breaks_mid_stream_ends_in_an_error_frame_then_done() {
    let up = Upstream::start();
    let mut m = models(&up);
    if let Some(list) = m["models"].as_array_mut() {
        list.push(json!({"name": "cutter", "model": "cut-one", "base_url": up.base_url()}));
    }
    let s = Server::start(&json!({}), &m);
    let response = s.runtime.block_on(
        s.client
            .post(s.url("/v1/chat/completions"))
            .json(&json!({"model": "cutter", "stream": true,
                          "messages": [{"role": "user", "content": "hi"}]}))
            .send(),
    );
    let response = response.expect("a response");
    assert_eq!(response.status(), 200, "the stream had started");
    assert!(response.headers().contains_key("x-request-id"));
    let body = s.runtime.block_on(response.text()).expect("a body");
    let frames = frames(&body);
    let n = frames.len();
    assert!(n >= 3, "{body}");
    assert!(frames[0].contains("The first half"), "{body}");
    assert_eq!(frames[n - 1], "[DONE]");
    let error = json(&frames[n - 2]);
    assert!(error["error"]["message"].is_string(), "{body}");
    assert!(
        error["error"]
            .as_object()
            .is_some_and(|e| e.contains_key("type") && e.contains_key("code"))
    );
    assert!(
        !body.contains("cut-one") && !body.contains("127.0.0.1"),
        "upstream details leaked: {body}"
    );
}

#[test]
fn parallel_results_of_one_battle_count_once() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &battle_models(&up));
    let turn = |messages: Value| {
        chat(
            &s,
            &json!({"model": "arena", "user": "racer", "messages": messages}),
        )
    };
    let (status, a) = turn(json!([{"role": "user", "content": "$sA9 Write a limerick"}]));
    assert_eq!(status, 200, "{a}");
    let (status, b) = turn(json!([{"role": "user", "content": "$sA9 Write a limerick"},
                                  {"role": "assistant", "content": "..."},
                                  {"role": "user", "content": "$B9"}]));
    assert_eq!(status, 200, "{b}");
    // Sixteen clients send the same result at once, as retries after a timeout would.
    let result = json!({"model": "arena", "user": "racer",
                        "messages": [{"role": "user", "content": "$wA9"}]});
    let answers = s.post_at_once("/v1/chat/completions", vec![result; 16]);
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert!(
            body.contains("saturn") && body.contains("neptune"),
            "{body}"
        );
    }
    let battles = s.battles_on_board("/v1/leaderboard");
    assert_eq!(battles, 2, "one vote, counted for both models");
}

#[test]
fn a_side_that_fails_in_a_battle_names_neither_its_model_nor_its_upstream() {
    let up = Upstream::start();
    let base = up.base_url();
    // The upstream's own error names the id it was asked for.
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "saturn", "model": "stream-one", "base_url": base},
            {"name": "phantom", "model": "phantom-unknown", "base_url": base},
        ]}),
    );
    let mut seen = String::new();
    for (i, side) in ["A", "B"].iter().enumerate() {
        let content = if i == 0 {
            "$sA3 hello".to_owned()
        } else {
            format!("${side}3")
        };
        for stream in [false, true] {
            let (status, body) = chat(
                &s,
                &json!({"model": "arena", "user": "f", "stream": stream,
                        "messages": [{"role": "user", "content": content}]}),
            );
            assert_eq!(status, 200, "{body}");
            seen.push_str(&body);
        }
        let (status, body) = chat(
            &s,
            &json!({"model": "arena", "user": "f", "strict": true,
                    "messages": [{"role": "user", "content": format!("${side}3")}]}),
        );
        seen.push_str(&body);
        assert!(status == 200 || status >= 400, "{status} {body}");
    }
    assert!(seen.contains("could not answer"), "one side failed: {seen}");
    // (The other side's frames may name no model either, as `assert_blind` checks elsewhere.)
    for secret in ["phantom", &base] {
        assert!(!seen.contains(secret), "{secret} leaked: {seen}");
    }
}

/// A proxied upstream that streams back the key it was sent: the key is out of the stream
/// and of the folded answer. (The key is a variable every test process has: `PATH`, sent
/// to the fake on this machine only.)
#[test]
fn a_key_a_proxied_upstream_echoes_is_not_passed_on() {
    let up = Upstream::start();
    let key = std::env::var("PATH").unwrap_or_default();
    assert!(
        key.len() >= 4,
        "PATH is too short to stand for a key: {key:?}"
    );
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "parrot", "model": "echo-stream", "base_url": up.base_url(),
             "api_key_env": "PATH"},
            {"name": "other", "model": "stream-a", "base_url": up.base_url()},
        ]}),
    );
    for stream in [true, false] {
        let (status, body) = chat(
            &s,
            &json!({"model": "parrot", "stream": stream,
                    "messages": [{"role": "user", "content": "Repeat my key"}]}),
        );
        assert_eq!(status, 200, "{body}");
        assert!(
            !body.contains(&key),
            "stream {stream}: the key came back: {body}"
        );
        assert!(body.contains("[redacted]"), "stream {stream}: {body}");
    }
    let sent = up.requests();
    assert!(
        sent.iter()
            .any(|r| r.authorization.as_deref() == Some(&format!("Bearer {key}"))),
        "the key was sent to the fake"
    );
}
