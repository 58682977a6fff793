//! The library's error type. Every message names the file, field, model, battle or flag
//! involved and, where there is one, the fix. [`Error::exit_code`] maps each kind to the
//! exit codes of the command line (SPEC §2).
//!
//! May use nothing of the crate but `util`: every other module uses it.

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

    /// Something the caller named does not exist (a prompt id, an API key).
    #[error("{0}")]
    NotFound(String),

    /// No battle by the id (or chat RPID) the caller gave, or none of theirs: the message
    /// names what was asked for and how to find or start one.
    #[error("{0}")]
    BattleNotFound(String),

    /// A model the pool (or `models.json`) does not have: the message names it, a near
    /// name if there is one, and the models there are.
    #[error("{0}")]
    UnknownModel(String),

    /// A battle was asked for with no question.
    #[error("the prompt is empty")]
    EmptyPrompt,

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

    /// An upstream model server failed or could not be reached: see [`UpstreamError`].
    #[error("{0}")]
    Upstream(UpstreamError),

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

/// Why an upstream call failed, in words a user can act on, with what callers decide on
/// kept apart from the words: the [`kind`](UpstreamKind) of failure, the HTTP status, and
/// the part of the message that may be shown while a battle's models are hidden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UpstreamError {
    pub kind: UpstreamKind,
    /// The HTTP status the upstream answered with, if it answered.
    pub status: Option<u16>,
    /// The whole message: what failed, then (see [`UpstreamError::of_model`]) which model
    /// failed, where it was called and what the upstream said.
    pub message: String,
    /// The message without the model, its address and the upstream's words: what may be
    /// shown while the models of a battle are hidden.
    pub shown: String,
    /// What the upstream said, keys scrubbed (empty when it said nothing).
    pub said: String,
    /// The upstream's own error, when it refused the request with an OpenAI-style one.
    pub refusal: Option<Box<Refusal>>,
}

/// What kind of failure an [`UpstreamError`] is: what a status code or a retry is decided on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamKind {
    /// No complete answer in time, or a stream that stalled.
    Timeout,
    /// The upstream answered with an error status.
    Refused,
    /// No upstream could be reached (connection, TLS, name lookup).
    Unreachable,
    /// The answer was empty, too long, broken off, or reported an error in band.
    BadAnswer,
    /// Anything else.
    Other,
}

/// An upstream's OpenAI-style error (`{"error": {"message", "type", "code", "param"}}`),
/// made fit to pass on to the client of a proxied model: every field scrubbed of keys, and
/// the upstream's id of the model and its address replaced by the model's public name and
/// "the upstream".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub kind: Option<String>,
    pub code: Option<String>,
    pub param: Option<String>,
}

/// Opens the part of a kept battle error that names the model (see [`UpstreamError::of_model`]).
const WHO_OPEN: &str = "[model `";

impl UpstreamError {
    /// A failure that names no hidden model: all of it may be shown.
    #[must_use]
    pub fn new(kind: UpstreamKind, message: impl Into<String>) -> Self {
        let message = message.into();
        UpstreamError {
            kind,
            status: None,
            shown: message.clone(),
            message,
            said: String::new(),
            refusal: None,
        }
    }

    /// A failure of `model`: `what` may be shown while the models are hidden; the model's
    /// name, `place` (where it was called) and `said` (the upstream's words, scrubbed by the
    /// caller, with balanced brackets) follow it as `[model `NAME`: PLACE; it said: SAID]`.
    /// That form is also how a
    /// side's error is kept with its battle, which [`UpstreamError::shown_of_kept`] reads.
    #[must_use]
    pub fn of_model(kind: UpstreamKind, what: &str, model: &str, place: &str, said: &str) -> Self {
        let said = said.trim();
        let place = if said.is_empty() {
            place.to_owned()
        } else if place.is_empty() {
            format!("it said: {said}")
        } else {
            format!("{place}; it said: {said}")
        };
        let who = if place.is_empty() {
            format!("{WHO_OPEN}{model}`]")
        } else {
            format!("{WHO_OPEN}{model}`: {place}]")
        };
        UpstreamError {
            kind,
            status: None,
            message: format!("{what} {who}"),
            shown: what.trim_end().to_owned(),
            said: said.to_owned(),
            refusal: None,
        }
    }

    /// With the HTTP status the upstream answered with.
    #[must_use]
    pub fn with_status(mut self, status: Option<u16>) -> Self {
        self.status = status;
        self
    }

    /// What may be shown of a side's error kept with its battle (the
    /// [`message`](UpstreamError::message) of an [`UpstreamError::of_model`]) while the
    /// battle's models are hidden. Kept errors are text, older ones too: this reads the
    /// form [`UpstreamError::of_model`] writes, and nothing else reads it.
    #[must_use]
    pub fn shown_of_kept(kept: &str) -> String {
        let mut out = String::with_capacity(kept.len());
        let mut rest = kept;
        while let Some(start) = rest.find(WHO_OPEN) {
            out.push_str(rest[..start].trim_end());
            let tail = &rest[start..];
            // Skip to the bracket that closes this one, allowing nested brackets inside.
            let mut depth = 0usize;
            let mut end = tail.len();
            for (i, c) in tail.char_indices() {
                match c {
                    '[' => depth += 1,
                    ']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &tail[end..];
        }
        out.push_str(rest);
        out
    }
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
            Error::File { .. }
            | Error::Input(_)
            | Error::NotFound(_)
            | Error::BattleNotFound(_)
            | Error::UnknownModel(_)
            | Error::EmptyPrompt => 2,
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

    /// An upstream failure without a status, that names no hidden model.
    #[must_use]
    pub fn upstream(message: impl Into<String>) -> Self {
        Error::Upstream(UpstreamError::new(UpstreamKind::Other, message))
    }

    pub(crate) fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}
