//! `arena migrate --from DB --to DB`: copies a whole database to another backend (an SQLite
//! file to PostgreSQL, or back to a file as a backup), going on from where a copy cut short
//! stopped, then checks that both hold the same rows and the same votes and counts, from
//! which every leaderboard is computed.

use std::path::PathBuf;

use clap::Args;

use super::Context;
use crate::error::Error;
use crate::rating::elo::EloParams;
use crate::store::{CountFilter, Mode, Store, VoteFilter};

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database to copy: a path, sqlite://PATH or postgres://... (read only)
    #[arg(long, value_name = "DB")]
    from: PathBuf,
    /// Where to copy it: empty, or a copy of the same database cut short
    #[arg(long, value_name = "DB")]
    to: PathBuf,
    /// Rows a page (one transaction on the destination)
    #[arg(long, hide = true)]
    page_rows: Option<usize>,
    /// Stop after this many pages, as a copy cut short would (for tests of resuming)
    #[arg(long, hide = true)]
    stop_after_pages: Option<usize>,
}

pub async fn run(ctx: &Context, args: &MigrateArgs) -> anyhow::Result<u8> {
    let config = ctx.config()?;
    let from = crate::store::open(&args.from, Mode::Read).await?;
    let to = crate::store::open(&args.to, Mode::Create).await?;
    let (source, destination) = (
        crate::store::describe(&args.from),
        crate::store::describe(&args.to),
    );
    if source == destination {
        return Err(Error::Input(format!(
            "--from and --to are the same database ({source}): name another --to"
        ))
        .into());
    }
    let started = std::time::Instant::now();
    let pages = crate::store::copy::Pages {
        rows: args.page_rows,
        stop_after: args.stop_after_pages,
    };
    let report = crate::store::copy::copy_all(&from, &to, pages, |table, rows| {
        ctx.say(format!("{table}: {rows} row(s) copied"));
    })
    .await?;
    if report.stopped {
        from.close().await?;
        to.close().await?;
        return Err(Error::Internal(format!(
            "stopped as asked (--stop-after-pages): run the same command again to go on \
             copying {source} to {destination}"
        ))
        .into());
    }
    let params = EloParams {
        k: config.elo.k,
        initial: config.elo.initial,
        ..EloParams::default()
    };
    to.rebuild(params).await?;
    // Every row, and what the leaderboards are computed from: the votes in vote order and
    // the running counts.
    let mut differ = Vec::new();
    for (table, a, b) in &report.tables {
        if *table != "settings" && a != b {
            differ.push(format!(
                "{table}: {a} row(s) at {source}, {b} at {destination}"
            ));
        }
    }
    let (a, b) = (
        from.votes(VoteFilter::default()).await?,
        to.votes(VoteFilter::default()).await?,
    );
    if (a.names, a.votes, a.times, a.imported) != (b.names, b.votes, b.times, b.imported) {
        differ.push("the votes differ".into());
    }
    if from.pair_counts(CountFilter::default()).await?
        != to.pair_counts(CountFilter::default()).await?
    {
        differ.push("the counts per pair of models differ".into());
    }
    let votes = report
        .tables
        .iter()
        .find(|(t, _, _)| *t == "votes")
        .map_or(0, |(_, n, _)| *n);
    from.close().await?;
    to.close().await?;
    if !differ.is_empty() {
        return Err(Error::Internal(format!(
            "the copy at {destination} differs from {source}: {}",
            differ.join("; ")
        ))
        .into());
    }
    ctx.note(format!(
        "copied {source} to {destination} in {:.1} s: {votes} vote(s); every table holds the \
         same rows, and the votes and counts behind every leaderboard are the same",
        started.elapsed().as_secs_f64()
    ));
    Ok(0)
}
