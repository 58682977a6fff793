//! `arena show`, `arena battles` and `arena unstuck`.

use clap::Args;

use super::render;
use super::{Context, Format, ItemOutput, RowsFormat};
use crate::battle::{Status, parse_id};
use crate::store::{BattleFilter, Mode};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The battle id
    id: String,
    #[command(flatten)]
    output: ItemOutput,
}

#[derive(Debug, Args)]
pub struct BattlesArgs {
    /// Only battles in this state
    #[arg(long, value_parser = ["pending_generation", "pending_vote", "completed", "failed"])]
    status: Option<String>,
    /// Only battles of this model (matches voted battles' models only)
    #[arg(long)]
    model: Option<String>,
    /// Only battles created at or after this time (RFC 3339, e.g. 2026-01-31T00:00:00Z, or a date)
    #[arg(long)]
    since: Option<String>,
    /// At most this many battles, newest first
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[command(flatten)]
    output: RowsFormat,
}

#[derive(Debug, Args)]
pub struct UnstuckArgs {
    /// Only this user's battles (default: everyone's)
    #[arg(long)]
    user: Option<String>,
}

pub async fn show(ctx: &Context, args: &ShowArgs) -> anyhow::Result<u8> {
    let id = parse_id(&args.id)?;
    let arena = ctx.arena_without_models(Mode::Read).await?;
    let view = arena.battle(id).await?;
    match args.output.format() {
        Format::Table => out!("{}", super::battle::battle_text(&view))?,
        format => render::print_json(&view, format)?,
    }
    Ok(0)
}

pub(crate) use crate::util::parse_time;

pub async fn list(ctx: &Context, args: &BattlesArgs) -> anyhow::Result<u8> {
    let filter = BattleFilter {
        status: args
            .status
            .as_deref()
            .map(str::parse::<Status>)
            .transpose()?,
        model: args.model.clone(),
        since: args
            .since
            .as_deref()
            .map(|s| parse_time("--since", s))
            .transpose()?,
        limit: Some(args.limit),
    };
    let arena = ctx.arena_without_models(Mode::Read).await?;
    let battles = arena.battles(filter).await?;
    match args.output.format {
        Format::Json => render::print_json(&battles, Format::Json)?,
        Format::Jsonl => {
            for b in &battles {
                render::print_json(b, Format::Jsonl)?;
            }
        }
        // The columns and names of `arena export battles --format csv`.
        Format::Csv => {
            let rows: Vec<Vec<String>> = battles.iter().map(render::battle_csv_row).collect();
            super::emit(
                None,
                &render::table(Format::Csv, &render::BATTLE_CSV_HEADER, &rows),
            )?;
        }
        format => {
            let rows: Vec<Vec<String>> = battles
                .iter()
                .map(|b| {
                    let prompt: String = b.prompt.split_whitespace().collect::<Vec<_>>().join(" ");
                    let short: String = prompt.chars().take(40).collect();
                    vec![
                        b.battle_id.clone(),
                        b.created_at.clone(),
                        b.status.to_string(),
                        if short.len() < prompt.len() {
                            format!("{short}…")
                        } else {
                            short
                        },
                        b.model_a.clone().unwrap_or_else(|| "hidden".into()),
                        b.model_b.clone().unwrap_or_else(|| "hidden".into()),
                        b.winner.map_or_else(String::new, |w| w.to_string()),
                    ]
                })
                .collect();
            let header = [
                "id", "created", "status", "prompt", "model A", "model B", "vote",
            ];
            super::emit(None, &render::table(format, &header, &rows))?;
        }
    }
    Ok(0)
}

pub async fn unstuck(ctx: &Context, args: &UnstuckArgs) -> anyhow::Result<u8> {
    let arena = ctx.arena_without_models(Mode::Write).await?;
    let n = arena.unstuck(args.user.as_deref()).await?;
    match n {
        0 => outln!("no stuck battles found")?,
        1 => outln!("cleared 1 stuck battle")?,
        n => outln!("cleared {n} stuck battles")?,
    }
    Ok(0)
}
