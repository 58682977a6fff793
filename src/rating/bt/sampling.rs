//! Exact samplers for the bootstrap: multinomial vote counts through
//! Poisson counts with an exact correction, as a chain of binomials or from
//! an alias table, and the Poisson and binomial variates themselves.

use rand::Rng;

/// Multinomial draws of `n` votes over categories with fixed weights, the
/// same weights for every round. All three ways are exact; the cheapest for
/// the sizes is chosen once:
///
/// * `Alias`, when `n` is at most four times the number of categories:
///   the `n` votes drawn one at a time from an alias table, `O(n)`;
/// * `Poisson`, the usual case: one Poisson count per category from tables
///   made once for all rounds, then an exact correction (see
///   [`PoissonCounts`]), `O(categories)` with a small constant;
/// * `Chain`, for counts too large for the Poisson tables (above 2^50
///   votes, where `f64` no longer resolves single votes well): a chain of
///   conditional binomials, `O(categories)` but with a binomial variate of
///   a new `(n, p)` each, several times dearer.
pub(super) enum VoteSampler {
    Alias {
        n: u64,
        table: AliasTable,
    },
    Poisson {
        n: u64,
        counts: PoissonCounts,
        /// Tops the counts up to `n` votes.
        alias: AliasTable,
        /// Used instead of `alias` when more votes are missing than four
        /// per category, and after repeated overshoots.
        chain: Chain,
    },
    Chain {
        n: u64,
        chain: Chain,
    },
}

/// Largest total for the Poisson sampler: its counts and sums stay exact
/// in `f64` with room to spare.
const POISSON_MAX_VOTES: u64 = 1 << 50;
/// Fewest votes for the Poisson sampler; below this the margin of
/// [`PoissonCounts`] would be a large part of the votes.
const POISSON_MIN_VOTES: u64 = 64;
/// Rounds of Poisson counts that overshoot `n` before the chain of binomials
/// is used instead. One overshoots with probability about 3e-5, four in a row
/// about 1e-18.
const POISSON_TRIES: usize = 4;

impl VoteSampler {
    pub(super) fn new(n: u64, weights: &[f64]) -> Self {
        if n <= 4 * weights.len() as u64 {
            Self::alias(n, weights)
        } else if (POISSON_MIN_VOTES..=POISSON_MAX_VOTES).contains(&n) {
            Self::poisson(n, weights)
        } else {
            Self::chain(n, weights)
        }
    }

    /// As [`Self::new`], but never drawing votes one at a time when there
    /// are about as many categories as votes (the contextual fit's rows,
    /// nearly all of one vote each): each vote drawn from an alias table
    /// that large touches two random cache lines of it and one of the
    /// counts, while Poisson counts walk the categories in order.
    pub(super) fn per_category(n: u64, weights: &[f64]) -> Self {
        if (POISSON_MIN_VOTES..=POISSON_MAX_VOTES).contains(&n) {
            Self::poisson(n, weights)
        } else {
            Self::new(n, weights)
        }
    }

    pub(super) fn alias(n: u64, weights: &[f64]) -> Self {
        Self::Alias {
            n,
            table: AliasTable::new(weights),
        }
    }

    pub(super) fn chain(n: u64, weights: &[f64]) -> Self {
        Self::Chain {
            n,
            chain: Chain::new(weights),
        }
    }

    pub(super) fn poisson(n: u64, weights: &[f64]) -> Self {
        Self::Poisson {
            n,
            counts: PoissonCounts::new(n, weights),
            alias: AliasTable::new(weights),
            chain: Chain::new(weights),
        }
    }

    /// The same sampler writing category `c`'s count to `out[at[c]]`
    /// instead of `out[c]`, so that a caller whose counts are laid out
    /// otherwise gets them in place, without a pass to move them there.
    /// `at` has one entry per category, no two alike.
    pub(super) fn place(self, at: &[usize]) -> Self {
        match self {
            Self::Alias { n, table } => Self::Alias {
                n,
                table: table.place(at),
            },
            Self::Poisson {
                n,
                mut counts,
                alias,
                chain,
            } => {
                for c in &mut counts.members {
                    *c = at[*c];
                }
                Self::Poisson {
                    n,
                    counts,
                    alias: alias.place(at),
                    chain: chain.place(at),
                }
            }
            Self::Chain { n, chain } => Self::Chain {
                n,
                chain: chain.place(at),
            },
        }
    }

    /// Writes a draw of the vote counts into `out`: category `c`'s at `c`,
    /// or where [`Self::place`] put it. Entries of no category are not
    /// touched.
    pub(super) fn draw<R: Rng, C: Count>(&self, rng: &mut R, out: &mut [C]) {
        match self {
            Self::Alias { n, table } => {
                table.clear(out);
                table.add(rng, *n, out);
            }
            Self::Chain { n, chain } => {
                chain.clear(out);
                chain.add(rng, *n, out);
            }
            // Poisson counts write every category's entry: nothing to clear.
            Self::Poisson {
                n,
                counts,
                alias,
                chain,
            } => {
                for _ in 0..POISSON_TRIES {
                    let total = counts.draw(rng, out);
                    if let Some(missing) = n.checked_sub(total) {
                        if missing <= 4 * chain.categories() {
                            alias.add(rng, missing, out);
                        } else {
                            chain.add(rng, missing, out);
                        }
                        return;
                    }
                }
                chain.clear(out);
                chain.add(rng, *n, out);
            }
        }
    }
}

/// Independent Poisson counts with means `λ_c = m·w_c / Σw`, for a total
/// mean `m = n − 4√n` a little below `n`.
///
/// Why this gives an exact multinomial: given their sum `T`, independent
/// Poisson counts are `Multinomial(T, w / Σw)`, whatever the means' scale.
/// A draw with `T > n` is thrown away; that decision depends on `T` alone,
/// so the counts kept are still multinomial given their `T`. Adding
/// `n − T` votes drawn one by one with probabilities `w / Σw` then makes
/// them `Multinomial(n, w / Σw)`, exactly the law of resampling the `n`
/// votes with replacement. With the margin of `4√n` votes, about 3 draws
/// in 100,000 are thrown away and about `4√n` votes are added one by one.
///
/// The means never change from round to round, and categories with the
/// same weight (counts of votes are small integers, so most share one)
/// share a mean: each mean gets its sampler once, usually a table of its
/// distribution function.
pub(super) struct PoissonCounts {
    /// Where each category's count goes (its index, unless placed), grouped
    /// by mean.
    members: Vec<usize>,
    groups: Vec<Group>,
}

struct Group {
    /// `members[start..end]` have this group's mean.
    start: usize,
    end: usize,
    method: Method,
}

/// How one mean's counts are drawn.
enum Method {
    /// Inversion of a table of the distribution function.
    Table(PoissonTable),
    /// Sequential search of the distribution function from 0, for means
    /// below 10 left without a table.
    Search { mean: f64, p0: f64 },
    /// Transformed rejection, for means of 10 or more left without a table.
    Rejection(Ptrs),
}

/// Largest mean given a table: its length grows as `21·√mean`.
const TABLE_MAX_MEAN: f64 = 1024.0;

impl PoissonCounts {
    fn new(n: u64, weights: &[f64]) -> Self {
        let nf = n as f64;
        let total: f64 = weights.iter().sum();
        let scale = (nf - 4.0 * nf.sqrt()).max(0.0) / total;
        let mut members: Vec<usize> = (0..weights.len()).collect();
        members.sort_by(|&a, &b| weights[a].total_cmp(&weights[b]).then(a.cmp(&b)));
        let mut bounds: Vec<(usize, usize)> = Vec::new();
        for (at, &c) in members.iter().enumerate() {
            match bounds.last_mut() {
                Some(last) if weights[members[last.0]] == weights[c] => last.1 = at + 1,
                _ => bounds.push((at, at + 1)),
            }
        }
        // Tables for the groups with most members first, within a budget
        // that keeps making them cheaper than a few rounds of draws.
        let mut order: Vec<usize> = (0..bounds.len()).collect();
        order.sort_by_key(|&g| std::cmp::Reverse(bounds[g].1 - bounds[g].0));
        let mut budget = 8 * weights.len() + 4096;
        let mut methods: Vec<Option<Method>> = (0..bounds.len()).map(|_| None).collect();
        for g in order {
            let mean = weights[members[bounds[g].0]] * scale;
            let table = (mean <= TABLE_MAX_MEAN)
                .then(|| PoissonTable::new(mean))
                .flatten()
                .filter(|t| t.size() <= budget);
            methods[g] = Some(match table {
                Some(t) => {
                    budget -= t.size();
                    Method::Table(t)
                }
                None if mean < 10.0 => Method::Search {
                    mean,
                    p0: (-mean).exp(),
                },
                None => Method::Rejection(Ptrs::new(mean)),
            });
        }
        let groups = bounds
            .into_iter()
            .zip(methods)
            .filter_map(|((start, end), method)| {
                Some(Group {
                    start,
                    end,
                    method: method?,
                })
            })
            .collect();
        Self { members, groups }
    }

    /// Writes every category's count into `out` and returns their sum.
    fn draw<R: Rng, C: Count>(&self, rng: &mut R, out: &mut [C]) -> u64 {
        let mut total = 0u64;
        for g in &self.groups {
            let members = &self.members[g.start..g.end];
            // One loop per method, so that the choice is not made per draw.
            match &g.method {
                Method::Table(t) => {
                    for &c in members {
                        let x = t.draw(rng);
                        out[c] = C::of(x);
                        total = total.saturating_add(x);
                    }
                }
                Method::Search { mean, p0 } => {
                    for &c in members {
                        let x = poisson_search(rng, *mean, *p0);
                        out[c] = C::of(x);
                        total = total.saturating_add(x);
                    }
                }
                Method::Rejection(r) => {
                    for &c in members {
                        let x = r.draw(rng);
                        out[c] = C::of(x);
                        total = total.saturating_add(x);
                    }
                }
            }
        }
        total
    }
}

/// Smallest probability kept in a table, relative to the mode's: what is
/// cut off on both sides is below 1e-21 in all, far below the 2^-53
/// (1.1e-16) that a 53-bit uniform resolves in any inversion.
const TABLE_CUT: f64 = 1e-22;

/// Most slots of a table's alias table: 2^11, so that a slot and the first
/// 21 bits of its uniform fit in one 32-bit word.
const TABLE_MAX_BITS: u32 = 11;

/// The distribution of one Poisson mean over the values that are not
/// negligible, as an alias table with a power-of-two number of slots
/// (slots past the values have probability zero). A draw takes one 32-bit
/// word: its top bits pick the slot, the rest are the first bits of the
/// uniform that decides between the slot's value and its alias. Only when
/// those bits tie with the slot's threshold (about one draw in 2^21 or
/// more) does a second, 64-bit word decide, so the comparison is exact to
/// 2^-85, better than a 53-bit uniform.
struct PoissonTable {
    /// Value of slot 0.
    first: u64,
    /// Bits of the slot number.
    bits: u32,
    slots: Vec<Slot>,
}

#[derive(Clone, Copy)]
struct Slot {
    /// Top `32 − bits` bits of the threshold, in the top bits of the word.
    high: u32,
    /// Offset (from `first`) drawn when the uniform is below the threshold.
    keep: u32,
    /// Offset drawn otherwise.
    alias: u32,
    /// The threshold's remaining bits, left-aligned.
    low: u64,
}

impl PoissonTable {
    /// `None` for a mean that is not positive and finite or is above
    /// [`TABLE_MAX_MEAN`].
    fn new(mean: f64) -> Option<Self> {
        if !(mean > 0.0 && mean <= TABLE_MAX_MEAN) {
            return None;
        }
        // Probabilities relative to the mode's, by the recurrence
        // p(x + 1) = p(x)·mean / (x + 1) both ways from the mode: no
        // log-factorial is needed, the normalisation takes care of it.
        let mode = mean.floor() as u64;
        let mut below = Vec::new();
        let mut p = 1.0f64;
        let mut x = mode;
        while x > 0 {
            p *= x as f64 / mean;
            if p < TABLE_CUT {
                break;
            }
            below.push(p);
            x -= 1;
        }
        let first = mode - below.len() as u64;
        let mut pmf: Vec<f64> = below.into_iter().rev().collect();
        pmf.push(1.0);
        let mut p = 1.0f64;
        let mut x = mode;
        loop {
            x += 1;
            p *= mean / x as f64;
            if p < TABLE_CUT {
                break;
            }
            pmf.push(p);
        }
        let bits = pmf.len().next_power_of_two().trailing_zeros().max(1);
        if bits > TABLE_MAX_BITS {
            return None;
        }
        let size = 1usize << bits;
        pmf.resize(size, 0.0);
        let alias = AliasTable::new(&pmf);
        let slots = (0..size)
            .map(|slot| {
                // The threshold as a 64-bit fraction; a full slot keeps its
                // value (but for a chance of 2^-64).
                let entry = &alias.slots[slot];
                let t = (entry.prob * 2f64.powi(64)) as u64;
                Slot {
                    high: ((t >> 32) as u32) & (u32::MAX << bits),
                    keep: slot as u32,
                    alias: entry.alias as u32,
                    low: t << (32 - bits),
                }
            })
            .collect();
        Some(Self { first, bits, slots })
    }

    /// Slots, the table's size for the memory budget.
    fn size(&self) -> usize {
        self.slots.len()
    }

    fn draw<R: Rng>(&self, rng: &mut R) -> u64 {
        let word = rng.next_u32();
        let slot = self.slots[(word >> (32 - self.bits)) as usize];
        let uniform = word << self.bits;
        let below = if uniform == slot.high {
            rng.next_u64() < slot.low
        } else {
            uniform < slot.high
        };
        self.first + u64::from(if below { slot.keep } else { slot.alias })
    }
}

/// Poisson variate for `mean < 10` by sequential search of the distribution
/// function from 0, `p0 = e^−mean`; cut and restarted 10 standard
/// deviations above the mean, as [`binomial_inversion`] is.
fn poisson_search<R: Rng>(rng: &mut R, mean: f64, p0: f64) -> u64 {
    // Below 10 + 10·√11 < 44, within the table of reciprocals.
    let bound = (mean + 10.0 * (mean + 1.0).sqrt()) as u64;
    let inv = reciprocals();
    for _ in 0..1000 {
        let mut u = uniform(rng);
        let mut x = 0u64;
        let mut px = p0;
        while u > px {
            x += 1;
            if x > bound {
                break;
            }
            u -= px;
            px *= mean * inv[x as usize];
        }
        if x <= bound {
            return x;
        }
    }
    mean.floor() as u64
}

/// Hörmann's transformed rejection with squeeze (PTRS) for Poisson means of
/// 10 or more, with the constants of one mean computed once.
struct Ptrs {
    mean: f64,
    ln_mean: f64,
    a: f64,
    b: f64,
    ln_inv_alpha: f64,
    v_r: f64,
}

impl Ptrs {
    fn new(mean: f64) -> Self {
        let b = 0.931 + 2.53 * mean.sqrt();
        Self {
            mean,
            ln_mean: mean.ln(),
            a: -0.059 + 0.02483 * b,
            b,
            ln_inv_alpha: (1.1239 + 1.1328 / (b - 3.4)).ln(),
            v_r: 0.9277 - 3.6224 / (b - 2.0),
        }
    }

    fn draw<R: Rng>(&self, rng: &mut R) -> u64 {
        // Each proposal is accepted with probability above 0.9, so the cap
        // is never reached; it only makes termination unconditional.
        for _ in 0..1_000_000 {
            let u = uniform(rng) - 0.5;
            let v = uniform(rng);
            let us = 0.5 - u.abs();
            if us <= 0.0 {
                continue;
            }
            let kf = ((2.0 * self.a / us + self.b) * u + self.mean + 0.43).floor();
            if us >= 0.07 && v <= self.v_r {
                return kf.max(0.0) as u64;
            }
            if kf < 0.0 || (us < 0.013 && v > us) {
                continue;
            }
            let lhs = v.ln() + self.ln_inv_alpha - (self.a / (us * us) + self.b).ln();
            let rhs = -self.mean + kf * self.ln_mean - ln_factorial(kf);
            if lhs <= rhs {
                return kf as u64;
            }
        }
        self.mean.floor() as u64
    }
}

/// `ln k!` for a whole `k ≥ 0`: exact below 10, Stirling's series above
/// (error below 1e-12).
fn ln_factorial(k: f64) -> f64 {
    const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;
    LN_SQRT_2PI + (k + 0.5) * (k + 1.0).ln() - (k + 1.0) + stirling_tail(k)
}

/// Vose's alias table: each slot keeps its own category with probability
/// `prob` and otherwise yields its alias.
pub(super) struct AliasTable {
    slots: Vec<AliasSlot>,
}

/// One slot of an [`AliasTable`], all that a vote drawn from it reads, so
/// that it reads one place in memory.
struct AliasSlot {
    prob: f64,
    /// Where the slot's own category's count goes.
    keep: usize,
    /// Where the alias's count goes.
    alias: usize,
}

impl AliasTable {
    fn new(weights: &[f64]) -> Self {
        let c = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * c as f64 / total).collect();
        let mut alias: Vec<usize> = (0..c).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..c).partition(|&i| prob[i] < 1.0);
        while let (Some(&l), Some(sm)) = (large.last(), small.pop()) {
            alias[sm] = l;
            prob[l] = (prob[l] + prob[sm]) - 1.0;
            if prob[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left is 1 up to rounding.
        for i in small.into_iter().chain(large) {
            prob[i] = 1.0;
        }
        let slots = prob
            .into_iter()
            .zip(alias)
            .enumerate()
            .map(|(keep, (prob, alias))| AliasSlot { prob, keep, alias })
            .collect();
        Self { slots }
    }

    /// Counts go to `at[c]` instead of `c`.
    fn place(mut self, at: &[usize]) -> Self {
        for slot in &mut self.slots {
            slot.keep = at[slot.keep];
            slot.alias = at[slot.alias];
        }
        self
    }

    /// Sets every category's count to zero.
    fn clear<C: Count>(&self, out: &mut [C]) {
        for slot in &self.slots {
            out[slot.keep] = C::ZERO;
        }
    }

    /// Adds `n` votes drawn one at a time to `out`. Which of a slot's two
    /// categories a vote takes is a coin toss, so it is chosen without a
    /// branch, which would be mispredicted half the time.
    fn add<R: Rng, C: Count>(&self, rng: &mut R, n: u64, out: &mut [C]) {
        let c = self.slots.len() as u64;
        if c == 0 {
            return;
        }
        let threshold = c.wrapping_neg() % c;
        for _ in 0..n {
            let slot = &self.slots[below(rng, c, threshold) as usize];
            let keep = uniform(rng) < slot.prob;
            let cat = std::hint::select_unpredictable(keep, slot.keep, slot.alias);
            out[cat] = out[cat].plus(1);
        }
    }
}

/// Conditional binomials: category `c` receives `Binomial(left, w_c / Σ_{d≥c} w_d)`.
pub(super) struct Chain {
    weights: Vec<f64>,
    /// `suffix[c]`: the sum of `weights[c..]`.
    suffix: Vec<f64>,
    /// Where each category's count goes.
    at: Vec<usize>,
}

impl Chain {
    fn new(weights: &[f64]) -> Self {
        let mut suffix = vec![0.0; weights.len()];
        let mut acc = 0.0;
        for (sfx, w) in suffix.iter_mut().zip(weights).rev() {
            acc += w;
            *sfx = acc;
        }
        Self {
            weights: weights.to_vec(),
            suffix,
            at: (0..weights.len()).collect(),
        }
    }

    /// How many categories it draws.
    fn categories(&self) -> u64 {
        self.at.len() as u64
    }

    /// Counts go to `at[c]` instead of `c`.
    fn place(mut self, at: &[usize]) -> Self {
        for c in &mut self.at {
            *c = at[*c];
        }
        self
    }

    /// Sets every category's count to zero.
    fn clear<C: Count>(&self, out: &mut [C]) {
        for &c in &self.at {
            out[c] = C::ZERO;
        }
    }

    /// Adds a multinomial draw of `n` votes to `out`.
    fn add<R: Rng, C: Count>(&self, rng: &mut R, n: u64, out: &mut [C]) {
        let mut left = n;
        let last = self.weights.len().saturating_sub(1);
        for (c, ((w, sfx), &at)) in self
            .weights
            .iter()
            .zip(&self.suffix)
            .zip(&self.at)
            .enumerate()
        {
            if left == 0 {
                break;
            }
            let x = if c == last {
                left
            } else {
                binomial(rng, left, w / sfx)
            };
            out[at] = out[at].plus(x);
            left -= x;
        }
    }
}

/// A count a draw writes: `u64`, or `f64` for a fit that reads its counts
/// as such (exact up to 2^53, far above [`POISSON_MAX_VOTES`]).
pub(super) trait Count: Copy {
    const ZERO: Self;
    fn of(x: u64) -> Self;
    fn plus(self, x: u64) -> Self;
}

impl Count for u64 {
    const ZERO: Self = 0;
    fn of(x: u64) -> Self {
        x
    }
    fn plus(self, x: u64) -> Self {
        self + x
    }
}

impl Count for f64 {
    const ZERO: Self = 0.0;
    fn of(x: u64) -> Self {
        x as f64
    }
    fn plus(self, x: u64) -> Self {
        self + x as f64
    }
}

/// Uniform integer in `[0, n)`, `n > 0`, by multiply-and-reject: exact,
/// rejecting fewer than `n / 2^64` of the draws. `threshold` is
/// `n.wrapping_neg() % n`, computed once for many draws (the division is
/// dearer than the rest of a draw).
fn below<R: Rng>(rng: &mut R, n: u64, threshold: u64) -> u64 {
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Uniform on [0, 1) with 53 random bits.
fn uniform<R: Rng>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Exact `Binomial(n, p)` variate; `p` outside (0, 1) is clamped.
pub(super) fn binomial<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // Both methods below need p ≤ 1/2; the count of failures is the mirror.
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    if n as f64 * p < 10.0 {
        binomial_inversion(rng, n, p)
    } else {
        binomial_btrs(rng, n, p)
    }
}

/// Sequential search of the CDF from 0; expected cost `O(n·p)`, used only
/// for `n·p < 10`. The search is cut at 10 standard deviations above the
/// mean and restarted, which only guards against rounding leftovers: the
/// mass beyond that point is below 1e-20.
fn binomial_inversion<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    let q = 1.0 - p;
    let nf = n as f64;
    let p0 = (nf * (-p).ln_1p()).exp();
    let ratio = p / q;
    let mean = nf * p;
    // With n·p < 10 and p ≤ ½ the bound stays below 10 + 10·√11 < 44, so the
    // reciprocals come from a table: a division per step would dominate.
    let bound = (mean + 10.0 * (mean * q + 1.0).sqrt()).min(nf) as u64;
    let inv = reciprocals();
    for _ in 0..1000 {
        let mut u = uniform(rng);
        let mut x = 0u64;
        let mut px = p0;
        while u > px {
            x += 1;
            if x > bound {
                break;
            }
            u -= px;
            px *= (n - x + 1) as f64 * ratio * inv[x as usize];
        }
        if x <= bound {
            return x;
        }
    }
    // Unreachable in practice (each restart has probability < 1e-15); the
    // mode keeps the function total.
    ((nf + 1.0) * p).floor() as u64
}

/// `1/x` for `x < 64` (entry 0 unused).
fn reciprocals() -> &'static [f64; 64] {
    static TABLE: std::sync::OnceLock<[f64; 64]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|x| if x == 0 { 0.0 } else { 1.0 / x as f64 }))
}

/// `ln k! − [ln √(2π) + (k + ½) ln(k + 1) − (k + 1)]`: exact values below 10,
/// Stirling series in `k + 1` above (error below 1e-12).
fn stirling_tail(k: f64) -> f64 {
    const TABLE: [f64; 10] = [
        0.08106146679532726,
        0.0413406959554093,
        0.02767792568499834,
        0.020790672103765093,
        0.016644691189821193,
        0.013876128823070748,
        0.01189670994589177,
        0.010411265261972096,
        0.009255462182712733,
        0.00833056343336287,
    ];
    if k < 10.0 {
        return TABLE[k as usize];
    }
    let z = 1.0 / (k + 1.0);
    let z2 = z * z;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - z2 / 1680.0) * z2) * z2) * z
}

/// Transformed rejection with squeeze for `n·p ≥ 10`, `p ≤ ½`. Proposals come
/// from a hat over the transformed uniform; most are accepted by the cheap
/// squeeze, the rest by comparing with the exact log-ratio
/// `ln f(k) − ln f(m)` around the mode `m`.
fn binomial_btrs<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    let nf = n as f64;
    let q = 1.0 - p;
    let spq = (nf * p * q).sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let v_r = 0.92 - 4.2 / b;
    let r = p / q;
    let alpha = (2.83 + 5.1 / b) * spq;
    let m = ((nf + 1.0) * p).floor();
    // Only needed on the slow path, which many proposals never reach.
    let mut at_mode = f64::NAN;
    // Each proposal is accepted with probability well above one half, so the
    // cap is never reached; it only makes termination unconditional.
    for _ in 0..1_000_000 {
        let u = uniform(rng) - 0.5;
        let v = uniform(rng);
        let us = 0.5 - u.abs();
        if us <= 0.0 {
            continue;
        }
        let kf = ((2.0 * a / us + b) * u + c).floor();
        if kf < 0.0 || kf > nf {
            continue;
        }
        if us >= 0.07 && v <= v_r {
            return kf as u64;
        }
        let lhs = (v * alpha / (a / (us * us) + b)).ln();
        if at_mode.is_nan() {
            at_mode = (m + 0.5) * ((m + 1.0) / (r * (nf - m + 1.0))).ln()
                + stirling_tail(m)
                + stirling_tail(nf - m);
        }
        let rhs = at_mode
            + (nf + 1.0) * ((kf - m) / (nf - kf + 1.0)).ln_1p()
            + (kf + 0.5) * (r * (nf - kf + 1.0) / (kf + 1.0)).ln()
            - stirling_tail(kf)
            - stirling_tail(nf - kf);
        if lhs <= rhs {
            return kf as u64;
        }
    }
    m as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn binomial_mean_and_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for &(n, p) in &[
            (20u64, 0.3),
            (1000, 0.004),
            (1000, 0.3),
            (5_000_000, 0.45),
            (60, 0.9),
            (3, 0.5),
        ] {
            let draws = 40_000;
            let xs: Vec<f64> = (0..draws)
                .map(|_| binomial(&mut rng, n, p) as f64)
                .collect();
            let mean = xs.iter().sum::<f64>() / draws as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
            let nf = n as f64;
            let (m0, v0) = (nf * p, nf * p * (1.0 - p));
            assert!(
                (mean - m0).abs() < 5.0 * (v0 / draws as f64).sqrt(),
                "mean n={n} p={p}"
            );
            assert!(
                (var / v0 - 1.0).abs() < 0.05,
                "variance n={n} p={p}: {var} vs {v0}"
            );
            assert!(xs.iter().all(|&x| x >= 0.0 && x <= nf));
        }
    }

    /// Exact probabilities through log-gamma sums, to test the shape of the
    /// rejection sampler, not just its moments.
    #[test]
    fn binomial_matches_exact_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &(n, p) in &[(40u64, 0.35), (25, 0.2)] {
            let draws = 200_000usize;
            let mut hist = vec![0usize; n as usize + 1];
            for _ in 0..draws {
                hist[binomial(&mut rng, n, p) as usize] += 1;
            }
            let mut ln_fact = vec![0.0f64; n as usize + 1];
            for x in 1..=n as usize {
                ln_fact[x] = ln_fact[x - 1] + (x as f64).ln();
            }
            let nu = n as usize;
            let mut chi2 = 0.0;
            let mut dof = 0;
            for (x, &h) in hist.iter().enumerate() {
                let lp = ln_fact[nu] - ln_fact[x] - ln_fact[nu - x]
                    + x as f64 * p.ln()
                    + (nu - x) as f64 * (1.0 - p).ln();
                let e = draws as f64 * lp.exp();
                if e >= 20.0 {
                    chi2 += (h as f64 - e).powi(2) / e;
                    dof += 1;
                }
            }
            // Mean dof, sd about sqrt(2 dof): 5 sd is a loose, stable bar.
            let limit = dof as f64 + 5.0 * (2.0 * dof as f64).sqrt();
            assert!(chi2 < limit, "n={n} p={p}: chi2 {chi2} with {dof} cells");
        }
    }

    /// Mean, variance and one covariance of every count against the
    /// multinomial's.
    fn check_multinomial(
        name: &str,
        sampler: &VoteSampler,
        n: u64,
        weights: &[f64],
        pair: (usize, usize),
    ) {
        let total: f64 = weights.iter().sum();
        let rounds = 4000;
        let c = weights.len();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut out = vec![0u64; c];
        let mut sum = vec![0.0f64; c];
        let mut sum2 = vec![0.0f64; c];
        let mut cross = 0.0;
        for _ in 0..rounds {
            sampler.draw(&mut rng, &mut out);
            assert_eq!(out.iter().sum::<u64>(), n, "{name}");
            for m in 0..c {
                sum[m] += out[m] as f64;
                sum2[m] += (out[m] as f64).powi(2);
            }
            cross += out[pair.0] as f64 * out[pair.1] as f64;
        }
        let r = rounds as f64;
        let nf = n as f64;
        for m in 0..c {
            let p = weights[m] / total;
            let mean = sum[m] / r;
            let var = sum2[m] / r - mean * mean;
            let (m0, v0) = (nf * p, nf * p * (1.0 - p));
            assert!((mean - m0).abs() < 5.0 * (v0 / r).sqrt(), "{name} mean {m}");
            assert!(
                (var / v0 - 1.0).abs() < 0.08,
                "{name} variance {m}: {var} vs {v0}"
            );
        }
        // Multinomial counts are negatively correlated: −n p_a p_b, checked
        // to five standard errors of the estimate.
        let (a, b) = pair;
        let cov = cross / r - (sum[a] / r) * (sum[b] / r);
        let (pa, pb) = (weights[a] / total, weights[b] / total);
        let cov0 = -nf * pa * pb;
        let se = (nf * pa * (1.0 - pa) * nf * pb * (1.0 - pb) / r).sqrt();
        assert!(
            (cov - cov0).abs() < 5.0 * se,
            "{name} covariance {cov} vs {cov0}"
        );
    }

    #[test]
    fn multinomial_mean_and_variance() {
        let weights = [5.0, 1.0, 0.5, 30.0, 13.5];
        let n = 500u64;
        // Every sampler, whichever `VoteSampler::new` would pick. With five
        // categories the Poisson counts are topped up by the chain.
        for (name, sampler) in [
            ("chain", VoteSampler::chain(n, &weights)),
            ("alias", VoteSampler::alias(n, &weights)),
            ("poisson", VoteSampler::poisson(n, &weights)),
        ] {
            check_multinomial(name, &sampler, n, &weights, (0, 3));
        }
        // Sixty categories with repeated, fractional and large weights:
        // the Poisson counts use tables, searches and rejection, and are
        // topped up from the alias table.
        let weights: Vec<f64> = (0..60)
            .map(|c| match c % 4 {
                0 => 3.0,
                1 => 0.25 + c as f64,
                2 => 400.0,
                _ => 1.0,
            })
            .collect();
        let n = 3000;
        let sampler = VoteSampler::new(n, &weights);
        assert!(matches!(sampler, VoteSampler::Poisson { .. }));
        check_multinomial("poisson with alias", &sampler, n, &weights, (2, 6));
    }

    /// A placed sampler writes the same counts, from the same random
    /// numbers, where it was told, as `f64` or `u64`, and leaves every other
    /// entry as it was.
    #[test]
    fn placed_counts_are_the_counts_where_they_were_placed() {
        let small = [5.0, 1.0, 0.5, 30.0, 13.5];
        let many: Vec<f64> = (0..60)
            .map(|c| [3.0, 0.25 + c as f64, 400.0, 1.0][c % 4])
            .collect();
        type Make = fn(u64, &[f64]) -> VoteSampler;
        let samplers: [(&str, &[f64], Make, u64); 4] = [
            ("chain", &small, VoteSampler::chain, 500),
            ("alias", &small, VoteSampler::alias, 500),
            (
                "poisson topped up by the chain",
                &small,
                VoteSampler::poisson,
                500,
            ),
            (
                "poisson topped up by the alias table",
                &many,
                VoteSampler::poisson,
                3000,
            ),
        ];
        for (name, weights, make, n) in samplers {
            let c = weights.len();
            // Category `x` goes to `3·(c − 1 − x) + 1`: reversed, with gaps.
            let at: Vec<usize> = (0..c).map(|x| 3 * (c - 1 - x) + 1).collect();
            let plain = make(n, weights);
            let placed = make(n, weights).place(&at);
            for round in 0..20u64 {
                let mut rng = ChaCha8Rng::seed_from_u64(round);
                let mut expected = vec![0u64; c];
                plain.draw(&mut rng, &mut expected);
                for sentinel in [7.5f64, 0.0] {
                    let mut rng = ChaCha8Rng::seed_from_u64(round);
                    let mut out = vec![sentinel; 3 * c];
                    placed.draw(&mut rng, &mut out);
                    for (i, &v) in out.iter().enumerate() {
                        let want = if i % 3 == 1 {
                            expected[c - 1 - i / 3] as f64
                        } else {
                            sentinel
                        };
                        assert_eq!(v, want, "{name}, round {round}, entry {i}");
                    }
                }
                let mut rng = ChaCha8Rng::seed_from_u64(round);
                let mut out = vec![9u64; 3 * c];
                placed.draw(&mut rng, &mut out);
                let back: Vec<u64> = at.iter().map(|&i| out[i]).collect();
                assert_eq!(back, expected, "{name}, round {round}");
            }
        }
    }

    /// The count of one category of a multinomial is binomial: its whole
    /// distribution is checked, whichever way the Poisson counts were topped
    /// up to `n` (chain, alias table, or the chain after overshoots).
    #[test]
    fn poisson_counts_give_exact_binomial_marginals() {
        let few = [1.0, 2.0, 5.0];
        let many: Vec<f64> = (1..=20).map(f64::from).collect();
        let overshooting = VoteSampler::Poisson {
            n: 70,
            // Counts for 200 votes nearly never sum to 70 or fewer.
            counts: PoissonCounts::new(200, &few),
            alias: AliasTable::new(&few),
            chain: Chain::new(&few),
        };
        let cases: [(&str, VoteSampler, u64, &[f64], usize); 3] = [
            ("chain top-up", VoteSampler::poisson(80, &few), 80, &few, 0),
            (
                "alias top-up",
                VoteSampler::poisson(100, &many),
                100,
                &many,
                19,
            ),
            ("overshoot", overshooting, 70, &few, 2),
        ];
        for (name, sampler, n, weights, c) in cases {
            let p = weights[c] / weights.iter().sum::<f64>();
            let mut rng = ChaCha8Rng::seed_from_u64(13);
            let mut out = vec![0u64; weights.len()];
            let draws = 40_000usize;
            let mut hist = vec![0usize; n as usize + 1];
            for _ in 0..draws {
                sampler.draw(&mut rng, &mut out);
                assert_eq!(out.iter().sum::<u64>(), n, "{name}");
                hist[out[c] as usize] += 1;
            }
            let nu = n as usize;
            let mut ln_fact = vec![0.0f64; nu + 1];
            for x in 1..=nu {
                ln_fact[x] = ln_fact[x - 1] + (x as f64).ln();
            }
            let mut chi2 = 0.0;
            let mut dof = 0;
            for (x, &h) in hist.iter().enumerate() {
                let lp = ln_fact[nu] - ln_fact[x] - ln_fact[nu - x]
                    + x as f64 * p.ln()
                    + (nu - x) as f64 * (1.0 - p).ln();
                let e = draws as f64 * lp.exp();
                if e >= 20.0 {
                    chi2 += (h as f64 - e).powi(2) / e;
                    dof += 1;
                }
            }
            let limit = dof as f64 + 5.0 * (2.0 * dof as f64).sqrt();
            assert!(chi2 < limit, "{name}: chi2 {chi2} with {dof} cells");
        }
    }

    /// Exact Poisson probabilities through log-factorial sums.
    fn poisson_chi2(what: &str, mean: f64, mut draw: impl FnMut() -> u64) {
        let draws = 200_000usize;
        let top = (mean + 12.0 * mean.sqrt() + 20.0) as usize;
        let mut hist = vec![0usize; top + 1];
        let mut sum = 0.0;
        for _ in 0..draws {
            let x = draw() as usize;
            sum += x as f64;
            hist[x.min(top)] += 1;
        }
        let mut chi2 = 0.0;
        let mut dof = 0;
        let mut ln_fact = 0.0f64;
        for (x, &h) in hist.iter().enumerate() {
            if x > 0 {
                ln_fact += (x as f64).ln();
            }
            let e = draws as f64 * (x as f64 * mean.ln() - mean - ln_fact).exp();
            if e >= 20.0 {
                chi2 += (h as f64 - e).powi(2) / e;
                dof += 1;
            }
        }
        let limit = dof as f64 + 5.0 * (2.0 * dof as f64).sqrt();
        assert!(
            chi2 < limit,
            "{what} mean {mean}: chi2 {chi2} with {dof} cells"
        );
        let m = sum / draws as f64;
        assert!(
            (m - mean).abs() < 5.0 * (mean / draws as f64).sqrt(),
            "{what} mean {mean}: sample mean {m}"
        );
    }

    #[test]
    fn poisson_samplers_match_exact_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for mean in [0.02, 0.7, 4.5, 9.9, 37.0, 600.0] {
            let table = PoissonTable::new(mean).expect("a table");
            poisson_chi2("table", mean, || table.draw(&mut rng));
            if mean < 10.0 {
                let p0 = (-mean).exp();
                poisson_chi2("search", mean, || poisson_search(&mut rng, mean, p0));
            } else {
                let r = Ptrs::new(mean);
                poisson_chi2("rejection", mean, || r.draw(&mut rng));
            }
        }
        // Beyond the tables, where only rejection serves.
        assert!(PoissonTable::new(5000.0).is_none());
        let r = Ptrs::new(5000.0);
        poisson_chi2("rejection", 5000.0, || r.draw(&mut rng));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(PoissonTable::new(bad).is_none());
        }
    }

    /// Returns the words it was given, in order.
    struct Scripted(std::collections::VecDeque<u64>);

    impl rand::TryRng for Scripted {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.0.pop_front().unwrap_or(0) as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(self.0.pop_front().unwrap_or(0))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            dst.fill(0);
            Ok(())
        }
    }

    /// The split of a table's uniform into a first word and, on a tie, a
    /// second: each side of every threshold gives the right value.
    #[test]
    fn table_thresholds_split_exactly_across_two_words() {
        let t = PoissonTable::new(3.0).expect("a table");
        let b = t.bits;
        let mut checked = 0;
        for (index, slot) in t.slots.iter().enumerate() {
            let top = (index as u64) << (32 - b);
            let rest = u64::from(slot.high >> b);
            let (keep, alias) = (
                t.first + u64::from(slot.keep),
                t.first + u64::from(slot.alias),
            );
            let draw = |words: &[u64]| t.draw(&mut Scripted(words.iter().copied().collect()));
            if rest > 0 {
                assert_eq!(draw(&[top | (rest - 1)]), keep);
            }
            if rest + 1 < 1 << (32 - b) {
                assert_eq!(draw(&[top | (rest + 1)]), alias);
            }
            // A tie: the 64-bit word decides against the threshold's rest.
            if slot.low > 0 {
                assert_eq!(draw(&[top | rest, slot.low - 1]), keep);
                checked += 1;
            }
            assert_eq!(draw(&[top | rest, slot.low]), alias);
        }
        assert!(checked > 0);
    }

    #[test]
    fn ln_factorial_is_accurate() {
        let mut exact = 0.0f64;
        for k in 0..200u32 {
            if k > 0 {
                exact += f64::from(k).ln();
            }
            let got = ln_factorial(f64::from(k));
            assert!(
                (got - exact).abs() < 1e-11 * exact.max(1.0),
                "{k}: {got} vs {exact}"
            );
        }
    }
}
