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

/// Where an export goes: stdout, or a file that replaces `--output` atomically once the
/// export is whole (a reader never sees half an export, and a failed one leaves the old file).
enum Out {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File {
        temp: Option<std::io::BufWriter<tempfile::NamedTempFile>>,
        path: PathBuf,
    },
}

impl Out {
    fn open(output: Option<&PathBuf>) -> Result<Self, Error> {
        Ok(match output {
            None => Out::Stdout(std::io::BufWriter::new(std::io::stdout())),
            Some(path) => {
                let dir = match path.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => std::path::Path::new("."),
                };
                let temp = tempfile::Builder::new()
                    .prefix(".arena-export-")
                    .tempfile_in(dir)
                    .map_err(|e| Error::io(dir, e))?;
                Out::File {
                    temp: Some(std::io::BufWriter::new(temp)),
                    path: path.clone(),
                }
            }
        })
    }

    /// Flushes, and puts a file in its place.
    fn commit(&mut self) -> std::io::Result<()> {
        match self {
            Out::Stdout(w) => w.flush(),
            Out::File { temp, path } => match temp.take() {
                None => Ok(()),
                Some(w) => {
                    let file = w
                        .into_inner()
                        .map_err(std::io::IntoInnerError::into_error)?;
                    file.as_file().sync_all()?;
                    file.persist(&*path).map(drop).map_err(|e| e.error)
                }
            },
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Stdout(w) => w.write(buf),
            Out::File { temp: Some(w), .. } => w.write(buf),
            Out::File { temp: None, .. } => Err(std::io::Error::other("the export is closed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Stdout(w) => w.flush(),
            Out::File { temp: Some(w), .. } => w.flush(),
            Out::File { temp: None, .. } => Ok(()),
        }
    }
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
                VoteWriter::new(args.format, Out::open(args.output.as_ref())?).map_err(&io)?;
            arena
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
            let mut out = Out::open(args.output.as_ref())?;
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
            out.commit().map_err(&io)?;
        }
        What::Leaderboard => {
            let options = arena.leaderboard_options(crate::rating::Method::Bt)?;
            let board = arena
                .leaderboard(&options, &crate::engine::Selection::default())
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
    Lines(Out),
    Array { out: Out, first: bool },
    Csv(Option<Box<csv::Writer<Out>>>),
}

impl VoteWriter {
    fn new(format: ExportFormat, out: Out) -> std::io::Result<Self> {
        Ok(match format {
            ExportFormat::Json => VoteWriter::Array { out, first: true },
            ExportFormat::Csv => {
                // The header comes first, even when no vote follows: an empty export is a
                // file that imports (as nothing).
                let mut w = csv::Writer::from_writer(out);
                w.write_record(ExportedVote::FIELDS).map_err(csv_io)?;
                VoteWriter::Csv(Some(Box::new(w)))
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
            VoteWriter::Csv(Some(w)) => w
                .write_record(v.cells().iter().map(|c| render::csv_cell(c)))
                .map_err(csv_io),
            VoteWriter::Csv(None) => Err(std::io::Error::other("the export is closed")),
        }
    }

    fn finish(&mut self) -> std::io::Result<()> {
        match self {
            VoteWriter::Lines(out) => out.commit(),
            VoteWriter::Array { out, first } => {
                out.write_all(if *first { b"[]\n" } else { b"\n]\n" })?;
                out.commit()
            }
            VoteWriter::Csv(w) => match w.take() {
                None => Ok(()),
                Some(w) => w
                    .into_inner()
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .commit(),
            },
        }
    }
}
