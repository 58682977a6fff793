//! Ratings and statistics: pure functions over votes and counts, no I/O.
//!
//! All ratings derive from the votes table, the single source of truth. Outcomes: A wins (1),
//! B wins (0), tie and both bad (0.5 each; both bad counted apart), skip (no rating effect,
//! counted as a battle and a skip).

pub mod bt;
pub mod elo;
pub mod glicko2;
pub mod leaderboard;
pub mod stats;

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
    /// `(wins + 0.5·ties) / (battles − skips)` in percent (SPEC §5, as the writing arena):
    /// a both-bad battle counts in the denominator but earns no half win. `None` when every
    /// battle was skipped.
    #[must_use]
    pub fn win_rate_percentage(&self) -> Option<f64> {
        let decided = self.battles - self.skips;
        #[allow(clippy::cast_precision_loss)]
        (decided > 0).then(|| 100.0 * (self.wins as f64 + 0.5 * self.ties as f64) / decided as f64)
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

/// Votes aggregated per unordered pair and outcome, for Bradley-Terry: the fit then costs
/// nothing per vote. Skips are left out; ties and both bad count as ties.
#[must_use]
pub fn pair_counts(n_models: usize, votes: &[VoteRow]) -> bt::Comparisons {
    // Per unordered pair (lower index first): [wins of the lower, wins of the higher, ties].
    // A dense table for the usual few hundred models, a map beyond.
    const DENSE: usize = 512;
    let slot = |v: &VoteRow| -> Option<(u32, u32, usize)> {
        let (lo, hi, a_is_lo) = if v.model_a < v.model_b {
            (v.model_a, v.model_b, true)
        } else {
            (v.model_b, v.model_a, false)
        };
        let s = match (v.winner, a_is_lo) {
            (Winner::ModelA, true) | (Winner::ModelB, false) => 0,
            (Winner::ModelB, true) | (Winner::ModelA, false) => 1,
            (Winner::Tie | Winner::BothBad, _) => 2,
            (Winner::Skip, _) => return None,
        };
        Some((lo, hi, s))
    };
    let mut cells: std::collections::HashMap<(u32, u32), [f64; 3]> =
        std::collections::HashMap::new();
    if n_models <= DENSE {
        let mut table = vec![[0.0f64; 3]; n_models * n_models];
        for v in votes {
            if let Some((lo, hi, s)) = slot(v) {
                table[lo as usize * n_models + hi as usize][s] += 1.0;
            }
        }
        for (at, counts) in table.into_iter().enumerate() {
            if counts != [0.0; 3] {
                let (i, j) = (at / n_models, at % n_models);
                cells.insert(
                    (
                        u32::try_from(i).unwrap_or(u32::MAX),
                        u32::try_from(j).unwrap_or(u32::MAX),
                    ),
                    counts,
                );
            }
        }
    } else {
        for v in votes {
            if let Some((lo, hi, s)) = slot(v) {
                cells.entry((lo, hi)).or_insert([0.0; 3])[s] += 1.0;
            }
        }
    }
    let mut cells: Vec<bt::Cell> = cells
        .into_iter()
        .map(|((i, j), [wi, wj, t])| bt::Cell {
            i: i as usize,
            j: j as usize,
            wins_i: wi,
            wins_j: wj,
            ties: t,
        })
        .collect();
    // A fixed order makes the fit, and the bootstrap's use of its seed, reproducible.
    cells.sort_unstable_by_key(|c| (c.i, c.j));
    bt::Comparisons {
        n_models,
        cells,
        names: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flip(w: Winner) -> Winner {
        match w {
            Winner::ModelA => Winner::ModelB,
            Winner::ModelB => Winner::ModelA,
            other => other,
        }
    }

    fn votes() -> impl Strategy<Value = Vec<VoteRow>> {
        let vote = (0u32..5, 1u32..5, 0usize..5).prop_map(|(a, d, w)| VoteRow {
            model_a: a,
            model_b: (a + d) % 5,
            winner: Winner::ALL[w],
        });
        proptest::collection::vec(vote, 1..120)
    }

    proptest! {
        /// The fit sees only the multiset of (pair, outcome): order and sides do not matter.
        #[test]
        fn bradley_terry_ignores_vote_order_and_sides(
            votes in votes(),
            swaps in proptest::collection::vec(any::<bool>(), 120),
            seed in any::<u64>(),
        ) {
            let options = bt::BtOptions::default();
            let base = bt::fit(&pair_counts(5, &votes), &options);
            let mut other: Vec<VoteRow> = votes
                .iter()
                .zip(&swaps)
                .map(|(v, &swap)| if swap {
                    VoteRow { model_a: v.model_b, model_b: v.model_a, winner: flip(v.winner) }
                } else {
                    *v
                })
                .collect();
            // A seeded shuffle of the votes.
            let mut state = seed | 1;
            for i in (1..other.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                other.swap(i, usize::try_from(state % (i as u64 + 1)).unwrap_or(0));
            }
            let moved = bt::fit(&pair_counts(5, &other), &options);
            for (x, y) in base.ratings.iter().zip(&moved.ratings) {
                prop_assert!((x - y).abs() < 1e-9, "{x} vs {y}");
            }
            for (x, y) in base.sandwich_upper.iter().zip(&moved.sandwich_upper) {
                prop_assert!((x - y).abs() < 1e-9, "{x} vs {y}");
            }
        }
    }

    #[test]
    fn totals_and_win_rate() {
        let votes = [
            VoteRow {
                model_a: 0,
                model_b: 1,
                winner: Winner::ModelA,
            },
            VoteRow {
                model_a: 1,
                model_b: 0,
                winner: Winner::BothBad,
            },
            VoteRow {
                model_a: 0,
                model_b: 1,
                winner: Winner::Skip,
            },
        ];
        let t = totals(2, &votes);
        assert_eq!(t[0].battles, 3);
        assert_eq!(t[0].skips, 1);
        // (1 win + 0.5 * 0 ties) / (3 battles - 1 skip): both bad earns no half win.
        assert_eq!(t[0].win_rate_percentage(), Some(50.0));
        assert_eq!(t[1].win_rate_percentage(), Some(0.0));
    }
}
