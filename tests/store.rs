//! The store and engine directly, on a real SQLite file: expiry of stale battles.

use arena::battle::{Origin, Status, Winner};
use arena::store::{Mode, NewBattle, SideOutcome, Store};

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
        let store = Store::open(&dir.path().join("a.sqlite3"), Mode::Create)
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
            .record_vote(waiting.id, Winner::ModelA, None)
            .await
            .expect_err("an expired battle takes no vote");
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
