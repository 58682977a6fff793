//! Server-sent events: the frames, streams of arena's own making (battle mode, mock models,
//! arena's replies), and upstream streams relayed chunk by chunk.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use super::{OpenAiError, new_id, now_secs};
use crate::error::Error;
use crate::provider::wire::{self};
use crate::provider::{Chunk, RelayStream};
use crate::server::AppState;

/// The keep-alive comment, as the README documents it.
const KEEP_ALIVE: &str = "keep-alive";

/// An SSE response of `events`, with the headers streaming clients and proxies need, and a
/// `: keep-alive` comment whenever the stream has been quiet for `sse_keepalive_seconds`.
/// The page's battle turns are answered with it too.
pub(crate) fn sse(
    state: &AppState,
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Response {
    let every = state.arena.config().sse_keepalive_seconds;
    let mut response = if every > 0 {
        Sse::new(events)
            .keep_alive(
                KeepAlive::new()
                    .interval(Duration::from_secs(every))
                    .text(KEEP_ALIVE),
            )
            .into_response()
    } else {
        Sse::new(events).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

pub(super) fn data(v: &Value) -> Result<Event, Infallible> {
    Ok(Event::default().data(v.to_string()))
}

pub(super) fn done() -> Result<Event, Infallible> {
    Ok(Event::default().data("[DONE]"))
}

pub(super) fn error_frame(e: &OpenAiError) -> Result<Event, Infallible> {
    data(&e.body())
}

/// A keep-alive comment, for a stream that starts before it has anything to say.
pub(super) fn keep_alive() -> Result<Event, Infallible> {
    Ok(Event::default().comment(KEEP_ALIVE))
}

/// A stream of arena's own making (a mock model, arena's replies): `model` labels every chunk.
pub(super) fn own_stream(
    mut chunks: impl Stream<Item = Result<Chunk, crate::provider::UpstreamError>>
    + Send
    + Unpin
    + 'static,
    model: String,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    let id = new_id();
    let created = now_secs();
    async_stream(move |tx| async move {
        let _ = tx
            .send(data(&wire::chunk(
                &id,
                created,
                &model,
                json!({"role": "assistant", "content": ""}),
                None,
            )))
            .await;
        let mut answer = String::new();
        let mut usage = None;
        let mut finish = None;
        while let Some(item) = chunks.next().await {
            match item {
                Ok(Chunk::Delta(text)) => {
                    answer.push_str(&text);
                    let frame = wire::chunk(&id, created, &model, json!({"content": text}), None);
                    if tx.send(data(&frame)).await.is_err() {
                        return;
                    }
                }
                Ok(Chunk::Usage(u)) => usage = Some(u),
                Ok(Chunk::Finish(f)) => finish = Some(f),
                Err(e) => {
                    let err = OpenAiError::from_error(&Error::from(e));
                    let _ = tx.send(error_frame(&err)).await;
                    let _ = tx.send(done()).await;
                    return;
                }
            }
        }
        // The upstream's reason (`length` when max_tokens cut the answer), else `stop`.
        let _ = tx
            .send(data(&wire::chunk(
                &id,
                created,
                &model,
                json!({}),
                Some(finish.as_deref().unwrap_or("stop")),
            )))
            .await;
        if include_usage {
            let u = usage.unwrap_or_default();
            let completion = u
                .completion_tokens
                .unwrap_or_else(|| wire::estimate_tokens(&answer));
            let frame = json!({
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [],
                "usage": wire::usage(u.prompt_tokens.unwrap_or(0), completion),
            });
            let _ = tx.send(data(&frame)).await;
        }
        let _ = tx.send(done()).await;
    })
}

/// A stream fed by a task: the task stops (and drops what it reads from) when the client goes
/// away.
pub(super) fn async_stream<F, Fut>(
    f: F,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream_from(rx)
}

pub(super) fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The whole answer of arena's own stream, as one `chat.completion`.
pub(super) async fn own_whole(
    mut chunks: impl Stream<Item = Result<Chunk, crate::provider::UpstreamError>> + Unpin,
    model: &str,
) -> Result<Value, OpenAiError> {
    let mut text = String::new();
    let mut usage = None;
    let mut finish = None;
    while let Some(item) = chunks.next().await {
        let item = item.map_err(|e| OpenAiError::from_error(&Error::from(e)));
        match item? {
            Chunk::Delta(d) => text.push_str(&d),
            Chunk::Usage(u) => usage = Some(u),
            Chunk::Finish(f) => finish = Some(f),
        }
    }
    let u = usage.unwrap_or_default();
    let completion = u
        .completion_tokens
        .unwrap_or_else(|| wire::estimate_tokens(&text));
    let mut v = wire::completion(
        &new_id(),
        now_secs(),
        model,
        &text,
        wire::usage(u.prompt_tokens.unwrap_or(0), completion),
    );
    if let (Some(f), Some(at)) = (finish, v.pointer_mut("/choices/0/finish_reason")) {
        *at = json!(f);
    }
    Ok(v)
}

/// A proxied stream as the client gets it, chunk by chunk as the upstream sends them: each
/// chunk normalised and named by the public model, the first delta with its role, nothing
/// after the finish chunk but usage (LiteLLM sends an empty chunk there), usage in a
/// usage-only chunk exactly when the client asked for one (the upstream's, else estimated
/// from the text: [`wire::estimate_tokens`]), an upstream's failure as an error frame, and
/// `[DONE]` at the end. Dropping it drops the upstream connection.
pub(super) fn relayed(
    upstream: RelayStream,
    model: String,
    legacy: bool,
    include_usage: bool,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    struct Relaying {
        upstream: RelayStream,
        model: String,
        id: Option<String>,
        created: u64,
        first: bool,
        usage: Option<Value>,
        text: String,
        finished: bool,
        over: bool,
    }
    let state = Relaying {
        upstream,
        model,
        id: None,
        created: now_secs(),
        first: true,
        usage: None,
        text: String::new(),
        finished: false,
        over: false,
    };
    futures_util::stream::unfold(state, move |mut st| async move {
        if st.over {
            return None;
        }
        loop {
            let mut v = match st.upstream.next().await {
                Some(Ok(v)) => v,
                Some(Err(e)) => {
                    st.over = true;
                    let e = OpenAiError::from_error(&Error::from(e));
                    return Some((vec![error_frame(&e), done()], st));
                }
                None => {
                    st.over = true;
                    let mut end = Vec::with_capacity(2);
                    if include_usage && !legacy {
                        let id = st.id.clone().unwrap_or_else(new_id);
                        let usage = st
                            .usage
                            .take()
                            .unwrap_or_else(|| wire::usage(0, wire::estimate_tokens(&st.text)));
                        end.push(data(&json!({
                            "id": id, "object": "chat.completion.chunk", "created": st.created,
                            "model": st.model, "choices": [], "usage": usage,
                        })));
                    }
                    end.push(done());
                    return Some((end, st));
                }
            };
            let Some(o) = v.as_object_mut() else {
                continue;
            };
            if legacy {
                o.insert("model".into(), json!(st.model));
                return Some((vec![data(&v)], st));
            }
            let id = st
                .id
                .get_or_insert_with(|| {
                    o.get("id")
                        .and_then(Value::as_str)
                        .map_or_else(new_id, str::to_owned)
                })
                .clone();
            // Usage waits for the end, in a chunk of its own, and only if it was asked for.
            if let Some(u) = o.remove("usage").filter(Value::is_object) {
                st.usage = Some(u);
            }
            let choices = o
                .get("choices")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if choices == 0 || (st.finished && says_nothing(o)) {
                continue;
            }
            wire::normalise_chunk(o, &st.model, &id, st.created);
            st.finished |= o
                .get("choices")
                .and_then(Value::as_array)
                .is_some_and(|c| c.iter().any(|c| c["finish_reason"].is_string()));
            if let Some(Value::Object(delta)) = o
                .get_mut("choices")
                .and_then(|c| c.get_mut(0))
                .and_then(|c| c.get_mut("delta"))
            {
                if st.first {
                    delta.entry("role").or_insert(json!("assistant"));
                }
                if let Some(text) = delta.get("content").and_then(Value::as_str) {
                    st.text.push_str(text);
                }
            }
            st.first = false;
            return Some((vec![data(&v)], st));
        }
    })
    .flat_map(futures_util::stream::iter)
}

/// Whether a chunk carries nothing for its choices: no finish_reason, and deltas with no
/// value that is not null or empty.
fn says_nothing(chunk: &serde_json::Map<String, Value>) -> bool {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    chunk
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|choices| {
            choices.iter().all(|c| {
                c.get("finish_reason").is_none_or(empty)
                    && c.get("delta")
                        .and_then(Value::as_object)
                        .is_none_or(|d| d.values().all(empty))
            })
        })
}

/// A whole `chat.completion` as one `chat.completion.chunk`: each choice's message becomes
/// its delta.
pub(super) fn whole_as_chunk(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("object".into(), json!("chat.completion.chunk"));
        if let Some(Value::Array(choices)) = o.get_mut("choices") {
            for c in choices.iter_mut().filter_map(Value::as_object_mut) {
                let message = c.remove("message").unwrap_or_else(|| json!({}));
                c.insert("delta".into(), message);
            }
        }
    }
    v
}

/// An upstream that streamed although the client asked for one body: its chunks folded into
/// one `chat.completion` (or `text_completion` for the legacy endpoint).
pub(super) async fn gather(
    mut upstream: RelayStream,
    model: &str,
    legacy: bool,
) -> Result<Value, OpenAiError> {
    let mut text = String::new();
    let mut id = None;
    let mut finish = None;
    let mut usage = None;
    let mut fingerprint = None;
    while let Some(item) = upstream.next().await {
        let v = item.map_err(|e| OpenAiError::from_error(&Error::from(e)))?;
        if id.is_none() {
            id = v.get("id").and_then(Value::as_str).map(str::to_owned);
        }
        if let Some(f) = v.get("system_fingerprint").filter(|f| f.is_string()) {
            fingerprint = Some(f.clone());
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            usage = Some(u.clone());
        }
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
            continue;
        };
        let piece = if legacy {
            choice.get("text")
        } else {
            choice.get("delta").and_then(|d| d.get("content"))
        };
        if let Some(p) = piece.and_then(Value::as_str) {
            text.push_str(p);
        }
        if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
            finish = Some(f.to_owned());
        }
    }
    let id = id.unwrap_or_else(new_id);
    let usage = usage.unwrap_or_else(|| wire::usage(0, wire::estimate_tokens(&text)));
    let finish = finish.unwrap_or_else(|| "stop".to_owned());
    let mut v = if legacy {
        json!({
            "id": id,
            "object": "text_completion",
            "created": now_secs(),
            "model": model,
            "choices": [{"index": 0, "text": text, "logprobs": null, "finish_reason": finish}],
            "usage": usage,
        })
    } else {
        wire::completion(&id, now_secs(), model, &text, usage)
    };
    if let Some(c) = v.pointer_mut("/choices/0/finish_reason") {
        *c = json!(finish);
    }
    if let (Some(f), Some(o)) = (fingerprint, v.as_object_mut()) {
        o.insert("system_fingerprint".into(), f);
    }
    Ok(v)
}

/// A reply of arena itself (battle mode's results, help and errors), streamed or whole.
pub(super) fn text_reply(
    state: &AppState,
    model: &str,
    text: &str,
    stream: bool,
    include_usage: bool,
) -> Response {
    if !stream {
        return Json(wire::completion(
            &new_id(),
            now_secs(),
            model,
            text,
            wire::usage(0, wire::estimate_tokens(text)),
        ))
        .into_response();
    }
    let pieces: Vec<Result<Chunk, crate::provider::UpstreamError>> =
        vec![Ok(Chunk::Delta(text.to_owned()))];
    sse(
        state,
        own_stream(
            futures_util::stream::iter(pieces),
            model.to_owned(),
            include_usage,
        ),
    )
}
