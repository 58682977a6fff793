//! Bradley–Terry ratings from aggregated pairwise votes.
//!
//! # Model
//!
//! Every model `k` has a strength `θ_k`. When `i` meets `j`, `i` is preferred
//! with probability `σ(θ_i − θ_j) = 1 / (1 + e^−(θ_i − θ_j))`. A tie (of
//! either kind) counts as half a win for each side, so a cell holding
//! `wins_i`, `wins_j` and `ties` adds `s·d − n·ln(1 + e^d)` to the
//! log-likelihood, with `d = θ_i − θ_j`, `n = wins_i + wins_j + ties` and
//! `s = wins_i + ties / 2`. Only differences of strengths are identified.
//!
//! # Estimator
//!
//! Strengths are the maximum-likelihood estimate, found by Newton's method on
//! the aggregated cells, independent of the number of votes. Far from the
//! optimum the step is damped by a backtracking line search, which keeps the
//! iteration monotone on the concave log-likelihood; close to it full steps
//! converge quadratically. The fit stops when the largest step is below
//! `tolerance` (log-odds units) or after `max_iterations` steps.
//!
//! The Newton step is solved on one of two paths that compute the same
//! estimates (to far below the tolerance), chosen by `choose_path`:
//!
//! * dense, for up to a few hundred models or dense comparison graphs:
//!   assembling the `K × K` Hessian costs `O(#cells + K²)` and its Cholesky
//!   factor `O(K³)`;
//! * sparse, for large sparse graphs (from 400 models when fewer than `K²/64`
//!   pairs have votes, and always from 2,048): the Hessian is a weighted
//!   graph Laplacian plus, in regularised groups, a diagonal and a rank-two
//!   term, never formed; each step takes one or two solves by conjugate
//!   gradients preconditioned with a maximum-weight spanning forest, exact
//!   in one pass when the graph is a forest. Memory is `O(#cells + K)`.
//!   See `sparse` and `laplacian`.
//!
//! Strengths are centred to mean zero within each connected group of the
//! comparison graph. Displayed ratings are `1000 + 400·θ / ln 10`, optionally
//! shifted by a constant so that an anchor model gets a chosen rating (the
//! convention of pinning one reference model, e.g. a model at 1114).
//!
//! # Conventions matched
//!
//! Ratings and sandwich intervals reproduce LMArena's `arena-rank` 0.1.1 with
//! its defaults (no reweighting, ties worth 0.5):
//!
//! * its loss is the mean negative log-likelihood with no prior and no L2
//!   term, minimised by L-BFGS started at zero. Every gradient of that loss
//!   sums to zero over each connected group, so L-BFGS never leaves the
//!   subspace where each group's strengths sum to zero: its optimum is the
//!   centred MLE computed here. Its stopping rule (relative loss change
//!   below 1e-9) leaves it a few thousandths of a rating point short of the
//!   exact optimum, which bounds how closely the two can agree.
//! * its sandwich covariance is `H⁻¹ M H⁻¹` with
//!   `H = Σ_cells n·p(1−p)·(e_i − e_j)(e_i − e_j)ᵀ + 1e-5·N·I`, `N` the total
//!   number of votes, and
//!   `M = Σ_cells [wins_i (1−p)² + wins_j p² + ties (½ − p)²]·(e_i − e_j)(e_i − e_j)ᵀ`,
//!   the sum over single votes of the outer product of their score. The
//!   ridge `1e-5·N` is how it makes the shift-invariant Hessian invertible
//!   (a plain inverse follows, no pseudo-inverse and no dropped reference);
//!   it is reproduced because it moves the bounds slightly.
//! * bounds are `θ ± z·√Cov_kk` with `z = Φ⁻¹(1 − (1 − level)/2)`, the exact
//!   normal quantile (1.959963984540054 at 95%), computed here with the
//!   AS241 rational approximation (about 1e-16 relative error).
//!
//! On the sparse path the diagonal of `H⁻¹ M H⁻¹` comes from `min(m, #cells)`
//! solves per connected group of `m` models, exact to the solver tolerance
//! (see `sandwich`). When those would exceed a work budget (a chain of about
//! 28,000 models, or a well-mixed graph of 4,000 with ten opponents each)
//! the sandwich is skipped with a note, never approximated: its bounds
//! collapse onto the ratings, and bootstrap bounds are computed as usual.
//!
//! # When the maximum-likelihood estimate does not exist
//!
//! Within a connected group the MLE is finite exactly when the graph "`u`
//! scored at least half a point against `v`" is strongly connected. Otherwise
//! (a model that never lost, one that never won, or more generally a set of
//! models never beaten by the rest) some differences run off to infinity.
//! Only in such a group, each member receives one virtual tied vote against
//! the average strength of its group; this keeps every rating finite, leaves
//! the shift invariance intact and barely moves models with real data. The
//! sandwich Hessian then includes the curvature of these virtual votes. A
//! rating whose data give no bound on one side is flagged in
//! `unbounded_above` / `unbounded_below` (a model that never lost is unbounded
//! above; one that never won, below; one in between two such sets, both),
//! and its reported bound on that side, sandwich and bootstrap alike, is the
//! rating ± [`UNBOUNDED_MARGIN`], wide but finite. The largest strongly
//! connected set of a group, when it is strictly the largest, is the
//! group's reference and is not flagged.
//!
//! A model with no votes forms a group of its own: it sits at the base
//! rating with a zero-width interval, which is what the reference's ridge
//! gives too, and a note says that its rating carries no information.
//!
//! # Bootstrap
//!
//! A bootstrap replicate redraws `N` votes with replacement. Instead of
//! drawing votes one by one, the (pair, outcome) counts are drawn from the
//! multinomial distribution with the observed proportions `w_c / W`, in
//! `O(categories)` whatever `N` is, and exactly:
//!
//! * each category first gets an independent Poisson count of mean
//!   `w_c·(N − 4√N) / W`. Given their sum `T`, such counts are exactly
//!   `Multinomial(T, w / W)`; a draw with `T > N` (about 3 in 100,000) is
//!   thrown away, which depends on `T` alone and so keeps that law, and the
//!   `N − T` missing votes (about `4√N`) are drawn one by one from an alias
//!   table, which makes the counts `Multinomial(N, w / W)`.
//! * the means are the same in every round, and counts are mostly small
//!   integers shared by many categories (200 models and a million votes
//!   give 54,000 categories but fewer than 400 distinct counts), so each
//!   distinct mean gets its sampler once: for means up to 1024, an alias
//!   table of its distribution (values whose probabilities add up to less
//!   than 1e-21 left out) with a power-of-two number of slots, so that one
//!   32-bit word picks the slot and starts the uniform that decides between
//!   the slot's two values, a second word deciding only on a tie of those
//!   bits: exact to 2^-85. Past a memory budget, or above 1024, Hörmann's
//!   transformed rejection (PTRS) with its constants computed once, or a
//!   sequential search of the distribution function for means below 10.
//! * the chain of conditional binomials, category `c` receiving
//!   `Binomial(left, w_c / Σ_{d≥c} w_d)`, is used for totals above 2^50
//!   votes, where `f64` no longer resolves single votes, and after 4
//!   overshoots in a row (a chance of 1e-18). Its variates are exact:
//!   sequential inversion of the CDF when the mean `n·min(p, 1−p)` is below
//!   10, and otherwise the transformed rejection method with squeeze
//!   (BTRS). Both rejection methods test acceptance with the Stirling
//!   series for `ln k!` with a tabulated correction for `k < 10` (error
//!   below 1e-12, far under sampling noise).
//! * when `N` is at most four times the number of categories, drawing the
//!   `N` votes from an alias table is cheaper and is used instead.
//!
//! The chain of binomials was the sampler for all sizes until it was
//! profiled at 80% of the bootstrap's time (1M votes, 200 models): each of
//! its variates has a new `(n, p)`, so each pays for logarithms and
//! set-up, and an existing exact sampler (BTPE, as in `rand_distr`) has the
//! same cost per new `(n, p)`. The fixed Poisson means let all of that be
//! done once; a category now costs about two nanoseconds, half of them the
//! ChaCha8 word, against about fifty.
//!
//! Each replicate is refitted from the full-data strengths. The structure
//! of a replicate (groups, regularisation, flags) depends only on which
//! scoring edges it kept, and a replicate can only lose edges; it is the
//! full data's when every strongly connected group still is and every
//! regularised group kept all its edges, which a search from one member of
//! each group settles (stopping as soon as all members are reached, after
//! a few adjacency lists in a dense group). Otherwise the replicate is
//! analysed again and centred like any fit, including the virtual votes
//! when its MLE does not exist.
//!
//! On the dense path, a replicate with the full data's structure is
//! refitted group by group (groups share no pair, so each has its own
//! optimum) by fixed-Hessian Newton steps that reuse the Cholesky factor of
//! the group's full-data Hessian: one gradient and two triangular solves
//! per step, combined by Anderson acceleration over the last three, and
//! falling back to full Newton steps when those contract slowly. Group by
//! group, a small group whose replicates move a lot (two models with thirty
//! votes contract at about one half per plain step) costs no extra steps
//! over the big groups (about one tenth per plain step, 6 to 7 steps with
//! the acceleration instead of 8). The gradient takes
//! `e^θ` per model and `σ(θ_i − θ_j) = e^θ_i / (e^θ_i + e^θ_j)` per pair, one
//! division instead of an exponential. A replicate whose structure changed
//! is refitted as a whole, by the same fixed-Hessian steps with the factor
//! of the whole Hessian while its groups are the same or have only lost
//! models that are alone now (each step then centred within the
//! replicate's groups), by Newton steps otherwise. The second case is the
//! usual one as soon as a few models with a vote or two join: each loses
//! all its votes in about a third of the replicates, and refitting those
//! by Newton's method, a factorisation per step, took longer than all the
//! other replicates together. With such models (at most 30 votes) every
//! replicate is refitted as a whole, by fixed-Hessian steps that take the
//! exact curvature of those models' rows (a bordered factor: the full
//! data's factor for the others, whose solves for those models' columns
//! are made once, so that a step costs the two triangular solves of a plain
//! one), since a replicate changes their counts, and so their curvature,
//! by a large fraction; the replicate's groups then come from searches
//! from one member of each group rather than a whole analysis. On the
//! sparse path every replicate takes Newton steps as in
//! the fit, each about as cheap as a fixed-Hessian step. Either way the
//! refit stops at the replicate's own optimum (the two paths' bounds agree
//! to about the tolerance).
//!
//! Rounds are spread over up to 8 threads, each taking the next round when
//! it finishes one; the sampler is made on a thread of its own while the
//! full data is fitted. Round `r` draws from stream `r` of ChaCha8 seeded with
//! `seed`, so a seed reproduces the bounds on every platform and any number
//! of threads. Bounds are the linearly interpolated percentiles
//! `(1 − level)/2` and `1 − (1 − level)/2` of the replicate ratings, the
//! interpolation `numpy` uses by default. The reference resamples the same
//! multinomial with another generator, so its bootstrap bounds agree with
//! these only up to Monte Carlo error.

mod bootstrap;
mod bordered;
pub mod contextual;
mod dense;
mod input;
mod laplacian;
mod likelihood;
mod newton;
#[cfg(test)]
mod path_tests;
mod report;
mod sampling;
mod sandwich;
mod sparse;
mod structure;
#[cfg(test)]
mod tests;

use bootstrap::{Draws, bootstrap};
use dense::DenseSolver;
use input::{Settings, canonical_pairs};
use likelihood::Problem;
use newton::{Outcome, Workspace, newton};
use report::Report;
use sandwich::{Missing, SANDWICH_BUDGET, dense_variances, sparse_variances};
use sparse::SparseSolver;
use structure::{Structure, describe};

/// Display rating of a strength of zero.
pub const BASE_RATING: f64 = 1000.0;
/// Rating points per unit of log-odds: 400 points multiply the odds by 10.
pub const RATING_SCALE: f64 = 400.0 / std::f64::consts::LN_10;
/// Distance from the rating at which a bound that the data do not limit is
/// reported.
pub const UNBOUNDED_MARGIN: f64 = 1000.0;
/// Largest number of bootstrap rounds run; more would only spend memory.
pub const MAX_BOOTSTRAP_ROUNDS: usize = 100_000;

/// Ridge added to the sandwich Hessian, per vote, as the reference does.
const HESSIAN_RIDGE: f64 = 1e-5;
/// Virtual tied votes given to each model of a group without a finite MLE.
const PRIOR_VOTES: f64 = 1.0;
/// Largest Newton step taken without a line search: within it the curvature
/// changes by less than a factor of two, so the full step cannot overshoot.
const FULL_STEP_RADIUS: f64 = 0.25;

/// Votes between two models, `i != j`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cell {
    pub i: usize,
    pub j: usize,
    pub wins_i: f64,
    pub wins_j: f64,
    pub ties: f64,
}

/// Aggregated votes over `n_models` models. Several cells for the same pair
/// are added together; the orientation of a cell does not matter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Comparisons {
    pub n_models: usize,
    pub cells: Vec<Cell>,
    /// Model names for the notes; indexes are used where a name is missing.
    pub names: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BtOptions {
    /// `(model, rating)`: shift all ratings and bounds so that this model has
    /// this rating.
    pub anchor: Option<(usize, f64)>,
    /// Coverage of the intervals, in (0, 1).
    pub ci_level: f64,
    /// Bootstrap replicates; 0 skips the bootstrap.
    pub bootstrap_rounds: usize,
    pub seed: u64,
    /// Largest Newton step, in log-odds, at which the fit counts as
    /// converged (1e-8 is about 2e-6 rating points).
    pub tolerance: f64,
    pub max_iterations: usize,
}

impl Default for BtOptions {
    fn default() -> Self {
        Self {
            anchor: None,
            ci_level: 0.95,
            bootstrap_rounds: 0,
            seed: 0,
            tolerance: 1e-8,
            max_iterations: 100,
        }
    }
}

/// Percentile bootstrap bounds, on the display scale.
#[derive(Clone, Debug, PartialEq)]
pub struct Bootstrap {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub rounds: usize,
    pub seed: u64,
    /// Replicates whose refit hit the iteration limit (still used).
    pub unconverged: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BtFit {
    /// Display-scale ratings.
    pub ratings: Vec<f64>,
    pub sandwich_lower: Vec<f64>,
    pub sandwich_upper: Vec<f64>,
    pub bootstrap: Option<Bootstrap>,
    pub converged: bool,
    pub iterations: usize,
    /// Human-readable remarks on the data: disconnected groups, models
    /// without votes, diverging ratings, ignored input.
    pub notes: Vec<String>,
    /// Connected group of each model, numbered by smallest member; ratings
    /// are comparable only within a group.
    pub component: Vec<usize>,
    /// The data put no upper limit on this rating (see the module docs).
    pub unbounded_above: Vec<bool>,
    /// The data put no lower limit on this rating.
    pub unbounded_below: Vec<bool>,
}

/// How the linear algebra is done; both paths compute the same estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// `K × K` Hessian and Cholesky factor.
    Dense,
    /// Matrix-free products and preconditioned conjugate gradients.
    Sparse,
}

/// Fewest models for which the sparse path is considered.
const SPARSE_MIN_MODELS: usize = 400;
/// From this many models on, the sparse path is taken whatever the density:
/// the dense path would hold several `K × K` matrices (32 MB each at this
/// size) and spend seconds per factorisation.
const DENSE_MAX_MODELS: usize = 2048;
/// The sparse path is taken when the pairs with votes are fewer than `K²`
/// over this (an average of fewer than `K/32` opponents per model).
const SPARSE_DENSITY: f64 = 64.0;

/// The sparse path for `K ≥ 2048`, and for `K ≥ 400` when the pairs with
/// votes number fewer than `K²/64`; the dense path otherwise.
///
/// The dense path costs `O(K³)` whatever the graph; the sparse path's
/// sandwich costs about `K·#pairs` times the conjugate-gradient iterations
/// (one on a forest, 15 to 30 on well-mixed graphs). Measured on random
/// graphs, the two break even at about `K²/64` pairs (at 400, 1,000 and
/// 1,500 models alike), and on chain-like graphs the sparse path is faster
/// by one to three orders of magnitude, mostly in the bootstrap. Below 400
/// models a dense fit takes milliseconds.
fn choose_path(k: usize, pairs: usize) -> Path {
    let sparse_enough = (pairs as f64) * SPARSE_DENSITY < (k as f64) * (k as f64);
    if k >= DENSE_MAX_MODELS || (k >= SPARSE_MIN_MODELS && sparse_enough) {
        Path::Sparse
    } else {
        Path::Dense
    }
}

/// Fits strengths, sandwich intervals and, if asked, bootstrap intervals.
/// Never panics on bad input: invalid cells and options are ignored or
/// replaced by defaults, with a note.
pub fn fit(c: &Comparisons, o: &BtOptions) -> BtFit {
    fit_with(c, o, Plan::default())
}

/// Choices [`fit`] makes by itself, which tests override.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// `None`: as [`choose_path`] picks.
    path: Option<Path>,
    /// Largest work of the sparse sandwich (see [`SANDWICH_BUDGET`]).
    sandwich_budget: f64,
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            path: None,
            sandwich_budget: SANDWICH_BUDGET,
        }
    }
}

fn fit_with(c: &Comparisons, o: &BtOptions, plan: Plan) -> BtFit {
    let mut notes = Vec::new();
    let settings = Settings::new(o, c.n_models, &mut notes);
    let k = c.n_models;
    let pairs = canonical_pairs(c, &mut notes);
    let total: f64 = pairs.iter().map(|p| p.n).sum();
    let structure = Structure::analyse(k, &pairs);
    describe(k, total, &structure, &c.names, true, &mut notes);
    let path = plan.path.unwrap_or_else(|| choose_path(k, pairs.len()));

    let problem = Problem {
        k,
        pairs: &pairs,
        structure: &structure,
    };
    // The bootstrap's sampler needs only the pairs: it is made on another
    // thread while this one fits the full data and computes the sandwich.
    std::thread::scope(|scope| {
        let draws = (settings.rounds > 0).then(|| scope.spawn(|| Draws::new(&pairs)));
        let mut theta = vec![0.0; k];
        let outcome = fit_strengths(&problem, &mut theta, &settings, path);
        if !outcome.converged {
            notes.push(format!(
                "the fit stopped after {} iterations without reaching the tolerance",
                outcome.iterations
            ));
        }

        let z = normal_quantile(1.0 - (1.0 - settings.level) / 2.0);
        let se = standard_errors(&problem, &theta, total, path, plan, &mut notes);
        let report = Report::new(&theta, settings.anchor, &structure);
        let sandwich = report.sandwich(&se, z);
        let bootstrap = draws.map(|draws| {
            let draws = draws
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            let b = bootstrap(&problem, &theta, &settings, path, draws);
            report.bootstrap(&b, settings.seed, &mut notes)
        });
        report.board(sandwich, bootstrap.flatten(), outcome, notes)
    })
}

/// The maximum-likelihood strengths (centred within groups) into `theta`, from zero, by
/// Newton's method on `path`.
fn fit_strengths(problem: &Problem, theta: &mut [f64], settings: &Settings, path: Path) -> Outcome {
    let mut ws = Workspace::new(problem.k);
    match path {
        Path::Dense => newton(
            problem,
            theta,
            settings,
            &mut DenseSolver::new(problem.k),
            &mut ws,
        ),
        Path::Sparse => newton(
            problem,
            theta,
            settings,
            &mut SparseSolver::new(problem),
            &mut ws,
        ),
    }
}

/// Sandwich standard errors in log-odds, or zeros with a note saying why there are none.
fn standard_errors(
    problem: &Problem,
    theta: &[f64],
    total: f64,
    path: Path,
    plan: Plan,
    notes: &mut Vec<String>,
) -> Vec<f64> {
    let variances = match path {
        Path::Dense => dense_variances(problem, theta, total).ok_or(Missing::Failed),
        Path::Sparse => sparse_variances(problem, theta, total, plan.sandwich_budget),
    };
    match variances {
        Ok(v) => v.iter().map(|x| x.max(0.0).sqrt()).collect(),
        Err(Missing::Failed) => {
            notes.push("the sandwich covariance could not be computed; its bounds collapse onto the ratings".to_string());
            vec![0.0; problem.k]
        }
        Err(Missing::OverBudget(work)) => {
            notes.push(format!(
                "the sandwich intervals were skipped: computing them exactly for this comparison graph would take about {work:.1e} operations, over the budget of {:.0e}; their bounds collapse onto the ratings (bootstrap bounds are not affected)",
                plan.sandwich_budget
            ));
            vec![0.0; problem.k]
        }
    }
}

/// Rank by upper bound: `1 + #{m : lower[m] > upper[this]}`, i.e. one plus
/// the number of models that are better with confidence. Has the length of
/// `upper`; all of `lower` is counted.
pub fn rank_ub(lower: &[f64], upper: &[f64]) -> Vec<usize> {
    let mut sorted: Vec<f64> = lower.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    upper
        .iter()
        .map(|u| 1 + sorted.partition_point(|l| l > u))
        .collect()
}

/// Ordinary competition rank by rating, 1 for the highest; equal ratings
/// share a rank.
pub fn rank(ratings: &[f64]) -> Vec<usize> {
    rank_ub(ratings, ratings)
}

/// Inverse of the standard normal CDF, by the AS241 rational approximation
/// (relative error about 1e-16). Returns ±infinity at 0 and 1 and NaN
/// outside [0, 1].
pub fn normal_quantile(p: f64) -> f64 {
    const CENTRAL_NUM: [f64; 8] = [
        2509.0809287301227,
        33430.57558358813,
        67265.7709270087,
        45921.95393154987,
        13731.69376550946,
        1971.5909503065513,
        133.14166789178438,
        3.3871328727963665,
    ];
    const CENTRAL_DEN: [f64; 8] = [
        5226.495278852854,
        28729.085735721943,
        39307.89580009271,
        21213.794301586597,
        5394.196021424751,
        687.1870074920579,
        42.31333070160091,
        1.0,
    ];
    const NEAR_NUM: [f64; 8] = [
        0.0007745450142783414,
        0.022723844989269184,
        0.2417807251774506,
        1.2704582524523684,
        3.6478483247632045,
        5.769497221460691,
        4.630337846156546,
        1.4234371107496835,
    ];
    const NEAR_DEN: [f64; 8] = [
        1.0507500716444169e-09,
        0.0005475938084995345,
        0.015198666563616457,
        0.14810397642748008,
        0.6897673349851,
        1.6763848301838038,
        2.053191626637759,
        1.0,
    ];
    const FAR_NUM: [f64; 8] = [
        2.0103343992922881e-07,
        2.7115555687434876e-05,
        0.0012426609473880784,
        0.026532189526576124,
        0.29656057182850487,
        1.7848265399172913,
        5.463784911164114,
        6.657904643501103,
    ];
    const FAR_DEN: [f64; 8] = [
        2.0442631033899397e-15,
        1.421511758316446e-07,
        1.8463183175100548e-05,
        0.0007868691311456133,
        0.014875361290850615,
        0.1369298809227358,
        0.599832206555888,
        1.0,
    ];
    // Horner's rule, highest degree first, in the reference operation order.
    let horner = |c: &[f64; 8], x: f64| c.iter().fold(0.0, |acc, &v| acc * x + v);

    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return horner(&CENTRAL_NUM, r) * q / horner(&CENTRAL_DEN, r);
    }
    let tail = if q <= 0.0 { p } else { 1.0 - p };
    if tail <= 0.0 {
        return if q < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let r = (-tail.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        horner(&NEAR_NUM, r) / horner(&NEAR_DEN, r)
    } else {
        let r = r - 5.0;
        horner(&FAR_NUM, r) / horner(&FAR_DEN, r)
    };
    if q < 0.0 { -x } else { x }
}
