//! `arena import`, `arena export`, `arena stats` and the other leaderboard methods, through
//! the binary on a real database.

use serde_json::{Value, json};

use crate::support::{Test, text};

const LOG: &str = r#"{"model_a": "alpha", "model_b": "beta", "winner": "model_a", "tstamp": 1700000000}
{"model_a": "beta", "model_b": "gamma", "winner": "model_a", "tstamp": 1700000100}
{"model_a": "alpha", "model_b": "gamma", "winner": "tie", "tstamp": 1700000200}
{"model_a": "gamma", "model_b": "alpha", "winner": "tie (bothbad)", "tstamp": 1700000300}
{"model_a": "alpha", "model_b": "beta", "winner": "model_b", "tstamp": 1700000400}
{"model_a": "alpha", "model_b": "beta", "winner": "model_a", "tstamp": 1700000500}
{"model_a": "alpha", "model_b": "alpha", "winner": "model_a"}
{"model_a": "alpha", "model_b": "beta", "winner": "somebody"}
{"model_a": "alpha", "winner": "model_a"}
this line is not JSON
"#;

fn imported() -> Test {
    let t = Test::new();
    t.write("log.jsonl", LOG);
    t.arena()
        .args(["import", "log.jsonl"])
        .run()
        .success()
        .stdout_contains("imported 6 votes")
        .stdout_contains("4 skipped");
    t
}

fn count(summary: &Value, key: &str) -> u64 {
    summary[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {summary}"))
}

#[test]
fn import_reports_skips_with_reasons_and_is_idempotent() {
    let t = Test::new();
    t.write("log.jsonl", LOG);
    let first = t
        .arena()
        .args(["import", "log.jsonl", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(count(&first, "imported"), 6);
    let reasons = first["skipped"]["reasons"].as_object().expect("reasons");
    assert_eq!(
        reasons["model_a and model_b are the same model"],
        json!([1, 7])
    );
    assert_eq!(reasons["missing model_a or model_b"], json!([1, 9]));
    assert_eq!(reasons["not a JSON object"], json!([1, 10]));
    assert!(reasons.keys().any(|k| k.starts_with("winner not one of")));

    let again = t
        .arena()
        .args(["import", "log.jsonl", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(count(&again, "imported"), 0);
    assert_eq!(count(&again, "duplicates"), 6);

    // The same records with one more appended: only the new one is added.
    t.write(
        "more.jsonl",
        &format!(
            "{LOG}{{\"model_a\": \"beta\", \"model_b\": \"gamma\", \"winner\": \"model_b\"}}\n"
        ),
    );
    let more = t
        .arena()
        .args(["import", "more.jsonl", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(count(&more, "imported"), 1);
    let board = t
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(board["votes"], json!(7));
}

#[test]
fn csv_import_and_a_bad_file_is_named() {
    let t = Test::new();
    t.write(
        "log.csv",
        "model_a,model_b,winner,judge\nalpha,beta,model_a,u1\nbeta,alpha,both_bad,u2\n",
    );
    t.arena()
        .args(["import", "log.csv"])
        .run()
        .success()
        .stdout_contains("imported 2 votes");
    t.write("bad.csv", "left,right,winner\nalpha,beta,left\n");
    t.arena()
        .args(["import", "bad.csv"])
        .run()
        .code(2)
        .stderr_contains("bad.csv:1:1")
        .stderr_contains("model_a, model_b and winner");
    t.arena()
        .args(["import", "absent.jsonl"])
        .run()
        .code(2)
        .stderr_contains("absent.jsonl");
}

#[test]
fn export_votes_round_trips_through_import() {
    let t = imported();
    let exported = t
        .arena()
        .args(["export", "votes", "--output", "votes.jsonl"])
        .run()
        .success();
    assert!(exported.stdout().is_empty());
    let text = std::fs::read_to_string(t.path("votes.jsonl")).expect("export file");
    assert_eq!(text.lines().count(), 6);
    let first: Value = serde_json::from_str(text.lines().next().expect("a line")).expect("json");
    assert_eq!(first["winner"], json!("model_a"));
    assert_eq!(first["tstamp"], json!(1_700_000_000.0));

    let other = Test::new();
    other.write("votes.jsonl", &text);
    other
        .arena()
        .args(["import", "votes.jsonl"])
        .run()
        .success()
        .stdout_contains("imported 6 votes");
    let board = |t: &Test| {
        t.arena()
            .args(["leaderboard", "--method", "elo", "--format", "csv"])
            .run()
            .success()
            .stdout()
    };
    assert_eq!(board(&t), board(&other));

    let csv = t
        .arena()
        .args(["export", "votes", "--format", "csv"])
        .run()
        .success()
        .stdout();
    assert!(
        csv.starts_with("vote_id,battle_id,model_a,model_b,winner,tstamp,question_id,left_out\n"),
        "{csv}"
    );
    let array = t
        .arena()
        .args(["export", "votes", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(array.as_array().map(Vec::len), Some(6));
}

#[test]
fn stats_matrix_has_the_battle_statistics_shape() {
    let t = imported();
    let m = t
        .arena()
        .args(["stats", "matrix", "--format", "json"])
        .run()
        .success()
        .json();
    // alpha beat beta twice and lost once; alpha-gamma only tied.
    let ab = m["win_rate_matrix"]["alpha"]["beta"]
        .as_f64()
        .expect("rate");
    assert!((ab - 2.0 / 3.0).abs() < 1e-12, "{m}");
    assert_eq!(m["win_rate_matrix"]["alpha"]["gamma"], Value::Null);
    assert_eq!(m["match_count_matrix"]["alpha"]["gamma"], json!(2));
    assert_eq!(m["match_count_matrix"]["gamma"]["alpha"], json!(2));
}

#[test]
fn bradley_terry_leaderboard_is_reproducible_and_complete() {
    let t = imported();
    let run = |extra: &[&str]| {
        let mut v = t
            .arena()
            .args([
                "leaderboard",
                "--format",
                "json",
                "--bootstrap",
                "50",
                "--seed",
                "7",
            ])
            .args(extra)
            .run()
            .success()
            .json();
        v["generated_at"] = json!(null);
        v
    };
    let a = run(&[]);
    assert_eq!(a, run(&[]), "same seed, same figures");
    assert_eq!(a["method"], json!("bt"));
    assert_eq!(a["seed"], json!(7));
    assert_eq!(a["votes"], json!(6));
    assert_eq!(a["params"]["bootstrap_rounds"], json!(50));
    for row in a["leaderboard"].as_array().expect("rows") {
        for key in [
            "rank",
            "rank_ub",
            "model_name",
            "rating",
            "rating_lower",
            "rating_upper",
        ] {
            assert!(!row[key].is_null(), "{key} in {row}");
        }
        let (lo, r, hi) = (
            row["rating_lower"].as_f64().expect("lower"),
            row["rating"].as_f64().expect("rating"),
            row["rating_upper"].as_f64().expect("upper"),
        );
        assert!(lo <= r && r <= hi, "{row}");
    }
    let anchored = run(&["--anchor", "beta=1200"]);
    let beta = anchored["leaderboard"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["model_name"] == json!("beta"))
        .expect("beta");
    assert!((beta["rating"].as_f64().expect("rating") - 1200.0).abs() < 1e-9);

    t.arena()
        .args(["leaderboard", "--anchor", "beta"])
        .run()
        .code(2)
        .stderr_contains("MODEL=RATING");
}

#[test]
fn glicko2_reports_periodic_and_realtime_ratings() {
    let t = imported();
    let g = t
        .arena()
        .args(["leaderboard", "--method", "glicko2", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(g["method"], json!("glicko2"));
    assert!(g["next_update_time"].is_string(), "{g}");
    for row in g["leaderboard"].as_array().expect("rows") {
        for key in [
            "rating_deviation",
            "volatility",
            "rating_realtime",
            "rating_deviation_realtime",
            "volatility_realtime",
        ] {
            assert!(row[key].is_number(), "{key} in {row}");
        }
        // The votes are from 2023: their rating periods ended long ago and count.
        assert!(
            row["rating_deviation"].as_f64().expect("rd") < 350.0,
            "{row}"
        );
    }
    // From 22:20:00, the last two of the six votes.
    let since = t
        .arena()
        .args(["leaderboard", "--method", "elo", "--format", "json"])
        .args(["--since", "2023-11-14T22:20:00Z"])
        .run()
        .success()
        .json();
    assert_eq!(since["votes"], json!(2));
}

#[test]
fn models_only_in_unvoted_battles_are_never_named() {
    let t = imported();
    // A battle between the two mock models of the harness, not voted on.
    let battle = t.battle(&["Which is larger, 7 or 9?"]);
    let id = text(&battle, "battle_id").to_owned();
    for (method, extra) in [("bt", "--anchor"), ("elo", ""), ("glicko2", "")] {
        let mut cmd = t
            .arena()
            .args(["leaderboard", "--method", method, "--format", "json"]);
        if !extra.is_empty() {
            cmd = cmd.args([extra, "alpha=1000"]);
        }
        let out = cmd.run().success();
        let hidden = t.show(&id);
        assert!(hidden["model_a"].is_null(), "{hidden}");
        let names: Vec<String> = out.json()["leaderboard"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| text(r, "model_name").to_owned())
            .collect();
        assert_eq!(names.len(), 3, "only the imported models: {names:?}");
        for model in ["mock-a", "mock-b"] {
            assert!(!out.stdout().contains(model), "{model} named by {method}");
            assert!(!out.stderr().contains(model), "{model} named by {method}");
        }
    }
}

#[test]
fn only_the_user_who_started_a_battle_votes_on_it() {
    let t = Test::new();
    let battle = t.battle(&["Hello?", "--user", "cli:alice"]);
    let id = text(&battle, "battle_id");
    t.arena()
        .args(["vote", id, "a", "--user", "cli:bob"])
        .run()
        .code(4)
        .stderr_contains("belongs to another user");
    t.arena()
        .args(["vote", id, "a"])
        .run()
        .code(4)
        .stderr_contains("belongs to another user");
    t.arena()
        .args(["vote", id, "a", "--user", "cli:alice"])
        .run()
        .success();
}

#[test]
fn import_skips_votes_dated_in_the_future() {
    // A vote of 2033 would come after every live vote from now on: each of those would
    // replay the online Elo from the start. Not a vote time a log can hold yet.
    let t = Test::new();
    t.write(
        "log.jsonl",
        "{\"model_a\": \"alpha\", \"model_b\": \"beta\", \"winner\": \"model_a\", \"tstamp\": 1700000000}\n\
         {\"model_a\": \"alpha\", \"model_b\": \"beta\", \"winner\": \"model_b\", \"tstamp\": 2000000000}\n",
    );
    let report = t
        .arena()
        .args(["import", "log.jsonl", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(count(&report, "imported"), 1);
    assert_eq!(
        report["skipped"]["reasons"]["tstamp is more than a day in the future"],
        json!([1, 2])
    );
}
