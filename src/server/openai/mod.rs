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
//! "Assistant B", with arena's own `id` and no `system_fingerprint`. A proxied model's
//! answers keep the upstream's `system_fingerprint`, and an upstream's refusal of a proxied
//! request (a 400 for a context too long, a 429) reaches the client with its status,
//! `type`, `code`, `param` and message (scrubbed; the upstream's id of the model replaced
//! by its public name).
//!
//! Bodies are read by [`crate::provider::wire::RequestBody`], never into a tree of JSON
//! values: a chat body (up to [`super::chat_body_limit`], 40 MiB by default) costs about
//! its own size.
//!
//! Layout: `models` (`/v1/models`, `/v1/leaderboard`, who may call which model), `proxy`
//! (chat and text completions of a pool model), `battle_mode` (the battle model's in-chat
//! commands), `housekeeping` (a chat client's titles, tags and suggestions sent to the
//! battle model), `stream` (SSE frames, streams of arena's own making, relayed streams),
//! `images`.

use std::borrow::Cow;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use crate::error::{Error, UpstreamError, UpstreamKind};
use crate::provider::wire::RequestBody;

mod battle_mode;
mod housekeeping;
mod images;
mod models;
mod proxy;
mod stream;
pub(crate) use stream::sse;

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
    pub kind: Cow<'static, str>,
    pub param: Option<Cow<'static, str>>,
    pub code: Option<Cow<'static, str>>,
    /// Seconds for `Retry-After`, where the error knows them.
    pub retry_after: Option<u64>,
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
            kind: Cow::Borrowed(kind),
            param: None,
            code: None,
            retry_after: None,
        }
    }

    fn param(mut self, param: &'static str) -> Self {
        self.param = Some(Cow::Borrowed(param));
        self
    }

    pub(super) fn code(mut self, code: &'static str) -> Self {
        self.code = Some(Cow::Borrowed(code));
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
            Error::NotFound(m) | Error::BattleNotFound(m) => {
                Self::new(StatusCode::NOT_FOUND, m.clone())
            }
            Error::UnknownModel(m) => {
                Self::new(StatusCode::NOT_FOUND, m.clone()).code("model_not_found")
            }
            Error::Input(m) | Error::Conflict(m) => Self::new(StatusCode::BAD_REQUEST, m.clone()),
            Error::EmptyPrompt => Self::new(StatusCode::BAD_REQUEST, e.to_string()),
            Error::NotOwner(_) => Self::new(StatusCode::FORBIDDEN, e.to_string()),
            Error::BattleState(m) => Self::new(StatusCode::CONFLICT, m.clone()),
            Error::AlreadyVoted(_)
            | Error::Expired(_)
            | Error::StillGenerating(_)
            // A failed battle's reason is what may be shown (see `battle::lifecycle`).
            | Error::BattleFailed { .. } => Self::new(StatusCode::CONFLICT, e.to_string()),
            Error::RateLimited { .. } => {
                let mut error = Self::new(StatusCode::TOO_MANY_REQUESTS, e.to_string());
                error.retry_after = super::error::retry_after(e);
                error
            }
            Error::Upstream(up) => {
                // The client learns what failed, not the upstream's id or address; the log
                // has them (this is a proxied model, not a battle's hidden one).
                tracing::warn!("upstream failure: {}", up.message);
                let status = upstream_status(up);
                match &up.refusal {
                    // The client's own request was refused: it is told as the upstream
                    // told it, in the upstream's words (made public: see `Refusal`).
                    Some(r) if passes_on(status) => OpenAiError {
                        status,
                        message: r.message.clone(),
                        kind: r
                            .kind
                            .clone()
                            .map_or_else(|| Self::new(status, "").kind, Cow::Owned),
                        param: r.param.clone().map(Cow::Owned),
                        code: r.code.clone().map(Cow::Owned),
                        retry_after: (status == StatusCode::TOO_MANY_REQUESTS).then_some(5),
                    },
                    _ => Self::new(status, up.shown.clone()),
                }
            }
            Error::File { .. } | Error::Io { .. } | Error::Database(_) | Error::Internal(_) => {
                tracing::error!("internal error: {e}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server's log has the details",
                )
            }
        }
    }
}

/// Whether an upstream's refusal with this status is the client's to read: its request was
/// at fault (or too much), not the server's configuration (a key, a model id: 401, 403,
/// 404 are the operator's, and a 502 to the client).
fn passes_on(status: StatusCode) -> bool {
    matches!(status.as_u16(), 400 | 409 | 413 | 415 | 422 | 429)
}

/// The status for an upstream's failure: the client's request is at fault only for what an
/// upstream refuses as such.
fn upstream_status(up: &UpstreamError) -> StatusCode {
    match up.status {
        Some(400) => StatusCode::BAD_REQUEST,
        Some(409) => StatusCode::CONFLICT,
        Some(413) => StatusCode::PAYLOAD_TOO_LARGE,
        Some(415) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Some(422) => StatusCode::UNPROCESSABLE_ENTITY,
        Some(429) => StatusCode::TOO_MANY_REQUESTS,
        _ if up.kind == UpstreamKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after {
            super::error::set_retry_after(&mut response, seconds);
        }
        response
    }
}

pub(super) fn now_secs() -> u64 {
    u64::try_from(crate::store::now_ms() / 1000).unwrap_or(0)
}

pub(super) fn new_id() -> String {
    format!("chatcmpl-{}", uuid::Uuid::now_v7().simple())
}

/// A request body read leniently ([`RequestBody`]: chat bodies with their messages typed);
/// anything that is not a request is an OpenAI error that says why. The bytes are let go
/// once read.
pub struct Body(pub RequestBody);

impl FromRequest<AppState> for Body {
    type Rejection = OpenAiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let chat = req.uri().path().ends_with("/chat/completions");
        let limited = req.uri().path().ends_with("completions");
        match Bytes::from_request(req, state).await {
            Ok(bytes) => RequestBody::parse(&bytes, chat).map(Body).map_err(|e| {
                let error = OpenAiError::new(StatusCode::BAD_REQUEST, e.message);
                match e.param {
                    Some(p) => error.param(p),
                    None => error,
                }
            }),
            Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
                let config = state.arena.config();
                let message = if limited {
                    format!(
                        "the request body is larger than the server takes: {} bytes for chat \
                         and completions (the larger of max_request_body_bytes and 8 × \
                         max_attachment_bytes)",
                        super::chat_body_limit(config)
                    )
                } else {
                    format!(
                        "the request body is larger than the server takes ({} bytes; \
                         max_request_body_bytes)",
                        config.max_request_body_bytes
                    )
                };
                Err(OpenAiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
                    .code("request_too_large"))
            }
            Err(e) => match super::body_timed_out(&e) {
                Some(t) => Err(OpenAiError::new(StatusCode::REQUEST_TIMEOUT, t.to_string())
                    .code("request_timeout")),
                None => Err(OpenAiError::new(e.status(), e.body_text())),
            },
        }
    }
}
