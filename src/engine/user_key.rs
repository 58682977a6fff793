//! The key that hashes user ids (HMAC-SHA-256): `user_id_salt` from the configuration, or a
//! key file of the database's own, never the database itself. A database file shared for
//! analysis then holds only keyed hashes that nobody without the key can reverse, however
//! few the possible ids.
//!
//! Key files live in `keys/` of the data directory (0700), one per database, named by the
//! database's random id, 0600, 64 hex digits. A copy of the database on the same machine
//! finds the same key; on another machine, the key file must travel with it (or a
//! `user_id_salt` be configured) for its users to keep their battles.

use std::path::PathBuf;

use crate::config::{Secret, project_dirs};
use crate::error::{Error, Result};

/// Where the key file of the database `database_id` is.
pub fn path(database_id: &str) -> Result<PathBuf> {
    let dirs = project_dirs().ok_or_else(|| {
        Error::Input(
            "no home directory for the user-id key file: set user_id_salt in config.jsonc".into(),
        )
    })?;
    Ok(dirs
        .data_dir()
        .join("keys")
        .join(format!("{database_id}.key")))
}

/// The key of the database `database_id`, read from its key file, which is made when missing:
/// from `legacy` (a key an older version kept in the database), else at random.
pub fn load_or_create(database_id: &str, legacy: Option<&str>) -> Result<(Secret, PathBuf)> {
    let file = path(database_id)?;
    match std::fs::read_to_string(&file) {
        Ok(text) => {
            let key = text.trim();
            if key.len() < crate::config::MIN_SALT_CHARS {
                return Err(Error::Input(format!(
                    "{}: the user-id key file is damaged (too short): restore it from a backup",
                    file.display()
                )));
            }
            return Ok((Secret::new(key), file));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&file, e)),
    }
    let key = legacy.map_or_else(|| hex::encode(rand::random::<[u8; 32]>()), str::to_owned);
    if let Some(dir) = file.parent() {
        crate::util::create_private_dir(dir)?;
    }
    match crate::util::create_private_file(&file, format!("{key}\n").as_bytes()) {
        Ok(()) => Ok((Secret::new(key), file)),
        // Made by another process meanwhile: that one is the key.
        Err(Error::Io { cause, .. }) if cause.kind() == std::io::ErrorKind::AlreadyExists => {
            load_or_create(database_id, None)
        }
        Err(e) => Err(e),
    }
}
