//! The running state kept beside the votes, in the same transaction as each of them: outcome
//! counts per pair of models (in all, and per UTC day, so that `--since/--until` need no scan
//! of the votes), online Elo's current ratings, and a version that changes with every vote,
//! so that a computed leaderboard can be cached until the next one. The votes table stays
//! the single source of truth: [`crate::store::Store::rebuild`] recomputes all of it from there.
//!
//! Only votes that count (`flags = 0`) are in the counts and the Elo ratings; the few left
//! out are read from the votes through their own index when a question admits them, and
//! counted for the leaderboard's note ([`crate::store::Store::left_out`]).
//!
//! A pair is stored once, lower model id first: `wins_a` are the wins of that model.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use super::votes::model_names;
use super::{SqliteStore, db};
use crate::battle::{LeftOutCounts, VoteFlags, Winner};
use crate::error::Result;
use crate::rating::PairCounts;
use crate::rating::elo::{self, EloParams};
use crate::store::tally::{DAY_MS, PairTally, Tally};
use crate::store::{CountFilter, VoteFilter};

/// Adds a tally to both tables, in multi-row upserts.
pub(super) fn store_tally(tally: Tally, tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let rows = tally.into_rows();
    upsert(
        tx,
        "pair_days (day, model_a, model_b, ",
        "(day, model_a, model_b)",
        &rows.days,
    )?;
    upsert(
        tx,
        "pair_totals (model_a, model_b, ",
        "(model_a, model_b)",
        &rows.totals,
    )
}

/// `INSERT INTO {table}wins_a, ...) VALUES ... ON CONFLICT {key} DO UPDATE` adding the counts,
/// 500 rows a statement.
fn upsert<const WIDTH: usize>(
    tx: &Transaction<'_>,
    table: &str,
    key: &str,
    rows: &[[i64; WIDTH]],
) -> rusqlite::Result<()> {
    for batch in rows.chunks(500) {
        let one = format!("({})", vec!["?"; WIDTH].join(","));
        let sql = format!(
            "INSERT INTO {table}wins_a, wins_b, ties, both_bad, skips) VALUES {}
             ON CONFLICT {key} DO UPDATE SET wins_a = wins_a + excluded.wins_a,
                 wins_b = wins_b + excluded.wins_b, ties = ties + excluded.ties,
                 both_bad = both_bad + excluded.both_bad, skips = skips + excluded.skips",
            vec![one; batch.len()].join(",")
        );
        tx.prepare_cached(&sql)?
            .execute(params_from_iter(batch.iter().flatten()))?;
    }
    Ok(())
}

/// Marks the counts stale while an import runs: an import that never finishes leaves them
/// to be rebuilt at the next open.
pub(super) fn mark_stale(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('counts_stale', '1')
         ON CONFLICT(key) DO NOTHING",
        [],
    )?;
    Ok(())
}

pub(super) fn mark_current(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM settings WHERE key = 'counts_stale'", [])?;
    Ok(())
}

/// Whether the counts hold every vote (no import was cut short since they were made).
pub(super) fn current(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM settings WHERE key = 'counts_stale')",
        [],
        |r| r.get(0),
    )
}

/// Marks a change of the votes: cached results computed before it no longer hold.
pub(super) fn bump_version(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('votes_version', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    Ok(())
}

/// Notes that a vote at `at_ms` is in; says whether it is the latest in vote order, so that
/// the running Elo ratings can take it as the next one.
pub(super) fn note_time(tx: &Connection, at_ms: i64) -> rusqlite::Result<bool> {
    let latest: Option<i64> = tx
        .query_row(
            "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'last_vote_ms'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if latest.is_none_or(|l| at_ms >= l) {
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('last_vote_ms', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [at_ms.to_string()],
        )?;
        return Ok(true);
    }
    Ok(false)
}

/// The running Elo ratings are stale (an import, or a vote out of order): the next use
/// replays the votes.
pub(super) fn invalidate_elo(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM settings WHERE key = 'elo_state'", [])?;
    Ok(())
}

fn elo_fingerprint(p: &EloParams) -> String {
    format!(
        "k={} initial={} scale={} base={}",
        p.k, p.initial, p.scale, p.base
    )
}

/// Makes the running Elo ratings those of `params` over every vote, replaying the votes when
/// they are stale or were kept with other parameters.
pub(super) fn ensure_elo(tx: &Connection, p: &EloParams) -> rusqlite::Result<()> {
    let state: Option<String> = tx
        .query_row(
            "SELECT value FROM settings WHERE key = 'elo_state'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let fingerprint = elo_fingerprint(p);
    if state.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    let mut ratings: HashMap<i64, f64> = HashMap::new();
    {
        let mut stmt = tx.prepare(
            "SELECT model_a, model_b, outcome FROM votes WHERE flags = 0 ORDER BY created_at, id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (a, b, o): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
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
    }
    tx.execute("DELETE FROM elo_ratings", [])?;
    {
        let mut stmt = tx.prepare("INSERT INTO elo_ratings (model, rating) VALUES (?1, ?2)")?;
        for (model, rating) in ratings {
            stmt.execute(params![model, rating])?;
        }
    }
    tx.execute(
        "INSERT INTO settings (key, value) VALUES ('elo_state', ?1)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [fingerprint],
    )?;
    Ok(())
}

/// A model's running Elo rating.
pub(super) fn elo_of(tx: &Connection, model: i64, p: &EloParams) -> rusqlite::Result<f64> {
    Ok(tx
        .prepare_cached("SELECT rating FROM elo_ratings WHERE model = ?1")?
        .query_row([model], |r| r.get(0))
        .optional()?
        .unwrap_or(p.initial))
}

pub(super) fn set_elo(tx: &Connection, model: i64, rating: f64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO elo_ratings (model, rating) VALUES (?1, ?2)
         ON CONFLICT(model) DO UPDATE SET rating = excluded.rating",
    )?
    .execute(params![model, rating])?;
    Ok(())
}

/// Recomputes the counts and the version from the votes table, and marks the Elo ratings
/// stale; run by the migration that added them and by `arena rebuild`.
pub(super) fn rebuild(tx: &Connection) -> rusqlite::Result<()> {
    tx.execute("DELETE FROM pair_totals", [])?;
    tx.execute("DELETE FROM pair_days", [])?;
    let sums = "sum((outcome = 0 AND model_a < model_b) OR (outcome = 1 AND model_a > model_b)),
                sum((outcome = 1 AND model_a < model_b) OR (outcome = 0 AND model_a > model_b)),
                sum(outcome = 2), sum(outcome = 3), sum(outcome = 4)";
    tx.execute(
        &format!(
            "INSERT INTO pair_totals (model_a, model_b, wins_a, wins_b, ties, both_bad, skips)
             SELECT min(model_a, model_b), max(model_a, model_b), {sums}
             FROM votes WHERE flags = 0 GROUP BY 1, 2"
        ),
        [],
    )?;
    tx.execute(
        &format!(
            "INSERT INTO pair_days (day, model_a, model_b, wins_a, wins_b, ties, both_bad, skips)
             SELECT created_at / {DAY_MS} - (created_at % {DAY_MS} < 0),
                    min(model_a, model_b), max(model_a, model_b), {sums}
             FROM votes WHERE flags = 0 GROUP BY 1, 2, 3"
        ),
        [],
    )?;
    tx.execute(
        "INSERT INTO settings (key, value) SELECT 'last_vote_ms', CAST(max(created_at) AS TEXT)
         FROM votes WHERE flags = 0 HAVING count(*) > 0
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [],
    )?;
    invalidate_elo(tx)?;
    mark_current(tx)?;
    bump_version(tx)
}

impl SqliteStore {
    /// The counts of the votes that pass `filter`, over the models they name: the running
    /// counts, plus the left-out votes that `filter.admit` lets in, read through their index.
    pub(super) async fn pair_counts(&self, filter: CountFilter) -> Result<PairCounts> {
        self.read(move |conn| {
            let names = model_names(conn)?;
            let mut tally = PairTally::new(&names, filter.models.as_deref());
            let by_day = filter.since_day.is_some() || filter.until_day.is_some();
            let sql = if by_day {
                "SELECT model_a, model_b, sum(wins_a), sum(wins_b), sum(ties), sum(both_bad),
                        sum(skips)
                 FROM pair_days WHERE day >= ?1 AND day < ?2 GROUP BY model_a, model_b"
            } else {
                "SELECT model_a, model_b, wins_a, wins_b, ties, both_bad, skips
                 FROM pair_totals WHERE ?1 <= ?2"
            };
            let (since_day, until_day) = (
                filter.since_day.unwrap_or(i64::MIN),
                filter.until_day.unwrap_or(i64::MAX),
            );
            let mut stmt = conn.prepare(sql).map_err(db)?;
            let mut rows = stmt.query(params![since_day, until_day]).map_err(db)?;
            while let Some(row) = rows.next().map_err(db)? {
                let get = |i: usize| row.get::<_, i64>(i).map_err(db);
                let counts = [get(2)?, get(3)?, get(4)?, get(5)?, get(6)?];
                tally.add_counts(get(0)?, get(1)?, counts);
            }
            if !filter.admit.is_empty() {
                let excluded = VoteFlags::ALL_BITS.without(filter.admit);
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT model_a, model_b, outcome FROM votes
                         WHERE flags <> 0 AND flags & ?1 = 0
                           AND created_at >= ?2 AND created_at < ?3",
                    )
                    .map_err(db)?;
                let ms = |day: i64| day.saturating_mul(DAY_MS);
                let mut rows = stmt
                    .query(params![excluded.bits(), ms(since_day), ms(until_day)])
                    .map_err(db)?;
                while let Some(row) = rows.next().map_err(db)? {
                    let (a, b, o): (i64, i64, i64) = (
                        row.get(0).map_err(db)?,
                        row.get(1).map_err(db)?,
                        row.get(2).map_err(db)?,
                    );
                    if let Some(winner) = Winner::from_code(o) {
                        tally.add_vote(a, b, winner);
                    }
                }
            }
            Ok(tally.finish())
        })
        .await
    }

    /// How many votes `filter` would take but leaves out, by the reasons it does not admit:
    /// a read of the left-out votes alone, through their index.
    pub(super) async fn left_out(&self, filter: VoteFilter) -> Result<LeftOutCounts> {
        self.read(move |conn| {
            let allowed: Option<std::collections::HashSet<i64>> = match &filter.models {
                None => None,
                Some(m) => Some(
                    model_names(conn)?
                        .into_iter()
                        .filter(|(_, n)| m.contains(n))
                        .map(|(id, _)| id)
                        .collect(),
                ),
            };
            let mut sql = String::from(
                "SELECT flags, model_a, model_b FROM votes
                 WHERE flags <> 0 AND created_at >= ? AND created_at < ?
                   AND (? IS NULL OR battle_id IN (SELECT id FROM battles WHERE theme = ?))",
            );
            let mut values: Vec<rusqlite::types::Value> = vec![
                filter.since.unwrap_or(i64::MIN).into(),
                filter.until.unwrap_or(i64::MAX).into(),
                filter.theme.clone().into(),
                filter.theme.clone().into(),
            ];
            for (t, v) in super::style::category_terms(conn, &filter, "id")? {
                sql.push_str(" AND ");
                sql.push_str(&t);
                values.push(v);
            }
            let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(db)?;
            let mut out = LeftOutCounts::default();
            while let Some(row) = rows.next().map_err(db)? {
                let (flags, a, b): (i64, i64, i64) = (
                    row.get(0).map_err(db)?,
                    row.get(1).map_err(db)?,
                    row.get(2).map_err(db)?,
                );
                if allowed
                    .as_ref()
                    .is_some_and(|s| !s.contains(&a) || !s.contains(&b))
                {
                    continue;
                }
                out.add(VoteFlags::from_bits(flags).without(filter.admit), 1);
            }
            Ok(out)
        })
        .await
    }

    /// The running online Elo ratings by model name, when they are current for `params`
    /// (after an import they are not, until the next vote replays the votes).
    pub(super) async fn elo_ratings(
        &self,
        params: EloParams,
    ) -> Result<Option<HashMap<String, f64>>> {
        self.read(move |conn| {
            let state: Option<String> = conn
                .query_row(
                    "SELECT value FROM settings WHERE key = 'elo_state'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if state.as_deref() != Some(elo_fingerprint(&params).as_str()) {
                return Ok(None);
            }
            let mut stmt = conn
                .prepare(
                    "SELECT m.name, e.rating FROM elo_ratings e JOIN models m ON m.id = e.model",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(db)?;
            Ok(Some(rows.collect::<rusqlite::Result<_>>().map_err(db)?))
        })
        .await
    }

    /// Whether the counts hold every vote: not while an import runs, nor after one was cut
    /// short until a writer rebuilds them.
    pub(super) async fn counts_current(&self) -> Result<bool> {
        self.read(|conn| current(conn).map_err(db)).await
    }

    /// A number that changes with every vote, import and rebuild.
    pub(super) async fn votes_version(&self) -> Result<i64> {
        self.read(|conn| {
            conn.query_row(
                "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'votes_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(db)
        })
        .await
    }

    /// Recomputes every count from the votes table, and the online Elo ratings with
    /// `params`.
    pub(super) async fn rebuild(&self, params: EloParams) -> Result<()> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            rebuild(&tx).map_err(db)?;
            ensure_elo(&tx, &params).map_err(db)?;
            // Votes that came with their ids (a copy from another database) have no packs.
            let newest = super::style::newest_vote(&tx).map_err(db)?;
            super::packs::catch_up(&tx, newest, super::packs::Catch::All).map_err(db)?;
            tx.commit().map_err(db)
        })
        .await
    }
}
