//! The bootstrap: replicates drawn from the multinomial of observed votes,
//! refitted from the full-data optimum, spread over threads, and summarised
//! by percentiles.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::bordered::{BorderedFactor, BorderedWork, bordered_chord, volatile_models};
use super::dense::{DenseSolver, cholesky, chord};
use super::input::{Pair, Settings};
use super::likelihood::Problem;
use super::newton::{Outcome, Workspace, newton};
use super::sampling::VoteSampler;
use super::sparse::SparseSolver;
use super::structure::{Reach, ScoreEdges, Structure};
use super::{BASE_RATING, Path, RATING_SCALE};

pub(super) struct BootstrapRaw {
    pub(super) lower: Vec<f64>,
    pub(super) upper: Vec<f64>,
    pub(super) rounds: usize,
    pub(super) unconverged: usize,
    /// Hessians the dense path's refits factored (its dearest work, `O(K³)`
    /// each); only the tests read it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) factorisations: usize,
}

/// One connected group of the full data, set up to refit its part of a
/// replicate on its own on the dense path: groups share no pair, so each
/// has its own optimum, and a small group whose replicates move a lot
/// (slow fixed-Hessian steps) costs no more steps of the big ones.
struct GroupFit {
    /// Models of the group, increasing; local index `a` is `members[a]`.
    members: Vec<usize>,
    /// Full-data index of each of the group's pairs and its local `(i, j)`.
    pairs: Vec<(usize, usize, usize)>,
    /// The full data's structure restricted to the group: one group.
    structure: Structure,
    /// Cholesky factor of the group's augmented Hessian at the full-data
    /// optimum; `None` if it could not be factored (Newton steps then).
    factor: Option<Vec<f64>>,
    theta_hat: Vec<f64>,
}

impl GroupFit {
    /// One per group of two or more models; single models stay at zero.
    fn all(full: &Problem, theta_hat: &[f64]) -> Vec<Self> {
        let st = full.structure;
        let mut local = vec![0usize; full.k];
        let mut by_group: Vec<Vec<(usize, usize, usize)>> = vec![Vec::new(); st.members.len()];
        for (g, group) in st.members.iter().enumerate() {
            for (a, &v) in group.iter().enumerate() {
                local[v] = a;
            }
            debug_assert!(group.iter().all(|&v| st.component[v] == g));
        }
        for (x, p) in full.pairs.iter().enumerate() {
            by_group[st.component[p.i]].push((x, local[p.i], local[p.j]));
        }
        st.members
            .iter()
            .zip(by_group)
            .enumerate()
            .filter(|(_, (group, _))| group.len() >= 2)
            .map(|(g, (group, pairs))| {
                let m = group.len();
                let structure = Structure {
                    component: vec![0; m],
                    members: vec![(0..m).collect()],
                    regularised: vec![st.regularised[g]],
                    above: vec![false; m],
                    below: vec![false; m],
                };
                let data: Vec<Pair> = pairs
                    .iter()
                    .map(|&(x, i, j)| {
                        let p = &full.pairs[x];
                        Pair::new(i, j, p.wins_i, p.wins_j, p.ties)
                    })
                    .collect();
                let theta: Vec<f64> = group.iter().map(|&v| theta_hat[v]).collect();
                let problem = Problem {
                    k: m,
                    pairs: &data,
                    structure: &structure,
                };
                let mut factor = vec![0.0; m * m];
                problem.gradient_hessian(&theta, &mut vec![0.0; m], &mut factor);
                problem.augment(&mut factor);
                let factor = cholesky(&mut factor, m).then_some(factor);
                Self {
                    members: group.clone(),
                    pairs,
                    structure,
                    factor,
                    theta_hat: theta,
                }
            })
            .collect()
    }

    /// Refits the group's part of a replicate with `counts[pair] =
    /// [wins_i, wins_j, ties]`, whose structure is the full data's, and
    /// writes its strengths into `theta`.
    fn refit(
        &self,
        counts: &[[f64; 3]],
        theta: &mut [f64],
        s: &Settings,
        sc: &mut GroupScratch,
    ) -> Outcome {
        sc.pairs.clear();
        sc.pairs.extend(self.pairs.iter().map(|&(x, i, j)| {
            let [a, b, t] = counts[x];
            Pair::new(i, j, a, b, t)
        }));
        sc.theta.copy_from_slice(&self.theta_hat);
        let problem = Problem {
            k: self.members.len(),
            pairs: &sc.pairs,
            structure: &self.structure,
        };
        let outcome = match &self.factor {
            Some(f) => chord(
                &problem,
                &mut sc.theta,
                f,
                s,
                &mut sc.ws,
                &mut sc.solver,
                false,
            ),
            None => newton(&problem, &mut sc.theta, s, &mut sc.solver, &mut sc.ws),
        };
        for (&v, &t) in self.members.iter().zip(&sc.theta) {
            theta[v] = t;
        }
        outcome
    }
}

/// What one thread reuses for a group from replicate to replicate.
struct GroupScratch {
    pairs: Vec<Pair>,
    theta: Vec<f64>,
    ws: Workspace,
    solver: DenseSolver,
}

impl GroupScratch {
    fn new(g: &GroupFit) -> Self {
        let m = g.members.len();
        Self {
            pairs: Vec::with_capacity(g.pairs.len()),
            theta: vec![0.0; m],
            ws: Workspace::new(m),
            solver: DenseSolver::new(m),
        }
    }
}

/// What one thread computed: `(round, ratings)` per replicate it took.
pub(super) struct Replicates {
    pub(super) ratings: Vec<(usize, Vec<f64>)>,
    pub(super) unconverged: usize,
    pub(super) factorisations: usize,
}

/// How a bootstrap draws its replicates' counts: made from the pairs alone,
/// so that it can be made while the full data is being fitted.
pub(super) struct Draws {
    /// Draws a replicate's counts straight into [`RoundWork::counts`]: one
    /// category per (pair, outcome) with a positive count.
    sampler: VoteSampler,
}

impl Draws {
    /// `None` when there are no votes to resample.
    pub(super) fn new(pairs: &[Pair]) -> Option<Self> {
        // Category `c` is outcome `at[c] % 3` of pair `at[c] / 3`.
        let mut at: Vec<usize> = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        for (idx, p) in pairs.iter().enumerate() {
            for (outcome, w) in [p.wins_i, p.wins_j, p.ties].into_iter().enumerate() {
                if w > 0.0 {
                    at.push(3 * idx + outcome);
                    weights.push(w);
                }
            }
        }
        let total: f64 = weights.iter().sum();
        let n = total.round();
        if at.is_empty() || n < 1.0 || !n.is_finite() {
            return None;
        }
        // Saturating float-to-int conversion: counts above 2^64 are capped.
        let sampler = VoteSampler::new(n as u64, &weights).place(&at);
        Some(Self { sampler })
    }
}

/// Percentile bounds over `s.rounds` replicates, each refitted on `path`
/// from `theta_hat`, the full-data optimum, their counts drawn by `draws`
/// (made from `full`'s pairs; `None` when it has no votes).
pub(super) fn bootstrap(
    full: &Problem,
    theta_hat: &[f64],
    s: &Settings,
    path: Path,
    draws: Option<Draws>,
) -> BootstrapRaw {
    let Some(draws) = draws else {
        return BootstrapRaw::empty(full.k);
    };
    let replicator = Replicator::new(full, theta_hat, s, path, draws);
    // Round `r` draws from stream `r` of the seeded generator, so the bounds
    // do not depend on how rounds are spread over threads; threads take the
    // next round as they finish one.
    let next = AtomicUsize::new(0);
    let results = on_threads(s.rounds, || replicator.run_rounds(&next));
    summarise(results, s.rounds, full.k, s.level)
}

impl BootstrapRaw {
    /// No replicates: bounds of zero.
    pub(super) fn empty(k: usize) -> Self {
        Self {
            lower: vec![0.0; k],
            upper: vec![0.0; k],
            rounds: 0,
            unconverged: 0,
            factorisations: 0,
        }
    }
}

/// Runs `run` on up to 8 threads at once, the calling one among them, and no
/// more threads than `rounds`; their results, the calling thread's first.
pub(super) fn on_threads(rounds: usize, run: impl Fn() -> Replicates + Sync) -> Vec<Replicates> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(rounds.max(1));
    std::thread::scope(|scope| {
        let run = &run;
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
        let mut results = vec![run()];
        results.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        results
    })
}

/// Percentile bounds at `level` of each of the `k` models' ratings over the
/// `rounds` replicates the threads computed.
pub(super) fn summarise(
    results: Vec<Replicates>,
    rounds: usize,
    k: usize,
    level: f64,
) -> BootstrapRaw {
    let mut samples = vec![0.0; rounds * k];
    let mut unconverged = 0;
    let mut factorisations = 0;
    for done in results {
        unconverged += done.unconverged;
        factorisations += done.factorisations;
        for (round, replicate) in done.ratings {
            for (m, &r) in replicate.iter().enumerate() {
                samples[m * rounds + round] = r;
            }
        }
    }

    let lo_q = (1.0 - level) / 2.0;
    let hi_q = 1.0 - lo_q;
    let mut lower = vec![0.0; k];
    let mut upper = vec![0.0; k];
    for m in 0..k {
        let column = &mut samples[m * rounds..(m + 1) * rounds];
        column.sort_by(f64::total_cmp);
        lower[m] = percentile(column, lo_q);
        upper[m] = percentile(column, hi_q);
    }
    BootstrapRaw {
        lower,
        upper,
        rounds,
        unconverged,
        factorisations,
    }
}

/// What every thread of the bootstrap reads: the full data, its optimum and
/// what the refits of its replicates share.
struct Replicator<'a> {
    full: &'a Problem<'a>,
    theta_hat: &'a [f64],
    s: &'a Settings,
    path: Path,
    draws: Draws,
    edges: ScoreEdges,
    /// Models of very few votes, on the dense path: with them, replicates
    /// are refitted as a whole with exact rows for those models (see
    /// `bordered_chord`), not group by group.
    volatile: Vec<usize>,
    /// The groups refitted one by one (dense path without such models).
    groups: Vec<GroupFit>,
    /// Cholesky factor of the full data's augmented Hessian, made when first
    /// needed.
    full_factor: OnceLock<Option<Vec<f64>>>,
    /// The bordered factor for the volatile models, made when first needed.
    bordered: OnceLock<Option<BorderedFactor>>,
}

/// What one thread reuses from replicate to replicate.
struct RoundWork {
    /// `[wins_i, wins_j, ties]` of each pair of the full data.
    counts: Vec<[f64; 3]>,
    reach: Reach,
    /// The replicate's pairs with votes, when it is refitted as a whole.
    replicate: Vec<Pair>,
    groups: Vec<GroupScratch>,
    solvers: Solvers,
}

/// The solvers of whole refits, made when first needed.
struct Solvers {
    ws: Workspace,
    dense: Option<DenseSolver>,
    border: Option<BorderedWork>,
}

impl<'a> Replicator<'a> {
    fn new(
        full: &'a Problem<'a>,
        theta_hat: &'a [f64],
        s: &'a Settings,
        path: Path,
        draws: Draws,
    ) -> Self {
        let k = full.k;
        let pairs = full.pairs;
        let volatile = if path == Path::Dense {
            volatile_models(k, pairs)
        } else {
            Vec::new()
        };
        let groups = if path == Path::Dense && volatile.is_empty() {
            GroupFit::all(full, theta_hat)
        } else {
            Vec::new()
        };
        Self {
            full,
            theta_hat,
            s,
            path,
            draws,
            edges: ScoreEdges::new(k, pairs),
            volatile,
            groups,
            full_factor: OnceLock::new(),
            bordered: OnceLock::new(),
        }
    }

    /// Takes the next round until all are taken.
    fn run_rounds(&self, next: &AtomicUsize) -> Replicates {
        let k = self.full.k;
        let mut w = RoundWork {
            counts: vec![[0.0f64; 3]; self.full.pairs.len()],
            reach: Reach::new(k),
            replicate: Vec::new(),
            groups: self.groups.iter().map(GroupScratch::new).collect(),
            solvers: Solvers {
                ws: Workspace::new(k),
                dense: None,
                border: None,
            },
        };
        let mut out = Vec::new();
        let mut unconverged = 0;
        loop {
            let round = next.fetch_add(1, Ordering::Relaxed);
            if round >= self.s.rounds {
                break;
            }
            self.draw(round, &mut w);
            let mut theta = self.theta_hat.to_vec();
            if !self.refit(&mut w, &mut theta) {
                unconverged += 1;
            }
            for t in theta.iter_mut() {
                *t = BASE_RATING + RATING_SCALE * *t;
            }
            out.push((round, theta));
        }
        let factorisations = w.solvers.dense.as_ref().map_or(0, |d| d.factorisations)
            + w.groups
                .iter()
                .map(|sc| sc.solver.factorisations)
                .sum::<usize>();
        Replicates {
            ratings: out,
            unconverged,
            factorisations,
        }
    }

    /// Round `round`'s counts into `w.counts` (outcomes without votes in
    /// the full data stay zero).
    fn draw(&self, round: usize, w: &mut RoundWork) {
        let mut rng = ChaCha8Rng::seed_from_u64(self.s.seed);
        rng.set_stream(round as u64);
        self.draws
            .sampler
            .draw(&mut rng, w.counts.as_flattened_mut());
    }

    /// Refits the replicate of `w.counts` from `theta`, the full-data
    /// optimum; whether it converged.
    fn refit(&self, w: &mut RoundWork, theta: &mut [f64]) -> bool {
        // The structure depends only on which scoring edges exist; when the
        // replicate kept the full data's, each group is refitted on its own
        // (dense path) or the whole replicate without analysing it again
        // (sparse path).
        let keeps = self
            .edges
            .keeps(self.full.structure, &w.counts, &mut w.reach);
        // Models of very few votes need exact rows, which the groups' own
        // factors do not give: such data take the whole path.
        if keeps && self.path == Path::Dense && self.volatile.is_empty() {
            let mut all = true;
            for (g, sc) in self.groups.iter().zip(w.groups.iter_mut()) {
                all &= g.refit(&w.counts, theta, self.s, sc).converged;
            }
            all
        } else {
            self.refit_whole(w, theta, keeps).converged
        }
    }

    /// Refits the replicate of `w.counts` as a whole; `keeps`: its structure
    /// is the full data's.
    fn refit_whole(&self, w: &mut RoundWork, theta: &mut [f64], keeps: bool) -> Outcome {
        let k = self.full.k;
        w.replicate.clear();
        for (p, c) in self.full.pairs.iter().zip(&w.counts) {
            let q = Pair::new(p.i, p.j, c[0], c[1], c[2]);
            if q.n > 0.0 {
                w.replicate.push(q);
            }
        }
        let own = (!keeps).then(|| {
            self.edges
                .nested(self.full.structure, &w.counts, &mut w.reach)
                .unwrap_or_else(|| Structure::analyse(k, &w.replicate))
        });
        let structure = own.as_ref().unwrap_or(self.full.structure);
        let same_groups = structure.component == self.full.structure.component
            && structure.regularised == self.full.structure.regularised;
        if !same_groups {
            for group in &structure.members {
                let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / group.len() as f64;
                for &v in group {
                    theta[v] -= mean;
                }
            }
        }
        let problem = Problem {
            k,
            pairs: &w.replicate,
            structure,
        };
        match self.path {
            Path::Dense => self.refit_dense(&problem, theta, same_groups, &mut w.solvers),
            // Every Newton step of the sparse path costs about one pass over
            // the replicate, so there is nothing to gain from a fixed Hessian.
            Path::Sparse => newton(
                &problem,
                theta,
                self.s,
                &mut SparseSolver::new(&problem),
                &mut w.solvers.ws,
            ),
        }
    }

    /// A whole refit on the dense path. A replicate whose structure changed
    /// takes fixed-Hessian steps with the factor of the full-data Hessian
    /// while its groups are the same, Newton steps otherwise.
    fn refit_dense(
        &self,
        problem: &Problem,
        theta: &mut [f64],
        same_groups: bool,
        sv: &mut Solvers,
    ) -> Outcome {
        let full = self.full.structure;
        let solver = sv
            .dense
            .get_or_insert_with(|| DenseSolver::new(self.full.k));
        // A replicate whose groups lost only models that are alone now (a
        // model with one or two votes lost them all, which happens to most
        // replicates once a few such models join) keeps the full factor too.
        let nested = same_groups || only_dropouts(full, problem.structure);
        let exact_rows = if nested && !self.volatile.is_empty() {
            self.bordered_factor().as_ref()
        } else {
            None
        };
        if let Some(b) = exact_rows {
            let work = sv.border.get_or_insert_with(|| BorderedWork::new(b));
            return bordered_chord(problem, theta, b, work, self.s, &mut sv.ws, solver);
        }
        match self.full_factor() {
            Some(f) if same_groups => chord(problem, theta, f, self.s, &mut sv.ws, solver, false),
            Some(f) if only_dropouts(full, problem.structure) => {
                chord(problem, theta, f, self.s, &mut sv.ws, solver, true)
            }
            _ => newton(problem, theta, self.s, solver, &mut sv.ws),
        }
    }

    fn full_factor(&self) -> &Option<Vec<f64>> {
        self.full_factor.get_or_init(|| {
            let k = self.full.k;
            let mut f = vec![0.0; k * k];
            self.full
                .gradient_hessian(self.theta_hat, &mut vec![0.0; k], &mut f);
            self.full.augment(&mut f);
            cholesky(&mut f, k).then_some(f)
        })
    }

    fn bordered_factor(&self) -> &Option<BorderedFactor> {
        self.bordered
            .get_or_init(|| BorderedFactor::new(self.full, self.theta_hat, &self.volatile))
    }
}

/// The replicate's groups are the full data's less models that are alone
/// now: each group of two or more lies within one full group, and no full
/// group holds two of them.
fn only_dropouts(full: &Structure, replicate: &Structure) -> bool {
    let mut taken = vec![false; full.members.len()];
    for group in &replicate.members {
        let Some(&first) = group.first() else {
            continue;
        };
        if group.len() < 2 {
            continue;
        }
        let g = full.component[first];
        if taken[g] || group.iter().any(|&v| full.component[v] != g) {
            return false;
        }
        taken[g] = true;
    }
    true
}

/// Linear interpolation between order statistics at `q·(len − 1)`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let Some(&last) = sorted.last() else {
        return 0.0;
    };
    let h = q * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    match sorted.get(lo + 1) {
        Some(&next) => sorted[lo] + (h - lo as f64) * (next - sorted[lo]),
        None => last,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::bt::BtOptions;
    use crate::rating::bt::tests::{Fitted, cell, reference, with_newcomers};

    #[test]
    fn replicates_with_one_vote_models_are_refitted_without_factorisations() {
        // A newcomer's single vote is missing from about 37% of replicates
        // and counted two or more times in 26%: most replicates lose one of
        // the four, and with it their groups, or move one a long way. They
        // are refitted with the full data's factor (and exact rows for the
        // newcomers), not by Newton's method with a factorisation per step.
        let o = BtOptions {
            bootstrap_rounds: 200,
            seed: 3,
            ..BtOptions::default()
        };
        let fit = Fitted::new(&with_newcomers(), &o);
        assert!(fit.structure.regularised.iter().any(|&r| r));
        let (full, s, theta_hat, pairs) = (fit.problem(), fit.s, &fit.theta_hat, &fit.pairs);
        let b = bootstrap(&full, theta_hat, &s, Path::Dense, Draws::new(pairs));
        assert_eq!(b.unconverged, 0);
        assert!(
            b.factorisations < 20,
            "{} factorisations in 200 replicates",
            b.factorisations
        );
    }

    #[test]
    fn a_centred_chord_reaches_the_optimum_without_the_lost_models() {
        // The replicate lost newcomer 5's vote: 5 is alone, the group is the
        // others. Fixed-Hessian steps with the full factor, centred within
        // the replicate's groups, reach Newton's optimum of the replicate.
        let fit = Fitted::new(&with_newcomers(), &BtOptions::default());
        let (k, full, s, theta_hat) = (fit.k, fit.problem(), fit.s, &fit.theta_hat);
        let (pairs, structure) = (&fit.pairs, &fit.structure);
        let mut ws = Workspace::new(k);
        let mut solver = DenseSolver::new(k);
        let mut factor = vec![0.0; k * k];
        full.gradient_hessian(theta_hat, &mut vec![0.0; k], &mut factor);
        full.augment(&mut factor);
        assert!(crate::rating::bt::dense::cholesky(&mut factor, k));

        let replicate: Vec<Pair> = pairs
            .iter()
            .filter(|p| p.i != 5 && p.j != 5)
            .map(|p| Pair::new(p.i, p.j, p.wins_i + 1.0, p.wins_j, p.ties))
            .collect();
        let rep_structure = Structure::analyse(k, &replicate);
        assert!(only_dropouts(structure, &rep_structure));
        assert_ne!(rep_structure.component, structure.component);
        let problem = Problem {
            k,
            pairs: &replicate,
            structure: &rep_structure,
        };
        let mut start = theta_hat.clone();
        for group in &rep_structure.members {
            let mean = group.iter().map(|&v| start[v]).sum::<f64>() / group.len() as f64;
            for &v in group {
                start[v] -= mean;
            }
        }
        let mut by_chord = start.clone();
        let o = chord(
            &problem,
            &mut by_chord,
            &factor,
            &s,
            &mut ws,
            &mut solver,
            true,
        );
        assert!(o.converged);
        let mut by_newton = start;
        assert!(newton(&problem, &mut by_newton, &s, &mut solver, &mut ws).converged);
        for (a, b) in by_chord.iter().zip(&by_newton) {
            assert!((a - b).abs() < 1e-7, "{by_chord:?} {by_newton:?}");
        }
        assert_eq!(by_chord[5], 0.0);
    }

    #[test]
    fn group_refits_match_a_whole_refit() {
        // The reference's five models, a separate pair with few votes and a
        // model without votes.
        let mut c = reference();
        c.cells.push(cell(5, 6, 20.0, 9.0, 1.0));
        c.n_models = 8;
        let fit = Fitted::new(&c, &BtOptions::default());
        let (k, full, s, theta_hat) = (fit.k, fit.problem(), fit.s, &fit.theta_hat);
        let (pairs, structure) = (&fit.pairs, &fit.structure);
        let mut ws = Workspace::new(k);
        let mut solver = DenseSolver::new(k);
        let groups = GroupFit::all(&full, theta_hat);
        assert_eq!(groups.len(), 2);

        // A replicate-like change of every count that keeps every edge.
        let counts: Vec<[f64; 3]> = pairs
            .iter()
            .enumerate()
            .map(|(x, p)| {
                let bump = (x % 3) as f64 * 3.0;
                [p.wins_i + bump, (p.wins_j - 2.0).max(1.0), p.ties]
            })
            .collect();
        let replicate: Vec<Pair> = pairs
            .iter()
            .zip(&counts)
            .map(|(p, c)| Pair::new(p.i, p.j, c[0], c[1], c[2]))
            .collect();
        let whole = Problem {
            k,
            pairs: &replicate,
            structure,
        };
        let mut by_newton = theta_hat.clone();
        assert!(newton(&whole, &mut by_newton, &s, &mut solver, &mut ws).converged);
        let mut by_group = theta_hat.clone();
        for g in &groups {
            let mut sc = GroupScratch::new(g);
            assert!(g.refit(&counts, &mut by_group, &s, &mut sc).converged);
        }
        for (a, b) in by_group.iter().zip(&by_newton) {
            assert!((a - b).abs() < 1e-8, "{by_group:?} vs {by_newton:?}");
        }
        assert_eq!(by_group[7], 0.0);
        assert!(by_group[..5].iter().sum::<f64>().abs() < 1e-12);
        assert!((by_group[5] + by_group[6]).abs() < 1e-12);
        assert!(by_group[5] > theta_hat[5]);
    }
}
