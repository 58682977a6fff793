//! The log-likelihood, including the virtual votes of regularised groups,
//! with its gradient, its dense Hessian for the dense path and its curvature
//! pieces for the sparse path.

use super::PRIOR_VOTES;
use super::input::Pair;
use super::structure::Structure;

pub(super) struct Problem<'a> {
    pub(super) k: usize,
    pub(super) pairs: &'a [Pair],
    pub(super) structure: &'a Structure,
}

/// `(σ(d), σ(d)·σ(−d), ln(1 + e^d))`, without overflow for any finite `d`.
pub(super) fn logistic(d: f64) -> (f64, f64, f64) {
    let e = (-d.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    let p = if d >= 0.0 { inv } else { e * inv };
    (p, e * inv * inv, d.max(0.0) + e.ln_1p())
}

/// `(σ(d), σ(d)·σ(−d))`, the part of [`logistic`] that gradients and
/// curvatures need (the logarithm is a call the compiler cannot drop).
pub(super) fn logistic_pw(d: f64) -> (f64, f64) {
    let e = (-d.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    let p = if d >= 0.0 { inv } else { e * inv };
    (p, e * inv * inv)
}

/// Largest `|θ|` for which [`Problem::gradient`] uses `e^θ` per model.
const EXP_LIMIT: f64 = 300.0;

impl Problem<'_> {
    pub(super) fn log_likelihood(&self, theta: &[f64]) -> f64 {
        let mut ll = 0.0;
        for p in self.pairs {
            let d = theta[p.i] - theta[p.j];
            ll += p.s * d - p.n * logistic(d).2;
        }
        for (g, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[g] {
                continue;
            }
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / group.len() as f64;
            for &v in group {
                let d = theta[v] - mean;
                ll += PRIOR_VOTES * (0.5 * d - logistic(d).2);
            }
        }
        ll
    }

    /// Gradient of the log-likelihood alone, for the fixed-Hessian
    /// iterations of the bootstrap. With `u = e^θ` per model (in `exp`, a
    /// scratch vector of length `k`), `σ(θ_i − θ_j) = u_i / (u_i + u_j)`: one
    /// division per pair instead of an exponential. Strengths are centred,
    /// so `u` stays far from overflow; past [`EXP_LIMIT`] the logistic is
    /// computed per pair instead.
    pub(super) fn gradient(&self, theta: &[f64], g: &mut [f64], exp: &mut [f64]) {
        g.fill(0.0);
        if theta.iter().all(|t| t.abs() <= EXP_LIMIT) {
            for (u, t) in exp.iter_mut().zip(theta) {
                *u = t.exp();
            }
            // Pairs come sorted by `i`: `i`'s share is summed in a register
            // over its run, not through memory (a store and a reload per
            // pair would chain every pair to the one before).
            let mut run = usize::MAX;
            let mut acc = 0.0;
            for p in self.pairs {
                if p.i != run {
                    if let Some(x) = g.get_mut(run) {
                        *x += acc;
                    }
                    run = p.i;
                    acc = 0.0;
                }
                let (a, b) = (exp[p.i], exp[p.j]);
                let gi = p.s - p.n * (a / (a + b));
                acc += gi;
                g[p.j] -= gi;
            }
            if let Some(x) = g.get_mut(run) {
                *x += acc;
            }
        } else {
            for p in self.pairs {
                let (prob, _) = logistic_pw(theta[p.i] - theta[p.j]);
                let gi = p.s - p.n * prob;
                g[p.i] += gi;
                g[p.j] -= gi;
            }
        }
        for (grp, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[grp] {
                continue;
            }
            let m = group.len() as f64;
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / m;
            let mut pushed = 0.0;
            for &v in group {
                let r = PRIOR_VOTES * (0.5 - logistic_pw(theta[v] - mean).0);
                g[v] += r;
                pushed += r;
            }
            for &v in group {
                g[v] -= pushed / m;
            }
        }
    }

    /// The gradient, as [`Self::gradient`] computes it, with minus the
    /// Hessian in the two pieces the sparse path keeps apart: `n·p(1−p)` per
    /// pair (a weighted graph Laplacian) and, per member `v` of a regularised
    /// group, the curvature `c_v` of its virtual votes (zero elsewhere). The
    /// virtual votes contribute `Σ_v c_v (e_v − ū)(e_v − ū)ᵀ`, a diagonal plus
    /// a rank-two term per group, which is never formed.
    pub(super) fn gradient_curvature(
        &self,
        theta: &[f64],
        g: &mut [f64],
        pair_weight: &mut [f64],
        prior_weight: &mut [f64],
    ) {
        g.fill(0.0);
        prior_weight.fill(0.0);
        for (p, w) in self.pairs.iter().zip(pair_weight.iter_mut()) {
            let (prob, curv) = logistic_pw(theta[p.i] - theta[p.j]);
            let gi = p.s - p.n * prob;
            g[p.i] += gi;
            g[p.j] -= gi;
            *w = p.n * curv;
        }
        for (grp, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[grp] {
                continue;
            }
            let m = group.len() as f64;
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / m;
            let mut pushed = 0.0;
            for &v in group {
                let (prob, curv) = logistic_pw(theta[v] - mean);
                let r = PRIOR_VOTES * (0.5 - prob);
                g[v] += r;
                pushed += r;
                prior_weight[v] = PRIOR_VOTES * curv;
            }
            for &v in group {
                g[v] -= pushed / m;
            }
        }
    }

    /// Gradient of the log-likelihood and the lower triangle of minus its
    /// Hessian (row-major `k × k`).
    pub(super) fn gradient_hessian(&self, theta: &[f64], g: &mut [f64], h: &mut [f64]) {
        let k = self.k;
        g.fill(0.0);
        h.fill(0.0);
        for p in self.pairs {
            let (prob, w) = logistic_pw(theta[p.i] - theta[p.j]);
            let gi = p.s - p.n * prob;
            g[p.i] += gi;
            g[p.j] -= gi;
            let c = p.n * w;
            h[p.i * k + p.i] += c;
            h[p.j * k + p.j] += c;
            h[p.j * k + p.i] -= c;
        }
        for (grp, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[grp] {
                continue;
            }
            // Each member v plays PRIOR_VOTES tied votes against the group
            // mean: curvature c_v (e_v − ū)(e_v − ū)ᵀ with ū = 1/m on the
            // group, expanded so the block costs O(m²) in total.
            let m = group.len() as f64;
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / m;
            let mut pushed = 0.0;
            let mut curv = Vec::with_capacity(group.len());
            for &v in group {
                let (prob, w) = logistic_pw(theta[v] - mean);
                let r = PRIOR_VOTES * (0.5 - prob);
                g[v] += r;
                pushed += r;
                curv.push(PRIOR_VOTES * w);
            }
            let total_curv: f64 = curv.iter().sum();
            for &v in group {
                g[v] -= pushed / m;
            }
            for (a, &u) in group.iter().enumerate() {
                for (b, &v) in group.iter().enumerate().take(a + 1) {
                    let mut x = total_curv / (m * m) - (curv[a] + curv[b]) / m;
                    if a == b {
                        x += curv[a];
                    }
                    h[u * k + v] += x;
                }
            }
        }
    }

    /// Minus the Hessian plus `α_g 1_g 1_gᵀ` per group. The gradient sums to
    /// zero over each group, so the Newton step solved with this positive
    /// definite matrix is the one that keeps every group centred.
    pub(super) fn augment(&self, h: &mut [f64]) {
        let k = self.k;
        for group in &self.structure.members {
            let m = group.len() as f64;
            let trace: f64 = group.iter().map(|&v| h[v * k + v]).sum();
            let alpha = if trace > 0.0 {
                trace / (m * m)
            } else {
                1.0 / m
            };
            for (a, &u) in group.iter().enumerate() {
                for &v in group.iter().take(a + 1) {
                    h[u * k + v] += alpha;
                }
            }
        }
    }
}
