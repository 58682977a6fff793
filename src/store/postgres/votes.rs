//! Votes: recording one (atomically with the battle's new status, the running counts and
//! online Elo, under the battle's row lock) and reading them back.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::battles::{read, user_id_at};
use super::{PgStore, cached, col, counts, locks, pg};
use crate::battle::identity::{IdentityLeak, IdentityTerms};
use crate::battle::lifecycle::{self, VoteTarget};
use crate::battle::{BattleId, Origin, Status, VoteFlags, Winner};
use crate::error::{Error, Result};
use crate::rating::elo::EloParams;
use crate::rating::{VoteRow, Votes};
use crate::store::{ExportedVote, Failure, PromptVotes, VoteFilter, VoteOutcome};

/// Every model's id and name, by id.
pub(super) async fn model_names(conn: &impl GenericClient) -> Result<Vec<(i64, String)>> {
    let rows = conn
        .query("SELECT id, name FROM models ORDER BY id", &[])
        .await
        .map_err(pg)?;
    rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
}

/// A filter's SQL terms and values, numbered from `$1`.
#[derive(Default)]
pub(super) struct Terms {
    pub terms: Vec<String>,
    pub values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Terms {
    /// Adds a term whose `$` stands for the next parameter.
    pub(super) fn push(&mut self, term: &str, value: Box<dyn ToSql + Sync + Send>) {
        self.values.push(value);
        let n = self.values.len();
        self.terms.push(term.replace('$', &format!("${n}")));
    }

    pub(super) fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    pub(super) fn clause(&self) -> String {
        if self.terms.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.terms.join(" AND "))
        }
    }
}

/// The terms of a vote filter (time, theme, flags, categories) on `votes`.
pub(super) async fn filter_terms(conn: &impl GenericClient, filter: &VoteFilter) -> Result<Terms> {
    let mut t = Terms::default();
    if let Some(since) = filter.since {
        t.push("created_at >= $", Box::new(since));
    }
    if let Some(until) = filter.until {
        t.push("created_at < $", Box::new(until));
    }
    if let Some(theme) = filter.theme.clone() {
        t.push(
            "battle_id IN (SELECT id FROM battles WHERE theme = $)",
            Box::new(theme),
        );
    }
    t.push(
        "flags & $ = 0",
        Box::new(VoteFlags::ALL_BITS.without(filter.admit).bits()),
    );
    super::style::category_terms(conn, filter, &mut t).await?;
    Ok(t)
}

/// The words of the battle's answers (every turn of both sides) that name a model.
async fn identity_leak(
    tx: &impl GenericClient,
    battle: i64,
    names: (&str, &str),
    terms: &IdentityTerms,
) -> Result<Option<IdentityLeak>> {
    let terms = terms.with_names([names.0, names.1]);
    if terms.is_empty() {
        return Ok(None);
    }
    let rows = cached::rows(
        tx,
        "SELECT response_a, response_b FROM battles WHERE id = $1
         UNION ALL
         SELECT response_a, response_b FROM turns WHERE battle_id = $1",
        &[&battle],
    )
    .await?;
    let mut side_a: Vec<String> = Vec::new();
    let mut side_b: Vec<String> = Vec::new();
    for row in &rows {
        side_a.extend(col::<Option<String>>(row, 0)?);
        side_b.extend(col::<Option<String>>(row, 1)?);
    }
    Ok(terms.matcher().check(
        side_a.iter().map(String::as_str),
        side_b.iter().map(String::as_str),
    ))
}

/// The battle `id` as a vote finds it (its row id, models, origin and model names), locked
/// for the vote's transaction, once [`lifecycle::vote_allowed`] allows the vote of the user
/// with `user_hash`.
async fn vote_target(
    tx: &impl GenericClient,
    id: BattleId,
    user_hash: Option<&str>,
) -> Result<(i64, i64, i64, String, (String, String))> {
    let found = cached::opt(
        tx,
        "SELECT b.id, b.status, b.model_a, b.model_b, coalesce(b.error_a, b.error_b),
                b.user_id, b.failure, b.origin, ma.name, mb.name
         FROM battles b
         JOIN models ma ON ma.id = b.model_a
         JOIN models mb ON mb.id = b.model_b
         WHERE b.uuid = $1
         FOR UPDATE OF b",
        &[&id.as_bytes().as_slice()],
    )
    .await?;
    let Some(found) = found else {
        return Err(Error::BattleNotFound(format!("no battle `{id}`")));
    };
    let row_id: i64 = col(&found, 0)?;
    let status: String = col(&found, 1)?;
    let (a, b): (i64, i64) = (col(&found, 2)?, col(&found, 3)?);
    let error: Option<String> = col(&found, 4)?;
    let owner: Option<i64> = col(&found, 5)?;
    let failure: Option<String> = col(&found, 6)?;
    let origin: String = col(&found, 7)?;
    let (name_a, name_b): (String, String) = (col(&found, 8)?, col(&found, 9)?);
    // A battle started by a user takes that user's vote only; looking the user up never
    // adds one.
    let by_owner = match owner {
        None => None,
        Some(owner) => {
            let voter: Option<i64> = match user_hash {
                None => None,
                Some(h) => {
                    match cached::opt(tx, "SELECT id FROM users WHERE hash = $1", &[&h]).await? {
                        Some(r) => Some(col(&r, 0)?),
                        None => None,
                    }
                }
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
    Ok((row_id, a, b, origin, (name_a, name_b)))
}

/// The vote's row, timed `at` until its ratings are held; returns its id.
async fn insert_vote(
    tx: &impl GenericClient,
    battle: i64,
    (a, b): (i64, i64),
    winner: Winner,
    user: Option<i64>,
    at: i64,
    flags: VoteFlags,
) -> Result<i64> {
    let row = cached::one(
        tx,
        "INSERT INTO votes (battle_id, model_a, model_b, outcome, user_id, created_at, flags)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         RETURNING id",
        &[&battle, &a, &b, &winner.code(), &user, &at, &flags.bits()],
    )
    .await?;
    col(&row, 0)
}

/// A vote's last writes, once its ratings are known.
struct Finished {
    vote: i64,
    battle: i64,
    pair: (i64, i64),
    winner: Winner,
    /// Whether the vote goes into the counts and ratings.
    counts: bool,
    /// Whether its ratings are to be set (not when a replay set them).
    rated: bool,
    now: i64,
    before: (f64, f64),
    after: (f64, f64),
}

/// Writes the vote's ratings, counts, version, its kept reveal and its battle's end. They
/// touch separate rows: sent together, they are answered in one round trip.
async fn finish_vote(tx: &impl GenericClient, f: &Finished) -> Result<()> {
    let (a, b) = f.pair;
    futures_util::try_join!(
        async {
            match f.rated {
                true => counts::set_elo(tx, ((a, f.after.0), (b, f.after.1))).await,
                false => Ok(()),
            }
        },
        async {
            if !f.counts {
                return Ok(());
            }
            let mut tally = crate::store::tally::Tally::default();
            tally.add(a, b, f.winner, f.now);
            counts::store_tally(tally, tx).await
        },
        counts::bump_version(tx),
        // Kept, so that the same result asked again is answered with the same reveal.
        async {
            cached::exec(
                tx,
                "UPDATE votes SET created_at = $2, elo_a_before = $3, elo_a_after = $4,
                                  elo_b_before = $5, elo_b_after = $6
                 WHERE id = $1",
                &[
                    &f.vote,
                    &f.now,
                    &f.before.0,
                    &f.after.0,
                    &f.before.1,
                    &f.after.1,
                ],
            )
            .await
        },
        async {
            cached::exec(
                tx,
                "UPDATE battles SET status = 'completed', updated_at = $2 WHERE id = $1",
                &[&f.battle, &f.now],
            )
            .await
        },
    )?;
    Ok(())
}

impl PgStore {
    /// Records the vote in one transaction that first locks the battle's row: of two votes on
    /// one battle from any instances, the second waits, then finds the battle completed.
    pub(super) async fn record_vote_checked(
        &self,
        id: BattleId,
        winner: Winner,
        user_hash: Option<String>,
        params: EloParams,
        terms: IdentityTerms,
    ) -> Result<VoteOutcome> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let (row_id, a, b, origin, (name_a, name_b)) =
            vote_target(&tx, id, user_hash.as_deref()).await?;
        let user = user_id_at(&tx, user_hash.as_deref(), (self.clock)()).await?;
        let leak = identity_leak(&tx, row_id, (&name_a, &name_b), &terms).await?;
        let flags = lifecycle::vote_flags(leak.is_some(), Origin::parse(&origin));
        if let Some(leak) = &leak {
            let words = serde_json::to_string(leak)
                .map_err(|e| Error::Internal(format!("identity leak words: {e}")))?;
            tx.execute(
                "UPDATE battles SET identity_leak = $2 WHERE id = $1",
                &[&row_id, &words],
            )
            .await
            .map_err(pg)?;
        }
        let style = super::style::for_vote(&tx, row_id).await?;
        cached::exec(
            &tx,
            "SELECT pg_advisory_xact_lock_shared($1)",
            &[&locks::VOTE_IDS],
        )
        .await?;
        counts::ensure_elo(&tx, &params).await?;
        // The vote's row and its style, before its models' ratings are held: timed and rated
        // once they are.
        let vote_id = insert_vote(&tx, row_id, (a, b), winner, user, (self.clock)(), flags).await?;
        super::style::keep_for_vote(&tx, vote_id, &style).await?;
        // A vote that counts holds its two models' ratings until it commits: votes on pairs
        // that share a model take their Elo steps one after the other, each in a few round
        // trips.
        let (held, latest) = match flags.is_empty() {
            true => {
                let (ratings, latest) = counts::lock_elo(&tx, (a, b), vote_id, &params).await?;
                (Some(ratings), latest)
            }
            false => (None, None),
        };
        // Timed once the ratings are held, so that such votes are timed in the order they
        // take their steps, which is the order a replay takes them in.
        let now = (self.clock)();
        let in_order = held.is_some() && latest.is_none_or(|l| now >= l);
        let before = match held {
            Some(before) => before,
            None => (
                counts::elo_of(&tx, a, &params).await?,
                counts::elo_of(&tx, b, &params).await?,
            ),
        };
        let after = if !flags.is_empty() {
            // Kept, but in no count and no rating.
            before
        } else if in_order {
            lifecycle::elo_after(before, winner, &params)
        } else {
            // Votes later than now exist (an import with future times, another instance's
            // clock ahead): replay, this vote at its time included.
            cached::exec(
                &tx,
                "UPDATE votes SET created_at = $2 WHERE id = $1",
                &[&vote_id, &now],
            )
            .await?;
            counts::invalidate_elo(&tx).await?;
            counts::ensure_elo(&tx, &params).await?;
            (
                counts::elo_of(&tx, a, &params).await?,
                counts::elo_of(&tx, b, &params).await?,
            )
        };
        finish_vote(
            &tx,
            &Finished {
                vote: vote_id,
                battle: row_id,
                pair: (a, b),
                winner,
                counts: flags.is_empty(),
                rated: in_order,
                now,
                before,
                after,
            },
        )
        .await?;
        let record = read(&tx, id).await?;
        tx.commit().await.map_err(pg)?;
        Ok(VoteOutcome {
            record,
            elo_a: (before.0, after.0),
            elo_b: (before.1, after.1),
        })
    }

    /// Votes in vote order (by time, then by insertion), filtered.
    pub(super) async fn votes(&self, filter: VoteFilter) -> Result<Votes> {
        let client = self.client().await?;
        let names = model_names(&client).await?;
        let index: HashMap<i64, u32> = names
            .iter()
            .enumerate()
            .filter(|(_, (_, name))| filter.models.as_ref().is_none_or(|m| m.contains(name)))
            .filter_map(|(i, (id, _))| Some((*id, u32::try_from(i).ok()?)))
            .collect();
        let t = filter_terms(&client, &filter).await?;
        let sql = format!(
            "SELECT model_a, model_b, outcome, created_at, import_key IS NOT NULL FROM votes{}
             ORDER BY id",
            t.clause()
        );
        let rows = client.query(&sql, &t.params()).await.map_err(pg)?;
        let mut all = Votes {
            names: Vec::new(),
            votes: Vec::with_capacity(rows.len()),
            times: Vec::with_capacity(rows.len()),
            imported: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            let (a, b, outcome): (i64, i64, i64) = (col(row, 0)?, col(row, 1)?, col(row, 2)?);
            let (Some(&a), Some(&b), Some(winner)) =
                (index.get(&a), index.get(&b), Winner::from_code(outcome))
            else {
                continue;
            };
            all.votes.push(VoteRow {
                model_a: a,
                model_b: b,
                winner,
            });
            all.times.push(col(row, 3)?);
            all.imported.push(col(row, 4)?);
        }
        all.names = names.into_iter().map(|(_, n)| n).collect();
        all.sort_by_time();
        Ok(all)
    }

    /// The votes that count (and the left-out ones `admit` takes) inserted after the vote
    /// `after`, in insertion order, and the last vote's id.
    pub(super) async fn votes_after(&self, after: i64, admit: VoteFlags) -> Result<(Votes, i64)> {
        let excluded = VoteFlags::ALL_BITS.without(admit).bits();
        let mut client = self.client().await?;
        // Ids are taken as votes insert and appear as they commit, not always in id order
        // across connections: a vote with a lower id may still be in flight when a higher one
        // is read, and a caller that goes on from the highest id read would never see it.
        // Every transaction that inserts votes holds VOTE_IDS shared; taken exclusively here
        // for a moment, it waits for those in flight, so every vote up to `upto` is in.
        let upto: i64 = {
            let tx = client.transaction().await.map_err(pg)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::VOTE_IDS])
                .await
                .map_err(pg)?;
            let row = tx
                .query_one("SELECT coalesce(max(id), 0) FROM votes", &[])
                .await
                .map_err(pg)?;
            tx.commit().await.map_err(pg)?;
            col(&row, 0)?
        };
        let names = model_names(&client).await?;
        let position: HashMap<i64, u32> = names
            .iter()
            .enumerate()
            .filter_map(|(i, (id, _))| Some((*id, u32::try_from(i).ok()?)))
            .collect();
        let rows = client
            .query(
                "SELECT id, model_a, model_b, outcome, created_at, import_key IS NOT NULL, flags
                 FROM votes WHERE id > $1 AND id <= $2 ORDER BY id",
                &[&after, &upto],
            )
            .await
            .map_err(pg)?;
        let mut last = after;
        let mut votes = Votes {
            names: Vec::new(),
            votes: Vec::with_capacity(rows.len()),
            times: Vec::with_capacity(rows.len()),
            imported: Vec::with_capacity(rows.len()),
        };
        for row in &rows {
            last = col(row, 0)?;
            if col::<i64>(row, 6)? & excluded != 0 {
                continue;
            }
            let (a, b, outcome): (i64, i64, i64) = (col(row, 1)?, col(row, 2)?, col(row, 3)?);
            let (Some(&a), Some(&b), Some(winner)) = (
                position.get(&a),
                position.get(&b),
                Winner::from_code(outcome),
            ) else {
                continue;
            };
            votes.votes.push(VoteRow {
                model_a: a,
                model_b: b,
                winner,
            });
            votes.times.push(col(row, 4)?);
            votes.imported.push(col(row, 5)?);
        }
        votes.names = names.into_iter().map(|(_, n)| n).collect();
        Ok((votes, last))
    }

    /// Hands every vote, in insertion order, to `sink`, then `None`, reading them in pages so
    /// that an export of millions of votes never sits in memory whole.
    pub(super) async fn export_votes(
        &self,
        mut sink: Box<dyn FnMut(Option<ExportedVote>) -> Result<()> + Send>,
    ) -> Result<u64> {
        const PAGE: i64 = 10_000;
        let client = self.client().await?;
        let mut n = 0;
        let mut after = 0_i64;
        loop {
            let rows = client
                .query(
                    "SELECT b.uuid, ma.name, mb.name, v.outcome, v.created_at, v.import_key,
                            v.time_known, v.question_id, v.id, v.flags
                     FROM votes v
                     JOIN models ma ON ma.id = v.model_a
                     JOIN models mb ON mb.id = v.model_b
                     LEFT JOIN battles b ON b.id = v.battle_id
                     WHERE v.id > $1
                     ORDER BY v.id
                     LIMIT $2",
                    &[&after, &PAGE],
                )
                .await
                .map_err(pg)?;
            let Some(last) = rows.last() else { break };
            after = col(last, 8)?;
            for row in &rows {
                let uuid: Option<Vec<u8>> = col(row, 0)?;
                let Some(winner) = Winner::from_code(col(row, 3)?) else {
                    continue;
                };
                let at: i64 = col(row, 4)?;
                let key: Option<i64> = col(row, 5)?;
                let time_known: bool = col(row, 6)?;
                let battle_id = uuid
                    .and_then(|u| uuid::Uuid::from_slice(&u).ok())
                    .map(|u| u.to_string());
                let vote_id = match (key, &battle_id) {
                    (Some(k), _) => format!("{:016x}", u64::from_ne_bytes(k.to_ne_bytes())),
                    (None, Some(b)) => b.clone(),
                    (None, None) => format!("row-{}", col::<i64>(row, 8)?),
                };
                #[allow(clippy::cast_precision_loss)]
                sink(Some(ExportedVote {
                    vote_id,
                    battle_id,
                    model_a: col(row, 1)?,
                    model_b: col(row, 2)?,
                    winner,
                    tstamp: time_known.then(|| at as f64 / 1000.0),
                    question_id: col(row, 7)?,
                    left_out: VoteFlags::from_bits(col(row, 9)?),
                }))?;
                n += 1;
            }
        }
        sink(None)?;
        Ok(n)
    }

    /// Every vote that counts (or, with a filter, those it selects) with the prompt and
    /// theme of its battle.
    pub(super) async fn prompt_votes(
        &self,
        pool_only: bool,
        filter: VoteFilter,
    ) -> Result<PromptVotes> {
        let client = self.client().await?;
        let names = model_names(&client).await?;
        let allowed = |name: &String| filter.models.as_ref().is_none_or(|m| m.contains(name));
        let index: HashMap<i64, u32> = names
            .iter()
            .enumerate()
            .filter(|(_, (_, name))| allowed(name))
            .map(|(i, (id, _))| (*id, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let mut t = Terms::default();
        let votes = if filter == VoteFilter::default() {
            "v.flags = 0".to_owned()
        } else {
            t = filter_terms(&client, &filter).await?;
            format!("v.id IN (SELECT id FROM votes{})", t.clause())
        };
        let n = t.values.len() + 1;
        let mut params = t.params();
        params.push(&pool_only);
        let rows = client
            .query(
                &format!(
                    "SELECT b.prompt, b.theme, v.model_a, v.model_b, v.outcome
                     FROM votes v JOIN battles b ON b.id = v.battle_id
                     WHERE b.prompt <> '' AND {votes}
                       AND (NOT ${n} OR b.prompt_id IS NOT NULL
                            OR b.prompt IN (SELECT text FROM prompts))
                     ORDER BY v.id"
                ),
                &params,
            )
            .await
            .map_err(pg)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let (a, b, o): (i64, i64, i64) = (col(row, 2)?, col(row, 3)?, col(row, 4)?);
            if let (Some(&a), Some(&b), Some(winner)) =
                (index.get(&a), index.get(&b), Winner::from_code(o))
            {
                out.push((
                    col(row, 0)?,
                    col(row, 1)?,
                    VoteRow {
                        model_a: a,
                        model_b: b,
                        winner,
                    },
                ));
            }
        }
        Ok((names.into_iter().map(|(_, n)| n).collect(), out))
    }
}
