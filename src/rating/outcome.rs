//! The result of a vote, as the ratings read it and the battles record it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The result of a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Winner {
    ModelA,
    ModelB,
    Tie,
    BothBad,
    /// Counted as a battle and a skip; no effect on ratings.
    Skip,
}

impl Winner {
    pub const ALL: [Winner; 5] = [
        Winner::ModelA,
        Winner::ModelB,
        Winner::Tie,
        Winner::BothBad,
        Winner::Skip,
    ];

    /// The wire name: `model_a|model_b|tie|both_bad|skip`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Winner::ModelA => "model_a",
            Winner::ModelB => "model_b",
            Winner::Tie => "tie",
            Winner::BothBad => "both_bad",
            Winner::Skip => "skip",
        }
    }

    /// The code stored in the votes table.
    #[must_use]
    pub fn code(self) -> i64 {
        match self {
            Winner::ModelA => 0,
            Winner::ModelB => 1,
            Winner::Tie => 2,
            Winner::BothBad => 3,
            Winner::Skip => 4,
        }
    }

    #[must_use]
    pub fn from_code(code: i64) -> Option<Winner> {
        Winner::ALL.into_iter().find(|w| w.code() == code)
    }

    /// A's score: 1 win, 0 loss, 0.5 tie or both bad; `None` for a skip.
    #[must_use]
    pub fn score_a(self) -> Option<f64> {
        match self {
            Winner::ModelA => Some(1.0),
            Winner::ModelB => Some(0.0),
            Winner::Tie | Winner::BothBad => Some(0.5),
            Winner::Skip => None,
        }
    }
}

impl fmt::Display for Winner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Winner {
    type Err = Error;

    /// Accepts the short forms of the command line and the names of battle logs.
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "a" | "model_a" => Ok(Winner::ModelA),
            "b" | "model_b" => Ok(Winner::ModelB),
            "tie" => Ok(Winner::Tie),
            "bothbad" | "both_bad" | "both-bad" | "tie (bothbad)" | "bad" => Ok(Winner::BothBad),
            "skip" => Ok(Winner::Skip),
            _ => Err(Error::Input(format!(
                "unknown vote `{s}`: expected a, b, tie, bothbad or skip"
            ))),
        }
    }
}
