//! The leaderboard: ratings by the chosen method plus the per-model counts, in the JSON shape
//! of SPEC §2, which every output format carries field for field.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::bt::{self, BtOptions};
use super::elo::{self, EloParams};
use super::glicko2::{self, Glicko2Params};
use super::style::{Features, StyleOptions, StyleVote, StyleVotes, Variant, fit_contextual};
use super::{PairCounts, totals};
use super::{VoteRow, Votes};
use crate::rating::LeftOutCounts;

/// How ratings are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Bradley-Terry maximum likelihood with confidence intervals (the default).
    Bt,
    /// Online Elo in vote order.
    Elo,
    /// Glicko-2, periodic and realtime.
    Glicko2,
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct LeaderboardOptions {
    pub method: Method,
    pub elo: EloParams,
    pub glicko2: Glicko2Params,
    /// Bootstrap rounds for Bradley-Terry; 0 = sandwich intervals only.
    pub bootstrap: usize,
    pub seed: u64,
    /// Coverage of the intervals.
    pub ci: f64,
    /// Shift Bradley-Terry ratings so this model has this rating.
    pub anchor: Option<(String, f64)>,
    /// Leave out models with fewer battles (and their votes).
    pub min_battles: u64,
    /// Unix milliseconds: decides Glicko-2's running period.
    pub now_ms: i64,
    /// Bradley-Terry: control for style (the contextual model of `arena-rank`, or
    /// FastChat's), with the defaults of that variant.
    pub style: Option<Variant>,
}

impl LeaderboardOptions {
    /// The fewest bootstrap rounds whose percentiles can bound a `ci` interval: each tail
    /// needs a replicate of its own, so `2 / (1 − ci)` (40 at 95%).
    #[must_use]
    pub fn min_bootstrap_rounds(ci: f64) -> usize {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = (2.0 / (1.0 - ci) - 1e-9).ceil() as usize;
        n.max(2)
    }

    /// Why these options cannot give a leaderboard, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        if !(self.ci > 0.0 && self.ci < 1.0) {
            return Err(format!(
                "ci {}: expected a coverage between 0 and 1, such as 0.95",
                self.ci
            ));
        }
        if self.style.is_some() && self.method != Method::Bt {
            return Err(format!(
                "style control is a Bradley-Terry model: use it with --method bt, not {}",
                self.method.as_str()
            ));
        }
        if self.method == Method::Bt && self.bootstrap > 0 {
            let min = Self::min_bootstrap_rounds(self.ci);
            if self.bootstrap < min {
                return Err(format!(
                    "{} bootstrap rounds are too few for {}% intervals: their percentiles need \
                     at least {min} rounds (2 / (1 - ci)); use 100 or more, or 0 for sandwich \
                     intervals",
                    self.bootstrap,
                    self.ci * 100.0
                ));
            }
            if self.bootstrap > bt::MAX_BOOTSTRAP_ROUNDS {
                return Err(format!(
                    "{} bootstrap rounds: at most {} are run",
                    self.bootstrap,
                    bt::MAX_BOOTSTRAP_ROUNDS
                ));
            }
        }
        Ok(())
    }
}

impl Default for LeaderboardOptions {
    fn default() -> Self {
        LeaderboardOptions {
            method: Method::Bt,
            elo: EloParams::default(),
            glicko2: Glicko2Params::default(),
            bootstrap: 100,
            seed: 0,
            ci: 0.95,
            anchor: None,
            min_battles: 0,
            now_ms: 0,
            style: None,
        }
    }
}

/// One model's line. Fields a method does not produce are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    /// Bradley-Terry, when the comparison graph splits: the connected group of the model,
    /// numbered from 1 (the group with the most models first). Ratings and ranks are within
    /// a group; none when there is only one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    /// The place by rating, 1 for the best (within the model's group, when there are groups).
    pub rank: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_ub: Option<usize>,
    pub model_name: String,
    pub rating: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_lower: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_upper: Option<f64>,
    /// Bradley-Terry with a bootstrap: the sandwich bounds, beside the bootstrap ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandwich_lower: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandwich_upper: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_deviation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volatility: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_realtime: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_deviation_realtime: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volatility_realtime: Option<f64>,
    pub battles: u64,
    pub wins: u64,
    pub ties: u64,
    pub both_bad: u64,
    pub skips: u64,
    pub win_rate_percentage: Option<f64>,
    /// Style control: the model's rank on the plain board of the same votes, and how many
    /// places it gains under style control (negative: it loses places).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_plain: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_change: Option<i64>,
    /// Bradley-Terry: the connected group of the comparison graph the model is in.
    #[serde(skip)]
    pub component: usize,
    /// Style control: the model's rating on the plain board of the same votes.
    #[serde(skip)]
    pub plain_rating: Option<f64>,
}

/// A computed leaderboard, with what is needed to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaderboard {
    pub method: Method,
    pub params: Map<String, Value>,
    pub seed: Option<u64>,
    /// Votes that entered the computation (skips included).
    pub votes: u64,
    /// Whether votes whose answers named a model were counted (they are not by default).
    pub include_identity_leaks: bool,
    /// Whether side-by-side votes, cast with the models named, were counted (they are not
    /// by default); present only when they were.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_named: bool,
    /// Votes of the selection kept but left out of the computation, by reason.
    pub left_out: LeftOutCounts,
    pub generated_at: String,
    /// Glicko-2: when the running rating period ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_update_time: Option<String>,
    pub leaderboard: Vec<Row>,
    /// Style control: the fitted coefficients and what they are over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<StyleSummary>,
    /// Remarks on the data (disconnected comparisons, models left out, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Models left out by `min_battles`.
    #[serde(skip)]
    pub dropped_models: usize,
}

/// The style part of a style-controlled board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StyleSummary {
    /// `arena-rank` or `fastchat`.
    pub variant: &'static str,
    /// The penalty on the coefficients (per mean loss for `arena-rank`, per summed loss
    /// for `fastchat`: about 8 times apart in meaning on the same votes, see the README).
    pub lambda: f64,
    /// Log-odds per standard deviation of each feature's relative difference, by name
    /// (`tokens`, `headers`, `lists`, `bold`): positive when more of it wins votes.
    pub coefficients: Map<String, Value>,
    /// Their sandwich standard errors.
    pub coefficient_se: Map<String, Value>,
    /// Mean and standard deviation of each relative difference over the votes fitted.
    pub feature_mean: Map<String, Value>,
    pub feature_std: Map<String, Value>,
    /// Votes of the selection left out for want of features (no stored answers).
    pub votes_without_features: u64,
}

impl StyleSummary {
    fn named(values: &[f64; Features::COUNT]) -> Map<String, Value> {
        Features::NAMES
            .iter()
            .zip(values)
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect()
    }
}

impl Method {
    /// The name of the method as flags and JSON write it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Bt => "bt",
            Method::Elo => "elo",
            Method::Glicko2 => "glicko2",
        }
    }
}

/// The name of a style-control variant as flags and JSON write it.
#[must_use]
pub fn variant_name(v: Variant) -> &'static str {
    match v {
        Variant::ArenaRank => "arena-rank",
        Variant::FastChat => "fastchat",
    }
}

/// The indexes of the votes between models with at least `min` battles, and how many models
/// were left out.
fn drop_rare(n: usize, votes: &[VoteRow], min: u64) -> (Vec<usize>, usize) {
    let counts = totals(n, votes);
    let keep: Vec<bool> = counts.iter().map(|c| c.battles >= min).collect();
    let left_out = counts
        .iter()
        .filter(|c| c.battles > 0 && c.battles < min)
        .count();
    let kept = (0..votes.len())
        .filter(|&i| keep[votes[i].model_a as usize] && keep[votes[i].model_b as usize])
        .collect();
    (kept, left_out)
}

/// The names of the models in `votes`, and the votes re-indexed over those names.
fn compact(names: &[String], votes: &[VoteRow]) -> (Vec<String>, Vec<VoteRow>) {
    let mut map = vec![u32::MAX; names.len()];
    let mut kept = Vec::new();
    let mut index = |m: u32| -> u32 {
        let slot = &mut map[m as usize];
        if *slot == u32::MAX {
            *slot = u32::try_from(kept.len()).unwrap_or(u32::MAX);
            kept.push(names[m as usize].clone());
        }
        *slot
    };
    let votes = votes
        .iter()
        .map(|v| VoteRow {
            model_a: index(v.model_a),
            model_b: index(v.model_b),
            winner: v.winner,
        })
        .collect();
    (kept, votes)
}

/// Numbers the connected groups of `rows` (sorted by rating) when there is more than one,
/// the group with the most models first (then the most battles, then the best model's
/// name), and lists the rows group by group, each by rating.
fn group_rows(rows: &mut [Row]) {
    let mut by_component: HashMap<usize, (usize, u64, String)> = HashMap::new();
    for r in rows.iter() {
        let entry = by_component
            .entry(r.component)
            .or_insert_with(|| (0, 0, r.model_name.clone()));
        entry.0 += 1;
        entry.1 += r.battles;
    }
    if by_component.len() < 2 {
        return;
    }
    let mut order: Vec<(usize, (usize, u64, String))> = by_component.into_iter().collect();
    order.sort_by(|(_, x), (_, y)| {
        y.0.cmp(&x.0)
            .then_with(|| y.1.cmp(&x.1))
            .then_with(|| x.2.cmp(&y.2))
    });
    let number: HashMap<usize, usize> = order
        .iter()
        .enumerate()
        .map(|(n, (component, _))| (*component, n + 1))
        .collect();
    for r in rows.iter_mut() {
        r.group = number.get(&r.component).copied();
    }
    // A stable sort keeps each group's rows in their order by rating.
    rows.sort_by_key(|r| r.group);
}

/// What a leaderboard is computed from: the votes themselves (in vote order), or their
/// counts per pair, with the running online Elo ratings when they are kept. Bradley-Terry
/// needs only counts; Elo needs the order (or its running ratings); Glicko-2 the votes.
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    Votes(&'a Votes),
    /// Votes with the style features of both sides (parallel to `votes.votes`), for a
    /// style-controlled board; `without` votes of the selection had none.
    Styled {
        votes: &'a Votes,
        features: &'a [(Features, Features)],
        without: u64,
    },
    Counts {
        counts: &'a PairCounts,
        elo: Option<&'a HashMap<String, f64>>,
        /// Glicko-2 kept vote by vote, for the counts of every vote.
        glicko2: Option<&'a Glicko2View>,
    },
}

/// Glicko-2 ratings kept vote by vote ([`glicko2::Glicko2State`]), by model name.
#[derive(Debug, Clone, Default)]
pub struct Glicko2View {
    pub ratings: HashMap<String, glicko2::Glicko2Pair>,
    pub pending_votes: usize,
    pub next_update_ms: Option<i64>,
}

/// The votes in order, over the same models as the counts beside them.
struct Sequence {
    votes: Vec<VoteRow>,
    times: Vec<i64>,
    imported: Vec<bool>,
}

/// Computes the leaderboard over `data`.
#[must_use]
pub fn compute(data: Data<'_>, options: &LeaderboardOptions, generated_at: String) -> Leaderboard {
    let mut notes = Vec::new();
    let mut dropped_models = 0;
    // One note says what min_battles did, also when it left nothing to show.
    let left_out_note = |left_out: usize, active: usize, notes: &mut Vec<String>| {
        let min = options.min_battles;
        if left_out > 0 && left_out == active {
            notes.push(format!(
                "every model has fewer than {min} battles: all {left_out} left out, with their \
                 votes"
            ));
        } else if left_out > 0 {
            notes.push(format!(
                "{left_out} model(s) with fewer than {min} battles left out, with their votes"
            ));
        }
    };
    // Only models that appear in these votes take part: a model that stands only in unvoted
    // battles must not be named (or even counted) anywhere.
    let (features, without) = match data {
        Data::Styled {
            features, without, ..
        } => (Some(features), without),
        _ => (None, 0),
    };
    let mut styled: Option<Vec<StyleVote>> = None;
    let (counts, sequence, running_elo, kept_glicko2) = match data {
        Data::Votes(data) | Data::Styled { votes: data, .. } => {
            let n = data.names.len();
            let kept: Vec<usize> = if options.min_battles > 1 {
                let (kept, left_out) = drop_rare(n, &data.votes, options.min_battles);
                dropped_models = left_out;
                let active = totals(n, &data.votes)
                    .iter()
                    .filter(|c| c.battles > 0)
                    .count();
                left_out_note(left_out, active, &mut notes);
                kept
            } else {
                (0..data.votes.len()).collect()
            };
            let picked: Vec<VoteRow> = kept.iter().map(|&i| data.votes[i]).collect();
            let (names, votes) = compact(&data.names, &picked);
            if let Some(features) = features {
                styled = Some(
                    votes
                        .iter()
                        .zip(&kept)
                        .filter_map(|(v, &i)| {
                            let (a, b) = features.get(i).copied()?;
                            Some(StyleVote {
                                model_a: v.model_a,
                                model_b: v.model_b,
                                winner: v.winner,
                                a,
                                b,
                            })
                        })
                        .collect(),
                );
            }
            let counts = PairCounts::from_votes(&names, &votes);
            let sequence = Sequence {
                votes,
                times: kept
                    .iter()
                    .map(|&i| data.times.get(i).copied().unwrap_or(0))
                    .collect(),
                imported: kept
                    .iter()
                    .map(|&i| data.imported.get(i).copied().unwrap_or(false))
                    .collect(),
            };
            (counts, Some(sequence), None, None)
        }
        Data::Counts {
            counts,
            elo,
            glicko2,
        } => {
            let all = counts.totals();
            let min = options.min_battles;
            if min > 1 {
                dropped_models = all
                    .iter()
                    .filter(|c| c.battles > 0 && c.battles < min)
                    .count();
                let active = all.iter().filter(|c| c.battles > 0).count();
                left_out_note(dropped_models, active, &mut notes);
            }
            (
                counts.restrict(|m| min <= 1 || all[m].battles >= min),
                None,
                elo,
                glicko2,
            )
        }
    };
    let names = counts.names.clone();
    let n = names.len();
    let model_totals = counts.totals();
    let mut rows: Vec<Row> = (0..n)
        .map(|i| Row {
            model_name: names[i].clone(),
            battles: model_totals[i].battles,
            wins: model_totals[i].wins,
            ties: model_totals[i].ties,
            both_bad: model_totals[i].both_bad,
            skips: model_totals[i].skips,
            win_rate_percentage: model_totals[i].win_rate_percentage(),
            ..Row::default()
        })
        .collect();
    let mut seed = None;
    let mut next_update_time = None;
    let mut plain_ratings: Option<Vec<f64>> = None;
    let mut style_summary: Option<StyleSummary> = None;
    let params = match options.method {
        Method::Elo => {
            let p = options.elo;
            let ratings: Vec<f64> = match (&sequence, running_elo) {
                (Some(seq), _) => elo::online(n, &seq.votes, &p),
                (None, Some(running)) => names
                    .iter()
                    .map(|m| running.get(m).copied().unwrap_or(p.initial))
                    .collect(),
                (None, None) => vec![p.initial; n],
            };
            for (row, r) in rows.iter_mut().zip(ratings) {
                row.rating = r;
            }
            json!({"k": p.k, "initial": p.initial, "scale": p.scale, "base": p.base})
        }
        Method::Glicko2 => {
            let p = options.glicko2;
            let empty = Sequence {
                votes: Vec::new(),
                times: Vec::new(),
                imported: Vec::new(),
            };
            let result = match (&sequence, kept_glicko2) {
                (None, Some(kept)) => {
                    let start = glicko2::compute(1, &[], &[], &[], options.now_ms, &p).ratings[0];
                    glicko2::Glicko2Result {
                        ratings: names
                            .iter()
                            .map(|m| kept.ratings.get(m).copied().unwrap_or(start))
                            .collect(),
                        pending_votes: kept.pending_votes,
                        next_update_ms: kept.next_update_ms,
                    }
                }
                _ => {
                    let seq = sequence.as_ref().unwrap_or(&empty);
                    glicko2::compute(n, &seq.votes, &seq.times, &seq.imported, options.now_ms, &p)
                }
            };
            let z = bt::normal_quantile(1.0 - (1.0 - options.ci) / 2.0);
            for (row, g) in rows.iter_mut().zip(&result.ratings) {
                row.rating = g.periodic.rating;
                row.rating_lower = Some(g.periodic.rating - z * g.periodic.deviation);
                row.rating_upper = Some(g.periodic.rating + z * g.periodic.deviation);
                row.rating_deviation = Some(g.periodic.deviation);
                row.volatility = Some(g.periodic.volatility);
                row.rating_realtime = Some(g.realtime.rating);
                row.rating_deviation_realtime = Some(g.realtime.deviation);
                row.volatility_realtime = Some(g.realtime.volatility);
            }
            if result.pending_votes > 0 {
                notes.push(format!(
                    "{} vote(s) of the running rating period count in the periodic ratings at its \
                     end; the realtime ratings include them",
                    result.pending_votes
                ));
            }
            next_update_time = result.next_update_ms.map(crate::util::format_ms);
            json!({
                "initial_rating": p.initial_rating, "initial_rd": p.initial_rd,
                "initial_volatility": p.initial_volatility, "tau": p.tau,
                "rating_period_ms": p.period_ms, "ci": options.ci,
            })
        }
        Method::Bt => {
            let anchor = options.anchor.as_ref().and_then(|(name, rating)| {
                let found = names.iter().position(|m| m == name);
                if found.is_none() {
                    notes.push(format!(
                        "anchor model `{name}` has no votes here: no anchor applied"
                    ));
                }
                found.map(|i| (i, *rating))
            });
            let bt_options = BtOptions {
                anchor,
                ci_level: options.ci,
                bootstrap_rounds: options.bootstrap,
                seed: options.seed,
                ..BtOptions::default()
            };
            let fit = match (options.style, styled.take()) {
                (Some(variant), Some(votes)) => {
                    let defaults = match variant {
                        Variant::ArenaRank => StyleOptions::default(),
                        Variant::FastChat => StyleOptions::fastchat(),
                    };
                    let style_options = StyleOptions {
                        bt: bt_options,
                        ..defaults
                    };
                    let data = StyleVotes {
                        n_models: n,
                        names: names.clone(),
                        votes,
                    };
                    let fit = fit_contextual(&data, &style_options);
                    // The plain board of the same votes, for each model's rank change.
                    let plain = bt::fit(
                        &counts.comparisons(),
                        &BtOptions {
                            bootstrap_rounds: 0,
                            ..bt_options
                        },
                    );
                    plain_ratings = Some(plain.ratings);
                    style_summary = Some(StyleSummary {
                        variant: variant_name(variant),
                        lambda: style_options.lambda,
                        coefficients: StyleSummary::named(&fit.coefficients),
                        coefficient_se: StyleSummary::named(&fit.coefficient_se),
                        feature_mean: StyleSummary::named(&fit.feature_mean),
                        feature_std: StyleSummary::named(&fit.feature_std),
                        votes_without_features: without,
                    });
                    fit.board
                }
                _ => bt::fit(&counts.comparisons(), &bt_options),
            };
            // With no votes at all the empty board says it; the fit's remarks on its empty
            // input ("no models", no bootstrap) would only say it again.
            if n > 0 {
                notes.extend(fit.notes.iter().cloned());
            }
            let (lower, upper) = match &fit.bootstrap {
                Some(b) => (b.lower.clone(), b.upper.clone()),
                None => (fit.sandwich_lower.clone(), fit.sandwich_upper.clone()),
            };
            let mut open = 0;
            for (i, row) in rows.iter_mut().enumerate() {
                row.rating = fit.ratings[i];
                // Where the data do not pin a rating down (a model that only won or only
                // lost, or one between such models), its bounds are open: infinite, shown
                // as null in JSON, and it is never "surely" ranked above or below another.
                let unbounded = fit.unbounded_above[i] || fit.unbounded_below[i];
                open += usize::from(unbounded);
                let (lo, hi) = if unbounded {
                    (f64::NEG_INFINITY, f64::INFINITY)
                } else {
                    (lower[i], upper[i])
                };
                row.rating_lower = Some(lo);
                row.rating_upper = Some(hi);
                if fit.bootstrap.is_some() {
                    let (lo, hi) = if unbounded {
                        (f64::NEG_INFINITY, f64::INFINITY)
                    } else {
                        (fit.sandwich_lower[i], fit.sandwich_upper[i])
                    };
                    row.sandwich_lower = Some(lo);
                    row.sandwich_upper = Some(hi);
                }
                row.component = fit.component[i];
            }
            if open > 0 {
                notes.push(format!(
                    "{open} model(s) have open bounds: their votes do not pin their rating down \
                     (only wins or only losses against the rest), so no rank is sure for them"
                ));
            }
            if options.bootstrap > 0 {
                seed = Some(options.seed);
            }
            let mut params = json!({
                "scale": 400, "base": 10, "init_rating": 1000,
                "anchor": anchor.map(|(i, r)| json!({"model": names[i], "rating": r})),
                "ties": 0.5, "both_bad": 0.5,
                "ci": options.ci,
                "ci_method": if options.bootstrap > 0 { "bootstrap" } else { "sandwich" },
                "bootstrap_rounds": options.bootstrap,
            });
            if let (Some(v), Some(map)) = (options.style, params.as_object_mut()) {
                map.insert("style_control".into(), json!(variant_name(v)));
            }
            params
        }
    };
    if let Some(plain) = &plain_ratings {
        for (row, r) in rows.iter_mut().zip(plain) {
            row.plain_rating = Some(*r);
        }
    }
    // Only models that took part are listed.
    rows.retain(|r| r.battles > 0);
    // Equal ratings (Glicko-2's periodic ones before a period ends) are listed by the
    // realtime rating, then by name; their ranks stay equal.
    let realtime = |r: &Row| r.rating_realtime.unwrap_or(0.0);
    rows.sort_by(|x, y| {
        y.rating
            .total_cmp(&x.rating)
            .then_with(|| realtime(y).total_cmp(&realtime(x)))
            .then_with(|| x.model_name.cmp(&y.model_name))
    });
    if options.method == Method::Bt {
        group_rows(&mut rows);
    }
    // Ranks count within each group (Bradley-Terry over a split comparison graph; one group
    // otherwise): ratings of models never compared, even indirectly, are centred on their
    // own group's and say nothing about each other. So does "surely better" (rank UB).
    let mut groups: std::collections::BTreeMap<Option<usize>, Vec<usize>> = Default::default();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.group).or_default().push(i);
    }
    for members in groups.values() {
        let ratings: Vec<f64> = members.iter().map(|&i| rows[i].rating).collect();
        for (&i, rank) in members.iter().zip(bt::rank(&ratings)) {
            rows[i].rank = rank;
        }
        if options.method == Method::Bt {
            let lower: Vec<f64> = members
                .iter()
                .map(|&i| rows[i].rating_lower.unwrap_or(rows[i].rating))
                .collect();
            let upper: Vec<f64> = members
                .iter()
                .map(|&i| rows[i].rating_upper.unwrap_or(rows[i].rating))
                .collect();
            for (&i, rank) in members.iter().zip(bt::rank_ub(&lower, &upper)) {
                rows[i].rank_ub = Some(rank);
            }
        }
        if plain_ratings.is_some() {
            let plain: Vec<f64> = members
                .iter()
                .map(|&i| rows[i].plain_rating.unwrap_or(rows[i].rating))
                .collect();
            for (&i, rank) in members.iter().zip(bt::rank(&plain)) {
                rows[i].rank_plain = Some(rank);
                #[allow(clippy::cast_possible_wrap)]
                {
                    rows[i].rank_change = Some(rank as i64 - rows[i].rank as i64);
                }
            }
        }
    }
    Leaderboard {
        method: options.method,
        params: params.as_object().cloned().unwrap_or_default(),
        seed,
        votes: counts.votes(),
        include_identity_leaks: false,
        include_named: false,
        left_out: LeftOutCounts::default(),
        generated_at,
        next_update_time,
        leaderboard: rows,
        style: style_summary,
        notes,
        dropped_models,
    }
}
