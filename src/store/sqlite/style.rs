//! Style features and categories of votes: kept once per vote, when it completes its battle
//! (from the battle's stored texts) or when it is imported (from the record's
//! `conv_metadata`, `category_tag` and `language`, or its conversations), and read back for
//! the style-controlled leaderboard and for filters by category.
//!
//! The features are one `style` blob on the vote (eight little-endian `u32`: tokens,
//! headers, list items and bold spans of side a, then of side b), so that the
//! style-controlled board reads them in the same pass over the votes as the outcomes.
//! Categories are names in `categories`, linked to votes by `vote_categories`.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params};

use super::votes::model_names;
use super::{SqliteStore, db, packs};
use crate::battle::{BattleId, VoteFlags};
use crate::error::Result;
use crate::rating::category::Conversation;
use crate::store::{StyledVotes, VoteFilter, VoteStyle};

pub(super) use crate::store::types::style_blob as blob;

/// Category ids by name, made as needed.
#[derive(Debug, Default)]
pub(super) struct CategoryIds(HashMap<String, i64>);

impl CategoryIds {
    fn id(&mut self, tx: &Connection, name: &str) -> rusqlite::Result<i64> {
        if let Some(&id) = self.0.get(name) {
            return Ok(id);
        }
        tx.prepare_cached(
            "INSERT INTO categories (name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
        )?
        .execute([name])?;
        let id: i64 = tx
            .prepare_cached("SELECT id FROM categories WHERE name = ?1")?
            .query_row([name], |r| r.get(0))?;
        self.0.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Links `vote` to its categories.
    pub(super) fn link(
        &mut self,
        tx: &Connection,
        vote: i64,
        categories: &[String],
    ) -> rusqlite::Result<()> {
        for name in categories {
            let id = self.id(tx, name)?;
            tx.prepare_cached(
                "INSERT INTO vote_categories (category, vote_id) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![id, vote])?;
        }
        Ok(())
    }
}

/// The texts of a battle: its user turns and each side's answers, in turn order.
pub(super) fn battle_texts(
    conn: &Connection,
    battle: i64,
) -> rusqlite::Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT prompt, response_a, response_b FROM (
             SELECT -1 AS turn, prompt, response_a, response_b FROM battles WHERE id = ?1
             UNION ALL
             SELECT turn, prompt, response_a, response_b FROM turns
             WHERE battle_id = ?1 AND turn > 0)
         ORDER BY turn",
    )?;
    let mut rows = stmt.query([battle])?;
    let (mut user, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(row) = rows.next()? {
        let prompt: Option<String> = row.get(0)?;
        user.extend(prompt.filter(|p| !p.is_empty()));
        a.extend(row.get::<_, Option<String>>(1)?);
        b.extend(row.get::<_, Option<String>>(2)?);
    }
    Ok((user, a, b))
}

/// The style of a battle: the one kept on it when its answers came in, if it covers its
/// latest turn, else counted from its stored texts.
fn battle_style(conn: &Connection, battle: i64) -> rusqlite::Result<VoteStyle> {
    let (kept, turn): (Option<String>, i64) = conn
        .prepare_cached(
            "SELECT style, (SELECT coalesce(max(turn), 0) FROM turns WHERE battle_id = ?1)
             FROM battles WHERE id = ?1",
        )?
        .query_row([battle], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if let Some(style) = kept_style_of(kept.as_deref(), turn) {
        return Ok(style);
    }
    let (user, a, b) = battle_texts(conn, battle)?;
    let user: Vec<&str> = user.iter().map(String::as_str).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    Ok(VoteStyle::of_conversation(&Conversation {
        user: &user,
        answers_a: &a,
        answers_b: &b,
    }))
}

/// Keeps the style and categories of the vote `vote` on battle `battle`, from the battle's
/// texts: called in the transaction that records the vote, the one place every battle
/// (command line, REST, chat battle mode, the page) completes.
pub(super) fn keep_for_vote(tx: &Transaction<'_>, vote: i64, battle: i64) -> Result<()> {
    let style = battle_style(tx, battle).map_err(db)?;
    write(tx, vote, &style, &mut CategoryIds::default()).map_err(db)
}

/// Writes the style of `vote` (its features, its categories).
pub(super) fn write(
    tx: &Connection,
    vote: i64,
    style: &VoteStyle,
    ids: &mut CategoryIds,
) -> rusqlite::Result<()> {
    if let Some(f) = &style.features {
        tx.prepare_cached("UPDATE votes SET style = ?2 WHERE id = ?1")?
            .execute(params![vote, blob(f)])?;
    }
    ids.link(tx, vote, &style.categories)
}

/// The SQL terms that keep the votes (`id` column `id`) of `filter`'s categories: in every
/// category named, in none of those excluded. Unknown names are an error that lists the
/// known ones.
pub(super) fn category_terms(
    conn: &Connection,
    filter: &VoteFilter,
    id: &str,
) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    if filter.categories.is_empty() && filter.exclude_categories.is_empty() {
        return Ok(out);
    }
    let known: Vec<String> = {
        let mut stmt = conn
            .prepare_cached("SELECT name FROM categories ORDER BY name")
            .map_err(db)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db)?;
        rows.collect::<rusqlite::Result<_>>().map_err(db)?
    };
    for (name, keep) in filter
        .categories
        .iter()
        .map(|c| (c, true))
        .chain(filter.exclude_categories.iter().map(|c| (c, false)))
    {
        if !known.contains(name) {
            return Err(unknown_category(name, &known));
        }
        let not = if keep { "" } else { "NOT " };
        out.push((
            format!(
                "{id} {not}IN (SELECT vote_id FROM vote_categories
                         WHERE category = (SELECT id FROM categories WHERE name = ?))"
            ),
            Value::Text(name.clone()),
        ));
    }
    Ok(out)
}

use crate::store::types::{kept_style_json, kept_style_of, unknown_category};

impl SqliteStore {
    /// Keeps a battle's style, counted while `turn` was its latest turn, if it still is and
    /// the battle waits for its vote.
    pub(super) async fn keep_style(
        &self,
        id: BattleId,
        turn: i64,
        style: VoteStyle,
    ) -> Result<bool> {
        let json = kept_style_json(turn, &style);
        self.write(move |conn| {
            let changed = conn
                .prepare_cached(
                    "UPDATE battles SET style = ?2
                     WHERE uuid = ?1 AND status = 'pending_vote'
                       AND (SELECT coalesce(max(turn), 0) FROM turns
                            WHERE battle_id = battles.id) = ?3",
                )
                .map_err(db)?
                .execute(params![id.as_bytes().as_slice(), json, turn])
                .map_err(db)?;
            Ok(changed == 1)
        })
        .await
    }

    /// The votes of `filter` that carry style features, with them: what the
    /// style-controlled leaderboard fits. Order does not matter to that fit, so the votes
    /// come in insertion order.
    ///
    /// The votes are read in two halves of their ids on two readers at once (one after the
    /// other where there is one reader). Both halves stop at the newest vote when the read
    /// began, so a vote recorded meanwhile is in neither: votes are only ever added, and the
    /// two reads together see the votes of one moment. Without a filter by time, theme or
    /// category, the blocks of votes that have a pack (see `packs`) are read from it.
    pub async fn styled_votes(&self, filter: VoteFilter) -> Result<StyledVotes> {
        let (names, newest) = self
            .read(|conn| Ok((model_names(conn)?, newest_vote(conn).map_err(db)?)))
            .await?;
        let index = Arc::new(model_index(&names, &filter));
        let packed = filter.since.is_none()
            && filter.until.is_none()
            && filter.theme.is_none()
            && filter.categories.is_empty()
            && filter.exclude_categories.is_empty();
        // Each half: whole blocks (by their packs where there are any), then the votes
        // with ids in `(after, upto]`.
        let part = |first: bool, blocks: std::ops::Range<i64>, (after, upto): (i64, i64)| {
            let (filter, index) = (filter.clone(), Arc::clone(&index));
            self.read(move |conn| {
                let mut out = StyledVotes::default();
                // Room for every id of the range (of both halves, for the first, which the
                // second is appended to), within reason: ids need not be dense.
                let span = if first {
                    newest
                } else {
                    (blocks.end - blocks.start) * packs::BLOCK + (upto - after)
                };
                out.votes
                    .reserve(usize::try_from(span).unwrap_or(0).min(1 << 24));
                styled_blocks(conn, &filter, &index, blocks, &mut out)?;
                if upto > after {
                    styled_rows(conn, &filter, &index, (after, upto), &mut out)?;
                }
                Ok(out)
            })
        };
        let (first, second) = if packed {
            let blocks = newest / packs::BLOCK;
            let half = blocks / 2;
            let tail = (blocks * packs::BLOCK, newest);
            tokio::try_join!(part(true, 0..half, (0, 0)), part(false, half..blocks, tail))?
        } else {
            let half = newest / 2;
            tokio::try_join!(
                part(true, 0..0, (0, half)),
                part(false, 0..0, (half, newest))
            )?
        };
        let mut out = first;
        out.votes.extend_from_slice(&second.votes);
        out.without += second.without;
        out.names = names.into_iter().map(|(_, n)| n).collect();
        Ok(out)
    }

    /// Every category with its number of votes (those that count, and the left-out ones
    /// `admit` takes), by name.
    pub async fn categories(&self, admit: VoteFlags) -> Result<Vec<(String, u64)>> {
        let excluded = VoteFlags::ALL_BITS.without(admit).bits();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT c.name, count(v.id) FROM categories c
                     JOIN vote_categories vc ON vc.category = c.id
                     JOIN votes v ON v.id = vc.vote_id
                     WHERE v.flags & ?1 = 0
                     GROUP BY c.id ORDER BY c.name",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([excluded], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(db)?;
            rows.map(|r| r.map(|(n, c)| (n, u64::try_from(c).unwrap_or(0))))
                .collect::<rusqlite::Result<_>>()
                .map_err(db)
        })
        .await
    }

    /// Computes the style and categories of every vote on a battle that has none yet (votes
    /// recorded before they were kept); returns how many were filled.
    pub async fn fill_styles(&self) -> Result<u64> {
        self.write(|conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let todo: Vec<(i64, i64)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT id, battle_id FROM votes
                         WHERE style IS NULL AND battle_id IS NOT NULL ORDER BY id",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db)?
            };
            let mut ids = CategoryIds::default();
            for &(vote, battle) in &todo {
                let style = battle_style(&tx, battle).map_err(db)?;
                write(&tx, vote, &style, &mut ids).map_err(db)?;
            }
            if !todo.is_empty() {
                super::counts::bump_version(&tx).map_err(db)?;
            }
            // The blocks of the votes filled are packed again, with any not packed yet.
            let filled: Vec<i64> = todo.iter().map(|&(vote, _)| vote).collect();
            packs::drop_for(&tx, &filled).map_err(db)?;
            packs::catch_up(&tx, newest_vote(&tx).map_err(db)?, packs::Catch::All).map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(todo.len() as u64)
        })
        .await
    }
}

/// `SELECT columns FROM votes WHERE ...` for `filter`, with its values.
pub(super) fn select(
    conn: &Connection,
    filter: &VoteFilter,
    columns: &str,
) -> Result<(String, Vec<Value>)> {
    let mut terms: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(t) = filter.since {
        terms.push("created_at >= ?".into());
        values.push(t.into());
    }
    if let Some(t) = filter.until {
        terms.push("created_at < ?".into());
        values.push(t.into());
    }
    if let Some(theme) = filter.theme.clone() {
        terms.push("battle_id IN (SELECT id FROM battles WHERE theme = ?)".into());
        values.push(theme.into());
    }
    terms.push("flags & ? = 0".into());
    values.push(VoteFlags::ALL_BITS.without(filter.admit).bits().into());
    for (t, v) in category_terms(conn, filter, "id")? {
        terms.push(t);
        values.push(v);
    }
    Ok((
        format!("SELECT {columns} FROM votes WHERE {}", terms.join(" AND ")),
        values,
    ))
}

/// Each model's place among `names` (by id), `u32::MAX` for one `filter` leaves out.
fn model_index(names: &[(i64, String)], filter: &VoteFilter) -> Vec<u32> {
    let max_id = names.iter().map(|(id, _)| *id).max().unwrap_or(0);
    let mut index = vec![u32::MAX; usize::try_from(max_id + 1).unwrap_or(0)];
    for (i, (id, name)) in names.iter().enumerate() {
        let allowed = filter.models.as_ref().is_none_or(|m| m.contains(name));
        if allowed && let Some(slot) = usize::try_from(*id).ok().and_then(|id| index.get_mut(id)) {
            *slot = u32::try_from(i).unwrap_or(u32::MAX);
        }
    }
    index
}

/// The newest vote's id, 0 without votes.
pub(super) fn newest_vote(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(id), 0) FROM votes")?
        .query_row([], |r| r.get(0))
}

/// Each model's place among `names`, looked up by the stored model id: `None` for a
/// model `filter` leaves out (or an id that is not a model's).
fn place(index: &[u32], id: i64) -> Option<u32> {
    usize::try_from(id)
        .ok()
        .and_then(|i| index.get(i).copied())
        .filter(|&i| i != u32::MAX)
}

/// Adds the styled votes of `filter` with ids in `(after, upto]` to `out`, row by row.
fn styled_rows(
    conn: &Connection,
    filter: &VoteFilter,
    index: &[u32],
    (after, upto): (i64, i64),
    out: &mut StyledVotes,
) -> Result<()> {
    use rusqlite::types::ValueRef;
    let (sql, mut values) = select(conn, filter, "model_a, model_b, outcome, style")?;
    let sql = format!("{sql} AND id > ? AND id <= ?");
    values.extend([Value::from(after), Value::from(upto)]);
    let mut stmt = conn.prepare_cached(&sql).map_err(db)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values)).map_err(db)?;
    let int = |v: ValueRef<'_>| match v {
        ValueRef::Integer(i) => Some(i),
        _ => None,
    };
    while let Some(row) = rows.next().map_err(db)? {
        let a = int(row.get_ref(0).map_err(db)?).and_then(|id| place(index, id));
        let b = int(row.get_ref(1).map_err(db)?).and_then(|id| place(index, id));
        let outcome = int(row.get_ref(2).map_err(db)?).unwrap_or(-1);
        let style = match row.get_ref(3).map_err(db)? {
            ValueRef::Blob(bytes) => Some(bytes),
            _ => None,
        };
        out.add(a, b, outcome, style);
    }
    Ok(())
}

/// Adds the styled votes of `filter` in the blocks `blocks` to `out`: from a block's pack
/// where it has one, else row by row. `filter` takes no time, theme or category.
fn styled_blocks(
    conn: &Connection,
    filter: &VoteFilter,
    index: &[u32],
    blocks: std::ops::Range<i64>,
    out: &mut StyledVotes,
) -> Result<()> {
    let excluded = VoteFlags::ALL_BITS.without(filter.admit).bits();
    packs::read(conn, blocks.start, blocks.end, |block, data| {
        match data.and_then(packs::entries) {
            Some(entries) => {
                for e in entries {
                    if i64::from(e.flags) & excluded == 0 {
                        let a = place(index, i64::from(e.model_a));
                        let b = place(index, i64::from(e.model_b));
                        out.add(a, b, i64::from(e.outcome), e.style);
                    }
                }
                Ok(())
            }
            None => styled_rows(conn, filter, index, packs::ids(block), out),
        }
    })
}
