//! Style features and categories of votes, as on SQLite: the features as one `bytea` on the
//! vote (eight little-endian `u32`), categories by name in `categories`, linked to votes by
//! `vote_categories`.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;

use super::votes::{Terms, filter_terms, model_names};
use super::{PgStore, cached, col, pg};
use crate::battle::{BattleId, VoteFlags};
use crate::error::Result;
use crate::rating::category::Conversation;
use crate::store::{StyledVotes, VoteFilter, VoteStyle};

pub(super) use crate::store::types::style_blob as blob;

/// Category ids by name, made as needed.
#[derive(Debug, Default)]
pub(super) struct CategoryIds(HashMap<String, i64>);

impl CategoryIds {
    async fn id(&mut self, tx: &impl GenericClient, name: &str) -> Result<i64> {
        if let Some(&id) = self.0.get(name) {
            return Ok(id);
        }
        const FIND: &str = "SELECT id FROM categories WHERE name = $1";
        let found = match cached::opt(tx, FIND, &[&name]).await? {
            Some(row) => row,
            None => {
                cached::exec(
                    tx,
                    "INSERT INTO categories (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
                    &[&name],
                )
                .await?;
                cached::one(tx, FIND, &[&name]).await?
            }
        };
        let id: i64 = col(&found, 0)?;
        self.0.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Links `vote` to its categories.
    pub(super) async fn link(
        &mut self,
        tx: &impl GenericClient,
        vote: i64,
        categories: &[String],
    ) -> Result<()> {
        for name in categories {
            let id = self.id(tx, name).await?;
            cached::exec(
                tx,
                "INSERT INTO vote_categories (category, vote_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[&id, &vote],
            )
            .await?;
        }
        Ok(())
    }
}

/// The style of a battle from its stored texts (user turns and each side's answers, in turn
/// order).
async fn battle_style(conn: &impl GenericClient, battle: i64) -> Result<VoteStyle> {
    let row = cached::one(
        conn,
        "SELECT style, (SELECT coalesce(max(turn), 0)::BIGINT FROM turns WHERE battle_id = $1)
         FROM battles WHERE id = $1",
        &[&battle],
    )
    .await?;
    let kept: Option<String> = col(&row, 0)?;
    if let Some(style) = kept_style_of(kept.as_deref(), col(&row, 1)?) {
        return Ok(style);
    }
    let rows = conn
        .query(
            "SELECT prompt, response_a, response_b FROM (
                 SELECT -1 AS turn, prompt, response_a, response_b FROM battles WHERE id = $1
                 UNION ALL
                 SELECT turn, prompt, response_a, response_b FROM turns
                 WHERE battle_id = $1 AND turn > 0) t
             ORDER BY turn",
            &[&battle],
        )
        .await
        .map_err(pg)?;
    let (mut user, mut a, mut b) = (Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        user.extend(col::<Option<String>>(row, 0)?.filter(|p| !p.is_empty()));
        a.extend(col::<Option<String>>(row, 1)?);
        b.extend(col::<Option<String>>(row, 2)?);
    }
    let user: Vec<&str> = user.iter().map(String::as_str).collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    Ok(VoteStyle::of_conversation(&Conversation {
        user: &user,
        answers_a: &a,
        answers_b: &b,
    }))
}

/// The style and categories of a vote on battle `battle`, from its texts: computed before
/// the vote takes its models' Elo rows, so that the counting of tokens does not hold them.
pub(super) async fn for_vote(tx: &impl GenericClient, battle: i64) -> Result<VoteStyle> {
    battle_style(tx, battle).await
}

/// Keeps a vote's style and categories, in the vote's transaction.
pub(super) async fn keep_for_vote(
    tx: &impl GenericClient,
    vote: i64,
    style: &VoteStyle,
) -> Result<()> {
    write(tx, vote, style, &mut CategoryIds::default()).await
}

async fn write(
    tx: &impl GenericClient,
    vote: i64,
    style: &VoteStyle,
    ids: &mut CategoryIds,
) -> Result<()> {
    if let Some(f) = &style.features {
        cached::exec(
            tx,
            "UPDATE votes SET style = $2 WHERE id = $1",
            &[&vote, &blob(f)],
        )
        .await?;
    }
    ids.link(tx, vote, &style.categories).await
}

/// Adds to `t` the terms that keep the votes of `filter`'s categories: in every category
/// named, in none of those excluded. Unknown names are an error that lists the known ones.
pub(super) async fn category_terms(
    conn: &impl GenericClient,
    filter: &VoteFilter,
    t: &mut Terms,
) -> Result<()> {
    if filter.categories.is_empty() && filter.exclude_categories.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = conn
        .query(
            "SELECT name FROM categories ORDER BY name COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(pg)?
        .iter()
        .map(|r| col(r, 0))
        .collect::<Result<_>>()?;
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
        t.push(
            &format!(
                "id {not}IN (SELECT vote_id FROM vote_categories
                     WHERE category = (SELECT id FROM categories WHERE name = $))"
            ),
            Box::new(name.clone()),
        );
    }
    Ok(())
}

use crate::store::types::{kept_style_json, kept_style_of, unknown_category};

impl PgStore {
    /// Keeps a battle's style, counted while `turn` was its latest turn, if it still is and
    /// the battle waits for its vote.
    pub(super) async fn keep_style(
        &self,
        id: BattleId,
        turn: i64,
        style: VoteStyle,
    ) -> Result<bool> {
        let json = kept_style_json(turn, &style);
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE battles SET style = $2
                 WHERE uuid = $1 AND status = 'pending_vote'
                   AND (SELECT coalesce(max(turn), 0)::BIGINT FROM turns
                        WHERE battle_id = battles.id) = $3",
                &[&id.as_bytes().as_slice(), &json, &turn],
            )
            .await
            .map_err(pg)?;
        Ok(changed == 1)
    }

    /// The votes of `filter` that carry style features, with them, in insertion order.
    pub(super) async fn styled_votes(&self, filter: VoteFilter) -> Result<StyledVotes> {
        let client = self.client().await?;
        let names = model_names(&client).await?;
        let index: HashMap<i64, u32> = names
            .iter()
            .enumerate()
            .filter(|(_, (_, name))| filter.models.as_ref().is_none_or(|m| m.contains(name)))
            .filter_map(|(i, (id, _))| Some((*id, u32::try_from(i).ok()?)))
            .collect();
        let t = filter_terms(&client, &filter).await?;
        let rows = client
            .query(
                &format!(
                    "SELECT model_a, model_b, outcome, style FROM votes{} ORDER BY id",
                    t.clause()
                ),
                &t.params(),
            )
            .await
            .map_err(pg)?;
        let mut out = StyledVotes::default();
        for row in &rows {
            let (a, b, outcome): (i64, i64, i64) = (col(row, 0)?, col(row, 1)?, col(row, 2)?);
            let style: Option<Vec<u8>> = col(row, 3)?;
            out.add(
                index.get(&a).copied(),
                index.get(&b).copied(),
                outcome,
                style.as_deref(),
            );
        }
        out.names = names.into_iter().map(|(_, n)| n).collect();
        Ok(out)
    }

    pub(super) async fn categories(&self, admit: VoteFlags) -> Result<Vec<(String, u64)>> {
        let excluded = VoteFlags::ALL_BITS.without(admit).bits();
        let client = self.client().await?;
        client
            .query(
                "SELECT c.name, count(v.id) FROM categories c
                 JOIN vote_categories vc ON vc.category = c.id
                 JOIN votes v ON v.id = vc.vote_id
                 WHERE v.flags & $1 = 0
                 GROUP BY c.id, c.name ORDER BY c.name COLLATE \"C\"",
                &[&excluded],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| Ok((col(r, 0)?, super::count(col(r, 1)?))))
            .collect()
    }

    /// Computes the style and categories of every vote on a battle that has none yet.
    pub(super) async fn fill_styles(&self) -> Result<u64> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let todo: Vec<(i64, i64)> = tx
            .query(
                "SELECT id, battle_id FROM votes
                 WHERE style IS NULL AND battle_id IS NOT NULL ORDER BY id",
                &[],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .collect::<Result<_>>()?;
        let mut ids = CategoryIds::default();
        for &(vote, battle) in &todo {
            let style = battle_style(&tx, battle).await?;
            write(&tx, vote, &style, &mut ids).await?;
        }
        if !todo.is_empty() {
            super::counts::bump_version(&tx).await?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(todo.len() as u64)
    }
}
