//! One pass over the rows: the log-likelihood, or its gradient with minus its Hessian in
//! pieces, and for the sandwich the outer products of the votes' scores. This is where the
//! time goes at a million votes; everything else is `O(#pairs + K²)`.
//!
//! A row's logit is `d = θ_i − θ_j + zᵀβ`. Per pair, the row loop keeps in registers the
//! pair's share of the gradient and curvature (its `θ_i` entry, `θ_j`'s is minus it) and its
//! cross terms with `β`; the `β` block is summed per task. Tasks are the fixed chunks of
//! [`Rows::chunks`], their sums added in chunk order, so the threads change nothing but the
//! time.

use super::super::likelihood::{logistic, logistic_pw};
use super::rows::{F, Rows, in_parallel};

/// A pair's sums over its rows, with `c = count·weight`, `p = σ(d)`, `e = y − p`:
/// `g = Σ c·e`, `h = Σ c·p(1−p)`, `hz = Σ c·p(1−p)·z`; for the sandwich
/// `m = Σ count·(weight·e)²` and `mz = Σ count·(weight·e)²·z`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct PairSums {
    pub(super) g: f64,
    pub(super) h: f64,
    pub(super) hz: [f64; F],
    pub(super) m: f64,
    pub(super) mz: [f64; F],
}

/// Sums over all rows: the `β` parts and the log-likelihood.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Sums {
    /// `Σ c·e·z`.
    pub(super) gz: [f64; F],
    /// `Σ c·p(1−p)·z zᵀ`, lower triangle filled.
    pub(super) hzz: [[f64; F]; F],
    /// `Σ count·(weight·e)²·z zᵀ`, lower triangle filled.
    pub(super) mzz: [[f64; F]; F],
    /// `Σ c·(y·d − ln(1 + e^d))`.
    pub(super) ll: f64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        for f in 0..F {
            self.gz[f] += o.gz[f];
            for g in 0..=f {
                self.hzz[f][g] += o.hzz[f][g];
                self.mzz[f][g] += o.mzz[f][g];
            }
        }
        self.ll += o.ll;
    }
}

/// What a pass computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Need {
    /// The log-likelihood only.
    Value,
    /// Gradient and curvature.
    Curvature,
    /// Gradient, curvature and the sandwich's outer products.
    Meat,
}

/// One pass at `(theta, beta)` with row counts `count`, writing per-pair sums into `out`
/// (one per pair; untouched for [`Need::Value`]). `parallel` spreads the chunks over up to
/// eight threads.
pub(super) fn pass(
    rows: &Rows,
    count: &[f64],
    theta: &[f64],
    beta: &[f64; F],
    need: Need,
    out: &mut [PairSums],
    parallel: bool,
) -> Sums {
    let run = |range: std::ops::Range<usize>, out: &mut [PairSums]| -> Sums {
        match need {
            Need::Value => chunk_value(rows, count, theta, beta, range),
            Need::Curvature => chunk::<false>(rows, count, theta, beta, range, out),
            Need::Meat => chunk::<true>(rows, count, theta, beta, range, out),
        }
    };
    let mut total = Sums::default();
    if !parallel {
        for range in &rows.chunks {
            let part = run(range.clone(), &mut out[range.clone()]);
            total.add(&part);
        }
        return total;
    }
    // The sums are added in chunk order, whatever thread took each chunk.
    let mut work = Vec::with_capacity(rows.chunks.len());
    let mut rest = out;
    let mut offset = 0;
    for range in &rows.chunks {
        let (mine, tail) = rest.split_at_mut(range.end - offset);
        offset = range.end;
        rest = tail;
        work.push((range.clone(), mine));
    }
    for part in in_parallel(work, |(range, slots)| run(range, slots)) {
        total.add(&part);
    }
    total
}

#[inline]
fn logit(base: f64, z: &[f64; F], beta: &[f64; F]) -> f64 {
    base + z[0] * beta[0] + z[1] * beta[1] + z[2] * beta[2] + z[3] * beta[3]
}

fn chunk_value(
    rows: &Rows,
    count: &[f64],
    theta: &[f64],
    beta: &[f64; F],
    range: std::ops::Range<usize>,
) -> Sums {
    let mut s = Sums::default();
    for p in &rows.pairs[range] {
        let base = theta[p.i] - theta[p.j];
        let mut ll = 0.0;
        let rs = p.start..p.end;
        for ((&c, z), &y) in count[rs.clone()]
            .iter()
            .zip(&rows.z[rs.clone()])
            .zip(&rows.y[rs])
        {
            if c == 0.0 {
                continue;
            }
            let d = logit(base, z, beta);
            ll += c * (y * d - logistic(d).2);
        }
        s.ll += p.weight * ll;
    }
    s
}

/// Gradient and curvature (and with `MEAT` the score outer products) of the pairs in
/// `range`; `out` holds exactly those pairs.
fn chunk<const MEAT: bool>(
    rows: &Rows,
    count: &[f64],
    theta: &[f64],
    beta: &[f64; F],
    range: std::ops::Range<usize>,
    out: &mut [PairSums],
) -> Sums {
    let mut s = Sums::default();
    for (p, o) in rows.pairs[range].iter().zip(out.iter_mut()) {
        let base = theta[p.i] - theta[p.j];
        let w = p.weight;
        let mut acc = PairSums::default();
        let rs = p.start..p.end;
        for ((&n, z), &y) in count[rs.clone()]
            .iter()
            .zip(&rows.z[rs.clone()])
            .zip(&rows.y[rs])
        {
            if n == 0.0 {
                continue;
            }
            let d = logit(base, z, beta);
            let (prob, curv) = logistic_pw(d);
            let e = y - prob;
            let g = n * w * e;
            let h = n * w * curv;
            acc.g += g;
            acc.h += h;
            for f in 0..F {
                let hz = h * z[f];
                acc.hz[f] += hz;
                s.gz[f] += g * z[f];
                for (acc, zk) in s.hzz[f][..=f].iter_mut().zip(z) {
                    *acc += hz * zk;
                }
            }
            if MEAT {
                let m = n * (w * e) * (w * e);
                acc.m += m;
                for f in 0..F {
                    let mz = m * z[f];
                    acc.mz[f] += mz;
                    for (acc, zk) in s.mzz[f][..=f].iter_mut().zip(z) {
                        *acc += mz * zk;
                    }
                }
            }
        }
        *o = acc;
    }
    s
}
