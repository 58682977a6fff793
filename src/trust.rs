//! Trust in files found in the current directory. A checkout may carry its own
//! `config.jsonc` or `models.json`, and such a file decides where prompts and keys go: it is
//! used only once the user has said so with `arena trust`, by path and content hash, as
//! direnv and mise do, and again after every change to it. A file named by a flag or an
//! environment variable needs no trust: naming it is the user's word.
//!
//! The trusted files are listed in `trusted.json` of the data directory (0600, replaced
//! atomically).
//!
//! May use `util` and `error` only; `config` asks it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::util::project_dirs;

/// One trusted file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Absolute and canonical.
    pub path: PathBuf,
    pub sha256: String,
    /// When it was trusted (RFC 3339).
    pub trusted_at: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct List {
    trusted: Vec<Entry>,
}

/// What trust a file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Trusted,
    /// Never trusted.
    Unknown,
    /// Trusted once, and changed since.
    Changed,
}

fn list_path() -> Result<PathBuf> {
    project_dirs()
        .map(|d| d.data_dir().join("trusted.json"))
        .ok_or_else(|| Error::Input("no home directory to keep the list of trusted files".into()))
}

fn load() -> Result<List> {
    let path = list_path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| Error::File {
            path: path.clone(),
            line: e.line(),
            column: e.column(),
            message: format!(
                "the list of trusted files is damaged ({e}): remove it and trust again"
            ),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(List::default()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn save(list: &List) -> Result<()> {
    let path = list_path()?;
    if let Some(dir) = path.parent() {
        crate::util::create_private_dir(dir)?;
    }
    let text = serde_json::to_string_pretty(list)
        .map_err(|e| Error::Internal(format!("cannot write the trusted files: {e}")))?;
    crate::util::replace_file(&path, format!("{text}\n").as_bytes())
}

fn canonical(file: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(file).map_err(|e| Error::io(file, e))
}

fn digest(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).map_err(|e| Error::io(file, e))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Whether `file`, as it is now, is trusted.
pub fn check(file: &Path) -> Result<Verdict> {
    let path = canonical(file)?;
    let list = load()?;
    let Some(entry) = list.trusted.iter().find(|e| e.path == path) else {
        return Ok(Verdict::Unknown);
    };
    Ok(if entry.sha256 == digest(&path)? {
        Verdict::Trusted
    } else {
        Verdict::Changed
    })
}

/// Trusts `file` as it is now; returns its entry.
pub fn trust(file: &Path) -> Result<Entry> {
    let path = canonical(file)?;
    if !path.is_file() {
        return Err(Error::Input(format!("{} is not a file", path.display())));
    }
    let entry = Entry {
        sha256: digest(&path)?,
        path,
        trusted_at: crate::util::now_rfc3339(),
    };
    let mut list = load()?;
    list.trusted.retain(|e| e.path != entry.path);
    list.trusted.push(entry.clone());
    save(&list)?;
    Ok(entry)
}

/// Withdraws trust from `file`; whether it was trusted.
pub fn revoke(file: &Path) -> Result<bool> {
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let mut list = load()?;
    let before = list.trusted.len();
    list.trusted.retain(|e| e.path != path);
    let removed = list.trusted.len() < before;
    if removed {
        save(&list)?;
    }
    Ok(removed)
}

/// Every trusted file.
pub fn entries() -> Result<Vec<Entry>> {
    Ok(load()?.trusted)
}
