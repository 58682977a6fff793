//! The server's API keys (`arena keys`): kept by name with the SHA-256 of the key, never the
//! key itself; looked up by that hash on every request, so that a key revoked by another
//! process is refused at once.

use rusqlite::{OptionalExtension, params};

use super::{Store, db};
use crate::error::{Error, Result};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// The key is its user: a request cannot make it someone else.
    User,
    /// The key acts for the users its requests name (a bot, a chat front end).
    Service,
}

impl KeyKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::User => "user",
            KeyKind::Service => "service",
        }
    }

    fn parse(s: &str) -> rusqlite::Result<Self> {
        match s {
            "user" => Ok(KeyKind::User),
            "service" => Ok(KeyKind::Service),
            other => Err(rusqlite::Error::FromSqlConversionFailure(
                0,
                rusqlite::types::Type::Text,
                format!("unknown key kind `{other}`").into(),
            )),
        }
    }
}

/// A stored key, as `arena keys list` shows it: never the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub id: i64,
    pub name: String,
    pub kind: KeyKind,
    /// A service key that may name its user by Open WebUI's `X-OpenWebUI-User-Id` header.
    pub trust_forwarded_user: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, to the minute (the server writes it at most once a minute).
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What a request's key is, and whether the server has keys at all.
#[derive(Debug, Clone, Default)]
pub struct KeyLookup {
    /// Some key, active or revoked, is stored: the server needs a key.
    pub any: bool,
    /// The active key with the hash asked for.
    pub key: Option<StoredKey>,
}

const COLUMNS: &str =
    "id, name, kind, trust_forwarded_user, created_at, last_used_at, revoked_at FROM api_keys";

fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: KeyKind::parse(&r.get::<_, String>(2)?)?,
        trust_forwarded_user: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

impl Store {
    /// Stores a key by its hash. A name in use by an active key is a conflict; the name of a
    /// revoked key is taken again (the same name is the same user).
    pub async fn add_key(
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
    pub async fn revoke_key(&self, name: String, now: i64) -> Result<()> {
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
    pub async fn keys(&self) -> Result<Vec<StoredKey>> {
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
    pub async fn key_by_hash(&self, hash: Option<String>) -> Result<KeyLookup> {
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
    pub async fn touch_key(&self, id: i64, now: i64) -> Result<()> {
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
