//! The prompt classifier (`classifier_model`): the server asks the classifier model about
//! each voted battle's prompt in the background, keeps its answers as categories of the
//! vote, shrugs off answers of the wrong shape, and never holds a vote up.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::Test;
use crate::support::server::{Server, json as body_json};
use crate::support::upstream::Upstream;

/// Two mock models for battles, and `judge` (out of rotation) on the fake upstream as
/// `judge_id`.
fn pool(up: &Upstream, judge_id: &str) -> Value {
    let mut judge = up.model("judge", judge_id);
    judge["weight"] = json!(0);
    json!({"models": [
        {"name": "mock-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        {"name": "mock-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        judge,
    ]})
}

fn server(up: &Upstream, judge_id: &str) -> Server {
    Server::start(
        &json!({"classifier_model": "judge", "classifier_prompts_per_minute": 6000}),
        &pool(up, judge_id),
    )
}

/// A battle on `prompt`, voted for model a; the vote's answer.
fn battle_and_vote(s: &Server, prompt: &str) -> Value {
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "discord_id": "1", "custom_prompt": prompt}),
    );
    assert_eq!(status, 201, "{body}");
    let id = body_json(&body)["battle_id"]
        .as_str()
        .expect("battle id")
        .to_owned();
    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "model_a", "discord_id": "1"}),
    );
    assert_eq!(status, 200, "{body}");
    body_json(&body)
}

/// How many votes the classifier has judged, read from the database.
fn judged(s: &Server) -> i64 {
    let conn = rusqlite::Connection::open(s.db()).expect("open the database");
    conn.query_row("SELECT count(*) FROM classified_votes", [], |r| r.get(0))
        .expect("count")
}

/// Waits (a bounded number of turns) until `done` holds.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("gave up waiting for {what}");
}

/// The categories of the database's votes, by name, with their counts.
fn categories(s: &Server) -> Vec<(String, u64)> {
    let t = Test::new();
    let lines = t
        .arena()
        .db(s.db())
        .args(["leaderboard", "--categories", "--format", "json"])
        .run()
        .success()
        .json();
    lines
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["category"].as_str().unwrap_or("").to_owned(),
                l["votes"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn the_classifier_models_answers_become_categories_of_the_vote() {
    let up = Upstream::start();
    let s = server(&up, "judge-yes");
    let prompt = "Solve 2x + 3 = 7 for x and explain each step";
    battle_and_vote(&s, prompt);
    wait_for("the vote to be judged", || judged(&s) == 1);
    // Four questions, each with the prompt and a system message of its own, at
    // temperature 0.
    let asked: Vec<_> = up
        .requests()
        .into_iter()
        .filter(|r| r.model == "judge-yes")
        .collect();
    assert_eq!(asked.len(), 4);
    let systems: std::collections::BTreeSet<String> = asked
        .iter()
        .map(|r| {
            r.body["messages"][0]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(systems.len(), 4, "{systems:?}");
    for r in &asked {
        assert_eq!(r.body["messages"][0]["role"], "system");
        let user = r.body["messages"][1]["content"].as_str().unwrap_or("");
        assert!(user.contains(prompt), "{user}");
        assert_eq!(r.body["temperature"], json!(0.0));
    }
    let found = categories(&s);
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    for yes in ["hard_prompt", "math", "creative_writing"] {
        assert!(names.contains(&yes), "{found:?}");
    }
    // A score of 1 is not instruction following.
    assert!(!names.contains(&"instruction_following"), "{found:?}");
    // The category selects the vote on the board over HTTP.
    let (status, body) = s.get("/api/leaderboard?category=hard_prompt");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body_json(&body)["votes"], 1, "{body}");
    // Nothing is asked twice.
    battle_and_vote(&s, "Write a haiku about rain");
    wait_for("the second vote to be judged", || judged(&s) == 2);
    assert_eq!(up.hits("judge-yes"), 8);
}

#[test]
fn answers_of_the_wrong_shape_add_nothing() {
    let up = Upstream::start();
    let s = server(&up, "judge-garbled");
    battle_and_vote(&s, "Solve 2x + 3 = 7");
    wait_for("the vote to be judged", || judged(&s) == 1);
    assert_eq!(up.hits("judge-garbled"), 4);
    let found = categories(&s);
    for llm in [
        "hard_prompt",
        "math",
        "creative_writing",
        "instruction_following",
    ] {
        assert!(found.iter().all(|(n, _)| n != llm), "{found:?}");
    }
    // The server is well and goes on.
    let (status, _) = s.get("/health");
    assert_eq!(status, 200);
}

#[test]
fn a_vote_never_waits_for_the_classifier() {
    let up = Upstream::start();
    // `hold-*` answers its first piece, then holds the rest until released.
    let s = server(&up, "hold-judge");
    battle_and_vote(&s, "first prompt");
    wait_for("the classifier to ask about the first vote", || {
        up.hits("hold-judge") == 1
    });
    // While the classifier's question hangs, another battle is voted and answered.
    let vote = battle_and_vote(&s, "second prompt");
    assert_eq!(vote["status"], "success", "{vote}");
    let held = up
        .requests()
        .into_iter()
        .find(|r| r.model == "hold-judge")
        .expect("the held question");
    assert!(
        held.ended.is_none(),
        "the question was answered before the vote"
    );
    up.release();
    // Its answer ("first second") has not the shape asked for: both votes end judged,
    // with nothing added.
    wait_for("both votes to be judged", || judged(&s) == 2);
    assert_eq!(up.hits("hold-judge"), 8);
}
