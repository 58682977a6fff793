//! Votes: recording one (atomically with the battle's new status) and reading them back in
//! vote order or as per-model totals for the ratings.

use rusqlite::{OptionalExtension, params};

use super::battles::{read, user_id};
use super::{Store, db, now_ms};
use crate::battle::{BattleId, BattleRecord, Status, Winner};
use crate::error::{Error, Result};

/// One vote as the ratings need it: model indexes into the accompanying name list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteRow {
    pub model_a: u32,
    pub model_b: u32,
    pub winner: Winner,
}

/// All votes in vote order, with the model names they index into.
#[derive(Debug, Clone, Default)]
pub struct VoteTotals {
    pub names: Vec<String>,
    pub votes: Vec<VoteRow>,
}

impl Store {
    /// Records the vote on a battle in `pending_vote` and completes it, in one transaction.
    /// A battle that is not `pending_vote` is a conflict (already voted, failed, or still
    /// generating), and nothing changes.
    pub async fn record_vote(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
    ) -> Result<BattleRecord> {
        self.call(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let found: Option<(i64, String, i64, i64)> = tx
                .query_row(
                    "SELECT id, status, model_a, model_b FROM battles WHERE uuid = ?1",
                    [id.as_bytes().as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(db)?;
            let Some((row_id, status, a, b)) = found else {
                return Err(Error::NotFound(format!(
                    "no battle `{id}` (see `arena battles`)"
                )));
            };
            match status.parse::<Status>()? {
                Status::PendingVote => {}
                Status::Completed => {
                    return Err(Error::Conflict(format!(
                        "battle `{id}` already has a vote; a completed battle never changes"
                    )));
                }
                Status::Failed => {
                    return Err(Error::Conflict(format!(
                        "battle `{id}` failed during generation and cannot be voted on \
                         (see `arena show {id}`)"
                    )));
                }
                Status::PendingGeneration => {
                    return Err(Error::Conflict(format!(
                        "battle `{id}` is still generating; vote once both answers are in"
                    )));
                }
            }
            let user = user_id(&tx, user_hash.as_deref()).map_err(db)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO votes (battle_id, model_a, model_b, outcome, user_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row_id, a, b, winner.code(), user, now],
            )
            .map_err(db)?;
            tx.execute(
                "UPDATE battles SET status = 'completed', updated_at = ?2 WHERE id = ?1",
                params![row_id, now],
            )
            .map_err(db)?;
            let record = read(&tx, id)?;
            tx.commit().map_err(db)?;
            Ok(record)
        })
        .await
    }

    /// Every vote in vote order, optionally only those before the vote on `before`.
    pub async fn votes(&self, before: Option<BattleId>) -> Result<VoteTotals> {
        self.call(move |conn| {
            let names: Vec<(i64, String)> = {
                let mut stmt = conn
                    .prepare("SELECT id, name FROM models ORDER BY id")
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db)?
            };
            let index: std::collections::HashMap<i64, u32> = names
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (*id, u32::try_from(i).unwrap_or(u32::MAX)))
                .collect();
            let limit: Option<i64> = match before {
                None => None,
                Some(id) => conn
                    .query_row(
                        "SELECT v.id FROM votes v JOIN battles b ON b.id = v.battle_id
                         WHERE b.uuid = ?1",
                        [id.as_bytes().as_slice()],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db)?,
            };
            let mut stmt = conn
                .prepare(
                    "SELECT model_a, model_b, outcome FROM votes
                     WHERE (?1 IS NULL OR id < ?1) ORDER BY id",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([limit], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(db)?;
            let mut votes = Vec::new();
            for row in rows {
                let (a, b, outcome) = row.map_err(db)?;
                let (Some(&a), Some(&b), Some(winner)) =
                    (index.get(&a), index.get(&b), Winner::from_code(outcome))
                else {
                    continue;
                };
                votes.push(VoteRow {
                    model_a: a,
                    model_b: b,
                    winner,
                });
            }
            Ok(VoteTotals {
                names: names.into_iter().map(|(_, n)| n).collect(),
                votes,
            })
        })
        .await
    }
}
