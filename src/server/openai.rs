//! The OpenAI-compatible endpoints: `/v1/models`, `/v1/leaderboard`, `/v1/chat/completions`
//! (a proxy to a pool model, or battle mode for the battle model), the legacy
//! `/v1/completions`, and `/v1/images/generations`. Errors are OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` with the matching status; an error after
//! a stream started is a `data: {"error": ...}` frame, then `data: [DONE]`.
//!
//! Wire details clients rely on: every chunk has `id`, `object`, `created`, `model` and
//! `choices[].index`; the first delta carries `role: "assistant"`; `finish_reason` is `null`
//! until the last chunk; a usage-only chunk (`"choices": []`) comes only with
//! `stream_options.include_usage`; whole answers always carry `usage`; streams never use SSE
//! `id:` or `retry:` fields and may carry keep-alive comments.
//!
//! In battle mode the real model never shows before the result: chunks say "Assistant A" or
//! "Assistant B", with arena's own `id` and no `system_fingerprint`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::AppState;
use crate::battle::commands::{self, Action, Verdict, Which};
use crate::battle::{Side, Winner};
use crate::chat::ChatOptions;
use crate::config::ProviderKind;
use crate::error::Error;
use crate::provider::wire::{self, Shaping};
use crate::provider::{ChatRequest, Chunk, Message, Relay, RelayStream};
use crate::rating::Method;

/// An error as OpenAI answers it.
#[derive(Debug)]
pub struct OpenAiError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub param: Option<&'static str>,
    pub code: Option<&'static str>,
}

impl OpenAiError {
    #[must_use]
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let kind = match status.as_u16() {
            401 => "authentication_error",
            403 => "permission_error",
            404 => "not_found_error",
            429 => "rate_limit_error",
            s if s >= 500 => "api_error",
            _ => "invalid_request_error",
        };
        OpenAiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: None,
        }
    }

    fn param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    pub(super) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The JSON of the error.
    #[must_use]
    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message, "type": self.kind, "param": self.param, "code": self.code,
        }})
    }

    /// The response to an engine error.
    #[must_use]
    pub fn from_error(e: &Error) -> Self {
        match e {
            Error::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m.clone()),
            Error::Input(m) if m.starts_with("unknown model") => {
                Self::new(StatusCode::NOT_FOUND, m.clone()).code("model_not_found")
            }
            Error::Input(m) | Error::Conflict(m) => Self::new(StatusCode::BAD_REQUEST, m.clone()),
            Error::NotOwner(_) => Self::new(StatusCode::FORBIDDEN, e.to_string()),
            Error::AlreadyVoted(_)
            | Error::Expired(_)
            | Error::StillGenerating(_)
            | Error::BattleFailed { .. } => {
                Self::new(StatusCode::CONFLICT, crate::provider::blind(&e.to_string()))
            }
            Error::RateLimited { .. } => Self::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()),
            Error::Upstream { message, status } => {
                // The client learns what failed, not the upstream's id or address; the log
                // has them (this is a proxied model, not a battle's hidden one).
                tracing::warn!("upstream failure: {message}");
                Self::new(
                    upstream_status(message, *status),
                    crate::provider::blind(message),
                )
            }
            Error::File { .. } | Error::Io { .. } | Error::Database { .. } | Error::Internal(_) => {
                tracing::error!("internal error: {e}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server's log has the details",
                )
            }
        }
    }
}

/// An engine error as the client of a battle whose models are hidden may see it: an
/// upstream's failure says which side failed and its status, never the upstream's own words
/// (they may name the model).
fn battle_error(e: &Error, side: &str) -> OpenAiError {
    let Error::Upstream { message, status } = e else {
        return OpenAiError::from_error(e);
    };
    tracing::warn!("{side}'s model failed: {}", crate::provider::blind(message));
    let code = status
        .map(|s| format!(" (upstream status {s})"))
        .unwrap_or_default();
    OpenAiError::new(
        upstream_status(message, *status),
        format!("{side}'s model could not answer{code}; ask again, or start another battle"),
    )
}

/// The status for an upstream's failure: the client's request is at fault only for what an
/// upstream refuses as such.
fn upstream_status(message: &str, status: Option<u16>) -> StatusCode {
    match status {
        Some(400) => StatusCode::BAD_REQUEST,
        Some(413) => StatusCode::PAYLOAD_TOO_LARGE,
        Some(422) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(429) => StatusCode::TOO_MANY_REQUESTS,
        _ if message.contains("stalled") || message.contains("no complete answer") => {
            StatusCode::GATEWAY_TIMEOUT
        }
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

fn now_secs() -> u64 {
    u64::try_from(crate::store::now_ms() / 1000).unwrap_or(0)
}

fn new_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::now_v7().simple())
}

/// A request body that is a JSON object; anything else is an OpenAI error that says why.
pub struct Object(pub Map<String, Value>);

impl FromRequest<AppState> for Object {
    type Rejection = OpenAiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let chat = req.uri().path().ends_with("completions");
        match Bytes::from_request(req, state).await {
            Ok(body) => object(&body).map(Object),
            Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
                let config = state.arena.config();
                let limit = if chat {
                    super::chat_body_limit(config)
                } else {
                    config.max_request_body_bytes
                };
                Err(OpenAiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the request body is larger than the server takes ({limit} bytes; \
                         max_request_body_bytes, max_attachment_bytes)"
                    ),
                )
                .code("request_too_large"))
            }
            Err(e) => Err(OpenAiError::new(e.status(), e.body_text())),
        }
    }
}

/// The body as a JSON object, or an OpenAI error that says why not.
fn object(body: &Bytes) -> Result<Map<String, Value>, OpenAiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        )),
        Err(e) => Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            format!("the body is not valid JSON: {e}"),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Models and leaderboard

/// One model of `/v1/models`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelOut {
    pub id: String,
    /// `model`.
    pub object: String,
    pub created: u64,
    pub owned_by: String,
}

/// `/v1/models`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelList {
    /// `list`.
    pub object: String,
    pub data: Vec<ModelOut>,
}

fn model_list(state: &AppState) -> Vec<ModelOut> {
    let arena = &state.arena;
    let mut out = vec![ModelOut {
        id: arena.config().battle_model.clone(),
        object: "model".into(),
        created: 0,
        owned_by: "arena".into(),
    }];
    out.extend(
        arena
            .models()
            .models
            .iter()
            .filter(|m| m.weight > 0.0)
            .map(|m| ModelOut {
                id: m.name.clone(),
                object: "model".into(),
                created: 0,
                owned_by: "arena".into(),
            }),
    );
    out
}

/// The battle model and every pool model in rotation.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "the models", body = ModelList)))]
pub async fn list_models(State(state): State<AppState>) -> Json<ModelList> {
    Json(ModelList {
        object: "list".into(),
        data: model_list(&state),
    })
}

/// One model.
#[utoipa::path(get, path = "/v1/models/{model}", tag = "openai",
    params(("model" = String, Path, description = "the model's id")),
    responses(
        (status = 200, description = "the model", body = ModelOut),
        (status = 404, description = "no such model"),
    ))]
pub async fn get_model(
    State(state): State<AppState>,
    id: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<Json<ModelOut>, OpenAiError> {
    // An id that does not decode names no model.
    let id = id.map_or_else(|_| String::new(), |Path(id)| id);
    model_list(&state)
        .into_iter()
        .find(|m| m.id == id)
        .map(Json)
        .ok_or_else(|| {
            OpenAiError::new(
                StatusCode::NOT_FOUND,
                format!("the model `{id}` does not exist"),
            )
            .param("model")
            .code("model_not_found")
        })
}

/// One model of `/v1/leaderboard`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EloRow {
    pub rank: usize,
    pub model_id: String,
    /// Online Elo.
    pub rating: f64,
    pub battles: u64,
}

/// Online Elo, in the battle server's shape.
#[utoipa::path(get, path = "/v1/leaderboard", tag = "openai",
    responses((status = 200, description = "the ranking", body = [EloRow])))]
pub async fn leaderboard(State(state): State<AppState>) -> Result<Json<Vec<EloRow>>, OpenAiError> {
    let arena = &state.arena;
    let e = |e: Error| OpenAiError::from_error(&e);
    let options = arena.leaderboard_options(Method::Elo).map_err(e)?;
    let board = arena
        .leaderboard(&options, &crate::engine::Selection::default())
        .await
        .map_err(e)?;
    Ok(Json(
        board
            .leaderboard
            .iter()
            .map(|r| EloRow {
                rank: r.rank,
                model_id: r.model_name.clone(),
                rating: r.rating,
                battles: r.battles,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------
// Streams

/// An SSE response of `events`, with the headers streaming clients and proxies need.
fn sse(
    state: &AppState,
    events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
) -> Response {
    let every = state.arena.config().sse_keepalive_seconds;
    let mut response = if every > 0 {
        Sse::new(events)
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(every)))
            .into_response()
    } else {
        Sse::new(events).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

fn data(v: &Value) -> Result<Event, Infallible> {
    Ok(Event::default().data(v.to_string()))
}

fn done() -> Result<Event, Infallible> {
    Ok(Event::default().data("[DONE]"))
}

fn error_frame(e: &OpenAiError) -> Result<Event, Infallible> {
    data(&e.body())
}

/// A stream of arena's own making (battle mode, a mock model): `model` labels every chunk.
fn own_stream(
    mut chunks: impl Stream<Item = Result<Chunk, crate::provider::UpstreamError>>
    + Send
    + Unpin
    + 'static,
    model: String,
    include_usage: bool,
    hidden: bool,
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
        let mut words = 0u64;
        let mut usage = None;
        while let Some(item) = chunks.next().await {
            match item {
                Ok(Chunk::Delta(text)) => {
                    words += text.split_whitespace().count() as u64;
                    let frame = wire::chunk(&id, created, &model, json!({"content": text}), None);
                    if tx.send(data(&frame)).await.is_err() {
                        return;
                    }
                }
                Ok(Chunk::Usage(u)) => usage = Some(u),
                Err(e) => {
                    let e = Error::from(e);
                    let err = if hidden {
                        battle_error(&e, &model)
                    } else {
                        OpenAiError::from_error(&e)
                    };
                    let _ = tx.send(error_frame(&err)).await;
                    let _ = tx.send(done()).await;
                    return;
                }
            }
        }
        let _ = tx
            .send(data(&wire::chunk(
                &id,
                created,
                &model,
                json!({}),
                Some("stop"),
            )))
            .await;
        if include_usage {
            let u = usage.unwrap_or_default();
            let frame = json!({
                "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [],
                "usage": wire::usage(u.prompt_tokens.unwrap_or(0), u.completion_tokens.unwrap_or(words)),
            });
            let _ = tx.send(data(&frame)).await;
        }
        let _ = tx.send(done()).await;
    })
}

/// A stream fed by a task: the task stops (and drops what it reads from) when the client goes
/// away.
fn async_stream<F, Fut>(f: F) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Event, Infallible>>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(f(tx));
    tokio_stream_from(rx)
}

fn tokio_stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> impl Stream<Item = T> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The whole answer of arena's own stream, as one `chat.completion`.
async fn own_whole(
    mut chunks: impl Stream<Item = Result<Chunk, crate::provider::UpstreamError>> + Unpin,
    model: &str,
    hidden: bool,
) -> Result<Value, OpenAiError> {
    let mut text = String::new();
    let mut usage = None;
    while let Some(item) = chunks.next().await {
        let item = item.map_err(|e| {
            let e = Error::from(e);
            if hidden {
                battle_error(&e, model)
            } else {
                OpenAiError::from_error(&e)
            }
        });
        match item? {
            Chunk::Delta(d) => text.push_str(&d),
            Chunk::Usage(u) => usage = Some(u),
        }
    }
    let words = text.split_whitespace().count() as u64;
    let u = usage.unwrap_or_default();
    Ok(wire::completion(
        &new_id(),
        now_secs(),
        model,
        &text,
        wire::usage(
            u.prompt_tokens.unwrap_or(0),
            u.completion_tokens.unwrap_or(words),
        ),
    ))
}

/// A proxied stream as the client gets it, chunk by chunk as the upstream sends them: each
/// chunk normalised and named by the public model, the first delta with its role, usage in a
/// usage-only chunk exactly when the client asked for one (the upstream's, else counted by
/// words), an upstream's failure as an error frame, and `[DONE]` at the end. Dropping it
/// drops the upstream connection.
fn relayed(
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
        words: u64,
        over: bool,
    }
    let state = Relaying {
        upstream,
        model,
        id: None,
        created: now_secs(),
        first: true,
        usage: None,
        words: 0,
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
                        let usage = st.usage.take().unwrap_or_else(|| wire::usage(0, st.words));
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
            if choices == 0 {
                continue;
            }
            wire::normalise_chunk(o, &st.model, &id, st.created);
            if let Some(Value::Object(delta)) = o
                .get_mut("choices")
                .and_then(|c| c.get_mut(0))
                .and_then(|c| c.get_mut("delta"))
            {
                if st.first {
                    delta.entry("role").or_insert(json!("assistant"));
                }
                if let Some(text) = delta.get("content").and_then(Value::as_str) {
                    st.words += text.split_whitespace().count() as u64;
                }
            }
            st.first = false;
            return Some((vec![data(&v)], st));
        }
    })
    .flat_map(futures_util::stream::iter)
}

/// A whole `chat.completion` as one `chat.completion.chunk`: each choice's message becomes
/// its delta.
fn whole_as_chunk(mut v: Value) -> Value {
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
async fn gather(
    mut upstream: RelayStream,
    model: &str,
    legacy: bool,
) -> Result<Value, OpenAiError> {
    let mut text = String::new();
    let mut id = None;
    let mut finish = None;
    let mut usage = None;
    while let Some(item) = upstream.next().await {
        let v = item.map_err(|e| OpenAiError::from_error(&Error::from(e)))?;
        if id.is_none() {
            id = v.get("id").and_then(Value::as_str).map(str::to_owned);
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
    let usage = usage.unwrap_or_else(|| wire::usage(0, text.split_whitespace().count() as u64));
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
    Ok(v)
}

/// A reply of arena itself (battle mode's results, help and errors), streamed or whole.
fn text_reply(
    state: &AppState,
    model: &str,
    text: &str,
    stream: bool,
    include_usage: bool,
) -> Response {
    if !stream {
        let words = text.split_whitespace().count() as u64;
        return Json(wire::completion(
            &new_id(),
            now_secs(),
            model,
            text,
            wire::usage(0, words),
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
            false,
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Chat completions

/// What every chat request is checked for.
struct Asked {
    body: Map<String, Value>,
    model: String,
    stream: bool,
    include_usage: bool,
    messages: Vec<Value>,
}

fn asked(body: Map<String, Value>, state: &AppState) -> Result<Asked, OpenAiError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            OpenAiError::new(
                StatusCode::BAD_REQUEST,
                "`model` is required: a model of /v1/models",
            )
            .param("model")
        })?
        .to_owned();
    if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "`n` above 1 is not supported: ask once per answer",
        )
        .param("n"));
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(OpenAiError::new(
                StatusCode::BAD_REQUEST,
                "`stream` must be true or false",
            )
            .param("stream"));
        }
    };
    let include_usage = body
        .get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m.clone(),
        _ => {
            return Err(OpenAiError::new(
                StatusCode::BAD_REQUEST,
                "`messages` must be a non-empty array of messages",
            )
            .param("messages"));
        }
    };
    if messages
        .iter()
        .any(|m| m.get("role").and_then(Value::as_str).is_none())
    {
        return Err(
            OpenAiError::new(StatusCode::BAD_REQUEST, "every message needs a `role`")
                .param("messages"),
        );
    }
    let limit = state.arena.config().max_attachment_bytes;
    let largest = wire::largest_attachment(&messages) as u64;
    if largest > limit {
        return Err(OpenAiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "an attachment of {largest} bytes is larger than the {limit} allowed \
                 (max_attachment_bytes)"
            ),
        )
        .param("messages"));
    }
    Ok(Asked {
        body,
        model,
        stream,
        include_usage,
        messages,
    })
}

/// Chat: a proxy to a pool model, or battle mode for the battle model.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body(content = Object, description = "an OpenAI chat completion request"),
    responses(
        (status = 200, description = "a `chat.completion`, or with `stream` server-sent `chat.completion.chunk`s then `[DONE]`"),
        (status = 400, description = "an invalid request"),
        (status = 404, description = "no such model"),
        (status = 413, description = "an attachment too large"),
        (status = 429, description = "rate limited"),
        (status = 502, description = "the upstream failed"),
    ))]
pub async fn chat_completions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Object(body): Object,
) -> Response {
    let asked = match asked(body, &state) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if asked.model == state.arena.config().battle_model {
        return battle_mode(&state, &headers, asked).await;
    }
    proxy(&state, asked, "chat/completions").await
}

async fn proxy(state: &AppState, asked: Asked, path: &'static str) -> Response {
    let Asked {
        mut body,
        model,
        stream,
        include_usage,
        mut messages,
    } = asked;
    let spec = match state.arena.models().require(&model) {
        Ok(s) => s.clone(),
        Err(e) => return OpenAiError::from_error(&e).into_response(),
    };
    let openai = spec
        .endpoints
        .iter()
        .all(|e| e.base_url.contains("api.openai.com"));
    wire::shape(
        &mut messages,
        Shaping {
            tavern_mode: state.arena.config().tavern_mode,
            developer_as_system: !openai,
        },
    );
    if spec.provider == ProviderKind::Mock {
        let request = ChatRequest {
            messages: messages
                .into_iter()
                .filter_map(|m| serde_json::from_value(m).ok())
                .collect(),
            temperature: body.get("temperature").and_then(Value::as_f64),
            max_tokens: None,
        };
        let chunks = match state.arena.answer(&model, &request) {
            Ok(c) => c,
            Err(e) => return OpenAiError::from_error(&e).into_response(),
        };
        return if stream {
            sse(state, own_stream(chunks, model, include_usage, false))
        } else {
            match own_whole(chunks, &model, false).await {
                Ok(v) => Json(v).into_response(),
                Err(e) => e.into_response(),
            }
        };
    }
    if path == "chat/completions" {
        body.insert("messages".into(), Value::Array(messages));
    }
    let relay = match state.arena.proxy(&model, path, &body, stream).await {
        Ok(r) => r,
        Err(e) => return OpenAiError::from_error(&e).into_response(),
    };
    match relay {
        Relay::Whole(v) if stream => {
            // An upstream that would not stream: its answer as a stream of one chunk.
            let legacy = path == "completions";
            let chunk = if legacy { v } else { whole_as_chunk(v) };
            let one: RelayStream = Box::pin(futures_util::stream::iter([Ok(chunk)]));
            sse(state, relayed(one, model, legacy, include_usage))
        }
        Relay::Whole(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.insert("model".into(), json!(model));
                o.remove("system_fingerprint");
                if !o.contains_key("usage") {
                    o.insert("usage".into(), wire::usage(0, 0));
                }
            }
            Json(v).into_response()
        }
        Relay::Stream(upstream) if !stream => {
            match gather(upstream, &model, path == "completions").await {
                Ok(v) => Json(v).into_response(),
                Err(e) => e.into_response(),
            }
        }
        Relay::Stream(upstream) => sse(
            state,
            relayed(upstream, model, path == "completions", include_usage),
        ),
    }
}

/// The legacy text completions of a pool model, proxied.
#[utoipa::path(post, path = "/v1/completions", tag = "openai",
    request_body(content = Object, description = "an OpenAI completion request (`prompt`)"),
    responses(
        (status = 200, description = "a `text_completion`, or its stream"),
        (status = 400, description = "an invalid request"),
        (status = 404, description = "no such model"),
    ))]
pub async fn completions(State(state): State<AppState>, Object(body): Object) -> Response {
    let Some(model) = body.get("model").and_then(Value::as_str).map(str::to_owned) else {
        return OpenAiError::new(StatusCode::BAD_REQUEST, "`model` is required")
            .param("model")
            .into_response();
    };
    if model == state.arena.config().battle_model {
        return OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "battles run in /v1/chat/completions; the battle model takes no text completions",
        )
        .param("model")
        .into_response();
    }
    if body.get("n").and_then(Value::as_u64).is_some_and(|n| n > 1) {
        return OpenAiError::new(StatusCode::BAD_REQUEST, "`n` above 1 is not supported")
            .param("n")
            .into_response();
    }
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let asked = Asked {
        body,
        model,
        stream,
        include_usage: false,
        messages: Vec::new(),
    };
    proxy(&state, asked, "completions").await
}

// ---------------------------------------------------------------------------------------
// Battle mode

/// Who is asking in battle mode: the request's `user`, else its key, else everyone without
/// either, together.
fn caller(headers: &HeaderMap, body: &Map<String, Value>) -> String {
    if let Some(user) = body
        .get("user")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        return format!("openai-user:{user}");
    }
    match super::auth::bearer(headers) {
        Some(key) => format!("key:{key}"),
        None => "anonymous:".into(),
    }
}

/// A field of the request, top-level or under `extra_body`.
fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)
        .or_else(|| body.get("extra_body").and_then(|e| e.get(name)))
        .and_then(Value::as_str)
}

const HELP: &str = "This is arena's battle model. Start a blind battle with $sA<id> and your \
    question (for example: $sA1 Write a haiku about autumn); $A or $B to see either answer, or \
    to go on with it; then $wA, $wB, $tie or $bad for the result. The models are revealed only \
    with the result.";

async fn battle_mode(state: &AppState, headers: &HeaderMap, asked: Asked) -> Response {
    let strict = asked.body.get("strict").and_then(Value::as_bool) == Some(true)
        || asked
            .body
            .get("extra_body")
            .and_then(|e| e.get("strict"))
            .and_then(Value::as_bool)
            == Some(true);
    let battle_model = state.arena.config().battle_model.clone();
    let fail = |e: OpenAiError| {
        if strict {
            e.into_response()
        } else {
            text_reply(
                state,
                &battle_model,
                &e.message,
                asked.stream,
                asked.include_usage,
            )
        }
    };
    let last_user = asked
        .messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| wire::text_of(m.get("content").unwrap_or(&Value::Null)))
        .unwrap_or_default();
    // A client's housekeeping (Open WebUI's titles and tags) is no battle.
    if last_user.trim_start().starts_with("### Task:") {
        return housekeeping(state, asked).await;
    }
    let command = match commands::parse(&last_user) {
        Some((parsed, _)) => Some(parsed),
        None => commands::from_fields(
            field(&asked.body, "rpid"),
            field(&asked.body, "start_models"),
            field(&asked.body, "battle_models"),
            field(&asked.body, "win_models"),
        ),
    };
    let command = match command {
        None => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, HELP)),
        Some(Err(e)) => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, e.to_string())),
        Some(Ok(c)) => c,
    };
    let rpid = command
        .rpid
        .clone()
        .or_else(|| field(&asked.body, "rpid").map(str::to_owned));
    let who = caller(headers, &asked.body);
    match command.action {
        Action::Result(verdict) => {
            let winner = match verdict {
                Verdict::WinA => Winner::ModelA,
                Verdict::WinB => Winner::ModelB,
                Verdict::Tie => Winner::Tie,
                Verdict::BothBad => Winner::BothBad,
            };
            match state.arena.chat_result(&who, rpid.as_deref(), winner).await {
                Ok(r) => {
                    let text = reveal_text(&r);
                    text_reply(
                        state,
                        &battle_model,
                        &text,
                        asked.stream,
                        asked.include_usage,
                    )
                }
                Err(e) => fail(OpenAiError::from_error(&e)),
            }
        }
        Action::Start(which) | Action::Answer(which) => {
            let side = match which {
                Which::A => Side::A,
                Which::B => Side::B,
            };
            // Every user message loses its command before the conversation goes upstream.
            let mut conversation = Vec::with_capacity(asked.messages.len());
            for mut m in asked.messages {
                if m.get("role").and_then(Value::as_str) == Some("user")
                    && let Some(content) = m.get_mut("content")
                {
                    let text = wire::text_of(content);
                    let stripped = commands::strip(&text);
                    if stripped.len() != text.len() {
                        wire::set_text(content, stripped);
                    }
                }
                conversation.push(m);
            }
            wire::shape(
                &mut conversation,
                Shaping {
                    tavern_mode: state.arena.config().tavern_mode,
                    developer_as_system: true,
                },
            );
            let messages: Vec<Message> = conversation
                .into_iter()
                .filter_map(|m| serde_json::from_value(m).ok())
                .collect();
            let options = ChatOptions {
                temperature: asked.body.get("temperature").and_then(Value::as_f64),
                max_tokens: asked
                    .body
                    .get("max_tokens")
                    .or_else(|| asked.body.get("max_completion_tokens"))
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok()),
            };
            let start = matches!(command.action, Action::Start(_));
            let answer = match state
                .arena
                .chat_answer(&who, rpid.as_deref(), start, side, messages, options)
                .await
            {
                Ok(a) => a,
                Err(e) => return fail(battle_error(&e, side.label())),
            };
            let label = side.label().to_owned();
            let chunks = tokio_stream_from(answer.chunks);
            let chunks = Box::pin(chunks);
            if asked.stream {
                sse(state, own_stream(chunks, label, asked.include_usage, true))
            } else {
                match own_whole(chunks, &label, true).await {
                    Ok(v) => Json(v).into_response(),
                    Err(e) => fail(e),
                }
            }
        }
    }
}

fn reveal_text(r: &crate::chat::ChatResult) -> String {
    let v = &r.reveal;
    let change = |c: &crate::battle::RatingChange| {
        if c.rating_before.is_nan() {
            String::new()
        } else {
            format!(
                ", Elo {:.1} → {:.1} ({:+.1})",
                c.rating_before,
                c.rating_after,
                c.rating_after - c.rating_before
            )
        }
    };
    let outcome = match v.winner {
        Winner::ModelA => format!("{} wins", v.model_a),
        Winner::ModelB => format!("{} wins", v.model_b),
        Winner::Tie => "a tie".into(),
        Winner::BothBad => "both bad".into(),
        Winner::Skip => "skipped".into(),
    };
    let mut text = format!(
        "Battle {}: {outcome}.\nAssistant A was {}{}.\nAssistant B was {}{}.",
        r.rpid,
        v.model_a,
        change(&v.elo.model_a),
        v.model_b,
        change(&v.elo.model_b)
    );
    if r.repeated {
        text.push_str("\nThis result was recorded already; the ratings did not change again.");
    }
    text
}

/// A client's housekeeping request: the utility model answers it, or a short fixed text.
async fn housekeeping(state: &AppState, mut asked: Asked) -> Response {
    let utility = state.arena.config().utility_model.clone();
    if utility.is_empty() || state.arena.models().get(&utility).is_none() {
        let text = if asked
            .messages
            .iter()
            .any(|m| wire::text_of(m.get("content").unwrap_or(&Value::Null)).contains("title"))
        {
            r#"{"title": "Arena battle"}"#
        } else {
            r#"{"tags": ["arena"]}"#
        };
        let model = state.arena.config().battle_model.clone();
        return text_reply(state, &model, text, asked.stream, asked.include_usage);
    }
    asked.model = utility.clone();
    asked.body.insert("model".into(), json!(utility));
    proxy(state, asked, "chat/completions").await
}

// ---------------------------------------------------------------------------------------
// Images

/// Images of the pool's image models (`"kind": "image"`), `n` at a time.
#[utoipa::path(post, path = "/v1/images/generations", tag = "openai",
    request_body(content = Object, description = "`prompt`, `n`, `model`, `size`, `response_format`"),
    responses(
        (status = 200, description = "`{created, data: [{url | b64_json}]}`"),
        (status = 400, description = "an invalid request"),
        (status = 404, description = "no such image model"),
    ))]
pub async fn images(State(state): State<AppState>, Object(body): Object) -> Response {
    let arena = &state.arena;
    let name = match body.get("model").and_then(Value::as_str) {
        Some(m) => m.to_owned(),
        None => match arena.models().models.iter().find(|m| m.is_image()) {
            Some(m) => m.name.clone(),
            None => {
                return OpenAiError::new(StatusCode::NOT_FOUND, "no image model in models.json")
                    .param("model")
                    .into_response();
            }
        },
    };
    let Some(spec) = arena.models().get(&name).cloned() else {
        return OpenAiError::new(
            StatusCode::NOT_FOUND,
            format!("the model `{name}` does not exist"),
        )
        .param("model")
        .code("model_not_found")
        .into_response();
    };
    if !spec.is_image() {
        return OpenAiError::new(
            StatusCode::BAD_REQUEST,
            format!("`{name}` is not an image model (\"kind\": \"image\" in models.json)"),
        )
        .param("model")
        .into_response();
    }
    if body
        .get("prompt")
        .and_then(Value::as_str)
        .is_none_or(|p| p.trim().is_empty())
    {
        return OpenAiError::new(StatusCode::BAD_REQUEST, "`prompt` is required")
            .param("prompt")
            .into_response();
    }
    let n = body.get("n").and_then(Value::as_u64).unwrap_or(1);
    if !(1..=10).contains(&n) {
        return OpenAiError::new(StatusCode::BAD_REQUEST, "`n` goes from 1 to 10")
            .param("n")
            .into_response();
    }
    // The upstream takes n itself, unless the model says it takes one at a time: then n
    // requests run in parallel.
    let one_at_a_time = spec.images_per_request == Some(1);
    let (calls, per_call) = if one_at_a_time { (n, 1) } else { (1, n) };
    let requests = (0..calls).map(|_| {
        let mut b = body.clone();
        b.insert("model".into(), json!(name));
        b.insert("n".into(), json!(per_call));
        let arena = arena.clone();
        let name = name.clone();
        async move { arena.proxy(&name, "images/generations", &b, false).await }
    });
    let mut out = Vec::new();
    for r in futures_util::future::join_all(requests).await {
        match r {
            Ok(Relay::Whole(v)) => {
                if let Some(Value::Array(items)) = v.get("data") {
                    out.extend(items.iter().cloned());
                }
            }
            Ok(Relay::Stream(_)) => {}
            Err(e) => return OpenAiError::from_error(&e).into_response(),
        }
    }
    Json(json!({"created": now_secs(), "data": out})).into_response()
}
