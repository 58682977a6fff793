//! OpenAI's chat wire format, leniently: requests and messages are kept as JSON so that a
//! proxy passes on every field it does not know (`tools`, `response_format`, `seed`, vendor
//! extensions), and only what arena must change is changed. Pure functions, shared by the
//! proxy and battle mode.

use serde_json::{Map, Value, json};

/// The text of a message's content: the string itself, or its text parts joined by newlines.
#[must_use]
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("text") => {
                    o.get("text").and_then(Value::as_str)
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Replaces the text of a content with `text`: a string content becomes `text`; in a list of
/// parts the first text part takes it (others are dropped), and the other parts (images,
/// files) stay as they are.
pub fn set_text(content: &mut Value, text: &str) {
    match content {
        Value::Array(parts) => {
            let mut first = true;
            parts.retain_mut(|p| {
                let is_text = matches!(p, Value::String(_))
                    || p.get("type").and_then(Value::as_str) == Some("text");
                if !is_text {
                    return true;
                }
                if first {
                    first = false;
                    *p = json!({"type": "text", "text": text});
                    true
                } else {
                    false
                }
            });
            if first {
                parts.insert(0, json!({"type": "text", "text": text}));
            }
        }
        other => *other = Value::String(text.to_owned()),
    }
}

/// What must change in a conversation before it goes upstream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shaping {
    /// Merge every system message into one leading system message (role-play clients).
    pub tavern_mode: bool,
    /// Send `developer` messages as `system` (upstreams other than OpenAI's).
    pub developer_as_system: bool,
}

/// Shapes `messages` for an upstream: `developer` as `system` when asked, an empty user text
/// as a single space (some upstreams refuse empty content), and in tavern mode every system
/// message merged, by blank lines, into one leading system message.
pub fn shape(messages: &mut Vec<Value>, s: Shaping) {
    for m in messages.iter_mut() {
        let Some(o) = m.as_object_mut() else { continue };
        if s.developer_as_system && o.get("role").and_then(Value::as_str) == Some("developer") {
            o.insert("role".into(), json!("system"));
        }
        if o.get("role").and_then(Value::as_str) == Some("user") {
            let content = o.entry("content").or_insert(Value::Null);
            if text_of(content).trim().is_empty() {
                match content {
                    Value::Array(_) => {
                        if !content.as_array().is_some_and(|p| {
                            p.iter()
                                .any(|x| x.get("type").and_then(Value::as_str) != Some("text"))
                        }) {
                            set_text(content, " ");
                        }
                    }
                    _ => *content = json!(" "),
                }
            }
        }
    }
    if s.tavern_mode {
        let (system, rest): (Vec<Value>, Vec<Value>) = messages.drain(..).partition(|m| {
            matches!(
                m.get("role").and_then(Value::as_str),
                Some("system" | "developer")
            )
        });
        if !system.is_empty() {
            let merged: Vec<String> = system
                .iter()
                .map(|m| text_of(m.get("content").unwrap_or(&Value::Null)))
                .filter(|t| !t.trim().is_empty())
                .collect();
            messages.push(json!({"role": "system", "content": merged.join("\n\n")}));
        }
        messages.extend(rest);
    }
}

/// The largest attachment in `messages`, in bytes: the decoded size of `data:` URLs in
/// image or file parts (links are not fetched, so they count for their length only).
#[must_use]
pub fn largest_attachment(messages: &[Value]) -> usize {
    let mut largest = 0;
    for m in messages {
        let Some(Value::Array(parts)) = m.get("content") else {
            continue;
        };
        for p in parts {
            let url = p
                .get("image_url")
                .and_then(|u| u.get("url").or(Some(u)))
                .and_then(Value::as_str)
                .or_else(|| {
                    p.get("file")
                        .and_then(|f| f.get("file_data"))
                        .and_then(Value::as_str)
                })
                .or_else(|| {
                    p.get("input_audio")
                        .and_then(|a| a.get("data"))
                        .and_then(Value::as_str)
                });
            if let Some(url) = url {
                let data = url.split_once(";base64,").map_or(url, |(_, d)| d);
                largest = largest.max(data.len() / 4 * 3);
            }
        }
    }
    largest
}

/// A chat completion chunk, normalised: every field a client relies on is there (`id`,
/// `object`, `created`, `model`, `choices[].index`, an explicit `finish_reason` of `null`
/// until the last), and `model` (and with `anonymous` also `id` and `system_fingerprint`)
/// is what arena says it is.
pub fn normalise_chunk(chunk: &mut Map<String, Value>, model: &str, id: &str, created: u64) {
    chunk.insert("object".into(), json!("chat.completion.chunk"));
    chunk.insert("model".into(), json!(model));
    chunk.insert("id".into(), json!(id));
    chunk.entry("created").or_insert(json!(created));
    chunk.remove("system_fingerprint");
    match chunk.get_mut("choices") {
        Some(Value::Array(choices)) => {
            for (i, c) in choices.iter_mut().enumerate() {
                if let Some(o) = c.as_object_mut() {
                    o.entry("index").or_insert(json!(i));
                    o.entry("delta").or_insert(json!({}));
                    let finish = o.entry("finish_reason").or_insert(Value::Null);
                    if finish.as_str().is_some_and(str::is_empty) {
                        *finish = Value::Null;
                    }
                }
            }
        }
        _ => {
            chunk.insert("choices".into(), json!([]));
        }
    }
}

/// A chunk with text (or a role, or an end) for the stream arena writes itself.
#[must_use]
pub fn chunk(
    id: &str,
    created: u64,
    model: &str,
    delta: Value,
    finish_reason: Option<&str>,
) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
}

/// A whole `chat.completion` with one choice, and its usage.
#[must_use]
pub fn completion(id: &str, created: u64, model: &str, text: &str, usage: Value) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": usage,
    })
}

/// An estimate of the tokens of `text`, for when an upstream reports no usage: no model's
/// tokenizer, but a rule close to common BPE vocabularies on English and code. A run of ASCII
/// letters is one token per started 8 letters; a run of digits one per started 3 digits;
/// every other character that is not white space (punctuation, a CJK character, an emoji) is
/// one token. It is counted over the whole text, so how a stream was cut never changes it.
#[must_use]
pub fn estimate_tokens(text: &str) -> u64 {
    let mut tokens = 0u64;
    let mut letters = 0u64;
    let mut digits = 0u64;
    let end_runs = |letters: &mut u64, digits: &mut u64, tokens: &mut u64| {
        *tokens += letters.div_ceil(8) + digits.div_ceil(3);
        *letters = 0;
        *digits = 0;
    };
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            if digits > 0 {
                end_runs(&mut letters, &mut digits, &mut tokens);
            }
            letters += 1;
        } else if c.is_ascii_digit() {
            if letters > 0 {
                end_runs(&mut letters, &mut digits, &mut tokens);
            }
            digits += 1;
        } else {
            end_runs(&mut letters, &mut digits, &mut tokens);
            if !c.is_whitespace() {
                tokens += 1;
            }
        }
    }
    end_runs(&mut letters, &mut digits, &mut tokens);
    tokens
}

/// Usage of `prompt_tokens` and `completion_tokens`, with their total.
#[must_use]
pub fn usage(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens.saturating_add(completion_tokens),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaping_merges_systems_maps_developer_and_fills_empty_text() {
        let mut m = vec![
            json!({"role": "system", "content": "one"}),
            json!({"role": "user", "content": ""}),
            json!({"role": "developer", "content": [{"type": "text", "text": "two"}]}),
            json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}], "name": "u"}),
        ];
        shape(
            &mut m,
            Shaping {
                tavern_mode: true,
                developer_as_system: true,
            },
        );
        assert_eq!(m[0], json!({"role": "system", "content": "one\n\ntwo"}));
        assert_eq!(m[1]["content"], json!(" "));
        // An image alone is content enough; unknown fields stay.
        assert_eq!(m[2]["content"][0]["type"], json!("image_url"));
        assert_eq!(m[2]["name"], json!("u"));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn text_is_read_and_replaced_around_images() {
        let mut c = json!([{"type": "text", "text": "$A hi"}, {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]);
        assert_eq!(text_of(&c), "$A hi");
        set_text(&mut c, "hi");
        assert_eq!(c[0]["text"], json!("hi"));
        assert_eq!(c[1]["type"], json!("image_url"));
        assert_eq!(
            largest_attachment(&[
                json!({"role": "user", "content": [{"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{}", "A".repeat(4000))}}]})
            ]),
            3000
        );
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
    fn chunks_get_every_field_and_lose_their_fingerprint() {
        let mut c = json!({"id": "up-1", "model": "secret-model", "system_fingerprint": "fp",
                           "choices": [{"delta": {"content": "x"}}]});
        let o = c.as_object_mut().unwrap();
        normalise_chunk(o, "Assistant A", "chatcmpl-1", 7);
        assert_eq!(c["model"], json!("Assistant A"));
        assert_eq!(c["id"], json!("chatcmpl-1"));
        assert_eq!(c["created"], json!(7));
        assert_eq!(c["choices"][0]["index"], json!(0));
        assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
        assert!(c.get("system_fingerprint").is_none());
        assert!(!c.to_string().contains("secret"));
    }
}
