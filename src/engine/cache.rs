//! The leaderboard cache: a typed key over every parameter of a board's question, and the
//! cells that compute each question once per votes version. It may use the ratings' types
//! only.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use super::Selection;
use crate::rating::elo::EloParams;
use crate::rating::glicko2::Glicko2Params;
use crate::rating::{Leaderboard, LeaderboardOptions, Method};

/// What a cached leaderboard answers: every parameter of its options (floats by their bits),
/// the selection of votes, the votes' version and, for Glicko-2, the rating period of its
/// time (the only way the time enters: the same period gives the same periodic ratings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct BoardKey {
    method: Method,
    elo: [u64; 4],
    glicko2: ([u64; 4], i64),
    bootstrap: usize,
    seed: u64,
    ci: u64,
    anchor: Option<(String, u64)>,
    min_battles: u64,
    style: Option<crate::rating::style::Variant>,
    selection: Selection,
    version: i64,
    period: i64,
}

impl BoardKey {
    pub(super) fn new(
        options: &LeaderboardOptions,
        selection: &Selection,
        version: i64,
        period: i64,
    ) -> Self {
        // Taken apart field by field: a parameter added to the options, or to a method's
        // parameters, does not compile until the key holds it too.
        let LeaderboardOptions {
            method,
            elo,
            glicko2,
            bootstrap,
            seed,
            ci,
            anchor,
            min_battles,
            now_ms: _,
            style,
        } = options;
        let EloParams {
            k,
            initial,
            scale,
            base,
        } = elo;
        let Glicko2Params {
            initial_rating,
            initial_rd,
            initial_volatility,
            tau,
            period_ms,
        } = glicko2;
        BoardKey {
            method: *method,
            elo: [
                k.to_bits(),
                initial.to_bits(),
                scale.to_bits(),
                base.to_bits(),
            ],
            glicko2: (
                [
                    initial_rating.to_bits(),
                    initial_rd.to_bits(),
                    initial_volatility.to_bits(),
                    tau.to_bits(),
                ],
                *period_ms,
            ),
            bootstrap: *bootstrap,
            seed: *seed,
            ci: ci.to_bits(),
            anchor: anchor.as_ref().map(|(m, r)| (m.clone(), r.to_bits())),
            min_battles: *min_battles,
            style: *style,
            selection: selection.clone(),
            version,
            period,
        }
    }
}

/// One cached leaderboard: computed once, awaited by every caller of its key meanwhile.
type BoardCell = Arc<OnceCell<Arc<Leaderboard>>>;

/// Computed leaderboards by question and votes version: one computation per key at a time
/// (callers of the same key await the same cell), the oldest dropped beyond a few dozen.
#[derive(Debug, Default)]
pub(super) struct BoardCache {
    /// The cells by key, and the keys oldest first.
    cells: Mutex<(HashMap<BoardKey, BoardCell>, VecDeque<BoardKey>)>,
}

impl BoardCache {
    const MAX: usize = 64;

    pub(super) fn cell(&self, key: &BoardKey) -> BoardCell {
        let mut guard = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        let (cells, order) = &mut *guard;
        if let Some(cell) = cells.get(key) {
            return cell.clone();
        }
        while order.len() >= Self::MAX {
            if let Some(old) = order.pop_front() {
                cells.remove(&old);
            }
        }
        let cell = Arc::new(OnceCell::new());
        cells.insert(key.clone(), cell.clone());
        order.push_back(key.clone());
        cell
    }

    pub(super) fn clear(&self) {
        let mut guard = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        guard.0.clear();
        guard.1.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::BoardKey;
    use crate::engine::Selection;
    use crate::rating::{LeaderboardOptions, Method};

    #[test]
    fn board_keys_differ_in_every_parameter() {
        let base = LeaderboardOptions::default();
        let selection = Selection::default();
        let key = |o: &LeaderboardOptions| BoardKey::new(o, &selection, 7, 0);
        assert_eq!(key(&base), key(&base.clone()));
        type Change = Box<dyn Fn(&mut LeaderboardOptions)>;
        let changes: Vec<(&str, Change)> = vec![
            ("method", Box::new(|o| o.method = Method::Glicko2)),
            ("elo.k", Box::new(|o| o.elo.k = 4.0)),
            ("elo.initial", Box::new(|o| o.elo.initial = 1200.0)),
            ("elo.scale", Box::new(|o| o.elo.scale = 173.7)),
            ("elo.base", Box::new(|o| o.elo.base = std::f64::consts::E)),
            (
                "glicko2.initial_rating",
                Box::new(|o| o.glicko2.initial_rating = 1000.0),
            ),
            (
                "glicko2.initial_rd",
                Box::new(|o| o.glicko2.initial_rd = 100.0),
            ),
            (
                "glicko2.initial_volatility",
                Box::new(|o| o.glicko2.initial_volatility = 0.09),
            ),
            ("glicko2.tau", Box::new(|o| o.glicko2.tau = 0.3)),
            (
                "glicko2.period_ms",
                Box::new(|o| o.glicko2.period_ms = 60_000),
            ),
            ("bootstrap", Box::new(|o| o.bootstrap = 200)),
            ("seed", Box::new(|o| o.seed = 1)),
            ("ci", Box::new(|o| o.ci = 0.9)),
            (
                "anchor",
                Box::new(|o| o.anchor = Some(("m".into(), 1000.0))),
            ),
            ("min_battles", Box::new(|o| o.min_battles = 5)),
            (
                "style",
                Box::new(|o| o.style = Some(crate::rating::style::Variant::ArenaRank)),
            ),
        ];
        for (name, change) in &changes {
            let mut other = base.clone();
            change(&mut other);
            assert_ne!(key(&base), key(&other), "{name} is not in the key");
        }
        // Anchors differ by model and by rating.
        let anchored = |m: &str, r: f64| LeaderboardOptions {
            anchor: Some((m.into(), r)),
            ..LeaderboardOptions::default()
        };
        assert_ne!(key(&anchored("a", 1.0)), key(&anchored("b", 1.0)));
        assert_ne!(key(&anchored("a", 1.0)), key(&anchored("a", 2.0)));
        // The selection, the votes' version and the Glicko-2 period are in it too.
        let theme = Selection {
            theme: Some("poetry".into()),
            ..Selection::default()
        };
        assert_ne!(key(&base), BoardKey::new(&base, &theme, 7, 0));
        let coding = Selection {
            categories: vec!["coding".into()],
            ..Selection::default()
        };
        assert_ne!(key(&base), BoardKey::new(&base, &coding, 7, 0));
        let fastchat = LeaderboardOptions {
            style: Some(crate::rating::style::Variant::FastChat),
            ..LeaderboardOptions::default()
        };
        let arena_rank = LeaderboardOptions {
            style: Some(crate::rating::style::Variant::ArenaRank),
            ..LeaderboardOptions::default()
        };
        assert_ne!(key(&fastchat), key(&arena_rank));
        assert_ne!(key(&base), BoardKey::new(&base, &selection, 8, 0));
        assert_ne!(key(&base), BoardKey::new(&base, &selection, 7, 1));
    }
}
