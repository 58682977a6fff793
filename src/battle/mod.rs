//! Battles: their states and outcomes, the pairing of two models (`sampler`), their
//! generation (`run`), the in-chat command grammar (`commands`), and what a caller may see of a battle before and after the vote
//! (`view`).

pub mod commands;
pub mod run;
pub mod sampler;
mod view;

pub use run::{BattleEvent, BattleRun, Side};
pub use view::{BattleView, EloChanges, RatingChange, Reveal};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A battle id: a UUID v7, so ids sort by creation time.
pub type BattleId = uuid::Uuid;

/// Parses a battle id given by a user.
pub fn parse_id(s: &str) -> Result<BattleId, Error> {
    uuid::Uuid::parse_str(s.trim()).map_err(|_| {
        Error::NotFound(format!(
            "no battle `{s}`: battle ids look like 0192f0c4-7d2e-7c3a-9a51-2b4f8c1d9e07"
        ))
    })
}

/// The life of a battle (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    PendingGeneration,
    PendingVote,
    Completed,
    Failed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::PendingGeneration,
        Status::PendingVote,
        Status::Completed,
        Status::Failed,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingGeneration => "pending_generation",
            Status::PendingVote => "pending_vote",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                Error::Input(format!(
                    "unknown status `{s}`: expected pending_generation, pending_vote, completed or failed"
                ))
            })
    }
}

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

/// Where a battle came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Cli,
    Api,
    Chat,
    Import,
}

impl Origin {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Cli => "cli",
            Origin::Api => "api",
            Origin::Chat => "chat",
            Origin::Import => "import",
        }
    }
}

/// One side of a battle as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SideRecord {
    pub model: String,
    pub response: Option<String>,
    /// The upstream error that ended this side, kept for the user.
    pub error: Option<String>,
    pub latency_ms: Option<i64>,
    pub first_token_ms: Option<i64>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
}

/// A battle as stored, model names included: never handed to a caller as is.
#[derive(Debug, Clone, PartialEq)]
pub struct BattleRecord {
    pub id: BattleId,
    pub prompt: String,
    pub prompt_id: Option<String>,
    pub theme: String,
    pub system: Option<String>,
    pub status: Status,
    pub a: SideRecord,
    pub b: SideRecord,
    pub winner: Option<Winner>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub voted_at: Option<i64>,
    /// The in-chat id of a battle of a chat client.
    pub rpid: Option<String>,
}
