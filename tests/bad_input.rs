//! Malformed files and arguments: each is refused with exit code 2 and a message that says
//! where the problem is and what to do, and none of them changes the database.

use serde_json::Value;

use crate::support::Test;

/// A test with one battle already stored, and the list of battles as it stands.
fn with_history() -> (Test, Value) {
    let t = Test::new();
    t.battle(&["Say hello"]);
    let battles = t.battles();
    assert_eq!(battles.as_array().map(Vec::len), Some(1), "{battles:#}");
    (t, battles)
}

/// A message said twice reads as two problems.
#[track_caller]
fn assert_said_once(stderr: &str, phrase: &str) {
    assert_eq!(
        stderr.matches(phrase).count(),
        1,
        "{phrase:?} once in:\n{stderr}"
    );
}

#[test]
fn config_with_a_syntax_error_names_file_line_and_column() {
    let (t, before) = with_history();
    t.write(
        "broken.jsonc",
        "{\n  // timeouts\n  \"request_timeout_seconds\": 30\n  \"stream_idle_timeout_seconds\": 5\n}\n",
    );
    t.arena()
        .config_file("broken.jsonc")
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stdout_empty()
        // Where the missing comma belongs: right after `30` on line 3.
        .stderr_contains("broken.jsonc:3:32: Expected comma");
    assert_eq!(t.battles(), before);
}

#[test]
fn config_with_an_unknown_key_names_the_nearest_known_one() {
    let (t, before) = with_history();
    t.write(
        "typo.jsonc",
        "{\n  // one typo\n  \"stream_idle_timeot_seconds\": 5,\n}\n",
    );
    t.arena()
        .config_file("typo.jsonc")
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stdout_empty()
        .stderr_contains("typo.jsonc:3:3")
        .stderr_contains("stream_idle_timeot_seconds")
        .stderr_contains("did you mean `stream_idle_timeout_seconds`");
    assert_eq!(t.battles(), before);
}

#[test]
fn config_with_a_value_of_the_wrong_type_is_located() {
    let (t, before) = with_history();
    t.write("typed.jsonc", "{\n  \"elo\": { \"k\": \"high\" }\n}\n");
    t.arena()
        .config_file("typed.jsonc")
        .args(["leaderboard", "--method", "elo"])
        .run()
        .code(2)
        .stderr_contains("typed.jsonc:2:");
    assert_eq!(t.battles(), before);
}

#[test]
fn a_broken_config_creates_no_database() {
    let t = Test::new().with_config("{ \"request_timeout_seconds\": }");
    t.arena()
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("config.jsonc:1:");
    assert!(
        !t.db().exists(),
        "a refused command created {}",
        t.db().display()
    );
}

#[test]
fn a_missing_config_file_named_on_the_command_line_is_an_error() {
    let (t, before) = with_history();
    let out = t
        .arena()
        .config_file("nowhere.jsonc")
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("nowhere.jsonc");
    assert_said_once(&out.stderr(), "No such file or directory");
    assert_eq!(t.battles(), before);
}

#[test]
fn models_with_a_value_of_the_wrong_type_is_located() {
    let (t, before) = with_history();
    t.write(
        "typed.json",
        "{\"models\": [\n  {\"name\": \"mock-a\", \"provider\": \"mock\"},\n  {\"name\": \"mock-b\", \"provider\": \"mock\", \"weight\": \"heavy\"}\n]}\n",
    );
    t.arena()
        .models_file("typed.json")
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stdout_empty()
        .stderr_contains("typed.json:3:");
    assert_eq!(t.battles(), before);
}

#[test]
fn models_with_a_duplicate_name_is_located() {
    let (t, before) = with_history();
    t.write(
        "twice.json",
        "{\"models\": [\n  {\"name\": \"mock-a\", \"provider\": \"mock\"},\n  {\"name\": \"mock-a\", \"provider\": \"mock\"}\n]}\n",
    );
    t.arena()
        .models_file("twice.json")
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("twice.json:3:12")
        .stderr_contains("model `mock-a` is listed twice");
    assert_eq!(t.battles(), before);
}

#[test]
fn models_with_an_unknown_key_names_the_nearest_known_one() {
    let (t, before) = with_history();
    t.write(
        "typo.json",
        "{\"models\": [\n  {\"name\": \"mock-a\", \"provider\": \"mock\"},\n  {\"name\": \"mock-b\", \"provder\": \"mock\"}\n]}\n",
    );
    t.arena()
        .models_file("typo.json")
        .args(["battle", "Say hello", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("typo.json:3:")
        .stderr_contains("did you mean `provider`");
    assert_eq!(t.battles(), before);
}

#[test]
fn an_unknown_model_is_named_with_a_suggestion() {
    let (t, before) = with_history();
    t.arena()
        .args([
            "battle",
            "Say hello",
            "--models",
            "mock-a,mock-c",
            "--no-vote",
        ])
        .run()
        .code(2)
        .stdout_empty()
        .stderr_contains("unknown model `mock-c`")
        .stderr_contains("did you mean")
        .stderr_contains("mock-b");
    assert_eq!(t.battles(), before);
}

#[test]
fn the_same_model_twice_is_refused() {
    let (t, before) = with_history();
    t.arena()
        .args([
            "battle",
            "Say hello",
            "--models",
            "mock-a,mock-a",
            "--no-vote",
        ])
        .run()
        .code(2)
        .stderr_contains("mock-a");
    assert_eq!(t.battles(), before);
}

#[test]
fn models_pins_exactly_two() {
    let (t, before) = with_history();
    for pinned in ["mock-a", "mock-a,mock-b,mock-a"] {
        t.arena()
            .args(["battle", "Say hello", "--models", pinned, "--no-vote"])
            .run()
            .code(2)
            .stdout_empty()
            .stderr_contains("--models");
    }
    assert_eq!(t.battles(), before);
}

#[test]
fn an_empty_prompt_is_refused() {
    let (t, before) = with_history();
    for prompt in ["", "   \n\t"] {
        t.arena()
            .args(["battle", prompt, "--no-vote"])
            .run()
            .code(2)
            .stdout_empty()
            .stderr_contains("the prompt is empty");
    }
    t.arena()
        .args(["battle", "-", "--no-vote"])
        .stdin("\n")
        .run()
        .code(2)
        .stderr_contains("the prompt is empty");
    t.write("empty.txt", "");
    t.arena()
        .args(["battle", "--prompt-file", "empty.txt", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("the prompt is empty");
    assert_eq!(t.battles(), before);
}

#[test]
fn a_missing_prompt_file_is_named() {
    let (t, before) = with_history();
    let out = t
        .arena()
        .args(["battle", "--prompt-file", "absent.txt", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("absent.txt");
    assert_said_once(&out.stderr(), "No such file or directory");
    assert_eq!(t.battles(), before);
}

#[test]
fn unknown_flags_and_values_are_usage_errors() {
    let (t, before) = with_history();
    t.arena()
        .args(["battle", "Hi", "--frobnicate"])
        .run()
        .code(2);
    t.arena()
        .args(["battles", "--format", "yaml"])
        .run()
        .code(2)
        .stderr_contains("yaml");
    t.arena()
        .args(["battles", "--status", "finished"])
        .run()
        .code(2)
        .stderr_contains("finished");
    t.arena()
        .args(["battle", "Hi", "--tier", "middle", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("middle");
    assert_eq!(t.battles(), before);
}

#[test]
fn the_empty_history_stays_empty() {
    let t = Test::new();
    t.arena().args(["battle", "", "--no-vote"]).run().code(2);
    assert_eq!(t.battles(), serde_json::json!([]));
}
