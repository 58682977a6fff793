//! Bulk import of battle logs: one transaction per chunk, under an advisory lock so that the
//! check of the known record keys and the insert stay atomic across instances; a chunk's new
//! keys are stored as one `bytea`, votes go in multi-row statements.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::battles::{model_id_at, user_id_at};
use super::style::{CategoryIds, blob};
use super::{PgStore, col, counts, locks, pg};
use crate::error::Result;
use crate::store::{Chunk, ImportCount, ImportRow, ImportSession, KnownKeys};

/// Rows per multi-row statement (11 parameters each; PostgreSQL takes 65535).
const BATCH: usize = 500;

/// Reads the chunks of keys stored after the last one `known` has seen.
async fn catch_up(known: &mut KnownKeys, conn: &impl GenericClient) -> Result<()> {
    let rows = conn
        .query(
            "SELECT id, keys FROM import_chunks WHERE id > $1 ORDER BY id",
            &[&known.last_chunk],
        )
        .await
        .map_err(pg)?;
    for row in &rows {
        known.last_chunk = col(row, 0)?;
        let blob: &[u8] = col(row, 1)?;
        known.keys.reserve(blob.len() / 8);
        for bytes in blob.chunks_exact(8) {
            let mut k = [0u8; 8];
            k.copy_from_slice(bytes);
            known.keys.insert(i64::from_le_bytes(k));
        }
    }
    Ok(())
}

type Param = Box<dyn ToSql + Sync + Send>;

/// Votes waiting to be written, in order, with their categories.
#[derive(Default)]
struct VoteBuffer {
    values: Vec<Param>,
    categories: Vec<Vec<String>>,
    ids: CategoryIds,
}

impl VoteBuffer {
    const COLUMNS: usize = 11;

    fn rows(&self) -> usize {
        self.values.len() / Self::COLUMNS
    }

    async fn flush(&mut self, tx: &impl GenericClient) -> Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = (0..self.rows())
            .map(|r| {
                let one: Vec<String> = (1..=Self::COLUMNS)
                    .map(|c| format!("${}", r * Self::COLUMNS + c))
                    .collect();
                format!("({})", one.join(","))
            })
            .collect();
        let sql = format!(
            "INSERT INTO votes (battle_id, model_a, model_b, outcome, user_id, created_at,
                                import_key, time_known, question_id, flags, style)
             VALUES {} RETURNING id",
            rows.join(",")
        );
        let params: Vec<&(dyn ToSql + Sync)> = self
            .values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let ids = tx.query(&sql, &params).await.map_err(pg)?;
        self.values.clear();
        // The ids come back in the order of the rows of VALUES.
        for (row, categories) in ids.iter().zip(std::mem::take(&mut self.categories)) {
            if !categories.is_empty() {
                self.ids.link(tx, col(row, 0)?, &categories).await?;
            }
        }
        Ok(())
    }
}

impl PgStore {
    pub(super) async fn start_import(&self) -> Result<ImportSession> {
        let client = self.client().await?;
        let mut known = KnownKeys::default();
        catch_up(&mut known, &client).await?;
        Ok(ImportSession {
            known,
            ..ImportSession::default()
        })
    }

    pub(super) async fn import_chunk(
        &self,
        chunk: Chunk,
        salt: String,
        mut session: ImportSession,
    ) -> Result<(ImportCount, ImportSession)> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::IMPORT])
            .await
            .map_err(pg)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1)",
            &[&locks::VOTE_IDS],
        )
        .await
        .map_err(pg)?;
        catch_up(&mut session.known, &tx).await?;
        let now = (self.clock)();
        let count = write_chunk(&tx, &chunk, &salt, &mut session, now).await?;
        if count.imported > 0 && !session.dirty {
            counts::mark_stale(&tx).await?;
            session.dirty = true;
        }
        tx.commit().await.map_err(pg)?;
        Ok((count, session))
    }

    pub(super) async fn finish_import(&self, session: ImportSession) -> Result<()> {
        if !session.dirty {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        counts::store_tally(session.tally, &tx).await?;
        counts::invalidate_elo(&tx).await?;
        counts::bump_version(&tx).await?;
        counts::mark_current(&tx).await?;
        tx.commit().await.map_err(pg)
    }
}

async fn write_chunk(
    tx: &impl GenericClient,
    chunk: &Chunk,
    salt: &str,
    session: &mut ImportSession,
    now: i64,
) -> Result<ImportCount> {
    let known = &mut session.known;
    let mut fresh: Vec<i64> = Vec::with_capacity(chunk.rows.len());
    let mut ids = Vec::with_capacity(chunk.names.len());
    for n in &chunk.names {
        ids.push(model_id_at(tx, n, now).await?);
    }
    let mut users: HashMap<&str, Option<i64>> = HashMap::new();
    let mut votes = VoteBuffer::default();
    let mut count = ImportCount::default();
    let mut sequence: u32 = 0;
    for row in &chunk.rows {
        // A vote exported from this database names its battle: it is here already.
        let here = match row.battle_id {
            None => false,
            Some(id) => tx
                .query_opt(
                    "SELECT 1 FROM battles WHERE uuid = $1",
                    &[&id.as_bytes().as_slice()],
                )
                .await
                .map_err(pg)?
                .is_some(),
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
                    let u = user_id_at(tx, Some(&crate::util::hash_user(salt, judge)), now).await?;
                    users.insert(judge, u);
                    u
                }
            },
        };
        let at = row.tstamp_ms.unwrap_or(now);
        let battle = if has_content(row) {
            sequence = sequence.wrapping_add(1);
            Some(insert_battle(tx, row, a, b, user, at, sequence).await?)
        } else {
            None
        };
        votes.values.extend([
            Box::new(battle) as Param,
            Box::new(a),
            Box::new(b),
            Box::new(row.winner.code()),
            Box::new(user),
            Box::new(at),
            Box::new(row.key),
            Box::new(row.tstamp_ms.is_some()),
            Box::new(row.question_id.clone()),
            Box::new(row.left_out.bits()),
            Box::new(row.style.features.as_ref().map(blob)),
        ]);
        votes.categories.push(row.style.categories.clone());
        if row.left_out.is_empty() {
            session.tally.add(a, b, row.winner, at);
            session.latest = session.latest.max(Some(at));
        }
        if votes.rows() == BATCH {
            votes.flush(tx).await?;
        }
        count.imported += 1;
    }
    votes.flush(tx).await?;
    if !fresh.is_empty() {
        fresh.sort_unstable();
        let keys: Vec<u8> = fresh.iter().flat_map(|k| k.to_le_bytes()).collect();
        let row = tx
            .query_one(
                "INSERT INTO import_chunks (keys, created_at) VALUES ($1, $2) RETURNING id",
                &[&keys, &now],
            )
            .await
            .map_err(pg)?;
        known.last_chunk = col(&row, 0)?;
    }
    Ok(count)
}

fn has_content(row: &ImportRow) -> bool {
    row.prompt.is_some() || row.response_a.is_some() || row.response_b.is_some()
}

/// A completed battle for a record with a conversation; returns its row id.
async fn insert_battle(
    tx: &impl GenericClient,
    row: &ImportRow,
    a: i64,
    b: i64,
    user: Option<i64>,
    at: i64,
    sequence: u32,
) -> Result<i64> {
    // Time first, then a sequence and the record's key: ids sort by time and stay unique
    // across imports.
    let mut bits = [0u8; 10];
    bits[..4].copy_from_slice(&sequence.to_be_bytes());
    bits[4..].copy_from_slice(&row.key.to_ne_bytes()[..6]);
    let millis = u64::try_from(at).unwrap_or(0);
    let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid();
    let found = tx
        .query_one(
            "INSERT INTO battles (uuid, user_id, origin, prompt, theme, model_a, model_b, status,
                                  response_a, response_b, created_at, updated_at)
             VALUES ($1, $2, 'import', $3, 'general', $4, $5, 'completed', $6, $7, $8, $8)
             RETURNING id",
            &[
                &uuid.as_bytes().as_slice(),
                &user,
                &row.prompt.as_deref().unwrap_or(""),
                &a,
                &b,
                &row.response_a,
                &row.response_b,
                &at,
            ],
        )
        .await
        .map_err(pg)?;
    col(&found, 0)
}
