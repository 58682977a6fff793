//! The prompt pool.

use super::{PgStore, col, pg};
use crate::error::{Error, Result};
use crate::store::Prompt;

fn prompt(r: &tokio_postgres::Row) -> Result<Prompt> {
    Ok(Prompt {
        id: col(r, 0)?,
        text: col(r, 1)?,
        theme: col(r, 2)?,
    })
}

impl PgStore {
    /// Adds prompts; one whose text (or id) is already in the pool is left alone.
    pub(super) async fn add_prompts(&self, prompts: Vec<Prompt>) -> Result<usize> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let stmt = tx
            .prepare(
                "INSERT INTO prompts (id, text, theme, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(pg)?;
        let now = (self.clock)();
        let mut added = 0;
        for p in &prompts {
            added += tx
                .execute(&stmt, &[&p.id, &p.text, &p.theme, &now])
                .await
                .map_err(pg)?;
        }
        tx.commit().await.map_err(pg)?;
        Ok(usize::try_from(added).unwrap_or(usize::MAX))
    }

    /// The pool, optionally one theme, ordered by id (byte order, as on SQLite).
    pub(super) async fn prompts(&self, theme: Option<String>) -> Result<Vec<Prompt>> {
        let client = self.client().await?;
        client
            .query(
                "SELECT id, text, theme FROM prompts WHERE ($1::text IS NULL OR theme = $1)
                 ORDER BY id COLLATE \"C\"",
                &[&theme],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(prompt)
            .collect()
    }

    pub(super) async fn prompt(&self, id: String) -> Result<Option<Prompt>> {
        let client = self.client().await?;
        client
            .query_opt("SELECT id, text, theme FROM prompts WHERE id = $1", &[&id])
            .await
            .map_err(pg)?
            .as_ref()
            .map(prompt)
            .transpose()
    }

    pub(super) async fn remove_prompt(&self, id: String) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute("DELETE FROM prompts WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(Error::NotFound(format!("no prompt `{id}` in the pool")));
        }
        Ok(())
    }
}
