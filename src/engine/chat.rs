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
//! `web`: the same battles for the web page, found by id, both sides handed out together.

mod web;

pub use web::{MAX_IMAGES, WebBattleRequest, WebDetail, WebMode, WebSummary, WebTurn, WebTurnView};

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::Stream;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};

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

/// Sampling settings of a chat request: checked once, sent alike to both sides. Any other
/// field of the request reaches neither model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatOptions {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// `top_p`, `presence_penalty`, `frequency_penalty`, `seed`, `stop`, as checked.
    pub sampling: Map<String, Value>,
}

impl ChatOptions {
    /// The sampling fields of a request, each read by `field` (`None` when absent). A field
    /// that is not what OpenAI's API takes is an error that names it and its range.
    pub fn from_request(field: impl Fn(&str) -> Option<Value>) -> Result<ChatOptions> {
        let present = |name: &str| field(name).filter(|v| !v.is_null());
        let number = |name: &str, lo: f64, hi: f64| -> Result<Option<f64>> {
            present(name)
                .map(|v| {
                    v.as_f64()
                        .filter(|x| x.is_finite() && (lo..=hi).contains(x))
                        .ok_or_else(|| {
                            Error::Input(format!("`{name}` must be a number from {lo} to {hi}"))
                        })
                })
                .transpose()
        };
        let tokens = |name: &str| -> Result<Option<u32>> {
            present(name)
                .map(|v| {
                    v.as_u64()
                        .filter(|n| (1..=1_000_000).contains(n))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            Error::Input(format!(
                                "`{name}` must be a whole number of tokens from 1 to 1000000"
                            ))
                        })
                })
                .transpose()
        };
        let max_tokens = match (tokens("max_completion_tokens")?, tokens("max_tokens")?) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::Input(format!(
                    "`max_completion_tokens` ({a}) and `max_tokens` ({b}) differ: send one"
                )));
            }
            (a, b) => a.or(b),
        };
        let mut sampling = Map::new();
        for (name, lo, hi) in [
            ("top_p", 0.0, 1.0),
            ("presence_penalty", -2.0, 2.0),
            ("frequency_penalty", -2.0, 2.0),
        ] {
            if let Some(x) = number(name, lo, hi)? {
                sampling.insert(name.into(), Value::from(x));
            }
        }
        if let Some(v) = present("seed") {
            let seed = v
                .as_i64()
                .ok_or_else(|| Error::Input("`seed` must be a whole number".into()))?;
            sampling.insert("seed".into(), Value::from(seed));
        }
        if let Some(v) = present("stop") {
            let ok = match &v {
                Value::String(_) => true,
                Value::Array(items) => {
                    (1..=4).contains(&items.len()) && items.iter().all(Value::is_string)
                }
                _ => false,
            };
            if !ok {
                return Err(Error::Input(
                    "`stop` must be a string or a list of up to 4 strings".into(),
                ));
            }
            sampling.insert("stop".into(), v);
        }
        Ok(ChatOptions {
            temperature: number("temperature", 0.0, 2.0)?,
            max_tokens,
            sampling,
        })
    }
}

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

/// The turns being generated now, by battle and turn: a side's answer is read from here
/// while it comes, from the store once it is kept.
#[derive(Debug, Default)]
pub(crate) struct LiveTurns {
    turns: Mutex<HashMap<(BattleId, i64), Arc<LiveTurn>>>,
}

impl LiveTurns {
    fn get(&self, id: BattleId, turn: i64) -> Option<Arc<LiveTurn>> {
        let turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        turns.get(&(id, turn)).cloned()
    }

    fn insert(&self, id: BattleId, turn: i64, live: Arc<LiveTurn>) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        turns.insert((id, turn), live);
    }

    fn remove(&self, id: BattleId, turn: i64) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        turns.remove(&(id, turn));
    }
}

#[derive(Debug, Default)]
struct LiveTurn {
    a: LiveSide,
    b: LiveSide,
}

impl LiveTurn {
    fn side(&self, side: Side) -> &LiveSide {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }
}

/// One side's answer as it comes: its text so far, its end once it is kept, and a counter
/// that readers wait on.
#[derive(Debug)]
struct LiveSide {
    text: Mutex<String>,
    end: Mutex<Option<SideEnd>>,
    version: watch::Sender<u64>,
}

impl Default for LiveSide {
    fn default() -> Self {
        LiveSide {
            text: Mutex::default(),
            end: Mutex::default(),
            version: watch::channel(0).0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SideEnd {
    Done {
        finish_reason: String,
    },
    /// The side failed, or the battle did because the other one failed.
    Failed,
}

impl LiveSide {
    fn push(&self, text: &str) {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(text);
        self.version.send_modify(|v| *v += 1);
    }

    fn finish(&self, end: SideEnd) {
        *self.end.lock().unwrap_or_else(PoisonError::into_inner) = Some(end);
        self.version.send_modify(|v| *v += 1);
    }

    /// The end (read first: the text is whole once it is set) and the text from `offset`.
    fn read(&self, offset: usize) -> (Option<SideEnd>, String) {
        let end = self
            .end
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        (end, text.get(offset..).unwrap_or_default().to_owned())
    }
}

/// The length of the next piece of `text` as battle mode hands it out: a word and the white
/// space after it, or [`PIECE_BYTES`] of a longer run. `None` when the piece may still grow
/// (`done` false and the text ends inside it).
fn next_piece(text: &str, done: bool) -> Option<usize> {
    if text.is_empty() {
        return None;
    }
    let word = text.find(char::is_whitespace).unwrap_or(text.len());
    let space = text[word..]
        .find(|c: char| !c.is_whitespace())
        .unwrap_or(text.len() - word);
    let end = word + space;
    let mut cap = PIECE_BYTES.min(text.len());
    while !text.is_char_boundary(cap) {
        cap -= 1;
    }
    if end > cap {
        return Some(cap.max(text.chars().next().map_or(1, char::len_utf8)));
    }
    (end < text.len() || done).then_some(end)
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

/// Where a reader takes an answer from.
enum Source {
    /// The running generation.
    Live {
        live: Arc<LiveTurn>,
        rx: watch::Receiver<u64>,
        offset: usize,
    },
    /// The store, where another process keeps it when it is done.
    Store { deadline: tokio::time::Instant },
    /// All of it is known: the rest of the text, and the end.
    Ended { text: Option<String>, end: SideEnd },
}

/// Hands out one side's answer, piece by piece.
struct Reader {
    arena: Arena,
    id: BattleId,
    turn: i64,
    side: Side,
    rpid: String,
    source: Source,
    /// Text read but not handed out yet.
    buffer: String,
    prompt_tokens: u64,
    /// The text handed out so far, counted at the end by arena's one rule.
    handed: String,
    over: bool,
}

impl Reader {
    async fn next(mut self) -> Option<(Result<Piece>, Reader)> {
        if self.over {
            return None;
        }
        loop {
            let done = matches!(&self.source, Source::Ended { text: None, .. });
            if let Some(n) = next_piece(&self.buffer, done) {
                let piece: String = self.buffer.drain(..n).collect();
                self.handed.push_str(&piece);
                return Some((Ok(Piece::Text(piece)), self));
            }
            match &mut self.source {
                Source::Ended { text, end } => {
                    if let Some(text) = text.take() {
                        self.buffer.push_str(&text);
                        continue;
                    }
                    self.over = true;
                    let item = match end.clone() {
                        SideEnd::Done { finish_reason } => {
                            // Noted before the end goes out: a client that has the end may
                            // give the result at once.
                            if let Err(e) = self
                                .arena
                                .store
                                .mark_shown(self.id, self.turn, self.side)
                                .await
                            {
                                tracing::warn!("a shown answer could not be noted: {e}");
                            }
                            Ok(Piece::End(AnswerEnd {
                                finish_reason,
                                prompt_tokens: self.prompt_tokens,
                                completion_tokens: estimate_tokens(&self.handed),
                            }))
                        }
                        SideEnd::Failed => Err(failed(&self.rpid)),
                    };
                    return Some((item, self));
                }
                Source::Live { live, rx, offset } => {
                    rx.borrow_and_update();
                    let (end, more) = live.side(self.side).read(*offset);
                    *offset += more.len();
                    self.buffer.push_str(&more);
                    if let Some(end) = end {
                        self.source = Source::Ended { text: None, end };
                    } else if more.is_empty() && rx.changed().await.is_err() {
                        // The generation ended without its end: it cannot have finished.
                        self.source = Source::Ended {
                            text: None,
                            end: SideEnd::Failed,
                        };
                    }
                }
                Source::Store { deadline } => {
                    let deadline = *deadline;
                    let state = match self.arena.store.chat_state(self.id).await {
                        Ok(s) => s,
                        Err(e) => {
                            self.over = true;
                            return Some((Err(e), self));
                        }
                    };
                    let answer = state
                        .turns
                        .iter()
                        .find(|t| t.turn == self.turn)
                        .and_then(|t| {
                            let finish = t.finish(self.side).unwrap_or("stop").to_owned();
                            t.response(self.side).map(|r| (r.to_owned(), finish))
                        });
                    if let Some((text, finish_reason)) = answer {
                        self.source = Source::Ended {
                            text: Some(text),
                            end: SideEnd::Done { finish_reason },
                        };
                    } else if state.record.status == Status::Failed
                        || tokio::time::Instant::now() >= deadline
                    {
                        self.source = Source::Ended {
                            text: None,
                            end: SideEnd::Failed,
                        };
                    } else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn cut(text: &str) -> Vec<String> {
        let mut rest = text.to_owned();
        let mut out = Vec::new();
        while let Some(n) = next_piece(&rest, true) {
            out.push(rest.drain(..n).collect());
        }
        out
    }

    #[test]
    fn answers_are_cut_into_words_and_runs_of_at_most_the_piece_size() {
        assert_eq!(
            cut("Hello, big  world.\n"),
            ["Hello, ", "big  ", "world.\n"]
        );
        let long = "長".repeat(20);
        let pieces = cut(&long);
        assert!(pieces.iter().all(|p| p.len() <= PIECE_BYTES), "{pieces:?}");
        assert_eq!(pieces.concat(), long);
        // A piece that may still grow waits.
        assert_eq!(next_piece("Hello wor", false), Some(6));
        assert_eq!(next_piece("wor", false), None);
        assert_eq!(next_piece("wor", true), Some(3));
    }

    proptest! {
        /// However an upstream cuts its stream, the pieces handed out are the same.
        #[test]
        fn pieces_do_not_depend_on_how_the_text_arrived(
            text in "[a-z 長\\n]{0,120}",
            cuts in proptest::collection::vec(0usize..120, 0..8),
        ) {
            let mut bounds: Vec<usize> = cuts
                .into_iter()
                .map(|c| c.min(text.len()))
                .filter(|&c| text.is_char_boundary(c))
                .collect();
            bounds.sort_unstable();
            let mut buffer = String::new();
            let mut out = Vec::new();
            let mut last = 0;
            for b in bounds.into_iter().chain([text.len()]) {
                buffer.push_str(&text[last..b]);
                last = b;
                let done = b == text.len();
                while let Some(n) = next_piece(&buffer, done) {
                    out.push(buffer.drain(..n).collect::<String>());
                }
            }
            prop_assert_eq!(out, cut(&text));
        }
    }

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

    #[test]
    fn sampling_fields_are_checked_once() {
        let body = json!({"temperature": 0.5, "top_p": 0.9, "seed": 7, "stop": ["x"],
                          "max_completion_tokens": 64, "logit_bias": {"1": 5}});
        let o = ChatOptions::from_request(|k| body.get(k).cloned()).expect("valid");
        assert_eq!(o.temperature, Some(0.5));
        assert_eq!(o.max_tokens, Some(64));
        assert_eq!(
            Value::Object(o.sampling),
            json!({"top_p": 0.9, "seed": 7, "stop": ["x"]})
        );
        for bad in [
            json!({"temperature": 3}),
            json!({"temperature": "hot"}),
            json!({"max_tokens": 2.0}),
            json!({"max_tokens": "3"}),
            json!({"max_tokens": 1e30}),
            json!({"max_tokens": 5, "max_completion_tokens": 6}),
            json!({"top_p": -0.1}),
            json!({"stop": [1]}),
            json!({"seed": 1.5}),
        ] {
            let e = ChatOptions::from_request(|k| bad.get(k).cloned());
            assert!(matches!(e, Err(Error::Input(_))), "{bad}: {e:?}");
        }
    }
}
