//! `arena rebuild`: recomputes the running counts and online Elo from the votes table, fills
//! in the style features and categories of votes recorded before they were kept, and says
//! how many votes are kept but left out of the ratings.

use clap::Args;

use super::Context;
use crate::store::Mode;

#[derive(Debug, Args)]
pub struct RebuildArgs {}

pub async fn run(ctx: &Context, _args: &RebuildArgs) -> anyhow::Result<u8> {
    let arena = ctx.arena_without_models(Mode::Write).await?;
    let started = std::time::Instant::now();
    let left_out = arena.rebuild().await?;
    ctx.note(format!(
        "rebuilt the counts and online Elo from the votes in {:.2} s",
        started.elapsed().as_secs_f64()
    ));
    let filled = arena.fill_styles().await?;
    ctx.note(if filled == 0 {
        "every vote on a battle has its style features and categories".to_owned()
    } else {
        format!("computed the style features and categories of {filled} earlier vote(s)")
    });
    ctx.note(
        left_out
            .note(true)
            .unwrap_or_else(|| "every vote counts: none is left out of the ratings".to_owned()),
    );
    Ok(0)
}
