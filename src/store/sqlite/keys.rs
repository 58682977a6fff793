//! The server's API keys (`arena keys`): kept by name with the SHA-256 of the key, never the
//! key itself; looked up by that hash on every request, so that a key revoked by another
//! process is refused at once.

use rusqlite::{OptionalExtension, params};

use super::{SqliteStore, db};
use crate::error::{Error, Result};
use crate::store::{KeyKind, KeyLookup, StoredKey};

const COLUMNS: &str =
    "id, name, kind, trust_forwarded_user, created_at, last_used_at, revoked_at FROM api_keys";

fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: {
            let text: String = r.get(2)?;
            KeyKind::parse(&text).ok_or_else(|| {
                rusqlite::Error::FromSqlConversionFailure(
                    2,
                    rusqlite::types::Type::Text,
                    format!("unknown key kind `{text}`").into(),
                )
            })?
        },
        trust_forwarded_user: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

impl SqliteStore {
    /// Stores a key by its hash. A name in use by an active key is a conflict; the name of a
    /// revoked key is taken again (the same name is the same user).
    pub(super) async fn add_key(
        &self,
        name: String,
        hash: String,
        kind: KeyKind,
        trust_forwarded_user: bool,
        now: i64,
    ) -> Result<()> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(db)?;
            let revoked: Option<Option<i64>> = tx
                .query_row(
                    "SELECT revoked_at FROM api_keys WHERE name = ?1",
                    [&name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            match revoked {
                Some(None) => {
                    return Err(Error::Conflict(format!(
                        "a key named `{name}` exists: revoke it first (`arena keys revoke \
                         {name}`), or choose another name"
                    )));
                }
                Some(Some(_)) => {
                    tx.execute(
                        "UPDATE api_keys SET hash = ?2, kind = ?3, trust_forwarded_user = ?4,
                                created_at = ?5, last_used_at = NULL, revoked_at = NULL
                         WHERE name = ?1",
                        params![name, hash, kind.as_str(), trust_forwarded_user, now],
                    )
                    .map_err(db)?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO api_keys (name, hash, kind, trust_forwarded_user, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![name, hash, kind.as_str(), trust_forwarded_user, now],
                    )
                    .map_err(db)?;
                }
            }
            tx.commit().map_err(db)
        })
        .await
    }

    /// Revokes the active key `name`; its row stays, so the name is listed as revoked.
    pub(super) async fn revoke_key(&self, name: String, now: i64) -> Result<()> {
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE api_keys SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                    params![name, now],
                )
                .map_err(db)?;
            if n == 0 {
                return Err(Error::NotFound(format!(
                    "no active key named `{name}`: `arena keys list` lists the keys"
                )));
            }
            Ok(())
        })
        .await
    }

    /// Every key, active and revoked, by name.
    pub(super) async fn keys(&self) -> Result<Vec<StoredKey>> {
        self.read(|conn| {
            conn.prepare_cached(&format!("SELECT {COLUMNS} ORDER BY name"))
                .map_err(db)?
                .query_map([], stored)
                .map_err(db)?
                .collect::<rusqlite::Result<_>>()
                .map_err(db)
        })
        .await
    }

    /// Whether any key is stored, and the active key of this hash (`None`: ask for none).
    pub(super) async fn key_by_hash(&self, hash: Option<String>) -> Result<KeyLookup> {
        self.read(move |conn| {
            let any: bool = conn
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM api_keys)")
                .map_err(db)?
                .query_row([], |r| r.get(0))
                .map_err(db)?;
            let key = match hash {
                Some(hash) if any => conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} WHERE hash = ?1 AND revoked_at IS NULL"
                    ))
                    .map_err(db)?
                    .query_row([hash], stored)
                    .optional()
                    .map_err(db)?,
                _ => None,
            };
            Ok(KeyLookup { any, key })
        })
        .await
    }

    /// Notes that the key `id` was used at `now`.
    pub(super) async fn touch_key(&self, id: i64, now: i64) -> Result<()> {
        self.write(move |conn| {
            conn.prepare_cached("UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1")
                .map_err(db)?
                .execute(params![id, now])
                .map_err(db)?;
            Ok(())
        })
        .await
    }
}
