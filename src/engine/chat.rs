//! Battles driven from a chat client (SPEC §4 battle mode): a battle lives under an RPID of
//! its caller, and is fair however the client sends its history.
//!
//! Each side sees exactly the conversation it would have seen alone: the battle's system
//! text, its user turns, and that side's own earlier answers, never the other side's answers
//! and never command text. The battle keeps these transcripts itself (the store's `turns`);
//! what a client resends as history only locates the battle and the new user text. Every
//! user turn goes to both sides at once, on a task of its own that goes on whether or not
//! anyone watches; `$A`/`$B` only choose which answer is shown, from the running generation
//! (the rest of it as it comes) or from the store. A result is taken only once both sides'
//! answers to the latest turn were shown in full.
//!
//! Nothing a client receives tells the sides apart: answers are cut into pieces by one rule
//! (a word and the space after it, at most [`PIECE_BYTES`]), whatever pieces the upstream
//! sent; token counts are arena's own estimate (`wire::estimate_tokens`), the same for both; sampling fields are
//! checked once and sent alike to both; a failure says that the battle failed, not which
//! side did.
//!
//! `web`: the same battles for the web page, found by id, both sides handed out together;
//! `live`: the turns being generated and the reader of one side's answer; `options`: the
//! sampling settings of a request.

mod live;
mod options;
mod web;

pub(crate) use live::LiveTurns;
use live::{LiveTurn, Reader, SideEnd, Source};
pub use options::ChatOptions;
pub use web::{MAX_IMAGES, WebBattleRequest, WebDetail, WebMode, WebSummary, WebTurn, WebTurnView};

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::Arena;
use crate::battle::{BattleId, BattleRecord, Origin, Reveal, Side, Status, Winner};
use crate::config::ModelSpec;
use crate::engine::run::{self, BattleEvent};
use crate::engine::sampler::{self, Pairing};
use crate::error::{Error, Result};
use crate::provider::wire::estimate_tokens;
use crate::provider::{ChatRequest, Message};
use crate::store::{ChatState, ChatTurn, Failure, NewBattle, Store};

/// The longest piece of an answer sent at once in battle mode, in bytes.
pub const PIECE_BYTES: usize = 32;

/// A user turn of a battle: its text, and its whole content when that is more than text (a
/// message with images).
#[derive(Debug, Clone, PartialEq)]
pub struct UserTurn {
    pub text: String,
    pub content: Option<Value>,
}

impl UserTurn {
    /// A turn of text alone.
    #[must_use]
    pub fn text(text: impl Into<String>) -> Self {
        UserTurn {
            text: text.into(),
            content: None,
        }
    }
}

/// A piece of an answer as battle mode hands it out.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// The whole answer was handed out (and noted as shown).
    End(AnswerEnd),
}

/// How a side's answer ended, with arena's own token counts (the same rule for both sides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerEnd {
    /// `stop`, or `length` when the answer was cut at its token limit.
    pub finish_reason: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// An answer being handed out: pieces of text, then its end or an error.
pub type Pieces = Pin<Box<dyn Stream<Item = Result<Piece>> + Send>>;

/// One side's answer to the latest turn of a battle.
pub struct ChatAnswer {
    pub battle_id: BattleId,
    pub rpid: String,
    pub side: Side,
    pub turn: i64,
    pub pieces: Pieces,
}

impl std::fmt::Debug for ChatAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatAnswer")
            .field("battle_id", &self.battle_id)
            .field("rpid", &self.rpid)
            .field("side", &self.side)
            .field("turn", &self.turn)
            .finish_non_exhaustive()
    }
}

/// What a result command did.
#[derive(Debug, Clone)]
pub struct ChatResult {
    pub rpid: String,
    /// The vote, with the models and their Elo change (as first revealed, on a retry).
    pub reveal: Reveal,
    /// The same result had been recorded already (a retry): nothing changed.
    pub repeated: bool,
}

/// The battle's name for its caller: its RPID.
fn name(record: &BattleRecord) -> String {
    record.rpid.clone().unwrap_or_else(|| record.id.to_string())
}

/// An engine error about a chat battle, in words that name it by its RPID.
fn in_words(e: Error, rpid: &str) -> Error {
    match e {
        Error::AlreadyVoted(_) => Error::BattleState(format!(
            "battle `{rpid}` has its result already; a result never changes: start another \
             battle with a new id, such as $sA{rpid}x and your question"
        )),
        Error::Expired(_) => Error::BattleState(format!(
            "battle `{rpid}` waited too long for its result and is closed: start another \
             battle with a new id and your question"
        )),
        Error::StillGenerating(_) => Error::BattleState(format!(
            "battle `{rpid}` is still answering your last message: see the answers with \
             $A{rpid} and $B{rpid}, then go on"
        )),
        Error::BattleFailed { .. } => failed(rpid),
        other => other,
    }
}

/// The battle failed: said without telling which side did.
fn failed(rpid: &str) -> Error {
    Error::upstream(format!(
        "battle `{rpid}` failed: a model could not answer, so the two can no longer be \
         compared; start another battle with a new id and your question"
    ))
}

/// The messages one side is sent for the latest of `turns`: the system text, every user
/// turn, and this side's own answers to the earlier ones.
fn transcript(system: Option<&str>, turns: &[ChatTurn], side: Side) -> Vec<Message> {
    let mut messages = Vec::with_capacity(turns.len() * 2 + 1);
    if let Some(system) = system.filter(|s| !s.is_empty()) {
        messages.push(Message::new("system", system));
    }
    let last = turns.len().saturating_sub(1);
    for (i, turn) in turns.iter().enumerate() {
        let content = turn
            .content
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_else(|| Value::String(turn.prompt.clone()));
        messages.push(Message {
            role: "user".into(),
            content,
            extra: Map::new(),
        });
        if i < last
            && let Some(answer) = turn.response(side)
        {
            messages.push(Message::new("assistant", answer));
        }
    }
    messages
}

/// Arena's token estimate of what one side is sent (see `wire::estimate_tokens`).
fn transcript_tokens(messages: &[Message]) -> u64 {
    messages.iter().map(|m| estimate_tokens(&m.text())).sum()
}

impl Arena {
    fn caller_hash(&self, caller: &str) -> Result<String> {
        self.user_hash(Some(caller))?
            .ok_or_else(|| Error::Internal("no caller".into()))
    }

    /// The caller's battle under `rpid`, or its latest.
    async fn caller_battle(&self, hash: &str, rpid: Option<&str>) -> Result<ChatState> {
        self.store
            .chat_battle(hash.to_owned(), rpid.map(str::to_owned))
            .await?
            .ok_or_else(|| {
                Error::BattleNotFound(match rpid {
                    Some(r) => {
                        format!("no battle `{r}` of yours: start it with $sA{r} and a question")
                    }
                    None => "no battle of yours yet: start one with $sA<id> and a question".into(),
                })
            })
    }

    fn check_turn(&self, turn: &UserTurn) -> Result<()> {
        let limit = self.config().max_prompt_bytes;
        if turn.text.len() as u64 > limit {
            return Err(Error::Input(format!(
                "the message is {} bytes, more than the {limit} a battle takes \
                 (max_prompt_bytes in config.jsonc)",
                turn.text.len()
            )));
        }
        Ok(())
    }

    /// The models of a battle, from the pool.
    fn battle_models(&self, state: &ChatState) -> Result<(ModelSpec, ModelSpec)> {
        let get = |n: &str| {
            self.models().get(n).cloned().ok_or_else(|| {
                Error::BattleState(format!(
                    "battle `{}` stands on a model no longer in models.json: start another",
                    name(&state.record)
                ))
            })
        };
        Ok((get(&state.record.a.model)?, get(&state.record.b.model)?))
    }

    /// Starts battle `rpid` of the caller with its first question, both sides at once, and
    /// answers as `side`. The same start again (a retry) is the same battle and shows its
    /// answer again; another question under the RPID of an open battle is refused.
    pub async fn chat_start(
        &self,
        caller: &str,
        rpid: &str,
        side: Side,
        system: Option<String>,
        turn: UserTurn,
        options: ChatOptions,
    ) -> Result<ChatAnswer> {
        let hash = self.caller_hash(caller)?;
        if turn.text.trim().is_empty() {
            return Err(Error::Input(
                "a battle starts with a question after the command, such as $sA1 Write a haiku"
                    .into(),
            ));
        }
        self.check_turn(&turn)?;
        if let Some(state) = self
            .store
            .chat_battle(hash.clone(), Some(rpid.to_owned()))
            .await?
        {
            return self.start_again(&state, side, &turn).await;
        }
        let (a, b) = {
            let mut rng = rand::rng();
            let (a, b) = sampler::pick(&self.models().models, &Pairing::default(), &mut rng)?;
            (a.clone(), b.clone())
        };
        let id = uuid::Uuid::now_v7();
        let record = self
            .store
            .create_battle(NewBattle {
                id,
                origin: Origin::Chat,
                user_hash: Some(hash),
                prompt: turn.text.clone(),
                prompt_id: None,
                theme: "general".into(),
                system,
                model_a: a.name.clone(),
                model_b: b.name.clone(),
                rpid: Some(rpid.to_owned()),
                prompt_content: turn.content.as_ref().map(Value::to_string),
                now: self.now_ms(),
                limits: Some(self.limits()),
            })
            .await?;
        let state = self.store.chat_state(record.id).await?;
        if record.id != id {
            // The same RPID was started by a request racing this one.
            return self.start_again(&state, side, &turn).await;
        }
        self.generate(&state, (a, b), &options);
        Ok(self.answer_of(&state, side, 0))
    }

    /// A start under the RPID of an existing battle: the same question again shows the
    /// answer; another one is refused while the battle is open.
    async fn start_again(
        &self,
        state: &ChatState,
        side: Side,
        turn: &UserTurn,
    ) -> Result<ChatAnswer> {
        let rpid = name(&state.record);
        let same = state.record.prompt.trim() == turn.text.trim();
        match state.record.status {
            Status::PendingGeneration | Status::PendingVote if same => {
                Ok(self.answer_of(state, side, state.latest()))
            }
            Status::PendingGeneration | Status::PendingVote => {
                let x = if side == Side::A { "A" } else { "B" };
                Err(Error::BattleState(format!(
                    "battle `{rpid}` is still open with another question: see its answers with \
                     $A{rpid} and $B{rpid} and give its result with $wA{rpid}, $wB{rpid}, \
                     $tie{rpid} or $bad{rpid}, or leave it with $skip{rpid}; then start again \
                     with a new id, such as $s{x}{rpid}x and your question"
                )))
            }
            Status::Completed => Err(in_words(Error::AlreadyVoted(state.record.id), &rpid)),
            Status::Failed => Err(self.closed(state)),
        }
    }

    /// Why a battle that ended without a result takes nothing more.
    fn closed(&self, state: &ChatState) -> Error {
        let rpid = name(&state.record);
        let expired = state.record.a.error.as_deref() == Some(crate::store::EXPIRED)
            || state.record.b.error.as_deref() == Some(crate::store::EXPIRED);
        if expired {
            in_words(Error::Expired(state.record.id), &rpid)
        } else {
            failed(&rpid)
        }
    }

    /// Answers as `side` of the caller's battle `rpid` (or latest): with `turn`, a new user
    /// turn for both sides first; without one, the answer to the latest turn.
    pub async fn chat_answer(
        &self,
        caller: &str,
        rpid: Option<&str>,
        side: Side,
        turn: Option<UserTurn>,
        options: ChatOptions,
    ) -> Result<ChatAnswer> {
        let hash = self.caller_hash(caller)?;
        let state = self.caller_battle(&hash, rpid).await?;
        let rpid = name(&state.record);
        match state.record.status {
            Status::Completed => return Err(in_words(Error::AlreadyVoted(state.record.id), &rpid)),
            Status::Failed => return Err(self.closed(&state)),
            Status::PendingGeneration | Status::PendingVote => {}
        }
        let Some(turn) = turn.filter(|t| !t.text.trim().is_empty()) else {
            return Ok(self.answer_of(&state, side, state.latest()));
        };
        self.check_turn(&turn)?;
        let next = state.latest() + 1;
        let most = i64::from(self.config().max_battle_turns);
        if next >= most {
            return Err(Error::BattleState(format!(
                "battle `{rpid}` has had {most} messages, the most one battle takes \
                 (max_battle_turns): give its result, or start another battle"
            )));
        }
        if state.record.status == Status::PendingGeneration {
            return Err(in_words(Error::StillGenerating(state.record.id), &rpid));
        }
        let models = self.battle_models(&state)?;
        self.store
            .begin_turn(
                state.record.id,
                next,
                turn.text.clone(),
                turn.content.as_ref().map(Value::to_string),
                self.now_ms(),
            )
            .await
            .map_err(|e| in_words(e, &rpid))?;
        let state = self.store.chat_state(state.record.id).await?;
        self.generate(&state, models, &options);
        Ok(self.answer_of(&state, side, next))
    }

    /// Generates both sides' answers to the latest turn of `state`, on a task of its own.
    fn generate(&self, state: &ChatState, (a, b): (ModelSpec, ModelSpec), options: &ChatOptions) {
        let id = state.record.id;
        let turn = state.latest();
        let live = Arc::new(LiveTurn::default());
        self.live.insert(id, turn, live.clone());
        let request = |side: Side| ChatRequest {
            messages: transcript(state.record.system.as_deref(), &state.turns, side),
            temperature: options.temperature,
            max_tokens: options.max_tokens,
            sampling: options.sampling.clone(),
        };
        let sides = [
            (Side::A, a, request(Side::A)),
            (Side::B, b, request(Side::B)),
        ];
        let arena = self.clone();
        let limit = Duration::from_secs(self.config().generation_timeout_seconds.max(1));
        self.tasks.spawn(async move {
            let one = |(side, model, request): (Side, ModelSpec, ChatRequest)| {
                let arena = arena.clone();
                let live = live.clone();
                async move {
                    let out = live.side(side);
                    let (tx, mut rx) = mpsc::channel(64);
                    let upstream = arena.upstream.clone();
                    let generate = async move {
                        run::generate(&upstream, &model, &request, side, &tx, limit).await
                    };
                    let forward = async {
                        let mut finish = None;
                        while let Some(event) = rx.recv().await {
                            match event {
                                BattleEvent::Delta { text, .. } => out.push(&text),
                                BattleEvent::SideDone { finish_reason, .. } => {
                                    finish = finish_reason;
                                }
                            }
                        }
                        finish
                    };
                    let (outcome, finish) = tokio::join!(generate, forward);
                    let ok = outcome.error.is_none();
                    if let Some(e) = &outcome.error {
                        tracing::debug!(
                            "a side of a chat battle failed: {}",
                            crate::error::UpstreamError::shown_of_kept(e)
                        );
                    }
                    let status = match arena
                        .store
                        .record_answer(id, turn, side, outcome, arena.now_ms())
                        .await
                    {
                        Ok(status) => status,
                        Err(e) => {
                            tracing::warn!("a chat answer could not be kept: {e}");
                            let reason = format!("the answers could not be stored: {e}");
                            let _ = arena
                                .store
                                .fail_generating(id, Failure::Store, reason)
                                .await;
                            Status::Failed
                        }
                    };
                    out.finish(if ok && status != Status::Failed {
                        SideEnd::Done {
                            finish_reason: finish.unwrap_or_else(|| "stop".into()),
                        }
                    } else {
                        SideEnd::Failed
                    });
                }
            };
            let [first, second] = sides;
            tokio::join!(one(first), one(second));
            // Kept in the store now: later readers find the answers there.
            arena.live.remove(id, turn);
            run::keep_style(&arena.store, id).await;
        });
    }

    /// `side`'s answer to `turn` of `state`, piece by piece: from the running generation, or
    /// from the store, or, when another process generates it, from the store once it is
    /// kept. Its end is handed out once the answer is noted as shown.
    fn answer_of(&self, state: &ChatState, side: Side, turn: i64) -> ChatAnswer {
        let id = state.record.id;
        let rpid = name(&state.record);
        let turns: Vec<ChatTurn> = state
            .turns
            .iter()
            .filter(|t| t.turn <= turn)
            .cloned()
            .collect();
        let prompt_tokens =
            transcript_tokens(&transcript(state.record.system.as_deref(), &turns, side));
        let stored = turns.last().and_then(|t| {
            let finish = t.finish(side).unwrap_or("stop").to_owned();
            t.response(side).map(|r| (r.to_owned(), finish))
        });
        let source = match (self.live.get(id, turn), stored) {
            (Some(live), _) => Source::Live {
                rx: live.side(side).version.subscribe(),
                live,
                offset: 0,
            },
            (None, Some((text, finish_reason))) => Source::Ended {
                text: Some(text),
                end: SideEnd::Done { finish_reason },
            },
            (None, None) => Source::Store {
                deadline: tokio::time::Instant::now()
                    + Duration::from_secs(self.config().generation_timeout_seconds.max(1) + 60),
            },
        };
        let reader = Reader {
            arena: self.clone(),
            id,
            turn,
            side,
            rpid: rpid.clone(),
            source,
            buffer: String::new(),
            prompt_tokens,
            handed: String::new(),
            over: false,
        };
        ChatAnswer {
            battle_id: id,
            rpid,
            side,
            turn,
            pieces: Box::pin(futures_util::stream::unfold(reader, Reader::next)),
        }
    }

    /// Records the result of the caller's battle `rpid` (or latest), once both sides'
    /// answers to its latest turn were shown (a skip needs none). The same result again (a
    /// client's retry) is answered with the very reveal of the first; another is refused.
    pub async fn chat_result(
        &self,
        caller: &str,
        rpid: Option<&str>,
        winner: Winner,
    ) -> Result<ChatResult> {
        let hash = self.caller_hash(caller)?;
        let state = self.caller_battle(&hash, rpid).await?;
        let rpid = name(&state.record);
        match state.record.status {
            Status::Completed => return self.result_again(&state, winner).await,
            Status::Failed => return Err(self.closed(&state)),
            Status::PendingGeneration | Status::PendingVote => {}
        }
        // What the voter has not seen comes first: it is what to do next, whether or not
        // that answer is still being written.
        if winner != Winner::Skip {
            for (side, x) in [(Side::A, "A"), (Side::B, "B")] {
                if !state.shown(side) {
                    return Err(Error::BattleState(format!(
                        "battle `{rpid}`: {}'s answer to your last message has not been shown \
                         yet: see it with ${x}{rpid}, then give the result",
                        side.label()
                    )));
                }
            }
        }
        if state.record.status == Status::PendingGeneration {
            return Err(in_words(Error::StillGenerating(state.record.id), &rpid));
        }
        match self.vote_as(state.record.id, winner, Some(hash)).await {
            Ok(reveal) => Ok(ChatResult {
                rpid,
                reveal,
                repeated: false,
            }),
            // Read again: the vote may have come from a request racing this one.
            Err(Error::AlreadyVoted(id)) => {
                let state = self.store.chat_state(id).await?;
                self.result_again(&state, winner).await
            }
            Err(e) => Err(in_words(e, &rpid)),
        }
    }

    /// The result of a battle that has one, asked again: the first reveal when it is the
    /// same result, else a refusal.
    async fn result_again(&self, state: &ChatState, winner: Winner) -> Result<ChatResult> {
        let rpid = name(&state.record);
        let kept = self.store.kept_vote(state.record.id).await?;
        match kept {
            Some(kept) if kept.winner == winner => {
                let none = (f64::NAN, f64::NAN);
                Ok(ChatResult {
                    rpid,
                    reveal: self.reveal(
                        &state.record,
                        winner,
                        kept.elo_a.unwrap_or(none),
                        kept.elo_b.unwrap_or(none),
                    ),
                    repeated: true,
                })
            }
            _ => Err(in_words(Error::AlreadyVoted(state.record.id), &rpid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_side_sees_its_own_answers_and_every_user_turn() {
        let turns = vec![
            ChatTurn {
                turn: 0,
                prompt: "q1".into(),
                content: None,
                response_a: Some("a1".into()),
                response_b: Some("b1".into()),
                finish_a: None,
                finish_b: None,
            },
            ChatTurn {
                turn: 1,
                prompt: "q2".into(),
                content: Some(json!([{"type": "text", "text": "q2"}]).to_string()),
                response_a: None,
                response_b: None,
                finish_a: None,
                finish_b: None,
            },
        ];
        let b = transcript(Some("be brief"), &turns, Side::B);
        let shape: Vec<(String, Value)> = b.into_iter().map(|m| (m.role, m.content)).collect();
        assert_eq!(
            shape,
            [
                ("system".to_owned(), json!("be brief")),
                ("user".to_owned(), json!("q1")),
                ("assistant".to_owned(), json!("b1")),
                ("user".to_owned(), json!([{"type": "text", "text": "q2"}])),
            ]
        );
    }
}
