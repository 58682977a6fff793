//! Counts of votes per pair of models, per UTC day and in all: what every backend adds to its
//! running counts with a vote or an import. A pair is kept once, lower model id first, and
//! `wins_a` are the wins of that model.

use std::collections::HashMap;

use crate::battle::Winner;

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
    cells: HashMap<(i64, i64, i64), [i64; 5]>,
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
        let mut totals: HashMap<(i64, i64), [i64; 5]> = HashMap::new();
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
