//! Counts of votes per pair of models, per UTC day and in all: what every backend adds to its
//! running counts with a vote or an import. A pair is kept once, lower model id first, and
//! `wins_a` are the wins of that model.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::battle::Winner;
use crate::rating::{PairCount, PairCounts};

/// One UTC day in milliseconds.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// Which of a pair's five counters (wins of the lower id, of the higher, ties, both bad,
/// skips) a vote adds to, for a vote whose model A has the lower id when `a_first`.
pub(crate) fn column(winner: Winner, a_first: bool) -> usize {
    match (winner, a_first) {
        (Winner::ModelA, true) | (Winner::ModelB, false) => 0,
        (Winner::ModelB, true) | (Winner::ModelA, false) => 1,
        (Winner::Tie, _) => 2,
        (Winner::BothBad, _) => 3,
        (Winner::Skip, _) => 4,
    }
}

/// Counts of several votes, by (day, lower id, higher id).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    cells: FxHashMap<(i64, i64, i64), [i64; 5]>,
}

/// The rows a tally adds: per day `[day, lo, hi, counts...]`, in all `[lo, hi, counts...]`.
pub(crate) struct TallyRows {
    pub days: Vec<[i64; 8]>,
    pub totals: Vec<[i64; 7]>,
}

impl Tally {
    pub(crate) fn add(&mut self, a: i64, b: i64, winner: Winner, at_ms: i64) {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        self.cells
            .entry((at_ms.div_euclid(DAY_MS), lo, hi))
            .or_insert([0; 5])[column(winner, a < b)] += 1;
    }

    /// The rows to add to the per-day and the overall counts.
    pub(crate) fn into_rows(self) -> TallyRows {
        let mut totals: FxHashMap<(i64, i64), [i64; 5]> = FxHashMap::default();
        for (&(_, lo, hi), c) in &self.cells {
            let t = totals.entry((lo, hi)).or_insert([0; 5]);
            for (x, y) in t.iter_mut().zip(c) {
                *x += y;
            }
        }
        TallyRows {
            days: self
                .cells
                .into_iter()
                .map(|((day, lo, hi), c)| [day, lo, hi, c[0], c[1], c[2], c[3], c[4]])
                .collect(),
            totals: totals
                .into_iter()
                .map(|((lo, hi), c)| [lo, hi, c[0], c[1], c[2], c[3], c[4]])
                .collect(),
        }
    }
}

/// A pair-count read being assembled, the same for every backend: the rows of the running
/// totals (or of the days asked for), then the left-out votes a filter admits, kept only for
/// pairs of the allowed models; [`PairTally::finish`] indexes the models as they first appear.
pub(crate) struct PairTally<'a> {
    names: &'a [(i64, String)],
    allowed: Option<FxHashSet<i64>>,
    /// By (lower id, higher id): wins of the lower, of the higher, ties, both bad, skips.
    cells: FxHashMap<(i64, i64), [u64; 5]>,
    order: Vec<(i64, i64)>,
}

impl<'a> PairTally<'a> {
    /// Over the models `names` (id, name), only pairs of `models` when given.
    pub(crate) fn new(names: &'a [(i64, String)], models: Option<&[String]>) -> Self {
        let allowed = models.map(|m| {
            names
                .iter()
                .filter(|(_, n)| m.contains(n))
                .map(|(id, _)| *id)
                .collect()
        });
        Self {
            names,
            allowed,
            cells: FxHashMap::default(),
            order: Vec::new(),
        }
    }

    fn passes(&self, a: i64, b: i64) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|s| s.contains(&a) && s.contains(&b))
    }

    fn cell(&mut self, key: (i64, i64)) -> &mut [u64; 5] {
        let order = &mut self.order;
        self.cells.entry(key).or_insert_with(|| {
            order.push(key);
            [0; 5]
        })
    }

    /// A row of counts of the pair (`a` the lower id): wins of `a`, of `b`, ties, both bad,
    /// skips.
    pub(crate) fn add_counts(&mut self, a: i64, b: i64, counts: [i64; 5]) {
        if !self.passes(a, b) {
            return;
        }
        for (c, n) in self.cell((a, b)).iter_mut().zip(counts) {
            *c += n.unsigned_abs();
        }
    }

    /// One vote of `a` (side A) against `b` (side B).
    pub(crate) fn add_vote(&mut self, a: i64, b: i64, winner: Winner) {
        if !self.passes(a, b) {
            return;
        }
        let key = if a < b { (a, b) } else { (b, a) };
        self.cell(key)[column(winner, a < b)] += 1;
    }

    /// The counts, with only the models of these pairs, indexed as they first appear.
    pub(crate) fn finish(self) -> PairCounts {
        let name_of: FxHashMap<i64, &str> =
            self.names.iter().map(|(id, n)| (*id, n.as_str())).collect();
        let mut index: FxHashMap<i64, u32> = FxHashMap::default();
        let mut kept: Vec<String> = Vec::new();
        let mut pairs = Vec::with_capacity(self.order.len());
        for key in self.order {
            let Some(c) = self.cells.get(&key) else {
                continue;
            };
            let mut slot = |id: i64| -> u32 {
                *index.entry(id).or_insert_with(|| {
                    kept.push(name_of.get(&id).copied().unwrap_or("?").to_owned());
                    u32::try_from(kept.len() - 1).unwrap_or(u32::MAX)
                })
            };
            let (ia, ib) = (slot(key.0), slot(key.1));
            let (lo, hi, wins_a, wins_b) = if ia < ib {
                (ia, ib, c[0], c[1])
            } else {
                (ib, ia, c[1], c[0])
            };
            pairs.push(PairCount {
                a: lo,
                b: hi,
                wins_a,
                wins_b,
                ties: c[2],
                both_bad: c[3],
                skips: c[4],
            });
        }
        pairs.sort_unstable_by_key(|p| (p.a, p.b));
        PairCounts { names: kept, pairs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_counted_once_whichever_side_each_model_was_on() {
        let mut t = Tally::default();
        t.add(7, 3, Winner::ModelA, 0);
        t.add(3, 7, Winner::ModelA, DAY_MS);
        t.add(3, 7, Winner::Tie, DAY_MS + 1);
        let mut rows = t.into_rows();
        rows.days.sort_unstable();
        assert_eq!(rows.totals, vec![[3, 7, 1, 1, 1, 0, 0]]);
        assert_eq!(
            rows.days,
            vec![[0, 3, 7, 0, 1, 0, 0, 0], [1, 3, 7, 1, 0, 1, 0, 0]]
        );
    }
}
