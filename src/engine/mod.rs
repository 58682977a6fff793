//! [`Arena`]: the one façade that the command line and the server both call.
//!
//! It owns the store, the configuration, the model pool and the upstream client. It is
//! `Send + Sync` and cheap to clone, and it is made for many callers at once: a vote costs
//! the same whatever the history (the store keeps running counts and online Elo), a
//! leaderboard reads the counts rather than the votes where they suffice, runs its fit on a
//! blocking thread and is cached until the next vote, with one computation at a time per
//! question, so a thousand simultaneous requests cost one fit. Battles run on tasks of their
//! own and hand their progress out as a value ([`BattleRun`]).
//!
//! Housekeeping is explicit: [`Arena::expire_stale`] ends stale battles when a caller (a
//! command, the server's timer) says so; nothing on a read path writes.

pub mod chat;
pub mod pool;
pub mod run;
pub mod sampler;
pub mod user_key;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OnceCell, mpsc};
use tokio::time::Instant;

use self::run::{BattleRun, Generation};
use crate::battle::identity::IdentityTerms;
use crate::battle::{
    BattleId, BattleView, EloChanges, LeftOutCounts, Origin, RatingChange, Reveal, Status,
    VoteFlags, Winner,
};
use crate::config::{Config, Models, Secret, Setup, Tier};
use crate::error::{Error, Result};
use crate::provider::{ChatRequest, Message, Upstream};
use crate::rating::elo::EloParams;
use crate::rating::glicko2::{Glicko2Params, Glicko2State, parse_period};
use crate::rating::leaderboard::{self, Data, Glicko2View};
use crate::rating::stats::{self, Matrices, PromptStatistics};
use crate::rating::{Leaderboard, LeaderboardOptions, Method};
use crate::store::{
    AnyStore, BattleFilter, CountFilter, ExportedVote, Failure, Mode, NewBattle, Prompt, Store,
    VoteFilter,
};
use crate::transfer::battles::{InputFormat, Mapping, Skips};
use sampler::Pairing;

/// What `import` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub imported: u64,
    /// Records already imported earlier.
    pub duplicates: u64,
    pub skipped: Skips,
    pub seconds: f64,
}

/// A category's line of `arena leaderboard --categories`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CategoryTop {
    pub category: String,
    /// Votes of the category's board.
    pub votes: u64,
    /// The model ranked first within the category.
    pub top_model: Option<String>,
    /// Its rank on the board of all the selected votes.
    pub overall_rank: Option<usize>,
}

/// Which votes a leaderboard or a matrix is over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selection {
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    /// Only battles on prompts of this theme.
    pub theme: Option<String>,
    /// Only battles between models of this tier of `models.json`.
    pub tier: Option<Tier>,
    /// Votes whose answers named a model count too (they are left out by default).
    pub include_identity_leaks: bool,
    /// Side-by-side votes, cast with the models named, count too (left out by default).
    pub include_named: bool,
    /// Only votes in every one of these categories (`coding`, `language:en`, ...).
    pub categories: Vec<String>,
    /// No vote in any of these categories.
    pub exclude_categories: Vec<String>,
}

impl Selection {
    /// Whether anything is selected out.
    #[must_use]
    pub fn any(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || self.theme.is_some()
            || self.tier.is_some()
            || !self.categories.is_empty()
            || !self.exclude_categories.is_empty()
    }

    /// The left-out votes this selection takes as well.
    #[must_use]
    pub fn admit(&self) -> VoteFlags {
        let mut admit = VoteFlags::NONE;
        if self.include_identity_leaks {
            admit = admit.union(VoteFlags::IDENTITY_LEAK);
        }
        if self.include_named {
            admit = admit.union(VoteFlags::NAMED);
        }
        admit
    }
}

/// The arena engine.
#[derive(Clone)]
pub struct Arena {
    pub(crate) store: AnyStore,
    config: Arc<Config>,
    models: Arc<Models>,
    pub(crate) upstream: Upstream,
    /// The key that hashes user ids; `None` for a store that only reads.
    user_key: Option<Arc<Secret>>,
    /// What marks a battle's answers as naming a model, checked at its vote.
    identity: Arc<IdentityTerms>,
    boards: Arc<BoardCache>,
    /// Glicko-2 kept vote by vote for the leaderboards of every vote.
    /// One per set of left-out votes admitted (none by default; identity leaks when asked).
    glicko2: Arc<tokio::sync::Mutex<HashMap<VoteFlags, Glicko2Keeper>>>,
    clock: Clock,
    /// Every task the engine (or the server on its behalf) spawns that may outlive the
    /// request that started it: a server that stops waits for them.
    pub(crate) tasks: tokio_util::task::TaskTracker,
    /// The turns of chat battles being generated now.
    pub(crate) live: Arc<crate::engine::chat::LiveTurns>,
    /// The last `/health` figures and when they were counted: counting passes over the
    /// battles, so it is done at most once a second however often `/health` is asked.
    health: Arc<tokio::sync::Mutex<Option<(i64, Health)>>>,
    /// The last `/api/prompt_statistics` and the votes version it counted: a pass over
    /// every vote, so done once per version, one at a time.
    prompt_stats: Arc<tokio::sync::Mutex<Option<(i64, bool, PromptStatistics)>>>,
    /// Whether the server is shared (keys, or a bind beyond this machine) rather than one
    /// person's: the defaults of the per-user limits follow it. Kept by the server, which
    /// sees keys come and go.
    shared: Arc<std::sync::atomic::AtomicBool>,
}

/// The Glicko-2 rating period of `options.now_ms`: periodic ratings change when one ends,
/// votes or not.
fn glicko2_period(options: &LeaderboardOptions) -> i64 {
    options.now_ms.div_euclid(options.glicko2.period_ms.max(1))
}

/// How long counted `/health` figures are answered again.
const HEALTH_TTL_MS: i64 = 1_000;

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("store", &self.store)
            .field("config", &self.config)
            .field("models", &self.models.path)
            .finish_non_exhaustive()
    }
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
    /// Whether the per-user limits of the configuration apply (the server's battles).
    pub limited: bool,
    /// The in-chat id of a battle started from a chat client.
    pub rpid: Option<String>,
}

/// The engine's clock, which its store reads too (see [`Arena::with_clock`]).
pub use crate::store::Clock;

/// The figures of `/health`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Health {
    pub models_count: usize,
    pub fixed_prompts_count: u64,
    pub recorded_users_count: u64,
    pub completed_battles_count: u64,
}

impl Arena {
    /// The engine over an open store. For a store that writes, the user-id key is settled
    /// first (see [`crate::engine::user_key`]): `user_id_salt`, else the database's key file, and it
    /// must be the key its users were hashed with.
    pub async fn new(store: AnyStore, config: Config, models: Models) -> Result<Arena> {
        let upstream = Upstream::new(&config)?;
        let user_key = if store.mode() == Mode::Read {
            None
        } else if config.user_id_salt.is_empty() {
            let (key, file) =
                crate::engine::user_key::load_or_create(store.database_id(), store.legacy_salt())?;
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
        let identity = IdentityTerms::new(
            config.identity_leak.words.iter().map(String::as_str),
            config.identity_leak.pool_names,
            models.models.iter().flat_map(|m| {
                std::iter::once(m.name.as_str()).chain(m.endpoints.iter().map(|e| e.model.as_str()))
            }),
        );
        Ok(Arena {
            clock: store.clock(),
            store,
            identity: Arc::new(identity),
            config: Arc::new(config),
            models: Arc::new(models),
            upstream,
            user_key: user_key.map(Arc::new),
            boards: Arc::new(BoardCache::default()),
            glicko2: Arc::default(),
            tasks: tokio_util::task::TaskTracker::new(),
            live: Arc::default(),
            health: Arc::default(),
            prompt_stats: Arc::default(),
            shared: Arc::new(std::sync::atomic::AtomicBool::new(true)),
        })
    }

    /// The tasks running now that outlive their request (generations, notes of a key's use).
    #[must_use]
    pub fn tasks_running(&self) -> usize {
        self.tasks.len()
    }

    /// Waits until no such task runs. New ones may still start (and are waited for too).
    pub async fn tasks_done(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }

    /// Runs `task` on a task of its own that a stopping server waits for.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Closes the store: the database file is left complete on its own. Other clones of the
    /// engine can no longer use it.
    pub async fn close(self) -> Result<()> {
        self.store.close().await
    }

    /// The engine with another clock (for tests of time limits), which its store reads too:
    /// every time the engine decides and every time the store writes come from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Arena {
        self.store = self.store.with_clock(clock.clone());
        self.clock = clock;
        self
    }

    /// Now, by the engine's clock (Unix milliseconds).
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    #[must_use]
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Ends stale battles per the configuration (`pending_vote_expiry_minutes`, and
    /// `generation_timeout_seconds` with a minute's grace), so none stays pending for ever.
    /// Returns how many.
    pub async fn expire_stale(&self) -> Result<usize> {
        let minutes =
            i64::try_from(self.config.pending_vote_expiry_minutes).unwrap_or(i64::MAX / 120_000);
        let seconds =
            i64::try_from(self.config.generation_timeout_seconds).unwrap_or(i64::MAX / 2000);
        self.store
            .expire(
                self.now_ms(),
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

    pub(crate) fn user_hash(&self, user: Option<&str>) -> Result<Option<String>> {
        user.map(|u| Ok(crate::util::hash_user(self.user_key()?, u)))
            .transpose()
    }

    /// A prompt drawn at random from the pool, of `theme` or any.
    pub(crate) async fn random_prompt(&self, theme: Option<String>) -> Result<Prompt> {
        let pool = self.store.prompts(theme.clone()).await?;
        let pick = {
            use rand::seq::IndexedRandom;
            pool.choose(&mut rand::rng()).cloned()
        };
        pick.ok_or_else(|| {
            let scope = theme.map_or_else(String::new, |t| format!(" of theme `{t}`"));
            // The fix in the message itself: a server's client sees it too.
            Error::Input(format!(
                "the prompt pool has no prompts{scope}: add them with `arena prompts import \
                 FILE` (or `arena prompts add TEXT`), or give the prompt (`custom_prompt` \
                 over HTTP)"
            ))
        })
    }

    /// Starts a battle: draws two models, records the battle, and generates both answers
    /// concurrently on a task of its own. Errors here (empty prompt, unknown model, empty
    /// pool) leave the database unchanged.
    pub async fn start_battle(&self, request: BattleRequest) -> Result<BattleRun> {
        let (prompt, prompt_id, theme) = match request.prompt {
            PromptSource::Text(text) => (text, None, "general".to_owned()),
            PromptSource::Random { theme } => {
                let Prompt { id, text, theme } = self.random_prompt(theme).await?;
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
            return Err(Error::EmptyPrompt);
        }
        let standings = match request.pairing.tier_battle {
            Some(_) => self.standings().await?,
            None => Vec::new(),
        };
        let (a, b) = {
            let mut rng = rand::rng();
            let (a, b) = match request.pairing.tier_battle {
                Some(tier) => sampler::pick_tiered(
                    &self.models.models,
                    tier,
                    &standings,
                    &self.config.tiers,
                    &mut rng,
                )?,
                None => sampler::pick(&self.models.models, &request.pairing, &mut rng)?,
            };
            (a.clone(), b.clone())
        };
        let id = uuid::Uuid::now_v7();
        let limits = request.limited.then(|| self.limits());
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
                rpid: request.rpid.clone(),
                now: self.now_ms(),
                limits,
                prompt_content: None,
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
            sampling: serde_json::Map::new(),
        };
        Ok(run::spawn(
            self.store.clone(),
            self.upstream.clone(),
            &self.tasks,
            Generation {
                id,
                prompt,
                theme,
                a,
                b,
                chat,
                limit: Duration::from_secs(self.config.generation_timeout_seconds.max(1)),
            },
        ))
    }

    /// Records a vote and reveals the models with their online Elo change. The cost does
    /// not grow with the number of votes. A battle whose answers name a model keeps its vote,
    /// left out of the ratings (see [`crate::battle::identity`]); the reveal says so.
    pub async fn vote(&self, id: BattleId, winner: Winner, user: Option<&str>) -> Result<Reveal> {
        self.vote_as(id, winner, self.user_hash(user)?).await
    }

    /// [`Arena::vote`] by the user with this hash.
    pub(crate) async fn vote_as(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
    ) -> Result<Reveal> {
        let outcome = self
            .store
            .record_vote_checked(
                id,
                winner,
                user_hash,
                self.elo_params(),
                (*self.identity).clone(),
            )
            .await?;
        Ok(self.reveal(&outcome.record, winner, outcome.elo_a, outcome.elo_b))
    }

    /// The reveal of a voted battle: its models, named for people, and the online Elo
    /// change of each (before, after).
    pub(crate) fn reveal(
        &self,
        record: &crate::battle::BattleRecord,
        winner: Winner,
        elo_a: (f64, f64),
        elo_b: (f64, f64),
    ) -> Reveal {
        let label = |name: &str| {
            self.models
                .get(name)
                .map_or_else(|| name.to_owned(), crate::config::ModelSpec::display_name)
        };
        let change = |(rating_before, rating_after): (f64, f64)| RatingChange {
            rating_before,
            rating_after,
        };
        Reveal {
            battle_id: record.id.to_string(),
            winner,
            status: Status::Completed,
            model_a: record.a.model.clone(),
            model_b: record.b.model.clone(),
            elo: EloChanges {
                model_a: change(elo_a),
                model_b: change(elo_b),
            },
            left_out: record.left_out,
            identity_leak: record.identity_leak.clone(),
            label_a: label(&record.a.model),
            label_b: label(&record.b.model),
        }
    }

    /// Says who the server is for now (see [`Setup`]): the per-user limits the config
    /// leaves unset take that setup's defaults. A new engine is [`Setup::Shared`].
    pub fn set_setup(&self, setup: Setup) {
        self.shared
            .store(setup == Setup::Shared, std::sync::atomic::Ordering::Relaxed);
    }

    /// Who the server is for, as last set.
    #[must_use]
    pub fn setup(&self) -> Setup {
        if self.shared.load(std::sync::atomic::Ordering::Relaxed) {
            Setup::Shared
        } else {
            Setup::Personal
        }
    }

    /// The per-user limits of the configuration, for the server's setup.
    pub(crate) fn limits(&self) -> crate::store::Limits {
        let c = &self.config;
        let l = c.limits_for(self.setup());
        crate::store::Limits {
            concurrent: l.concurrent,
            per_hour: l.per_hour,
            interval_ms: i64::try_from(l.interval_seconds)
                .unwrap_or(i64::MAX / 1000)
                .saturating_mul(1000),
        }
    }

    /// The models' standings for tier battles: periodic Glicko-2 rating and battles, as the
    /// writing arena ranks them.
    async fn standings(&self) -> Result<Vec<sampler::Standing>> {
        let options = self.leaderboard_options(Method::Glicko2)?;
        let board = self.leaderboard(&options, &Selection::default()).await?;
        Ok(board
            .leaderboard
            .iter()
            .map(|r| sampler::Standing {
                name: r.model_name.clone(),
                rating: r.rating,
                battles: r.battles,
            })
            .collect())
    }

    /// Each model's tier now (see [`sampler::effective_tiers`]).
    pub async fn tiers(&self) -> Result<HashMap<String, Tier>> {
        let standings = self.standings().await?;
        Ok(sampler::effective_tiers(
            &self.models.models,
            &standings,
            &self.config.tiers,
        ))
    }

    /// The latest battle of `user`, blinded until voted.
    pub async fn latest_battle(&self, user: &str) -> Result<Option<BattleView>> {
        let hash = crate::util::hash_user(self.user_key()?, user);
        Ok(self
            .store
            .latest_battle_of(hash)
            .await?
            .as_ref()
            .map(BattleView::of))
    }

    /// Refuses `user` acting on a battle another user started.
    pub async fn check_owner(&self, id: BattleId, user: Option<&str>) -> Result<()> {
        let hash = self.user_hash(user)?.unwrap_or_default();
        match self.store.battle_owned_by(id, hash).await? {
            Some(false) => Err(Error::NotOwner(id)),
            _ => Ok(()),
        }
    }

    /// Forwards an OpenAI client's request to the pool model `name` (see
    /// [`Upstream::relay`]). Nothing is written to the database.
    pub async fn proxy(
        &self,
        name: &str,
        path: &str,
        body: &crate::provider::wire::RequestBody,
        stream: bool,
    ) -> Result<crate::provider::Relay> {
        let model = self.models.require(name)?;
        self.upstream
            .relay(model, path, body, stream)
            .await
            .map_err(Error::from)
    }

    /// The answer of the pool model `name` to `request`, as arena's own client streams it
    /// (for providers that are not OpenAI-compatible servers, such as the mock).
    pub fn answer(
        &self,
        name: &str,
        request: &ChatRequest,
    ) -> Result<crate::provider::ChunkStream> {
        let model = self.models.require(name)?;
        Ok(self.upstream.stream(model, request))
    }

    /// The figures of `/health`.
    ///
    /// Counted at most once a second ([`HEALTH_TTL_MS`]), one count at a time.
    pub async fn health(&self) -> Result<Health> {
        let mut last = self.health.lock().await;
        let now = self.now_ms();
        if let Some((at, h)) = last.as_ref()
            && (0..HEALTH_TTL_MS).contains(&(now - at))
        {
            return Ok(h.clone());
        }
        let (prompts, users, completed) = self.store.health().await?;
        let h = Health {
            models_count: self.models.models.len(),
            fixed_prompts_count: prompts,
            recorded_users_count: users,
            completed_battles_count: completed,
        };
        *last = Some((now, h.clone()));
        Ok(h)
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

    /// Leaderboard options for `method` with the parameters of the configuration (Elo,
    /// Glicko-2) and the defaults of the rest, as of now.
    pub fn leaderboard_options(&self, method: Method) -> Result<LeaderboardOptions> {
        let g = &self.config.glicko2;
        Ok(LeaderboardOptions {
            method,
            elo: self.elo_params(),
            glicko2: Glicko2Params {
                initial_rating: g.initial_rating,
                initial_rd: g.initial_rd,
                initial_volatility: g.initial_volatility,
                tau: g.tau,
                period_ms: parse_period(&g.rating_period)?,
            },
            now_ms: self.now_ms(),
            ..LeaderboardOptions::default()
        })
    }

    /// One battle, blinded until it has a vote.
    pub async fn battle(&self, id: BattleId) -> Result<BattleView> {
        Ok(BattleView::of(&self.store.battle(id).await?))
    }

    /// The whole battle as stored, model names included, for the operator of a failed one.
    pub async fn battle_record(&self, id: BattleId) -> Result<crate::battle::BattleRecord> {
        self.store.battle(id).await
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
            .fail_generating(
                id,
                Failure::Cancelled,
                "cancelled before both answers were in".into(),
            )
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
        let (tx, mut rx) = mpsc::channel::<crate::store::Chunk>(2);
        let owned = path.to_owned();
        let mapping = mapping.clone();
        let reader = tokio::task::spawn_blocking(move || {
            crate::transfer::battles::read(&owned, format, &mapping, |chunk| {
                tx.blocking_send(chunk)
                    .map_err(|_| Error::Internal("the import writer stopped".into()))
            })
        });
        let mut summary = ImportSummary {
            file: path.display().to_string(),
            imported: 0,
            duplicates: 0,
            skipped: Skips::default(),
            seconds: 0.0,
        };
        let mut failure = None;
        let mut session = Some(self.store.start_import().await?);
        let salt = self.user_key()?.to_owned();
        while let Some(chunk) = rx.recv().await {
            let bytes = chunk.bytes_read;
            let Some(open) = session.take() else { break };
            let rows = chunk.rows.len();
            let writing = Instant::now();
            match self.store.import_chunk(chunk, salt.clone(), open).await {
                Ok((count, open)) => {
                    tracing::debug!(
                        "import: {rows} records written in {:.1} ms",
                        writing.elapsed().as_secs_f64() * 1e3
                    );
                    session = Some(open);
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
        // What was imported, whole or not, joins the counts. Had the store failed, the next
        // open rebuilds them.
        if let Some(open) = session {
            self.store.finish_import(open).await?;
        }
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

    /// Every vote with its identity, in insertion order, handed to `sink` on the database's
    /// thread, then `None`: an export of millions of votes never sits in memory whole.
    pub async fn export_votes(
        &self,
        sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> Result<u64> {
        self.store.export_votes(sink).await
    }

    /// Recomputes the running counts and online Elo from the votes table (the votes that
    /// count); returns how many votes are kept but left out, by reason.
    pub async fn rebuild(&self) -> Result<LeftOutCounts> {
        self.store.rebuild(self.elo_params()).await?;
        self.boards.clear();
        self.left_out(&Selection::default()).await
    }

    /// The model names of `tier` in `models.json`.
    fn tier_models(&self, tier: Tier) -> Result<Vec<String>> {
        let names: Vec<String> = self
            .models
            .models
            .iter()
            .filter(|m| m.tier == Some(tier))
            .map(|m| m.name.clone())
            .collect();
        if names.is_empty() {
            return Err(Error::Input(format!(
                "tier `{}`: no model of that tier in models.json (set \"tier\" per model)",
                tier.as_str()
            )));
        }
        Ok(names)
    }

    /// The counts' filter for `selection`, when counts can answer it: by whole UTC days,
    /// and with no theme.
    fn count_filter(&self, selection: &Selection) -> Result<Option<CountFilter>> {
        let day = |t: Option<i64>| -> Option<Option<i64>> {
            match t {
                None => Some(None),
                Some(ms) if ms.rem_euclid(DAY_MS) == 0 => Some(Some(ms.div_euclid(DAY_MS))),
                Some(_) => None,
            }
        };
        let (Some(since_day), Some(until_day)) = (day(selection.since), day(selection.until))
        else {
            return Ok(None);
        };
        if selection.theme.is_some()
            || !selection.categories.is_empty()
            || !selection.exclude_categories.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(CountFilter {
            since_day,
            until_day,
            models: selection.tier.map(|t| self.tier_models(t)).transpose()?,
            admit: selection.admit(),
        }))
    }

    fn vote_filter(&self, selection: &Selection) -> Result<VoteFilter> {
        Ok(VoteFilter {
            since: selection.since,
            until: selection.until,
            theme: selection.theme.clone(),
            models: selection.tier.map(|t| self.tier_models(t)).transpose()?,
            admit: selection.admit(),
            categories: selection.categories.clone(),
            exclude_categories: selection.exclude_categories.clone(),
        })
    }

    /// How many votes of `selection` are kept but left out of its ratings, by reason.
    pub async fn left_out(&self, selection: &Selection) -> Result<LeftOutCounts> {
        self.store.left_out(self.vote_filter(selection)?).await
    }

    /// The leaderboard over the votes of `selection`. Read from the per-pair counts where
    /// they answer it (Bradley-Terry always, with the left-out votes it admits read beside
    /// them; online Elo with no selection), from the votes otherwise; computed on a blocking
    /// thread, and cached until the votes change. It says how many votes it left out.
    pub async fn leaderboard(
        &self,
        options: &LeaderboardOptions,
        selection: &Selection,
    ) -> Result<Arc<Leaderboard>> {
        options.check().map_err(Error::Input)?;
        let version = self.store.votes_version().await?;
        let period = match options.method {
            Method::Glicko2 => glicko2_period(options),
            _ => 0,
        };
        let key = BoardKey::new(options, selection, version, period);
        let cell = self.boards.cell(&key);
        let board = cell
            .get_or_try_init(|| self.compute_leaderboard(options.clone(), selection.clone()))
            .await?;
        Ok(board.clone())
    }

    /// What the leaderboards of the configured options depend on: the votes' version and
    /// the Glicko-2 rating period now. The same pair means the same leaderboards and tiers.
    pub async fn board_version(&self) -> Result<(i64, i64)> {
        let options = self.leaderboard_options(Method::Glicko2)?;
        Ok((self.store.votes_version().await?, glicko2_period(&options)))
    }

    async fn compute_leaderboard(
        &self,
        options: LeaderboardOptions,
        selection: Selection,
    ) -> Result<Arc<Leaderboard>> {
        // The running Elo holds only the votes that count: admitting others takes the votes
        // in their order. Glicko-2 is kept apart for each set of votes admitted.
        let admits = !selection.admit().is_empty();
        let count_filter = match options.method {
            Method::Glicko2 => None,
            // Style control needs every vote's features.
            Method::Bt if options.style.is_some() => None,
            Method::Elo if selection.any() || options.min_battles > 1 || admits => None,
            _ if !self.store.counts_current().await? => None,
            _ => self.count_filter(&selection)?,
        };
        let anchor_known = |names: &[String]| -> Result<()> {
            if let Some((name, _)) = &options.anchor
                && !names.contains(name)
            {
                let hint = crate::config::nearest(name, names.iter().map(String::as_str))
                    .map(|n| format!(" (did you mean `{n}`?)"))
                    .unwrap_or_default();
                return Err(Error::Input(format!(
                    "anchor model `{name}` has no votes here{hint}"
                )));
            }
            Ok(())
        };
        let generated_at = crate::util::now_rfc3339();
        // Glicko-2 over every vote comes from the state kept vote by vote.
        let kept_glicko2 = match (options.method, &count_filter) {
            (Method::Glicko2, _)
                if !selection.any()
                    && options.min_battles <= 1
                    && self.store.counts_current().await? =>
            {
                Some(self.glicko2_view(&options, selection.admit()).await?)
            }
            _ => None,
        };
        let count_filter = match (&kept_glicko2, count_filter) {
            (Some(_), _) => self.count_filter(&selection)?,
            (None, f) => f,
        };
        let elo = match (options.method, &count_filter) {
            (Method::Elo, Some(_)) => self.store.elo_ratings(options.elo).await?,
            _ => None,
        };
        let left_out = self.left_out(&selection).await?;
        let mut board = match count_filter {
            // Elo from counts needs its running ratings; stale ones (after an import) mean a
            // scan of the votes instead.
            Some(filter)
                if (options.method != Method::Elo || elo.is_some())
                    && (options.method != Method::Glicko2 || kept_glicko2.is_some()) =>
            {
                let counts = self.store.pair_counts(filter).await?;
                anchor_known(&counts.names)?;
                blocking(move || {
                    leaderboard::compute(
                        Data::Counts {
                            counts: &counts,
                            elo: elo.as_ref(),
                            glicko2: kept_glicko2.as_ref(),
                        },
                        &options,
                        generated_at,
                    )
                })
                .await?
            }
            _ if options.style.is_some() => {
                let styled = self
                    .store
                    .styled_votes(self.vote_filter(&selection)?)
                    .await?;
                anchor_known(&styled.votes.names)?;
                blocking(move || {
                    leaderboard::compute(
                        Data::Styled {
                            votes: &styled.votes,
                            features: &styled.features,
                            without: styled.without,
                        },
                        &options,
                        generated_at,
                    )
                })
                .await?
            }
            _ => {
                let votes = self.store.votes(self.vote_filter(&selection)?).await?;
                anchor_known(&votes.names)?;
                blocking(move || leaderboard::compute(Data::Votes(&votes), &options, generated_at))
                    .await?
            }
        };
        board.include_identity_leaks = selection.include_identity_leaks;
        board.include_named = selection.include_named;
        board.left_out = left_out;
        board
            .notes
            .extend(left_out.note(!selection.include_identity_leaks));
        Ok(Arc::new(board))
    }

    /// For every category with votes in `selection`: its votes, its top model and that
    /// model's rank on the board of the whole selection (each board through the cache).
    pub async fn category_tops(
        &self,
        options: &LeaderboardOptions,
        selection: &Selection,
    ) -> Result<Vec<CategoryTop>> {
        let overall = self.leaderboard(options, selection).await?;
        let mut out = Vec::new();
        for (name, _) in self.store.categories(selection.admit()).await? {
            if selection.categories.contains(&name) || selection.exclude_categories.contains(&name)
            {
                continue;
            }
            let mut within = selection.clone();
            within.categories.push(name.clone());
            let board = self.leaderboard(options, &within).await?;
            if board.votes == 0 {
                continue;
            }
            // The first row is the best of the largest group.
            let top = board.leaderboard.first().map(|r| r.model_name.clone());
            let overall_rank = top.as_ref().and_then(|m| {
                overall
                    .leaderboard
                    .iter()
                    .find(|r| &r.model_name == m)
                    .map(|r| r.rank)
            });
            out.push(CategoryTop {
                category: name,
                votes: board.votes,
                top_model: top,
                overall_rank,
            });
        }
        Ok(out)
    }

    /// Computes the style features and categories of the votes on battles that have none
    /// (recorded before they were kept); returns how many.
    pub async fn fill_styles(&self) -> Result<u64> {
        let n = self.store.fill_styles().await?;
        self.boards.clear();
        Ok(n)
    }

    /// Glicko-2 over every vote at the options' time, from the state kept vote by vote: it
    /// reads only the votes since the last call (all of them the first time, or after votes
    /// that went back in time, such as an import's).
    async fn glicko2_view(
        &self,
        options: &LeaderboardOptions,
        admit: VoteFlags,
    ) -> Result<Glicko2View> {
        let mut guard = self.glicko2.lock().await;
        let params = options.glicko2;
        let now = options.now_ms;
        if let Some(mut keeper) = guard.remove(&admit).filter(|k| *k.state.params() == params) {
            let (batch, last) = self.store.votes_after(keeper.last_id, admit).await?;
            let (keeper, view) = blocking(move || {
                let view = keeper.apply(batch).then(|| {
                    keeper.last_id = last;
                    keeper.view(now)
                });
                (keeper, view)
            })
            .await?;
            if let Some(view) = view {
                guard.insert(admit, keeper);
                return Ok(view);
            }
        }
        // The first time, or after votes earlier than those in (an import's): every vote,
        // once, off the runtime.
        let (all, last) = self.store.votes_after(0, admit).await?;
        let (keeper, view) = blocking(move || {
            let mut keeper = Glicko2Keeper::new(&params);
            // Sorted by time, a whole history always goes in.
            let whole = keeper.apply(all);
            keeper.last_id = last;
            let view = keeper.view(now);
            (whole.then_some(keeper), view)
        })
        .await?;
        if let Some(keeper) = keeper {
            guard.insert(admit, keeper);
        }
        Ok(view)
    }

    /// The win-rate and match-count matrices of `/api/battle_statistics`, over the `top`
    /// models with the most battles (all when `None`, up to 500).
    pub async fn battle_statistics(
        &self,
        selection: &Selection,
        top: Option<usize>,
    ) -> Result<Matrices> {
        let current = self.store.counts_current().await?;
        if let Some(filter) = self.count_filter(selection)?.filter(|_| current) {
            let counts = self.store.pair_counts(filter).await?;
            return blocking(move || stats::matrices_of_counts(&counts, top))
                .await?
                .map_err(Error::Input);
        }
        let votes = self.store.votes(self.vote_filter(selection)?).await?;
        blocking(move || stats::matrices_of_top(&votes.names, &votes.votes, top))
            .await?
            .map_err(Error::Input)
    }

    /// The per-prompt figures over the votes of `selection`: of every prompt, or with
    /// `pool_only` of the pool's prompts alone (a user's own prompt is theirs, not the
    /// public's: `/api/prompt_statistics` shows those only with `publish_custom_prompts`).
    /// Those of every vote are counted again only after new votes.
    pub async fn prompt_statistics(
        &self,
        pool_only: bool,
        selection: &Selection,
    ) -> Result<PromptStatistics> {
        if *selection != Selection::default() {
            let filter = self.vote_filter(selection)?;
            let (names, rows) = self.store.prompt_votes(pool_only, filter).await?;
            return blocking(move || stats::prompts(&names, &rows)).await;
        }
        let mut last = self.prompt_stats.lock().await;
        let version = self.store.votes_version().await?;
        if let Some((v, p, s)) = last.as_ref()
            && *v == version
            && *p == pool_only
        {
            return Ok(s.clone());
        }
        let (names, rows) = self
            .store
            .prompt_votes(pool_only, VoteFilter::default())
            .await?;
        let s = blocking(move || stats::prompts(&names, &rows)).await?;
        *last = Some((version, pool_only, s.clone()));
        Ok(s)
    }

    /// The prompt pool, of one theme or all.
    pub async fn prompts(&self, theme: Option<String>) -> Result<Vec<Prompt>> {
        self.store.prompts(theme).await
    }

    /// Adds one prompt; its id defaults to a hash of the text, its theme to the id's prefix
    /// before `_` (else `general`). Returns the id.
    pub async fn add_prompt(
        &self,
        text: String,
        id: Option<String>,
        theme: Option<String>,
    ) -> Result<String> {
        if text.trim().is_empty() {
            return Err(Error::EmptyPrompt);
        }
        let id = id.unwrap_or_else(|| crate::transfer::prompts::id_for(&text));
        let theme = theme.unwrap_or_else(|| crate::transfer::prompts::theme_of(&id));
        let added = self
            .store
            .add_prompts(vec![Prompt {
                id: id.clone(),
                text,
                theme,
            }])
            .await?;
        if added == 0 {
            return Err(Error::Conflict(format!(
                "the pool already has prompt `{id}` or the same text"
            )));
        }
        Ok(id)
    }

    /// Adds a prompt set; returns how many were new.
    pub async fn add_prompts(&self, prompts: Vec<Prompt>) -> Result<usize> {
        self.store.add_prompts(prompts).await
    }

    /// Removes a prompt by id.
    pub async fn remove_prompt(&self, id: String) -> Result<()> {
        self.store.remove_prompt(id).await
    }

    /// Every model with its number of voted battles.
    pub async fn battle_counts(&self) -> Result<Vec<(String, u64)>> {
        self.store.model_battle_counts().await
    }
}

/// Glicko-2 kept vote by vote, with the names of its models and the last vote it has seen.
#[derive(Debug)]
struct Glicko2Keeper {
    state: Glicko2State,
    names: Vec<String>,
    index: HashMap<String, u32>,
    last_id: i64,
}

impl Glicko2Keeper {
    fn new(params: &Glicko2Params) -> Self {
        Glicko2Keeper {
            state: Glicko2State::new(0, params),
            names: Vec::new(),
            index: HashMap::new(),
            last_id: 0,
        }
    }

    /// Appends `batch` (votes in insertion order), in time order as a whole computation
    /// takes them (a stable sort: insertion order among equal times); false when one is
    /// earlier than a vote already in, and the state must be made again.
    fn apply(&mut self, mut batch: crate::rating::Votes) -> bool {
        batch.sort_by_time();
        let mut local = Vec::with_capacity(batch.names.len());
        for name in &batch.names {
            let i = match self.index.get(name) {
                Some(&i) => i,
                None => {
                    let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                    self.names.push(name.clone());
                    self.index.insert(name.clone(), i);
                    i
                }
            };
            local.push(i);
        }
        self.state.grow(self.names.len());
        self.state.reserve(batch.votes.len());
        for (k, v) in batch.votes.iter().enumerate() {
            let (Some(&a), Some(&b)) =
                (local.get(v.model_a as usize), local.get(v.model_b as usize))
            else {
                continue;
            };
            let row = crate::rating::VoteRow {
                model_a: a,
                model_b: b,
                winner: v.winner,
            };
            let time = batch.times.get(k).copied().unwrap_or(0);
            let imported = batch.imported.get(k).copied().unwrap_or(false);
            if self.state.push(row, time, imported).is_err() {
                return false;
            }
        }
        true
    }

    fn view(&mut self, now_ms: i64) -> Glicko2View {
        let result = self.state.result(now_ms);
        Glicko2View {
            ratings: self
                .names
                .iter()
                .cloned()
                .zip(result.ratings.iter().copied())
                .collect(),
            pending_votes: result.pending_votes,
            next_update_ms: result.next_update_ms,
        }
    }
}

/// One UTC day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// Runs CPU work on a blocking thread, off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a computation failed: {e}")))
}

/// What a cached leaderboard answers: every parameter of its options (floats by their bits),
/// the selection of votes, the votes' version and, for Glicko-2, the rating period of its
/// time (the only way the time enters: the same period gives the same periodic ratings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BoardKey {
    method: Method,
    elo: [u64; 4],
    glicko2: ([u64; 4], i64),
    bootstrap: usize,
    seed: u64,
    ci: u64,
    anchor: Option<(String, u64)>,
    min_battles: u64,
    style: Option<crate::rating::style::Variant>,
    selection: Selection,
    version: i64,
    period: i64,
}

impl BoardKey {
    fn new(options: &LeaderboardOptions, selection: &Selection, version: i64, period: i64) -> Self {
        // Taken apart field by field: a parameter added to the options, or to a method's
        // parameters, does not compile until the key holds it too.
        let LeaderboardOptions {
            method,
            elo,
            glicko2,
            bootstrap,
            seed,
            ci,
            anchor,
            min_battles,
            now_ms: _,
            style,
        } = options;
        let EloParams {
            k,
            initial,
            scale,
            base,
        } = elo;
        let Glicko2Params {
            initial_rating,
            initial_rd,
            initial_volatility,
            tau,
            period_ms,
        } = glicko2;
        BoardKey {
            method: *method,
            elo: [
                k.to_bits(),
                initial.to_bits(),
                scale.to_bits(),
                base.to_bits(),
            ],
            glicko2: (
                [
                    initial_rating.to_bits(),
                    initial_rd.to_bits(),
                    initial_volatility.to_bits(),
                    tau.to_bits(),
                ],
                *period_ms,
            ),
            bootstrap: *bootstrap,
            seed: *seed,
            ci: ci.to_bits(),
            anchor: anchor.as_ref().map(|(m, r)| (m.clone(), r.to_bits())),
            min_battles: *min_battles,
            style: *style,
            selection: selection.clone(),
            version,
            period,
        }
    }
}

/// Computed leaderboards by question and votes version: one computation per key at a time
/// (callers of the same key await the same cell), the oldest dropped beyond a few dozen.
/// One cached leaderboard: computed once, awaited by every caller of its key meanwhile.
type BoardCell = Arc<OnceCell<Arc<Leaderboard>>>;

#[derive(Debug, Default)]
struct BoardCache {
    /// The cells by key, and the keys oldest first.
    cells: Mutex<(HashMap<BoardKey, BoardCell>, VecDeque<BoardKey>)>,
}

impl BoardCache {
    const MAX: usize = 64;

    fn cell(&self, key: &BoardKey) -> BoardCell {
        let mut guard = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        let (cells, order) = &mut *guard;
        if let Some(cell) = cells.get(key) {
            return cell.clone();
        }
        while order.len() >= Self::MAX {
            if let Some(old) = order.pop_front() {
                cells.remove(&old);
            }
        }
        let cell = Arc::new(OnceCell::new());
        cells.insert(key.clone(), cell.clone());
        order.push_back(key.clone());
        cell
    }

    fn clear(&self) {
        let mut guard = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0.clear();
        guard.1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::BoardKey;
    use crate::engine::Selection;
    use crate::rating::{LeaderboardOptions, Method};

    #[test]
    fn board_keys_differ_in_every_parameter() {
        let base = LeaderboardOptions::default();
        let selection = Selection::default();
        let key = |o: &LeaderboardOptions| BoardKey::new(o, &selection, 7, 0);
        assert_eq!(key(&base), key(&base.clone()));
        type Change = Box<dyn Fn(&mut LeaderboardOptions)>;
        let changes: Vec<(&str, Change)> = vec![
            ("method", Box::new(|o| o.method = Method::Glicko2)),
            ("elo.k", Box::new(|o| o.elo.k = 4.0)),
            ("elo.initial", Box::new(|o| o.elo.initial = 1200.0)),
            ("elo.scale", Box::new(|o| o.elo.scale = 173.7)),
            ("elo.base", Box::new(|o| o.elo.base = std::f64::consts::E)),
            (
                "glicko2.initial_rating",
                Box::new(|o| o.glicko2.initial_rating = 1000.0),
            ),
            (
                "glicko2.initial_rd",
                Box::new(|o| o.glicko2.initial_rd = 100.0),
            ),
            (
                "glicko2.initial_volatility",
                Box::new(|o| o.glicko2.initial_volatility = 0.09),
            ),
            ("glicko2.tau", Box::new(|o| o.glicko2.tau = 0.3)),
            (
                "glicko2.period_ms",
                Box::new(|o| o.glicko2.period_ms = 60_000),
            ),
            ("bootstrap", Box::new(|o| o.bootstrap = 200)),
            ("seed", Box::new(|o| o.seed = 1)),
            ("ci", Box::new(|o| o.ci = 0.9)),
            (
                "anchor",
                Box::new(|o| o.anchor = Some(("m".into(), 1000.0))),
            ),
            ("min_battles", Box::new(|o| o.min_battles = 5)),
            (
                "style",
                Box::new(|o| o.style = Some(crate::rating::style::Variant::ArenaRank)),
            ),
        ];
        for (name, change) in &changes {
            let mut other = base.clone();
            change(&mut other);
            assert_ne!(key(&base), key(&other), "{name} is not in the key");
        }
        // Anchors differ by model and by rating.
        let anchored = |m: &str, r: f64| LeaderboardOptions {
            anchor: Some((m.into(), r)),
            ..LeaderboardOptions::default()
        };
        assert_ne!(key(&anchored("a", 1.0)), key(&anchored("b", 1.0)));
        assert_ne!(key(&anchored("a", 1.0)), key(&anchored("a", 2.0)));
        // The selection, the votes' version and the Glicko-2 period are in it too.
        let theme = Selection {
            theme: Some("poetry".into()),
            ..Selection::default()
        };
        assert_ne!(key(&base), BoardKey::new(&base, &theme, 7, 0));
        let coding = Selection {
            categories: vec!["coding".into()],
            ..Selection::default()
        };
        assert_ne!(key(&base), BoardKey::new(&base, &coding, 7, 0));
        let fastchat = LeaderboardOptions {
            style: Some(crate::rating::style::Variant::FastChat),
            ..LeaderboardOptions::default()
        };
        let arena_rank = LeaderboardOptions {
            style: Some(crate::rating::style::Variant::ArenaRank),
            ..LeaderboardOptions::default()
        };
        assert_ne!(key(&fastchat), key(&arena_rank));
        assert_ne!(key(&base), BoardKey::new(&base, &selection, 8, 0));
        assert_ne!(key(&base), BoardKey::new(&base, &selection, 7, 1));
    }
}
