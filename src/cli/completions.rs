//! `arena completions SHELL` and the hidden `arena generate-completions DIR` that refreshes
//! the checked-in `completions/`.

use std::path::PathBuf;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish
    shell: Shell,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The directory to write into
    dir: PathBuf,
}

pub fn print(args: &CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    // Generated whole, then written as every output is: clap_complete panics on a failed
    // write, such as to a closed pipe (`arena completions bash | head -1`).
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "arena", &mut script);
    out!("{}", String::from_utf8_lossy(&script))?;
    Ok(0)
}

pub fn generate(args: &GenerateArgs) -> anyhow::Result<u8> {
    std::fs::create_dir_all(&args.dir).map_err(|e| Error::io(&args.dir, e))?;
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut cmd = Cli::command();
        let path = clap_complete::generate_to(shell, &mut cmd, "arena", &args.dir)
            .map_err(|e| Error::io(&args.dir, e))?;
        outln!("{}", path.display())?;
    }
    Ok(0)
}
