//! Sandwich variances: the diagonal of `H⁻¹ M H⁻¹` at the optimum, with
//! `H` minus the Hessian plus the ridge `1e-5·N` and `M` the sum over votes
//! of the outer products of their scores (see the module docs of `bt`).
//!
//! `M = Σ_cells m_c (e_i − e_j)(e_i − e_j)ᵀ`, so
//! `Var_k = Σ_cells m_c ((H⁻¹)_{k,i} − (H⁻¹)_{k,j})²`. The dense path reads
//! that off the full inverse. The sparse path never forms `H⁻¹`: `H` is
//! block diagonal over connected groups, and within a group of `m` models
//! and `E` cells it takes `min(m, E)` solves, either one per model
//! (`x = H⁻¹ e_k`, then `Var_k = Σ m_c (x_i − x_j)²`) or one per cell
//! (`x = H⁻¹ (e_i − e_j)`, then `Var += m_c x∘x`). The solves are exact to
//! the conjugate-gradient tolerance; when their estimated work exceeds a
//! budget ([`SANDWICH_BUDGET`] by default) the sandwich is skipped rather
//! than approximated.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::HESSIAN_RIDGE;
use super::dense::{cholesky, inverse_from_cholesky};
use super::input::Pair;
use super::laplacian::{CgWork, System};
use super::likelihood::{Problem, logistic_pw};

/// Default largest estimated work of the sparse sandwich, in vector-element
/// operations (about a nanosecond each): a few seconds on one core. A chain
/// of 10,000 models needs 6e8, one of 28,000 models 5e9; a well-mixed graph
/// of 10,000 models with 5 opponents each about 3e10 (skipped).
pub(super) const SANDWICH_BUDGET: f64 = 5e9;
/// Largest relative residual accepted from a sandwich solve.
const SANDWICH_RESIDUAL: f64 = 1e-9;
/// Work per parallel task of the sparse sandwich, so that small groups are
/// not split and large ones are spread over threads.
const TASK_WORK: f64 = 2e6;
/// Most tasks per group: each task of a group solved per cell holds a
/// vector the size of the group until the results are merged.
const MAX_TASKS_PER_GROUP: usize = 16;

/// Why the sparse sandwich gave no variances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Missing {
    /// A factorisation or solve failed (weights that underflowed).
    Failed,
    /// The exact computation would take about this much work.
    OverBudget(f64),
}

/// `Σ` over the votes of a cell of the squared score of `θ_i`.
fn meat(p: &Pair, prob: f64) -> f64 {
    p.wins_i * (1.0 - prob).powi(2) + p.wins_j * prob * prob + p.ties * (0.5 - prob).powi(2)
}

/// Dense path: the variances, in log-odds², or `None` if the ridged
/// Hessian could not be factored.
pub(super) fn dense_variances(problem: &Problem, theta: &[f64], total: f64) -> Option<Vec<f64>> {
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
        let (prob, _) = logistic_pw(theta[p.i] - theta[p.j]);
        let meat = meat(p, prob);
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

/// One connected group of the sparse sandwich, in local indices.
struct Group<'a> {
    members: &'a [usize],
    ends: Vec<(usize, usize)>,
    meat: Vec<f64>,
    system: System,
    /// For a regularised group, `z = (L + D)⁻¹ 1` and `1ᵀz` (see `solve`).
    z: Option<(Vec<f64>, f64)>,
    /// One solve per cell (else one per model).
    by_cell: bool,
}

impl Group<'_> {
    fn solves(&self) -> usize {
        if self.by_cell {
            self.ends.len()
        } else {
            self.members.len()
        }
    }

    /// `x = H⁻¹ v` for `v` summing to zero. Within a regularised group `H`
    /// also holds the virtual votes' `−(c 1ᵀ + 1 cᵀ)/m + (Σc/m²) 1 1ᵀ`; for
    /// `1ᵀv = 0`, `1ᵀx = 0` (`H 1` is the ridge times `1`) and that part is
    /// `−1 (cᵀx)/m`, so `x = y + β z` with `y = (L + D)⁻¹ v` and `β` the
    /// multiple that centres it, as for the Newton step.
    fn solve(&self, v: &[f64], x: &mut [f64], work: &mut CgWork) -> Option<usize> {
        let solved = self.system.solve(v, x, work);
        if !solved.within(SANDWICH_RESIDUAL) {
            return None;
        }
        if let Some((z, sz)) = &self.z {
            let beta = -x.iter().sum::<f64>() / sz;
            for (a, b) in x.iter_mut().zip(z) {
                *a += beta * b;
            }
        }
        Some(solved.iterations)
    }

    /// Contributions of solves `range`: per cell, the partial sum of
    /// `m_c x∘x` over the group; per model, `Var_k` of those models.
    fn run(&self, range: std::ops::Range<usize>, work: &mut CgWork) -> Option<Vec<f64>> {
        let m = self.members.len();
        let mut v = vec![0.0; m];
        let mut x = vec![0.0; m];
        let mut out = if self.by_cell {
            vec![0.0; m]
        } else {
            Vec::with_capacity(range.len())
        };
        for s in range {
            if self.by_cell {
                let (a, b) = self.ends[s];
                v.fill(0.0);
                v[a] = 1.0;
                v[b] = -1.0;
                self.solve(&v, &mut x, work)?;
                let w = self.meat[s];
                for (o, xv) in out.iter_mut().zip(&x) {
                    *o += w * xv * xv;
                }
            } else {
                // e_k minus its mean: H⁻¹ maps the mean to a multiple of 1,
                // which no difference x_i − x_j sees.
                v.fill(-1.0 / m as f64);
                v[s] += 1.0;
                self.solve(&v, &mut x, work)?;
                let var: f64 = self
                    .ends
                    .iter()
                    .zip(&self.meat)
                    .map(|(&(a, b), w)| w * (x[a] - x[b]).powi(2))
                    .sum();
                out.push(var);
            }
        }
        out.iter().all(|o| o.is_finite()).then_some(out)
    }
}

/// Sparse path: the variances, in log-odds², without forming `H⁻¹`.
pub(super) fn sparse_variances(
    problem: &Problem,
    theta: &[f64],
    total: f64,
    budget: f64,
) -> Result<Vec<f64>, Missing> {
    let k = problem.k;
    let st = problem.structure;
    let mut var = vec![0.0; k];
    if problem.pairs.is_empty() || total <= 0.0 {
        return Ok(var);
    }
    let mut grad = vec![0.0; k];
    let mut pair_weight = vec![0.0; problem.pairs.len()];
    let mut prior_weight = vec![0.0; k];
    problem.gradient_curvature(theta, &mut grad, &mut pair_weight, &mut prior_weight);
    let ridge = HESSIAN_RIDGE * total;

    let mut cells = GroupCells::of(problem, theta, &pair_weight);
    let mut groups: Vec<Group> = Vec::new();
    let mut costs: Vec<f64> = Vec::new();
    let mut work = 0.0;
    for (g, members) in st.members.iter().enumerate() {
        let m = members.len();
        if m < 2 {
            continue;
        }
        let diag: Vec<f64> = members.iter().map(|&v| prior_weight[v] + ridge).collect();
        let mut cg = CgWork::new(m);
        let group = Group::new(members, &mut cells, g, &diag, st.regularised[g], &mut cg)?;
        let cost = group.per_solve(&mut cg)? * group.solves() as f64;
        work += cost;
        costs.push(cost);
        groups.push(group);
    }
    if work > budget {
        return Err(Missing::OverBudget(work));
    }

    let tasks = tasks(&groups, &costs);
    let results = run_tasks(&groups, &tasks);
    for ((g, range), result) in tasks.iter().zip(results) {
        let group = &groups[*g];
        let part = result.ok_or(Missing::Failed)?;
        if group.by_cell {
            for (&v, x) in group.members.iter().zip(&part) {
                var[v] += x;
            }
        } else {
            for (&v, x) in group.members[range.clone()].iter().zip(&part) {
                var[v] = *x;
            }
        }
    }
    Ok(var)
}

/// The cells of every connected group, in local indices: their ends, weights
/// in the Hessian and meat.
struct GroupCells {
    ends: Vec<Vec<(usize, usize)>>,
    weights: Vec<Vec<f64>>,
    meats: Vec<Vec<f64>>,
}

impl GroupCells {
    /// `pair_weight`: the Hessian's weight of each pair of `problem`.
    fn of(problem: &Problem, theta: &[f64], pair_weight: &[f64]) -> Self {
        let st = problem.structure;
        let mut local = vec![0usize; problem.k];
        for group in &st.members {
            for (at, &v) in group.iter().enumerate() {
                local[v] = at;
            }
        }
        let groups = st.members.len();
        let mut cells = Self {
            ends: vec![Vec::new(); groups],
            weights: vec![Vec::new(); groups],
            meats: vec![Vec::new(); groups],
        };
        for (p, &w) in problem.pairs.iter().zip(pair_weight) {
            let g = st.component[p.i];
            let (prob, _) = logistic_pw(theta[p.i] - theta[p.j]);
            cells.ends[g].push((local[p.i], local[p.j]));
            cells.weights[g].push(w);
            cells.meats[g].push(meat(p, prob));
        }
        cells
    }
}

impl<'a> Group<'a> {
    /// Group `g`, of `members`, takes its ends and meat out of `cells`; `diag`
    /// is the diagonal of its Hessian besides the Laplacian, `cg` a workspace
    /// of its size.
    fn new(
        members: &'a [usize],
        cells: &mut GroupCells,
        g: usize,
        diag: &[f64],
        regularised: bool,
        cg: &mut CgWork,
    ) -> Result<Self, Missing> {
        let m = members.len();
        let ends = std::mem::take(&mut cells.ends[g]);
        let mut system = System::new(m, ends.clone(), vec![(0, false)]);
        if !system.set(&cells.weights[g], diag) {
            return Err(Missing::Failed);
        }
        let z = if regularised {
            let mut z = vec![0.0; m];
            if !system
                .solve(&vec![1.0; m], &mut z, cg)
                .within(SANDWICH_RESIDUAL)
            {
                return Err(Missing::Failed);
            }
            let sz: f64 = z.iter().sum();
            Some((z, sz))
        } else {
            None
        };
        Ok(Self {
            members,
            by_cell: ends.len() <= m,
            ends,
            meat: std::mem::take(&mut cells.meats[g]),
            system,
            z,
        })
    }

    /// Estimated work of one solve. A direct forest solve touches each
    /// member a few times; an iteration of conjugate gradients costs a
    /// product with the matrix, a forest solve and some vector updates. The
    /// first solve tells how many iterations this group needs.
    fn per_solve(&self, cg: &mut CgWork) -> Result<f64, Missing> {
        let m = self.members.len();
        let (m_f, e_f) = (m as f64, self.ends.len() as f64);
        if self.system.is_forest() {
            return Ok(6.0 * m_f);
        }
        let mut v = vec![0.0; m];
        match self.ends.first() {
            Some(&(a, b)) if self.by_cell => {
                v[a] = 1.0;
                v[b] = -1.0;
            }
            _ => {
                v.fill(-1.0 / m_f);
                v[0] += 1.0;
            }
        }
        let mut x = vec![0.0; m];
        let iterations = self.solve(&v, &mut x, cg).ok_or(Missing::Failed)?;
        Ok(iterations as f64 * (8.0 * m_f + 2.0 * e_f) + 6.0 * m_f)
    }
}

/// Tasks `(group, solves)`, fixed by the work alone, not by the number of
/// threads, and merged in order, so the sums do not depend on how they were
/// spread.
fn tasks(groups: &[Group], costs: &[f64]) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut tasks: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (g, (group, &cost)) in groups.iter().zip(costs).enumerate() {
        let solves = group.solves();
        let parts =
            ((cost / TASK_WORK).ceil() as usize).clamp(1, MAX_TASKS_PER_GROUP.min(solves).max(1));
        let per = solves.div_ceil(parts);
        for start in (0..solves).step_by(per.max(1)) {
            tasks.push((g, start..(start + per).min(solves)));
        }
    }
    tasks
}

/// Runs the tasks on up to eight threads, taking them in turn.
fn run_tasks(groups: &[Group], tasks: &[(usize, std::ops::Range<usize>)]) -> Vec<Option<Vec<f64>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(tasks.len().max(1));
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut done = Vec::new();
        let mut work: Option<(usize, CgWork)> = None;
        loop {
            let t = next.fetch_add(1, Ordering::Relaxed);
            let Some((g, range)) = tasks.get(t) else {
                break;
            };
            let group = &groups[*g];
            let m = group.members.len();
            let cg = match &mut work {
                Some((size, cg)) if *size == m => cg,
                slot => &mut slot.insert((m, CgWork::new(m))).1,
            };
            done.push((t, group.run(range.clone(), cg)));
        }
        done
    };
    let mut results: Vec<Option<Vec<f64>>> = vec![None; tasks.len()];
    let finished: Vec<Vec<(usize, Option<Vec<f64>>)>> = if threads <= 1 {
        vec![worker()]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(worker)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    for (t, r) in finished.into_iter().flatten() {
        results[t] = r;
    }
    results
}
