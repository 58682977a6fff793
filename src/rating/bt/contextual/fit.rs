//! The objective on the summed scale, its Newton iteration on the `K + 4` parameters, and
//! the sandwich variances.
//!
//! Parameters are `x = (θ_0 … θ_{K−1}, β_0 … β_3)`. The objective maximised is
//! `Σ_rows count·weight·(y·d − ln(1 + e^d)) − ½ρ_β‖β‖² − ½ρ_θ‖θ‖²` plus, in groups without a
//! finite maximum, the plain fit's virtual tied votes. `arena-rank` minimises the mean of
//! the weighted log-loss plus `½λ‖β‖²`; multiplied by the number of votes `N` that is this
//! objective with `ρ_β = N·λ`, `ρ_θ = 0`. FastChat minimises the summed log-loss plus
//! `(reg/2)·‖(θ/ln 10, β)‖²`: `ρ_β = reg`, `ρ_θ = reg / ln²10`.

use super::super::dense::{cholesky, cholesky_solve, inverse_from_cholesky};
use super::super::input::Settings;
use super::super::likelihood::Problem;
use super::super::newton::{Outcome, add_scaled, dot, max_abs};
use super::super::structure::Structure;
use super::super::{FULL_STEP_RADIUS, HESSIAN_RIDGE};
use super::pass::{Need, PairSums, Sums, pass};
use super::rows::{F, Rows};

/// The objective of one fit or bootstrap replicate.
pub(super) struct Model<'a> {
    pub(super) rows: &'a Rows,
    pub(super) structure: &'a Structure,
    /// `ρ_θ`: a ridge on the strengths (FastChat's), 0 for `arena-rank`.
    pub(super) ridge_theta: f64,
    /// `ρ_β`.
    pub(super) ridge_beta: f64,
    /// Add the virtual tied votes of regularised groups (not with a ridge on `θ`, which
    /// keeps every strength finite by itself).
    pub(super) virtual_votes: bool,
    /// FastChat's conventions: the sandwich's `H` holds the penalties, not `arena-rank`'s
    /// ridge.
    pub(super) fastchat: bool,
}

/// Buffers one fit reuses from iteration to iteration.
pub(super) struct Work {
    pub(super) pairs: Vec<PairSums>,
    /// Minus the Hessian, `(K + 4)²`, lower triangle; then its factor.
    hess: Vec<f64>,
    grad: Vec<f64>,
    step: Vec<f64>,
    trial: Vec<f64>,
    /// Virtual votes' gradient and `K × K` curvature.
    prior_g: Vec<f64>,
    prior_h: Vec<f64>,
}

impl Work {
    pub(super) fn new(rows: &Rows) -> Self {
        let k = rows.k;
        let n = k + F;
        Self {
            pairs: vec![PairSums::default(); rows.pairs.len()],
            hess: vec![0.0; n * n],
            grad: vec![0.0; n],
            step: vec![0.0; n],
            trial: vec![0.0; n],
            prior_g: Vec::new(),
            prior_h: Vec::new(),
        }
    }
}

fn beta_of(x: &[f64], k: usize) -> [f64; F] {
    std::array::from_fn(|f| x[k + f])
}

impl<'a> Model<'a> {
    /// The objective under `arena-rank`'s conventions or, with `fastchat`, FastChat's,
    /// with penalty `lambda` (see the module docs of `contextual`).
    pub(super) fn new(
        rows: &'a Rows,
        structure: &'a Structure,
        lambda: f64,
        fastchat: bool,
    ) -> Self {
        Self {
            rows,
            structure,
            ridge_theta: if fastchat {
                lambda / (std::f64::consts::LN_10 * std::f64::consts::LN_10)
            } else {
                0.0
            },
            ridge_beta: if fastchat {
                lambda
            } else {
                rows.total * lambda
            },
            virtual_votes: !fastchat || lambda == 0.0,
            fastchat,
        }
    }
}

impl Model<'_> {
    fn n(&self) -> usize {
        self.rows.k + F
    }

    fn has_prior(&self) -> bool {
        self.virtual_votes && self.structure.regularised.iter().any(|&r| r)
    }

    fn prior_problem(&self) -> Problem<'_> {
        Problem {
            k: self.rows.k,
            pairs: &[],
            structure: self.structure,
        }
    }

    /// The objective at `x`.
    pub(super) fn value(&self, count: &[f64], x: &[f64], w: &mut Work, parallel: bool) -> f64 {
        let k = self.rows.k;
        let beta = beta_of(x, k);
        let s = pass(
            self.rows,
            count,
            &x[..k],
            &beta,
            Need::Value,
            &mut w.pairs,
            parallel,
        );
        let mut v = s.ll;
        if self.has_prior() {
            v += self.prior_problem().log_likelihood(&x[..k]);
        }
        v -= 0.5 * self.ridge_beta * dot(&beta, &beta);
        if self.ridge_theta > 0.0 {
            v -= 0.5 * self.ridge_theta * dot(&x[..k], &x[..k]);
        }
        v
    }

    /// Writes the gradient into `w.grad` and minus the Hessian (lower triangle) into
    /// `w.hess`, from the per-pair sums in `w.pairs` and the totals `s`. `data_only`
    /// leaves out both ridges (the sandwich's Hessian has its own).
    fn assemble(&self, x: &[f64], s: &Sums, w: &mut Work, data_only: bool) {
        let k = self.rows.k;
        let n = self.n();
        w.grad.fill(0.0);
        w.hess.fill(0.0);
        for (p, ps) in self.rows.pairs.iter().zip(&w.pairs) {
            let (i, j) = (p.i, p.j);
            w.grad[i] += ps.g;
            w.grad[j] -= ps.g;
            w.hess[i * n + i] += ps.h;
            w.hess[j * n + j] += ps.h;
            w.hess[j * n + i] -= ps.h;
            for f in 0..F {
                w.hess[(k + f) * n + i] += ps.hz[f];
                w.hess[(k + f) * n + j] -= ps.hz[f];
            }
        }
        for f in 0..F {
            w.grad[k + f] += s.gz[f];
            for g in 0..=f {
                w.hess[(k + f) * n + k + g] += s.hzz[f][g];
            }
            // A feature that is 0 in every vote (no answer had a header, say) has no
            // curvature; without a penalty its coefficient is not identified and is held
            // at 0, its gradient being 0 too.
            if s.hzz[f][f] == 0.0 && (data_only || self.ridge_beta == 0.0) {
                w.hess[(k + f) * n + k + f] += 1.0;
            }
        }
        if !data_only {
            for f in 0..F {
                w.grad[k + f] -= self.ridge_beta * x[k + f];
                w.hess[(k + f) * n + k + f] += self.ridge_beta;
            }
            if self.ridge_theta > 0.0 {
                for (v, (g, t)) in w.grad[..k].iter_mut().zip(&x[..k]).enumerate() {
                    *g -= self.ridge_theta * t;
                    w.hess[v * n + v] += self.ridge_theta;
                }
            }
        }
        if self.has_prior() {
            w.prior_g.resize(k, 0.0);
            w.prior_h.resize(k * k, 0.0);
            self.prior_problem()
                .gradient_hessian(&x[..k], &mut w.prior_g, &mut w.prior_h);
            for r in 0..k {
                w.grad[r] += w.prior_g[r];
                for c in 0..=r {
                    w.hess[r * n + c] += w.prior_h[r * k + c];
                }
            }
        }
    }

    /// Adds `α_g 1_g 1_gᵀ` on each group's strengths: minus the Hessian kills those
    /// directions when nothing ridges `θ`, the gradient is orthogonal to them, so the step
    /// solved with the sum is the one that keeps every group centred (as in the plain fit).
    fn augment(&self, h: &mut [f64]) {
        let n = self.n();
        for group in &self.structure.members {
            let m = group.len() as f64;
            let trace: f64 = group.iter().map(|&v| h[v * n + v]).sum();
            let alpha = if trace > 0.0 {
                trace / (m * m)
            } else {
                1.0 / m
            };
            for (a, &u) in group.iter().enumerate() {
                for &v in group.iter().take(a + 1) {
                    h[u.max(v) * n + u.min(v)] += alpha;
                }
            }
        }
    }

    /// The Newton step at `x` into `w.step` (gradient in `w.grad`); false if minus the
    /// Hessian could not be factored.
    fn step(&self, count: &[f64], x: &[f64], w: &mut Work, parallel: bool) -> bool {
        let k = self.rows.k;
        let beta = beta_of(x, k);
        let s = pass(
            self.rows,
            count,
            &x[..k],
            &beta,
            Need::Curvature,
            &mut w.pairs,
            parallel,
        );
        self.assemble(x, &s, w, false);
        if self.ridge_theta == 0.0 {
            let mut h = std::mem::take(&mut w.hess);
            self.augment(&mut h);
            w.hess = h;
        }
        let n = self.n();
        if !cholesky(&mut w.hess, n) {
            return false;
        }
        w.step.copy_from_slice(&w.grad);
        cholesky_solve(&w.hess, n, &mut w.step);
        true
    }

    /// Maximises the objective from `x` (strengths centred within each group), as the
    /// plain fit's Newton iteration does: full steps near the optimum, a backtracking line
    /// search far from it, stopping when the largest step is within the tolerance.
    pub(super) fn newton(
        &self,
        count: &[f64],
        x: &mut [f64],
        s: &Settings,
        w: &mut Work,
        parallel: bool,
    ) -> Outcome {
        if self.rows.pairs.is_empty() {
            return Outcome {
                converged: true,
                iterations: 0,
            };
        }
        let mut previous = f64::INFINITY;
        for it in 0..s.max_iterations {
            let done = |converged| Outcome {
                converged,
                iterations: it + 1,
            };
            if !self.step(count, x, w, parallel) {
                return done(false);
            }
            let size = max_abs(&w.step);
            if !size.is_finite() {
                return done(false);
            }
            if size <= s.tolerance {
                add_scaled(x, &w.step, 1.0);
                return done(true);
            }
            if size <= FULL_STEP_RADIUS && size < previous {
                add_scaled(x, &w.step, 1.0);
            } else {
                let base = self.value(count, x, w, parallel);
                let slope = dot(&w.grad, &w.step);
                let mut t = 1.0;
                let mut accepted = false;
                for _ in 0..60 {
                    w.trial.copy_from_slice(x);
                    let (trial, step) = (&mut w.trial, &w.step);
                    add_scaled(trial, step, t);
                    let trial = std::mem::take(&mut w.trial);
                    let v = self.value(count, &trial, w, parallel);
                    w.trial = trial;
                    if v >= base + 1e-4 * t * slope {
                        x.copy_from_slice(&w.trial);
                        accepted = true;
                        break;
                    }
                    t *= 0.5;
                }
                if !accepted {
                    return done(false);
                }
            }
            previous = size;
        }
        Outcome {
            converged: false,
            iterations: s.max_iterations,
        }
    }

    /// Sandwich variances of all `K + 4` parameters at the optimum `x`, `None` if the
    /// Hessian could not be factored. `H` is minus the data's Hessian (with the virtual
    /// votes' curvature) plus, for `arena-rank`, its ridge `1e-5·N` on every parameter and
    /// no penalty term; for FastChat its penalties. `M` is the sum over votes of the
    /// outer products of their scores, less `arena-rank`'s correction `λ²ββᵀ` for the
    /// penalty (`correction = λ`, 0 for FastChat).
    pub(super) fn sandwich(
        &self,
        count: &[f64],
        x: &[f64],
        w: &mut Work,
        correction: f64,
        parallel: bool,
    ) -> Option<Vec<f64>> {
        let k = self.rows.k;
        let n = self.n();
        let beta = beta_of(x, k);
        let s = pass(
            self.rows,
            count,
            &x[..k],
            &beta,
            Need::Meat,
            &mut w.pairs,
            parallel,
        );
        self.assemble(x, &s, w, !self.fastchat);
        if !self.fastchat || self.ridge_theta == 0.0 {
            let ridge = HESSIAN_RIDGE * self.rows.total;
            for v in 0..n {
                w.hess[v * n + v] += ridge;
            }
        }
        if !cholesky(&mut w.hess, n) {
            return None;
        }
        let a = inverse_from_cholesky(&w.hess, n);

        let mut var = vec![0.0; n];
        // Strength block: Σ_pairs m (A_i· − A_j·)², as the plain dense sandwich.
        for (p, ps) in self.rows.pairs.iter().zip(&w.pairs) {
            let row_i = &a[p.i * n..(p.i + 1) * n];
            let row_j = &a[p.j * n..(p.j + 1) * n];
            for ((v, x), y) in var.iter_mut().zip(row_i).zip(row_j) {
                let d = x - y;
                *v += ps.m * d * d;
            }
        }
        // Cross block: 2 Σ_f A_{·,K+f} (A Cm)_{·,f}, with Cm the K × 4 cross block of M.
        let mut cm = vec![[0.0f64; F]; k];
        for (p, ps) in self.rows.pairs.iter().zip(&w.pairs) {
            for (c, m) in cm[p.i].iter_mut().zip(&ps.mz) {
                *c += m;
            }
            for (c, m) in cm[p.j].iter_mut().zip(&ps.mz) {
                *c -= m;
            }
        }
        for (r, v) in var.iter_mut().enumerate() {
            let row = &a[r * n..(r + 1) * n];
            let mut t = [0.0f64; F];
            for (ar, c) in row[..k].iter().zip(&cm) {
                for f in 0..F {
                    t[f] += ar * c[f];
                }
            }
            let ab = &row[k..];
            let mut cross = 0.0;
            let mut block = 0.0;
            let mut along = 0.0;
            for f in 0..F {
                cross += ab[f] * t[f];
                along += beta[f] * ab[f];
                for g in 0..F {
                    let m = if g <= f { s.mzz[f][g] } else { s.mzz[g][f] };
                    block += ab[f] * m * ab[g];
                }
            }
            *v += 2.0 * cross + block - (correction * along).powi(2);
        }
        var.iter().all(|v| v.is_finite()).then_some(var)
    }
}
