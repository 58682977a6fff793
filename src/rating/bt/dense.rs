//! The dense path: Newton steps solved with the Cholesky factor of the
//! `K × K` Hessian, the fixed-Hessian iterations that reuse that factor in
//! the bootstrap, and the full inverse the dense sandwich needs.

use super::PRIOR_VOTES;
use super::input::Settings;
use super::likelihood::{Problem, logistic_pw};
use super::newton::{Outcome, StepSolver, Workspace, add_scaled, dot, max_abs, newton};

/// Assembles minus the Hessian, augmented so that it is positive definite,
/// and solves for the step with its Cholesky factor: `O(#cells + K²)` to
/// assemble and `O(K³)` to factor.
pub(super) struct DenseSolver {
    hess: Vec<f64>,
    /// For the fixed-Hessian iterations of [`chord`].
    anderson: Anderson,
    /// Hessians factored so far: the cost the bootstrap's refits avoid.
    pub(super) factorisations: usize,
}

impl DenseSolver {
    pub(super) fn new(k: usize) -> Self {
        Self {
            hess: vec![0.0; k * k],
            anderson: Anderson::new(k),
            factorisations: 0,
        }
    }
}

impl StepSolver for DenseSolver {
    fn step(
        &mut self,
        problem: &Problem,
        theta: &[f64],
        grad: &mut [f64],
        step: &mut [f64],
    ) -> bool {
        let k = problem.k;
        problem.gradient_hessian(theta, grad, &mut self.hess);
        problem.augment(&mut self.hess);
        self.factorisations += 1;
        if !cholesky(&mut self.hess, k) {
            return false;
        }
        step.copy_from_slice(grad);
        cholesky_solve(&self.hess, k, step);
        true
    }
}

/// Steps of history that [`chord`] combines.
const ANDERSON_DEPTH: usize = 3;

/// The last [`ANDERSON_DEPTH`] changes of the iterate and of the
/// fixed-Hessian step, for [`chord`].
pub(super) struct Anderson {
    dx: Vec<Vec<f64>>,
    df: Vec<Vec<f64>>,
    /// Columns in use; the next one replaces column `next`.
    used: usize,
    next: usize,
    last_x: Vec<f64>,
    last_f: Vec<f64>,
    /// Orthonormal basis of the kept `df` columns, newest first.
    q: Vec<Vec<f64>>,
}

/// A `df` column is left out of the mixing when less than this fraction of
/// its length is independent of the newer ones: nearly dependent columns
/// make the least-squares coefficients noise.
const ANDERSON_DROP: f64 = 1e-6;

impl Anderson {
    fn new(k: usize) -> Self {
        Self {
            dx: vec![vec![0.0; k]; ANDERSON_DEPTH],
            df: vec![vec![0.0; k]; ANDERSON_DEPTH],
            used: 0,
            next: 0,
            last_x: vec![0.0; k],
            last_f: vec![0.0; k],
            q: vec![vec![0.0; k]; ANDERSON_DEPTH],
        }
    }

    /// Records the iterate `x` and its step `f`, then moves `x` to the
    /// Anderson mixing of the steps so far: `x + f − Σ γ_j (Δx_j + Δf_j)`
    /// with `γ` minimising `‖f − Σ γ_j Δf_j‖`, solved by Gram–Schmidt from
    /// the newest change back, leaving out nearly dependent ones. The first
    /// time, the plain step `x + f`.
    fn advance(&mut self, x: &mut [f64], f: &[f64], first: bool) {
        if first {
            self.used = 0;
            self.next = 0;
        } else {
            let c = self.next;
            for (((dx, df), (xv, fv)), (lx, lf)) in self.dx[c]
                .iter_mut()
                .zip(self.df[c].iter_mut())
                .zip(x.iter().zip(f))
                .zip(self.last_x.iter().zip(&self.last_f))
            {
                *dx = xv - lx;
                *df = fv - lf;
            }
            self.next = (c + 1) % ANDERSON_DEPTH;
            self.used = (self.used + 1).min(ANDERSON_DEPTH);
        }
        self.last_x.copy_from_slice(x);
        self.last_f.copy_from_slice(f);

        // Gram–Schmidt on the df columns, newest first: `kept[r]` is the
        // column behind basis vector r, `upper` the triangular factor.
        let mut kept = [0usize; ANDERSON_DEPTH];
        let mut upper = [[0.0f64; ANDERSON_DEPTH]; ANDERSON_DEPTH];
        let mut rank = 0;
        for age in 0..self.used {
            let col = (self.next + ANDERSON_DEPTH - 1 - age) % ANDERSON_DEPTH;
            let (done, rest) = self.q.split_at_mut(rank);
            let v = &mut rest[0];
            v.copy_from_slice(&self.df[col]);
            let norm = dot(v, v).sqrt();
            for (r, qr) in done.iter().enumerate() {
                let h = dot(qr, v);
                upper[r][rank] = h;
                add_scaled(v, qr, -h);
            }
            let left = dot(v, v).sqrt();
            if left.is_nan() || left <= ANDERSON_DROP * norm {
                continue;
            }
            for e in v.iter_mut() {
                *e /= left;
            }
            upper[rank][rank] = left;
            kept[rank] = col;
            rank += 1;
        }
        // γ = R⁻¹ Qᵀ f.
        let mut gamma = [0.0f64; ANDERSON_DEPTH];
        for (g, qr) in gamma.iter_mut().zip(&self.q).take(rank) {
            *g = dot(qr, f);
        }
        for r in (0..rank).rev() {
            let mut g = gamma[r];
            for c in r + 1..rank {
                g -= upper[r][c] * gamma[c];
            }
            gamma[r] = g / upper[r][r];
        }
        if gamma[..rank].iter().any(|g| !g.is_finite()) {
            rank = 0;
        }
        for (v, (xv, fv)) in x.iter_mut().zip(f).enumerate() {
            let mut mixed = *fv;
            for r in 0..rank {
                let c = kept[r];
                mixed -= gamma[r] * (self.dx[c][v] + self.df[c][v]);
            }
            *xv += mixed;
        }
    }
}

/// Fixed-Hessian Newton ("chord") iterations: every step reuses `factor`,
/// the Cholesky factor of the augmented full-data Hessian at the full-data
/// optimum. A bootstrap replicate's optimum is close to that point and its
/// Hessian close to that one, so each step costs one gradient and two
/// triangular solves instead of a fresh `O(K³)` factorisation, and the
/// iteration still contracts fast. The steps are combined by Anderson
/// acceleration over the last [`ANDERSON_DEPTH`] of them, which on this
/// nearly linear iteration removes the slowest directions of contraction
/// first (as a Krylov method would). When it does not contract (a big
/// move, or a step above half the one before), Newton's method takes over
/// from the last point, so the result is the same optimum either way; the
/// iteration stops, as Newton's does, when the step is within the
/// tolerance.
///
/// `centre`: the problem's groups are the factor's less some models that
/// are alone now (a bootstrap replicate lost all their votes). Each step is
/// then centred within the problem's groups, which holds a lone model at
/// zero; every group's optimum is only defined up to a shift, so this
/// changes nothing but the iterate's representative, and the fixed point is
/// still the problem's optimum (the lone models' zero gradient and the
/// factor's positive diagonal rule out any other).
pub(super) fn chord(
    problem: &Problem,
    theta: &mut [f64],
    factor: &[f64],
    s: &Settings,
    ws: &mut Workspace,
    solver: &mut DenseSolver,
    centre: bool,
) -> Outcome {
    let k = problem.k;
    let mut previous = f64::INFINITY;
    let mut used = 0;
    while used < s.max_iterations {
        problem.gradient(theta, &mut ws.grad, &mut ws.exp);
        ws.step.copy_from_slice(&ws.grad);
        cholesky_solve(factor, k, &mut ws.step);
        if centre {
            self::centre(problem, &mut ws.step);
        }
        used += 1;
        let size = max_abs(&ws.step);
        if !size.is_finite() || size > 1.0 || size > 0.5 * previous {
            break;
        }
        if size <= s.tolerance {
            add_scaled(theta, &ws.step, 1.0);
            return Outcome {
                converged: true,
                iterations: used,
            };
        }
        solver.anderson.advance(theta, &ws.step, used == 1);
        previous = size;
    }
    let rest = Settings {
        max_iterations: s.max_iterations.saturating_sub(used),
        ..*s
    };
    let o = newton(problem, theta, &rest, solver, ws);
    Outcome {
        converged: o.converged,
        iterations: used + o.iterations,
    }
}

/// In-place Cholesky factor `L` (lower triangle, row-major) of a symmetric
/// matrix given by its lower triangle; false if it is not positive definite.
pub(super) fn cholesky(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let row_j = &mut a[j * n..(j + 1) * n];
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if d.is_nan() || d <= 0.0 || d.is_infinite() {
            return false;
        }
        let d = d.sqrt();
        row_j[j] = d;
        for i in j + 1..n {
            let (upper, lower) = a.split_at_mut(i * n);
            let row_j = &upper[j * n..j * n + j];
            let row_i = &mut lower[..n];
            row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / d;
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place.
pub(super) fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    forward(l, n, b);
    backward(l, n, b);
}

/// Solves `L y = b` in place.
fn forward(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
}

/// Solves `Lᵀ x = y` in place.
fn backward(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let xi = b[i];
        let row = &l[i * n..i * n + i];
        for (bk, lk) in b[..i].iter_mut().zip(row) {
            *bk -= lk * xi;
        }
    }
}

/// Models with this many votes or fewer are refitted with exact curvature
/// by [`bordered_chord`]: a bootstrap replicate changes their counts, and
/// so their curvature, by a large fraction.
const VOLATILE_VOTES: f64 = 30.0;
/// Most models given exact rows; each costs a triangular solve per step.
const MAX_VOLATILE: usize = 64;

/// The models [`bordered_chord`] gives exact rows: those with at least one
/// and at most [`VOLATILE_VOTES`] votes, the fewest first, at most
/// [`MAX_VOLATILE`] of them.
pub(super) fn volatile_models(k: usize, pairs: &[super::input::Pair]) -> Vec<usize> {
    let mut votes = vec![0.0; k];
    for p in pairs {
        votes[p.i] += p.n;
        votes[p.j] += p.n;
    }
    let mut few: Vec<usize> = (0..k)
        .filter(|&v| votes[v] > 0.0 && votes[v] <= VOLATILE_VOTES)
        .collect();
    few.sort_by(|&a, &b| votes[a].total_cmp(&votes[b]).then(a.cmp(&b)));
    few.truncate(MAX_VOLATILE);
    few.sort_unstable();
    few
}

/// The full data's augmented Hessian at its optimum with the volatile
/// models ordered last, and the Cholesky factor `L_A` of its leading block
/// (the other models), which [`bordered_chord`] keeps for every replicate.
pub(super) struct BorderedFactor {
    /// Models in factor order: the stable ones, then the volatile ones.
    order: Vec<usize>,
    stable: usize,
    la: Vec<f64>,
    /// The full data's group of each model and the augmentation `α` of
    /// each group (see [`Problem::augment`]): a replicate's volatile rows
    /// get the same, so that they fit the stable block's factor. (The
    /// replicate's own `α` differ, and mixing them with the full data's
    /// makes the matrix indefinite.)
    group: Vec<usize>,
    alpha: Vec<f64>,
    /// Position of each model among the volatile ones, `usize::MAX` for the
    /// others.
    slot: Vec<usize>,
}

impl BorderedFactor {
    pub(super) fn new(full: &Problem, theta_hat: &[f64], volatile: &[usize]) -> Option<Self> {
        let k = full.k;
        let mut h = vec![0.0; k * k];
        full.gradient_hessian(theta_hat, &mut vec![0.0; k], &mut h);
        let st = full.structure;
        let alpha: Vec<f64> = st
            .members
            .iter()
            .map(|group| {
                let m = group.len() as f64;
                let trace: f64 = group.iter().map(|&v| h[v * k + v]).sum();
                if trace > 0.0 {
                    trace / (m * m)
                } else {
                    1.0 / m
                }
            })
            .collect();
        let group = st.component.clone();
        let mut is_volatile = vec![false; k];
        for &v in volatile {
            is_volatile[v] = true;
        }
        let mut order: Vec<usize> = (0..k).filter(|&v| !is_volatile[v]).collect();
        let stable = order.len();
        order.extend(volatile);
        let mut la = vec![0.0; stable * stable];
        for a in 0..stable {
            for b in 0..=a {
                let (u, v) = (order[a], order[b]);
                let aug = if group[u] == group[v] {
                    alpha[group[u]]
                } else {
                    0.0
                };
                la[a * stable + b] = lower(&h, k, u, v) + aug;
            }
        }
        let mut slot = vec![usize::MAX; k];
        for (c, &v) in order[stable..].iter().enumerate() {
            slot[v] = c;
        }
        cholesky(&mut la, stable).then_some(Self {
            order,
            stable,
            la,
            group,
            alpha,
            slot,
        })
    }

    /// The full data's augmentation of entry `(u, v)`.
    fn aug(&self, u: usize, v: usize) -> f64 {
        if self.group[u] == self.group[v] {
            self.alpha[self.group[u]]
        } else {
            0.0
        }
    }
}

/// `h[u][v]` of a symmetric matrix stored by its lower triangle.
fn lower(h: &[f64], k: usize, u: usize, v: usize) -> f64 {
    h[u.max(v) * k + u.min(v)]
}

/// What [`bordered_chord`] rebuilds at every step.
pub(super) struct BorderedWork {
    /// Minus the problem's Hessian in the volatile models' rows, `k` each.
    rows: Vec<f64>,
    /// Virtual votes' curvature per model, for the rows.
    prior: Vec<f64>,
    /// `W = L_A⁻¹ B`, one row of length `stable` per volatile model.
    w: Vec<f64>,
    /// `C − WᵀW`, then its factor.
    schur: Vec<f64>,
    y: Vec<f64>,
    /// The problem's pairs with a volatile model, found once per replicate.
    touching: Vec<usize>,
}

impl BorderedWork {
    pub(super) fn new(f: &BorderedFactor) -> Self {
        let k = f.order.len();
        let m = k - f.stable;
        Self {
            rows: vec![0.0; m * k],
            prior: vec![0.0; k],
            w: vec![0.0; m * f.stable],
            schur: vec![0.0; m * m],
            y: vec![0.0; k],
            touching: Vec::new(),
        }
    }
}

/// Minus the problem's Hessian in the rows of the volatile models, into
/// `w.rows`: their pairs' curvature and, in a regularised group, the
/// virtual votes' (see [`Problem::gradient_hessian`]). `O(K)` per volatile
/// model and its pairs (`w.touching`), not the `O(K²)` of the whole matrix.
fn volatile_rows(f: &BorderedFactor, w: &mut BorderedWork, problem: &Problem, theta: &[f64]) {
    let k = problem.k;
    w.rows.fill(0.0);
    for &t in &w.touching {
        let p = &problem.pairs[t];
        let (ci, cj) = (f.slot[p.i], f.slot[p.j]);
        let c = p.n * logistic_pw(theta[p.i] - theta[p.j]).1;
        if ci != usize::MAX {
            w.rows[ci * k + p.i] += c;
            w.rows[ci * k + p.j] -= c;
        }
        if cj != usize::MAX {
            w.rows[cj * k + p.j] += c;
            w.rows[cj * k + p.i] -= c;
        }
    }
    let st = problem.structure;
    for (g, group) in st.members.iter().enumerate() {
        if !st.regularised[g] || group.iter().all(|&v| f.slot[v] == usize::MAX) {
            continue;
        }
        let m = group.len() as f64;
        let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / m;
        let mut total = 0.0;
        for &v in group {
            let c = PRIOR_VOTES * logistic_pw(theta[v] - mean).1;
            w.prior[v] = c;
            total += c;
        }
        for &v in group {
            let cv = f.slot[v];
            if cv == usize::MAX {
                continue;
            }
            let row = &mut w.rows[cv * k..(cv + 1) * k];
            for &u in group {
                row[u] += total / (m * m) - (w.prior[u] + w.prior[v]) / m;
            }
            row[v] += w.prior[v];
        }
    }
}

/// Solves `M·step = grad` with `M = [[A, B], [Bᵀ, C]]` in factor order:
/// `A` the full data's block of the stable models, `B` and `C` the rows of
/// the volatile models from minus the problem's own Hessian at `theta`,
/// augmented as the full data's. False if `C − Bᵀ A⁻¹ B` is not positive
/// definite.
fn bordered_step(
    f: &BorderedFactor,
    w: &mut BorderedWork,
    problem: &Problem,
    theta: &[f64],
    ws: &mut Workspace,
) -> bool {
    let k = problem.k;
    let s = f.stable;
    let m = k - s;
    problem.gradient(theta, &mut ws.grad, &mut ws.exp);
    volatile_rows(f, w, problem, theta);
    // A volatile model alone now (it lost all its votes) is decoupled: its
    // row is that of the identity, its gradient zero, its step zero. (The
    // full data's augmentation would tie it to its old group through a
    // direction that the stable block's augmentation cancels, which makes
    // the bordered matrix singular.)
    let st = problem.structure;
    let lone = |v: usize| st.members[st.component[v]].len() == 1;
    for c in 0..m {
        let v = f.order[s + c];
        let (rows, wm) = (&w.rows[c * k..(c + 1) * k], &mut w.w[c * s..(c + 1) * s]);
        if lone(v) {
            wm.fill(0.0);
            continue;
        }
        for (x, &u) in wm.iter_mut().zip(&f.order[..s]) {
            *x = rows[u] + f.aug(u, v);
        }
        forward(&f.la, s, wm);
    }
    for c in 0..m {
        let u = f.order[s + c];
        for d in 0..=c {
            let v = f.order[s + d];
            let (rc, rd) = (&w.w[c * s..(c + 1) * s], &w.w[d * s..(d + 1) * s]);
            w.schur[c * m + d] = if lone(u) || lone(v) {
                if c == d { 1.0 } else { 0.0 }
            } else {
                w.rows[c * k + v] + f.aug(u, v) - dot(rc, rd)
            };
        }
    }
    if !cholesky(&mut w.schur, m) {
        return false;
    }
    let grad = &ws.grad;
    for (y, &v) in w.y.iter_mut().zip(&f.order) {
        *y = grad[v];
    }
    let (y1, y2) = w.y.split_at_mut(s);
    forward(&f.la, s, y1);
    for (c, y) in y2.iter_mut().enumerate() {
        *y -= dot(&w.w[c * s..(c + 1) * s], y1);
    }
    cholesky_solve(&w.schur, m, y2);
    for (c, &x) in y2.iter().enumerate() {
        add_scaled(y1, &w.w[c * s..(c + 1) * s], -x);
    }
    backward(&f.la, s, y1);
    for (&y, &v) in w.y.iter().zip(&f.order) {
        ws.step[v] = y;
    }
    true
}

/// Largest step [`bordered_chord`] takes: the volatile models' exact rows
/// allow larger moves than [`chord`]'s, and Newton's method with its line
/// search takes over beyond.
const BORDERED_MAX_STEP: f64 = 4.0;

/// [`chord`] for a bootstrap replicate of data with a few models of very
/// few votes. A replicate moves their counts by a large fraction (a model
/// with one vote loses it in a third of the replicates and has it two or
/// three times in a quarter), so the full data's curvature is far from
/// theirs, fixed-Hessian steps stop contracting, and Newton's method with
/// a factorisation per step took most of the bootstrap's time. Here each
/// step solves with the full data's factor for the other models and with
/// the replicate's exact curvature for the volatile ones' rows (a bordered
/// factorisation: one triangular solve per volatile model), so it contracts
/// as fast as [`chord`] does on well-sampled data. Steps are centred within
/// the problem's groups, whose members may be the factor's less some lone
/// models (see [`chord`]); the fixed point is the problem's optimum.
pub(super) fn bordered_chord(
    problem: &Problem,
    theta: &mut [f64],
    factor: &BorderedFactor,
    work: &mut BorderedWork,
    s: &Settings,
    ws: &mut Workspace,
    solver: &mut DenseSolver,
) -> Outcome {
    work.touching.clear();
    work.touching.extend((0..problem.pairs.len()).filter(|&t| {
        let p = &problem.pairs[t];
        factor.slot[p.i] != usize::MAX || factor.slot[p.j] != usize::MAX
    }));
    let mut previous = f64::INFINITY;
    let mut used = 0;
    while used < s.max_iterations {
        if !bordered_step(factor, work, problem, theta, ws) {
            break;
        }
        centre(problem, &mut ws.step);
        used += 1;
        let size = max_abs(&ws.step);
        if !size.is_finite() || size > BORDERED_MAX_STEP || size > 0.5 * previous {
            break;
        }
        if size <= s.tolerance {
            add_scaled(theta, &ws.step, 1.0);
            return Outcome {
                converged: true,
                iterations: used,
            };
        }
        solver.anderson.advance(theta, &ws.step, used == 1);
        previous = size;
    }
    let rest = Settings {
        max_iterations: s.max_iterations.saturating_sub(used),
        ..*s
    };
    let o = newton(problem, theta, &rest, solver, ws);
    Outcome {
        converged: o.converged,
        iterations: used + o.iterations,
    }
}

/// Centres `step` within each of the problem's groups (a lone model's step
/// becomes zero).
fn centre(problem: &Problem, step: &mut [f64]) {
    for group in &problem.structure.members {
        let mean = group.iter().map(|&v| step[v]).sum::<f64>() / group.len() as f64;
        for &v in group {
            step[v] -= mean;
        }
    }
}

/// Full inverse `(L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹`, row-major and symmetric.
pub(super) fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    let mut inv_l = vec![0.0; n * n];
    for i in 0..n {
        let (done, rest) = inv_l.split_at_mut(i * n);
        let row = &mut rest[..n];
        for kk in 0..i {
            let c = l[i * n + kk];
            if c != 0.0 {
                for (r, x) in row[..=kk].iter_mut().zip(&done[kk * n..kk * n + kk + 1]) {
                    *r -= c * x;
                }
            }
        }
        let d = l[i * n + i];
        for r in row[..i].iter_mut() {
            *r /= d;
        }
        row[i] = 1.0 / d;
    }
    let mut a = vec![0.0; n * n];
    for kk in 0..n {
        let row_k = &inv_l[kk * n..kk * n + kk + 1];
        for (i, &c) in row_k.iter().enumerate() {
            if c == 0.0 {
                continue;
            }
            for (x, y) in a[i * n..i * n + i + 1].iter_mut().zip(&row_k[..=i]) {
                *x += c * y;
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            a[j * n + i] = a[i * n + j];
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::bt::BtOptions;
    use crate::rating::bt::input::{Pair, canonical_pairs};
    use crate::rating::bt::structure::Structure;
    use crate::rating::bt::tests::reference;

    /// Two models whose replicate moved far: plain fixed-Hessian steps
    /// contract by about one half per step here, the accelerated ones reach
    /// the optimum in a few.
    #[test]
    fn accelerated_steps_are_fast_where_plain_ones_crawl() {
        let full = [Pair::new(0, 1, 20.0, 10.0, 0.0)];
        let moved = [Pair::new(0, 1, 26.0, 4.0, 0.0)];
        let structure = Structure::analyse(2, &full);
        let settings = Settings::new(&BtOptions::default(), 2, &mut Vec::new());
        let mut ws = Workspace::new(2);
        let mut solver = DenseSolver::new(2);
        let problem = |pairs| Problem {
            k: 2,
            pairs,
            structure: &structure,
        };
        let mut theta_hat = vec![0.0; 2];
        assert!(
            newton(
                &problem(&full),
                &mut theta_hat,
                &settings,
                &mut solver,
                &mut ws
            )
            .converged
        );
        let mut factor = vec![0.0; 4];
        problem(&full).gradient_hessian(&theta_hat, &mut ws.grad, &mut factor);
        problem(&full).augment(&mut factor);
        assert!(cholesky(&mut factor, 2));
        let mut by_chord = theta_hat.clone();
        let o = chord(
            &problem(&moved),
            &mut by_chord,
            &factor,
            &settings,
            &mut ws,
            &mut solver,
            false,
        );
        assert!(o.converged);
        assert!(o.iterations <= 8, "{} iterations", o.iterations);
        // The closed form: θ_0 − θ_1 = ln(26 / 4), centred.
        let d = (26.0f64 / 4.0).ln();
        assert!((by_chord[0] - d / 2.0).abs() < 1e-8 && (by_chord[1] + d / 2.0).abs() < 1e-8);
    }

    #[test]
    fn fixed_hessian_iterations_reach_the_newton_optimum() {
        let base = reference();
        let mut pairs = canonical_pairs(&base, &mut Vec::new());
        let structure = Structure::analyse(5, &pairs);
        let settings = Settings::new(&BtOptions::default(), 5, &mut Vec::new());
        let mut ws = Workspace::new(5);
        let mut solver = DenseSolver::new(5);
        let mut theta_hat = vec![0.0; 5];
        let full = Problem {
            k: 5,
            pairs: &pairs,
            structure: &structure,
        };
        assert!(newton(&full, &mut theta_hat, &settings, &mut solver, &mut ws).converged);
        let mut factor = vec![0.0; 25];
        full.gradient_hessian(&theta_hat, &mut ws.grad, &mut factor);
        full.augment(&mut factor);
        assert!(cholesky(&mut factor, 5));
        // A replicate-like perturbation of the counts.
        for (x, p) in pairs.iter_mut().enumerate() {
            let bump = (x % 3) as f64 * 2.0;
            *p = Pair::new(p.i, p.j, p.wins_i + bump, p.wins_j, p.ties + 1.0);
        }
        let moved = Problem {
            k: 5,
            pairs: &pairs,
            structure: &structure,
        };
        let mut by_chord = theta_hat.clone();
        let mut by_newton = theta_hat.clone();
        assert!(
            chord(
                &moved,
                &mut by_chord,
                &factor,
                &settings,
                &mut ws,
                &mut solver,
                false,
            )
            .converged
        );
        assert!(newton(&moved, &mut by_newton, &settings, &mut solver, &mut ws).converged);
        for (a, b) in by_chord.iter().zip(&by_newton) {
            assert!((a - b).abs() < 1e-8);
        }
        assert!(by_chord.iter().sum::<f64>().abs() < 1e-12);
    }
}
