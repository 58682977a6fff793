//! Malformed files and arguments: each is refused with exit code 2 and a message that says
//! where the problem is and what to do, and none of them changes the database.

use serde_json::{Value, json};

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

#[test]
fn a_bad_default_upstream_is_blamed_on_config_jsonc() {
    let t = Test::new()
        .with_config("{\n  \"upstream\": {\"base_url\": \"not a url\"}\n}\n")
        .with_models(&json!(["a", "b"]));
    t.arena()
        .args(["models"])
        .run()
        .code(2)
        .stderr_contains("config.jsonc:2:")
        .stderr_contains("upstream.base_url")
        .stderr_lacks("models.json");
    // And a URL that carries a password or a query is refused where it is written.
    let t = Test::new().with_models(&json!({"models": [
        {"name": "a", "base_url": "https://user:pw@example.com/v1"},
        {"name": "b", "base_url": "https://example.com/v1?x=1"},
    ]}));
    t.arena()
        .args(["models"])
        .run()
        .code(2)
        .stderr_contains("models.json:")
        .stderr_contains("user name or password");
}

#[test]
fn config_errors_speak_plainly() {
    for (text, expected) in [
        ("", "holds no JSON value"),
        ("// only a comment\n", "holds no JSON value"),
        (
            "{\"request_timeout_seconds\": -5}",
            "`request_timeout_seconds`: expected a whole number of 0 or more, found the number -5",
        ),
        (
            "{\"battle_server_port\": 70000}",
            "expected a whole number from 0 to 65535",
        ),
        (
            "{\"tavern_mode\": \"yes\"}",
            "expected true or false, found the string \"yes\"",
        ),
        (
            "{\"tiers\": {\"cross_tier_probability\": 7}}",
            "a probability goes from 0 to 1",
        ),
    ] {
        let t = Test::new().with_config(text);
        let out = t.arena().args(["models"]).run().code(2);
        out.stderr_contains("config.jsonc:")
            .stderr_contains(expected);
    }
}

#[test]
fn out_of_range_options_and_names_with_control_characters_are_refused() {
    let t = Test::new();
    for value in ["nan", "-1", "3"] {
        t.arena()
            .args(["battle", "Hello", "--no-vote", "--temperature", value])
            .run()
            .code(2)
            .stderr_contains("--temperature");
    }
    let t = Test::new().with_models(&json!({"models": [
        {"name": "two\nlines", "provider": "mock"},
        {"name": "b", "provider": "mock"},
    ]}));
    t.arena()
        .args(["models"])
        .run()
        .code(2)
        .stderr_contains("control character");
}

#[test]
fn import_problems_are_named_for_what_they_are() {
    let t = Test::new();
    t.write("empty.json", "");
    t.arena()
        .args(["import", "empty.json"])
        .run()
        .code(2)
        .stderr_contains("empty.json:1:1: the file is empty");
    std::fs::write(
        t.path("latin1.jsonl"),
        b"{\"model_a\": \"caf\xe9\", \"model_b\": \"b\", \"winner\": \"tie\"}\n",
    )
    .expect("write");
    t.arena()
        .args(["import", "latin1.jsonl"])
        .run()
        .code(2)
        .stdout_contains("not valid UTF-8");
    t.write(
        "wrapped.json",
        "{\n  \"battles\": [\n    {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n  ]\n}\n",
    );
    t.arena()
        .args(["import", "wrapped.json"])
        .run()
        .code(2)
        .stderr_contains("jq -c '.battles[]'");
    t.write(
        "compact.jsonl",
        "{\"battles\": [{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}]}\n",
    );
    t.arena()
        .args(["import", "compact.jsonl"])
        .run()
        .code(2)
        .stdout_contains("jq -c '.battles[]'")
        .stderr_contains("no record could be imported");
    t.write(
        "names.jsonl",
        "{\"model_a\": \"x\\ny\", \"model_b\": \"z\", \"winner\": \"tie\"}\n{\"model_a\": \"x\", \"model_b\": \"z\", \"winner\": \"tie\"}\n",
    );
    t.arena()
        .args(["import", "names.jsonl"])
        .run()
        .success()
        .stdout_contains("imported 1 vote ")
        .stdout_contains("control character");
}

#[test]
fn logs_with_other_column_names_and_winner_values_import_with_a_mapping() {
    let t = Test::new();
    t.fixture("logs/food.csv");
    t.arena()
        .args(["import", "food.csv"])
        .run()
        .code(2)
        .stderr_contains("--column model_a=left --column model_b=right");
    let summary = t
        .arena()
        .args(["import", "food.csv", "--format", "json"])
        .args(["--column", "model_a=left", "--column", "model_b=right"])
        .args([
            "--winner-value",
            "left=model_a",
            "--winner-value",
            "right=model_b",
        ])
        .run()
        .success()
        .json();
    assert_eq!(summary["imported"], json!(30), "{summary:#}");
    assert_eq!(summary["skipped"]["reasons"], json!({}), "{summary:#}");
    t.arena()
        .args(["import", "food.csv", "--column", "modela=left"])
        .run()
        .code(2)
        .stderr_contains("did you mean `model_a`");
}

#[test]
fn help_shows_only_the_flags_that_do_something_and_logs_honour_colour() {
    let t = Test::new();
    let help = t
        .arena()
        .args(["battle", "--help"])
        .run()
        .success()
        .stdout();
    assert!(help.contains("Global options:"), "{help}");
    let (local, global) = help.split_once("Global options:").expect("two sections");
    assert!(
        local.contains("--no-vote") && !local.contains("--db"),
        "{help}"
    );
    assert!(
        global.contains("--db") && !global.contains("--no-vote"),
        "{help}"
    );
    for command in [&["init"][..], &["unstuck"], &["prompts", "add"]] {
        let help = t
            .arena()
            .args(command)
            .arg("--help")
            .run()
            .success()
            .stdout();
        assert!(
            !help.contains("--format"),
            "{command:?} offers --format:\n{help}"
        );
    }
    let out = t
        .arena()
        .args(["--color", "never", "-vv", "battle", "Hi", "--no-vote"])
        .env("NO_COLOR", "")
        .run()
        .success();
    assert!(!out.stderr().contains('\u{1b}'), "{:?}", out.stderr());
}
