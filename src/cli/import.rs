//! `arena import`: battle logs from elsewhere, with a progress bar and a summary of what was
//! imported and what was skipped, and why.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render;
use super::{Context, Format, ItemOutput};
use crate::error::Error;
use crate::store::Mode;
use crate::transfer::battles::{InputFormat, Mapping};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A JSON array, JSON Lines or CSV file of {model_a, model_b, winner} records
    file: PathBuf,
    /// The file's format [default: by extension, then by its first character]
    #[arg(long, value_enum, default_value_t = FileFormat::Auto)]
    input_format: FileFormat,
    /// A field under another name, e.g. --column model_a=left (fields: model_a, model_b,
    /// winner, tstamp, judge, question_id, battle_id, vote_id); repeatable
    #[arg(long, value_name = "FIELD=NAME")]
    column: Vec<String>,
    /// A winner value that means an outcome, e.g. --winner-value left=model_a (outcomes:
    /// model_a, model_b, tie, both_bad, skip); repeatable
    #[arg(long, value_name = "VALUE=OUTCOME")]
    winner_value: Vec<String>,
    #[command(flatten)]
    output: ItemOutput,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FileFormat {
    Auto,
    Json,
    Jsonl,
    Csv,
}

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<u8> {
    let mut mapping = Mapping::default();
    for c in &args.column {
        mapping.column(c)?;
    }
    for w in &args.winner_value {
        mapping.winner(w)?;
    }
    let format = match args.input_format {
        FileFormat::Auto => InputFormat::Auto,
        FileFormat::Json => InputFormat::Json,
        FileFormat::Jsonl => InputFormat::Jsonl,
        FileFormat::Csv => InputFormat::Csv,
    };
    let meta = std::fs::metadata(&args.file).map_err(|e| Error::io(&args.file, e))?;
    if meta.is_dir() {
        return Err(Error::Input(format!(
            "{} is a directory: give a battle log file",
            args.file.display()
        ))
        .into());
    }
    let arena = ctx.arena_without_models(Mode::Create).await?;
    let bar = if ctx.progress_enabled() {
        ProgressBar::with_draw_target(Some(meta.len()), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {bytes}/{total_bytes} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let summary = arena
        .import(&args.file, format, &mapping, move |bytes| {
            progress.set_position(bytes);
        })
        .await;
    bar.finish_and_clear();
    let summary = summary?;
    let skipped = summary.skipped.total();
    match args.output.format() {
        Format::Table => {
            #[allow(clippy::cast_precision_loss)]
            let rate = summary.imported as f64 / summary.seconds.max(1e-9);
            outln!(
                "imported {} from {} in {:.2} s ({:.0} rows/s); {} already imported; {} skipped",
                plural(summary.imported, "vote"),
                render::terminal_safe(&summary.file),
                summary.seconds,
                rate,
                summary.duplicates,
                skipped
            )?;
            for (identity, count) in &summary.skipped.identities {
                outln!(
                    "  {} identified {}",
                    plural(*count, "record"),
                    identity.describe()
                )?;
            }
            for (reason, (count, first)) in &summary.skipped.reasons {
                outln!(
                    "  skipped {count}: {reason} (first at {} {first})",
                    summary.skipped.unit
                )?;
            }
        }
        format => render::print_json(&summary, format)?,
    }
    if summary.imported == 0 && summary.duplicates == 0 && skipped > 0 {
        return Err(Error::Input(format!(
            "{}: no record could be imported ({skipped} skipped, reasons above)",
            args.file.display()
        ))
        .into());
    }
    Ok(0)
}

/// "1 vote", "2 votes".
pub(crate) fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
