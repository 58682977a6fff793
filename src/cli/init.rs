//! `arena init`: a commented `config.jsonc` and a `models.json` template in the config
//! directory, and the database. Never overwrites without `--force`. The key that hashes user
//! ids is the database's own and is never rotated by `init` (see `Store::open`).

use std::path::PathBuf;

use clap::Args;

use super::Context;
use crate::error::Error;
use crate::store::Mode;

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
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let files = [
        (dir.join("config.jsonc"), CONFIG_TEMPLATE),
        (dir.join("models.json"), MODELS_TEMPLATE),
    ];
    if !args.force
        && let Some((existing, _)) = files.iter().find(|(p, _)| p.exists())
    {
        return Err(Error::Conflict(format!(
            "{} exists: not overwriting it (use --force to replace both files)",
            existing.display()
        ))
        .into());
    }
    for (path, text) in &files {
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
        println!("{}", path.display());
    }
    let store = ctx.store(Mode::Create).await?;
    println!("{}", store.path().display());
    ctx.note("edit models.json to list your models, then: arena battle \"your question\"");
    Ok(0)
}
