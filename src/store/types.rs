//! The values the store's operations take and give, the same for every backend: battles to
//! create and how their generation ended, chat battles turn by turn, votes and their filters,
//! imports, prompts, API keys. Nothing here knows a database.

use std::collections::HashSet;

use super::tally::Tally;
use crate::battle::{BattleId, BattleRecord, Origin, Side, Status, VoteFlags, Winner};
use crate::rating::category::{self, Conversation};
use crate::rating::style::{Features, StyleVote};

/// How a command uses the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Reads only: never writes, works on a read-only file, never creates one.
    Read,
    /// Writes to a database that must exist already (a vote needs a battle).
    Write,
    /// Writes, creating the database and its directory when they do not exist.
    Create,
}

pub use crate::battle::lifecycle::{EXPIRED, Failure, Limits};

/// A battle to create, in `pending_generation`.
#[derive(Debug, Clone)]
pub struct NewBattle {
    pub id: BattleId,
    pub origin: Origin,
    pub user_hash: Option<String>,
    pub prompt: String,
    pub prompt_id: Option<String>,
    pub theme: String,
    pub system: Option<String>,
    pub model_a: String,
    pub model_b: String,
    /// The in-chat id of a battle started from a chat client.
    pub rpid: Option<String>,
    /// The prompt's content as JSON, when it is more than its text (a chat message with
    /// images).
    pub prompt_content: Option<String>,
    /// When it is created (Unix milliseconds), by the engine's clock.
    pub now: i64,
    /// Per-user limits checked in the transaction that creates it.
    pub limits: Option<Limits>,
}

/// How one side's generation ended.
#[derive(Debug, Clone, Default)]
pub struct SideOutcome {
    pub response: Option<String>,
    pub error: Option<String>,
    /// Why the side failed, when it did (`Upstream` when not said).
    pub failure: Option<Failure>,
    pub latency_ms: Option<i64>,
    pub first_token_ms: Option<i64>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    /// Why the upstream ended the answer (`stop`, `length`, ...), when it said.
    pub finish_reason: Option<String>,
}

/// Filters of `arena battles`.
#[derive(Debug, Clone, Default)]
pub struct BattleFilter {
    pub status: Option<Status>,
    pub model: Option<String>,
    /// Unix milliseconds.
    pub since: Option<i64>,
    pub limit: Option<u32>,
}

/// One user turn of a chat battle and each side's answer to it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTurn {
    pub turn: i64,
    pub prompt: String,
    /// The turn's content as JSON, when it is more than its text (images).
    pub content: Option<String>,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
    /// Why each side's upstream ended its answer, when it said.
    pub finish_a: Option<String>,
    pub finish_b: Option<String>,
}

impl ChatTurn {
    /// Why `side`'s answer to this turn ended, when its upstream said.
    #[must_use]
    pub fn finish(&self, side: Side) -> Option<&str> {
        match side {
            Side::A => self.finish_a.as_deref(),
            Side::B => self.finish_b.as_deref(),
        }
    }

    /// `side`'s answer to this turn, once it is whole.
    #[must_use]
    pub fn response(&self, side: Side) -> Option<&str> {
        match side {
            Side::A => self.response_a.as_deref(),
            Side::B => self.response_b.as_deref(),
        }
    }
}

/// A chat battle with its turns and what its client was shown.
#[derive(Debug, Clone)]
pub struct ChatState {
    pub record: BattleRecord,
    /// Every user turn, the first included, in order.
    pub turns: Vec<ChatTurn>,
    /// The latest turn whose answer of A (of B) a client was shown in full.
    pub shown_a: Option<i64>,
    pub shown_b: Option<i64>,
}

impl ChatState {
    /// The index of the latest user turn.
    #[must_use]
    pub fn latest(&self) -> i64 {
        self.turns.last().map_or(0, |t| t.turn)
    }

    /// Whether `side`'s answer to the latest turn was shown.
    #[must_use]
    pub fn shown(&self, side: Side) -> bool {
        let shown = match side {
            Side::A => self.shown_a,
            Side::B => self.shown_b,
        };
        shown.is_some_and(|t| t >= self.latest())
    }
}

/// The vote of a battle with the online Elo change it made, as its reveal showed it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeptVote {
    pub winner: Winner,
    /// A's and B's online Elo before and after the vote; `None` for a vote recorded before
    /// they were kept.
    pub elo_a: Option<(f64, f64)>,
    pub elo_b: Option<(f64, f64)>,
}

/// Which votes to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VoteFilter {
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    /// Only battles of this prompt theme.
    pub theme: Option<String>,
    /// Only votes between models of this set (e.g. one tier).
    pub models: Option<Vec<String>>,
    /// Left-out votes taken as well, by their reasons (none: only votes that count).
    pub admit: VoteFlags,
    /// Only votes in every one of these categories (`coding`, `language:en`, ...).
    pub categories: Vec<String>,
    /// No vote in any of these categories.
    pub exclude_categories: Vec<String>,
}

/// What recording a vote did: the completed battle (with why its vote is left out of the
/// ratings, if it is), and the online Elo ratings of its two models before and after the
/// vote (at the end of the history, which is where a vote cast now stands; unchanged for a
/// vote left out).
#[derive(Debug, Clone)]
pub struct VoteOutcome {
    pub record: BattleRecord,
    pub elo_a: (f64, f64),
    pub elo_b: (f64, f64),
}

/// A vote as exported, with every field that tells which vote it is, so that importing an
/// export adds nothing: `vote_id` (the battle's id for a vote cast here, the record's key for
/// an imported one), the battle, the log's `question_id`, and the vote's own time (none for
/// a vote imported without one); and why it is left out of the ratings, if it is, so that an
/// import keeps it out.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportedVote {
    pub vote_id: String,
    pub battle_id: Option<String>,
    pub model_a: String,
    pub model_b: String,
    pub winner: Winner,
    /// Unix seconds, as `tstamp` in battle logs.
    pub tstamp: Option<f64>,
    pub question_id: Option<String>,
    /// The reasons' names (`identity_leak`, ...); left out of the JSON when it counts.
    #[serde(skip_serializing_if = "VoteFlags::counts")]
    pub left_out: VoteFlags,
}

impl ExportedVote {
    /// The CSV columns, in the order of the JSON fields.
    pub const FIELDS: [&'static str; 8] = [
        "vote_id",
        "battle_id",
        "model_a",
        "model_b",
        "winner",
        "tstamp",
        "question_id",
        "left_out",
    ];

    /// The fields as CSV cells.
    #[must_use]
    pub fn cells(&self) -> [String; 8] {
        [
            self.vote_id.clone(),
            self.battle_id.clone().unwrap_or_default(),
            self.model_a.clone(),
            self.model_b.clone(),
            self.winner.as_str().to_owned(),
            self.tstamp.map(|t| t.to_string()).unwrap_or_default(),
            self.question_id.clone().unwrap_or_default(),
            self.left_out.names().join(","),
        ]
    }
}

/// Which counts to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CountFilter {
    /// First UTC day (days since 1970), inclusive.
    pub since_day: Option<i64>,
    /// Last UTC day, exclusive.
    pub until_day: Option<i64>,
    /// Only pairs of these models.
    pub models: Option<Vec<String>>,
    /// Left-out votes counted as well, by their reasons (none: only votes that count).
    pub admit: VoteFlags,
}

/// A prompt of the pool.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Prompt {
    pub id: String,
    pub text: String,
    pub theme: String,
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The key is its user: a request cannot make it someone else.
    User,
    /// The key acts for the users its requests name (a bot, a chat front end).
    Service,
}

impl KeyKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::User => "user",
            KeyKind::Service => "service",
        }
    }

    /// The kind named `s`, as [`KeyKind::as_str`] writes it.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(KeyKind::User),
            "service" => Some(KeyKind::Service),
            _ => None,
        }
    }
}

/// A stored key, as `arena keys list` shows it: never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: i64,
    pub name: String,
    pub kind: KeyKind,
    /// A service key that may name its user by Open WebUI's `X-OpenWebUI-User-Id` header.
    pub trust_forwarded_user: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, to the minute (the server writes it at most once a minute).
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What a request's key is, and whether the server has keys at all.
#[derive(Debug, Clone, Default)]
pub struct KeyLookup {
    /// Some key, active or revoked, is stored: the server needs a key.
    pub any: bool,
    /// The active key with the hash asked for.
    pub key: Option<StoredKey>,
}

/// One imported vote.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Stable across imports of the same file.
    pub key: i64,
    /// Indexes into [`Chunk::names`].
    pub model_a: u32,
    pub model_b: u32,
    pub winner: Winner,
    /// Unix milliseconds of the vote, when the record has a `tstamp`.
    pub tstamp_ms: Option<i64>,
    /// The voter (`judge`), to be stored as a salted hash.
    pub judge: Option<String>,
    pub prompt: Option<String>,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
    /// The battle this vote was exported from, when the record names one.
    pub battle_id: Option<uuid::Uuid>,
    /// The log's own id of the conversation, kept for exports.
    pub question_id: Option<String>,
    /// Why the vote is left out of the ratings, as an export of ours says.
    pub left_out: VoteFlags,
    /// Its style features and categories, from its metadata or its conversations.
    pub style: VoteStyle,
}

/// A batch of rows and the model names they index into (all names seen so far).
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    pub names: Vec<String>,
    pub rows: Vec<ImportRow>,
    /// Input bytes consumed so far, for progress.
    pub bytes_read: u64,
}

/// What one chunk did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCount {
    pub imported: u64,
    /// Records already in the database from an earlier import.
    pub duplicates: u64,
}

/// The keys of records imported so far, and the last stored chunk they include.
#[derive(Debug, Default)]
pub struct KnownKeys {
    pub(crate) keys: HashSet<i64, std::hash::BuildHasherDefault<KeyHasher>>,
    /// The last stored chunk of keys read (the backend's own sequence).
    pub(crate) last_chunk: i64,
}

impl KnownKeys {
    /// How many keys are known.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Record keys are hashes already: use them as they are.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_i64(&mut self, n: i64) {
        self.0 = u64::from_ne_bytes(n.to_ne_bytes());
    }
}

/// An import under way: the keys known so far, and the counts of its votes so far, which go
/// into the running counts once, when it ends ([`super::Store::finish_import`]). Until then the
/// counts are marked stale in the database, so that an import killed half-way has them
/// rebuilt from the votes at the next open.
#[derive(Debug, Default)]
pub struct ImportSession {
    pub(crate) known: KnownKeys,
    pub(crate) tally: Tally,
    /// The time of its latest vote that counts.
    pub(crate) latest: Option<i64>,
    /// Whether it wrote anything (the counts are then marked stale until it ends).
    pub(crate) dirty: bool,
}

impl ImportSession {
    /// How many record keys are known.
    #[must_use]
    pub fn known(&self) -> usize {
        self.known.len()
    }
}

/// Every model's name, and each counted vote with the prompt and theme of its battle (see
/// [`Store::prompt_votes`](super::Store::prompt_votes)).
pub type PromptVotes = (Vec<String>, Vec<(String, String, crate::rating::VoteRow)>);

/// A vote the prompt classifier has not judged yet (see [`crate::classify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnclassifiedVote {
    /// The vote's id in the store.
    pub vote: i64,
    /// The user turns of its battle, in order.
    pub user: Vec<String>,
}

/// What is kept of one vote beside its outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoteStyle {
    /// The features of side a and side b; `None` when there is no text to count.
    pub features: Option<(Features, Features)>,
    /// Category names, sorted, each once.
    pub categories: Vec<String>,
}

impl VoteStyle {
    /// The features and the categories of a conversation (user turns and each side's answers).
    #[must_use]
    pub fn of_conversation(c: &Conversation<'_>) -> Self {
        VoteStyle {
            features: Some((
                Features::of_answers(c.answers_a.iter().copied()),
                Features::of_answers(c.answers_b.iter().copied()),
            )),
            categories: category::categories(c),
        }
    }
}

impl VoteStyle {
    /// The features and categories of a battle from its turns (see [`ChatState::turns`]):
    /// the non-empty user turns, and each side's answers that are there.
    #[must_use]
    pub fn of_turns(turns: &[ChatTurn]) -> Self {
        let user: Vec<&str> = turns
            .iter()
            .map(|t| t.prompt.as_str())
            .filter(|p| !p.is_empty())
            .collect();
        let a: Vec<&str> = turns
            .iter()
            .filter_map(|t| t.response_a.as_deref())
            .collect();
        let b: Vec<&str> = turns
            .iter()
            .filter_map(|t| t.response_b.as_deref())
            .collect();
        Self::of_conversation(&Conversation {
            user: &user,
            answers_a: &a,
            answers_b: &b,
        })
    }
}

/// The style of a battle kept on it when its answers are all in, for its vote to take
/// instead of counting them inside the vote's transaction: JSON with the latest turn it
/// covers, the same on every backend.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptStyle {
    turn: i64,
    features: Option<[u32; 8]>,
    categories: Vec<String>,
}

/// The stored form of a battle's style, counted when `turn` was its latest turn.
#[must_use]
pub(crate) fn kept_style_json(turn: i64, style: &VoteStyle) -> String {
    let features = style.features.as_ref().map(|(a, b)| {
        let mut all = [0u32; 8];
        all[..4].copy_from_slice(&a.as_array());
        all[4..].copy_from_slice(&b.as_array());
        all
    });
    let kept = KeptStyle {
        turn,
        features,
        categories: style.categories.clone(),
    };
    serde_json::to_string(&kept).unwrap_or_default()
}

/// A battle's kept style, if it was counted when `turn` was its latest turn (a battle that
/// went on to another turn since has answers it does not cover): `None` otherwise, and for
/// anything unreadable, so that the vote counts them itself.
pub(crate) fn kept_style_of(json: Option<&str>, turn: i64) -> Option<VoteStyle> {
    let kept: KeptStyle = serde_json::from_str(json?).ok()?;
    (kept.turn == turn).then(|| VoteStyle {
        features: kept.features.map(features_of_counts),
        categories: kept.categories,
    })
}

/// Votes with their style features, and how many of the selected votes had none.
#[derive(Debug, Clone, Default)]
pub struct StyledVotes {
    /// Every model's name: the votes name models by their place here.
    pub names: Vec<String>,
    /// The votes with features, in insertion order.
    pub votes: Vec<StyleVote>,
    /// Votes of the selection without features (left out of a style-controlled board).
    pub without: u64,
}

impl StyledVotes {
    /// Adds a vote as the style-controlled board reads it, its models placed among `names`
    /// (`None`: one the selection leaves out) and its style in its stored form: left out
    /// unless both models are placed and the outcome is known, counted in `without` when it
    /// has no style counts.
    pub(crate) fn add(
        &mut self,
        a: Option<u32>,
        b: Option<u32>,
        outcome: i64,
        style: Option<&[u8]>,
    ) {
        let (Some(a), Some(b), Some(winner)) = (a, b, Winner::from_code(outcome)) else {
            return;
        };
        let Some((fa, fb)) = style.and_then(style_unblob) else {
            self.without += 1;
            return;
        };
        self.votes.push(StyleVote {
            model_a: a,
            model_b: b,
            winner,
            a: fa,
            b: fb,
        });
    }
}

/// The stored form of a vote's style features, the same on every backend: side a's then
/// side b's tokens, headers, list items and bold spans, eight little-endian `u32`.
#[must_use]
pub(crate) fn style_blob(features: &(Features, Features)) -> Vec<u8> {
    features
        .0
        .as_array()
        .iter()
        .chain(features.1.as_array().iter())
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// The features of a stored style; `None` for bytes of another length.
pub(crate) fn style_unblob(bytes: &[u8]) -> Option<(Features, Features)> {
    if bytes.len() != 32 {
        return None;
    }
    let mut counts = [0u32; 8];
    for (c, b) in counts.iter_mut().zip(bytes.chunks_exact(4)) {
        *c = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    Some(features_of_counts(counts))
}

/// Side a's then side b's features from their eight counts, in [`Features::as_array`]'s order.
fn features_of_counts(f: [u32; 8]) -> (Features, Features) {
    let side = |o: usize| Features {
        tokens: f[o],
        headers: f[o + 1],
        lists: f[o + 2],
        bold: f[o + 3],
    };
    (side(0), side(4))
}

/// The error for a category no vote has, naming the nearest one and those there are: the
/// same words on every backend.
pub(crate) fn unknown_category(name: &str, known: &[String]) -> crate::error::Error {
    let hint = crate::config::nearest(name, known.iter().map(String::as_str))
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    let list = if known.is_empty() {
        "no vote has a category yet (`arena rebuild` computes them for earlier votes)".to_owned()
    } else {
        format!(
            "the categories are {} (`arena leaderboard --categories` counts them)",
            known.join(", ")
        )
    };
    crate::error::Error::Input(format!("unknown category `{name}`{hint}: {list}"))
}
