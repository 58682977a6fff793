//! `arena export battles|votes|leaderboard`: JSON Lines, CSV or JSON, to stdout or a file.
//! Votes stream straight from the database, so an export never holds them all in memory.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::render;
use super::{Context, Format};
use crate::error::Error;
use crate::store::{BattleFilter, ExportedVote, Mode};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export
    what: What,
    /// Output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
    /// Write to this file instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum What {
    /// Every battle (model names only for voted ones)
    Battles,
    /// Every vote with the fields that identify it (importing the export again adds nothing)
    Votes,
    /// The default leaderboard (Bradley-Terry, 100 bootstrap rounds, seed 0)
    Leaderboard,
}

/// The formats of an export: data for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    /// One JSON object per line
    Jsonl,
    /// One JSON document
    Json,
    /// A header line and one row per record
    Csv,
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
    let arena = ctx.arena_without_models(Mode::Read).await?;
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
            let mut writer =
                VoteWriter::new(args.format, sink(args.output.as_ref())?).map_err(&io)?;
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
            match args.format {
                ExportFormat::Json => {
                    serde_json::to_writer_pretty(&mut out, &battles)
                        .map_err(std::io::Error::from)
                        .map_err(&io)?;
                    out.write_all(b"\n").map_err(&io)?;
                }
                ExportFormat::Csv => {
                    let mut w = csv::Writer::from_writer(&mut out);
                    w.write_record(render::BATTLE_CSV_HEADER)
                        .map_err(csv_io)
                        .map_err(&io)?;
                    for b in &battles {
                        w.write_record(render::battle_csv_row(b))
                            .map_err(csv_io)
                            .map_err(&io)?;
                    }
                    w.flush().map_err(&io)?;
                }
                ExportFormat::Jsonl => {
                    for b in &battles {
                        serde_json::to_writer(&mut out, b)
                            .map_err(std::io::Error::from)
                            .map_err(&io)?;
                        out.write_all(b"\n").map_err(&io)?;
                    }
                }
            }
            out.flush().map_err(&io)?;
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
            let format = match args.format {
                ExportFormat::Jsonl => Format::Jsonl,
                ExportFormat::Json => Format::Json,
                ExportFormat::Csv => Format::Csv,
            };
            let text = super::leaderboard::format(&board, format)?;
            super::emit(args.output.as_deref(), &text)?;
        }
    }
    Ok(0)
}

fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
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
    fn new(format: ExportFormat, out: Box<dyn Write + Send>) -> std::io::Result<Self> {
        Ok(match format {
            ExportFormat::Json => VoteWriter::Array { out, first: true },
            ExportFormat::Csv => {
                // The header comes first, even when no vote follows: an empty export is a
                // file that imports (as nothing).
                let mut w = csv::Writer::from_writer(out);
                w.write_record(ExportedVote::FIELDS).map_err(csv_io)?;
                VoteWriter::Csv(Box::new(w))
            }
            ExportFormat::Jsonl => VoteWriter::Lines(out),
        })
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
            VoteWriter::Csv(w) => w.write_record(v.cells()).map_err(csv_io),
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
