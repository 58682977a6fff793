//! What the command line prints: machine formats (json, jsonl, csv) carry whole values, one
//! record a line; a closed stdout is a quiet exit; errors name only what the user gave, mask
//! passwords, and exit with the README's codes; the README says what the code does.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Test, Upstream, text};

/// Stdout parsed as JSON Lines: one object a line, nothing else.
#[track_caller]
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON value a line ({e}): {line}"));
            assert!(value.is_object(), "a line is not one record: {line}");
            value
        })
        .collect()
}

/// CSV text as its header and records.
#[track_caller]
fn csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap_or_else(|e| panic!("no CSV header ({e}): {text}"))
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|r| {
            r.unwrap_or_else(|e| panic!("bad CSV ({e}): {text}"))
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect();
    (header, records)
}

/// The keys of a JSON object, in order.
fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

/// A run's stdout, which must succeed.
fn out(t: &Test, args: &[&str]) -> String {
    t.arena().args(args).run().success().stdout()
}

/// Imports battle records written as JSON Lines.
fn import(t: &Test, records: &[Value]) {
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    t.write("votes.jsonl", &(lines.join("\n") + "\n"));
    t.arena().args(["import", "votes.jsonl"]).run().success();
}

/// `n` records of `a` beating `b`, and one the other way.
fn votes(a: &str, b: &str, n: usize) -> Vec<Value> {
    let mut v: Vec<Value> = (0..n)
        .map(|i| json!({"model_a": a, "model_b": b, "winner": "model_a", "question_id": format!("{a}-{b}-{i}")}))
        .collect();
    v.push(json!({"model_a": a, "model_b": b, "winner": "model_b", "question_id": format!("{a}-{b}-x")}));
    v
}

/// A test with voted battles on a prompt longer than any table cell (commas, a quote, a
/// line break), a prompt pool, and a key.
fn populated() -> (Test, String) {
    let t = Test::new();
    let long = format!(
        "Compare, in detail, \"{}\"\nand explain which one a careful reader would pick",
        "the harbour at dawn and the harbour at dusk, ".repeat(3)
    );
    for choice in ["a", "b", "tie"] {
        let battle = t.battle(&[&long]);
        t.vote(text(&battle, "battle_id"), choice);
    }
    t.arena()
        .args([
            "prompts",
            "add",
            "Write a poem about spring",
            "--theme",
            "poetry",
        ])
        .run()
        .success();
    t.arena()
        .args(["prompts", "add", "Explain TCP, briefly", "--theme", "tech"])
        .run()
        .success();
    t.arena().args(["keys", "add", "alice"]).run().success();
    (t, long)
}

// ---------------------------------------------------------------------------------------------
// Machine formats

#[test]
fn jsonl_lists_print_one_record_a_line() {
    let (t, _) = populated();
    let models = json_lines(&out(&t, &["models", "--format", "jsonl"]));
    assert_eq!(models.len(), 2);
    assert_eq!(models[0]["name"], json!("mock-a"));
    let listed = json_lines(&out(&t, &["models", "list", "--format", "jsonl"]));
    assert_eq!(listed, models);
    let prompts = json_lines(&out(&t, &["prompts", "list", "--format", "jsonl"]));
    assert_eq!(prompts.len(), 2);
    assert!(prompts.iter().all(|p| p["text"].is_string()));
    let keys_listed = json_lines(&out(&t, &["keys", "list", "--format", "jsonl"]));
    assert_eq!(keys_listed.len(), 1);
    assert_eq!(keys_listed[0]["name"], json!("alice"));
    let checked = json_lines(&out(&t, &["models", "check", "--format", "jsonl"]));
    assert_eq!(checked.len(), 2);
    // The JSON array and the lines hold the same records.
    let array = t
        .arena()
        .args(["prompts", "list", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(array, Value::Array(prompts));
    let per_prompt = json_lines(&out(&t, &["stats", "prompts", "--format", "jsonl"]));
    let whole = t
        .arena()
        .args(["stats", "prompts", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(whole["prompt_statistics"], Value::Array(per_prompt));
}

#[test]
fn csv_lists_carry_whole_values_under_their_json_names() {
    let (t, _) = populated();
    for (args, json_args) in [
        (
            vec!["models", "--format", "csv"],
            vec!["models", "--format", "json"],
        ),
        (
            vec!["prompts", "list", "--format", "csv"],
            vec!["prompts", "list", "--format", "json"],
        ),
        (
            vec!["keys", "list", "--format", "csv"],
            vec!["keys", "list", "--format", "json"],
        ),
    ] {
        let printed = out(&t, &args);
        let (header, records) = csv(&printed);
        let array = t.arena().args(&json_args).run().success().json();
        let array = array.as_array().expect("a JSON array");
        assert_eq!(records.len(), array.len(), "{args:?}:\n{printed}");
        let mut json_keys = keys(&array[0]);
        json_keys.sort();
        let mut csv_keys = header.clone();
        csv_keys.sort();
        assert_eq!(csv_keys, json_keys, "{args:?}:\n{printed}");
        for (record, value) in records.iter().zip(array) {
            for (column, cell) in header.iter().zip(record) {
                let expected = match &value[column] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(cell, &expected, "{args:?} column {column}:\n{printed}");
            }
        }
        assert!(!printed.contains("'-"), "{args:?}:\n{printed}");
    }
}

#[test]
fn stats_prompts_csv_carries_whole_prompts_one_model_a_line() {
    let (t, long) = populated();
    let printed = out(&t, &["stats", "prompts", "--format", "csv"]);
    let (header, records) = csv(&printed);
    assert_eq!(
        header,
        [
            "prompt",
            "prompt_theme",
            "total_battles",
            "model",
            "battles",
            "win_rate"
        ]
    );
    // One line for each model of the prompt.
    assert_eq!(records.len(), 2, "{printed}");
    for r in &records {
        assert_eq!(r[0], long, "the prompt was cut:\n{printed}");
        assert_eq!(r[2], "3");
        assert_eq!(r[4], "3");
        let rate: f64 = r[5].parse().expect("a win rate as a number");
        assert!((0.0..=1.0).contains(&rate));
    }
    let models: Vec<&str> = records.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(models, ["mock-a", "mock-b"]);
}

#[test]
fn stats_matrix_csv_and_jsonl_are_one_pair_a_line_with_numbers() {
    let t = Test::new();
    let mut records = votes("alpha", "beta", 3);
    records.extend(votes("beta", "gamma", 1));
    import(&t, &records);
    let printed = out(&t, &["stats", "matrix", "--format", "csv"]);
    assert!(
        !printed.contains("'-") && !printed.contains('%'),
        "{printed}"
    );
    let (header, rows) = csv(&printed);
    assert_eq!(header, ["model_a", "model_b", "win_rate", "battles"]);
    // Every ordered pair of three models.
    assert_eq!(rows.len(), 6, "{printed}");
    let cell = |a: &str, b: &str| -> (String, String) {
        let r = rows
            .iter()
            .find(|r| r[0] == a && r[1] == b)
            .unwrap_or_else(|| panic!("no line for {a} against {b}:\n{printed}"));
        (r[2].clone(), r[3].clone())
    };
    assert_eq!(cell("alpha", "beta"), ("0.75".into(), "4".into()));
    assert_eq!(cell("beta", "alpha"), ("0.25".into(), "4".into()));
    // Never met: no win rate, no battles.
    assert_eq!(cell("alpha", "gamma"), (String::new(), "0".into()));

    let lines = json_lines(&out(&t, &["stats", "matrix", "--format", "jsonl"]));
    assert_eq!(lines.len(), 6);
    assert!(
        lines.contains(
            &json!({"model_a": "alpha", "model_b": "beta", "win_rate": 0.75, "battles": 4})
        )
    );
    assert!(lines.contains(
        &json!({"model_a": "alpha", "model_b": "gamma", "win_rate": null, "battles": 0})
    ));
    // JSON keeps the shape of /api/battle_statistics.
    let whole = t
        .arena()
        .args(["stats", "matrix", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(whole["win_rate_matrix"]["alpha"]["beta"], json!(0.75));
}

/// The CSV leaderboard of `args` against its JSON: the same fields, in the same order, and
/// the same values.
#[track_caller]
fn csv_matches_json(t: &Test, args: &[&str]) {
    let mut csv_args = vec!["leaderboard", "--format", "csv"];
    csv_args.extend(args);
    let printed = out(t, &csv_args);
    let (header, records) = csv(&printed);
    let mut json_args = vec!["leaderboard", "--format", "json"];
    json_args.extend(args);
    let board = t.arena().args(&json_args).run().success().json();
    let rows = board["leaderboard"].as_array().expect("rows");
    assert!(!rows.is_empty());
    assert_eq!(header, keys_in_order(&rows[0]), "{args:?}:\n{printed}");
    for (record, row) in records.iter().zip(rows) {
        for (column, cell) in header.iter().zip(record) {
            match &row[column] {
                Value::Number(n) => {
                    // serde_json's own parsing may be off in the last bit; the CSV cell is
                    // the number whole, not one rounded for people.
                    let x: f64 = cell.parse().expect("a number");
                    let y = n.as_f64().expect("a float");
                    assert!(
                        (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                        "{args:?} {column}: {cell} against {n}"
                    );
                }
                Value::String(s) => assert_eq!(cell, s),
                other => panic!("{column}: {other}"),
            }
        }
    }
}

/// The keys of a leaderboard row in the order the JSON text has them.
fn keys_in_order(row: &Value) -> Vec<String> {
    // serde_json's maps are sorted: the order is the one of the printed text.
    let order = [
        "group",
        "rank",
        "rank_ub",
        "model_name",
        "rating",
        "rating_lower",
        "rating_upper",
        "sandwich_lower",
        "sandwich_upper",
        "rating_deviation",
        "volatility",
        "rating_realtime",
        "rating_deviation_realtime",
        "volatility_realtime",
        "battles",
        "wins",
        "ties",
        "both_bad",
        "skips",
        "win_rate_percentage",
    ];
    let present = keys(row);
    for k in &present {
        assert!(
            order.contains(&k.as_str()),
            "a row field this test does not know: {k}"
        );
    }
    order
        .iter()
        .filter(|k| present.iter().any(|p| p == *k))
        .map(|k| (*k).to_owned())
        .collect()
}

#[test]
fn the_leaderboard_csv_carries_every_field_of_its_json() {
    let t = Test::new();
    let mut records = votes("alpha", "beta", 3);
    records.extend(votes("beta", "gamma", 2));
    records.extend(votes("gamma", "alpha", 2));
    import(&t, &records);
    let printed = out(&t, &["leaderboard", "--format", "csv"]);
    assert!(printed.starts_with(
        "rank,rank_ub,model_name,rating,rating_lower,rating_upper,sandwich_lower,sandwich_upper,"
    ));
    csv_matches_json(&t, &[]);
    csv_matches_json(&t, &["--bootstrap", "0"]);
    csv_matches_json(&t, &["--method", "elo"]);
    csv_matches_json(&t, &["--method", "glicko2"]);
}

#[test]
fn disconnected_groups_are_numbered_and_ranked_apart() {
    let t = Test::new();
    let mut records = votes("alpha", "beta", 3);
    records.extend(votes("beta", "gamma", 2));
    records.extend(votes("delta", "omega", 4));
    import(&t, &records);
    let board = t
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    let rows = board["leaderboard"].as_array().expect("rows");
    let listed: Vec<(u64, u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["group"].as_u64().expect("a group"),
                r["rank"].as_u64().expect("a rank"),
                text(r, "model_name"),
            )
        })
        .collect();
    // The larger group first; ranks start again in each group.
    assert_eq!(
        listed,
        [
            (1, 1, "alpha"),
            (1, 2, "beta"),
            (1, 3, "gamma"),
            (2, 1, "delta"),
            (2, 2, "omega")
        ],
        "{board:#}"
    );
    let notes = board["notes"].to_string();
    assert!(notes.contains("see `group`"), "{notes}");
    csv_matches_json(&t, &[]);
    let table = t.arena().args(["leaderboard"]).run().success();
    let head = table.stdout().lines().nth(1).unwrap_or_default().to_owned();
    assert!(
        head.contains("group"),
        "no group column:\n{}",
        table.stdout()
    );
    table.stderr_contains("see `group`");

    // One group: no group field, no column.
    let one = Test::new();
    import(&one, &votes("alpha", "beta", 3));
    let board = one
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    assert!(board["leaderboard"][0].get("group").is_none(), "{board:#}");
    let head = out(&one, &["leaderboard", "--format", "csv"]);
    assert!(head.starts_with("rank,"), "{head}");
}

// ---------------------------------------------------------------------------------------------
// A closed stdout

/// Runs `command` with a stdout whose reader is gone before it starts: every write to it
/// fails with a broken pipe. Gives the exit code and stderr (killed after a guard against
/// hangs).
fn with_closed_stdout(mut command: Command) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    command
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped());
    let child = command.spawn().expect("arena runs");
    finish(child)
}

fn finish(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("the output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_is_a_quiet_exit_for_every_command() {
    let (t, _) = populated();
    let up = Upstream::start();
    t.write(
        "synced-models.json",
        &json!({"models": [up.model("saturn", "stream-one"), up.model("jupiter", "json-three")]})
            .to_string(),
    );
    t.write(
        "prompts.json",
        &json!({"prompts": {"poetry_rain": "Write about rain"}}).to_string(),
    );
    import(&t, &votes("alpha", "beta", 2));
    let pending = t.battle(&["a question"]);
    let pending = text(&pending, "battle_id").to_owned();
    let unvoted = t.battle(&["another question"]);
    let unvoted = text(&unvoted, "battle_id").to_owned();
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["--help"],
        vec!["--version"],
        vec!["help", "leaderboard"],
        vec!["battle", "a question", "--no-vote"],
        vec!["battle", "a question", "--no-vote", "--format", "json"],
        vec!["vote", &pending, "a"],
        vec!["show", &unvoted],
        vec!["show", &unvoted, "--format", "json"],
        vec!["unstuck"],
        vec!["import", "votes.jsonl"],
        vec!["export", "votes"],
        vec!["export", "battles"],
        vec!["export", "leaderboard"],
        vec!["stats", "matrix"],
        vec!["stats", "prompts"],
        vec!["models"],
        vec!["models", "check"],
        vec!["prompts", "list"],
        vec!["prompts", "add", "A new question"],
        vec!["prompts", "import", "prompts.json"],
        vec!["prompts", "remove", "poetry_rain"],
        vec!["keys", "add", "bob"],
        vec!["keys", "list"],
        vec!["keys", "revoke", "bob"],
        vec!["rebuild"],
        vec!["trust", "--list"],
        vec!["generate-completions", "fresh-completions"],
    ];
    for format in ["table", "json", "jsonl", "csv", "markdown"] {
        runs.push(vec!["battles", "--format", format]);
        runs.push(vec!["leaderboard", "--format", format]);
    }
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        runs.push(vec!["completions", shell]);
    }
    let models = t.path("models.json");
    for args in &runs {
        let mut command = t.command(&t.path("config.jsonc"), &models);
        command.args(args);
        let (code, stderr) = with_closed_stdout(command);
        assert_eq!(
            code,
            Some(0),
            "arena {args:?} with stdout closed:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("error"),
            "arena {args:?} with stdout closed:\n{stderr}"
        );
    }
    let mut sync = t.command(&t.path("config.jsonc"), &t.path("synced-models.json"));
    sync.args(["models", "sync"]);
    let (code, stderr) = with_closed_stdout(sync);
    assert_eq!(code, Some(0), "models sync:\n{stderr}");

    // A command that writes goes on to the end: init makes both files and the database.
    let fresh = Test::new();
    let mut init = fresh.command(&fresh.path("config.jsonc"), &fresh.path("models.json"));
    init.args(["init", "--dir", "conf"]);
    let (code, stderr) = with_closed_stdout(init);
    assert_eq!(code, Some(0), "init:\n{stderr}");
    assert!(fresh.path("conf/config.jsonc").is_file());
    assert!(fresh.path("conf/models.json").is_file());
    assert!(fresh.db().is_file());
}

#[test]
fn completions_piped_into_head_exit_quietly() {
    let t = Test::new();
    let mut command = t.command(&t.path("config.jsonc"), &t.path("models.json"));
    command
        .args(["completions", "bash"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("arena runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("a first line");
    // The reader is dropped here, as `head -1` exits.
    assert!(first.starts_with("_arena()"), "{first}");
    let (code, stderr) = finish(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Errors and notes

#[test]
fn a_password_in_a_base_url_is_masked_in_errors() {
    let t = Test::new();
    t.write(
        "userinfo-models.json",
        &json!({"models": [
            {"name": "x", "base_url": "http://user:s3cret-pass@example.com/v1"},
            {"name": "y", "provider": "mock"},
        ]})
        .to_string(),
    );
    t.arena()
        .models_file("userinfo-models.json")
        .arg("models")
        .run()
        .code(2)
        .stderr_lacks("s3cret-pass")
        .stderr_contains("http://user:***@example.com/v1");
    // One that does not even parse (a port out of range) is masked too.
    t.write(
        "userinfo.jsonc",
        r#"{"upstream": {"base_url": "https://bob:hunter2@api.example.com:99999/v1"}}"#,
    );
    t.arena()
        .config_file("userinfo.jsonc")
        .arg("models")
        .run()
        .code(2)
        .stderr_lacks("hunter2")
        .stderr_contains("https://bob:***@api.example.com:99999/v1");
}

#[test]
fn leaderboard_flag_errors_name_only_what_was_given() {
    let t = Test::new();
    import(&t, &votes("alpha", "beta", 3));
    t.arena()
        .args(["leaderboard", "--method", "elo", "--bootstrap", "100"])
        .run()
        .code(2)
        .stderr_contains("--bootstrap only applies to --method bt, not elo");
    t.arena()
        .args([
            "leaderboard",
            "--method",
            "glicko2",
            "--bootstrap",
            "100",
            "--seed",
            "1",
        ])
        .run()
        .code(2)
        .stderr_contains("--bootstrap and --seed only apply to --method bt, not glicko2");
    t.arena()
        .args(["leaderboard", "--method", "elo", "--ci", "0.9"])
        .run()
        .code(2)
        .stderr_contains("--ci only applies to --method bt and glicko2");
    t.arena()
        .args(["leaderboard", "--ci", "1.5"])
        .run()
        .code(2)
        .stderr_contains("--ci 1.5")
        .stderr_lacks("--bootstrap");
    t.arena()
        .args(["leaderboard", "--ci", "0.99"])
        .run()
        .code(2)
        .stderr_contains("--ci 0.99")
        .stderr_contains("--bootstrap 200");
    t.arena()
        .args(["leaderboard", "--bootstrap", "10"])
        .run()
        .code(2)
        .stderr_contains("--bootstrap 10")
        .stderr_lacks("--ci");
}

#[test]
fn min_battles_leaving_every_model_out_is_said_once() {
    let t = Test::new();
    import(&t, &votes("alpha", "beta", 3));
    for method in ["bt", "elo", "glicko2"] {
        let run = t
            .arena()
            .args(["leaderboard", "--method", method, "--min-battles", "1000"])
            .run()
            .success();
        let stderr = run.stderr();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{method}: {stderr}");
        assert!(lines[0].contains("fewer than 1000 battles"), "{stderr}");
    }
}

#[test]
fn an_unknown_theme_is_an_error_that_names_the_themes() {
    let (t, _) = populated();
    for args in [
        vec!["leaderboard", "--theme", "poetri"],
        vec!["stats", "matrix", "--theme", "poetri"],
        vec!["prompts", "list", "--theme", "poetri"],
    ] {
        t.arena()
            .args(&args)
            .run()
            .code(2)
            .stderr_contains("--theme `poetri`")
            .stderr_contains("did you mean `poetry`")
            .stderr_contains("general, poetry, tech");
    }
    // A theme of the pool with no vote yet is an empty board, not an error.
    t.arena()
        .args(["leaderboard", "--theme", "tech"])
        .run()
        .success()
        .stderr_contains("no votes match these filters");
}

#[test]
fn the_untrusted_config_note_is_said_once() {
    let t = Test::new();
    let run = t
        .arena()
        .without_config_flags()
        .models_file("models.json")
        .args(["battle", "a question", "--no-vote"])
        .run()
        .success();
    let stderr = run.stderr();
    assert_eq!(
        stderr.matches("config.jsonc is not trusted").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn an_unknown_model_names_the_models_file_on_the_command_line() {
    let t = Test::new();
    t.arena()
        .args(["battle", "q", "--no-vote", "--models", "mock-a,mock-z"])
        .run()
        .code(2)
        .stderr_contains("unknown model `mock-z`")
        .stderr_contains(&t.path("models.json").display().to_string());
}

#[test]
fn the_prompt_file_loses_its_final_line_ends_only() {
    let t = Test::new();
    t.write("prompt.txt", "Describe the sea\nin two lines.  \n\n");
    let battle = t.battle(&["--prompt-file", "prompt.txt"]);
    assert_eq!(text(&battle, "prompt"), "Describe the sea\nin two lines.  ");
    let piped = t
        .arena()
        .args(["battle", "-", "--no-vote", "--format", "json"])
        .stdin("What is a lighthouse for?\r\n")
        .run()
        .success()
        .json();
    assert_eq!(text(&piped, "prompt"), "What is a lighthouse for?");
}

#[test]
fn models_sync_writes_into_the_data_directory_and_says_why_it_failed() {
    let up = Upstream::start();
    let t = Test::new().with_upstream_models(&up, &[("saturn", "stream-one")]);
    let run = t.arena().args(["models", "sync"]).run().success();
    let path = t.path("home/data/arena/available_models.json");
    assert_eq!(run.stdout_trimmed(), path.display().to_string());
    assert!(path.is_file());
    assert!(!t.path("available_models.json").exists());

    let refused = Test::new().with_models(&json!({"models": [
        {"name": "gone", "base_url": format!("http://127.0.0.1:{}/v1", crate::support::refused_port()), "api_key_env": null},
        {"name": "nowhere", "base_url": "http://arena-test.invalid/v1", "api_key_env": null},
    ]}));
    refused
        .arena()
        .args(["models", "sync"])
        .run()
        .code(3)
        .stderr_contains("cannot connect: nothing listens there")
        .stderr_contains("cannot find the host `arena-test.invalid`")
        .stderr_lacks("error sending request")
        .stderr_lacks("tcp connect error")
        .stdout_empty();
}

// ---------------------------------------------------------------------------------------------
// Exit codes, and the README that lists them

#[test]
fn conflicts_exit_4_as_the_readme_says() {
    let t = Test::new();
    t.arena().args(["init", "--dir", "conf"]).run().success();
    t.arena().args(["init", "--dir", "conf"]).run().code(4);
    t.arena().args(["prompts", "add", "same"]).run().success();
    t.arena().args(["prompts", "add", "same"]).run().code(4);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("its address").port().to_string();
    t.arena()
        .args(["serve", "--port", &port])
        .run()
        .code(4)
        .stderr_contains("another process listens there");

    let readme = readme();
    let conflict = readme
        .lines()
        .find(|l| l.starts_with("| 4 |"))
        .expect("the README's exit code 4");
    for case in ["`init`", "prompt", "port"] {
        assert!(
            conflict.contains(case),
            "exit code 4 does not name {case}: {conflict}"
        );
    }
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

#[test]
fn the_readme_says_what_the_tests_and_data_are() {
    let readme = readme();
    assert!(!readme.contains("say they were skipped"));
    // The data directory beside the repository is not in a clone: the README must not send
    // readers there.
    assert!(!readme.contains(concat!("..", "/shared/data")));
    assert!(readme.contains("`tests/fixtures/data/`"));
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/data")
            .is_dir()
    );
    // The comparison with arena-rank follows the table of figures it speaks of.
    let table_end = readme
        .find("| one upstream SSE `data:` line")
        .expect("the performance table");
    let agree = readme
        .find("agree to 0.38 rating points")
        .expect("the paragraph");
    let memory = readme
        .find("`arena serve` keeps its memory bounded")
        .expect("the memory note");
    assert!(table_end < agree && agree < memory);
}
