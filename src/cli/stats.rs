//! `arena stats matrix` and `arena stats prompts`: the figures of `/api/battle_statistics`
//! and `/api/prompt_statistics`, in the same JSON shapes.

use clap::{Args, Subcommand};

use super::leaderboard::FilterArgs;
use super::render;
use super::{Context, Format};
use crate::rating::stats;

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(subcommand)]
    what: StatsWhat,
}

#[derive(Debug, Subcommand)]
enum StatsWhat {
    /// Win-rate and match-count matrices between models
    Matrix {
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Per-prompt battle counts and win rates, most battles first
    Prompts,
}

pub async fn run(ctx: &Context, args: &StatsArgs) -> anyhow::Result<u8> {
    let arena = ctx.arena_without_models().await?;
    match &args.what {
        StatsWhat::Matrix { filter } => {
            let data = arena.store().votes(filter.to_filter(&arena)?).await?;
            let m = stats::matrices(&data.names, &data.votes);
            match ctx.global.format {
                Format::Json | Format::Jsonl => render::print_json(&m, ctx.global.format)?,
                f => {
                    let models: Vec<&String> = m.win_rate_matrix.keys().collect();
                    let mut header = vec!["win rate (battles)"];
                    header.extend(models.iter().map(|s| s.as_str()));
                    let rows: Vec<Vec<String>> = models
                        .iter()
                        .map(|a| {
                            let mut row = vec![(*a).clone()];
                            for b in &models {
                                row.push(if a == b {
                                    "-".into()
                                } else {
                                    let rate = m.win_rate_matrix[*a][*b].map_or_else(
                                        || "n/a".into(),
                                        |r| format!("{:.0}%", r * 100.0),
                                    );
                                    format!("{rate} ({})", m.match_count_matrix[*a][*b])
                                });
                            }
                            row
                        })
                        .collect();
                    super::emit(None, &render::table(f, &header, &rows))?;
                }
            }
        }
        StatsWhat::Prompts => {
            let (names, rows) = arena.store().prompt_votes().await?;
            let s = stats::prompts(&names, &rows);
            match ctx.global.format {
                Format::Json | Format::Jsonl => render::print_json(&s, ctx.global.format)?,
                f => {
                    let rows: Vec<Vec<String>> = s
                        .prompt_statistics
                        .iter()
                        .map(|p| {
                            let short: String = p.prompt.chars().take(50).collect();
                            let models: Vec<String> = p
                                .model_win_rates
                                .iter()
                                .map(|(m, r)| {
                                    let rate = r.map_or_else(
                                        || "n/a".into(),
                                        |r| format!("{:.0}%", r * 100.0),
                                    );
                                    format!("{m} {rate} of {}", p.model_battle_counts[m])
                                })
                                .collect();
                            vec![
                                short,
                                p.prompt_theme.clone(),
                                p.total_battles.to_string(),
                                models.join("\n"),
                            ]
                        })
                        .collect();
                    super::emit(
                        None,
                        &render::table(
                            f,
                            &["prompt", "theme", "battles", "models (win rate of battles)"],
                            &rows,
                        ),
                    )?;
                }
            }
        }
    }
    Ok(0)
}
