//! The engine under concurrent load, in process: votes committed per second through
//! `Arena::vote` from 8 concurrent tasks, on a real SQLite file (WAL, one writer). Prints the
//! figure; asserts nothing about speed.
//!
//!   cargo bench --bench engine            (ARENA_BENCH_VOTES=N to change the 20,000 votes)

use std::sync::Arc;
use std::time::Instant;

use arena::Arena;
use arena::battle::{Origin, Winner};
use arena::config::{Config, Models};
use arena::store::{Mode, NewBattle, SideOutcome, Store};

fn main() {
    let votes: usize = std::env::var("ARENA_BENCH_VOTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
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
                .finish_generation(battle.id, side("a"), side("b"))
                .await
                .expect("finish");
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
            "Arena::vote from {tasks} concurrent tasks: {votes} votes committed in {seconds:.2} s = {rate:.0} votes/s"
        );
    });
}
