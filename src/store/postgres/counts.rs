//! The running state kept beside the votes, in the same transaction as each of them: outcome
//! counts per pair of models (in all, and per UTC day), online Elo's current ratings, and the
//! votes' version. As on SQLite, the votes table is the truth and
//! [`crate::store::Store::rebuild`] recomputes the rest from it.
//!
//! Across instances: a vote in vote order locks the Elo rows of its two models (lower id
//! first) before it reads them, and only then adds to its pair's counts, so two votes that
//! share a model take their steps in turn and the counts' rows are never locked in two
//! orders. Replaying Elo over every vote (after an import, or a vote older than the latest)
//! runs under an advisory lock. The version is the sum of `votes_version`'s counters; each
//! write adds to the counter of its connection (by backend process id), not to one row all
//! votes would queue on.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::votes::model_names;
use super::{PgStore, cached, col, locks, pg};
use crate::battle::{LeftOutCounts, VoteFlags, Winner};
use crate::error::Result;
use crate::rating::PairCounts;
use crate::rating::elo::{self, EloParams};
use crate::store::tally::{DAY_MS, PairTally, Tally};
use crate::store::{CountFilter, VoteFilter};

/// Adds a tally to both tables, in multi-row upserts, each in (day,) lower id, higher id
/// order.
pub(super) async fn store_tally(tally: Tally, tx: &impl GenericClient) -> Result<()> {
    let mut rows = tally.into_rows();
    rows.days.sort_unstable();
    rows.totals.sort_unstable();
    upsert(
        tx,
        "pair_days (day, model_a, model_b, ",
        "(day, model_a, model_b)",
        &rows.days,
    )
    .await?;
    upsert(
        tx,
        "pair_totals (model_a, model_b, ",
        "(model_a, model_b)",
        &rows.totals,
    )
    .await
}

async fn upsert<const WIDTH: usize>(
    tx: &impl GenericClient,
    table: &str,
    key: &str,
    rows: &[[i64; WIDTH]],
) -> Result<()> {
    for batch in rows.chunks(500) {
        let mut n = 0;
        let values: Vec<String> = batch
            .iter()
            .map(|_| {
                let one: Vec<String> = (0..WIDTH)
                    .map(|_| {
                        n += 1;
                        format!("${n}::bigint")
                    })
                    .collect();
                format!("({})", one.join(","))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {table}wins_a, wins_b, ties, both_bad, skips) VALUES {}
             ON CONFLICT {key} DO UPDATE SET wins_a = t.wins_a + excluded.wins_a,
                 wins_b = t.wins_b + excluded.wins_b, ties = t.ties + excluded.ties,
                 both_bad = t.both_bad + excluded.both_bad, skips = t.skips + excluded.skips",
            values.join(",")
        )
        .replacen(" (", " AS t (", 1);
        let params: Vec<&(dyn ToSql + Sync)> = batch
            .iter()
            .flatten()
            .map(|v| v as &(dyn ToSql + Sync))
            .collect();
        if batch.len() == 1 {
            // A vote's: the same text every time.
            cached::exec(tx, &sql, &params).await?;
        } else {
            tx.execute(&sql, &params).await.map_err(pg)?;
        }
    }
    Ok(())
}

pub(super) async fn mark_stale(tx: &impl GenericClient) -> Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('counts_stale', '1')
         ON CONFLICT (key) DO NOTHING",
        &[],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

pub(super) async fn mark_current(tx: &impl GenericClient) -> Result<()> {
    tx.execute("DELETE FROM settings WHERE key = 'counts_stale'", &[])
        .await
        .map_err(pg)?;
    Ok(())
}

pub(super) async fn current(conn: &impl GenericClient) -> Result<bool> {
    col(
        &conn
            .query_one(
                "SELECT NOT EXISTS (SELECT 1 FROM settings WHERE key = 'counts_stale')",
                &[],
            )
            .await
            .map_err(pg)?,
        0,
    )
}

/// Marks a change of the votes, on this connection's counter.
pub(super) async fn bump_version(tx: &impl GenericClient) -> Result<()> {
    cached::exec(
        tx,
        "UPDATE votes_version SET n = n + 1 WHERE shard = pg_backend_pid() % 16",
        &[],
    )
    .await?;
    Ok(())
}

pub(super) async fn invalidate_elo(tx: &impl GenericClient) -> Result<()> {
    tx.execute("DELETE FROM settings WHERE key = 'elo_state'", &[])
        .await
        .map_err(pg)?;
    Ok(())
}

fn elo_fingerprint(p: &EloParams) -> String {
    format!(
        "k={} initial={} scale={} base={}",
        p.k, p.initial, p.scale, p.base
    )
}

async fn elo_state(conn: &impl GenericClient) -> Result<Option<String>> {
    super::setting(conn, "elo_state").await
}

/// Makes the running Elo ratings those of `params` over every vote, replaying the votes when
/// they are stale or were kept with other parameters (once, under an advisory lock).
pub(super) async fn ensure_elo(tx: &impl GenericClient, p: &EloParams) -> Result<()> {
    let fingerprint = elo_fingerprint(p);
    if elo_state(tx).await?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::ELO])
        .await
        .map_err(pg)?;
    // Another instance may have replayed while this one waited.
    if elo_state(tx).await?.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    let rows = tx
        .query(
            "SELECT model_a, model_b, outcome FROM votes WHERE flags = 0 ORDER BY created_at, id",
            &[],
        )
        .await
        .map_err(pg)?;
    let mut ratings: HashMap<i64, f64> = HashMap::new();
    for row in &rows {
        let (a, b, o): (i64, i64, i64) = (col(row, 0)?, col(row, 1)?, col(row, 2)?);
        if let Some(score) = Winner::from_code(o).and_then(Winner::score_a) {
            let mut pair = [
                ratings.get(&a).copied().unwrap_or(p.initial),
                ratings.get(&b).copied().unwrap_or(p.initial),
            ];
            elo::update(&mut pair, 0, 1, score, p);
            ratings.insert(a, pair[0]);
            ratings.insert(b, pair[1]);
        }
    }
    tx.execute("DELETE FROM elo_ratings", &[])
        .await
        .map_err(pg)?;
    let (models, values): (Vec<i64>, Vec<f64>) = ratings.into_iter().unzip();
    tx.execute(
        "INSERT INTO elo_ratings (model, rating) SELECT * FROM unnest($1::bigint[], $2::float8[])",
        &[&models, &values],
    )
    .await
    .map_err(pg)?;
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('elo_state', $1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&fingerprint],
    )
    .await
    .map_err(pg)?;
    Ok(())
}

/// Holds the Elo rows of models `a` and `b` (made first when new) until the transaction
/// ends, and returns their ratings with the time of the latest vote that counts but `vote`,
/// read once they are held. The three statements are prepared first, so that each is sent
/// as it is first polled: in this order, in one round trip.
pub(super) async fn lock_elo(
    tx: &impl GenericClient,
    (a, b): (i64, i64),
    vote: i64,
    p: &EloParams,
) -> Result<((f64, f64), Option<i64>)> {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    // Made before they are held (a vote that would hold one, then wait on another's
    // uncommitted row of the other, could deadlock with it).
    let make = tx
        .prepare_cached(
            "INSERT INTO elo_ratings (model, rating) VALUES ($1, $3), ($2, $3)
             ON CONFLICT (model) DO NOTHING",
        )
        .await
        .map_err(pg)?;
    let hold = tx
        .prepare_cached(
            "SELECT model, rating FROM elo_ratings WHERE model IN ($1, $2) ORDER BY model
             FOR UPDATE",
        )
        .await
        .map_err(pg)?;
    let latest = tx
        .prepare_cached("SELECT max(created_at) FROM votes WHERE flags = 0 AND id <> $1")
        .await
        .map_err(pg)?;
    let (_, rows, latest) = futures_util::try_join!(
        async { tx.execute(&make, &[&lo, &hi, &p.initial]).await },
        async { tx.query(&hold, &[&lo, &hi]).await },
        async { tx.query_one(&latest, &[&vote]).await },
    )
    .map_err(pg)?;
    let mut found = HashMap::new();
    for row in &rows {
        found.insert(col::<i64>(row, 0)?, col::<f64>(row, 1)?);
    }
    let get = |m: i64| found.get(&m).copied().unwrap_or(p.initial);
    Ok(((get(a), get(b)), col(&latest, 0)?))
}

pub(super) async fn elo_of(tx: &impl GenericClient, model: i64, p: &EloParams) -> Result<f64> {
    match tx
        .query_opt("SELECT rating FROM elo_ratings WHERE model = $1", &[&model])
        .await
        .map_err(pg)?
    {
        Some(row) => col(&row, 0),
        None => Ok(p.initial),
    }
}

/// Sets the ratings of two models, in one statement.
pub(super) async fn set_elo(
    tx: &impl GenericClient,
    (a, b): ((i64, f64), (i64, f64)),
) -> Result<()> {
    if a.0 == b.0 {
        // A model against itself: its rating is the last set, as when set one at a time.
        cached::exec(
            tx,
            "UPDATE elo_ratings SET rating = $2 WHERE model = $1",
            &[&b.0, &b.1],
        )
        .await?;
        return Ok(());
    }
    cached::exec(
        tx,
        "INSERT INTO elo_ratings (model, rating) VALUES ($1, $2), ($3, $4)
         ON CONFLICT (model) DO UPDATE SET rating = excluded.rating",
        &[&a.0, &a.1, &b.0, &b.1],
    )
    .await?;
    Ok(())
}

/// Recomputes the counts from the votes table and marks the Elo ratings stale.
pub(super) async fn rebuild(tx: &impl GenericClient) -> Result<()> {
    tx.batch_execute(&format!(
        "DELETE FROM pair_totals;
         DELETE FROM pair_days;
         INSERT INTO pair_totals (model_a, model_b, wins_a, wins_b, ties, both_bad, skips)
         SELECT least(model_a, model_b), greatest(model_a, model_b), {SUMS}
         FROM votes WHERE flags = 0 GROUP BY 1, 2;
         INSERT INTO pair_days (day, model_a, model_b, wins_a, wins_b, ties, both_bad, skips)
         SELECT floor(created_at::numeric / {DAY_MS})::bigint,
                least(model_a, model_b), greatest(model_a, model_b), {SUMS}
         FROM votes WHERE flags = 0 GROUP BY 1, 2, 3;"
    ))
    .await
    .map_err(pg)?;
    invalidate_elo(tx).await?;
    mark_current(tx).await?;
    bump_version(tx).await
}

const SUMS: &str = "
    count(*) FILTER (WHERE (outcome = 0 AND model_a < model_b) OR (outcome = 1 AND model_a > model_b)),
    count(*) FILTER (WHERE (outcome = 1 AND model_a < model_b) OR (outcome = 0 AND model_a > model_b)),
    count(*) FILTER (WHERE outcome = 2), count(*) FILTER (WHERE outcome = 3),
    count(*) FILTER (WHERE outcome = 4)";

impl PgStore {
    /// The counts of the votes that pass `filter`, over the models they name.
    pub(super) async fn pair_counts(&self, filter: CountFilter) -> Result<PairCounts> {
        let client = self.client().await?;
        let names = model_names(&client).await?;
        let mut tally = PairTally::new(&names, filter.models.as_deref());
        let by_day = filter.since_day.is_some() || filter.until_day.is_some();
        let sql = if by_day {
            "SELECT model_a, model_b, sum(wins_a)::bigint, sum(wins_b)::bigint,
                    sum(ties)::bigint, sum(both_bad)::bigint, sum(skips)::bigint
             FROM pair_days WHERE day >= $1 AND day < $2 GROUP BY model_a, model_b
             ORDER BY model_a, model_b"
        } else {
            "SELECT model_a, model_b, wins_a, wins_b, ties, both_bad, skips
             FROM pair_totals WHERE $1::bigint <= $2::bigint ORDER BY model_a, model_b"
        };
        let (since_day, until_day) = (
            filter.since_day.unwrap_or(i64::MIN),
            filter.until_day.unwrap_or(i64::MAX),
        );
        for row in &client
            .query(sql, &[&since_day, &until_day])
            .await
            .map_err(pg)?
        {
            let counts = [
                col(row, 2)?,
                col(row, 3)?,
                col(row, 4)?,
                col(row, 5)?,
                col(row, 6)?,
            ];
            tally.add_counts(col(row, 0)?, col(row, 1)?, counts);
        }
        if !filter.admit.is_empty() {
            let excluded = VoteFlags::ALL_BITS.without(filter.admit);
            let ms = |day: i64| day.saturating_mul(DAY_MS);
            let rows = client
                .query(
                    "SELECT model_a, model_b, outcome FROM votes
                     WHERE flags <> 0 AND flags & $1 = 0
                       AND created_at >= $2 AND created_at < $3
                     ORDER BY id",
                    &[&excluded.bits(), &ms(since_day), &ms(until_day)],
                )
                .await
                .map_err(pg)?;
            for row in &rows {
                let (a, b, o): (i64, i64, i64) = (col(row, 0)?, col(row, 1)?, col(row, 2)?);
                if let Some(winner) = Winner::from_code(o) {
                    tally.add_vote(a, b, winner);
                }
            }
        }
        Ok(tally.finish())
    }

    /// How many votes `filter` would take but leaves out, by the reasons it does not admit.
    pub(super) async fn left_out(&self, filter: VoteFilter) -> Result<LeftOutCounts> {
        let client = self.client().await?;
        let allowed: Option<std::collections::HashSet<i64>> = match &filter.models {
            None => None,
            Some(m) => Some(
                model_names(&client)
                    .await?
                    .into_iter()
                    .filter(|(_, n)| m.contains(n))
                    .map(|(id, _)| id)
                    .collect(),
            ),
        };
        let mut t = super::votes::Terms::default();
        t.push("flags <> $", Box::new(0_i64));
        t.push(
            "created_at >= $",
            Box::new(filter.since.unwrap_or(i64::MIN)),
        );
        t.push("created_at < $", Box::new(filter.until.unwrap_or(i64::MAX)));
        if let Some(theme) = filter.theme.clone() {
            t.push(
                "battle_id IN (SELECT id FROM battles WHERE theme = $)",
                Box::new(theme),
            );
        }
        super::style::category_terms(&client, &filter, &mut t).await?;
        let rows = client
            .query(
                &format!("SELECT flags, model_a, model_b FROM votes{}", t.clause()),
                &t.params(),
            )
            .await
            .map_err(pg)?;
        let mut out = LeftOutCounts::default();
        for row in &rows {
            let (flags, a, b): (i64, i64, i64) = (col(row, 0)?, col(row, 1)?, col(row, 2)?);
            if allowed
                .as_ref()
                .is_some_and(|s| !s.contains(&a) || !s.contains(&b))
            {
                continue;
            }
            out.add(VoteFlags::from_bits(flags).without(filter.admit), 1);
        }
        Ok(out)
    }

    /// The running online Elo ratings by model name, when they are current for `params`.
    pub(super) async fn elo_ratings(
        &self,
        params: EloParams,
    ) -> Result<Option<HashMap<String, f64>>> {
        let client = self.client().await?;
        if elo_state(&client).await?.as_deref() != Some(elo_fingerprint(&params).as_str()) {
            return Ok(None);
        }
        let rows = client
            .query(
                "SELECT m.name, e.rating FROM elo_ratings e JOIN models m ON m.id = e.model",
                &[],
            )
            .await
            .map_err(pg)?;
        Ok(Some(
            rows.iter()
                .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
                .collect::<Result<_>>()?,
        ))
    }

    pub(super) async fn counts_current(&self) -> Result<bool> {
        let client = self.client().await?;
        current(&client).await
    }

    /// The sum of the version counters: it grows with every vote, import and rebuild,
    /// whichever instance made it, once that commits.
    pub(super) async fn votes_version(&self) -> Result<i64> {
        let client = self.client().await?;
        col(
            &client
                .query_one("SELECT coalesce(sum(n), 0)::bigint FROM votes_version", &[])
                .await
                .map_err(pg)?,
            0,
        )
    }

    pub(super) async fn rebuild(&self, params: EloParams) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        // Votes wait for the rebuild: a vote's counts must not be added to tables being
        // recomputed. The locks are taken in the order a replay of Elo takes them.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::ELO])
            .await
            .map_err(pg)?;
        tx.batch_execute("LOCK TABLE elo_ratings, pair_days, pair_totals IN EXCLUSIVE MODE")
            .await
            .map_err(pg)?;
        rebuild(&tx).await?;
        ensure_elo(&tx, &params).await?;
        tx.commit().await.map_err(pg)
    }
}
