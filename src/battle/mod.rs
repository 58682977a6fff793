//! Battles: their states and outcomes, the pairing of two models (`sampler`), their
//! generation (`run`), the in-chat command grammar (`commands`), answers that name a model
//! (`identity`), why a vote is kept but left out of the ratings ([`VoteFlags`]), and what a
//! caller may see of a battle before and after the vote (`view`).

pub mod commands;
pub mod identity;
pub mod lifecycle;
pub mod sampler;
mod view;

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

/// Why a vote is kept but left out of the ratings: the bits of `votes.flags`, none when it
/// counts. The running counts, online Elo and the kept Glicko-2 hold only votes that count;
/// a leaderboard that admits some left-out votes reads the votes themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VoteFlags(u8);

impl VoteFlags {
    /// Counts.
    pub const NONE: VoteFlags = VoteFlags(0);
    /// An answer named a model (see [`identity`]); `--include-identity-leaks` admits it.
    pub const IDENTITY_LEAK: VoteFlags = VoteFlags(1);
    /// A chat battle recorded before each side saw only its own conversation: model B was
    /// sent model A's answer as its own (or a blank turn), so the two never answered the same
    /// conversation. Marked once, by the migration that added the flags; never admitted.
    pub const UNEQUAL_CHAT: VoteFlags = VoteFlags(2);
    /// A side-by-side vote, cast with the model names shown (the page's named view, origin
    /// `web_named`). Kept apart from the default board; `include_named` admits it.
    pub const NAMED: VoteFlags = VoteFlags(4);

    /// Every reason's bit, those to come included.
    pub const ALL_BITS: VoteFlags = VoteFlags(u8::MAX);

    /// Every reason, with its name in JSON, exports and messages.
    pub const ALL: [(VoteFlags, &'static str); 3] = [
        (VoteFlags::IDENTITY_LEAK, "identity_leak"),
        (VoteFlags::UNEQUAL_CHAT, "unequal_chat"),
        (VoteFlags::NAMED, "named"),
    ];

    #[must_use]
    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    /// The flags of stored bits; unknown bits are kept, so a vote never counts by mistake.
    #[must_use]
    pub fn from_bits(bits: i64) -> VoteFlags {
        VoteFlags(u8::try_from(bits & 0xFF).unwrap_or(u8::MAX))
    }

    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether the vote counts: [`VoteFlags::is_empty`] by reference, for serde's
    /// `skip_serializing_if`.
    #[must_use]
    pub fn counts(&self) -> bool {
        self.is_empty()
    }

    #[must_use]
    pub fn contains(self, other: VoteFlags) -> bool {
        self.0 & other.0 == other.0
    }

    #[must_use]
    pub fn union(self, other: VoteFlags) -> VoteFlags {
        VoteFlags(self.0 | other.0)
    }

    /// The flags not in `other`.
    #[must_use]
    pub fn without(self, other: VoteFlags) -> VoteFlags {
        VoteFlags(self.0 & !other.0)
    }

    /// The names of the reasons set, in [`VoteFlags::ALL`] order.
    #[must_use]
    pub fn names(self) -> Vec<&'static str> {
        VoteFlags::ALL
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }

    /// The reason called `name`.
    pub fn parse(name: &str) -> Result<VoteFlags, Error> {
        let name = name.trim();
        VoteFlags::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(f, _)| *f)
            .ok_or_else(|| {
                Error::Input(format!(
                    "unknown reason `{name}` for leaving a vote out: expected identity_leak, \
                     unequal_chat or named"
                ))
            })
    }

    /// Reasons in words, for people.
    #[must_use]
    pub fn describe(self) -> String {
        let mut out = Vec::new();
        if self.contains(VoteFlags::IDENTITY_LEAK) {
            out.push("an answer named a model");
        }
        if self.contains(VoteFlags::UNEQUAL_CHAT) {
            out.push("a chat battle from before both sides saw the same conversation");
        }
        if self.contains(VoteFlags::NAMED) {
            out.push("cast with the models named");
        }
        out.join("; ")
    }
}

/// A list of reason names, as JSON and exports carry them.
impl Serialize for VoteFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// How many votes were left out, by reason: a vote left out for two reasons counts under
/// both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LeftOutCounts {
    pub identity_leak: u64,
    pub unequal_chat: u64,
    pub named: u64,
}

impl LeftOutCounts {
    /// Counts one vote left out for `reasons`.
    pub fn add(&mut self, reasons: VoteFlags, n: u64) {
        if reasons.contains(VoteFlags::IDENTITY_LEAK) {
            self.identity_leak += n;
        }
        if reasons.contains(VoteFlags::UNEQUAL_CHAT) {
            self.unequal_chat += n;
        }
        if reasons.contains(VoteFlags::NAMED) {
            self.named += n;
        }
    }

    #[must_use]
    pub fn any(&self) -> bool {
        self.identity_leak + self.unequal_chat + self.named > 0
    }

    /// "3 votes left out of the ratings: 1 whose answers named a model, ...", or `None`.
    #[must_use]
    pub fn note(&self, identity_leaks_admissible: bool) -> Option<String> {
        if !self.any() {
            return None;
        }
        let mut parts = Vec::new();
        if self.identity_leak > 0 {
            let hint = if identity_leaks_admissible {
                " (--include-identity-leaks counts them)"
            } else {
                ""
            };
            parts.push(format!(
                "{} whose answers named a model{hint}",
                self.identity_leak
            ));
        }
        if self.unequal_chat > 0 {
            parts.push(format!(
                "{} of chat battles from before both sides saw the same conversation",
                self.unequal_chat
            ));
        }
        if self.named > 0 {
            parts.push(format!(
                "{} cast with the models named (--include-named counts them)",
                self.named
            ));
        }
        Some(format!(
            "votes kept but left out of the ratings: {}",
            parts.join(", ")
        ))
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
