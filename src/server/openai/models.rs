//! `/v1/models` and `/v1/leaderboard`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::OpenAiError;
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
