//! The store and engine directly, on a real SQLite file: expiry of stale battles, the running
//! counts against a scan of the votes, and concurrent votes.

use std::sync::Arc;

use arena::battle::{Origin, Status, Winner};
use arena::error::Error;
use arena::rating::elo::{self, EloParams};
use arena::rating::{PairCounts, Votes};
use arena::store::{CountFilter, Mode, NewBattle, SideOutcome, Store, VoteFilter};

fn side(text: &str) -> SideOutcome {
    SideOutcome {
        response: Some(text.into()),
        ..SideOutcome::default()
    }
}

#[test]
fn stale_battles_expire_and_cannot_be_voted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = arena::store::open(&dir.path().join("a.sqlite3"), Mode::Create)
            .await
            .expect("open");
        let new = |prompt: &str| NewBattle {
            id: uuid::Uuid::now_v7(),
            origin: Origin::Cli,
            user_hash: None,
            prompt: prompt.into(),
            prompt_id: None,
            theme: "general".into(),
            system: None,
            model_a: "x".into(),
            model_b: "y".into(),
            rpid: None,
            now: arena::store::now_ms(),
            limits: None,
            prompt_content: None,
        };
        let waiting = store.create_battle(new("waiting")).await.expect("create");
        store
            .finish_generation(waiting.id, side("a"), side("b"))
            .await
            .expect("finish");
        let stuck = store.create_battle(new("stuck")).await.expect("create");

        let now = arena::store::now_ms();
        // Nothing is old enough yet.
        assert_eq!(store.expire(now, 60_000, 60_000).await.expect("expire"), 0);
        // Two minutes later both have outlived a one-minute limit.
        assert_eq!(
            store
                .expire(now + 120_000, 60_000, 60_000)
                .await
                .expect("expire"),
            2
        );
        let w = store.battle(waiting.id).await.expect("battle");
        assert_eq!(w.status, Status::Failed);
        assert_eq!(w.a.error.as_deref(), Some("expired without a vote"));
        assert_eq!(w.a.response.as_deref(), Some("a"), "answers are kept");
        let s = store.battle(stuck.id).await.expect("battle");
        assert_eq!(s.status, Status::Failed);
        let err = store
            .record_vote(waiting.id, Winner::ModelA, None, EloParams::default())
            .await
            .expect_err("an expired battle takes no vote");
        assert!(matches!(err, Error::Expired(_)), "{err}");
        assert_eq!(err.exit_code(), 4, "{err}");
        // A vote expiry of 0 never expires waiting battles.
        let later = store.create_battle(new("later")).await.expect("create");
        store
            .finish_generation(later.id, side("a"), side("b"))
            .await
            .expect("finish");
        assert_eq!(
            store
                .expire(now + 10_000_000, 0, 60_000)
                .await
                .expect("expire"),
            0
        );
    });
}

fn new_battle(a: &str, b: &str) -> NewBattle {
    NewBattle {
        id: uuid::Uuid::now_v7(),
        origin: Origin::Cli,
        user_hash: None,
        prompt: "Q".into(),
        prompt_id: None,
        theme: "general".into(),
        system: None,
        model_a: a.into(),
        model_b: b.into(),
        rpid: None,
        now: arena::store::now_ms(),
        limits: None,
        prompt_content: None,
    }
}

/// A battle waiting for its vote.
async fn waiting(store: &arena::store::AnyStore, a: &str, b: &str) -> uuid::Uuid {
    let battle = store.create_battle(new_battle(a, b)).await.expect("create");
    store
        .finish_generation(battle.id, side("A"), side("B"))
        .await
        .expect("finish");
    battle.id
}

/// Sorted by names, so that two counts of the same votes compare equal.
fn canonical(c: &PairCounts) -> Vec<(String, String, [u64; 5])> {
    let mut out: Vec<_> = c
        .pairs
        .iter()
        .map(|p| {
            let (x, y) = (c.names[p.a as usize].clone(), c.names[p.b as usize].clone());
            let n = [p.wins_a, p.wins_b, p.ties, p.both_bad, p.skips];
            if x < y {
                (x, y, n)
            } else {
                (y, x, [n[1], n[0], n[2], n[3], n[4]])
            }
        })
        .collect();
    out.sort();
    out
}

fn scanned(v: &Votes) -> Vec<(String, String, [u64; 5])> {
    canonical(&PairCounts::from_votes(&v.names, &v.votes))
}

#[test]
fn running_counts_and_elo_equal_a_scan_of_the_votes_and_a_rebuild() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let path = dir.path().join("a.sqlite3");
        let store = arena::store::open(&path, Mode::Create).await.expect("open");
        let params = EloParams::default();
        let names = ["x", "y", "z", "w"];
        let mut expected_elo = std::collections::HashMap::new();
        for i in 0..60usize {
            let (a, b) = (names[i % 4], names[(i * 7 + 1) % 4]);
            if a == b {
                continue;
            }
            let id = waiting(&store, a, b).await;
            let winner = Winner::ALL[i % 5];
            let out = store
                .record_vote(id, winner, None, params)
                .await
                .expect("vote");
            // Elo as a replay gives it, vote by vote.
            let ra = *expected_elo.get(a).unwrap_or(&params.initial);
            let rb = *expected_elo.get(b).unwrap_or(&params.initial);
            assert!((out.elo_a.0 - ra).abs() < 1e-9 && (out.elo_b.0 - rb).abs() < 1e-9);
            let mut pair = [ra, rb];
            if let Some(s) = winner.score_a() {
                elo::update(&mut pair, 0, 1, s, &params);
            }
            assert!((out.elo_a.1 - pair[0]).abs() < 1e-9);
            expected_elo.insert(a, pair[0]);
            expected_elo.insert(b, pair[1]);
        }
        let votes = store.votes(VoteFilter::default()).await.expect("votes");
        let counts = store
            .pair_counts(CountFilter::default())
            .await
            .expect("counts");
        assert_eq!(canonical(&counts), scanned(&votes));
        let today = arena::store::now_ms().div_euclid(86_400_000);
        let by_day = store
            .pair_counts(CountFilter {
                since_day: Some(today),
                until_day: Some(today + 1),
                ..CountFilter::default()
            })
            .await
            .expect("counts");
        assert_eq!(canonical(&by_day), scanned(&votes));
        let running = store
            .elo_ratings(params)
            .await
            .expect("elo")
            .expect("current");
        let replayed = elo::online(votes.names.len(), &votes.votes, &params);
        for (i, name) in votes.names.iter().enumerate() {
            assert!((running[name] - replayed[i]).abs() < 1e-9, "{name}");
        }
        // A rebuild from the votes table alone gives the same state.
        let version = store.votes_version().await.expect("version");
        store.rebuild(params).await.expect("rebuild");
        assert!(store.votes_version().await.expect("version") > version);
        let rebuilt = store
            .pair_counts(CountFilter::default())
            .await
            .expect("counts");
        assert_eq!(canonical(&rebuilt), canonical(&counts));
        let again = store
            .elo_ratings(params)
            .await
            .expect("elo")
            .expect("current");
        for (name, r) in &running {
            assert!((again[name] - r).abs() < 1e-9, "{name}");
        }
        store.close().await.expect("close");
    });
}

#[test]
fn two_hundred_concurrent_votes_on_one_battle_record_exactly_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = Arc::new(
            arena::store::open_with_readers(&dir.path().join("a.sqlite3"), Mode::Create, 4)
                .await
                .expect("open"),
        );
        let id = waiting(&store, "x", "y").await;
        let barrier = Arc::new(tokio::sync::Barrier::new(200));
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (store, barrier) = (store.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    store
                        .record_vote(id, Winner::ALL[i % 4], None, EloParams::default())
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(_) => ok += 1,
                Err(Error::AlreadyVoted(v)) => assert_eq!(v, id),
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(ok, 1);
        let votes = store.votes(VoteFilter::default()).await.expect("votes");
        assert_eq!(votes.votes.len(), 1);
    });
}
