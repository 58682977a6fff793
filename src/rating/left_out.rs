//! Why a vote is kept but left out of the ratings ([`VoteFlags`]), and how many were
//! ([`LeftOutCounts`]): the ratings read them to choose their votes and to say what they left
//! out.

use serde::Serialize;

use crate::error::Error;

/// Why a vote is kept but left out of the ratings: the bits of `votes.flags`, none when it
/// counts. The running counts, online Elo and the kept Glicko-2 hold only votes that count;
/// a leaderboard that admits some left-out votes reads the votes themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VoteFlags(u8);

impl VoteFlags {
    /// Counts.
    pub const NONE: VoteFlags = VoteFlags(0);
    /// An answer named a model (see `battle::identity`); `--include-identity-leaks` admits
    /// it.
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
