//! What the prompt classifier reads and writes (see [`crate::classify`]): the votes on
//! battles played here that it has not judged yet, and the categories it found for one.
//!
//! `classified_votes` lists every vote judged, with categories or none, so that no vote is
//! asked about twice. Votes are judged in vote order, so the highest id judged is where the
//! next search starts, along the primary key. Imported battles are never asked about: a
//! log brings its own judgments in `category_tag`, kept at import.

use rusqlite::params;

use super::style::{CategoryIds, battle_texts};
use super::{SqliteStore, db};
use crate::error::Result;
use crate::store::UnclassifiedVote;

impl SqliteStore {
    /// Up to `limit` votes on battles played here not judged yet, in vote order, each with
    /// the user turns of its battle.
    pub async fn unclassified_votes(&self, limit: usize) -> Result<Vec<UnclassifiedVote>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let todo: Vec<(i64, i64)> = {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT v.id, v.battle_id FROM votes v JOIN battles b ON b.id = v.battle_id
                         WHERE v.id > (SELECT coalesce(max(vote_id), 0) FROM classified_votes)
                           AND b.origin <> 'import'
                         ORDER BY v.id LIMIT ?1",
                    )
                    .map_err(db)?;
                let rows = stmt
                    .query_map([limit], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db)?
            };
            let mut out = Vec::with_capacity(todo.len());
            for (vote, battle) in todo {
                let (user, _, _) = battle_texts(conn, battle).map_err(db)?;
                out.push(UnclassifiedVote { vote, user });
            }
            Ok(out)
        })
        .await
    }

    /// Adds `categories` to vote `vote` and notes it judged, with them or with none.
    pub async fn add_categories(&self, vote: i64, categories: Vec<String>) -> Result<()> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            // A vote gone meanwhile (none is ever deleted today) is left alone.
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM votes WHERE id = ?1)")
                .and_then(|mut s| s.query_row([vote], |r| r.get(0)))
                .map_err(db)?;
            if exists {
                CategoryIds::default()
                    .link(&tx, vote, &categories)
                    .map_err(db)?;
                tx.prepare_cached(
                    "INSERT INTO classified_votes (vote_id) VALUES (?1) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut s| s.execute(params![vote]))
                .map_err(db)?;
                if !categories.is_empty() {
                    // Boards by category read these: cached ones are stale now.
                    super::counts::bump_version(&tx).map_err(db)?;
                }
            }
            tx.commit().map_err(db)
        })
        .await
    }
}
