//! Pairing: which two models meet, and on which side each stands.
//!
//! Two distinct models are drawn by weight (a weight of 0 keeps a model out of rotation), then
//! the sides are assigned by a fair coin, so neither slot favours any model.
//!
//! Tier battles (the server's `high_tier` / `low_tier`) follow the tier rules of the
//! configuration ([`effective_tiers`], [`pick_tiered`]):
//!
//! - a model starts in the tier `models.json` gives it (`low` when it names none);
//! - once it has `promotion_count` voted battles it is ranked: among the ranked models, as
//!   many as were configured `high` take the high tier, best rated first, so a low model that
//!   out-rates a high one is promoted and that one demoted;
//! - the transition zone is the `transition_zone_size` models around the boundary of the two
//!   tiers (half above, half below) in that ranking;
//! - a battle of tier T draws model A from T, and model B from the other tier with
//!   `cross_tier_probability`, else from T; with `transition_zone_probability` both come from
//!   the transition zone instead. Sides are then assigned by a fair coin, so the model drawn
//!   from the caller's tier is not always A.

use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, RngExt};

use std::collections::HashMap;

use crate::config::{ModelSpec, Tier, TiersConfig};
use crate::error::{Error, Result};

/// How to choose the pair.
#[derive(Debug, Clone, Default)]
pub struct Pairing {
    /// Both models pinned, in the order given; sides are still randomised.
    pub pinned: Option<(String, String)>,
    /// Draw only from models of this tier.
    pub tier: Option<Tier>,
    /// A tier battle of the server (`high_tier` / `low_tier`): the tier rules apply.
    pub tier_battle: Option<Tier>,
}

/// Draws two distinct models and randomises their sides. Returns (model on side A, on side B).
pub fn pick<'a, R: Rng + ?Sized>(
    models: &'a [ModelSpec],
    pairing: &Pairing,
    rng: &mut R,
) -> Result<(&'a ModelSpec, &'a ModelSpec)> {
    let (first, second) = if let Some((x, y)) = &pairing.pinned {
        if x == y {
            return Err(Error::Input(format!(
                "`{x}` is named twice: a battle needs two different models"
            )));
        }
        let find = |name: &str| {
            models
                .iter()
                .find(|m| m.name == name)
                .ok_or_else(|| unknown(models, name))
        };
        (find(x)?, find(y)?)
    } else {
        let pool: Vec<&ModelSpec> = models
            .iter()
            .filter(|m| m.weight > 0.0 && !m.is_image())
            .filter(|m| pairing.tier.is_none_or(|t| m.tier == Some(t)))
            .collect();
        if pool.len() < 2 {
            let scope = pairing
                .tier
                .map_or_else(String::new, |t| format!(" in tier `{}`", t.as_str()));
            return Err(Error::Input(format!(
                "a battle needs two models with a weight above 0{scope}, and models.json has {}",
                pool.len()
            )));
        }
        let first = draw(&pool, None, rng);
        let second = draw(&pool, Some(first), rng);
        (pool[first], pool[second])
    };
    Ok(if rng.random_bool(0.5) {
        (first, second)
    } else {
        (second, first)
    })
}

/// A ranked model, for tier battles: its rating and its number of voted battles.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub name: String,
    pub rating: f64,
    pub battles: u64,
}

/// Each model's tier now, by the rules of the module documentation; `standings` are the
/// leaderboard's models, any order.
#[must_use]
pub fn effective_tiers(
    models: &[ModelSpec],
    standings: &[Standing],
    rules: &TiersConfig,
) -> HashMap<String, Tier> {
    let mut tiers: HashMap<String, Tier> = models
        .iter()
        .map(|m| (m.name.clone(), m.tier.unwrap_or(Tier::Low)))
        .collect();
    let by_name: HashMap<&str, &Standing> =
        standings.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut ranked: Vec<(&str, f64)> = models
        .iter()
        .filter_map(|m| {
            let s = by_name.get(m.name.as_str())?;
            (s.battles >= u64::from(rules.promotion_count)).then_some((m.name.as_str(), s.rating))
        })
        .collect();
    let high_slots = ranked
        .iter()
        .filter(|(n, _)| tiers.get(*n) == Some(&Tier::High))
        .count();
    ranked.sort_by(|x, y| y.1.total_cmp(&x.1).then_with(|| x.0.cmp(y.0)));
    for (i, (name, _)) in ranked.iter().enumerate() {
        let tier = if i < high_slots {
            Tier::High
        } else {
            Tier::Low
        };
        tiers.insert((*name).to_owned(), tier);
    }
    tiers
}

/// Draws a battle of tier `tier` (see the module documentation) among the models in
/// rotation; returns (model on side A, on side B).
pub fn pick_tiered<'a, R: Rng + ?Sized>(
    models: &'a [ModelSpec],
    tier: Tier,
    standings: &[Standing],
    rules: &TiersConfig,
    rng: &mut R,
) -> Result<(&'a ModelSpec, &'a ModelSpec)> {
    let tiers = effective_tiers(models, standings, rules);
    let rating: HashMap<&str, f64> = standings
        .iter()
        .map(|s| (s.name.as_str(), s.rating))
        .collect();
    let pool: Vec<&ModelSpec> = models
        .iter()
        .filter(|m| m.weight > 0.0 && !m.is_image())
        .collect();
    let of = |t: Tier| -> Vec<&'a ModelSpec> {
        pool.iter()
            .filter(|m| tiers.get(&m.name) == Some(&t))
            .copied()
            .collect()
    };
    let (mine, other) = match tier {
        Tier::High => (of(Tier::High), of(Tier::Low)),
        Tier::Low => (of(Tier::Low), of(Tier::High)),
    };
    if pool.len() < 2 {
        return Err(Error::Input(format!(
            "a battle needs two models with a weight above 0, and the pool has {}",
            pool.len()
        )));
    }
    if mine.is_empty() {
        return Err(Error::Input(format!(
            "no model is in the {} tier now (set \"tier\" per model in models.json)",
            tier.as_str()
        )));
    }
    // The ranking across both tiers: high first, each by rating; unrated models last.
    let ranked = |list: &[&'a ModelSpec]| -> Vec<&'a ModelSpec> {
        let mut v = list.to_vec();
        v.sort_by(|x, y| {
            let (rx, ry) = (rating.get(x.name.as_str()), rating.get(y.name.as_str()));
            ry.unwrap_or(&f64::NEG_INFINITY)
                .total_cmp(rx.unwrap_or(&f64::NEG_INFINITY))
                .then_with(|| x.name.cmp(&y.name))
        });
        v
    };
    let high = ranked(&of(Tier::High));
    let low = ranked(&of(Tier::Low));
    let zone_size = rules.transition_zone_size as usize;
    let above = zone_size.div_ceil(2).min(high.len());
    let below = (zone_size - above.min(zone_size)).min(low.len());
    let zone: Vec<&ModelSpec> = high[high.len() - above..]
        .iter()
        .chain(&low[..below])
        .copied()
        .collect();
    let (first, second) = if zone.len() >= 2 && rng.random_bool(rules.transition_zone_probability) {
        let i = draw(&zone, None, rng);
        let j = draw(&zone, Some(i), rng);
        (zone[i], zone[j])
    } else {
        let i = draw(&mine, None, rng);
        let cross =
            !other.is_empty() && (mine.len() < 2 || rng.random_bool(rules.cross_tier_probability));
        if cross {
            (mine[i], other[draw(&other, None, rng)])
        } else {
            (mine[i], mine[draw(&mine, Some(i), rng)])
        }
    };
    Ok(if rng.random_bool(0.5) {
        (first, second)
    } else {
        (second, first)
    })
}

/// Index of a model drawn by weight, skipping `except`.
///
/// Callers pass pools whose weights, `except` aside, are positive; were they all 0, the first
/// model other than `except` is taken rather than none.
fn draw<R: Rng + ?Sized>(pool: &[&ModelSpec], except: Option<usize>, rng: &mut R) -> usize {
    let weights = pool
        .iter()
        .enumerate()
        .map(|(i, m)| if Some(i) == except { 0.0 } else { m.weight });
    match WeightedIndex::new(weights) {
        Ok(by_weight) => by_weight.sample(rng),
        Err(_) => (0..pool.len()).find(|&i| Some(i) != except).unwrap_or(0),
    }
}

fn unknown(models: &[ModelSpec], name: &str) -> Error {
    let known: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    let hint = crate::config::nearest(name, known.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Error::UnknownModel(format!(
        "unknown model `{name}`{hint}: the pool has {}",
        known.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ProviderKind;
    use rand::SeedableRng;

    fn spec(name: &str, weight: f64) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            provider: ProviderKind::Mock,
            endpoints: vec![],
            tier: None,
            weight,
            params: serde_json::Map::new(),
            kind: crate::config::ModelKind::Chat,
            images_per_request: None,
        }
    }

    #[test]
    fn sides_are_fair_and_models_distinct() {
        let models = [spec("x", 1.0), spec("y", 1.0), spec("z", 0.0)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut x_on_a = 0;
        for _ in 0..4000 {
            let (a, b) = pick(&models, &Pairing::default(), &mut rng).unwrap();
            assert_ne!(a.name, b.name);
            assert_ne!(a.name, "z", "weight 0 is out of rotation");
            assert_ne!(b.name, "z", "weight 0 is out of rotation");
            x_on_a += usize::from(a.name == "x");
        }
        // Binomial(4000, 0.5): sd ~ 32; 6 sd either side.
        assert!((1810..=2190).contains(&x_on_a), "{x_on_a}");
    }

    #[test]
    fn models_are_drawn_in_proportion_to_their_weights() {
        let models = [spec("a", 3.0), spec("b", 1.0), spec("c", 1.0)];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut with_a, mut with_b) = (0, 0);
        for _ in 0..4000 {
            let (x, y) = pick(&models, &Pairing::default(), &mut rng).unwrap();
            with_a += usize::from(x.name == "a" || y.name == "a");
            with_b += usize::from(x.name == "b" || y.name == "b");
        }
        // a is in a pair with p = 3/5 + 2 * (1/5 * 3/4) = 0.9 (sd ~ 19 in 4000), b with
        // p = 1/5 + 3/5 * 1/2 + 1/5 * 1/4 = 0.55 (sd ~ 31); 6 sd either side.
        assert!((3486..=3714).contains(&with_a), "{with_a}");
        assert!((2014..=2386).contains(&with_b), "{with_b}");
    }

    #[test]
    fn pinned_pairs_are_still_shuffled() {
        let models = [spec("x", 1.0), spec("y", 1.0)];
        let pairing = Pairing {
            pinned: Some(("x".into(), "y".into())),
            ..Pairing::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let firsts: std::collections::BTreeSet<String> = (0..50)
            .map(|_| pick(&models, &pairing, &mut rng).unwrap().0.name.clone())
            .collect();
        assert_eq!(firsts.len(), 2);
    }

    fn tiered(name: &str, tier: Tier) -> ModelSpec {
        ModelSpec {
            tier: Some(tier),
            ..spec(name, 1.0)
        }
    }

    fn standing(name: &str, rating: f64, battles: u64) -> Standing {
        Standing {
            name: name.into(),
            rating,
            battles,
        }
    }

    #[test]
    fn a_low_model_that_outrates_a_high_one_is_promoted_once_it_has_enough_battles() {
        let models = [
            tiered("h1", Tier::High),
            tiered("h2", Tier::High),
            tiered("l1", Tier::Low),
            tiered("l2", Tier::Low),
        ];
        let rules = TiersConfig::default();
        let standings = [
            standing("h1", 1600.0, 10),
            standing("h2", 1400.0, 10),
            standing("l1", 1500.0, 10),
            standing("l2", 1300.0, 10),
        ];
        let t = effective_tiers(&models, &standings, &rules);
        assert_eq!(t["l1"], Tier::High);
        assert_eq!(t["h2"], Tier::Low);
        assert_eq!(t["h1"], Tier::High);
        // Too few battles: no move.
        let few = [standing("l1", 1900.0, 2), standing("h2", 1400.0, 10)];
        let t = effective_tiers(&models, &few, &rules);
        assert_eq!(t["l1"], Tier::Low);
        assert_eq!(t["h2"], Tier::High);
    }

    #[test]
    fn tier_battles_follow_the_probabilities_and_randomise_sides() {
        let models = [
            tiered("h1", Tier::High),
            tiered("h2", Tier::High),
            tiered("h3", Tier::High),
            tiered("l1", Tier::Low),
            tiered("l2", Tier::Low),
            tiered("l3", Tier::Low),
        ];
        let rules = TiersConfig {
            promotion_count: 3,
            cross_tier_probability: 0.2,
            transition_zone_probability: 0.0,
            transition_zone_size: 2,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut cross, mut high_on_b) = (0, 0);
        let n = 4000;
        for _ in 0..n {
            let (a, b) = pick_tiered(&models, Tier::High, &[], &rules, &mut rng).unwrap();
            assert_ne!(a.name, b.name);
            let highs = [a, b].iter().filter(|m| m.tier == Some(Tier::High)).count();
            assert!(highs >= 1, "a high-tier battle without a high model");
            cross += usize::from(highs == 1);
            high_on_b += usize::from(highs == 1 && b.tier == Some(Tier::High));
        }
        // Binomial(4000, 0.2): sd ~ 25; 6 sd either side.
        assert!((650..=950).contains(&cross), "{cross}");
        // The caller's tier stands on either side.
        assert!(
            high_on_b > cross / 4 && high_on_b < cross * 3 / 4,
            "{high_on_b} of {cross}"
        );
        // A zone probability of 1: both from the boundary (h3 and l1 by name order).
        let zone_rules = TiersConfig {
            transition_zone_probability: 1.0,
            ..rules
        };
        for _ in 0..50 {
            let (a, b) = pick_tiered(&models, Tier::Low, &[], &zone_rules, &mut rng).unwrap();
            let mut pair = [a.name.as_str(), b.name.as_str()];
            pair.sort_unstable();
            assert_eq!(pair, ["h3", "l1"]);
        }
    }

    #[test]
    fn unknown_pinned_model_is_named() {
        let models = [spec("gpt-4o", 1.0), spec("y", 1.0)];
        let pairing = Pairing {
            pinned: Some(("gpt4o".into(), "y".into())),
            ..Pairing::default()
        };
        let err = pick(&models, &pairing, &mut rand::rng())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown model `gpt4o`"), "{err}");
        assert!(err.contains("did you mean `gpt-4o`?"), "{err}");
    }
}
