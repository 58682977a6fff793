//! Errors as the server answers them: the REST API's `{"detail": ...}` (FastAPI's shape, as
//! the writing arena answered), with the reference's status codes. Internals are logged,
//! never shown. A 429 or 503 says when to try again (`Retry-After`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::i18n::{self, Lang, Msg};
use crate::error::{Error, UpstreamKind};

/// An error response of the REST API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Detail,
    /// Seconds for `Retry-After`, where the error knows them.
    pub retry_after: Option<u64>,
}

/// The `Retry-After` of a 429 whose wait no clock decides (a vote frees a place), and of a
/// proxied upstream's 429 that said nothing: a short hint, not a promise.
pub const RETRY_HINT_SECONDS: u64 = 5;

/// The `Retry-After` of a 503 of an overloaded server.
pub const BUSY_RETRY_SECONDS: u64 = 1;

/// The seconds to wait before trying again after `e`, where it is a limit.
#[must_use]
pub fn retry_after(e: &Error) -> Option<u64> {
    let Error::RateLimited {
        available_at,
        refused_at,
        ..
    } = e
    else {
        return None;
    };
    Some(available_at.map_or(RETRY_HINT_SECONDS, |at| {
        // Whole seconds, rounded up: a client that waits this long finds the place free.
        u64::try_from((at - refused_at + 999) / 1000)
            .unwrap_or(0)
            .max(1)
    }))
}

/// Sets `Retry-After` on a response.
pub fn set_retry_after(response: &mut Response, seconds: u64) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
}

/// The `detail` of an error body.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    Text(String),
    /// Of a 429: what the limit is and when a battle can start again (Unix seconds); null
    /// when no clock decides it (a vote frees a place of the limit on battles at once).
    Limit {
        message: String,
        available_at: Option<f64>,
    },
}

impl ApiError {
    #[must_use]
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Detail::Text(detail.into()),
            retry_after: None,
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
            Error::BattleNotFound(_) => Self::new(StatusCode::NOT_FOUND, t(Msg::BattleNotFound)),
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
                ..
            } => ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                detail: Detail::Limit {
                    message: i18n::rate_limit(lang, *limit),
                    #[allow(clippy::cast_precision_loss)]
                    available_at: available_at.map(|at| at as f64 / 1000.0),
                },
                retry_after: retry_after(e),
            },
            Error::Input(m) | Error::UnknownModel(m) | Error::Conflict(m) => {
                Self::new(StatusCode::BAD_REQUEST, m.clone())
            }
            Error::EmptyPrompt => Self::new(StatusCode::BAD_REQUEST, e.to_string()),
            Error::Upstream(up) => {
                let code = if up.kind == UpstreamKind::Timeout {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                };
                Self::new(code, up.shown.clone())
            }
            Error::File { .. } | Error::Io { .. } | Error::Database(_) | Error::Internal(_) => {
                tracing::error!("internal error: {e}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, t(Msg::Internal))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "detail": self.detail }))).into_response();
        if let Some(seconds) = self.retry_after {
            set_retry_after(&mut response, seconds);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse;

    use super::*;
    use crate::error::RateLimit;

    fn retry_header(response: &Response) -> Option<&str> {
        response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
    }

    #[test]
    fn limits_say_when_to_try_again_in_both_shapes() {
        let interval = Error::RateLimited {
            limit: RateLimit::Interval { seconds: 30 },
            available_at: Some(10_500),
            refused_at: 1_000,
        };
        assert_eq!(retry_after(&interval), Some(10));
        let at_once = Error::RateLimited {
            limit: RateLimit::Concurrent { max: 1 },
            available_at: None,
            refused_at: 1_000,
        };
        assert_eq!(retry_after(&at_once), Some(RETRY_HINT_SECONDS));
        let rest = ApiError::from_error(&at_once, Lang::En).into_response();
        assert_eq!(rest.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_header(&rest), Some("5"));
        let openai = super::super::openai::OpenAiError::from_error(&interval).into_response();
        assert_eq!(openai.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_header(&openai), Some("10"));
        assert_eq!(
            at_once.to_string(),
            "you have 1 battle generating or waiting for a vote, the most at once: vote on one \
             first"
        );
        let hourly = RateLimit::Hourly { max: 1 }.to_string();
        assert!(hourly.contains("started 1 battle within"), "{hourly}");
    }
}
