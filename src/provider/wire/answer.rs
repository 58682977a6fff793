//! The answers arena writes or relays in OpenAI's shape: chunks, completions, usage, and the
//! token estimate for an upstream that reports none. Small, so plain `Value`s.

use serde_json::{Map, Value, json};

/// A relayed chat completion chunk, normalised: every field a client relies on is there
/// (`id`, `object`, `created`, `model`, `choices[].index`, an explicit `finish_reason` of
/// `null` until the last), `model` and `id` are what arena says they are, and the
/// upstream's `system_fingerprint` stays. (Battle mode never relays an upstream's chunks:
/// it writes its own, with no fingerprint.)
pub fn normalise_chunk(chunk: &mut Map<String, Value>, model: &str, id: &str, created: u64) {
    chunk.insert("object".into(), json!("chat.completion.chunk"));
    chunk.insert("model".into(), json!(model));
    chunk.insert("id".into(), json!(id));
    chunk.entry("created").or_insert(json!(created));
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
