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

//!
//! Layout: `models` (`/v1/models`, `/v1/leaderboard`), `proxy` (chat and text completions of
//! a pool model), `battle_mode` (the battle model's in-chat commands), `stream` (SSE frames,
//! streams of arena's own making, relayed streams), `images`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::error::Error;

mod battle_mode;
mod images;
mod models;
mod proxy;
mod stream;

pub use images::{__path_images, images};
pub use models::{
    __path_get_model, __path_leaderboard, __path_list_models, get_model, leaderboard, list_models,
};
pub use proxy::{__path_chat_completions, __path_completions, chat_completions, completions};

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
            Error::BattleState(m) => Self::new(StatusCode::CONFLICT, m.clone()),
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

pub(super) fn now_secs() -> u64 {
    u64::try_from(crate::store::now_ms() / 1000).unwrap_or(0)
}

pub(super) fn new_id() -> String {
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
pub(super) fn object(body: &Bytes) -> Result<Map<String, Value>, OpenAiError> {
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
