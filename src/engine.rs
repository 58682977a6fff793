//! [`Arena`]: the one façade that the command line and the server both call.
//!
//! It owns the store, the configuration, the model pool and the upstream client. It is
//! `Send + Sync` and cheap to clone; battles run on tasks of their own and hand their progress
//! out as a value ([`BattleRun`]), so a front end renders it however it likes, and a battle
//! whose watcher goes away still ends in a definite state.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::battle::sampler::{self, Pairing};
use crate::battle::{
    BattleId, BattleRecord, BattleView, EloChanges, Origin, RatingChange, Reveal, Status, Winner,
};
use crate::config::{Config, Models};
use crate::error::{Error, Result};
use crate::provider::{ChatRequest, Chunk, Message, Upstream};
use crate::rating::elo::{self, EloParams};
use crate::rating::{Leaderboard, LeaderboardOptions};
use crate::store::{BattleFilter, NewBattle, Prompt, SideOutcome, Store, VoteFilter};
use crate::transfer::{self, battles::InputFormat, battles::Mapping};

/// What `import` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub imported: u64,
    /// Records already imported earlier.
    pub duplicates: u64,
    pub skipped: transfer::battles::Skips,
    pub seconds: f64,
}

/// The arena engine.
#[derive(Debug, Clone)]
pub struct Arena {
    store: Store,
    config: Arc<Config>,
    models: Arc<Models>,
    upstream: Upstream,
    /// The key that hashes user ids; `None` for a store that only reads.
    user_key: Option<Arc<crate::config::Secret>>,
}

/// Where a battle's prompt comes from.
#[derive(Debug, Clone)]
pub enum PromptSource {
    /// Text given by the caller.
    Text(String),
    /// A random prompt from the pool, optionally of one theme.
    Random { theme: Option<String> },
}

/// A battle to start.
#[derive(Debug, Clone)]
pub struct BattleRequest {
    pub prompt: PromptSource,
    pub system: Option<String>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    pub pairing: Pairing,
    /// The caller's id (e.g. `discord:123`); stored only as a salted hash.
    pub user: Option<String>,
    pub origin: Origin,
}

/// Side A or side B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Side::A => "Assistant A",
            Side::B => "Assistant B",
        }
    }
}

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
    },
}

/// Progress events a battle holds for a watcher that is behind.
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

impl Arena {
    /// The engine over an open store. For a store that writes, the user-id key is settled
    /// first (see [`crate::user_key`]): `user_id_salt`, else the database's key file, and it
    /// must be the key its users were hashed with.
    pub async fn new(store: Store, config: Config, models: Models) -> Result<Arena> {
        let upstream = Upstream::new(&config)?;
        let user_key = if store.mode() == crate::store::Mode::Read {
            None
        } else if config.user_id_salt.is_empty() {
            let (key, file) =
                crate::user_key::load_or_create(store.database_id(), store.legacy_salt())?;
            if store.legacy_salt().is_some() {
                store.forget_legacy_salt().await?;
            }
            store
                .confirm_user_key(
                    key.expose().to_owned(),
                    format!("the user-id key in {}", file.display()),
                )
                .await?;
            Some(key)
        } else {
            let key = config.user_id_salt.clone();
            store
                .confirm_user_key(
                    key.expose().to_owned(),
                    "user_id_salt in config.jsonc".to_owned(),
                )
                .await?;
            Some(key)
        };
        Ok(Arena {
            store,
            config: Arc::new(config),
            models: Arc::new(models),
            upstream,
            user_key: user_key.map(Arc::new),
        })
    }

    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn models(&self) -> &Models {
        &self.models
    }

    #[must_use]
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Ends stale battles per the configuration (`pending_vote_expiry_minutes`, and
    /// `generation_timeout_seconds` with a minute's grace), so none stays pending for ever.
    pub async fn expire_stale(&self) -> Result<usize> {
        let minutes =
            i64::try_from(self.config.pending_vote_expiry_minutes).unwrap_or(i64::MAX / 120_000);
        let seconds =
            i64::try_from(self.config.generation_timeout_seconds).unwrap_or(i64::MAX / 2000);
        self.store
            .expire(
                crate::store::now_ms(),
                minutes.saturating_mul(60_000),
                seconds.saturating_add(60).saturating_mul(1000),
            )
            .await
    }

    /// The key that hashes user ids; only a store that writes has one.
    fn user_key(&self) -> Result<&str> {
        self.user_key
            .as_ref()
            .map(|k| k.expose())
            .ok_or_else(|| Error::Internal("no user-id key: the store was opened to read".into()))
    }

    fn user_hash(&self, user: Option<&str>) -> Result<Option<String>> {
        user.map(|u| Ok(crate::util::hash_user(self.user_key()?, u)))
            .transpose()
    }

    /// Starts a battle: draws two models, records the battle, and generates both answers
    /// concurrently on a task of its own. Errors here (empty prompt, unknown model, empty
    /// pool) leave the database unchanged.
    pub async fn start_battle(&self, request: BattleRequest) -> Result<BattleRun> {
        self.expire_stale().await?;
        let (prompt, prompt_id, theme) = match request.prompt {
            PromptSource::Text(text) => (text, None, "general".to_owned()),
            PromptSource::Random { theme } => {
                let pool = self.store.prompts(theme.clone()).await?;
                if pool.is_empty() {
                    let scope = theme.map_or_else(String::new, |t| format!(" of theme `{t}`"));
                    return Err(Error::Input(format!(
                        "the prompt pool has no prompts{scope}: add some with \
                         `arena prompts add` or `arena prompts import FILE`"
                    )));
                }
                let pick = {
                    use rand::seq::IndexedRandom;
                    pool.choose(&mut rand::rng()).cloned()
                };
                let Prompt { id, text, theme } =
                    pick.ok_or_else(|| Error::Internal("empty prompt pool".into()))?;
                (text, Some(id), theme)
            }
        };
        let limit = self.config.max_prompt_bytes;
        if prompt.len() as u64 > limit {
            return Err(Error::Input(format!(
                "the prompt is {} bytes, more than the {limit} allowed (max_prompt_bytes in \
                 config.jsonc)",
                prompt.len()
            )));
        }
        if prompt.trim().is_empty() {
            return Err(Error::Input(
                "the prompt is empty: give the question as an argument, with --prompt-file, \
                 on stdin, or use --random-prompt"
                    .into(),
            ));
        }
        let (a, b) = {
            let mut rng = rand::rng();
            let (a, b) = sampler::pick(&self.models.models, &request.pairing, &mut rng)?;
            (a.clone(), b.clone())
        };
        let id = uuid::Uuid::now_v7();
        self.store
            .create_battle(NewBattle {
                id,
                origin: request.origin,
                user_hash: self.user_hash(request.user.as_deref())?,
                prompt: prompt.clone(),
                prompt_id,
                theme: theme.clone(),
                system: request.system.clone(),
                model_a: a.name.clone(),
                model_b: b.name.clone(),
            })
            .await?;

        let mut messages = Vec::new();
        if let Some(system) = &request.system {
            messages.push(Message::new("system", system));
        }
        messages.push(Message::new("user", &prompt));
        let chat = ChatRequest {
            messages,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
        };
        // Bounded: a watcher that falls behind slows the stream down instead of piling up
        // its text in memory.
        let (events_tx, events) = mpsc::channel(EVENTS);
        let (done_tx, done) = oneshot::channel();
        let limit = Duration::from_secs(self.config.generation_timeout_seconds.max(1));
        let (store, upstream) = (self.store.clone(), self.upstream.clone());
        tokio::spawn(async move {
            let side_a = generate(&upstream, &a, &chat, Side::A, &events_tx, limit);
            let side_b = generate(&upstream, &b, &chat, Side::B, &events_tx, limit);
            let (out_a, out_b) = tokio::join!(side_a, side_b);
            drop(events_tx);
            let result = match store.finish_generation(id, out_a, out_b).await {
                Ok(record) => Ok(record),
                // Whatever went wrong in storing the answers, the battle ends in a definite
                // state, with the reason kept.
                Err(e) => {
                    let reason = format!("the answers could not be stored: {e}");
                    match store.fail_generating(id, reason).await {
                        Ok(()) => store.battle(id).await,
                        Err(_) => Err(e),
                    }
                }
            };
            let _ = done_tx.send(result);
        });
        Ok(BattleRun {
            battle_id: id,
            prompt,
            theme,
            events,
            done,
        })
    }

    /// Records a vote and reveals the models with their rating change (online Elo).
    pub async fn vote(&self, id: BattleId, winner: Winner, user: Option<&str>) -> Result<Reveal> {
        self.expire_stale().await?;
        let record = self
            .store
            .record_vote(id, winner, self.user_hash(user)?)
            .await?;
        self.reveal(&record, winner).await
    }

    async fn reveal(&self, record: &BattleRecord, winner: Winner) -> Result<Reveal> {
        let before = self
            .store
            .votes(VoteFilter {
                before: Some(record.id),
                ..VoteFilter::default()
            })
            .await?;
        let params = self.elo_params();
        let mut ratings = elo::online(before.names.len(), &before.votes, &params);
        let index = |name: &str| before.names.iter().position(|n| n == name);
        let (ia, ib) = match (index(&record.a.model), index(&record.b.model)) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(Error::Internal(
                    "a voted model is missing from the store".into(),
                ));
            }
        };
        let (ra, rb) = (ratings[ia], ratings[ib]);
        if let Some(score) = winner.score_a() {
            elo::update(&mut ratings, ia, ib, score, &params);
        }
        let label = |name: &str| {
            self.models
                .get(name)
                .map_or_else(|| name.to_owned(), crate::config::ModelSpec::display_name)
        };
        Ok(Reveal {
            battle_id: record.id.to_string(),
            winner,
            status: Status::Completed,
            model_a: record.a.model.clone(),
            model_b: record.b.model.clone(),
            elo: EloChanges {
                model_a: RatingChange {
                    rating_before: ra,
                    rating_after: ratings[ia],
                },
                model_b: RatingChange {
                    rating_before: rb,
                    rating_after: ratings[ib],
                },
            },
            label_a: label(&record.a.model),
            label_b: label(&record.b.model),
        })
    }

    /// Online Elo parameters from the configuration.
    #[must_use]
    pub fn elo_params(&self) -> EloParams {
        EloParams {
            k: self.config.elo.k,
            initial: self.config.elo.initial,
            ..EloParams::default()
        }
    }

    /// One battle, blinded until it has a vote.
    pub async fn battle(&self, id: BattleId) -> Result<BattleView> {
        Ok(BattleView::of(&self.store.battle(id).await?))
    }

    /// Battles, newest first, blinded until voted.
    pub async fn battles(&self, filter: BattleFilter) -> Result<Vec<BattleView>> {
        Ok(self
            .store
            .battles(filter)
            .await?
            .iter()
            .map(BattleView::of)
            .collect())
    }

    /// Ends a battle that is still generating, as `failed` with the reason kept.
    pub async fn cancel(&self, id: BattleId) -> Result<()> {
        self.store
            .fail_generating(id, "cancelled before both answers were in".into())
            .await
    }

    /// Clears battles stuck in `pending_generation`, for one user or all; returns how many.
    pub async fn unstuck(&self, user: Option<&str>) -> Result<usize> {
        self.store
            .unstuck(
                self.user_hash(user)?,
                "cleared by unstuck before generation finished".into(),
            )
            .await
    }

    /// Imports a battle log (SPEC §2 `arena import`). Parsing runs on a thread of its own
    /// while the store writes the previous chunk; `progress` gets the bytes read so far.
    pub async fn import(
        &self,
        path: &Path,
        format: InputFormat,
        mapping: &Mapping,
        progress: impl Fn(u64) + Send + 'static,
    ) -> Result<ImportSummary> {
        let started = Instant::now();
        let (tx, mut rx) = mpsc::channel::<transfer::battles::Chunk>(2);
        let owned = path.to_owned();
        let mapping = mapping.clone();
        let reader = tokio::task::spawn_blocking(move || {
            transfer::battles::read(&owned, format, &mapping, |chunk| {
                tx.blocking_send(chunk)
                    .map_err(|_| Error::Internal("the import writer stopped".into()))
            })
        });
        let mut summary = ImportSummary {
            file: path.display().to_string(),
            imported: 0,
            duplicates: 0,
            skipped: transfer::battles::Skips::default(),
            seconds: 0.0,
        };
        let mut failure = None;
        let mut known = Some(self.store.known_import_keys().await?);
        while let Some(chunk) = rx.recv().await {
            let bytes = chunk.bytes_read;
            let keys = known.take().unwrap_or_default();
            match self
                .store
                .import_chunk(chunk, self.user_key()?.to_owned(), keys)
                .await
            {
                Ok((count, keys)) => {
                    known = Some(keys);
                    summary.imported += count.imported;
                    summary.duplicates += count.duplicates;
                    progress(bytes);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(rx);
        let read = reader
            .await
            .map_err(|e| Error::Internal(format!("the import reader failed: {e}")))?;
        if let Some(e) = failure {
            return Err(e);
        }
        summary.skipped = read?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// The leaderboard over the votes that pass `filter`.
    pub async fn leaderboard(
        &self,
        options: &LeaderboardOptions,
        filter: VoteFilter,
    ) -> Result<Leaderboard> {
        options.check().map_err(Error::Input)?;
        let votes = self.store.votes(filter).await?;
        if let Some((name, _)) = &options.anchor
            && !votes.names.contains(name)
        {
            let hint = crate::config::nearest(name, votes.names.iter().map(String::as_str))
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(Error::Input(format!(
                "anchor model `{name}` is not in this database{hint}"
            )));
        }
        Ok(crate::rating::leaderboard::compute(
            crate::rating::leaderboard::Data::Votes(&votes),
            options,
            crate::util::now_rfc3339(),
        ))
    }
}

/// Generates one side, forwarding its text as events. Never fails: the outcome carries the
/// error, so the battle always reaches a final state.
async fn generate(
    upstream: &Upstream,
    model: &crate::config::ModelSpec,
    chat: &ChatRequest,
    side: Side,
    events: &mpsc::Sender<BattleEvent>,
    limit: Duration,
) -> SideOutcome {
    let started = Instant::now();
    let mut text = String::new();
    let mut first_token = None;
    let mut usage = None;
    let mut chunks = 0i64;
    let mut stream = upstream.stream(model, chat);
    let consumed = tokio::time::timeout(limit, async {
        while let Some(item) = stream.next().await {
            match item? {
                Chunk::Delta(delta) => {
                    first_token.get_or_insert_with(|| started.elapsed());
                    chunks += 1;
                    text.push_str(&delta);
                    let _ = events.send(BattleEvent::Delta { side, text: delta }).await;
                }
                Chunk::Usage(u) => usage = Some(u),
            }
        }
        Ok::<(), crate::provider::UpstreamError>(())
    })
    .await;
    let error = match consumed {
        Err(_) => Some(format!(
            "no complete answer within {} s (generation_timeout_seconds in config.jsonc) {}",
            limit.as_secs(),
            crate::provider::who(&model.name, "")
        )),
        Ok(Err(e)) => Some(e.message),
        Ok(Ok(())) if text.trim().is_empty() => Some(format!(
            "the answer is empty {}",
            crate::provider::who(&model.name, "")
        )),
        Ok(Ok(())) => None,
    };
    let elapsed = started.elapsed();
    let _ = events
        .send(BattleEvent::SideDone {
            side,
            error: error.clone(),
            elapsed,
        })
        .await;
    // An upstream that echoes the key it was sent never gets it stored.
    for key in Upstream::key_values(model) {
        if key.len() >= 4 && text.contains(&key) {
            text = text.replace(&key, "[redacted]");
        }
    }
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let as_i64 = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    SideOutcome {
        response: (!text.is_empty()).then_some(text),
        error,
        latency_ms: Some(ms(elapsed)),
        first_token_ms: first_token.map(ms),
        prompt_tokens: as_i64(usage.and_then(|u| u.prompt_tokens)),
        completion_tokens: as_i64(usage.and_then(|u| u.completion_tokens)).or(Some(chunks)),
    }
}
