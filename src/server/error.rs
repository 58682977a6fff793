//! Errors as the server answers them: the REST API's `{"detail": ...}` (FastAPI's shape, as
//! the writing arena answered), with the reference's status codes. Internals are logged,
//! never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::i18n::{self, Lang, Msg};
use crate::error::Error;

/// An error response of the REST API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Detail,
}

/// The `detail` of an error body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    Text(String),
    /// Of a 429: what the limit is and when a battle can start again (Unix seconds).
    Limit {
        message: String,
        available_at: f64,
    },
}

impl ApiError {
    #[must_use]
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Detail::Text(detail.into()),
        }
    }

    /// A 400 that names the field and what it must be.
    #[must_use]
    pub fn field(field: &str, what: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("`{field}`: {what}"))
    }

    /// The response to an engine error, in `lang`.
    #[must_use]
    pub fn from_error(e: &Error, lang: Lang) -> Self {
        let t = |m| i18n::text(lang, m).to_owned();
        match e {
            Error::NotFound(m) if m.starts_with("no battle") => {
                Self::new(StatusCode::NOT_FOUND, t(Msg::BattleNotFound))
            }
            Error::NotFound(m) => Self::new(StatusCode::NOT_FOUND, m.clone()),
            // The reference answers these with 400.
            Error::AlreadyVoted(_) => Self::new(StatusCode::BAD_REQUEST, t(Msg::AlreadyVoted)),
            Error::Expired(_) => Self::new(StatusCode::BAD_REQUEST, t(Msg::Expired)),
            Error::StillGenerating(_) => {
                Self::new(StatusCode::BAD_REQUEST, t(Msg::StillGenerating))
            }
            Error::BattleFailed { reason, .. } => Self::new(
                StatusCode::BAD_REQUEST,
                format!("{} ({reason})", t(Msg::NotPending)),
            ),
            Error::NotOwner(_) => Self::new(StatusCode::FORBIDDEN, t(Msg::NotOwner)),
            Error::BattleState(m) => Self::new(StatusCode::BAD_REQUEST, m.clone()),
            Error::RateLimited {
                limit,
                available_at,
            } => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                detail: Detail::Limit {
                    message: i18n::rate_limit(lang, *limit),
                    #[allow(clippy::cast_precision_loss)]
                    available_at: *available_at as f64 / 1000.0,
                },
            },
            Error::Input(m) | Error::Conflict(m) => Self::new(StatusCode::BAD_REQUEST, m.clone()),
            Error::Upstream { message, status } => {
                let code = if message.contains("no complete answer within")
                    || message.contains("stalled")
                {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                };
                let _ = status;
                Self::new(code, crate::provider::blind(message))
            }
            Error::File { .. } | Error::Io { .. } | Error::Database { .. } | Error::Internal(_) => {
                tracing::error!("internal error: {e}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, t(Msg::Internal))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "detail": self.detail }))).into_response()
    }
}
