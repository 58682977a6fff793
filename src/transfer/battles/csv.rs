//! The CSV reader: a header line naming the columns (through the mapping), then one record
//! a row.
//!
//! Depends on [`super::rows`], `transfer::style` and the parent's mapping; not on the other
//! readers.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::rows::{Builder, Extra, left_out_of, too_long};
use super::{CHUNK, Chunk, MAX_RECORD_BYTES, Mapping};
use crate::error::{Error, Result};

pub(super) fn read_csv(
    path: &Path,
    reader: impl Read,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv.byte_headers().map_err(|e| csv_error(path, &e))?.clone();
    let cols = Columns::of(path, &headers, &b.mapping)?;
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let number = record.position().map_or(0, csv::Position::line);
        if record.as_slice().len() > MAX_RECORD_BYTES {
            too_long(b, number);
            continue;
        }
        let field = |c: usize| field(&record, c);
        let utf8 = cols
            .text()
            .all(|c| record.get(c).is_none_or(|f| std::str::from_utf8(f).is_ok()));
        if !utf8 {
            b.skips.add("a field is not valid UTF-8", number);
            continue;
        }
        let tstamp = match cols.tstamp.and_then(field).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match t.parse::<f64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    b.skips.add("tstamp is not a number", number);
                    continue;
                }
            },
        };
        let extra = cols.extra(&record).with_keys(tstamp);
        b.push(
            number,
            field(cols.model_a),
            field(cols.model_b),
            field(cols.winner),
            extra,
        );
        if b.rows.len() >= CHUNK {
            let at = record.position().map_or(0, csv::Position::byte);
            sink(b.take(at))?;
        }
    }
    let end = record.position().map_or(0, csv::Position::byte);
    sink(b.take(end))
}

/// Field `c` of a row, trimmed; `None` when the row has no such field or it is not UTF-8.
fn field(record: &csv::ByteRecord, c: usize) -> Option<&str> {
    record
        .get(c)
        .and_then(|f| std::str::from_utf8(f).ok())
        .map(str::trim)
}

/// Where each field is in a row, from the header line (through the mapping).
struct Columns {
    model_a: usize,
    model_b: usize,
    winner: usize,
    tstamp: Option<usize>,
    judge: Option<usize>,
    question_id: Option<usize>,
    battle_id: Option<usize>,
    vote_id: Option<usize>,
    left_out: Option<usize>,
    /// The style counts, by their `conv_metadata` names (not mapped).
    counts: Vec<(&'static str, Option<usize>)>,
    language: Option<usize>,
    category_tag: Option<usize>,
    is_code: Option<usize>,
}

impl Columns {
    /// The columns of a header line; an error names those missing, and the mapping that
    /// reads a log of another tool when the header looks like one.
    fn of(path: &Path, headers: &csv::ByteRecord, mapping: &Mapping) -> Result<Self> {
        let col = |field: &str| {
            let name = mapping.name(field);
            headers
                .iter()
                .position(|h| h.trim_ascii() == name.as_bytes())
        };
        let (Some(ca), Some(cb), Some(cw)) = (col("model_a"), col("model_b"), col("winner")) else {
            let has = |name: &str| headers.iter().any(|h| h.trim_ascii() == name.as_bytes());
            let hint = if has("left") && has("right") && has("winner") {
                " This looks like an evalica / LLMFAO log: import it with --column model_a=left \
                 --column model_b=right --winner-value left=model_a --winner-value right=model_b"
            } else {
                " Other names can be mapped, e.g. --column model_a=left"
            };
            return Err(Error::File {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: format!(
                    "a CSV battle log needs the columns {}, {} and {} in its header line.{hint}",
                    mapping.name("model_a"),
                    mapping.name("model_b"),
                    mapping.name("winner")
                ),
            });
        };
        let counts: Vec<(&str, Option<usize>)> = crate::transfer::style::COUNT_FIELDS
            .iter()
            .map(|&f| {
                (
                    f,
                    headers.iter().position(|h| h.trim_ascii() == f.as_bytes()),
                )
            })
            .collect();
        let plain = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim_ascii() == name.as_bytes())
        };
        Ok(Columns {
            model_a: ca,
            model_b: cb,
            winner: cw,
            tstamp: col("tstamp"),
            judge: col("judge"),
            question_id: col("question_id"),
            battle_id: col("battle_id"),
            vote_id: col("vote_id"),
            left_out: col("left_out"),
            counts,
            language: plain("language"),
            category_tag: plain("category_tag"),
            is_code: plain("is_code"),
        })
    }

    /// The columns read as text, which a row must hold as UTF-8.
    fn text(&self) -> impl Iterator<Item = usize> {
        [
            Some(self.model_a),
            Some(self.model_b),
            Some(self.winner),
            self.tstamp,
            self.judge,
            self.question_id,
            self.battle_id,
            self.vote_id,
            self.left_out,
        ]
        .into_iter()
        .flatten()
    }

    /// A row's fields besides its models, winner and time.
    fn extra(&self, record: &csv::ByteRecord) -> Extra {
        let field = |c: usize| field(record, c);
        let owned = |c: Option<usize>| {
            c.and_then(field)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let battle_text = owned(self.battle_id);
        Extra {
            judge: owned(self.judge),
            battle_id: battle_text
                .as_deref()
                .and_then(|s| uuid::Uuid::parse_str(s).ok()),
            battle_text,
            vote_id: owned(self.vote_id),
            question_id: owned(self.question_id),
            left_out: left_out_of(owned(self.left_out)),
            style: {
                let flat: Vec<(&str, Option<f64>)> = self
                    .counts
                    .iter()
                    .map(|&(f, c)| (f, c.and_then(field).and_then(|t| t.parse().ok())))
                    .collect();
                let tag = owned(self.category_tag).map(Value::String);
                crate::transfer::style::style_of(&crate::transfer::style::StyleFields {
                    flat: &flat,
                    language: self.language.and_then(field).filter(|l| !l.is_empty()),
                    category_tag: tag.as_ref(),
                    is_code: self
                        .is_code
                        .and_then(field)
                        .map(|t| t == "true" || t == "1"),
                    ..crate::transfer::style::StyleFields::default()
                })
            },
            ..Extra::default()
        }
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e
        .position()
        .map_or(1, |p| usize::try_from(p.line()).unwrap_or(1));
    Error::File {
        path: path.to_owned(),
        line,
        column: 1,
        message: format!("not valid CSV: {e}"),
    }
}
