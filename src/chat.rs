//! Battles driven from a chat client (SPEC §4 battle mode): a battle lives under an RPID of
//! its caller; each request answers as one side over the whole conversation, and the result
//! command records the vote. The commands themselves are parsed by
//! [`crate::battle::commands`]; this is what they do.
//!
//! A chat battle is created waiting for its vote, with no answer yet; each answer is kept
//! once it is whole (a client that goes away mid-answer leaves the battle as it was, and the
//! upstream request is cancelled with it). Later turns of the same RPID go to the same two
//! models with the whole conversation.

use tokio::sync::mpsc;

use crate::Arena;
use crate::battle::sampler::{self, Pairing};
use crate::battle::{BattleId, BattleRecord, Origin, Reveal, Side, Status, Winner};
use crate::error::{Error, Result};
use crate::provider::{ChatRequest, Chunk, Message, UpstreamError};
use crate::store::NewBattle;

/// One side's answer being streamed.
#[derive(Debug)]
pub struct ChatAnswer {
    pub battle_id: BattleId,
    pub rpid: String,
    pub side: Side,
    /// The answer as it arrives; the stream ends after the last piece (or an error).
    pub chunks: mpsc::Receiver<Result<Chunk, UpstreamError>>,
}

/// What a result command did.
#[derive(Debug, Clone)]
pub struct ChatResult {
    pub rpid: String,
    /// The vote, with the models and their Elo change.
    pub reveal: Reveal,
    /// The same result had been recorded already (a retry): nothing changed.
    pub repeated: bool,
}

/// Sampling settings a chat request carries to the models.
#[derive(Debug, Clone, Default)]
pub struct ChatOptions {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

impl Arena {
    fn caller_hash(&self, caller: &str) -> Result<String> {
        self.user_hash(Some(caller))?
            .ok_or_else(|| Error::Internal("no caller".into()))
    }

    /// The caller's battle under `rpid`, or its latest.
    async fn caller_battle(&self, hash: &str, rpid: Option<&str>) -> Result<BattleRecord> {
        self.store
            .chat_battle(hash.to_owned(), rpid.map(str::to_owned))
            .await?
            .ok_or_else(|| {
                Error::NotFound(match rpid {
                    Some(r) => format!("no battle `{r}` of yours: start it with $sA{r}"),
                    None => "no battle of yours yet: start one with $sA<id> and a question".into(),
                })
            })
    }

    /// Answers as `side` of the caller's battle `rpid` (or latest), starting it first when
    /// `start` (the same RPID started again is the same battle). `conversation` is the whole
    /// conversation, commands taken out of its user messages.
    pub async fn chat_answer(
        &self,
        caller: &str,
        rpid: Option<&str>,
        start: bool,
        side: Side,
        conversation: Vec<Message>,
        options: ChatOptions,
    ) -> Result<ChatAnswer> {
        let hash = self.caller_hash(caller)?;
        let prompt = conversation
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(Message::text)
            .unwrap_or_default();
        let record = if start {
            let rpid = rpid.ok_or_else(|| Error::Input("a start needs its RPID".into()))?;
            if prompt.trim().is_empty() {
                return Err(Error::Input(
                    "a battle starts with a question after the command, such as $sA1 Write a \
                     haiku"
                        .into(),
                ));
            }
            match self
                .store
                .chat_battle(hash.clone(), Some(rpid.to_owned()))
                .await?
            {
                Some(existing) => existing,
                None => {
                    let (a, b) = {
                        let mut rng = rand::rng();
                        let (a, b) =
                            sampler::pick(&self.models().models, &Pairing::default(), &mut rng)?;
                        (a.name.clone(), b.name.clone())
                    };
                    self.store
                        .create_battle(NewBattle {
                            id: uuid::Uuid::now_v7(),
                            origin: Origin::Chat,
                            user_hash: Some(hash.clone()),
                            prompt: prompt.clone(),
                            prompt_id: None,
                            theme: "general".into(),
                            system: None,
                            model_a: a,
                            model_b: b,
                            rpid: Some(rpid.to_owned()),
                            now: self.now_ms(),
                            limits: Some(self.limits()),
                            open: true,
                        })
                        .await?
                }
            }
        } else {
            self.caller_battle(&hash, rpid).await?
        };
        let rpid = record_rpid(&record);
        match record.status {
            Status::PendingVote => {}
            Status::Completed => {
                return Err(Error::Input(format!(
                    "battle `{rpid}` has its result: start another with $sA<new id>"
                )));
            }
            Status::Failed | Status::PendingGeneration => {
                return Err(Error::Input(format!(
                    "battle `{rpid}` is closed: start another with $sA<new id>"
                )));
            }
        }
        let name = match side {
            Side::A => &record.a.model,
            Side::B => &record.b.model,
        };
        let model = self
            .models()
            .get(name)
            .ok_or_else(|| {
                Error::Input(format!(
                    "battle `{rpid}` stands on a model no longer in models.json: start another"
                ))
            })?
            .clone();
        let turn = i64::try_from(
            conversation
                .iter()
                .filter(|m| m.role == "user")
                .count()
                .saturating_sub(1),
        )
        .unwrap_or(0);
        let request = ChatRequest {
            messages: conversation,
            temperature: options.temperature,
            max_tokens: options.max_tokens,
        };
        let (tx, rx) = mpsc::channel(64);
        let mut upstream = self.upstream.stream(&model, &request);
        let store = self.store.clone();
        let id = record.id;
        tokio::spawn(async move {
            use futures_util::StreamExt;
            let mut text = String::new();
            let mut failed = false;
            loop {
                // A client that goes away ends the upstream request at once, even mid-silence.
                let item = tokio::select! {
                    item = upstream.next() => item,
                    () = tx.closed() => return,
                };
                let Some(item) = item else { break };
                failed |= item.is_err();
                if let Ok(Chunk::Delta(d)) = &item {
                    text.push_str(d);
                }
                // The client is gone: the upstream request ends with this task.
                if tx.send(item).await.is_err() {
                    return;
                }
            }
            // (Keys an upstream echoes are out already: see `provider::KeyFilter`.)
            if !failed
                && !text.is_empty()
                && let Err(e) = store
                    .record_turn(id, turn, side == Side::A, prompt, text)
                    .await
            {
                tracing::warn!("a chat answer could not be kept: {e}");
            }
        });
        Ok(ChatAnswer {
            battle_id: record.id,
            rpid,
            side,
            chunks: rx,
        })
    }

    /// Records the result of the caller's battle `rpid` (or latest). The same result again
    /// (a client's retry) is answered as the first was, without touching the ratings; another
    /// result is refused.
    pub async fn chat_result(
        &self,
        caller: &str,
        rpid: Option<&str>,
        winner: Winner,
    ) -> Result<ChatResult> {
        let hash = self.caller_hash(caller)?;
        let record = self.caller_battle(&hash, rpid).await?;
        let rpid = record_rpid(&record);
        if record.status == Status::PendingVote
            && record.a.response.is_none()
            && record.b.response.is_none()
        {
            return Err(Error::Input(format!(
                "battle `{rpid}` has no answer yet: ask with $A{rpid} or $B{rpid} first"
            )));
        }
        let voted = match self.vote_as(record.id, winner, Some(hash)).await {
            Ok(reveal) => {
                return Ok(ChatResult {
                    rpid,
                    reveal,
                    repeated: false,
                });
            }
            // Read again: the vote may have come from a request racing this one.
            Err(Error::AlreadyVoted(id)) => (self.store.battle(id).await?, id),
            Err(e) => return Err(e),
        };
        match voted {
            (record, _) if record.winner == Some(winner) => Ok(ChatResult {
                rpid,
                reveal: Reveal {
                    battle_id: record.id.to_string(),
                    status: Status::Completed,
                    winner,
                    model_a: record.a.model.clone(),
                    model_b: record.b.model.clone(),
                    elo: crate::battle::EloChanges {
                        model_a: crate::battle::RatingChange {
                            rating_before: f64::NAN,
                            rating_after: f64::NAN,
                        },
                        model_b: crate::battle::RatingChange {
                            rating_before: f64::NAN,
                            rating_after: f64::NAN,
                        },
                    },
                    left_out: record.left_out,
                    identity_leak: record.identity_leak.clone(),
                    label_a: record.a.model.clone(),
                    label_b: record.b.model.clone(),
                },
                repeated: true,
            }),
            (_, id) => Err(Error::AlreadyVoted(id)),
        }
    }
}

fn record_rpid(r: &BattleRecord) -> String {
    r.rpid.clone().unwrap_or_else(|| r.id.to_string())
}
