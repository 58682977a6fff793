//! Bulk import of battle logs: one transaction per chunk, prepared statements, and a table
//! of record keys that makes a second import of the same records add nothing.

use std::collections::HashMap;

use rusqlite::params;

use super::battles::{model_id, user_id};
use super::{Store, db, now_ms};
use crate::error::Result;
use crate::transfer::battles::Chunk;

/// What one chunk did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCount {
    pub imported: u64,
    /// Records already in the database from an earlier import.
    pub duplicates: u64,
}

impl Store {
    /// Stores a chunk of imported votes. A record that carries a conversation becomes a
    /// completed battle with its vote; one without is a vote alone. Judges are stored as
    /// salted hashes. Keys are checked in sorted order (fast on a large key table); votes are
    /// written in file order, which is vote order.
    pub async fn import_chunk(&self, chunk: Chunk, salt: String) -> Result<ImportCount> {
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut count = ImportCount::default();
            {
                let mut fresh = vec![false; chunk.rows.len()];
                let mut order: Vec<usize> = (0..chunk.rows.len()).collect();
                order.sort_unstable_by_key(|&i| chunk.rows[i].key);
                let mut key = tx
                    .prepare_cached("INSERT OR IGNORE INTO import_keys (key) VALUES (?1)")
                    .map_err(db)?;
                for i in order {
                    fresh[i] = key.execute([chunk.rows[i].key]).map_err(db)? == 1;
                }
                let ids: Vec<i64> = chunk
                    .names
                    .iter()
                    .map(|n| model_id(&tx, n))
                    .collect::<rusqlite::Result<_>>()
                    .map_err(db)?;
                let mut users: HashMap<String, Option<i64>> = HashMap::new();
                let mut battle = tx
                    .prepare_cached(
                        "INSERT INTO battles (uuid, user_id, origin, prompt, theme, model_a, model_b,
                             status, response_a, response_b, created_at, updated_at)
                         VALUES (?1, ?2, 'import', ?3, 'general', ?4, ?5, 'completed', ?6, ?7,
                                 ?8, ?8)",
                    )
                    .map_err(db)?;
                let mut vote = tx
                    .prepare_cached(
                        "INSERT INTO votes (battle_id, model_a, model_b, outcome, user_id, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )
                    .map_err(db)?;
                let now = now_ms();
                let mut sequence: u32 = 0;
                for (row, fresh) in chunk.rows.iter().zip(fresh) {
                    if !fresh {
                        count.duplicates += 1;
                        continue;
                    }
                    let (Some(&a), Some(&b)) =
                        (ids.get(row.model_a as usize), ids.get(row.model_b as usize))
                    else {
                        continue;
                    };
                    let user = match &row.judge {
                        None => None,
                        Some(judge) => {
                            if let Some(u) = users.get(judge) {
                                *u
                            } else {
                                let hash = crate::util::hash_user(&salt, judge);
                                let u = user_id(&tx, Some(&hash)).map_err(db)?;
                                users.insert(judge.clone(), u);
                                u
                            }
                        }
                    };
                    let at = row.tstamp_ms.unwrap_or(now);
                    let has_content =
                        row.prompt.is_some() || row.response_a.is_some() || row.response_b.is_some();
                    let battle_id = if has_content {
                        // Time first, then a sequence and the record's key: ids sort by time
                        // and stay unique across imports.
                        sequence = sequence.wrapping_add(1);
                        let mut bits = [0u8; 10];
                        bits[..4].copy_from_slice(&sequence.to_be_bytes());
                        bits[4..].copy_from_slice(&row.key.to_ne_bytes()[..6]);
                        let millis = u64::try_from(at).unwrap_or(0);
                        let uuid = uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid();
                        battle
                            .execute(params![
                                uuid.as_bytes().as_slice(),
                                user,
                                row.prompt.as_deref().unwrap_or(""),
                                a,
                                b,
                                row.response_a,
                                row.response_b,
                                at
                            ])
                            .map_err(db)?;
                        Some(tx.last_insert_rowid())
                    } else {
                        None
                    };
                    vote.execute(params![battle_id, a, b, row.winner.code(), user, at])
                        .map_err(db)?;
                    count.imported += 1;
                }
            }
            tx.commit().map_err(db)?;
            Ok(count)
        })
        .await
    }
}
