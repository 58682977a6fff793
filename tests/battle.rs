//! `arena battle` against the fake upstream: streamed and non-streamed answers, upstream
//! failures, stalls, endpoint pools, concurrency, and where the prompt comes from.

use serde_json::{Value, json};

use crate::support::{KEY, KEY_VAR, Test, Upstream, answer, is_battle_id, refused_port, text};

/// Public names that never occur in the fake's answers, so any appearance of them before the
/// vote is a leak.
const SATURN: &str = "saturn";
const NEPTUNE: &str = "neptune";

fn pair(up: &Upstream, a: &str, b: &str) -> Test {
    Test::new().with_upstream_models(up, &[(SATURN, a), (NEPTUNE, b)])
}

/// The JSON of an unvoted battle must not name a model.
#[track_caller]
fn assert_blinded(battle: &Value) {
    for key in ["model_a", "model_b", "winner"] {
        assert!(
            battle.get(key).is_none(),
            "`{key}` before the vote: {battle:#}"
        );
    }
    let whole = battle.to_string();
    for name in [SATURN, NEPTUNE] {
        assert!(
            !whole.contains(name),
            "`{name}` before the vote: {battle:#}"
        );
    }
}

#[test]
fn streamed_answers_are_stored_on_their_sides() {
    let up = Upstream::start();
    let t = pair(&up, "stream-one", "stream-two");

    let id = t
        .arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .run()
        .success()
        .stderr_lacks(SATURN)
        .stderr_lacks(NEPTUNE)
        .stdout_trimmed();
    assert!(
        is_battle_id(&id),
        "stdout should be only the battle id, got {id:?}"
    );

    let shown = t.show(&id);
    assert_eq!(text(&shown, "battle_id"), id);
    assert_eq!(text(&shown, "status"), "pending_vote");
    assert_eq!(text(&shown, "prompt"), "Name three colours");
    assert_blinded(&shown);

    // The vote reveals who stood where; each side's text must be that model's answer.
    let reveal = t.vote(&id, "a");
    assert_eq!(text(&reveal, "battle_id"), id);
    assert_eq!(text(&reveal, "winner"), "model_a");
    let upstream_id = |public: &str| {
        if public == SATURN {
            "stream-one"
        } else {
            "stream-two"
        }
    };
    let model_a = text(&reveal, "model_a");
    let model_b = text(&reveal, "model_b");
    let mut names = [model_a, model_b];
    names.sort_unstable();
    assert_eq!(names, [NEPTUNE, SATURN]);
    assert_eq!(text(&shown, "response_a"), answer(upstream_id(model_a)));
    assert_eq!(text(&shown, "response_b"), answer(upstream_id(model_b)));

    // Both start at 1000; with k = 32 an even match moves each by 16.
    assert_eq!(reveal["elo"]["model_a"]["rating_before"], json!(1000.0));
    assert_eq!(reveal["elo"]["model_b"]["rating_before"], json!(1000.0));
    assert_eq!(reveal["elo"]["model_a"]["rating_after"], json!(1016.0));
    assert_eq!(reveal["elo"]["model_b"]["rating_after"], json!(984.0));

    let after = t.show(&id);
    assert_eq!(text(&after, "status"), "completed");
    assert_eq!(text(&after, "winner"), "model_a");
    assert_eq!(text(&after, "model_a"), model_a);
    assert_eq!(text(&after, "model_b"), model_b);
    assert_eq!(after["response_a"], shown["response_a"]);
}

#[test]
fn the_upstream_gets_the_prompt_the_options_and_the_key() {
    let up = Upstream::start();
    let t = pair(&up, "stream-one", "stream-two");
    t.arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .args([
            "--system",
            "Answer briefly.",
            "--temperature",
            "0.25",
            "--max-tokens",
            "77",
        ])
        .run()
        .success();

    let requests = up.requests();
    assert_eq!(requests.len(), 2, "one request per side: {requests:#?}");
    for r in &requests {
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(r.body["stream"], json!(true), "{:#}", r.body);
        assert_eq!(r.body["temperature"], json!(0.25), "{:#}", r.body);
        assert_eq!(r.body["max_tokens"], json!(77), "{:#}", r.body);
        assert_eq!(
            r.body["messages"],
            json!([
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "Name three colours"},
            ]),
            "{:#}",
            r.body
        );
    }
    assert_eq!(up.hits("stream-one"), 1);
    assert_eq!(up.hits("stream-two"), 1);
}

#[test]
fn the_key_comes_from_the_environment_variable_named_in_models_json() {
    let up = Upstream::start();
    let t = pair(&up, "stream-one", "stream-two");
    t.arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .env(KEY_VAR, "another-key")
        .run()
        .success();
    for r in up.requests() {
        assert_eq!(
            r.authorization.as_deref(),
            Some("Bearer another-key"),
            "{r:#?}"
        );
    }
}

#[test]
fn json_output_is_the_blinded_battle() {
    let up = Upstream::start();
    let t = pair(&up, "stream-one", "stream-two");
    let battle = t.battle(&["Name three colours", "--models", "saturn,neptune"]);
    assert!(is_battle_id(text(&battle, "battle_id")), "{battle:#}");
    assert_eq!(text(&battle, "status"), "pending_vote");
    assert_eq!(text(&battle, "prompt"), "Name three colours");
    assert_eq!(text(&battle, "prompt_theme"), "general");
    assert!(battle.get("created_at").is_some(), "{battle:#}");
    assert!(battle.get("error").is_none(), "{battle:#}");
    assert_blinded(&battle);
    let mut answers = [text(&battle, "response_a"), text(&battle, "response_b")];
    answers.sort_unstable();
    assert_eq!(answers, [answer("stream-one"), answer("stream-two")]);

    // What the battle command printed is what was stored.
    let shown = t.show(text(&battle, "battle_id"));
    assert_eq!(shown, battle);
}

#[test]
fn a_non_streamed_json_reply_is_accepted() {
    let up = Upstream::start();
    let t = pair(&up, "json-one", "stream-two");
    let battle = t.battle(&["Name three colours", "--models", "saturn,neptune"]);
    let shown = t.show(text(&battle, "battle_id"));
    assert_eq!(text(&shown, "status"), "pending_vote");
    let mut answers = [text(&shown, "response_a"), text(&shown, "response_b")];
    answers.sort_unstable();
    assert_eq!(answers, [answer("json-one"), answer("stream-two")]);
    assert_eq!(up.hits("json-one"), 1);
}

/// The side ("A" or "B") whose stored answer is `expected`.
fn side_with(battle: &Value, expected: &str) -> &'static str {
    if battle["response_a"] == json!(expected) {
        "A"
    } else if battle["response_b"] == json!(expected) {
        "B"
    } else {
        panic!("no side answered {expected:?}: {battle:#}")
    }
}

#[test]
fn a_server_error_fails_the_battle_and_keeps_the_other_answer() {
    let up = Upstream::start();
    let t = pair(&up, "fail-500", "stream-two");
    let out = t
        .arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .run()
        .code(3)
        .stderr_contains("the upstream server failed (500)")
        // The upstream's own words may name its model: hidden like the name until a vote.
        .stderr_lacks("boom");

    let battles = t.battles();
    let [battle] = battles.as_array().expect("a list").as_slice() else {
        panic!("expected one battle: {battles:#}");
    };
    let id = text(battle, "battle_id");
    let shown = t.show(id);
    assert_eq!(text(&shown, "status"), "failed");
    let good = side_with(&shown, &answer("stream-two"));
    let bad = if good == "A" { "B" } else { "A" };
    let failed_response = &shown[format!("response_{}", bad.to_lowercase())];
    assert!(failed_response.is_null(), "{shown:#}");
    let error = text(&shown, "error");
    assert!(error.contains(&format!("Assistant {bad}")), "{error}");
    assert!(
        error.contains("the upstream server failed (500)"),
        "{error}"
    );
    assert!(!error.contains("boom"), "{error}");
    // The message on stderr names the side too, and `show` keeps the error for later.
    out.stderr_contains(&format!("Assistant {bad}"));
    t.arena()
        .args(["show", id])
        .run()
        .success()
        .stdout_contains("failed")
        .stdout_contains("the upstream server failed (500)")
        .stdout_contains(&answer("stream-two"));

    // The operator who asks sees the upstream's own words, with the model.
    t.arena()
        .args([
            "-v",
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .run()
        .code(3)
        .stderr_contains("boom");

    // A failed battle takes no vote.
    t.arena()
        .args(["vote", id, "a"])
        .run()
        .code(4)
        .stderr_contains("failed");
    assert_eq!(text(&t.show(id), "status"), "failed");
}

#[test]
fn a_failed_battle_in_json_has_its_error() {
    let up = Upstream::start();
    let t = pair(&up, "fail-500", "stream-two");
    let out = t
        .arena()
        .args(["battle", "Name three colours", "--models", "saturn,neptune"])
        .args(["--no-vote", "--format", "json"])
        .run()
        .code(3);
    let battle = out.json();
    assert_eq!(text(&battle, "status"), "failed");
    assert!(text(&battle, "error").contains("(500)"), "{battle:#}");
    assert_eq!(t.show(text(&battle, "battle_id")), battle);
    // The battle has no vote: neither its models nor their upstreams are named, not in the
    // JSON, not in the error message; `-v` gives the operator the details.
    let shown = battle.to_string();
    // (The fake upstream writes its model id into its answers, so only the failing one is checked.)
    for secret in ["saturn", "neptune", "fail-500", "127.0.0.1"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
        assert!(
            !out.stderr().contains(secret),
            "{secret} in {}",
            out.stderr()
        );
    }
    let verbose = t
        .arena()
        .args([
            "-v",
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
        ])
        .args(["--no-vote"])
        .run()
        .code(3);
    assert!(
        verbose.stderr().contains("fail-500"),
        "{}",
        verbose.stderr()
    );
}

#[test]
fn upstream_statuses_are_explained() {
    let up = Upstream::start();
    let cases = [
        (
            "fail-401",
            "the upstream refused the API key (401 Unauthorized)",
        ),
        (
            "fail-404",
            "not found (404): check the model id and the base_url",
        ),
        ("fail-429", "the upstream is rate limiting (429)"),
    ];
    for (model, message) in cases {
        let t = pair(&up, model, "stream-two");
        t.arena()
            .args([
                "battle",
                "Name three colours",
                "--models",
                "saturn,neptune",
                "--no-vote",
            ])
            .run()
            .code(3)
            .stderr_contains(message);
        let battles = t.battles();
        assert_eq!(battles[0]["status"], json!("failed"), "{battles:#}");
        assert!(text(&battles[0], "error").contains(message), "{battles:#}");
    }
}

#[test]
fn a_stalled_stream_fails_after_the_idle_timeout() {
    let up = Upstream::start();
    let t = pair(&up, "stall", "stream-two").with_config_keys(&json!({
        "stream_idle_timeout_seconds": 1,
    }));
    let stalled =
        "the stream stalled: nothing arrived for 1 s (stream_idle_timeout_seconds in config.jsonc)";
    // The run returning at all (rather than being killed by the harness's hang guard) is the
    // point: the stalled side gives up while the fake is still silent.
    t.arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .run()
        .code(3)
        .stderr_contains(stalled);

    let battles = t.battles();
    let shown = t.show(text(&battles[0], "battle_id"));
    assert_eq!(text(&shown, "status"), "failed");
    assert!(text(&shown, "error").contains(stalled), "{shown:#}");
    side_with(&shown, &answer("stream-two"));
    let stall = &up.requests()[..];
    assert!(stall.iter().any(|r| r.model == "stall"), "{stall:#?}");
}

#[test]
fn an_unreachable_upstream_says_it_cannot_connect() {
    let up = Upstream::start();
    let dead = format!("http://127.0.0.1:{}/v1", refused_port());
    let t = Test::new().with_models(&json!({"models": [
        {"name": SATURN, "model": "stream-one", "base_url": dead, "api_key_env": KEY_VAR},
        up.model(NEPTUNE, "stream-two"),
    ]}));
    t.arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .run()
        .code(3)
        .stderr_contains("cannot connect");
    let battles = t.battles();
    assert_eq!(battles[0]["status"], json!("failed"), "{battles:#}");
    assert!(
        text(&battles[0], "error").contains("cannot connect"),
        "{battles:#}"
    );
}

#[test]
fn a_pool_skips_an_endpoint_that_refuses_connections() {
    let up = Upstream::start();
    let dead = format!("http://127.0.0.1:{}/v1", refused_port());
    let t = Test::new().with_models(&json!({"models": [
        {
            "name": SATURN,
            "api_key_env": KEY_VAR,
            "endpoints": [
                {"base_url": dead, "model": "stream-one"},
                {"base_url": up.base_url(), "model": "stream-one"},
            ],
        },
        up.model(NEPTUNE, "stream-two"),
    ]}));
    // The pool's order is random per request; whichever comes first, every battle succeeds
    // and every one of them reached the live endpoint exactly once.
    let battles = 6;
    for _ in 0..battles {
        let battle = t.battle(&["Name three colours", "--models", "saturn,neptune"]);
        assert_eq!(text(&battle, "status"), "pending_vote", "{battle:#}");
        side_with(&battle, &answer("stream-one"));
    }
    assert_eq!(up.hits("stream-one"), battles);
    assert_eq!(up.hits("stream-two"), battles);
    let all = t.battles();
    assert_eq!(all.as_array().map(Vec::len), Some(battles));
    assert!(
        all.as_array()
            .into_iter()
            .flatten()
            .all(|b| b["status"] == json!("pending_vote")),
        "{all:#}"
    );
}

#[test]
fn a_pool_whose_endpoints_all_refuse_fails_naming_each() {
    let up = Upstream::start();
    let endpoint = |port: u16| json!({"base_url": format!("http://127.0.0.1:{port}/v1")});
    let t = Test::new().with_models(&json!({"models": [
        {
            "name": SATURN,
            "model": "stream-one",
            "endpoints": [endpoint(refused_port()), endpoint(refused_port())],
        },
        up.model(NEPTUNE, "stream-two"),
    ]}));
    t.arena()
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .run()
        .code(3)
        .stderr_contains("all 2 endpoints")
        .stderr_contains("cannot connect");
    assert_eq!(up.hits("stream-one"), 0);
}

#[test]
fn both_sides_are_generated_concurrently() {
    let up = Upstream::start();
    // `meet-*` answers hold their stream open until both requests have arrived, so the
    // overlap does not depend on how fast this machine is.
    let t = pair(&up, "meet-one", "meet-two");
    t.battle(&["Name three colours", "--models", "saturn,neptune"]);
    let requests = up.requests();
    let [first, second] = requests.as_slice() else {
        panic!("expected two requests: {requests:#?}");
    };
    assert!(
        first.overlaps(second),
        "the two sides were requested one after the other: {requests:#?}"
    );
}

#[test]
fn the_prompt_can_come_from_stdin() {
    let t = Test::new();
    let battle = t
        .arena()
        .args(["battle", "-", "--no-vote", "--format", "json"])
        .stdin("What is a lighthouse for?\n")
        .run()
        .success()
        .json();
    assert_eq!(
        text(&battle, "prompt").trim_end(),
        "What is a lighthouse for?"
    );
    assert_eq!(text(&battle, "status"), "pending_vote");
}

#[test]
fn the_prompt_can_come_from_a_file() {
    let t = Test::new();
    t.write("prompt.txt", "Describe the sea\nin two lines.\n");
    let battle = t.battle(&["--prompt-file", "prompt.txt"]);
    assert_eq!(
        text(&battle, "prompt").trim_end(),
        "Describe the sea\nin two lines."
    );
}

#[test]
fn a_random_prompt_comes_from_the_pool_of_its_theme() {
    let t = Test::new();
    t.arena()
        .args([
            "prompts",
            "add",
            "Write a poem about rain",
            "--theme",
            "poetry",
        ])
        .run()
        .success();
    t.arena()
        .args([
            "prompts",
            "add",
            "Explain TCP slow start",
            "--theme",
            "networks",
        ])
        .run()
        .success();
    let listed = t.arena().args(["prompts", "list"]).run().success();
    listed
        .stdout_contains("Write a poem about rain")
        .stdout_contains("networks");

    for _ in 0..3 {
        let battle = t.battle(&["--random-prompt", "--theme", "poetry"]);
        assert_eq!(text(&battle, "prompt"), "Write a poem about rain");
        assert_eq!(text(&battle, "prompt_theme"), "poetry");
    }
    t.arena()
        .args([
            "battle",
            "--random-prompt",
            "--theme",
            "cooking",
            "--no-vote",
        ])
        .run()
        .code(2)
        .stderr_contains("cooking")
        // The fix is in the message itself, which a server's client gets as its `detail`.
        .stderr_contains("arena prompts import FILE");
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let t = Test::new();
    let battle = t.battle(&["Hello there"]);
    // `--db` and `--config` after the subcommand name the same files as before it.
    let out = std::process::Command::new(crate::support::ARENA)
        .current_dir(t.dir())
        .envs(t.environment())
        .env_remove("ARENA_DB")
        .env_remove("ARENA_CONFIG")
        .env_remove("ARENA_MODELS")
        .arg("--models")
        .arg(t.path("models.json"))
        .args([
            "show",
            text(&battle, "battle_id"),
            "--format",
            "json",
            "--db",
        ])
        .arg(t.db())
        .arg("--config")
        .arg(t.path("config.jsonc"))
        .output()
        .expect("run arena");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(shown, battle);
}

#[test]
fn verbose_names_the_files_it_uses_and_quiet_says_nothing_extra() {
    let t = Test::new();
    t.create_db();
    let out = t.arena().args(["-v", "battles"]).run().success();
    // A PostgreSQL database is named by its server and database, without its address's
    // user or password.
    let db = if t.on_postgres() {
        "database: postgres ".to_owned()
    } else {
        t.db().display().to_string()
    };
    for shown in [
        db,
        t.path("config.jsonc").display().to_string(),
        t.path("models.json").display().to_string(),
    ] {
        assert!(
            out.stderr().contains(&shown),
            "-v does not name {shown}:\n{}",
            out.stderr()
        );
    }
    let quiet = t
        .arena()
        .args(["battle", "Say hello", "--no-vote", "-q"])
        .run()
        .success();
    assert!(is_battle_id(&quiet.stdout_trimmed()), "{}", quiet.stdout());
    assert_eq!(quiet.stderr(), "", "--quiet still wrote to stderr");
}

#[test]
fn listing_filters_by_status() {
    let up = Upstream::start();
    let t = pair(&up, "stream-one", "stream-two");
    let open = t.battle(&["First question", "--models", "saturn,neptune"]);
    let voted = t.battle(&["Second question", "--models", "saturn,neptune"]);
    t.vote(text(&voted, "battle_id"), "tie");

    let pending = t
        .arena()
        .args(["battles", "--status", "pending_vote", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(pending, json!([open]));

    let completed = t
        .arena()
        .args(["battles", "--status", "completed", "--format", "json"])
        .run()
        .success()
        .json();
    let [done] = completed.as_array().expect("a list").as_slice() else {
        panic!("expected one completed battle: {completed:#}");
    };
    assert_eq!(done["battle_id"], voted["battle_id"]);
    assert_eq!(done["winner"], json!("tie"));

    let limited = t
        .arena()
        .args(["battles", "--limit", "1", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(limited.as_array().map(Vec::len), Some(1), "{limited:#}");
}

#[test]
fn the_battle_table_names_no_model_before_the_vote() {
    let up = Upstream::start();
    let t = pair(&up, "stream-one", "stream-two");
    let open = t.battle(&["First question", "--models", "saturn,neptune"]);
    t.arena()
        .args(["battles"])
        .run()
        .success()
        .stdout_contains(text(&open, "battle_id"))
        .stdout_contains("pending_vote")
        .stdout_lacks(SATURN)
        .stdout_lacks(NEPTUNE);
    t.arena()
        .args(["show", text(&open, "battle_id")])
        .run()
        .success()
        .stdout_contains(&answer("stream-one"))
        .stdout_contains(&answer("stream-two"))
        .stdout_lacks(SATURN)
        .stdout_lacks(NEPTUNE);
}

#[test]
fn a_battle_killed_mid_generation_stays_stuck_until_unstuck() {
    let up = Upstream::start();
    let t = pair(&up, "stall", "stream-two");
    let mut child = t
        .command(&t.path("config.jsonc"), &t.path("models.json"))
        .args([
            "battle",
            "Name three colours",
            "--models",
            "saturn,neptune",
            "--no-vote",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start arena");
    // The battle is stored before its requests go out; once the stalled side has been asked,
    // the process is killed in the middle of generation.
    let mut polls = 0;
    while up.hits("stall") == 0 {
        assert!(polls < 400, "the stalled model was never called");
        assert!(
            child.try_wait().expect("the child's status").is_none(),
            "arena ended before the stalled side was asked"
        );
        polls += 1;
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    child.kill().expect("kill arena");
    child.wait().expect("reap arena");

    let stuck = t
        .arena()
        .args([
            "battles",
            "--status",
            "pending_generation",
            "--format",
            "json",
        ])
        .run()
        .success()
        .json();
    let [battle] = stuck.as_array().expect("a list").as_slice() else {
        panic!("expected one stuck battle: {stuck:#}");
    };
    let id = text(battle, "battle_id");
    assert_blinded(battle);
    t.arena()
        .args(["vote", id, "a"])
        .run()
        .code(4)
        .stderr_contains(id);

    t.arena()
        .args(["unstuck"])
        .run()
        .success()
        .stdout_contains("cleared 1 stuck battle");
    let cleared = t.show(id);
    assert_eq!(text(&cleared, "status"), "failed", "{cleared:#}");
    assert!(text(&cleared, "error").contains("unstuck"), "{cleared:#}");
    t.arena()
        .args(["unstuck"])
        .run()
        .success()
        .stdout_contains("no stuck battles");
}
