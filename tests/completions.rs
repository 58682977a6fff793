//! The shell completions checked in under `completions/` must match what the binary generates.

use std::path::Path;

use crate::support::Test;

const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/completions");

/// The checked-in file for each shell `arena completions` knows.
const FILES: [(&str, &str); 5] = [
    ("bash", "arena.bash"),
    ("zsh", "_arena"),
    ("fish", "arena.fish"),
    ("powershell", "_arena.ps1"),
    ("elvish", "arena.elv"),
];

const REGENERATE: &str =
    "run `cargo run -- generate-completions completions` and commit the result";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {REGENERATE}", path.display()))
}

#[test]
fn checked_in_completions_are_fresh() {
    let t = Test::new();
    t.arena()
        .arg("generate-completions")
        .arg(t.path("fresh"))
        .run()
        .success();
    let mut stale = Vec::new();
    for (_, file) in FILES {
        let fresh = read(&t.path("fresh").join(file));
        let checked_in = read(&Path::new(CHECKED_IN).join(file));
        if fresh != checked_in {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "completions/{} out of date: {REGENERATE}",
        stale.join(", completions/")
    );
}

#[test]
fn completions_command_prints_the_checked_in_script() {
    let t = Test::new();
    for (shell, file) in FILES {
        let printed = t
            .arena()
            .args(["completions", shell])
            .run()
            .success()
            .stdout();
        let checked_in = read(&Path::new(CHECKED_IN).join(file));
        assert!(
            printed == checked_in,
            "`arena completions {shell}` differs from completions/{file}: {REGENERATE}"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    Test::new()
        .arena()
        .args(["completions", "tcsh"])
        .run()
        .code(2)
        .stderr_contains("tcsh");
}
