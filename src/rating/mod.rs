//! Ratings and statistics: pure functions over votes and counts, no I/O.
//!
//! All ratings derive from the votes table, the single source of truth. Outcomes: A wins (1),
//! B wins (0), tie and both bad (0.5 each; both bad counted apart), skip (no rating effect,
//! counted as a battle and a skip).

pub mod elo;
pub mod leaderboard;

pub use leaderboard::{Leaderboard, LeaderboardOptions, Method, Row};

use crate::battle::Winner;
use crate::store::VoteRow;

/// Per-model counts of battles and results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub battles: u64,
    pub wins: u64,
    pub losses: u64,
    pub ties: u64,
    pub both_bad: u64,
    pub skips: u64,
}

impl Totals {
    /// `(wins + 0.5·(ties + both bad)) / (battles − skips)`, in percent; `None` when every
    /// battle was skipped.
    #[must_use]
    pub fn win_rate_percentage(&self) -> Option<f64> {
        let decided = self.battles - self.skips;
        #[allow(clippy::cast_precision_loss)]
        (decided > 0).then(|| {
            100.0 * (self.wins as f64 + 0.5 * (self.ties + self.both_bad) as f64) / decided as f64
        })
    }
}

/// Counts per model from the votes.
#[must_use]
pub fn totals(n_models: usize, votes: &[VoteRow]) -> Vec<Totals> {
    let mut t = vec![Totals::default(); n_models];
    for v in votes {
        let (a, b) = (v.model_a as usize, v.model_b as usize);
        t[a].battles += 1;
        t[b].battles += 1;
        match v.winner {
            Winner::ModelA => {
                t[a].wins += 1;
                t[b].losses += 1;
            }
            Winner::ModelB => {
                t[b].wins += 1;
                t[a].losses += 1;
            }
            Winner::Tie => {
                t[a].ties += 1;
                t[b].ties += 1;
            }
            Winner::BothBad => {
                t[a].both_bad += 1;
                t[b].both_bad += 1;
            }
            Winner::Skip => {
                t[a].skips += 1;
                t[b].skips += 1;
            }
        }
    }
    t
}
