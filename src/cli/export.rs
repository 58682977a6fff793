//! `arena export battles|votes|leaderboard`: JSON Lines, CSV or JSON, to stdout or a file.
//! Votes stream straight from the database, so an export never holds them all in memory.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{Context, Format};
use crate::error::Error;
use crate::store::{BattleFilter, ExportedVote};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export
    what: What,
    /// Write to this file instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum What {
    /// Every battle (model names only for voted ones)
    Battles,
    /// Every vote: model_a, model_b, winner, tstamp (importable again with `arena import`)
    Votes,
    /// The default leaderboard (Bradley-Terry, 100 bootstrap rounds, seed 0)
    Leaderboard,
}

fn sink(output: Option<&PathBuf>) -> Result<Box<dyn Write + Send>, Error> {
    Ok(match output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| Error::io(path, e))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    })
}

pub async fn run(ctx: &Context, args: &ExportArgs) -> anyhow::Result<u8> {
    let arena = ctx.arena_without_models().await?;
    // Exports default to JSON Lines; `--format json` gives one array, `csv` a table.
    let format = match ctx.global.format {
        Format::Table | Format::Markdown => Format::Jsonl,
        f => f,
    };
    let name = args
        .output
        .as_ref()
        .map_or_else(|| "<stdout>".to_owned(), |p| p.display().to_string());
    let io = move |e: std::io::Error| Error::Io {
        path: name.clone().into(),
        cause: e,
    };
    match args.what {
        What::Votes => {
            let mut writer = VoteWriter::new(format, sink(args.output.as_ref())?);
            arena
                .store()
                .export_votes(Box::new(move |vote| {
                    match vote {
                        Some(v) => writer.write(&v),
                        None => writer.finish(),
                    }
                    .map_err(&io)
                }))
                .await?;
        }
        What::Battles => {
            let battles = arena
                .battles(BattleFilter {
                    limit: None,
                    ..BattleFilter::default()
                })
                .await?;
            let mut out = sink(args.output.as_ref())?;
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &battles)?;
                    out.write_all(b"\n").map_err(&io)?;
                    out.flush().map_err(&io)?;
                }
                Format::Csv => {
                    let mut w = csv::Writer::from_writer(out);
                    w.write_record([
                        "battle_id",
                        "created_at",
                        "status",
                        "prompt",
                        "prompt_theme",
                        "response_a",
                        "response_b",
                        "model_a",
                        "model_b",
                        "winner",
                        "error",
                    ])?;
                    for b in &battles {
                        w.write_record([
                            b.battle_id.clone(),
                            b.created_at.clone(),
                            b.status.to_string(),
                            b.prompt.clone(),
                            b.prompt_theme.clone(),
                            b.response_a.clone().unwrap_or_default(),
                            b.response_b.clone().unwrap_or_default(),
                            b.model_a.clone().unwrap_or_default(),
                            b.model_b.clone().unwrap_or_default(),
                            b.winner.map(|w| w.as_str().to_owned()).unwrap_or_default(),
                            b.error.clone().unwrap_or_default(),
                        ])?;
                    }
                    w.flush().map_err(&io)?;
                }
                _ => {
                    for b in &battles {
                        serde_json::to_writer(&mut out, b)?;
                        out.write_all(b"\n").map_err(&io)?;
                    }
                    out.flush().map_err(&io)?;
                }
            }
        }
        What::Leaderboard => {
            let options = crate::rating::LeaderboardOptions {
                elo: arena.elo_params(),
                now_ms: jiff::Timestamp::now().as_millisecond(),
                ..crate::rating::LeaderboardOptions::default()
            };
            let board = arena
                .leaderboard(&options, crate::store::VoteFilter::default())
                .await?;
            let text = super::leaderboard::format(&board, format)?;
            super::emit(args.output.as_deref(), &text)?;
        }
    }
    Ok(0)
}

/// Writes votes one at a time in the chosen format.
enum VoteWriter {
    Lines(Box<dyn Write + Send>),
    Array {
        out: Box<dyn Write + Send>,
        first: bool,
    },
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
}

impl VoteWriter {
    fn new(format: Format, out: Box<dyn Write + Send>) -> Self {
        match format {
            Format::Json => VoteWriter::Array { out, first: true },
            Format::Csv => VoteWriter::Csv(Box::new(csv::Writer::from_writer(out))),
            _ => VoteWriter::Lines(out),
        }
    }

    fn write(&mut self, v: &ExportedVote) -> std::io::Result<()> {
        match self {
            VoteWriter::Lines(out) => {
                serde_json::to_writer(&mut *out, v)?;
                out.write_all(b"\n")
            }
            VoteWriter::Array { out, first } => {
                out.write_all(if *first { b"[\n" } else { b",\n" })?;
                *first = false;
                serde_json::to_writer(&mut *out, v).map_err(std::io::Error::from)
            }
            VoteWriter::Csv(w) => w
                .serialize(v)
                .map_err(|e| std::io::Error::other(e.to_string())),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            VoteWriter::Lines(out) => out.flush(),
            VoteWriter::Array { out, first } => {
                out.write_all(if *first { b"[]\n" } else { b"\n]\n" })?;
                out.flush()
            }
            VoteWriter::Csv(w) => w.flush(),
        }
    }
}
