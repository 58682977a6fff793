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
//! Layout: `open` (opening the file, the writer and readers every operation runs on),
//! `schema` (the append-only migrations), `battles`, `chat` (battles of chat clients,
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
mod open;
mod packs;
mod prompts;
mod schema;
mod style;
mod votes;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use super::{
    BattleFilter, ChatState, Chunk, Clock, CountFilter, ExportedVote, Failure, ImportCount,
    ImportSession, Job, KeptVote, KeyKind, KeyLookup, Lead, Mode, NewBattle, Prompt, PromptVotes,
    SideOutcome, Store, StoredKey, StyledVotes, UnclassifiedVote, VoteFilter, VoteOutcome,
    VoteStyle,
};
use crate::battle::identity::IdentityTerms;
use crate::battle::{BattleId, BattleRecord, LeftOutCounts, Side, Status, VoteFlags, Winner};
use crate::error::{Error, Result};
use crate::rating::elo::EloParams;
use crate::rating::{PairCounts, Votes};
pub(crate) use open::db_at;

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

    fn keep_style(
        &self,
        id: BattleId,
        turn: i64,
        style: VoteStyle,
    ) -> impl Future<Output = Result<bool>> + Send {
        SqliteStore::keep_style(self, id, turn, style)
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

    /// One process writes the file (its writer holds it), so it leads every job.
    async fn lead(&self, _job: Job) -> Result<Option<Lead>> {
        Ok(Some(Lead {
            inner: crate::store::lead::Held::Alone,
        }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreErrorKind;

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
}
