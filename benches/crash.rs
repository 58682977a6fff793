//! The crash loop (docs/reliability.md): kills arena with SIGKILL at random moments and
//! checks that nothing acknowledged was lost and nothing was half-written.
//!
//! - `arena serve` under a load of battles and votes, killed `ARENA_CRASH_KILLS` times
//!   (default 8) 0.3 to 1.5 s after each start, restarted each time;
//! - `arena import` of a 1,000,000-vote log killed mid-way five times, then run to its end;
//! - `arena vote` killed at random moments, 60 times.
//!
//! Then: every vote whose answer was received is in the database with its choice, every
//! battle is whole, `PRAGMA integrity_check` says ok, and the leaderboard served equals the
//! one recomputed from the votes by `arena rebuild`. Prints the figures and exits non-zero
//! on any loss. Loopback only; bounded (about a minute).
//!
//!   cargo bench --bench crash

#[allow(dead_code)]
mod common;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::RngExt;
use serde_json::{Value, json};

const ARENA: &str = env!("CARGO_BIN_EXE_arena");
const CLIENTS: usize = 16;

struct Env {
    dir: PathBuf,
    db: PathBuf,
    config: PathBuf,
    models: PathBuf,
}

impl Env {
    fn new(dir: &Path, name: &str) -> Env {
        let config = dir.join("config.jsonc");
        std::fs::write(
            &config,
            json!({"battles_per_hour": 0, "battle_interval_seconds": 0,
                   "max_concurrent_battles": 0, "max_inflight_requests": 4096,
                   "user_id_salt": "crash-loop-user-key-0123456789abcdef"})
            .to_string(),
        )
        .expect("config");
        let models = dir.join("models.json");
        std::fs::write(
            &models,
            json!({"models": [
                {"name": "mock-1", "provider": "mock", "params": {"delay_ms": 0}},
                {"name": "mock-2", "provider": "mock", "params": {"delay_ms": 0}},
                {"name": "mock-3", "provider": "mock", "params": {"delay_ms": 0}},
            ]})
            .to_string(),
        )
        .expect("models");
        Env {
            dir: dir.to_owned(),
            db: dir.join(name),
            config,
            models,
        }
    }

    fn arena(&self) -> Command {
        let mut c = Command::new(ARENA);
        c.arg("--db")
            .arg(&self.db)
            .arg("--config")
            .arg(&self.config)
            .arg("--models")
            .arg(&self.models)
            .args(["-q", "--no-progress"])
            .current_dir(&self.dir);
        c
    }

    fn serve(&self) -> (Child, String) {
        let mut child = self
            .arena()
            .args(["serve", "--port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("arena serve");
        let base = common::served_address(&mut child);
        (child, base)
    }

    fn output(&self, args: &[&str]) -> String {
        let out = self.arena().args(args).output().expect("arena");
        assert!(
            out.status.success(),
            "arena {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// What the database holds: battle id → (status, winner), and whether SQLite finds it whole.
struct Found {
    battles: HashMap<String, (String, Option<String>)>,
    votes: u64,
    integrity: String,
    half_written: Vec<String>,
}

fn outcome_name(o: i64) -> String {
    ["model_a", "model_b", "tie", "both_bad", "skip"]
        .get(usize::try_from(o).unwrap_or(usize::MAX))
        .map_or_else(|| format!("outcome {o}"), |s| (*s).to_owned())
}

fn inspect(db: &Path) -> Found {
    let conn = rusqlite::Connection::open(db).expect("open the database");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    let mut battles = HashMap::new();
    let mut half_written = Vec::new();
    let mut stmt = conn
        .prepare(
            "SELECT b.uuid, b.status, v.outcome, b.response_a IS NOT NULL, b.response_b IS NOT NULL,
                    b.error_a IS NOT NULL OR b.error_b IS NOT NULL
             FROM battles b LEFT JOIN votes v ON v.battle_id = b.id",
        )
        .expect("query");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<i64>>(2)?.map(outcome_name),
                r.get::<_, bool>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })
        .expect("rows");
    for row in rows {
        let (uuid, status, outcome, has_a, has_b, has_error) = row.expect("row");
        let id = uuid::Uuid::from_slice(&uuid)
            .map(|u| u.to_string())
            .unwrap_or_default();
        // Whole: a battle waiting for or holding a vote has both answers; a failed one says
        // why; only a completed one has a vote, and it has exactly one.
        let whole = match status.as_str() {
            "pending_generation" => outcome.is_none(),
            "pending_vote" => has_a && has_b && outcome.is_none(),
            "completed" => has_a && has_b && outcome.is_some(),
            "failed" => has_error && outcome.is_none(),
            _ => false,
        };
        if !whole {
            half_written.push(format!("{id} ({status})"));
        }
        battles.insert(id, (status, outcome));
    }
    let votes: i64 = conn
        .query_row("SELECT count(*) FROM votes", [], |r| r.get(0))
        .expect("votes");
    let votes = u64::try_from(votes).unwrap_or(0);
    Found {
        battles,
        votes,
        integrity,
        half_written,
    }
}

/// The served leaderboard's rows (the next update time aside).
fn served_board(env: &Env) -> Value {
    let (mut child, base) = env.serve();
    let body = http_get(&format!("{base}/leaderboard"));
    let _ = child.kill();
    let _ = child.wait();
    serde_json::from_str::<Value>(&body).map_or(Value::Null, |v| v["leaderboard"].clone())
}

fn http_get(url: &str) -> String {
    use std::io::Read;
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut s = std::net::TcpStream::connect(host).expect("connect");
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // A chunked body: drop the chunk-size lines.
    if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body.split("\r\n")
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, l)| l)
            .collect()
    } else {
        body.to_owned()
    }
}

/// The leaderboard served from the counts kept vote by vote, and the one after `arena
/// rebuild` recomputed them from the votes: equal, or the difference.
fn boards_agree(env: &Env) -> Result<(), String> {
    let kept = served_board(env);
    let cli = || {
        let text = env.output(&["leaderboard", "--format", "json"]);
        let mut v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("generated_at");
        }
        v
    };
    let cli_kept = cli();
    env.output(&["rebuild"]);
    let rebuilt = served_board(env);
    let cli_rebuilt = cli();
    if kept.is_null() || kept != rebuilt {
        return Err(format!("served {kept} but rebuilt {rebuilt}"));
    }
    if cli_kept != cli_rebuilt {
        return Err(format!(
            "arena leaderboard {cli_kept} but rebuilt {cli_rebuilt}"
        ));
    }
    Ok(())
}

fn server_loop(dir: &Path, kills: usize, failures: &mut Vec<String>) {
    let env = Env::new(dir, "serve.sqlite3");
    let base = Arc::new(RwLock::new(String::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let created: Arc<Mutex<Vec<String>>> = Arc::default();
    let lost_answers = Arc::new(AtomicU64::new(0));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .expect("client");
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (base, stop, acked, created, lost, client) = (
                base.clone(),
                stop.clone(),
                acked.clone(),
                created.clone(),
                lost_answers.clone(),
                client.clone(),
            );
            runtime.spawn(async move {
                let choices = ["model_a", "model_b", "tie", "both_bad"];
                let user = format!("web:crash-{c}");
                let mut n = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let url = base.read().map(|b| b.clone()).unwrap_or_default();
                    if url.is_empty() {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                    let made = client
                        .post(format!("{url}/battle"))
                        .json(&json!({"battle_type": "low_tier", "user_id": user,
                                      "custom_prompt": format!("Question {n} of {user}")}))
                        .send()
                        .await;
                    let Ok(made) = made else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    if made.status() != 201 {
                        continue;
                    }
                    let Ok(body) = made.json::<Value>().await else {
                        lost.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let Some(id) = body["battle_id"].as_str().map(str::to_owned) else {
                        continue;
                    };
                    if let Ok(mut c) = created.lock() {
                        c.push(id.clone());
                    }
                    let choice = choices[n % choices.len()];
                    n += 1;
                    let voted = client
                        .post(format!("{url}/vote/{id}"))
                        .json(&json!({"vote_choice": choice, "user_id": user}))
                        .send()
                        .await;
                    // Acknowledged only once the whole answer is in.
                    let answered = match voted {
                        Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if answered {
                        if let Ok(mut a) = acked.lock() {
                            a.push((id, choice.to_owned()));
                        }
                    } else {
                        lost.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut rng = rand::rng();
    let started = Instant::now();
    for _ in 0..kills {
        let (mut child, url) = env.serve();
        if let Ok(mut b) = base.write() {
            *b = url;
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        // SIGKILL: no shutdown, no checkpoint, mid-request.
        let _ = child.kill();
        let _ = child.wait();
        if let Ok(mut b) = base.write() {
            b.clear();
        }
    }
    stop.store(true, Ordering::SeqCst);
    runtime.block_on(async {
        for t in tasks {
            let _ = t.await;
        }
    });
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    let created = created.lock().map(|c| c.clone()).unwrap_or_default();
    let found = inspect(&env.db);
    let mut missing = 0;
    for (id, choice) in &acked {
        match found.battles.get(id) {
            Some((status, Some(outcome))) if status == "completed" && outcome == choice => {}
            other => {
                missing += 1;
                failures.push(format!(
                    "serve: acknowledged vote {id} {choice}: found {other:?}"
                ));
            }
        }
    }
    let created_missing = created
        .iter()
        .filter(|id| !found.battles.contains_key(*id))
        .count();
    println!(
        "serve: {kills} kills in {:.1} s; votes acknowledged {}, found {} ({missing} missing); \
         battles acknowledged {}, missing {created_missing}; {} votes in the database \
         ({} requests cut off by a kill); {} battles, {} half-written; integrity_check: {}",
        started.elapsed().as_secs_f64(),
        acked.len(),
        acked.len() - missing,
        created.len(),
        found.votes,
        lost_answers.load(Ordering::Relaxed),
        found.battles.len(),
        found.half_written.len(),
        found.integrity
    );
    if created_missing > 0 {
        failures.push(format!(
            "serve: {created_missing} acknowledged battles missing"
        ));
    }
    if found.integrity != "ok" {
        failures.push(format!("serve: integrity_check says {}", found.integrity));
    }
    if !found.half_written.is_empty() {
        failures.push(format!(
            "serve: half-written battles {:?}",
            found.half_written
        ));
    }
    match boards_agree(&env) {
        Ok(()) => println!("serve: the served leaderboard equals the one rebuilt from the votes"),
        Err(e) => failures.push(format!("serve: {e}")),
    }
}

fn write_log(path: &Path, n: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("log"));
    let mut rng = rand::rng();
    let winners = ["model_a", "model_b", "tie", "tie (bothbad)"];
    for i in 0..n {
        let a = rng.random_range(0..40);
        let b = (a + 1 + rng.random_range(0..39)) % 40;
        let w = winners[rng.random_range(0..4)];
        writeln!(
            out,
            "{{\"question_id\": \"q{i}\", \"model_a\": \"m{a:02}\", \"model_b\": \"m{b:02}\", \
             \"winner\": \"{w}\", \"tstamp\": {}}}",
            1_700_000_000 + i
        )
        .expect("write");
    }
}

fn import_loop(dir: &Path, failures: &mut Vec<String>) {
    let env = Env::new(dir, "import.sqlite3");
    let log = dir.join("votes.jsonl");
    let rows = 1_000_000;
    write_log(&log, rows);
    let mut rng = rand::rng();
    let mut killed = 0;
    for _ in 0..5 {
        let mut child = env
            .arena()
            .arg("import")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("arena import");
        std::thread::sleep(Duration::from_millis(rng.random_range(50..800)));
        if child.try_wait().ok().flatten().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let found = inspect(&env.db);
        if found.integrity != "ok" {
            failures.push(format!(
                "import: integrity_check after a kill: {}",
                found.integrity
            ));
        }
    }
    let between = inspect(&env.db).votes;
    env.output(&["import", log.to_str().unwrap_or_default()]);
    let found = inspect(&env.db);
    println!(
        "import: {killed} of 5 runs killed mid-way ({between} votes in after them); then to the \
         end: {} votes of {rows} rows; integrity_check: {}",
        found.votes, found.integrity
    );
    if found.votes != rows as u64 {
        failures.push(format!("import: {} votes for {rows} rows", found.votes));
    }
    if found.integrity != "ok" {
        failures.push(format!("import: integrity_check says {}", found.integrity));
    }
    match boards_agree(&env) {
        Ok(()) => println!("import: the leaderboard equals the one rebuilt from the votes"),
        Err(e) => failures.push(format!("import: {e}")),
    }
}

fn vote_loop(dir: &Path, failures: &mut Vec<String>) {
    let env = Env::new(dir, "vote.sqlite3");
    let mut rng = rand::rng();
    let runs = 60;
    let mut acked = Vec::new();
    let mut killed = 0;
    for _ in 0..runs {
        let id = env
            .output(&["battle", "--no-vote", "Say something"])
            .trim()
            .to_owned();
        let mut child = env
            .arena()
            .args(["vote", &id, "b"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("arena vote");
        std::thread::sleep(Duration::from_micros(rng.random_range(0..30_000)));
        match child.try_wait() {
            Ok(Some(status)) if status.success() => acked.push(id),
            _ => {
                killed += 1;
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
    let found = inspect(&env.db);
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| found.battles.get(*id).and_then(|(_, w)| w.as_deref()) != Some("model_b"))
        .collect();
    println!(
        "vote: {runs} runs, {killed} killed before they ended; {} acknowledged, {} found; \
         {} votes in the database; {} half-written; integrity_check: {}",
        acked.len(),
        acked.len() - missing.len(),
        found.votes,
        found.half_written.len(),
        found.integrity
    );
    if !missing.is_empty() {
        failures.push(format!("vote: acknowledged but missing {missing:?}"));
    }
    if found.integrity != "ok" || !found.half_written.is_empty() {
        failures.push(format!(
            "vote: integrity {} half-written {:?}",
            found.integrity, found.half_written
        ));
    }
    match boards_agree(&env) {
        Ok(()) => println!("vote: the leaderboard equals the one rebuilt from the votes"),
        Err(e) => failures.push(format!("vote: {e}")),
    }
}

fn main() {
    let kills: usize = std::env::var("ARENA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().expect("temporary directory");
    let started = Instant::now();
    let mut failures = Vec::new();
    server_loop(dir.path(), kills, &mut failures);
    import_loop(dir.path(), &mut failures);
    vote_loop(dir.path(), &mut failures);
    println!("crash loop: {:.1} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("LOST: {f}");
        }
        std::process::exit(1);
    }
    println!("crash loop: nothing acknowledged was lost");
}
