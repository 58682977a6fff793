//! Input handling: options replaced by usable values, and cells turned into
//! canonical pairs that do not depend on cell order or orientation.

use super::{BtOptions, Comparisons, MAX_BOOTSTRAP_ROUNDS};

/// Options after replacing unusable values.
#[derive(Clone, Copy)]
pub(super) struct Settings {
    pub(super) level: f64,
    pub(super) tolerance: f64,
    pub(super) max_iterations: usize,
    pub(super) rounds: usize,
    pub(super) seed: u64,
    pub(super) anchor: Option<(usize, f64)>,
}

impl Settings {
    pub(super) fn new(o: &BtOptions, k: usize, notes: &mut Vec<String>) -> Self {
        let defaults = BtOptions::default();
        let level = if o.ci_level > 0.0 && o.ci_level < 1.0 {
            o.ci_level
        } else {
            notes.push(format!(
                "ci_level {} is not in (0, 1); {} is used",
                o.ci_level, defaults.ci_level
            ));
            defaults.ci_level
        };
        let tolerance = if o.tolerance >= 0.0 && o.tolerance.is_finite() {
            o.tolerance
        } else {
            notes.push(format!(
                "tolerance {} is unusable; {} is used",
                o.tolerance, defaults.tolerance
            ));
            defaults.tolerance
        };
        let rounds = if o.bootstrap_rounds > MAX_BOOTSTRAP_ROUNDS {
            notes.push(format!("bootstrap rounds capped at {MAX_BOOTSTRAP_ROUNDS}"));
            MAX_BOOTSTRAP_ROUNDS
        } else {
            o.bootstrap_rounds
        };
        let anchor = match o.anchor {
            Some((m, r)) if m < k && r.is_finite() => Some((m, r)),
            Some((m, r)) => {
                notes.push(format!(
                    "anchor (model {m}, rating {r}) is not usable and was ignored"
                ));
                None
            }
            None => None,
        };
        Self {
            level,
            tolerance,
            max_iterations: o.max_iterations,
            rounds,
            seed: o.seed,
            anchor,
        }
    }
}

/// A pair of models `i < j` with at least one vote.
#[derive(Clone, Copy, Debug)]
pub(super) struct Pair {
    pub(super) i: usize,
    pub(super) j: usize,
    pub(super) wins_i: f64,
    pub(super) wins_j: f64,
    pub(super) ties: f64,
    /// Total votes.
    pub(super) n: f64,
    /// Points scored by `i`, ties counting half.
    pub(super) s: f64,
}

impl Pair {
    pub(super) fn new(i: usize, j: usize, wins_i: f64, wins_j: f64, ties: f64) -> Self {
        Self {
            i,
            j,
            wins_i,
            wins_j,
            ties,
            n: wins_i + wins_j + ties,
            s: wins_i + 0.5 * ties,
        }
    }
}

/// Orients every cell as `i < j`, merges duplicates and drops empty or
/// invalid cells, so that results do not depend on cell order or
/// orientation.
pub(super) fn canonical_pairs(c: &Comparisons, notes: &mut Vec<String>) -> Vec<Pair> {
    let valid_count = |x: f64| x.is_finite() && x >= 0.0;
    let mut rejected = 0usize;
    let mut raw: Vec<(usize, usize, f64, f64, f64)> = Vec::with_capacity(c.cells.len());
    for cell in &c.cells {
        let ok = cell.i != cell.j
            && cell.i < c.n_models
            && cell.j < c.n_models
            && valid_count(cell.wins_i)
            && valid_count(cell.wins_j)
            && valid_count(cell.ties);
        if !ok {
            rejected += 1;
        } else if cell.i < cell.j {
            raw.push((cell.i, cell.j, cell.wins_i, cell.wins_j, cell.ties));
        } else {
            raw.push((cell.j, cell.i, cell.wins_j, cell.wins_i, cell.ties));
        }
    }
    if rejected > 0 {
        notes.push(format!(
            "{rejected} cells were ignored (same model twice, unknown model, or a count that is negative or not finite)"
        ));
    }
    raw.sort_by_key(|r| (r.0, r.1));
    let mut merged: Vec<(usize, usize, f64, f64, f64)> = Vec::with_capacity(raw.len());
    for r in raw {
        match merged.last_mut() {
            Some(last) if last.0 == r.0 && last.1 == r.1 => {
                last.2 += r.2;
                last.3 += r.3;
                last.4 += r.4;
            }
            _ => merged.push(r),
        }
    }
    let pairs: Vec<Pair> = merged
        .into_iter()
        .map(|(i, j, a, b, t)| Pair::new(i, j, a, b, t))
        .filter(|p| p.n > 0.0)
        .collect();
    if pairs.iter().any(|p| !p.n.is_finite()) {
        // Counts near f64::MAX can overflow when added; such data cannot be
        // fitted, so they are dropped rather than turned into NaN.
        notes.push("cells whose total overflows were ignored".to_string());
        return pairs.into_iter().filter(|p| p.n.is_finite()).collect();
    }
    pairs
}
