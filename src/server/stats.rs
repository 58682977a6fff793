//! `/api/battle_statistics` and `/api/prompt_statistics`: the writing arena's figures, in its
//! shapes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::error::ApiError;
use super::extract::Params;
use super::rest::ErrorOut;
use crate::engine::Selection;
use crate::rating::stats::{Matrices, PromptStatistics};

/// The query of `/api/battle_statistics`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatrixQuery {
    /// Only the N models with the most battles (needed above 500 models).
    pub top: Option<usize>,
    /// Count the votes whose answers named a model (left out by default).
    pub include_identity_leaks: Option<bool>,
    /// Count the side-by-side votes, cast with the models named (left out by default).
    pub include_named: Option<bool>,
}

/// The shape of `/api/battle_statistics`, for the document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MatricesDoc {
    /// `[a][b]`: the share of a's decided battles against b that a won; null when none.
    win_rate_matrix: BTreeMap<String, BTreeMap<String, Option<f64>>>,
    /// `[a][b]`: every battle between a and b, ties and skips included; symmetric.
    match_count_matrix: BTreeMap<String, BTreeMap<String, u64>>,
}

/// One prompt of `/api/prompt_statistics`, for the document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PromptStatDoc {
    prompt: String,
    prompt_theme: String,
    total_battles: u64,
    model_battle_counts: BTreeMap<String, u64>,
    /// `(wins + 0.5·ties) / (battles − skips)`; null when all were skipped.
    model_win_rates: BTreeMap<String, Option<f64>>,
}

/// The shape of `/api/prompt_statistics`, for the document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PromptStatisticsDoc {
    prompt_statistics: Vec<PromptStatDoc>,
}

/// Head-to-head win rates and match counts between the models.
#[utoipa::path(get, path = "/api/battle_statistics", tag = "statistics", params(MatrixQuery),
    responses(
        (status = 200, description = "the matrices", body = MatricesDoc),
        (status = 400, description = "too many models without `top`, or a `top` that is not a count", body = ErrorOut),
    ))]
pub async fn battle_statistics(
    State(state): State<AppState>,
    Params(q): Params<MatrixQuery>,
) -> Result<Json<Matrices>, ApiError> {
    let m = state
        .arena
        .battle_statistics(
            &Selection {
                include_identity_leaks: q.include_identity_leaks.unwrap_or(false),
                include_named: q.include_named.unwrap_or(false),
                ..Selection::default()
            },
            q.top,
        )
        .await
        .map_err(|e| state.error(&e))?;
    Ok(Json(m))
}

/// Per prompt of the pool: its battles and each model's win rate, most battles first.
///
/// Users' own prompts (`custom_prompt`, chat messages) are theirs and not shown, unless the
/// server's `publish_custom_prompts` says they are public.
#[utoipa::path(get, path = "/api/prompt_statistics", tag = "statistics",
    responses((status = 200, description = "the figures per prompt", body = PromptStatisticsDoc)))]
pub async fn prompt_statistics(
    State(state): State<AppState>,
) -> Result<Json<PromptStatistics>, ApiError> {
    let pool_only = !state.arena.config().publish_custom_prompts;
    let s = state
        .arena
        .prompt_statistics(pool_only, &crate::engine::Selection::default())
        .await
        .map_err(|e| state.error(&e))?;
    Ok(Json(s))
}
