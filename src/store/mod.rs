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
pub use votes::{ExportedVote, VoteFilter, VoteRow, VoteTotals};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A handle to the database. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Store {
    conn: tokio_rusqlite::Connection,
    path: Arc<PathBuf>,
    /// This database's own secret for hashing user ids, made when it was created; used when
    /// the configuration sets no `user_id_salt`.
    salt: Arc<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating it and its directory if needed) and migrates the database at `path`.
    pub async fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let db_err = |cause| Error::Database {
            path: path.to_owned(),
            cause,
        };
        let conn = tokio_rusqlite::Connection::open(path)
            .await
            .map_err(db_err)?;
        let mut store = Store {
            conn,
            path: Arc::new(path.to_owned()),
            salt: Arc::new(String::new()),
        };
        store.call(schema::prepare).await?;
        let salt = store
            .call(|conn| {
                let fresh: [u8; 32] = rand::random();
                conn.execute(
                    "INSERT OR IGNORE INTO settings (key, value) VALUES ('user_id_salt', ?1)",
                    [hex::encode(fresh)],
                )
                .map_err(db)?;
                conn.query_row(
                    "SELECT value FROM settings WHERE key = 'user_id_salt'",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .map_err(db)
            })
            .await?;
        store.salt = Arc::new(salt);
        Ok(store)
    }

    /// The database's own user-id salt.
    #[must_use]
    pub fn salt(&self) -> &str {
        &self.salt
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

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
