//! The dense and sparse paths on the same problems: the same ratings,
//! sandwich bounds, bootstrap bounds (same seed, same replicates), flags and
//! notes, to well within the fit tolerance. Also a chain of 10,000 models,
//! which only the sparse path can hold, checked for sanity.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use proptest::prelude::*;

use super::tests::cell;
use super::*;

/// Agreement required of ratings and sandwich bounds, in rating points.
/// Both paths stop after a Newton step below the tolerance (1e-8 log-odds,
/// 1.7e-6 points), where the remaining error is far smaller.
const AGREE: f64 = 1e-6;
/// Agreement required of bootstrap bounds. The dense path refits replicates
/// by Anderson-accelerated fixed-Hessian steps, which stop at a step within
/// the tolerance (1e-8 log-odds) but converge only linearly, so a strength may
/// still be a few tolerances from the replicate's optimum, and a rating (a
/// difference of strengths) twice that: its bounds are that close to the
/// (Newton-refitted) sparse ones. Random problems have shown 2.3 tolerances
/// (4.0e-6 points); 1e-5 points, far below any printed digit, leaves room.
const AGREE_BOOTSTRAP: f64 = 1e-5;

fn close(what: &str, a: &[f64], b: &[f64]) {
    within(what, a, b, AGREE);
}

fn within(what: &str, a: &[f64], b: &[f64], limit: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (m, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= limit,
            "{what} of model {m}: dense {x}, sparse {y}, apart by {}",
            (x - y).abs()
        );
    }
}

fn on(path: Path) -> Plan {
    Plan {
        path: Some(path),
        ..Plan::default()
    }
}

/// Fits on both paths and checks that they agree.
fn agree(c: &Comparisons, o: &BtOptions) -> BtFit {
    let dense = fit_with(c, o, on(Path::Dense));
    let sparse = fit_with(c, o, on(Path::Sparse));
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
            within("bootstrap lower", &d.lower, &s.lower, AGREE_BOOTSTRAP);
            within("bootstrap upper", &d.upper, &s.upper, AGREE_BOOTSTRAP);
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

#[test]
fn the_sparse_path_survives_bad_and_extreme_input() {
    let bad = Comparisons {
        names: Vec::new(),
        n_models: 3,
        cells: vec![
            cell(0, 0, 5.0, 1.0, 0.0),
            cell(0, 7, 5.0, 1.0, 0.0),
            cell(0, 1, f64::NAN, 1.0, 0.0),
            cell(1, 2, f64::INFINITY, 1.0, 0.0),
            cell(0, 1, 4.0, 2.0, 1.0),
            cell(1, 2, 3.0, 3.0, 1.0),
            cell(0, 2, 2.0, 2.0, 0.0),
        ],
    };
    let extreme = Comparisons {
        names: Vec::new(),
        n_models: 6,
        cells: vec![
            cell(0, 1, 4e12, 3e12, 1e12),
            cell(1, 2, 0.25, 0.5, 0.0),
            cell(0, 2, 1e-9, 2e-9, 0.0),
            cell(2, 3, 1e300, 3e299, 0.0),
            cell(3, 4, 1e300, 1e300, 1e300),
            cell(4, 5, 1e300, 0.0, 0.0),
        ],
    };
    let empty = Comparisons {
        names: Vec::new(),
        n_models: 4,
        cells: vec![cell(0, 1, 0.0, 0.0, 0.0)],
    };
    for c in [&bad, &extreme, &empty, &Comparisons::default()] {
        for o in [
            options(3),
            BtOptions {
                max_iterations: 0,
                ..options(2)
            },
            BtOptions {
                max_iterations: 1,
                ..options(2)
            },
        ] {
            let f = fit_with(c, &o, on(Path::Sparse));
            let boot = f
                .bootstrap
                .iter()
                .flat_map(|b| b.lower.iter().chain(&b.upper));
            assert!(
                f.ratings
                    .iter()
                    .chain(&f.sandwich_lower)
                    .chain(&f.sandwich_upper)
                    .chain(boot)
                    .all(|x| x.is_finite())
            );
        }
    }
}

#[test]
fn a_sandwich_over_budget_is_skipped_with_a_note() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let k = 50;
    let theta = strengths(&mut rng, k);
    let pairs = random_graph(&mut rng, 0, k, 100);
    let c = Comparisons {
        n_models: k,
        cells: simulate(&mut rng, &theta, &pairs, 30),
        names: Vec::new(),
    };
    let plan = Plan {
        path: Some(Path::Sparse),
        sandwich_budget: 1e4,
    };
    let f = fit_with(&c, &options(5), plan);
    assert!(f.converged);
    assert_eq!(f.sandwich_lower, f.ratings);
    assert_eq!(f.sandwich_upper, f.ratings);
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("sandwich intervals were skipped"))
    );
    let b = f.bootstrap.as_ref().expect("bootstrap");
    assert!(b.lower.iter().zip(&b.upper).all(|(l, u)| l < u));
    let full = fit_with(&c, &options(5), on(Path::Sparse));
    assert_eq!(full.bootstrap, f.bootstrap);
}

/// A chain of 10,000 models with two votes per neighbouring pair, the
/// shape that made the dense path run for minutes: only sanity is checked
/// here (timing belongs to the benchmarks).
#[test]
fn a_chain_of_ten_thousand_models() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let k = 10_000;
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
    assert_eq!(choose_path(k, c.cells.len()), Path::Sparse);
    let f = fit(&c, &options(4));
    assert!(f.converged, "{:?}", f.notes);
    assert!(f.component.iter().all(|&g| g == 0));
    let mean = f.ratings.iter().sum::<f64>() / k as f64;
    assert!((mean - BASE_RATING).abs() < 1e-6);
    let b = f.bootstrap.as_ref().expect("bootstrap");
    assert_eq!((b.rounds, b.unconverged), (4, 0));
    for m in 0..k {
        let r = f.ratings[m];
        assert!(
            r.is_finite() && (0.0..2000.0).contains(&r),
            "model {m}: {r}"
        );
        assert!(f.sandwich_lower[m] <= r && r <= f.sandwich_upper[m]);
        assert!(b.lower[m] <= b.upper[m] && b.lower[m].is_finite() && b.upper[m].is_finite());
        if !f.unbounded_above[m] {
            assert!(f.sandwich_upper[m] - r < UNBOUNDED_MARGIN);
        }
    }
    // 2–0 results split the chain into many strongly connected parts, so
    // most ratings are open on some side.
    let open = (0..k)
        .filter(|&m| f.unbounded_above[m] || f.unbounded_below[m])
        .count();
    assert!(open > k / 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn paths_agree_on_random_small_problems((k, cells) in super::tests::arb_cells()) {
        let c = Comparisons { names: Vec::new(), n_models: k, cells };
        agree(&c, &options(4));
    }
}
