//! Storage: the [`Store`] trait (every operation the engine, the command line and the server
//! need of a database), the values it takes and gives ([`types`]), [`open`], which picks the
//! backend from the database's address, and the backends: [`sqlite`] and [`postgres`].
//!
//! Depends on: `battle` (records, states, the rules of [`crate::battle::lifecycle`]),
//! `rating` (the vote and count shapes, online Elo), `error`, `util`. Nothing above it
//! (engine, server, command line) writes SQL or knows which backend runs.
//!
//! # Why a trait with `impl Future + Send` methods, and an enum
//!
//! - The operations are async, and their futures are `Send`: the server runs them on a
//!   multi-thread runtime and the engine spawns tasks that hold a store. Each method is
//!   written `fn op(..) -> impl Future<Output = Result<T>> + Send` (a native async function in
//!   a trait that also promises `Send`), so a caller generic over `S: Store` compiles on any
//!   runtime, and an implementation may still be written with `async fn`.
//! - Such a trait is not object-safe, and needs not be: the backends are a closed set known
//!   at compile time, so [`AnyStore`] (one variant per backend) implements the trait by
//!   delegation and is what the engine holds. No `dyn`, no boxed futures on the hot path of a
//!   vote, and no type parameter spreading through `Arena`, the server and the command line.
//!   A backend is added as a variant and an arm in each delegation.
//! - The operations are the engine's (create a battle, record a vote, read the counts), not
//!   tables: each backend keeps what must be atomic (a vote, the battle's new status, the
//!   running counts and Elo) inside one transaction of its own, and applies there the rules
//!   of [`crate::battle::lifecycle`], which are pure and the same for all.
//! - Failures are the library's [`Error`](crate::error::Error): not found, refused by a
//!   battle's state or a limit, or [`StoreError`] with a kind, never a driver's type.
//!
//! The trait's contract (what every backend must do, rule by rule) is a test suite written
//! once against it: `tests/store_contract/`.

mod any;
pub mod copy;
mod lead;
pub mod postgres;
pub mod sqlite;
mod tally;
pub mod types;

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

pub use crate::error::{StoreError, StoreErrorKind};
pub use any::AnyStore;
pub use lead::{Job, Lead};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use types::{
    BattleFilter, ChatState, ChatTurn, Chunk, CountFilter, EXPIRED, ExportedVote, Failure,
    ImportCount, ImportRow, ImportSession, KeptVote, KeyKind, KeyLookup, KnownKeys, Limits, Mode,
    NewBattle, Prompt, PromptVotes, SideOutcome, StoredKey, StyledVotes, UnclassifiedVote,
    VoteFilter, VoteOutcome, VoteStyle,
};

use crate::battle::identity::IdentityTerms;
use crate::battle::{BattleId, BattleRecord, LeftOutCounts, Side, Status, VoteFlags, Winner};
use crate::error::Result;
use crate::rating::elo::EloParams;
use crate::rating::{PairCounts, Votes};

/// Opens the database at `db` as `mode` says, and brings its schema up to date: a path or an
/// `sqlite://` address is an SQLite file; `postgres://` and `postgresql://` name a PostgreSQL
/// database (see [`PgStore::open`]). See [`SqliteStore::open`] for what each mode allows.
/// Two connections read beside the writer: a style-controlled board reads its votes in two
/// halves at once.
pub async fn open(db: &Path, mode: Mode) -> Result<AnyStore> {
    open_with_readers(db, mode, 2).await
}

/// [`open`] with `readers` connections that read beside the one that writes (a server takes
/// a few, so that reads run in parallel).
pub async fn open_with_readers(db: &Path, mode: Mode, readers: usize) -> Result<AnyStore> {
    let text = db.to_string_lossy();
    if postgres::is_address(&text) {
        // A few connections beside the readers: a vote, a battle and a listing run at once.
        return Ok(AnyStore::Postgres(
            PgStore::open(&text, mode, readers.max(1) + 3).await?,
        ));
    }
    let path = match text.strip_prefix("sqlite://") {
        Some(rest) => Path::new(rest),
        None => db,
    };
    Ok(AnyStore::Sqlite(
        SqliteStore::open_with_readers(path, mode, readers).await?,
    ))
}

/// The database at `db` for people: a path as it is, a PostgreSQL address without its
/// password.
#[must_use]
pub fn describe(db: &Path) -> String {
    let text = db.to_string_lossy();
    if postgres::is_address(&text) {
        postgres::describe(&text)
    } else {
        db.display().to_string()
    }
}

/// Every operation on the database. See the module's notes for the design, and
/// `tests/store_contract/` for the contract each backend passes.
pub trait Store: Clone + Send + Sync + 'static {
    // The session.

    /// How this store was opened.
    fn mode(&self) -> Mode;

    /// The clock every time this store writes is read from (a vote's, a battle's update, a
    /// model's or a user's first appearance, a prompt's addition): the wall clock unless
    /// [`Store::with_clock`] gave another.
    fn clock(&self) -> Clock;

    /// This store with `clock`: from now on it reads every time it writes from `clock`, inside
    /// the transaction that writes it. Other clones keep the clock they had.
    #[must_use]
    fn with_clock(self, clock: Clock) -> Self;

    /// Where the database is, for people: a file's path, or an address without a password.
    fn location(&self) -> String;

    /// This database's random id, which names its user-id key file (empty for an old
    /// database opened to read).
    fn database_id(&self) -> &str;

    /// The user-id key an older version kept in the database, if it is still there.
    fn legacy_salt(&self) -> Option<&str>;

    /// Removes the key an older version kept in the database, once it is in its file.
    fn forget_legacy_salt(&self) -> impl Future<Output = Result<()>> + Send;

    /// Confirms that `key` is the key this database's user ids are hashed with: recorded (as
    /// a keyed hash, which does not reveal it) the first time, accepted while no user is
    /// stored, refused (naming `source`) once users were hashed with another key, since they
    /// would no longer own their battles.
    fn confirm_user_key(
        &self,
        key: String,
        source: String,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Caps the memory the store keeps for its own caches, in KiB for the writer and for each
    /// reader (a long-running server's memory should not grow with its database). A backend
    /// without such caches does nothing.
    fn limit_memory(
        &self,
        writer_kib: u32,
        reader_kib: u32,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Ends the session, leaving the database complete on its own (for SQLite: the file alone
    /// is a backup). Other clones can no longer use it.
    fn close(self) -> impl Future<Output = Result<()>> + Send;

    // Battles.

    /// Records a new battle in `pending_generation`. With a user and `limits`, the per-user
    /// limits are checked in the same transaction (see [`crate::battle::lifecycle`]), so that
    /// parallel requests of one user never pass a limit together. A user's RPID started again
    /// (or twice at once) is the same battle: the first is returned.
    fn create_battle(&self, new: NewBattle) -> impl Future<Output = Result<BattleRecord>> + Send;

    /// Ends generation: `pending_vote` when both sides answered, else `failed` with the
    /// errors kept. A battle no longer in `pending_generation` (cleared meanwhile) is left as
    /// it is.
    fn finish_generation(
        &self,
        id: BattleId,
        a: SideOutcome,
        b: SideOutcome,
    ) -> impl Future<Output = Result<BattleRecord>> + Send;

    /// Keeps on battle `id` the style features and categories of its answers (see
    /// [`VoteStyle::of_turns`]), counted while `turn` was its latest turn and it waited for
    /// its vote, so that the vote takes them instead of counting them in its transaction.
    /// Returns whether they were kept: not when the battle moved on meanwhile (voted, ended,
    /// another turn begun); its vote then counts them itself.
    fn keep_style(
        &self,
        id: BattleId,
        turn: i64,
        style: VoteStyle,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// One battle, model names included: callers must blind it.
    fn battle(&self, id: BattleId) -> impl Future<Output = Result<BattleRecord>> + Send;

    /// The latest battle of the user with this hash, if any.
    fn latest_battle_of(
        &self,
        user_hash: String,
    ) -> impl Future<Output = Result<Option<BattleRecord>>> + Send;

    /// Whether the battle `id` was started by the user with this hash: `None` when it has no
    /// user.
    fn battle_owned_by(
        &self,
        id: BattleId,
        user_hash: String,
    ) -> impl Future<Output = Result<Option<bool>>> + Send;

    /// The battles of the user with this hash, newest first, at most `limit`, each with its
    /// number of user turns.
    fn battles_of(
        &self,
        user_hash: String,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(BattleRecord, i64)>>> + Send;

    /// Figures of `/health`: prompts in the pool, users recorded, completed battles.
    fn health(&self) -> impl Future<Output = Result<(u64, u64, u64)>> + Send;

    /// Battles, newest first.
    fn battles(
        &self,
        filter: BattleFilter,
    ) -> impl Future<Output = Result<Vec<BattleRecord>>> + Send;

    /// Marks battles stuck in `pending_generation` as failed, for one user (by hash) or all.
    /// Returns how many were cleared.
    fn unstuck(
        &self,
        user_hash: Option<String>,
        reason: String,
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Ends one battle that is still in `pending_generation` as `failed` with `reason`; a
    /// battle in any other state is left as it is.
    fn fail_generating(
        &self,
        id: BattleId,
        failure: Failure,
        reason: String,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Ends battles that can no longer finish: `pending_vote` ones created before `now -
    /// vote_expiry_ms` (0 = never) and `pending_generation` ones not updated since `now -
    /// generation_limit_ms` (their process must have ended). Both become `failed` with the
    /// reason kept. Returns how many.
    fn expire(
        &self,
        now: i64,
        vote_expiry_ms: i64,
        generation_limit_ms: i64,
    ) -> impl Future<Output = Result<usize>> + Send;

    /// Every model with its number of voted battles, by name. Unvoted battles are not
    /// counted: that would tell who stands in a battle before its vote.
    fn model_battle_counts(&self) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;

    // Chat battles, turn by turn.

    /// The battle of the user with this hash under `rpid`, or the user's latest with an RPID
    /// when `rpid` is `None`.
    fn chat_battle(
        &self,
        user_hash: String,
        rpid: Option<String>,
    ) -> impl Future<Output = Result<Option<ChatState>>> + Send;

    /// A chat battle with its turns.
    fn chat_state(&self, id: BattleId) -> impl Future<Output = Result<ChatState>> + Send;

    /// Begins user turn `turn` of a battle waiting for its vote: the battle generates again
    /// (from `now`, from which its generation timeout counts). Refused, with the error that
    /// says why, unless the battle waits for its vote and `turn` follows its latest turn (a
    /// racing request began it first).
    fn begin_turn(
        &self,
        id: BattleId,
        turn: i64,
        prompt: String,
        content: Option<String>,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Keeps `side`'s answer to `turn` of a generating chat battle. The battle fails when the
    /// side failed; it waits for its vote once both sides answered the turn. A battle no
    /// longer generating (failed meanwhile, expired) is left as it is. Returns the battle's
    /// status after.
    fn record_answer(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
        outcome: SideOutcome,
        now: i64,
    ) -> impl Future<Output = Result<Status>> + Send;

    /// Notes that a chat client was shown `side`'s whole answer to `turn` (never lowers what
    /// was noted).
    fn mark_shown(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The vote of battle `id` and the Elo change it made, if it has one.
    fn kept_vote(&self, id: BattleId) -> impl Future<Output = Result<Option<KeptVote>>> + Send;

    // Votes.

    /// [`Store::record_vote_checked`] without a check of the answers for model names.
    fn record_vote(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
    ) -> impl Future<Output = Result<VoteOutcome>> + Send {
        self.record_vote_checked(id, winner, user_hash, params, IdentityTerms::default())
    }

    /// Records the vote on a battle in `pending_vote` and completes it, in one transaction
    /// with the running counts and online Elo (`params`). A battle that is not
    /// `pending_vote` is refused with the error that says why, and nothing changes; so is a
    /// vote by anyone but the battle's creator, when it has one (see
    /// [`crate::battle::lifecycle`]). The battle's answers (every turn of both sides) are
    /// checked for `terms` and the names of its own models: a battle whose answers name a
    /// model keeps the words, and its vote is recorded but left out of the counts and Elo.
    /// The work does not grow with the number of votes (except once after an import, when
    /// online Elo is replayed).
    fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> impl Future<Output = Result<VoteOutcome>> + Send;

    /// Votes in vote order (by time, then by insertion), filtered: for the methods and
    /// filters that the counts cannot answer. It reads every vote.
    fn votes(&self, filter: VoteFilter) -> impl Future<Output = Result<Votes>> + Send;

    /// The votes that count (and the left-out ones `admit` takes) inserted after the vote
    /// `after` (0: from the first), in insertion order, over every model (indexed as in
    /// `names`, which lists every model), and the last vote's position (left-out votes
    /// included): what a rating kept vote by vote has not seen yet.
    fn votes_after(
        &self,
        after: i64,
        admit: VoteFlags,
    ) -> impl Future<Output = Result<(Votes, i64)>> + Send;

    /// Hands every vote, in insertion order, to `sink`, then `None`: an export of millions of
    /// votes never sits in memory whole. Returns how many.
    fn export_votes(
        &self,
        sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Every vote of `filter` (as [`Store::votes`] selects them) with the prompt and theme
    /// of its battle, for per-prompt statistics; with `pool_only`, only those of battles on
    /// a prompt of the pool (not a user's own).
    fn prompt_votes(
        &self,
        pool_only: bool,
        filter: VoteFilter,
    ) -> impl Future<Output = Result<PromptVotes>> + Send;

    // The running counts.

    /// The counts of the votes that pass `filter`, over the models they name: the running
    /// counts, plus the left-out votes that `filter.admit` lets in.
    fn pair_counts(&self, filter: CountFilter) -> impl Future<Output = Result<PairCounts>> + Send;

    /// How many votes `filter` would take but leaves out, by the reasons it does not admit.
    fn left_out(&self, filter: VoteFilter) -> impl Future<Output = Result<LeftOutCounts>> + Send;

    /// The running online Elo ratings by model name, when they are current for `params`
    /// (after an import they are not, until the next vote replays the votes).
    fn elo_ratings(
        &self,
        params: EloParams,
    ) -> impl Future<Output = Result<Option<HashMap<String, f64>>>> + Send;

    /// Whether the counts hold every vote: not while an import runs, nor after one was cut
    /// short until a writer rebuilds them.
    fn counts_current(&self) -> impl Future<Output = Result<bool>> + Send;

    /// A number that changes with every vote, import and rebuild.
    fn votes_version(&self) -> impl Future<Output = Result<i64>> + Send;

    /// Recomputes every count from the votes, and the online Elo ratings with `params`.
    fn rebuild(&self, params: EloParams) -> impl Future<Output = Result<()>> + Send;

    // Style and categories.

    /// The votes of `filter` that carry style features, with them: what the
    /// style-controlled leaderboard fits (in any order), and how many of the selected votes
    /// have none.
    fn styled_votes(&self, filter: VoteFilter) -> impl Future<Output = Result<StyledVotes>> + Send;

    /// Every category with its number of votes (those that count, and the left-out ones
    /// `admit` takes), by name.
    fn categories(
        &self,
        admit: VoteFlags,
    ) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;

    /// Up to `limit` votes that the prompt classifier has not judged yet, in vote order,
    /// each with the user turns of its battle: votes on battles played here only (an
    /// imported log brings its own judgments, in `category_tag`).
    fn unclassified_votes(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UnclassifiedVote>>> + Send;

    /// Adds `categories` to the vote `vote` (from [`Store::unclassified_votes`]) and notes
    /// it judged, with them or with none, so that it is not returned again.
    fn add_categories(
        &self,
        vote: i64,
        categories: Vec<String>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Computes the style features and categories of every vote on a battle that has none
    /// yet (votes recorded before they were kept); returns how many.
    fn fill_styles(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Takes the lead of `job` if no other process on this database holds it: `None` when
    /// another does. The lead is held until the [`Lead`] is dropped or its process ends.
    fn lead(&self, job: Job) -> impl Future<Output = Result<Option<Lead>>> + Send;

    // The prompt pool.

    /// Adds prompts; one whose text is already in the pool is left alone. Returns how many
    /// were added.
    fn add_prompts(&self, prompts: Vec<Prompt>) -> impl Future<Output = Result<usize>> + Send;

    /// The pool, optionally one theme, ordered by id.
    fn prompts(&self, theme: Option<String>) -> impl Future<Output = Result<Vec<Prompt>>> + Send;

    /// A prompt by id.
    fn prompt(&self, id: String) -> impl Future<Output = Result<Option<Prompt>>> + Send;

    /// Removes a prompt from the pool; battles that used it keep their text.
    fn remove_prompt(&self, id: String) -> impl Future<Output = Result<()>> + Send;

    // Imports.

    /// Starts an import: reads the keys of everything imported so far.
    fn start_import(&self) -> impl Future<Output = Result<ImportSession>> + Send;

    /// Stores a chunk of imported votes in one transaction, leaving out records whose keys
    /// are known (so a second import of the same records adds nothing). A record that
    /// carries a conversation becomes a completed battle with its vote; one without is a
    /// vote alone. Judges are stored as hashes keyed with `salt`. Votes are written in file
    /// order, which is vote order.
    fn import_chunk(
        &self,
        chunk: Chunk,
        salt: String,
        session: ImportSession,
    ) -> impl Future<Output = Result<(ImportCount, ImportSession)>> + Send;

    /// Ends an import (whole or not): its votes join the running counts. Until then the
    /// counts are marked stale, so that an import killed half-way has them rebuilt.
    fn finish_import(&self, session: ImportSession) -> impl Future<Output = Result<()>> + Send;

    // The server's API keys, by hash.

    /// Stores a key by its hash. A name in use by an active key is a conflict; the name of a
    /// revoked key is taken again (the same name is the same user).
    fn add_key(
        &self,
        name: String,
        hash: String,
        kind: KeyKind,
        trust_forwarded_user: bool,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Revokes the active key `name`; it stays listed, as revoked.
    fn revoke_key(&self, name: String, now: i64) -> impl Future<Output = Result<()>> + Send;

    /// Every key, active and revoked, by name.
    fn keys(&self) -> impl Future<Output = Result<Vec<StoredKey>>> + Send;

    /// Whether any key is stored, and the active key of this hash (`None`: ask for none).
    fn key_by_hash(&self, hash: Option<String>) -> impl Future<Output = Result<KeyLookup>> + Send;

    /// Notes that the key `id` was used at `now`.
    fn touch_key(&self, id: i64, now: i64) -> impl Future<Output = Result<()>> + Send;
}

/// A clock: Unix milliseconds. The engine and its store read the same one, so that the times
/// a store writes follow the engine's; injectable, so that tests of time limits do not wait
/// and a test sees the time it set in the rows.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock, which a store reads until it is given another.
#[must_use]
pub fn wall_clock() -> Clock {
    Arc::new(now_ms)
}

/// Milliseconds since the Unix epoch, by the wall clock. The backends never call it: they
/// read their [`Clock`].
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_postgres_server_out_of_reach_is_named_without_its_password() {
        // Port 1 on this machine: nothing listens there.
        let err = super::open(
            std::path::Path::new("postgres://u:secret@127.0.0.1:1/arena"),
            super::Mode::Read,
        )
        .await
        .expect_err("no server");
        let text = err.to_string();
        assert!(matches!(err, crate::error::Error::Database(_)), "{text}");
        assert!(
            text.contains("postgres 127.0.0.1:1/arena") && !text.contains("secret"),
            "{text}"
        );
    }
}
