//! `arena trust`: lets `config.jsonc` and `models.json` of the current directory be used.

use std::path::PathBuf;

use clap::Args;

use super::{Context, render};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The files to trust, as they are now [default: config.jsonc and models.json of the
    /// current directory, those that exist]
    files: Vec<PathBuf>,
    /// List the trusted files
    #[arg(long, conflicts_with_all = ["files", "revoke"])]
    list: bool,
    /// Withdraw trust from these files instead
    #[arg(long)]
    revoke: bool,
}

pub fn run(ctx: &Context, args: &TrustArgs) -> anyhow::Result<u8> {
    if args.list {
        for e in crate::trust::entries()? {
            outln!(
                "{}  sha256 {}  since {}",
                render::terminal_safe(&e.path.display().to_string()),
                &e.sha256[..16.min(e.sha256.len())],
                e.trusted_at
            )?;
        }
        return Ok(0);
    }
    let files: Vec<PathBuf> = if args.files.is_empty() {
        ["config.jsonc", "models.json"]
            .into_iter()
            .map(PathBuf::from)
            .filter(|p| args.revoke || p.is_file())
            .collect()
    } else {
        args.files.clone()
    };
    if files.is_empty() {
        return Err(Error::Input(
            "no config.jsonc or models.json in the current directory: name the files to trust"
                .into(),
        )
        .into());
    }
    for file in &files {
        if args.revoke {
            if crate::trust::revoke(file)? {
                outln!("no longer trusted: {}", file.display())?;
            } else {
                ctx.note(format!("{} was not trusted", file.display()));
            }
        } else {
            let entry = crate::trust::trust(file)?;
            outln!(
                "trusted {} as it is now (sha256 {}); a change to it needs trust again",
                entry.path.display(),
                &entry.sha256[..16]
            )?;
        }
    }
    Ok(0)
}
