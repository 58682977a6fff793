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
}

impl DenseSolver {
    pub(super) fn new(k: usize) -> Self {
        Self {
            hess: vec![0.0; k * k],
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
        if !cholesky(&mut self.hess, k) {
            return false;
        }
        step.copy_from_slice(grad);
        cholesky_solve(&self.hess, k, step);
        true
    }
}

/// Fixed-Hessian Newton ("chord") iterations: every step reuses `factor`,
/// the Cholesky factor of the augmented full-data Hessian at the full-data
/// optimum. A bootstrap replicate's optimum is close to that point and its
/// Hessian close to that one, so each step costs one gradient and two
/// triangular solves instead of a fresh `O(K³)` factorisation, and the
/// iteration still contracts fast. When it does not (a big move, or a ratio
/// of successive steps above one half), Newton's method takes over from the
/// last accepted point, so the result is the same optimum either way.
pub(super) fn chord(
    problem: &Problem,
    theta: &mut [f64],
    factor: &[f64],
    s: &Settings,
    ws: &mut Workspace,
    solver: &mut DenseSolver,
) -> Outcome {
    let k = problem.k;
    let mut previous = f64::INFINITY;
    let mut used = 0;
    while used < s.max_iterations {
        problem.gradient(theta, &mut ws.grad, &mut ws.exp);
        ws.step.copy_from_slice(&ws.grad);
        cholesky_solve(factor, k, &mut ws.step);
        used += 1;
        let size = max_abs(&ws.step);
        if !size.is_finite() || size > 1.0 || size > 0.5 * previous {
            break;
        }
        add_scaled(theta, &ws.step, 1.0);
        if size <= s.tolerance {
            return Outcome {
                converged: true,
                iterations: used,
            };
        }
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
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let xi = b[i];
        let row = &l[i * n..i * n + i];
        for (bk, lk) in b[..i].iter_mut().zip(row) {
            *bk -= lk * xi;
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
                &mut solver
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
