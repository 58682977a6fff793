//! Votes turned into the rows the fit reads: style differences standardised over the votes,
//! every row oriented with its smaller model first, pair weights, and identical rows merged.
//!
//! Rows are put in a canonical order (by pair, then outcome and orientation, then feature
//! bits) by counting sorts on the pair and a small sort within each run, so that every sum
//! the fit takes, and therefore every result to the last bit, is independent of the order
//! of the votes.

use crate::rating::Winner;

use super::super::input::Pair;
use super::{StyleVote, Variant};
use crate::rating::style::Features;

/// Number of style features.
pub(super) const F: usize = Features::COUNT;

/// Rows over unordered pairs, ready for the passes.
pub(super) struct Rows {
    pub(super) k: usize,
    /// Pairs with at least one vote, `i < j`, in increasing order.
    pub(super) pairs: Vec<PairRows>,
    /// Standardised feature differences, oriented as the row (`i` minus `j`).
    pub(super) z: Vec<[f64; F]>,
    /// Outcome for `i`: 1, 0.5 or 0.
    pub(super) y: Vec<f64>,
    /// Votes merged into the row.
    pub(super) count: Vec<f64>,
    /// Votes used.
    pub(super) total: f64,
    /// Mean and population standard deviation of each raw difference over the votes, in
    /// the votes' own orientation (a zero deviation is replaced by 1, as the reference
    /// does).
    pub(super) mean: [f64; F],
    pub(super) std: [f64; F],
    /// The row of every vote, `u32::MAX` for a vote that was not used.
    pub(super) row_of_vote: Vec<u32>,
    /// Votes left out: a skip.
    pub(super) skipped: usize,
    /// Votes left out: an unknown model or the same model twice.
    pub(super) invalid: usize,
    /// Ranges of pairs that a pass takes as one task, of about [`CHUNK_ROWS`] rows each:
    /// fixed by the data alone, so that sums over them do not depend on the threads.
    pub(super) chunks: Vec<std::ops::Range<usize>>,
}

/// Rows per task of a pass: large enough that a task costs far more than handing it out.
const CHUNK_ROWS: usize = 16_384;

/// A pair's weight and its rows.
#[derive(Clone, Copy, Debug)]
pub(super) struct PairRows {
    pub(super) i: usize,
    pub(super) j: usize,
    /// Weight of each of its votes in the loss.
    pub(super) weight: f64,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// A vote's raw difference of one feature: `(a − b)/(a + b)`, 0 when both are 0, or
/// FastChat's `(a − b)/(a + b + 1)`.
fn difference(a: u32, b: u32, variant: Variant) -> f64 {
    let (a, b) = (f64::from(a), f64::from(b));
    match variant {
        Variant::ArenaRank => {
            let sum = a + b;
            if sum == 0.0 { 0.0 } else { (a - b) / sum }
        }
        Variant::FastChat => (a - b) / (a + b + 1.0),
    }
}

fn outcome(w: Winner) -> Option<f64> {
    match w {
        Winner::ModelA => Some(1.0),
        Winner::ModelB => Some(0.0),
        Winner::Tie | Winner::BothBad => Some(0.5),
        Winner::Skip => None,
    }
}

/// One vote on its way to a row.
#[derive(Clone, Copy, Default)]
struct Entry {
    /// `i·K + j` of its pair, `i < j`.
    pair: u64,
    /// Raw differences, oriented as the row.
    x: [f64; F],
    vote: u32,
    /// Outcome for `i` in halves, times two, plus 1 if the vote had `j` as model A.
    class: u8,
}

/// Largest `K²` for which entries are sorted by a counting sort over all pairs.
const COUNTING_PAIRS: usize = 1 << 22;

/// The entries ordered by pair (the order within a pair is settled later): by one
/// counting sort while the `K²` possible pairs fit a small table, else by comparison.
fn sort_by_pair(mut entries: Vec<Entry>, k: usize) -> Vec<Entry> {
    let range = k.saturating_mul(k);
    if range > COUNTING_PAIRS {
        entries.sort_unstable_by_key(|e| e.pair);
        return entries;
    }
    // Entries number fewer than 2³² (votes are indexed by `u32`).
    let mut start = vec![0u32; range + 1];
    for e in &entries {
        start[e.pair as usize + 1] += 1;
    }
    for p in 0..range {
        start[p + 1] += start[p];
    }
    let mut out = vec![Entry::default(); entries.len()];
    for e in entries {
        let slot = &mut start[e.pair as usize];
        out[*slot as usize] = e;
        *slot += 1;
    }
    out
}

/// Bits of a difference as a sort key with the order of the numbers (all are finite).
fn sort_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// Votes that [`entries`] left out.
#[derive(Default)]
struct LeftOut {
    /// A skip.
    skipped: usize,
    /// An unknown model or the same model twice.
    invalid: usize,
}

/// One entry per used vote, its differences oriented as its row; a vote's data are moved
/// together, so that the sorts touch each vote's cache lines once.
fn entries(k: usize, votes: &[StyleVote], variant: Variant) -> (Vec<Entry>, LeftOut) {
    let mut left_out = LeftOut::default();
    let mut entries: Vec<Entry> = Vec::with_capacity(votes.len());
    for (v, vote) in votes.iter().enumerate() {
        let (a, b) = (vote.model_a as usize, vote.model_b as usize);
        let Ok(index) = u32::try_from(v) else {
            left_out.invalid += 1;
            continue;
        };
        if a >= k || b >= k || a == b {
            left_out.invalid += 1;
            continue;
        }
        let Some(y) = outcome(vote.winner) else {
            left_out.skipped += 1;
            continue;
        };
        let (fa, fb) = (vote.a.as_array(), vote.b.as_array());
        let x: [f64; F] = std::array::from_fn(|f| difference(fa[f], fb[f], variant));
        let flip = a > b;
        // Outcome for the row's first model in halves (0, 1 or 2), times two, plus
        // the orientation.
        let y_row = if flip { 1.0 - y } else { y };
        let halves = (2.0 * y_row) as u8;
        entries.push(Entry {
            pair: (a.min(b) * k + a.max(b)) as u64,
            x: if flip { x.map(|d| -d) } else { x },
            vote: index,
            class: halves * 2 + u8::from(flip),
        });
    }
    (entries, left_out)
}

/// Rows before standardising: raw differences, and whether each row is its votes'
/// orientation flipped.
struct Merged {
    /// `weight` holds the pair's votes.
    pairs: Vec<PairRows>,
    z: Vec<[f64; F]>,
    y: Vec<f64>,
    count: Vec<f64>,
    flips: Vec<bool>,
    row_of_vote: Vec<u32>,
}

/// Entries sorted by pair merged into rows: each pair's run sorted by class and features,
/// identical entries made one row. `votes`: the number of votes the entries came from.
fn merge(mut entries: Vec<Entry>, k: usize, votes: usize) -> Merged {
    let n = entries.len();
    let mut m = Merged {
        pairs: Vec::new(),
        z: Vec::with_capacity(n),
        y: Vec::with_capacity(n),
        count: Vec::with_capacity(n),
        flips: Vec::with_capacity(n),
        row_of_vote: vec![u32::MAX; votes],
    };
    let mut at = 0;
    while at < n {
        let key = entries[at].pair;
        let mut end = at;
        while end < n && entries[end].pair == key {
            end += 1;
        }
        let run = &mut entries[at..end];
        run.sort_unstable_by_key(|e| (e.class, e.x.map(sort_key)));
        let pair_start = m.z.len();
        let mut r = 0;
        while r < run.len() {
            let (c, x) = (run[r].class, run[r].x);
            let mut s = r;
            while s < run.len() && run[s].class == c && run[s].x == x {
                m.row_of_vote[run[s].vote as usize] = m.z.len() as u32;
                s += 1;
            }
            m.z.push(x);
            m.y.push(f64::from(c / 2) * 0.5);
            m.count.push((s - r) as f64);
            m.flips.push(c % 2 == 1);
            r = s;
        }
        let key = key as usize;
        m.pairs.push(PairRows {
            i: key / k,
            j: key % k,
            weight: (end - at) as f64,
            start: pair_start,
            end: m.z.len(),
        });
        at = end;
    }
    m
}

/// Standardises the rows' differences over the `total` votes in the votes' own
/// orientation (a flipped row holds minus the vote's differences); returns the mean and
/// standard deviation of each feature.
fn standardise(
    z: &mut [[f64; F]],
    flips: &[bool],
    count: &[f64],
    total: f64,
) -> ([f64; F], [f64; F]) {
    let mut mean = [0.0; F];
    let mut std = [1.0; F];
    if z.is_empty() {
        return (mean, std);
    }
    for f in 0..F {
        let own = |r: usize| if flips[r] { -z[r][f] } else { z[r][f] };
        let m = (0..z.len()).map(|r| count[r] * own(r)).sum::<f64>() / total;
        let var = (0..z.len())
            .map(|r| count[r] * (own(r) - m).powi(2))
            .sum::<f64>()
            / total;
        mean[f] = m;
        std[f] = if var > 0.0 { var.sqrt() } else { 1.0 };
    }
    for (r, row) in z.iter_mut().enumerate() {
        let s = if flips[r] { -1.0 } else { 1.0 };
        for f in 0..F {
            row[f] = s * (s * row[f] - mean[f]) / std[f];
        }
    }
    (mean, std)
}

/// Turns each pair's `weight`, its number of votes until here, into the weight of each of
/// its votes (see [`Rows::new`]).
fn weigh(pairs: &mut [PairRows], weighting: Option<f64>, total: f64) {
    match weighting {
        Some(min) => {
            let mut norm = 0.0;
            for p in pairs.iter_mut() {
                let votes = p.weight;
                p.weight = 1.0 / votes.max(min);
                norm += votes * p.weight;
            }
            let norm = norm / total;
            for p in pairs.iter_mut() {
                p.weight /= norm;
            }
        }
        None => {
            for p in pairs.iter_mut() {
                p.weight = 1.0;
            }
        }
    }
}

/// Ranges of pairs of about [`CHUNK_ROWS`] rows each.
fn chunks(pairs: &[PairRows]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut begin = 0;
    for (p, pair) in pairs.iter().enumerate() {
        if pair.end - pairs[begin].start >= CHUNK_ROWS || p + 1 == pairs.len() {
            chunks.push(begin..p + 1);
            begin = p + 1;
        }
    }
    chunks
}

impl Rows {
    /// `weighting`: `Some(min_pair_votes)` weights each vote by `1 / max(votes of its pair,
    /// min_pair_votes)`, normalised to a mean of 1 over the votes; `None` weighs all alike.
    pub(super) fn new(
        k: usize,
        votes: &[StyleVote],
        variant: Variant,
        weighting: Option<f64>,
    ) -> Self {
        // Sorted by pair, then by class and features within each pair (in `merge`).
        let (entries, left_out) = entries(k, votes, variant);
        let total = entries.len() as f64;
        let mut m = merge(sort_by_pair(entries, k), k, votes.len());
        let (mean, std) = standardise(&mut m.z, &m.flips, &m.count, total);
        weigh(&mut m.pairs, weighting, total);
        Self {
            k,
            chunks: chunks(&m.pairs),
            pairs: m.pairs,
            z: m.z,
            y: m.y,
            count: m.count,
            total,
            mean,
            std,
            row_of_vote: m.row_of_vote,
            skipped: left_out.skipped,
            invalid: left_out.invalid,
        }
    }

    /// The pairs' counts by outcome for the structure analysis, under row counts `count`.
    pub(super) fn pair_counts(&self, count: &[f64]) -> Vec<Pair> {
        self.pairs
            .iter()
            .filter_map(|p| {
                let mut wins = [0.0; 3];
                let rs = p.start..p.end;
                for (&c, &y) in count[rs.clone()].iter().zip(&self.y[rs]) {
                    let slot = if y == 1.0 {
                        0
                    } else if y == 0.0 {
                        1
                    } else {
                        2
                    };
                    wins[slot] += c;
                }
                let pair = Pair::new(p.i, p.j, wins[0], wins[1], wins[2]);
                (pair.n > 0.0).then_some(pair)
            })
            .collect()
    }
}
