//! `arena stats matrix` and `arena stats prompts`: the figures of `/api/battle_statistics`
//! and `/api/prompt_statistics`, in the same JSON shapes.

use clap::{Args, Subcommand};

use super::leaderboard::FilterArgs;
use super::render;
use super::{Context, Format, RowsFormat};
use crate::store::Mode;

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(subcommand)]
    what: StatsWhat,
}

#[derive(Debug, Subcommand)]
enum StatsWhat {
    /// Win-rate and match-count matrices between models
    Matrix {
        /// Only the N models with the most battles (needed above 500 models)
        #[arg(long, value_name = "N")]
        top: Option<usize>,
        #[command(flatten)]
        filter: FilterArgs,
        #[command(flatten)]
        format: RowsFormat,
    },
    /// Per-prompt battle counts and win rates, most battles first
    Prompts {
        #[command(flatten)]
        format: RowsFormat,
    },
}

pub async fn run(ctx: &Context, args: &StatsArgs) -> anyhow::Result<u8> {
    let arena = ctx.arena_without_models(Mode::Read).await?;
    match &args.what {
        StatsWhat::Matrix {
            top,
            filter,
            format,
        } => {
            let selection = filter.selection()?;
            let m = arena.battle_statistics(&selection, *top).await?;
            let models: Vec<&String> = m.win_rate_matrix.keys().collect();
            let mut header = vec!["win rate (battles)"];
            header.extend(models.iter().map(|s| s.as_str()));
            render::data(format.format(), &m, &header, || {
                models
                    .iter()
                    .map(|a| {
                        let mut row = vec![(*a).clone()];
                        for b in &models {
                            row.push(if a == b {
                                "-".into()
                            } else {
                                let rate = percent(m.win_rate_matrix[*a][*b]);
                                format!("{rate} ({})", m.match_count_matrix[*a][*b])
                            });
                        }
                        row
                    })
                    .collect()
            })?;
            if matches!(format.format(), Format::Table | Format::Markdown)
                && let Some(note) = arena
                    .left_out(&selection)
                    .await?
                    .note(!selection.include_identity_leaks)
            {
                ctx.note(format!("note: {note}"));
            }
        }
        StatsWhat::Prompts { format } => {
            // The operator's own database: every prompt, users' own ones too.
            let s = arena.prompt_statistics(false).await?;
            let header = ["prompt", "theme", "battles", "models (win rate of battles)"];
            render::data(format.format(), &s, &header, || {
                s.prompt_statistics
                    .iter()
                    .map(|p| {
                        let models: Vec<String> = p
                            .model_win_rates
                            .iter()
                            .map(|(m, r)| {
                                format!("{m} {} of {}", percent(*r), p.model_battle_counts[m])
                            })
                            .collect();
                        vec![
                            p.prompt.chars().take(50).collect(),
                            p.prompt_theme.clone(),
                            p.total_battles.to_string(),
                            models.join("\n"),
                        ]
                    })
                    .collect()
            })?;
        }
    }
    Ok(0)
}

/// A share as a whole percentage, or `n/a`.
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "n/a".into(), |r| format!("{:.0}%", r * 100.0))
}
