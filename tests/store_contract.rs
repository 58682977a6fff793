//! The contract of [`arena::store::Store`]: one list of tests, written once against the
//! trait, that every storage backend must pass. Each test takes a fresh, empty store from a
//! backend's constructor; [`contract!`] runs the whole list for one backend, so a new backend
//! adds one line at the bottom (`contract!(postgres, postgres);`) and a constructor.

use std::future::Future;

use arena::battle::Side;
use arena::battle::{Origin, Status, VoteFlags, Winner};
use arena::error::Error;
use arena::rating::PairCounts;
use arena::rating::elo::{self, EloParams};
use arena::rating::style::Features;
use arena::store::{
    BattleFilter, Chunk, CountFilter, ImportRow, KeyKind, Limits, Mode, NewBattle, Prompt,
    SideOutcome, Store, VoteFilter, VoteStyle,
};

/// A fresh, empty store, and what must live as long as it (a temporary directory).
pub struct Fresh<S> {
    pub store: S,
    _keep: Box<dyn std::any::Any + Send>,
}

/// The SQLite backend, on a new file, through [`arena::store::open_with_readers`] (the path a
/// server takes).
async fn sqlite() -> Option<Fresh<arena::store::AnyStore>> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = arena::store::open_with_readers(&dir.path().join("c.sqlite3"), Mode::Create, 2)
        .await
        .expect("open");
    Some(Fresh {
        store,
        _keep: Box::new(dir),
    })
}

/// The PostgreSQL backend, on a new database of the test cluster (see
/// `support::postgres`); `None` when PostgreSQL is not installed and not required.
async fn postgres() -> Option<Fresh<arena::store::AnyStore>> {
    let url = crate::support::postgres::database()?;
    let store = arena::store::open_with_readers(std::path::Path::new(&url), Mode::Create, 2)
        .await
        .expect("open");
    Some(Fresh {
        store,
        _keep: Box::new(()),
    })
}

/// Runs one test of the list on a runtime of its own, with a store from `open`.
fn run<S, O, T, F>(open: O, test: T)
where
    S: Store,
    O: Future<Output = Option<Fresh<S>>>,
    T: FnOnce(S) -> F,
    F: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // A backend that is not installed here: the constructor said so.
        let Some(fresh) = open.await else { return };
        test(fresh.store.clone()).await;
        fresh.store.close().await.expect("close");
    });
}

/// Every test of the contract, run against the backend that `$open` (an `async fn() ->
/// Option<Fresh<impl Store>>`) opens, in a module named `$backend`.
macro_rules! contract {
    ($backend:ident, $open:ident) => {
        contract!(@list $backend, $open;
            a_battle_is_created_read_listed_and_finished,
            concurrent_votes_on_one_battle_record_exactly_one,
            the_same_vote_again_is_refused_and_the_kept_vote_is_unchanged,
            only_the_battles_owner_votes_on_it,
            per_user_limits_hold_under_parallel_creation,
            running_counts_and_elo_move_with_each_vote,
            chat_turns_follow_one_another,
            keys_are_added_found_revoked_and_listed,
            the_prompt_pool_keeps_one_prompt_per_text,
            an_import_twice_adds_nothing_the_second_time,
            counts_tell_voted_battles_only,
            stale_battles_expire_and_take_no_vote,
            style_and_categories_are_kept_and_select_votes,
            a_style_kept_on_its_battle_is_the_one_its_vote_keeps,
            the_classifier_judges_each_vote_once,
            the_store_writes_the_time_of_its_clock,
        );
    };
    (@list $backend:ident, $open:ident; $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $test() {
                    super::run(super::$open(), super::$test);
                }
            )*
        }
    };
}

contract!(sqlite, sqlite);
contract!(postgres, postgres);

// The list.

fn side(text: &str) -> SideOutcome {
    SideOutcome {
        response: Some(text.into()),
        ..SideOutcome::default()
    }
}

fn new_battle(a: &str, b: &str, user: Option<&str>, now: i64) -> NewBattle {
    NewBattle {
        id: uuid::Uuid::now_v7(),
        origin: Origin::Cli,
        user_hash: user.map(str::to_owned),
        prompt: "Q".into(),
        prompt_id: None,
        theme: "general".into(),
        system: None,
        model_a: a.into(),
        model_b: b.into(),
        rpid: None,
        now,
        limits: None,
        prompt_content: None,
    }
}

fn now() -> i64 {
    arena::store::now_ms()
}

/// A battle waiting for its vote.
async fn waiting(store: &impl Store, a: &str, b: &str, user: Option<&str>) -> uuid::Uuid {
    let battle = store
        .create_battle(new_battle(a, b, user, now()))
        .await
        .expect("create");
    store
        .finish_generation(battle.id, side("A"), side("B"))
        .await
        .expect("finish");
    battle.id
}

async fn a_battle_is_created_read_listed_and_finished(store: impl Store) {
    let new = new_battle("x", "y", Some("u1"), now());
    let created = store.create_battle(new.clone()).await.expect("create");
    assert_eq!(created.id, new.id);
    assert_eq!(created.status, Status::PendingGeneration);
    let read = store.battle(new.id).await.expect("battle");
    assert_eq!((read.a.model.as_str(), read.b.model.as_str()), ("x", "y"));
    assert_eq!(read.prompt, "Q");
    let done = store
        .finish_generation(new.id, side("one"), side("two"))
        .await
        .expect("finish");
    assert_eq!(done.status, Status::PendingVote);
    assert_eq!(done.a.response.as_deref(), Some("one"));
    let latest = store
        .latest_battle_of("u1".into())
        .await
        .expect("latest")
        .expect("a battle");
    assert_eq!(latest.id, new.id);
    assert!(
        store
            .latest_battle_of("u2".into())
            .await
            .expect("latest")
            .is_none()
    );
    let listed = store.battles(BattleFilter::default()).await.expect("list");
    assert_eq!(listed.len(), 1);
    let mine = store.battles_of("u1".into(), 10).await.expect("mine");
    assert_eq!(mine.len(), 1);
    let err = store
        .battle(uuid::Uuid::now_v7())
        .await
        .expect_err("no such battle");
    assert!(matches!(err, Error::BattleNotFound(_)), "{err}");
    // One side failing fails the battle, its error kept.
    let failing = store
        .create_battle(new_battle("x", "y", None, now()))
        .await
        .expect("create");
    let broken = SideOutcome {
        error: Some("refused".into()),
        ..SideOutcome::default()
    };
    let failed = store
        .finish_generation(failing.id, side("a"), broken)
        .await
        .expect("finish");
    assert_eq!(failed.status, Status::Failed);
    // The same RPID of one user is one battle.
    let rpid = NewBattle {
        rpid: Some("r-1".into()),
        ..new_battle("x", "y", Some("u1"), now())
    };
    let first = store.create_battle(rpid.clone()).await.expect("create");
    let again = NewBattle {
        id: uuid::Uuid::now_v7(),
        ..rpid
    };
    let second = store.create_battle(again).await.expect("create");
    assert_eq!(first.id, second.id);
}

async fn concurrent_votes_on_one_battle_record_exactly_one(store: impl Store) {
    let id = waiting(&store, "x", "y", None).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = store.clone();
        let winner = if i % 2 == 0 {
            Winner::ModelA
        } else {
            Winner::ModelB
        };
        tasks.push(tokio::spawn(async move {
            store
                .record_vote(id, winner, None, EloParams::default())
                .await
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => recorded += 1,
            Err(Error::AlreadyVoted(_)) => {}
            Err(other) => panic!("a vote refused for another reason: {other}"),
        }
    }
    assert_eq!(recorded, 1);
    let votes = store.votes(VoteFilter::default()).await.expect("votes");
    assert_eq!(votes.votes.len(), 1);
    assert_eq!(
        store.battle(id).await.expect("battle").status,
        Status::Completed
    );
}

async fn the_same_vote_again_is_refused_and_the_kept_vote_is_unchanged(store: impl Store) {
    let id = waiting(&store, "x", "y", None).await;
    let first = store
        .record_vote(id, Winner::ModelA, None, EloParams::default())
        .await
        .expect("vote");
    let version = store.votes_version().await.expect("version");
    let err = store
        .record_vote(id, Winner::ModelA, None, EloParams::default())
        .await
        .expect_err("a second vote");
    assert!(matches!(err, Error::AlreadyVoted(_)), "{err}");
    // What an idempotent retry answers with: the first vote and its Elo change, as kept.
    let kept = store.kept_vote(id).await.expect("kept").expect("a vote");
    assert_eq!(kept.winner, Winner::ModelA);
    assert_eq!(kept.elo_a, Some(first.elo_a));
    assert_eq!(kept.elo_b, Some(first.elo_b));
    assert_eq!(store.votes_version().await.expect("version"), version);
    assert_eq!(
        store
            .votes(VoteFilter::default())
            .await
            .expect("votes")
            .votes
            .len(),
        1
    );
}

async fn only_the_battles_owner_votes_on_it(store: impl Store) {
    let id = waiting(&store, "x", "y", Some("owner")).await;
    assert_eq!(
        store
            .battle_owned_by(id, "owner".into())
            .await
            .expect("owned"),
        Some(true)
    );
    assert_eq!(
        store
            .battle_owned_by(id, "other".into())
            .await
            .expect("owned"),
        Some(false)
    );
    for voter in [Some("other".to_owned()), None] {
        let err = store
            .record_vote(id, Winner::Tie, voter, EloParams::default())
            .await
            .expect_err("not the owner");
        assert!(matches!(err, Error::NotOwner(_)), "{err}");
    }
    store
        .record_vote(id, Winner::Tie, Some("owner".into()), EloParams::default())
        .await
        .expect("the owner's vote");
    // A battle without a user takes anyone's vote.
    let open = waiting(&store, "x", "y", None).await;
    assert_eq!(
        store
            .battle_owned_by(open, "owner".into())
            .await
            .expect("owned"),
        None
    );
    store
        .record_vote(
            open,
            Winner::Tie,
            Some("anyone".into()),
            EloParams::default(),
        )
        .await
        .expect("anyone's vote");
}

async fn per_user_limits_hold_under_parallel_creation(store: impl Store) {
    let limits = Limits {
        concurrent: 3,
        per_hour: 0,
        interval_ms: 0,
    };
    let t = now();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let store = store.clone();
        let new = NewBattle {
            limits: Some(limits),
            ..new_battle("x", "y", Some("busy"), t)
        };
        tasks.push(tokio::spawn(async move { store.create_battle(new).await }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => created += 1,
            Err(Error::RateLimited { .. }) => {}
            Err(other) => panic!("refused for another reason: {other}"),
        }
    }
    assert_eq!(created, 3, "the limit is counted inside the transaction");
    // Another user is not held back by this one.
    let other = NewBattle {
        limits: Some(limits),
        ..new_battle("x", "y", Some("calm"), t)
    };
    store.create_battle(other).await.expect("another user");
    // An hourly limit says when a place frees; an interval, when the next may start.
    let hourly = Limits {
        concurrent: 0,
        per_hour: 3,
        interval_ms: 0,
    };
    let new = NewBattle {
        limits: Some(hourly),
        ..new_battle("x", "y", Some("busy"), t + 1)
    };
    let Err(Error::RateLimited { available_at, .. }) = store.create_battle(new).await else {
        panic!("the hourly limit");
    };
    assert_eq!(available_at, Some(t + 3_600_000));
    let spaced = Limits {
        concurrent: 0,
        per_hour: 0,
        interval_ms: 60_000,
    };
    let new = NewBattle {
        limits: Some(spaced),
        ..new_battle("x", "y", Some("busy"), t + 1_000)
    };
    let Err(Error::RateLimited { available_at, .. }) = store.create_battle(new).await else {
        panic!("the interval");
    };
    assert_eq!(available_at, Some(t + 60_000));
}

async fn running_counts_and_elo_move_with_each_vote(store: impl Store) {
    let params = EloParams::default();
    let plan = [
        ("x", "y", Winner::ModelA),
        ("y", "z", Winner::ModelB),
        ("x", "z", Winner::Tie),
        ("z", "x", Winner::BothBad),
        ("x", "y", Winner::Skip),
        ("y", "x", Winner::ModelA),
    ];
    let mut version = store.votes_version().await.expect("version");
    for (a, b, winner) in plan {
        let id = waiting(&store, a, b, None).await;
        let before = store
            .elo_ratings(params)
            .await
            .expect("elo")
            .unwrap_or_default();
        let outcome = store
            .record_vote(id, winner, None, params)
            .await
            .expect("vote");
        let start = |m: &str| before.get(m).copied().unwrap_or(params.initial);
        assert_eq!(outcome.elo_a.0, start(a));
        assert_eq!(outcome.elo_b.0, start(b));
        let after = store
            .elo_ratings(params)
            .await
            .expect("elo")
            .expect("current");
        assert_eq!(after[a], outcome.elo_a.1);
        assert_eq!(after[b], outcome.elo_b.1);
        let next = store.votes_version().await.expect("version");
        assert_ne!(next, version, "a vote changes the version");
        version = next;
    }
    assert!(store.counts_current().await.expect("current"));
    let votes = store.votes(VoteFilter::default()).await.expect("votes");
    let scanned = PairCounts::from_votes(&votes.names, &votes.votes);
    let running = store
        .pair_counts(CountFilter::default())
        .await
        .expect("counts");
    assert_eq!(canonical(&running), canonical(&scanned));
    // The running Elo is the online Elo of the votes in order.
    let online = elo::online(votes.names.len(), &votes.votes, &params);
    let running_elo = store
        .elo_ratings(params)
        .await
        .expect("elo")
        .expect("current");
    for (i, name) in votes.names.iter().enumerate() {
        assert!((running_elo[name] - online[i]).abs() < 1e-9, "{name}");
    }
    // A rebuild gives the same.
    store.rebuild(params).await.expect("rebuild");
    let rebuilt = store
        .pair_counts(CountFilter::default())
        .await
        .expect("counts");
    assert_eq!(canonical(&rebuilt), canonical(&scanned));
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
        .filter(|(_, _, n)| n.iter().any(|&k| k > 0))
        .collect();
    out.sort();
    out
}

async fn chat_turns_follow_one_another(store: impl Store) {
    let new = NewBattle {
        rpid: Some("chat-1".into()),
        ..new_battle("x", "y", Some("u"), now())
    };
    let id = new.id;
    store.create_battle(new).await.expect("create");
    store
        .finish_generation(id, side("a0"), side("b0"))
        .await
        .expect("finish");
    let found = store
        .chat_battle("u".into(), Some("chat-1".into()))
        .await
        .expect("chat")
        .expect("found");
    assert_eq!(found.record.id, id);
    let err = store
        .begin_turn(id, 2, "skipped".into(), None, now())
        .await
        .expect_err("a turn out of order");
    assert!(matches!(err, Error::StillGenerating(_)), "{err}");
    store
        .begin_turn(id, 1, "more".into(), None, now())
        .await
        .expect("turn 1");
    let err = store
        .begin_turn(id, 2, "again".into(), None, now())
        .await
        .expect_err("still generating");
    assert!(matches!(err, Error::StillGenerating(_)), "{err}");
    let status = store
        .record_answer(id, 1, Side::A, side("a1"), now())
        .await
        .expect("answer a");
    assert_eq!(status, Status::PendingGeneration);
    let status = store
        .record_answer(id, 1, Side::B, side("b1"), now())
        .await
        .expect("answer b");
    assert_eq!(status, Status::PendingVote);
    store.mark_shown(id, 1, Side::A).await.expect("shown");
    let state = store.chat_state(id).await.expect("state");
    assert_eq!(state.latest(), 1);
    assert_eq!(state.turns.len(), 2);
    assert_eq!(state.turns[1].response_b.as_deref(), Some("b1"));
    assert_eq!(state.shown_a, Some(1));
    store
        .record_vote(id, Winner::ModelB, Some("u".into()), EloParams::default())
        .await
        .expect("vote");
    let err = store
        .begin_turn(id, 2, "late".into(), None, now())
        .await
        .expect_err("voted");
    assert!(matches!(err, Error::AlreadyVoted(_)), "{err}");
}

async fn keys_are_added_found_revoked_and_listed(store: impl Store) {
    let lookup = store.key_by_hash(None).await.expect("lookup");
    assert!(!lookup.any && lookup.key.is_none());
    store
        .add_key("ann".into(), "h1".into(), KeyKind::User, false, now())
        .await
        .expect("add");
    let err = store
        .add_key("ann".into(), "h2".into(), KeyKind::Service, true, now())
        .await
        .expect_err("a name in use");
    assert!(matches!(err, Error::Conflict(_)), "{err}");
    let found = store.key_by_hash(Some("h1".into())).await.expect("lookup");
    let key = found.key.expect("the key");
    assert_eq!((key.name.as_str(), key.kind), ("ann", KeyKind::User));
    store.touch_key(key.id, now()).await.expect("touch");
    store.revoke_key("ann".into(), now()).await.expect("revoke");
    let after = store.key_by_hash(Some("h1".into())).await.expect("lookup");
    assert!(after.any && after.key.is_none());
    let err = store
        .revoke_key("nobody".into(), now())
        .await
        .expect_err("no such key");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    // A revoked key's name is taken again.
    store
        .add_key("ann".into(), "h3".into(), KeyKind::Service, true, now())
        .await
        .expect("the name again");
    let keys = store.keys().await.expect("keys");
    assert_eq!(keys.len(), 1, "the same name is the same user: {keys:?}");
    assert_eq!(keys[0].kind, KeyKind::Service);
    assert!(keys[0].revoked_at.is_none());
}

async fn the_prompt_pool_keeps_one_prompt_per_text(store: impl Store) {
    let prompt = |id: &str, text: &str, theme: &str| Prompt {
        id: id.into(),
        text: text.into(),
        theme: theme.into(),
    };
    let added = store
        .add_prompts(vec![
            prompt("p1", "one", "code"),
            prompt("p2", "two", "math"),
        ])
        .await
        .expect("add");
    assert_eq!(added, 2);
    let again = store
        .add_prompts(vec![
            prompt("p3", "one", "code"),
            prompt("p4", "four", "code"),
        ])
        .await
        .expect("add");
    assert_eq!(again, 1);
    let code = store.prompts(Some("code".into())).await.expect("prompts");
    let ids: Vec<_> = code.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1", "p4"]);
    assert_eq!(
        store.prompt("p2".into()).await.expect("prompt"),
        Some(prompt("p2", "two", "math"))
    );
    store.remove_prompt("p2".into()).await.expect("remove");
    assert_eq!(store.prompt("p2".into()).await.expect("prompt"), None);
    assert_eq!(store.prompts(None).await.expect("prompts").len(), 2);
}

async fn an_import_twice_adds_nothing_the_second_time(store: impl Store) {
    let row = |key: i64, winner: Winner, judge: Option<&str>| ImportRow {
        key,
        model_a: 0,
        model_b: 1,
        winner,
        tstamp_ms: Some(1_700_000_000_000 + key),
        judge: judge.map(str::to_owned),
        prompt: judge.map(|_| "Q".to_owned()),
        response_a: judge.map(|_| "A".to_owned()),
        response_b: judge.map(|_| "B".to_owned()),
        battle_id: None,
        question_id: None,
        left_out: VoteFlags::NONE,
        style: VoteStyle::default(),
    };
    let chunk = || Chunk {
        names: vec!["p".into(), "q".into()],
        rows: vec![
            row(1, Winner::ModelA, None),
            row(2, Winner::ModelB, Some("judge")),
            row(3, Winner::Tie, None),
        ],
        bytes_read: 0,
    };
    for (imported, duplicates) in [(3, 0), (0, 3)] {
        let session = store.start_import().await.expect("start");
        let (count, session) = store
            .import_chunk(chunk(), "salt".into(), session)
            .await
            .expect("chunk");
        assert_eq!((count.imported, count.duplicates), (imported, duplicates));
        store.finish_import(session).await.expect("finish");
    }
    assert!(store.counts_current().await.expect("current"));
    let counts = store
        .pair_counts(CountFilter::default())
        .await
        .expect("counts");
    let c = canonical(&counts);
    assert_eq!(c, [("p".to_owned(), "q".to_owned(), [1, 1, 1, 0, 0])]);
    let votes = store.votes(VoteFilter::default()).await.expect("votes");
    assert_eq!(votes.votes.len(), 3);
}

async fn counts_tell_voted_battles_only(store: impl Store) {
    let voted = waiting(&store, "x", "y", Some("u")).await;
    waiting(&store, "x", "secret", Some("u")).await;
    store
        .record_vote(
            voted,
            Winner::ModelA,
            Some("u".into()),
            EloParams::default(),
        )
        .await
        .expect("vote");
    let counts = store.model_battle_counts().await.expect("counts");
    // A model in no voted battle counts none: its battle is not told before its vote.
    assert!(
        counts.iter().all(|(n, k)| n != "secret" || *k == 0),
        "{counts:?}"
    );
    assert!(counts.contains(&("x".to_owned(), 1)));
    let (_, users, completed) = store.health().await.expect("health");
    assert_eq!((users, completed), (1, 1));
    let left_out = store
        .left_out(VoteFilter::default())
        .await
        .expect("left out");
    assert_eq!(
        left_out.identity_leak + left_out.named + left_out.unequal_chat,
        0
    );
}

async fn stale_battles_expire_and_take_no_vote(store: impl Store) {
    let t = now();
    let stale = waiting(&store, "x", "y", None).await;
    let stuck = store
        .create_battle(new_battle("x", "y", None, t))
        .await
        .expect("create");
    assert_eq!(store.expire(t, 60_000, 60_000).await.expect("expire"), 0);
    assert_eq!(
        store
            .expire(t + 120_000, 60_000, 60_000)
            .await
            .expect("expire"),
        2
    );
    assert_eq!(
        store.battle(stuck.id).await.expect("battle").status,
        Status::Failed
    );
    let err = store
        .record_vote(stale, Winner::ModelA, None, EloParams::default())
        .await
        .expect_err("expired");
    assert!(matches!(err, Error::Expired(_)), "{err}");
    // 0 never expires a battle waiting for its vote.
    let later = waiting(&store, "x", "y", None).await;
    assert_eq!(
        store
            .expire(t + 10_000_000, 0, 60_000)
            .await
            .expect("expire"),
        0
    );
    assert_eq!(
        store.battle(later).await.expect("battle").status,
        Status::PendingVote
    );
    // Unstuck clears one user's generating battles only.
    let mine = store
        .create_battle(new_battle("x", "y", Some("me"), now()))
        .await
        .expect("create");
    assert_eq!(
        store
            .unstuck(Some("someone".into()), "stop".into())
            .await
            .expect("unstuck"),
        0
    );
    assert_eq!(
        store
            .unstuck(Some("me".into()), "stop".into())
            .await
            .expect("unstuck"),
        1
    );
    assert_eq!(
        store.battle(mine.id).await.expect("battle").status,
        Status::Failed
    );
}

async fn style_and_categories_are_kept_and_select_votes(store: impl Store) {
    let features = |t: u32| Features {
        tokens: t,
        headers: 1,
        lists: 2,
        bold: 3,
    };
    let row = |key: i64, style: VoteStyle| ImportRow {
        key,
        model_a: 0,
        model_b: 1,
        winner: Winner::ModelA,
        tstamp_ms: Some(1_700_000_000_000 + key),
        judge: None,
        prompt: None,
        response_a: None,
        response_b: None,
        battle_id: None,
        question_id: None,
        left_out: VoteFlags::NONE,
        style,
    };
    let styled = |t: u32, categories: &[&str]| VoteStyle {
        features: Some((features(t), features(t + 1))),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
    };
    let chunk = Chunk {
        names: vec!["p".into(), "q".into()],
        rows: vec![
            row(1, styled(10, &["coding", "language:en"])),
            row(2, styled(20, &["language:en"])),
            row(3, VoteStyle::default()),
        ],
        bytes_read: 0,
    };
    let session = store.start_import().await.expect("start");
    let (_, session) = store
        .import_chunk(chunk, "salt".into(), session)
        .await
        .expect("chunk");
    store.finish_import(session).await.expect("finish");

    let all = store
        .styled_votes(VoteFilter::default())
        .await
        .expect("styled");
    assert_eq!((all.votes.len(), all.without), (2, 1));
    let mut tokens: Vec<(u32, u32)> = all.votes.iter().map(|v| (v.a.tokens, v.b.tokens)).collect();
    tokens.sort_unstable();
    assert_eq!(tokens, [(10, 11), (20, 21)]);
    assert_eq!(
        store.categories(VoteFlags::NONE).await.expect("categories"),
        [("coding".to_owned(), 1), ("language:en".to_owned(), 2)]
    );
    let select = |include: &[&str], exclude: &[&str]| VoteFilter {
        categories: include.iter().map(|c| (*c).to_owned()).collect(),
        exclude_categories: exclude.iter().map(|c| (*c).to_owned()).collect(),
        ..VoteFilter::default()
    };
    let count = |f: VoteFilter| {
        let store = store.clone();
        async move { store.votes(f).await.expect("votes").votes.len() }
    };
    assert_eq!(count(select(&["coding"], &[])).await, 1);
    assert_eq!(count(select(&["language:en"], &["coding"])).await, 1);
    assert_eq!(count(select(&[], &["coding"])).await, 2);
    assert!(matches!(
        store.votes(select(&["cooking"], &[])).await,
        Err(Error::Input(_))
    ));

    // A vote cast on a battle keeps its style as it is recorded: nothing is left to fill.
    let voted = waiting(&store, "p", "q", Some("u")).await;
    store
        .record_vote(
            voted,
            Winner::ModelB,
            Some("u".into()),
            EloParams::default(),
        )
        .await
        .expect("vote");
    assert_eq!(store.fill_styles().await.expect("fill"), 0);
    let after = store
        .styled_votes(VoteFilter::default())
        .await
        .expect("styled");
    assert_eq!((after.votes.len(), after.without), (3, 1));
}

/// A battle waiting for its vote, between `a` and `b`, whose sides answered `answers`.
async fn answered(store: &impl Store, a: &str, b: &str, answers: (&str, &str)) -> uuid::Uuid {
    let battle = store
        .create_battle(NewBattle {
            prompt: "Write a function that adds two numbers in ```rust```".into(),
            ..new_battle(a, b, Some("u"), now())
        })
        .await
        .expect("create");
    store
        .finish_generation(battle.id, side(answers.0), side(answers.1))
        .await
        .expect("finish");
    battle.id
}

/// Each counted vote's features, by the name of its model a.
async fn features_by_model(store: &impl Store) -> Vec<(String, (Features, Features))> {
    let styled = store
        .styled_votes(VoteFilter::default())
        .await
        .expect("styled");
    let mut out: Vec<_> = styled
        .votes
        .iter()
        .map(|v| (styled.names[v.model_a as usize].clone(), (v.a, v.b)))
        .collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    out
}

/// The style counted when a battle's answers came in is kept on it, and its vote takes it
/// instead of counting again; a style that no longer covers the battle's latest turn is
/// not kept, or not taken.
async fn a_style_kept_on_its_battle_is_the_one_its_vote_keeps(store: impl Store) {
    let answers = (
        "# Sum\n\n- **easy**\n- short\n\n```rust\nfn add(a: i32, b: i32) -> i32 { a + b }\n```",
        "Here it is: `a + b`.",
    );
    let vote = |id: uuid::Uuid| {
        let store = store.clone();
        async move {
            store
                .record_vote(id, Winner::ModelA, Some("u".into()), EloParams::default())
                .await
                .expect("vote");
        }
    };
    // Counted from the battle's turns, it is what the vote would have counted itself.
    let kept = answered(&store, "a1", "b1", answers).await;
    let counted = answered(&store, "a2", "b2", answers).await;
    let state = store.chat_state(kept).await.expect("state");
    let style = VoteStyle::of_turns(&state.turns);
    assert!(style.categories.contains(&"coding".to_owned()), "{style:?}");
    assert!(
        store
            .keep_style(kept, 0, style.clone())
            .await
            .expect("keep")
    );
    vote(kept).await;
    vote(counted).await;
    let found = features_by_model(&store).await;
    assert_eq!(found.len(), 2);
    assert_eq!(Some(found[0].1), style.features);
    assert_eq!(found[0].1, found[1].1);
    assert!(
        found[0].1.0.headers == 1 && found[0].1.0.bold == 1,
        "{found:?}"
    );

    // The vote takes what was kept rather than counting (a made-up style shows which).
    let made_up = VoteStyle {
        features: Some((
            Features {
                tokens: 777,
                ..Features::default()
            },
            Features::default(),
        )),
        categories: vec!["made-up".into()],
    };
    let taken = answered(&store, "a3", "b3", answers).await;
    assert!(
        !store
            .keep_style(taken, 1, made_up.clone())
            .await
            .expect("a turn it does not have")
    );
    assert!(
        store
            .keep_style(taken, 0, made_up.clone())
            .await
            .expect("keep")
    );
    vote(taken).await;
    assert_eq!(features_by_model(&store).await[2].1.0.tokens, 777);
    let categories = store.categories(VoteFlags::NONE).await.expect("categories");
    assert!(
        categories.contains(&("made-up".to_owned(), 1)),
        "{categories:?}"
    );
    // Once voted, nothing more is kept.
    assert!(
        !store
            .keep_style(taken, 0, VoteStyle::default())
            .await
            .expect("after the vote")
    );

    // A chat battle that went on to another turn: what was kept for the first turn is not
    // taken, the vote counts both turns.
    let chat = answered(&store, "a4", "b4", answers).await;
    assert!(store.keep_style(chat, 0, made_up).await.expect("keep"));
    store
        .begin_turn(chat, 1, "And in C?".into(), None, now())
        .await
        .expect("turn 1");
    assert!(
        !store
            .keep_style(chat, 0, VoteStyle::default())
            .await
            .expect("while generating")
    );
    for (s, text) in [(Side::A, "**int** add"), (Side::B, "same")] {
        store
            .record_answer(chat, 1, s, side(text), now())
            .await
            .expect("answer");
    }
    let two_turns = VoteStyle::of_turns(&store.chat_state(chat).await.expect("state").turns);
    vote(chat).await;
    assert_eq!(
        Some(features_by_model(&store).await[3].1),
        two_turns.features
    );
    assert_eq!(two_turns.features.map(|f| f.0.bold), Some(2));
}

/// The prompt classifier's two operations: the votes on battles played here not judged
/// yet, in vote order with their user turns, and their categories kept once judged.
async fn the_classifier_judges_each_vote_once(store: impl Store) {
    assert!(store.unclassified_votes(10).await.expect("none").is_empty());
    let mut voted = Vec::new();
    for user in ["u1", "u2"] {
        let id = waiting(&store, "p", "q", Some(user)).await;
        store
            .record_vote(id, Winner::ModelA, Some(user.into()), EloParams::default())
            .await
            .expect("vote");
        voted.push(id);
    }
    let todo = store.unclassified_votes(10).await.expect("todo");
    assert_eq!(todo.len(), 2);
    assert_eq!(todo[0].user, vec!["Q".to_owned()]);
    assert!(todo[0].vote < todo[1].vote);
    assert_eq!(store.unclassified_votes(1).await.expect("one").len(), 1);
    // The first judged with a category, the second with none: neither is asked again.
    store
        .add_categories(todo[0].vote, vec!["math".into()])
        .await
        .expect("add");
    let left = store.unclassified_votes(10).await.expect("left");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].vote, todo[1].vote);
    store
        .add_categories(todo[1].vote, Vec::new())
        .await
        .expect("add none");
    assert!(store.unclassified_votes(10).await.expect("done").is_empty());
    let math = store
        .votes(VoteFilter {
            categories: vec!["math".into()],
            ..VoteFilter::default()
        })
        .await
        .expect("math votes");
    assert_eq!(math.votes.len(), 1);
}

/// A store given a clock writes that clock's time, not the wall clock's: the vote's time, the
/// battle's time of the vote, and the time a failed battle ended.
async fn the_store_writes_the_time_of_its_clock(store: impl Store) {
    // A time no wall clock reads while this test runs: 2001-09-09.
    const AT: i64 = 1_000_000_000_000;
    let store = store.with_clock(std::sync::Arc::new(|| AT));
    assert_eq!((store.clock())(), AT);
    let id = waiting(&store, "x", "y", Some("u1")).await;
    store
        .record_vote(id, Winner::ModelA, Some("u1".into()), EloParams::default())
        .await
        .expect("vote");
    let votes = store.votes(VoteFilter::default()).await.expect("votes");
    assert_eq!(votes.times, [AT]);
    assert_eq!(store.battle(id).await.expect("battle").voted_at, Some(AT));
}
