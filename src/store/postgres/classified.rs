//! What the prompt classifier reads and writes (see [`crate::classify`]), as on SQLite.
//!
//! Several instances may commit votes out of id order, so the search does not start at
//! the highest vote judged but a window before it, and skips the votes judged already: a
//! vote committed late is still found, and the search stays along the primary key.

use deadpool_postgres::GenericClient;

use super::style::CategoryIds;
use super::{PgStore, col, pg};
use crate::error::Result;
use crate::store::lead::Held as LeadHeld;
use crate::store::{Job, Lead, UnclassifiedVote};

/// How far before the highest vote judged the search starts.
const WINDOW: i64 = 10_000;

/// The user turns of battle `battle`, in turn order.
async fn user_turns(conn: &impl GenericClient, battle: i64) -> Result<Vec<String>> {
    let rows = conn
        .query(
            "SELECT prompt FROM (
                 SELECT -1 AS turn, prompt FROM battles WHERE id = $1
                 UNION ALL
                 SELECT turn, prompt FROM turns WHERE battle_id = $1 AND turn > 0) t
             ORDER BY turn",
            &[&battle],
        )
        .await
        .map_err(pg)?;
    let mut user = Vec::with_capacity(rows.len());
    for row in &rows {
        user.extend(col::<Option<String>>(row, 0)?.filter(|p| !p.is_empty()));
    }
    Ok(user)
}

impl PgStore {
    /// Up to `limit` votes on battles played here not judged yet, in vote order, each with
    /// the user turns of its battle.
    pub(super) async fn unclassified_votes(&self, limit: usize) -> Result<Vec<UnclassifiedVote>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let todo: Vec<(i64, i64)> = client
            .query(
                "SELECT v.id, v.battle_id FROM votes v JOIN battles b ON b.id = v.battle_id
                 WHERE v.id > (SELECT coalesce(max(vote_id), 0) FROM classified_votes) - $2
                   AND b.origin <> 'import'
                   AND NOT EXISTS (SELECT 1 FROM classified_votes c WHERE c.vote_id = v.id)
                 ORDER BY v.id LIMIT $1",
                &[&limit, &WINDOW],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(todo.len());
        for (vote, battle) in todo {
            out.push(UnclassifiedVote {
                vote,
                user: user_turns(&client, battle).await?,
            });
        }
        Ok(out)
    }

    /// Adds `categories` to vote `vote` and notes it judged, with them or with none.
    pub(super) async fn add_categories(&self, vote: i64, categories: Vec<String>) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let exists: bool = col(
            &tx.query_one(
                "SELECT EXISTS (SELECT 1 FROM votes WHERE id = $1)",
                &[&vote],
            )
            .await
            .map_err(pg)?,
            0,
        )?;
        if exists {
            CategoryIds::default().link(&tx, vote, &categories).await?;
            tx.execute(
                "INSERT INTO classified_votes (vote_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&vote],
            )
            .await
            .map_err(pg)?;
            if !categories.is_empty() {
                super::counts::bump_version(&tx).await?;
            }
        }
        tx.commit().await.map_err(pg)
    }
}

/// The lead of a job: a connection taken out of the pool (so that it is never handed to
/// another task with the lock on it) holding the job's session advisory lock. Dropping it
/// closes the connection, which ends the lock.
pub struct Held {
    client: deadpool_postgres::ClientWrapper,
}

impl Held {
    pub(crate) async fn holds(&self) -> bool {
        self.client.simple_query("SELECT 1").await.is_ok()
    }
}

impl PgStore {
    /// Takes the lead of `job` with `pg_try_advisory_lock` on a connection of the pool,
    /// which leaves the pool with the lock; `None` when another session holds it.
    pub(super) async fn lead(&self, job: Job) -> Result<Option<Lead>> {
        let key = match job {
            Job::Classify => super::locks::CLASSIFY,
        };
        let client = self.client().await?;
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(pg)?;
        if !col::<bool>(&row, 0)? {
            // Back to the pool: it holds no lock.
            return Ok(None);
        }
        let client = deadpool_postgres::Object::take(client);
        Ok(Some(Lead {
            inner: LeadHeld::Postgres(Held { client }),
        }))
    }
}
