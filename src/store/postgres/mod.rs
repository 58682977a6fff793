//! The PostgreSQL backend: [`PgStore`], its migrations, and all of its SQL.
//!
//! Concurrency: a pool of connections (deadpool-postgres), shared by every task of the
//! process, and any number of processes on one database. What SQLite makes atomic with its
//! one writer, PostgreSQL makes atomic with row locks taken inside each transaction, so that
//! several `arena serve` instances behind one address agree:
//!
//! - a vote locks its battle's row (`FOR UPDATE`) before it checks the battle's state, and a
//!   unique index keeps one vote per battle whatever happens;
//! - a new battle locks its user's row first, so the per-user limits are counted in the
//!   database, in the battle's transaction, one creation of that user at a time;
//! - the running pair counts and online Elo are updated in the vote's transaction, after the
//!   Elo rows of the vote's two models are locked (lower id first: no lock cycles). Votes on
//!   other pairs of models do not wait for each other;
//! - no single row is written by every vote: the votes' version (which invalidates cached
//!   leaderboards) is the sum of a few counters, each vote adding to the one of its
//!   connection, so a vote through any instance changes every instance's next answer;
//! - work that must not run twice at once (migrations, replaying online Elo, an import's
//!   chunk) takes a transaction-scoped advisory lock; background work (ending stale battles)
//!   tries one and, when another instance holds it, leaves the work to that instance.
//!
//! The rules a transaction applies are [`crate::battle::lifecycle`]'s, as on SQLite.
//!
//! Connection: the address is libpq's URL (`postgres://user@host:port/db?sslmode=require`).
//! The password comes from the URL, `PGPASSWORD` or the password file (`PGPASSFILE`, else
//! `~/.pgpass`); it never appears in a log or an error, which name the host and database
//! only. TLS (rustls, the system's root certificates) is used when `sslmode` asks for it.
//!
//! Layout: `schema` (the append-only migrations), `battles`, `chat`, `votes`, `counts`,
//! `prompts`, `import`, `keys`, `style`, as in the SQLite backend.

mod battles;
mod cached;
mod chat;
mod classified;
pub(crate) use classified::Held;
mod connect;
mod copy;
mod counts;
mod import;
mod keys;
mod prompts;
mod schema;
mod style;
mod votes;

use std::collections::HashMap;
use std::sync::Arc;

use tokio_postgres::Row;
use tokio_postgres::types::FromSql;

use super::{
    BattleFilter, ChatState, Chunk, Clock, CountFilter, ExportedVote, Failure, ImportCount,
    ImportSession, Job, KeptVote, KeyKind, KeyLookup, Lead, Mode, NewBattle, Prompt, PromptVotes,
    SideOutcome, Store, StoredKey, StyledVotes, UnclassifiedVote, VoteFilter, VoteOutcome,
    VoteStyle,
};
use crate::battle::identity::IdentityTerms;
use crate::battle::{BattleId, BattleRecord, LeftOutCounts, Side, Status, VoteFlags, Winner};
use crate::error::{Error, Result, StoreError, StoreErrorKind};
use crate::rating::elo::EloParams;
use crate::rating::{PairCounts, Votes};

/// A connection of the pool.
type Client = deadpool_postgres::Object;

/// A handle to a PostgreSQL database. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct PgStore {
    pool: deadpool_postgres::Pool,
    /// Host and database, never the password.
    location: Arc<String>,
    database_id: Arc<String>,
    legacy_salt: Option<Arc<String>>,
    mode: Mode,
    /// What every time this store writes is read from (see [`Store::clock`]).
    clock: Clock,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Whether `db` names a PostgreSQL database.
#[must_use]
pub fn is_address(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The address `url` for people: host and database, never a password.
#[must_use]
pub fn describe(url: &str) -> String {
    connect::describe(url)
}

impl PgStore {
    /// Opens the database at the address `url` with a pool of `connections`, and brings its
    /// schema up to date (once, whatever the number of instances starting at once). A
    /// database newer than this arena is refused. `Read` refuses a database that holds no
    /// arena yet.
    pub async fn open(url: &str, mode: Mode, connections: usize) -> Result<PgStore> {
        let (pool, location) = connect::pool(url, connections)?;
        let store = PgStore {
            pool,
            location: Arc::new(location),
            database_id: Arc::new(String::new()),
            legacy_salt: None,
            mode,
            clock: super::wall_clock(),
        };
        let location = store.location.clone();
        store.settle().await.map_err(|e| match e {
            Error::Database(mut e) if e.location.is_empty() => {
                e.location = location.to_string();
                Error::Database(e)
            }
            other => other,
        })
    }

    async fn settle(mut self) -> Result<PgStore> {
        let mut client = self.client().await?;
        schema::migrate(&mut client, self.mode, &self.location).await?;
        let id: Option<String> = setting(&client, "database_id").await?;
        let id = match id {
            Some(id) => id,
            None => {
                let made = uuid::Builder::from_random_bytes(rand::random())
                    .into_uuid()
                    .to_string();
                client
                    .execute(
                        "INSERT INTO settings (key, value) VALUES ('database_id', $1)
                         ON CONFLICT (key) DO NOTHING",
                        &[&made],
                    )
                    .await
                    .map_err(pg)?;
                setting(&client, "database_id").await?.unwrap_or(made)
            }
        };
        let legacy = setting(&client, "user_id_salt").await?;
        self.database_id = Arc::new(id);
        self.legacy_salt = legacy.map(Arc::new);
        Ok(self)
    }

    /// A connection of the pool.
    async fn client(&self) -> Result<Client> {
        self.pool.get().await.map_err(|e| {
            let message = match e {
                deadpool_postgres::PoolError::Backend(e) => return pg(e),
                other => other.to_string(),
            };
            Error::Database(StoreError {
                location: String::new(),
                kind: StoreErrorKind::Busy,
                message,
            })
        })
    }

    /// Names this database in a database error that does not yet.
    fn locate<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|e| match e {
            Error::Database(mut e) => {
                if e.location.is_empty() {
                    e.location = self.location.to_string();
                }
                Error::Database(e)
            }
            other => other,
        })
    }

    fn writes(&self) -> Result<()> {
        if self.mode == Mode::Read {
            return Err(Error::Internal(format!(
                "database {}: opened to read, asked to write",
                self.location
            )));
        }
        Ok(())
    }
}

/// A tokio-postgres error in the library's neutral terms; [`PgStore::locate`] names the
/// database. Its text is the server's message, which never holds the password.
pub(crate) fn pg(cause: tokio_postgres::Error) -> Error {
    use tokio_postgres::error::SqlState;
    let kind = match cause.code() {
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::LOCK_NOT_AVAILABLE =>
        {
            StoreErrorKind::Busy
        }
        Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
            StoreErrorKind::Corrupt
        }
        Some(c)
            if *c == SqlState::READ_ONLY_SQL_TRANSACTION
                || *c == SqlState::INSUFFICIENT_PRIVILEGE =>
        {
            StoreErrorKind::ReadOnly
        }
        Some(c)
            if *c == SqlState::UNIQUE_VIOLATION
                || *c == SqlState::FOREIGN_KEY_VIOLATION
                || *c == SqlState::CHECK_VIOLATION
                || *c == SqlState::NOT_NULL_VIOLATION =>
        {
            StoreErrorKind::Constraint
        }
        _ => StoreErrorKind::Other,
    };
    let message = match cause.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => cause.to_string(),
    };
    Error::Database(StoreError {
        location: String::new(),
        kind,
        message,
    })
}

/// Column `i` of a row, as `T`; a column of another type is an error, not a panic.
pub(crate) fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(pg)
}

async fn setting(
    client: &impl deadpool_postgres::GenericClient,
    key: &str,
) -> Result<Option<String>> {
    let row = cached::opt(client, "SELECT value FROM settings WHERE key = $1", &[&key]).await?;
    row.map(|r| col(&r, 0)).transpose()
}

/// A count of the database (never negative) as the `u64` callers take.
fn count(n: i64) -> u64 {
    n.unsigned_abs()
}

impl Store for PgStore {
    fn mode(&self) -> Mode {
        self.mode
    }

    fn clock(&self) -> Clock {
        self.clock.clone()
    }

    fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    fn location(&self) -> String {
        self.location.to_string()
    }

    fn database_id(&self) -> &str {
        &self.database_id
    }

    fn legacy_salt(&self) -> Option<&str> {
        self.legacy_salt.as_deref().map(String::as_str)
    }

    async fn forget_legacy_salt(&self) -> Result<()> {
        self.writes()?;
        let client = self.client().await;
        self.locate(
            async move {
                client?
                    .execute("DELETE FROM settings WHERE key = 'user_id_salt'", &[])
                    .await
                    .map_err(pg)?;
                Ok(())
            }
            .await,
        )
    }

    async fn confirm_user_key(&self, key: String, source: String) -> Result<()> {
        self.writes()?;
        self.locate(self.confirm_key(key, source).await)
    }

    /// The server keeps its own caches: nothing to cap on the client side.
    async fn limit_memory(&self, _writer_kib: u32, _reader_kib: u32) -> Result<()> {
        Ok(())
    }

    /// Closes the pool; every committed transaction is in the database already.
    async fn close(self) -> Result<()> {
        self.pool.close();
        Ok(())
    }

    async fn create_battle(&self, new: NewBattle) -> Result<BattleRecord> {
        self.writes()?;
        self.locate(PgStore::create_battle(self, new).await)
    }

    async fn finish_generation(
        &self,
        id: BattleId,
        a: SideOutcome,
        b: SideOutcome,
    ) -> Result<BattleRecord> {
        self.writes()?;
        self.locate(PgStore::finish_generation(self, id, a, b).await)
    }

    async fn keep_style(&self, id: BattleId, turn: i64, style: VoteStyle) -> Result<bool> {
        self.writes()?;
        self.locate(PgStore::keep_style(self, id, turn, style).await)
    }

    async fn battle(&self, id: BattleId) -> Result<BattleRecord> {
        self.locate(PgStore::battle(self, id).await)
    }

    async fn latest_battle_of(&self, user_hash: String) -> Result<Option<BattleRecord>> {
        self.locate(PgStore::latest_battle_of(self, user_hash).await)
    }

    async fn battle_owned_by(&self, id: BattleId, user_hash: String) -> Result<Option<bool>> {
        self.locate(PgStore::battle_owned_by(self, id, user_hash).await)
    }

    async fn battles_of(&self, user_hash: String, limit: u32) -> Result<Vec<(BattleRecord, i64)>> {
        self.locate(PgStore::battles_of(self, user_hash, limit).await)
    }

    async fn health(&self) -> Result<(u64, u64, u64)> {
        self.locate(PgStore::health(self).await)
    }

    async fn battles(&self, filter: BattleFilter) -> Result<Vec<BattleRecord>> {
        self.locate(PgStore::battles(self, filter).await)
    }

    async fn unstuck(&self, user_hash: Option<String>, reason: String) -> Result<usize> {
        self.writes()?;
        self.locate(PgStore::unstuck(self, user_hash, reason).await)
    }

    async fn fail_generating(&self, id: BattleId, failure: Failure, reason: String) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::fail_generating(self, id, failure, reason).await)
    }

    async fn expire(
        &self,
        now: i64,
        vote_expiry_ms: i64,
        generation_limit_ms: i64,
    ) -> Result<usize> {
        self.writes()?;
        self.locate(PgStore::expire(self, now, vote_expiry_ms, generation_limit_ms).await)
    }

    async fn model_battle_counts(&self) -> Result<Vec<(String, u64)>> {
        self.locate(PgStore::model_battle_counts(self).await)
    }

    async fn chat_battle(
        &self,
        user_hash: String,
        rpid: Option<String>,
    ) -> Result<Option<ChatState>> {
        self.locate(PgStore::chat_battle(self, user_hash, rpid).await)
    }

    async fn chat_state(&self, id: BattleId) -> Result<ChatState> {
        self.locate(PgStore::chat_state(self, id).await)
    }

    async fn begin_turn(
        &self,
        id: BattleId,
        turn: i64,
        prompt: String,
        content: Option<String>,
        now: i64,
    ) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::begin_turn(self, id, turn, prompt, content, now).await)
    }

    async fn record_answer(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
        outcome: SideOutcome,
        now: i64,
    ) -> Result<Status> {
        self.writes()?;
        self.locate(PgStore::record_answer(self, id, turn, side, outcome, now).await)
    }

    async fn mark_shown(&self, id: BattleId, turn: i64, side: Side) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::mark_shown(self, id, turn, side).await)
    }

    async fn kept_vote(&self, id: BattleId) -> Result<Option<KeptVote>> {
        self.locate(PgStore::kept_vote(self, id).await)
    }

    async fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> Result<VoteOutcome> {
        self.writes()?;
        // A transaction PostgreSQL ended to break a lock cycle (rare: two instances replaying
        // Elo while other votes hold ratings) is tried again; a vote commits whole or not.
        let mut tries = 0;
        loop {
            let result = PgStore::record_vote_checked(
                self,
                id,
                winner,
                user_hash.clone(),
                params,
                terms.clone(),
            )
            .await;
            match result {
                Err(Error::Database(e)) if e.kind == StoreErrorKind::Busy && tries < 3 => {
                    tries += 1;
                }
                other => return self.locate(other),
            }
        }
    }

    async fn votes(&self, filter: VoteFilter) -> Result<Votes> {
        self.locate(PgStore::votes(self, filter).await)
    }

    async fn votes_after(&self, after: i64, admit: VoteFlags) -> Result<(Votes, i64)> {
        self.locate(PgStore::votes_after(self, after, admit).await)
    }

    async fn export_votes(
        &self,
        sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> Result<u64> {
        self.locate(PgStore::export_votes(self, sink).await)
    }

    async fn prompt_votes(&self, pool_only: bool, filter: VoteFilter) -> Result<PromptVotes> {
        self.locate(PgStore::prompt_votes(self, pool_only, filter).await)
    }

    async fn unclassified_votes(&self, limit: usize) -> Result<Vec<UnclassifiedVote>> {
        self.locate(PgStore::unclassified_votes(self, limit).await)
    }

    async fn lead(&self, job: Job) -> Result<Option<Lead>> {
        self.writes()?;
        self.locate(PgStore::lead(self, job).await)
    }

    async fn add_categories(&self, vote: i64, categories: Vec<String>) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::add_categories(self, vote, categories).await)
    }

    async fn pair_counts(&self, filter: CountFilter) -> Result<PairCounts> {
        self.locate(PgStore::pair_counts(self, filter).await)
    }

    async fn left_out(&self, filter: VoteFilter) -> Result<LeftOutCounts> {
        self.locate(PgStore::left_out(self, filter).await)
    }

    async fn elo_ratings(&self, params: EloParams) -> Result<Option<HashMap<String, f64>>> {
        self.locate(PgStore::elo_ratings(self, params).await)
    }

    async fn counts_current(&self) -> Result<bool> {
        self.locate(PgStore::counts_current(self).await)
    }

    async fn votes_version(&self) -> Result<i64> {
        self.locate(PgStore::votes_version(self).await)
    }

    async fn rebuild(&self, params: EloParams) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::rebuild(self, params).await)
    }

    async fn styled_votes(&self, filter: VoteFilter) -> Result<StyledVotes> {
        self.locate(PgStore::styled_votes(self, filter).await)
    }

    async fn categories(&self, admit: VoteFlags) -> Result<Vec<(String, u64)>> {
        self.locate(PgStore::categories(self, admit).await)
    }

    async fn fill_styles(&self) -> Result<u64> {
        self.writes()?;
        self.locate(PgStore::fill_styles(self).await)
    }

    async fn add_prompts(&self, prompts: Vec<Prompt>) -> Result<usize> {
        self.writes()?;
        self.locate(PgStore::add_prompts(self, prompts).await)
    }

    async fn prompts(&self, theme: Option<String>) -> Result<Vec<Prompt>> {
        self.locate(PgStore::prompts(self, theme).await)
    }

    async fn prompt(&self, id: String) -> Result<Option<Prompt>> {
        self.locate(PgStore::prompt(self, id).await)
    }

    async fn remove_prompt(&self, id: String) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::remove_prompt(self, id).await)
    }

    async fn start_import(&self) -> Result<ImportSession> {
        self.locate(PgStore::start_import(self).await)
    }

    async fn import_chunk(
        &self,
        chunk: Chunk,
        salt: String,
        session: ImportSession,
    ) -> Result<(ImportCount, ImportSession)> {
        self.writes()?;
        self.locate(PgStore::import_chunk(self, chunk, salt, session).await)
    }

    async fn finish_import(&self, session: ImportSession) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::finish_import(self, session).await)
    }

    async fn add_key(
        &self,
        name: String,
        hash: String,
        kind: KeyKind,
        trust_forwarded_user: bool,
        now: i64,
    ) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::add_key(self, name, hash, kind, trust_forwarded_user, now).await)
    }

    async fn revoke_key(&self, name: String, now: i64) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::revoke_key(self, name, now).await)
    }

    async fn keys(&self) -> Result<Vec<StoredKey>> {
        self.locate(PgStore::keys(self).await)
    }

    async fn key_by_hash(&self, hash: Option<String>) -> Result<KeyLookup> {
        self.locate(PgStore::key_by_hash(self, hash).await)
    }

    async fn touch_key(&self, id: i64, now: i64) -> Result<()> {
        self.writes()?;
        self.locate(PgStore::touch_key(self, id, now).await)
    }
}

impl PgStore {
    /// See [`Store::confirm_user_key`].
    async fn confirm_key(&self, key: String, source: String) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // One confirmation at a time: two instances starting with two keys do not both pass.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::USER_KEY])
            .await
            .map_err(pg)?;
        let check = crate::util::hash_user(&key, "arena user-id key check");
        let stored = setting(&tx, "user_key_check").await?;
        if stored.as_deref() == Some(check.as_str()) {
            return Ok(());
        }
        if stored.is_some() {
            let users: i64 = col(
                &tx.query_one("SELECT count(*) FROM users", &[])
                    .await
                    .map_err(pg)?,
                0,
            )?;
            if users > 0 {
                return Err(Error::Input(format!(
                    "{source} is not the key the {users} user id(s) of this database were \
                     hashed with: with it they would no longer own their battles. Restore \
                     the earlier user_id_salt (or remove it, if the database's own key was \
                     in use), or use another --db"
                )));
            }
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('user_key_check', $1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&check],
        )
        .await
        .map_err(pg)?;
        tx.commit().await.map_err(pg)
    }
}

/// Keys of the advisory locks (arbitrary but fixed numbers, one per purpose); public so that
/// operators (and tests) can see what an instance holds in `pg_locks`.
pub mod locks {
    /// Migrations on open.
    pub const MIGRATE: i64 = 0x6172_656e_6101;
    /// Replaying online Elo over every vote.
    pub const ELO: i64 = 0x6172_656e_6102;
    /// One import chunk at a time (the known keys are read and extended atomically).
    pub const IMPORT: i64 = 0x6172_656e_6103;
    /// Recording the user-id key.
    pub const USER_KEY: i64 = 0x6172_656e_6104;
    /// Ending stale battles (tried, never waited for: one instance at a time does it).
    pub const EXPIRE: i64 = 0x6172_656e_6106;
    /// The lead of the prompt classifier, held by one instance's session while it runs.
    pub const CLASSIFY: i64 = 0x6172_656e_6107;
    /// Held shared by every transaction that inserts votes, and for a moment exclusively by a
    /// reader that needs every vote below an id to be committed (see `votes_after`).
    pub const VOTE_IDS: i64 = 0x6172_656e_6105;
}
