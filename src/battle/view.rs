//! Blinding: what of a battle may be shown, and when. Before the vote a battle is anonymous
//! ("Assistant A" and "Assistant B"); the reveal comes only with the vote.

use serde::Serialize;

use super::identity::IdentityLeak;
use super::{BattleRecord, Status, VoteFlags, Winner};

/// A battle as callers see it; the JSON shape of the REST API (SPEC §2). Model names are
/// present only once the battle has a vote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BattleView {
    pub battle_id: String,
    pub prompt: String,
    pub prompt_theme: String,
    pub response_a: Option<String>,
    pub response_b: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_a: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_b: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<Winner>,
    pub created_at: String,
    /// After the vote: why it is kept but left out of the ratings, if it is.
    #[serde(skip_serializing_if = "VoteFlags::counts")]
    pub left_out: VoteFlags,
    /// After the vote: the words of the answers that named a model, per side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_leak: Option<IdentityLeak>,
}

impl BattleView {
    /// The caller's view of `record`: names only after the vote.
    #[must_use]
    pub fn of(record: &BattleRecord) -> Self {
        let revealed = record.winner.is_some();
        // Errors name the failing model and endpoint; an unvoted battle shows them blinded.
        let shown = |e: &str| {
            if revealed {
                e.to_owned()
            } else {
                crate::error::UpstreamError::shown_of_kept(e)
            }
        };
        let error = match (&record.a.error, &record.b.error) {
            (None, None) => None,
            (Some(a), None) => Some(format!("Assistant A: {}", shown(a))),
            (None, Some(b)) => Some(format!("Assistant B: {}", shown(b))),
            (Some(a), Some(b)) => Some(format!(
                "Assistant A: {}; Assistant B: {}",
                shown(a),
                shown(b)
            )),
        };
        BattleView {
            battle_id: record.id.to_string(),
            prompt: record.prompt.clone(),
            prompt_theme: record.theme.clone(),
            response_a: record.a.response.clone(),
            response_b: record.b.response.clone(),
            status: record.status,
            error,
            model_a: revealed.then(|| record.a.model.clone()),
            model_b: revealed.then(|| record.b.model.clone()),
            winner: record.winner,
            created_at: crate::util::format_ms(record.created_at),
            // The words name models: like the names, they wait for the vote.
            left_out: if revealed {
                record.left_out
            } else {
                VoteFlags::NONE
            },
            identity_leak: record.identity_leak.clone().filter(|_| revealed),
        }
    }
}

/// A model's online Elo rating before and after a vote.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatingChange {
    pub rating_before: f64,
    pub rating_after: f64,
}

/// The Elo changes of both sides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EloChanges {
    pub model_a: RatingChange,
    pub model_b: RatingChange,
}

/// What the vote reveals. Its JSON has the field names of a voted battle (`battle_id`,
/// `status`, `winner`, `model_a`, `model_b`), plus the Elo changes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reveal {
    pub battle_id: String,
    pub status: super::Status,
    pub winner: Winner,
    pub model_a: String,
    pub model_b: String,
    pub elo: EloChanges,
    /// Why the vote is kept but left out of the ratings (its Elo then does not move).
    #[serde(skip_serializing_if = "VoteFlags::counts")]
    pub left_out: VoteFlags,
    /// The words of the answers that named a model, per side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_leak: Option<IdentityLeak>,
    /// `mock` models are labelled as not models.
    #[serde(skip)]
    pub label_a: String,
    #[serde(skip)]
    pub label_b: String,
}

impl Reveal {
    /// "Kept, but left out of the ratings: an answer named a model (Assistant A: gpt)", or
    /// `None` for a vote that counts.
    #[must_use]
    pub fn left_out_text(&self) -> Option<String> {
        if self.left_out.is_empty() {
            return None;
        }
        let words = self
            .identity_leak
            .as_ref()
            .map(|l| format!(" ({})", l.describe()))
            .unwrap_or_default();
        Some(format!(
            "Kept, but left out of the ratings: {}{words}.",
            self.left_out.describe()
        ))
    }

    /// The name of the winning model, "Tie", "Both bad" or "Skipped".
    #[must_use]
    pub fn outcome_text(&self) -> String {
        match self.winner {
            Winner::ModelA => format!("{} wins", self.label_a),
            Winner::ModelB => format!("{} wins", self.label_b),
            Winner::Tie => "Tie".into(),
            Winner::BothBad => "Both bad".into(),
            Winner::Skip => "Skipped".into(),
        }
    }
}
