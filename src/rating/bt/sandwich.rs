//! Sandwich variances: the diagonal of `H⁻¹ M H⁻¹` at the optimum.

use super::HESSIAN_RIDGE;
use super::dense::{cholesky, inverse_from_cholesky};
use super::likelihood::{Problem, logistic};

/// Diagonal of `H⁻¹ M H⁻¹` (see the module docs), in log-odds², or `None`
/// if the ridged Hessian could not be factored.
pub(super) fn sandwich_variances(problem: &Problem, theta: &[f64], total: f64) -> Option<Vec<f64>> {
    let k = problem.k;
    let mut var = vec![0.0; k];
    if problem.pairs.is_empty() || total <= 0.0 {
        return Some(var);
    }
    let mut h = vec![0.0; k * k];
    let mut g = vec![0.0; k];
    problem.gradient_hessian(theta, &mut g, &mut h);
    let ridge = HESSIAN_RIDGE * total;
    for v in 0..k {
        h[v * k + v] += ridge;
    }
    if !cholesky(&mut h, k) {
        return None;
    }
    let a = inverse_from_cholesky(&h, k);
    // diag(A M A)_x = Σ_cells m_c (A_xi − A_xj)², using symmetric rows of A.
    for p in problem.pairs {
        let (prob, _, _) = logistic(theta[p.i] - theta[p.j]);
        let meat = p.wins_i * (1.0 - prob).powi(2)
            + p.wins_j * prob * prob
            + p.ties * (0.5 - prob).powi(2);
        let row_i = &a[p.i * k..(p.i + 1) * k];
        let row_j = &a[p.j * k..(p.j + 1) * k];
        for ((v, x), y) in var.iter_mut().zip(row_i).zip(row_j) {
            let diff = x - y;
            *v += meat * diff * diff;
        }
    }
    if var.iter().all(|v| v.is_finite()) {
        Some(var)
    } else {
        None
    }
}
