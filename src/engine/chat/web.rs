//! Battles of the web page (and of any script that uses its API): chat battles found by
//! their id rather than an RPID, whose two sides are handed out together.
//!
//! They are the chat battles of the parent module in every rule that matters: each side's
//! own transcript, both sides generated at once on a task of their own whether or not anyone
//! watches, a side noted as shown when its stream ends, and no vote before both sides of the
//! latest turn were shown. What they add: the caller's battles are found by id (ownership
//! checked on every call), the prompt may be drawn from the pool by theme, a turn may carry
//! images (data URLs) as its content, and a battle may be named: side by side, with the two
//! models chosen and shown, its vote kept apart from the default board (origin `web_named`,
//! which the store turns into the vote's [`crate::battle::VoteFlags::NAMED`]).

use serde::Serialize;
use serde_json::{Value, json};

use super::{ChatAnswer, ChatOptions, UserTurn};
use crate::Arena;
use crate::battle::{BattleId, BattleRecord, Origin, Reveal, Side, Status, Winner};
use crate::config::ModelSpec;
use crate::engine::PromptSource;
use crate::engine::sampler::{self, Pairing};
use crate::error::{Error, Result};
use crate::store::{ChatState, NewBattle, Store};

/// The most images one turn carries.
pub const MAX_IMAGES: usize = 4;

/// The image types a turn may carry, as data URLs.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Whether the models of a web battle are hidden until the vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebMode {
    /// Blind: "Assistant A" and "Assistant B" until the vote.
    Anonymous,
    /// Side by side: the two models chosen and shown; the vote is kept apart.
    Named,
}

impl WebMode {
    fn of(record: &BattleRecord) -> WebMode {
        if record.origin.is_named() {
            WebMode::Named
        } else {
            WebMode::Anonymous
        }
    }
}

/// A web battle to start.
#[derive(Debug, Clone)]
pub struct WebBattleRequest {
    pub prompt: PromptSource,
    /// Images of the first turn, as `data:image/…;base64,…` URLs.
    pub images: Vec<String>,
    pub system: Option<String>,
    /// Side by side: the models of side A and side B, in that order.
    pub named: Option<(String, String)>,
    pub options: ChatOptions,
}

/// A turn of a web battle being handed out: both sides' answers to it.
pub struct WebTurn {
    pub battle_id: BattleId,
    /// The index of the turn (0 for the battle's first).
    pub turn: i64,
    /// The user text of the turn.
    pub prompt: String,
    pub theme: String,
    pub mode: WebMode,
    /// The models of side A and B, in named mode only.
    pub models: Option<(String, String)>,
    /// Whether the battle has its vote already (a stream read again after it).
    pub voted: bool,
    /// Side A's answer, then side B's.
    pub answers: [ChatAnswer; 2],
}

impl std::fmt::Debug for WebTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebTurn")
            .field("battle_id", &self.battle_id)
            .field("turn", &self.turn)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// One of the caller's battles, as a list shows it: names only after the vote, or in
/// named mode.
#[derive(Debug, Clone, Serialize)]
pub struct WebSummary {
    pub battle_id: String,
    pub prompt: String,
    pub status: Status,
    pub mode: WebMode,
    /// How many user turns it has.
    pub turns: i64,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_b: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<Winner>,
}

/// One user turn of a battle and both answers, as far as they are kept.
#[derive(Debug, Clone, Serialize)]
pub struct WebTurnView {
    pub prompt: String,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
}

/// One battle of the caller with its turns.
#[derive(Debug, Clone, Serialize)]
pub struct WebDetail {
    pub battle_id: String,
    pub prompt_theme: String,
    pub status: Status,
    pub mode: WebMode,
    pub turns: Vec<WebTurnView>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_b: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<Winner>,
}

/// The models of `record` where its caller may see them: after the vote, or in named mode.
fn shown_models(record: &BattleRecord) -> (Option<String>, Option<String>) {
    if record.winner.is_some() || record.origin.is_named() {
        (Some(record.a.model.clone()), Some(record.b.model.clone()))
    } else {
        (None, None)
    }
}

/// The content of a user turn with `images`: its text as the first part, then each image;
/// `None` without images. Each image must be a base64 data URL of a common image type, no
/// larger than `limit` bytes decoded.
fn image_content(text: &str, images: &[String], limit: u64) -> Result<Option<Value>> {
    if images.is_empty() {
        return Ok(None);
    }
    if images.len() > MAX_IMAGES {
        return Err(Error::Input(format!(
            "`images`: {} images, more than the {MAX_IMAGES} one message takes",
            images.len()
        )));
    }
    let mut parts = vec![json!({"type": "text", "text": text})];
    for (i, url) in images.iter().enumerate() {
        let bad = |why: &str| Error::Input(format!("`images[{i}]`: {why}"));
        let (kind, data) = url
            .strip_prefix("data:")
            .and_then(|rest| rest.split_once(";base64,"))
            .ok_or_else(|| bad("expected a data URL such as data:image/png;base64,iVBORw0KGgo…"))?;
        if !IMAGE_TYPES.contains(&kind.to_ascii_lowercase().as_str()) {
            return Err(bad(&format!(
                "`{}` is not an image type taken here: expected {}",
                crate::util::terminal_safe(&kind.chars().take(40).collect::<String>()),
                IMAGE_TYPES.join(", ")
            )));
        }
        let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
        if data.is_empty() || !data.bytes().all(base64) {
            return Err(bad("the data after `;base64,` is not base64"));
        }
        let size = data.len() / 4 * 3;
        if size as u64 > limit {
            return Err(bad(&format!(
                "an image of {size} bytes is larger than the {limit} allowed \
                 (max_attachment_bytes)"
            )));
        }
        parts.push(json!({"type": "image_url", "image_url": {"url": url}}));
    }
    Ok(Some(Value::Array(parts)))
}

impl Arena {
    /// Refuses `hash` acting on battle `id` unless it started it (a battle of no user
    /// belongs to no caller of the page).
    async fn web_owned(&self, id: BattleId, hash: &str) -> Result<()> {
        match self.store.battle_owned_by(id, hash.to_owned()).await? {
            Some(true) => Ok(()),
            _ => Err(Error::NotOwner(id)),
        }
    }

    /// Why a battle that ended without a vote takes nothing more: it expired, or it failed
    /// (without saying which side did).
    fn web_closed(state: &ChatState) -> Error {
        let id = state.record.id;
        let expired = state.record.a.error.as_deref() == Some(crate::store::EXPIRED)
            || state.record.b.error.as_deref() == Some(crate::store::EXPIRED);
        if expired {
            Error::Expired(id)
        } else {
            Error::BattleFailed {
                id,
                reason: "a model could not answer".into(),
            }
        }
    }

    /// The two models of a side-by-side battle, as named: in the pool, in rotation, chat
    /// models, two different ones, on a server that shows its pool.
    fn named_pair(&self, a: &str, b: &str) -> Result<(ModelSpec, ModelSpec)> {
        if !self.config().expose_pool {
            return Err(Error::Input(
                "side-by-side battles name their models, and this server does not show its \
                 pool (expose_pool is false in config.jsonc)"
                    .into(),
            ));
        }
        if a == b {
            return Err(Error::Input(format!(
                "`{a}` is named twice: a side-by-side battle needs two different models"
            )));
        }
        let one = |name: &str| -> Result<ModelSpec> {
            let spec = self.models().require(name)?;
            if spec.weight <= 0.0 || spec.is_image() {
                return Err(Error::Input(format!(
                    "`{name}` is not a chat model in rotation (weight above 0 in models.json)"
                )));
            }
            Ok(spec.clone())
        };
        Ok((one(a)?, one(b)?))
    }

    /// The turn `turn` of `state`, both sides' answers handed out.
    fn web_turn_of(&self, state: &ChatState, turn: i64) -> WebTurn {
        let record = &state.record;
        let prompt = state
            .turns
            .iter()
            .find(|t| t.turn == turn)
            .map_or_else(|| record.prompt.clone(), |t| t.prompt.clone());
        WebTurn {
            battle_id: record.id,
            turn,
            prompt,
            theme: record.theme.clone(),
            mode: WebMode::of(record),
            models: record
                .origin
                .is_named()
                .then(|| (record.a.model.clone(), record.b.model.clone())),
            voted: record.winner.is_some(),
            answers: [
                self.answer_of(state, Side::A, turn),
                self.answer_of(state, Side::B, turn),
            ],
        }
    }

    /// Starts a web battle of `caller` (within the per-user limits on new battles): a prompt
    /// given or drawn from the pool, two models drawn (or, side by side, the two named, on
    /// sides A and B as named), both answers generated at once and handed out.
    pub async fn web_battle_start(
        &self,
        caller: &str,
        request: WebBattleRequest,
    ) -> Result<WebTurn> {
        let hash = self.caller_hash(caller)?;
        let (text, prompt_id, theme) = match request.prompt {
            PromptSource::Text(text) => (text, None, "general".to_owned()),
            PromptSource::Random { theme } => {
                let p = self.random_prompt(theme).await?;
                (p.text, Some(p.id), p.theme)
            }
        };
        if text.trim().is_empty() {
            return Err(Error::Input(
                "`prompt`: empty; give a question, or ask for a random one with \"random\": true"
                    .into(),
            ));
        }
        let content = image_content(&text, &request.images, self.config().max_attachment_bytes)?;
        let turn = UserTurn { text, content };
        self.check_turn(&turn)?;
        let named = request.named.is_some();
        let (a, b) = match &request.named {
            Some((a, b)) => self.named_pair(a, b)?,
            None => {
                let mut rng = rand::rng();
                let (a, b) = sampler::pick(&self.models().models, &Pairing::default(), &mut rng)?;
                (a.clone(), b.clone())
            }
        };
        let system = request.system.filter(|s| !s.trim().is_empty());
        let record = self
            .store
            .create_battle(NewBattle {
                id: uuid::Uuid::now_v7(),
                origin: if named { Origin::WebNamed } else { Origin::Web },
                user_hash: Some(hash),
                prompt: turn.text.clone(),
                prompt_id,
                theme,
                system,
                model_a: a.name.clone(),
                model_b: b.name.clone(),
                rpid: None,
                prompt_content: turn.content.as_ref().map(Value::to_string),
                now: self.now_ms(),
                limits: Some(self.limits()),
            })
            .await?;
        let state = self.store.chat_state(record.id).await?;
        self.generate(&state, (a, b), &request.options);
        Ok(self.web_turn_of(&state, 0))
    }

    /// The caller's next user turn of battle `id`, with its images: both sides answer it at
    /// once, each with its own transcript, and both answers are handed out.
    pub async fn web_turn(
        &self,
        caller: &str,
        id: BattleId,
        text: String,
        images: &[String],
        options: &ChatOptions,
    ) -> Result<WebTurn> {
        let hash = self.caller_hash(caller)?;
        self.web_owned(id, &hash).await?;
        let state = self.store.chat_state(id).await?;
        match state.record.status {
            Status::Completed => return Err(Error::AlreadyVoted(id)),
            Status::Failed => return Err(Self::web_closed(&state)),
            Status::PendingGeneration => return Err(Error::StillGenerating(id)),
            Status::PendingVote => {}
        }
        if text.trim().is_empty() {
            return Err(Error::Input("`text`: empty; write the next message".into()));
        }
        let content = image_content(&text, images, self.config().max_attachment_bytes)?;
        let turn = UserTurn { text, content };
        self.check_turn(&turn)?;
        let next = state.latest() + 1;
        let most = i64::from(self.config().max_battle_turns);
        if next >= most {
            return Err(Error::BattleState(format!(
                "this battle has had {most} messages, the most one battle takes \
                 (max_battle_turns): vote, or start another battle"
            )));
        }
        let models = self.battle_models(&state)?;
        self.store
            .begin_turn(
                id,
                next,
                turn.text.clone(),
                turn.content.as_ref().map(Value::to_string),
                self.now_ms(),
            )
            .await?;
        let state = self.store.chat_state(id).await?;
        self.generate(&state, models, options);
        Ok(self.web_turn_of(&state, next))
    }

    /// Both answers to the latest turn of the caller's battle `id` again, from the start:
    /// the text so far, then the rest as it comes (a page that lost its stream resumes).
    pub async fn web_stream(&self, caller: &str, id: BattleId) -> Result<WebTurn> {
        let hash = self.caller_hash(caller)?;
        self.web_owned(id, &hash).await?;
        let state = self.store.chat_state(id).await?;
        if state.record.status == Status::Failed {
            return Err(Self::web_closed(&state));
        }
        Ok(self.web_turn_of(&state, state.latest()))
    }

    /// Records the caller's vote on battle `id` once both answers to its latest turn were
    /// shown (a skip needs none), and reveals the models. The same vote again (a retry) gets
    /// the first reveal; another is refused.
    pub async fn web_vote(&self, caller: &str, id: BattleId, winner: Winner) -> Result<Reveal> {
        let hash = self.caller_hash(caller)?;
        self.web_owned(id, &hash).await?;
        let state = self.store.chat_state(id).await?;
        match state.record.status {
            Status::Completed => return self.web_vote_again(&state, winner).await,
            Status::Failed => return Err(Self::web_closed(&state)),
            Status::PendingGeneration => return Err(Error::StillGenerating(id)),
            Status::PendingVote => {}
        }
        if winner != Winner::Skip && !(state.shown(Side::A) && state.shown(Side::B)) {
            return Err(Error::BattleState(
                "both answers to the latest message must be read to their end before the \
                 vote: read them (POST /api/battles/{id}/stream), then vote"
                    .replace("{id}", &id.to_string()),
            ));
        }
        match self.vote_as(id, winner, Some(hash)).await {
            // A vote racing this one came first: answered as a retry.
            Err(Error::AlreadyVoted(_)) => {
                let state = self.store.chat_state(id).await?;
                self.web_vote_again(&state, winner).await
            }
            other => other,
        }
    }

    async fn web_vote_again(&self, state: &ChatState, winner: Winner) -> Result<Reveal> {
        match self.store.kept_vote(state.record.id).await? {
            Some(kept) if kept.winner == winner => {
                let none = (f64::NAN, f64::NAN);
                Ok(self.reveal(
                    &state.record,
                    winner,
                    kept.elo_a.unwrap_or(none),
                    kept.elo_b.unwrap_or(none),
                ))
            }
            _ => Err(Error::AlreadyVoted(state.record.id)),
        }
    }

    /// The caller's battles, newest first, at most `limit` (1 to 100).
    pub async fn web_battles(&self, caller: &str, limit: u32) -> Result<Vec<WebSummary>> {
        let hash = self.caller_hash(caller)?;
        let found = self.store.battles_of(hash, limit.clamp(1, 100)).await?;
        Ok(found
            .into_iter()
            .map(|(record, turns)| {
                let (model_a, model_b) = shown_models(&record);
                WebSummary {
                    battle_id: record.id.to_string(),
                    prompt: record.prompt.clone(),
                    status: record.status,
                    mode: WebMode::of(&record),
                    turns,
                    created_at: crate::util::format_ms(record.created_at),
                    model_a,
                    model_b,
                    winner: record.winner,
                }
            })
            .collect())
    }

    /// The caller's battle `id` with every turn kept so far.
    pub async fn web_battle(&self, caller: &str, id: BattleId) -> Result<WebDetail> {
        let hash = self.caller_hash(caller)?;
        self.web_owned(id, &hash).await?;
        let state = self.store.chat_state(id).await?;
        let record = &state.record;
        let (model_a, model_b) = shown_models(record);
        Ok(WebDetail {
            battle_id: record.id.to_string(),
            prompt_theme: record.theme.clone(),
            status: record.status,
            mode: WebMode::of(record),
            turns: state
                .turns
                .iter()
                .map(|t| WebTurnView {
                    prompt: t.prompt.clone(),
                    response_a: t.response_a.clone(),
                    response_b: t.response_b.clone(),
                })
                .collect(),
            created_at: crate::util::format_ms(record.created_at),
            model_a,
            model_b,
            winner: record.winner,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_become_parts_after_the_text_and_bad_ones_are_named() {
        let png = "data:image/png;base64,iVBORw0KGgo=".to_owned();
        let content = image_content("what is this?", std::slice::from_ref(&png), 1000)
            .ok()
            .flatten();
        assert_eq!(
            content,
            Some(json!([
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": png}},
            ]))
        );
        assert_eq!(image_content("x", &[], 10).ok(), Some(None));
        for (bad, why) in [
            ("https://example.com/a.png", "data URL"),
            ("data:text/html;base64,PGI+", "not an image type"),
            ("data:image/png;base64,!!", "not base64"),
            ("data:image/png;base64,", "not base64"),
            ("data:image/png;base64,AAAAAAAAAAAA", "max_attachment_bytes"),
        ] {
            let e = image_content("x", &[bad.to_owned()], 8);
            assert!(
                matches!(&e, Err(Error::Input(m)) if m.contains("images[0]") && m.contains(why)),
                "{bad}: {e:?}"
            );
        }
        let many = vec![png; MAX_IMAGES + 1];
        assert!(image_content("x", &many, 1000).is_err());
    }
}
