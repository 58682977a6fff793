//! `arena leaderboard`.

use std::path::PathBuf;

use clap::Args;

use super::render::{self, num};
use super::{Context, Format};
use crate::rating::{Leaderboard, LeaderboardOptions, Method};

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    /// Rating method
    #[arg(long, value_enum, default_value_t = Method::Elo)]
    method: Method,
    /// Leave out models with fewer battles
    #[arg(long, default_value_t = 0)]
    min_battles: u64,
    /// Write to this file instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub async fn run(ctx: &Context, args: &LeaderboardArgs) -> anyhow::Result<u8> {
    let arena = ctx.arena_without_models().await?;
    let options = LeaderboardOptions {
        method: args.method,
        elo: arena.elo_params(),
        min_battles: args.min_battles,
    };
    let board = arena.leaderboard(&options).await?;
    let text = format(&board, ctx.global.format)?;
    super::emit(args.output.as_deref(), &text)?;
    if ctx.global.format == Format::Table {
        for note in &board.notes {
            ctx.note(format!("note: {note}"));
        }
        if board.leaderboard.is_empty() {
            ctx.note("no votes yet: run `arena battle` and vote, or `arena import FILE`");
        }
    }
    Ok(0)
}

/// The leaderboard in `format`; every format carries the same fields.
pub fn format(board: &Leaderboard, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(board)? + "\n",
        Format::Jsonl => {
            let mut out = String::new();
            for row in &board.leaderboard {
                out.push_str(&serde_json::to_string(row)?);
                out.push('\n');
            }
            out
        }
        Format::Csv => {
            // Scripts get the JSON field names and full precision.
            let header = [
                "rank",
                "model_name",
                "rating",
                "battles",
                "wins",
                "ties",
                "both_bad",
                "skips",
                "win_rate_percentage",
            ];
            let rows: Vec<Vec<String>> = board
                .leaderboard
                .iter()
                .map(|r| {
                    vec![
                        r.rank.to_string(),
                        r.model_name.clone(),
                        r.rating.to_string(),
                        r.battles.to_string(),
                        r.wins.to_string(),
                        r.ties.to_string(),
                        r.both_bad.to_string(),
                        r.skips.to_string(),
                        r.win_rate_percentage
                            .map_or_else(String::new, |w| w.to_string()),
                    ]
                })
                .collect();
            render::table(Format::Csv, &header, &rows)
        }
        f => {
            let header = [
                "rank",
                "model",
                "rating",
                "battles",
                "wins",
                "ties",
                "both bad",
                "skips",
                "win rate %",
            ];
            let rows: Vec<Vec<String>> = board
                .leaderboard
                .iter()
                .map(|r| {
                    vec![
                        r.rank.to_string(),
                        r.model_name.clone(),
                        num(r.rating),
                        r.battles.to_string(),
                        r.wins.to_string(),
                        r.ties.to_string(),
                        r.both_bad.to_string(),
                        r.skips.to_string(),
                        r.win_rate_percentage.map_or_else(|| "-".into(), num),
                    ]
                })
                .collect();
            render::table(f, &header, &rows)
        }
    })
}
