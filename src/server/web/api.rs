//! The page's streaming battle API (`/api/battles`, `/api/models`, `/api/config`,
//! `/api/leaderboard`): the engine's web battles over HTTP, with the REST API's callers,
//! limits, ownership and error bodies. A battle's turn is answered as server-sent events of
//! both sides at once (see [`turn_stream`]); a battle that cannot take a request now (not read
//! yet, still answering, voted, failed, expired) is a 409.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::battle::{Side, Winner};
use crate::config::Tier;
use crate::engine::chat::{ChatOptions, Piece, WebBattleRequest, WebDetail, WebSummary, WebTurn};
use crate::engine::{PromptSource, Selection};
use crate::error::Error;
use crate::rating::style::Variant;
use crate::rating::{LeaderboardOptions, Method};
use crate::server::AppState;
use crate::server::auth::{Named, Principal, Refusal, Who};
use crate::server::error::ApiError;
use crate::server::extract::{BattlePath, Body, Params};
use crate::server::i18n::{self, Msg};
use crate::server::rest::{ErrorOut, UserFields};

/// The keep-alive comment of the streams.
const KEEP_ALIVE: &str = "keep-alive";

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
fn web_error(state: &AppState, e: &Error, voting: bool) -> ApiError {
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

fn side_name(side: Side) -> &'static str {
    match side {
        Side::A => "a",
        Side::B => "b",
    }
}

fn event(name: &str, data: &Value) -> Result<Event, std::convert::Infallible> {
    Ok(Event::default().event(name).data(data.to_string()))
}

/// Where the merged stream of a turn is.
struct Merge<S> {
    pieces: S,
    ended: [bool; 2],
    over: bool,
    voted: bool,
    state: AppState,
}

/// The events of one turn: `battle`, then both sides' `delta`s as they come (a fair merge of
/// the two piece streams), each side's `side_end`, and `done` once both ended; or `error`
/// (which names no side) and the end.
fn turn_events(
    state: &AppState,
    turn: WebTurn,
) -> impl Stream<Item = Result<Event, std::convert::Infallible>> + Send + 'static {
    let mut head = json!({
        "battle_id": turn.battle_id.to_string(),
        "turn": turn.turn,
        "prompt": turn.prompt,
        "prompt_theme": turn.theme,
        "mode": turn.mode,
    });
    if let Some((a, b)) = &turn.models {
        head["model_a"] = json!(a);
        head["model_b"] = json!(b);
    }
    let [a, b] = turn.answers;
    let pieces = futures_util::stream::select(
        a.pieces.map(|p| (Side::A, p)),
        b.pieces.map(|p| (Side::B, p)),
    );
    let merge = Merge {
        pieces,
        ended: [false; 2],
        over: false,
        voted: turn.voted,
        state: state.clone(),
    };
    let body = futures_util::stream::unfold(merge, |mut m| async move {
        if m.over {
            return None;
        }
        let mut out = Vec::with_capacity(2);
        match m.pieces.next().await {
            // Both streams ended without both ends: nothing to vote on.
            None => {
                m.over = true;
                out.push(event("done", &json!({"votable": false})));
            }
            Some((side, Ok(Piece::Text(text)))) => {
                out.push(event(
                    "delta",
                    &json!({"side": side_name(side), "text": text}),
                ));
            }
            Some((side, Ok(Piece::End(end)))) => {
                m.ended[usize::from(side == Side::B)] = true;
                out.push(event(
                    "side_end",
                    &json!({"side": side_name(side), "finish_reason": end.finish_reason}),
                ));
                if m.ended == [true, true] {
                    m.over = true;
                    out.push(event("done", &json!({"votable": !m.voted})));
                }
            }
            Some((_, Err(e))) => {
                m.over = true;
                out.push(event(
                    "error",
                    &json!({"message": failure_text(&m.state, &e)}),
                ));
            }
        }
        Some((futures_util::stream::iter(out), m))
    });
    let head = futures_util::stream::once(std::future::ready(event("battle", &head)));
    head.chain(body.flatten())
}

/// What an `error` event says: a failed battle without its side, else the API's message.
fn failure_text(state: &AppState, e: &Error) -> String {
    if matches!(e, Error::Upstream { .. } | Error::BattleFailed { .. }) {
        return i18n::text(state.lang, Msg::BattleFailed).to_owned();
    }
    match web_error(state, e, false).detail {
        crate::server::Detail::Text(t) => t,
        crate::server::Detail::Limit { message, .. } => message,
    }
}

/// The SSE response of a turn, with a `: keep-alive` comment whenever it has been quiet for
/// `sse_keepalive_seconds`, and the headers that keep proxies from buffering it.
fn turn_stream(state: &AppState, turn: WebTurn) -> Response {
    use axum::http::{HeaderValue, header};
    use axum::response::sse::{KeepAlive, Sse};
    let events = turn_events(state, turn);
    let every = state.arena.config().sse_keepalive_seconds;
    let mut response = if every > 0 {
        Sse::new(events)
            .keep_alive(
                KeepAlive::new()
                    .interval(std::time::Duration::from_secs(every))
                    .text(KEEP_ALIVE),
            )
            .into_response()
    } else {
        Sse::new(events).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
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
