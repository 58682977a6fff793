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
//! the aggregated cells: assembling the gradient and Hessian costs
//! `O(#cells + K²)` and the Cholesky solve `O(K³)`, independent of the number
//! of votes. Far from the optimum the step is damped by a backtracking line
//! search, which keeps the iteration monotone on the concave log-likelihood;
//! close to it full steps converge quadratically. The fit stops when the
//! largest step is below `tolerance` (log-odds units) or after
//! `max_iterations` steps.
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
//! multinomial distribution with the observed proportions, as a chain of
//! conditional binomials: category `c` receives `Binomial(left, w_c / Σ_{d≥c}
//! w_d)`. That costs one binomial variate per non-empty category regardless
//! of `N`. Binomial variates are exact: sequential inversion of the CDF when
//! the mean `n·min(p, 1−p)` is below 10, and otherwise the transformed
//! rejection method with squeeze (BTRS), whose acceptance test uses the
//! Stirling series for `ln k!` with a tabulated correction for `k < 10`
//! (error below 1e-12, far under sampling noise); when `N` is at most four
//! times the number of categories, drawing the `N` votes from an alias table
//! is cheaper and is used instead. Each replicate is refitted from the
//! full-data strengths by fixed-Hessian Newton steps that reuse the
//! full-data Cholesky factor (one gradient and two triangular solves per
//! step), falling back to full Newton steps when those contract slowly; either
//! way the refit stops at the replicate's own optimum. A replicate whose
//! graph changed (a pair lost all its votes) is re-analysed and centred like
//! any fit, including the virtual votes when its MLE does not exist. Bounds
//! are the linearly interpolated percentiles `(1 − level)/2` and
//! `1 − (1 − level)/2` of the replicate ratings, the interpolation `numpy`
//! uses by default. Random numbers come from ChaCha8 seeded with `seed`, so a
//! seed reproduces the bounds on every platform. The reference resamples the
//! same multinomial with another generator, so its bootstrap bounds agree
//! with these only up to Monte Carlo error.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

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

/// Fits strengths, sandwich intervals and, if asked, bootstrap intervals.
/// Never panics on bad input: invalid cells and options are ignored or
/// replaced by defaults, with a note.
pub fn fit(c: &Comparisons, o: &BtOptions) -> BtFit {
    let mut notes = Vec::new();
    let settings = Settings::new(o, c.n_models, &mut notes);
    let k = c.n_models;
    let pairs = canonical_pairs(c, &mut notes);
    let total: f64 = pairs.iter().map(|p| p.n).sum();
    let structure = Structure::analyse(k, &pairs);
    describe(k, total, &structure, &c.names, &mut notes);

    let problem = Problem {
        k,
        pairs: &pairs,
        structure: &structure,
    };
    let mut ws = Workspace::new(k);
    let mut theta = vec![0.0; k];
    let outcome = newton(&problem, &mut theta, &settings, &mut ws);
    if !outcome.converged {
        notes.push(format!(
            "the fit stopped after {} iterations without reaching the tolerance",
            outcome.iterations
        ));
    }

    let z = normal_quantile(1.0 - (1.0 - settings.level) / 2.0);
    let se = match sandwich_variances(&problem, &theta, total) {
        Some(v) => v.iter().map(|x| x.max(0.0).sqrt()).collect(),
        None => {
            notes.push("the sandwich covariance could not be computed; its bounds collapse onto the ratings".to_string());
            vec![0.0; k]
        }
    };

    let raw: Vec<f64> = theta
        .iter()
        .map(|t| BASE_RATING + RATING_SCALE * t)
        .collect();
    let shift = settings
        .anchor
        .map_or(0.0, |(model, rating)| rating - raw[model]);
    let ratings: Vec<f64> = raw.iter().map(|r| r + shift).collect();
    let widen = |bounds: Vec<f64>, upper: bool| -> Vec<f64> {
        bounds
            .iter()
            .enumerate()
            .map(|(m, &b)| {
                if upper && structure.above[m] {
                    ratings[m] + UNBOUNDED_MARGIN
                } else if !upper && structure.below[m] {
                    ratings[m] - UNBOUNDED_MARGIN
                } else {
                    b
                }
            })
            .collect()
    };
    let sandwich_lower = widen(
        ratings
            .iter()
            .zip(&se)
            .map(|(r, s)| r - RATING_SCALE * z * s)
            .collect(),
        false,
    );
    let sandwich_upper = widen(
        ratings
            .iter()
            .zip(&se)
            .map(|(r, s)| r + RATING_SCALE * z * s)
            .collect(),
        true,
    );

    let bootstrap = if settings.rounds > 0 {
        let b = bootstrap(&problem, &theta, &settings, &mut ws);
        if b.unconverged > 0 {
            notes.push(format!(
                "{} of {} bootstrap refits hit the iteration limit",
                b.unconverged, b.rounds
            ));
        }
        if b.rounds == 0 {
            notes.push("no votes to resample: the bootstrap was skipped".to_string());
            None
        } else {
            let lower = b.lower.iter().map(|x| x + shift).collect();
            let upper = b.upper.iter().map(|x| x + shift).collect();
            Some(Bootstrap {
                lower: widen(lower, false),
                upper: widen(upper, true),
                rounds: b.rounds,
                seed: settings.seed,
                unconverged: b.unconverged,
            })
        }
    } else {
        None
    };

    BtFit {
        ratings,
        sandwich_lower,
        sandwich_upper,
        bootstrap,
        converged: outcome.converged,
        iterations: outcome.iterations,
        notes,
        component: structure.component.clone(),
        unbounded_above: structure.above.clone(),
        unbounded_below: structure.below.clone(),
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

// ---------------------------------------------------------------------------
// Input handling

/// Options after replacing unusable values.
#[derive(Clone, Copy)]
struct Settings {
    level: f64,
    tolerance: f64,
    max_iterations: usize,
    rounds: usize,
    seed: u64,
    anchor: Option<(usize, f64)>,
}

impl Settings {
    fn new(o: &BtOptions, k: usize, notes: &mut Vec<String>) -> Self {
        let defaults = BtOptions::default();
        let level = if o.ci_level > 0.0 && o.ci_level < 1.0 {
            o.ci_level
        } else {
            notes.push(format!(
                "ci_level {} is not in (0, 1); {} is used",
                o.ci_level, defaults.ci_level
            ));
            defaults.ci_level
        };
        let tolerance = if o.tolerance >= 0.0 && o.tolerance.is_finite() {
            o.tolerance
        } else {
            notes.push(format!(
                "tolerance {} is unusable; {} is used",
                o.tolerance, defaults.tolerance
            ));
            defaults.tolerance
        };
        let rounds = if o.bootstrap_rounds > MAX_BOOTSTRAP_ROUNDS {
            notes.push(format!("bootstrap rounds capped at {MAX_BOOTSTRAP_ROUNDS}"));
            MAX_BOOTSTRAP_ROUNDS
        } else {
            o.bootstrap_rounds
        };
        let anchor = match o.anchor {
            Some((m, r)) if m < k && r.is_finite() => Some((m, r)),
            Some((m, r)) => {
                notes.push(format!(
                    "anchor (model {m}, rating {r}) is not usable and was ignored"
                ));
                None
            }
            None => None,
        };
        Self {
            level,
            tolerance,
            max_iterations: o.max_iterations,
            rounds,
            seed: o.seed,
            anchor,
        }
    }
}

/// A pair of models `i < j` with at least one vote.
#[derive(Clone, Copy, Debug)]
struct Pair {
    i: usize,
    j: usize,
    wins_i: f64,
    wins_j: f64,
    ties: f64,
    /// Total votes.
    n: f64,
    /// Points scored by `i`, ties counting half.
    s: f64,
}

impl Pair {
    fn new(i: usize, j: usize, wins_i: f64, wins_j: f64, ties: f64) -> Self {
        Self {
            i,
            j,
            wins_i,
            wins_j,
            ties,
            n: wins_i + wins_j + ties,
            s: wins_i + 0.5 * ties,
        }
    }
}

/// Orients every cell as `i < j`, merges duplicates and drops empty or
/// invalid cells, so that results do not depend on cell order or
/// orientation.
fn canonical_pairs(c: &Comparisons, notes: &mut Vec<String>) -> Vec<Pair> {
    let valid_count = |x: f64| x.is_finite() && x >= 0.0;
    let mut rejected = 0usize;
    let mut raw: Vec<(usize, usize, f64, f64, f64)> = Vec::with_capacity(c.cells.len());
    for cell in &c.cells {
        let ok = cell.i != cell.j
            && cell.i < c.n_models
            && cell.j < c.n_models
            && valid_count(cell.wins_i)
            && valid_count(cell.wins_j)
            && valid_count(cell.ties);
        if !ok {
            rejected += 1;
        } else if cell.i < cell.j {
            raw.push((cell.i, cell.j, cell.wins_i, cell.wins_j, cell.ties));
        } else {
            raw.push((cell.j, cell.i, cell.wins_j, cell.wins_i, cell.ties));
        }
    }
    if rejected > 0 {
        notes.push(format!(
            "{rejected} cells were ignored (same model twice, unknown model, or a count that is negative or not finite)"
        ));
    }
    raw.sort_by_key(|r| (r.0, r.1));
    let mut merged: Vec<(usize, usize, f64, f64, f64)> = Vec::with_capacity(raw.len());
    for r in raw {
        match merged.last_mut() {
            Some(last) if last.0 == r.0 && last.1 == r.1 => {
                last.2 += r.2;
                last.3 += r.3;
                last.4 += r.4;
            }
            _ => merged.push(r),
        }
    }
    let pairs: Vec<Pair> = merged
        .into_iter()
        .map(|(i, j, a, b, t)| Pair::new(i, j, a, b, t))
        .filter(|p| p.n > 0.0)
        .collect();
    if pairs.iter().any(|p| !p.n.is_finite()) {
        // Counts near f64::MAX can overflow when added; such data cannot be
        // fitted, so they are dropped rather than turned into NaN.
        notes.push("cells whose total overflows were ignored".to_string());
        return pairs.into_iter().filter(|p| p.n.is_finite()).collect();
    }
    pairs
}

// ---------------------------------------------------------------------------
// Graph structure

/// Connectivity facts that decide centring, regularisation and flags.
struct Structure {
    component: Vec<usize>,
    members: Vec<Vec<usize>>,
    /// Per group: the MLE does not exist, virtual votes are added.
    regularised: Vec<bool>,
    above: Vec<bool>,
    below: Vec<bool>,
}

impl Structure {
    fn analyse(k: usize, pairs: &[Pair]) -> Self {
        let mut parent: Vec<usize> = (0..k).collect();
        for p in pairs {
            let a = find_root(&mut parent, p.i);
            let b = find_root(&mut parent, p.j);
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
        let mut label = vec![usize::MAX; k];
        let mut members: Vec<Vec<usize>> = Vec::new();
        let component: Vec<usize> = (0..k)
            .map(|v| {
                let root = find_root(&mut parent, v);
                if label[root] == usize::MAX {
                    label[root] = members.len();
                    members.push(Vec::new());
                }
                members[label[root]].push(v);
                label[root]
            })
            .collect();

        let graph = ScoreGraph::new(k, pairs);
        let scc = graph.strong_components();
        let n_scc = scc.iter().map(|s| s + 1).max().unwrap_or(0);
        let mut scc_size = vec![0usize; n_scc];
        for &s in &scc {
            scc_size[s] += 1;
        }
        let mut has_in = vec![false; n_scc];
        let mut has_out = vec![false; n_scc];
        for u in 0..k {
            for &v in graph.out(u) {
                if scc[u] != scc[v] {
                    has_out[scc[u]] = true;
                    has_in[scc[v]] = true;
                }
            }
        }

        let mut regularised = vec![false; members.len()];
        let mut above = vec![false; k];
        let mut below = vec![false; k];
        for (g, group) in members.iter().enumerate() {
            let first = scc[group[0]];
            if group.iter().all(|&v| scc[v] == first) {
                continue;
            }
            regularised[g] = true;
            let mut sizes: Vec<(usize, usize)> =
                group.iter().map(|&v| (scc_size[scc[v]], scc[v])).collect();
            sizes.sort_unstable_by(|a, b| b.cmp(a));
            sizes.dedup();
            let reference = match sizes.as_slice() {
                [first, second, ..] if first.0 > second.0 => Some(first.1),
                _ => None,
            };
            for &v in group {
                let s = scc[v];
                if Some(s) == reference {
                    continue;
                }
                above[v] = !has_in[s] || has_out[s];
                below[v] = !has_out[s] || has_in[s];
            }
        }
        Self {
            component,
            members,
            regularised,
            above,
            below,
        }
    }

    fn group_of_size_one(&self, v: usize) -> bool {
        self.members[self.component[v]].len() == 1
    }
}

fn find_root(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Directed graph with an edge `u → v` when `u` scored against `v` (a win or
/// a tie), stored as compressed adjacency lists in both directions.
struct ScoreGraph {
    out_start: Vec<usize>,
    out_list: Vec<usize>,
    in_start: Vec<usize>,
    in_list: Vec<usize>,
}

impl ScoreGraph {
    fn new(k: usize, pairs: &[Pair]) -> Self {
        let mut edges: Vec<(usize, usize)> = Vec::with_capacity(2 * pairs.len());
        for p in pairs {
            if p.wins_i + p.ties > 0.0 {
                edges.push((p.i, p.j));
            }
            if p.wins_j + p.ties > 0.0 {
                edges.push((p.j, p.i));
            }
        }
        let (out_start, out_list) = compress(k, edges.iter().copied());
        let (in_start, in_list) = compress(k, edges.iter().map(|&(u, v)| (v, u)));
        Self {
            out_start,
            out_list,
            in_start,
            in_list,
        }
    }

    fn out(&self, u: usize) -> &[usize] {
        &self.out_list[self.out_start[u]..self.out_start[u + 1]]
    }

    fn incoming(&self, u: usize) -> &[usize] {
        &self.in_list[self.in_start[u]..self.in_start[u + 1]]
    }

    /// Strongly connected component of every node (two-pass depth-first
    /// search, iterative so that no input can exhaust the stack).
    fn strong_components(&self) -> Vec<usize> {
        let k = self.out_start.len() - 1;
        let mut visited = vec![false; k];
        let mut order = Vec::with_capacity(k);
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for s in 0..k {
            if visited[s] {
                continue;
            }
            visited[s] = true;
            stack.push((s, 0));
            while let Some(top) = stack.last_mut() {
                let u = top.0;
                let next = self.out(u).get(top.1).copied();
                match next {
                    Some(v) => {
                        top.1 += 1;
                        if !visited[v] {
                            visited[v] = true;
                            stack.push((v, 0));
                        }
                    }
                    None => {
                        order.push(u);
                        stack.pop();
                    }
                }
            }
        }
        let mut scc = vec![usize::MAX; k];
        let mut count = 0;
        let mut todo = Vec::new();
        for &s in order.iter().rev() {
            if scc[s] != usize::MAX {
                continue;
            }
            scc[s] = count;
            todo.push(s);
            while let Some(u) = todo.pop() {
                for &v in self.incoming(u) {
                    if scc[v] == usize::MAX {
                        scc[v] = count;
                        todo.push(v);
                    }
                }
            }
            count += 1;
        }
        scc
    }
}

fn compress(
    k: usize,
    edges: impl Iterator<Item = (usize, usize)> + Clone,
) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; k + 1];
    for (u, _) in edges.clone() {
        start[u + 1] += 1;
    }
    for u in 0..k {
        start[u + 1] += start[u];
    }
    let mut fill = start.clone();
    let mut list = vec![0usize; start[k]];
    for (u, v) in edges {
        list[fill[u]] = v;
        fill[u] += 1;
    }
    (start, list)
}

/// Models by name where known, else by index.
fn list(models: &[usize], names: &[String]) -> String {
    let shown: Vec<String> = models
        .iter()
        .map(|&m| names.get(m).cloned().unwrap_or_else(|| format!("#{m}")))
        .collect();
    shown.join(", ")
}

fn describe(k: usize, total: f64, s: &Structure, names: &[String], notes: &mut Vec<String>) {
    if k == 0 {
        notes.push("no models".to_string());
        return;
    }
    if k == 1 {
        notes.push(
            "a single model: it sits at the base rating with a zero-width interval".to_string(),
        );
        return;
    }
    if total <= 0.0 {
        notes.push(
            "no decided votes: every model sits at the base rating with a zero-width interval"
                .to_string(),
        );
        return;
    }
    let idle: Vec<usize> = (0..k).filter(|&v| s.group_of_size_one(v)).collect();
    if !idle.is_empty() {
        notes.push(format!(
            "models without any decided vote sit at the base rating with a zero-width interval, which carries no information: {}",
            list(&idle, names)
        ));
    }
    let groups: Vec<usize> = s.members.iter().map(Vec::len).filter(|&n| n > 1).collect();
    if groups.len() > 1 {
        notes.push(format!(
            "the comparison graph splits into {} separate groups of sizes {groups:?}; each group is centred on its own, so ratings from different groups are not comparable (see `component`)",
            groups.len()
        ));
    }
    for (g, group) in s.members.iter().enumerate() {
        if !s.regularised[g] {
            continue;
        }
        let up: Vec<usize> = group.iter().copied().filter(|&v| s.above[v]).collect();
        let down: Vec<usize> = group.iter().copied().filter(|&v| s.below[v]).collect();
        let mut open = Vec::new();
        if !up.is_empty() {
            open.push(format!("no upper limit for {}", list(&up, names)));
        }
        if !down.is_empty() {
            open.push(format!("no lower limit for {}", list(&down, names)));
        }
        let bounds = if open.is_empty() {
            String::new()
        } else {
            format!(
                " The data give {}: those bounds are reported as the rating ± {UNBOUNDED_MARGIN}.",
                open.join(" and ")
            )
        };
        notes.push(format!(
            "among {} some models were never beaten by (or never beat) the others, so maximum-likelihood ratings diverge; each of them gets {PRIOR_VOTES} virtual tied vote against the group average to keep ratings finite.{bounds}",
            list(group, names),
        ));
    }
}

// ---------------------------------------------------------------------------
// Likelihood

struct Problem<'a> {
    k: usize,
    pairs: &'a [Pair],
    structure: &'a Structure,
}

/// `(σ(d), σ(d)·σ(−d), ln(1 + e^d))`, without overflow for any finite `d`.
fn logistic(d: f64) -> (f64, f64, f64) {
    let e = (-d.abs()).exp();
    let inv = 1.0 / (1.0 + e);
    let p = if d >= 0.0 { inv } else { e * inv };
    (p, e * inv * inv, d.max(0.0) + e.ln_1p())
}

impl Problem<'_> {
    fn log_likelihood(&self, theta: &[f64]) -> f64 {
        let mut ll = 0.0;
        for p in self.pairs {
            let d = theta[p.i] - theta[p.j];
            ll += p.s * d - p.n * logistic(d).2;
        }
        for (g, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[g] {
                continue;
            }
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / group.len() as f64;
            for &v in group {
                let d = theta[v] - mean;
                ll += PRIOR_VOTES * (0.5 * d - logistic(d).2);
            }
        }
        ll
    }

    /// Gradient of the log-likelihood alone, for the fixed-Hessian
    /// iterations of the bootstrap.
    fn gradient(&self, theta: &[f64], g: &mut [f64]) {
        g.fill(0.0);
        for p in self.pairs {
            let (prob, _, _) = logistic(theta[p.i] - theta[p.j]);
            let gi = p.s - p.n * prob;
            g[p.i] += gi;
            g[p.j] -= gi;
        }
        for (grp, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[grp] {
                continue;
            }
            let m = group.len() as f64;
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / m;
            let mut pushed = 0.0;
            for &v in group {
                let r = PRIOR_VOTES * (0.5 - logistic(theta[v] - mean).0);
                g[v] += r;
                pushed += r;
            }
            for &v in group {
                g[v] -= pushed / m;
            }
        }
    }

    /// Gradient of the log-likelihood and the lower triangle of minus its
    /// Hessian (row-major `k × k`).
    fn gradient_hessian(&self, theta: &[f64], g: &mut [f64], h: &mut [f64]) {
        let k = self.k;
        g.fill(0.0);
        h.fill(0.0);
        for p in self.pairs {
            let (prob, w, _) = logistic(theta[p.i] - theta[p.j]);
            let gi = p.s - p.n * prob;
            g[p.i] += gi;
            g[p.j] -= gi;
            let c = p.n * w;
            h[p.i * k + p.i] += c;
            h[p.j * k + p.j] += c;
            h[p.j * k + p.i] -= c;
        }
        for (grp, group) in self.structure.members.iter().enumerate() {
            if !self.structure.regularised[grp] {
                continue;
            }
            // Each member v plays PRIOR_VOTES tied votes against the group
            // mean: curvature c_v (e_v − ū)(e_v − ū)ᵀ with ū = 1/m on the
            // group, expanded so the block costs O(m²) in total.
            let m = group.len() as f64;
            let mean = group.iter().map(|&v| theta[v]).sum::<f64>() / m;
            let mut pushed = 0.0;
            let mut curv = Vec::with_capacity(group.len());
            for &v in group {
                let (prob, w, _) = logistic(theta[v] - mean);
                let r = PRIOR_VOTES * (0.5 - prob);
                g[v] += r;
                pushed += r;
                curv.push(PRIOR_VOTES * w);
            }
            let total_curv: f64 = curv.iter().sum();
            for &v in group {
                g[v] -= pushed / m;
            }
            for (a, &u) in group.iter().enumerate() {
                for (b, &v) in group.iter().enumerate().take(a + 1) {
                    let mut x = total_curv / (m * m) - (curv[a] + curv[b]) / m;
                    if a == b {
                        x += curv[a];
                    }
                    h[u * k + v] += x;
                }
            }
        }
    }

    /// Minus the Hessian plus `α_g 1_g 1_gᵀ` per group. The gradient sums to
    /// zero over each group, so the Newton step solved with this positive
    /// definite matrix is the one that keeps every group centred.
    fn augment(&self, h: &mut [f64]) {
        let k = self.k;
        for group in &self.structure.members {
            let m = group.len() as f64;
            let trace: f64 = group.iter().map(|&v| h[v * k + v]).sum();
            let alpha = if trace > 0.0 {
                trace / (m * m)
            } else {
                1.0 / m
            };
            for (a, &u) in group.iter().enumerate() {
                for &v in group.iter().take(a + 1) {
                    h[u * k + v] += alpha;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Newton's method

struct Workspace {
    grad: Vec<f64>,
    hess: Vec<f64>,
    step: Vec<f64>,
    trial: Vec<f64>,
}

impl Workspace {
    fn new(k: usize) -> Self {
        Self {
            grad: vec![0.0; k],
            hess: vec![0.0; k * k],
            step: vec![0.0; k],
            trial: vec![0.0; k],
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Outcome {
    converged: bool,
    iterations: usize,
}

/// Maximises the log-likelihood from the given start, which must already be
/// centred within each group.
fn newton(problem: &Problem, theta: &mut [f64], s: &Settings, ws: &mut Workspace) -> Outcome {
    let k = problem.k;
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
        problem.gradient_hessian(theta, &mut ws.grad, &mut ws.hess);
        problem.augment(&mut ws.hess);
        if !cholesky(&mut ws.hess, k) {
            return done(false);
        }
        ws.step.copy_from_slice(&ws.grad);
        cholesky_solve(&ws.hess, k, &mut ws.step);
        let size = ws.step.iter().fold(0.0f64, |m, x| m.max(x.abs()));
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

/// Fixed-Hessian Newton ("chord") iterations: every step reuses `factor`,
/// the Cholesky factor of the augmented full-data Hessian at the full-data
/// optimum. A bootstrap replicate's optimum is close to that point and its
/// Hessian close to that one, so each step costs one gradient and two
/// triangular solves instead of a fresh `O(K³)` factorisation, and the
/// iteration still contracts fast. When it does not (a big move, or a ratio
/// of successive steps above one half), Newton's method takes over from the
/// last accepted point, so the result is the same optimum either way.
fn chord(
    problem: &Problem,
    theta: &mut [f64],
    factor: &[f64],
    s: &Settings,
    ws: &mut Workspace,
) -> Outcome {
    let k = problem.k;
    let mut previous = f64::INFINITY;
    let mut used = 0;
    while used < s.max_iterations {
        problem.gradient(theta, &mut ws.grad);
        ws.step.copy_from_slice(&ws.grad);
        cholesky_solve(factor, k, &mut ws.step);
        used += 1;
        let size = ws.step.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if !size.is_finite() || size > 1.0 || size > 0.5 * previous {
            break;
        }
        add_scaled(theta, &ws.step, 1.0);
        if size <= s.tolerance {
            return Outcome {
                converged: true,
                iterations: used,
            };
        }
        previous = size;
    }
    let rest = Settings {
        max_iterations: s.max_iterations.saturating_sub(used),
        ..*s
    };
    let o = newton(problem, theta, &rest, ws);
    Outcome {
        converged: o.converged,
        iterations: used + o.iterations,
    }
}

fn add_scaled(x: &mut [f64], y: &[f64], t: f64) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += t * b;
    }
}

/// Dot product with eight independent accumulators, which lets the compiler
/// vectorise it (a single running sum forces strict left-to-right order).
fn dot(a: &[f64], b: &[f64]) -> f64 {
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

/// In-place Cholesky factor `L` (lower triangle, row-major) of a symmetric
/// matrix given by its lower triangle; false if it is not positive definite.
fn cholesky(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let row_j = &mut a[j * n..(j + 1) * n];
        let d = row_j[j] - dot(&row_j[..j], &row_j[..j]);
        if d.is_nan() || d <= 0.0 || d.is_infinite() {
            return false;
        }
        let d = d.sqrt();
        row_j[j] = d;
        for i in j + 1..n {
            let (upper, lower) = a.split_at_mut(i * n);
            let row_j = &upper[j * n..j * n + j];
            let row_i = &mut lower[..n];
            row_i[j] = (row_i[j] - dot(&row_i[..j], row_j)) / d;
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place.
fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let row = &l[i * n..i * n + i];
        b[i] = (b[i] - dot(row, &b[..i])) / l[i * n + i];
    }
    for i in (0..n).rev() {
        b[i] /= l[i * n + i];
        let xi = b[i];
        let row = &l[i * n..i * n + i];
        for (bk, lk) in b[..i].iter_mut().zip(row) {
            *bk -= lk * xi;
        }
    }
}

/// Full inverse `(L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹`, row-major and symmetric.
fn inverse_from_cholesky(l: &[f64], n: usize) -> Vec<f64> {
    let mut inv_l = vec![0.0; n * n];
    for i in 0..n {
        let (done, rest) = inv_l.split_at_mut(i * n);
        let row = &mut rest[..n];
        for kk in 0..i {
            let c = l[i * n + kk];
            if c != 0.0 {
                for (r, x) in row[..=kk].iter_mut().zip(&done[kk * n..kk * n + kk + 1]) {
                    *r -= c * x;
                }
            }
        }
        let d = l[i * n + i];
        for r in row[..i].iter_mut() {
            *r /= d;
        }
        row[i] = 1.0 / d;
    }
    let mut a = vec![0.0; n * n];
    for kk in 0..n {
        let row_k = &inv_l[kk * n..kk * n + kk + 1];
        for (i, &c) in row_k.iter().enumerate() {
            if c == 0.0 {
                continue;
            }
            for (x, y) in a[i * n..i * n + i + 1].iter_mut().zip(&row_k[..=i]) {
                *x += c * y;
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            a[j * n + i] = a[i * n + j];
        }
    }
    a
}

// ---------------------------------------------------------------------------
// Sandwich

/// Diagonal of `H⁻¹ M H⁻¹` (see the module docs), in log-odds², or `None`
/// if the ridged Hessian could not be factored.
fn sandwich_variances(problem: &Problem, theta: &[f64], total: f64) -> Option<Vec<f64>> {
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

// ---------------------------------------------------------------------------
// Bootstrap

struct BootstrapRaw {
    lower: Vec<f64>,
    upper: Vec<f64>,
    rounds: usize,
    unconverged: usize,
}

fn bootstrap(full: &Problem, theta_hat: &[f64], s: &Settings, ws: &mut Workspace) -> BootstrapRaw {
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

    let mut factor = vec![0.0; k * k];
    full.gradient_hessian(theta_hat, &mut ws.grad, &mut factor);
    full.augment(&mut factor);
    let factor_ok = cholesky(&mut factor, k);

    // Round `r` draws from stream `r` of the seeded generator, so the bounds do not depend on
    // how rounds are spread over threads.
    let run_rounds = |rounds: std::ops::Range<usize>| -> (Vec<f64>, usize) {
        let mut ws = Workspace::new(k);
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
            let outcome = if same_groups && factor_ok {
                chord(&problem, &mut theta, &factor, s, &mut ws)
            } else {
                newton(&problem, &mut theta, s, &mut ws)
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

/// Multinomial draws of `n` votes over categories with given weights.
/// Drawing votes one at a time from an alias table costs `O(n)`; the chain
/// of conditional binomials costs `O(categories)` whatever `n` is, but each
/// binomial variate is several times dearer than an alias draw. The cheaper
/// of the two is chosen once; both are exact.
enum VoteSampler {
    Alias {
        n: u64,
        prob: Vec<f64>,
        alias: Vec<usize>,
    },
    Chain {
        n: u64,
        weights: Vec<f64>,
        suffix: Vec<f64>,
    },
}

impl VoteSampler {
    fn new(n: u64, weights: &[f64]) -> Self {
        if n <= 4 * weights.len() as u64 {
            Self::alias(n, weights)
        } else {
            Self::chain(n, weights)
        }
    }

    fn chain(n: u64, weights: &[f64]) -> Self {
        let mut suffix = vec![0.0; weights.len()];
        let mut acc = 0.0;
        for (sfx, w) in suffix.iter_mut().zip(weights).rev() {
            acc += w;
            *sfx = acc;
        }
        Self::Chain {
            n,
            weights: weights.to_vec(),
            suffix,
        }
    }

    /// Vose's alias table: each slot keeps its own category with
    /// probability `prob[slot]` and otherwise yields `alias[slot]`.
    fn alias(n: u64, weights: &[f64]) -> Self {
        let c = weights.len();
        let total: f64 = weights.iter().sum();
        let mut prob: Vec<f64> = weights.iter().map(|w| w * c as f64 / total).collect();
        let mut alias: Vec<usize> = (0..c).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..c).partition(|&i| prob[i] < 1.0);
        while let (Some(&l), Some(sm)) = (large.last(), small.pop()) {
            alias[sm] = l;
            prob[l] = (prob[l] + prob[sm]) - 1.0;
            if prob[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // Whatever is left is 1 up to rounding.
        for i in small.into_iter().chain(large) {
            prob[i] = 1.0;
        }
        Self::Alias { n, prob, alias }
    }

    fn draw<R: Rng>(&self, rng: &mut R, out: &mut [u64]) {
        match self {
            Self::Chain { n, weights, suffix } => multinomial(rng, *n, weights, suffix, out),
            Self::Alias { n, prob, alias } => {
                out.fill(0);
                let c = prob.len() as u64;
                for _ in 0..*n {
                    let slot = below(rng, c) as usize;
                    let cat = if uniform(rng) < prob[slot] {
                        slot
                    } else {
                        alias[slot]
                    };
                    out[cat] += 1;
                }
            }
        }
    }
}

/// Uniform integer in `[0, n)`, `n > 0`, by multiply-and-reject: exact,
/// rejecting fewer than `n / 2^64` of the draws.
fn below<R: Rng>(rng: &mut R, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        if (m as u64) >= threshold {
            return (m >> 64) as u64;
        }
    }
}

/// Fills `out` with a multinomial draw of `n` trials over categories with
/// the given weights; `suffix[c]` is the sum of `weights[c..]`.
fn multinomial<R: Rng>(rng: &mut R, n: u64, weights: &[f64], suffix: &[f64], out: &mut [u64]) {
    let mut left = n;
    let last = weights.len().saturating_sub(1);
    for (c, ((w, sfx), o)) in weights.iter().zip(suffix).zip(out.iter_mut()).enumerate() {
        if left == 0 {
            *o = 0;
            continue;
        }
        let x = if c == last {
            left
        } else {
            binomial(rng, left, w / sfx)
        };
        *o = x;
        left -= x;
    }
}

/// Uniform on [0, 1) with 53 random bits.
fn uniform<R: Rng>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Exact `Binomial(n, p)` variate; `p` outside (0, 1) is clamped.
fn binomial<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // Both methods below need p ≤ 1/2; the count of failures is the mirror.
    if p > 0.5 {
        return n - binomial(rng, n, 1.0 - p);
    }
    if n as f64 * p < 10.0 {
        binomial_inversion(rng, n, p)
    } else {
        binomial_btrs(rng, n, p)
    }
}

/// Sequential search of the CDF from 0; expected cost `O(n·p)`, used only
/// for `n·p < 10`. The search is cut at 10 standard deviations above the
/// mean and restarted, which only guards against rounding leftovers: the
/// mass beyond that point is below 1e-20.
fn binomial_inversion<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    let q = 1.0 - p;
    let nf = n as f64;
    let p0 = (nf * (-p).ln_1p()).exp();
    let ratio = p / q;
    let mean = nf * p;
    // With n·p < 10 and p ≤ ½ the bound stays below 10 + 10·√11 < 44, so the
    // reciprocals come from a table: a division per step would dominate.
    let bound = (mean + 10.0 * (mean * q + 1.0).sqrt()).min(nf) as u64;
    let inv = reciprocals();
    for _ in 0..1000 {
        let mut u = uniform(rng);
        let mut x = 0u64;
        let mut px = p0;
        while u > px {
            x += 1;
            if x > bound {
                break;
            }
            u -= px;
            px *= (n - x + 1) as f64 * ratio * inv[x as usize];
        }
        if x <= bound {
            return x;
        }
    }
    // Unreachable in practice (each restart has probability < 1e-15); the
    // mode keeps the function total.
    ((nf + 1.0) * p).floor() as u64
}

/// `1/x` for `x < 64` (entry 0 unused).
fn reciprocals() -> &'static [f64; 64] {
    static TABLE: std::sync::OnceLock<[f64; 64]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|x| if x == 0 { 0.0 } else { 1.0 / x as f64 }))
}

/// `ln k! − [ln √(2π) + (k + ½) ln(k + 1) − (k + 1)]`: exact values below 10,
/// Stirling series in `k + 1` above (error below 1e-12).
fn stirling_tail(k: f64) -> f64 {
    const TABLE: [f64; 10] = [
        0.08106146679532726,
        0.0413406959554093,
        0.02767792568499834,
        0.020790672103765093,
        0.016644691189821193,
        0.013876128823070748,
        0.01189670994589177,
        0.010411265261972096,
        0.009255462182712733,
        0.00833056343336287,
    ];
    if k < 10.0 {
        return TABLE[k as usize];
    }
    let z = 1.0 / (k + 1.0);
    let z2 = z * z;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - z2 / 1680.0) * z2) * z2) * z
}

/// Transformed rejection with squeeze for `n·p ≥ 10`, `p ≤ ½`. Proposals come
/// from a hat over the transformed uniform; most are accepted by the cheap
/// squeeze, the rest by comparing with the exact log-ratio
/// `ln f(k) − ln f(m)` around the mode `m`.
fn binomial_btrs<R: Rng>(rng: &mut R, n: u64, p: f64) -> u64 {
    let nf = n as f64;
    let q = 1.0 - p;
    let spq = (nf * p * q).sqrt();
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let v_r = 0.92 - 4.2 / b;
    let r = p / q;
    let alpha = (2.83 + 5.1 / b) * spq;
    let m = ((nf + 1.0) * p).floor();
    // Only needed on the slow path, which many proposals never reach.
    let mut at_mode = f64::NAN;
    // Each proposal is accepted with probability well above one half, so the
    // cap is never reached; it only makes termination unconditional.
    for _ in 0..1_000_000 {
        let u = uniform(rng) - 0.5;
        let v = uniform(rng);
        let us = 0.5 - u.abs();
        if us <= 0.0 {
            continue;
        }
        let kf = ((2.0 * a / us + b) * u + c).floor();
        if kf < 0.0 || kf > nf {
            continue;
        }
        if us >= 0.07 && v <= v_r {
            return kf as u64;
        }
        let lhs = (v * alpha / (a / (us * us) + b)).ln();
        if at_mode.is_nan() {
            at_mode = (m + 0.5) * ((m + 1.0) / (r * (nf - m + 1.0))).ln()
                + stirling_tail(m)
                + stirling_tail(nf - m);
        }
        let rhs = at_mode
            + (nf + 1.0) * ((kf - m) / (nf - kf + 1.0)).ln_1p()
            + (kf + 0.5) * (r * (nf - kf + 1.0) / (kf + 1.0)).ln()
            - stirling_tail(kf)
            - stirling_tail(nf - kf);
        if lhs <= rhs {
            return kf as u64;
        }
    }
    m as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(i: usize, j: usize, wins_i: f64, wins_j: f64, ties: f64) -> Cell {
        Cell {
            i,
            j,
            wins_i,
            wins_j,
            ties,
        }
    }

    fn all_finite(f: &BtFit) -> bool {
        let b = f
            .bootstrap
            .as_ref()
            .is_none_or(|b| b.lower.iter().chain(&b.upper).all(|x| x.is_finite()));
        b && f
            .ratings
            .iter()
            .chain(&f.sandwich_lower)
            .chain(&f.sandwich_upper)
            .all(|x| x.is_finite())
    }

    /// Reference data: 500 votes over 5 models drawn with a fixed seed and
    /// fitted by LMArena's arena-rank 0.1.1 (BradleyTerry defaults, sandwich
    /// 95% intervals), aggregated here as (i, j, wins_i, wins_j, ties).
    const REF_CELLS: [(usize, usize, f64, f64, f64); 10] = [
        (0, 1, 27.0, 19.0, 11.0),
        (0, 2, 32.0, 10.0, 16.0),
        (0, 3, 28.0, 10.0, 9.0),
        (0, 4, 41.0, 3.0, 8.0),
        (1, 2, 30.0, 14.0, 9.0),
        (1, 3, 21.0, 12.0, 17.0),
        (1, 4, 31.0, 9.0, 11.0),
        (2, 3, 27.0, 5.0, 9.0),
        (2, 4, 20.0, 15.0, 9.0),
        (3, 4, 20.0, 18.0, 9.0),
    ];
    const REF_RATINGS: [f64; 5] = [
        1124.9443416233587,
        1057.9611677689925,
        993.4455304353758,
        925.1307274270491,
        898.5182327452239,
    ];
    const REF_LOWER: [f64; 5] = [
        1089.506027719988,
        1023.2061875731051,
        958.7212701383772,
        887.4500182280246,
        862.0019777809755,
    ];
    const REF_UPPER: [f64; 5] = [
        1160.3826555267292,
        1092.71614796488,
        1028.1697907323744,
        962.8114366260736,
        935.0344877094724,
    ];

    fn reference() -> Comparisons {
        Comparisons {
            names: Vec::new(),
            n_models: 5,
            cells: REF_CELLS
                .iter()
                .map(|&(i, j, a, b, t)| cell(i, j, a, b, t))
                .collect(),
        }
    }

    #[test]
    fn matches_reference_implementation() {
        let f = fit(&reference(), &BtOptions::default());
        assert!(f.converged);
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        for m in 0..5 {
            assert!((f.ratings[m] - REF_RATINGS[m]).abs() < 0.01, "rating {m}");
            assert!(
                (f.sandwich_lower[m] - REF_LOWER[m]).abs() < 0.01,
                "lower {m}"
            );
            assert!(
                (f.sandwich_upper[m] - REF_UPPER[m]).abs() < 0.01,
                "upper {m}"
            );
        }
    }

    #[test]
    fn two_models_closed_form() {
        let (w, l, t) = (30.0, 10.0, 8.0);
        let c = Comparisons {
            names: Vec::new(),
            n_models: 2,
            cells: vec![cell(0, 1, w, l, t)],
        };
        let f = fit(&c, &BtOptions::default());
        let d = ((w + t / 2.0) / (l + t / 2.0)).ln();
        assert!((f.ratings[0] - f.ratings[1] - RATING_SCALE * d).abs() < 1e-9);
        assert!((f.ratings[0] + f.ratings[1] - 2.0 * BASE_RATING).abs() < 1e-9);
        // With v = e_0 − e_1: H = n p q v vᵀ + εI and M = m v vᵀ, so
        // Var θ_0 = m / (2 n p q + ε)².
        let n = w + l + t;
        let p = (w + t / 2.0) / n;
        let meat = w * (1.0 - p).powi(2) + l * p * p + t * (0.5 - p).powi(2);
        let sd = meat.sqrt() / (2.0 * n * p * (1.0 - p) + HESSIAN_RIDGE * n);
        let half = RATING_SCALE * 1.959963984540054 * sd;
        assert!((f.sandwich_upper[0] - f.ratings[0] - half).abs() < 1e-9);
        assert!((f.ratings[1] - f.sandwich_lower[1] - half).abs() < 1e-9);
    }

    #[test]
    fn anchor_shifts_everything() {
        let plain = fit(&reference(), &BtOptions::default());
        let o = BtOptions {
            anchor: Some((2, 1114.0)),
            ..BtOptions::default()
        };
        let f = fit(&reference(), &o);
        assert!((f.ratings[2] - 1114.0).abs() < 1e-9);
        let shift = 1114.0 - plain.ratings[2];
        for m in 0..5 {
            assert!((f.ratings[m] - plain.ratings[m] - shift).abs() < 1e-9);
            assert!((f.sandwich_lower[m] - plain.sandwich_lower[m] - shift).abs() < 1e-9);
        }
    }

    #[test]
    fn quantile_matches_known_values() {
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-15);
        assert!((normal_quantile(0.5)).abs() < 1e-300);
        assert!((normal_quantile(0.025) + 1.959963984540054).abs() < 1e-15);
        assert!((normal_quantile(0.995) - 2.5758293035489004).abs() < 1e-14);
        assert!((normal_quantile(1e-10) + 6.361340902404056).abs() < 1e-12);
        assert!(normal_quantile(1.5).is_nan());
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
    }

    #[test]
    fn ranks() {
        assert_eq!(rank(&[1000.0, 1100.0, 1000.0, 900.0]), vec![2, 1, 2, 4]);
        let lower = [1090.0, 1000.0, 980.0];
        let upper = [1110.0, 1095.0, 1020.0];
        assert_eq!(rank_ub(&lower, &upper), vec![1, 1, 2]);
        assert!(rank(&[]).is_empty());
    }

    #[test]
    fn single_model_and_no_votes() {
        let one = fit(
            &Comparisons {
                names: Vec::new(),
                n_models: 1,
                cells: vec![],
            },
            &BtOptions {
                bootstrap_rounds: 10,
                ..BtOptions::default()
            },
        );
        assert_eq!(one.ratings, vec![BASE_RATING]);
        assert_eq!(one.sandwich_lower, one.ratings);
        assert_eq!(one.sandwich_upper, one.ratings);
        assert!(one.converged);
        assert!(!one.notes.is_empty());

        let none = fit(
            &Comparisons {
                names: Vec::new(),
                n_models: 3,
                cells: vec![cell(0, 1, 0.0, 0.0, 0.0)],
            },
            &BtOptions {
                bootstrap_rounds: 10,
                ..BtOptions::default()
            },
        );
        assert!(all_finite(&none));
        assert_eq!(none.ratings, vec![BASE_RATING; 3]);
        assert!(none.bootstrap.is_none());
        assert!(none.notes.iter().any(|n| n.contains("no decided votes")));

        let empty = fit(&Comparisons::default(), &BtOptions::default());
        assert!(empty.ratings.is_empty());
        assert_eq!(
            rank_ub(&empty.sandwich_lower, &empty.sandwich_upper),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn model_without_votes_and_disconnected_groups() {
        let c = Comparisons {
            names: Vec::new(),
            n_models: 5,
            cells: vec![cell(0, 1, 10.0, 5.0, 1.0), cell(2, 3, 3.0, 9.0, 2.0)],
        };
        let f = fit(
            &c,
            &BtOptions {
                bootstrap_rounds: 50,
                ..BtOptions::default()
            },
        );
        assert!(all_finite(&f));
        assert!(f.converged);
        assert_eq!(f.component, vec![0, 0, 1, 1, 2]);
        assert!((f.ratings[0] + f.ratings[1] - 2.0 * BASE_RATING).abs() < 1e-9);
        assert!((f.ratings[2] + f.ratings[3] - 2.0 * BASE_RATING).abs() < 1e-9);
        assert_eq!(f.ratings[4], BASE_RATING);
        assert_eq!(f.sandwich_lower[4], BASE_RATING);
        assert!(f.notes.iter().any(|n| n.contains("separate groups")));
        assert!(
            f.notes
                .iter()
                .any(|n| n.contains("without any decided vote"))
        );
    }

    #[test]
    fn only_wins_and_only_losses_stay_finite() {
        // Model 3 never lost, model 4 never won; 0..3 form a normal group.
        let mut cells = vec![
            cell(0, 1, 20.0, 15.0, 5.0),
            cell(1, 2, 18.0, 12.0, 4.0),
            cell(0, 2, 22.0, 10.0, 6.0),
            cell(3, 0, 5.0, 0.0, 0.0),
            cell(3, 1, 7.0, 0.0, 0.0),
            cell(4, 2, 0.0, 6.0, 0.0),
        ];
        let c = Comparisons {
            names: Vec::new(),
            n_models: 5,
            cells: cells.clone(),
        };
        let o = BtOptions {
            bootstrap_rounds: 30,
            ..BtOptions::default()
        };
        let f = fit(&c, &o);
        assert!(all_finite(&f));
        assert!(f.converged);
        assert_eq!(f.unbounded_above, vec![false, false, false, true, false]);
        assert_eq!(f.unbounded_below, vec![false, false, false, false, true]);
        assert!(f.ratings[3] > f.ratings[0] && f.ratings[4] < f.ratings[2]);
        assert_eq!(f.sandwich_upper[3], f.ratings[3] + UNBOUNDED_MARGIN);
        assert_eq!(f.sandwich_lower[4], f.ratings[4] - UNBOUNDED_MARGIN);
        assert!(f.sandwich_lower[3] < f.ratings[3]);
        assert!(f.notes.iter().any(|n| n.contains("diverge")));

        // Two models, one side wins everything: symmetric finite result.
        cells.truncate(0);
        cells.push(cell(0, 1, 9.0, 0.0, 0.0));
        let g = fit(
            &Comparisons {
                names: Vec::new(),
                n_models: 2,
                cells,
            },
            &o,
        );
        assert!(all_finite(&g));
        assert!(g.converged);
        assert!(g.ratings[0] > g.ratings[1]);
        assert!(g.unbounded_above[0] && g.unbounded_below[1]);
    }

    #[test]
    fn bad_input_is_ignored_with_notes() {
        let c = Comparisons {
            names: Vec::new(),
            n_models: 3,
            cells: vec![
                cell(0, 0, 5.0, 1.0, 0.0),
                cell(0, 7, 5.0, 1.0, 0.0),
                cell(0, 1, f64::NAN, 1.0, 0.0),
                cell(0, 1, -1.0, 1.0, 0.0),
                cell(1, 2, f64::INFINITY, 1.0, 0.0),
                cell(0, 1, 4.0, 2.0, 1.0),
                cell(1, 2, 3.0, 3.0, 1.0),
                cell(0, 2, 2.0, 2.0, 0.0),
            ],
        };
        let o = BtOptions {
            ci_level: f64::NAN,
            tolerance: -1.0,
            anchor: Some((9, 1000.0)),
            bootstrap_rounds: 5,
            ..BtOptions::default()
        };
        let f = fit(&c, &o);
        assert!(all_finite(&f));
        assert!(f.notes.iter().any(|n| n.contains("5 cells were ignored")));
        assert!(f.notes.iter().any(|n| n.contains("ci_level")));
        assert!(f.notes.iter().any(|n| n.contains("anchor")));

        let stopped = fit(
            &c,
            &BtOptions {
                max_iterations: 0,
                ..BtOptions::default()
            },
        );
        assert!(all_finite(&stopped));
        assert!(!stopped.converged);
    }

    #[test]
    fn huge_and_fractional_counts() {
        let c = Comparisons {
            names: Vec::new(),
            n_models: 5,
            cells: vec![
                cell(0, 1, 4e12, 3e12, 1e12),
                cell(1, 2, 0.25, 0.5, 0.0),
                cell(0, 2, 1e-9, 2e-9, 0.0),
                cell(2, 3, 1e300, 3e299, 0.0),
                cell(3, 4, 1e300, 1e300, 1e300),
            ],
        };
        let f = fit(
            &c,
            &BtOptions {
                bootstrap_rounds: 3,
                ..BtOptions::default()
            },
        );
        assert!(all_finite(&f));
    }

    #[test]
    fn bootstrap_is_deterministic_and_sensible() {
        let o = BtOptions {
            bootstrap_rounds: 200,
            seed: 7,
            ..BtOptions::default()
        };
        let a = fit(&reference(), &o);
        let b = fit(&reference(), &o);
        let c = fit(&reference(), &BtOptions { seed: 8, ..o });
        let (ba, bb, bc) = match (&a.bootstrap, &b.bootstrap, &c.bootstrap) {
            (Some(x), Some(y), Some(z)) => (x, y, z),
            _ => panic!("bootstrap missing"),
        };
        assert_eq!(ba, bb);
        assert_ne!(ba.lower, bc.lower);
        assert_eq!(ba.rounds, 200);
        for m in 0..5 {
            let boot = ba.upper[m] - ba.lower[m];
            let sand = a.sandwich_upper[m] - a.sandwich_lower[m];
            assert!(ba.lower[m] < a.ratings[m] && a.ratings[m] < ba.upper[m]);
            assert!(
                (boot / sand - 1.0).abs() < 0.3,
                "model {m}: {boot} vs {sand}"
            );
        }
    }

    /// Draws `n` votes between strengths `a` and `b` with 10% ties, taking
    /// the tie mass evenly from both sides so that the expected score is
    /// exactly σ(a − b): then the true strengths are what the estimator
    /// targets.
    fn simulate_cell<R: Rng>(rng: &mut R, i: usize, j: usize, a: f64, b: f64, n: u64) -> Cell {
        let tie = 0.1;
        let ties = binomial(rng, n, tie);
        let p = 1.0 / (1.0 + (b - a).exp());
        let wins_i = binomial(rng, n - ties, (p - tie / 2.0) / (1.0 - tie));
        cell(i, j, wins_i as f64, (n - ties - wins_i) as f64, ties as f64)
    }

    #[test]
    fn recovers_known_strengths_at_nominal_rate() {
        let truth = [1.0, 0.6, 0.3, 0.0, -0.2, -0.5, -0.5, -0.7];
        let mean = truth.iter().sum::<f64>() / truth.len() as f64;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut covered, mut checks) = (0usize, 0usize);
        for _ in 0..300 {
            let mut cells = Vec::new();
            for i in 0..truth.len() {
                for j in i + 1..truth.len() {
                    cells.push(simulate_cell(&mut rng, i, j, truth[i], truth[j], 40));
                }
            }
            let f = fit(
                &Comparisons {
                    names: Vec::new(),
                    n_models: truth.len(),
                    cells,
                },
                &BtOptions::default(),
            );
            assert!(f.converged);
            for (m, t) in truth.iter().enumerate() {
                let r = BASE_RATING + RATING_SCALE * (t - mean);
                checks += 1;
                if f.sandwich_lower[m] <= r && r <= f.sandwich_upper[m] {
                    covered += 1;
                }
            }
        }
        let rate = covered as f64 / checks as f64;
        assert!((0.92..=0.975).contains(&rate), "coverage {rate}");
    }

    #[test]
    fn binomial_mean_and_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for &(n, p) in &[
            (20u64, 0.3),
            (1000, 0.004),
            (1000, 0.3),
            (5_000_000, 0.45),
            (60, 0.9),
            (3, 0.5),
        ] {
            let draws = 40_000;
            let xs: Vec<f64> = (0..draws)
                .map(|_| binomial(&mut rng, n, p) as f64)
                .collect();
            let mean = xs.iter().sum::<f64>() / draws as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (draws - 1) as f64;
            let nf = n as f64;
            let (m0, v0) = (nf * p, nf * p * (1.0 - p));
            assert!(
                (mean - m0).abs() < 5.0 * (v0 / draws as f64).sqrt(),
                "mean n={n} p={p}"
            );
            assert!(
                (var / v0 - 1.0).abs() < 0.05,
                "variance n={n} p={p}: {var} vs {v0}"
            );
            assert!(xs.iter().all(|&x| x >= 0.0 && x <= nf));
        }
    }

    /// Exact probabilities through log-gamma sums, to test the shape of the
    /// rejection sampler, not just its moments.
    #[test]
    fn binomial_matches_exact_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for &(n, p) in &[(40u64, 0.35), (25, 0.2)] {
            let draws = 200_000usize;
            let mut hist = vec![0usize; n as usize + 1];
            for _ in 0..draws {
                hist[binomial(&mut rng, n, p) as usize] += 1;
            }
            let mut ln_fact = vec![0.0f64; n as usize + 1];
            for x in 1..=n as usize {
                ln_fact[x] = ln_fact[x - 1] + (x as f64).ln();
            }
            let nu = n as usize;
            let mut chi2 = 0.0;
            let mut dof = 0;
            for (x, &h) in hist.iter().enumerate() {
                let lp = ln_fact[nu] - ln_fact[x] - ln_fact[nu - x]
                    + x as f64 * p.ln()
                    + (nu - x) as f64 * (1.0 - p).ln();
                let e = draws as f64 * lp.exp();
                if e >= 20.0 {
                    chi2 += (h as f64 - e).powi(2) / e;
                    dof += 1;
                }
            }
            // Mean dof, sd about sqrt(2 dof): 5 sd is a loose, stable bar.
            let limit = dof as f64 + 5.0 * (2.0 * dof as f64).sqrt();
            assert!(chi2 < limit, "n={n} p={p}: chi2 {chi2} with {dof} cells");
        }
    }

    #[test]
    fn multinomial_mean_and_variance() {
        let weights = [5.0, 1.0, 0.5, 30.0, 13.5];
        let total: f64 = weights.iter().sum();
        let n = 500u64;
        let rounds = 4000;
        // Both samplers, whichever `VoteSampler::new` would pick.
        for (name, sampler) in [
            ("chain", VoteSampler::chain(n, &weights)),
            ("alias", VoteSampler::alias(n, &weights)),
        ] {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            let mut out = vec![0u64; weights.len()];
            let mut sum = [0.0f64; 5];
            let mut sum2 = [0.0f64; 5];
            let mut cross = 0.0;
            for _ in 0..rounds {
                sampler.draw(&mut rng, &mut out);
                assert_eq!(out.iter().sum::<u64>(), n);
                for c in 0..5 {
                    sum[c] += out[c] as f64;
                    sum2[c] += (out[c] as f64).powi(2);
                }
                cross += out[0] as f64 * out[3] as f64;
            }
            let r = rounds as f64;
            let nf = n as f64;
            for c in 0..5 {
                let p = weights[c] / total;
                let mean = sum[c] / r;
                let var = sum2[c] / r - mean * mean;
                let (m0, v0) = (nf * p, nf * p * (1.0 - p));
                assert!((mean - m0).abs() < 5.0 * (v0 / r).sqrt(), "{name} mean {c}");
                assert!(
                    (var / v0 - 1.0).abs() < 0.06,
                    "{name} variance {c}: {var} vs {v0}"
                );
            }
            // Multinomial counts are negatively correlated: −n p_0 p_3.
            let cov = cross / r - (sum[0] / r) * (sum[3] / r);
            let cov0 = -nf * weights[0] * weights[3] / (total * total);
            assert!(
                (cov / cov0 - 1.0).abs() < 0.1,
                "{name} covariance {cov} vs {cov0}"
            );
        }
    }

    #[test]
    fn fixed_hessian_iterations_reach_the_newton_optimum() {
        let base = reference();
        let mut pairs = canonical_pairs(&base, &mut Vec::new());
        let structure = Structure::analyse(5, &pairs);
        let settings = Settings::new(&BtOptions::default(), 5, &mut Vec::new());
        let mut ws = Workspace::new(5);
        let mut theta_hat = vec![0.0; 5];
        let full = Problem {
            k: 5,
            pairs: &pairs,
            structure: &structure,
        };
        assert!(newton(&full, &mut theta_hat, &settings, &mut ws).converged);
        let mut factor = vec![0.0; 25];
        full.gradient_hessian(&theta_hat, &mut ws.grad, &mut factor);
        full.augment(&mut factor);
        assert!(cholesky(&mut factor, 5));
        // A replicate-like perturbation of the counts.
        for (x, p) in pairs.iter_mut().enumerate() {
            let bump = (x % 3) as f64 * 2.0;
            *p = Pair::new(p.i, p.j, p.wins_i + bump, p.wins_j, p.ties + 1.0);
        }
        let moved = Problem {
            k: 5,
            pairs: &pairs,
            structure: &structure,
        };
        let mut by_chord = theta_hat.clone();
        let mut by_newton = theta_hat.clone();
        assert!(chord(&moved, &mut by_chord, &factor, &settings, &mut ws).converged);
        assert!(newton(&moved, &mut by_newton, &settings, &mut ws).converged);
        for (a, b) in by_chord.iter().zip(&by_newton) {
            assert!((a - b).abs() < 1e-8);
        }
        assert!(by_chord.iter().sum::<f64>().abs() < 1e-12);
    }

    #[test]
    fn chain_of_wins_is_flagged_both_ways_in_the_middle() {
        // 0 beat 1, 1 beat 2, nothing else: every difference diverges.
        let c = Comparisons {
            names: Vec::new(),
            n_models: 3,
            cells: vec![cell(0, 1, 4.0, 0.0, 0.0), cell(1, 2, 3.0, 0.0, 0.0)],
        };
        let f = fit(
            &c,
            &BtOptions {
                bootstrap_rounds: 20,
                ..BtOptions::default()
            },
        );
        assert!(all_finite(&f));
        assert!(f.converged);
        assert!(f.ratings[0] > f.ratings[1] && f.ratings[1] > f.ratings[2]);
        assert_eq!(f.unbounded_above, vec![true, true, false]);
        assert_eq!(f.unbounded_below, vec![false, true, true]);
        assert!((f.ratings.iter().sum::<f64>() - 3.0 * BASE_RATING).abs() < 1e-9);
    }

    #[test]
    fn only_ties_is_a_proper_fit() {
        let c = Comparisons {
            names: Vec::new(),
            n_models: 2,
            cells: vec![cell(0, 1, 0.0, 0.0, 6.0)],
        };
        let f = fit(&c, &BtOptions::default());
        assert!(f.notes.is_empty(), "{:?}", f.notes);
        assert!((f.ratings[0] - BASE_RATING).abs() < 1e-12);
        // Every vote then has a zero score residual, so the sandwich (here as
        // in the reference) has zero width; the bootstrap does not help
        // either, as every replicate is all ties too.
        assert!((f.sandwich_upper[0] - f.ratings[0]).abs() < 1e-12);
    }

    fn arb_cells() -> impl Strategy<Value = (usize, Vec<Cell>)> {
        (2usize..7).prop_flat_map(|k| {
            let one = (0..k, 0..k, 0u32..20, 0u32..20, 0u32..6)
                .prop_filter_map("distinct", |(i, j, a, b, t)| {
                    (i != j).then(|| cell(i, j, a as f64, b as f64, t as f64))
                });
            (Just(k), prop::collection::vec(one, 1..15))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn invariant_to_cell_order_and_orientation(
            (k, cells) in arb_cells(),
            flips in prop::collection::vec(any::<bool>(), 15),
            seed in any::<u64>(),
        ) {
            let o = BtOptions { bootstrap_rounds: 5, seed: 1, ..BtOptions::default() };
            let base = fit(&Comparisons { names: Vec::new(), n_models: k, cells: cells.clone() }, &o);
            let mut other: Vec<Cell> = cells
                .iter()
                .zip(&flips)
                .map(|(c, &f)| if f { cell(c.j, c.i, c.wins_j, c.wins_i, c.ties) } else { *c })
                .collect();
            // Deterministic shuffle driven by the generated seed.
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for i in (1..other.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                other.swap(i, j);
            }
            let moved = fit(&Comparisons { names: Vec::new(), n_models: k, cells: other }, &o);
            prop_assert!(all_finite(&base));
            prop_assert_eq!(&base.ratings, &moved.ratings);
            prop_assert_eq!(&base.sandwich_lower, &moved.sandwich_lower);
            prop_assert_eq!(&base.sandwich_upper, &moved.sandwich_upper);
            prop_assert_eq!(&base.bootstrap, &moved.bootstrap);
        }
    }
}
