//! Battles: creation, the end of generation, reading and listing, clearing stuck ones.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{SqliteStore, db};
use crate::battle::lifecycle::{self, LimitFacts};
use crate::battle::{BattleId, BattleRecord, Origin, SideRecord, Status, VoteFlags, Winner};
use crate::error::{Error, Result};
use crate::store::{BattleFilter, EXPIRED, Failure, NewBattle, SideOutcome};

/// What [`lifecycle::limits_breached`] asks of one user's battles, read in the transaction
/// that then creates the battle.
struct UserBattles<'a> {
    tx: &'a Transaction<'a>,
    user: i64,
}

impl LimitFacts for UserBattles<'_> {
    fn open(&mut self) -> Result<u32> {
        self.tx
            .prepare_cached(
                "SELECT count(*) FROM battles
                 WHERE user_id = ?1 AND status IN ('pending_generation', 'pending_vote')",
            )
            .map_err(db)?
            .query_row([self.user], |r| r.get(0))
            .map_err(db)
    }

    fn starts_since(&mut self, since: i64) -> Result<Vec<i64>> {
        self.tx
            .prepare_cached(
                "SELECT created_at FROM battles WHERE user_id = ?1 AND created_at > ?2
                 ORDER BY created_at",
            )
            .map_err(db)?
            .query_map(params![self.user, since], |r| r.get(0))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)
    }

    fn last_start(&mut self) -> Result<Option<i64>> {
        self.tx
            .prepare_cached("SELECT max(created_at) FROM battles WHERE user_id = ?1")
            .map_err(db)?
            .query_row([self.user], |r| r.get(0))
            .map_err(db)
    }
}

const SELECT: &str = "
    SELECT b.uuid, b.prompt, b.prompt_id, b.theme, b.system, b.status,
           ma.name, b.response_a, b.error_a, b.latency_ms_a, b.first_token_ms_a,
           b.prompt_tokens_a, b.completion_tokens_a,
           mb.name, b.response_b, b.error_b, b.latency_ms_b, b.first_token_ms_b,
           b.prompt_tokens_b, b.completion_tokens_b,
           v.outcome, b.created_at, v.created_at, b.rpid, v.flags, b.identity_leak,
           b.origin
    FROM battles b
    JOIN models ma ON ma.id = b.model_a
    JOIN models mb ON mb.id = b.model_b
    LEFT JOIN votes v ON v.battle_id = b.id";

fn record(row: &Row<'_>) -> rusqlite::Result<BattleRecord> {
    let uuid: Vec<u8> = row.get(0)?;
    let status: String = row.get(5)?;
    let side = |base: usize| -> rusqlite::Result<SideRecord> {
        Ok(SideRecord {
            model: row.get(base)?,
            response: row.get(base + 1)?,
            error: row.get(base + 2)?,
            latency_ms: row.get(base + 3)?,
            first_token_ms: row.get(base + 4)?,
            prompt_tokens: row.get(base + 5)?,
            completion_tokens: row.get(base + 6)?,
        })
    };
    let outcome: Option<i64> = row.get(20)?;
    Ok(BattleRecord {
        id: uuid::Uuid::from_slice(&uuid).unwrap_or_default(),
        prompt: row.get(1)?,
        prompt_id: row.get(2)?,
        theme: row.get(3)?,
        system: row.get(4)?,
        status: status.parse().unwrap_or(Status::Failed),
        a: side(6)?,
        b: side(13)?,
        winner: outcome.and_then(Winner::from_code),
        created_at: row.get(21)?,
        voted_at: row.get(22)?,
        rpid: row.get(23)?,
        left_out: VoteFlags::from_bits(row.get::<_, Option<i64>>(24)?.unwrap_or(0)),
        // Written by this program only; text it cannot read is treated as no words.
        identity_leak: row
            .get::<_, Option<String>>(25)?
            .and_then(|t| serde_json::from_str(&t).ok()),
        origin: Origin::parse(&row.get::<_, String>(26)?),
    })
}

/// The id of the model called `name`, created on first use (at `now`).
pub(super) fn model_id(tx: &Transaction<'_>, name: &str, now: i64) -> rusqlite::Result<i64> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM models WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO models (name, created_at) VALUES (?1, ?2)")?
        .execute(params![name, now])?;
    Ok(tx.last_insert_rowid())
}

/// The id of the user with this hash, created on first use (at `now`).
pub(super) fn user_id(
    tx: &Transaction<'_>,
    hash: Option<&str>,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    let Some(hash) = hash else { return Ok(None) };
    tx.prepare_cached(
        "INSERT INTO users (hash, created_at) VALUES (?1, ?2) ON CONFLICT(hash) DO NOTHING",
    )?
    .execute(params![hash, now])?;
    tx.prepare_cached("SELECT id FROM users WHERE hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .map(Some)
}

pub(super) fn read(conn: &rusqlite::Connection, id: BattleId) -> Result<BattleRecord> {
    conn.prepare_cached(&format!("{SELECT} WHERE b.uuid = ?1"))
        .map_err(db)?
        .query_row([id.as_bytes().as_slice()], record)
        .optional()
        .map_err(db)?
        .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))
}

impl SqliteStore {
    /// Records a new battle in `pending_generation`.
    pub(super) async fn create_battle(&self, new: NewBattle) -> Result<BattleRecord> {
        self.write_now(move |conn, at| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let a = model_id(&tx, &new.model_a, at).map_err(db)?;
            let b = model_id(&tx, &new.model_b, at).map_err(db)?;
            let user = user_id(&tx, new.user_hash.as_deref(), at).map_err(db)?;
            let now = new.now;
            if let (Some(rpid), Some(user)) = (&new.rpid, user) {
                let existing: Option<Vec<u8>> = tx
                    .prepare_cached("SELECT uuid FROM battles WHERE user_id = ?1 AND rpid = ?2")
                    .map_err(db)?
                    .query_row(params![user, rpid], |r| r.get(0))
                    .optional()
                    .map_err(db)?;
                // The same RPID started again (or twice at once) is the same battle.
                if let Some(id) = existing.and_then(|u| uuid::Uuid::from_slice(&u).ok()) {
                    let rec = read(&tx, id)?;
                    tx.commit().map_err(db)?;
                    return Ok(rec);
                }
            }
            if let (Some(user), Some(limits)) = (user, &new.limits) {
                lifecycle::limits_breached(limits, now, &mut UserBattles { tx: &tx, user })?;
            }
            tx.execute(
                "INSERT INTO battles (uuid, user_id, origin, prompt, prompt_id, theme, system,
                                      model_a, model_b, status, created_at, updated_at, rpid,
                                      prompt_content)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending_generation', ?10, ?10,
                         ?11, ?12)",
                params![
                    new.id.as_bytes().as_slice(),
                    user,
                    new.origin.as_str(),
                    new.prompt,
                    new.prompt_id,
                    new.theme,
                    new.system,
                    a,
                    b,
                    now,
                    new.rpid,
                    new.prompt_content
                ],
            )
            .map_err(db)?;
            let rec = read(&tx, new.id)?;
            tx.commit().map_err(db)?;
            Ok(rec)
        })
        .await
    }

    /// Ends generation: `pending_vote` when both sides answered, else `failed` with the
    /// errors kept. A battle no longer in `pending_generation` (cleared meanwhile) is left
    /// as it is.
    pub(super) async fn finish_generation(
        &self,
        id: BattleId,
        a: SideOutcome,
        b: SideOutcome,
    ) -> Result<BattleRecord> {
        self.write_now(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let ok = a.error.is_none() && b.error.is_none();
            let status = if ok {
                Status::PendingVote
            } else {
                Status::Failed
            };
            let failure = (!ok).then(|| {
                a.failure
                    .or(b.failure)
                    .unwrap_or(Failure::Upstream)
                    .as_str()
            });
            tx.execute(
                "UPDATE battles SET status = ?2,
                    response_a = ?3, error_a = ?4, latency_ms_a = ?5, first_token_ms_a = ?6,
                    prompt_tokens_a = ?7, completion_tokens_a = ?8,
                    response_b = ?9, error_b = ?10, latency_ms_b = ?11, first_token_ms_b = ?12,
                    prompt_tokens_b = ?13, completion_tokens_b = ?14, updated_at = ?15,
                    failure = ?16
                 WHERE uuid = ?1 AND status = 'pending_generation'",
                params![
                    id.as_bytes().as_slice(),
                    status.as_str(),
                    a.response,
                    a.error,
                    a.latency_ms,
                    a.first_token_ms,
                    a.prompt_tokens,
                    a.completion_tokens,
                    b.response,
                    b.error,
                    b.latency_ms,
                    b.first_token_ms,
                    b.prompt_tokens,
                    b.completion_tokens,
                    now,
                    failure
                ],
            )
            .map_err(db)?;
            let rec = read(&tx, id)?;
            tx.commit().map_err(db)?;
            Ok(rec)
        })
        .await
    }

    /// One battle, model names included: callers must blind it.
    pub(super) async fn battle(&self, id: BattleId) -> Result<BattleRecord> {
        self.read(move |conn| read(conn, id)).await
    }

    /// The latest battle of the user with this hash, if any.
    pub(super) async fn latest_battle_of(&self, user_hash: String) -> Result<Option<BattleRecord>> {
        self.read(move |conn| {
            let found: Option<Vec<u8>> = conn
                .prepare_cached(
                    "SELECT b.uuid FROM battles b JOIN users u ON u.id = b.user_id
                     WHERE u.hash = ?1 ORDER BY b.created_at DESC, b.id DESC LIMIT 1",
                )
                .map_err(db)?
                .query_row([user_hash], |r| r.get(0))
                .optional()
                .map_err(db)?;
            match found.and_then(|u| uuid::Uuid::from_slice(&u).ok()) {
                None => Ok(None),
                Some(id) => read(conn, id).map(Some),
            }
        })
        .await
    }

    /// Whether the battle `id` was started by the user with this hash: `None` when it has
    /// no user.
    pub(super) async fn battle_owned_by(
        &self,
        id: BattleId,
        user_hash: String,
    ) -> Result<Option<bool>> {
        self.read(move |conn| {
            let owner: Option<Option<String>> = conn
                .prepare_cached(
                    "SELECT u.hash FROM battles b LEFT JOIN users u ON u.id = b.user_id
                     WHERE b.uuid = ?1",
                )
                .map_err(db)?
                .query_row([id.as_bytes().as_slice()], |r| r.get(0))
                .optional()
                .map_err(db)?;
            match owner {
                None => Err(Error::BattleNotFound(format!("no battle `{id}`"))),
                Some(None) => Ok(None),
                Some(Some(h)) => Ok(Some(h == user_hash)),
            }
        })
        .await
    }

    /// Figures of `/health`: prompts in the pool, users recorded, completed battles.
    pub(super) async fn health(&self) -> Result<(u64, u64, u64)> {
        self.read(|conn| {
            conn.query_row(
                "SELECT (SELECT count(*) FROM prompts), (SELECT count(*) FROM users),
                        (SELECT count(*) FROM battles WHERE status = 'completed')",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?.unsigned_abs(),
                        r.get::<_, i64>(1)?.unsigned_abs(),
                        r.get::<_, i64>(2)?.unsigned_abs(),
                    ))
                },
            )
            .map_err(db)
        })
        .await
    }

    /// Battles, newest first.
    pub(super) async fn battles(&self, filter: BattleFilter) -> Result<Vec<BattleRecord>> {
        self.read(move |conn| {
            let sql = format!(
                "{SELECT}
                 WHERE (?1 IS NULL OR b.status = ?1)
                   AND (?2 IS NULL OR (v.id IS NOT NULL AND (ma.name = ?2 OR mb.name = ?2)))
                   AND (?3 IS NULL OR b.created_at >= ?3)
                 ORDER BY b.id DESC
                 LIMIT ?4"
            );
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let rows = stmt
                .query_map(
                    params![
                        filter.status.map(Status::as_str),
                        filter.model,
                        filter.since,
                        filter.limit.map_or(-1, i64::from)
                    ],
                    record,
                )
                .map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
        })
        .await
    }

    pub(super) async fn battles_of(
        &self,
        user_hash: String,
        limit: u32,
    ) -> Result<Vec<(BattleRecord, i64)>> {
        self.read(move |conn| {
            let sql = format!(
                "{SELECT}
                 JOIN users u ON u.id = b.user_id
                 WHERE u.hash = ?1
                 ORDER BY b.created_at DESC, b.id DESC
                 LIMIT ?2"
            );
            let records = conn
                .prepare_cached(&sql)
                .map_err(db)?
                .query_map(params![user_hash, limit], record)
                .map_err(db)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(db)?;
            let mut turns = conn
                .prepare_cached(
                    "SELECT 1 + count(t.turn) FROM battles b
                     LEFT JOIN turns t ON t.battle_id = b.id AND t.turn > 0
                     WHERE b.uuid = ?1",
                )
                .map_err(db)?;
            records
                .into_iter()
                .map(|r| {
                    let n: i64 = turns
                        .query_row([r.id.as_bytes().as_slice()], |row| row.get(0))
                        .map_err(db)?;
                    Ok((r, n))
                })
                .collect()
        })
        .await
    }

    /// Marks battles stuck in `pending_generation` as failed, for one user (by hash) or all.
    /// Returns how many were cleared.
    pub(super) async fn unstuck(&self, user_hash: Option<String>, reason: String) -> Result<usize> {
        self.write_now(move |conn, now| {
            conn.execute(
                "UPDATE battles SET status = 'failed', error_a = coalesce(error_a, ?2),
                                    error_b = coalesce(error_b, ?2), updated_at = ?3,
                                    failure = 'unstuck'
                 WHERE status = 'pending_generation'
                   AND (?1 IS NULL OR user_id = (SELECT id FROM users WHERE hash = ?1))",
                params![user_hash, reason, now],
            )
            .map_err(db)
        })
        .await
    }

    /// Ends one battle that is still in `pending_generation` as `failed` with `reason`; a
    /// battle in any other state is left as it is.
    pub(super) async fn fail_generating(
        &self,
        id: BattleId,
        failure: Failure,
        reason: String,
    ) -> Result<()> {
        self.write_now(move |conn, now| {
            conn.execute(
                "UPDATE battles SET status = 'failed', error_a = coalesce(error_a, ?2),
                                    error_b = coalesce(error_b, ?2), updated_at = ?3,
                                    failure = ?4
                 WHERE uuid = ?1 AND status = 'pending_generation'",
                params![id.as_bytes().as_slice(), reason, now, failure.as_str()],
            )
            .map_err(db)?;
            Ok(())
        })
        .await
    }

    /// Ends battles that can no longer finish: `pending_vote` ones older than
    /// `vote_expiry_ms` (0 = never) and `pending_generation` ones older than
    /// `generation_limit_ms` (their process must have ended). Both become `failed` with the
    /// reason kept. Returns how many.
    pub(super) async fn expire(
        &self,
        now: i64,
        vote_expiry_ms: i64,
        generation_limit_ms: i64,
    ) -> Result<usize> {
        self.write(move |conn| {
            let mut n = 0;
            if vote_expiry_ms > 0 {
                n += conn
                    .execute(
                        "UPDATE battles SET status = 'failed',
                             error_a = coalesce(error_a, ?3),
                             error_b = coalesce(error_b, ?3), updated_at = ?1,
                             failure = 'expired'
                         WHERE status = 'pending_vote' AND created_at < ?2",
                        params![now, now - vote_expiry_ms, EXPIRED],
                    )
                    .map_err(db)?;
            }
            n += conn
                .execute(
                    "UPDATE battles SET status = 'failed',
                         error_a = coalesce(error_a, 'generation never finished (the process ended?)'),
                         error_b = coalesce(error_b, 'generation never finished (the process ended?)'),
                         updated_at = ?1, failure = 'lost'
                     WHERE status = 'pending_generation' AND updated_at < ?2",
                    params![now, now - generation_limit_ms],
                )
                .map_err(db)?;
            Ok(n)
        })
        .await
    }

    /// Every model with its number of voted battles. Unvoted battles are not counted: that
    /// would tell who stands in a battle before its vote.
    pub(super) async fn model_battle_counts(&self) -> Result<Vec<(String, u64)>> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT m.name, coalesce(c.n, 0) FROM models m
                     LEFT JOIN (SELECT model, sum(n) AS n FROM
                                  (SELECT model_a AS model,
                                          wins_a + wins_b + ties + both_bad + skips AS n
                                   FROM pair_totals
                                   UNION ALL
                                   SELECT model_b, wins_a + wins_b + ties + both_bad + skips
                                   FROM pair_totals)
                                GROUP BY model) c ON c.model = m.id
                     ORDER BY m.name",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.unsigned_abs())))
                .map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
        })
        .await
    }
}
