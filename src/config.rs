//! `config.jsonc` and `models.json`: loading, validation and path resolution (SPEC §1, §3).
//!
//! Both files are read with a JSONC parser (comments and trailing commas allowed) straight into
//! typed structs, so every error carries the line and column of the offending token. Unknown
//! keys are errors that name the nearest known key.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

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

/// Reads and validates `config.jsonc`.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = read(path)?;
    parse_config(path, &text)
}

/// Parses and validates the text of `config.jsonc` (`path` names it in errors).
pub fn parse_config(path: &Path, text: &str) -> Result<Config> {
    let config: Config = parse(path, text)?;
    validate_config(path, text, &config)?;
    Ok(config)
}

/// The longest timeout accepted: a week.
const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;

fn validate_config(path: &Path, text: &str, c: &Config) -> Result<()> {
    // Located at the key when the file names it, else at the top.
    let bad = |field: &str, why: &str| {
        let key = field.rsplit('.').next().unwrap_or(field);
        locate(
            path,
            text,
            &format!("\"{key}\""),
            format!("`{field}` {why}"),
        )
    };
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if !positive(c.elo.k) {
        return Err(bad("elo.k", "must be a positive number (default 32)"));
    }
    if !c.elo.initial.is_finite() {
        return Err(bad("elo.initial", "must be a number (default 1000)"));
    }
    for (field, value, default) in [
        ("request_timeout_seconds", c.request_timeout_seconds, 360),
        (
            "stream_idle_timeout_seconds",
            c.stream_idle_timeout_seconds,
            120,
        ),
        (
            "generation_timeout_seconds",
            c.generation_timeout_seconds,
            600,
        ),
    ] {
        if value == 0 || value > MAX_TIMEOUT_SECONDS {
            return Err(bad(
                field,
                &format!("must be between 1 and {MAX_TIMEOUT_SECONDS} seconds (default {default})"),
            ));
        }
    }
    if c.pending_vote_expiry_minutes > 100 * 365 * 24 * 60 {
        return Err(bad(
            "pending_vote_expiry_minutes",
            "must be at most a century of minutes (0 = never expire)",
        ));
    }
    let g = &c.glicko2;
    if !g.initial_rating.is_finite() {
        return Err(bad(
            "glicko2.initial_rating",
            "must be a number (default 1500)",
        ));
    }
    if !positive(g.initial_rd) {
        return Err(bad(
            "glicko2.initial_rd",
            "must be a positive number (default 350)",
        ));
    }
    if !positive(g.initial_volatility) {
        return Err(bad(
            "glicko2.initial_volatility",
            "must be a positive number (default 0.06)",
        ));
    }
    if !positive(g.tau) {
        return Err(bad(
            "glicko2.tau",
            "must be a positive number (default 0.5)",
        ));
    }
    if let Err(e) = crate::rating::glicko2::parse_period(&g.rating_period) {
        return Err(locate(path, text, "\"rating_period\"", e.to_string()));
    }
    if let Err(why) = check_base_url(&c.upstream.base_url) {
        return Err(bad(
            "upstream.base_url",
            &format!("`{}`: {why}", mask_url(&c.upstream.base_url)),
        ));
    }
    for (field, p) in [
        (
            "tiers.cross_tier_probability",
            c.tiers.cross_tier_probability,
        ),
        (
            "tiers.transition_zone_probability",
            c.tiers.transition_zone_probability,
        ),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(bad(
                field,
                &format!("is {p}: a probability goes from 0 to 1"),
            ));
        }
    }
    let salt = c.user_id_salt.expose();
    if !salt.is_empty() && salt.chars().count() < MIN_SALT_CHARS {
        return Err(bad(
            "user_id_salt",
            &format!(
                "is {} characters: a configured key needs at least {MIN_SALT_CHARS} (128 bits \
                 as hex, such as the output of `openssl rand -hex 32`), or leave it empty for \
                 the database's own key",
                salt.chars().count()
            ),
        ));
    }
    for (field, value, min, default) in [
        ("max_answer_bytes", c.max_answer_bytes, 1 << 10, "4194304"),
        (
            "max_error_body_bytes",
            c.max_error_body_bytes,
            1 << 10,
            "65536",
        ),
        ("max_listing_bytes", c.max_listing_bytes, 1 << 10, "4194304"),
        ("max_prompt_bytes", c.max_prompt_bytes, 1, "1048576"),
    ] {
        if !(min..=1 << 30).contains(&value) {
            return Err(bad(
                field,
                &format!("must be between {min} and 1073741824 bytes (default {default})"),
            ));
        }
    }
    if !matches!(c.language.as_str(), "en" | "zh-CN") {
        return Err(bad(
            "language",
            &format!("is `{}`: expected \"en\" or \"zh-CN\"", c.language),
        ));
    }
    for origin in &c.cors_allowed_origins {
        let ok = reqwest::Url::parse(origin).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.path() == "/"
                && !origin.ends_with('/')
        });
        if !ok && origin != "*" {
            return Err(bad(
                "cors_allowed_origins",
                &format!(
                    "holds `{}`: an origin is a scheme, a host and maybe a port, such as \
                     https://example.com (or \"*\" for any)",
                    mask_url(origin)
                ),
            ));
        }
    }
    for host in &c.allowed_hosts {
        let name = host.strip_prefix('.').unwrap_or(host);
        let ok = host == "*"
            || (!name.is_empty() && !name.contains('*') && url::Host::parse(name).is_ok());
        if !ok {
            return Err(bad(
                "allowed_hosts",
                &format!(
                    "holds `{host}`: a host name alone, without scheme or port, such as \
                     arena.example.com (.example.com for it and every name below it, \
                     \"*\" for any)"
                ),
            ));
        }
    }
    for (field, value, max) in [
        ("shutdown_grace_seconds", c.shutdown_grace_seconds, 3600),
        (
            "server_request_timeout_seconds",
            c.server_request_timeout_seconds,
            MAX_TIMEOUT_SECONDS,
        ),
        ("expiry_interval_seconds", c.expiry_interval_seconds, 86_400),
        (
            "header_read_timeout_seconds",
            c.header_read_timeout_seconds,
            3600,
        ),
        (
            "keepalive_timeout_seconds",
            c.keepalive_timeout_seconds,
            3600,
        ),
        (
            "body_read_timeout_seconds",
            c.body_read_timeout_seconds,
            3600,
        ),
    ] {
        if value == 0 || value > max {
            return Err(bad(field, &format!("must be between 1 and {max} seconds")));
        }
    }
    if !(1..=6000).contains(&c.classifier_prompts_per_minute) {
        return Err(bad(
            "classifier_prompts_per_minute",
            "must be between 1 and 6000 prompts a minute (default 10)",
        ));
    }
    if !(1..=1000).contains(&c.max_battle_turns) {
        return Err(bad(
            "max_battle_turns",
            "must be between 1 and 1000 user turns (default 20)",
        ));
    }
    if c.battle_interval_seconds.is_some_and(|s| s > 30 * 86_400) {
        return Err(bad(
            "battle_interval_seconds",
            "must be at most 2592000 seconds (30 days); 0 turns the interval off",
        ));
    }
    if !(1024..=1 << 30).contains(&c.max_request_body_bytes) {
        return Err(bad(
            "max_request_body_bytes",
            "must be between 1024 and 1073741824 bytes (default 1048576)",
        ));
    }
    if !(1..=1_000_000).contains(&c.max_inflight_requests) {
        return Err(bad(
            "max_inflight_requests",
            "must be between 1 and 1000000 (default 512)",
        ));
    }
    if c.max_connections > 1_000_000 {
        return Err(bad(
            "max_connections",
            "must be at most 1000000 (default 0: from the descriptor limit)",
        ));
    }
    if c.battle_model.trim().is_empty() {
        return Err(bad("battle_model", "must not be empty (default \"arena\")"));
    }
    Ok(())
}

/// Per-model object of the third `models.json` form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelEntry {
    name: String,
    model: Option<String>,
    base_url: Option<String>,
    /// Absent (`None`), `null` (`Some(None)`: send no key) or a variable name.
    #[serde(default, deserialize_with = "present")]
    api_key_env: Option<Option<String>>,
    tier: Option<Tier>,
    #[serde(default = "one")]
    weight: f64,
    endpoints: Option<Vec<EndpointEntry>>,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    provider: ProviderKind,
    /// The key may go over plain http to another host (a trusted network).
    #[serde(default)]
    allow_http_key: bool,
    #[serde(default)]
    kind: ModelKind,
    images_per_request: Option<u32>,
    max_concurrent: Option<u64>,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointEntry {
    base_url: Option<String>,
    model: Option<String>,
    #[serde(default, deserialize_with = "present")]
    api_key_env: Option<Option<String>>,
    max_concurrent: Option<u64>,
}

/// A model's `max_concurrent` (`limit`), checked: a whole number from 1, located at the
/// first such key after the model's name that holds `limit`.
fn slots(path: &Path, text: &str, name: &str, limit: Option<u64>) -> Result<Option<u32>> {
    let Some(n) = limit else { return Ok(None) };
    if let Ok(n) = u32::try_from(n)
        && n >= 1
    {
        return Ok(Some(n));
    }
    let from = text.find(&format!("\"{name}\"")).unwrap_or(0);
    let at = text[from..]
        .match_indices("\"max_concurrent\"")
        .map(|(i, _)| i + from)
        .find(|&i| {
            text[i + 16..]
                .trim_start()
                .strip_prefix(':')
                .is_some_and(|v| v.trim_start().starts_with(&n.to_string()))
        });
    Err(located(
        path,
        text,
        at,
        format!(
            "model `{name}` has max_concurrent {n}: give the number of requests its server \
             takes at once, from 1 to 4294967295, or leave max_concurrent out for no limit"
        ),
    ))
}

/// A field that is present, `null` included: absent stays `None` (by `default`), `null`
/// becomes `Some(None)`.
fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsObject {
    models: Vec<ModelEntry>,
}

/// Reads `models.json` in any of its three forms (SPEC §3), detected by shape.
pub fn load_models(path: &Path, config: &Config) -> Result<Models> {
    let text = read(path)?;
    let models = parse_models(path, &text, config)?;
    Ok(Models {
        models,
        path: Some(path.to_owned()),
    })
}

/// Parses the text of a `models.json`; `path` is only used in messages.
pub fn parse_models(path: &Path, text: &str, config: &Config) -> Result<Vec<ModelSpec>> {
    let shape: Value = parse(path, text)?;
    let default_endpoint = |model: &str| Endpoint {
        base_url: config.upstream.base_url.clone(),
        model: model.to_owned(),
        api_key_env: config.upstream.api_key_env.clone(),
        allow_http_key: false,
        max_concurrent: None,
    };
    let simple = |name: String, id: String| ModelSpec {
        endpoints: vec![default_endpoint(&id)],
        name,
        provider: ProviderKind::Openai,
        tier: None,
        weight: 1.0,
        params: Map::new(),
        kind: ModelKind::Chat,
        images_per_request: None,
    };
    let specs: Vec<ModelSpec> = match &shape {
        Value::Array(_) => parse::<Vec<String>>(path, text)?
            .into_iter()
            .map(|n| simple(n.clone(), n))
            .collect(),
        Value::Object(map) if map.get("models").is_some_and(Value::is_array) => {
            let parsed: ModelsObject = parse(path, text)?;
            parsed
                .models
                .into_iter()
                .map(|e| {
                    let limit = slots(path, text, &e.name, e.max_concurrent)?;
                    let model = e.model.unwrap_or_else(|| e.name.clone());
                    // A key goes only to the host it was named for: the default upstream's
                    // key only to the default upstream, never to a base_url of the model's
                    // own; `null` sends none.
                    let key = match (&e.api_key_env, &e.base_url) {
                        (Some(named), _) => named.clone(),
                        (None, None) => config.upstream.api_key_env.clone(),
                        (None, Some(_)) => None,
                    };
                    let base_url = e.base_url.unwrap_or_else(|| config.upstream.base_url.clone());
                    let endpoints = match e.endpoints {
                        Some(list) if !list.is_empty() => list
                            .into_iter()
                            .map(|p| {
                                let own = slots(path, text, &e.name, p.max_concurrent)?;
                                // An endpoint inherits the key its model named; the default
                                // upstream's key only when it also inherits the default URL.
                                let api_key_env = match (p.api_key_env, &p.base_url) {
                                    (Some(named), _) => named,
                                    (None, None) => key.clone(),
                                    (None, Some(_)) => e.api_key_env.clone().flatten(),
                                };
                                Ok(Endpoint {
                                    base_url: p.base_url.unwrap_or_else(|| base_url.clone()),
                                    model: p.model.unwrap_or_else(|| model.clone()),
                                    api_key_env,
                                    allow_http_key: e.allow_http_key,
                                    // An endpoint inherits its model's limit.
                                    max_concurrent: own.or(limit),
                                })
                            })
                            .collect::<Result<_>>()?,
                        _ => vec![Endpoint {
                            base_url,
                            model,
                            api_key_env: key,
                            allow_http_key: e.allow_http_key,
                            max_concurrent: limit,
                        }],
                    };
                    Ok(ModelSpec {
                        name: e.name,
                        provider: e.provider,
                        endpoints,
                        tier: e.tier,
                        weight: e.weight,
                        params: e.params,
                        kind: e.kind,
                        images_per_request: e.images_per_request,
                    })
                })
                .collect::<Result<_>>()?
        }
        Value::Object(map) if map.contains_key("models") => {
            return Err(locate(
                path,
                text,
                "\"models\"",
                "`models` must be an array of model objects, as in {\"models\": [{\"name\": \"gpt-4o\"}]}"
                    .into(),
            ));
        }
        Value::Object(_) => parse::<Map<String, Value>>(path, text)?
            .into_iter()
            .map(|(name, id)| match id {
                Value::String(id) => Ok(simple(name, id)),
                other => Err(locate(
                    path,
                    text,
                    &format!("\"{name}\""),
                    format!(
                        "model `{name}` maps to {other}, expected a string (the upstream model id); \
                         for per-model settings use the form {{\"models\": [{{\"name\": ...}}]}}"
                    ),
                )),
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::File {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: "expected an array of model names, an object of name -> upstream id, \
                          or {\"models\": [...]}"
                    .into(),
            });
        }
    };
    validate_models(path, text, &specs, &config.upstream)?;
    Ok(specs)
}

/// `url` as an error may show it: a password in it becomes `***`, and so does a user name
/// given alone (tokens are often passed that way). Done on the text, so that a URL too
/// malformed to parse is masked as well.
#[must_use]
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let masked = match authority[..at].split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{masked}{}", &url[..scheme_end], &url[scheme_end + at..])
}

/// Why `url` cannot be an upstream's base URL, if it cannot: it must be http or https with a
/// host, and carry no user name or password (they would be printed and stored with errors;
/// keys go in `api_key_env`), no query and no fragment (`/chat/completions` is appended).
pub fn check_base_url(url: &str) -> std::result::Result<(), String> {
    let example = "such as https://api.openai.com/v1";
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("not a URL ({e}): expected an http:// or https:// URL {example}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("expected an http:// or https:// URL {example}"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("the URL has no host: expected a URL {example}"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL carries a user name or password: remove it and put the key in an \
             environment variable named by api_key_env"
                .into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "the URL has a query or a fragment: give the base URL up to /v1, {example}"
        ));
    }
    Ok(())
}

/// The largest sampling weight: weights are relative, and a bound keeps their sum finite.
const MAX_WEIGHT: f64 = 1e9;

fn validate_models(
    path: &Path,
    text: &str,
    specs: &[ModelSpec],
    upstream: &UpstreamConfig,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    for m in specs {
        let quoted = format!("\"{}\"", m.name);
        if m.name.trim().is_empty() {
            return Err(locate(
                path,
                text,
                "\"\"",
                "a model name is empty: give every model a `name`".into(),
            ));
        }
        if m.name.chars().any(char::is_control) {
            let escaped = serde_json::to_string(&m.name).unwrap_or_default();
            return Err(locate(
                path,
                text,
                &escaped,
                format!(
                    "model name {:?} holds a control character (a newline, a tab, an escape): \
                     names are shown in tables and must be plain text",
                    m.name
                ),
            ));
        }
        if !seen.insert(m.name.as_str()) {
            return Err(locate_last(
                path,
                text,
                &quoted,
                format!(
                    "model `{}` is listed twice: model names must be unique",
                    m.name
                ),
            ));
        }
        if !(0.0..=MAX_WEIGHT).contains(&m.weight) {
            return Err(locate(
                path,
                text,
                &quoted,
                format!(
                    "model `{}` has weight {}: weights go from 0 (out of rotation) to 1e9",
                    m.name, m.weight
                ),
            ));
        }
        if m.provider == ProviderKind::Openai {
            // The default upstream's URL was checked with config.jsonc, and is blamed there.
            for e in m
                .endpoints
                .iter()
                .filter(|e| e.base_url != upstream.base_url)
            {
                if let Err(why) = check_base_url(&e.base_url) {
                    let at = format!("\"{}\"", e.base_url);
                    let needle = if text.contains(&at) { &at } else { &quoted };
                    return Err(locate(
                        path,
                        text,
                        needle,
                        format!(
                            "model `{}` has base_url `{}`: {why}",
                            m.name,
                            mask_url(&e.base_url)
                        ),
                    ));
                }
            }
        }
    }
    if specs.is_empty() {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "no models: list at least two models to compare".into(),
        });
    }
    // A limit belongs to a server: two that differ for one base_url leave it unknown.
    let mut limits: std::collections::BTreeMap<&str, (u32, &str)> =
        std::collections::BTreeMap::new();
    for m in specs {
        for e in &m.endpoints {
            let Some(n) = e.max_concurrent else { continue };
            let server = e.base_url.trim_end_matches('/');
            match limits.get(server) {
                Some(&(first, by)) if first != n => {
                    let quoted = format!("\"{}\"", m.name);
                    return Err(locate(
                        path,
                        text,
                        &quoted,
                        format!(
                            "model `{}` sets max_concurrent {n} for {server}, but model `{by}` \
                             sets {first}: the limit is the server's, counted over every model \
                             at that base_url, so give them all the same value",
                            m.name
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    limits.insert(server, (n, &m.name));
                }
            }
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Deserialises JSONC text into `T`, turning parse and type errors into [`Error::File`] with
/// the line and column, and unknown keys into a message naming the nearest known key.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let empty = jsonc_parser::parse_to_ast(
        text,
        &jsonc_parser::CollectOptions::default(),
        &jsonc_options(),
    )
    .is_ok_and(|parsed| parsed.value.is_none());
    if empty {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "the file holds no JSON value (it is empty or only comments): write an \
                      object such as {}"
                .into(),
        });
    }
    jsonc_parser::parse_to_serde_value::<T>(text, &jsonc_options()).map_err(|e| {
        let kind = e.kind().to_string();
        // The parser places an unknown key at its object; point at the key itself.
        let key_at = kind
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .and_then(|(key, _)| {
                let from = e.range().start.min(text.len());
                text.get(from..)?
                    .find(&format!("\"{key}\""))
                    .map(|i| i + from)
            });
        match key_at {
            Some(at) => located(path, text, Some(at), explain(&kind)),
            None => {
                let message = match key_before(text, e.range().start) {
                    Some(key) if kind.starts_with("invalid ") => {
                        format!("`{key}`: {}", explain(&kind))
                    }
                    _ => explain(&kind),
                };
                Error::File {
                    path: path.to_owned(),
                    line: e.line_display(),
                    column: e.column_display(),
                    message,
                }
            }
        }
    })
}

/// The name of the key whose value starts at byte `at`: the last `"name":` before it.
fn key_before(text: &str, at: usize) -> Option<&str> {
    let before = text.get(..at.min(text.len()))?.trim_end();
    let before = before.strip_suffix(':')?.trim_end();
    let before = before.strip_suffix('"')?;
    let start = before.rfind('"')?;
    Some(&before[start + 1..])
}

/// JSON plus comments and trailing commas, nothing looser: a missing comma or a single-quoted
/// string is an error, not a guess.
pub(crate) fn jsonc_options() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Makes serde's messages say what to do: "unknown field `prot`, expected one of ..." becomes
/// "unknown key `prot` (did you mean `port`?); known keys: ...".
fn explain(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return plain_types(message);
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    let hint = nearest(key, known.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}`{hint}; known keys here: {}",
        known.join(", ")
    )
}

/// Serde's type names in words: "invalid type: string \"x\", expected u64" becomes "expected
/// a whole number of 0 or more, found the string \"x\"".
fn plain_types(message: &str) -> String {
    fn kind(t: &str) -> String {
        let t = t.trim();
        match t {
            "u8" => "a whole number from 0 to 255".into(),
            "u16" => "a whole number from 0 to 65535".into(),
            "u32" | "u64" | "usize" => "a whole number of 0 or more".into(),
            "i32" | "i64" | "isize" => "a whole number".into(),
            "f32" | "f64" => "a number".into(),
            "a boolean" | "bool" => "true or false".into(),
            "unit value" | "null" => "null".into(),
            "a sequence" | "sequence" => "an array".into(),
            "a map" | "map" => "an object".into(),
            "option" => "a value or null".into(),
            _ if t.starts_with("struct ") || t.starts_with("a map") => "an object".into(),
            _ if t.starts_with("string ") => format!("the string {}", &t[7..]),
            _ if t.starts_with("integer ") => format!("the number {}", t[8..].trim_matches('`')),
            _ if t.starts_with("floating point ") => {
                format!("the number {}", t[15..].trim_matches('`'))
            }
            _ => t.to_owned(),
        }
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            return format!("expected {}, found {}", kind(expected), kind(found));
        }
    }
    message.to_owned()
}

/// The candidate closest to `word` by edit distance, if any is close enough to be a typo.
#[must_use]
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// An error located at the first occurrence of `needle` in `text` (line 1 when absent).
fn locate(path: &Path, text: &str, needle: &str, message: String) -> Error {
    let at = text.find(needle);
    located(path, text, at, message)
}

fn locate_last(path: &Path, text: &str, needle: &str, message: String) -> Error {
    let at = text.rfind(needle);
    located(path, text, at, message)
}

fn located(path: &Path, text: &str, at: Option<usize>, message: String) -> Error {
    let (line, column) = at.map_or((1, 1), |i| {
        let before = &text[..i];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    });
    Error::File {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

// ---------------------------------------------------------------------------------------------
// Paths

/// Where a file came from, for `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    CurrentDir,
    ConfigDir,
    DataDir,
    Default,
    /// A setting of config.jsonc (`database_url`).
    ConfigSetting,
}

impl Source {
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "from the command line",
            Source::Env => "from the environment",
            Source::CurrentDir => "from the current directory",
            Source::ConfigDir => "from the config directory",
            Source::DataDir => "the default data directory",
            Source::Default => "built-in defaults",
            Source::ConfigSetting => "database_url of config.jsonc",
        }
    }
}

pub use crate::util::project_dirs;

/// The database path: the flag or `ARENA_DB` (already merged by the caller into `explicit`),
/// else `database_url` of config.jsonc (`configured`), else `arena.sqlite3` in the data
/// directory.
pub fn resolve_db(
    explicit: Option<&Path>,
    from_env: bool,
    configured: Option<(&str, Source)>,
) -> Result<(PathBuf, Source)> {
    if let Some(p) = explicit {
        let source = if from_env { Source::Env } else { Source::Flag };
        return Ok((p.to_owned(), source));
    }
    if let Some((url, source)) = configured
        && !url.is_empty()
    {
        return Ok((PathBuf::from(url), source));
    }
    let dirs = project_dirs().ok_or_else(|| {
        Error::Input("no home directory found: pass --db PATH or set ARENA_DB".into())
    })?;
    Ok((dirs.data_dir().join("arena.sqlite3"), Source::DataDir))
}

/// Where a config-like file was found, and any file that was refused on the way.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub found: Option<(PathBuf, Source)>,
    /// A file of the current directory that is not trusted, and why, in words.
    pub refused: Option<(PathBuf, String)>,
}

/// A config-like file: the explicit path; else `./NAME` when present and trusted (see
/// [`crate::trust`]); else NAME in the config directory when present.
pub fn resolve_file(explicit: Option<&Path>, from_env: bool, name: &str) -> Result<Resolution> {
    if let Some(p) = explicit {
        let source = if from_env { Source::Env } else { Source::Flag };
        return Ok(Resolution {
            found: Some((p.to_owned(), source)),
            refused: None,
        });
    }
    let mut resolution = Resolution::default();
    let here = PathBuf::from(name);
    if here.is_file() {
        let why = match crate::trust::check(&here)? {
            crate::trust::Verdict::Trusted => {
                resolution.found = Some((here, Source::CurrentDir));
                return Ok(resolution);
            }
            crate::trust::Verdict::Unknown => "is not trusted",
            crate::trust::Verdict::Changed => "changed since it was trusted",
        };
        resolution.refused = Some((here, why.to_owned()));
    }
    if let Some(dirs) = project_dirs() {
        let there = dirs.config_dir().join(name);
        if there.is_file() {
            resolution.found = Some((there, Source::ConfigDir));
        }
    }
    Ok(resolution)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_errors_have_their_password_masked() {
        assert_eq!(
            mask_url("http://user:s3cret@example.com/v1"),
            "http://user:***@example.com/v1"
        );
        assert_eq!(
            mask_url("https://tok3n@h:99999/v1"),
            "https://***@h:99999/v1"
        );
        // An `@` of the path is not user info; a password may hold one of its own.
        assert_eq!(mask_url("http://h/v1/a@b"), "http://h/v1/a@b");
        assert_eq!(mask_url("http://u:p@ss@h/v1"), "http://u:***@h/v1");
        assert_eq!(mask_url("not a url"), "not a url");
        for text in [
            r#"{"upstream": {"base_url": "https://bob:hunter2@api.example.com/v1"}}"#,
            r#"{"upstream": {"base_url": "https://bob:hunter2@api.example.com:99999/v1"}}"#,
        ] {
            let e = parse_config(Path::new("c.jsonc"), text)
                .expect_err("user info is refused")
                .to_string();
            assert!(!e.contains("hunter2") && e.contains("bob:***@"), "{e}");
        }
        let models = r#"{"models": [{"name": "x", "base_url": "http://u:s3cret@h/v1"}]}"#;
        let e = parse_models(Path::new("m.json"), models, &Config::default())
            .expect_err("user info is refused")
            .to_string();
        assert!(!e.contains("s3cret") && e.contains("u:***@h"), "{e}");
    }

    fn models(text: &str) -> Result<Vec<ModelSpec>> {
        parse_models(Path::new("models.json"), text, &Config::default())
    }

    #[test]
    fn allowed_hosts_are_host_names_and_the_slow_client_timeouts_are_bounded() {
        let path = Path::new("config.jsonc");
        let ok = r#"{"allowed_hosts": ["arena.example.com", ".lan.example", "192.168.1.7",
                     "[fe80::1]", "*"], "max_connections": 100}"#;
        assert!(parse_config(path, ok).is_ok());
        for bad in [
            "http://arena.example.com",
            "arena.example.com:8080",
            "*.example.com",
            "",
        ] {
            let text = format!(r#"{{"allowed_hosts": ["{bad}"]}}"#);
            let e = parse_config(path, &text).expect_err(bad).to_string();
            assert!(
                e.contains("allowed_hosts") && e.contains("without scheme"),
                "{e}"
            );
        }
        for key in [
            "header_read_timeout_seconds",
            "keepalive_timeout_seconds",
            "body_read_timeout_seconds",
        ] {
            for value in [0, 3601] {
                let text = format!(r#"{{"{key}": {value}}}"#);
                let e = parse_config(path, &text).expect_err(key).to_string();
                assert!(e.contains(key), "{e}");
            }
        }
    }

    #[test]
    fn the_template_shows_the_default_identity_words() {
        let path = Path::new("config.jsonc");
        let template = parse_config(path, include_str!("../config.jsonc")).expect("template");
        let default = IdentityLeakConfig::default();
        assert_eq!(template.identity_leak.words, default.words);
        assert!(template.identity_leak.pool_names);
        let off = parse_config(
            path,
            r#"{"identity_leak": {"words": [], "pool_names": false}}"#,
        )
        .expect("off");
        assert!(off.identity_leak.words.is_empty() && !off.identity_leak.pool_names);
        let e = parse_config(path, r#"{"identity_leak": {"word": []}}"#)
            .expect_err("an unknown key")
            .to_string();
        assert!(e.contains("words"), "{e}");
    }

    #[test]
    fn a_battle_interval_beyond_thirty_days_is_refused() {
        let path = Path::new("config.jsonc");
        assert!(parse_config(path, r#"{"battle_interval_seconds": 2592000}"#).is_ok());
        let e = parse_config(path, r#"{"battle_interval_seconds": 9200000000000000}"#)
            .expect_err("refused")
            .to_string();
        assert!(e.contains("battle_interval_seconds"), "{e}");
    }

    #[test]
    fn three_forms_of_models_json() {
        let a = models(r#"["gpt-4o", "claude"]"#).unwrap();
        assert_eq!(a[1].name, "claude");
        assert_eq!(a[1].endpoints[0].model, "claude");
        assert_eq!(a[0].endpoints[0].base_url, "https://api.openai.com/v1");

        let b = models(r#"{"gpt-4o": "gpt-4o-2024-08-06", "x": "y",}"#).unwrap();
        assert_eq!(b[0].endpoints[0].model, "gpt-4o-2024-08-06");

        let c = models(
            r#"// pools and mocks
            {"models": [
              {"name": "a", "provider": "mock", "tier": "high", "weight": 2},
              {"name": "b", "model": "bb", "endpoints": [
                 {"base_url": "http://127.0.0.1:1/v1"},
                 {"base_url": "http://127.0.0.1:2/v1", "model": "other", "api_key_env": "K"}]}
            ]}"#,
        )
        .unwrap();
        assert_eq!(c[0].provider, ProviderKind::Mock);
        assert_eq!(c[0].tier, Some(Tier::High));
        assert_eq!(c[1].endpoints.len(), 2);
        assert_eq!(c[1].endpoints[0].model, "bb");
        assert_eq!(c[1].endpoints[1].model, "other");
        assert_eq!(c[1].endpoints[1].api_key_env.as_deref(), Some("K"));
    }

    #[test]
    fn unknown_key_names_the_nearest_and_the_position() {
        let err = parse::<Config>(
            Path::new("config.jsonc"),
            "{\n  // c\n  \"battle_server_prot\": 1,\n}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config.jsonc:3:3: unknown key `battle_server_prot`"),
            "{err}"
        );
        assert!(err.contains("did you mean `battle_server_port`?"), "{err}");
    }

    #[test]
    fn wrong_type_is_located() {
        let err = parse::<Config>(Path::new("c"), "{\"elo\": {\"k\": \"high\"}}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c:1:15:"), "{err}");
    }

    #[test]
    fn a_models_key_that_is_not_a_list_is_an_error() {
        let err = models("{\n \"models\": \"x\"}").unwrap_err().to_string();
        assert!(
            err.starts_with("models.json:2:2: `models` must be an array"),
            "{err}"
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let config: Config = parse(
            Path::new("c"),
            r#"{"api_key": "server-key-123", "user_id_salt": "0123456789abcdef0123456789abcdef"}"#,
        )
        .unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("server-key-123"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn max_concurrent_is_a_servers_limit_of_one_or_more() {
        let c = models(
            r#"{"models": [
              {"name": "a", "base_url": "http://127.0.0.1:8080/v1", "max_concurrent": 1},
              {"name": "b", "base_url": "http://127.0.0.1:8080/v1/", "max_concurrent": 1},
              {"name": "p", "max_concurrent": 2, "endpoints": [
                 {"base_url": "http://127.0.0.1:1/v1"},
                 {"base_url": "http://127.0.0.1:2/v1", "max_concurrent": 5}]}
            ]}"#,
        )
        .unwrap();
        assert_eq!(c[0].endpoints[0].max_concurrent, Some(1));
        assert_eq!(c[2].endpoints[0].max_concurrent, Some(2));
        assert_eq!(c[2].endpoints[1].max_concurrent, Some(5));
        let err = models("{\"models\": [\n {\"name\": \"a\",\n  \"max_concurrent\": 0}]}")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("models.json:3:3: model `a` has max_concurrent 0: give the number"),
            "{err}"
        );
        let err = models("{\"models\": [\n {\"name\": \"a\", \"max_concurrent\": -1}]}")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("models.json:2:"), "{err}");
        let err = models(
            "{\"models\": [\n {\"name\": \"a\", \"base_url\": \"http://h/v1\", \"max_concurrent\": 1},\n \
             {\"name\": \"b\", \"base_url\": \"http://h/v1\", \"max_concurrent\": 2}]}",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("models.json:3:11: model `b` sets max_concurrent 2 for http://h/v1"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_model_is_located() {
        let err = models("[\"a\",\n \"a\"]").unwrap_err().to_string();
        assert!(
            err.starts_with("models.json:2:2: model `a` is listed twice"),
            "{err}"
        );
    }
}
