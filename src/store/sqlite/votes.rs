//! Votes: recording one (atomically with the battle's new status) and reading them back in
//! vote order or as per-model totals for the ratings.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::battles::{read, user_id};
use super::{SqliteStore, counts, db};
use crate::battle::identity::{IdentityLeak, IdentityTerms};
use crate::battle::lifecycle::{self, VoteTarget};
use crate::battle::{BattleId, Origin, Status, VoteFlags, Winner};
use crate::error::{Error, Result};
use crate::rating::elo::EloParams;
use crate::rating::{VoteRow, Votes};
use crate::store::{ExportedVote, Failure, PromptVotes, VoteFilter, VoteOutcome};

/// Every model's id and name, by id.
pub(super) fn model_names(conn: &rusqlite::Connection) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name FROM models ORDER BY id")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// The words of the battle's answers (every turn of both sides) that name a model: `terms`
/// with the names of the battle's own models `a` and `b`.
fn identity_leak(
    tx: &rusqlite::Transaction<'_>,
    battle: i64,
    a: i64,
    b: i64,
    terms: &IdentityTerms,
) -> Result<Option<IdentityLeak>> {
    let name = |id: i64| -> Result<String> {
        tx.prepare_cached("SELECT name FROM models WHERE id = ?1")
            .map_err(db)?
            .query_row([id], |r| r.get(0))
            .map_err(db)
    };
    let terms = terms.with_names([name(a)?.as_str(), name(b)?.as_str()]);
    if terms.is_empty() {
        return Ok(None);
    }
    let mut side_a: Vec<String> = Vec::new();
    let mut side_b: Vec<String> = Vec::new();
    let mut stmt = tx
        .prepare_cached(
            "SELECT response_a, response_b FROM battles WHERE id = ?1
             UNION ALL
             SELECT response_a, response_b FROM turns WHERE battle_id = ?1",
        )
        .map_err(db)?;
    let mut rows = stmt.query([battle]).map_err(db)?;
    while let Some(row) = rows.next().map_err(db)? {
        side_a.extend(row.get::<_, Option<String>>(0).map_err(db)?);
        side_b.extend(row.get::<_, Option<String>>(1).map_err(db)?);
    }
    Ok(terms.matcher().check(
        side_a.iter().map(String::as_str),
        side_b.iter().map(String::as_str),
    ))
}

/// The battle `id` as a vote finds it (its row id, models and origin), once
/// [`lifecycle::vote_allowed`] allows the vote of the user with `user_hash`: read in the
/// vote's transaction.
fn vote_target(
    tx: &rusqlite::Transaction<'_>,
    id: BattleId,
    user_hash: Option<&str>,
) -> Result<(i64, i64, i64, String)> {
    type Found = (
        i64,
        String,
        i64,
        i64,
        Option<String>,
        Option<i64>,
        Option<String>,
        String,
    );
    let found: Option<Found> = tx
        .prepare_cached(
            "SELECT b.id, b.status, b.model_a, b.model_b, coalesce(b.error_a, b.error_b),
                    b.user_id, b.failure, b.origin
             FROM battles b WHERE b.uuid = ?1",
        )
        .map_err(db)?
        .query_row([id.as_bytes().as_slice()], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .optional()
        .map_err(db)?;
    let Some((row_id, status, a, b, error, owner, failure, origin)) = found else {
        return Err(Error::BattleNotFound(format!("no battle `{id}`")));
    };
    // A battle started by a user takes that user's vote only; looking the user up
    // never adds one.
    let by_owner = match owner {
        None => None,
        Some(owner) => {
            let voter: Option<i64> = match user_hash {
                None => None,
                Some(h) => tx
                    .prepare_cached("SELECT id FROM users WHERE hash = ?1")
                    .map_err(db)?
                    .query_row([h], |r| r.get(0))
                    .optional()
                    .map_err(db)?,
            };
            Some(voter == Some(owner))
        }
    };
    lifecycle::vote_allowed(
        id,
        &VoteTarget {
            status: status.parse::<Status>()?,
            failure: failure.as_deref().and_then(Failure::parse),
            error: error.as_deref(),
            by_owner,
        },
    )?;
    Ok((row_id, a, b, origin))
}

impl SqliteStore {
    /// Records the vote in one `BEGIN IMMEDIATE` transaction with the battle's new status,
    /// the running counts and online Elo: the one writer and the transaction make two votes
    /// on one battle one vote and a refusal.
    pub(super) async fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> Result<VoteOutcome> {
        self.write_now(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let (row_id, a, b, origin) = vote_target(&tx, id, user_hash.as_deref())?;
            let user = user_id(&tx, user_hash.as_deref(), now).map_err(db)?;
            let leak = identity_leak(&tx, row_id, a, b, &terms)?;
            let flags = lifecycle::vote_flags(leak.is_some(), Origin::parse(&origin));
            if let Some(leak) = &leak {
                let words = serde_json::to_string(leak)
                    .map_err(|e| Error::Internal(format!("identity leak words: {e}")))?;
                tx.prepare_cached("UPDATE battles SET identity_leak = ?2 WHERE id = ?1")
                    .map_err(db)?
                    .execute(params![row_id, words])
                    .map_err(db)?;
            }
            counts::ensure_elo(&tx, &params).map_err(db)?;
            let before = (
                counts::elo_of(&tx, a, &params).map_err(db)?,
                counts::elo_of(&tx, b, &params).map_err(db)?,
            );
            tx.prepare_cached(
                "INSERT INTO votes (battle_id, model_a, model_b, outcome, user_id, created_at,
                                    flags)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db)?
            .execute(params![
                row_id,
                a,
                b,
                winner.code(),
                user,
                now,
                flags.bits()
            ])
            .map_err(db)?;
            let vote_id = tx.last_insert_rowid();
            super::style::keep_for_vote(&tx, vote_id, row_id)?;
            // A vote's share of packing: the block it completed, or one an older database
            // has not packed yet.
            super::packs::catch_up(&tx, vote_id, super::packs::Catch::Next).map_err(db)?;
            counts::bump_version(&tx).map_err(db)?;
            if flags.is_empty() {
                let mut tally = crate::store::tally::Tally::default();
                tally.add(a, b, winner, now);
                counts::store_tally(tally, &tx).map_err(db)?;
            }
            let after = if !flags.is_empty() {
                // Kept, but in no count and no rating.
                before
            } else if counts::note_time(&tx, now).map_err(db)? {
                let after = lifecycle::elo_after(before, winner, &params);
                counts::set_elo(&tx, a, after.0).map_err(db)?;
                counts::set_elo(&tx, b, after.1).map_err(db)?;
                after
            } else {
                // Votes later than now exist (an import with future times): replay.
                counts::invalidate_elo(&tx).map_err(db)?;
                counts::ensure_elo(&tx, &params).map_err(db)?;
                (
                    counts::elo_of(&tx, a, &params).map_err(db)?,
                    counts::elo_of(&tx, b, &params).map_err(db)?,
                )
            };
            // Kept, so that the same result asked again is answered with the same reveal.
            tx.prepare_cached(
                "UPDATE votes SET elo_a_before = ?2, elo_a_after = ?3, elo_b_before = ?4,
                                  elo_b_after = ?5
                 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params![vote_id, before.0, after.0, before.1, after.1])
            .map_err(db)?;
            tx.prepare_cached(
                "UPDATE battles SET status = 'completed', updated_at = ?2 WHERE id = ?1",
            )
            .map_err(db)?
            .execute(params![row_id, now])
            .map_err(db)?;
            let record = read(&tx, id)?;
            tx.commit().map_err(db)?;
            Ok(VoteOutcome {
                record,
                elo_a: (before.0, after.0),
                elo_b: (before.1, after.1),
            })
        })
        .await
    }

    /// Votes in vote order (by time, then by insertion), filtered: for the methods and
    /// filters that the counts cannot answer. It reads every vote.
    pub(super) async fn votes(&self, filter: VoteFilter) -> Result<Votes> {
        self.read(move |conn| {
            let names = model_names(conn)?;
            // Model ids are small and dense: index them through a vector.
            let max_id = names.iter().map(|(id, _)| *id).max().unwrap_or(0);
            let mut index = vec![u32::MAX; usize::try_from(max_id + 1).unwrap_or(0)];
            for (i, (id, name)) in names.iter().enumerate() {
                let allowed = filter.models.as_ref().is_none_or(|m| m.contains(name));
                if allowed
                    && let Some(slot) = usize::try_from(*id).ok().and_then(|id| index.get_mut(id))
                {
                    *slot = u32::try_from(i).unwrap_or(u32::MAX);
                }
            }
            // Only the filters in use enter the query: the scan runs a million times.
            let mut sql = String::from(
                "SELECT model_a, model_b, outcome, created_at, import_key IS NOT NULL FROM votes",
            );
            let mut terms: Vec<&str> = Vec::new();
            let mut values: Vec<rusqlite::types::Value> = Vec::new();
            let mut term = |t: &'static str, v: rusqlite::types::Value| {
                terms.push(t);
                values.push(v);
            };
            if let Some(t) = filter.since {
                term("created_at >= ?", t.into());
            }
            if let Some(t) = filter.until {
                term("created_at < ?", t.into());
            }
            if let Some(theme) = filter.theme.clone() {
                term(
                    "battle_id IN (SELECT id FROM battles WHERE theme = ?)",
                    theme.into(),
                );
            }
            // Only the votes that count, and the left-out ones admitted.
            term(
                "flags & ? = 0",
                VoteFlags::ALL_BITS.without(filter.admit).bits().into(),
            );
            let mut terms: Vec<String> = terms.into_iter().map(str::to_owned).collect();
            for (t, v) in super::style::category_terms(conn, &filter, "id")? {
                terms.push(t);
                values.push(v);
            }
            if !terms.is_empty() {
                sql.push_str(" WHERE ");
                sql.push_str(&terms.join(" AND "));
            }
            let mut stmt = conn.prepare(&sql).map_err(db)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(db)?;
            let mut votes = Vec::new();
            let mut times = Vec::new();
            let mut imported = Vec::new();
            let look = |id: i64| {
                usize::try_from(id)
                    .ok()
                    .and_then(|i| index.get(i).copied())
                    .filter(|&i| i != u32::MAX)
            };
            while let Some(row) = rows.next().map_err(db)? {
                let (a, b, outcome, at, from_import): (i64, i64, i64, i64, bool) = (
                    row.get(0).map_err(db)?,
                    row.get(1).map_err(db)?,
                    row.get(2).map_err(db)?,
                    row.get(3).map_err(db)?,
                    row.get(4).map_err(db)?,
                );
                let (Some(a), Some(b), Some(winner)) =
                    (look(a), look(b), Winner::from_code(outcome))
                else {
                    continue;
                };
                votes.push(VoteRow {
                    model_a: a,
                    model_b: b,
                    winner,
                });
                times.push(at);
                imported.push(from_import);
            }
            let mut all = Votes {
                names: names.into_iter().map(|(_, n)| n).collect(),
                votes,
                times,
                imported,
            };
            all.sort_by_time();
            Ok(all)
        })
        .await
    }
}

impl SqliteStore {
    /// The votes that count (and the left-out ones `admit` takes) inserted after the vote with
    /// row id `after`, in insertion order, over every model (indexed as in `names`, which
    /// lists every model by id), and the last row id (left-out votes included): what a rating
    /// kept vote by vote has not seen yet.
    pub(super) async fn votes_after(&self, after: i64, admit: VoteFlags) -> Result<(Votes, i64)> {
        let excluded = VoteFlags::ALL_BITS.without(admit).bits();
        self.read(move |conn| {
            let names = model_names(conn)?;
            let position: HashMap<i64, u32> = names
                .iter()
                .enumerate()
                .filter_map(|(i, (id, _))| Some((*id, u32::try_from(i).ok()?)))
                .collect();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, model_a, model_b, outcome, created_at, import_key IS NOT NULL,
                            flags
                     FROM votes WHERE id > ?1 ORDER BY id",
                )
                .map_err(db)?;
            // Sized first: a million votes are held without the slack of growing vectors.
            let count: i64 = conn
                .prepare_cached("SELECT count(*) FROM votes WHERE id > ?1")
                .map_err(db)?
                .query_row(params![after], |r| r.get(0))
                .map_err(db)?;
            let count = usize::try_from(count).unwrap_or(0);
            let mut rows = stmt.query(params![after]).map_err(db)?;
            let mut last = after;
            let (mut votes, mut times, mut imported) = (
                Vec::with_capacity(count),
                Vec::with_capacity(count),
                Vec::with_capacity(count),
            );
            while let Some(row) = rows.next().map_err(db)? {
                let (id, a, b, outcome, at, from_import): (i64, i64, i64, i64, i64, bool) = (
                    row.get(0).map_err(db)?,
                    row.get(1).map_err(db)?,
                    row.get(2).map_err(db)?,
                    row.get(3).map_err(db)?,
                    row.get(4).map_err(db)?,
                    row.get(5).map_err(db)?,
                );
                last = id;
                if row.get::<_, i64>(6).map_err(db)? & excluded != 0 {
                    continue;
                }
                let (Some(&a), Some(&b), Some(winner)) = (
                    position.get(&a),
                    position.get(&b),
                    Winner::from_code(outcome),
                ) else {
                    continue;
                };
                votes.push(VoteRow {
                    model_a: a,
                    model_b: b,
                    winner,
                });
                times.push(at);
                imported.push(from_import);
            }
            Ok((
                Votes {
                    names: names.into_iter().map(|(_, n)| n).collect(),
                    votes,
                    times,
                    imported,
                },
                last,
            ))
        })
        .await
    }
}

impl SqliteStore {
    /// Hands every vote, in insertion order, to `sink`, then `None`, on the database thread:
    /// an export of millions of votes never sits in memory whole.
    pub(super) async fn export_votes(
        &self,
        mut sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> Result<u64> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT b.uuid, ma.name, mb.name, v.outcome, v.created_at, v.import_key,
                            v.time_known, v.question_id, v.id, v.flags
                     FROM votes v
                     JOIN models ma ON ma.id = v.model_a
                     JOIN models mb ON mb.id = v.model_b
                     LEFT JOIN battles b ON b.id = v.battle_id
                     ORDER BY v.id",
                )
                .map_err(db)?;
            let mut rows = stmt.query([]).map_err(db)?;
            let mut n = 0;
            while let Some(row) = rows.next().map_err(db)? {
                let uuid: Option<Vec<u8>> = row.get(0).map_err(db)?;
                let outcome: i64 = row.get(3).map_err(db)?;
                let Some(winner) = Winner::from_code(outcome) else {
                    continue;
                };
                let at: i64 = row.get(4).map_err(db)?;
                let key: Option<i64> = row.get(5).map_err(db)?;
                let time_known: bool = row.get(6).map_err(db)?;
                let battle_id = uuid
                    .and_then(|u| uuid::Uuid::from_slice(&u).ok())
                    .map(|u| u.to_string());
                let vote_id = match (key, &battle_id) {
                    (Some(k), _) => format!("{:016x}", u64::from_ne_bytes(k.to_ne_bytes())),
                    (None, Some(b)) => b.clone(),
                    // An imported vote from before keys were stored: unique in this database.
                    (None, None) => format!("row-{}", row.get::<_, i64>(8).map_err(db)?),
                };
                #[allow(clippy::cast_precision_loss)]
                sink(Some(ExportedVote {
                    vote_id,
                    battle_id,
                    model_a: row.get(1).map_err(db)?,
                    model_b: row.get(2).map_err(db)?,
                    winner,
                    tstamp: time_known.then(|| at as f64 / 1000.0),
                    question_id: row.get(7).map_err(db)?,
                    left_out: VoteFlags::from_bits(row.get(9).map_err(db)?),
                }))?;
                n += 1;
            }
            sink(None)?;
            Ok(n)
        })
        .await
    }

    /// Every vote of `filter` with the prompt and theme of its battle, for per-prompt
    /// statistics; with `pool_only`, only those of battles on a prompt of the pool (not a
    /// user's own).
    pub(super) async fn prompt_votes(
        &self,
        pool_only: bool,
        filter: VoteFilter,
    ) -> Result<PromptVotes> {
        self.read(move |conn| {
            let names = model_names(conn)?;
            let allowed = |name: &String| filter.models.as_ref().is_none_or(|m| m.contains(name));
            let index: std::collections::HashMap<i64, u32> = names
                .iter()
                .enumerate()
                .filter(|(_, (_, name))| allowed(name))
                .map(|(i, (id, _))| (*id, u32::try_from(i).unwrap_or(u32::MAX)))
                .collect();
            // A prompt of the pool: drawn from it, or (imported battles name no prompt id)
            // one of its texts. The votes that count, or with a filter those it selects.
            let mut values: Vec<rusqlite::types::Value> = Vec::new();
            let votes = if filter == VoteFilter::default() {
                "v.flags = 0".to_owned()
            } else {
                let (sql, more) = super::style::select(conn, &filter, "id")?;
                values.extend(more);
                format!("v.id IN ({sql})")
            };
            values.push(pool_only.into());
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT b.prompt, b.theme, v.model_a, v.model_b, v.outcome
                     FROM votes v JOIN battles b ON b.id = v.battle_id
                     WHERE b.prompt <> '' AND {votes}
                       AND (NOT ? OR b.prompt_id IS NOT NULL
                            OR b.prompt IN (SELECT text FROM prompts))
                     ORDER BY v.id"
                ))
                .map_err(db)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(db)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db)? {
                let a: i64 = row.get(2).map_err(db)?;
                let b: i64 = row.get(3).map_err(db)?;
                let o: i64 = row.get(4).map_err(db)?;
                if let (Some(&a), Some(&b), Some(winner)) =
                    (index.get(&a), index.get(&b), Winner::from_code(o))
                {
                    out.push((
                        row.get(0).map_err(db)?,
                        row.get(1).map_err(db)?,
                        VoteRow {
                            model_a: a,
                            model_b: b,
                            winner,
                        },
                    ));
                }
            }
            Ok((names.into_iter().map(|(_, n)| n).collect(), out))
        })
        .await
    }
}
