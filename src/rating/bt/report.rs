//! What a fit reports, for the plain and the contextual fit alike: strengths on the
//! display scale, shifted to the anchor, and bounds widened where the data set no limit.

use super::bootstrap::BootstrapRaw;
use super::newton::Outcome;
use super::structure::Structure;
use super::{BASE_RATING, Bootstrap, BtFit, RATING_SCALE, UNBOUNDED_MARGIN};

/// Ratings of a fit and what turns its raw bounds into reported ones.
pub(super) struct Report<'a> {
    pub(super) ratings: Vec<f64>,
    /// Added to every rating and bound so that the anchor gets its rating.
    shift: f64,
    structure: &'a Structure,
}

impl<'a> Report<'a> {
    /// `theta`: the strengths of the `K` models; `anchor` as checked by `Settings`.
    pub(super) fn new(
        theta: &[f64],
        anchor: Option<(usize, f64)>,
        structure: &'a Structure,
    ) -> Self {
        let shift = anchor.map_or(0.0, |(model, rating)| {
            rating - (BASE_RATING + RATING_SCALE * theta[model])
        });
        let ratings = theta
            .iter()
            .map(|t| BASE_RATING + RATING_SCALE * t + shift)
            .collect();
        Self {
            ratings,
            shift,
            structure,
        }
    }

    /// A bound the data do not limit on its side becomes the rating ±
    /// [`UNBOUNDED_MARGIN`].
    fn widen(&self, bounds: Vec<f64>, upper: bool) -> Vec<f64> {
        bounds
            .iter()
            .enumerate()
            .map(|(m, &b)| {
                if upper && self.structure.above[m] {
                    self.ratings[m] + UNBOUNDED_MARGIN
                } else if !upper && self.structure.below[m] {
                    self.ratings[m] - UNBOUNDED_MARGIN
                } else {
                    b
                }
            })
            .collect()
    }

    /// Sandwich bounds `rating ± z·se` (standard errors `se` in log-odds), widened.
    pub(super) fn sandwich(&self, se: &[f64], z: f64) -> (Vec<f64>, Vec<f64>) {
        let half: Vec<f64> = se.iter().map(|s| RATING_SCALE * z * s).collect();
        let lower = self.widen(
            self.ratings.iter().zip(&half).map(|(r, h)| r - h).collect(),
            false,
        );
        let upper = self.widen(
            self.ratings.iter().zip(&half).map(|(r, h)| r + h).collect(),
            true,
        );
        (lower, upper)
    }

    /// The bootstrap's bounds, shifted and widened, with notes on refits that hit the
    /// iteration limit; `None` when there was nothing to resample.
    pub(super) fn bootstrap(
        &self,
        b: &BootstrapRaw,
        seed: u64,
        notes: &mut Vec<String>,
    ) -> Option<Bootstrap> {
        if b.unconverged > 0 {
            notes.push(format!(
                "{} of {} bootstrap refits hit the iteration limit",
                b.unconverged, b.rounds
            ));
        }
        if b.rounds == 0 {
            notes.push("no votes to resample: the bootstrap was skipped".to_string());
            return None;
        }
        let lower = b.lower.iter().map(|x| x + self.shift).collect();
        let upper = b.upper.iter().map(|x| x + self.shift).collect();
        Some(Bootstrap {
            lower: self.widen(lower, false),
            upper: self.widen(upper, true),
            rounds: b.rounds,
            seed,
            unconverged: b.unconverged,
        })
    }

    /// The board: ratings, bounds, groups and flags, notes.
    pub(super) fn board(
        self,
        sandwich: (Vec<f64>, Vec<f64>),
        bootstrap: Option<Bootstrap>,
        outcome: Outcome,
        notes: Vec<String>,
    ) -> BtFit {
        let (sandwich_lower, sandwich_upper) = sandwich;
        BtFit {
            ratings: self.ratings,
            sandwich_lower,
            sandwich_upper,
            bootstrap,
            converged: outcome.converged,
            iterations: outcome.iterations,
            notes,
            component: self.structure.component.clone(),
            unbounded_above: self.structure.above.clone(),
            unbounded_below: self.structure.below.clone(),
        }
    }
}
