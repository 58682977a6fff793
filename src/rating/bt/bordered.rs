//! Fixed-Hessian iterations for bootstrap replicates of data with a few
//! models of very few votes: the full data's factor for the other models,
//! exact rows for those few (a bordered factorisation).

use super::PRIOR_VOTES;
use super::dense::{
    DenseSolver, Limits, accelerated, backward, centre, cholesky, cholesky_solve, forward,
};
use super::input::Settings;
use super::likelihood::{Problem, logistic_pw};
use super::newton::{Outcome, Workspace, add_scaled, dot};

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
    /// `L_A⁻¹` applied once to what the stable part of a volatile model's
    /// column of `B` is made of; `None` past a memory budget.
    solved: Option<Solved>,
}

/// The stable part of a volatile model `v`'s column of `B` is, in a
/// replicate whose group of `v` keeps every stable model of the full data's
/// group `G`: minus its pairs' curvature at their stable models, plus
/// `α_G + [regularised]·(T/m² − c_v/m)` at every stable model of `G`, minus
/// `[regularised]·c_u/m` at each stable model `u` (the virtual votes'
/// curvature `c`, their total `T`, the group's size `m`). The first two are
/// unit vectors and indicators that never change, so their solves with
/// `L_A` are made once. So is the third's, with the curvature of the full
/// data's optimum: the stable models' ratings hardly move in a replicate
/// (their virtual votes' curvature changes far less than their own, which
/// the fixed block `A` already leaves at the full data's), and the fixed
/// point of the iteration, where the gradient is zero, is the same. A step
/// then costs two triangular solves, as one of [`chord`](super::dense::chord)
/// does, instead of one more per volatile model.
struct Solved {
    /// `L_A⁻¹ e_u` for each stable model `u` paired with a volatile one in
    /// the full data, `stable` long each.
    unit: Vec<f64>,
    /// Where `u`'s solve starts in `unit`, `usize::MAX` for no solve.
    unit_at: Vec<usize>,
    /// `L_A⁻¹ 1_G` over the stable models of each full group `G` with a
    /// volatile model; `ones_at[G]` as `unit_at`.
    ones: Vec<f64>,
    ones_at: Vec<usize>,
    /// `L_A⁻¹ c` over the same models, at the same place: their virtual
    /// votes' curvature at the full data's optimum.
    virtuals: Vec<f64>,
    /// Stable models of each full group.
    stable_in: Vec<usize>,
}

/// Most entries [`Solved`] keeps (8 MB); past them each step solves for
/// each volatile model.
const SOLVED_MAX_ENTRIES: usize = 1 << 20;

impl Solved {
    fn new(
        full: &Problem,
        theta_hat: &[f64],
        order: &[usize],
        stable: usize,
        la: &[f64],
        slot: &[usize],
    ) -> Option<Self> {
        let k = full.k;
        let group = &full.structure.component;
        let groups = full.structure.members.len();
        let mut unit_at = vec![usize::MAX; k];
        let mut ones_at = vec![usize::MAX; groups];
        let mut columns = 0;
        for p in full.pairs {
            for (v, u) in [(p.i, p.j), (p.j, p.i)] {
                if slot[v] != usize::MAX && slot[u] == usize::MAX && unit_at[u] == usize::MAX {
                    unit_at[u] = columns * stable;
                    columns += 1;
                }
            }
        }
        let units = columns;
        for &v in &order[stable..] {
            if ones_at[group[v]] == usize::MAX {
                ones_at[group[v]] = (columns - units) * stable;
                columns += 1;
            }
        }
        let groups_solved = columns - units;
        if stable == 0 || (columns + groups_solved).saturating_mul(stable) > SOLVED_MAX_ENTRIES {
            return None;
        }
        let means: Vec<f64> = full
            .structure
            .members
            .iter()
            .map(|g| g.iter().map(|&v| theta_hat[v]).sum::<f64>() / g.len() as f64)
            .collect();
        let mut unit = vec![0.0; units * stable];
        let mut ones = vec![0.0; (columns - units) * stable];
        let mut virtuals = vec![0.0; ones.len()];
        let mut stable_in = vec![0; groups];
        for (a, &u) in order[..stable].iter().enumerate() {
            let g = group[u];
            stable_in[g] += 1;
            if unit_at[u] != usize::MAX {
                unit[unit_at[u] + a] = 1.0;
            }
            if ones_at[g] != usize::MAX {
                ones[ones_at[g] + a] = 1.0;
                virtuals[ones_at[g] + a] = PRIOR_VOTES * logistic_pw(theta_hat[u] - means[g]).1;
            }
        }
        for column in unit
            .chunks_exact_mut(stable)
            .chain(ones.chunks_exact_mut(stable))
            .chain(virtuals.chunks_exact_mut(stable))
        {
            forward(la, stable, column);
        }
        Some(Self {
            unit,
            unit_at,
            ones,
            ones_at,
            virtuals,
            stable_in,
        })
    }
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
        if !cholesky(&mut la, stable) {
            return None;
        }
        let solved = Solved::new(full, theta_hat, &order, stable, &la, &slot);
        Some(Self {
            order,
            stable,
            la,
            group,
            alpha,
            slot,
            solved,
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
    /// Each regularised group with a volatile model: `(group, m, T)`, its
    /// size and its virtual votes' total curvature.
    regularised: Vec<(usize, f64, f64)>,
    /// Whether this replicate's `W` is made from [`Solved`]: each group of
    /// a volatile model keeps the stable models of its full group.
    from_solved: bool,

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
            regularised: Vec::new(),
            from_solved: false,
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
    w.regularised.clear();
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
        w.regularised.push((g, m, total));
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

/// `W = L_A⁻¹ B` of the volatile models (zero for those alone now) from
/// the solves made once (see [`Solved`]), without a triangular solve.
fn columns_from_solved(
    f: &BorderedFactor,
    solved: &Solved,
    w: &mut BorderedWork,
    problem: &Problem,
    theta: &[f64],
) {
    let s = f.stable;
    let st = problem.structure;
    let lone = |v: usize| st.members[st.component[v]].len() == 1;
    w.w.fill(0.0);
    for &t in &w.touching {
        let p = &problem.pairs[t];
        let c = p.n * logistic_pw(theta[p.i] - theta[p.j]).1;
        for (v, u) in [(p.i, p.j), (p.j, p.i)] {
            let (cv, at) = (f.slot[v], solved.unit_at[u]);
            if cv != usize::MAX && f.slot[u] == usize::MAX {
                add_scaled(&mut w.w[cv * s..(cv + 1) * s], &solved.unit[at..at + s], -c);
            }
        }
    }
    for (c, &v) in f.order[s..].iter().enumerate() {
        if lone(v) {
            continue;
        }
        let g = st.component[v];
        let at = solved.ones_at[f.group[v]];
        let column = &mut w.w[c * s..(c + 1) * s];
        let mut coef = f.alpha[f.group[v]];
        if let Some(&(_, m, total)) = w.regularised.iter().find(|r| r.0 == g) {
            coef += total / (m * m) - w.prior[v] / m;
            add_scaled(column, &solved.virtuals[at..at + s], -1.0 / m);
        }
        add_scaled(column, &solved.ones[at..at + s], coef);
    }
}

/// Whether every group of a volatile model in `problem` keeps all the
/// stable models of its full group, so that [`columns_from_solved`] holds.
fn keeps_stable(f: &BorderedFactor, solved: &Solved, problem: &Problem) -> bool {
    let st = problem.structure;
    f.order[f.stable..].iter().all(|&v| {
        let group = &st.members[st.component[v]];
        let full = f.group[v];
        let mut stable = 0;
        let mut within = true;
        for &u in group.iter().filter(|&&u| f.slot[u] == usize::MAX) {
            stable += 1;
            within &= f.group[u] == full;
        }
        group.len() == 1 || (within && stable == solved.stable_in[full])
    })
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
    match &f.solved {
        Some(solved) if w.from_solved => columns_from_solved(f, solved, w, problem, theta),
        _ => {
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
        }
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
/// allow larger moves than [`chord`](super::dense::chord)'s, and Newton's method with its line
/// search takes over beyond.
const BORDERED_MAX_STEP: f64 = 4.0;

/// A step of [`bordered_chord`] above this fraction of the one before hands
/// the iteration over to Newton's method.
const BORDERED_CONTRACTION: f64 = 0.9;

/// [`chord`](super::dense::chord) for a bootstrap replicate of data with a few models of very
/// few votes. A replicate moves their counts by a large fraction (a model
/// with one vote loses it in a third of the replicates and has it two or
/// three times in a quarter), so the full data's curvature is far from
/// theirs, fixed-Hessian steps stop contracting, and Newton's method with
/// a factorisation per step took most of the bootstrap's time. Here each
/// step solves with the full data's factor for the other models and with
/// the replicate's exact curvature for the volatile ones' rows (a bordered
/// factorisation, whose solves for the volatile models' columns are made
/// once: see [`Solved`]), so it contracts as fast as [`chord`](super::dense::chord) does on
/// well-sampled data. Steps are centred within the problem's groups, whose
/// members may be the factor's less some lone models (see [`chord`](super::dense::chord)); the
/// fixed point is the problem's optimum. Newton's method takes over only
/// when a step is above [`BORDERED_CONTRACTION`] times the one before: a
/// volatile model's curvature moves with its rating, so a step
/// now and then contracts less than [`chord`](super::dense::chord)'s half, and a Newton step
/// here (a factorisation of the whole Hessian) costs as much as hundreds
/// of these.
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
    work.from_solved = factor
        .solved
        .as_ref()
        .is_some_and(|solved| keeps_stable(factor, solved, problem));
    let limits = Limits {
        max_step: BORDERED_MAX_STEP,
        ratio: BORDERED_CONTRACTION,
    };
    accelerated(problem, theta, s, ws, solver, limits, |theta, ws| {
        let made = bordered_step(factor, work, problem, theta, ws);
        if made {
            centre(problem, &mut ws.step);
        }
        made
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::bt::BtOptions;
    use crate::rating::bt::input::Pair;
    use crate::rating::bt::newton::{max_abs, newton};
    use crate::rating::bt::structure::Structure;
    use crate::rating::bt::tests::{Fitted, with_newcomers};

    #[test]
    fn columns_solved_once_give_the_step_of_columns_solved_at_each_step() {
        let fit = Fitted::new(&with_newcomers(), &BtOptions::default());
        let (k, full, s, pairs, theta_hat) =
            (fit.k, fit.problem(), fit.s, &fit.pairs, &fit.theta_hat);
        let mut theta = theta_hat.clone();
        let mut ws = Workspace::new(k);
        let volatile = volatile_models(k, pairs);
        assert_eq!(volatile, [5, 6, 7, 8]);
        let f = BorderedFactor::new(&full, theta_hat, &volatile).expect("a factor");
        let solved = f.solved.as_ref().expect("solves made once");

        // A replicate: newcomer 5's vote three times, 6's lost (6 is alone
        // now), 7's twice, and the reference's pairs moved.
        let replicate: Vec<Pair> = pairs
            .iter()
            .filter(|p| p.i != 6 && p.j != 6)
            .map(|p| {
                let (times, bump) = match (p.i.max(p.j), p.i.min(p.j)) {
                    (5, _) => (3.0, 0.0),
                    (7, _) => (2.0, 0.0),
                    (8, _) => (1.0, 0.0),
                    (_, lower) => (1.0, (lower % 3) as f64),
                };
                Pair::new(p.i, p.j, p.wins_i * times + bump, p.wins_j * times, p.ties)
            })
            .collect();
        let rep_structure = Structure::analyse(k, &replicate);
        assert!(rep_structure.regularised.iter().any(|&r| r));
        let problem = Problem {
            k,
            pairs: &replicate,
            structure: &rep_structure,
        };
        for group in &rep_structure.members {
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / group.len() as f64;
            for &v in group {
                theta[v] -= mean;
            }
        }
        let mut work = BorderedWork::new(&f);
        work.touching = (0..replicate.len())
            .filter(|&t| {
                f.slot[replicate[t].i] != usize::MAX || f.slot[replicate[t].j] != usize::MAX
            })
            .collect();
        assert!(keeps_stable(&f, solved, &problem));
        let mut steps = Vec::new();
        for from_solved in [true, false] {
            work.from_solved = from_solved;
            assert!(bordered_step(&f, &mut work, &problem, &theta, &mut ws));
            steps.push(ws.step.clone());
        }
        // The columns made once take the virtual votes' curvature at the
        // full data's optimum: the steps differ a little, not more.
        let size = max_abs(&steps[1]);
        assert!(size > 0.1, "{:?}", steps[1]);
        let apart = steps[0]
            .iter()
            .zip(&steps[1])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(apart <= 1e-3 * size, "{:?} vs {:?}", steps[0], steps[1]);
        assert_eq!(steps[0][6], 0.0);

        // Both iterations reach Newton's optimum of the replicate.
        let mut by_newton = theta.clone();
        let mut solver = DenseSolver::new(k);
        assert!(newton(&problem, &mut by_newton, &s, &mut solver, &mut ws).converged);
        let mut exact = BorderedFactor::new(&full, theta_hat, &volatile).expect("a factor");
        exact.solved = None;
        for (factor, once) in [(&f, true), (&exact, false)] {
            let mut by_chord = theta.clone();
            let mut work = BorderedWork::new(factor);
            let o = bordered_chord(
                &problem,
                &mut by_chord,
                factor,
                &mut work,
                &s,
                &mut ws,
                &mut solver,
            );
            assert!(o.converged);
            assert_eq!(work.from_solved, once);
            for (a, b) in by_chord.iter().zip(&by_newton) {
                assert!((a - b).abs() < 1e-8, "{by_chord:?} vs {by_newton:?}");
            }
        }
    }
}
