//! The bootstrap of the contextual fit: replicates that redraw the `N` votes with
//! replacement (as row counts, by the plain bootstrap's exact multinomial sampler, or from
//! given resampling indices), each refitted from the full-data optimum, summarised by
//! percentiles.
//!
//! A replicate keeps every vote's standardised features and weight, as the reference
//! does: only which votes are in it, and how often, changes.

use std::sync::atomic::{AtomicUsize, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::super::bootstrap::{BootstrapRaw, percentile};
use super::super::input::Settings;
use super::super::sampling::VoteSampler;
use super::super::structure::Structure;
use super::super::{BASE_RATING, RATING_SCALE};
use super::fit::{Model, Work};

/// Where the replicates come from.
#[derive(Clone, Copy)]
pub(super) enum Resample<'a> {
    /// `rounds` replicates, round `r` drawn from stream `r` of ChaCha8 seeded with `seed`.
    Seeded { rounds: usize, seed: u64 },
    /// One replicate per list of vote indices (indices of unused votes are ignored).
    Given(&'a [Vec<usize>]),
}

impl Resample<'_> {
    fn rounds(&self) -> usize {
        match self {
            Resample::Seeded { rounds, .. } => *rounds,
            Resample::Given(lists) => lists.len(),
        }
    }
}

/// What one thread computed: `(round, ratings)` per replicate, and how many of its refits
/// hit the iteration limit.
type Replicates = (Vec<(usize, Vec<f64>)>, usize);

pub(super) fn bootstrap(
    full: &Model,
    x_hat: &[f64],
    s: &Settings,
    resample: Resample,
) -> BootstrapRaw {
    let rows = full.rows;
    let k = rows.k;
    let rounds = resample.rounds();
    let n = rows.total;
    if rounds == 0 || n < 1.0 || rows.count.is_empty() {
        return BootstrapRaw {
            lower: vec![0.0; k],
            upper: vec![0.0; k],
            rounds: 0,
            unconverged: 0,
            factorisations: 0,
        };
    }
    let sampler = match resample {
        Resample::Seeded { .. } => Some(VoteSampler::per_category(n as u64, &rows.count)),
        Resample::Given(_) => None,
    };

    let next = AtomicUsize::new(0);
    let run_rounds = || -> Replicates {
        let mut work = Work::new(rows);
        let mut draws = vec![0u64; rows.count.len()];
        let mut counts = vec![0.0f64; rows.count.len()];
        let mut out = Vec::new();
        let mut unconverged = 0;
        loop {
            let round = next.fetch_add(1, Ordering::Relaxed);
            if round >= rounds {
                break;
            }
            match resample {
                Resample::Seeded { seed, .. } => {
                    if let Some(sampler) = &sampler {
                        let mut rng = ChaCha8Rng::seed_from_u64(seed);
                        rng.set_stream(round as u64);
                        sampler.draw(&mut rng, &mut draws);
                    }
                    for (c, &d) in counts.iter_mut().zip(&draws) {
                        *c = d as f64;
                    }
                }
                Resample::Given(lists) => {
                    counts.fill(0.0);
                    for &v in &lists[round] {
                        if let Some(&r) = rows.row_of_vote.get(v)
                            && let Some(c) = counts.get_mut(r as usize)
                        {
                            *c += 1.0;
                        }
                    }
                }
            }
            let structure = Structure::analyse(k, &rows.pair_counts(&counts));
            let mut x = x_hat.to_vec();
            let same_groups = structure.component == full.structure.component
                && structure.regularised == full.structure.regularised;
            if !same_groups {
                for group in &structure.members {
                    let mean = group.iter().map(|&v| x[v]).sum::<f64>() / group.len() as f64;
                    for &v in group {
                        x[v] -= mean;
                    }
                }
            }
            let model = Model {
                structure: &structure,
                ..*full
            };
            if !model.newton(&counts, &mut x, s, &mut work, false).converged {
                unconverged += 1;
            }
            out.push((
                round,
                x[..k]
                    .iter()
                    .map(|t| BASE_RATING + RATING_SCALE * t)
                    .collect(),
            ));
        }
        (out, unconverged)
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(rounds);
    let results: Vec<Replicates> = std::thread::scope(|scope| {
        let run = &run_rounds;
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(run)).collect();
        let mut results = vec![run()];
        results.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
        );
        results
    });
    let mut samples = vec![0.0; rounds * k];
    let mut unconverged = 0;
    for (done, bad) in results {
        unconverged += bad;
        for (round, ratings) in done {
            for (m, &r) in ratings.iter().enumerate() {
                samples[m * rounds + round] = r;
            }
        }
    }
    let lo_q = (1.0 - s.level) / 2.0;
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
        factorisations: 0,
    }
}
