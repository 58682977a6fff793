//! A battle's generation: both sides requested at once, streamed, and stored in a final state
//! whatever happens. `spawn` runs it on a task of its own and hands out a `BattleRun`: the
//! progress as events, and the end. A watcher that goes away (a closed terminal, a client
//! that disconnects) changes nothing: the battle still ends `pending_vote` or `failed`.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::battle::{BattleId, BattleRecord, BattleView, Side, Status};
use crate::config::ModelSpec;
use crate::error::{Error, Result, UpstreamError, UpstreamKind};
use crate::provider::{ChatRequest, Chunk, Upstream};
use crate::store::{AnyStore, Failure, SideOutcome, Store, VoteStyle};

/// Progress of a running battle.
#[derive(Debug, Clone, PartialEq)]
pub enum BattleEvent {
    /// More text from one side.
    Delta { side: Side, text: String },
    /// One side finished, with an error when it failed.
    SideDone {
        side: Side,
        error: Option<String>,
        elapsed: Duration,
        /// Why the upstream ended its answer (`stop`, `length`, ...), when it said.
        finish_reason: Option<String>,
    },
}

/// Progress events a battle holds for a watcher that is behind: a watcher that falls behind
/// slows the stream down instead of piling its text up in memory. A watcher must read the
/// events or drop the run.
const EVENTS: usize = 256;

/// A battle being generated: its id, its progress events, and its end.
#[derive(Debug)]
pub struct BattleRun {
    pub battle_id: BattleId,
    pub prompt: String,
    pub theme: String,
    events: mpsc::Receiver<BattleEvent>,
    done: oneshot::Receiver<Result<BattleRecord>>,
}

impl BattleRun {
    /// The next progress event; `None` once both sides are done.
    pub async fn next_event(&mut self) -> Option<BattleEvent> {
        self.events.recv().await
    }

    /// Waits for the battle to be stored in its final state (`pending_vote` or `failed`) and
    /// returns the blinded view.
    pub async fn finish(self) -> Result<BattleView> {
        let record = self
            .done
            .await
            .map_err(|_| Error::Internal("the battle task ended without a result".into()))??;
        Ok(BattleView::of(&record))
    }
}

/// What a generation needs.
pub(crate) struct Generation {
    pub id: BattleId,
    pub prompt: String,
    pub theme: String,
    pub a: ModelSpec,
    pub b: ModelSpec,
    pub chat: ChatRequest,
    /// The longest the whole generation may take.
    pub limit: Duration,
}

/// Generates both sides on a task of its own and stores the outcome.
pub(crate) fn spawn(
    store: AnyStore,
    upstream: Upstream,
    tasks: &tokio_util::task::TaskTracker,
    g: Generation,
) -> BattleRun {
    let (events_tx, events) = mpsc::channel(EVENTS);
    let (done_tx, done) = oneshot::channel();
    let Generation {
        id,
        prompt,
        theme,
        a,
        b,
        chat,
        limit,
    } = g;
    tasks.spawn(async move {
        let side_a = generate(&upstream, &a, &chat, Side::A, &events_tx, limit);
        let side_b = generate(&upstream, &b, &chat, Side::B, &events_tx, limit);
        let (out_a, out_b) = tokio::join!(side_a, side_b);
        drop(events_tx);
        let result = match store.finish_generation(id, out_a, out_b).await {
            Ok(record) => {
                if record.status == Status::PendingVote {
                    keep_style(&store, id).await;
                }
                Ok(record)
            }
            // Whatever went wrong in storing the answers, the battle ends in a definite
            // state, with the reason kept.
            Err(e) => {
                let reason = format!("the answers could not be stored: {e}");
                match store.fail_generating(id, Failure::Store, reason).await {
                    Ok(()) => store.battle(id).await,
                    Err(_) => Err(e),
                }
            }
        };
        let _ = done_tx.send(result);
    });
    BattleRun {
        battle_id: id,
        prompt,
        theme,
        events,
        done,
    }
}

/// Counts the style features and categories of a battle whose answers are all in, on a
/// blocking thread, and keeps them on it: its vote then takes them instead of counting them
/// (with the tokenizer that takes a process tens of milliseconds to build) in its
/// transaction. Nothing is lost when this fails or comes too late: the vote counts them.
pub(crate) async fn keep_style(store: &AnyStore, id: BattleId) {
    let state = match store.chat_state(id).await {
        Ok(state) if state.record.status == Status::PendingVote => state,
        Ok(_) => return,
        Err(e) => {
            tracing::debug!("the style of battle {id} was not counted: {e}");
            return;
        }
    };
    let turn = state.latest();
    let style = match tokio::task::spawn_blocking(move || VoteStyle::of_turns(&state.turns)).await {
        Ok(style) => style,
        Err(e) => {
            tracing::debug!("the style of battle {id} was not counted: {e}");
            return;
        }
    };
    if let Err(e) = store.keep_style(id, turn, style).await {
        tracing::debug!("the style of battle {id} was not kept: {e}");
    }
}

/// Generates one side, forwarding its text as events. Never fails: the outcome carries the
/// error, so the battle always reaches a final state.
pub(crate) async fn generate(
    upstream: &Upstream,
    model: &ModelSpec,
    chat: &ChatRequest,
    side: Side,
    events: &mpsc::Sender<BattleEvent>,
    limit: Duration,
) -> SideOutcome {
    let started = Instant::now();
    let mut text = String::new();
    let mut first_token = None;
    let mut usage = None;
    let mut finish_reason = None;
    let mut stream = upstream.stream(model, chat);
    let consumed = tokio::time::timeout(limit, async {
        while let Some(item) = stream.next().await {
            match item? {
                Chunk::Delta(delta) => {
                    first_token.get_or_insert_with(|| started.elapsed());
                    text.push_str(&delta);
                    let _ = events.send(BattleEvent::Delta { side, text: delta }).await;
                }
                Chunk::Usage(u) => usage = Some(u),
                Chunk::Finish(reason) => finish_reason = Some(reason),
            }
        }
        Ok::<(), UpstreamError>(())
    })
    .await;
    let (error, failure) = match consumed {
        Err(_) => (
            Some(
                UpstreamError::of_model(
                    UpstreamKind::Timeout,
                    &format!(
                        "no complete answer within {} s (generation_timeout_seconds in \
                         config.jsonc)",
                        limit.as_secs()
                    ),
                    &model.name,
                    "",
                    "",
                )
                .message,
            ),
            Some(Failure::Timeout),
        ),
        Ok(Err(e)) => (Some(e.message), Some(Failure::Upstream)),
        Ok(Ok(())) if text.trim().is_empty() => (
            Some(
                UpstreamError::of_model(
                    UpstreamKind::BadAnswer,
                    "the answer is empty",
                    &model.name,
                    "",
                    "",
                )
                .message,
            ),
            Some(Failure::Upstream),
        ),
        Ok(Ok(())) => (None, None),
    };
    let elapsed = started.elapsed();
    let _ = events
        .send(BattleEvent::SideDone {
            side,
            error: error.clone(),
            elapsed,
            finish_reason: finish_reason.clone(),
        })
        .await;
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let as_i64 = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    // Without the upstream's count, an estimate from the text (see
    // `wire::estimate_tokens`), never the number of chunks.
    let estimate = crate::provider::wire::estimate_tokens(&text);
    SideOutcome {
        finish_reason,
        response: (!text.is_empty()).then_some(text),
        error,
        failure,
        latency_ms: Some(ms(elapsed)),
        first_token_ms: first_token.map(ms),
        prompt_tokens: as_i64(usage.and_then(|u| u.prompt_tokens)),
        completion_tokens: as_i64(usage.and_then(|u| u.completion_tokens))
            .or_else(|| as_i64(Some(estimate))),
    }
}
