//! `/v1/models` and `/v1/leaderboard`, and which models a client may call on `/v1`: the
//! battle model, and the pool's models of a weight above 0 unless `expose_pool` is off.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::OpenAiError;
use crate::config::ModelSpec;
use crate::error::Error;
use crate::rating::Method;
use crate::server::AppState;

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

/// Whether a client may call the pool model `m` on `/v1`: a model out of rotation (weight
/// 0) never, and none when the pool is not exposed.
fn exposed(state: &AppState, m: &ModelSpec) -> bool {
    state.arena.config().expose_pool && m.weight > 0.0
}

/// The pool model `name` if a client may call it on `/v1`; else the 404 of a model that
/// does not exist (which names no file of the server, and no model it may not call).
pub(super) fn callable(state: &AppState, name: &str) -> Result<ModelSpec, OpenAiError> {
    match state.arena.models().get(name) {
        Some(m) if exposed(state, m) => Ok(m.clone()),
        _ => Err(no_such_model(name)),
    }
}

pub(super) fn no_such_model(name: &str) -> OpenAiError {
    OpenAiError::new(
        StatusCode::NOT_FOUND,
        format!("the model `{name}` does not exist: GET /v1/models lists the models"),
    )
    .param("model")
    .code("model_not_found")
}

pub(super) fn model_list(state: &AppState) -> Vec<ModelOut> {
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
            .filter(|m| exposed(state, m))
            .map(|m| ModelOut {
                id: m.name.clone(),
                object: "model".into(),
                created: 0,
                owned_by: "arena".into(),
            }),
    );
    out
}

/// The battle model and every pool model in rotation (none with `expose_pool: false`).
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
        .ok_or_else(|| no_such_model(&id))
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
#[utoipa::path(get, path = "/v1/leaderboard", tag = "openai", operation_id = "v1_leaderboard",
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
