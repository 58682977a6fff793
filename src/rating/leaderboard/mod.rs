//! The leaderboard: ratings by the chosen method plus the per-model counts, in the JSON shape
//! of SPEC §2, which every output format carries field for field.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::PairCounts;
use super::Votes;
use super::bt::{self};
use super::elo::EloParams;
use super::glicko2::{self, Glicko2Params};
use super::style::{Features, StyleVote, Variant};
use crate::rating::LeftOutCounts;

mod compute;
pub use compute::compute;

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

/// What a leaderboard is computed from: the votes themselves (in vote order), or their
/// counts per pair, with the running online Elo ratings when they are kept. Bradley-Terry
/// needs only counts; Elo needs the order (or its running ratings); Glicko-2 the votes.
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    Votes(&'a Votes),
    /// Votes with the style features of both sides over the models `names`, for a
    /// style-controlled board; `without` votes of the selection had none.
    Styled {
        names: &'a [String],
        votes: &'a [StyleVote],
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
