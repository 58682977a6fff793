//! Bulk import of battle logs: one transaction per chunk, and stored record keys that make a
//! second import of the same records add nothing.
//!
//! Speed: the keys of earlier imports are read once into a set in memory ([`KnownKeys`]);
//! inside each chunk's transaction, keys stored since by anyone else are read too, so the
//! check and the insert stay atomic. A chunk's new keys are stored as one blob, and votes go
//! in multi-row statements of [`BATCH`] rows: per vote, the database appends one table row.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Transaction, params, params_from_iter};

use super::battles::{model_id, user_id};
use super::style::CategoryIds;
use super::{SqliteStore, counts, db};
use crate::error::Result;
use crate::store::{Chunk, ImportCount, ImportRow, ImportSession, KnownKeys};

/// Rows per multi-row statement (11 parameters each; well under SQLite's limit of 32766).
const BATCH: usize = 500;

fn values_sql(head: &str, rows: usize, columns: usize, tail: &str) -> String {
    let one = format!("({})", vec!["?"; columns].join(","));
    format!("{head} VALUES {}{tail}", vec![one; rows].join(","))
}

/// Reads the chunks of keys stored after the last one `known` has seen.
fn catch_up(known: &mut KnownKeys, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    let mut stmt =
        conn.prepare_cached("SELECT id, keys FROM import_chunks WHERE id > ?1 ORDER BY id")?;
    let mut rows = stmt.query([known.last_chunk])?;
    while let Some(row) = rows.next()? {
        known.last_chunk = row.get(0)?;
        let blob = row.get_ref(1)?.as_blob()?;
        known.keys.reserve(blob.len() / 8);
        for bytes in blob.chunks_exact(8) {
            let mut k = [0u8; 8];
            k.copy_from_slice(bytes);
            known.keys.insert(i64::from_le_bytes(k));
        }
    }
    Ok(())
}

/// Votes waiting to be written, in order, with their categories.
struct VoteBuffer {
    values: Vec<Value>,
    categories: Vec<Vec<String>>,
    ids: CategoryIds,
}

/// One vote of a chunk, as stored.
struct NewVote<'r> {
    battle: Option<i64>,
    a: i64,
    b: i64,
    outcome: i64,
    user: Option<i64>,
    at: i64,
    row: &'r ImportRow,
}

impl VoteBuffer {
    const COLUMNS: usize = 11;

    fn push(&mut self, v: &NewVote<'_>) {
        self.values.extend([
            v.battle.map_or(Value::Null, Value::Integer),
            Value::Integer(v.a),
            Value::Integer(v.b),
            Value::Integer(v.outcome),
            v.user.map_or(Value::Null, Value::Integer),
            Value::Integer(v.at),
            Value::Integer(v.row.key),
            Value::Integer(i64::from(v.row.tstamp_ms.is_some())),
            v.row.question_id.clone().map_or(Value::Null, Value::Text),
            Value::Integer(v.row.left_out.bits()),
            v.row
                .style
                .features
                .as_ref()
                .map_or(Value::Null, |f| Value::Blob(super::style::blob(f))),
        ]);
        self.categories.push(v.row.style.categories.clone());
    }

    fn rows(&self) -> usize {
        self.values.len() / Self::COLUMNS
    }

    fn flush(&mut self, tx: &Transaction<'_>) -> rusqlite::Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        let sql = values_sql(
            "INSERT INTO votes (battle_id, model_a, model_b, outcome, user_id, created_at,
                                import_key, time_known, question_id, flags, style)",
            self.rows(),
            Self::COLUMNS,
            "",
        );
        tx.prepare_cached(&sql)?
            .execute(params_from_iter(self.values.drain(..)))?;
        // One writer inside one transaction: the rows just inserted took consecutive ids
        // ending at the last one.
        let last = tx.last_insert_rowid();
        let first = last - i64::try_from(self.categories.len()).unwrap_or(0) + 1;
        for (i, categories) in self.categories.drain(..).enumerate() {
            if !categories.is_empty() {
                let vote = first + i64::try_from(i).unwrap_or(0);
                self.ids.link(tx, vote, &categories)?;
            }
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Starts an import: reads the keys of everything imported so far.
    pub(super) async fn start_import(&self) -> Result<ImportSession> {
        self.read(|conn| {
            let mut known = KnownKeys::default();
            catch_up(&mut known, conn).map_err(db)?;
            Ok(ImportSession {
                known,
                ..ImportSession::default()
            })
        })
        .await
    }

    /// Stores a chunk of imported votes, leaving out records whose keys are known. A record
    /// that carries a conversation becomes a completed battle with its vote; one without is
    /// a vote alone. Judges are stored as salted hashes. Votes are written in file order,
    /// which is vote order.
    pub(super) async fn import_chunk(
        &self,
        chunk: Chunk,
        salt: String,
        mut session: ImportSession,
    ) -> Result<(ImportCount, ImportSession)> {
        self.write_now(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            catch_up(&mut session.known, &tx).map_err(db)?;
            let count = write_chunk(&tx, &chunk, &salt, &mut session, now).map_err(db)?;
            if count.imported > 0 && !session.dirty {
                counts::mark_stale(&tx).map_err(db)?;
                session.dirty = true;
            }
            tx.commit().map_err(db)?;
            Ok((count, session))
        })
        .await
    }

    /// Ends an import (whole or not): its votes join the running counts.
    pub(super) async fn finish_import(&self, session: ImportSession) -> Result<()> {
        if !session.dirty {
            return Ok(());
        }
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            counts::store_tally(session.tally, &tx).map_err(db)?;
            if let Some(at) = session.latest {
                counts::note_time(&tx, at).map_err(db)?;
            }
            // Imported votes may come anywhere in vote order: online Elo is replayed when next
            // needed.
            counts::invalidate_elo(&tx).map_err(db)?;
            counts::bump_version(&tx).map_err(db)?;
            counts::mark_current(&tx).map_err(db)?;
            let newest = super::style::newest_vote(&tx).map_err(db)?;
            super::packs::catch_up(&tx, newest, super::packs::Catch::All).map_err(db)?;
            tx.commit().map_err(db)
        })
        .await
    }
}

fn write_chunk(
    tx: &Transaction<'_>,
    chunk: &Chunk,
    salt: &str,
    session: &mut ImportSession,
    now: i64,
) -> rusqlite::Result<ImportCount> {
    let known = &mut session.known;
    let mut fresh: Vec<i64> = Vec::with_capacity(chunk.rows.len());
    let ids: Vec<i64> = chunk
        .names
        .iter()
        .map(|n| model_id(tx, n, now))
        .collect::<rusqlite::Result<_>>()?;
    let mut users: HashMap<&str, Option<i64>> = HashMap::new();
    let mut votes = VoteBuffer {
        values: Vec::with_capacity(BATCH * VoteBuffer::COLUMNS),
        categories: Vec::with_capacity(BATCH),
        ids: CategoryIds::default(),
    };
    let mut count = ImportCount::default();
    let mut sequence: u32 = 0;
    for row in &chunk.rows {
        // A vote exported from this database names its battle: it is here already.
        let here = match row.battle_id {
            None => false,
            Some(id) => tx
                .prepare_cached("SELECT 1 FROM battles WHERE uuid = ?1")?
                .exists([id.as_bytes().as_slice()])?,
        };
        if here || !known.keys.insert(row.key) {
            count.duplicates += 1;
            continue;
        }
        fresh.push(row.key);
        let (Some(&a), Some(&b)) = (ids.get(row.model_a as usize), ids.get(row.model_b as usize))
        else {
            continue;
        };
        let user = match row.judge.as_deref() {
            None => None,
            Some(judge) => match users.get(judge) {
                Some(u) => *u,
                None => {
                    let u = user_id(tx, Some(&crate::util::hash_user(salt, judge)), now)?;
                    users.insert(judge, u);
                    u
                }
            },
        };
        let at = row.tstamp_ms.unwrap_or(now);
        let battle = if has_content(row) {
            sequence = sequence.wrapping_add(1);
            Some(insert_battle(tx, row, a, b, user, at, sequence)?)
        } else {
            None
        };
        votes.push(&NewVote {
            battle,
            a,
            b,
            outcome: row.winner.code(),
            user,
            at,
            row,
        });
        // A vote left out stays out of the counts and of the order online Elo takes.
        if row.left_out.is_empty() {
            session.tally.add(a, b, row.winner, at);
            session.latest = session.latest.max(Some(at));
        }
        if votes.rows() == BATCH {
            votes.flush(tx)?;
        }
        count.imported += 1;
    }
    votes.flush(tx)?;
    if !fresh.is_empty() {
        fresh.sort_unstable();
        let blob: Vec<u8> = fresh.iter().flat_map(|k| k.to_le_bytes()).collect();
        tx.prepare_cached("INSERT INTO import_chunks (keys, created_at) VALUES (?1, ?2)")?
            .execute(params![blob, now])?;
        known.last_chunk = tx.last_insert_rowid();
    }
    Ok(count)
}

fn has_content(row: &ImportRow) -> bool {
    row.prompt.is_some() || row.response_a.is_some() || row.response_b.is_some()
}

/// A completed battle for a record with a conversation; returns its row id.
fn insert_battle(
    tx: &Transaction<'_>,
    row: &ImportRow,
    a: i64,
    b: i64,
    user: Option<i64>,
    at: i64,
    sequence: u32,
) -> rusqlite::Result<i64> {
    // Time first, then a sequence and the record's key: ids sort by time and stay unique
    // across imports.
    let mut bits = [0u8; 10];
    bits[..4].copy_from_slice(&sequence.to_be_bytes());
    bits[4..].copy_from_slice(&row.key.to_ne_bytes()[..6]);
    let millis = u64::try_from(at).unwrap_or(0);
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid();
    tx.prepare_cached(
        "INSERT INTO battles (uuid, user_id, origin, prompt, theme, model_a, model_b, status,
                              response_a, response_b, created_at, updated_at)
         VALUES (?1, ?2, 'import', ?3, 'general', ?4, ?5, 'completed', ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        uuid.as_bytes().as_slice(),
        user,
        row.prompt.as_deref().unwrap_or(""),
        a,
        b,
        row.response_a,
        row.response_b,
        at
    ])?;
    Ok(tx.last_insert_rowid())
}
