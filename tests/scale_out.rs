//! Beyond one machine: the database chosen by `database_url`, the command line on
//! PostgreSQL, and two `arena serve` processes on one PostgreSQL database agreeing on every
//! vote, limit and leaderboard (bounded: 200 votes, 50 battle requests).
//!
//! The PostgreSQL tests run on the throwaway cluster of `support::postgres`, and pass without
//! running (saying so) where PostgreSQL is not installed, unless `ARENA_PG_TESTS=1`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use crate::support::server::json as parse;
use crate::support::{Test, text};

#[test]
fn database_url_in_the_config_chooses_the_database() {
    let t = Test::new().with_config_keys(&json!({"database_url": "chosen.sqlite3"}));
    let battle = t
        .arena()
        .without_db_flag()
        .args(["battle", "Say hello", "--no-vote", "--format", "json"])
        .run()
        .success()
        .json();
    assert!(
        t.path("chosen.sqlite3").is_file(),
        "no database from the config"
    );
    assert!(!t.db().exists());
    t.arena()
        .without_db_flag()
        .args(["show", text(&battle, "battle_id"), "--format", "json"])
        .run()
        .success();
}

#[test]
fn the_command_line_battles_votes_and_ranks_on_postgres_without_showing_the_password() {
    let Some(url) = crate::support::postgres::database() else {
        return;
    };
    // The test cluster trusts local connections: the password is only there to be hidden.
    let url = url.replacen("postgres@", "postgres:hunter2-secret@", 1);
    let t = Test::new();
    let battle = t
        .arena()
        .without_db_flag()
        .env("ARENA_DB", &url)
        .args(["-v", "battle", "Say hello", "--no-vote", "--format", "json"])
        .run()
        .success();
    assert!(!battle.stderr().contains("hunter2"), "{}", battle.stderr());
    assert!(
        battle.stderr().contains("database: postgres "),
        "{}",
        battle.stderr()
    );
    let id = text(&battle.json(), "battle_id").to_owned();
    t.arena()
        .db(&url)
        .args(["vote", &id, "a", "--format", "json"])
        .run()
        .success();
    let board = t
        .arena()
        .db(&url)
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    let battles: u64 = board
        .get("leaderboard")
        .unwrap_or(&board)
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["battles"].as_u64())
        .sum();
    assert_eq!(battles, 2, "{board}");
    // An export of the votes imported into a file gives the same leaderboard.
    let exported = t
        .arena()
        .db(&url)
        .args(["export", "votes"])
        .run()
        .success()
        .stdout();
    assert_eq!(exported.lines().count(), 1, "{exported}");
    t.write("votes.jsonl", &exported);
    t.arena().args(["import", "votes.jsonl"]).run().success();
    let file = t
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(file["leaderboard"], board["leaderboard"]);
    assert!(!t.path("chosen.sqlite3").exists());
}

/// Two mock models of the high tier, which the REST API's battles draw from.
fn tiered(t: Test) -> Test {
    t.with_models(&json!({"models": [
        {"name": "mock-high-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        {"name": "mock-high-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
    ]}))
}

/// An `arena serve` process on `db`, killed when dropped.
struct Instance {
    child: Child,
    base: String,
    /// Its log so far, for the messages of failed assertions.
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Instance {
    fn start(t: &Test, db: &str) -> Instance {
        let mut child = t
            .command_on(
                Some(Path::new(db)),
                Some(&t.path("config.jsonc")),
                Some(&t.path("models.json")),
            )
            .args(["serve", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("arena serve");
        let stderr = child.stderr.take().expect("its stderr");
        let mut lines = BufReader::new(stderr).lines();
        let base = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                other => {
                    let _ = child.kill();
                    panic!("arena serve ended before listening: {other:?}");
                }
            };
            if let Some(address) = line.split("listening on ").nth(1) {
                break address.trim().to_owned();
            }
        };
        // The rest of its log is read as it comes, so that the process never blocks on it.
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let mut log = kept
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        Instance { child, base, log }
    }

    fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests to both instances at once, alternating; statuses and bodies in order.
fn at_once(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    calls: Vec<(String, Value)>,
) -> Vec<(u16, String)> {
    runtime.block_on(async {
        let calls = calls.into_iter().map(|(url, body)| {
            let request = client.post(url).json(&body);
            async move {
                let response = request.send().await.expect("a response");
                let status = response.status().as_u16();
                (status, response.text().await.expect("a body"))
            }
        });
        futures_util::future::join_all(calls).await
    })
}

fn get(runtime: &tokio::runtime::Runtime, client: &reqwest::Client, url: String) -> Value {
    runtime.block_on(async {
        let response = client.get(url).send().await.expect("a response");
        assert_eq!(response.status().as_u16(), 200);
        parse(&response.text().await.expect("a body"))
    })
}

fn battles_on_board(board: &Value) -> u64 {
    board["leaderboard"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["battles"].as_u64())
        .sum()
}

#[test]
fn two_servers_on_one_postgres_agree_on_votes_limits_and_leaderboards() {
    let Some(url) = crate::support::postgres::database() else {
        return;
    };
    let t = tiered(Test::new().with_config_keys(&json!({"max_concurrent_battles": 3})));
    // The first creates the schema; the second, started after, finds it.
    let one = Instance::start(&t, &url);
    let two = Instance::start(&t, &url);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // The HTTP client's TLS needs a crypto provider, which the server installs in its own
    // process only.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let base = |i: usize| {
        if i.is_multiple_of(2) {
            &one.base
        } else {
            &two.base
        }
    };

    // 50 parallel battle requests of one user across both: never more than the limit.
    let requests = (0..50)
        .map(|i| {
            (
                format!("{}/battle", base(i)),
                json!({"battle_type": "high_tier", "discord_id": "7", "custom_prompt": "Hi"}),
            )
        })
        .collect();
    let results = at_once(&runtime, &client, requests);
    let created: Vec<&String> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(created.len(), 3, "{results:?}");
    let other: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s != 201 && *s != 429)
        .collect();
    assert!(other.is_empty(), "{other:?}\n{}\n{}", one.log(), two.log());
    let id = text(&parse(created[0]), "battle_id").to_owned();

    // 200 parallel votes on one battle across both: exactly one is recorded.
    let votes = (0..200)
        .map(|i: usize| {
            let choice = if i.is_multiple_of(3) {
                "model_b"
            } else {
                "model_a"
            };
            (
                format!("{}/vote/{id}", base(i)),
                json!({"vote_choice": choice, "discord_id": "7"}),
            )
        })
        .collect();
    let results = at_once(&runtime, &client, votes);
    assert!(
        results.iter().any(|(s, _)| *s == 200),
        "no vote was taken: {results:?}"
    );
    // Every answer is the vote taken (a retry) or a refusal: never a server error.
    let other: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s != 200 && *s != 400)
        .collect();
    assert!(other.is_empty(), "{other:?}\n{}\n{}", one.log(), two.log());
    let winners: std::collections::BTreeSet<String> = results
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, b)| parse(b)["winner"].to_string())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "two different votes were taken: {winners:?}"
    );

    // The vote through one is in the other's next leaderboard, and both count it once.
    for instance in [&one, &two] {
        let board = get(&runtime, &client, format!("{}/leaderboard", instance.base));
        assert_eq!(battles_on_board(&board), 2, "{board}");
    }
    let second = text(&parse(created[1]), "battle_id").to_owned();
    let (status, body) = at_once(
        &runtime,
        &client,
        vec![(
            format!("{}/vote/{second}", one.base),
            json!({"vote_choice": "tie", "discord_id": "7"}),
        )],
    )
    .remove(0);
    assert_eq!(status, 200, "{body}");
    let board = get(&runtime, &client, format!("{}/leaderboard", two.base));
    assert_eq!(battles_on_board(&board), 4, "{board}");
}

/// A connection to the test database at `url`, beside the store's, for what no operation of
/// the store shows (its schema version, the locks another instance would hold).
fn raw(runtime: &tokio::runtime::Runtime, url: &str) -> tokio_postgres::Client {
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(connection);
        client
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn instances_starting_together_migrate_once_and_a_newer_database_is_refused() {
    use arena::store::{Mode, Store};
    let (Some(url), Some(empty)) = (
        crate::support::postgres::database(),
        crate::support::postgres::database(),
    ) else {
        return;
    };
    let runtime = runtime();
    let path = Path::new(&url);
    let opened = runtime.block_on(futures_util::future::join_all(
        (0..4).map(|_| arena::store::open(path, Mode::Create)),
    ));
    let ids: std::collections::BTreeSet<String> = opened
        .into_iter()
        .map(|s| s.expect("open").database_id().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "one database, one id: {ids:?}");
    let client = raw(&runtime, &url);
    let versions = runtime
        .block_on(client.query("SELECT version FROM arena_schema", &[]))
        .expect("versions");
    assert_eq!(versions.len(), 1);
    // A database a newer arena migrated is refused, not written to.
    runtime
        .block_on(client.execute("UPDATE arena_schema SET version = version + 1", &[]))
        .expect("a newer version");
    let err = runtime
        .block_on(arena::store::open(path, Mode::Write))
        .expect_err("newer");
    assert!(err.to_string().contains("newer than this arena"), "{err}");
    // Reading a database that holds no arena makes none.
    let err = runtime
        .block_on(arena::store::open(Path::new(&empty), Mode::Read))
        .expect_err("empty");
    assert!(matches!(err, arena::Error::NotFound(_)), "{err}");
    let client = raw(&runtime, &empty);
    let tables: i64 = runtime
        .block_on(client.query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        ))
        .expect("tables")
        .get(0);
    assert_eq!(tables, 0);
}

#[test]
fn stale_battles_are_ended_by_one_instance_at_a_time() {
    use arena::store::{Mode, NewBattle, Store};
    let Some(url) = crate::support::postgres::database() else {
        return;
    };
    let runtime = runtime();
    let store = runtime
        .block_on(arena::store::open(Path::new(&url), Mode::Create))
        .expect("open");
    let long_ago = arena::store::now_ms() - 3_600_000;
    runtime
        .block_on(store.create_battle(NewBattle {
            id: uuid::Uuid::now_v7(),
            origin: arena::battle::Origin::Cli,
            user_hash: None,
            prompt: "Q".into(),
            prompt_id: None,
            theme: "general".into(),
            system: None,
            model_a: "x".into(),
            model_b: "y".into(),
            rpid: None,
            prompt_content: None,
            now: long_ago,
            limits: None,
        }))
        .expect("battle");
    // Another instance is ending stale battles: this one leaves the work to it.
    let other = raw(&runtime, &url);
    runtime
        .block_on(other.execute(
            "SELECT pg_advisory_lock($1)",
            &[&arena::store::postgres::locks::EXPIRE],
        ))
        .expect("lock");
    let now = arena::store::now_ms();
    assert_eq!(
        runtime
            .block_on(store.expire(now, 0, 60_000))
            .expect("expire"),
        0
    );
    runtime
        .block_on(other.execute(
            "SELECT pg_advisory_unlock($1)",
            &[&arena::store::postgres::locks::EXPIRE],
        ))
        .expect("unlock");
    assert_eq!(
        runtime
            .block_on(store.expire(now, 0, 60_000))
            .expect("expire"),
        1
    );
}

#[test]
fn an_instance_killed_during_a_vote_burst_loses_no_acknowledged_vote() {
    let Some(url) = crate::support::postgres::database() else {
        return;
    };
    let t = tiered(Test::new());
    let mut one = Instance::start(&t, &url);
    let two = Instance::start(&t, &url);
    let runtime = runtime();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    // 60 battles of 60 users, waiting for their votes.
    let battles = at_once(
        &runtime,
        &client,
        (0..60)
            .map(|i| {
                (
                    format!("{}/battle", two.base),
                    json!({"battle_type": "high_tier", "discord_id": format!("{}", 1000 + i),
                           "custom_prompt": "Hi"}),
                )
            })
            .collect(),
    );
    let ids: Vec<(String, String)> = battles
        .iter()
        .enumerate()
        .map(|(i, (status, body))| {
            assert_eq!(*status, 201, "{body}");
            (
                text(&parse(body), "battle_id").to_owned(),
                format!("{}", 1000 + i),
            )
        })
        .collect();
    // Every vote at once, half through the instance that is killed as they run.
    let burst = {
        let client = client.clone();
        let calls: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(i, (id, user))| {
                let base = if i.is_multiple_of(2) {
                    &one.base
                } else {
                    &two.base
                };
                (
                    id.clone(),
                    client
                        .post(format!("{base}/vote/{id}"))
                        .json(&json!({"vote_choice": "model_a", "discord_id": user})),
                )
            })
            .collect();
        runtime.spawn(futures_util::future::join_all(calls.into_iter().map(
            |(id, request)| async move {
                let acknowledged = match request.send().await {
                    Ok(r) => r.status().as_u16() == 200,
                    Err(_) => false,
                };
                (id, acknowledged)
            },
        )))
    };
    std::thread::sleep(std::time::Duration::from_millis(30));
    // SIGKILL: no shutdown, no flush.
    one.child.kill().expect("kill");
    let answers = runtime.block_on(burst).expect("the burst");
    let mut completed = 0;
    for (id, acknowledged) in &answers {
        let battle = get(&runtime, &client, format!("{}/battle/{id}", two.base));
        let done = battle["status"] == json!("completed");
        assert!(done || !acknowledged, "acknowledged but lost: {battle}");
        completed += u64::from(done);
    }
    // The other instance keeps serving, and counts what was recorded, once.
    let board = get(&runtime, &client, format!("{}/leaderboard", two.base));
    assert_eq!(battles_on_board(&board), 2 * completed, "{board}");
    assert!(answers.iter().any(|(_, a)| *a), "no vote was acknowledged");
}

#[test]
fn migrate_copies_every_record_resumes_after_a_cut_and_goes_back_to_a_file() {
    let Some(url) = crate::support::postgres::database() else {
        return;
    };
    let t = Test::new();
    for i in 0..3 {
        let battle = t.battle(&[&format!("Question {i}")]);
        t.vote(text(&battle, "battle_id"), if i == 1 { "tie" } else { "a" });
    }
    t.battle(&["Never voted"]);
    t.arena()
        .args(["prompts", "add", "A pooled prompt"])
        .run()
        .success();
    t.arena().args(["keys", "add", "alice"]).run().success();
    t.write(
        "log.jsonl",
        "{\"model_a\": \"alpha\", \"model_b\": \"beta\", \"winner\": \"model_a\", \"tstamp\": 1700000000, \"judge\": \"j1\"}\n\
         {\"model_a\": \"beta\", \"model_b\": \"gamma\", \"winner\": \"tie\", \"tstamp\": 1700000100}\n",
    );
    t.arena().args(["import", "log.jsonl"]).run().success();
    let db = t.db();
    let migrate = |to: &str, from: &str, extra: &[&str]| {
        t.arena()
            .without_db_flag()
            .args(["migrate", "--from", from, "--to", to, "--page-rows", "2"])
            .args(extra)
            .run()
    };
    let file = db.display().to_string();
    // Cut short after five pages, then run again: it goes on, and checks the whole.
    migrate(&url, &file, &["--stop-after-pages", "5"]).code(1);
    migrate(&url, &file, &[])
        .success()
        .stderr_contains("the same rows");
    // Back to a file, as a backup is.
    let back = t.path("back.sqlite3").display().to_string();
    migrate(&back, &url, &[]).success();
    let board = |db: &str| {
        t.arena()
            .db(db)
            .args(["leaderboard", "--format", "json"])
            .run()
            .success()
            .json()["leaderboard"]
            .clone()
    };
    assert!(
        board(&file).as_array().is_some_and(|rows| rows.len() >= 4),
        "{}",
        board(&file)
    );
    assert_eq!(board(&file), board(&url));
    assert_eq!(board(&file), board(&back));
    for db in [&url, &back] {
        t.arena()
            .db(db)
            .args(["keys", "list"])
            .run()
            .success()
            .stdout_contains("alice");
        t.arena()
            .db(db)
            .args(["prompts", "list"])
            .run()
            .success()
            .stdout_contains("A pooled prompt");
    }
    let battles = |db: &str| {
        t.arena()
            .db(db)
            .args(["battles", "--format", "json"])
            .run()
            .success()
            .json()
    };
    assert_eq!(battles(&file), battles(&back));
}

#[test]
fn migrate_refuses_a_destination_that_holds_another_database() {
    let ours = Test::new();
    let other = Test::new();
    for (t, prompt) in [(&ours, "Ours"), (&other, "Another arena's")] {
        for i in 0..2 {
            let battle = t.battle(&[&format!("{prompt} question {i}")]);
            t.vote(text(&battle, "battle_id"), "a");
        }
    }
    let copy = ours.path("copy.sqlite3").display().to_string();
    let migrate = |from: &Path| {
        ours.arena()
            .without_db_flag()
            .args([
                "migrate",
                "--from",
                &from.display().to_string(),
                "--to",
                &copy,
            ])
            .run()
    };
    migrate(&ours.db()).success();
    // Another database is not resumed over the copy: nothing of it is written there.
    migrate(&other.db())
        .code(2)
        .stderr_contains("holds records of another database")
        .stderr_contains("give --to an empty database");
    let prompts = |db: &str| {
        ours.arena()
            .db(db)
            .args(["battles", "--format", "json"])
            .run()
            .success()
            .stdout()
    };
    let listed = prompts(&copy);
    assert!(listed.contains("Ours question 1"), "{listed}");
    assert!(!listed.contains("Another arena"), "{listed}");
    // The same source again is fine: the copy is complete, and checked.
    migrate(&ours.db())
        .success()
        .stderr_contains("the same rows");
}

#[test]
fn one_instance_at_a_time_runs_the_classifier_and_another_takes_over() {
    use crate::support::upstream::Upstream;
    let Some(url) = crate::support::postgres::database() else {
        return;
    };
    let up = Upstream::start();
    let mut judge = up.model("judge", "judge-yes");
    judge["weight"] = json!(0);
    let t = Test::new()
        .with_config_keys(&json!({
            "classifier_model": "judge",
            "classifier_prompts_per_minute": 6000,
        }))
        .with_models(&json!({"models": [
            {"name": "mock-high-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
            {"name": "mock-high-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
            judge,
        ]}));
    let one = Instance::start(&t, &url);
    let mut two = Some(Instance::start(&t, &url));
    let runtime = runtime();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let db = raw(&runtime, &url);
    let judged = || -> i64 {
        runtime
            .block_on(db.query_one("SELECT count(*) FROM classified_votes", &[]))
            .expect("count")
            .get(0)
    };
    let vote_on = |base: &str, prompt: &str| {
        let created = at_once(
            &runtime,
            &client,
            vec![(
                format!("{base}/battle"),
                json!({"battle_type": "high_tier", "discord_id": "1", "custom_prompt": prompt}),
            )],
        );
        assert_eq!(created[0].0, 201, "{created:?}");
        let id = text(&parse(&created[0].1), "battle_id").to_owned();
        let voted = at_once(
            &runtime,
            &client,
            vec![(
                format!("{base}/vote/{id}"),
                json!({"vote_choice": "model_a", "discord_id": "1"}),
            )],
        );
        assert_eq!(voted[0].0, 200, "{voted:?}");
    };
    let wait_for = |n: i64| {
        for _ in 0..600 {
            if judged() == n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{} of {n} votes judged", judged());
    };
    // Votes through both instances: each prompt is put to the model once (four questions),
    // not once per instance.
    for i in 0..6 {
        let base = if i % 2 == 0 {
            one.base.clone()
        } else {
            two.as_ref().map(|t| t.base.clone()).unwrap_or_default()
        };
        vote_on(&base, &format!("Question number {i}"));
    }
    wait_for(6);
    let asked = |prompt: &str| {
        up.requests()
            .into_iter()
            .filter(|r| r.model == "judge-yes" && r.body.to_string().contains(prompt))
            .count()
    };
    for i in 0..6 {
        assert_eq!(asked(&format!("Question number {i}")), 4, "question {i}");
    }
    // Whichever instance led, when it is killed the other takes the classifier over.
    let leader_was_two = two
        .as_ref()
        .is_some_and(|t| t.log().contains("runs the classifier"));
    let survivor = if leader_was_two {
        drop(two.take());
        &one
    } else {
        drop(one);
        two.as_ref().expect("the other instance")
    };
    vote_on(&survivor.base.clone(), "Question after the leader went");
    wait_for(7);
    assert_eq!(asked("Question after the leader went"), 4);
}
