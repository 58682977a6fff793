//! The bootstrap: replicates drawn from the multinomial of observed votes,
//! refitted from the full-data optimum, spread over threads, and summarised
//! by percentiles.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::dense::{DenseSolver, cholesky, chord};
use super::input::{Pair, Settings};
use super::likelihood::Problem;
use super::newton::{Workspace, newton};
use super::sampling::VoteSampler;
use super::sparse::SparseSolver;
use super::structure::Structure;
use super::{BASE_RATING, Path, RATING_SCALE};

pub(super) struct BootstrapRaw {
    pub(super) lower: Vec<f64>,
    pub(super) upper: Vec<f64>,
    pub(super) rounds: usize,
    pub(super) unconverged: usize,
}

/// Percentile bounds over `s.rounds` replicates, each refitted on `path`
/// from `theta_hat`, the full-data optimum.
pub(super) fn bootstrap(
    full: &Problem,
    theta_hat: &[f64],
    s: &Settings,
    path: Path,
) -> BootstrapRaw {
    let k = full.k;
    let pairs = full.pairs;
    // One category per (pair, outcome) with a positive count.
    let mut cats: Vec<(usize, usize)> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    for (idx, p) in pairs.iter().enumerate() {
        for (outcome, w) in [p.wins_i, p.wins_j, p.ties].into_iter().enumerate() {
            if w > 0.0 {
                cats.push((idx, outcome));
                weights.push(w);
            }
        }
    }
    let total: f64 = weights.iter().sum();
    let n = total.round();
    if cats.is_empty() || n < 1.0 || !n.is_finite() {
        return BootstrapRaw {
            lower: vec![0.0; k],
            upper: vec![0.0; k],
            rounds: 0,
            unconverged: 0,
        };
    }
    // Saturating float-to-int conversion: counts above 2^64 are capped.
    let sampler = VoteSampler::new(n as u64, &weights);

    // The dense path refits by fixed-Hessian steps with the factor of the
    // full-data Hessian at the full-data optimum.
    let factor = (path == Path::Dense).then(|| {
        let mut factor = vec![0.0; k * k];
        full.gradient_hessian(theta_hat, &mut vec![0.0; k], &mut factor);
        full.augment(&mut factor);
        cholesky(&mut factor, k).then_some(factor)
    });
    let factor = factor.flatten();

    // Round `r` draws from stream `r` of the seeded generator, so the bounds do not depend on
    // how rounds are spread over threads.
    let run_rounds = |rounds: std::ops::Range<usize>| -> (Vec<f64>, usize) {
        let mut ws = Workspace::new(k);
        let mut dense = (path == Path::Dense).then(|| DenseSolver::new(k));
        let mut draws = vec![0u64; weights.len()];
        let mut counts = vec![[0.0f64; 3]; pairs.len()];
        let mut replicate: Vec<Pair> = Vec::with_capacity(pairs.len());
        let mut theta = vec![0.0; k];
        let mut out = Vec::with_capacity(rounds.len() * k);
        let mut unconverged = 0;
        for round in rounds {
            let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
            rng.set_stream(round as u64);
            sampler.draw(&mut rng, &mut draws);
            for c in counts.iter_mut() {
                *c = [0.0; 3];
            }
            for (&(idx, outcome), &x) in cats.iter().zip(&draws) {
                counts[idx][outcome] = x as f64;
            }
            replicate.clear();
            for (p, c) in pairs.iter().zip(&counts) {
                let q = Pair::new(p.i, p.j, c[0], c[1], c[2]);
                if q.n > 0.0 {
                    replicate.push(q);
                }
            }
            // The graph analysis depends only on which scoring edges exist; when
            // the replicate kept all of them, the full-data analysis holds.
            let same_edges = replicate.len() == pairs.len()
                && replicate.iter().zip(pairs).all(|(r, p)| {
                    (r.wins_i + r.ties > 0.0) == (p.wins_i + p.ties > 0.0)
                        && (r.wins_j + r.ties > 0.0) == (p.wins_j + p.ties > 0.0)
                });
            let own = (!same_edges).then(|| Structure::analyse(k, &replicate));
            let structure = own.as_ref().unwrap_or(full.structure);
            let same_groups = structure.component == full.structure.component
                && structure.regularised == full.structure.regularised;
            theta.copy_from_slice(theta_hat);
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
                pairs: &replicate,
                structure,
            };
            let outcome = match (&mut dense, &factor) {
                (Some(solver), Some(factor)) if same_groups => {
                    chord(&problem, &mut theta, factor, s, &mut ws, solver)
                }
                (Some(solver), _) => newton(&problem, &mut theta, s, solver, &mut ws),
                // Every Newton step of the sparse path costs about one pass
                // over the replicate, so there is nothing to gain from a
                // fixed Hessian.
                (None, _) => newton(
                    &problem,
                    &mut theta,
                    s,
                    &mut SparseSolver::new(&problem),
                    &mut ws,
                ),
            };
            if !outcome.converged {
                unconverged += 1;
            }
            out.extend(theta.iter().map(|t| BASE_RATING + RATING_SCALE * t));
        }
        (out, unconverged)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(s.rounds.max(1));
    let per = s.rounds.div_ceil(threads);
    let ranges: Vec<std::ops::Range<usize>> = (0..threads)
        .map(|t| (t * per).min(s.rounds)..((t + 1) * per).min(s.rounds))
        .filter(|r| !r.is_empty())
        .collect();
    let results: Vec<(Vec<f64>, usize)> = if ranges.len() <= 1 {
        ranges.into_iter().map(&run_rounds).collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = ranges
                .into_iter()
                .map(|r| {
                    let run = &run_rounds;
                    scope.spawn(move || run(r))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut samples = vec![0.0; s.rounds * k];
    let mut unconverged = 0;
    let mut round = 0;
    for (thetas, missed) in results {
        unconverged += missed;
        for replicate in thetas.chunks_exact(k) {
            for (m, &r) in replicate.iter().enumerate() {
                samples[m * s.rounds + round] = r;
            }
            round += 1;
        }
    }

    let lo_q = (1.0 - s.level) / 2.0;
    let hi_q = 1.0 - lo_q;
    let mut lower = vec![0.0; k];
    let mut upper = vec![0.0; k];
    for m in 0..k {
        let column = &mut samples[m * s.rounds..(m + 1) * s.rounds];
        column.sort_by(f64::total_cmp);
        lower[m] = percentile(column, lo_q);
        upper[m] = percentile(column, hi_q);
    }
    BootstrapRaw {
        lower,
        upper,
        rounds: s.rounds,
        unconverged,
    }
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
