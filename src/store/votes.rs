//! Votes: recording one (atomically with the battle's new status) and reading them back in
//! vote order or as per-model totals for the ratings.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::battles::{Failure, read, user_id};
use super::{Store, counts, db, now_ms};
use crate::battle::identity::{IdentityLeak, IdentityTerms};
use crate::battle::{BattleId, BattleRecord, Origin, Status, VoteFlags, Winner};
use crate::error::{Error, Result};
use crate::rating::elo::{self, EloParams};
use crate::rating::{VoteRow, Votes};

/// Which votes to read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct VoteFilter {
    /// Unix milliseconds, inclusive.
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    pub until: Option<i64>,
    /// Only battles of this prompt theme.
    pub theme: Option<String>,
    /// Only votes between models of this set (e.g. one tier).
    pub models: Option<Vec<String>>,
    /// Left-out votes taken as well, by their reasons (none: only votes that count).
    pub admit: VoteFlags,
    /// Only votes in every one of these categories (see `style`).
    pub categories: Vec<String>,
    /// No vote in any of these categories.
    pub exclude_categories: Vec<String>,
}

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

/// What recording a vote did: the completed battle (with why its vote is left out of the
/// ratings, if it is), and the online Elo ratings of its two models before and after the
/// vote (at the end of the history, which is where a vote cast now stands; unchanged for a
/// vote left out).
#[derive(Debug, Clone)]
pub struct VoteOutcome {
    pub record: BattleRecord,
    pub elo_a: (f64, f64),
    pub elo_b: (f64, f64),
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

impl Store {
    /// Records the vote on a battle in `pending_vote` and completes it, in one transaction
    /// with the running counts and Elo ratings (`params`). A battle that is not `pending_vote`
    /// is refused with the error that says why, and nothing changes; so is a vote by anyone
    /// but the battle's creator, when it has one. The work does not grow with the number of
    /// votes (except once after an import, when the Elo ratings are replayed). The answers
    /// are not checked for model names: see [`Store::record_vote_checked`].
    pub async fn record_vote(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
    ) -> Result<VoteOutcome> {
        self.record_vote_checked(id, winner, user_hash, params, IdentityTerms::default())
            .await
    }

    /// [`Store::record_vote`], the battle's answers (every turn of both sides) checked for
    /// `terms` and the names of its own models first: a battle whose answers name a model
    /// keeps the words, and its vote is recorded but left out of the counts and Elo, in the
    /// same transaction.
    pub async fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> Result<VoteOutcome> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
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
                return Err(Error::NotFound(format!("no battle `{id}`")));
            };
            match status.parse::<Status>()? {
                Status::PendingVote => {}
                Status::Completed => return Err(Error::AlreadyVoted(id)),
                Status::PendingGeneration => return Err(Error::StillGenerating(id)),
                Status::Failed => {
                    let expired = failure.as_deref() == Some(Failure::Expired.as_str())
                        || error.as_deref() == Some(super::battles::EXPIRED);
                    if expired {
                        return Err(Error::Expired(id));
                    }
                    let reason = error
                        .as_deref()
                        .map_or_else(|| "it failed".to_owned(), crate::provider::blind);
                    return Err(Error::BattleFailed { id, reason });
                }
            }
            // A battle started by a user takes that user's vote only; looking the user up
            // never adds one.
            if let Some(owner) = owner {
                let voter: Option<i64> = match &user_hash {
                    None => None,
                    Some(h) => tx
                        .prepare_cached("SELECT id FROM users WHERE hash = ?1")
                        .map_err(db)?
                        .query_row([h], |r| r.get(0))
                        .optional()
                        .map_err(db)?,
                };
                if voter != Some(owner) {
                    return Err(Error::NotOwner(id));
                }
            }
            let user = user_id(&tx, user_hash.as_deref()).map_err(db)?;
            let now = now_ms();
            let leak = identity_leak(&tx, row_id, a, b, &terms)?;
            let mut flags = if leak.is_some() {
                VoteFlags::IDENTITY_LEAK
            } else {
                VoteFlags::NONE
            };
            // Decided here, whichever path the vote takes (the page's API or `/vote`).
            if Origin::parse(&origin).is_named() {
                flags = flags.union(VoteFlags::NAMED);
            }
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
            counts::bump_version(&tx).map_err(db)?;
            if flags.is_empty() {
                let mut tally = counts::Tally::default();
                tally.add(a, b, winner, now);
                tally.store(&tx).map_err(db)?;
            }
            let after = if !flags.is_empty() {
                // Kept, but in no count and no rating.
                before
            } else if counts::note_time(&tx, now).map_err(db)? {
                let mut pair = [before.0, before.1];
                if let Some(score) = winner.score_a() {
                    elo::update(&mut pair, 0, 1, score, &params);
                }
                counts::set_elo(&tx, a, pair[0]).map_err(db)?;
                counts::set_elo(&tx, b, pair[1]).map_err(db)?;
                (pair[0], pair[1])
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
    pub async fn votes(&self, filter: VoteFilter) -> Result<Votes> {
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

impl Store {
    /// The votes that count (and the left-out ones `admit` takes) inserted after the vote with
    /// row id `after`, in insertion order, over every model (indexed as in `names`, which
    /// lists every model by id), and the last row id (left-out votes included): what a rating
    /// kept vote by vote has not seen yet.
    pub async fn votes_after(&self, after: i64, admit: VoteFlags) -> Result<(Votes, i64)> {
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

/// A vote as exported, with every field that tells which vote it is, so that importing an
/// export adds nothing: `vote_id` (the battle's id for a vote cast here, the record's key for
/// an imported one), the battle, the log's `question_id`, and the vote's own time (none for
/// a vote imported without one); and why it is left out of the ratings, if it is, so that an
/// import keeps it out.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportedVote {
    pub vote_id: String,
    pub battle_id: Option<String>,
    pub model_a: String,
    pub model_b: String,
    pub winner: Winner,
    /// Unix seconds, as `tstamp` in battle logs.
    pub tstamp: Option<f64>,
    pub question_id: Option<String>,
    /// The reasons' names (`identity_leak`, ...); left out of the JSON when it counts.
    #[serde(skip_serializing_if = "VoteFlags::counts")]
    pub left_out: VoteFlags,
}

impl ExportedVote {
    /// The CSV columns, in the order of the JSON fields.
    pub const FIELDS: [&'static str; 8] = [
        "vote_id",
        "battle_id",
        "model_a",
        "model_b",
        "winner",
        "tstamp",
        "question_id",
        "left_out",
    ];

    /// The fields as CSV cells.
    #[must_use]
    pub fn cells(&self) -> [String; 8] {
        [
            self.vote_id.clone(),
            self.battle_id.clone().unwrap_or_default(),
            self.model_a.clone(),
            self.model_b.clone(),
            self.winner.as_str().to_owned(),
            self.tstamp.map(|t| t.to_string()).unwrap_or_default(),
            self.question_id.clone().unwrap_or_default(),
            self.left_out.names().join(","),
        ]
    }
}

impl Store {
    /// Hands every vote, in insertion order, to `sink`, then `None`, on the database thread:
    /// an export of millions of votes never sits in memory whole.
    pub async fn export_votes(
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

    /// Every vote that counts with the prompt and theme of its battle, for per-prompt
    /// statistics; with `pool_only`, only those of battles on a prompt of the pool (not a
    /// user's own).
    pub async fn prompt_votes(
        &self,
        pool_only: bool,
    ) -> Result<(Vec<String>, Vec<(String, String, VoteRow)>)> {
        self.read(move |conn| {
            let names = model_names(conn)?;
            let index: std::collections::HashMap<i64, u32> = names
                .iter()
                .enumerate()
                .map(|(i, (id, _))| (*id, u32::try_from(i).unwrap_or(u32::MAX)))
                .collect();
            // A prompt of the pool: drawn from it, or (imported battles name no prompt id)
            // one of its texts.
            let mut stmt = conn
                .prepare(
                    "SELECT b.prompt, b.theme, v.model_a, v.model_b, v.outcome
                     FROM votes v JOIN battles b ON b.id = v.battle_id
                     WHERE b.prompt <> '' AND v.flags = 0
                       AND (NOT ?1 OR b.prompt_id IS NOT NULL
                            OR b.prompt IN (SELECT text FROM prompts))
                     ORDER BY v.id",
                )
                .map_err(db)?;
            let mut rows = stmt.query([pool_only]).map_err(db)?;
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
