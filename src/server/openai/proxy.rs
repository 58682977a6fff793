//! Chat and text completions of a pool model, proxied to its upstream.
//!
//! The body goes on as the client wrote it (see [`crate::provider::wire::RequestBody`]),
//! with the upstream's id for `model`, the conversation shaped for the upstream, the
//! model's `params` as defaults for what the client left out, and without the fields that
//! would redirect or authenticate the request at an upstream proxy
//! ([`crate::provider::wire::DROPPED`]).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::StreamExt;
use serde_json::json;

use super::battle_mode::battle_mode;
use super::models::callable;
use super::stream::{
    done, error_frame, gather, keep_alive, own_stream, own_whole, relayed, sse, whole_as_chunk,
};
use super::{Body, OpenAiError};
use crate::config::{ModelSpec, ProviderKind};
use crate::provider::wire::{self, Message, RequestBody, Shaping};
use crate::provider::{ChatRequest, Relay, RelayStream};
use crate::server::AppState;
use crate::server::auth::Who;

/// A chat request, checked: its body (the messages in it), and what every path reads.
pub(super) struct Asked {
    pub(super) body: RequestBody,
    pub(super) model: String,
    pub(super) stream: bool,
    pub(super) include_usage: bool,
}

impl Asked {
    /// The conversation.
    pub(super) fn messages(&self) -> &[Message] {
        self.body.messages.as_deref().unwrap_or_default()
    }

    /// A string field of the request, top-level or under `extra_body`.
    pub(super) fn field(&self, name: &str) -> Option<String> {
        self.body
            .value::<String>(name)
            .or_else(|| self.body.extra_body_value::<String>(name))
    }

    /// Whether a flag of the request (`strict`) is `true`, top-level or under `extra_body`.
    pub(super) fn flag(&self, name: &str) -> bool {
        self.body.value::<bool>(name) == Some(true)
            || self.body.extra_body_value::<bool>(name) == Some(true)
    }
}

/// `n`, when sent, is a whole number: 1 (the one answer arena gives), or `null`.
fn check_n(body: &RequestBody) -> Result<(), OpenAiError> {
    let Some(raw) = body.get("n").filter(|n| n.get() != "null") else {
        return Ok(());
    };
    match wire::whole_number(raw) {
        Some(1) => Ok(()),
        Some(n) if n > 1 => Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "`n` above 1 is not supported: ask once per answer",
        )
        .param("n")),
        _ => Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "`n` must be a whole number of 1 or more, written as one (`1`), not `{}`",
                crate::util::terminal_safe(&raw.get().chars().take(40).collect::<String>())
            ),
        )
        .param("n")),
    }
}

pub(super) fn asked(body: RequestBody, state: &AppState) -> Result<Asked, OpenAiError> {
    let model = body.value::<String>("model").ok_or_else(|| {
        OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "`model` is required: a model of /v1/models",
        )
        .param("model")
    })?;
    check_n(&body)?;
    let stream = match body.get("stream").map(|s| s.get()) {
        None | Some("null" | "false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(OpenAiError::new(
                StatusCode::BAD_REQUEST,
                "`stream` must be true or false",
            )
            .param("stream"));
        }
    };
    let include_usage = body.nested_value::<bool>("stream_options", "include_usage") == Some(true);
    let Some(messages) = body.messages.as_deref() else {
        return Err(OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "`messages` must be a non-empty array of messages",
        )
        .param("messages"));
    };
    let limit = state.arena.config().max_attachment_bytes;
    let largest = wire::largest_attachment(messages) as u64;
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
    })
}

/// Chat: a proxy to a pool model, or battle mode for the battle model.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body(content = Object, description = "an OpenAI chat completion request"),
    responses(
        (status = 200, description = "a `chat.completion`, or with `stream` server-sent `chat.completion.chunk`s then `[DONE]`"),
        (status = 400, description = "an invalid request, or one the upstream refused as such (its `type`, `code` and `param`)"),
        (status = 404, description = "no such model"),
        (status = 413, description = "a body or an attachment too large"),
        (status = 429, description = "rate limited"),
        (status = 502, description = "the upstream failed"),
    ))]
pub async fn chat_completions(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    Body(body): Body,
) -> Response {
    let asked = match asked(body, &state) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    if asked.model == state.arena.config().battle_model {
        return battle_mode(&state, &who, asked).await;
    }
    match callable(&state, &asked.model) {
        Ok(spec) => proxy(&state, asked, &spec, "chat/completions").await,
        Err(e) => e.into_response(),
    }
}

/// Forwards `asked` to `spec`'s upstream (or, for a mock model, answers it in process).
/// Whoever calls it has decided that `spec` may be called.
pub(super) async fn proxy(
    state: &AppState,
    asked: Asked,
    spec: &ModelSpec,
    path: &'static str,
) -> Response {
    let Asked {
        mut body,
        model,
        stream,
        include_usage,
    } = asked;
    if !body.dropped.is_empty() {
        tracing::info!(
            "left out of a request to `{model}`, as they would redirect or authenticate it \
             upstream: {}",
            body.dropped.join(", ")
        );
    }
    let openai = spec
        .endpoints
        .iter()
        .all(|e| e.base_url.contains("api.openai.com"));
    if let Some(messages) = body.messages.as_mut() {
        wire::shape(
            messages,
            Shaping {
                tavern_mode: state.arena.config().tavern_mode,
                developer_as_system: !openai,
            },
        );
    }
    if spec.provider == ProviderKind::Mock {
        let request = ChatRequest {
            messages: body
                .messages
                .iter()
                .flatten()
                .map(Message::to_provider)
                .collect(),
            temperature: body.value::<f64>("temperature"),
            max_tokens: None,
            sampling: serde_json::Map::new(),
        };
        let chunks = match state.arena.answer(&model, &request) {
            Ok(c) => c,
            Err(e) => return OpenAiError::from_error(&e).into_response(),
        };
        return if stream {
            sse(state, own_stream(chunks, model, include_usage))
        } else {
            match own_whole(chunks, &model).await {
                Ok(v) => Json(v).into_response(),
                Err(e) => e.into_response(),
            }
        };
    }
    let legacy = path == "completions";
    if stream {
        return proxy_stream(state, model, path, body, include_usage).await;
    }
    let relay = state.arena.proxy(&model, path, &body, stream).await;
    // The answer may take long: the request's memory goes now.
    drop(body);
    match relay {
        Err(e) => OpenAiError::from_error(&e).into_response(),
        Ok(Relay::Whole(mut v)) => {
            if let Some(o) = v.as_object_mut() {
                o.insert("model".into(), json!(model));
                if !o.contains_key("usage") {
                    o.insert("usage".into(), wire::usage(0, 0));
                }
            }
            Json(v).into_response()
        }
        Ok(Relay::Stream(upstream)) => match gather(upstream, &model, legacy).await {
            Ok(v) => Json(v).into_response(),
            Err(e) => e.into_response(),
        },
    }
}

/// A streamed proxy. An answer that begins within one keep-alive interval
/// (`sse_keepalive_seconds`), or fails within it, is answered as it comes: a failure with
/// its own HTTP status. One slow to begin (a model loading, a queue for the server's slot,
/// another endpoint of the pool being tried) gets its response started at the end of that
/// interval with a `: keep-alive` comment, then one every interval, so that no client or
/// proxy on the way gives up on a silent connection; a failure after that can only be an
/// error frame. Either way, no byte of an answer goes out before it has begun, so the
/// failover to another endpoint stays invisible.
async fn proxy_stream(
    state: &AppState,
    model: String,
    path: &'static str,
    body: RequestBody,
    include_usage: bool,
) -> Response {
    let legacy = path == "completions";
    let every = state.arena.config().sse_keepalive_seconds;
    let arena = state.arena.clone();
    let name = model.clone();
    let mut call = Box::pin(async move { arena.proxy(&name, path, &body, true).await });
    if every > 0 {
        let begun = tokio::time::timeout(Duration::from_secs(every), &mut call).await;
        if begun.is_err() {
            let late = futures_util::stream::once(call).flat_map(move |relay| {
                let events: Events = match relay {
                    Ok(relay) => Box::pin(relayed(
                        as_stream(relay, legacy),
                        model.clone(),
                        legacy,
                        include_usage,
                    )),
                    Err(e) => Box::pin(futures_util::stream::iter([
                        error_frame(&OpenAiError::from_error(&e)),
                        done(),
                    ])),
                };
                events
            });
            return sse(
                state,
                futures_util::stream::once(std::future::ready(keep_alive())).chain(late),
            );
        }
        if let Ok(relay) = begun {
            return answer_stream(state, relay, model, legacy, include_usage);
        }
    }
    let relay = call.await;
    answer_stream(state, relay, model, legacy, include_usage)
}

type Events = std::pin::Pin<
    Box<dyn futures_util::Stream<Item = Result<axum::response::sse::Event, Infallible>> + Send>,
>;

/// A streamed proxy's response to a relay that began (or failed) before the response did.
fn answer_stream(
    state: &AppState,
    relay: crate::Result<Relay>,
    model: String,
    legacy: bool,
    include_usage: bool,
) -> Response {
    match relay {
        Ok(relay) => sse(
            state,
            relayed(as_stream(relay, legacy), model, legacy, include_usage),
        ),
        Err(e) => OpenAiError::from_error(&e).into_response(),
    }
}

/// A relayed answer as a stream: an upstream that would not stream gives a stream of one
/// chunk.
fn as_stream(relay: Relay, legacy: bool) -> RelayStream {
    match relay {
        Relay::Stream(s) => s,
        Relay::Whole(v) => {
            let chunk = if legacy { v } else { whole_as_chunk(v) };
            Box::pin(futures_util::stream::iter([Ok(chunk)]))
        }
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
pub async fn completions(State(state): State<AppState>, Body(body): Body) -> Response {
    let Some(model) = body.value::<String>("model") else {
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
    if let Err(e) = check_n(&body) {
        return e.into_response();
    }
    let stream = body.value::<bool>("stream").unwrap_or(false);
    let spec = match callable(&state, &model) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let asked = Asked {
        body,
        model,
        stream,
        include_usage: false,
    };
    proxy(&state, asked, &spec, "completions").await
}
