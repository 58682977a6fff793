//! `GET /leaderboard` of the REST API: the writing arena's ranking (Glicko-2, periodic and
//! realtime, with the Bradley-Terry rating beside), or with style control or a category the
//! board of those options as `arena leaderboard --format json` writes it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ApiError;
use super::extract::Params;
use super::rest::ErrorOut;
use crate::config::Tier;
use crate::engine::Selection;
use crate::error::Error;
use crate::rating::Method;
use crate::server::web::board::BoardQuery;

/// One model of `GET /leaderboard`: Glicko-2 (periodic and realtime) as the writing arena
/// ranked them, with the Bradley-Terry rating and its interval beside.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardRow {
    pub rank: usize,
    pub model_name: String,
    /// `high` or `low`, as the tier rules place the model now.
    pub tier: String,
    pub rating: f64,
    pub rating_deviation: f64,
    pub volatility: f64,
    pub battles: u64,
    pub wins: u64,
    pub ties: u64,
    pub both_bad: u64,
    pub skips: u64,
    pub win_rate_percentage: Option<f64>,
    pub rating_realtime: f64,
    pub rating_deviation_realtime: f64,
    pub volatility_realtime: f64,
    pub bt_rating: Option<f64>,
    /// `null` where the votes put no bound.
    pub bt_rating_lower: Option<f64>,
    pub bt_rating_upper: Option<f64>,
}

/// `GET /leaderboard`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardOut {
    pub leaderboard: Vec<LeaderboardRow>,
    /// When the running rating period ends and the periodic ratings next change.
    pub next_update_time: Option<String>,
    /// Votes kept but left out of these ratings, by reason.
    pub left_out: LeftOutOut,
}

/// Votes kept but left out of the ratings, by reason (a vote with two reasons counts under
/// both).
#[derive(Debug, Serialize, ToSchema)]
pub struct LeftOutOut {
    /// Answers named a model; `include_identity_leaks=true` counts them.
    pub identity_leak: u64,
    /// Chat battles from before both sides saw the same conversation.
    pub unequal_chat: u64,
    /// Cast with the models named.
    pub named: u64,
}

/// The ranking of every model with votes. With `style_control`, `category` or
/// `exclude_category` (and then the other options of `/api/leaderboard`), the answer is the
/// leaderboard of those options, as `arena leaderboard --format json` writes it: the style
/// coefficients and each model's rank change against the plain board with style control.
#[utoipa::path(get, path = "/leaderboard", tag = "ratings", params(BoardQuery),
    responses(
        (status = 200, description = "the ranking; with style_control or a category, as `arena leaderboard --format json`", body = LeaderboardOut),
        (status = 400, description = "a query parameter that does not fit, or an unknown category", body = ErrorOut),
    ))]
pub async fn leaderboard(
    State(state): State<AppState>,
    Params(q): Params<BoardQuery>,
) -> Result<Response, ApiError> {
    if q.asks_board() {
        let (options, selection) = crate::server::web::board::board_options(&state, q)?;
        let board = state
            .arena
            .leaderboard(&options, &selection)
            .await
            .map_err(|e| state.error(&e))?;
        return Ok(Json(&*board).into_response());
    }
    let include = q.include_identity_leaks.unwrap_or(false);
    let version = state
        .arena
        .board_version()
        .await
        .map_err(|e| state.error(&e))?;
    let lock = || {
        state
            .leaderboard_body
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let slot = usize::from(include);
    let cached = lock()[slot]
        .as_ref()
        .filter(|(v, _)| *v == version)
        .map(|(_, body)| body.clone());
    let body = match cached {
        Some(body) => body,
        None => {
            let out = leaderboard_out(&state, include).await?;
            let body = axum::body::Bytes::from(
                serde_json::to_vec(&out)
                    .map_err(|e| state.error(&Error::Internal(e.to_string())))?,
            );
            lock()[slot] = Some((version, body.clone()));
            body
        }
    };
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// The `/leaderboard` of now: periodic and realtime Glicko-2 with tiers, Bradley-Terry beside.
async fn leaderboard_out(state: &AppState, include: bool) -> Result<LeaderboardOut, ApiError> {
    let arena = &state.arena;
    let e = |e: Error| state.error(&e);
    let selection = Selection {
        include_identity_leaks: include,
        ..Selection::default()
    };
    let glicko = arena
        .leaderboard(
            &arena.leaderboard_options(Method::Glicko2).map_err(e)?,
            &selection,
        )
        .await
        .map_err(e)?;
    let bt = arena
        .leaderboard(
            &arena.leaderboard_options(Method::Bt).map_err(e)?,
            &selection,
        )
        .await
        .map_err(e)?;
    let tiers = arena.tiers().await.map_err(e)?;
    let bt: BTreeMap<&str, &crate::rating::Row> = bt
        .leaderboard
        .iter()
        .map(|r| (r.model_name.as_str(), r))
        .collect();
    let finite = |x: Option<f64>| x.filter(|v| v.is_finite());
    let rows = glicko
        .leaderboard
        .iter()
        .map(|r| {
            let b = bt.get(r.model_name.as_str());
            LeaderboardRow {
                rank: r.rank,
                model_name: r.model_name.clone(),
                tier: tiers
                    .get(&r.model_name)
                    .copied()
                    .unwrap_or(Tier::Low)
                    .as_str()
                    .to_owned(),
                rating: r.rating,
                rating_deviation: r.rating_deviation.unwrap_or_default(),
                volatility: r.volatility.unwrap_or_default(),
                battles: r.battles,
                wins: r.wins,
                ties: r.ties,
                both_bad: r.both_bad,
                skips: r.skips,
                win_rate_percentage: r.win_rate_percentage,
                rating_realtime: r.rating_realtime.unwrap_or_default(),
                rating_deviation_realtime: r.rating_deviation_realtime.unwrap_or_default(),
                volatility_realtime: r.volatility_realtime.unwrap_or_default(),
                bt_rating: b.map(|b| b.rating),
                bt_rating_lower: b.and_then(|b| finite(b.rating_lower)),
                bt_rating_upper: b.and_then(|b| finite(b.rating_upper)),
            }
        })
        .collect();
    let l = glicko.left_out;
    Ok(LeaderboardOut {
        leaderboard: rows,
        next_update_time: glicko.next_update_time.clone(),
        left_out: LeftOutOut {
            identity_leak: l.identity_leak,
            unequal_chat: l.unequal_chat,
            named: l.named,
        },
    })
}
