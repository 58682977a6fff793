//! The JSON Lines reader: one record a line, each line capped at the record limit.
//!
//! Depends on [`super::record`] (a JSON record) and [`super::rows`]; not on the other readers.

use std::io::BufRead;
use std::path::Path;

use super::rows::{Builder, too_long};
use super::{BOM, CHUNK, Chunk, MAX_RECORD_BYTES};
use crate::error::{Error, Result};

/// Reads up to and including the next `\n` into `line`, keeping at most
/// [`MAX_RECORD_BYTES`]; returns the bytes consumed and whether the line was cut.
fn read_line(reader: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<(u64, bool)> {
    let mut consumed = 0u64;
    let mut cut = false;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok((consumed, cut));
        }
        let (take, done) = match buf.iter().position(|&c| c == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        let room = MAX_RECORD_BYTES.saturating_sub(line.len());
        if take > room {
            cut = true;
        }
        line.extend_from_slice(&buf[..take.min(room)]);
        reader.consume(take);
        consumed += take as u64;
        if done {
            return Ok((consumed, cut));
        }
    }
}

pub(super) fn read_jsonl(
    path: &Path,
    mut reader: impl BufRead,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut bytes = 0u64;
    loop {
        line.clear();
        let (n, cut) = read_line(&mut reader, &mut line).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        bytes += n;
        if cut {
            too_long(b, number);
            continue;
        }
        let text = line.trim_ascii();
        let text = text.strip_prefix(BOM).unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        if number == 1 && text == b"{" {
            return Err(Error::File {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: "one JSON object spread over many lines: a battle log is a JSON array \
                          of records, or JSON Lines with one record per line (jq -c '.[]' or \
                          jq -c '.battles[]' turns a wrapped log into JSON Lines)"
                    .into(),
            });
        }
        b.push_json(number, text);
        if b.rows.len() >= CHUNK {
            sink(b.take(bytes))?;
        }
    }
    sink(b.take(bytes))
}
