//! The in-chat battle grammar (SPEC §4): commands at the start of a user message drive a blind
//! battle from any chat client.
//!
//! | command | meaning |
//! | --- | --- |
//! | `$sA<RPID>` `$startA<RPID>` / `$sB…` `$startB…` | start a battle under RPID, answer as A (B) |
//! | `$A` `$battleA` / `$B` `$battleB` | answer as A (B) |
//! | `$wA` `$winA` / `$wB` `$winB` / `$tie` / `$bad` | record the result |
//! | `$skip` | leave the battle without a result (a skip: no rating moves) |
//!
//! Every command but start may carry the RPID right after it (`$B777`, `$wA777`); start
//! needs one. An RPID is ASCII `[A-Za-z0-9_-]{1,64}`. The command ends where the RPID ends:
//! whatever follows, in any script, is the message's text (`$B777你好` is `$B` on battle 777
//! with the text `你好`); an RPID longer than 64 characters makes it no command at all.

use std::fmt;

/// A side of a battle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    A,
    B,
}

/// The result a command records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    WinA,
    WinB,
    Tie,
    BothBad,
    /// No result: the battle is left (it counts as a skip).
    Skip,
}

/// What a command asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Start a battle and answer as this side.
    Start(Which),
    /// Answer as this side.
    Answer(Which),
    /// Record the result.
    Result(Verdict),
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub action: Action,
    /// The battle it names, when it names one.
    pub rpid: Option<String>,
}

/// Why a command could not be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// A start without the RPID of the battle to start.
    StartNeedsRpid(String),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::StartNeedsRpid(word) => write!(
                f,
                "`{word}` starts a battle and needs its id right after it, such as {word}123 \
                 (letters, digits, `_` and `-`, up to 64)"
            ),
        }
    }
}

/// The keywords, longest first so that no keyword stops at a shorter one's end.
const KEYWORDS: [(&str, Action); 15] = [
    ("$startA", Action::Start(Which::A)),
    ("$startB", Action::Start(Which::B)),
    ("$battleA", Action::Answer(Which::A)),
    ("$battleB", Action::Answer(Which::B)),
    ("$winA", Action::Result(Verdict::WinA)),
    ("$winB", Action::Result(Verdict::WinB)),
    ("$tie", Action::Result(Verdict::Tie)),
    ("$bad", Action::Result(Verdict::BothBad)),
    ("$skip", Action::Result(Verdict::Skip)),
    ("$sA", Action::Start(Which::A)),
    ("$sB", Action::Start(Which::B)),
    ("$wA", Action::Result(Verdict::WinA)),
    ("$wB", Action::Result(Verdict::WinB)),
    ("$A", Action::Answer(Which::A)),
    ("$B", Action::Answer(Which::B)),
];

/// The longest RPID.
pub const MAX_RPID: usize = 64;

fn rpid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether `s` is an RPID.
#[must_use]
pub fn is_rpid(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_RPID && s.chars().all(rpid_char)
}

/// The command at the start of `text` (after leading whitespace), and the text after it;
/// `None` when the text starts with no command.
pub fn parse(text: &str) -> Option<(Result<Command, CommandError>, &str)> {
    let body = text.trim_start();
    let (word, action) = KEYWORDS.iter().find(|(k, _)| body.starts_with(k))?;
    let after = &body[word.len()..];
    let rpid_len = after.find(|c: char| !rpid_char(c)).unwrap_or(after.len());
    if rpid_len > MAX_RPID {
        return None;
    }
    let (rpid, rest) = after.split_at(rpid_len);
    // Without an RPID, only whitespace or the end may follow (SPEC §4): `$A你好` and `$tie,`
    // are text, not commands.
    if rpid.is_empty() && rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let rpid = (!rpid.is_empty()).then(|| rpid.to_owned());
    if matches!(action, Action::Start(_)) && rpid.is_none() {
        return Some((Err(CommandError::StartNeedsRpid((*word).to_owned())), rest));
    }
    Some((
        Ok(Command {
            action: *action,
            rpid,
        }),
        rest,
    ))
}

/// `text` without the command it starts with, if any: what goes upstream.
#[must_use]
pub fn strip(text: &str) -> &str {
    match parse(text) {
        Some((_, rest)) => rest,
        None => text,
    }
}

/// The command of the `extra_body` fields of the battle server (`rpid`, `start_models`,
/// `battle_models`, `win_models`), each `A`, `B` (and for a result `tie` or `bad`).
#[must_use]
pub fn from_fields(
    rpid: Option<&str>,
    start: Option<&str>,
    battle: Option<&str>,
    win: Option<&str>,
) -> Option<Result<Command, CommandError>> {
    let side = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
        "a" | "model_a" => Some(Which::A),
        "b" | "model_b" => Some(Which::B),
        _ => None,
    };
    let rpid = rpid.filter(|r| is_rpid(r)).map(str::to_owned);
    let action = if let Some(which) = start.and_then(side) {
        if rpid.is_none() {
            return Some(Err(CommandError::StartNeedsRpid("start_models".into())));
        }
        Action::Start(which)
    } else if let Some(which) = battle.and_then(side) {
        Action::Answer(which)
    } else if let Some(w) = win {
        Action::Result(match w.trim().to_ascii_lowercase().as_str() {
            "a" | "model_a" => Verdict::WinA,
            "b" | "model_b" => Verdict::WinB,
            "tie" => Verdict::Tie,
            "bad" | "both_bad" | "bothbad" => Verdict::BothBad,
            "skip" => Verdict::Skip,
            _ => return None,
        })
    } else {
        return None;
    };
    Some(Ok(Command { action, rpid }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cmd(text: &str) -> (Command, &str) {
        let (c, rest) = parse(text).unwrap_or_else(|| panic!("no command in {text:?}"));
        (c.unwrap_or_else(|e| panic!("{text:?}: {e}")), rest)
    }

    #[test]
    fn every_command_and_its_long_form() {
        for (text, action, rpid) in [
            ("$sA123", Action::Start(Which::A), Some("123")),
            ("$startBx_9-Z", Action::Start(Which::B), Some("x_9-Z")),
            ("$A", Action::Answer(Which::A), None),
            ("$battleB", Action::Answer(Which::B), None),
            ("$B777", Action::Answer(Which::B), Some("777")),
            ("$wA", Action::Result(Verdict::WinA), None),
            ("$winB42", Action::Result(Verdict::WinB), Some("42")),
            ("$wA777", Action::Result(Verdict::WinA), Some("777")),
            ("$tie", Action::Result(Verdict::Tie), None),
            ("$bad9", Action::Result(Verdict::BothBad), Some("9")),
            ("$skip12", Action::Result(Verdict::Skip), Some("12")),
        ] {
            let (c, _) = cmd(text);
            assert_eq!(c.action, action, "{text}");
            assert_eq!(c.rpid.as_deref(), rpid, "{text}");
        }
    }

    #[test]
    fn text_after_a_command_is_kept_in_any_script() {
        assert_eq!(cmd("$B777你好，世界").1, "你好，世界");
        assert_eq!(cmd("  $A 继续写下去").1, "继续写下去");
        assert_eq!(cmd("$sA12 Write a haiku").1, "Write a haiku");
        assert_eq!(cmd("$tie").1, "");
        assert_eq!(strip("$A 更多 text"), "更多 text");
        // An argument-less command needs whitespace or the end after it.
        assert_eq!(strip("$A更多 text"), "$A更多 text");
        assert!(parse("$tie,").is_none() && parse("$bad!").is_none());
        assert!(parse("$tie\nthanks").is_some());
        assert_eq!(strip("no command here"), "no command here");
        assert_eq!(strip("costs $5"), "costs $5");
    }

    #[test]
    fn a_start_needs_its_rpid_and_long_rpids_are_no_command() {
        assert!(matches!(parse("$sA hello"), Some((Err(_), "hello"))));
        assert!(parse(&format!("$B{}", "x".repeat(65))).is_none());
        assert!(parse(&format!("$B{}", "x".repeat(64))).is_some());
        assert!(parse("A plain message").is_none());
        assert!(parse("$C").is_none());
    }

    #[test]
    fn extra_body_fields_read_as_commands() {
        let c = from_fields(Some("77"), Some("A"), None, None)
            .unwrap()
            .unwrap();
        assert_eq!(c.action, Action::Start(Which::A));
        let c = from_fields(None, None, None, Some("tie")).unwrap().unwrap();
        assert_eq!(c.action, Action::Result(Verdict::Tie));
        assert!(from_fields(None, Some("B"), None, None).unwrap().is_err());
        assert!(from_fields(None, None, None, None).is_none());
    }

    proptest! {
        /// Whatever follows a command is the text, byte for byte, after the whitespace.
        #[test]
        fn the_rest_is_what_follows(rest in "\\\\PC{0,40}", rpid in "[A-Za-z0-9_-]{1,64}") {
            let text = format!("$wB{rpid} {rest}");
            let (c, after) = parse(&text).expect("a command");
            let c = c.expect("valid");
            prop_assert_eq!(c.rpid.as_deref(), Some(rpid.as_str()));
            prop_assert_eq!(after, rest.trim_start());
        }

        /// No text makes the parser panic, and stripping never grows a message.
        #[test]
        fn any_text_is_safe(text in "\\\\PC{0,80}") {
            let _ = parse(&text);
            prop_assert!(strip(&text).len() <= text.len());
        }
    }
}
