use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::*;

fn parse(text: &str) -> RequestBody {
    RequestBody::parse(text.as_bytes(), true).unwrap()
}

fn sent(body: &RequestBody) -> Value {
    serde_json::from_slice(&body.upstream_body("up-1", Some(true), &Map::new())).unwrap()
}

fn messages(list: Value) -> Vec<Message> {
    parse(&json!({"messages": list}).to_string())
        .messages
        .unwrap()
}

#[test]
fn unknown_fields_go_upstream_as_the_client_wrote_them() {
    let text = r#"{"model":"m","temperature":0.70,"seed":7,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"vendor":{"x":1e2,"y":"\u00e9"},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}],"name":"u"}],"n":1}"#;
    let body = parse(text);
    let out = String::from_utf8(body.upstream_body("up-1", Some(false), &Map::new())).unwrap();
    for piece in [
        r#""temperature":0.70"#,
        r#""vendor":{"x":1e2,"y":"\u00e9"}"#,
        r#""tools":[{"type":"function","function":{"name":"f","parameters":{}}}]"#,
        r#"{"role":"user","content":[{"type":"text","text":"hi"}],"name":"u"}"#,
        r#""model":"up-1""#,
        r#""stream":false"#,
        r#""n":1"#,
    ] {
        assert!(out.contains(piece), "{piece} is not in {out}");
    }
    assert!(!out.contains(r#""model":"m""#), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["seed"], json!(7));
    assert_eq!(body.value::<f64>("temperature"), Some(0.7));
    assert_eq!(body.value::<String>("model").as_deref(), Some("m"));
    assert_eq!(body.get("seed").map(RawValue::get), Some("7"));
}

#[test]
fn fields_that_redirect_or_authenticate_are_dropped_also_from_extra_body() {
    let body = parse(
        r#"{"model":"m","api_base":"http://evil/","base_url":"x","api_key":"k","headers":{"a":"b"},"extra_headers":{},"extra_body":{"api_key":"k2","rpid":"7"},"messages":[{"role":"user","content":"hi"}]}"#,
    );
    let v = sent(&body);
    for d in DROPPED {
        assert!(v.get(d).is_none(), "{d}: {v}");
    }
    assert_eq!(v["extra_body"], json!({"rpid": "7"}));
    assert_eq!(body.dropped.len(), 5);
    assert_eq!(
        body.extra_body_value::<String>("rpid").as_deref(),
        Some("7")
    );
}

#[test]
fn params_fill_in_what_the_client_left_out_and_one_token_limit_stands_for_both() {
    let params: Map<String, Value> = serde_json::from_value(json!({
        "temperature": 0.1, "max_tokens": 100, "top_k": 5, "seed": 1, "model": "no",
    }))
    .unwrap();
    let body = parse(
        r#"{"model":"m","temperature":0.9,"seed":2,"max_completion_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
    );
    let v: Value = serde_json::from_slice(&body.upstream_body("up", None, &params)).unwrap();
    assert_eq!(v["temperature"], json!(0.9));
    assert_eq!(v["seed"], json!(2));
    assert_eq!(v["top_k"], json!(5));
    // The client's limit, under the name the params use (a server may ignore the other).
    assert_eq!(v["max_tokens"], json!(5));
    assert!(v.get("max_completion_tokens").is_none(), "{v}");
    assert_eq!(v["model"], json!("up"));
    assert!(v.get("stream").is_none(), "{v}");
}

#[test]
fn bodies_that_are_not_requests_say_why() {
    for (text, param, words) in [
        ("[1]", None, "must be a JSON object"),
        ("{\"a\":", None, "not valid JSON"),
        ("{} x", None, "not valid JSON"),
        (r#"{"messages":"hi"}"#, Some("messages"), "non-empty array"),
        (r#"{"messages":[]}"#, Some("messages"), "non-empty array"),
        (
            r#"{"messages":[{"content":"x"}]}"#,
            Some("messages"),
            "`role`",
        ),
        (r#"{"messages":[{"role":5}]}"#, Some("messages"), "`role`"),
        (r#"{"messages":["x"]}"#, Some("messages"), "`role`"),
    ] {
        let e = RequestBody::parse(text.as_bytes(), true).unwrap_err();
        assert_eq!(e.param, param, "{text}: {e:?}");
        assert!(e.message.contains(words), "{text}: {e:?}");
    }
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
    let e = RequestBody::parse(deep.as_bytes(), true).unwrap_err();
    assert!(e.message.contains("nested"), "{e:?}");
    // Brackets inside strings are text, not nesting.
    let text = format!("{{\"a\":\"{}\"}}", "[".repeat(300));
    assert!(RequestBody::parse(text.as_bytes(), true).is_ok());
    let many = format!(
        "{{\"messages\":[{}]}}",
        vec![r#"{"role":"user"}"#; MAX_MESSAGES + 1].join(",")
    );
    let e = RequestBody::parse(many.as_bytes(), true).unwrap_err();
    assert!(e.message.contains("at most"), "{e:?}");
    // Legacy and image bodies keep `messages` as any other field.
    let body = RequestBody::parse(br#"{"messages":"hi","prompt":"p"}"#, false).unwrap();
    assert_eq!(body.value::<String>("messages").as_deref(), Some("hi"));
}

#[test]
fn set_and_remove_change_one_field() {
    let mut body = parse(r#"{"model":"m","a":1,"b":2,"messages":[{"role":"user"}]}"#);
    body.set("a", &json!([3]));
    body.remove("b");
    body.set("n", &json!(1));
    let v = sent(&body);
    assert_eq!(v["a"], json!([3]));
    assert!(v.get("b").is_none());
    assert_eq!(v["n"], json!(1));
    assert_eq!(v["messages"], json!([{"role": "user"}]));
}

#[test]
fn shaping_merges_systems_maps_developer_and_fills_empty_text() {
    let mut m = messages(json!([
        {"role": "system", "content": "one"},
        {"role": "user", "content": ""},
        {"role": "developer", "content": [{"type": "text", "text": "two"}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}], "name": "u"},
        {"role": "user", "content": [{"type": "text", "text": " "}, {"type": "text", "text": ""}]},
    ]));
    shape(
        &mut m,
        Shaping {
            tavern_mode: true,
            developer_as_system: true,
        },
    );
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(v[0], json!({"role": "system", "content": "one\n\ntwo"}));
    assert_eq!(v[1]["content"], json!(" "));
    // An image alone is content enough; unknown fields stay.
    assert_eq!(v[2]["content"][0]["type"], json!("image_url"));
    assert_eq!(v[2]["name"], json!("u"));
    assert_eq!(v[3]["content"], json!([{"type": "text", "text": " "}]));
    assert_eq!(m.len(), 4);
}

#[test]
fn text_is_read_and_replaced_around_images() {
    let mut m = messages(json!([{"role": "user", "content": [
        {"type": "text", "text": "$A hi"},
        {"type": "image_url", "image_url": {"url": "http://x/y.png"}},
        {"type": "text", "text": "more"}]}]))
    .remove(0);
    assert_eq!(m.text(), "$A hi\nmore");
    m.set_text("hi");
    let v = serde_json::to_value(&m).unwrap();
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "http://x/y.png"}}])
    );
    let mut only_image = messages(json!([{"role": "user", "content": [
        {"type": "image_url", "image_url": "http://x/y.png"}]}]))
    .remove(0);
    only_image.set_text("caption");
    assert_eq!(
        serde_json::to_value(&only_image).unwrap()["content"],
        json!([{"type": "text", "text": "caption"}, {"type": "image_url", "image_url": "http://x/y.png"}])
    );
    let big = format!("data:image/png;base64,{}", "A".repeat(4000));
    for content in [
        json!([{"type": "image_url", "image_url": {"url": big}}]),
        json!([{"type": "image_url", "image_url": big}]),
        json!([{"type": "file", "file": {"file_data": big}}]),
        json!([{"type": "input_audio", "input_audio": {"data": big, "format": "wav"}}]),
    ] {
        let m = messages(json!([{"role": "user", "content": content}]));
        assert_eq!(largest_attachment(&m), 3000, "{content}");
    }
    let provider = messages(json!([{"role": "tool", "content": null, "tool_call_id": "c"}]))
        .remove(0)
        .to_provider();
    assert_eq!(provider.role, "tool");
    assert_eq!(provider.extra["tool_call_id"], json!("c"));
}

#[test]
fn the_token_estimate_counts_punctuation_once_and_ignores_how_text_was_cut() {
    assert_eq!(
        estimate_tokens("The quick brown fox jumps over the lazy dog."),
        10
    );
    assert_eq!(estimate_tokens("Hello, world!"), 4);
    assert_eq!(
        estimate_tokens("internationalization 2024 1234567"),
        3 + 2 + 3
    );
    assert_eq!(estimate_tokens("猫が好き 🐈"), 5);
    assert_eq!(estimate_tokens("  \n\t "), 0);
    // The same text cut into a stream's pieces counts the same once joined: a sum over
    // pieces would count "," and a word cut in two as words of their own.
    let pieces = ["Hel", "lo", ",", " wor", "ld", "!"];
    assert_eq!(estimate_tokens(&pieces.concat()), 4);
}

#[test]
fn chunks_get_every_field_and_keep_their_fingerprint() {
    let mut c = json!({"id": "up-1", "model": "secret-model", "system_fingerprint": "fp",
                       "choices": [{"delta": {"content": "x"}}]});
    let o = c.as_object_mut().unwrap();
    normalise_chunk(o, "public", "chatcmpl-1", 7);
    assert_eq!(c["model"], json!("public"));
    assert_eq!(c["id"], json!("chatcmpl-1"));
    assert_eq!(c["created"], json!(7));
    assert_eq!(c["choices"][0]["index"], json!(0));
    assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
    assert_eq!(c["system_fingerprint"], json!("fp"));
    assert!(!c.to_string().contains("secret"));
}
