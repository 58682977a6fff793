//! Online Elo in vote order, as FastChat's `compute_online_elo`: base 10, scale 400; a tie and
//! "both bad" score 0.5 for each side; skips have no effect.

use crate::rating::VoteRow;

/// Elo parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EloParams {
    pub k: f64,
    pub initial: f64,
    pub scale: f64,
    pub base: f64,
}

impl Default for EloParams {
    fn default() -> Self {
        EloParams {
            k: 32.0,
            initial: 1000.0,
            scale: 400.0,
            base: 10.0,
        }
    }
}

/// The expected score of a player rated `ra` against one rated `rb`.
#[must_use]
pub fn expected(ra: f64, rb: f64, p: &EloParams) -> f64 {
    1.0 / (1.0 + p.base.powf((rb - ra) / p.scale))
}

/// Applies one result to `ratings` in place; `score_a` is 1, 0 or 0.5.
pub fn update(ratings: &mut [f64], a: usize, b: usize, score_a: f64, p: &EloParams) {
    let (ra, rb) = (ratings[a], ratings[b]);
    let ea = expected(ra, rb, p);
    let eb = expected(rb, ra, p);
    ratings[a] += p.k * (score_a - ea);
    ratings[b] += p.k * (1.0 - score_a - eb);
}

/// Ratings of `n_models` after every vote in order.
#[must_use]
pub fn online(n_models: usize, votes: &[VoteRow], p: &EloParams) -> Vec<f64> {
    let mut ratings = vec![p.initial; n_models];
    for v in votes {
        if let Some(score) = v.winner.score_a() {
            update(
                &mut ratings,
                v.model_a as usize,
                v.model_b as usize,
                score,
                p,
            );
        }
    }
    ratings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rating::Winner;

    fn vote(a: u32, b: u32, winner: Winner) -> VoteRow {
        VoteRow::new(a, b, winner)
    }

    #[test]
    fn one_win_between_equals_moves_k_over_two() {
        let r = online(2, &[vote(0, 1, Winner::ModelA)], &EloParams::default());
        assert!(
            (r[0] - 1016.0).abs() < 1e-12 && (r[1] - 984.0).abs() < 1e-12,
            "{r:?}"
        );
    }

    #[test]
    fn ties_and_both_bad_score_half_and_skips_nothing() {
        let p = EloParams::default();
        let tie = online(
            2,
            &[vote(0, 1, Winner::ModelA), vote(0, 1, Winner::Tie)],
            &p,
        );
        let bad = online(
            2,
            &[vote(0, 1, Winner::ModelA), vote(0, 1, Winner::BothBad)],
            &p,
        );
        assert_eq!(tie, bad);
        assert!(
            tie[0] < 1016.0,
            "a tie against a weaker player costs points"
        );
        let skip = online(2, &[vote(0, 1, Winner::Skip)], &p);
        assert_eq!(skip, vec![1000.0, 1000.0]);
    }

    #[test]
    fn total_rating_is_conserved() {
        let p = EloParams::default();
        let votes: Vec<VoteRow> = (0..100)
            .map(|i| vote(i % 3, (i + 1) % 3, Winner::ALL[(i % 5) as usize]))
            .collect();
        let sum: f64 = online(3, &votes, &p).iter().sum();
        assert!((sum - 3000.0).abs() < 1e-9);
    }
}
