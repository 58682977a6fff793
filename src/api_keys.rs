//! The server's API keys (`arena keys`, SPEC §4 "Auth and callers"): made, kept as a hash,
//! revoked, listed, and found again from the key a request presents.
//!
//! A key is `arena_` and 32 random bytes in hex. Only its SHA-256 is stored. A salted or
//! slow hash guards secrets people choose, which can be guessed; this one is 256 bits of
//! chance, so its hash gives nothing to try, and the database alone (a backup, a copy shared
//! for analysis) lets no one in. A plain hash also needs no other secret: the key file that
//! hashes user ids is not needed to add or check a key.
//!
//! May use `store`, `util` and `error`; the server and the command line call it.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{KeyKind, Store, StoredKey};

/// The start of every key: it names a key found in a file or a log as arena's.
pub const PREFIX: &str = "arena_";

/// A new key: `arena_` and 64 hex digits from the thread's cryptographic generator.
#[must_use]
pub fn generate() -> String {
    format!("{PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()))
}

/// The SHA-256 of a key, in hex: what the database keeps.
#[must_use]
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The user a user key is: the same name is the same user, across its keys.
#[must_use]
pub fn user_of(name: &str) -> String {
    format!("key:{name}")
}

/// A key's name: 1 to 64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit (it names
/// the key's user, and is typed in commands).
pub fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Input(format!(
            "key name `{}`: expected 1 to 64 letters, digits, `.`, `_` or `-`, starting with a \
             letter or digit (such as alice or openwebui)",
            crate::util::terminal_safe(name)
        )))
    }
}

/// Adds a key named `name` and returns it: the only time it is ever shown.
pub async fn add(
    store: &impl Store,
    name: &str,
    kind: KeyKind,
    trust_forwarded_user: bool,
) -> Result<String> {
    check_name(name)?;
    if trust_forwarded_user && kind != KeyKind::Service {
        return Err(Error::Input(
            "only a service key may trust a forwarded user header: add --service".into(),
        ));
    }
    let key = generate();
    store
        .add_key(
            name.to_owned(),
            hash(&key),
            kind,
            trust_forwarded_user,
            crate::store::now_ms(),
        )
        .await?;
    Ok(key)
}

/// Revokes the key `name`: a running server refuses it from its next request on.
pub async fn revoke(store: &impl Store, name: &str) -> Result<()> {
    store
        .revoke_key(name.to_owned(), crate::store::now_ms())
        .await
}

/// Every key, active and revoked, by name; never a key itself.
pub async fn list(store: &impl Store) -> Result<Vec<StoredKey>> {
    store.keys().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_hashed_whole() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64, "{a}");
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&a[..a.len() - 1]));
    }

    #[test]
    fn names_are_short_plain_words() {
        for ok in ["alice", "open-webui", "bot_1", "a.b", "7"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "a b", "ä", "a/b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
