//! The rating engine against the public reference implementations, on real votes nobody
//! here wrote: LMArena's `arena-rank` (Bradley-Terry and sandwich intervals), FastChat's online
//! Elo, and evalica's Bradley-Terry. Reference figures live in `tests/fixtures/reference/`
//! (made by `scripts/reference/make_reference.py`) and in the data's own golden files; the
//! data themselves are vendored in `tests/fixtures/data/` (see its README for their origin).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arena::battle::Winner;
use arena::rating::VoteRow;
use arena::rating::bt::{self, BtOptions};
use arena::rating::elo::{self, EloParams};
use arena::rating::pair_counts;
use arena::transfer::battles::{InputFormat, Mapping, read};
use serde_json::Value;

/// A vendored data file of `tests/fixtures/data/`, decompressed into a temporary directory
/// when it is kept gzipped.
fn data(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let from = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/data")
        .join(name);
    let to = dir.path().join(name.trim_end_matches(".gz"));
    if name.ends_with(".gz") {
        let file = std::fs::File::open(&from).expect("fixture");
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut text)
            .expect("gzip");
        std::fs::write(&to, text).expect("write");
    } else {
        std::fs::copy(&from, &to).expect("copy");
    }
    (dir, to)
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// Votes of a battle log, in file order, through the importer's own parser.
fn votes_of(path: &Path) -> (Vec<String>, Vec<VoteRow>) {
    let mut names = Vec::new();
    let mut votes = Vec::new();
    let skips = read(path, InputFormat::Auto, &Mapping::default(), |chunk| {
        names = chunk.names;
        votes.extend(chunk.rows.iter().map(|r| VoteRow {
            model_a: r.model_a,
            model_b: r.model_b,
            winner: r.winner,
        }));
        Ok(())
    })
    .expect("readable log");
    assert_eq!(skips.total(), 0, "{skips:?}");
    (names, votes)
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn check_bt_against_arena_rank(log: &Path, fixture_name: &str) -> f64 {
    let (names, votes) = votes_of(log);
    let reference = fixture(fixture_name);
    let fit = bt::fit(&pair_counts(names.len(), &votes), &BtOptions::default());
    assert!(fit.converged);
    let models = reference["models"].as_object().expect("models");
    assert_eq!(models.len(), names.len());
    let mut worst: f64 = 0.0;
    for (i, name) in names.iter().enumerate() {
        let r = &models[name];
        for (ours, theirs) in [
            (fit.ratings[i], num(r, "rating")),
            (fit.sandwich_lower[i], num(r, "lower")),
            (fit.sandwich_upper[i], num(r, "upper")),
        ] {
            worst = worst.max((ours - theirs).abs());
            assert!(
                (ours - theirs).abs() < 0.01,
                "{name}: ours {ours}, arena-rank {theirs}"
            );
        }
    }
    worst
}

#[test]
fn bradley_terry_and_sandwich_match_arena_rank_on_human_votes() {
    let worst = check_bt_against_arena_rank(&data("human.json.gz").1, "human_bt.json");
    eprintln!("largest gap to arena-rank on human.json: {worst:.6} rating points");
}

#[test]
fn bradley_terry_matches_arena_rank_on_synthetic_votes() {
    let log =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference/synthetic5.jsonl");
    check_bt_against_arena_rank(&log, "synthetic5_bt.json");
}

#[test]
fn online_elo_matches_fastchat_on_human_votes() {
    let (_dir, human) = data("human.json.gz");
    let (names, votes) = votes_of(&human);
    let reference = fixture("human_elo.json");
    let p = EloParams {
        k: 4.0,
        initial: 1000.0,
        scale: 400.0,
        base: 10.0,
    };
    let ratings = elo::online(names.len(), &votes, &p);
    for (i, name) in names.iter().enumerate() {
        let theirs = num(&reference["models"][name], "rating");
        assert!(
            (ratings[i] - theirs).abs() < 1e-6,
            "{name}: ours {}, FastChat {theirs}",
            ratings[i]
        );
    }
}

/// evalica's CSVs: `left,right,winner` with winner `left|right|tie`.
fn evalica_votes(path: &Path) -> (Vec<String>, Vec<VoteRow>) {
    let mut reader = csv::Reader::from_path(path).expect("csv");
    let headers = reader.headers().expect("header").clone();
    let col = |n: &str| headers.iter().position(|h| h == n).expect(n);
    let (l, r, w) = (col("left"), col("right"), col("winner"));
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut names = Vec::new();
    let mut votes = Vec::new();
    for record in reader.records() {
        let record = record.expect("record");
        let mut id = |name: &str| {
            *index.entry(name.to_owned()).or_insert_with(|| {
                names.push(name.to_owned());
                u32::try_from(names.len() - 1).expect("few models")
            })
        };
        let (a, b) = (id(&record[l]), id(&record[r]));
        let winner = match &record[w] {
            "left" => Winner::ModelA,
            "right" => Winner::ModelB,
            "tie" => Winner::Tie,
            other => panic!("winner {other}"),
        };
        votes.push(VoteRow {
            model_a: a,
            model_b: b,
            winner,
        });
    }
    (names, votes)
}

/// evalica's Bradley-Terry scores are strengths `e^θ` normalised to sum to one.
fn check_evalica(log: &str, golden: &str) {
    let (_dir, log) = data(log);
    let (names, votes) = evalica_votes(&log);
    let fit = bt::fit(&pair_counts(names.len(), &votes), &BtOptions::default());
    let strengths: Vec<f64> = fit
        .ratings
        .iter()
        .map(|r| ((r - bt::BASE_RATING) / bt::RATING_SCALE).exp())
        .collect();
    let total: f64 = strengths.iter().sum();
    let (_golden_dir, golden) = data(golden);
    let mut reader = csv::Reader::from_path(golden).expect("golden");
    let mut checked = 0;
    for record in reader.records() {
        let record = record.expect("record");
        if &record[0] != "bradley_terry" {
            continue;
        }
        let i = names
            .iter()
            .position(|n| n == &record[1])
            .expect("model in data");
        let theirs: f64 = record[2].parse().expect("score");
        let ours = strengths[i] / total;
        assert!(
            ((ours - theirs) / theirs).abs() < 1e-4,
            "{}: ours {ours}, evalica {theirs}",
            &record[1]
        );
        checked += 1;
    }
    assert_eq!(checked, names.len());
}

#[test]
fn bradley_terry_matches_evalica_golden_values() {
    check_evalica("llmfao.csv.gz", "llmfao-golden.csv");
    check_evalica("simple.csv", "simple-golden.csv");
    check_evalica("food.csv", "food-golden.csv");
}
