//! Battle logs written elsewhere: the FastChat / LMArena `clean_battle` JSON array, JSON Lines
//! of the same records, and CSV with `model_a, model_b, winner` columns (other column names
//! and winner values through [`Mapping`]).
//!
//! Records are parsed into compact [`ImportRow`]s (model names interned) and handed out in
//! chunks, so a file of millions of votes streams into the store with bounded memory.
//!
//! # Identity
//!
//! Every record gets a key that says which vote it is, so that importing it again adds
//! nothing, by the first rule that applies ([`Identity`]):
//!
//! 1. `vote_id`: what `arena export votes` writes for every vote;
//! 2. `battle_id`: one vote per battle;
//! 3. the record's own id fields (`question_id`, `tstamp`, `judge`) with what it says (the
//!    models and the outcome);
//! 4. no id at all: the file (a hash of all its bytes) and the record's place in it. The same
//!    file again adds nothing; the same rows in another file are other votes, and all count.
//!
//! Under rules 3 and 4, identical records within one file are distinct votes: the n-th of them
//! has a key of its own.
//!
//! # Layout
//!
//! This file holds what callers see: the formats, the column mapping, the skips and
//! [`read`], which picks a reader. The readers live beside it: `json` (a JSON array, split
//! by a streaming scanner), `jsonl` (JSON Lines) and `csv`, the first two through `record`
//! (one JSON record), all three handing checked records to `rows` (keys, interned names,
//! chunks). The folder depends on `battle` (outcomes, flags), `store` (the row types, the
//! clock), `config` (the nearest name, for a hint) and `transfer::style`; nothing outside it
//! depends on more than this file.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::battle::Winner;
use crate::error::{Error, Result};
pub use crate::store::{Chunk, ImportRow};

use rows::{Builder, file_hash};

mod csv;
mod json;
mod jsonl;
mod record;
mod rows;
#[cfg(test)]
mod tests;

/// How many records a chunk holds.
pub const CHUNK: usize = 50_000;

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Decide by extension, then by the first character.
    Auto,
    Json,
    Jsonl,
    Csv,
}

/// Which rule gave a record its key (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// The `vote_id` of an export.
    VoteId,
    /// The `battle_id` it names.
    BattleId,
    /// Its `question_id`, `tstamp` or `judge`, with its content.
    IdFields,
    /// The file and the record's place in it: the record has no id.
    FilePosition,
}

impl Identity {
    /// How the summary names the rule.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Identity::VoteId => "by vote_id",
            Identity::BattleId => "by battle_id",
            Identity::IdFields => "by their question_id, tstamp or judge, with their content",
            Identity::FilePosition => {
                "by file and position (no id fields: this file again adds nothing; the same \
                 rows in another file count again)"
            }
        }
    }
}

/// Other names for the fields of a record, and other words for its outcomes: what it takes
/// to read a log written with `left, right, winner` and `left|right|tie`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapping {
    /// Our field name (`model_a`, ...) -> the name in the file.
    pub columns: Vec<(String, String)>,
    /// A value of the file's winner column -> the outcome it means.
    pub winners: Vec<(String, Winner)>,
}

/// The fields a record may carry, as [`Mapping::columns`] names them.
pub const FIELDS: [&str; 9] = [
    "model_a",
    "model_b",
    "winner",
    "tstamp",
    "judge",
    "question_id",
    "battle_id",
    "vote_id",
    "left_out",
];

impl Mapping {
    /// Parses `FIELD=NAME` (a column) or `VALUE=OUTCOME` (a winner value).
    pub fn column(&mut self, text: &str) -> Result<()> {
        let (field, name) = text.split_once('=').ok_or_else(|| {
            Error::Input(format!(
                "--column `{text}`: expected FIELD=NAME, such as --column model_a=left"
            ))
        })?;
        let field = field.trim();
        if !FIELDS.contains(&field) {
            let hint = crate::config::nearest(field, FIELDS.iter().copied())
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(Error::Input(format!(
                "--column `{text}`: unknown field `{field}`{hint}; the fields are {}",
                FIELDS.join(", ")
            )));
        }
        if name.trim().is_empty() {
            return Err(Error::Input(format!(
                "--column `{text}`: the column name is empty"
            )));
        }
        self.columns.retain(|(f, _)| f != field);
        self.columns
            .push((field.to_owned(), name.trim().to_owned()));
        Ok(())
    }

    /// Parses `VALUE=OUTCOME`.
    pub fn winner(&mut self, text: &str) -> Result<()> {
        let (value, outcome) = text.split_once('=').ok_or_else(|| {
            Error::Input(format!(
                "--winner-value `{text}`: expected VALUE=OUTCOME, such as --winner-value left=model_a"
            ))
        })?;
        let outcome: Winner = outcome.parse().map_err(|_| {
            Error::Input(format!(
                "--winner-value `{text}`: `{outcome}` is not an outcome: use model_a, model_b, \
                 tie, both_bad or skip"
            ))
        })?;
        self.winners.retain(|(v, _)| v != value);
        self.winners.push((value.to_owned(), outcome));
        Ok(())
    }

    /// The name in the file of our field `field`.
    fn name<'a>(&'a self, field: &'a str) -> &'a str {
        self.columns
            .iter()
            .find(|(f, _)| f == field)
            .map_or(field, |(_, n)| n.as_str())
    }

    fn is_identity(&self) -> bool {
        self.columns.iter().all(|(f, n)| f == n)
    }
}

/// Why records were left out, with the first place of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skips {
    /// reason -> (count, first line, or first record of a JSON array)
    pub reasons: BTreeMap<String, (u64, u64)>,
    /// What the numbers count: `line`, or `record` in a JSON array.
    pub unit: &'static str,
    /// How many records each identity rule keyed.
    pub identities: BTreeMap<Identity, u64>,
}

impl Skips {
    fn add(&mut self, reason: &str, line: u64) {
        let e = self.reasons.entry(reason.to_owned()).or_insert((0, line));
        e.0 += 1;
    }

    #[must_use]
    pub fn total(&self) -> u64 {
        self.reasons.values().map(|(n, _)| n).sum()
    }
}

/// The byte order mark some editors put at the start of a UTF-8 file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The largest record read: a longer line, array element or CSV row is skipped with its
/// reason, so one huge record cannot exhaust memory.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Guesses the format from the extension, then from the first non-blank byte.
#[must_use]
pub fn detect(path: &Path, head: &[u8]) -> InputFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => return InputFormat::Csv,
        Some("jsonl" | "ndjson") => return InputFormat::Jsonl,
        _ => {}
    }
    let json = path.extension().and_then(|e| e.to_str()) == Some("json");
    let head = head.strip_prefix(BOM).unwrap_or(head);
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => InputFormat::Json,
        Some(b'{') => InputFormat::Jsonl,
        _ if json => InputFormat::Json,
        _ => InputFormat::Csv,
    }
}

/// Reads `path` and hands its rows to `sink` in chunks; returns the skips.
pub fn read(
    path: &Path,
    format: InputFormat,
    mapping: &Mapping,
    mut sink: impl FnMut(Chunk) -> Result<()>,
) -> Result<Skips> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    if head
        .strip_prefix(BOM)
        .unwrap_or(head)
        .trim_ascii()
        .is_empty()
        && head.len() < 4096
    {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "the file is empty: a battle log holds records of model_a, model_b and \
                      winner"
                .into(),
        });
    }
    let format = match format {
        InputFormat::Auto => detect(path, head),
        f => f,
    };
    let mut b = Builder::new(file_hash(path)?, mapping.clone());
    b.skips.unit = if format == InputFormat::Json {
        "record"
    } else {
        "line"
    };
    match format {
        InputFormat::Jsonl | InputFormat::Auto => {
            jsonl::read_jsonl(path, reader, &mut b, &mut sink)?
        }
        InputFormat::Json => json::read_json(path, reader, &mut b, &mut sink)?,
        InputFormat::Csv => csv::read_csv(path, reader, &mut b, &mut sink)?,
    }
    Ok(b.skips)
}
