//! Battles: creation (the per-user limits counted under the user's row lock), the end of
//! generation, reading and listing, clearing stuck ones.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::{PgStore, cached, col, count, locks, pg};
use crate::battle::lifecycle::{self, LimitFacts};
use crate::battle::{BattleId, BattleRecord, Origin, SideRecord, Status, VoteFlags, Winner};
use crate::error::{Error, Result};
use crate::store::{BattleFilter, EXPIRED, Failure, NewBattle, SideOutcome};

/// What [`lifecycle::limits_breached`] asks of one user's battles, read in the transaction
/// that then creates the battle, while it holds the user's row.
struct UserBattles {
    open: u32,
    /// Start times of the user's battles within the last hour, oldest first.
    starts: Vec<i64>,
    last: Option<i64>,
}

impl LimitFacts for UserBattles {
    fn open(&mut self) -> Result<u32> {
        Ok(self.open)
    }

    fn starts_since(&mut self, since: i64) -> Result<Vec<i64>> {
        Ok(self.starts.iter().copied().filter(|&t| t > since).collect())
    }

    fn last_start(&mut self) -> Result<Option<i64>> {
        Ok(self.last)
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

pub(super) fn record(row: &Row) -> Result<BattleRecord> {
    let uuid: Vec<u8> = col(row, 0)?;
    let status: String = col(row, 5)?;
    let side = |base: usize| -> Result<SideRecord> {
        Ok(SideRecord {
            model: col(row, base)?,
            response: col(row, base + 1)?,
            error: col(row, base + 2)?,
            latency_ms: col(row, base + 3)?,
            first_token_ms: col(row, base + 4)?,
            prompt_tokens: col(row, base + 5)?,
            completion_tokens: col(row, base + 6)?,
        })
    };
    let outcome: Option<i64> = col(row, 20)?;
    Ok(BattleRecord {
        id: uuid::Uuid::from_slice(&uuid).unwrap_or_default(),
        prompt: col(row, 1)?,
        prompt_id: col(row, 2)?,
        theme: col(row, 3)?,
        system: col(row, 4)?,
        status: status.parse().unwrap_or(Status::Failed),
        a: side(6)?,
        b: side(13)?,
        winner: outcome.and_then(Winner::from_code),
        created_at: col(row, 21)?,
        voted_at: col(row, 22)?,
        rpid: col(row, 23)?,
        left_out: VoteFlags::from_bits(col::<Option<i64>>(row, 24)?.unwrap_or(0)),
        // Written by this program only; text it cannot read is treated as no words.
        identity_leak: col::<Option<String>>(row, 25)?.and_then(|t| serde_json::from_str(&t).ok()),
        origin: Origin::parse(&col::<String>(row, 26)?),
    })
}

/// The id of the model called `name`, created on first use (at `now`).
pub(super) async fn model_id_at(tx: &impl GenericClient, name: &str, now: i64) -> Result<i64> {
    if let Some(row) = tx
        .query_opt("SELECT id FROM models WHERE name = $1", &[&name])
        .await
        .map_err(pg)?
    {
        return col(&row, 0);
    }
    tx.execute(
        "INSERT INTO models (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &now],
    )
    .await
    .map_err(pg)?;
    col(
        &tx.query_one("SELECT id FROM models WHERE name = $1", &[&name])
            .await
            .map_err(pg)?,
        0,
    )
}

/// The id of the user with this hash, created on first use (at `now`).
pub(super) async fn user_id_at(
    tx: &impl GenericClient,
    hash: Option<&str>,
    now: i64,
) -> Result<Option<i64>> {
    let Some(hash) = hash else { return Ok(None) };
    cached::exec(
        tx,
        "INSERT INTO users (hash, created_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING",
        &[&hash, &now],
    )
    .await?;
    let row = cached::one(tx, "SELECT id FROM users WHERE hash = $1", &[&hash]).await?;
    col(&row, 0).map(Some)
}

/// The id of the user with this hash, created on first use, with the user's row locked until
/// the transaction ends: creations of one user's battles run one after another.
async fn locked_user(tx: &impl GenericClient, hash: &str, now: i64) -> Result<i64> {
    let row = tx
        .query_one(
            "INSERT INTO users (hash, created_at) VALUES ($1, $2)
             ON CONFLICT (hash) DO UPDATE SET hash = excluded.hash
             RETURNING id",
            &[&hash, &now],
        )
        .await
        .map_err(pg)?;
    col(&row, 0)
}

pub(super) async fn read(conn: &impl GenericClient, id: BattleId) -> Result<BattleRecord> {
    let row = cached::opt(
        conn,
        &format!("{SELECT} WHERE b.uuid = $1"),
        &[&id.as_bytes().as_slice()],
    )
    .await?
    .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))?;
    record(&row)
}

async fn user_battles(tx: &impl GenericClient, user: i64, now: i64) -> Result<UserBattles> {
    let open: i64 = col(
        &tx.query_one(
            "SELECT count(*) FROM battles
             WHERE user_id = $1 AND status IN ('pending_generation', 'pending_vote')",
            &[&user],
        )
        .await
        .map_err(pg)?,
        0,
    )?;
    let starts = tx
        .query(
            "SELECT created_at FROM battles WHERE user_id = $1 AND created_at > $2
             ORDER BY created_at",
            &[&user, &(now - 3_600_000)],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| col(r, 0))
        .collect::<Result<Vec<i64>>>()?;
    let last: Option<i64> = col(
        &tx.query_one(
            "SELECT max(created_at) FROM battles WHERE user_id = $1",
            &[&user],
        )
        .await
        .map_err(pg)?,
        0,
    )?;
    Ok(UserBattles {
        open: u32::try_from(open).unwrap_or(u32::MAX),
        starts,
        last,
    })
}

impl PgStore {
    /// Records a new battle in `pending_generation`.
    pub(super) async fn create_battle(&self, new: NewBattle) -> Result<BattleRecord> {
        let mut client = self.client().await?;
        // Models are made before the transaction, each in its own: a model row held by an
        // open transaction would make two battles naming the same two models in opposite
        // order wait for each other.
        let a = model_id_at(&client, &new.model_a, (self.clock)()).await?;
        let b = model_id_at(&client, &new.model_b, (self.clock)()).await?;
        let tx = client.transaction().await.map_err(pg)?;
        let user = match new.user_hash.as_deref() {
            Some(hash) => Some(locked_user(&tx, hash, (self.clock)()).await?),
            None => None,
        };
        let now = new.now;
        if let (Some(rpid), Some(user)) = (&new.rpid, user) {
            let existing = tx
                .query_opt(
                    "SELECT uuid FROM battles WHERE user_id = $1 AND rpid = $2",
                    &[&user, rpid],
                )
                .await
                .map_err(pg)?;
            // The same RPID started again (or twice at once) is the same battle.
            if let Some(row) = existing
                && let Ok(id) = uuid::Uuid::from_slice(&col::<Vec<u8>>(&row, 0)?)
            {
                let rec = read(&tx, id).await?;
                tx.commit().await.map_err(pg)?;
                return Ok(rec);
            }
        }
        if let (Some(user), Some(limits)) = (user, &new.limits) {
            let mut facts = user_battles(&tx, user, now).await?;
            lifecycle::limits_breached(limits, now, &mut facts)?;
        }
        tx.execute(
            "INSERT INTO battles (uuid, user_id, origin, prompt, prompt_id, theme, system,
                                  model_a, model_b, status, created_at, updated_at, rpid,
                                  prompt_content)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending_generation', $10, $10,
                     $11, $12)",
            &[
                &new.id.as_bytes().as_slice(),
                &user,
                &new.origin.as_str(),
                &new.prompt,
                &new.prompt_id,
                &new.theme,
                &new.system,
                &a,
                &b,
                &now,
                &new.rpid,
                &new.prompt_content,
            ],
        )
        .await
        .map_err(pg)?;
        let rec = read(&tx, new.id).await?;
        tx.commit().await.map_err(pg)?;
        Ok(rec)
    }

    /// Ends generation: `pending_vote` when both sides answered, else `failed`.
    pub(super) async fn finish_generation(
        &self,
        id: BattleId,
        a: SideOutcome,
        b: SideOutcome,
    ) -> Result<BattleRecord> {
        let client = self.client().await?;
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
        client
            .execute(
                "UPDATE battles SET status = $2,
                    response_a = $3, error_a = $4, latency_ms_a = $5, first_token_ms_a = $6,
                    prompt_tokens_a = $7, completion_tokens_a = $8,
                    response_b = $9, error_b = $10, latency_ms_b = $11, first_token_ms_b = $12,
                    prompt_tokens_b = $13, completion_tokens_b = $14, updated_at = $15,
                    failure = $16
                 WHERE uuid = $1 AND status = 'pending_generation'",
                &[
                    &id.as_bytes().as_slice(),
                    &status.as_str(),
                    &a.response,
                    &a.error,
                    &a.latency_ms,
                    &a.first_token_ms,
                    &a.prompt_tokens,
                    &a.completion_tokens,
                    &b.response,
                    &b.error,
                    &b.latency_ms,
                    &b.first_token_ms,
                    &b.prompt_tokens,
                    &b.completion_tokens,
                    &(self.clock)(),
                    &failure,
                ],
            )
            .await
            .map_err(pg)?;
        read(&client, id).await
    }

    pub(super) async fn battle(&self, id: BattleId) -> Result<BattleRecord> {
        let client = self.client().await?;
        read(&client, id).await
    }

    pub(super) async fn latest_battle_of(&self, user_hash: String) -> Result<Option<BattleRecord>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "{SELECT} JOIN users u ON u.id = b.user_id
                     WHERE u.hash = $1 ORDER BY b.created_at DESC, b.id DESC LIMIT 1"
                ),
                &[&user_hash],
            )
            .await
            .map_err(pg)?;
        row.map(|r| record(&r)).transpose()
    }

    pub(super) async fn battle_owned_by(
        &self,
        id: BattleId,
        user_hash: String,
    ) -> Result<Option<bool>> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT u.hash FROM battles b LEFT JOIN users u ON u.id = b.user_id
                 WHERE b.uuid = $1",
                &[&id.as_bytes().as_slice()],
            )
            .await
            .map_err(pg)?
            .ok_or_else(|| Error::BattleNotFound(format!("no battle `{id}`")))?;
        let owner: Option<String> = col(&row, 0)?;
        Ok(owner.map(|h| h == user_hash))
    }

    pub(super) async fn health(&self) -> Result<(u64, u64, u64)> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM prompts), (SELECT count(*) FROM users),
                        (SELECT count(*) FROM battles WHERE status = 'completed')",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok((
            count(col(&row, 0)?),
            count(col(&row, 1)?),
            count(col(&row, 2)?),
        ))
    }

    pub(super) async fn battles(&self, filter: BattleFilter) -> Result<Vec<BattleRecord>> {
        let client = self.client().await?;
        let sql = format!(
            "{SELECT}
             WHERE ($1::text IS NULL OR b.status = $1)
               AND ($2::text IS NULL OR (v.id IS NOT NULL AND (ma.name = $2 OR mb.name = $2)))
               AND ($3::bigint IS NULL OR b.created_at >= $3)
             ORDER BY b.id DESC
             LIMIT $4"
        );
        let limit: Option<i64> = filter.limit.map(i64::from);
        let rows = client
            .query(
                &sql,
                &[
                    &filter.status.map(Status::as_str),
                    &filter.model,
                    &filter.since,
                    &limit,
                ],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(record).collect()
    }

    pub(super) async fn battles_of(
        &self,
        user_hash: String,
        limit: u32,
    ) -> Result<Vec<(BattleRecord, i64)>> {
        let client = self.client().await?;
        let sql = SELECT.replacen(
            "b.origin\n",
            "b.origin,\n           (SELECT 1 + count(*) FROM turns t
                                   WHERE t.battle_id = b.id AND t.turn > 0)\n",
            1,
        );
        let rows = client
            .query(
                &format!(
                    "{sql}
                     JOIN users u ON u.id = b.user_id
                     WHERE u.hash = $1
                     ORDER BY b.created_at DESC, b.id DESC
                     LIMIT $2"
                ),
                &[&user_hash, &i64::from(limit)],
            )
            .await
            .map_err(pg)?;
        rows.iter().map(|r| Ok((record(r)?, col(r, 27)?))).collect()
    }

    pub(super) async fn unstuck(&self, user_hash: Option<String>, reason: String) -> Result<usize> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE battles SET status = 'failed', error_a = coalesce(error_a, $2),
                                    error_b = coalesce(error_b, $2), updated_at = $3,
                                    failure = 'unstuck'
                 WHERE status = 'pending_generation'
                   AND ($1::text IS NULL OR user_id = (SELECT id FROM users WHERE hash = $1))",
                &[&user_hash, &reason, &(self.clock)()],
            )
            .await
            .map_err(pg)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) async fn fail_generating(
        &self,
        id: BattleId,
        failure: Failure,
        reason: String,
    ) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE battles SET status = 'failed', error_a = coalesce(error_a, $2),
                                    error_b = coalesce(error_b, $2), updated_at = $3,
                                    failure = $4
                 WHERE uuid = $1 AND status = 'pending_generation'",
                &[
                    &id.as_bytes().as_slice(),
                    &reason,
                    &(self.clock)(),
                    &failure.as_str(),
                ],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }

    pub(super) async fn expire(
        &self,
        now: i64,
        vote_expiry_ms: i64,
        generation_limit_ms: i64,
    ) -> Result<usize> {
        let mut client = self.client().await?;
        let client = client.transaction().await.map_err(pg)?;
        // Background work runs once across instances: while one ends stale battles, the
        // others' turns end nothing (the work is the same, and waiting would only queue them).
        let ours: bool = col(
            &client
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&locks::EXPIRE])
                .await
                .map_err(pg)?,
            0,
        )?;
        if !ours {
            return Ok(0);
        }
        let mut n = 0;
        if vote_expiry_ms > 0 {
            n += client
                .execute(
                    "UPDATE battles SET status = 'failed',
                         error_a = coalesce(error_a, $3),
                         error_b = coalesce(error_b, $3), updated_at = $1,
                         failure = 'expired'
                     WHERE status = 'pending_vote' AND created_at < $2",
                    &[&now, &(now - vote_expiry_ms), &EXPIRED],
                )
                .await
                .map_err(pg)?;
        }
        n += client
            .execute(
                "UPDATE battles SET status = 'failed',
                     error_a = coalesce(error_a, 'generation never finished (the process ended?)'),
                     error_b = coalesce(error_b, 'generation never finished (the process ended?)'),
                     updated_at = $1, failure = 'lost'
                 WHERE status = 'pending_generation' AND updated_at < $2",
                &[&now, &(now - generation_limit_ms)],
            )
            .await
            .map_err(pg)?;
        client.commit().await.map_err(pg)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) async fn model_battle_counts(&self) -> Result<Vec<(String, u64)>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT m.name, coalesce(c.n, 0)::bigint FROM models m
                 LEFT JOIN (SELECT model, sum(n) AS n FROM
                              (SELECT model_a AS model,
                                      wins_a + wins_b + ties + both_bad + skips AS n
                               FROM pair_totals
                               UNION ALL
                               SELECT model_b, wins_a + wins_b + ties + both_bad + skips
                               FROM pair_totals) p
                            GROUP BY model) c ON c.model = m.id
                 ORDER BY m.name COLLATE \"C\"",
                &[],
            )
            .await
            .map_err(pg)?;
        rows.iter()
            .map(|r| Ok((col(r, 0)?, count(col(r, 1)?))))
            .collect()
    }
}
