//! What the readers share: a record's fields checked, keyed by its identity (see the parent
//! module), its model names interned, and the rows handed out in chunks.
//!
//! Depends on `battle` (outcomes, flags), `store` (the row types, the clock) and the parent's
//! types; not on any reader.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::{CHUNK, Chunk, Identity, ImportRow, MAX_RECORD_BYTES, Mapping, Skips};
use crate::battle::{VoteFlags, Winner};
use crate::error::{Error, Result};

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
pub(super) struct Builder {
    index: HashMap<String, u32>,
    names: Vec<String>,
    /// How often each record hash was seen, for the keys of identical records.
    seen: Seen,
    pub(super) skips: Skips,
    pub(super) rows: Vec<ImportRow>,
    /// A hash of the whole file: the identity of records that have no id.
    file: u128,
    pub(super) mapping: Mapping,
    /// The latest vote time taken: a day after the import began. Later times are a clock's
    /// error, and would put every live vote before them (a replay of the online Elo each).
    latest_ms: i64,
}

/// How far ahead of the clock an imported vote may be (clocks disagree).
const FUTURE_MARGIN_MS: i64 = 86_400_000;

impl Builder {
    pub(super) fn new(file: u128, mapping: Mapping) -> Self {
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

    pub(super) fn push(
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

    pub(super) fn take(&mut self, bytes_read: u64) -> Chunk {
        Chunk {
            names: self.names.clone(),
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(CHUNK)),
            bytes_read,
        }
    }
}

/// A record's fields besides its models and winner, as a reader found them.
pub(super) struct Extra {
    pub(super) tstamp_ms: Option<i64>,
    pub(super) bad_tstamp: bool,
    pub(super) judge: Option<String>,
    pub(super) prompt: Option<String>,
    pub(super) response_a: Option<String>,
    pub(super) response_b: Option<String>,
    pub(super) battle_id: Option<uuid::Uuid>,
    /// The `battle_id` as written, for the key.
    pub(super) battle_text: Option<String>,
    pub(super) vote_id: Option<String>,
    pub(super) question_id: Option<String>,
    /// Why the vote is left out of the ratings; `Err` for a reason not known.
    pub(super) left_out: Result<VoteFlags, ()>,
    /// For the record key: the id fields as text (empty when the record has none).
    pub(super) ids: String,
    /// Style features and categories.
    pub(super) style: crate::store::VoteStyle,
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
pub(super) fn left_out_of(
    names: impl IntoIterator<Item = impl AsRef<str>>,
) -> Result<VoteFlags, ()> {
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
    pub(super) fn with_keys(mut self, tstamp: Option<f64>) -> Self {
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
}

pub(super) fn too_long(b: &mut Builder, number: u64) {
    b.skips.add(
        &format!("the record is longer than {} MiB", MAX_RECORD_BYTES >> 20),
        number,
    );
}

/// A hash of every byte of the file: the identity of records that have no id of their own.
pub(super) fn file_hash(path: &Path) -> Result<u128> {
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
