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
#[derive(Clone, Copy)]
struct Entry {
    /// The class, then the first difference's leading bits: orders entries as
    /// `(class, x)` does wherever it differs, so that most comparisons end there.
    lead: u64,
    /// Raw differences, oriented as the row.
    x: [f64; F],
    vote: u32,
    /// Outcome for `i` in halves, times two, plus 1 if the vote had `j` as model A.
    class: u8,
}

/// Largest `K²` for which votes are grouped by pair by one counting sort over all pairs.
const COUNTING_PAIRS: usize = 1 << 22;

/// Votes that [`group`] left out.
#[derive(Default)]
struct LeftOut {
    /// A skip.
    skipped: usize,
    /// An unknown model or the same model twice.
    invalid: usize,
}

/// The used votes grouped by pair.
struct Groups {
    /// Indexes of the used votes, pair by pair (pairs in increasing order), each pair's in
    /// the votes' order.
    order: Vec<u32>,
    /// Each pair's key `i·K + j` (`i < j`) and the end of its votes in `order`.
    pairs: Vec<(u64, usize)>,
    left_out: LeftOut,
}

/// The key of the pair of `vote`, `None` for a vote left out (counted in `left_out`).
fn key_of(k: usize, index: usize, vote: &StyleVote, left_out: &mut LeftOut) -> Option<u64> {
    let (a, b) = (vote.model_a as usize, vote.model_b as usize);
    if a >= k || b >= k || a == b || u32::try_from(index).is_err() {
        left_out.invalid += 1;
        return None;
    }
    if outcome(vote.winner).is_none() {
        left_out.skipped += 1;
        return None;
    }
    Some((a.min(b) * k + a.max(b)) as u64)
}

/// Groups the used votes by pair: a counting sort of their indexes (4 bytes a vote) while
/// the `K²` possible pairs fit a small table, else a sort by pair.
fn group(k: usize, votes: &[StyleVote]) -> Groups {
    let mut left_out = LeftOut::default();
    let keys: Vec<Option<u64>> = votes
        .iter()
        .enumerate()
        .map(|(v, vote)| key_of(k, v, vote, &mut left_out))
        .collect();
    let range = k.saturating_mul(k);
    let mut pairs = Vec::new();
    let order: Vec<u32> = if range <= COUNTING_PAIRS {
        let mut start = vec![0u32; range + 1];
        for key in keys.iter().flatten() {
            start[*key as usize + 1] += 1;
        }
        for p in 0..range {
            if start[p + 1] > 0 {
                pairs.push((p as u64, 0));
            }
            start[p + 1] += start[p];
        }
        for pair in &mut pairs {
            pair.1 = start[pair.0 as usize + 1] as usize;
        }
        let mut order = vec![0u32; start[range] as usize];
        for (v, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                let slot = &mut start[*key as usize];
                order[*slot as usize] = v as u32;
                *slot += 1;
            }
        }
        order
    } else {
        let mut keyed: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .filter_map(|(v, key)| Some(((*key)?, v as u32)))
            .collect();
        keyed.sort_unstable();
        for (end, &(key, _)) in keyed.iter().enumerate() {
            match pairs.last_mut() {
                Some(last) if last.0 == key => last.1 = end + 1,
                _ => pairs.push((key, end + 1)),
            }
        }
        keyed.into_iter().map(|(_, v)| v).collect()
    };
    Groups {
        order,
        pairs,
        left_out,
    }
}

/// The entry of a used vote of the pair `(i, j)`: its differences oriented as the row.
fn entry(i: usize, v: u32, vote: &StyleVote, variant: Variant) -> Entry {
    let y = outcome(vote.winner).unwrap_or(0.5);
    let (fa, fb) = (vote.a.as_array(), vote.b.as_array());
    let x: [f64; F] = std::array::from_fn(|f| difference(fa[f], fb[f], variant));
    let flip = vote.model_a as usize != i;
    // Outcome for the row's first model in halves (0, 1 or 2), times two, plus the
    // orientation.
    let y_row = if flip { 1.0 - y } else { y };
    let halves = (2.0 * y_row) as u8;
    let x = if flip { x.map(|d| -d) } else { x };
    let class = halves * 2 + u8::from(flip);
    Entry {
        lead: (u64::from(class) << 56) | (sort_key(x[0]) >> 8),
        x,
        vote: v,
        class,
    }
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

/// One task's share of the rows: its slots of every column, from its first vote's place
/// in [`Groups::order`] (a task makes at most one row per vote).
struct Slots<'a> {
    z: &'a mut [[f64; F]],
    y: &'a mut [f64],
    count: &'a mut [f64],
    flips: &'a mut [bool],
    /// Per place: the vote there once its pair is sorted, and its row within the task.
    order: &'a mut [u32],
    row: &'a mut [u32],
}

/// Bits of a difference as a sort key with the order of the numbers (all are finite).
fn sort_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

impl<'a> Slots<'a> {
    /// The first `len` places, and the rest.
    fn split(self, len: usize) -> (Slots<'a>, Slots<'a>) {
        let (z, z_rest) = self.z.split_at_mut(len);
        let (y, y_rest) = self.y.split_at_mut(len);
        let (count, count_rest) = self.count.split_at_mut(len);
        let (flips, flips_rest) = self.flips.split_at_mut(len);
        let (order, order_rest) = self.order.split_at_mut(len);
        let (row, row_rest) = self.row.split_at_mut(len);
        (
            Slots {
                z,
                y,
                count,
                flips,
                order,
                row,
            },
            Slots {
                z: z_rest,
                y: y_rest,
                count: count_rest,
                flips: flips_rest,
                order: order_rest,
                row: row_rest,
            },
        )
    }
}

/// Runs `run` on each of `work` on up to eight threads (task `t` on thread `t % threads`),
/// and returns the results in the order of `work`.
pub(super) fn in_parallel<T: Send, R: Send>(work: Vec<T>, run: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(work.len());
    if threads <= 1 {
        return work.into_iter().map(run).collect();
    }
    let tasks = work.len();
    let mut lists: Vec<Vec<(usize, T)>> = (0..threads).map(|_| Vec::new()).collect();
    for (t, w) in work.into_iter().enumerate() {
        lists[t % threads].push((t, w));
    }
    let mut done: Vec<Option<R>> = (0..tasks).map(|_| None).collect();
    std::thread::scope(|scope| {
        let run = &run;
        let handles: Vec<_> = lists
            .into_iter()
            .map(|list| {
                scope.spawn(move || {
                    list.into_iter()
                        .map(|(t, w)| (t, run(w)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            for (t, r) in h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
                done[t] = Some(r);
            }
        }
    });
    done.into_iter().flatten().collect()
}

/// Votes per task of [`merge`].
const MERGE_VOTES: usize = 65_536;

/// Merges the votes of the pairs `pairs` (keys and ends in `order`, from `first`) into
/// rows in `s`: each pair's votes sorted by class and features, identical ones made one
/// row. Returns the pairs' rows (ranges within the task) and the number of rows.
fn merge_task(
    k: usize,
    votes: &[StyleVote],
    variant: Variant,
    pairs: &[(u64, usize)],
    first: usize,
    s: Slots<'_>,
) -> (Vec<PairRows>, usize) {
    let mut out = Vec::with_capacity(pairs.len());
    let mut buf: Vec<Entry> = Vec::new();
    let mut gathered: Vec<StyleVote> = Vec::new();
    let (mut rows, mut at) = (0, first);
    for &(key, end) in pairs {
        let i = key as usize / k;
        let places = at - first..end - first;
        buf.clear();
        // The pair's votes are copied first, in a loop of loads alone that the processor
        // runs many of at once (they are far apart in memory), then turned into entries.
        gathered.clear();
        gathered.extend(s.order[places.clone()].iter().map(|&v| votes[v as usize]));
        buf.extend(
            s.order[places.clone()]
                .iter()
                .zip(&gathered)
                .map(|(&v, vote)| entry(i, v, vote, variant)),
        );
        buf.sort_unstable_by(|a, b| {
            a.lead
                .cmp(&b.lead)
                .then_with(|| (a.class, a.x.map(sort_key)).cmp(&(b.class, b.x.map(sort_key))))
        });
        let pair_start = rows;
        let mut r = 0;
        while r < buf.len() {
            let (c, x) = (buf[r].class, buf[r].x);
            let mut t = r;
            while t < buf.len() && buf[t].class == c && buf[t].x == x {
                s.order[places.start + t] = buf[t].vote;
                s.row[places.start + t] = rows as u32;
                t += 1;
            }
            s.z[rows] = x;
            s.y[rows] = f64::from(c / 2) * 0.5;
            s.count[rows] = (t - r) as f64;
            s.flips[rows] = c % 2 == 1;
            rows += 1;
            r = t;
        }
        out.push(PairRows {
            i,
            j: key as usize % k,
            weight: (end - at) as f64,
            start: pair_start,
            end: rows,
        });
        at = end;
    }
    (out, rows)
}

/// Ranges of pairs of about [`MERGE_VOTES`] votes each, fixed by the data alone.
fn merge_tasks(pairs: &[(u64, usize)]) -> Vec<std::ops::Range<usize>> {
    let mut tasks = Vec::new();
    let (mut begin, mut from) = (0, 0);
    for (p, &(_, end)) in pairs.iter().enumerate() {
        if end - from >= MERGE_VOTES || p + 1 == pairs.len() {
            tasks.push(begin..p + 1);
            (begin, from) = (p + 1, end);
        }
    }
    tasks
}

/// The grouped votes merged into rows, pairs in order: the tasks of [`merge_task`] run on
/// up to eight threads, each writing its own slots; the rows are then closed up in task
/// order, so the result is the same on any number of threads.
fn merge(g: &mut Groups, k: usize, votes: &[StyleVote], variant: Variant) -> Merged {
    let n = g.order.len();
    let mut z = vec![[0.0; F]; n];
    let mut y = vec![0.0; n];
    let mut count = vec![0.0; n];
    let mut flips = vec![false; n];
    let mut row = vec![0u32; n];
    let tasks = merge_tasks(&g.pairs);
    let first = |t: &std::ops::Range<usize>| t.start.checked_sub(1).map_or(0, |p| g.pairs[p].1);
    let starts: Vec<usize> = tasks.iter().map(first).collect();
    let mut work = Vec::with_capacity(tasks.len());
    let mut rest = Slots {
        z: &mut z,
        y: &mut y,
        count: &mut count,
        flips: &mut flips,
        order: &mut g.order,
        row: &mut row,
    };
    for (t, task) in tasks.iter().enumerate() {
        let end = task.end.checked_sub(1).map_or(0, |p| g.pairs[p].1);
        let (mine, tail) = rest.split(end - starts[t]);
        rest = tail;
        work.push((task.clone(), starts[t], mine));
    }
    let pairs = &g.pairs;
    let done = in_parallel(work, |(task, first, slots)| {
        merge_task(k, votes, variant, &pairs[task], first, slots)
    });
    // Close up: each task's rows move down to follow the previous task's.
    let mut m = Merged {
        pairs: Vec::with_capacity(g.pairs.len()),
        z,
        y,
        count,
        flips,
        row_of_vote: vec![u32::MAX; votes.len()],
    };
    let mut rows = 0;
    for (t, (pairs, made)) in done.into_iter().enumerate() {
        let from = starts[t];
        if from != rows {
            m.z.copy_within(from..from + made, rows);
            m.y.copy_within(from..from + made, rows);
            m.count.copy_within(from..from + made, rows);
            m.flips.copy_within(from..from + made, rows);
        }
        let end = tasks[t].end.checked_sub(1).map_or(0, |p| g.pairs[p].1);
        for (&vote, &r) in g.order[from..end].iter().zip(&row[from..end]) {
            m.row_of_vote[vote as usize] = (rows + r as usize) as u32;
        }
        m.pairs.extend(pairs.into_iter().map(|p| PairRows {
            start: p.start + rows,
            end: p.end + rows,
            ..p
        }));
        rows += made;
    }
    m.z.truncate(rows);
    m.y.truncate(rows);
    m.count.truncate(rows);
    m.flips.truncate(rows);
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
    // Each feature's sums run over the rows in order, all four features in one pass.
    let own = || {
        z.iter()
            .zip(flips)
            .zip(count)
            .map(|((x, &flip), &c)| (if flip { x.map(|d| -d) } else { *x }, c))
    };
    let mut sum = [0.0; F];
    for (x, c) in own() {
        for f in 0..F {
            sum[f] += c * x[f];
        }
    }
    let m = sum.map(|s| s / total);
    let mut var = [0.0; F];
    for (x, c) in own() {
        for f in 0..F {
            var[f] += c * (x[f] - m[f]).powi(2);
        }
    }
    for f in 0..F {
        let var = var[f] / total;
        mean[f] = m[f];
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
        // Grouped by pair, then sorted by class and features within each pair (in `merge`).
        let mut groups = group(k, votes);
        let total = groups.order.len() as f64;
        let mut m = merge(&mut groups, k, votes, variant);
        let left_out = groups.left_out;
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
