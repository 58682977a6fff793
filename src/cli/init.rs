//! `arena init`: a commented `config.jsonc` and a `models.json` template in the config
//! directory, and the database. Never overwrites without `--force`. The key that hashes user
//! ids is the database's own and is never rotated by `init` (see `SqliteStore::open`).

use std::path::PathBuf;

use clap::Args;

use super::Context;
use crate::error::Error;
use crate::store::{Mode, Store};

/// The templates are the files at the top of the repository.
const CONFIG_TEMPLATE: &str = include_str!("../../config.jsonc");
const MODELS_TEMPLATE: &str = include_str!("../../models.json");

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Write into this directory [default: the config directory]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Overwrite existing files
    #[arg(long)]
    force: bool,
}

pub async fn run(ctx: &Context, args: &InitArgs) -> anyhow::Result<u8> {
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => crate::config::project_dirs()
            .ok_or_else(|| Error::Input("no home directory found: pass --dir DIR".into()))?
            .config_dir()
            .to_owned(),
    };
    crate::util::create_private_dir(&dir)?;
    let files = [
        (dir.join("config.jsonc"), CONFIG_TEMPLATE),
        (dir.join("models.json"), MODELS_TEMPLATE),
    ];
    // `symlink_metadata`: a link, dangling or not, is something that exists.
    if !args.force
        && let Some((existing, _)) = files.iter().find(|(p, _)| p.symlink_metadata().is_ok())
    {
        return Err(Error::Conflict(format!(
            "{} exists: not overwriting it (use --force to replace both files)",
            existing.display()
        ))
        .into());
    }
    for (path, text) in &files {
        if args.force {
            // A new private file renamed into place: a link there is replaced, not followed.
            crate::util::replace_file(path, text.as_bytes())?;
        } else {
            // Created only if nothing is there, in one step with the check.
            crate::util::create_private_file(path, text.as_bytes()).map_err(|e| match e {
                Error::Io { cause, .. } if cause.kind() == std::io::ErrorKind::AlreadyExists => {
                    Error::Conflict(format!(
                        "{} exists: not overwriting it (use --force to replace both files)",
                        path.display()
                    ))
                }
                other => other,
            })?;
        }
        outln!("{}", path.display())?;
    }
    let store = ctx.store(Mode::Create).await?;
    outln!("{}", store.location())?;
    ctx.note("edit models.json to list your models, then: arena battle \"your question\"");
    Ok(0)
}
