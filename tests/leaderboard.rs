//! `arena leaderboard` after a fixed series of votes, snapshotted in every format.
//!
//! Sides are drawn at random, so each vote is cast for a model, not a side: the fake
//! upstream's answer is one of its own per upstream id, which tells which side a model stands
//! on before the vote. Online Elo is symmetric in the sides, so the ratings depend only on the votes.

use serde_json::{Value, json};

use crate::support::{Outcome, Test, Upstream, answer, text};

/// Public name and upstream id of the three models.
const MODELS: [(&str, &str); 3] = [
    ("saturn", "stream-one"),
    ("neptune", "stream-two"),
    ("jupiter", "json-three"),
];

enum Verdict {
    Wins(&'static str),
    Tie,
    BothBad,
    Skip,
}

fn upstream_id(name: &str) -> &'static str {
    MODELS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| *id)
        .unwrap_or_else(|| panic!("no model {name}"))
}

/// Runs one battle between `x` and `y` and votes `verdict` for it.
fn battle_and_vote(t: &Test, x: &str, y: &str, verdict: &Verdict) {
    let battle = t.battle(&["Name three colours", "--models", &format!("{x},{y}")]);
    let id = text(&battle, "battle_id");
    let side_of = |name: &str| {
        let expected = json!(answer(upstream_id(name)));
        if battle["response_a"] == expected {
            "a"
        } else if battle["response_b"] == expected {
            "b"
        } else {
            panic!("{name} answered on neither side: {battle:#}")
        }
    };
    let choice = match verdict {
        Verdict::Wins(name) => side_of(name),
        Verdict::Tie => "tie",
        Verdict::BothBad => "bothbad",
        Verdict::Skip => "skip",
    };
    let reveal = t.vote(id, choice);
    if let Verdict::Wins(name) = verdict {
        let winner = text(&reveal, if choice == "a" { "model_a" } else { "model_b" });
        assert_eq!(winner, *name, "{reveal:#}");
    }
}

/// Seven votes: saturn 5 battles, neptune 5, jupiter 4.
fn voted() -> (Upstream, Test) {
    let up = Upstream::start();
    let t = Test::new().with_upstream_models(&up, &MODELS);
    let votes = [
        ("saturn", "neptune", Verdict::Wins("saturn")),
        ("saturn", "jupiter", Verdict::Wins("saturn")),
        ("neptune", "jupiter", Verdict::Tie),
        ("jupiter", "neptune", Verdict::Wins("jupiter")),
        ("saturn", "neptune", Verdict::BothBad),
        ("jupiter", "saturn", Verdict::Skip),
        ("neptune", "saturn", Verdict::Wins("neptune")),
    ];
    for (x, y, verdict) in &votes {
        battle_and_vote(&t, x, y, verdict);
    }
    (up, t)
}

fn leaderboard(t: &Test, format: &str, extra: &[&str]) -> Outcome {
    t.arena()
        .args(["leaderboard", "--method", "elo", "--format", format])
        .args(extra)
        .run()
        .success()
}

/// Replaces the generation time, the one thing that changes from run to run.
fn redact(mut board: Value) -> Value {
    let at = text(&board, "generated_at");
    assert!(
        at.len() >= 20 && at.contains('T'),
        "generated_at is not a timestamp: {at}"
    );
    board["generated_at"] = json!("[generated_at]");
    board
}

macro_rules! snapshot_text {
    ($name:expr, $value:expr) => {
        // One snapshot for both backends (this module runs again under `on_postgres`).
        insta::with_settings!({
            filters => vec![(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[timestamp]")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(concat!("main__leaderboard__", $name), $value);
        });
    };
}

#[test]
fn leaderboard_in_every_format() {
    let (_up, t) = voted();

    let board = redact(leaderboard(&t, "json", &[]).json());
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("main__leaderboard__leaderboard_json", board);
    });
    let rows = board["leaderboard"].as_array().expect("rows");
    let names: Vec<&str> = rows.iter().map(|r| text(r, "model_name")).collect();
    assert_eq!(names, ["saturn", "jupiter", "neptune"]);
    assert_eq!(board["votes"], json!(7));
    assert_eq!(board["method"], json!("elo"));

    snapshot_text!("leaderboard_table", leaderboard(&t, "table", &[]).stdout());
    snapshot_text!("leaderboard_csv", leaderboard(&t, "csv", &[]).stdout());
    snapshot_text!(
        "leaderboard_markdown",
        leaderboard(&t, "markdown", &[]).stdout()
    );
}

#[test]
fn min_battles_leaves_models_out_and_output_writes_a_file() {
    let (_up, t) = voted();

    let board = leaderboard(&t, "json", &["--min-battles", "5"]).json();
    let names: Vec<&str> = board["leaderboard"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| text(r, "model_name"))
        .collect();
    // jupiter (4 battles) is left out with its votes; without them neptune's win over
    // saturn comes last and decides the order.
    assert_eq!(names, ["neptune", "saturn"], "{board:#}");
    assert!(
        board["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("fewer than 5 battles")),
        "{board:#}"
    );

    let printed = leaderboard(&t, "csv", &[]).stdout();
    leaderboard(&t, "csv", &["--output", "board.csv"]);
    let written = std::fs::read_to_string(t.path("board.csv")).expect("the --output file");
    assert_eq!(written, printed);
}

#[test]
fn an_empty_leaderboard_is_not_an_error() {
    let t = Test::new();
    t.create_db();
    let board = leaderboard(&t, "json", &[]).json();
    assert_eq!(board["leaderboard"], json!([]));
    assert_eq!(board["votes"], json!(0));
    leaderboard(&t, "table", &[]);
}

#[test]
fn one_vote_makes_no_model_surely_better() {
    let t = Test::new();
    let battle = t.battle(&["Hello"]);
    t.vote(text(&battle, "battle_id"), "a");
    let board = t
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    for row in board["leaderboard"].as_array().expect("rows") {
        // Open bounds: the MLE does not exist for a model that only won or only lost.
        assert_eq!(row["rating_lower"], Value::Null, "{row}");
        assert_eq!(row["rating_upper"], Value::Null, "{row}");
        assert_eq!(row["rank_ub"], json!(1), "{row}");
    }
    t.arena()
        .args(["leaderboard"])
        .run()
        .success()
        .stdout_contains("∞")
        .stderr_contains("open bounds");
    // With the sandwich estimator too.
    let sandwich = t
        .arena()
        .args(["leaderboard", "--format", "json", "--bootstrap", "0"])
        .run()
        .success()
        .json();
    assert_eq!(sandwich["leaderboard"][0]["rating_upper"], Value::Null);
}

#[test]
fn too_few_bootstrap_rounds_for_the_level_is_an_error_that_says_how_many() {
    let (_up, t) = voted();
    t.arena()
        .args(["leaderboard", "--bootstrap", "1"])
        .run()
        .code(2)
        .stderr_contains("at least 40 rounds");
    t.arena()
        .args(["leaderboard", "--bootstrap", "50", "--ci", "0.99"])
        .run()
        .code(2)
        .stderr_contains("at least 200 rounds");
    t.arena()
        .args(["leaderboard", "--bootstrap", "40"])
        .run()
        .success();
}

#[test]
fn options_a_method_does_not_use_are_refused() {
    let (_up, t) = voted();
    for (method, flag, value, says) in [
        ("elo", "--bootstrap", "100", "only applies to --method bt"),
        (
            "elo",
            "--anchor",
            "saturn=1200",
            "only applies to --method bt",
        ),
        (
            "elo",
            "--ci",
            "0.9",
            "only applies to --method bt and glicko2",
        ),
        ("glicko2", "--seed", "3", "only applies to --method bt"),
        (
            "glicko2",
            "--bootstrap",
            "10",
            "only applies to --method bt",
        ),
    ] {
        t.arena()
            .args(["leaderboard", "--method", method, flag, value])
            .run()
            .code(2)
            .stderr_contains(flag)
            .stderr_contains(says);
    }
    t.arena()
        .args(["leaderboard", "--method", "glicko2", "--ci", "0.9"])
        .run()
        .success();
    t.arena()
        .args(["leaderboard", "--anchor", "saturnn=1300"])
        .run()
        .code(2)
        .stderr_contains("saturnn")
        .stderr_contains("did you mean `saturn`");
    t.arena()
        .args(["leaderboard", "--min-battles", "999999"])
        .run()
        .success()
        .stderr_contains("every model has fewer than 999999 battles");
}

#[test]
fn glicko2_ratings_move_right_after_an_import_without_timestamps() {
    let t = Test::new();
    t.fixture("logs/human-302.jsonl");
    t.arena()
        .args(["import", "human-302.jsonl"])
        .run()
        .success();
    let board = t
        .arena()
        .args(["leaderboard", "--method", "glicko2", "--format", "json"])
        .run()
        .success()
        .json();
    let rows = board["leaderboard"].as_array().expect("rows");
    assert!(rows.len() > 5, "{board:#}");
    let at_start = rows.iter().filter(|r| r["rating"] == json!(1500.0)).count();
    assert_eq!(
        at_start, 0,
        "periodic ratings still at the start: {board:#}"
    );
    let firsts = rows.iter().filter(|r| r["rank"] == json!(1)).count();
    assert_eq!(firsts, 1, "{board:#}");
}
