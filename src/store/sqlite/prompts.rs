//! The prompt pool.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db};
use crate::error::{Error, Result};
use crate::store::Prompt;

impl SqliteStore {
    /// Adds prompts; one whose text is already in the pool is left alone. Returns how many
    /// were added.
    pub(super) async fn add_prompts(&self, prompts: Vec<Prompt>) -> Result<usize> {
        self.write_now(move |conn, now| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let mut added = 0;
            {
                let mut stmt = tx
                    .prepare(
                        "INSERT INTO prompts (id, text, theme, created_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT DO NOTHING",
                    )
                    .map_err(db)?;
                for p in &prompts {
                    added += stmt
                        .execute(params![p.id, p.text, p.theme, now])
                        .map_err(db)?;
                }
            }
            tx.commit().map_err(db)?;
            Ok(added)
        })
        .await
    }

    /// The pool, optionally one theme, ordered by id.
    pub(super) async fn prompts(&self, theme: Option<String>) -> Result<Vec<Prompt>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, text, theme FROM prompts WHERE (?1 IS NULL OR theme = ?1)
                     ORDER BY id",
                )
                .map_err(db)?;
            let rows = stmt
                .query_map([theme], |r| {
                    Ok(Prompt {
                        id: r.get(0)?,
                        text: r.get(1)?,
                        theme: r.get(2)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db)
        })
        .await
    }

    /// A prompt by id.
    pub(super) async fn prompt(&self, id: String) -> Result<Option<Prompt>> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, text, theme FROM prompts WHERE id = ?1",
                [id],
                |r| {
                    Ok(Prompt {
                        id: r.get(0)?,
                        text: r.get(1)?,
                        theme: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    /// Removes a prompt from the pool; battles that used it keep their text.
    pub(super) async fn remove_prompt(&self, id: String) -> Result<()> {
        self.write(move |conn| {
            let n = conn
                .execute("DELETE FROM prompts WHERE id = ?1", [&id])
                .map_err(db)?;
            if n == 0 {
                return Err(Error::NotFound(format!("no prompt `{id}` in the pool")));
            }
            Ok(())
        })
        .await
    }
}
