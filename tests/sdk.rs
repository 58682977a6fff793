//! The official `openai` SDKs, Python and npm, against a running server: their scripts
//! (`tests/sdk/`) list models, chat with a pool model whole and streamed (with
//! `stream_options.include_usage`), run a battle through in-chat commands, and meet their
//! error classes on a 401, 404, 409 and 429 (a second battle over the hourly limit).
//!
//! The SDKs come from the package registries (`scripts/sdk-setup.sh`). Without them these
//! tests say so and pass, unless `ARENA_SDK_TESTS=1` (as in CI), where a missing SDK fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::Upstream;
use crate::support::server::Server;

const KEY: &str = "sdk-secret-key";

fn models(up: &Upstream) -> Value {
    let base = up.base_url();
    json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": base},
        {"name": "neptune", "model": "stream-two", "base_url": base},
    ]})
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter and script of one SDK, or why it cannot run.
fn locate(python: bool) -> Result<(PathBuf, PathBuf), String> {
    if python {
        let venv = root().join("target/sdk/venv/bin/python");
        let interpreter = std::env::var_os("ARENA_SDK_PYTHON").map_or(venv, PathBuf::from);
        let ok = Command::new(&interpreter)
            .args(["-c", "import openai"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Err(format!("{} cannot import openai", interpreter.display()));
        }
        Ok((interpreter, root().join("tests/sdk/python/check.py")))
    } else {
        if !root().join("tests/sdk/node/node_modules/openai").is_dir() {
            return Err("tests/sdk/node/node_modules has no openai".into());
        }
        Ok((
            PathBuf::from("node"),
            root().join("tests/sdk/node/check.mjs"),
        ))
    }
}

fn run(python: bool) {
    let (interpreter, script) = match locate(python) {
        Ok(found) => found,
        Err(why) => {
            assert!(
                std::env::var("ARENA_SDK_TESTS").as_deref() != Ok("1"),
                "ARENA_SDK_TESTS=1 but {why}: run scripts/sdk-setup.sh"
            );
            eprintln!("skipped: {why} (scripts/sdk-setup.sh installs the SDKs)");
            return;
        }
    };
    let up = Upstream::start();
    let s = Server::start(
        &json!({"api_key": KEY, "battles_per_hour": 1}),
        &models(&up),
    );
    let output = Command::new(&interpreter)
        .arg(&script)
        .env("ARENA_BASE_URL", s.url("/v1"))
        .env("ARENA_API_KEY", KEY)
        .env("ARENA_POOL_MODEL", "saturn")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .output()
        .unwrap_or_else(|e| panic!("{} cannot run: {e}", interpreter.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains(": ok"),
        "{} failed:\n{stdout}\n{stderr}",
        script.display()
    );
    eprintln!("{}", stdout.trim());
}

#[test]
fn the_python_sdk_lists_chats_streams_battles_and_meets_its_error_classes() {
    run(true);
}

#[test]
fn the_node_sdk_lists_chats_streams_battles_and_meets_its_error_classes() {
    run(false);
}
