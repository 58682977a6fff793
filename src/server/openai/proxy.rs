//! Chat and text completions of a pool model, proxied to its upstream.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::battle_mode::battle_mode;
use super::stream::{gather, own_stream, own_whole, relayed, sse, whole_as_chunk};
use super::{Object, OpenAiError};
use crate::config::ProviderKind;
use crate::provider::wire::{self, Shaping};
use crate::provider::{ChatRequest, Relay, RelayStream};
use crate::server::AppState;

/// What every chat request is checked for.
pub(super) struct Asked {
    pub(super) body: Map<String, Value>,
    pub(super) model: String,
    pub(super) stream: bool,
    pub(super) include_usage: bool,
    pub(super) messages: Vec<Value>,
}

pub(super) fn asked(body: Map<String, Value>, state: &AppState) -> Result<Asked, OpenAiError> {
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

pub(super) async fn proxy(state: &AppState, asked: Asked, path: &'static str) -> Response {
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
