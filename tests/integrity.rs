//! What the database holds: imports keyed by identity (a round trip adds nothing), a file that
//! is complete on its own, read commands that never write, and a user-id key that never
//! changes under its users.

use serde_json::{Value, json};

use crate::support::{Test, text};

fn import(t: &Test, file: &str) -> Value {
    t.arena()
        .args(["import", file, "--format", "json"])
        .run()
        .success()
        .json()
}

fn votes_in(t: &Test) -> u64 {
    t.arena()
        .args(["leaderboard", "--method", "elo", "--format", "json"])
        .run()
        .success()
        .json()["votes"]
        .as_u64()
        .expect("votes")
}

#[test]
fn an_export_imported_again_adds_nothing_in_any_format() {
    let t = Test::new();
    t.fixture("logs/human-302.jsonl");
    let first = import(&t, "human-302.jsonl");
    assert_eq!(first["imported"], json!(302));
    assert_eq!(first["skipped"]["identities"]["id_fields"], json!(302));
    // A vote cast here joins the imported ones.
    let battle = t.battle(&["Hello"]);
    t.vote(text(&battle, "battle_id"), "tie");
    assert_eq!(votes_in(&t), 303);
    for round in 0..2 {
        for format in ["jsonl", "json", "csv"] {
            let file = format!("export-{round}.{format}");
            t.arena()
                .args(["export", "votes", "--format", format, "-o", &file])
                .run()
                .success();
            let again = import(&t, &file);
            assert_eq!(again["imported"], json!(0), "{format}: {again}");
            assert_eq!(again["duplicates"], json!(303), "{format}: {again}");
        }
    }
    assert_eq!(votes_in(&t), 303);
    // The original log again adds nothing either.
    assert_eq!(import(&t, "human-302.jsonl")["imported"], json!(0));

    // Into another database, an export brings every vote once, and the original log after it
    // adds nothing: the export carries the identity of each vote.
    t.arena()
        .args(["export", "votes", "-o", "all.jsonl"])
        .run()
        .success();
    let other = Test::new();
    std::fs::copy(t.path("all.jsonl"), other.path("all.jsonl")).expect("copy");
    other.fixture("logs/human-302.jsonl");
    assert_eq!(import(&other, "all.jsonl")["imported"], json!(303));
    assert_eq!(import(&other, "human-302.jsonl")["imported"], json!(0));
    // An imported vote without a tstamp is exported without one, not with the import time.
    let exported = std::fs::read_to_string(t.path("all.jsonl")).expect("export");
    let line: Value = serde_json::from_str(exported.lines().next().expect("a line")).expect("json");
    assert_eq!(line["tstamp"], Value::Null, "{line}");
    assert_eq!(
        line["question_id"],
        json!("58210e39b3fd4441a2bd4a518bb44c2d")
    );
}

#[test]
fn identical_rows_of_two_different_logs_all_count() {
    let t = Test::new();
    t.write(
        "monday.csv",
        "model_a,model_b,winner\nx,y,model_a\ny,z,tie\nx,z,model_b\n",
    );
    t.write(
        "tuesday.csv",
        "model_a,model_b,winner\nx,y,model_a\ny,z,tie\nz,x,model_a\nx,y,model_b\n",
    );
    let monday = import(&t, "monday.csv");
    assert_eq!(monday["imported"], json!(3));
    assert_eq!(monday["skipped"]["identities"]["file_position"], json!(3));
    assert_eq!(import(&t, "tuesday.csv")["imported"], json!(4));
    assert_eq!(votes_in(&t), 7);
    // The same file again adds nothing, and the summary says by which rule.
    t.arena()
        .args(["import", "monday.csv"])
        .run()
        .success()
        .stdout_contains("imported 0 votes")
        .stdout_contains("3 already imported")
        .stdout_contains("by file and position");
    assert_eq!(votes_in(&t), 7);
}

#[test]
fn the_database_file_alone_holds_everything_once_a_command_ends() {
    let t = Test::new();
    let battle = t.battle(&["Hello"]);
    t.vote(text(&battle, "battle_id"), "model_a");
    for suffix in ["-wal", "-shm"] {
        let side = format!("{}{suffix}", t.db().display());
        assert!(
            std::fs::metadata(&side).map_or(true, |m| m.len() == 0),
            "{side} still holds data"
        );
    }
    // A copy of the file alone is a complete backup.
    let copy = t.path("backup.sqlite3");
    std::fs::copy(t.db(), &copy).expect("copy the database file");
    let board = t
        .arena()
        .db(&copy)
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(board["votes"], json!(1));
}

#[cfg(unix)]
#[test]
fn read_commands_work_on_a_read_only_database_and_write_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    let battle = t.battle(&["Hello"]);
    t.vote(text(&battle, "battle_id"), "model_a");
    // A name a URI must encode: the read-only fallback opens the file by URI.
    let dir = t.path("ro josé #1?%");
    std::fs::create_dir(&dir).expect("dir");
    let db = dir.join("arena.sqlite3");
    std::fs::copy(t.db(), &db).expect("copy");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    // The directory read-only too: nothing at all can be written there.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let before = std::fs::read(&db).expect("read");
    let run = |args: &[&str]| t.arena().db(&db).args(args).run();
    run(&["leaderboard"]).success().stdout_contains("mock-");
    run(&["battles"]).success();
    run(&["show", text(&battle, "battle_id")]).success();
    run(&["export", "votes"]).success();
    run(&["stats", "matrix"]).success();
    run(&["prompts", "list"]).success();
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

#[test]
fn read_commands_on_a_missing_database_name_it_and_create_nothing() {
    let t = Test::new();
    let missing = t.path("typo/arena.sqlite3");
    for args in [
        &["leaderboard"][..],
        &["battles"],
        &["export", "votes"],
        &["stats", "matrix"],
        &["prompts", "list"],
        &["vote", "0192f0c4-7d2e-7c3a-9a51-2b4f8c1d9e07", "a"],
    ] {
        t.arena()
            .db(&missing)
            .args(args)
            .run()
            .code(2)
            .stderr_contains("no database at")
            .stderr_contains(&missing.display().to_string());
    }
    assert!(
        !t.path("typo").exists(),
        "a read command made the directory"
    );
    // An empty ARENA_DB is named as such.
    t.arena()
        .without_db_flag()
        .args(["leaderboard"])
        .env("ARENA_DB", "")
        .run()
        .code(2)
        .stderr_contains("ARENA_DB is set but empty");
}

#[test]
fn init_keeps_the_user_key_and_a_changed_salt_is_refused() {
    let t = Test::new().with_config_keys(&json!({"user_id_salt": ""}));
    t.create_db();
    let battle = t.battle(&["Hello", "--user", "cli:alice"]);
    t.arena()
        .args(["init", "--force", "--dir"])
        .arg(t.path("init-templates"))
        .run()
        .success();
    // Alice still owns her battle after init --force.
    let id = text(&battle, "battle_id");
    t.arena()
        .args(["vote", id, "a", "--user", "cli:alice"])
        .run()
        .success();
    // A configured salt that is not the key her id was hashed with is refused.
    let changed = Test::new();
    std::fs::copy(t.db(), changed.db()).expect("copy");
    let changed = changed.with_config_keys(
        &json!({"user_id_salt": "another-salt-entirely-and-long-enough-0123456789"}),
    );
    changed
        .arena()
        .args(["battle", "Hello", "--no-vote", "--user", "cli:alice"])
        .run()
        .code(2)
        .stderr_contains("user_id_salt")
        .stderr_contains("no longer own their battles");
}

#[test]
fn exports_are_data_formats_and_a_closed_pipe_is_quiet() {
    let t = Test::new();
    t.create_db();
    // An empty CSV export has its header, and imports as nothing.
    t.arena()
        .args(["export", "votes", "--format", "csv", "-o", "empty.csv"])
        .run()
        .success();
    let text = std::fs::read_to_string(t.path("empty.csv")).expect("csv");
    assert_eq!(
        text,
        "vote_id,battle_id,model_a,model_b,winner,tstamp,question_id,left_out\n"
    );
    let summary = import(&t, "empty.csv");
    assert_eq!(summary["imported"], json!(0));
    for format in ["table", "markdown"] {
        t.arena()
            .args(["export", "votes", "--format", format])
            .run()
            .code(2)
            .stderr_contains("jsonl");
    }
    t.arena()
        .args(["export", "--help"])
        .run()
        .success()
        .stdout_contains("[default: jsonl]");
    // `battles --format csv` has the columns of `export battles --format csv`.
    t.battle(&["Hello, \"world\""]);
    let listed = t
        .arena()
        .args(["battles", "--format", "csv"])
        .run()
        .success()
        .stdout();
    let exported = t
        .arena()
        .args(["export", "battles", "--format", "csv"])
        .run()
        .success()
        .stdout();
    assert_eq!(listed.lines().next(), exported.lines().next());
    assert!(
        listed.starts_with("battle_id,created_at,status,prompt,"),
        "{listed}"
    );
    assert_eq!(listed, exported);
}

#[cfg(unix)]
#[test]
fn a_reader_that_stops_early_ends_the_export_quietly() {
    use std::io::Read;
    let t = Test::new();
    t.fixture("logs/human-302.jsonl");
    import(&t, "human-302.jsonl");
    // Many copies of the log, so the export outlasts a pipe buffer.
    let many: String = (0..200)
        .map(|i| {
            std::fs::read_to_string(t.path("human-302.jsonl"))
                .expect("log")
                .replace("\"num\"", &format!("\"round\": {i}, \"num\""))
                .replace("\"question_id\": \"", &format!("\"question_id\": \"{i}-"))
        })
        .collect();
    t.write("many.jsonl", &many);
    import(&t, "many.jsonl");
    let mut child = t
        .command(&t.path("config.jsonc"), &t.path("models.json"))
        .args(["export", "votes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = [0u8; 64];
    let mut out = child.stdout.take().expect("stdout");
    out.read_exact(&mut first).expect("read");
    drop(out);
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    assert!(status.success(), "{status}: {err}");
    assert_eq!(err, "");
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_never_panics_any_command() {
    let t = Test::new();
    t.fixture("logs/human-302.jsonl");
    let id = text(&t.battle(&["Hello"]), "battle_id").to_owned();
    for args in [
        vec!["import", "human-302.jsonl"],
        vec!["leaderboard"],
        vec!["battles"],
        vec!["show", &id],
        vec!["models"],
        vec!["stats", "matrix"],
        vec!["export", "votes"],
    ] {
        let mut child = t
            .command(&t.path("config.jsonc"), &t.path("models.json"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // The reader goes away before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {}: {err}", out.status);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
