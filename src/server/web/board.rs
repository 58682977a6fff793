//! What the page reads besides battles: `/api/models` (the pool it may offer),
//! `/api/config` (the server's settings for it) and `/api/leaderboard` (the options of
//! `arena leaderboard`, checked as the CLI checks its flags; the REST `GET /leaderboard`
//! reads its extended queries here too). Uses the engine's boards and the server's errors.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::config::Tier;
use crate::engine::Selection;
use crate::rating::style::Variant;
use crate::rating::{LeaderboardOptions, Method};
use crate::server::AppState;
use crate::server::auth::{Principal, Who};
use crate::server::error::ApiError;
use crate::server::extract::Params;
use crate::server::rest::ErrorOut;

/// A model the page may offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageModelOut {
    pub name: String,
    /// `high` or `low`, as the tier rules place it now.
    pub tier: String,
}

/// `GET /api/models`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageModelsOut {
    /// The chat models in rotation (none when the server does not show its pool).
    pub models: Vec<PageModelOut>,
    /// Whether the pool's models may be called by name (chat and side-by-side views).
    pub chat: bool,
}

/// `GET /api/config`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageConfigOut {
    /// `en` or `zh-CN`.
    pub language: String,
    /// `open` (no key needed) or `key` (a key is needed, and was given).
    pub auth: String,
    pub version: String,
    /// The most images one message carries.
    pub max_images: usize,
    /// The largest image, in bytes decoded.
    pub max_attachment_bytes: u64,
    /// The longest message, in bytes.
    pub max_prompt_bytes: u64,
}

/// The query of `GET /api/leaderboard`: the options of `arena leaderboard`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// `bt` (default), `elo` or `glicko2`.
    pub method: Option<String>,
    /// Bootstrap rounds of bt (100 by default; 0: sandwich intervals only).
    pub bootstrap: Option<usize>,
    /// Seed of the bootstrap of bt (0 by default).
    pub seed: Option<u64>,
    /// Coverage of the intervals (0.95 by default).
    pub ci: Option<f64>,
    /// Leave out models with fewer battles.
    pub min_battles: Option<u64>,
    /// Only battles on prompts of this theme.
    pub theme: Option<String>,
    /// `high` or `low`: only battles between models of this tier.
    pub tier: Option<String>,
    /// Only votes at or after this time (a date such as 2026-01-31, or RFC 3339).
    pub since: Option<String>,
    /// Only votes before this time.
    pub until: Option<String>,
    /// Count the votes whose answers named a model.
    pub include_identity_leaks: Option<bool>,
    /// Count the side-by-side votes, cast with the models named.
    pub include_named: Option<bool>,
    /// Style control of bt: `true` (or `arena-rank`, its default) or `fastchat`; `false`
    /// or absent: the plain board.
    pub style_control: Option<String>,
    /// Only votes in every one of these categories, separated by commas
    /// (`coding,language:en`).
    pub category: Option<String>,
    /// No vote in any of these categories, separated by commas.
    pub exclude_category: Option<String>,
}

impl BoardQuery {
    /// Whether the query asks for more than the defaults of `GET /leaderboard`.
    #[must_use]
    pub fn asks_board(&self) -> bool {
        self.style_control.is_some() || self.category.is_some() || self.exclude_category.is_some()
    }
}

/// A comma-separated list of categories, empty items left out.
fn category_list(s: Option<&String>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// The chat models the page may offer, and whether they may be called by name.
#[utoipa::path(get, path = "/api/models", tag = "page", operation_id = "page_models",
    responses((status = 200, description = "the models", body = PageModelsOut)))]
pub async fn models(State(state): State<AppState>) -> Result<Json<PageModelsOut>, ApiError> {
    let arena = &state.arena;
    if !arena.config().expose_pool {
        return Ok(Json(PageModelsOut {
            models: Vec::new(),
            chat: false,
        }));
    }
    let tiers = arena.tiers().await.map_err(|e| state.error(&e))?;
    let models = arena
        .models()
        .models
        .iter()
        .filter(|m| m.weight > 0.0 && !m.is_image())
        .map(|m| PageModelOut {
            name: m.name.clone(),
            tier: tiers
                .get(&m.name)
                .copied()
                .unwrap_or(Tier::Low)
                .as_str()
                .to_owned(),
        })
        .collect();
    Ok(Json(PageModelsOut { models, chat: true }))
}

/// What the page needs to know of the server.
#[utoipa::path(get, path = "/api/config", tag = "page", operation_id = "page_config",
    responses((status = 200, description = "the server's settings for the page", body = PageConfigOut)))]
pub async fn config(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
) -> Json<PageConfigOut> {
    let c = state.arena.config();
    Json(PageConfigOut {
        language: c.language.clone(),
        auth: if who.principal == Principal::Open {
            "open".into()
        } else {
            "key".into()
        },
        version: env!("CARGO_PKG_VERSION").into(),
        max_images: crate::engine::chat::MAX_IMAGES,
        max_attachment_bytes: c.max_attachment_bytes,
        max_prompt_bytes: c.max_prompt_bytes,
    })
}

/// The selection and options of a board query, checked as `arena leaderboard` checks its
/// flags.
pub(crate) fn board_options(
    state: &AppState,
    q: BoardQuery,
) -> Result<(LeaderboardOptions, Selection), ApiError> {
    let method = match q.method.as_deref().map(str::trim) {
        None | Some("bt") => Method::Bt,
        Some("elo") => Method::Elo,
        Some("glicko2") => Method::Glicko2,
        Some(_) => return Err(ApiError::field("method", "expected bt, elo or glicko2")),
    };
    if method != Method::Bt {
        let unused: Vec<&str> = [
            ("bootstrap", q.bootstrap.is_some()),
            ("seed", q.seed.is_some()),
            ("ci", q.ci.is_some() && method == Method::Elo),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect();
        if !unused.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("{} only apply to method bt", unused.join(", ")),
            ));
        }
    }
    let tier = match q.tier.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("high") => Some(Tier::High),
        Some("low") => Some(Tier::Low),
        Some(_) => return Err(ApiError::field("tier", "expected high or low")),
    };
    let time = |name: &str, s: Option<&String>| {
        s.filter(|s| !s.trim().is_empty())
            .map(|s| crate::util::parse_time(name, s.trim()))
            .transpose()
            .map_err(|e| state.error(&e))
    };
    let style = match q.style_control.as_deref().map(str::trim) {
        None | Some("" | "false") => None,
        Some("true" | "arena-rank") => Some(Variant::ArenaRank),
        Some("fastchat") => Some(Variant::FastChat),
        Some(_) => {
            return Err(ApiError::field(
                "style_control",
                "expected true, false, arena-rank or fastchat",
            ));
        }
    };
    if style.is_some() && method != Method::Bt {
        return Err(ApiError::field(
            "style_control",
            "style control is a Bradley-Terry model: use it with method=bt",
        ));
    }
    let selection = Selection {
        since: time("since", q.since.as_ref())?,
        until: time("until", q.until.as_ref())?,
        categories: category_list(q.category.as_ref()),
        exclude_categories: category_list(q.exclude_category.as_ref()),
        theme: q.theme.filter(|t| !t.trim().is_empty()),
        tier,
        include_identity_leaks: q.include_identity_leaks.unwrap_or(false),
        include_named: q.include_named.unwrap_or(false),
    };
    let options = LeaderboardOptions {
        bootstrap: q.bootstrap.unwrap_or(100),
        seed: q.seed.unwrap_or(0),
        ci: q.ci.unwrap_or(0.95),
        min_battles: q.min_battles.unwrap_or(0),
        style,
        ..state
            .arena
            .leaderboard_options(method)
            .map_err(|e| state.error(&e))?
    };
    Ok((options, selection))
}

/// A leaderboard with the options of `arena leaderboard`: the same JSON as `arena
/// leaderboard --format json` with the same options.
#[utoipa::path(get, path = "/api/leaderboard", tag = "page", operation_id = "page_leaderboard", params(BoardQuery),
    responses(
        (status = 200, description = "the leaderboard, as `arena leaderboard --format json`", body = Object),
        (status = 400, description = "an invalid option", body = ErrorOut),
    ))]
pub async fn leaderboard(
    State(state): State<AppState>,
    Params(q): Params<BoardQuery>,
) -> Result<Response, ApiError> {
    let (options, selection) = board_options(&state, q)?;
    let board = state
        .arena
        .leaderboard(&options, &selection)
        .await
        .map_err(|e| state.error(&e))?;
    Ok(Json(&*board).into_response())
}
