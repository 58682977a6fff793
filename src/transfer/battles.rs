//! Battle logs written elsewhere: the FastChat / LMArena `clean_battle` JSON array, JSON Lines
//! of the same records, and CSV with `model_a, model_b, winner` columns.
//!
//! Records are parsed into compact [`ImportRow`]s (model names interned) and handed out in
//! chunks, so a file of millions of votes streams into the store with bounded memory. Every
//! record gets a stable key, a hash of its bytes and of how many identical records came
//! before it in the file, so importing the same file twice adds nothing while two identical
//! votes in one file both count.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::battle::Winner;
use crate::error::{Error, Result};

/// How many records a chunk holds.
pub const CHUNK: usize = 50_000;

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Decide by extension, then by the first character.
    Auto,
    Json,
    Jsonl,
    Csv,
}

/// One imported vote.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// Stable across imports of the same file.
    pub key: i64,
    /// Indexes into [`Chunk::names`].
    pub model_a: u32,
    pub model_b: u32,
    pub winner: Winner,
    /// Unix milliseconds of the vote, when the record has a `tstamp`.
    pub tstamp_ms: Option<i64>,
    /// The voter (`judge`), to be stored as a salted hash.
    pub judge: Option<String>,
    pub prompt: Option<String>,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
}

/// A batch of rows and the model names they index into (all names seen so far).
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    pub names: Vec<String>,
    pub rows: Vec<ImportRow>,
    /// Input bytes consumed so far, for progress.
    pub bytes_read: u64,
}

/// Why records were left out, with the first line of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skips {
    /// reason -> (count, first line or record number)
    pub reasons: BTreeMap<String, (u64, u64)>,
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

#[derive(Debug, Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    model_a: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model_b: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    winner: Option<Cow<'a, str>>,
    #[serde(default)]
    tstamp: Option<f64>,
    #[serde(borrow, default)]
    judge: Option<Cow<'a, str>>,
    #[serde(default)]
    conversation_a: Option<Value>,
    #[serde(default)]
    conversation_b: Option<Value>,
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct PassThrough(u64);

impl std::hash::Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Seen = HashMap<u64, u32, std::hash::BuildHasherDefault<PassThrough>>;

/// Interns model names and turns records into rows.
struct Builder {
    index: HashMap<String, u32>,
    names: Vec<String>,
    /// How often each record hash was seen, for the keys of identical records.
    seen: Seen,
    skips: Skips,
    rows: Vec<ImportRow>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            index: HashMap::new(),
            names: Vec::new(),
            seen: Seen::default(),
            skips: Skips::default(),
            rows: Vec::with_capacity(CHUNK),
        }
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    /// The key of a record: its hash, and how many identical records came before it.
    fn key(&mut self, bytes: &[u8]) -> i64 {
        let h = xxhash_rust::xxh3::xxh3_64(bytes);
        let n = self.seen.entry(h).or_insert(0);
        *n += 1;
        let k = if *n == 1 {
            h
        } else {
            xxhash_rust::xxh3::xxh3_64_with_seed(bytes, u64::from(*n))
        };
        i64::from_ne_bytes(k.to_ne_bytes())
    }

    fn push(
        &mut self,
        line: u64,
        bytes: &[u8],
        model_a: Option<&str>,
        model_b: Option<&str>,
        winner: Option<&str>,
        extra: Extra,
    ) {
        let (Some(a), Some(b)) = (model_a, model_b) else {
            self.skips.add("missing model_a or model_b", line);
            return;
        };
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() || b.is_empty() {
            self.skips.add("empty model name", line);
            return;
        }
        if a == b {
            self.skips
                .add("model_a and model_b are the same model", line);
            return;
        }
        let Some(winner) = winner else {
            self.skips.add("missing winner", line);
            return;
        };
        let Ok(winner) = winner.parse::<Winner>() else {
            self.skips.add(
                "winner not one of model_a, model_b, tie, tie (bothbad), both_bad",
                line,
            );
            return;
        };
        let key = self.key(bytes);
        let (ia, ib) = (self.intern(a), self.intern(b));
        self.rows.push(ImportRow {
            key,
            model_a: ia,
            model_b: ib,
            winner,
            tstamp_ms: extra.tstamp_ms,
            judge: extra.judge,
            prompt: extra.prompt,
            response_a: extra.response_a,
            response_b: extra.response_b,
        });
    }

    fn take(&mut self, bytes_read: u64) -> Chunk {
        Chunk {
            names: self.names.clone(),
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(CHUNK)),
            bytes_read,
        }
    }
}

#[derive(Default)]
struct Extra {
    tstamp_ms: Option<i64>,
    judge: Option<String>,
    prompt: Option<String>,
    response_a: Option<String>,
    response_b: Option<String>,
}

impl Extra {
    fn of(raw: &Raw<'_>) -> Self {
        #[allow(clippy::cast_possible_truncation)]
        let tstamp_ms = raw
            .tstamp
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(|t| (t * 1000.0).round() as i64);
        let turn = |conv: &Option<Value>, role: &str, first: bool| -> Option<String> {
            let turns = conv.as_ref()?.as_array()?;
            let mut it = turns
                .iter()
                .filter(|t| t.get("role").and_then(Value::as_str) == Some(role))
                .filter_map(|t| t.get("content").and_then(Value::as_str));
            let found = if first { it.next() } else { it.next_back() };
            found.map(str::to_owned)
        };
        Extra {
            tstamp_ms,
            judge: raw.judge.as_deref().map(str::to_owned),
            prompt: turn(&raw.conversation_a, "user", true),
            response_a: turn(&raw.conversation_a, "assistant", false),
            response_b: turn(&raw.conversation_b, "assistant", false),
        }
    }
}

/// Guesses the format from the extension, then from the first non-blank byte.
pub fn detect(path: &Path, head: &[u8]) -> InputFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => return InputFormat::Csv,
        Some("jsonl" | "ndjson") => return InputFormat::Jsonl,
        _ => {}
    }
    match head.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => InputFormat::Json,
        Some(b'{') => InputFormat::Jsonl,
        _ => InputFormat::Csv,
    }
}

/// Reads `path` and hands its rows to `sink` in chunks; returns the skips.
pub fn read(
    path: &Path,
    format: InputFormat,
    mut sink: impl FnMut(Chunk) -> Result<()>,
) -> Result<Skips> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let format = match format {
        InputFormat::Auto => {
            let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
            detect(path, head)
        }
        f => f,
    };
    let mut b = Builder::new();
    match format {
        InputFormat::Jsonl | InputFormat::Auto => read_jsonl(path, reader, &mut b, &mut sink)?,
        InputFormat::Json => read_json(path, reader, &mut b, &mut sink)?,
        InputFormat::Csv => read_csv(path, reader, &mut b, &mut sink)?,
    }
    Ok(b.skips)
}

fn read_jsonl(
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
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        number += 1;
        bytes += n as u64;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Raw<'_>>(text) {
            Ok(raw) => {
                let extra = Extra::of(&raw);
                b.push(
                    number,
                    text,
                    raw.model_a.as_deref(),
                    raw.model_b.as_deref(),
                    raw.winner.as_deref(),
                    extra,
                );
            }
            Err(_) => b.skips.add("not a JSON object", number),
        }
        if b.rows.len() >= CHUNK {
            sink(b.take(bytes))?;
        }
    }
    sink(b.take(bytes))
}

fn read_json(
    path: &Path,
    mut reader: impl Read,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .map_err(|e| Error::io(path, e))?;
    let records: Vec<&serde_json::value::RawValue> =
        serde_json::from_slice(&text).map_err(|e| Error::File {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: format!("expected a JSON array of battle records: {e}"),
        })?;
    let total = text.len() as u64;
    let count = records.len().max(1) as u64;
    for (i, record) in records.iter().enumerate() {
        let number = i as u64 + 1;
        match serde_json::from_str::<Raw<'_>>(record.get()) {
            Ok(raw) => {
                let extra = Extra::of(&raw);
                b.push(
                    number,
                    record.get().as_bytes(),
                    raw.model_a.as_deref(),
                    raw.model_b.as_deref(),
                    raw.winner.as_deref(),
                    extra,
                );
            }
            Err(_) => b.skips.add("not a JSON object", number),
        }
        if b.rows.len() >= CHUNK {
            sink(b.take(total * number / count))?;
        }
    }
    sink(b.take(total))
}

fn read_csv(
    path: &Path,
    reader: impl Read,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut csv = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let headers = csv.byte_headers().map_err(|e| csv_error(path, &e))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_ascii() == name.as_bytes())
    };
    let (Some(ca), Some(cb), Some(cw)) = (col("model_a"), col("model_b"), col("winner")) else {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "a CSV battle log needs the columns model_a, model_b and winner in its \
                      header line"
                .into(),
        });
    };
    let ct = col("tstamp");
    let cj = col("judge");
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let number = record.position().map_or(0, csv::Position::line);
        let field = |c: usize| record.get(c).and_then(|f| std::str::from_utf8(f).ok());
        #[allow(clippy::cast_possible_truncation)]
        let extra = Extra {
            tstamp_ms: ct
                .and_then(field)
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|t| t.is_finite() && *t > 0.0)
                .map(|t| (t * 1000.0).round() as i64),
            judge: cj.and_then(field).map(str::to_owned),
            ..Extra::default()
        };
        let bytes = record.as_slice().to_vec();
        b.push(number, &bytes, field(ca), field(cb), field(cw), extra);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(name: &str, text: &str) -> (Vec<ImportRow>, Vec<String>, Skips) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut all = Vec::new();
        let mut names = Vec::new();
        let skips = read(&path, InputFormat::Auto, |c| {
            all.extend(c.rows);
            names = c.names;
            Ok(())
        })
        .unwrap();
        (all, names, skips)
    }

    #[test]
    fn jsonl_with_skips_and_duplicates() {
        let text = r#"{"model_a": "x", "model_b": "y", "winner": "model_a"}
{"model_a": "x", "model_b": "y", "winner": "model_a"}
{"model_a": "x", "model_b": "x", "winner": "tie"}
{"model_a": "x", "model_b": "y", "winner": "nobody"}
not json
{"model_a": "y", "model_b": "z", "winner": "tie (bothbad)", "tstamp": 1700000000.5}
"#;
        let (rows, names, skips) = rows("log.jsonl", text);
        assert_eq!(rows.len(), 3);
        assert_ne!(
            rows[0].key, rows[1].key,
            "identical records are distinct votes"
        );
        assert_eq!(names, vec!["x", "y", "z"]);
        assert_eq!(rows[2].winner, Winner::BothBad);
        assert_eq!(rows[2].tstamp_ms, Some(1_700_000_000_500));
        assert_eq!(skips.total(), 3);
        assert_eq!(skips.reasons["not a JSON object"], (1, 5));
    }

    #[test]
    fn keys_are_stable_across_reads() {
        let text = "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n";
        assert_eq!(
            rows("a.jsonl", text).0[0].key,
            rows("b.jsonl", text).0[0].key
        );
    }

    #[test]
    fn json_array_keeps_conversations() {
        let text = r#"[{"model_a": "x", "model_b": "y", "winner": "model_b", "judge": "u1",
          "conversation_a": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A1"}],
          "conversation_b": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "B1"}]}]"#;
        let (rows, _, _) = rows("log.json", text);
        assert_eq!(rows[0].prompt.as_deref(), Some("Q"));
        assert_eq!(rows[0].response_b.as_deref(), Some("B1"));
        assert_eq!(rows[0].judge.as_deref(), Some("u1"));
    }

    #[test]
    fn csv_needs_its_columns() {
        let (rows, _, _) = rows(
            "log.csv",
            "model_a,model_b,winner,extra\nx,y,tie,1\ny,x,both_bad,2\n",
        );
        assert_eq!(rows.len(), 2);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.csv");
        std::fs::write(&path, "left,right,winner\nx,y,left\n").unwrap();
        let err = read(&path, InputFormat::Auto, |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("needs the columns model_a, model_b and winner"),
            "{err}"
        );
    }
}
