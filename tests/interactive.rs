//! An interactive battle driven through a pseudo-terminal: the answers appear, the vote is
//! chosen with the arrow keys, and only then are the models named.

use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::{Eof, Expect, Session};
use serde_json::json;

use crate::support::{Test, Upstream, answer, text};

/// How long to wait for each expected piece of output: generous, a guard against hangs.
const WAIT: Duration = Duration::from_secs(20);

/// The terminal text without escape sequences (cursor moves, clears, colours).
fn plain(bytes: &[u8]) -> String {
    let raw = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters, then one final byte in '@'..='~'.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC '\'.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn interactive_battle_reveals_the_models_only_after_the_vote() {
    let up = Upstream::start();
    let t = Test::new()
        .with_upstream_models(&up, &[("saturn", "stream-one"), ("neptune", "stream-two")]);
    let mut command = t.command(&t.path("config.jsonc"), &t.path("models.json"));
    command.args(["battle", "Name three colours", "--models", "saturn,neptune"]);
    command.env("TERM", "xterm-256color");

    let mut session = Session::spawn(command).expect("arena in a pseudo-terminal");
    session.set_expect_timeout(Some(WAIT));
    session
        .get_process_mut()
        .set_window_size(160, 50)
        .expect("a wide terminal");

    // Everything up to the last choice of the vote prompt is what the voter sees before voting.
    let shown = session.expect("Skip").expect("the vote prompt");
    let mut before_vote = plain(shown.before());
    before_vote.push_str(&plain(shown.as_bytes()));
    for needle in ["A is better", "B is better", "Tie", "Both are bad"] {
        assert!(
            before_vote.contains(needle),
            "no {needle:?} in:\n{before_vote}"
        );
    }
    for side in ["Assistant A", "Assistant B"] {
        assert!(before_vote.contains(side), "no {side:?} in:\n{before_vote}");
    }
    for model in ["stream-one", "stream-two"] {
        assert!(
            before_vote.contains(&answer(model)),
            "the answer of {model} is not on screen:\n{before_vote}"
        );
    }
    for name in ["saturn", "neptune"] {
        assert!(
            !before_vote.contains(name),
            "`{name}` is on screen before the vote:\n{before_vote}"
        );
    }

    // "A is better" is selected first: one step down is "B is better".
    session.send("\u{1b}[B").expect("arrow down");
    session.send("\r").expect("enter");
    let rest = session.expect(Eof).expect("the reveal, then the end");
    let reveal = plain(rest.as_bytes());
    for name in ["saturn", "neptune"] {
        assert!(reveal.contains(name), "`{name}` is not revealed:\n{reveal}");
    }
    // B won an even match: 1000 -> 1016 for B, 1000 -> 984 for A.
    for rating in ["1016", "984"] {
        assert!(
            reveal.contains(rating),
            "no rating {rating} in the reveal:\n{reveal}"
        );
    }
    let status = session.get_process().wait().expect("the exit status");
    assert!(
        matches!(status, WaitStatus::Exited(_, 0)),
        "{status:?}\n{reveal}"
    );

    let battles = t.battles();
    let [battle] = battles.as_array().expect("a list").as_slice() else {
        panic!("expected one battle: {battles:#}");
    };
    assert_eq!(battle["status"], json!("completed"), "{battle:#}");
    assert_eq!(battle["winner"], json!("model_b"), "{battle:#}");
    let winner = text(battle, "model_b");
    assert!(
        reveal.contains(winner),
        "the winner {winner} is not on the reveal:\n{reveal}"
    );
}

#[test]
fn ctrl_c_during_generation_cancels_the_battle() {
    // Slow mock models: the answers take seconds, so Ctrl-C lands while they stream.
    let t = Test::new().with_models(&json!({"models": [
        {"name": "slow-a", "provider": "mock", "params": {"delay_ms": 300}},
        {"name": "slow-b", "provider": "mock", "params": {"delay_ms": 300}},
    ]}));
    let mut command = t.command(&t.path("config.jsonc"), &t.path("models.json"));
    command.args(["battle", "Tell me a long story"]);
    command.env("TERM", "xterm-256color");
    let mut session = Session::spawn(command).expect("arena in a pseudo-terminal");
    session.set_expect_timeout(Some(WAIT));
    session
        .expect("Assistant A")
        .expect("progress while generating");
    session
        .send(expectrl::ControlCode::EndOfText)
        .expect("Ctrl-C");
    let rest = session.expect(Eof).expect("the end");
    let screen = plain(rest.before()) + &plain(rest.as_bytes());
    assert!(screen.contains("cancelled"), "{screen}");
    let status = session.get_process().wait().expect("the exit status");
    assert!(
        matches!(status, WaitStatus::Exited(_, 130)),
        "{status:?}\n{screen}"
    );
    let battles = t.battles();
    let [battle] = battles.as_array().expect("a list").as_slice() else {
        panic!("expected one battle: {battles:#}");
    };
    assert_eq!(battle["status"], json!("failed"), "{battle:#}");
    assert!(text(battle, "error").contains("cancelled"), "{battle:#}");
}
