//! The engine under concurrent load, in process: votes committed per second through
//! `Arena::vote` from 8 concurrent tasks, on a real SQLite file (WAL, one writer). Prints the
//! figure; asserts nothing about speed.
//!
//!   cargo bench --bench engine            (ARENA_BENCH_VOTES=N to change the 20,000 votes)
//!
//! Each battle's style is kept before the votes, as the engine keeps it once the answers are
//! in; `ARENA_BENCH_COUNT_AT_VOTE=1` leaves it to each vote to count (battles of an older
//! version, or a vote that came first).

use std::sync::Arc;
use std::time::Instant;

use arena::Arena;
use arena::battle::{Origin, Winner};
use arena::config::{Config, Models};
use arena::store::{Mode, NewBattle, SideOutcome, Store, VoteStyle};

/// Answers of a realistic size and shape: their style features are counted for each vote.
const ANSWER_A: &str = "# Tides\n\nThe sea rises and falls twice a day because the **moon** pulls on it:\n\n- high tide where the moon is overhead\n- another on the far side of the earth\n\nSpring tides come when the sun and moon line up.";
const ANSWER_B: &str = "Tides are caused mainly by the gravity of the moon, and to a lesser degree of the sun, acting on the oceans as the earth turns. Most coasts see two high and two low tides a day.";

fn main() {
    let votes: usize = std::env::var("ARENA_BENCH_VOTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let count_at_vote = std::env::var_os("ARENA_BENCH_COUNT_AT_VOTE").is_some();
    let dir = tempfile::tempdir().expect("temporary directory");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = arena::store::open_with_readers(&dir.path().join("bench.sqlite3"), Mode::Create, 4)
            .await
            .expect("open");
        let started = Instant::now();
        let mut ids = Vec::with_capacity(votes);
        let side = |t: &str| SideOutcome {
            response: Some(t.into()),
            ..SideOutcome::default()
        };
        for i in 0..votes {
            let battle = store
                .create_battle(NewBattle {
                    id: uuid::Uuid::now_v7(),
                    origin: Origin::Cli,
                    user_hash: None,
                    prompt: "Q".into(),
                    prompt_id: None,
                    theme: "general".into(),
                    system: None,
                    model_a: format!("model-{}", i % 50),
                    model_b: format!("model-{}", (i * 7 + 1) % 50 + 50),
                    rpid: None,
            now: arena::store::now_ms(),
            limits: None,
            prompt_content: None,
                })
                .await
                .expect("create");
            store
                .finish_generation(battle.id, side(ANSWER_A), side(ANSWER_B))
                .await
                .expect("finish");
            // As the engine does once a battle's answers are in (unless told to leave it
            // to the vote, to measure that path).
            if !count_at_vote {
                let turns = store.chat_state(battle.id).await.expect("state").turns;
                store
                    .keep_style(battle.id, 0, VoteStyle::of_turns(&turns))
                    .await
                    .expect("keep the style");
            }
            ids.push(battle.id);
        }
        println!(
            "{votes} battles made ready in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let arena = Arc::new(
            Arena::new(store, Config::default(), Models::default())
                .await
                .expect("arena"),
        );
        let ids = Arc::new(ids);
        let tasks = 8;
        let started = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let (arena, ids) = (arena.clone(), ids.clone());
                tokio::spawn(async move {
                    for (i, id) in ids.iter().enumerate().skip(t).step_by(tasks) {
                        arena
                            .vote(*id, Winner::ALL[i % 5], None)
                            .await
                            .expect("vote");
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.expect("task");
        }
        let seconds = started.elapsed().as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let rate = votes as f64 / seconds;
        println!(
            "Arena::vote from {tasks} concurrent tasks: {votes} votes committed in {seconds:.2} s = {rate:.0} votes/s{}",
            if count_at_vote { " (styles counted at the vote)" } else { "" }
        );
    });
}
