//! The SQLite store: all SQL lives under this module.
//!
//! Concurrency: one connection on a thread of its own (tokio-rusqlite) serves every call, so
//! all writes are serialised through one writer and async callers never block the runtime.
//! Writes that must be atomic (a vote and the battle's new status) run in one `BEGIN IMMEDIATE`
//! transaction; a vote is acknowledged only after it commits. WAL with `synchronous=NORMAL`
//! keeps every committed transaction across a killed process.
//!
//! Layout: `schema` (the append-only migrations), `battles`, `votes`, `prompts`, `import`.

mod battles;
mod import;
mod prompts;
mod schema;
mod votes;

pub use battles::{BattleFilter, NewBattle, SideOutcome};
pub use import::ImportCount;
pub use prompts::Prompt;
pub use votes::{ExportedVote, VoteFilter};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A handle to the database. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    conn: tokio_rusqlite::Connection,
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
        let conn = match mode {
            Mode::Read => {
                schema::migrate_if_behind(path)?;
                open_read_only(path).await.map_err(db_err)?
            }
            Mode::Write | Mode::Create => tokio_rusqlite::Connection::open(path)
                .await
                .map_err(db_err)?,
        };
        let mut store = Store {
            conn,
            path: Arc::new(path.to_owned()),
            database_id: Arc::new(String::new()),
            legacy_salt: None,
            mode,
        };
        let prepare = match mode {
            Mode::Read => schema::prepare_read,
            Mode::Write | Mode::Create => schema::prepare,
        };
        store.call(prepare).await?;
        let writes = mode != Mode::Read;
        let (id, legacy) = store
            .call(move |conn| {
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
            })
            .await?;
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
        self.call(|conn| {
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
        if self.mode != Mode::Read {
            self.call(|conn| {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(db)?;
                // Only possible when this is the last connection; never wait for that.
                conn.busy_timeout(std::time::Duration::ZERO).map_err(db)?;
                let _ = conn.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()));
                Ok(())
            })
            .await?;
        }
        let path = self.path.clone();
        self.conn.close().await.map_err(|e| match e {
            tokio_rusqlite::Error::Close((_, cause)) => Error::Database {
                path: path.to_path_buf(),
                cause,
            },
            // Closed already: nothing is left to do.
            _ => Error::Internal(format!("database {}: {e}", path.display())),
        })
    }

    /// Confirms that `key` is the key this database's user ids are hashed with: recorded
    /// (as a keyed hash, which does not reveal it) the first time, accepted while no user is
    /// stored, refused once users were hashed with another key, since they would no longer
    /// own their battles.
    pub async fn confirm_user_key(&self, key: String, source: String) -> Result<()> {
        self.call(move |conn| {
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

    /// Runs `f` on the connection's thread.
    pub(crate) async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let path = self.path.clone();
        self.conn.call(f).await.map_err(|e| match e {
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

/// Wraps a rusqlite error; the store's `call` fills in the path.
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
/// that cannot be made (a read-only directory), the file is opened as immutable, which is
/// what it is to this process.
async fn open_read_only(path: &Path) -> rusqlite::Result<tokio_rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = tokio_rusqlite::Connection::open_with_flags(path, flags).await?;
    let readable = conn
        .call(|c| c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())))
        .await;
    if readable.is_ok() {
        return Ok(conn);
    }
    let _ = conn.close().await;
    tokio_rusqlite::Connection::open_with_flags(format!("{}?immutable=1", file_uri(path)), flags)
        .await
}

/// `path` as an SQLite `file:` URI.
fn file_uri(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut uri = String::from("file:");
    for b in absolute.to_string_lossy().bytes() {
        match b {
            b'?' | b'#' | b'%' => uri.push_str(&format!("%{b:02X}")),
            _ => uri.push(char::from(b)),
        }
    }
    uri
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
