//! The damped Newton iteration shared by both paths. How the Newton step is
//! solved (a dense Cholesky factor or conjugate gradients) is left to a
//! [`StepSolver`], so the dense and sparse paths run the same iteration,
//! the same line search and the same stopping rule.

use super::FULL_STEP_RADIUS;
use super::input::Settings;
use super::likelihood::Problem;

/// Solves for the Newton step at `theta`.
pub(super) trait StepSolver {
    /// Writes the gradient of the log-likelihood at `theta` into `grad` and
    /// the Newton step into `step`: the solution of `H·step = grad`, with
    /// `H` minus the Hessian, that sums to zero over every group (the
    /// gradient does too, so that solution exists and is unique). False if
    /// `H` could not be factored or the solve broke down.
    fn step(
        &mut self,
        problem: &Problem,
        theta: &[f64],
        grad: &mut [f64],
        step: &mut [f64],
    ) -> bool;
}

/// Vectors of length `K` that the iteration reuses.
pub(super) struct Workspace {
    pub(super) grad: Vec<f64>,
    pub(super) step: Vec<f64>,
    pub(super) trial: Vec<f64>,
    /// `e^θ` per model, for [`Problem::gradient`].
    pub(super) exp: Vec<f64>,
}

impl Workspace {
    pub(super) fn new(k: usize) -> Self {
        Self {
            grad: vec![0.0; k],
            step: vec![0.0; k],
            trial: vec![0.0; k],
            exp: vec![0.0; k],
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Outcome {
    pub(super) converged: bool,
    pub(super) iterations: usize,
}

/// Maximises the log-likelihood from the given start, which must already be
/// centred within each group.
pub(super) fn newton(
    problem: &Problem,
    theta: &mut [f64],
    s: &Settings,
    solver: &mut impl StepSolver,
    ws: &mut Workspace,
) -> Outcome {
    if problem.pairs.is_empty() {
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
        if !solver.step(problem, theta, &mut ws.grad, &mut ws.step) {
            return done(false);
        }
        let size = max_abs(&ws.step);
        if !size.is_finite() {
            return done(false);
        }
        if size <= s.tolerance {
            add_scaled(theta, &ws.step, 1.0);
            return done(true);
        }
        if size <= FULL_STEP_RADIUS && size < previous {
            add_scaled(theta, &ws.step, 1.0);
        } else {
            let base = problem.log_likelihood(theta);
            let slope = dot(&ws.grad, &ws.step);
            let mut t = 1.0;
            let mut accepted = false;
            for _ in 0..60 {
                ws.trial.copy_from_slice(theta);
                add_scaled(&mut ws.trial, &ws.step, t);
                let ll = problem.log_likelihood(&ws.trial);
                if ll >= base + 1e-4 * t * slope {
                    theta.copy_from_slice(&ws.trial);
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

pub(super) fn max_abs(x: &[f64]) -> f64 {
    x.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

pub(super) fn add_scaled(x: &mut [f64], y: &[f64], t: f64) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += t * b;
    }
}

/// Dot product with eight independent accumulators, which lets the compiler
/// vectorise it (a single running sum forces strict left-to-right order).
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}
