//! The dense path: Newton steps solved with the Cholesky factor of the
//! `K × K` Hessian, the fixed-Hessian iterations that reuse that factor in
//! the bootstrap, and the full inverse the dense sandwich needs.

use super::input::Settings;
use super::likelihood::Problem;
use super::newton::{Outcome, StepSolver, Workspace, add_scaled, dot, max_abs, newton};

/// Assembles minus the Hessian, augmented so that it is positive definite,
/// and solves for the step with its Cholesky factor: `O(#cells + K²)` to
/// assemble and `O(K³)` to factor.
pub(super) struct DenseSolver {
    hess: Vec<f64>,
    /// For the fixed-Hessian iterations of [`chord`].
    pub(super) anderson: Anderson,
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
    pub(super) fn advance(&mut self, x: &mut [f64], f: &[f64], first: bool) {
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
    let limits = Limits {
        max_step: 1.0,
        ratio: 0.5,
    };
    accelerated(problem, theta, s, ws, solver, limits, |theta, ws| {
        problem.gradient(theta, &mut ws.grad, &mut ws.exp);
        ws.step.copy_from_slice(&ws.grad);
        cholesky_solve(factor, k, &mut ws.step);
        if centre {
            self::centre(problem, &mut ws.step);
        }
        true
    })
}

/// When [`accelerated`] hands over to Newton's method: a step above
/// `max_step`, or above `ratio` times the one before.
pub(super) struct Limits {
    pub(super) max_step: f64,
    pub(super) ratio: f64,
}

/// Fixed-Hessian steps, each written into `ws.step` by `step` from the
/// iterate (false: it could not be made), combined by Anderson
/// acceleration until one is within the tolerance. When a step cannot be
/// made or passes `limits`, Newton's method takes over from the last point
/// with the iterations left; the outcome counts both.
pub(super) fn accelerated(
    problem: &Problem,
    theta: &mut [f64],
    s: &Settings,
    ws: &mut Workspace,
    solver: &mut DenseSolver,
    limits: Limits,
    mut step: impl FnMut(&[f64], &mut Workspace) -> bool,
) -> Outcome {
    let mut previous = f64::INFINITY;
    let mut used = 0;
    while used < s.max_iterations {
        if !step(theta, ws) {
            break;
        }
        used += 1;
        let size = max_abs(&ws.step);
        if !size.is_finite() || size > limits.max_step || size > limits.ratio * previous {
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
pub(super) fn forward(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
}

/// Solves `Lᵀ x = y` in place.
pub(super) fn backward(l: &[f64], n: usize, b: &mut [f64]) {
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let xi = b[i];
        let row = &l[i * n..i * n + i];
        for (bk, lk) in b[..i].iter_mut().zip(row) {
            *bk -= lk * xi;
        }
    }
}

/// Centres `step` within each of the problem's groups (a lone model's step
/// becomes zero).
pub(super) fn centre(problem: &Problem, step: &mut [f64]) {
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
