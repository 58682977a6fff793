//! `arena prompts`: the prompt pool.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::render;
use super::{Context, RowsFormat};
use crate::error::Error;
use crate::store::Mode;

/// The largest prompt set read.
const MAX_PROMPT_SET_BYTES: u64 = 64 << 20;
use crate::transfer::prompts as sets;

#[derive(Debug, Args)]
pub struct PromptsArgs {
    #[command(subcommand)]
    action: PromptsAction,
}

#[derive(Debug, Subcommand)]
enum PromptsAction {
    /// List the pool
    List {
        /// Only this theme
        #[arg(long)]
        theme: Option<String>,
        #[command(flatten)]
        format: RowsFormat,
    },
    /// Add one prompt
    Add {
        /// The prompt text
        text: String,
        /// Its id [default: a hash of the text]
        #[arg(long)]
        id: Option<String>,
        /// Its theme [default: the id's prefix before `_`, else general]
        #[arg(long)]
        theme: Option<String>,
    },
    /// Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines
    Import { file: PathBuf },
    /// Remove a prompt by id
    Remove { id: String },
}

pub async fn run(ctx: &Context, args: PromptsArgs) -> anyhow::Result<u8> {
    match args.action {
        PromptsAction::List { theme, format } => {
            let arena = ctx.arena_without_models(Mode::Read).await?;
            let prompts = arena.prompts(theme.clone()).await?;
            if prompts.is_empty() {
                super::leaderboard::check_theme(&arena, theme.as_deref()).await?;
            }
            let fields = ["id", "text", "theme"];
            render::data(
                format.format(),
                &prompts,
                &fields,
                &["id", "theme", "text"],
                || {
                    prompts
                        .iter()
                        .map(|p| vec![p.id.clone(), p.theme.clone(), p.text.clone()])
                        .collect()
                },
            )?;
        }
        PromptsAction::Add { text, id, theme } => {
            if text.trim().is_empty() {
                return Err(Error::EmptyPrompt.into());
            }
            let arena = ctx.arena_without_models(Mode::Create).await?;
            outln!("{}", arena.add_prompt(text, id, theme).await?)?;
        }
        PromptsAction::Import { file } => {
            // A prompt set is read whole: a bound keeps a wrong file from taking the memory.
            let size = std::fs::metadata(&file)
                .map_err(|e| Error::io(&file, e))?
                .len();
            if size > MAX_PROMPT_SET_BYTES {
                return Err(Error::Input(format!(
                    "{}: {size} bytes is more than a prompt set may hold ({MAX_PROMPT_SET_BYTES})",
                    file.display()
                ))
                .into());
            }
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            let prompts = sets::parse(&file, &text)?;
            let total = prompts.len();
            let arena = ctx.arena_without_models(Mode::Create).await?;
            let added = arena.add_prompts(prompts).await?;
            outln!(
                "imported {added} prompts from {} ({} already in the pool)",
                file.display(),
                total - added
            )?;
        }
        PromptsAction::Remove { id } => {
            let arena = ctx.arena_without_models(Mode::Write).await?;
            arena.remove_prompt(id.clone()).await?;
            outln!("removed {id}")?;
        }
    }
    Ok(0)
}
