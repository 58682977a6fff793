//! `arena vote`: the choices, the reveal, and the votes that must be refused.

use serde_json::json;

use crate::support::{Test, text};

#[test]
fn every_choice_and_its_aliases_is_recorded() {
    let t = Test::new();
    let cases = [
        ("a", "model_a"),
        ("model_a", "model_a"),
        ("b", "model_b"),
        ("model_b", "model_b"),
        ("tie", "tie"),
        ("bothbad", "both_bad"),
        ("both_bad", "both_bad"),
        ("tie (bothbad)", "both_bad"),
        ("skip", "skip"),
    ];
    for (choice, winner) in cases {
        let battle = t.battle(&["Say hello"]);
        let id = text(&battle, "battle_id");
        let reveal = t.vote(id, choice);
        assert_eq!(text(&reveal, "winner"), winner, "vote {choice:?}");
        let shown = t.show(id);
        assert_eq!(text(&shown, "status"), "completed", "vote {choice:?}");
        assert_eq!(text(&shown, "winner"), winner, "vote {choice:?}");
        assert_eq!(shown["model_a"], reveal["model_a"]);
        assert_eq!(shown["model_b"], reveal["model_b"]);
    }
}

#[test]
fn a_skip_moves_no_rating_and_a_tie_between_equals_neither() {
    let t = Test::new();
    for choice in ["skip", "tie"] {
        let battle = t.battle(&["Say hello"]);
        let reveal = t.vote(text(&battle, "battle_id"), choice);
        for side in ["model_a", "model_b"] {
            assert_eq!(
                reveal["elo"][side]["rating_before"],
                json!(1000.0),
                "{reveal:#}"
            );
            assert_eq!(
                reveal["elo"][side]["rating_after"],
                json!(1000.0),
                "{reveal:#}"
            );
        }
    }
}

#[test]
fn the_table_reveal_names_both_models_with_their_ratings() {
    let t = Test::new();
    let battle = t.battle(&["Say hello"]);
    t.arena()
        .args(["vote", text(&battle, "battle_id"), "b"])
        .run()
        .success()
        .stdout_contains("mock-a")
        .stdout_contains("mock-b")
        .stdout_contains("1000")
        .stdout_contains("1016")
        .stdout_contains("984");
}

#[test]
fn voting_twice_is_a_conflict_and_changes_nothing() {
    let t = Test::new();
    let battle = t.battle(&["Say hello"]);
    let id = text(&battle, "battle_id");
    t.vote(id, "a");
    let before = t.battles();
    t.arena()
        .args(["vote", id, "b"])
        .run()
        .code(4)
        .stderr_contains("already")
        .stderr_contains(id);
    assert_eq!(t.battles(), before);
    assert_eq!(text(&t.show(id), "winner"), "model_a");
}

#[test]
fn voting_on_an_unknown_battle_is_an_input_error() {
    let t = Test::new();
    t.battle(&["Say hello"]);
    let before = t.battles();
    let absent = "0192f0c4-7d2e-7c3a-9a51-2b4f8c1d9e07";
    t.arena()
        .args(["vote", absent, "a"])
        .run()
        .code(2)
        .stderr_contains(absent);
    t.arena()
        .args(["vote", "not-a-battle-id", "a"])
        .run()
        .code(2)
        .stderr_contains("not-a-battle-id");
    t.arena()
        .args(["show", absent])
        .run()
        .code(2)
        .stderr_contains(absent);
    assert_eq!(t.battles(), before);
}

#[test]
fn an_unknown_choice_is_a_usage_error() {
    let t = Test::new();
    let battle = t.battle(&["Say hello"]);
    let id = text(&battle, "battle_id");
    let before = t.battles();
    t.arena()
        .args(["vote", id, "maybe"])
        .run()
        .code(2)
        .stderr_contains("maybe");
    assert_eq!(t.battles(), before);
    assert_eq!(text(&t.show(id), "status"), "pending_vote");
}

#[test]
fn unstuck_leaves_finished_battles_alone() {
    let t = Test::new();
    let battle = t.battle(&["Say hello"]);
    let before = t.battles();
    t.arena().args(["unstuck"]).run().success();
    assert_eq!(t.battles(), before);
    assert_eq!(
        text(&t.show(text(&battle, "battle_id")), "status"),
        "pending_vote"
    );
}
