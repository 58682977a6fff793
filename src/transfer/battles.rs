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
    /// The battle this vote was exported from, when the record names one.
    pub battle_id: Option<uuid::Uuid>,
}

/// A batch of rows and the model names they index into (all names seen so far).
#[derive(Debug, Clone, Default)]
pub struct Chunk {
    pub names: Vec<String>,
    pub rows: Vec<ImportRow>,
    /// Input bytes consumed so far, for progress.
    pub bytes_read: u64,
}

/// Why records were left out, with the first place of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Skips {
    /// reason -> (count, first line, or first record of a JSON array)
    pub reasons: BTreeMap<String, (u64, u64)>,
    /// What the numbers count: `line`, or `record` in a JSON array.
    pub unit: &'static str,
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
    #[serde(default)]
    question_id: Option<Value>,
    #[serde(default)]
    num: Option<Value>,
    #[serde(borrow, default)]
    battle_id: Option<Cow<'a, str>>,
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

    /// The key of a record: a hash of what it says (models, outcome, time, judge and the
    /// ids a log carries), not of how it is written, so the same records in JSON, JSON
    /// Lines or CSV, compact or pretty, get the same keys; and how many identical records
    /// came before it, so repeated votes in one file all count.
    fn key(&mut self, a: &str, b: &str, winner: Winner, extra: &Extra) -> i64 {
        let mut material = Vec::with_capacity(96);
        for part in [a, b, winner.as_str()]
            .into_iter()
            .chain([&extra.tstamp_text, &extra.judge_text, &extra.ids].map(String::as_str))
        {
            // Length-prefixed, so no two different records share their material.
            material.extend_from_slice(&(part.len() as u64).to_le_bytes());
            material.extend_from_slice(part.as_bytes());
        }
        let bytes = material.as_slice();
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
        if extra.bad_tstamp {
            self.skips.add(
                "tstamp is not a Unix time in seconds between 1970 and 5000",
                line,
            );
            return;
        }
        let key = self.key(a, b, winner, &extra);
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
            battle_id: extra.battle_id,
        });
    }

    /// One JSON record: a row, or a skip with its reason.
    fn push_json(&mut self, number: u64, text: &[u8]) {
        match serde_json::from_slice::<Raw<'_>>(text) {
            Ok(raw) => {
                let extra = Extra::of(&raw);
                self.push(
                    number,
                    raw.model_a.as_deref(),
                    raw.model_b.as_deref(),
                    raw.winner.as_deref(),
                    extra,
                );
            }
            Err(e) => self.skips.add(json_skip(&e), number),
        }
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
    bad_tstamp: bool,
    judge: Option<String>,
    prompt: Option<String>,
    response_a: Option<String>,
    response_b: Option<String>,
    battle_id: Option<uuid::Uuid>,
    /// For the record key: the time, the judge and the ids, as text.
    tstamp_text: String,
    judge_text: String,
    ids: String,
}

/// Seconds since 1970 up to the year 5000: anything else is not a vote time (milliseconds
/// given as seconds land beyond it).
const LATEST_TSTAMP: f64 = 95_617_584_000.0;

/// A `tstamp` in seconds as Unix milliseconds; `Err` when it cannot be a vote time.
fn tstamp_ms(t: Option<f64>) -> Result<Option<i64>, ()> {
    match t {
        None => Ok(None),
        #[allow(clippy::cast_possible_truncation)]
        Some(t) if t.is_finite() && (0.0..=LATEST_TSTAMP).contains(&t) => {
            Ok(Some((t * 1000.0).round() as i64))
        }
        Some(_) => Err(()),
    }
}

impl Extra {
    fn with_keys(mut self, tstamp: Option<f64>, ids: String) -> Self {
        match tstamp_ms(tstamp) {
            Ok(ms) => self.tstamp_ms = ms,
            Err(()) => self.bad_tstamp = true,
        }
        self.tstamp_text = self.tstamp_ms.map(|t| t.to_string()).unwrap_or_default();
        self.judge_text = self.judge.clone().unwrap_or_default();
        self.ids = ids;
        self
    }

    fn of(raw: &Raw<'_>) -> Self {
        let text = |v: &Option<Value>| match v {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        let ids = format!(
            "{}\u{1f}{}\u{1f}{}",
            text(&raw.question_id),
            text(&raw.num),
            raw.battle_id.as_deref().unwrap_or("")
        );
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
            judge: raw.judge.as_deref().map(str::to_owned),
            prompt: turn(&raw.conversation_a, "user", true),
            response_a: turn(&raw.conversation_a, "assistant", false),
            response_b: turn(&raw.conversation_b, "assistant", false),
            battle_id: raw
                .battle_id
                .as_deref()
                .and_then(|s| uuid::Uuid::parse_str(s).ok()),
            ..Extra::default()
        }
        .with_keys(raw.tstamp, ids)
    }
}

/// The skip reason for a record serde could not read: broken JSON, or a field of the
/// wrong type.
fn json_skip(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => {
            "a field has the wrong type (model_a, model_b, winner and judge are strings; tstamp a number)"
        }
        _ => "not a JSON object",
    }
}

/// The byte order mark some editors put at the start of a UTF-8 file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Guesses the format from the extension, then from the first non-blank byte.
pub fn detect(path: &Path, head: &[u8]) -> InputFormat {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => return InputFormat::Csv,
        Some("jsonl" | "ndjson") => return InputFormat::Jsonl,
        _ => {}
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
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
    b.skips.unit = if format == InputFormat::Json {
        "record"
    } else {
        "line"
    };
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
        let text = text.strip_prefix(BOM).unwrap_or(text);
        if text.is_empty() {
            continue;
        }
        b.push_json(number, text);
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
    let body = text.strip_prefix(BOM).unwrap_or(&text);
    let records: Vec<&serde_json::value::RawValue> =
        serde_json::from_slice(body).map_err(|e| Error::File {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: format!("expected a JSON array of battle records: {e}"),
        })?;
    let total = text.len() as u64;
    let count = records.len().max(1) as u64;
    for (i, record) in records.iter().enumerate() {
        let number = i as u64 + 1;
        b.push_json(number, record.get().as_bytes());
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
    let cq = col("question_id");
    let cn = col("num");
    let ci = col("battle_id");
    let mut record = csv::ByteRecord::new();
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, &e)),
        }
        let number = record.position().map_or(0, csv::Position::line);
        let field = |c: usize| record.get(c).and_then(|f| std::str::from_utf8(f).ok());
        let utf8 = [Some(ca), Some(cb), Some(cw), ct, cj, cq, cn, ci]
            .into_iter()
            .flatten()
            .all(|c| record.get(c).is_none_or(|f| std::str::from_utf8(f).is_ok()));
        if !utf8 {
            b.skips.add("a field is not valid UTF-8", number);
            continue;
        }
        let tstamp = match ct.and_then(field).map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => match t.parse::<f64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    b.skips.add("tstamp is not a number", number);
                    continue;
                }
            },
        };
        let ids = format!(
            "{}\u{1f}{}\u{1f}{}",
            cq.and_then(field).unwrap_or(""),
            cn.and_then(field).unwrap_or(""),
            ci.and_then(field).unwrap_or("")
        );
        let extra = Extra {
            judge: cj.and_then(field).map(str::to_owned),
            battle_id: ci
                .and_then(field)
                .and_then(|s| uuid::Uuid::parse_str(s).ok()),
            ..Extra::default()
        }
        .with_keys(tstamp, ids);
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

    #[test]
    fn keys_follow_content_not_layout() {
        let jsonl = "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie (bothbad)\"}\n";
        let pretty = "[\n  {\n    \"winner\": \"both_bad\",\n    \"model_a\": \"x\",\n    \"model_b\": \"y\"\n  }\n]";
        let csv = "model_a,model_b,winner\nx,y,both_bad\n";
        let k = rows("a.jsonl", jsonl).0[0].key;
        assert_eq!(rows("b.json", pretty).0[0].key, k);
        assert_eq!(rows("c.csv", csv).0[0].key, k);
        // Fields that only differ in where one ends and the next begins are different votes.
        let one = rows("d.csv", "model_a,model_b,winner\nab,c,model_a\n").0[0].key;
        let two = rows("e.csv", "model_a,model_b,winner\na,bc,model_a\n").0[0].key;
        assert_ne!(one, two);
    }

    #[test]
    fn skip_reasons_name_the_problem() {
        let text = "\u{feff}{\"model_a\": \"x\", \"model_b\": 5, \"winner\": \"tie\"}\n\
                    {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"tstamp\": 1700000000000}\n\
                    {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n";
        let (rows, _, skips) = rows("bom.log", text);
        assert_eq!(rows.len(), 1);
        assert_eq!(skips.unit, "line");
        assert!(
            skips
                .reasons
                .keys()
                .any(|r| r.starts_with("a field has the wrong type")),
            "{skips:?}"
        );
        assert!(
            skips
                .reasons
                .keys()
                .any(|r| r.starts_with("tstamp is not a Unix time")),
            "{skips:?}"
        );
        assert_eq!(
            detect(Path::new("x"), b"\xEF\xBB\xBF[{}]"),
            InputFormat::Json
        );
    }
}
