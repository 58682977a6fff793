//! The server's key: with `api_key` set (config, or `ARENA_API_KEY`), every endpoint but
//! `/health` needs `Authorization: Bearer KEY`, compared in constant time.

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::i18n::{self, Msg};

/// Equal without telling, by its time, how much of a guess was right.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // The length is not secret; the bytes are, so every byte is compared whatever happens.
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of `Authorization: Bearer TOKEN`, trimmed; `None` without one.
#[must_use]
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Refuses requests without the key, when one is configured.
pub async fn require_key(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(key) = state.api_key.as_deref() else {
        return next.run(req).await;
    };
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let given = bearer(req.headers());
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), key.expose().as_bytes())) {
        return next.run(req).await;
    }
    let message = i18n::text(state.lang, Msg::Unauthorized);
    let mut response = if req.uri().path().starts_with("/v1/") {
        super::openai::OpenAiError::new(StatusCode::UNAUTHORIZED, message).into_response()
    } else {
        ApiError::new(StatusCode::UNAUTHORIZED, message).into_response()
    };
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_compare_whole() {
        assert!(super::constant_time_eq(b"secret", b"secret"));
        assert!(!super::constant_time_eq(b"secret", b"secreT"));
        assert!(!super::constant_time_eq(b"secret", b"secret2"));
        assert!(!super::constant_time_eq(b"", b"x"));
    }
}
