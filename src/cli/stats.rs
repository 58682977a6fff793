//! `arena stats matrix` and `arena stats prompts`: the figures of `/api/battle_statistics`
//! and `/api/prompt_statistics`, in the same JSON shapes.

use clap::{Args, Subcommand};
use serde::Serialize;

use super::leaderboard::FilterArgs;
use super::render;
use super::{Context, Format, RowsFormat};
use crate::rating::stats::{Matrices, PromptStatistics};
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
        filter: FilterArgs,
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
            if m.win_rate_matrix.is_empty() {
                super::leaderboard::check_theme(&arena, filter.theme.as_deref()).await?;
            }
            let models: Vec<&String> = m.win_rate_matrix.keys().collect();
            match format.format() {
                Format::Json => render::print_json(&m, Format::Json)?,
                Format::Jsonl => render::json_lines(&pair_records(&m))?,
                Format::Csv => {
                    super::emit(None, &render::csv_records(&PAIR_FIELDS, &pair_records(&m))?)?
                }
                f => {
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
                                    let rate = percent(m.win_rate_matrix[*a][*b]);
                                    format!("{rate} ({})", m.match_count_matrix[*a][*b])
                                });
                            }
                            row
                        })
                        .collect();
                    super::emit(None, &render::table(f, &header, &rows))?;
                }
            }
            if matches!(format.format(), Format::Table | Format::Markdown)
                && let Some(note) = arena
                    .left_out(&selection)
                    .await?
                    .note(!selection.include_identity_leaks)
            {
                ctx.note(format!("note: {note}"));
            }
        }
        StatsWhat::Prompts { filter, format } => {
            // The operator's own database: every prompt, users' own ones too.
            let selection = filter.selection()?;
            let s = arena.prompt_statistics(false, &selection).await?;
            if s.prompt_statistics.is_empty() {
                super::leaderboard::check_theme(&arena, filter.theme.as_deref()).await?;
            }
            match format.format() {
                Format::Json => render::print_json(&s, Format::Json)?,
                Format::Jsonl => render::json_lines(&s.prompt_statistics)?,
                Format::Csv => super::emit(
                    None,
                    &render::csv_records(&PROMPT_FIELDS, &prompt_records(&s))?,
                )?,
                f => {
                    let header = ["prompt", "theme", "battles", "models (win rate of battles)"];
                    let rows: Vec<Vec<String>> = s
                        .prompt_statistics
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
                                short(&p.prompt, 50),
                                p.prompt_theme.clone(),
                                p.total_battles.to_string(),
                                models.join("\n"),
                            ]
                        })
                        .collect();
                    super::emit(None, &render::table(f, &header, &rows))?;
                }
            }
        }
    }
    Ok(0)
}

/// The columns of the matrices in JSON Lines and CSV: one record per ordered pair of models.
const PAIR_FIELDS: [&str; 4] = ["model_a", "model_b", "win_rate", "battles"];

/// One ordered pair of models of the matrices, as JSON Lines and CSV carry them (long
/// format): `win_rate` is the share of model_a's decided battles against model_b that it
/// won, null where they have none; `battles` counts every battle between the two.
#[derive(Serialize)]
struct PairRecord<'a> {
    model_a: &'a str,
    model_b: &'a str,
    win_rate: Option<f64>,
    battles: u64,
}

fn pair_records(m: &Matrices) -> Vec<PairRecord<'_>> {
    m.win_rate_matrix
        .iter()
        .flat_map(|(a, rates)| {
            rates.iter().map(move |(b, rate)| PairRecord {
                model_a: a,
                model_b: b,
                win_rate: *rate,
                battles: m
                    .match_count_matrix
                    .get(a)
                    .and_then(|row| row.get(b))
                    .copied()
                    .unwrap_or(0),
            })
        })
        .collect()
}

/// The columns of the per-prompt figures in CSV: one record per prompt and model.
const PROMPT_FIELDS: [&str; 6] = [
    "prompt",
    "prompt_theme",
    "total_battles",
    "model",
    "battles",
    "win_rate",
];

/// One model's figures on one prompt, as CSV carries them (long format): the prompt's own
/// figures repeat on each of its models' lines.
#[derive(Serialize)]
struct PromptRecord<'a> {
    prompt: &'a str,
    prompt_theme: &'a str,
    total_battles: u64,
    model: &'a str,
    battles: u64,
    win_rate: Option<f64>,
}

fn prompt_records(s: &PromptStatistics) -> Vec<PromptRecord<'_>> {
    s.prompt_statistics
        .iter()
        .flat_map(|p| {
            p.model_battle_counts
                .iter()
                .map(move |(model, battles)| PromptRecord {
                    prompt: &p.prompt,
                    prompt_theme: &p.prompt_theme,
                    total_battles: p.total_battles,
                    model,
                    battles: *battles,
                    win_rate: p.model_win_rates.get(model).copied().flatten(),
                })
        })
        .collect()
}

/// The first `n` characters of `text` on one line, with `…` where it was cut (tables only).
fn short(text: &str, n: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = line.chars().take(n).collect();
    if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A share as a whole percentage, or `n/a`.
fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "n/a".into(), |r| format!("{:.0}%", r * 100.0))
}
