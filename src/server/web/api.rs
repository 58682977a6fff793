//! The page's battle API (`/api/battles`: start, turns, resume, vote, list, one): the
//! engine's web battles over HTTP, with the REST API's callers, limits, ownership and error
//! bodies. A battle's turn is answered as server-sent events of both sides at once (see
//! `stream`); a battle that cannot take a request now (not read yet, still answering, voted,
//! failed, expired) is a 409. Uses the engine and the server's auth, errors and messages.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::battle::Winner;
use crate::engine::PromptSource;
use crate::engine::chat::{ChatOptions, WebBattleRequest, WebDetail, WebSummary};
use crate::error::Error;
use crate::server::AppState;
use crate::server::auth::{Named, Refusal, Who};
use crate::server::error::ApiError;
use crate::server::extract::{BattlePath, Body, Params};
use crate::server::i18n::{self, Msg};
use crate::server::rest::{ErrorOut, UserFields};

use super::stream::turn_stream;

/// `anonymous` (blind until the vote) or `named` (side by side, models chosen and shown).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageMode {
    #[default]
    Anonymous,
    Named,
}

/// The body of `POST /api/battles`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageStartBody {
    /// The first message; leave it out with `random`.
    pub prompt: Option<String>,
    /// Draw the first message from the prompt pool (of `theme`, when given).
    #[serde(default)]
    pub random: bool,
    /// The theme of the random prompt.
    pub theme: Option<String>,
    /// Images of the first message, as `data:image/png|jpeg|gif|webp;base64,…` URLs (at
    /// most 4, each within `max_attachment_bytes`).
    #[serde(default)]
    pub images: Vec<String>,
    /// A system message both sides get.
    pub system: Option<String>,
    #[serde(default)]
    pub mode: PageMode,
    /// Named mode: the model of side A.
    pub model_a: Option<String>,
    /// Named mode: the model of side B.
    pub model_b: Option<String>,
    /// The user, `platform:id` (the page sends `web:<random id>`); with a user key, leave
    /// it out.
    pub user_id: Option<String>,
}

/// The body of `POST /api/battles/{battle_id}/turns`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageTurnBody {
    /// The next message, to both sides.
    pub text: String,
    /// Images of the message, as for a new battle.
    #[serde(default)]
    pub images: Vec<String>,
    pub user_id: Option<String>,
}

/// The body of `POST /api/battles/{battle_id}/stream`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageUserBody {
    pub user_id: Option<String>,
}

/// The body of `POST /api/battles/{battle_id}/vote`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageVoteBody {
    /// `model_a`, `model_b`, `tie`, `both_bad` or `skip`.
    pub winner: String,
    pub user_id: Option<String>,
}

/// A model's online Elo rating around a vote.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageRatingChange {
    pub rating_before: Option<f64>,
    pub rating_after: Option<f64>,
}

/// The Elo change of both models.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageEloOut {
    pub model_a: PageRatingChange,
    pub model_b: PageRatingChange,
}

/// What a vote reveals.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageVoteOut {
    pub battle_id: String,
    /// `model_a`, `model_b`, `tie`, `both_bad` or `skip`.
    pub winner: String,
    pub model_a: String,
    pub model_b: String,
    /// Online Elo before and after (unchanged for a vote left out of the ratings).
    pub elo: PageEloOut,
    /// Why the vote is kept but left out of the ratings (`named`, `identity_leak`); absent
    /// when it counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
}

/// One battle of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageSummaryOut {
    pub battle_id: String,
    pub prompt: String,
    /// `pending_generation`, `pending_vote`, `completed` or `failed`.
    pub status: String,
    /// `anonymous` or `named`.
    pub mode: String,
    /// How many user messages it has.
    pub turns: i64,
    pub created_at: String,
    /// After the vote, or in named mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_b: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
}

/// `GET /api/battles`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBattlesOut {
    pub battles: Vec<PageSummaryOut>,
}

/// One user message and both answers, as far as they are kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageTurnOut {
    pub prompt: String,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
}

/// `GET /api/battles/{battle_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageBattleOut {
    pub battle_id: String,
    pub prompt_theme: String,
    pub status: String,
    pub mode: String,
    pub turns: Vec<PageTurnOut>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_b: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
}

/// The query of the caller's battles.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The user, `platform:id`; with a user key, leave it out.
    pub user_id: Option<String>,
    /// How many, newest first (1 to 100; 20 by default).
    pub limit: Option<u32>,
}

/// The query of one battle.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// The user, `platform:id`; with a user key, leave it out.
    pub user_id: Option<String>,
}

/// The user a request of `who` acts for, from the `user_id` it names.
fn caller_of(who: &Who, user_id: Option<&String>) -> Result<crate::server::Caller, ApiError> {
    let named = UserFields::of(None, user_id).user()?;
    who.caller(named, Named::Rest).map_err(Refusal::rest)
}

/// The user a battle of `who` is kept under.
fn battle_user(who: &Who, user_id: Option<&String>) -> Result<String, ApiError> {
    who.battle_user(caller_of(who, user_id)?)
        .map_err(Refusal::rest)
}

fn parse_id(text: &str, state: &AppState) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            i18n::text(state.lang, Msg::BattleNotFound),
        )
    })
}

/// An engine error as this API answers it: a battle that cannot take the request now is a
/// conflict (409); a failed battle is said without its side.
pub(super) fn web_error(state: &AppState, e: &Error, voting: bool) -> ApiError {
    let t = |m| i18n::text(state.lang, m).to_owned();
    let conflict = |m: String| ApiError::new(StatusCode::CONFLICT, m);
    match e {
        Error::AlreadyVoted(_) => conflict(t(Msg::AlreadyVoted)),
        Error::Expired(_) => conflict(t(Msg::Expired)),
        Error::StillGenerating(_) if voting => conflict(t(Msg::StillGenerating)),
        Error::StillGenerating(_) => conflict(t(Msg::StillAnswering)),
        Error::BattleFailed { .. } => conflict(t(Msg::BattleFailed)),
        Error::BattleState(_) if voting => conflict(t(Msg::NotShown)),
        Error::BattleState(m) => conflict(m.clone()),
        other => state.error(other),
    }
}

/// Starts a battle and streams its first turn: both answers at once as server-sent events
/// (`battle`, `delta` per side, `side_end`, `error`, `done`, `: keep-alive` comments). No
/// model is named before the vote, except in named mode, whose two models are chosen.
#[utoipa::path(post, path = "/api/battles", tag = "page", operation_id = "page_start_battle", request_body = PageStartBody,
    responses(
        (status = 200, description = "the events of the first turn", content_type = "text/event-stream", body = String),
        (status = 400, description = "invalid parameters (an empty prompt, an unknown model, a bad image, an empty prompt pool)", body = ErrorOut),
        (status = 403, description = "a user key naming another user", body = ErrorOut),
        (status = 413, description = "a body too large", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
        (status = 429, description = "a per-user limit on new battles (Retry-After)", body = ErrorOut),
    ))]
pub async fn start_battle(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    Body(body): Body<PageStartBody>,
) -> Result<Response, ApiError> {
    let user = battle_user(&who, body.user_id.as_ref())?;
    let prompt = match (body.prompt, body.random) {
        (Some(_), true) => {
            return Err(ApiError::field(
                "prompt",
                "give a prompt or ask for a random one (\"random\": true), not both",
            ));
        }
        (Some(text), false) => PromptSource::Text(text),
        (None, true) => PromptSource::Random {
            theme: body.theme.filter(|t| !t.trim().is_empty()),
        },
        (None, false) => {
            return Err(ApiError::field(
                "prompt",
                "required (or \"random\": true for a prompt of the pool)",
            ));
        }
    };
    let named = match (body.mode, body.model_a, body.model_b) {
        (PageMode::Named, Some(a), Some(b)) => Some((a, b)),
        (PageMode::Named, _, _) => {
            return Err(ApiError::field(
                "model_a",
                "named mode needs both model_a and model_b (see GET /api/models)",
            ));
        }
        (PageMode::Anonymous, None, None) => None,
        (PageMode::Anonymous, _, _) => {
            return Err(ApiError::field(
                "mode",
                "model_a and model_b are for \"mode\": \"named\"; an anonymous battle draws \
                 its models",
            ));
        }
    };
    let turn = state
        .arena
        .web_battle_start(
            &user,
            WebBattleRequest {
                prompt,
                images: body.images,
                system: body.system,
                named,
                options: ChatOptions::default(),
            },
        )
        .await
        .map_err(|e| web_error(&state, &e, false))?;
    Ok(turn_stream(&state, turn))
}

/// The next message of a battle, to both sides (each with its own conversation); streams
/// both answers as `POST /api/battles` does.
#[utoipa::path(post, path = "/api/battles/{battle_id}/turns", tag = "page", operation_id = "page_next_turn", request_body = PageTurnBody,
    params(("battle_id" = String, Path, description = "the battle's id")),
    responses(
        (status = 200, description = "the events of the turn", content_type = "text/event-stream", body = String),
        (status = 400, description = "an empty message, a bad image", body = ErrorOut),
        (status = 403, description = "the battle belongs to another user", body = ErrorOut),
        (status = 404, description = "no such battle", body = ErrorOut),
        (status = 409, description = "the battle still answers, was voted, failed or expired, or has had its most messages", body = ErrorOut),
        (status = 413, description = "a body too large", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
    ))]
pub async fn next_turn(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    BattlePath(id): BattlePath,
    Body(body): Body<PageTurnBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, &state)?;
    let user = battle_user(&who, body.user_id.as_ref())?;
    let turn = state
        .arena
        .web_turn(&user, id, body.text, &body.images, &ChatOptions::default())
        .await
        .map_err(|e| web_error(&state, &e, false))?;
    Ok(turn_stream(&state, turn))
}

/// The latest turn of a battle again: the text so far, then the rest as it comes.
#[utoipa::path(post, path = "/api/battles/{battle_id}/stream", tag = "page", operation_id = "page_resume", request_body = PageUserBody,
    params(("battle_id" = String, Path, description = "the battle's id")),
    responses(
        (status = 200, description = "the events of the latest turn", content_type = "text/event-stream", body = String),
        (status = 403, description = "the battle belongs to another user", body = ErrorOut),
        (status = 404, description = "no such battle", body = ErrorOut),
        (status = 409, description = "the battle failed or expired", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
    ))]
pub async fn resume(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    BattlePath(id): BattlePath,
    Body(body): Body<PageUserBody>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, &state)?;
    let user = battle_user(&who, body.user_id.as_ref())?;
    let turn = state
        .arena
        .web_stream(&user, id)
        .await
        .map_err(|e| web_error(&state, &e, false))?;
    Ok(turn_stream(&state, turn))
}

/// Votes, once both answers to the latest message were streamed to their end (a skip needs
/// none), and reveals the models. The same vote again gets the same answer.
#[utoipa::path(post, path = "/api/battles/{battle_id}/vote", tag = "page", operation_id = "page_vote", request_body = PageVoteBody,
    params(("battle_id" = String, Path, description = "the battle's id")),
    responses(
        (status = 200, description = "the models revealed, with their Elo change", body = PageVoteOut),
        (status = 400, description = "an unknown choice", body = ErrorOut),
        (status = 403, description = "the battle belongs to another user", body = ErrorOut),
        (status = 404, description = "no such battle", body = ErrorOut),
        (status = 409, description = "the answers were not both read to their end, or the battle was voted otherwise, failed or expired", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
    ))]
pub async fn vote(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    BattlePath(id): BattlePath,
    Body(body): Body<PageVoteBody>,
) -> Result<Json<PageVoteOut>, ApiError> {
    let id = parse_id(&id, &state)?;
    let winner: Winner = match body.winner.trim() {
        w @ ("model_a" | "model_b" | "tie" | "both_bad" | "skip") => w.parse().map_err(|_| {
            ApiError::field("winner", "expected model_a, model_b, tie, both_bad or skip")
        })?,
        _ => {
            return Err(ApiError::field(
                "winner",
                "expected model_a, model_b, tie, both_bad or skip",
            ));
        }
    };
    let user = battle_user(&who, body.user_id.as_ref())?;
    let reveal = state
        .arena
        .web_vote(&user, id, winner)
        .await
        .map_err(|e| web_error(&state, &e, true))?;
    let finite = |x: f64| x.is_finite().then_some(x);
    let change = |c: crate::battle::RatingChange| PageRatingChange {
        rating_before: finite(c.rating_before),
        rating_after: finite(c.rating_after),
    };
    Ok(Json(PageVoteOut {
        battle_id: reveal.battle_id,
        winner: reveal.winner.as_str().to_owned(),
        model_a: reveal.model_a,
        model_b: reveal.model_b,
        elo: PageEloOut {
            model_a: change(reveal.elo.model_a),
            model_b: change(reveal.elo.model_b),
        },
        left_out: reveal
            .left_out
            .names()
            .into_iter()
            .map(str::to_owned)
            .collect(),
    }))
}

fn summary_out(s: WebSummary) -> PageSummaryOut {
    PageSummaryOut {
        battle_id: s.battle_id,
        prompt: s.prompt,
        status: s.status.as_str().to_owned(),
        mode: mode_name(s.mode),
        turns: s.turns,
        created_at: s.created_at,
        model_a: s.model_a,
        model_b: s.model_b,
        winner: s.winner.map(|w| w.as_str().to_owned()),
    }
}

fn mode_name(mode: crate::engine::chat::WebMode) -> String {
    match mode {
        crate::engine::chat::WebMode::Anonymous => "anonymous".into(),
        crate::engine::chat::WebMode::Named => "named".into(),
    }
}

/// The caller's battles, newest first; a battle still open can be resumed.
#[utoipa::path(get, path = "/api/battles", tag = "page", operation_id = "page_battles", params(ListQuery),
    responses(
        (status = 200, description = "the caller's battles", body = PageBattlesOut),
        (status = 400, description = "an invalid user id, or no user on a shared server", body = ErrorOut),
        (status = 403, description = "a user key naming another user", body = ErrorOut),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    Params(q): Params<ListQuery>,
) -> Result<Json<PageBattlesOut>, ApiError> {
    // Callers that name no user share one bucket: on a shared server, a list would hand
    // each of them the others' battle ids.
    let user = who
        .chat_user(caller_of(&who, q.user_id.as_ref())?)
        .map_err(Refusal::rest)?;
    let battles = state
        .arena
        .web_battles(&user, q.limit.unwrap_or(20))
        .await
        .map_err(|e| web_error(&state, &e, false))?;
    Ok(Json(PageBattlesOut {
        battles: battles.into_iter().map(summary_out).collect(),
    }))
}

fn detail_out(d: WebDetail) -> PageBattleOut {
    PageBattleOut {
        battle_id: d.battle_id,
        prompt_theme: d.prompt_theme,
        status: d.status.as_str().to_owned(),
        mode: mode_name(d.mode),
        turns: d
            .turns
            .into_iter()
            .map(|t| PageTurnOut {
                prompt: t.prompt,
                response_a: t.response_a,
                response_b: t.response_b,
            })
            .collect(),
        created_at: d.created_at,
        model_a: d.model_a,
        model_b: d.model_b,
        winner: d.winner.map(|w| w.as_str().to_owned()),
    }
}

/// One battle of the caller with every message and the answers kept so far; the models
/// only after the vote, or in named mode.
#[utoipa::path(get, path = "/api/battles/{battle_id}", tag = "page", operation_id = "page_battle", params(
        ("battle_id" = String, Path, description = "the battle's id"), UserQuery),
    responses(
        (status = 200, description = "the battle", body = PageBattleOut),
        (status = 403, description = "the battle belongs to another user", body = ErrorOut),
        (status = 404, description = "no such battle", body = ErrorOut),
    ))]
pub async fn detail(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    BattlePath(id): BattlePath,
    Params(q): Params<UserQuery>,
) -> Result<Json<PageBattleOut>, ApiError> {
    let id = parse_id(&id, &state)?;
    let user = battle_user(&who, q.user_id.as_ref())?;
    let d = state
        .arena
        .web_battle(&user, id)
        .await
        .map_err(|e| web_error(&state, &e, false))?;
    Ok(Json(detail_out(d)))
}
