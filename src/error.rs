//! The library's error type. Every message names the file, field, model, battle or flag
//! involved and, where there is one, the fix. [`Error::exit_code`] maps each kind to the
//! exit codes of the command line (SPEC §2).

use std::path::PathBuf;

/// A result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file we read is malformed: names the file, line, column and the fix.
    #[error("{}:{line}:{column}: {message}", path.display())]
    File {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },

    /// A file could not be read or written.
    // Not `source`: the cause is part of this message and must not be printed twice.
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },

    /// Input that is well-formed but not acceptable (an empty prompt, an unknown model, ...).
    #[error("{0}")]
    Input(String),

    /// Something the caller named does not exist (a battle id, a prompt id).
    #[error("{0}")]
    NotFound(String),

    /// The request conflicts with what exists (a file `init` would overwrite, a prompt
    /// already in the pool).
    #[error("{0}")]
    Conflict(String),

    /// A chat battle cannot take this now (a result before both answers were shown, a turn
    /// while the last one is still answered, a start over a battle still open): the message
    /// names the battle by its RPID and what to do.
    #[error("{0}")]
    BattleState(String),

    /// The battle has its vote already; a completed battle never changes.
    #[error("battle `{0}` already has a vote; a completed battle never changes")]
    AlreadyVoted(uuid::Uuid),

    /// The battle waited too long for its vote and is closed.
    #[error("battle `{0}` expired without a vote and cannot be voted on any more")]
    Expired(uuid::Uuid),

    /// The battle's answers are still being generated.
    #[error("battle `{0}` is still generating; vote once both answers are in")]
    StillGenerating(uuid::Uuid),

    /// The battle failed (an upstream error, a timeout, a cancellation) and takes no vote.
    #[error("battle `{id}` failed and cannot be voted on: {reason}")]
    BattleFailed { id: uuid::Uuid, reason: String },

    /// The battle was started by another user, who alone may vote on it or fetch it back.
    #[error("battle `{0}` belongs to another user: only the user who started it can act on it")]
    NotOwner(uuid::Uuid),

    /// Too many battles for now. `available_at` (Unix milliseconds) says when the next one
    /// can start, where a clock decides it; `None` where the user does (a vote frees a place
    /// of [`RateLimit::Concurrent`]). `refused_at` is when the limit was met, by the engine's
    /// clock, so that a wait can be told from the two.
    #[error("{limit}")]
    RateLimited {
        limit: RateLimit,
        available_at: Option<i64>,
        refused_at: i64,
    },

    /// An upstream model server failed or could not be reached; `status` is the HTTP status
    /// it answered with, if it answered, and `refusal` its own error, when it refused the
    /// request with one.
    #[error("{message}")]
    Upstream {
        message: String,
        status: Option<u16>,
        refusal: Option<Box<crate::provider::Refusal>>,
    },

    /// The database failed: which one, the kind of failure, and the database's own words.
    #[error("{0}")]
    Database(StoreError),

    /// A failure inside the process that is not the caller's fault.
    #[error("{0}")]
    Internal(String),
}

/// A failure of the database, in terms any backend can give: each maps its own error codes
/// to a [`StoreErrorKind`], so that callers tell failures apart without reading messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("database {location}: {message}")]
pub struct StoreError {
    /// The database: a file's path, or an address without its password.
    pub location: String,
    pub kind: StoreErrorKind,
    /// What the database said.
    pub message: String,
}

/// What kind of database failure a [`StoreError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// Another connection holds the database for longer than the wait allowed.
    Busy,
    /// The database is damaged, or is not a database.
    Corrupt,
    /// The database (or its directory) cannot be written.
    ReadOnly,
    /// A write broke a constraint of the schema.
    Constraint,
    /// Anything else (a full disk, a file that cannot be opened, a bad statement).
    Other,
}

/// Which per-user limit a new battle would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// Battles generating or waiting for their vote at once.
    Concurrent { max: u32 },
    /// Battles started within an hour.
    Hourly { max: u32 },
    /// The shortest time between two battles.
    Interval { seconds: u64 },
}

impl std::fmt::Display for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateLimit::Concurrent { max } => write!(
                f,
                "you have {} generating or waiting for a vote, the most at once: vote on one \
                 first",
                battles(*max)
            ),
            RateLimit::Hourly { max } => write!(
                f,
                "you have started {} within an hour, the most allowed: try again later",
                battles(*max)
            ),
            RateLimit::Interval { seconds } => write!(
                f,
                "battles must be at least {seconds} s apart: try again shortly"
            ),
        }
    }
}

/// "1 battle", "3 battles".
fn battles(n: u32) -> String {
    if n == 1 {
        "1 battle".to_owned()
    } else {
        format!("{n} battles")
    }
}

impl Error {
    /// The process exit code for this error: 1 runtime failure, 2 usage or input error,
    /// 3 upstream failure, 4 conflict.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::File { .. } | Error::Input(_) | Error::NotFound(_) => 2,
            Error::Upstream { .. } => 3,
            Error::Conflict(_)
            | Error::BattleState(_)
            | Error::AlreadyVoted(_)
            | Error::Expired(_)
            | Error::StillGenerating(_)
            | Error::BattleFailed { .. }
            | Error::NotOwner(_)
            | Error::RateLimited { .. } => 4,
            // A file the user named that is not there is an input error.
            Error::Io { cause, .. }
                if matches!(
                    cause.kind(),
                    std::io::ErrorKind::NotFound
                        | std::io::ErrorKind::IsADirectory
                        | std::io::ErrorKind::InvalidData
                ) =>
            {
                2
            }
            Error::Io { .. } | Error::Database(_) | Error::Internal(_) => 1,
        }
    }

    /// The kind of the I/O error behind this one, if it is one.
    #[must_use]
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            Error::Io { cause, .. } => Some(cause.kind()),
            _ => None,
        }
    }

    /// An upstream failure without a status.
    #[must_use]
    pub fn upstream(message: impl Into<String>) -> Self {
        Error::Upstream {
            message: message.into(),
            status: None,
            refusal: None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}
