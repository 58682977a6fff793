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
//!
//! Here: the [`Arena`] itself, its clock and tracked tasks, battles and votes. Beside it:
//! `boards` (leaderboards and statistics) and `cache` (their typed key and cells),
//! `records` (import, export, rebuild, the prompt pool), [`run`] (one battle's generation),
//! [`chat`] (battles driven from a chat client or the page), [`sampler`] (which two models
//! meet), [`pool`] (the model pool for its operator) and [`user_key`]. The engine may use
//! every module below it (store, provider, transfer, config, battle, rating, util, error),
//! and nothing above it (the classifier, the server, the command line).

mod boards;
mod cache;
pub mod chat;
pub mod pool;
mod records;
pub mod run;
pub mod sampler;
pub mod user_key;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use self::run::{BattleRun, Generation};
use crate::battle::identity::IdentityTerms;
use crate::battle::{
    BattleId, BattleView, EloChanges, Origin, RatingChange, Reveal, Status, VoteFlags, Winner,
};
use crate::config::{Config, Models, Secret, Setup, Tier};
use crate::error::{Error, Result};
use crate::provider::{ChatRequest, Message, Upstream};
use crate::rating::Method;
use crate::rating::elo::EloParams;
use crate::rating::stats::PromptStatistics;
use crate::store::{AnyStore, BattleFilter, Failure, Mode, NewBattle, Prompt, Store};
use crate::transfer::battles::Skips;
use sampler::Pairing;

use boards::Glicko2Keeper;
pub use boards::{CategoryTop, Selection};
use cache::BoardCache;

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
    /// Counted at most once a second (`HEALTH_TTL_MS`), one count at a time.
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
}

/// Runs CPU work on a blocking thread, off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a computation failed: {e}")))
}
