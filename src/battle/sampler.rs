//! Pairing: which two models meet, and on which side each stands.
//!
//! Two distinct models are drawn by weight (a weight of 0 keeps a model out of rotation), then
//! the sides are assigned by a fair coin, so neither slot favours any model.

use rand::{Rng, RngExt};

use crate::config::{ModelSpec, Tier};
use crate::error::{Error, Result};

/// How to choose the pair.
#[derive(Debug, Clone, Default)]
pub struct Pairing {
    /// Both models pinned, in the order given; sides are still randomised.
    pub pinned: Option<(String, String)>,
    /// Draw only from models of this tier.
    pub tier: Option<Tier>,
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
                "--models names `{x}` twice: a battle needs two different models"
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
            .filter(|m| m.weight > 0.0)
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

/// Index of a model drawn by weight, skipping `except`.
fn draw<R: Rng + ?Sized>(pool: &[&ModelSpec], except: Option<usize>, rng: &mut R) -> usize {
    let total: f64 = pool
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != except)
        .map(|(_, m)| m.weight)
        .sum();
    let mut target = rng.random_range(0.0..total);
    let mut last = 0;
    for (i, m) in pool.iter().enumerate() {
        if Some(i) == except {
            continue;
        }
        last = i;
        if target < m.weight {
            return i;
        }
        target -= m.weight;
    }
    last
}

fn unknown(models: &[ModelSpec], name: &str) -> Error {
    let known: Vec<&str> = models.iter().map(|m| m.name.as_str()).collect();
    let hint = crate::config::nearest(name, known.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Error::Input(format!(
        "unknown model `{name}` in --models{hint}: the pool has {}",
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
    fn pinned_pairs_are_still_shuffled() {
        let models = [spec("x", 1.0), spec("y", 1.0)];
        let pairing = Pairing {
            pinned: Some(("x".into(), "y".into())),
            tier: None,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let firsts: std::collections::BTreeSet<String> = (0..50)
            .map(|_| pick(&models, &pairing, &mut rng).unwrap().0.name.clone())
            .collect();
        assert_eq!(firsts.len(), 2);
    }

    #[test]
    fn unknown_pinned_model_is_named() {
        let models = [spec("gpt-4o", 1.0), spec("y", 1.0)];
        let pairing = Pairing {
            pinned: Some(("gpt4o".into(), "y".into())),
            tier: None,
        };
        let err = pick(&models, &pairing, &mut rand::rng())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown model `gpt4o`"), "{err}");
        assert!(err.contains("did you mean `gpt-4o`?"), "{err}");
    }
}
