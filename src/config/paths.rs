//! Where the database, `config.jsonc` and `models.json` are: the flag, the environment, the
//! current directory (when trusted) or the user's configuration directory.

use super::*;

/// Where a file came from, for `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    CurrentDir,
    ConfigDir,
    DataDir,
    Default,
    /// A setting of config.jsonc (`database_url`).
    ConfigSetting,
}

impl Source {
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "from the command line",
            Source::Env => "from the environment",
            Source::CurrentDir => "from the current directory",
            Source::ConfigDir => "from the config directory",
            Source::DataDir => "the default data directory",
            Source::Default => "built-in defaults",
            Source::ConfigSetting => "database_url of config.jsonc",
        }
    }
}

pub use crate::util::project_dirs;

/// The database path: the flag or `ARENA_DB` (already merged by the caller into `explicit`),
/// else `database_url` of config.jsonc (`configured`), else `arena.sqlite3` in the data
/// directory.
pub fn resolve_db(
    explicit: Option<&Path>,
    from_env: bool,
    configured: Option<(&str, Source)>,
) -> Result<(PathBuf, Source)> {
    if let Some(p) = explicit {
        let source = if from_env { Source::Env } else { Source::Flag };
        return Ok((p.to_owned(), source));
    }
    if let Some((url, source)) = configured
        && !url.is_empty()
    {
        return Ok((PathBuf::from(url), source));
    }
    let dirs = project_dirs().ok_or_else(|| {
        Error::Input("no home directory found: pass --db PATH or set ARENA_DB".into())
    })?;
    Ok((dirs.data_dir().join("arena.sqlite3"), Source::DataDir))
}

/// Where a config-like file was found, and any file that was refused on the way.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    pub found: Option<(PathBuf, Source)>,
    /// A file of the current directory that is not trusted, and why, in words.
    pub refused: Option<(PathBuf, String)>,
}

/// A config-like file: the explicit path; else `./NAME` when present and trusted (see
/// [`crate::trust`]); else NAME in the config directory when present.
pub fn resolve_file(explicit: Option<&Path>, from_env: bool, name: &str) -> Result<Resolution> {
    if let Some(p) = explicit {
        let source = if from_env { Source::Env } else { Source::Flag };
        return Ok(Resolution {
            found: Some((p.to_owned(), source)),
            refused: None,
        });
    }
    let mut resolution = Resolution::default();
    let here = PathBuf::from(name);
    if here.is_file() {
        let why = match crate::trust::check(&here)? {
            crate::trust::Verdict::Trusted => {
                resolution.found = Some((here, Source::CurrentDir));
                return Ok(resolution);
            }
            crate::trust::Verdict::Unknown => "is not trusted",
            crate::trust::Verdict::Changed => "changed since it was trusted",
        };
        resolution.refused = Some((here, why.to_owned()));
    }
    if let Some(dirs) = project_dirs() {
        let there = dirs.config_dir().join(name);
        if there.is_file() {
            resolution.found = Some((there, Source::ConfigDir));
        }
    }
    Ok(resolution)
}
