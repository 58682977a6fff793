//! Images of the pool's image models.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::models::callable;
use super::{Body, OpenAiError, now_secs};
use crate::provider::{Relay, wire};
use crate::server::AppState;

/// Images of the pool's image models (`"kind": "image"`), `n` at a time.
#[utoipa::path(post, path = "/v1/images/generations", tag = "openai",
    request_body(content = Object, description = "`prompt`, `n`, `model`, `size`, `response_format`"),
    responses(
        (status = 200, description = "`{created, data: [{url | b64_json}]}`"),
        (status = 400, description = "an invalid request"),
        (status = 404, description = "no such image model"),
    ))]
pub async fn images(State(state): State<AppState>, Body(body): Body) -> Response {
    let arena = &state.arena;
    let name = match body.value::<String>("model") {
        Some(m) => m,
        None => match arena
            .models()
            .models
            .iter()
            .find(|m| m.is_image() && callable(&state, &m.name).is_ok())
        {
            Some(m) => m.name.clone(),
            None => {
                return OpenAiError::new(StatusCode::NOT_FOUND, "no image model is served here")
                    .param("model")
                    .into_response();
            }
        },
    };
    let spec = match callable(&state, &name) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
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
        .value::<String>("prompt")
        .is_none_or(|p| p.trim().is_empty())
    {
        return OpenAiError::new(StatusCode::BAD_REQUEST, "`prompt` is required")
            .param("prompt")
            .into_response();
    }
    let n = match body.get("n").filter(|n| n.get() != "null") {
        None => 1,
        Some(raw) => wire::whole_number(raw).unwrap_or(0),
    };
    if !(1..=10).contains(&n) {
        return OpenAiError::new(
            StatusCode::BAD_REQUEST,
            "`n` is a whole number from 1 to 10",
        )
        .param("n")
        .into_response();
    }
    // The upstream takes n itself, unless the model says it takes one at a time: then n
    // requests run in parallel.
    let one_at_a_time = spec.images_per_request == Some(1);
    let (calls, per_call) = if one_at_a_time { (n, 1) } else { (1, n) };
    let requests = (0..calls).map(|_| {
        let mut b = body.clone();
        b.set("model", &json!(name));
        b.set("n", &json!(per_call));
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
