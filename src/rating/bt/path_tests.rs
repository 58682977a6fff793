//! The dense and sparse paths on the same problems: the same ratings,
//! sandwich bounds, bootstrap bounds (same seed, same replicates), flags and
//! notes, to well within the fit tolerance. Also a chain of 10,000 models,
//! which only the sparse path can hold, checked for sanity.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests::cell;
use super::*;

/// Agreement required, in rating points (the fit tolerance of 1e-8
/// log-odds is about 2e-6 points).
const AGREE: f64 = 1e-6;

fn close(what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (m, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= AGREE,
            "{what} of model {m}: dense {x}, sparse {y}, apart by {}",
            (x - y).abs()
        );
    }
}

/// Fits on both paths and checks that they agree.
fn agree(c: &Comparisons, o: &BtOptions) -> BtFit {
    let dense = fit_with(c, o, Some(Path::Dense));
    let sparse = fit_with(c, o, Some(Path::Sparse));
    assert!(dense.converged && sparse.converged, "{:?}", sparse.notes);
    close("rating", &dense.ratings, &sparse.ratings);
    close(
        "sandwich lower",
        &dense.sandwich_lower,
        &sparse.sandwich_lower,
    );
    close(
        "sandwich upper",
        &dense.sandwich_upper,
        &sparse.sandwich_upper,
    );
    match (&dense.bootstrap, &sparse.bootstrap) {
        (Some(d), Some(s)) => {
            close("bootstrap lower", &d.lower, &s.lower);
            close("bootstrap upper", &d.upper, &s.upper);
            assert_eq!((d.rounds, d.seed), (s.rounds, s.seed));
            assert_eq!(d.unconverged, 0);
            assert_eq!(s.unconverged, 0);
        }
        (None, None) => {}
        _ => panic!("only one path ran the bootstrap"),
    }
    assert_eq!(dense.notes, sparse.notes);
    assert_eq!(dense.component, sparse.component);
    assert_eq!(dense.unbounded_above, sparse.unbounded_above);
    assert_eq!(dense.unbounded_below, sparse.unbounded_below);
    sparse
}

/// Votes over `pairs` drawn from strengths `theta`, about a fifth ties.
fn simulate(
    rng: &mut ChaCha8Rng,
    theta: &[f64],
    pairs: &[(usize, usize)],
    votes: u32,
) -> Vec<Cell> {
    pairs
        .iter()
        .map(|&(i, j)| {
            let p = 1.0 / (1.0 + (theta[j] - theta[i]).exp());
            let (mut a, mut b, mut t) = (0.0, 0.0, 0.0);
            for _ in 0..rng.random_range(1..=votes) {
                let u: f64 = rng.random();
                if u < 0.2 {
                    t += 1.0;
                } else if u < 0.2 + 0.8 * p {
                    a += 1.0;
                } else {
                    b += 1.0;
                }
            }
            cell(i, j, a, b, t)
        })
        .collect()
}

fn strengths(rng: &mut ChaCha8Rng, k: usize) -> Vec<f64> {
    (0..k).map(|_| rng.random_range(-2.0..2.0)).collect()
}

/// A random tree on `nodes` plus `extra` random edges, offset by `first`.
fn random_graph(
    rng: &mut ChaCha8Rng,
    first: usize,
    nodes: usize,
    extra: usize,
) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = (1..nodes)
        .map(|v| (first + rng.random_range(0..v), first + v))
        .collect();
    for _ in 0..extra {
        let a = rng.random_range(0..nodes);
        let b = rng.random_range(0..nodes);
        if a != b {
            pairs.push((first + a, first + b));
        }
    }
    pairs
}

fn options(rounds: usize) -> BtOptions {
    BtOptions {
        bootstrap_rounds: rounds,
        seed: 3,
        ..BtOptions::default()
    }
}

#[test]
fn paths_agree_on_a_sparse_graph_with_cycles() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let k = 420;
    let theta = strengths(&mut rng, k);
    let pairs = random_graph(&mut rng, 0, k, 2 * k);
    let c = Comparisons {
        n_models: k,
        cells: simulate(&mut rng, &theta, &pairs, 30),
        names: Vec::new(),
    };
    assert_eq!(choose_path(k, c.cells.len()), Path::Sparse);
    agree(&c, &options(8));
}

#[test]
fn paths_agree_on_a_chain_without_a_finite_mle() {
    // Two votes per neighbouring pair, as in the large benchmark: many pairs
    // are 2–0, so the group is regularised and most models are flagged.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let k = 250;
    let cells: Vec<Cell> = (0..k - 1)
        .map(|i| {
            let a = f64::from(rng.random_range(0..=2u32));
            cell(i, i + 1, a, 2.0 - a, 0.0)
        })
        .collect();
    let c = Comparisons {
        n_models: k,
        cells,
        names: Vec::new(),
    };
    let f = agree(&c, &options(8));
    assert!(f.unbounded_above.iter().any(|&u| u));
}

#[test]
fn paths_agree_on_groups_ties_idle_models_and_an_anchor() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let k = 320;
    let theta = strengths(&mut rng, k);
    // Group A: models 0..150 with cycles; group B: 150..260, a tree; group
    // C: 260..300 with one model (299) that only ever wins; 300..310 only
    // ties; 310..320 without votes.
    let mut pairs = random_graph(&mut rng, 0, 150, 200);
    pairs.extend(random_graph(&mut rng, 150, 110, 0));
    pairs.extend(random_graph(&mut rng, 260, 39, 30));
    let mut cells = simulate(&mut rng, &theta, &pairs, 25);
    cells.push(cell(299, 260, 4.0, 0.0, 0.0));
    cells.push(cell(299, 270, 3.0, 0.0, 0.0));
    for v in 300..309 {
        cells.push(cell(v, v + 1, 0.0, 0.0, 3.0));
    }
    let c = Comparisons {
        n_models: k,
        cells,
        names: Vec::new(),
    };
    let o = BtOptions {
        anchor: Some((5, 1114.0)),
        ..options(6)
    };
    let f = agree(&c, &o);
    assert!(f.unbounded_above[299]);
    assert!((f.ratings[5] - 1114.0).abs() < 1e-9);
    assert!(f.notes.iter().any(|n| n.contains("separate groups")));
}

#[test]
fn paths_agree_on_the_small_cases() {
    let r = super::tests::reference();
    agree(&r, &options(20));
    for cells in [
        vec![cell(0, 1, 4.0, 0.0, 0.0), cell(1, 2, 3.0, 0.0, 0.0)],
        vec![cell(0, 1, 0.0, 0.0, 6.0)],
        vec![cell(0, 1, 10.0, 5.0, 1.0), cell(2, 3, 3.0, 9.0, 2.0)],
        vec![
            cell(0, 1, 20.0, 15.0, 5.0),
            cell(1, 2, 18.0, 12.0, 4.0),
            cell(0, 2, 22.0, 10.0, 6.0),
            cell(3, 0, 5.0, 0.0, 0.0),
            cell(3, 1, 7.0, 0.0, 0.0),
            cell(4, 2, 0.0, 6.0, 0.0),
        ],
    ] {
        let c = Comparisons {
            n_models: 5,
            cells,
            names: Vec::new(),
        };
        agree(&c, &options(10));
    }
}
