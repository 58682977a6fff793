//! The page at `/` in a real browser: `tests/browser/page.test.mjs` drives headless Chromium
//! (Debian's package, through npm `playwright-core`, with npm `axe-core` injected) against
//! `arena serve` processes of the built binary and the recording fake upstream:
//!
//! - `main`, open: two models that stream Markdown (`prose-*`); a blind battle, a follow-up
//!   turn, "my battles", the leaderboard, axe-core on every view, the screenshots;
//! - `trouble`, open, one battle an hour per user: an answer full of markup (`xss-*`), a side
//!   that fails (`cut-*`), a slow one whose stream the test cuts (`slow-*`), the 429;
//! - `keyed`, with a user key, in Chinese, its pool not exposed: the key, the language, the
//!   views that need the pool hidden.
//!
//! Afterwards the ratings the page showed are checked against `arena leaderboard --format json`
//! on the same database. Screenshots go to `target/browser-screenshots/`, or, with
//! `ARENA_UPDATE_SCREENSHOTS=1`, to `docs/screenshots/` (those the README shows).
//!
//! `scripts/browser-setup.sh` installs what this needs. Without it the test says so and
//! passes, unless `ARENA_BROWSER_TESTS=1` (as in CI), where anything missing fails it.
//! `ARENA_BROWSER_ONLY=PATTERN` runs only the tests whose names match (node's
//! `--test-name-pattern`) and skips the comparison with the command line at the end.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Test, Upstream};

/// The one prompt of `main`'s pool, of the theme `poetry`.
const RANDOM_PROMPT: &str = "Write a poem about the sea at night";

/// The longest the whole browser suite may take: a guard against hangs, not a measure.
const SUITE_GUARD: Duration = Duration::from_secs(600);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("ARENA_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Why the suite cannot run here, if it cannot.
fn missing() -> Option<String> {
    let modules = root().join("tests/browser/node_modules");
    for package in ["playwright-core", "axe-core"] {
        if !modules.join(package).is_dir() {
            return Some(format!("tests/browser/node_modules has no {package}"));
        }
    }
    if !chromium().is_file() {
        return Some(format!("no Chromium at {}", chromium().display()));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Some("node cannot run".into());
    }
    None
}

/// An `arena serve` process of the built binary on a free port of 127.0.0.1; killed when
/// dropped.
struct Serve {
    child: Child,
    url: String,
}

impl Serve {
    fn start(t: &Test) -> Serve {
        let mut command = t.command(&t.path("config.jsonc"), &t.path("models.json"));
        command
            .args(["serve", "--port", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("arena serve starts");
        let stderr = child.stderr.take().expect("its stderr");
        let (tx, rx) = mpsc::channel();
        // Reads stderr to its end, so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("arena serve: listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| {
                let _ = child.kill();
                panic!("arena serve never said where it listens: {e}")
            });
        Serve { child, url }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why `arena serve` at `url` does not serve the page, if it does not (a build without the
/// page's routes).
fn page_missing(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    // A plain HTTP/1.0 request: enough for a status line and a small body.
    let address = url.trim_start_matches("http://");
    let mut stream = match std::net::TcpStream::connect(address) {
        Ok(s) => s,
        Err(e) => return Some(format!("{url} refused a connection: {e}")),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let request = format!("GET / HTTP/1.0\r\nHost: {address}\r\nAccept: text/html\r\n\r\n");
    let mut answer = Vec::new();
    if let Err(e) = stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.read_to_end(&mut answer))
    {
        return Some(format!("GET {url}/ failed: {e}"));
    }
    let answer = String::from_utf8_lossy(&answer);
    let ok = answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200");
    (!ok || !answer.contains("/assets/app.js")).then(|| {
        let status = answer.lines().next().unwrap_or_default();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        format!(
            "arena serve does not serve the page at / ({status}: {})",
            body.chars().take(120).collect::<String>()
        )
    })
}

fn arena(up: &Upstream, models: &[(&str, &str)], config: &Value) -> Test {
    Test::new()
        .with_config_keys(config)
        .with_upstream_models(up, models)
}

#[test]
fn the_page_runs_battles_side_by_side_chat_and_the_leaderboard_in_headless_chromium() {
    if let Some(why) = missing() {
        assert!(
            std::env::var("ARENA_BROWSER_TESTS").as_deref() != Ok("1"),
            "ARENA_BROWSER_TESTS=1 but {why}: run scripts/browser-setup.sh"
        );
        eprintln!("skipped: {why} (scripts/browser-setup.sh installs what the browser tests need)");
        return;
    }
    let up = Upstream::start();
    let main_models = [("saturn", "prose-saturn"), ("neptune", "prose-neptune")];
    let main = arena(&up, &main_models, &json!({}));
    main.arena()
        .args(["prompts", "add", "--theme", "poetry", RANDOM_PROMPT])
        .run()
        .success();
    let trouble = arena(
        &up,
        &[
            ("mercury", "xss-mercury"),
            ("venus", "prose-venus"),
            ("mars", "slow-mars"),
            ("jupiter", "cut-jupiter"),
        ],
        &json!({"battles_per_hour": 1}),
    );
    let keyed = arena(
        &up,
        &main_models,
        &json!({"language": "zh-CN", "expose_pool": false}),
    );
    keyed.create_db();
    let added = keyed.arena().args(["keys", "add", "alice"]).run().success();
    let key = added.stdout_trimmed();
    assert!(key.starts_with("arena_"), "no key in {key:?}");

    let servers = [
        Serve::start(&main),
        Serve::start(&trouble),
        Serve::start(&keyed),
    ];
    let [m, tr, k] = &servers;
    if let Some(why) = page_missing(&m.url) {
        assert!(
            std::env::var("ARENA_BROWSER_TESTS").as_deref() != Ok("1"),
            "ARENA_BROWSER_TESTS=1 but {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let report = main.path("browser-report.json");
    let shots = if std::env::var("ARENA_UPDATE_SCREENSHOTS").as_deref() == Ok("1") {
        root().join("docs/screenshots")
    } else {
        root().join("target/browser-screenshots")
    };
    let address = up.base_url();
    let targets = json!({
        "main": {
            "url": m.url,
            "models": {"saturn": "prose-saturn", "neptune": "prose-neptune"},
            "randomPrompt": {"theme": "poetry", "text": RANDOM_PROMPT},
            "secrets": ["saturn", "neptune", "prose-saturn", "prose-neptune",
                        address.trim_start_matches("http://").trim_end_matches("/v1")],
        },
        "trouble": {"url": tr.url, "xss": "mercury", "other": "venus", "slow": "mars", "cut": "jupiter"},
        "keyed": {"url": k.url, "key": key},
        "record": address.replace("/v1", "/requests"),
        "screenshots": shots,
        "report": report,
    });
    let mut command = Command::new("node");
    command
        .args(["--test", "--test-concurrency=1", "--test-reporter=spec"])
        // One test or a few by name, when working on the page.
        .args(std::env::var("ARENA_BROWSER_ONLY").map(|only| format!("--test-name-pattern={only}")))
        .arg(root().join("tests/browser/sse.test.mjs"))
        .arg(root().join("tests/browser/strings.test.mjs"))
        .arg(root().join("tests/browser/page.test.mjs"))
        .current_dir(root().join("tests/browser"))
        .env("ARENA_BROWSER_TARGETS", targets.to_string())
        .env("ARENA_CHROMIUM", chromium());
    let output = assert_cmd::Command::from_std(command)
        .timeout(SUITE_GUARD)
        .output()
        .expect("node runs the browser suite");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the browser suite failed:\n{stdout}\n{stderr}"
    );
    eprintln!("{}", stdout.trim());
    if std::env::var_os("ARENA_BROWSER_ONLY").is_some() {
        // A few tests by name: the leaderboard test may not have run.
        return;
    }

    // The ratings the page showed are those of the command line, on the same database.
    let shown: Value = serde_json::from_str(
        &std::fs::read_to_string(&report).expect("the suite wrote its report"),
    )
    .expect("the report is JSON");
    let cli = main
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    let rows = cli["leaderboard"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{cli:#}");
    for row in rows {
        let name = row["model_name"].as_str().expect("a name");
        let page = &shown["board"]["rows"][name];
        let rating: f64 = page["rating"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("the page showed no rating for {name}: {shown:#}"));
        let exact = row["rating"].as_f64().expect("a rating");
        assert!(
            (rating - exact).abs() <= 0.05 + 1e-9,
            "{name}: the page showed {rating}, the command line says {exact}"
        );
        assert_eq!(page["battles"], row["battles"], "{name}");
    }
}
