//! A battle's answer: the request's body, and the upstream's chunks or completion read into
//! [`Chunk`]s, capped at `max_answer_bytes`. Opens its call through [`super::failover`].

use serde_json::{Map, Value, json};

use super::Tx;
use super::errors::Ctx;
use super::failover::{Call, Opened, open};
use crate::config::{Endpoint, ModelSpec};
use crate::provider::{ChatRequest, Chunk, Upstream, UpstreamError, Usage};

/// Streams the answer of `model` into `tx`, trying each endpoint of its pool once until one
/// starts answering with text. An error after the first piece of text is not retried: the
/// answer so far has been handed out already. Asks for usage in the stream
/// (`stream_options.include_usage`) from every endpoint that has not refused it.
pub(in crate::provider) async fn answer(
    up: &Upstream,
    model: &ModelSpec,
    request: &ChatRequest,
    tx: &Tx,
) -> Result<(), UpstreamError> {
    let call = Call {
        path: "chat/completions",
        body: &|endpoint: &Endpoint, usage: bool| {
            serde_json::to_vec(&chat_body(model, endpoint, request, usage)).unwrap_or_default()
        },
        begun: has_text,
        ask_usage: true,
    };
    let mut used = 0u64;
    let cap = up.limits.answer_bytes;
    match open(up, model, &call).await? {
        Opened::Whole(value, ctx) => {
            let finish = finish_reason(&value).map(str::to_owned);
            for chunk in chunks(&value, "message") {
                if !pass(chunk, &mut used, cap, &ctx, tx).await? {
                    return Ok(());
                }
            }
            let _ = tx
                .send(Ok(Chunk::Finish(finish.unwrap_or_else(|| "stop".into()))))
                .await;
            Ok(())
        }
        Opened::Stream(head, mut rest) => {
            let mut finish = None;
            let mut next = head.into_iter();
            loop {
                let value = match next.next() {
                    Some(v) => v,
                    None => match rest.next().await {
                        Some(item) => item?,
                        None => break,
                    },
                };
                if finish.is_none() {
                    finish = finish_reason(&value).map(str::to_owned);
                }
                for chunk in chunks(&value, "delta") {
                    if !pass(chunk, &mut used, cap, &rest.ctx, tx).await? {
                        // The consumer is gone: stop reading, which drops the connection.
                        return Ok(());
                    }
                }
            }
            // A stream ends without error only once a chunk said why it ended.
            let finish = finish.unwrap_or_else(|| "stop".into());
            let _ = tx.send(Ok(Chunk::Finish(finish))).await;
            Ok(())
        }
    }
}

/// Hands a chunk on, its text counted against the answer's limit: `false` when the consumer
/// is gone, an error once the answer is too long (what still fits handed on first).
async fn pass(
    chunk: Chunk,
    used: &mut u64,
    cap: u64,
    ctx: &Ctx,
    tx: &Tx,
) -> Result<bool, UpstreamError> {
    let chunk = match chunk {
        Chunk::Delta(text) => match cap_text(text, used, cap) {
            Ok(text) => Chunk::Delta(text),
            Err(rest) => {
                if !rest.is_empty() {
                    let _ = tx.send(Ok(Chunk::Delta(rest))).await;
                }
                return Err(ctx.too_long(cap));
            }
        },
        other => other,
    };
    Ok(tx.send(Ok(chunk)).await.is_ok())
}

/// Whether a chunk or completion carries text of the answer.
fn has_text(value: &Value) -> bool {
    chunks(value, "delta")
        .iter()
        .chain(chunks(value, "message").iter())
        .any(|c| matches!(c, Chunk::Delta(_)))
}

/// The body of a battle's request: the model's `params`, then the request's own settings.
/// The request's token limit is the one limit sent, under the name the params use
/// (`max_completion_tokens` for upstreams that want it), never both names.
fn chat_body(model: &ModelSpec, endpoint: &Endpoint, request: &ChatRequest, usage: bool) -> Value {
    let mut body = Map::new();
    for (k, v) in &model.params {
        body.insert(k.clone(), v.clone());
    }
    for (k, v) in &request.sampling {
        body.insert(k.clone(), v.clone());
    }
    body.insert("model".into(), json!(endpoint.model));
    body.insert("messages".into(), json!(request.messages));
    body.insert("stream".into(), json!(true));
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(m) = request.max_tokens {
        let name = if body.contains_key("max_completion_tokens") && !body.contains_key("max_tokens")
        {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.remove("max_tokens");
        body.remove("max_completion_tokens");
        body.insert(name.into(), json!(m));
    }
    if usage {
        match body.get_mut("stream_options") {
            Some(Value::Object(options)) => {
                options.entry("include_usage").or_insert(json!(true));
            }
            _ => {
                body.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
    }
    Value::Object(body)
}

/// Counts `text` against the answer's limit: the text when it fits, else `Err` with the
/// part that still fits.
fn cap_text(text: String, used: &mut u64, cap: u64) -> Result<String, String> {
    let room = cap.saturating_sub(*used);
    if text.len() as u64 <= room {
        *used += text.len() as u64;
        return Ok(text);
    }
    let mut end = usize::try_from(room).unwrap_or(usize::MAX).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *used = cap;
    Err(text[..end].to_owned())
}

/// The text and usage in a completion or chunk object; `field` is `delta` or `message`.
fn chunks(value: &Value, field: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    if let Some(choices) = value.get("choices").and_then(Value::as_array) {
        for choice in choices.iter().take(1) {
            if let Some(text) = choice
                .get(field)
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(Chunk::Delta(text.to_owned()));
            }
        }
    }
    if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
        out.push(Chunk::Usage(Usage {
            prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_u64),
            completion_tokens: usage.get("completion_tokens").and_then(Value::as_u64),
        }));
    }
    out
}

/// The `finish_reason` of the first choice, when the chunk carries one.
fn finish_reason(value: &Value) -> Option<&str> {
    value
        .get("choices")?
        .as_array()?
        .first()?
        .get("finish_reason")?
        .as_str()
        .filter(|f| !f.is_empty())
}
