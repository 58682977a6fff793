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

use super::super::bootstrap::{BootstrapRaw, Replicates, on_threads, summarise};
use super::super::input::Settings;
use super::super::sampling::VoteSampler;
use super::super::structure::Structure;
use super::super::{BASE_RATING, RATING_SCALE};
use super::fit::{Model, Work};
use super::rows::Rows;

/// Where the replicates come from.
#[derive(Clone, Copy)]
pub(super) enum Resample<'a> {
    /// `rounds` replicates, round `r` drawn from stream `r` of ChaCha8 seeded with `seed`.
    Seeded { rounds: usize, seed: u64 },
    /// One replicate per list of vote indices (indices of unused votes are ignored).
    Given(&'a [Vec<usize>]),
}

impl Resample<'_> {
    pub(super) fn rounds(&self) -> usize {
        match self {
            Resample::Seeded { rounds, .. } => *rounds,
            Resample::Given(lists) => lists.len(),
        }
    }
}

/// Percentile bounds over the replicates of `resample`, each refitted from `x_hat`, the
/// full-data optimum of `full`.
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
        return BootstrapRaw::empty(k);
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
            resample.counts(round, sampler.as_ref(), rows, &mut draws, &mut counts);
            let (ratings, converged) = refit(full, x_hat, &counts, s, &mut work);
            if !converged {
                unconverged += 1;
            }
            out.push((round, ratings));
        }
        Replicates {
            ratings: out,
            unconverged,
            factorisations: 0,
        }
    };
    let results = on_threads(rounds, run_rounds);
    summarise(results, rounds, k, s.level)
}

impl Resample<'_> {
    /// Round `round`'s row counts into `counts` (`draws`: the sampler's output, for
    /// seeded replicates).
    fn counts(
        &self,
        round: usize,
        sampler: Option<&VoteSampler>,
        rows: &Rows,
        draws: &mut [u64],
        counts: &mut [f64],
    ) {
        match *self {
            Resample::Seeded { seed, .. } => {
                if let Some(sampler) = sampler {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    rng.set_stream(round as u64);
                    sampler.draw(&mut rng, draws);
                }
                for (c, &d) in counts.iter_mut().zip(draws.iter()) {
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
    }
}

/// Refits the replicate of row counts `counts` from `x_hat`, analysed and centred like any
/// fit when its groups differ from the full data's: its ratings, and whether it converged.
fn refit(
    full: &Model,
    x_hat: &[f64],
    counts: &[f64],
    s: &Settings,
    work: &mut Work,
) -> (Vec<f64>, bool) {
    let rows = full.rows;
    let k = rows.k;
    let structure = Structure::analyse(k, &rows.pair_counts(counts));
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
    let converged = model.newton(counts, &mut x, s, work, false).converged;
    let ratings = x[..k]
        .iter()
        .map(|t| BASE_RATING + RATING_SCALE * t)
        .collect();
    (ratings, converged)
}
