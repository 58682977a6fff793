//! What reaches a terminal: model text without escape sequences, logs that name no model of a
//! pending battle, an answer cut short is no answer, and a vote prompt that gives the cursor
//! back.

use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{Eof, Expect, Session};
use serde_json::json;

use crate::support::{ANSI_ANSWER, Test, Upstream, refused_port, text};

fn pair(up: &Upstream, a: &str, b: &str) -> Test {
    Test::new().with_upstream_models(up, &[("saturn", a), ("neptune", b)])
}

#[test]
fn escape_sequences_in_answers_never_reach_the_terminal() {
    let up = Upstream::start();
    let t = pair(&up, "ansi-one", "ansi-two");
    let battle = t.battle(&["Hello", "--models", "saturn,neptune"]);
    // JSON keeps the answer exactly as it came.
    assert_eq!(battle["response_a"], json!(ANSI_ANSWER));
    let id = text(&battle, "battle_id");
    for args in [
        vec!["show", id],
        vec!["battles"],
        vec!["battles", "--format", "markdown"],
    ] {
        let out = t.arena().args(&args).run().success();
        let shown = out.stdout();
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
            "{args:?} printed a control character:\n{shown:?}"
        );
        if args[0] == "show" {
            assert!(shown.contains("Plain start middle"), "{shown}");
            // The tab became spaces up to the next multiple of 8 (column 18 to 24).
            assert!(shown.contains("middle      after-tab"), "{shown:?}");
            assert!(!shown.contains('\t'), "{shown:?}");
        }
    }
    t.vote(id, "a");
    let shown = t.arena().args(["show", id]).run().success().stdout();
    assert!(!shown.contains('\u{1b}'), "{shown:?}");
}

#[test]
fn no_log_level_names_a_pending_battles_models() {
    let up = Upstream::start();
    let dead = || format!("http://127.0.0.1:{}/v1", refused_port());
    // A pool of three refusing endpoints and one that answers, tried in a random order: the
    // refusals before the answer are logged at debug level.
    let t = Test::new().with_models(&json!({"models": [
        {"name": "m-pool", "endpoints": [
            {"base_url": dead(), "model": "pool-member-dead"},
            {"base_url": dead(), "model": "pool-member-dead"},
            {"base_url": dead(), "model": "pool-member-dead"},
            {"base_url": up.base_url(), "model": "stream-pool-live"}]},
        {"name": "m-other", "model": "stream-other", "base_url": up.base_url()},
    ]}));
    let mut logged = 0;
    // Six runs: the chance that the live endpoint comes first every time is 1 in 4096.
    for _ in 0..6 {
        let out = t
            .arena()
            .args([
                "-vv",
                "battle",
                "Hello",
                "--models",
                "m-pool,m-other",
                "--no-vote",
            ])
            .run()
            .success();
        let err = out.stderr();
        logged += usize::from(err.contains("an endpoint failed"));
        for secret in [
            "m-pool",
            "m-other",
            "pool-member",
            "stream-pool-live",
            "stream-other",
        ] {
            assert!(!err.contains(secret), "-vv names {secret}:\n{err}");
        }
    }
    assert!(logged > 0, "no endpoint failure was logged to check");
}

#[test]
fn a_stream_that_ends_without_done_or_finish_reason_fails_the_battle() {
    let up = Upstream::start();
    let t = pair(&up, "cut-one", "stream-two");
    let out = t
        .arena()
        .args(["battle", "Hello", "--models", "saturn,neptune", "--no-vote"])
        .run()
        .code(3);
    out.stderr_contains("cut short");
    let battles = t.battles();
    assert_eq!(battles[0]["status"], json!("failed"), "{battles:#}");
    assert!(
        text(&battles[0], "error").contains("cut short"),
        "{battles:#}"
    );
    t.arena()
        .args(["models", "check", "saturn"])
        .run()
        .code(3)
        .stdout_contains("FAILED");
}

#[test]
fn ctrl_c_at_the_vote_prompt_gives_the_cursor_back() {
    let t = Test::new();
    let mut command = t.command(&t.path("config.jsonc"), &t.path("models.json"));
    command.args(["battle", "Say hello"]);
    command.env("TERM", "xterm-256color");
    let mut session = Session::spawn(command).expect("arena in a pseudo-terminal");
    session.set_expect_timeout(Some(Duration::from_secs(20)));
    session.expect("Skip").expect("the vote prompt");
    session
        .send(expectrl::ControlCode::EndOfText)
        .expect("Ctrl-C");
    let rest = session.expect(Eof).expect("the end");
    let screen = String::from_utf8_lossy(rest.before()).into_owned()
        + &String::from_utf8_lossy(rest.as_bytes());
    let hidden = screen.rfind("\u{1b}[?25l");
    let shown = screen.rfind("\u{1b}[?25h");
    assert!(
        shown.is_some() && shown > hidden,
        "the cursor stays hidden:\n{screen:?}"
    );
    let status = session.get_process().wait().expect("the exit status");
    assert!(matches!(status, WaitStatus::Exited(_, 130)), "{status:?}");
    assert_eq!(t.battles()[0]["status"], json!("pending_vote"));
}
