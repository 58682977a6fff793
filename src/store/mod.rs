//! The SQLite store: all SQL lives under this module.
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
//! The engine uses the store through operations (create a battle, record a vote, read the
//! counts, ...), never SQL, so another database can stand beside SQLite behind the same calls.
//!
//! Layout: `schema` (the append-only migrations), `battles`, `chat` (battles of chat clients,
//! turn by turn), `votes`, `counts` (the running per-pair counts and online Elo, kept with
//! every vote), `prompts`, `import`, `keys` (the server's API keys, by hash), `style` (each
//! vote's style features and categories).

mod battles;
mod chat;
mod counts;
mod import;
mod keys;
mod prompts;
mod schema;
mod style;
mod votes;

pub use battles::{BattleFilter, EXPIRED, Failure, Limits, NewBattle, SideOutcome};
pub use chat::{ChatState, ChatTurn, KeptVote};
pub use counts::CountFilter;
pub use import::{Chunk, ImportCount, ImportRow, ImportSession, KnownKeys};
pub use keys::{KeyKind, KeyLookup, StoredKey};
pub use prompts::Prompt;
pub use style::{StyledVotes, VoteStyle};
pub use votes::{ExportedVote, VoteFilter, VoteOutcome};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// A handle to the database. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Store {
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
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

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

impl Store {
    /// Opens the database at `path` as `mode` says, and brings its schema up to date. `Read`
    /// and `Write` refuse a database that does not exist, naming the path; only `Create` makes
    /// one. A read may run on a file it cannot write; the one write it may make is bringing
    /// an older schema up to date, when it can.
    pub async fn open(path: &Path, mode: Mode) -> Result<Store> {
        Self::open_with_readers(path, mode, 1).await
    }

    /// [`Store::open`] with `readers` read-only connections beside the writer (a server
    /// takes a few, so that reads run in parallel).
    pub async fn open_with_readers(path: &Path, mode: Mode, count: usize) -> Result<Store> {
        let db_err = |cause| Error::Database {
            path: path.to_owned(),
            cause,
        };
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
        let mut store = Store {
            writer,
            readers: Arc::from(Vec::new()),
            next_reader: Arc::new(AtomicUsize::new(0)),
            path: Arc::new(path.to_owned()),
            database_id: Arc::new(String::new()),
            legacy_salt: None,
            mode,
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

    /// This database's random id (empty for an old database opened read-only).
    #[must_use]
    pub fn database_id(&self) -> &str {
        &self.database_id
    }

    /// The user-id key an older version kept in the database, if it is still there.
    #[must_use]
    pub fn legacy_salt(&self) -> Option<&str> {
        self.legacy_salt.as_deref().map(String::as_str)
    }

    /// Removes the key an older version kept in the database, once it is in its file.
    pub async fn forget_legacy_salt(&self) -> Result<()> {
        self.write(|conn| {
            conn.execute("DELETE FROM settings WHERE key = 'user_id_salt'", [])
                .map_err(db)?;
            Ok(())
        })
        .await
    }

    /// Ends the session. A store that wrote moves everything from the write-ahead log into
    /// the database file, so the file alone is complete (a copy of it is a backup), and,
    /// when no other connection is open, leaves it in rollback-journal mode: the next reader
    /// then needs no `-wal` or `-shm` file, and reads a read-only file without making any.
    /// The next writer turns WAL on again.
    pub async fn close(self) -> Result<()> {
        let path = self.path.clone();
        let closed = |e: tokio_rusqlite::Error<rusqlite::Error>| match e {
            tokio_rusqlite::Error::Close((_, cause)) => Error::Database {
                path: path.to_path_buf(),
                cause,
            },
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

    /// Confirms that `key` is the key this database's user ids are hashed with: recorded
    /// (as a keyed hash, which does not reveal it) the first time, accepted while no user is
    /// stored, refused once users were hashed with another key, since they would no longer
    /// own their battles.
    pub async fn confirm_user_key(&self, key: String, source: String) -> Result<()> {
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

    /// How this store was opened.
    #[must_use]
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the writer's thread, after every write queued before it.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T>
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
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T>
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

    /// Caps SQLite's page cache of the writer and of each reader, in KiB, and reads the file
    /// without mapping it. Commands keep the large cache and the mapping (bulk imports and
    /// scans gain from them); a long-running server, whose requests read the kept counts,
    /// caps its memory so that it stops growing with the database: a mapped file's pages
    /// count in its resident memory, read ones stay in the system's page cache instead.
    pub async fn limit_memory(&self, writer_kib: u32, reader_kib: u32) -> Result<()> {
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
                Error::Database { cause, .. } => Error::Database {
                    path: path.to_path_buf(),
                    cause,
                },
                other => other,
            },
            tokio_rusqlite::Error::ConnectionClosed => Error::Internal(format!(
                "database {}: the connection is closed",
                path.display()
            )),
            tokio_rusqlite::Error::Close((_, cause)) => Error::Database {
                path: path.to_path_buf(),
                cause,
            },
            _ => Error::Internal(format!("database {}: {e}", path.display())),
        })
    }
}

/// Wraps a rusqlite error; the store's `run` fills in the path.
pub(crate) fn db(cause: rusqlite::Error) -> Error {
    Error::Database {
        path: PathBuf::new(),
        cause,
    }
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_keep_every_byte_of_the_path() {
        assert_eq!(
            file_uri(Path::new("/data/josé/a?b#c%d.sqlite3")),
            "file:/data/jos%C3%A9/a%3Fb%23c%25d.sqlite3"
        );
    }
}
