//! The SQLite backend: [`SqliteStore`], its migrations, and all of its SQL.
//!
//! Concurrency: one writer connection and a small pool of read-only connections, each on a
//! thread of its own (tokio-rusqlite), so async callers never block the runtime. Every write
//! goes through the one writer, in order; reads (a leaderboard's counts, an export, a
//! listing) run beside it on the readers, and WAL lets them see every committed write without
//! holding it up. Writes that must be atomic (a vote, the battle's new status and the running
//! counts) run in one `BEGIN IMMEDIATE` transaction; a vote is acknowledged only after it
//! commits. WAL with `synchronous=NORMAL` keeps every committed transaction across a killed
//! process.
//!
//! The rules a transaction applies (may this battle take a vote, is a limit breached, the
//! Elo step) are [`crate::battle::lifecycle`]'s, shared with every backend; what is here is
//! how SQLite reads and writes.
//!
//! Layout: `schema` (the append-only migrations), `battles`, `chat` (battles of chat clients,
//! turn by turn), `votes`, `counts` (the running per-pair counts and online Elo, kept with
//! every vote), `prompts`, `import`, `keys` (the server's API keys, by hash), `style` (each
//! vote's style features and categories), `classified` (what the prompt classifier judged).

mod battles;
mod chat;
mod classified;
mod copy;
mod counts;
mod import;
mod keys;
mod prompts;
mod schema;
mod style;
mod votes;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{
    BattleFilter, ChatState, Chunk, Clock, CountFilter, ExportedVote, Failure, ImportCount,
    ImportSession, KeptVote, KeyKind, KeyLookup, Mode, NewBattle, Prompt, PromptVotes, SideOutcome,
    Store, StoredKey, StyledVotes, UnclassifiedVote, VoteFilter, VoteOutcome,
};
use crate::battle::identity::IdentityTerms;
use crate::battle::{BattleId, BattleRecord, LeftOutCounts, Side, Status, VoteFlags, Winner};
use crate::error::{Error, Result, StoreError, StoreErrorKind};
use crate::rating::elo::EloParams;
use crate::rating::{PairCounts, Votes};

/// A handle to an SQLite database. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct SqliteStore {
    /// The one connection that writes; `None` for a store that only reads.
    writer: Option<tokio_rusqlite::Connection>,
    /// Read-only connections, used in turn.
    readers: Arc<[tokio_rusqlite::Connection]>,
    next_reader: Arc<AtomicUsize>,
    path: Arc<PathBuf>,
    /// This database's random id, which names its user-id key file.
    database_id: Arc<String>,
    /// A user-id key that an older version kept in the database, until it moves to its file.
    legacy_salt: Option<Arc<String>>,
    mode: Mode,
    /// What every time this store writes is read from (see [`Store::clock`]).
    clock: Clock,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens the database at `path` as `mode` says, and brings its schema up to date. `Read`
    /// and `Write` refuse a database that does not exist, naming the path; only `Create` makes
    /// one. A read may run on a file it cannot write; the one write it may make is bringing
    /// an older schema up to date, when it can.
    pub async fn open(path: &Path, mode: Mode) -> Result<SqliteStore> {
        Self::open_with_readers(path, mode, 1).await
    }

    /// [`SqliteStore::open`] with `readers` read-only connections beside the writer (a server
    /// takes a few, so that reads run in parallel).
    pub async fn open_with_readers(path: &Path, mode: Mode, count: usize) -> Result<SqliteStore> {
        let db_err = |cause| db_at(path, cause);
        if path.as_os_str().is_empty() {
            return Err(Error::Input("the database path is empty".into()));
        }
        let exists = path.exists();
        if !exists && mode != Mode::Create {
            return Err(Error::NotFound(format!(
                "no database at {}: nothing has been recorded there yet (check --db and \
                 ARENA_DB; `arena battle`, `arena import` and `arena init` create one)",
                path.display()
            )));
        }
        if path.is_dir() {
            return Err(Error::Input(format!(
                "{} is a directory: the database is a file (such as arena.sqlite3)",
                path.display()
            )));
        }
        if mode == Mode::Create && !exists {
            if let Some(dir) = path.parent()
                && !dir.as_os_str().is_empty()
            {
                crate::util::create_private_dir(dir)?;
            }
            // Made here, 0600, so that SQLite's -wal and -shm (which take the database's
            // mode) are private too. Another process may have made it meanwhile: fine.
            match crate::util::create_private_file(path, b"") {
                Err(Error::Io { cause, .. })
                    if cause.kind() == std::io::ErrorKind::AlreadyExists => {}
                other => other?,
            }
        }
        let writer = match mode {
            Mode::Read => {
                schema::migrate_if_behind(path)?;
                None
            }
            Mode::Write | Mode::Create => Some(
                tokio_rusqlite::Connection::open(path)
                    .await
                    .map_err(db_err)?,
            ),
        };
        let mut store = SqliteStore {
            writer,
            readers: Arc::from(Vec::new()),
            next_reader: Arc::new(AtomicUsize::new(0)),
            path: Arc::new(path.to_owned()),
            database_id: Arc::new(String::new()),
            legacy_salt: None,
            mode,
            clock: super::wall_clock(),
        };
        if store.writer.is_some() {
            store.write(schema::prepare).await?;
        }
        // Readers open once the schema is current.
        let mut readers = Vec::with_capacity(count.max(1));
        for _ in 0..count.max(1) {
            let conn = open_read_only(path, mode == Mode::Read)
                .await
                .map_err(db_err)?;
            readers.push(conn);
        }
        store.readers = Arc::from(readers);
        store.read_on_each(schema::prepare_read).await?;
        let writes = mode != Mode::Read;
        let settle = move |conn: &mut rusqlite::Connection| {
            let get = |key: &str| setting(conn, key).map_err(db);
            let mut id = get("database_id")?;
            if id.is_none() && writes {
                // Made once, when the database is new (or older than its id).
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES ('database_id', ?1)",
                    [uuid::Builder::from_random_bytes(rand::random())
                        .into_uuid()
                        .to_string()],
                )
                .map_err(db)?;
                id = get("database_id")?;
            }
            Ok((id.unwrap_or_default(), get("user_id_salt")?))
        };
        let (id, legacy) = if writes {
            store.write(settle).await?
        } else {
            store.read(settle).await?
        };
        store.database_id = Arc::new(id);
        store.legacy_salt = legacy.map(Arc::new);
        Ok(store)
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`SqliteStore::write`], with `f` given the time by the store's clock, read on the
    /// writer's thread when `f` runs: times follow the order of the writes, as they would
    /// by a clock read inside each transaction.
    async fn write_now<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection, i64) -> Result<T> + Send + 'static,
    {
        let clock = self.clock.clone();
        self.write(move |conn| f(conn, clock())).await
    }

    /// Runs `f` on the writer's thread, after every write queued before it.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let Some(writer) = &self.writer else {
            return Err(Error::Internal(format!(
                "database {}: opened to read, asked to write",
                self.path.display()
            )));
        };
        self.run(writer, f).await
    }

    /// Runs `f` on one of the read-only connections, beside the writer.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len().max(1);
        let Some(reader) = self.readers.get(i) else {
            return Err(Error::Internal("no reader connection".into()));
        };
        self.run(reader, f).await
    }

    async fn read_on_each(&self, f: fn(&mut rusqlite::Connection) -> Result<()>) -> Result<()> {
        for reader in self.readers.iter() {
            self.run(reader, f).await?;
        }
        Ok(())
    }

    async fn run<T, F>(&self, conn: &tokio_rusqlite::Connection, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        conn.call(f).await.map_err(|e| match e {
            tokio_rusqlite::Error::Error(e) => match e {
                Error::Database(mut e) => {
                    e.location = path.display().to_string();
                    Error::Database(e)
                }
                other => other,
            },
            tokio_rusqlite::Error::ConnectionClosed => Error::Internal(format!(
                "database {}: the connection is closed",
                path.display()
            )),
            tokio_rusqlite::Error::Close((_, cause)) => db_at(&path, cause),
            _ => Error::Internal(format!("database {}: {e}", path.display())),
        })
    }
}

impl Store for SqliteStore {
    /// How this store was opened.
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
        self.path.display().to_string()
    }

    /// This database's random id (empty for an old database opened read-only).
    fn database_id(&self) -> &str {
        &self.database_id
    }

    /// The user-id key an older version kept in the database, if it is still there.
    fn legacy_salt(&self) -> Option<&str> {
        self.legacy_salt.as_deref().map(String::as_str)
    }

    /// Removes the key an older version kept in the database, once it is in its file.
    async fn forget_legacy_salt(&self) -> Result<()> {
        self.write(|conn| {
            conn.execute("DELETE FROM settings WHERE key = 'user_id_salt'", [])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    /// Confirms that `key` is the key this database's user ids are hashed with: recorded
    /// (as a keyed hash, which does not reveal it) the first time, accepted while no user is
    /// stored, refused once users were hashed with another key, since they would no longer
    /// own their battles.
    async fn confirm_user_key(&self, key: String, source: String) -> Result<()> {
        self.write(move |conn| {
            use rusqlite::OptionalExtension;
            let check = crate::util::hash_user(&key, "arena user-id key check");
            let stored: Option<String> = conn
                .query_row(
                    "SELECT value FROM settings WHERE key = 'user_key_check'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if stored.as_deref() == Some(check.as_str()) {
                return Ok(());
            }
            if stored.is_some() {
                let users: i64 = conn
                    .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
                    .map_err(db)?;
                if users > 0 {
                    return Err(Error::Input(format!(
                        "{source} is not the key the {users} user id(s) of this database were \
                         hashed with: with it they would no longer own their battles. Restore \
                         the earlier user_id_salt (or remove it, if the database's own key was \
                         in use), or use another --db"
                    )));
                }
            }
            conn.execute(
                "INSERT INTO settings (key, value) VALUES ('user_key_check', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [check],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    /// Caps SQLite's page cache of the writer and of each reader, in KiB, and reads the file
    /// without mapping it. Commands keep the large cache and the mapping (bulk imports and
    /// scans gain from them); a long-running server, whose requests read the kept counts,
    /// caps its memory so that it stops growing with the database: a mapped file's pages
    /// count in its resident memory, read ones stay in the system's page cache instead.
    async fn limit_memory(&self, writer_kib: u32, reader_kib: u32) -> Result<()> {
        let set = move |kib: u32| {
            move |conn: &mut rusqlite::Connection| {
                conn.pragma_update(None, "cache_size", -i64::from(kib))
                    .map_err(db)?;
                conn.pragma_update(None, "mmap_size", 0).map_err(db)
            }
        };
        if let Some(writer) = &self.writer {
            self.run(writer, set(writer_kib)).await?;
        }
        for reader in self.readers.iter() {
            self.run(reader, set(reader_kib)).await?;
        }
        Ok(())
    }

    /// Ends the session. A store that wrote moves everything from the write-ahead log into
    /// the database file, so the file alone is complete (a copy of it is a backup), and,
    /// when no other connection is open, leaves it in rollback-journal mode: the next reader
    /// then needs no `-wal` or `-shm` file, and reads a read-only file without making any.
    /// The next writer turns WAL on again.
    async fn close(self) -> Result<()> {
        let path = self.path.clone();
        let closed = |e: tokio_rusqlite::Error<rusqlite::Error>| match e {
            tokio_rusqlite::Error::Close((_, cause)) => db_at(&path, cause),
            // Closed already: nothing is left to do.
            other => Error::Internal(format!("database {}: {other}", path.display())),
        };
        for reader in self.readers.iter() {
            reader.clone().close().await.map_err(&closed)?;
        }
        if let Some(writer) = &self.writer {
            self.write(|conn| {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(db)?;
                // Only possible when this is the last connection; never wait for that.
                conn.busy_timeout(std::time::Duration::ZERO).map_err(db)?;
                let _ = conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()));
                Ok(())
            })
            .await?;
            writer.clone().close().await.map_err(&closed)?;
        }
        Ok(())
    }

    // The rest is SQLite's own methods, one file per area.

    fn create_battle(&self, new: NewBattle) -> impl Future<Output = Result<BattleRecord>> + Send {
        SqliteStore::create_battle(self, new)
    }

    fn finish_generation(
        &self,
        id: BattleId,
        a: SideOutcome,
        b: SideOutcome,
    ) -> impl Future<Output = Result<BattleRecord>> + Send {
        SqliteStore::finish_generation(self, id, a, b)
    }

    fn battle(&self, id: BattleId) -> impl Future<Output = Result<BattleRecord>> + Send {
        SqliteStore::battle(self, id)
    }

    fn latest_battle_of(
        &self,
        user_hash: String,
    ) -> impl Future<Output = Result<Option<BattleRecord>>> + Send {
        SqliteStore::latest_battle_of(self, user_hash)
    }

    fn battle_owned_by(
        &self,
        id: BattleId,
        user_hash: String,
    ) -> impl Future<Output = Result<Option<bool>>> + Send {
        SqliteStore::battle_owned_by(self, id, user_hash)
    }

    fn battles_of(
        &self,
        user_hash: String,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<(BattleRecord, i64)>>> + Send {
        SqliteStore::battles_of(self, user_hash, limit)
    }

    fn health(&self) -> impl Future<Output = Result<(u64, u64, u64)>> + Send {
        SqliteStore::health(self)
    }

    fn battles(
        &self,
        filter: BattleFilter,
    ) -> impl Future<Output = Result<Vec<BattleRecord>>> + Send {
        SqliteStore::battles(self, filter)
    }

    fn unstuck(
        &self,
        user_hash: Option<String>,
        reason: String,
    ) -> impl Future<Output = Result<usize>> + Send {
        SqliteStore::unstuck(self, user_hash, reason)
    }

    fn fail_generating(
        &self,
        id: BattleId,
        failure: Failure,
        reason: String,
    ) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::fail_generating(self, id, failure, reason)
    }

    fn expire(
        &self,
        now: i64,
        vote_expiry_ms: i64,
        generation_limit_ms: i64,
    ) -> impl Future<Output = Result<usize>> + Send {
        SqliteStore::expire(self, now, vote_expiry_ms, generation_limit_ms)
    }

    fn model_battle_counts(&self) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send {
        SqliteStore::model_battle_counts(self)
    }

    fn chat_battle(
        &self,
        user_hash: String,
        rpid: Option<String>,
    ) -> impl Future<Output = Result<Option<ChatState>>> + Send {
        SqliteStore::chat_battle(self, user_hash, rpid)
    }

    fn chat_state(&self, id: BattleId) -> impl Future<Output = Result<ChatState>> + Send {
        SqliteStore::chat_state(self, id)
    }

    fn begin_turn(
        &self,
        id: BattleId,
        turn: i64,
        prompt: String,
        content: Option<String>,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::begin_turn(self, id, turn, prompt, content, now)
    }

    fn record_answer(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
        outcome: SideOutcome,
        now: i64,
    ) -> impl Future<Output = Result<Status>> + Send {
        SqliteStore::record_answer(self, id, turn, side, outcome, now)
    }

    fn mark_shown(
        &self,
        id: BattleId,
        turn: i64,
        side: Side,
    ) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::mark_shown(self, id, turn, side)
    }

    fn kept_vote(&self, id: BattleId) -> impl Future<Output = Result<Option<KeptVote>>> + Send {
        SqliteStore::kept_vote(self, id)
    }

    fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> impl Future<Output = Result<VoteOutcome>> + Send {
        SqliteStore::record_vote_checked(self, id, winner, user_hash, params, terms)
    }

    fn votes(&self, filter: VoteFilter) -> impl Future<Output = Result<Votes>> + Send {
        SqliteStore::votes(self, filter)
    }

    fn votes_after(
        &self,
        after: i64,
        admit: VoteFlags,
    ) -> impl Future<Output = Result<(Votes, i64)>> + Send {
        SqliteStore::votes_after(self, after, admit)
    }

    fn export_votes(
        &self,
        sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> impl Future<Output = Result<u64>> + Send {
        SqliteStore::export_votes(self, sink)
    }

    fn prompt_votes(
        &self,
        pool_only: bool,
        filter: VoteFilter,
    ) -> impl Future<Output = Result<PromptVotes>> + Send {
        SqliteStore::prompt_votes(self, pool_only, filter)
    }

    fn pair_counts(&self, filter: CountFilter) -> impl Future<Output = Result<PairCounts>> + Send {
        SqliteStore::pair_counts(self, filter)
    }

    fn left_out(&self, filter: VoteFilter) -> impl Future<Output = Result<LeftOutCounts>> + Send {
        SqliteStore::left_out(self, filter)
    }

    fn elo_ratings(
        &self,
        params: EloParams,
    ) -> impl Future<Output = Result<Option<HashMap<String, f64>>>> + Send {
        SqliteStore::elo_ratings(self, params)
    }

    fn counts_current(&self) -> impl Future<Output = Result<bool>> + Send {
        SqliteStore::counts_current(self)
    }

    fn votes_version(&self) -> impl Future<Output = Result<i64>> + Send {
        SqliteStore::votes_version(self)
    }

    fn rebuild(&self, params: EloParams) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::rebuild(self, params)
    }

    fn styled_votes(&self, filter: VoteFilter) -> impl Future<Output = Result<StyledVotes>> + Send {
        SqliteStore::styled_votes(self, filter)
    }

    fn categories(
        &self,
        admit: VoteFlags,
    ) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send {
        SqliteStore::categories(self, admit)
    }

    fn unclassified_votes(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<UnclassifiedVote>>> + Send {
        SqliteStore::unclassified_votes(self, limit)
    }

    fn add_categories(
        &self,
        vote: i64,
        categories: Vec<String>,
    ) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::add_categories(self, vote, categories)
    }

    fn fill_styles(&self) -> impl Future<Output = Result<u64>> + Send {
        SqliteStore::fill_styles(self)
    }

    fn add_prompts(&self, prompts: Vec<Prompt>) -> impl Future<Output = Result<usize>> + Send {
        SqliteStore::add_prompts(self, prompts)
    }

    fn prompts(&self, theme: Option<String>) -> impl Future<Output = Result<Vec<Prompt>>> + Send {
        SqliteStore::prompts(self, theme)
    }

    fn prompt(&self, id: String) -> impl Future<Output = Result<Option<Prompt>>> + Send {
        SqliteStore::prompt(self, id)
    }

    fn remove_prompt(&self, id: String) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::remove_prompt(self, id)
    }

    fn start_import(&self) -> impl Future<Output = Result<ImportSession>> + Send {
        SqliteStore::start_import(self)
    }

    fn import_chunk(
        &self,
        chunk: Chunk,
        salt: String,
        session: ImportSession,
    ) -> impl Future<Output = Result<(ImportCount, ImportSession)>> + Send {
        SqliteStore::import_chunk(self, chunk, salt, session)
    }

    fn finish_import(&self, session: ImportSession) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::finish_import(self, session)
    }

    fn add_key(
        &self,
        name: String,
        hash: String,
        kind: KeyKind,
        trust_forwarded_user: bool,
        now: i64,
    ) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::add_key(self, name, hash, kind, trust_forwarded_user, now)
    }

    fn revoke_key(&self, name: String, now: i64) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::revoke_key(self, name, now)
    }

    fn keys(&self) -> impl Future<Output = Result<Vec<StoredKey>>> + Send {
        SqliteStore::keys(self)
    }

    fn key_by_hash(&self, hash: Option<String>) -> impl Future<Output = Result<KeyLookup>> + Send {
        SqliteStore::key_by_hash(self, hash)
    }

    fn touch_key(&self, id: i64, now: i64) -> impl Future<Output = Result<()>> + Send {
        SqliteStore::touch_key(self, id, now)
    }
}

/// Wraps a rusqlite error; the store's `run` fills in the path.
pub(crate) fn db(cause: rusqlite::Error) -> Error {
    db_at(Path::new(""), cause)
}

/// A rusqlite error of the database at `path`, in the library's neutral terms.
pub(crate) fn db_at(path: &Path, cause: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let kind = match cause.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreErrorKind::Busy,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreErrorKind::Corrupt,
        Some(ErrorCode::ReadOnly) => StoreErrorKind::ReadOnly,
        Some(ErrorCode::ConstraintViolation) => StoreErrorKind::Constraint,
        _ => StoreErrorKind::Other,
    };
    Error::Database(StoreError {
        location: path.display().to_string(),
        kind,
        message: cause.to_string(),
    })
}

fn setting(conn: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get::<_, String>(0)
    })
    .optional()
}

/// A read-only connection. A database in WAL mode needs its `-shm` file to be read; where
/// that cannot be made (a read-only directory) and this process does not write, the file is
/// opened as immutable, which is what it is to this process.
async fn open_read_only(
    path: &Path,
    may_be_immutable: bool,
) -> rusqlite::Result<tokio_rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = tokio_rusqlite::Connection::open_with_flags(path, flags).await?;
    let readable = conn
        .call(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())))
        .await;
    if readable.is_ok() || !may_be_immutable {
        return Ok(conn);
    }
    let _ = conn.close().await;
    tokio_rusqlite::Connection::open_with_flags(format!("{}?immutable=1", file_uri(path)), flags)
        .await
}

/// `path` as an SQLite `file:` URI: the bytes of the path, with those a URI cannot hold as
/// they are (`?`, `#`, `%`, controls, and every byte of a non-ASCII character) as `%XX`.
fn file_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for &b in absolute.as_os_str().as_encoded_bytes() {
        match b {
            b'?' | b'#' | b'%' | 0..=0x1f | 0x7f..=0xff => uri.push_str(&format!("%{b:02X}")),
            _ => uri.push(char::from(b)),
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_failures_reach_callers_as_neutral_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let kind = |e: Error| match e {
            Error::Database(e) => e.kind,
            other => panic!("not a database error: {other}"),
        };
        let path = dir.path().join("a.sqlite3");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let dup = conn.execute("INSERT INTO t VALUES (1)", []).unwrap_err();
        assert_eq!(kind(db_at(&path, dup)), StoreErrorKind::Constraint);
        let ro = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let refused = ro.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
        let e = db_at(&path, refused);
        assert!(
            e.to_string()
                .starts_with(&format!("database {}: ", path.display()))
        );
        assert_eq!(kind(e), StoreErrorKind::ReadOnly);
        // A second writer waits no time for a lock the first one holds.
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        other.busy_timeout(std::time::Duration::ZERO).unwrap();
        let busy = other.execute("INSERT INTO t VALUES (3)", []).unwrap_err();
        assert_eq!(kind(db_at(&path, busy)), StoreErrorKind::Busy);
        let junk = dir.path().join("junk.sqlite3");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let garbled = rusqlite::Connection::open(&junk)
            .and_then(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())))
            .unwrap_err();
        assert_eq!(kind(db_at(&junk, garbled)), StoreErrorKind::Corrupt);
    }

    #[test]
    fn file_uris_keep_every_byte_of_the_path() {
        assert_eq!(
            file_uri(Path::new("/data/josé/a?b#c%d.sqlite3")),
            "file:/data/jos%C3%A9/a%3Fb%23c%25d.sqlite3"
        );
    }
}
