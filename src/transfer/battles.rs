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

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::battle::{VoteFlags, Winner};
use crate::error::{Error, Result};
pub use crate::store::{Chunk, ImportRow};

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
    #[serde(borrow, default)]
    battle_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    vote_id: Option<Cow<'a, str>>,
    /// Ours: why the vote is left out of the ratings, a list of reasons (or one string).
    #[serde(default)]
    left_out: Option<Value>,
    #[serde(default)]
    conv_metadata: Option<Value>,
    #[serde(default)]
    category_tag: Option<Value>,
    #[serde(default)]
    language: Option<Value>,
    #[serde(default)]
    is_code: Option<Value>,
    #[serde(default)]
    sum_assistant_a_tokens: Option<Value>,
    #[serde(default)]
    header_count_a: Option<Value>,
    #[serde(default)]
    list_count_a: Option<Value>,
    #[serde(default)]
    bold_count_a: Option<Value>,
    #[serde(default)]
    sum_assistant_b_tokens: Option<Value>,
    #[serde(default)]
    header_count_b: Option<Value>,
    #[serde(default)]
    list_count_b: Option<Value>,
    #[serde(default)]
    bold_count_b: Option<Value>,
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
    /// A hash of the whole file: the identity of records that have no id.
    file: u128,
    mapping: Mapping,
    /// The latest vote time taken: a day after the import began. Later times are a clock's
    /// error, and would put every live vote before them (a replay of the online Elo each).
    latest_ms: i64,
}

/// How far ahead of the clock an imported vote may be (clocks disagree).
const FUTURE_MARGIN_MS: i64 = 86_400_000;

impl Builder {
    fn new(file: u128, mapping: Mapping) -> Self {
        Builder {
            index: HashMap::new(),
            names: Vec::new(),
            seen: Seen::default(),
            skips: Skips::default(),
            rows: Vec::with_capacity(CHUNK),
            file,
            mapping,
            latest_ms: crate::store::now_ms().saturating_add(FUTURE_MARGIN_MS),
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

    /// The key of a record and the rule that gave it (see the module documentation).
    fn key(&mut self, a: &str, b: &str, winner: Winner, extra: &Extra) -> (i64, Identity) {
        let as_key = |k: u64| i64::from_ne_bytes(k.to_ne_bytes());
        if let Some(id) = extra.vote_id.as_deref() {
            // Ours: a battle's id for a vote cast here, 16 hex digits for an imported one.
            if let Ok(uuid) = uuid::Uuid::parse_str(id) {
                return (as_key(battle_key(uuid.as_bytes())), Identity::BattleId);
            }
            if id.len() == 16
                && let Ok(k) = u64::from_str_radix(id, 16)
            {
                return (as_key(k), Identity::VoteId);
            }
            return (as_key(tagged(b"vote", id.as_bytes())), Identity::VoteId);
        }
        if let Some(id) = extra.battle_text.as_deref() {
            let k = match uuid::Uuid::parse_str(id) {
                Ok(uuid) => battle_key(uuid.as_bytes()),
                Err(_) => tagged(b"battle", id.as_bytes()),
            };
            return (as_key(k), Identity::BattleId);
        }
        let mut material = Vec::with_capacity(96);
        let identity = if extra.ids.is_empty() {
            material.extend_from_slice(&self.file.to_le_bytes());
            Identity::FilePosition
        } else {
            Identity::IdFields
        };
        for part in [a, b, winner.as_str()]
            .into_iter()
            .chain([&extra.ids].map(String::as_str))
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
        (as_key(k), identity)
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
        let mapped = self
            .mapping
            .winners
            .iter()
            .find(|(v, _)| v == winner.trim())
            .map(|(_, w)| *w);
        let Some(winner) = mapped.or_else(|| winner.parse::<Winner>().ok()) else {
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
        if extra.tstamp_ms.is_some_and(|t| t > self.latest_ms) {
            self.skips
                .add("tstamp is more than a day in the future", line);
            return;
        }
        let left_out = match extra.left_out {
            Ok(flags) => flags,
            Err(()) => {
                self.skips.add(
                    "left_out names an unknown reason (expected identity_leak, unequal_chat, \
                     named)",
                    line,
                );
                return;
            }
        };
        if a.chars().chain(b.chars()).any(char::is_control) {
            self.skips.add(
                "a model name holds a control character (a newline, a tab, an escape)",
                line,
            );
            return;
        }
        let (key, identity) = self.key(a, b, winner, &extra);
        *self.skips.identities.entry(identity).or_insert(0) += 1;
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
            question_id: extra.question_id,
            left_out,
            style: extra.style,
        });
    }

    /// One JSON record: a row, or a skip with its reason.
    fn push_json(&mut self, number: u64, text: &[u8]) {
        if std::str::from_utf8(text).is_err() {
            self.skips.add("the record is not valid UTF-8", number);
            return;
        }
        let renamed;
        let text = if self.mapping.is_identity() {
            text
        } else {
            match self.renamed_json(text) {
                Ok(r) => {
                    renamed = r;
                    renamed.as_slice()
                }
                Err(e) => {
                    self.skips.add(json_skip(&e), number);
                    return;
                }
            }
        };
        match serde_json::from_slice::<Raw<'_>>(text) {
            Ok(raw) if raw.model_a.is_none() && raw.model_b.is_none() => {
                // Records wrapped in another object, such as {"battles": [...]}?
                let wrapper = serde_json::from_slice::<serde_json::Map<String, Value>>(text)
                    .ok()
                    .and_then(|m| {
                        m.into_iter()
                            .find(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))
                            .map(|(k, _)| k)
                    });
                match wrapper {
                    Some(key) => self.skips.add(
                        &format!(
                            "an object holding a list under `{key}`, not a record: for JSON \
                             Lines of its records use jq -c '.{key}[]'"
                        ),
                        number,
                    ),
                    None => self.skips.add("missing model_a or model_b", number),
                }
            }
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

    /// A record whose fields go by other names, with our names.
    fn renamed_json(&self, text: &[u8]) -> serde_json::Result<Vec<u8>> {
        let mut object: serde_json::Map<String, Value> = serde_json::from_slice(text)?;
        let mut renamed = serde_json::Map::new();
        for field in FIELDS {
            if let Some(v) = object.remove(self.mapping.name(field)) {
                renamed.insert(field.to_owned(), v);
            }
        }
        for field in ["conversation_a", "conversation_b"]
            .into_iter()
            .chain(STYLE_FIELDS)
            .chain(super::style::COUNT_FIELDS)
        {
            if let Some(v) = object.remove(field) {
                renamed.insert(field.to_owned(), v);
            }
        }
        serde_json::to_vec(&Value::Object(renamed))
    }

    fn take(&mut self, bytes_read: u64) -> Chunk {
        Chunk {
            names: self.names.clone(),
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(CHUNK)),
            bytes_read,
        }
    }
}

struct Extra {
    tstamp_ms: Option<i64>,
    bad_tstamp: bool,
    judge: Option<String>,
    prompt: Option<String>,
    response_a: Option<String>,
    response_b: Option<String>,
    battle_id: Option<uuid::Uuid>,
    /// The `battle_id` as written, for the key.
    battle_text: Option<String>,
    vote_id: Option<String>,
    question_id: Option<String>,
    /// Why the vote is left out of the ratings; `Err` for a reason not known.
    left_out: Result<VoteFlags, ()>,
    /// For the record key: the id fields as text (empty when the record has none).
    ids: String,
    /// Style features and categories.
    style: crate::store::VoteStyle,
}

impl Default for Extra {
    fn default() -> Self {
        Extra {
            tstamp_ms: None,
            bad_tstamp: false,
            judge: None,
            prompt: None,
            response_a: None,
            response_b: None,
            battle_id: None,
            battle_text: None,
            vote_id: None,
            question_id: None,
            left_out: Ok(VoteFlags::NONE),
            ids: String::new(),
            style: crate::store::VoteStyle::default(),
        }
    }
}

/// Reasons for leaving a vote out, as our exports write them: a list of names, or one
/// string of names separated by commas, semicolons or spaces (a CSV cell).
fn left_out_of(names: impl IntoIterator<Item = impl AsRef<str>>) -> Result<VoteFlags, ()> {
    let mut flags = VoteFlags::NONE;
    for name in names {
        for part in name.as_ref().split([',', ';', ' ']) {
            if !part.trim().is_empty() {
                flags = flags.union(VoteFlags::parse(part).map_err(|_| ())?);
            }
        }
    }
    Ok(flags)
}

/// The key of a vote on the battle with this id.
fn battle_key(id: &[u8]) -> u64 {
    tagged(b"battle", id)
}

fn tagged(tag: &[u8], value: &[u8]) -> u64 {
    let mut material = Vec::with_capacity(tag.len() + 1 + value.len());
    material.extend_from_slice(tag);
    material.push(0);
    material.extend_from_slice(value);
    xxhash_rust::xxh3::xxh3_64(&material)
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
    /// Fills in the time and the id text of the key, from the fields already set.
    fn with_keys(mut self, tstamp: Option<f64>) -> Self {
        match tstamp_ms(tstamp) {
            Ok(ms) => self.tstamp_ms = ms,
            Err(()) => self.bad_tstamp = true,
        }
        let nonempty = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).is_some();
        if self.tstamp_ms.is_some() || nonempty(&self.judge) || nonempty(&self.question_id) {
            self.ids = format!(
                "{}\u{1f}{}\u{1f}{}",
                self.question_id.as_deref().unwrap_or(""),
                self.tstamp_ms.map(|t| t.to_string()).unwrap_or_default(),
                self.judge.as_deref().unwrap_or("")
            );
        }
        self.battle_text = self.battle_text.filter(|s| !s.trim().is_empty());
        self.vote_id = self.vote_id.filter(|s| !s.trim().is_empty());
        if self.battle_id.is_none() {
            // A vote cast here is exported with its battle's id as its vote_id.
            self.battle_id = self
                .vote_id
                .as_deref()
                .and_then(|s| uuid::Uuid::parse_str(s).ok());
        }
        self
    }

    fn of(raw: &Raw<'_>) -> Self {
        let text = |v: &Option<Value>| match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
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
            battle_text: raw.battle_id.as_deref().map(str::to_owned),
            vote_id: raw.vote_id.as_deref().map(str::to_owned),
            question_id: text(&raw.question_id),
            left_out: match &raw.left_out {
                None | Some(Value::Null) => Ok(VoteFlags::NONE),
                Some(Value::String(s)) => left_out_of([s]),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().ok_or(()))
                    .collect::<Result<Vec<_>, ()>>()
                    .and_then(left_out_of),
                Some(_) => Err(()),
            },
            style: style_of_raw(raw),
            ..Extra::default()
        }
        .with_keys(raw.tstamp)
    }
}

/// Fields of a record, besides the conversations and the counts, that say its categories.
const STYLE_FIELDS: [&str; 4] = ["conv_metadata", "category_tag", "language", "is_code"];

/// The style features and categories a JSON record brings.
fn style_of_raw(raw: &Raw<'_>) -> crate::store::VoteStyle {
    // Nested counts at the top level (a record flattened one level) count as metadata.
    let top = serde_json::json!({
        "sum_assistant_a_tokens": raw.sum_assistant_a_tokens,
        "header_count_a": raw.header_count_a,
        "list_count_a": raw.list_count_a,
        "bold_count_a": raw.bold_count_a,
        "sum_assistant_b_tokens": raw.sum_assistant_b_tokens,
        "header_count_b": raw.header_count_b,
        "list_count_b": raw.list_count_b,
        "bold_count_b": raw.bold_count_b,
    });
    let meta = raw
        .conv_metadata
        .as_ref()
        .filter(|m| super::style::features_of_metadata(m).is_some())
        .or_else(|| super::style::features_of_metadata(&top).map(|_| &top));
    super::style::style_of(&super::style::StyleFields {
        conversation_a: raw.conversation_a.as_ref(),
        conversation_b: raw.conversation_b.as_ref(),
        conv_metadata: meta,
        flat: &[],
        language: raw.language.as_ref().and_then(Value::as_str),
        category_tag: raw.category_tag.as_ref(),
        is_code: raw.is_code.as_ref().and_then(Value::as_bool),
    })
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

/// A hash of every byte of the file: the identity of records that have no id of their own.
fn file_hash(path: &Path) -> Result<u128> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(hasher.digest128());
        }
        hasher.update(&buf[..n]);
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
        InputFormat::Jsonl | InputFormat::Auto => read_jsonl(path, reader, &mut b, &mut sink)?,
        InputFormat::Json => read_json(path, reader, &mut b, &mut sink)?,
        InputFormat::Csv => read_csv(path, reader, &mut b, &mut sink)?,
    }
    Ok(b.skips)
}

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

fn too_long(b: &mut Builder, number: u64) {
    b.skips.add(
        &format!("the record is longer than {} MiB", MAX_RECORD_BYTES >> 20),
        number,
    );
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

/// Reads a JSON array element by element, never holding more than one record: each element
/// is delimited by scanning (strings and nesting tracked), then parsed on its own.
fn read_json(
    path: &Path,
    mut reader: impl BufRead,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut scan = ArrayScan::default();
    let mut record = Vec::new();
    let mut number = 0u64;
    let mut bytes = 0u64;
    let mut line = 1usize;
    let mut column = 0usize;
    let mut bom = true;
    let bad = |line: usize, column: usize, what: &str| Error::File {
        path: path.to_owned(),
        line,
        column,
        message: format!("expected a JSON array of battle records: {what}"),
    };
    loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        if buf.is_empty() {
            break;
        }
        let mut buf = buf;
        let len = buf.len();
        if bom {
            buf = buf.strip_prefix(BOM).unwrap_or(buf);
            bom = false;
        }
        for &c in buf {
            if c == b'\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
            match scan.step(c) {
                Step::Outside => {}
                Step::Byte => {
                    if record.len() < MAX_RECORD_BYTES {
                        record.push(c);
                    } else {
                        scan.cut = true;
                    }
                }
                Step::End => {
                    number += 1;
                    if record.len() < MAX_RECORD_BYTES {
                        record.push(c);
                    }
                    if std::mem::take(&mut scan.cut) {
                        too_long(b, number);
                    } else {
                        b.push_json(number, &record);
                    }
                    record.clear();
                    if b.rows.len() >= CHUNK {
                        sink(b.take(bytes))?;
                    }
                }
                Step::Error(what) => return Err(bad(line, column, what)),
            }
        }
        bytes += len as u64;
        reader.consume(len);
    }
    if !scan.closed {
        let what = if scan.opened {
            "the array is not closed: the file ends early"
        } else {
            "the file does not start with `[`"
        };
        return Err(bad(line, column.max(1), what));
    }
    sink(b.take(bytes))
}

/// Where a byte of a JSON array falls.
enum Step {
    /// Between elements: whitespace, `[`, `,` or `]`.
    Outside,
    /// Part of an element.
    Byte,
    /// The last byte of an element.
    End,
    Error(&'static str),
}

/// The state of [`read_json`]'s scan.
#[derive(Default)]
struct ArrayScan {
    opened: bool,
    closed: bool,
    /// Inside an element: the depth of its brackets, and whether it is a bare scalar.
    depth: usize,
    in_element: bool,
    scalar: bool,
    in_string: bool,
    escaped: bool,
    /// A comma is needed before the next element.
    after_element: bool,
    /// The element being read is over the size limit.
    cut: bool,
}

impl ArrayScan {
    fn step(&mut self, c: u8) -> Step {
        if self.closed {
            return if c.is_ascii_whitespace() {
                Step::Outside
            } else {
                Step::Error("text after the closing `]`")
            };
        }
        if !self.opened {
            return match c {
                b'[' => {
                    self.opened = true;
                    Step::Outside
                }
                c if c.is_ascii_whitespace() => Step::Outside,
                _ => Step::Error("the file does not start with `[`"),
            };
        }
        if self.in_element {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                    if self.scalar && self.depth == 0 {
                        return self.end();
                    }
                }
                return Step::Byte;
            }
            if self.scalar {
                // A bare number, true, false or null ends at a delimiter.
                if c == b',' || c == b']' || c.is_ascii_whitespace() {
                    self.in_element = false;
                    self.after_element = true;
                    return match c {
                        b']' => {
                            self.closed = true;
                            Step::End
                        }
                        b',' => {
                            self.after_element = false;
                            Step::End
                        }
                        _ => Step::End,
                    };
                }
                return Step::Byte;
            }
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return self.end();
                    }
                }
                _ => {}
            }
            return Step::Byte;
        }
        match c {
            c if c.is_ascii_whitespace() => Step::Outside,
            b']' => {
                self.closed = true;
                Step::Outside
            }
            b',' if self.after_element => {
                self.after_element = false;
                Step::Outside
            }
            b',' => Step::Error("a comma where a record should be"),
            _ if self.after_element => Step::Error("a missing comma between records"),
            b'{' | b'[' => {
                self.in_element = true;
                self.scalar = false;
                self.depth = 1;
                Step::Byte
            }
            b'"' => {
                self.in_element = true;
                self.scalar = true;
                self.in_string = true;
                self.depth = 0;
                Step::Byte
            }
            _ => {
                self.in_element = true;
                self.scalar = true;
                self.depth = 0;
                Step::Byte
            }
        }
    }

    fn end(&mut self) -> Step {
        self.in_element = false;
        self.after_element = true;
        Step::End
    }
}

fn read_csv(
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
    let counts: Vec<(&str, Option<usize>)> = super::style::COUNT_FIELDS
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
                super::style::style_of(&super::style::StyleFields {
                    flat: &flat,
                    language: clang.and_then(field).filter(|l| !l.is_empty()),
                    category_tag: tag.as_ref(),
                    is_code: ccode.and_then(field).map(|t| t == "true" || t == "1"),
                    ..super::style::StyleFields::default()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(name: &str, text: &str) -> (Vec<ImportRow>, Vec<String>, Skips) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut all = Vec::new();
        let mut names = Vec::new();
        let skips = read(&path, InputFormat::Auto, &Mapping::default(), |c| {
            all.extend(c.rows);
            names = c.names;
            Ok(())
        })
        .unwrap();
        (all, names, skips)
    }

    #[test]
    fn the_reasons_a_vote_is_left_out_are_read_from_json_and_csv() {
        let (r, _, skips) = rows(
            "a.jsonl",
            "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": [\"identity_leak\"]}\n\
             {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": \"identity_leak,unequal_chat\"}\n\
             {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": []}\n\
             {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n\
             {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": [\"bribed\"]}\n\
             {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": 3}\n",
        );
        let flags: Vec<VoteFlags> = r.iter().map(|r| r.left_out).collect();
        assert_eq!(
            flags,
            [
                VoteFlags::IDENTITY_LEAK,
                VoteFlags::IDENTITY_LEAK.union(VoteFlags::UNEQUAL_CHAT),
                VoteFlags::NONE,
                VoteFlags::NONE,
            ]
        );
        assert_eq!(skips.total(), 2, "{skips:?}");
        let (r, _, skips) = rows(
            "a.csv",
            "model_a,model_b,winner,left_out\nx,y,tie,\nx,y,tie,\"identity_leak,named\"\nx,y,tie,oops\n",
        );
        let flags: Vec<VoteFlags> = r.iter().map(|r| r.left_out).collect();
        assert_eq!(
            flags,
            [
                VoteFlags::NONE,
                VoteFlags::IDENTITY_LEAK.union(VoteFlags::NAMED)
            ]
        );
        assert_eq!(skips.total(), 1, "{skips:?}");
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
        let err = read(&path, InputFormat::Auto, &Mapping::default(), |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("needs the columns model_a, model_b and winner"),
            "{err}"
        );
    }

    #[test]
    fn keys_follow_identity_not_content() {
        // Records with an id field: the same vote whatever the layout.
        let jsonl = "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie (bothbad)\", \"tstamp\": 1700000000.25}\n";
        let pretty = "[\n  {\n    \"winner\": \"both_bad\",\n    \"tstamp\": 1700000000.25,\n    \"model_a\": \"x\",\n    \"model_b\": \"y\"\n  }\n]";
        let csv = "model_a,model_b,winner,tstamp\nx,y,both_bad,1700000000.25\n";
        let k = rows("a.jsonl", jsonl).0[0].key;
        assert_eq!(rows("b.json", pretty).0[0].key, k);
        assert_eq!(rows("c.csv", csv).0[0].key, k);
        // Fields that only differ in where one ends and the next begins are different votes.
        let one = rows("d.csv", "model_a,model_b,winner,judge\nab,c,model_a,j\n").0[0].key;
        let two = rows("e.csv", "model_a,model_b,winner,judge\na,bc,model_a,j\n").0[0].key;
        assert_ne!(one, two);
        // Without an id, a record is its file and place: the same file gives the same keys,
        // another file with the same row another vote.
        let plain = "model_a,model_b,winner\nx,y,model_a\n";
        let (first, _, skips) = rows("f.csv", plain);
        assert_eq!(first[0].key, rows("g.csv", plain).0[0].key);
        assert_ne!(
            first[0].key,
            rows("h.csv", "model_a,model_b,winner\nx,y,model_a\ny,x,tie\n").0[0].key
        );
        assert_eq!(skips.identities[&Identity::FilePosition], 1);
        // An exported vote_id is the key itself.
        let exported = "{\"vote_id\": \"00000000000000ff\", \"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n";
        assert_eq!(rows("i.jsonl", exported).0[0].key, 255);
    }

    #[test]
    fn columns_and_winner_values_map() {
        let mut m = Mapping::default();
        m.column("model_a=left").unwrap();
        m.column("model_b=right").unwrap();
        m.winner("left=model_a").unwrap();
        m.winner("right=model_b").unwrap();
        assert!(
            m.column("modle_a=x")
                .unwrap_err()
                .to_string()
                .contains("model_a")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.csv");
        std::fs::write(&path, "left,right,winner\nP,S,left\nB,P,right\nS,B,tie\n").unwrap();
        let mut all = Vec::new();
        read(&path, InputFormat::Auto, &m, |c| {
            all.extend(c.rows);
            Ok(())
        })
        .unwrap();
        let winners: Vec<Winner> = all.iter().map(|r| r.winner).collect();
        assert_eq!(winners, [Winner::ModelA, Winner::ModelB, Winner::Tie]);
        let json = dir.path().join("e.jsonl");
        std::fs::write(
            &json,
            "{\"left\": \"P\", \"right\": \"S\", \"winner\": \"right\"}\n",
        )
        .unwrap();
        let mut all = Vec::new();
        read(&json, InputFormat::Auto, &m, |c| {
            all.extend(c.rows);
            Ok(())
        })
        .unwrap();
        assert_eq!(all[0].winner, Winner::ModelB);
    }

    #[test]
    fn json_arrays_stream_record_by_record() {
        let text = "\u{feff}[ {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"s\": \"a ] } \\\" [\"},\n 5, \"str\", {\"model_a\": \"y\", \"model_b\": \"z\", \"winner\": \"model_a\", \"n\": [1, {\"k\": []}]} ]\n";
        let (rows, _, skips) = rows("s.json", text);
        assert_eq!(rows.len(), 2, "{skips:?}");
        assert_eq!(skips.total(), 2);
        let dir = tempfile::tempdir().unwrap();
        for (text, want) in [
            ("[{\"model_a\": \"x\"}", "not closed"),
            ("{}", "does not start"),
            ("[{} {}]", "missing comma"),
            ("[] x", "after the closing"),
        ] {
            let path = dir.path().join("bad.json");
            std::fs::write(&path, text).unwrap();
            let err = read(&path, InputFormat::Json, &Mapping::default(), |_| Ok(()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
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
