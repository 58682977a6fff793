//! Ratings and statistics: pure functions over votes and counts, no I/O.
//!
//! All ratings derive from the votes table, the single source of truth. Outcomes: A wins (1),
//! B wins (0), tie and both bad (0.5 each; both bad counted apart), skip (no rating effect,
//! counted as a battle and a skip).
//!
//! May use `util` and `error` only: no storage, no HTTP, no configuration types (the
//! methods' settings are its own).

pub mod bt;
pub mod category;
pub mod elo;
pub mod glicko2;
pub mod leaderboard;
mod left_out;
mod outcome;
pub mod stats;
pub mod style;

pub use leaderboard::{Leaderboard, LeaderboardOptions, Method, Row};
pub use left_out::{LeftOutCounts, VoteFlags};
pub use outcome::Winner;

/// One vote as the ratings need it: model indexes into the accompanying name list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteRow {
    pub model_a: u32,
    pub model_b: u32,
    pub winner: Winner,
}

impl VoteRow {
    #[must_use]
    pub fn new(model_a: u32, model_b: u32, winner: Winner) -> Self {
        VoteRow {
            model_a,
            model_b,
            winner,
        }
    }
}

/// Votes in vote order, with the model names they index into: what the store reads for the
/// methods that need the votes themselves.
#[derive(Debug, Clone, Default)]
pub struct Votes {
    pub names: Vec<String>,
    pub votes: Vec<VoteRow>,
    /// Unix milliseconds of each vote, parallel to `votes`.
    pub times: Vec<i64>,
    /// Whether each vote came from an import, parallel to `votes`: an import's votes are a
    /// closed rating period for Glicko-2 as soon as they are in.
    pub imported: Vec<bool>,
}

impl Votes {
    /// Puts the votes in time order, keeping insertion order among equal times (a stable
    /// sort): the order Glicko-2 and online Elo take them in. Imports may carry times
    /// earlier than votes already in.
    pub fn sort_by_time(&mut self) {
        if self.times.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let mut order: Vec<usize> = (0..self.votes.len()).collect();
        order.sort_by_key(|&i| self.times.get(i).copied().unwrap_or(i64::MAX));
        self.votes = order.iter().map(|&i| self.votes[i]).collect();
        self.times = order.iter().map(|&i| self.times[i]).collect();
        self.imported = order
            .iter()
            .map(|&i| self.imported.get(i).copied().unwrap_or(false))
            .collect();
    }
}

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
    /// Counts one battle of this model, as model A (`as_a`) or as model B.
    pub fn record(&mut self, winner: Winner, as_a: bool) {
        self.battles += 1;
        match (winner, as_a) {
            (Winner::ModelA, true) | (Winner::ModelB, false) => self.wins += 1,
            (Winner::ModelA, false) | (Winner::ModelB, true) => self.losses += 1,
            (Winner::Tie, _) => self.ties += 1,
            (Winner::BothBad, _) => self.both_bad += 1,
            (Winner::Skip, _) => self.skips += 1,
        }
    }

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
pub fn totals<V: Copy + Into<VoteRow>>(n_models: usize, votes: &[V]) -> Vec<Totals> {
    let mut t = vec![Totals::default(); n_models];
    for v in votes.iter().map(|&v| -> VoteRow { v.into() }) {
        t[v.model_a as usize].record(v.winner, true);
        t[v.model_b as usize].record(v.winner, false);
    }
    t
}

/// The votes between two models, `a < b` indexing into [`PairCounts::names`], by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairCount {
    pub a: u32,
    pub b: u32,
    pub wins_a: u64,
    pub wins_b: u64,
    pub ties: u64,
    pub both_bad: u64,
    pub skips: u64,
}

impl PairCount {
    /// Every vote of the pair, skips included.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.wins_a + self.wins_b + self.ties + self.both_bad + self.skips
    }

    /// Adds one vote of `winner`, `a_first` when the vote's model A is this pair's `a`.
    pub fn add(&mut self, winner: Winner, a_first: bool) {
        match (winner, a_first) {
            (Winner::ModelA, true) | (Winner::ModelB, false) => self.wins_a += 1,
            (Winner::ModelB, true) | (Winner::ModelA, false) => self.wins_b += 1,
            (Winner::Tie, _) => self.ties += 1,
            (Winner::BothBad, _) => self.both_bad += 1,
            (Winner::Skip, _) => self.skips += 1,
        }
    }
}

/// Largest number of cells (models squared) for which [`PairCounts::from_votes`] counts
/// in a table over all pairs.
const DENSE_PAIRS: usize = 1 << 20;

/// Votes aggregated per pair of models and outcome: all that Bradley-Terry, the per-model
/// totals and the head-to-head matrices need, whatever the number of votes. Pairs are sorted
/// by `(a, b)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairCounts {
    pub names: Vec<String>,
    pub pairs: Vec<PairCount>,
}

impl PairCounts {
    /// The counts of `votes` (plain ones, or any that read as them).
    #[must_use]
    pub fn from_votes<V: Copy + Into<VoteRow>>(names: &[String], votes: &[V]) -> PairCounts {
        let n = names.len();
        let votes = || votes.iter().map(|&v| v.into());
        let pair = |v: &VoteRow| {
            let a_first = v.model_a < v.model_b;
            if a_first {
                (v.model_a, v.model_b, a_first)
            } else {
                (v.model_b, v.model_a, a_first)
            }
        };
        let fresh = |lo: u32, hi: u32| PairCount {
            a: lo,
            b: hi,
            ..PairCount::default()
        };
        let mut pairs: Vec<PairCount> = Vec::new();
        // A table over all pairs while it is small (a few hundred models); a map beyond,
        // or for votes that name a model outside `names`.
        let within = |m: u32| (m as usize) < n;
        if n.saturating_mul(n) <= DENSE_PAIRS
            && votes().all(|v: VoteRow| within(v.model_a) && within(v.model_b))
        {
            let mut slot = vec![u32::MAX; n * n];
            for v in votes() {
                let (lo, hi, a_first) = pair(&v);
                let Some(s) = slot.get_mut(lo as usize * n + hi as usize) else {
                    continue;
                };
                if *s == u32::MAX {
                    *s = u32::try_from(pairs.len()).unwrap_or(u32::MAX);
                    pairs.push(fresh(lo, hi));
                }
                if let Some(p) = pairs.get_mut(*s as usize) {
                    p.add(v.winner, a_first);
                }
            }
        } else {
            let mut cells: std::collections::HashMap<(u32, u32), PairCount> =
                std::collections::HashMap::new();
            for v in votes() {
                let (lo, hi, a_first) = pair(&v);
                cells
                    .entry((lo, hi))
                    .or_insert_with(|| fresh(lo, hi))
                    .add(v.winner, a_first);
            }
            pairs = cells.into_values().collect();
        }
        pairs.sort_unstable_by_key(|p| (p.a, p.b));
        PairCounts {
            names: names.to_vec(),
            pairs,
        }
    }

    /// Votes counted, skips included.
    #[must_use]
    pub fn votes(&self) -> u64 {
        self.pairs.iter().map(PairCount::total).sum()
    }

    /// Counts per model.
    #[must_use]
    pub fn totals(&self) -> Vec<Totals> {
        let mut t = vec![Totals::default(); self.names.len()];
        for p in &self.pairs {
            let (a, b) = (p.a as usize, p.b as usize);
            for (m, wins, losses) in [(a, p.wins_a, p.wins_b), (b, p.wins_b, p.wins_a)] {
                t[m].battles += p.total();
                t[m].wins += wins;
                t[m].losses += losses;
                t[m].ties += p.ties;
                t[m].both_bad += p.both_bad;
                t[m].skips += p.skips;
            }
        }
        t
    }

    /// Only the pairs whose two models are both kept, over the models that still have a
    /// vote, re-indexed.
    #[must_use]
    pub fn restrict(&self, keep: impl Fn(usize) -> bool) -> PairCounts {
        let mut slot = vec![u32::MAX; self.names.len()];
        let mut names = Vec::new();
        let mut pairs = Vec::new();
        let mut index = |m: u32, names: &mut Vec<String>| {
            let s = &mut slot[m as usize];
            if *s == u32::MAX {
                *s = u32::try_from(names.len()).unwrap_or(u32::MAX);
                names.push(self.names[m as usize].clone());
            }
            *s
        };
        for p in &self.pairs {
            if p.total() == 0 || !keep(p.a as usize) || !keep(p.b as usize) {
                continue;
            }
            let (a, b) = (index(p.a, &mut names), index(p.b, &mut names));
            let q = if a < b {
                PairCount { a, b, ..*p }
            } else {
                PairCount {
                    a: b,
                    b: a,
                    wins_a: p.wins_b,
                    wins_b: p.wins_a,
                    ..*p
                }
            };
            pairs.push(q);
        }
        pairs.sort_unstable_by_key(|p| (p.a, p.b));
        PairCounts { names, pairs }
    }

    /// The comparisons Bradley-Terry fits: skips left out, ties and both bad as ties.
    #[must_use]
    pub fn comparisons(&self) -> bt::Comparisons {
        #[allow(clippy::cast_precision_loss)]
        let cells = self
            .pairs
            .iter()
            .filter(|p| p.wins_a + p.wins_b + p.ties + p.both_bad > 0)
            .map(|p| bt::Cell {
                i: p.a as usize,
                j: p.b as usize,
                wins_i: p.wins_a as f64,
                wins_j: p.wins_b as f64,
                ties: (p.ties + p.both_bad) as f64,
            })
            .collect();
        bt::Comparisons {
            n_models: self.names.len(),
            cells,
            names: self.names.clone(),
        }
    }
}

/// Votes aggregated per unordered pair and outcome, for Bradley-Terry: the fit then costs
/// nothing per vote. Skips are left out; ties and both bad count as ties.
#[must_use]
pub fn pair_counts(n_models: usize, votes: &[VoteRow]) -> bt::Comparisons {
    let names: Vec<String> = (0..n_models).map(|i| i.to_string()).collect();
    let mut c = PairCounts::from_votes(&names, votes).comparisons();
    c.names = Vec::new();
    c
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
