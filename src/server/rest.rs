//! The writing arena's REST API, wire-compatible: its paths, fields and status codes (see
//! `openapi.rs` for the document). Each handler parses, calls the engine and shapes the
//! answer; the engine does the rest.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::{Named, Refusal, Who};
use super::error::ApiError;
use super::extract::{BattlePath, Body};
use super::i18n::{self, Msg};
use crate::battle::{BattleView, Origin, Status, Winner};
use crate::config::Tier;
use crate::engine::sampler::Pairing;
use crate::engine::{BattleRequest, PromptSource};
use crate::error::Error;

/// A user id as clients send it: a string, or a number (Discord ids often are).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum IdValue {
    Text(String),
    Number(u64),
}

impl IdValue {
    fn text(&self) -> String {
        match self {
            IdValue::Text(s) => s.trim().to_owned(),
            IdValue::Number(n) => n.to_string(),
        }
    }
}

/// Who is asking: `discord_id`, or a generic `user_id` as `platform:id`. (Written out in
/// each body rather than flattened, so that a field of the wrong type is told apart from
/// broken JSON.)
#[derive(Debug, Clone, Default)]
pub struct UserFields {
    pub discord_id: Option<IdValue>,
    pub user_id: Option<String>,
}

impl UserFields {
    pub(super) fn of(discord_id: Option<&IdValue>, user_id: Option<&String>) -> Self {
        UserFields {
            discord_id: discord_id.cloned(),
            user_id: user_id.cloned(),
        }
    }

    /// The user id to hash, checked: `None` when the request names none.
    pub(super) fn user(&self) -> Result<Option<String>, ApiError> {
        let bad = |s: &str| s.is_empty() || s.len() > 128 || s.chars().any(char::is_control);
        if let Some(id) = &self.user_id {
            let id = id.trim();
            let ok = id.split_once(':').is_some_and(|(platform, rest)| {
                !platform.is_empty()
                    && platform
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && !bad(rest)
            });
            if !ok {
                return Err(ApiError::field(
                    "user_id",
                    "expected platform:id, such as web:42 (up to 128 characters)",
                ));
            }
            return Ok(Some(id.to_owned()));
        }
        match &self.discord_id {
            None => Ok(None),
            Some(v) => {
                let id = v.text();
                if bad(&id) {
                    return Err(ApiError::field(
                        "discord_id",
                        "expected a Discord user id (up to 128 characters)",
                    ));
                }
                Ok(Some(format!("discord:{id}")))
            }
        }
    }
}

/// `battle_type` of `POST /battle`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BattleType {
    HighTier,
    LowTier,
}

/// The body of `POST /battle`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewBattleBody {
    pub battle_type: BattleType,
    /// A Discord user id; stored only as a salted hash, as `discord:ID`.
    pub discord_id: Option<IdValue>,
    /// A user id of any platform, `platform:id` (e.g. `web:42`); stored only as a salted hash.
    pub user_id: Option<String>,
    /// A prompt of the caller's instead of one drawn from the pool.
    pub custom_prompt: Option<String>,
}

/// A battle: model names only once it has a vote.
#[derive(Debug, Serialize, ToSchema)]
pub struct BattleOut {
    pub battle_id: String,
    pub prompt: String,
    pub prompt_theme: String,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
    /// `pending_generation`, `pending_vote`, `completed` or `failed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_b: Option<String>,
    /// `model_a`, `model_b`, `tie`, `both_bad` or `skip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// Why a failed battle failed, without the models until a vote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: String,
    /// After the vote: why it is kept but left out of the ratings (`identity_leak`,
    /// `unequal_chat`, `named`); absent when it counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// After the vote: the words of the answers that named a model, per side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_leak: Option<IdentityLeakOut>,
}

/// The words of a battle's answers that named a model, per side.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityLeakOut {
    pub a: Vec<String>,
    pub b: Vec<String>,
}

impl IdentityLeakOut {
    fn of(leak: Option<&crate::battle::identity::IdentityLeak>) -> Option<Self> {
        leak.map(|l| IdentityLeakOut {
            a: l.a.clone(),
            b: l.b.clone(),
        })
    }
}

fn names(flags: crate::battle::VoteFlags) -> Vec<String> {
    flags.names().into_iter().map(str::to_owned).collect()
}

impl From<&BattleView> for BattleOut {
    fn from(v: &BattleView) -> Self {
        BattleOut {
            battle_id: v.battle_id.clone(),
            prompt: v.prompt.clone(),
            prompt_theme: v.prompt_theme.clone(),
            response_a: v.response_a.clone(),
            response_b: v.response_b.clone(),
            status: v.status.as_str().to_owned(),
            model_a: v.model_a.clone(),
            model_b: v.model_b.clone(),
            winner: v.winner.map(|w| w.as_str().to_owned()),
            error: v.error.clone(),
            created_at: v.created_at.clone(),
            left_out: names(v.left_out),
            identity_leak: IdentityLeakOut::of(v.identity_leak.as_ref()),
        }
    }
}

/// A message alone.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub message: String,
}

/// An error body: `{"detail": "..."}`, or for a 429 `{"detail": {"message", "available_at"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorOut {
    #[schema(schema_with = detail_schema)]
    pub detail: serde_json::Value,
}

/// `detail`: the message, or for a limit `{message, available_at}` (null `available_at`
/// where a vote, not a clock, frees a place).
fn detail_schema() -> impl Into<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("message", ObjectBuilder::new().schema_type(Type::String))
                .property(
                    "available_at",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::from_iter([Type::Number, Type::Null])),
                )
                .required("message")
                .required("available_at"),
        )
}

fn battle_id(text: &str, state: &AppState) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text.trim()).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            i18n::text(state.lang, Msg::BattleNotFound),
        )
    })
}

/// Starts a battle of a tier: two models by the tier rules, sides at random, a prompt from
/// the pool (or `custom_prompt`); answers once both models have answered.
#[utoipa::path(post, path = "/battle", tag = "battles", request_body = NewBattleBody,
    responses(
        (status = 201, description = "the battle, waiting for its vote", body = BattleOut),
        (status = 400, description = "invalid parameters", body = ErrorOut),
        (status = 413, description = "a body too large", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 403, description = "a user key naming another user", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
        (status = 429, description = "a per-user limit", body = ErrorOut),
        (status = 502, description = "a model failed to answer", body = ErrorOut),
        (status = 504, description = "a model took too long", body = ErrorOut),
    ))]
pub async fn create_battle(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    Body(body): Body<NewBattleBody>,
) -> Result<Response, ApiError> {
    let named = UserFields::of(body.discord_id.as_ref(), body.user_id.as_ref()).user()?;
    let caller = who.caller(named, Named::Rest).map_err(Refusal::rest)?;
    let user = Some(who.battle_user(caller).map_err(Refusal::rest)?);
    let prompt = match body.custom_prompt {
        Some(text) if text.trim().is_empty() => {
            return Err(ApiError::field("custom_prompt", "must not be empty"));
        }
        Some(text) => PromptSource::Text(text),
        None => PromptSource::Random { theme: None },
    };
    let tier = match body.battle_type {
        BattleType::HighTier => Tier::High,
        BattleType::LowTier => Tier::Low,
    };
    let run = state
        .arena
        .start_battle(BattleRequest {
            prompt,
            system: None,
            temperature: None,
            max_tokens: None,
            pairing: Pairing {
                tier_battle: Some(tier),
                ..Pairing::default()
            },
            user,
            origin: Origin::Api,
            limited: true,
            rpid: None,
        })
        .await
        .map_err(|e| state.error(&e))?;
    let id = run.battle_id;
    let view = run.finish().await.map_err(|e| state.error(&e))?;
    if view.status == Status::Failed {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "battle {id} failed: {}",
                view.error.as_deref().unwrap_or("a model did not answer")
            ),
        ));
    }
    Ok((StatusCode::CREATED, Json(BattleOut::from(&view))).into_response())
}

/// The body of `POST /vote/{battle_id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VoteBody {
    /// `model_a`, `model_b`, `tie`, `both_bad` or `skip`.
    pub vote_choice: String,
    /// A Discord user id; stored only as a salted hash, as `discord:ID`.
    pub discord_id: Option<IdValue>,
    /// A user id of any platform, `platform:id` (e.g. `web:42`); stored only as a salted hash.
    pub user_id: Option<String>,
}

/// What a vote reveals.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoteOut {
    /// `success`.
    pub status: String,
    pub message: String,
    /// The winning model's name, `Tie`, `Both bad` or `Skipped`.
    pub winner: String,
    pub model_a_name: String,
    pub model_b_name: String,
    pub battle_id: String,
    pub vote_choice: String,
    /// Why the vote is kept but left out of the ratings; absent when it counts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<String>,
    /// The words of the answers that named a model, per side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_leak: Option<IdentityLeakOut>,
}

fn winner_text(winner: Winner, a: &str, b: &str) -> String {
    match winner {
        Winner::ModelA => a.to_owned(),
        Winner::ModelB => b.to_owned(),
        Winner::Tie => "Tie".into(),
        Winner::BothBad => "Both bad".into(),
        Winner::Skip => "Skipped".into(),
    }
}

/// Records the vote of the battle's creator and reveals the models. The same vote again
/// (a retry whose answer was lost) gets the same answer and changes nothing.
#[utoipa::path(post, path = "/vote/{battle_id}", tag = "battles", request_body = VoteBody,
    params(("battle_id" = String, Path, description = "the battle's id")),
    responses(
        (status = 200, description = "the vote, and the models revealed", body = VoteOut),
        (status = 400, description = "already voted, or not waiting for a vote", body = ErrorOut),
        (status = 403, description = "the battle belongs to another user, or a user key \
            names another user", body = ErrorOut),
        (status = 404, description = "no such battle", body = ErrorOut),
        (status = 413, description = "a body too large", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
    ))]
pub async fn vote(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    BattlePath(id): BattlePath,
    Body(body): Body<VoteBody>,
) -> Result<Json<VoteOut>, ApiError> {
    let id = battle_id(&id, &state)?;
    let winner: Winner = body.vote_choice.parse().map_err(|_| {
        ApiError::field(
            "vote_choice",
            "expected model_a, model_b, tie, both_bad or skip",
        )
    })?;
    let named = UserFields::of(body.discord_id.as_ref(), body.user_id.as_ref()).user()?;
    let caller = who.caller(named, Named::Rest).map_err(Refusal::rest)?;
    let user = Some(who.battle_user(caller).map_err(Refusal::rest)?);
    let out = |a: &str,
               b: &str,
               left_out: crate::battle::VoteFlags,
               leak: Option<&crate::battle::identity::IdentityLeak>| VoteOut {
        status: "success".into(),
        message: i18n::text(state.lang, Msg::VoteSubmitted).into(),
        winner: winner_text(winner, a, b),
        model_a_name: a.to_owned(),
        model_b_name: b.to_owned(),
        battle_id: id.to_string(),
        vote_choice: winner.as_str().to_owned(),
        left_out: names(left_out),
        identity_leak: IdentityLeakOut::of(leak),
    };
    match state.arena.vote(id, winner, user.as_deref()).await {
        Ok(reveal) => Ok(Json(out(
            &reveal.model_a,
            &reveal.model_b,
            reveal.left_out,
            reveal.identity_leak.as_ref(),
        ))),
        Err(Error::AlreadyVoted(_)) => {
            // A retry of the same vote by the same user is answered as the first was.
            state
                .arena
                .check_owner(id, user.as_deref())
                .await
                .map_err(|e| state.error(&e))?;
            let view = state.arena.battle(id).await.map_err(|e| state.error(&e))?;
            match (&view.model_a, &view.model_b, view.winner) {
                (Some(a), Some(b), Some(w)) if w == winner => {
                    Ok(Json(out(a, b, view.left_out, view.identity_leak.as_ref())))
                }
                _ => Err(state.error(&Error::AlreadyVoted(id))),
            }
        }
        Err(e) => Err(state.error(&e)),
    }
}

/// One battle; the model names only once it has a vote.
#[utoipa::path(get, path = "/battle/{battle_id}", tag = "battles",
    params(("battle_id" = String, Path, description = "the battle's id")),
    responses(
        (status = 200, description = "the battle", body = BattleOut),
        (status = 404, description = "no such battle", body = ErrorOut),
    ))]
pub async fn get_battle(
    State(state): State<AppState>,
    BattlePath(id): BattlePath,
) -> Result<Json<BattleOut>, ApiError> {
    let id = battle_id(&id, &state)?;
    let view = state.arena.battle(id).await.map_err(|e| state.error(&e))?;
    Ok(Json(BattleOut::from(&view)))
}

/// The body of `POST /battleback` and `POST /battleunstuck`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserBody {
    /// A Discord user id; stored only as a salted hash, as `discord:ID`.
    pub discord_id: Option<IdValue>,
    /// A user id of any platform, `platform:id` (e.g. `web:42`); stored only as a salted hash.
    pub user_id: Option<String>,
}

impl UserBody {
    /// The user the request acts for: named in the body, or the user of its key.
    fn required(&self, who: &Who) -> Result<String, ApiError> {
        let named = UserFields::of(self.discord_id.as_ref(), self.user_id.as_ref()).user()?;
        let caller = who.caller(named, Named::Rest).map_err(Refusal::rest)?;
        who.required_user(caller)
            .ok_or_else(|| ApiError::field("discord_id", "required (or user_id as platform:id)"))
    }
}

/// The caller's latest battle: the battle, or a message while it is being generated.
#[utoipa::path(post, path = "/battleback", tag = "battles", request_body = UserBody,
    responses(
        (status = 200, description = "the latest battle, or a message while it is generated",
         body = BattleOut),
        (status = 400, description = "no user, or an invalid one", body = ErrorOut),
        (status = 404, description = "the user has no battle", body = ErrorOut),
        (status = 413, description = "a body too large", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
    ))]
pub async fn battleback(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    Body(body): Body<UserBody>,
) -> Result<Response, ApiError> {
    let user = body.required(&who)?;
    let latest = state
        .arena
        .latest_battle(&user)
        .await
        .map_err(|e| state.error(&e))?;
    match latest {
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            i18n::text(state.lang, Msg::NoBattles),
        )),
        Some(v) if v.status == Status::PendingGeneration => Ok(Json(MessageOut {
            message: i18n::text(state.lang, Msg::Generating).into(),
        })
        .into_response()),
        Some(v) => Ok(Json(BattleOut::from(&v)).into_response()),
    }
}

/// Clears the caller's battles stuck in `pending_generation` (never those waiting for a
/// vote).
#[utoipa::path(post, path = "/battleunstuck", tag = "battles", request_body = UserBody,
    responses(
        (status = 200, description = "how many were cleared", body = MessageOut),
        (status = 400, description = "no user, or an invalid one", body = ErrorOut),
        (status = 413, description = "a body too large", body = ErrorOut),
        (status = 415, description = "a body that is not JSON", body = ErrorOut),
        (status = 422, description = "a body of the wrong shape", body = ErrorOut),
    ))]
pub async fn battleunstuck(
    State(state): State<AppState>,
    Extension(who): Extension<Who>,
    Body(body): Body<UserBody>,
) -> Result<Json<MessageOut>, ApiError> {
    let user = body.required(&who)?;
    let n = state
        .arena
        .unstuck(Some(&user))
        .await
        .map_err(|e| state.error(&e))?;
    Ok(Json(MessageOut {
        message: i18n::unstuck(state.lang, n),
    }))
}

/// `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `ok`.
    pub status: String,
    pub models_count: usize,
    pub fixed_prompts_count: u64,
    pub recorded_users_count: u64,
    pub completed_battles_count: u64,
}

/// Whether the server runs, with a few counts. Needs no API key.
#[utoipa::path(get, path = "/health", tag = "server",
    responses((status = 200, description = "the server runs", body = HealthOut)))]
pub async fn health(State(state): State<AppState>) -> Result<Json<HealthOut>, ApiError> {
    let h = state.arena.health().await.map_err(|e| state.error(&e))?;
    Ok(Json(HealthOut {
        status: "ok".into(),
        models_count: h.models_count,
        fixed_prompts_count: h.fixed_prompts_count,
        recorded_users_count: h.recorded_users_count,
        completed_battles_count: h.completed_battles_count,
    }))
}
