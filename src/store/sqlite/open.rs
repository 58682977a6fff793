//! Opening an SQLite database: the file checks, the writer and the read-only connections,
//! the schema brought up to date, the read-only fallback by file URI, and the helpers every
//! operation runs through (one writer in order, readers beside it).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{SqliteStore, db, schema};
use crate::error::{Error, Result, StoreError, StoreErrorKind};
use crate::store::Mode;

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
            clock: crate::store::wall_clock(),
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
    pub(super) async fn write_now<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection, i64) -> Result<T> + Send + 'static,
    {
        let clock = self.clock.clone();
        self.write(move |conn| f(conn, clock())).await
    }

    /// Runs `f` on the writer's thread, after every write queued before it.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T>
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
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T>
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

    pub(super) async fn read_on_each(
        &self,
        f: fn(&mut rusqlite::Connection) -> Result<()>,
    ) -> Result<()> {
        for reader in self.readers.iter() {
            self.run(reader, f).await?;
        }
        Ok(())
    }

    pub(super) async fn run<T, F>(&self, conn: &tokio_rusqlite::Connection, f: F) -> Result<T>
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

pub(super) fn setting(conn: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<String>> {
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
    fn file_uris_keep_every_byte_of_the_path() {
        assert_eq!(
            file_uri(Path::new("/data/josé/a?b#c%d.sqlite3")),
            "file:/data/jos%C3%A9/a%3Fb%23c%25d.sqlite3"
        );
    }
}
