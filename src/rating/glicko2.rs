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

fn start_rating(p: &Glicko2Params) -> Glicko2Rating {
    Glicko2Rating {
        rating: p.initial_rating,
        deviation: p.initial_rd,
        volatility: p.initial_volatility,
    }
}

fn config_of(p: &Glicko2Params) -> Glicko2Config {
    Glicko2Config {
        tau: p.tau,
        ..Glicko2Config::new()
    }
}

/// Applies one vote to the realtime ratings.
fn realtime_step(realtime: &mut [Glicko2Rating], v: &VoteRow, config: &Glicko2Config) {
    if let Some(score) = v.winner.score_a() {
        let (a, b) = (v.model_a as usize, v.model_b as usize);
        let (na, nb) = glicko2(&realtime[a], &realtime[b], &outcome(score), config);
        realtime[a] = na;
        realtime[b] = nb;
    }
}

/// The periodic pass over `votes` (in time order), from `periodic`: each rating period's
/// votes applied together at its end. Periods from `running` on are still open: only their
/// `closed` votes are applied (as a period of their own); the others are counted as pending,
/// and returned.
fn periodic_pass(
    periodic: &mut [Glicko2Rating],
    votes: &[VoteRow],
    times: &[i64],
    closed: &[bool],
    running: i64,
    period: i64,
    config: &Glicko2Config,
) -> usize {
    let n_models = periodic.len();
    let mut pending_votes = 0;
    // Each model's games of the period as (opponent, result): 8 bytes a game, where the
    // opponent's rating beside it would be 32 (a million votes in one period are two
    // million games). The ratings are those at the period's start.
    let mut results: Vec<Vec<(u32, Outcomes)>> = vec![Vec::new(); n_models];
    let mut games: Vec<(Glicko2Rating, Outcomes)> = Vec::new();
    let time = |k: usize| times.get(k).copied().unwrap_or(i64::MAX);
    let mut i = 0;
    while i < votes.len() {
        let this = time(i).div_euclid(period);
        let mut j = i;
        while j < votes.len() && time(j).div_euclid(period) == this {
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
                let o = outcome(score);
                results[v.model_b as usize].push((v.model_a, flip(&o)));
                results[v.model_a as usize].push((v.model_b, o));
            }
        }
        let before = periodic.to_vec();
        for (m, r) in results.iter().enumerate() {
            if !r.is_empty() {
                games.clear();
                games.extend(r.iter().map(|&(o, res)| (before[o as usize], res)));
                periodic[m] = glicko2_rating_period(&before[m], &games, config);
            }
        }
        i = j;
    }
    pending_votes
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
    let config = config_of(p);
    let mut realtime = vec![start_rating(p); n_models];
    let mut periodic = vec![start_rating(p); n_models];
    let period = p.period_ms.max(1);
    let running = now_ms.div_euclid(period);
    for v in votes {
        realtime_step(&mut realtime, v, &config);
    }
    let times: Vec<i64> = (0..votes.len())
        .map(|k| times.get(k).copied().unwrap_or(now_ms))
        .collect();
    let pending_votes = periodic_pass(
        &mut periodic,
        votes,
        &times,
        closed,
        running,
        period,
        &config,
    );
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

/// Glicko-2 kept up to date vote by vote, so that a leaderboard after a vote costs the votes
/// of the running period at most (and nothing more than the models when none of them came
/// from an import), not the whole history: the realtime ratings after every vote so far, the
/// periodic ratings after every finished period, and the votes of the periods not yet folded
/// in (held until their period ends: 21 bytes each). Its results equal [`compute`] over the
/// same votes.
#[derive(Debug, Clone)]
pub struct Glicko2State {
    params: Glicko2Params,
    config: Glicko2Config,
    realtime: Vec<Glicko2Rating>,
    /// After every period before `open_from`.
    periodic: Vec<Glicko2Rating>,
    open_from: i64,
    /// The votes from period `open_from` on, in time order: the votes, their times, and
    /// whether each came from an import.
    votes: Vec<VoteRow>,
    times: Vec<i64>,
    closed: Vec<bool>,
    /// How many of those came from an import.
    closed_in_tail: usize,
    last_time: i64,
    pushed: usize,
}

/// A vote that [`Glicko2State::push`] cannot append: earlier than a vote already in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfOrder;

impl Glicko2State {
    #[must_use]
    pub fn new(n_models: usize, params: &Glicko2Params) -> Self {
        Glicko2State {
            params: *params,
            config: config_of(params),
            realtime: vec![start_rating(params); n_models],
            periodic: vec![start_rating(params); n_models],
            open_from: i64::MIN,
            votes: Vec::new(),
            times: Vec::new(),
            closed: Vec::new(),
            closed_in_tail: 0,
            last_time: i64::MIN,
            pushed: 0,
        }
    }

    /// The parameters it was made with.
    #[must_use]
    pub fn params(&self) -> &Glicko2Params {
        &self.params
    }

    /// How many models it rates.
    #[must_use]
    pub fn models(&self) -> usize {
        self.realtime.len()
    }

    /// Makes room for models up to `n_models`, each starting at the initial rating.
    pub fn grow(&mut self, n_models: usize) {
        let start = start_rating(&self.params);
        if n_models > self.realtime.len() {
            self.realtime.resize(n_models, start);
            self.periodic.resize(n_models, start);
        }
    }

    /// Room for `more` votes in the open periods, so that a large batch is held without the
    /// slack of growing vectors.
    pub fn reserve(&mut self, more: usize) {
        self.votes.reserve_exact(more);
        self.times.reserve_exact(more);
        self.closed.reserve_exact(more);
    }

    /// Appends a vote at `time_ms`, which may not be earlier than any vote already in (the
    /// order [`compute`] applies them in) nor in a period a [`Self::result`] has closed;
    /// `imported` as in [`compute`]'s `closed`.
    pub fn push(&mut self, vote: VoteRow, time_ms: i64, imported: bool) -> Result<(), OutOfOrder> {
        // Earlier than a vote in, or in a period folded in already: only a recomputation
        // puts it where it belongs.
        let period = self.params.period_ms.max(1);
        if time_ms < self.last_time || time_ms.div_euclid(period) < self.open_from {
            return Err(OutOfOrder);
        }
        let top = vote.model_a.max(vote.model_b) as usize;
        self.grow(top + 1);
        realtime_step(&mut self.realtime, &vote, &self.config);
        self.last_time = time_ms;
        self.pushed += 1;
        self.votes.push(vote);
        self.times.push(time_ms);
        self.closed.push(imported);
        self.closed_in_tail += usize::from(imported);
        Ok(())
    }

    /// The ratings at `now_ms`, as [`compute`] would give them over every vote pushed. Folds
    /// the periods that have ended for good into the kept periodic ratings first.
    pub fn result(&mut self, now_ms: i64) -> Glicko2Result {
        let period = self.params.period_ms.max(1);
        let running = now_ms.div_euclid(period);
        // Periods before the running one are final: fold them in, once.
        let done = self
            .times
            .iter()
            .take_while(|t| t.div_euclid(period) < running)
            .count();
        if done > 0 {
            periodic_pass(
                &mut self.periodic,
                &self.votes[..done],
                &self.times[..done],
                &self.closed[..done],
                running,
                period,
                &self.config,
            );
            self.closed_in_tail -= self.closed[..done].iter().filter(|&&c| c).count();
            self.votes.drain(..done);
            self.times.drain(..done);
            self.closed.drain(..done);
        }
        self.open_from = self.open_from.max(running);
        let (periodic, pending_votes) = if self.closed_in_tail == 0 {
            // Nothing of the open periods counts yet: every scored vote there waits.
            let pending = self
                .votes
                .iter()
                .filter(|v| v.winner.score_a().is_some())
                .count();
            (self.periodic.clone(), pending)
        } else {
            let mut periodic = self.periodic.clone();
            let pending = periodic_pass(
                &mut periodic,
                &self.votes,
                &self.times,
                &self.closed,
                running,
                period,
                &self.config,
            );
            (periodic, pending)
        };
        Glicko2Result {
            ratings: periodic
                .into_iter()
                .zip(self.realtime.iter().copied())
                .map(|(periodic, realtime)| Glicko2Pair { periodic, realtime })
                .collect(),
            pending_votes,
            next_update_ms: (self.pushed > 0).then(|| (running + 1) * period),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::Winner;

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
    fn the_state_kept_vote_by_vote_equals_the_whole_computation() {
        use rand::{RngExt, SeedableRng};
        let p = Glicko2Params {
            period_ms: 1_000,
            ..Glicko2Params::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let winners = [
            Winner::ModelA,
            Winner::ModelB,
            Winner::Tie,
            Winner::BothBad,
            Winner::Skip,
        ];
        for round in 0..20 {
            let n = 2 + round % 6;
            let mut state = Glicko2State::new(0, &p);
            let (mut votes, mut times, mut closed) = (Vec::new(), Vec::new(), Vec::new());
            let mut t = 0i64;
            for _ in 0..300 {
                t += rng.random_range(0..400);
                let a = rng.random_range(0..n);
                let b = (a + 1 + rng.random_range(0..n - 1)) % n;
                let v = vote(a, b, winners[rng.random_range(0..winners.len())]);
                let imported = rng.random_range(0..10) == 0;
                state.push(v, t, imported).expect("in order");
                votes.push(v);
                times.push(t);
                closed.push(imported);
                // Ask now and then, sometimes from a little later than the last vote.
                if rng.random_range(0..5) == 0 {
                    let now = t + rng.random_range(0..300);
                    let whole = compute(n as usize, &votes, &times, &closed, now, &p);
                    let kept = state.result(now);
                    assert_eq!(kept.pending_votes, whole.pending_votes);
                    assert_eq!(kept.next_update_ms, whole.next_update_ms);
                    assert_eq!(&kept.ratings[..], &whole.ratings[..kept.ratings.len()]);
                    // A vote in a period it just closed would have to go back in time.
                    t = t.max(now);
                }
            }
        }
    }

    #[test]
    fn a_vote_from_the_past_is_refused_by_the_state() {
        let p = Glicko2Params::default();
        let mut state = Glicko2State::new(2, &p);
        assert_eq!(state.push(vote(0, 1, Winner::ModelA), 10, false), Ok(()));
        assert_eq!(
            state.push(vote(0, 1, Winner::ModelA), 5, false),
            Err(OutOfOrder)
        );
        let _ = state.result(2 * p.period_ms);
        // The first period is closed now: a vote of it cannot join it any more.
        assert_eq!(
            state.push(vote(0, 1, Winner::ModelA), p.period_ms - 1, false),
            Err(OutOfOrder)
        );
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
