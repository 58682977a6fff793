//! Battles: their states and outcomes, the rules of their life (`lifecycle`: when a vote or
//! a turn is allowed, when a caller's limits are reached, the Elo step), the in-chat command
//! grammar (`commands`), answers that name a model (`identity`), why a vote is kept but left
//! out of the ratings ([`VoteFlags`]), and what a caller may see of a battle before and after
//! the vote (`view`). Pure types and rules: this module may use `util`, `error` and `rating`
//! only; pairing and generation live in the engine.

pub mod commands;
pub mod identity;
pub mod lifecycle;

mod view;

/// Kept at the paths they had before the ratings took them: what ratings read of a vote.
pub use crate::rating::{LeftOutCounts, VoteFlags, Winner};
pub use view::{BattleView, EloChanges, RatingChange, Reveal};

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Side A or side B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    A,
    B,
}

impl Side {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Side::A => "Assistant A",
            Side::B => "Assistant B",
        }
    }
}

/// A battle id: a UUID v7, so ids sort by creation time.
pub type BattleId = uuid::Uuid;

/// Parses a battle id given by a user.
pub fn parse_id(s: &str) -> Result<BattleId, Error> {
    uuid::Uuid::parse_str(s.trim()).map_err(|_| {
        Error::BattleNotFound(format!(
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

/// Where a battle came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Cli,
    Api,
    Chat,
    Import,
    /// The page's streaming battle API, anonymous.
    Web,
    /// The page's side-by-side battles: the two models chosen and shown, so the vote is
    /// kept apart from the default board ([`VoteFlags::NAMED`]).
    WebNamed,
}

impl Origin {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Cli => "cli",
            Origin::Api => "api",
            Origin::Chat => "chat",
            Origin::Import => "import",
            Origin::Web => "web",
            Origin::WebNamed => "web_named",
        }
    }

    /// The origin stored as `s`; text this version does not know reads as an import (no
    /// rule depends on it).
    #[must_use]
    pub fn parse(s: &str) -> Origin {
        [
            Origin::Cli,
            Origin::Api,
            Origin::Chat,
            Origin::Import,
            Origin::Web,
            Origin::WebNamed,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .unwrap_or(Origin::Import)
    }

    /// Whether its vote is cast with the models named.
    #[must_use]
    pub fn is_named(self) -> bool {
        self == Origin::WebNamed
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
    /// Why its vote is left out of the ratings (none before the vote, or when it counts).
    pub left_out: VoteFlags,
    /// The words of its answers that named a model, found when the vote was recorded.
    pub identity_leak: Option<identity::IdentityLeak>,
    /// Where it was started.
    pub origin: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_flags_name_their_reasons_and_count_them() {
        let both = VoteFlags::IDENTITY_LEAK.union(VoteFlags::UNEQUAL_CHAT);
        assert_eq!(both.names(), ["identity_leak", "unequal_chat"]);
        assert_eq!(
            serde_json::to_value(both).ok(),
            Some(serde_json::json!(["identity_leak", "unequal_chat"]))
        );
        assert_eq!(VoteFlags::from_bits(both.bits()), both);
        assert_eq!(
            both.without(VoteFlags::IDENTITY_LEAK),
            VoteFlags::UNEQUAL_CHAT
        );
        assert!(VoteFlags::NONE.is_empty() && VoteFlags::NONE.names().is_empty());
        assert_eq!(VoteFlags::parse(" named ").ok(), Some(VoteFlags::NAMED));
        assert!(VoteFlags::parse("bribed").is_err());
        // Bits this version does not know still keep a vote out.
        assert!(!VoteFlags::from_bits(64).is_empty());

        let mut counts = LeftOutCounts::default();
        assert_eq!(counts.note(true), None);
        counts.add(both, 1);
        counts.add(VoteFlags::IDENTITY_LEAK, 2);
        assert_eq!(
            (counts.identity_leak, counts.unequal_chat, counts.named),
            (3, 1, 0)
        );
        let note = counts.note(true).unwrap_or_default();
        assert!(
            note.contains("3 whose answers named a model (--include-identity-leaks"),
            "{note}"
        );
        assert!(note.contains("1 of chat battles"), "{note}");
        assert!(!counts.note(false).unwrap_or_default().contains("--include"));
    }
}
