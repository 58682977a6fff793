//! The rules of a battle's life, as pure functions that every storage backend applies inside
//! its own transactions: whether a vote is allowed (the battle's state, its owner), whether a
//! new battle breaks a per-user limit, which flags a vote takes, and the online Elo step of a
//! vote. A backend gathers the facts (in SQL or otherwise) and asks these functions; so two
//! backends can never disagree on a rule.
//!
//! Depends on: `battle` (states, ids, outcomes), `rating::elo`, `error`. Nothing of storage.

use crate::battle::{BattleId, Origin, Status, VoteFlags, Winner};
use crate::error::{Error, RateLimit, Result};
use crate::rating::elo::{self, EloParams};

/// One hour in milliseconds: the window of [`Limits::per_hour`].
pub const HOUR_MS: i64 = 3_600_000;

/// The error kept on both sides of a battle that expired waiting for its vote.
pub const EXPIRED: &str = "expired without a vote";

/// Why a battle failed, kept beside the error text so that nothing depends on its wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An upstream refused, failed, or sent no or a broken answer.
    Upstream,
    /// No complete answer within the generation timeout.
    Timeout,
    /// The person who started it stopped it.
    Cancelled,
    /// Cleared by `unstuck`.
    Unstuck,
    /// It waited longer than `pending_vote_expiry_minutes` for its vote.
    Expired,
    /// Its generation never finished (the process ended).
    Lost,
    /// Its answers could not be stored.
    Store,
}

impl Failure {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Upstream => "upstream",
            Failure::Timeout => "timeout",
            Failure::Cancelled => "cancelled",
            Failure::Unstuck => "unstuck",
            Failure::Expired => "expired",
            Failure::Lost => "lost",
            Failure::Store => "store",
        }
    }

    /// The failure [`Failure::as_str`] names.
    #[must_use]
    pub fn parse(s: &str) -> Option<Failure> {
        [
            Failure::Upstream,
            Failure::Timeout,
            Failure::Cancelled,
            Failure::Unstuck,
            Failure::Expired,
            Failure::Lost,
            Failure::Store,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

/// Per-user limits on new battles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Battles in `pending_generation` or `pending_vote` at once (0 = no limit).
    pub concurrent: u32,
    /// Battles started within an hour (0 = no limit).
    pub per_hour: u32,
    /// The shortest time between two battles, in milliseconds.
    pub interval_ms: i64,
}

/// What a backend knows of a battle when a vote for it arrives.
#[derive(Debug, Clone, Copy)]
pub struct VoteTarget<'a> {
    pub status: Status,
    /// Why it failed, when it did and the reason was kept.
    pub failure: Option<Failure>,
    /// The error kept on one of its sides, if any.
    pub error: Option<&'a str>,
    /// Whether the voter started the battle: `None` when the battle has no user (anyone may
    /// vote on it).
    pub by_owner: Option<bool>,
}

/// Whether the vote on battle `id` may be recorded: only a battle waiting for its vote takes
/// one, and a battle started by a user takes that user's vote only. The refusal says why.
pub fn vote_allowed(id: BattleId, t: &VoteTarget<'_>) -> Result<()> {
    match t.status {
        Status::PendingVote => {}
        Status::Completed => return Err(Error::AlreadyVoted(id)),
        Status::PendingGeneration => return Err(Error::StillGenerating(id)),
        Status::Failed => {
            if t.failure == Some(Failure::Expired) || t.error == Some(EXPIRED) {
                return Err(Error::Expired(id));
            }
            let reason = t.error.map_or_else(
                || "it failed".to_owned(),
                crate::error::UpstreamError::shown_of_kept,
            );
            return Err(Error::BattleFailed { id, reason });
        }
    }
    if t.by_owner == Some(false) {
        return Err(Error::NotOwner(id));
    }
    Ok(())
}

/// Whether user turn `turn` of a chat battle may begin: only while the battle waits for its
/// vote, and only as the turn after its `latest` (a racing request began it first).
pub fn turn_allowed(
    id: BattleId,
    status: Status,
    failure: Option<Failure>,
    latest: i64,
    turn: i64,
) -> Result<()> {
    match status {
        Status::PendingVote if turn == latest + 1 => Ok(()),
        Status::PendingVote | Status::PendingGeneration => Err(Error::StillGenerating(id)),
        Status::Completed => Err(Error::AlreadyVoted(id)),
        Status::Failed if failure == Some(Failure::Expired) => Err(Error::Expired(id)),
        Status::Failed => Err(Error::BattleFailed {
            id,
            reason: "it failed".into(),
        }),
    }
}

/// The flags a vote is kept with: one whose answers name a model (`leaked`), or of a battle
/// whose models were named from the start, is kept but left out of the counts and ratings.
#[must_use]
pub fn vote_flags(leaked: bool, origin: Origin) -> VoteFlags {
    let mut flags = if leaked {
        VoteFlags::IDENTITY_LEAK
    } else {
        VoteFlags::NONE
    };
    if origin.is_named() {
        flags = flags.union(VoteFlags::NAMED);
    }
    flags
}

/// The online Elo ratings of a vote's two models after it, from theirs before: a vote
/// without a score (a skip) moves neither.
#[must_use]
pub fn elo_after(before: (f64, f64), winner: Winner, params: &EloParams) -> (f64, f64) {
    let mut pair = [before.0, before.1];
    if let Some(score) = winner.score_a() {
        elo::update(&mut pair, 0, 1, score, params);
    }
    (pair[0], pair[1])
}

/// The facts about one user's battles that the limits need, read by a backend inside the
/// transaction that then creates the battle (so that parallel requests of one user never
/// pass a limit together). Each is asked only when its limit is set.
pub trait LimitFacts {
    /// Battles of the user generating or waiting for their vote.
    fn open(&mut self) -> Result<u32>;
    /// Start times of the user's battles after `since`, oldest first.
    fn starts_since(&mut self, since: i64) -> Result<Vec<i64>>;
    /// Start time of the user's latest battle.
    fn last_start(&mut self) -> Result<Option<i64>>;
}

/// Refuses a new battle at `now` that would break a limit of `l`, with the limit and when a
/// place frees, if a clock can tell.
pub fn limits_breached(l: &Limits, now: i64, facts: &mut impl LimitFacts) -> Result<()> {
    if l.concurrent > 0 && facts.open()? >= l.concurrent {
        // A place frees when the user votes, which no clock foretells; the expiry of the
        // oldest battle (a week by default) would only be the latest it could take.
        return Err(Error::RateLimited {
            limit: RateLimit::Concurrent { max: l.concurrent },
            available_at: None,
            refused_at: now,
        });
    }
    if l.per_hour > 0 {
        let starts = facts.starts_since(now - HOUR_MS)?;
        let max = l.per_hour as usize;
        if starts.len() >= max {
            // The window frees a place when its oldest battle turns an hour old.
            return Err(Error::RateLimited {
                limit: RateLimit::Hourly { max: l.per_hour },
                available_at: Some(starts[starts.len() - max] + HOUR_MS),
                refused_at: now,
            });
        }
    }
    if l.interval_ms > 0
        && let Some(last) = facts.last_start()?
        && now < last + l.interval_ms
    {
        return Err(Error::RateLimited {
            limit: RateLimit::Interval {
                seconds: u64::try_from(l.interval_ms / 1000).unwrap_or(0),
            },
            available_at: Some(last + l.interval_ms),
            refused_at: now,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Facts {
        open: u32,
        starts: Vec<i64>,
    }

    impl LimitFacts for Facts {
        fn open(&mut self) -> Result<u32> {
            Ok(self.open)
        }
        fn starts_since(&mut self, since: i64) -> Result<Vec<i64>> {
            Ok(self.starts.iter().copied().filter(|&t| t > since).collect())
        }
        fn last_start(&mut self) -> Result<Option<i64>> {
            Ok(self.starts.last().copied())
        }
    }

    fn limits(concurrent: u32, per_hour: u32, interval_ms: i64) -> Limits {
        Limits {
            concurrent,
            per_hour,
            interval_ms,
        }
    }

    #[test]
    fn limits_refuse_at_the_limit_and_say_when_a_place_frees() {
        let now = 10 * HOUR_MS;
        let mut f = Facts {
            open: 2,
            starts: vec![now - 50 * 60_000, now - 20 * 60_000, now - 5_000],
        };
        assert!(limits_breached(&limits(3, 0, 0), now, &mut f).is_ok());
        let Err(Error::RateLimited { available_at, .. }) =
            limits_breached(&limits(2, 0, 0), now, &mut f)
        else {
            panic!("the concurrent limit");
        };
        assert_eq!(available_at, None);
        let Err(Error::RateLimited { available_at, .. }) =
            limits_breached(&limits(0, 2, 0), now, &mut f)
        else {
            panic!("the hourly limit");
        };
        assert_eq!(available_at, Some(now - 20 * 60_000 + HOUR_MS));
        let Err(Error::RateLimited { available_at, .. }) =
            limits_breached(&limits(0, 0, 10_000), now, &mut f)
        else {
            panic!("the interval");
        };
        assert_eq!(available_at, Some(now + 5_000));
        assert!(limits_breached(&limits(0, 0, 5_000), now, &mut f).is_ok());
    }

    #[test]
    fn only_a_battle_waiting_for_its_vote_takes_its_owners_vote() {
        let id = BattleId::new_v4();
        let t = |status, by_owner| VoteTarget {
            status,
            failure: None,
            error: None,
            by_owner,
        };
        assert!(vote_allowed(id, &t(Status::PendingVote, None)).is_ok());
        assert!(vote_allowed(id, &t(Status::PendingVote, Some(true))).is_ok());
        assert!(matches!(
            vote_allowed(id, &t(Status::PendingVote, Some(false))),
            Err(Error::NotOwner(_))
        ));
        assert!(matches!(
            vote_allowed(id, &t(Status::Completed, Some(true))),
            Err(Error::AlreadyVoted(_))
        ));
        assert!(matches!(
            vote_allowed(id, &t(Status::PendingGeneration, None)),
            Err(Error::StillGenerating(_))
        ));
        let expired = VoteTarget {
            failure: Some(Failure::Expired),
            ..t(Status::Failed, None)
        };
        assert!(matches!(vote_allowed(id, &expired), Err(Error::Expired(_))));
        assert!(matches!(
            vote_allowed(id, &t(Status::Failed, None)),
            Err(Error::BattleFailed { .. })
        ));
    }

    #[test]
    fn a_skip_moves_no_rating_and_a_win_moves_both() {
        let p = EloParams::default();
        assert_eq!(
            elo_after((1000.0, 1000.0), Winner::Skip, &p),
            (1000.0, 1000.0)
        );
        let (a, b) = elo_after((1000.0, 1000.0), Winner::ModelA, &p);
        assert!(a > 1000.0 && b < 1000.0);
        assert!((a + b - 2000.0).abs() < 1e-9);
    }
}
