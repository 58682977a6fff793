//! The sparse path: Newton steps without a `K × K` matrix.
//!
//! Minus the Hessian of a connected group is `L + P`: `L` the graph
//! Laplacian with weight `n·p(1−p)` on every pair, `P` (regularised groups
//! only) the curvature of the virtual votes, `P = Σ_v c_v (e_v − ū)(e_v − ū)ᵀ
//! = D − (c 1ᵀ + 1 cᵀ)/m + (Σc/m²) 1 1ᵀ` with `D = diag(c)`. Both kill `1`,
//! and the gradient sums to zero over the group, so the Newton step is the
//! solution `x` of `(L + P) x = g` with `1ᵀx = 0`. For such `x` the low-rank
//! part of `P` reduces to `−1 (cᵀx)/m`, so `(L + D) x = g + β 1` for a
//! scalar `β`: with `y = (L + D)⁻¹ g` and `z = (L + D)⁻¹ 1`, the step is
//! `x = y + β z` with `β = −1ᵀy / 1ᵀz`, which is exact, not an
//! approximation. A group without virtual votes has `P = 0` and `L` alone is
//! singular; there one member is held at zero (its row and column dropped),
//! which leaves a positive definite system, and the solution is centred
//! afterwards. The systems with `L + D` are solved as in [`super::laplacian`].

use super::input::Pair;
use super::laplacian::{CgWork, System};
use super::likelihood::Problem;
use super::newton::StepSolver;

/// Largest relative residual of a Newton step that is still used: an
/// inexact step is still an ascent direction and the line search keeps the
/// iteration monotone, while the step size that decides convergence is
/// correct to this relative precision.
const NEWTON_RESIDUAL: f64 = 1e-8;

/// Newton steps by the construction in the module docs: one solve with
/// `L + D` for the gradient and, when some group is regularised, one for
/// the indicator of the regularised members.
pub(super) struct SparseSolver {
    system: System,
    pair_weight: Vec<f64>,
    prior_weight: Vec<f64>,
    /// Ones on members of regularised groups.
    ones: Vec<f64>,
    z: Vec<f64>,
    work: CgWork,
    any_regularised: bool,
}

impl SparseSolver {
    pub(super) fn new(problem: &Problem) -> Self {
        let k = problem.k;
        let st = problem.structure;
        let roots = st
            .members
            .iter()
            .zip(&st.regularised)
            .filter_map(|(group, &reg)| group.first().map(|&v| (v, !reg)))
            .collect();
        let ends = problem.pairs.iter().map(|p: &Pair| (p.i, p.j)).collect();
        let mut ones = vec![0.0; k];
        for (group, &reg) in st.members.iter().zip(&st.regularised) {
            if reg {
                for &v in group {
                    ones[v] = 1.0;
                }
            }
        }
        Self {
            system: System::new(k, ends, roots),
            pair_weight: vec![0.0; problem.pairs.len()],
            prior_weight: vec![0.0; k],
            ones,
            z: vec![0.0; k],
            work: CgWork::new(k),
            any_regularised: st.regularised.iter().any(|&r| r),
        }
    }
}

impl StepSolver for SparseSolver {
    fn step(
        &mut self,
        problem: &Problem,
        theta: &[f64],
        grad: &mut [f64],
        step: &mut [f64],
    ) -> bool {
        problem.gradient_curvature(theta, grad, &mut self.pair_weight, &mut self.prior_weight);
        if !self.system.set(&self.pair_weight, &self.prior_weight) {
            return false;
        }
        if !self
            .system
            .solve(grad, step, &mut self.work)
            .within(NEWTON_RESIDUAL)
        {
            return false;
        }
        if self.any_regularised
            && !self
                .system
                .solve(&self.ones, &mut self.z, &mut self.work)
                .within(NEWTON_RESIDUAL)
        {
            return false;
        }
        let st = problem.structure;
        for (group, &reg) in st.members.iter().zip(&st.regularised) {
            let sy: f64 = group.iter().map(|&v| step[v]).sum();
            if reg {
                let sz: f64 = group.iter().map(|&v| self.z[v]).sum();
                let beta = -sy / sz;
                for &v in group {
                    step[v] += beta * self.z[v];
                }
            } else {
                let mean = sy / group.len() as f64;
                for &v in group {
                    step[v] -= mean;
                }
            }
        }
        true
    }
}
