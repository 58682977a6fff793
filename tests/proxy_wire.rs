//! The OpenAI-compatible proxy on the wire, over real TCP against the recording fake
//! upstream: what the upstream receives of a client's body (every field byte for byte,
//! `n` checked, redirecting fields dropped, `params` as defaults), what the client receives
//! of an upstream's refusal and fingerprint, which models `/v1` serves, the answers to a
//! chat client's housekeeping, and the OpenAPI document checked by a validator.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::server::{Server, json};
use crate::support::{Test, Upstream};

fn chat(s: &Server, body: &Value) -> (u16, String) {
    s.post("/v1/chat/completions", body)
}

/// The SSE `data:` payloads of a stream body, in order.
fn frames(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_owned)
        .collect()
}

fn user(text: &str) -> Value {
    json!([{"role": "user", "content": text}])
}

#[test]
fn every_unknown_field_reaches_the_upstream_byte_for_byte() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({}),
        &json!({"models": [{"name": "saturn", "model": "stream-one", "base_url": up.base_url()}]}),
    );
    // Numbers and escapes as a client may write them, which a tree of JSON values would
    // write back otherwise (0.7, 100.0, "é").
    let fields = [
        r#""temperature":0.70"#,
        r#""vendor":{"x":1e2,"y":"\u00e9","z":[{"a":1},{"a":1}]}"#,
        r#""tools":[{"type":"function","function":{"name":"f","parameters":{}}}]"#,
        r#""logit_bias":{"50256":-100.0}"#,
    ];
    let body = format!(
        r#"{{"model":"saturn",{},"messages":[{{"role":"user","content":"hi","name":"ann"}}]}}"#,
        fields.join(",")
    );
    let (status, answer) = s.send(
        s.client
            .post(s.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body),
    );
    assert_eq!(status, 200, "{answer}");
    let raw = up.requests().last().expect("a request").raw.clone();
    for field in fields {
        assert!(raw.contains(field), "{field} did not arrive as sent: {raw}");
    }
    assert!(
        raw.contains(r#"{"role":"user","content":"hi","name":"ann"}"#),
        "{raw}"
    );
    assert!(raw.contains(r#""model":"stream-one""#), "{raw}");
}

#[test]
fn n_must_be_a_whole_number_of_one() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({}),
        &json!({"models": [{"name": "saturn", "model": "json-one", "base_url": up.base_url()}]}),
    );
    for n in [
        json!(2.0),
        json!("3"),
        json!(1e30),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(2),
    ] {
        for path in ["/v1/chat/completions", "/v1/completions"] {
            let (status, body) = s.post(
                path,
                &json!({"model": "saturn", "n": n, "prompt": "x", "messages": user("x")}),
            );
            assert_eq!(status, 400, "{path} n = {n}: {body}");
            assert_eq!(json(&body)["error"]["param"], json!("n"), "{body}");
        }
    }
    assert!(up.requests().is_empty(), "a bad `n` reached the upstream");
    for n in [json!(1), Value::Null] {
        let (status, body) = chat(
            &s,
            &json!({"model": "saturn", "n": n, "messages": user("x")}),
        );
        assert_eq!(status, 200, "n = {n}: {body}");
    }
}

#[test]
fn fields_that_would_redirect_or_authenticate_upstream_are_dropped_and_params_are_defaults() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({}),
        &json!({"models": [{"name": "saturn", "model": "json-one", "base_url": up.base_url(),
                            "params": {"temperature": 0.1, "max_tokens": 100, "top_k": 5}}]}),
    );
    let (status, body) = chat(
        &s,
        &json!({"model": "saturn", "messages": user("hi"), "temperature": 0.9,
                "max_completion_tokens": 5,
                "api_base": "http://127.0.0.1:9/v1", "base_url": "http://127.0.0.1:9/v1",
                "api_key": "sk-client-0000000000", "headers": {"Authorization": "Bearer x"},
                "extra_headers": {"X-Api-Key": "y"},
                "extra_body": {"api_base": "http://127.0.0.1:9/v1", "rpid": "1"}}),
    );
    assert_eq!(status, 200, "{body}");
    let sent = up.requests().last().expect("a request").body.clone();
    for field in [
        "api_base",
        "base_url",
        "api_key",
        "headers",
        "extra_headers",
    ] {
        assert!(
            sent.get(field).is_none(),
            "{field} reached the upstream: {sent}"
        );
    }
    assert_eq!(sent["extra_body"], json!({"rpid": "1"}));
    // The client's values stand; params fill in the rest, and one token limit (the
    // client's) goes up, not two: under the name the params use, which some servers read
    // alone.
    assert_eq!(sent["temperature"], json!(0.9));
    assert_eq!(sent["top_k"], json!(5));
    assert_eq!(sent["max_tokens"], json!(5));
    assert!(sent.get("max_completion_tokens").is_none(), "{sent}");
}

#[test]
fn an_upstreams_refusal_reaches_the_client_with_its_status_code_type_and_param() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({}),
        &json!({"models": [{"name": "saturn", "model": "ctx-400", "base_url": up.base_url()}]}),
    );
    for stream in [false, true] {
        let (status, body) = chat(
            &s,
            &json!({"model": "saturn", "stream": stream, "messages": user("a long story")}),
        );
        assert_eq!(status, 400, "{body}");
        let e = &json(&body)["error"];
        assert_eq!(e["code"], json!("context_length_exceeded"), "{body}");
        assert_eq!(e["type"], json!("invalid_request_error"), "{body}");
        assert_eq!(e["param"], json!("messages"), "{body}");
        let message = e["message"].as_str().expect("a message");
        assert!(message.contains("maximum context length"), "{message}");
        // The upstream's id and address are not the client's to see: the public name is.
        assert!(message.contains("saturn"), "{message}");
        assert!(!message.contains("ctx-400"), "{message}");
        assert!(!message.contains("127.0.0.1"), "{message}");
    }
}

#[test]
fn the_proxy_keeps_the_system_fingerprint_and_battles_never_show_one() {
    let up = Upstream::start();
    let base = up.base_url();
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "saturn", "model": "fp-one", "base_url": base},
            {"name": "neptune", "model": "fp-two", "base_url": base},
        ]}),
    );
    let (status, whole) = chat(&s, &json!({"model": "saturn", "messages": user("hi")}));
    assert_eq!(status, 200, "{whole}");
    assert_eq!(
        json(&whole)["system_fingerprint"],
        json!("fp_fake"),
        "{whole}"
    );
    let (status, streamed) = chat(
        &s,
        &json!({"model": "saturn", "stream": true, "messages": user("hi")}),
    );
    assert_eq!(status, 200, "{streamed}");
    for f in frames(&streamed).iter().filter(|f| *f != "[DONE]") {
        assert_eq!(json(f)["system_fingerprint"], json!("fp_fake"), "{f}");
    }
    let mut battle = String::new();
    for (content, stream) in [("$sA5 hi", true), ("$B5", false), ("$A5", false)] {
        let (status, body) = chat(
            &s,
            &json!({"model": "arena", "user": "fp", "stream": stream, "messages": user(content)}),
        );
        assert_eq!(status, 200, "{body}");
        battle.push_str(&body);
    }
    assert!(battle.contains("Assistant B"), "{battle}");
    assert!(!battle.contains("fingerprint"), "{battle}");
}

fn pool(up: &Upstream) -> Value {
    let base = up.base_url();
    json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": base},
        {"name": "neptune", "model": "stream-two", "base_url": base},
        {"name": "retired", "model": "stream-old", "base_url": base, "weight": 0},
        {"name": "painter", "model": "img-many", "base_url": base, "kind": "image"},
    ]})
}

fn listed(s: &Server) -> Vec<String> {
    let (status, body) = s.get("/v1/models");
    assert_eq!(status, 200, "{body}");
    json(&body)["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_model_of_weight_zero_is_neither_listed_nor_callable() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pool(&up));
    assert_eq!(listed(&s), ["arena", "saturn", "neptune", "painter"]);
    for stream in [false, true] {
        let (status, body) = chat(
            &s,
            &json!({"model": "retired", "stream": stream, "messages": user("hi")}),
        );
        assert_eq!(status, 404, "{body}");
        assert_eq!(json(&body)["error"]["code"], json!("model_not_found"));
    }
    let (status, _) = s.post(
        "/v1/completions",
        &json!({"model": "retired", "prompt": "x"}),
    );
    assert_eq!(status, 404);
    assert_eq!(s.get("/v1/models/retired").0, 404);
    assert_eq!(up.hits("stream-old"), 0);
}

#[test]
fn without_expose_pool_only_the_battle_model_is_served() {
    let up = Upstream::start();
    let s = Server::start(&json!({"expose_pool": false}), &pool(&up));
    assert_eq!(listed(&s), ["arena"]);
    let (status, body) = chat(&s, &json!({"model": "saturn", "messages": user("hi")}));
    assert_eq!(status, 404, "{body}");
    assert_eq!(s.get("/v1/models/saturn").0, 404);
    let (status, _) = s.post(
        "/v1/completions",
        &json!({"model": "saturn", "prompt": "x"}),
    );
    assert_eq!(status, 404);
    let (status, _) = s.post(
        "/v1/images/generations",
        &json!({"model": "painter", "prompt": "a cat"}),
    );
    assert_eq!(status, 404);
    let (status, _) = s.post("/v1/images/generations", &json!({"prompt": "a cat"}));
    assert_eq!(status, 404);
    assert!(up.requests().is_empty(), "a pool model was called");
    // Battles still draw from the pool.
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "user": "u", "messages": user("$sA1 Name a colour")}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], json!("Assistant A"), "{body}");
}

#[test]
fn an_unknown_model_is_a_404_that_names_no_file_of_the_server() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pool(&up));
    let (status, body) = chat(&s, &json!({"model": "satrun", "messages": user("hi")}));
    assert_eq!(status, 404, "{body}");
    assert_eq!(json(&body)["error"]["code"], json!("model_not_found"));
    assert!(!body.contains("models.json"), "{body}");
    let dir = s.db();
    let dir = dir.parent().expect("the server's directory");
    assert!(!body.contains(&*dir.to_string_lossy()), "{body}");
}

#[test]
fn a_message_count_beyond_the_limit_is_refused() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pool(&up));
    let many: Vec<Value> = (0..=100_000)
        .map(|_| json!({"role": "user", "content": "x"}))
        .collect();
    let (status, body) = chat(&s, &json!({"model": "saturn", "messages": many}));
    assert_eq!(status, 400, "{}", &body[..body.len().min(300)]);
    let e = &json(&body)["error"];
    assert_eq!(e["param"], json!("messages"), "{body}");
    assert!(
        e["message"].as_str().is_some_and(|m| m.contains("100000")),
        "{body}"
    );
    assert!(up.requests().is_empty());
}

/// Open WebUI's task prompts (their instructions, then a history of the test's).
const HISTORY: &str = "<chat_history>\nUSER: Suggest a title and tags for my essay\nASSISTANT: \"title\" and \"tags\" coming.\n</chat_history>";

#[test]
fn housekeeping_is_told_by_its_task_and_answered_in_the_shape_it_asks_for() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pool(&up));
    let tasks = [
        (
            "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next.\n### Output:\nJSON format: { \"follow_ups\": [\"Question 1?\"] }\n### Chat History:\n",
            "follow_ups",
        ),
        (
            "### Task:\nAnalyze the chat history to determine the necessity of generating search queries.\n### Output:\nStrictly return in JSON format: \n{\n  \"queries\": [\"query1\", \"query2\"]\n}\n\n### Chat History:\n",
            "queries",
        ),
        (
            "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history.\n### Output:\nJSON format: { \"tags\": [\"tag1\", \"tag2\", \"tag3\"] }\n\n### Chat History:\n",
            "tags",
        ),
        (
            "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Output:\nJSON format: { \"title\": \"your concise title here\" }\n### Chat History:\n",
            "title",
        ),
        (
            "### Task:\nYou are an autocompletion system. Continue the text in `<text>`.\n### **Output Rules**:\n- Respond only in JSON format: `{ \"text\": \"<your_completion>\" }`.\n### Context:\n",
            "text",
        ),
    ];
    for (task, key) in tasks {
        for stream in [false, true] {
            let (status, body) = chat(
                &s,
                &json!({"model": "arena", "stream": stream,
                        "messages": user(&format!("{task}{HISTORY}"))}),
            );
            assert_eq!(status, 200, "{body}");
            let text: String = if stream {
                frames(&body)
                    .iter()
                    .filter(|f| *f != "[DONE]")
                    .filter_map(|f| {
                        json(f)["choices"][0]["delta"]["content"]
                            .as_str()
                            .map(str::to_owned)
                    })
                    .collect()
            } else {
                json(&body)["choices"][0]["message"]["content"]
                    .as_str()
                    .expect("text")
                    .to_owned()
            };
            let answer: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{key}: not JSON ({e}): {text}"));
            let keys: Vec<&String> = answer.as_object().expect("an object").keys().collect();
            assert_eq!(keys, [key], "{task}");
        }
    }
    let (status, body) = chat(
        &s,
        &json!({"model": "arena", "messages": user(
            "Your task is to reflect the speaker's likely facial expression through a fitting emoji.\n\nMessage: ```I passed!```")}),
    );
    assert_eq!(status, 200, "{body}");
    let text = json(&body)["choices"][0]["message"]["content"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(!text.is_empty() && text.chars().count() <= 2, "{text}");
    assert!(up.requests().is_empty(), "housekeeping reached a model");
    let (_, health) = s.get("/health");
    assert_eq!(json(&health)["completed_battles_count"], json!(0));
}

/// A battle side whose upstream refuses its key: what the voter sees names the provider,
/// never the key's variable; the operator's `models check` names it.
#[test]
fn before_the_vote_a_failed_side_never_names_its_key_variable() {
    const VAR: &str = "ARENA_TEST_VENDOR_KEY_UNSET";
    let up = Upstream::start();
    let base = up.base_url();
    let models = json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": base},
        {"name": "locked", "model": "fail-401", "base_url": base, "api_key_env": VAR},
    ]});
    let s = Server::start(&json!({}), &models);
    let mut seen = String::new();
    for content in ["$sA9 hello", "$B9", "$A9"] {
        for strict in [false, true] {
            let (_, body) = chat(
                &s,
                &json!({"model": "arena", "user": "k", "strict": strict, "messages": user(content)}),
            );
            seen.push_str(&body);
        }
    }
    // A REST battle between the same two fails on the same side.
    let (status, body) = s.post("/battle", &json!({"discord_id": "k2"}));
    seen.push_str(&body);
    if let Some(id) = json(&body)["battle_id"].as_str() {
        seen.push_str(&s.get(&format!("/battle/{id}")).1);
    }
    assert!(status >= 400 || seen.contains("failed"), "{status} {body}");
    assert!(seen.contains("could not answer"), "no side failed: {seen}");
    assert!(!seen.contains(VAR), "the key's variable showed: {seen}");
    let t = Test::new().with_models(&models);
    let out = t.arena().args(["models", "check", "locked"]).run().code(3);
    assert!(
        out.stdout().contains(VAR) || out.stderr().contains(VAR),
        "the operator is not told the variable: {} {}",
        out.stdout(),
        out.stderr()
    );
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python of the SDK tests' virtual environment, if it has the validator.
fn validator() -> Result<PathBuf, String> {
    let venv = root().join("target/sdk/venv/bin/python");
    let python = std::env::var_os("ARENA_SDK_PYTHON").map_or(venv, PathBuf::from);
    let ok = Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(python)
    } else {
        Err(format!(
            "{} cannot import openapi_spec_validator",
            python.display()
        ))
    }
}

#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    let python = match validator() {
        Ok(p) => p,
        Err(why) => {
            assert!(
                std::env::var("ARENA_SDK_TESTS").as_deref() != Ok("1"),
                "ARENA_SDK_TESTS=1 but {why}: run scripts/sdk-setup.sh"
            );
            eprintln!("skipped: {why} (scripts/sdk-setup.sh installs it)");
            return;
        }
    };
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pool(&up));
    let (status, doc) = s.get("/openapi.json");
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &doc).expect("the document");
    let output = Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation.exceptions import OpenAPIValidationError\n\
             doc = json.load(open(sys.argv[1]))\n\
             try:\n    validate(doc)\n\
             except OpenAPIValidationError as e:\n    sys.exit(f'invalid: {e}')\n\
             ids = [op['operationId'] for p in doc['paths'].values() for op in p.values()]\n\
             dup = sorted({i for i in ids if ids.count(i) > 1})\n\
             sys.exit(f'operationIds not unique: {dup}' if dup else 0)\n",
        ])
        .arg(&file)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
