//! The CSV reader: a header line naming the columns (through the mapping), then one record
//! a row.
//!
//! Depends on [`super::rows`], `transfer::style` and the parent's mapping; not on the other
//! readers.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::rows::{Builder, Extra, left_out_of, too_long};
use super::{CHUNK, Chunk, MAX_RECORD_BYTES};
use crate::error::{Error, Result};

pub(super) fn read_csv(
    path: &Path,
    reader: impl Read,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv.byte_headers().map_err(|e| csv_error(path, &e))?.clone();
    let mapping = b.mapping.clone();
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
    let ct = col("tstamp");
    let cj = col("judge");
    let cq = col("question_id");
    let ci = col("battle_id");
    let cv = col("vote_id");
    let cl = col("left_out");
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
    let (clang, ctag, ccode) = (plain("language"), plain("category_tag"), plain("is_code"));
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
        let field = |c: usize| {
            record
                .get(c)
                .and_then(|f| std::str::from_utf8(f).ok())
                .map(str::trim)
        };
        let owned = |c: Option<usize>| {
            c.and_then(field)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let utf8 = [Some(ca), Some(cb), Some(cw), ct, cj, cq, ci, cv, cl]
            .into_iter()
            .flatten()
            .all(|c| record.get(c).is_none_or(|f| std::str::from_utf8(f).is_ok()));
        if !utf8 {
            b.skips.add("a field is not valid UTF-8", number);
            continue;
        }
        let tstamp = match ct.and_then(field).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match t.parse::<f64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    b.skips.add("tstamp is not a number", number);
                    continue;
                }
            },
        };
        let battle_text = owned(ci);
        let extra = Extra {
            judge: owned(cj),
            battle_id: battle_text
                .as_deref()
                .and_then(|s| uuid::Uuid::parse_str(s).ok()),
            battle_text,
            vote_id: owned(cv),
            question_id: owned(cq),
            left_out: left_out_of(owned(cl)),
            style: {
                let flat: Vec<(&str, Option<f64>)> = counts
                    .iter()
                    .map(|&(f, c)| (f, c.and_then(field).and_then(|t| t.parse().ok())))
                    .collect();
                let tag = owned(ctag).map(Value::String);
                crate::transfer::style::style_of(&crate::transfer::style::StyleFields {
                    flat: &flat,
                    language: clang.and_then(field).filter(|l| !l.is_empty()),
                    category_tag: tag.as_ref(),
                    is_code: ccode.and_then(field).map(|t| t == "true" || t == "1"),
                    ..crate::transfer::style::StyleFields::default()
                })
            },
            ..Extra::default()
        }
        .with_keys(tstamp);
        b.push(number, field(ca), field(cb), field(cw), extra);
        if b.rows.len() >= CHUNK {
            let at = record.position().map_or(0, csv::Position::byte);
            sink(b.take(at))?;
        }
    }
    let end = record.position().map_or(0, csv::Position::byte);
    sink(b.take(end))
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
