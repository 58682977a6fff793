//! Contextual Bradley–Terry ("style control"): the Bradley–Terry model with a term for the
//! style differences of the two answers, as LMArena's `arena-rank` 0.1.1
//! `ContextualBradleyTerry` fits it for its default text leaderboard.
//!
//! # Model
//!
//! A vote between `a` and `b` carries four features per side ([`Features`]: answer tokens,
//! Markdown headers, list items, bold spans). Each feature becomes the relative difference
//! `(a − b)/(a + b)` (0 when both are 0), standardised over the votes to mean 0 and
//! population standard deviation 1 (a constant feature is left unscaled). With `z` those
//! four numbers, `a` is preferred with probability `σ(θ_a − θ_b + zᵀβ)`; ties of both
//! kinds count half a win each. The coefficients `β` say how much a longer or more
//! formatted answer is preferred for its style alone; the strengths `θ` are what is left.
//!
//! # Estimator (`arena-rank`'s defaults, [`Variant::ArenaRank`])
//!
//! * each vote is weighted by `1 / max(votes of its pair, 50)`, normalised to a mean of 1
//!   over the votes, so that much-played pairs do not outweigh the rest;
//! * the loss is the **mean** weighted log-loss plus `½λ‖β‖²` on the coefficients only,
//!   `λ = 1` by default. The penalty is on the scale of the mean loss: on a summed loss it
//!   would be `N·λ`, so `arena-rank`'s `λ = 1` is `2N` times FastChat's `reg = 0.5` (which
//!   penalises a summed loss) and shrinks the coefficients far more: on the 1,500-vote
//!   parity fixture they come out about 7 to 8 times smaller than FastChat's (0.015 against
//!   0.105 for length), and the gap grows with the number of votes. Strengths carry no
//!   penalty: they are centred, `Σθ = 0` within each connected group, as the reference's
//!   L-BFGS from zero leaves them;
//! * ratings are `1000 + 400·θ/ln 10`, optionally shifted so that an anchor model gets a
//!   chosen rating;
//! * sandwich intervals use the reference's construction exactly: on the mean scale,
//!   `H = Σ w·p(1−p)·x xᵀ / N + 10⁻⁵·I` over all `K + 4` parameters (the ridge and not the
//!   penalty), `M = Σ (w·(y − p))²·x xᵀ / N − (λ²/N)·ββᵀ` (its correction for the penalty),
//!   and `Var = diag(H⁻¹ M H⁻¹) / N`, with `x = (e_a − e_b, z)`;
//! * the bootstrap redraws the votes with replacement and refits, each replicate keeping
//!   every vote's standardised features and weight; bounds are the percentiles of the
//!   replicates' ratings.
//!
//! The fit itself is Newton's method on the `K + 4` parameters, which the reference's
//! L-BFGS approaches within its stopping rule (about 0.005 rating points short on the
//! parity fixture; the converged reference runs agree with this fit to 2e-7 points): one pass over the rows per iteration gives the gradient and Hessian,
//! started from the plain weighted fit, so three or four passes suffice. The passes run
//! in parallel over fixed chunks of pairs, and every sum is taken in an order fixed by the
//! data, so results do not depend on the number of threads or on the order of the votes.
//! Rows with the same pair, outcome and features are merged first; with real answer
//! lengths almost every vote is its own row, so a pass costs `O(N)`. The linear algebra
//! is dense, `O((K + 4)³)` per iteration, fine for the hundreds of models an arena has
//! (the plain fit's sparse path for thousands of models has no contextual counterpart).
//!
//! Groups of models whose maximum-likelihood strengths diverge (a model that never lost,
//! ...) get the plain fit's virtual tied votes and flags (see [`super`]); models without
//! votes sit at the base rating.
//!
//! # FastChat's style control ([`Variant::FastChat`])
//!
//! The earlier implementation in FastChat's `rating_systems.py`: relative differences
//! `(a − b)/(a + b + 1)`, standardised the same way, no weights, the **summed** log-loss
//! plus `(reg/2)·‖(r, β)‖²` with `reg = 0.5` on the coefficients and on the ratings
//! `r = θ/ln 10` alike (so no virtual votes are needed). FastChat computes no sandwich;
//! here its variant gets `H⁻¹ M H⁻¹` with `H` including its penalties.

mod bootstrap;
mod fit;
mod pass;
mod rows;
#[cfg(test)]
mod tests;

use crate::rating::Winner;
use crate::rating::style::Features;

use super::dense::DenseSolver;
use super::input::{Pair, Settings};
use super::likelihood::Problem;
use super::newton::{Workspace, newton};
use super::normal_quantile;
use super::report::Report;
use super::structure::{Structure, describe};
use super::{BtFit, BtOptions};
use bootstrap::{Resample, bootstrap};
use fit::{Model, Work};
use rows::{F, Rows};

/// One vote with the style features of both sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StyleVote {
    pub model_a: u32,
    pub model_b: u32,
    pub winner: Winner,
    pub a: Features,
    pub b: Features,
}

impl From<StyleVote> for crate::rating::VoteRow {
    fn from(v: StyleVote) -> Self {
        Self {
            model_a: v.model_a,
            model_b: v.model_b,
            winner: v.winner,
        }
    }
}

/// Votes over `n_models` models, with names for the notes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StyleVotes {
    pub n_models: usize,
    pub names: Vec<String>,
    pub votes: Vec<StyleVote>,
}

/// Whose conventions the fit follows (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Variant {
    #[default]
    ArenaRank,
    FastChat,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StyleOptions {
    pub variant: Variant,
    /// Penalty on the coefficients: `arena-rank`'s `reg` (per mean loss, default 1) or
    /// FastChat's `reg` (per summed loss, on ratings too, default 0.5).
    pub lambda: f64,
    /// `Some(m)`: each vote weighs `1 / max(votes of its pair, m)`, normalised to a mean of
    /// 1 (`arena-rank`'s `reweighted=True`, `m = 50`); `None`: all votes weigh 1.
    pub min_pair_votes: Option<f64>,
    /// Intervals, bootstrap, anchor and convergence, as for the plain fit.
    pub bt: BtOptions,
}

impl Default for StyleOptions {
    fn default() -> Self {
        Self {
            variant: Variant::ArenaRank,
            lambda: 1.0,
            min_pair_votes: Some(50.0),
            bt: BtOptions::default(),
        }
    }
}

impl StyleOptions {
    /// FastChat's defaults: its features, summed loss, `reg = 0.5`, no weights.
    #[must_use]
    pub fn fastchat() -> Self {
        Self {
            variant: Variant::FastChat,
            lambda: 0.5,
            min_pair_votes: None,
            bt: BtOptions::default(),
        }
    }
}

/// A style-controlled board: the fit of the strengths as for the plain board, and the
/// style part.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleFit {
    /// Ratings, sandwich and bootstrap bounds, groups and flags, notes.
    pub board: BtFit,
    /// `β`, in [`Features::NAMES`] order: log-odds per standard deviation of each relative
    /// difference.
    pub coefficients: [f64; F],
    /// Sandwich standard errors of the coefficients.
    pub coefficient_se: [f64; F],
    /// Mean and standard deviation of each relative difference over the votes, in the
    /// votes' own orientation (what a coefficient's unit is).
    pub feature_mean: [f64; F],
    pub feature_std: [f64; F],
    /// Votes used (skips and invalid votes left out).
    pub votes: usize,
    /// Distinct rows after merging identical votes.
    pub rows: usize,
}

/// Fits the contextual Bradley–Terry model, its sandwich intervals and, if asked, seeded
/// bootstrap intervals. Never panics on bad input: invalid votes and options are left out
/// or replaced by defaults, with a note.
#[must_use]
pub fn fit_contextual(data: &StyleVotes, o: &StyleOptions) -> StyleFit {
    fit_contextual_votes(data.n_models, &data.names, &data.votes, o)
}

/// [`fit_contextual`] of `votes` over the models `names` (`n_models` of them), borrowed.
#[must_use]
pub fn fit_contextual_votes(
    n_models: usize,
    names: &[String],
    votes: &[StyleVote],
    o: &StyleOptions,
) -> StyleFit {
    let rounds = o.bt.bootstrap_rounds;
    fit_with(n_models, names, votes, o, |s| Resample::Seeded {
        rounds: rounds.min(s.rounds),
        seed: s.seed,
    })
}

/// As [`fit_contextual`], with one bootstrap replicate per list of vote indices (each a
/// resample of `data.votes`, e.g. the reference's exported indices) instead of seeded
/// ones; `o.bt.bootstrap_rounds` and `o.bt.seed` are not used.
#[must_use]
pub fn fit_contextual_resampled(
    data: &StyleVotes,
    o: &StyleOptions,
    resamples: &[Vec<usize>],
) -> StyleFit {
    fit_with(data.n_models, &data.names, &data.votes, o, |_| {
        Resample::Given(resamples)
    })
}

fn fit_with<'a>(
    k: usize,
    names: &[String],
    votes: &[StyleVote],
    o: &StyleOptions,
    resample: impl FnOnce(&Settings) -> Resample<'a>,
) -> StyleFit {
    let mut notes = Vec::new();
    let settings = Settings::new(&o.bt, k, &mut notes);
    let (lambda, weighting) = checked_penalty(o, &mut notes);

    let rows = Rows::new(k, votes, o.variant, weighting);
    note_left_out(&rows, &mut notes);
    let pairs = rows.pair_counts(&rows.count);
    let structure = Structure::analyse(k, &pairs);
    let fastchat = o.variant == Variant::FastChat;
    describe(k, rows.total, &structure, names, !fastchat, &mut notes);
    let model = Model::new(&rows, &structure, lambda, fastchat);

    let mut x = vec![0.0; k + F];
    plain_start(&pairs, &rows, &structure, &settings, &mut x);
    let mut work = Work::new(&rows);
    let outcome = model.newton(&rows.count, &mut x, &settings, &mut work, true);
    if !outcome.converged {
        notes.push(format!(
            "the fit stopped after {} iterations without reaching the tolerance",
            outcome.iterations
        ));
    }
    let correction = if fastchat { 0.0 } else { lambda };
    let se = standard_errors(&model, &x, &mut work, correction, &mut notes);

    let z = normal_quantile(1.0 - (1.0 - settings.level) / 2.0);
    let report = Report::new(&x[..k], settings.anchor, &structure);
    let sandwich = report.sandwich(&se[..k], z);
    let resample = resample(&settings);
    let bootstrap = if resample.rounds() > 0 {
        let b = bootstrap(&model, &x, &settings, resample);
        report.bootstrap(&b, settings.seed, &mut notes)
    } else {
        None
    };

    StyleFit {
        board: report.board(sandwich, bootstrap, outcome, notes),
        coefficients: std::array::from_fn(|f| x[k + f]),
        coefficient_se: std::array::from_fn(|f| se[k + f]),
        feature_mean: rows.mean,
        feature_std: rows.std,
        votes: rows.total as usize,
        rows: rows.z.len(),
    }
}

/// The penalty `λ` and the pair weighting of `o`, an unusable value replaced by the
/// variant's default with a note.
fn checked_penalty(o: &StyleOptions, notes: &mut Vec<String>) -> (f64, Option<f64>) {
    let defaults = match o.variant {
        Variant::ArenaRank => StyleOptions::default(),
        Variant::FastChat => StyleOptions::fastchat(),
    };
    let lambda = if o.lambda.is_finite() && o.lambda >= 0.0 {
        o.lambda
    } else {
        notes.push(format!(
            "lambda {} is not a finite non-negative number; {} is used",
            o.lambda, defaults.lambda
        ));
        defaults.lambda
    };
    let weighting = match o.min_pair_votes {
        Some(m) if !(m.is_finite() && m >= 0.0) => {
            notes.push(format!(
                "min_pair_votes {m} is not a finite non-negative number; 50 is used"
            ));
            Some(50.0)
        }
        other => other,
    };
    (lambda, weighting)
}

/// Notes on the votes that `rows` left out.
fn note_left_out(rows: &Rows, notes: &mut Vec<String>) {
    if rows.skipped > 0 {
        notes.push(format!(
            "{} skipped votes have no effect on the ratings",
            rows.skipped
        ));
    }
    if rows.invalid > 0 {
        notes.push(format!(
            "{} votes were ignored (an unknown model, or the same model on both sides)",
            rows.invalid
        ));
    }
}

/// Starts `x` at the plain fit with the same weights, if that converged: the strengths
/// move little once the style term is added, so Newton's method needs few passes over the
/// rows. `pairs` are the rows' counts by pair, `x` is zero.
fn plain_start(
    pairs: &[Pair],
    rows: &Rows,
    structure: &Structure,
    settings: &Settings,
    x: &mut [f64],
) {
    let k = rows.k;
    let weighted: Vec<Pair> = pairs
        .iter()
        .zip(&rows.pairs)
        .map(|(q, p)| {
            Pair::new(
                q.i,
                q.j,
                p.weight * q.wins_i,
                p.weight * q.wins_j,
                p.weight * q.ties,
            )
        })
        .collect();
    let plain = Problem {
        k,
        pairs: &weighted,
        structure,
    };
    let mut start = vec![0.0; k];
    let started = newton(
        &plain,
        &mut start,
        settings,
        &mut DenseSolver::new(k),
        &mut Workspace::new(k),
    );
    if started.converged && start.iter().all(|t| t.is_finite()) {
        x[..k].copy_from_slice(&start);
    }
}

/// Sandwich standard errors of all `K + 4` parameters at the optimum `x`, or zeros with a
/// note when they could not be computed.
fn standard_errors(
    model: &Model,
    x: &[f64],
    work: &mut Work,
    correction: f64,
    notes: &mut Vec<String>,
) -> Vec<f64> {
    let rows = model.rows;
    let n = rows.k + F;
    let variances = if rows.pairs.is_empty() {
        Some(vec![0.0; n])
    } else {
        model.sandwich(&rows.count, x, work, correction, true)
    };
    match variances {
        Some(v) => v.iter().map(|x| x.max(0.0).sqrt()).collect(),
        None => {
            notes.push("the sandwich covariance could not be computed; its bounds collapse onto the ratings".to_string());
            vec![0.0; n]
        }
    }
}
