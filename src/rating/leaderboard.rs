//! The leaderboard: ratings by the chosen method plus the per-model counts, in the JSON shape
//! of SPEC §2, which every output format carries field for field.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::elo::{self, EloParams};
use super::totals;
use crate::store::VoteTotals;

/// How ratings are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Online Elo in vote order.
    Elo,
}

impl Method {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Elo => "elo",
        }
    }
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct LeaderboardOptions {
    pub method: Method,
    pub elo: EloParams,
    /// Leave out models with fewer battles.
    pub min_battles: u64,
}

impl Default for LeaderboardOptions {
    fn default() -> Self {
        LeaderboardOptions {
            method: Method::Elo,
            elo: EloParams::default(),
            min_battles: 0,
        }
    }
}

/// One model's line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub rank: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_ub: Option<usize>,
    pub model_name: String,
    pub rating: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_lower: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_upper: Option<f64>,
    pub battles: u64,
    pub wins: u64,
    pub ties: u64,
    pub both_bad: u64,
    pub skips: u64,
    pub win_rate_percentage: Option<f64>,
}

/// A computed leaderboard, with what is needed to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaderboard {
    pub method: Method,
    pub params: Map<String, Value>,
    pub seed: Option<u64>,
    pub votes: u64,
    pub generated_at: String,
    pub leaderboard: Vec<Row>,
    /// Remarks on the data (e.g. models left out), for people.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Computes the leaderboard over `data`, all of whose votes count.
#[must_use]
pub fn compute(
    data: &VoteTotals,
    options: &LeaderboardOptions,
    generated_at: String,
) -> Leaderboard {
    let n = data.names.len();
    let counts = totals(n, &data.votes);
    let (ratings, params) = match options.method {
        Method::Elo => {
            let p = options.elo;
            let params = json!({"k": p.k, "initial": p.initial, "scale": p.scale, "base": p.base});
            (elo::online(n, &data.votes, &p), params)
        }
    };
    let mut rows: Vec<Row> = (0..n)
        .filter(|&i| counts[i].battles > 0 && counts[i].battles >= options.min_battles)
        .map(|i| Row {
            rank: 0,
            rank_ub: None,
            model_name: data.names[i].clone(),
            rating: ratings[i],
            rating_lower: None,
            rating_upper: None,
            battles: counts[i].battles,
            wins: counts[i].wins,
            ties: counts[i].ties,
            both_bad: counts[i].both_bad,
            skips: counts[i].skips,
            win_rate_percentage: counts[i].win_rate_percentage(),
        })
        .collect();
    rows.sort_by(|x, y| {
        y.rating
            .total_cmp(&x.rating)
            .then_with(|| x.model_name.cmp(&y.model_name))
    });
    // Equal ratings share a rank.
    for i in 0..rows.len() {
        rows[i].rank = if i > 0 && rows[i].rating == rows[i - 1].rating {
            rows[i - 1].rank
        } else {
            i + 1
        };
    }
    let left_out = (0..n)
        .filter(|&i| counts[i].battles > 0 && counts[i].battles < options.min_battles)
        .count();
    let mut notes = Vec::new();
    if left_out > 0 {
        notes.push(format!(
            "{left_out} model(s) with fewer than {} battles left out",
            options.min_battles
        ));
    }
    Leaderboard {
        method: options.method,
        params: params.as_object().cloned().unwrap_or_default(),
        seed: None,
        votes: data.votes.len() as u64,
        generated_at,
        leaderboard: rows,
        notes,
    }
}
