//! Glicko-2, two ways, as the writing arena reported them:
//!
//! - periodic: the votes of each rating period are applied together at the period's end,
//!   every model against its opponents' ratings as they stood at the period's start. Votes of
//!   the period still running are not applied yet; they count at its end.
//! - realtime: both models are updated after every vote.
//!
//! A model that plays no game in a period keeps its rating and deviation (no idle decay),
//! so long gaps in a log do not inflate every deviation. Both bad and tie are draws; skips
//! are left out. The arithmetic is the `skillratings` crate's.

use skillratings::Outcomes;
use skillratings::glicko2::{Glicko2Config, Glicko2Rating, glicko2, glicko2_rating_period};

use crate::error::{Error, Result};
use crate::rating::VoteRow;

/// Glicko-2 parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glicko2Params {
    pub initial_rating: f64,
    pub initial_rd: f64,
    pub initial_volatility: f64,
    pub tau: f64,
    /// Rating period length in milliseconds.
    pub period_ms: i64,
}

impl Default for Glicko2Params {
    fn default() -> Self {
        Glicko2Params {
            initial_rating: 1500.0,
            initial_rd: 350.0,
            initial_volatility: 0.06,
            tau: 0.5,
            period_ms: 3_600_000,
        }
    }
}

/// Parses a period such as `1h`, `30m`, `1d`, `90s` or `1w` into milliseconds.
pub fn parse_period(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().unwrap_or(0);
    let unit_ms = match unit.trim() {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => 0,
    };
    let total = n
        .checked_mul(unit_ms)
        .filter(|&ms| ms > 0 && ms <= 100 * 365 * 86_400_000);
    let Some(total) = total else {
        return Err(Error::Input(format!(
            "glicko2.rating_period `{text}`: expected a positive number and a unit, such as 1h, \
             30m, 1d or 1w, up to a century"
        )));
    };
    Ok(total)
}

/// The ratings of one model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glicko2Pair {
    pub periodic: Glicko2Rating,
    pub realtime: Glicko2Rating,
}

/// What [`compute`] gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Glicko2Result {
    pub ratings: Vec<Glicko2Pair>,
    /// Votes of the running period, not yet in the periodic ratings.
    pub pending_votes: usize,
    /// When the running period ends (Unix ms), if there were votes.
    pub next_update_ms: Option<i64>,
}

fn outcome(score_a: f64) -> Outcomes {
    if score_a > 0.5 {
        Outcomes::WIN
    } else if score_a < 0.5 {
        Outcomes::LOSS
    } else {
        Outcomes::DRAW
    }
}

fn flip(o: &Outcomes) -> Outcomes {
    match o {
        Outcomes::WIN => Outcomes::LOSS,
        Outcomes::LOSS => Outcomes::WIN,
        Outcomes::DRAW => Outcomes::DRAW,
    }
}

/// Both kinds of ratings after `votes` (in vote order, with their times in Unix ms);
/// `now_ms` decides which period is still running. Votes marked in `closed` (an import's)
/// never wait for their period to end: in the running period they are applied together at
/// once, as a period of their own, and the rest of that period waits for its end.
#[must_use]
pub fn compute(
    n_models: usize,
    votes: &[VoteRow],
    times: &[i64],
    closed: &[bool],
    now_ms: i64,
    p: &Glicko2Params,
) -> Glicko2Result {
    let start = Glicko2Rating {
        rating: p.initial_rating,
        deviation: p.initial_rd,
        volatility: p.initial_volatility,
    };
    let config = Glicko2Config {
        tau: p.tau,
        ..Glicko2Config::new()
    };
    let mut realtime = vec![start; n_models];
    let mut periodic = vec![start; n_models];
    let period = p.period_ms.max(1);
    let running = now_ms.div_euclid(period);
    let mut pending_votes = 0;

    // Realtime: every vote in order.
    for v in votes {
        if let Some(score) = v.winner.score_a() {
            let (a, b) = (v.model_a as usize, v.model_b as usize);
            let (na, nb) = glicko2(&realtime[a], &realtime[b], &outcome(score), &config);
            realtime[a] = na;
            realtime[b] = nb;
        }
    }

    // Periodic: group by period; votes are in time order, so periods are contiguous runs.
    let mut results: Vec<Vec<(Glicko2Rating, Outcomes)>> = vec![Vec::new(); n_models];
    let mut i = 0;
    while i < votes.len() {
        let this = times.get(i).copied().unwrap_or(now_ms).div_euclid(period);
        let mut j = i;
        while j < votes.len() && times.get(j).copied().unwrap_or(now_ms).div_euclid(period) == this
        {
            j += 1;
        }
        let running_now = this >= running;
        let is_closed = |k: usize| closed.get(k).copied().unwrap_or(false);
        if running_now {
            pending_votes += (i..j)
                .filter(|&k| !is_closed(k) && votes[k].winner.score_a().is_some())
                .count();
        }
        for r in &mut results {
            r.clear();
        }
        for (k, v) in votes.iter().enumerate().take(j).skip(i) {
            if running_now && !is_closed(k) {
                continue;
            }
            if let Some(score) = v.winner.score_a() {
                let (a, b) = (v.model_a as usize, v.model_b as usize);
                let o = outcome(score);
                results[b].push((periodic[a], flip(&o)));
                results[a].push((periodic[b], o));
            }
        }
        let updated: Vec<Glicko2Rating> = (0..n_models)
            .map(|m| {
                if results[m].is_empty() {
                    periodic[m]
                } else {
                    glicko2_rating_period(&periodic[m], &results[m], &config)
                }
            })
            .collect();
        periodic = updated;
        i = j;
    }
    Glicko2Result {
        ratings: periodic
            .into_iter()
            .zip(realtime)
            .map(|(periodic, realtime)| Glicko2Pair { periodic, realtime })
            .collect(),
        pending_votes,
        next_update_ms: (!votes.is_empty()).then(|| (running + 1) * period),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battle::Winner;

    fn vote(a: u32, b: u32, winner: Winner) -> VoteRow {
        VoteRow::new(a, b, winner)
    }

    #[test]
    fn periods_parse() {
        assert_eq!(parse_period("1h").unwrap(), 3_600_000);
        assert_eq!(parse_period("30m").unwrap(), 1_800_000);
        assert!(parse_period("soon").is_err());
        assert!(parse_period("0h").is_err());
    }

    #[test]
    fn running_period_waits_and_realtime_does_not() {
        let p = Glicko2Params::default();
        let hour = 3_600_000;
        let votes = [vote(0, 1, Winner::ModelA), vote(0, 1, Winner::ModelA)];
        // One vote in a finished hour, one in the running hour.
        let r = compute(2, &votes, &[0, hour + 5], &[], hour + 10, &p);
        assert_eq!(r.pending_votes, 1);
        assert_eq!(r.next_update_ms, Some(2 * hour));
        assert!(r.ratings[0].periodic.rating > 1500.0);
        assert!(r.ratings[0].realtime.rating > r.ratings[0].periodic.rating);
        assert!(r.ratings[1].periodic.rating < 1500.0);
    }

    #[test]
    fn an_import_is_a_closed_period_at_once() {
        let p = Glicko2Params::default();
        let votes = [
            vote(0, 1, Winner::ModelA),
            vote(0, 1, Winner::ModelA),
            vote(1, 0, Winner::ModelA),
        ];
        // All in the running hour: the two imported votes count now, the live one waits.
        let r = compute(2, &votes, &[5, 6, 7], &[true, true, false], 10, &p);
        assert_eq!(r.pending_votes, 1);
        assert!(r.ratings[0].periodic.rating > 1500.0);
        assert!(r.ratings[1].periodic.rating < 1500.0);
        let live = compute(2, &votes, &[5, 6, 7], &[], 10, &p);
        assert_eq!(live.ratings[0].periodic.rating, 1500.0);
        assert_eq!(live.pending_votes, 3);
    }

    #[test]
    fn skips_change_nothing_and_idle_models_keep_their_deviation() {
        let p = Glicko2Params::default();
        let r = compute(
            3,
            &[vote(0, 1, Winner::Skip)],
            &[0],
            &[],
            10 * p.period_ms,
            &p,
        );
        for m in &r.ratings {
            assert_eq!(m.periodic.rating, 1500.0);
            assert_eq!(m.realtime.deviation, 350.0);
        }
    }
}
