//! The server's API keys (`arena keys`), by the SHA-256 of each key, looked up on every
//! request, so that a key revoked through one instance is refused by all at once.

use super::{PgStore, col, pg};
use crate::error::{Error, Result};
use crate::store::{KeyKind, KeyLookup, StoredKey};

const COLUMNS: &str =
    "id, name, kind, trust_forwarded_user, created_at, last_used_at, revoked_at FROM api_keys";

fn stored(r: &tokio_postgres::Row) -> Result<StoredKey> {
    let text: String = col(r, 2)?;
    Ok(StoredKey {
        id: col(r, 0)?,
        name: col(r, 1)?,
        kind: KeyKind::parse(&text)
            .ok_or_else(|| Error::Internal(format!("unknown key kind `{text}`")))?,
        trust_forwarded_user: col(r, 3)?,
        created_at: col(r, 4)?,
        last_used_at: col(r, 5)?,
        revoked_at: col(r, 6)?,
    })
}

impl PgStore {
    pub(super) async fn add_key(
        &self,
        name: String,
        hash: String,
        kind: KeyKind,
        trust_forwarded_user: bool,
        now: i64,
    ) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg)?;
        let revoked = tx
            .query_opt(
                "SELECT revoked_at FROM api_keys WHERE name = $1 FOR UPDATE",
                &[&name],
            )
            .await
            .map_err(pg)?
            .map(|r| col::<Option<i64>>(&r, 0))
            .transpose()?;
        match revoked {
            Some(None) => {
                return Err(Error::Conflict(format!(
                    "a key named `{name}` exists: revoke it first (`arena keys revoke \
                     {name}`), or choose another name"
                )));
            }
            Some(Some(_)) => {
                tx.execute(
                    "UPDATE api_keys SET hash = $2, kind = $3, trust_forwarded_user = $4,
                            created_at = $5, last_used_at = NULL, revoked_at = NULL
                     WHERE name = $1",
                    &[&name, &hash, &kind.as_str(), &trust_forwarded_user, &now],
                )
                .await
                .map_err(pg)?;
            }
            None => {
                tx.execute(
                    "INSERT INTO api_keys (name, hash, kind, trust_forwarded_user, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[&name, &hash, &kind.as_str(), &trust_forwarded_user, &now],
                )
                .await
                .map_err(pg)?;
            }
        }
        tx.commit().await.map_err(pg)
    }

    pub(super) async fn revoke_key(&self, name: String, now: i64) -> Result<()> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE api_keys SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
                &[&name, &now],
            )
            .await
            .map_err(pg)?;
        if n == 0 {
            return Err(Error::NotFound(format!(
                "no active key named `{name}`: `arena keys list` lists the keys"
            )));
        }
        Ok(())
    }

    pub(super) async fn keys(&self) -> Result<Vec<StoredKey>> {
        let client = self.client().await?;
        client
            .query(
                &format!("SELECT {COLUMNS} ORDER BY name COLLATE \"C\""),
                &[],
            )
            .await
            .map_err(pg)?
            .iter()
            .map(stored)
            .collect()
    }

    pub(super) async fn key_by_hash(&self, hash: Option<String>) -> Result<KeyLookup> {
        let client = self.client().await?;
        let any: bool = col(
            &client
                .query_one("SELECT EXISTS (SELECT 1 FROM api_keys)", &[])
                .await
                .map_err(pg)?,
            0,
        )?;
        let key = match hash {
            Some(hash) if any => client
                .query_opt(
                    &format!("SELECT {COLUMNS} WHERE hash = $1 AND revoked_at IS NULL"),
                    &[&hash],
                )
                .await
                .map_err(pg)?
                .as_ref()
                .map(stored)
                .transpose()?,
            _ => None,
        };
        Ok(KeyLookup { any, key })
    }

    pub(super) async fn touch_key(&self, id: i64, now: i64) -> Result<()> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE api_keys SET last_used_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await
            .map_err(pg)?;
        Ok(())
    }
}
