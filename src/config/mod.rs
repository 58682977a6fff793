//! `config.jsonc` and `models.json`: loading, validation and path resolution (SPEC §1, §3).
//!
//! Both files are read with a JSONC parser (comments and trailing commas allowed) straight into
//! typed structs, so every error carries the line and column of the offending token. Unknown
//! keys are errors that name the nearest known key.
//!
//! May use `trust`, `battle`, `rating`, `util` and `error`; nothing that does I/O beyond
//! reading these files (no store, no upstream).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

mod jsonc;
mod models;
mod paths;
#[cfg(test)]
mod tests;
mod validate;

pub use jsonc::*;
pub use models::*;
pub use paths::*;
pub use validate::*;

/// A secret from a file or the environment: shown as `[redacted]` by `Debug`, so it never
/// reaches a log or an error by accident.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that needs it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("\"\"")
        } else {
            f.write_str("[redacted]")
        }
    }
}

/// The configuration of `config.jsonc`. Every field has the default of SPEC §3.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub host: String,
    pub battle_server_port: u16,
    /// The server's API key; empty means open. `ARENA_API_KEY` overrides it.
    pub api_key: Secret,
    /// The model id that turns on battle mode in `/v1/chat/completions`.
    pub battle_model: String,
    /// The upstream used by models that name no `base_url` of their own.
    pub upstream: UpstreamConfig,
    pub request_timeout_seconds: u64,
    pub stream_idle_timeout_seconds: u64,
    /// The per-user limits of the server's battles; unset, the defaults of the server's
    /// setup (see [`Config::limits_for`]).
    pub max_concurrent_battles: Option<u32>,
    pub battles_per_hour: Option<u32>,
    pub battle_interval_seconds: Option<u64>,
    /// Refuse battles and votes of callers that name no user (a user key names its own).
    pub require_user: bool,
    /// The service key `api_key` may name its user with Open WebUI's forwarded
    /// `X-OpenWebUI-User-Id` header.
    pub trust_forwarded_user: bool,
    pub pending_vote_expiry_minutes: u64,
    pub generation_timeout_seconds: u64,
    /// The most user turns of one battle of a chat client, the first included.
    pub max_battle_turns: u32,
    pub elo: EloConfig,
    pub glicko2: Glicko2Config,
    pub tiers: TiersConfig,
    /// Merge all system messages into one leading system message.
    pub tavern_mode: bool,
    /// Secret for hashing user ids (HMAC-SHA-256); empty: the database's own key file.
    pub user_id_salt: Secret,
    /// The database when neither `--db` nor `ARENA_DB` names one: a path, `sqlite://PATH` or
    /// `postgres://...` (kept as a secret: an address may hold a password). Empty: the data
    /// directory's `arena.sqlite3`.
    pub database_url: Secret,
    /// The longest answer kept from an upstream, in bytes; a longer one is cut there and
    /// its side fails.
    pub max_answer_bytes: u64,
    /// The most of an upstream's error body that is read, in bytes.
    pub max_error_body_bytes: u64,
    /// The largest `/models` listing read from an upstream, in bytes.
    pub max_listing_bytes: u64,
    /// The longest prompt accepted, in bytes.
    pub max_prompt_bytes: u64,
    /// The language of the server's messages: `en` or `zh-CN` (the writing arena's).
    pub language: String,
    /// Origins allowed to call the server from a browser (CORS), and to send it requests
    /// that change something; none by default.
    pub cors_allowed_origins: Vec<String>,
    /// `Host` names the server answers besides the loopback ones (`.example.com`: it and
    /// every name below it; `*`: any). On a loopback bind only these and the loopback names
    /// are served (against DNS rebinding); beyond loopback the check runs once it names any.
    pub allowed_hosts: Vec<String>,
    /// On SIGINT or SIGTERM, how long in-flight requests and generations may take to finish.
    pub shutdown_grace_seconds: u64,
    /// The largest request body the server reads.
    pub max_request_body_bytes: u64,
    /// Requests handled at once, over the whole server, a stream counting until it ends;
    /// more are answered 503.
    pub max_inflight_requests: usize,
    /// Connections open at once; 0: three quarters of the descriptor limit (`ulimit -n`).
    /// At the cap, the connection that has waited longest for a request is closed for a
    /// new one.
    pub max_connections: usize,
    /// The time a client has to send a request's head, from the connection (or from the
    /// first byte of a next request).
    pub header_read_timeout_seconds: u64,
    /// How long a kept-alive connection may wait for its next request.
    pub keepalive_timeout_seconds: u64,
    /// The time a client has to send a request's body, from its head (408 after).
    pub body_read_timeout_seconds: u64,
    /// How long a request other than a battle's generation may take (408 after).
    pub server_request_timeout_seconds: u64,
    /// How often the server ends stale battles.
    pub expiry_interval_seconds: u64,
    /// Keep-alive comments in streamed answers every this many seconds (0 = none).
    pub sse_keepalive_seconds: u64,
    /// The pool model that answers a chat client's housekeeping (titles, tags) sent to the
    /// battle model; empty: a short fixed answer.
    pub utility_model: String,
    /// The pool model that judges the prompts of battles played here into LMArena's
    /// LLM-classified categories (`hard_prompt`, `math`, `creative_writing`,
    /// `instruction_following`), in the background; empty: none are judged.
    pub classifier_model: String,
    /// The most prompts the classifier judges a minute (four requests each).
    pub classifier_prompts_per_minute: u32,
    /// The largest attachment (an image, a file) of a chat message, in bytes (413 beyond).
    pub max_attachment_bytes: u64,
    /// Whether `/api/prompt_statistics` also shows users' own prompts (`custom_prompt`, chat
    /// messages), word for word; by default it shows the pool's prompts alone.
    pub publish_custom_prompts: bool,
    /// Serve the pool's models on `/v1` (a proxy to each); `false` serves only the battle
    /// model, for public arenas where calling a pool model directly would let voters learn
    /// how each one answers.
    pub expose_pool: bool,
    /// What marks an answer as naming a model (its vote is then left out of the ratings).
    pub identity_leak: IdentityLeakConfig,
}

/// The shortest configured `user_id_salt`: 128 bits written as hex.
pub const MIN_SALT_CHARS: usize = 32;

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            battle_server_port: 5103,
            api_key: Secret::default(),
            battle_model: "arena".into(),
            upstream: UpstreamConfig::default(),
            request_timeout_seconds: 360,
            stream_idle_timeout_seconds: 120,
            max_concurrent_battles: None,
            battles_per_hour: None,
            battle_interval_seconds: None,
            require_user: false,
            trust_forwarded_user: false,
            pending_vote_expiry_minutes: 7 * 24 * 60,
            generation_timeout_seconds: 600,
            max_battle_turns: 20,
            elo: EloConfig::default(),
            glicko2: Glicko2Config::default(),
            tiers: TiersConfig::default(),
            tavern_mode: false,
            user_id_salt: Secret::default(),
            database_url: Secret::default(),
            max_answer_bytes: 4 << 20,
            max_error_body_bytes: 64 << 10,
            max_listing_bytes: 4 << 20,
            max_prompt_bytes: 1 << 20,
            language: "en".into(),
            cors_allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            shutdown_grace_seconds: 30,
            max_request_body_bytes: 1 << 20,
            max_inflight_requests: 512,
            max_connections: 0,
            header_read_timeout_seconds: 10,
            keepalive_timeout_seconds: 60,
            body_read_timeout_seconds: 60,
            server_request_timeout_seconds: 30,
            expiry_interval_seconds: 60,
            sse_keepalive_seconds: 15,
            utility_model: String::new(),
            classifier_model: String::new(),
            classifier_prompts_per_minute: 10,
            max_attachment_bytes: 5 << 20,
            publish_custom_prompts: false,
            expose_pool: true,
            identity_leak: IdentityLeakConfig::default(),
        }
    }
}

/// Who a server is for, which decides the defaults of its per-user limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// No key, and listening on this machine only: one person's server.
    Personal,
    /// Keys, or listening beyond this machine: several people, maybe strangers.
    Shared,
}

/// The per-user limits of the server's battles, whatever set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BattleLimits {
    /// Battles generating or waiting for a vote at once (0 = no limit).
    pub concurrent: u32,
    /// Battles started within an hour (0 = no limit).
    pub per_hour: u32,
    /// The shortest time between two battles (0 = none).
    pub interval_seconds: u64,
}

impl Config {
    /// The per-user limits for `setup`: each one the config sets, else the setup's default.
    /// One person on their own machine is limited by nothing (as the command line is), a
    /// shared server by the writing arena's limits: 3 at once, 20 an hour, 30 s apart.
    #[must_use]
    pub fn limits_for(&self, setup: Setup) -> BattleLimits {
        let (concurrent, per_hour, interval_seconds) = match setup {
            Setup::Personal => (0, 0, 0),
            Setup::Shared => (3, 20, 30),
        };
        BattleLimits {
            concurrent: self.max_concurrent_battles.unwrap_or(concurrent),
            per_hour: self.battles_per_hour.unwrap_or(per_hour),
            interval_seconds: self.battle_interval_seconds.unwrap_or(interval_seconds),
        }
    }

    /// The configuration with what the environment overrides: `ARENA_API_KEY`.
    #[must_use]
    pub fn with_env(mut self) -> Self {
        if let Ok(key) = std::env::var("ARENA_API_KEY")
            && !key.is_empty()
        {
            self.api_key = Secret::new(key);
        }
        self
    }
}

/// The default upstream of `config.jsonc`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    pub base_url: String,
    /// Name of the environment variable that holds the key; keys never live in our files.
    pub api_key_env: Option<String>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            base_url: "https://api.openai.com/v1".into(),
            api_key_env: Some("OPENAI_API_KEY".into()),
        }
    }
}

/// Identity leaks (see [`crate::battle::identity`]): the words that mark an answer, and
/// whether the pool's own names and upstream ids do too.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityLeakConfig {
    /// Vendor and model-family words, matched as whole words in any case; the default list
    /// is [`crate::battle::identity::DEFAULT_WORDS`]; `[]` matches none.
    pub words: Vec<String>,
    /// Also the pool's public names and upstream model ids (of three characters or more).
    pub pool_names: bool,
}

impl Default for IdentityLeakConfig {
    fn default() -> Self {
        IdentityLeakConfig {
            words: crate::battle::identity::DEFAULT_WORDS
                .iter()
                .map(|w| (*w).to_owned())
                .collect(),
            pool_names: true,
        }
    }
}

/// Online Elo parameters.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EloConfig {
    pub k: f64,
    pub initial: f64,
}

impl Default for EloConfig {
    fn default() -> Self {
        EloConfig {
            k: 32.0,
            initial: 1000.0,
        }
    }
}

/// Glicko-2 parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Glicko2Config {
    pub initial_rating: f64,
    pub initial_rd: f64,
    pub initial_volatility: f64,
    pub tau: f64,
    pub rating_period: String,
}

impl Default for Glicko2Config {
    fn default() -> Self {
        Glicko2Config {
            initial_rating: 1500.0,
            initial_rd: 350.0,
            initial_volatility: 0.06,
            tau: 0.5,
            rating_period: "1h".into(),
        }
    }
}

/// Tier sampling parameters.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TiersConfig {
    pub promotion_count: u32,
    pub cross_tier_probability: f64,
    pub transition_zone_probability: f64,
    pub transition_zone_size: u32,
}

impl Default for TiersConfig {
    fn default() -> Self {
        TiersConfig {
            promotion_count: 3,
            cross_tier_probability: 0.2,
            transition_zone_probability: 0.18,
            transition_zone_size: 5,
        }
    }
}

/// A model tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    High,
    Low,
}

impl Tier {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::High => "high",
            Tier::Low => "low",
        }
    }
}

/// How a model's answers are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible `/chat/completions` server.
    #[default]
    Openai,
    /// A deterministic offline responder for demos and tests. Not a model.
    Mock,
}

/// One upstream endpoint of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL up to and including `/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The model id the upstream knows.
    pub model: String,
    /// Environment variable holding the bearer key, if any.
    pub api_key_env: Option<String>,
    /// Whether the key may travel over plain `http://` to a host that is not this machine.
    pub allow_http_key: bool,
    /// The most requests this endpoint's server takes at once; more wait their turn. For a
    /// local server with one slot, whose running answer a second request would cut short.
    pub max_concurrent: Option<u32>,
}

/// A model of the pool, normalised from any of the three forms of `models.json`.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// Public name: what leaderboards show.
    pub name: String,
    pub provider: ProviderKind,
    /// At least one; a pool when more. One is chosen at random per request.
    pub endpoints: Vec<Endpoint>,
    pub tier: Option<Tier>,
    /// Sampling weight; 0 keeps the model out of rotation with its history kept.
    pub weight: f64,
    /// Extra request fields merged into the upstream body.
    pub params: Map<String, Value>,
    /// What the model makes: chat answers (battles and the proxy) or images.
    pub kind: ModelKind,
    /// An image model that makes one image per request: `n` images take `n` requests.
    pub images_per_request: Option<u32>,
}

/// What a model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    #[default]
    Chat,
    /// `/v1/images/generations`; never drawn for a battle.
    Image,
}

impl ModelSpec {
    /// Whether the model makes images.
    #[must_use]
    pub fn is_image(&self) -> bool {
        self.kind == ModelKind::Image
    }

    /// The name as shown to people: a mock is labelled as not a model.
    #[must_use]
    pub fn display_name(&self) -> String {
        match self.provider {
            ProviderKind::Mock => format!("{} (mock, not a model)", self.name),
            ProviderKind::Openai => self.name.clone(),
        }
    }
}

/// The model pool of `models.json`.
#[derive(Debug, Clone, Default)]
pub struct Models {
    pub models: Vec<ModelSpec>,
    /// The file they came from, if any.
    pub path: Option<PathBuf>,
}

impl Models {
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The model called `name`, or an input error that lists the known names.
    pub fn require(&self, name: &str) -> Result<&ModelSpec> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.models.iter().map(|m| m.name.as_str()).collect();
            let hint = nearest(name, known.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            let from = self
                .path
                .as_ref()
                .map(|p| format!(" in {}", p.display()))
                .unwrap_or_default();
            Error::UnknownModel(format!(
                "unknown model `{name}`{hint}: the models{from} are {}",
                known.join(", ")
            ))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Loading
