//! What an attacker could try: an untrusted checkout's files, an upstream that echoes keys or
//! never stops, redirects, plain http, a copied database, links where files go, spreadsheet
//! formulas in names.

use serde_json::{Value, json};

use crate::support::{KEY, KEY_VAR, Test, Upstream, text};

/// The config of every test, with `max_answer_bytes` at its smallest (1 KiB).
fn small_limits(t: Test) -> Test {
    t.with_config_keys(
        &json!({"max_answer_bytes": 1024, "max_error_body_bytes": 1024,
                               "max_listing_bytes": 1024}),
    )
}

#[test]
fn files_of_the_current_directory_are_used_only_once_trusted() {
    let up = Upstream::start();
    let t = Test::new();
    // A checkout's models.json that would send GITHUB_TOKEN to its own host.
    t.write(
        "models.json",
        &json!({"models": [
            {"name": "a", "model": "stream-a", "base_url": up.base_url(), "api_key_env": "GITHUB_TOKEN"},
            {"name": "b", "model": "stream-b", "base_url": up.base_url(), "api_key_env": "GITHUB_TOKEN"},
        ]})
        .to_string(),
    );
    t.write(
        "config.jsonc",
        "{\"upstream\": {\"base_url\": \"http://127.0.0.1:9/v1\"}}",
    );
    let run = || {
        t.arena()
            .without_config_flags()
            .args(["battle", "Hello", "--no-vote"])
            .env("GITHUB_TOKEN", "ghp_secret_token_value")
            .run()
    };
    let refused = run().code(2);
    refused
        .stderr_contains("./models.json is not trusted, so it is not used")
        .stderr_contains("./config.jsonc is not trusted")
        .stderr_contains("arena trust models.json");
    assert!(up.requests().is_empty(), "an untrusted file was used");

    t.arena()
        .without_config_flags()
        .args(["trust", "models.json"])
        .run()
        .success()
        .stdout_contains("trusted");
    run().success();
    assert_eq!(up.requests().len(), 2);

    // A change needs trust again.
    t.write(
        "models.json",
        &std::fs::read_to_string(t.path("models.json"))
            .expect("models")
            .replace("stream-b", "stream-c"),
    );
    run()
        .code(2)
        .stderr_contains("changed since it was trusted");
    // A flag needs no trust.
    t.arena()
        .args(["battle", "Hello", "--no-vote"])
        .run()
        .success();
    let listed = t
        .arena()
        .without_config_flags()
        .args(["trust", "--list"])
        .run()
        .success()
        .stdout();
    assert!(listed.contains("models.json"), "{listed}");
}

#[test]
fn keys_and_credentials_never_come_back_from_an_upstream() {
    let up = Upstream::start();
    let t = Test::new().with_upstream_models(&up, &[("echo", "echo-key"), ("fine", "stream-a")]);
    let check = t.arena().args(["models", "check", "echo"]).run().code(3);
    let all = check.stdout() + &check.stderr();
    assert!(!all.contains(KEY), "the key came back:\n{all}");
    assert!(!all.contains("sk-abcdefghijklmnop0123"), "{all}");
    assert!(all.contains("[redacted]"), "{all}");
    let failed = t
        .arena()
        .args(["battle", "Hello", "--models", "echo,fine", "--no-vote"])
        .run()
        .code(3);
    assert!(!failed.stderr().contains(KEY), "{}", failed.stderr());
    // With -v the upstream's own words are shown, the key in them redacted.
    let told = t
        .arena()
        .args([
            "-v",
            "battle",
            "Hello",
            "--models",
            "echo,fine",
            "--no-vote",
        ])
        .run()
        .code(3);
    assert!(!told.stderr().contains(KEY), "{}", told.stderr());
    assert!(told.stderr().contains("[redacted]"), "{}", told.stderr());
    for args in [&["export", "battles"][..], &["battles", "--format", "json"]] {
        let out = t.arena().args(args).run().success().stdout();
        assert!(!out.contains(KEY), "{args:?} shows the key:\n{out}");
    }
    let db = std::fs::read(t.db()).expect("database");
    assert!(
        !db.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
        "the key is in the database"
    );
}

#[test]
fn a_key_echoed_in_a_streamed_answer_is_never_shown_streamed_or_stored() {
    let up = Upstream::start();
    let t =
        Test::new().with_upstream_models(&up, &[("parrot", "echo-stream"), ("fine", "stream-a")]);
    let out = t
        .arena()
        .args([
            "battle",
            "Hello",
            "--models",
            "parrot,fine",
            "--no-vote",
            "--format",
            "json",
        ])
        .run()
        .success();
    let shown = out.stdout() + &out.stderr();
    assert!(!shown.contains(KEY), "the key came back:\n{shown}");
    assert!(
        shown.contains("Your key: [redacted]. Keep it safe."),
        "{shown}"
    );
    let db = std::fs::read(t.db()).expect("database");
    assert!(
        !db.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
        "the key is in the database"
    );
}

#[test]
fn nothing_an_upstream_sends_grows_without_bound() {
    let up = Upstream::start();
    let t = small_limits(Test::new()).with_upstream_models(
        &up,
        &[
            ("text", "endless-text"),
            ("event", "endless-event"),
            ("json", "endless-json"),
            ("error", "endless-error"),
            ("fine", "stream-a"),
        ],
    );
    for (name, expected) in [
        ("text", "passed 1024 bytes"),
        ("event", "without ending"),
        ("json", "a body of more than"),
        ("error", "server failed (500)"),
    ] {
        let out = t
            .arena()
            .args([
                "battle",
                "Hello",
                "--models",
                &format!("{name},fine"),
                "--no-vote",
            ])
            .args(["--format", "json"])
            .run()
            .code(3);
        let battle = out.json();
        assert_eq!(battle["status"], json!("failed"), "{name}: {battle:#}");
        assert!(
            text(&battle, "error").contains(expected),
            "{name}: {battle:#}"
        );
        for side in ["response_a", "response_b"] {
            let len = battle[side].as_str().map_or(0, str::len);
            assert!(len <= 1024, "{name}: {side} kept {len} bytes");
        }
        assert!(text(&battle, "error").len() < 2000, "{name}: {battle:#}");
    }
    let listing = small_limits(Test::new()).with_models(&json!({"models": [
        {"name": "a", "base_url": format!("{}/../endless/v1", up.base_url()).replace("/v1/../", "/")},
        {"name": "b", "provider": "mock"},
    ]}));
    listing
        .arena()
        .args(["models", "sync"])
        .run()
        .code(3)
        .stderr_contains("larger than 1024 bytes");
}

#[test]
fn network_rules_redirects_plain_http_proxies_and_tls() {
    let up = Upstream::start();
    let t = Test::new().with_models(&json!({"models": [
        {"name": "moved", "model": "redirect", "base_url": up.base_url(), "api_key_env": KEY_VAR},
        {"name": "remote", "model": "m", "base_url": "http://10.255.255.1:8000/v1", "api_key_env": KEY_VAR},
        {"name": "tls", "model": "stream-a", "base_url": up.base_url().replace("http://", "https://")},
        {"name": "local", "model": "stream-a", "base_url": up.base_url(), "api_key_env": KEY_VAR},
    ]}));
    t.arena()
        .args(["models", "check", "moved"])
        .run()
        .code(3)
        .stdout_contains("redirects are not followed");
    // Only the first request reached the fake: the redirect was not followed.
    assert_eq!(up.hits("redirect"), 1);
    let remote = t.arena().args(["models", "check", "remote"]).run().code(3);
    remote.stdout_contains("refusing to send the provider's key");
    t.arena()
        .args(["models", "check", "tls"])
        .run()
        .code(3)
        .stdout_contains("TLS");
    // A proxy from the environment is not used for this machine's hosts.
    t.arena()
        .args(["models", "check", "local"])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9")
        .env("ALL_PROXY", "http://127.0.0.1:9")
        .run()
        .success();
    // And a model that accepts plain http for its key gets past the refusal (the address is
    // unroutable, so the request itself then fails, but not for the key).
    let allowed = Test::new().with_models(&json!({"models": [
        {"name": "remote", "model": "m", "base_url": "http://127.0.0.1:9/v1",
         "api_key_env": KEY_VAR, "allow_http_key": true},
        {"name": "b", "provider": "mock"},
    ]}));
    let out = allowed
        .arena()
        .args(["models", "check", "remote"])
        .run()
        .code(3);
    out.stdout_lacks("refusing to send the key");
}

#[cfg(unix)]
#[test]
fn the_database_reveals_no_user_and_every_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    let t = Test::new().with_config_keys(&json!({"user_id_salt": ""}));
    let db = t.path("data/arena.sqlite3");
    let battle = t
        .arena()
        .db(&db)
        .args([
            "battle",
            "Hello",
            "--no-vote",
            "--format",
            "json",
            "--user",
            "discord:738214",
        ])
        .run()
        .success()
        .json();
    t.arena()
        .db(&db)
        .args([
            "vote",
            text(&battle, "battle_id"),
            "a",
            "--user",
            "discord:738214",
        ])
        .run()
        .success();
    let bytes = std::fs::read(&db).expect("database");
    let has = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!has("738214"), "the raw user id is in the database");
    // The key is in its own file, not in the database.
    let keys = t.path("home/data/arena/keys");
    let key_file = std::fs::read_dir(&keys)
        .expect("the key directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()
        .expect("a key file");
    let key = std::fs::read_to_string(&key_file).expect("key");
    assert!(!has(key.trim()), "the key is in the database");
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(mode(&keys), 0o700);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(&t.path("data")), 0o700);
    // A configured key shorter than 128 bits as hex is refused.
    let weak = Test::new().with_config_keys(&json!({"user_id_salt": "hunter2"}));
    weak.arena()
        .args(["battles"])
        .run()
        .code(2)
        .stderr_contains("at least 32");
}

#[cfg(unix)]
#[test]
fn init_and_outputs_never_write_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    std::fs::create_dir(t.path("conf")).expect("dir");
    let target = t.path("elsewhere.txt");
    std::os::unix::fs::symlink(&target, t.path("conf/config.jsonc")).expect("link");
    t.arena()
        .args(["init", "--dir", "conf"])
        .run()
        .code(4)
        .stderr_contains("exists");
    assert!(!target.exists(), "init wrote through a dangling link");
    t.arena()
        .args(["init", "--dir", "conf", "--force"])
        .run()
        .success();
    assert!(!target.exists(), "init --force wrote through a link");
    let written = t.path("conf/config.jsonc");
    assert!(!written.symlink_metadata().expect("file").is_symlink());
    assert_eq!(
        std::fs::metadata(&written)
            .expect("meta")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // `--output` replaces a link instead of writing through it.
    std::fs::write(&target, "keep me").expect("target");
    std::os::unix::fs::symlink(&target, t.path("board.csv")).expect("link");
    t.arena()
        .args(["leaderboard", "--format", "csv", "-o", "board.csv"])
        .run()
        .success();
    assert_eq!(std::fs::read_to_string(&target).expect("target"), "keep me");
    assert!(
        std::fs::read_to_string(t.path("board.csv"))
            .expect("board")
            .starts_with("rank,")
    );
}

#[test]
fn big_inputs_are_refused_or_skipped_without_taking_the_memory() {
    let t = small_limits(Test::new()).with_config_keys(&json!({"max_prompt_bytes": 1000}));
    t.write("prompt.txt", &"a".repeat(5000));
    t.arena()
        .args(["battle", "--prompt-file", "prompt.txt", "--no-vote"])
        .run()
        .code(2)
        .stderr_contains("max_prompt_bytes");
    t.arena()
        .args(["battle", "-", "--no-vote"])
        .stdin("b".repeat(5000))
        .run()
        .code(2)
        .stderr_contains("max_prompt_bytes");
    let huge = format!(
        "{{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"pad\": \"{}\"}}\n\
         {{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}}\n",
        "p".repeat(17 << 20)
    );
    t.write("huge.jsonl", &huge);
    t.write(
        "huge.json",
        &format!("[{}]", huge.trim_end().replace('\n', ",")),
    );
    for file in ["huge.jsonl", "huge.json"] {
        t.arena()
            .args(["import", file])
            .run()
            .success()
            .stdout_contains("imported 1 vote")
            .stdout_contains("longer than 16 MiB");
    }
}

#[test]
fn csv_cells_cannot_run_as_spreadsheet_formulas() {
    let t = Test::new();
    t.write(
        "log.jsonl",
        "{\"model_a\": \"=HYPERLINK(\\\"http://evil\\\",\\\"x\\\")\", \"model_b\": \"@SUM(A1)\", \"winner\": \"model_a\", \"tstamp\": 1700000000}\n",
    );
    t.arena().args(["import", "log.jsonl"]).run().success();
    let board = t
        .arena()
        .args(["leaderboard", "--format", "csv"])
        .run()
        .success()
        .stdout();
    assert!(board.contains("'=HYPERLINK"), "{board}");
    assert!(board.contains("'@SUM"), "{board}");
    let votes = t
        .arena()
        .args(["export", "votes", "--format", "csv"])
        .run()
        .success()
        .stdout();
    assert!(
        votes.contains("'=HYPERLINK") && votes.contains("'@SUM"),
        "{votes}"
    );
    // JSON keeps the names exactly.
    let json: Value = t
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    assert!(json.to_string().contains("=HYPERLINK"), "{json}");
}

#[test]
fn a_matrix_of_very_many_models_asks_for_the_top_ones() {
    let t = Test::new();
    let mut log = String::from("model_a,model_b,winner\n");
    for i in 0..600 {
        log.push_str(&format!("m{i},m{},model_a\n", i + 1));
    }
    t.write("chain.csv", &log);
    t.arena().args(["import", "chain.csv"]).run().success();
    t.arena()
        .args(["stats", "matrix"])
        .run()
        .code(2)
        .stderr_contains("--top");
    let m = t
        .arena()
        .args(["stats", "matrix", "--top", "20", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(
        m["match_count_matrix"].as_object().map(|o| o.len()),
        Some(20)
    );
}
