//! Rating and import benchmarks: `cargo bench` prints figures (medians), it asserts nothing.
//!
//! Data: `ARENA_BENCH_LOG` names a battle log (e.g. made by `gen_battles.py`); without it a
//! log with the same design is generated here: 1,000,000 votes over 200 models, Bradley-Terry
//! strengths with an Elo-scale spread of 100, log-normal pair popularity, about 25% ties.
//! `ARENA_BENCH_VOTES` and `ARENA_BENCH_MODELS` change the size.
//!
//! Measured: parsing the log, aggregating votes into pair counts, the Bradley-Terry fit with
//! sandwich intervals, 100 and 1000 bootstrap rounds, and through the release binary,
//! `arena import` and `arena leaderboard --format json` on the database it made.
//!
//! The regularised path: the same counts with four models of one vote each added, so that
//! the maximum-likelihood estimate no longer exists (100 bootstrap rounds).
//!
//! Then the large sparse case: a chain of 10,000 models (`ARENA_BENCH_CHAIN` changes it, 0
//! skips it), two votes per neighbouring pair with random winners, so that most pairs are 2–0
//! and the maximum-likelihood estimate does not exist. Measured: the fit with sandwich
//! intervals, with 100 bootstrap rounds, and `arena leaderboard --format json` on it.
//!
//! Last, style control: 1,000,000 generated votes with style features
//! (`ARENA_BENCH_STYLE_VOTES`, 0 skips them), the contextual fit with sandwich intervals and
//! with 100 bootstrap rounds; `ARENA_BENCH_STYLE_CSV=FILE` also writes the votes for
//! `scripts/bench/arena_rank_style_bench.py`.
//!
//! `ARENA_BENCH_ONLY=bt,cli,chain,style` runs only the sections named.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use arena::battle::Winner;
use arena::rating::VoteRow;
use arena::rating::bt::{self, BtOptions};
use arena::rating::pair_counts;
use arena::rating::style::{self, Features, StyleOptions, StyleVote, StyleVotes};
use arena::transfer::battles::{InputFormat, Mapping, read};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A standard normal variate (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn generate(path: &Path, models: usize, votes: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let sigma = 100.0 / bt::RATING_SCALE;
    let theta: Vec<f64> = (0..models).map(|_| sigma * normal(&mut rng)).collect();
    let popularity: Vec<f64> = (0..models).map(|_| normal(&mut rng).exp()).collect();
    let total: f64 = popularity.iter().sum();
    let mut cumulative = Vec::with_capacity(models);
    let mut acc = 0.0;
    for p in &popularity {
        acc += p / total;
        cumulative.push(acc);
    }
    let pick = |rng: &mut ChaCha8Rng| {
        let u: f64 = rng.random();
        cumulative.partition_point(|&c| c < u).min(models - 1)
    };
    let file = std::fs::File::create(path).expect("bench log");
    let mut out = std::io::BufWriter::new(file);
    for _ in 0..votes {
        let a = pick(&mut rng);
        let mut b = pick(&mut rng);
        while b == a {
            b = pick(&mut rng);
        }
        let p = 1.0 / (1.0 + (theta[b] - theta[a]).exp());
        let tie = 0.5 * 2.0 * p.min(1.0 - p);
        let u: f64 = rng.random();
        let winner = if u < p - tie / 2.0 {
            "model_a"
        } else if u < p + tie / 2.0 {
            if rng.random_bool(0.4) {
                "tie (bothbad)"
            } else {
                "tie"
            }
        } else {
            "model_b"
        };
        writeln!(
            out,
            "{{\"model_a\": \"model-{a:04}\", \"model_b\": \"model-{b:04}\", \"winner\": \"{winner}\"}}"
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// `model_a,model_b,winner` rows of a chain: two votes between each model and the next.
fn chain_votes(models: usize) -> Vec<(usize, usize, bool)> {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    (1..models)
        .flat_map(|m| [(m - 1, m), (m - 1, m)])
        .map(|(a, b)| (a, b, rng.random_bool(0.5)))
        .collect()
}

fn chain_counts(models: usize, votes: &[(usize, usize, bool)]) -> bt::Comparisons {
    let mut cells: Vec<bt::Cell> = (1..models)
        .map(|m| bt::Cell {
            i: m - 1,
            j: m,
            wins_i: 0.0,
            wins_j: 0.0,
            ties: 0.0,
        })
        .collect();
    for &(a, _, a_won) in votes {
        if a_won {
            cells[a].wins_i += 1.0;
        } else {
            cells[a].wins_j += 1.0;
        }
    }
    bt::Comparisons {
        n_models: models,
        cells,
        names: Vec::new(),
    }
}

fn bench_chain(dir: &Path, models: usize) {
    let votes = chain_votes(models);
    let counts = chain_counts(models, &votes);
    println!("chain of {models} models, {} votes", votes.len());
    let (fit, _) = time(3, || bt::fit(&counts, &BtOptions::default()));
    println!("Bradley-Terry fit + sandwich       {}", ms(fit));
    let options = BtOptions {
        bootstrap_rounds: 100,
        ..BtOptions::default()
    };
    let (t, _) = time(3, || bt::fit(&counts, &options));
    println!("fit +  100 bootstrap rounds        {}", ms(t));

    let csv = dir.join("chain.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).expect("chain csv"));
    writeln!(out, "model_a,model_b,winner").expect("write");
    for (a, b, a_won) in &votes {
        let winner = if *a_won { "model_a" } else { "model_b" };
        writeln!(out, "m{a},m{b},{winner}").expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    let db = dir.join("chain.sqlite3");
    let db_arg = db.to_str().expect("utf-8 temp path");
    let csv_arg = csv.to_str().expect("utf-8 csv path");
    arena(&["--db", db_arg, "--no-progress", "-q", "import", csv_arg]);
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(arena(&["--db", db_arg, "leaderboard", "--format", "json"]));
    }
    println!(
        "arena leaderboard --format json    {}  (bt, 100 bootstrap rounds; median of 3)",
        ms(median(runs))
    );
}

/// Votes with style features: the log's design (strengths with an Elo-scale spread of 100,
/// log-normal pair popularity, about 25% ties), each model with its own verbosity, answers
/// whose length and formatting also sway the vote.
fn style_votes(models: usize, votes: usize) -> StyleVotes {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let sigma = 100.0 / bt::RATING_SCALE;
    let theta: Vec<f64> = (0..models).map(|_| sigma * normal(&mut rng)).collect();
    let verbosity: Vec<f64> = (0..models)
        .map(|_| (0.4 * normal(&mut rng)).exp())
        .collect();
    let popularity: Vec<f64> = (0..models).map(|_| normal(&mut rng).exp()).collect();
    let total: f64 = popularity.iter().sum();
    let mut cumulative = Vec::with_capacity(models);
    let mut acc = 0.0;
    for p in &popularity {
        acc += p / total;
        cumulative.push(acc);
    }
    let pick = |rng: &mut ChaCha8Rng| {
        let u: f64 = rng.random();
        cumulative.partition_point(|&c| c < u).min(models - 1)
    };
    let side = |rng: &mut ChaCha8Rng, m: usize| Features {
        tokens: (verbosity[m] * 500.0 * (0.6 * normal(rng)).exp()) as u32,
        headers: rng.random_range(0..4u32).saturating_sub(1),
        lists: rng.random_range(0..10),
        bold: rng.random_range(0..8),
    };
    let ratio = |a: u32, b: u32| {
        let (a, b) = (f64::from(a), f64::from(b));
        if a + b == 0.0 { 0.0 } else { (a - b) / (a + b) }
    };
    let votes = (0..votes)
        .map(|_| {
            let a = pick(&mut rng);
            let mut b = pick(&mut rng);
            while b == a {
                b = pick(&mut rng);
            }
            let (fa, fb) = (side(&mut rng, a), side(&mut rng, b));
            let d = theta[a] - theta[b]
                + 0.4 * ratio(fa.tokens, fb.tokens)
                + 0.1 * ratio(fa.bold, fb.bold);
            let p = 1.0 / (1.0 + (-d).exp());
            let tie = p.min(1.0 - p);
            let u: f64 = rng.random();
            let winner = if u < p - tie / 2.0 {
                Winner::ModelA
            } else if u < p + tie / 2.0 {
                if rng.random_bool(0.4) {
                    Winner::BothBad
                } else {
                    Winner::Tie
                }
            } else {
                Winner::ModelB
            };
            StyleVote {
                model_a: a as u32,
                model_b: b as u32,
                winner,
                a: fa,
                b: fb,
            }
        })
        .collect();
    StyleVotes {
        n_models: models,
        names: (0..models).map(|m| format!("model-{m:04}")).collect(),
        votes,
    }
}

/// Writes the votes as the columns of the reference's style fixture, for
/// `scripts/bench/arena_rank_style_bench.py`.
fn write_style_csv(path: &Path, data: &StyleVotes) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("style csv"));
    writeln!(
        out,
        "model_a,model_b,winner,sum_assistant_a_tokens,sum_assistant_b_tokens,header_count_a,header_count_b,list_count_a,list_count_b,bold_count_a,bold_count_b"
    )
    .expect("write");
    for v in &data.votes {
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            data.names[v.model_a as usize],
            data.names[v.model_b as usize],
            v.winner.as_str(),
            v.a.tokens,
            v.b.tokens,
            v.a.headers,
            v.b.headers,
            v.a.lists,
            v.b.lists,
            v.a.bold,
            v.b.bold
        )
        .expect("write");
    }
    out.flush().expect("flush");
}

/// Style control (contextual Bradley-Terry) on votes with features, in process.
fn bench_style(models: usize, votes: usize) {
    let data = style_votes(models, votes);
    println!("style control: {votes} votes with features, {models} models");
    if let Some(path) = std::env::var_os("ARENA_BENCH_STYLE_CSV") {
        write_style_csv(Path::new(&path), &data);
    }
    let (t, fit) = time(3, || style::fit_contextual(&data, &StyleOptions::default()));
    println!(
        "style fit + sandwich               {}  ({} rows, {} Newton iterations)",
        ms(t),
        fit.rows,
        fit.board.iterations
    );
    println!(
        "  coefficients (tokens, headers, lists, bold) {:.4?}",
        fit.coefficients
    );
    let options = StyleOptions {
        bt: BtOptions {
            bootstrap_rounds: 100,
            ..BtOptions::default()
        },
        ..StyleOptions::default()
    };
    let (t, _) = time(1, || style::fit_contextual(&data, &options));
    println!("style fit +  100 bootstrap rounds  {}", ms(t));
}

/// The regularised path: four models with one vote each join the board (two win theirs,
/// two lose), so the maximum-likelihood estimate no longer exists and the group gets
/// virtual votes.
fn bench_newcomers(counts: &bt::Comparisons) {
    let mut joined = counts.clone();
    let k = counts.n_models;
    for m in 0..4 {
        let won = m % 2 == 0;
        joined.cells.push(bt::Cell {
            i: k + m,
            j: (m * 37) % k,
            wins_i: if won { 1.0 } else { 0.0 },
            wins_j: if won { 0.0 } else { 1.0 },
            ties: 0.0,
        });
    }
    joined.n_models = k + 4;
    let options = BtOptions {
        bootstrap_rounds: 100,
        ..BtOptions::default()
    };
    let (t, _) = time(5, || bt::fit(&joined, &options));
    println!(
        "fit +  100 rounds, 4 one-vote models {}  (regularised path)",
        ms(t)
    );
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

fn ms(d: Duration) -> String {
    format!("{:9.1} ms", d.as_secs_f64() * 1000.0)
}

fn arena(args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_arena"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run arena");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "arena {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// Whether `ARENA_BENCH_ONLY` (a comma-separated list of `bt`, `cli`, `chain`, `style`)
/// asks for this section; unset runs them all.
fn wanted(section: &str) -> bool {
    std::env::var("ARENA_BENCH_ONLY")
        .map_or(true, |only| only.split(',').any(|s| s.trim() == section))
}

fn main() {
    // `cargo bench -- --list`, as the test harness asks, has nothing to list.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    if wanted("bt") || wanted("cli") {
        bench_log(dir.path());
    }
    let chain = env_usize("ARENA_BENCH_CHAIN", 10_000);
    if chain >= 2 && wanted("chain") {
        bench_chain(dir.path(), chain);
    }
    let styled = env_usize("ARENA_BENCH_STYLE_VOTES", 1_000_000);
    if styled > 0 && wanted("style") {
        bench_style(env_usize("ARENA_BENCH_MODELS", 200), styled);
    }
}

/// The battle log: parsing, aggregation, the plain fits, and the binary on it.
fn bench_log(dir: &Path) {
    let (log, made): (PathBuf, bool) = match std::env::var_os("ARENA_BENCH_LOG") {
        Some(p) => (PathBuf::from(p), false),
        None => (dir.join("battles.jsonl"), true),
    };
    let models = env_usize("ARENA_BENCH_MODELS", 200);
    let n = env_usize("ARENA_BENCH_VOTES", 1_000_000);
    if made {
        generate(&log, models, n);
    }
    println!("arena rating benchmarks: {}", log.display());
    let (parse, (names, votes)) = time(3, || {
        let mut names = Vec::new();
        let mut votes: Vec<VoteRow> = Vec::new();
        read(&log, InputFormat::Auto, &Mapping::default(), |chunk| {
            names = chunk.names;
            votes.extend(chunk.rows.iter().map(|r| VoteRow {
                model_a: r.model_a,
                model_b: r.model_b,
                winner: r.winner,
            }));
            Ok(())
        })
        .expect("readable log");
        (names, votes)
    });
    println!("votes {}, models {}", votes.len(), names.len());
    println!("parse log                          {}", ms(parse));
    let (aggregate, counts) = time(5, || pair_counts(names.len(), &votes));
    println!(
        "aggregate into {:6} pair cells    {}",
        counts.cells.len(),
        ms(aggregate)
    );
    if !wanted("bt") {
        return bench_cli(dir, &log, votes.len());
    }
    let (fit, _) = time(5, || bt::fit(&counts, &BtOptions::default()));
    println!("Bradley-Terry fit + sandwich       {}", ms(fit));
    for rounds in [100, 1000] {
        let options = BtOptions {
            bootstrap_rounds: rounds,
            ..BtOptions::default()
        };
        let (t, _) = time(if rounds == 100 { 3 } else { 1 }, || {
            bt::fit(&counts, &options)
        });
        println!("fit + {rounds:4} bootstrap rounds        {}", ms(t));
    }

    bench_newcomers(&counts);
    if !wanted("cli") {
        return;
    }

    bench_cli(dir, &log, votes.len());
}

/// `arena import` and `arena leaderboard` through the release binary.
fn bench_cli(dir: &Path, log: &Path, votes: usize) {
    let db = dir.join("bench.sqlite3");
    let db_arg = db.to_str().expect("utf-8 temp path");
    let log_arg = log.to_str().expect("utf-8 log path");
    let import = arena(&["--db", db_arg, "--no-progress", "-q", "import", log_arg]);
    #[allow(clippy::cast_precision_loss)]
    let rate = votes as f64 / import.as_secs_f64();
    println!(
        "arena import (whole process)       {}  ({rate:.0} rows/s)",
        ms(import)
    );
    let mut runs = Vec::new();
    for _ in 0..5 {
        runs.push(arena(&["--db", db_arg, "leaderboard", "--format", "json"]));
    }
    println!(
        "arena leaderboard --format json    {}  (bt, 100 bootstrap rounds; median of 5)",
        ms(median(runs))
    );
}
