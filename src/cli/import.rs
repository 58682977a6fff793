//! `arena import`: battle logs from elsewhere, with a progress bar and a summary of what was
//! imported and what was skipped, and why.

use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render;
use super::{Context, Format};
use crate::error::Error;
use crate::transfer::battles::InputFormat;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A JSON array, JSON Lines or CSV file of {model_a, model_b, winner} records
    file: PathBuf,
    /// The file's format
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    input_format: InputFormat,
}

pub async fn run(ctx: &Context, args: &ImportArgs) -> anyhow::Result<u8> {
    let size = std::fs::metadata(&args.file)
        .map_err(|e| Error::io(&args.file, e))?
        .len();
    let arena = ctx.arena_without_models().await?;
    let bar = if ctx.progress_enabled() {
        ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {bytes}/{total_bytes} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let summary = arena
        .import(&args.file, args.input_format, move |bytes| {
            progress.set_position(bytes)
        })
        .await;
    bar.finish_and_clear();
    let summary = summary?;
    match ctx.global.format {
        Format::Json | Format::Jsonl => render::print_json(&summary, ctx.global.format)?,
        _ => {
            #[allow(clippy::cast_precision_loss)]
            let rate = summary.imported as f64 / summary.seconds.max(1e-9);
            println!(
                "imported {} votes from {} in {:.2} s ({:.0} rows/s); {} already imported; {} skipped",
                summary.imported,
                summary.file,
                summary.seconds,
                rate,
                summary.duplicates,
                summary.skipped.total()
            );
            for (reason, (count, first)) in &summary.skipped.reasons {
                println!(
                    "  skipped {count}: {reason} (first at {} {first})",
                    summary.skipped.unit
                );
            }
        }
    }
    Ok(0)
}
