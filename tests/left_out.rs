//! Votes kept but left out of the ratings: battles whose answers name a model (identity
//! leaks), through the command line, the REST API and battle mode in chat; the counts, online
//! Elo and the kept Glicko-2 without them, `--include-identity-leaks` with them; `arena
//! rebuild`; exports that keep the reason through an import; and the upgrade of an older
//! database, whose chat votes are marked.

use serde_json::{Value, json};

use crate::support::server::{Server, json};
use crate::support::{Test, Upstream, answer, text};

/// `saturn` answers "I am self-one": every battle it stands in names a model.
const MODELS: [(&str, &str); 3] = [
    ("saturn", "self-one"),
    ("neptune", "stream-two"),
    ("jupiter", "stream-three"),
];

/// The side `upstream` answered on in an unvoted battle.
fn side_of(battle: &Value, upstream: &str) -> &'static str {
    let expected = json!(answer(upstream));
    if battle["response_a"] == expected {
        "a"
    } else if battle["response_b"] == expected {
        "b"
    } else {
        panic!("{upstream} answered on neither side: {battle:#}")
    }
}

fn models_of(board: &Value) -> Vec<String> {
    let mut names: Vec<String> = board["leaderboard"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {board:#}"))
        .iter()
        .filter_map(|r| r["model_name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn board(t: &Test, extra: &[&str]) -> Value {
    t.arena()
        .args(["leaderboard", "--format", "json"])
        .args(extra)
        .run()
        .success()
        .json()
}

/// One battle in which saturn names itself (saturn wins it) and one that counts (neptune
/// beats jupiter).
fn voted(up: &Upstream) -> (Test, String) {
    let t = Test::new().with_upstream_models(up, &MODELS);
    let leak = t.battle(&["Name three colours", "--models", "saturn,neptune"]);
    let leak_id = text(&leak, "battle_id").to_owned();
    let reveal = t.vote(&leak_id, side_of(&leak, "self-one"));
    assert_eq!(reveal["left_out"], json!(["identity_leak"]), "{reveal:#}");
    let words = &reveal["identity_leak"][side_of(&leak, "self-one")];
    assert_eq!(words, &json!(["self-one"]), "{reveal:#}");
    // Left out: its Elo does not move.
    for side in ["model_a", "model_b"] {
        let change = &reveal["elo"][side];
        assert_eq!(
            change["rating_before"], change["rating_after"],
            "{reveal:#}"
        );
    }
    let clean = t.battle(&["Name three colours", "--models", "neptune,jupiter"]);
    let reveal = t.vote(text(&clean, "battle_id"), side_of(&clean, "stream-two"));
    assert!(reveal.get("left_out").is_none(), "{reveal:#}");
    assert!(reveal.get("identity_leak").is_none(), "{reveal:#}");
    (t, leak_id)
}

#[test]
fn a_vote_whose_answer_names_its_model_is_kept_but_left_out_of_every_rating() {
    let up = Upstream::start();
    let (t, leak_id) = voted(&up);

    // The reveal in words says so.
    let shown = t.arena().args(["show", &leak_id]).run().success().stdout();
    assert!(
        shown.contains("Left out of the ratings: an answer named a model"),
        "{shown}"
    );
    assert!(shown.contains("self-one"), "{shown}");
    let view = t.show(&leak_id);
    assert_eq!(view["left_out"], json!(["identity_leak"]), "{view:#}");
    // The reveal in words too (this vote is a skip, and left out as well).
    let another = t.battle(&["Name three colours", "--models", "saturn,jupiter"]);
    t.arena()
        .args(["vote", text(&another, "battle_id"), "skip"])
        .run()
        .success()
        .stdout_contains("Kept, but left out of the ratings: an answer named a model (Assistant");

    for method in ["bt", "elo", "glicko2"] {
        let default = board(&t, &["--method", method]);
        assert_eq!(default["votes"], json!(1), "{method}: {default:#}");
        assert_eq!(models_of(&default), ["jupiter", "neptune"], "{method}");
        assert_eq!(default["left_out"]["identity_leak"], json!(2), "{method}");
        assert_eq!(default["include_identity_leaks"], json!(false));
        let included = board(&t, &["--method", method, "--include-identity-leaks"]);
        assert_eq!(included["votes"], json!(3), "{method}: {included:#}");
        assert_eq!(
            models_of(&included),
            ["jupiter", "neptune", "saturn"],
            "{method}"
        );
        assert_eq!(included["left_out"]["identity_leak"], json!(0), "{method}");
        assert_eq!(included["include_identity_leaks"], json!(true));
    }
    // The table says how many were left out.
    t.arena()
        .args(["leaderboard"])
        .run()
        .success()
        .stderr_contains("left out of the ratings: 2 whose answers named a model");

    // The matrices too.
    let matrix = |extra: &[&str]| {
        t.arena()
            .args(["stats", "matrix", "--format", "json"])
            .args(extra)
            .run()
            .success()
            .json()
    };
    assert!(matrix(&[])["match_count_matrix"].get("saturn").is_none());
    assert_eq!(
        matrix(&["--include-identity-leaks"])["match_count_matrix"]["saturn"]["neptune"],
        json!(1)
    );
    t.arena()
        .args(["stats", "matrix"])
        .run()
        .success()
        .stderr_contains("2 whose answers named a model");

    // A rebuild from the votes keeps it out, and says so.
    t.arena()
        .arg("rebuild")
        .run()
        .success()
        .stderr_contains("left out of the ratings: 2 whose answers named a model");
    for method in ["bt", "elo"] {
        let rebuilt = board(&t, &["--method", method]);
        assert_eq!(rebuilt["votes"], json!(1), "{method}: {rebuilt:#}");
        assert_eq!(models_of(&rebuilt), ["jupiter", "neptune"], "{method}");
    }
}

#[test]
fn an_export_imported_elsewhere_keeps_the_vote_out() {
    let up = Upstream::start();
    let (t, _) = voted(&up);
    for (what, format) in [("votes", "jsonl"), ("votes", "csv"), ("battles", "jsonl")] {
        let file = format!("{what}.{format}");
        t.arena()
            .args(["export", what, "--format", format, "--output", &file])
            .run()
            .success();
        let other = t.path(&format!("other-{what}-{format}.sqlite3"));
        let summary = t
            .arena()
            .db(&other)
            .args(["import", &file, "--format", "json"])
            .run()
            .success()
            .json();
        assert_eq!(
            summary["imported"],
            json!(2),
            "{what} {format}: {summary:#}"
        );
        let imported = t
            .arena()
            .db(&other)
            .args(["leaderboard", "--format", "json"])
            .run()
            .success()
            .json();
        assert_eq!(imported["votes"], json!(1), "{what} {format}: {imported:#}");
        assert_eq!(imported["left_out"]["identity_leak"], json!(1));
        let included = t
            .arena()
            .db(&other)
            .args([
                "leaderboard",
                "--format",
                "json",
                "--include-identity-leaks",
            ])
            .run()
            .success()
            .json();
        assert_eq!(included["votes"], json!(2), "{what} {format}");
        // And out again: the reason goes on.
        let again = t
            .arena()
            .db(&other)
            .args(["export", "votes"])
            .run()
            .success()
            .stdout();
        assert_eq!(again.matches("\"left_out\":[\"identity_leak\"]").count(), 1);
    }
    // An unknown reason is not taken as a vote that counts.
    t.write(
        "odd.jsonl",
        "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"model_a\", \"left_out\": [\"bribed\"]}\n",
    );
    let summary = t
        .arena()
        .args(["import", "odd.jsonl", "--format", "json"])
        .run()
        .code(2)
        .json();
    assert_eq!(summary["imported"], json!(0), "{summary:#}");
    let reasons = summary["skipped"]["reasons"].to_string();
    assert!(
        reasons.contains("left_out names an unknown reason"),
        "{reasons}"
    );
}

#[test]
fn the_vendor_words_and_the_pool_names_are_configurable() {
    let up = Upstream::start();
    let models = [("saturn", "vendor-one"), ("neptune", "self-two")];
    // By default: the vendor's name, and the pool's upstream id.
    let t = Test::new().with_upstream_models(&up, &models);
    let battle = t.battle(&["Hello", "--models", "saturn,neptune"]);
    let reveal = t.vote(text(&battle, "battle_id"), "tie");
    let (vendor, named) = (side_of(&battle, "vendor-one"), side_of(&battle, "self-two"));
    assert_eq!(
        reveal["identity_leak"][vendor],
        json!(["openai"]),
        "{reveal:#}"
    );
    assert_eq!(
        reveal["identity_leak"][named],
        json!(["self-two"]),
        "{reveal:#}"
    );
    // Neither checked: the vote counts.
    let t = Test::new()
        .with_upstream_models(&up, &models)
        .with_config_keys(&json!({"identity_leak": {"words": [], "pool_names": false}}));
    let battle = t.battle(&["Hello", "--models", "saturn,neptune"]);
    let reveal = t.vote(text(&battle, "battle_id"), "tie");
    assert!(reveal.get("left_out").is_none(), "{reveal:#}");
    assert_eq!(board(&t, &[])["votes"], json!(1));
}

/// High: two models that answer cleanly; low: `mercury`, which names itself, and `jupiter`.
/// No battle crosses tiers, so a high battle counts and a low one leaks.
fn tiered(up: &Upstream) -> Server {
    let base = up.base_url();
    Server::start(
        // The battles are on a prompt of their own, which prompt statistics show only when
        // asked to.
        &json!({"tiers": {"cross_tier_probability": 0, "transition_zone_probability": 0},
                "publish_custom_prompts": true}),
        &json!({"models": [
            {"name": "saturn", "model": "stream-one", "base_url": base, "tier": "high"},
            {"name": "neptune", "model": "stream-two", "base_url": base, "tier": "high"},
            {"name": "mercury", "model": "self-four", "base_url": base, "tier": "low"},
            {"name": "jupiter", "model": "stream-three", "base_url": base, "tier": "low"},
        ]}),
    )
}

fn rest_battle(s: &Server, tier: &str) -> Value {
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": tier, "discord_id": "7", "custom_prompt": "Name a colour"}),
    );
    assert_eq!(status, 201, "{body}");
    json(&body)
}

fn rest_names(body: &str) -> Vec<String> {
    let mut names: Vec<String> = json(body)["leaderboard"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows: {body}"))
        .iter()
        .filter_map(|r| r["model_name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn the_rest_leaderboard_leaves_it_out_and_counts_it_when_asked() {
    let up = Upstream::start();
    let s = tiered(&up);
    let clean = rest_battle(&s, "high_tier");
    let id = clean["battle_id"].as_str().expect("id");
    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "model_a", "discord_id": "7"}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(json(&body).get("left_out").is_none(), "{body}");
    // The board is computed once: the Glicko-2 kept vote by vote now exists.
    let (_, before) = s.get("/leaderboard");
    assert_eq!(rest_names(&before), ["neptune", "saturn"], "{before}");

    let leak = rest_battle(&s, "low_tier");
    let id = leak["battle_id"].as_str().expect("id");
    let mercury = if leak["response_a"] == json!(answer("self-four")) {
        "a"
    } else {
        "b"
    };
    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "tie", "discord_id": "7"}),
    );
    assert_eq!(status, 200, "{body}");
    let vote = json(&body);
    assert_eq!(vote["left_out"], json!(["identity_leak"]), "{body}");
    assert_eq!(
        vote["identity_leak"][mercury],
        json!(["self-four"]),
        "{body}"
    );
    let (_, shown) = s.get(&format!("/battle/{id}"));
    assert_eq!(json(&shown)["identity_leak"][mercury], json!(["self-four"]));

    let (status, after) = s.get("/leaderboard");
    assert_eq!(status, 200, "{after}");
    assert_eq!(rest_names(&after), ["neptune", "saturn"], "{after}");
    assert_eq!(
        json(&after)["left_out"]["identity_leak"],
        json!(1),
        "{after}"
    );
    assert_eq!(s.battles_on_board("/v1/leaderboard"), 2);
    let (status, included) = s.get("/leaderboard?include_identity_leaks=true");
    assert_eq!(status, 200, "{included}");
    assert_eq!(
        rest_names(&included),
        ["jupiter", "mercury", "neptune", "saturn"],
        "{included}"
    );
    assert_eq!(json(&included)["left_out"]["identity_leak"], json!(0));
    // The default board is not the one that counts them, cached or not.
    let (_, again) = s.get("/leaderboard");
    assert_eq!(again, after);
    let (status, body) = s.get("/leaderboard?include_identity_leaks=maybe");
    assert_eq!(status, 400, "{body}");

    // Per-prompt figures count the votes that count: one battle of the two on this prompt.
    let (_, prompts) = s.get("/api/prompt_statistics");
    assert_eq!(
        json(&prompts)["prompt_statistics"][0]["total_battles"],
        json!(1),
        "{prompts}"
    );

    let (_, matrix) = s.get("/api/battle_statistics");
    assert!(json(&matrix)["match_count_matrix"].get("mercury").is_none());
    let (_, matrix) = s.get("/api/battle_statistics?include_identity_leaks=true");
    assert_eq!(
        json(&matrix)["match_count_matrix"]["mercury"]["jupiter"],
        json!(1)
    );
}

#[test]
fn a_chat_result_says_the_vote_was_left_out() {
    let up = Upstream::start();
    let base = up.base_url();
    let s = Server::start(
        &json!({}),
        &json!({"models": [
            {"name": "saturn", "model": "self-one", "base_url": base},
            {"name": "neptune", "model": "self-two", "base_url": base},
        ]}),
    );
    let turn = |content: &str| {
        let (status, body) = s.post(
            "/v1/chat/completions",
            &json!({"model": "arena", "user": "chatter",
                    "messages": [{"role": "user", "content": content}]}),
        );
        assert_eq!(status, 200, "{body}");
        json(&body)["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    turn("$sA5 Name a colour");
    turn("$B5");
    let result = turn("$wA5");
    assert!(
        result.contains("Kept, but left out of the ratings: an answer named a model"),
        "{result}"
    );
    assert_eq!(s.battles_on_board("/leaderboard"), 0);
}

#[test]
fn an_older_database_marks_its_chat_votes_once_and_rebuild_counts_them() {
    let t = Test::new();
    let sql = std::fs::read_to_string(t.fixture("db/schema-v5-chat-votes.sql")).expect("fixture");
    rusqlite::Connection::open(t.db())
        .and_then(|c| c.execute_batch(&sql))
        .expect("an older database");

    // The first open upgrades it and says what it marked.
    let first = t
        .arena()
        .args(["leaderboard", "--format", "json"])
        .run()
        .success();
    assert!(
        first
            .stderr()
            .contains("2 vote(s) of chat battles recorded before both sides saw the same"),
        "{}",
        first.stderr()
    );
    let upgraded = first.json();
    // Only the command-line battle counts: neptune won it.
    assert_eq!(upgraded["votes"], json!(1), "{upgraded:#}");
    assert_eq!(
        upgraded["left_out"]["unequal_chat"],
        json!(2),
        "{upgraded:#}"
    );
    let wins: Vec<(String, u64)> = upgraded["leaderboard"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["model_name"].as_str().unwrap_or_default().to_owned(),
                r["wins"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(wins.contains(&("neptune".to_owned(), 1)), "{wins:?}");
    assert!(wins.contains(&("saturn".to_owned(), 0)), "{wins:?}");
    // Never counted, whatever is included.
    let included = board(&t, &["--include-identity-leaks", "--method", "elo"]);
    assert_eq!(included["votes"], json!(1), "{included:#}");

    t.arena()
        .arg("rebuild")
        .run()
        .success()
        .stderr_contains(
            "left out of the ratings: 2 of chat battles from before both sides saw the same \
             conversation",
        )
        .stderr_lacks("database upgraded");
    assert_eq!(board(&t, &["--method", "glicko2"])["votes"], json!(1));
    let exported = t.arena().args(["export", "votes"]).run().success().stdout();
    assert_eq!(
        exported.matches("\"left_out\":[\"unequal_chat\"]").count(),
        2,
        "{exported}"
    );
    // The battle says why.
    t.arena()
        .args(["show", "019b76da-a800-7000-8000-000000000001"])
        .run()
        .success()
        .stdout_contains("a chat battle from before both sides saw the same conversation");
}

/// The ratings of a board by model: (rating, realtime rating).
fn ratings(board: &arena::rating::Leaderboard) -> Vec<(String, f64, f64)> {
    let mut rows: Vec<(String, f64, f64)> = board
        .leaderboard
        .iter()
        .map(|r| {
            (
                r.model_name.clone(),
                r.rating,
                r.rating_realtime.unwrap_or_default(),
            )
        })
        .collect();
    rows.sort_by(|x, y| x.0.cmp(&y.0));
    rows
}

#[track_caller]
fn assert_same_ratings(fast: &arena::rating::Leaderboard, slow: &arena::rating::Leaderboard) {
    let (fast, slow) = (ratings(fast), ratings(slow));
    assert_eq!(fast.len(), slow.len(), "{fast:?} vs {slow:?}");
    for (f, s) in fast.iter().zip(&slow) {
        assert_eq!(f.0, s.0);
        assert!(
            (f.1 - s.1).abs() < 1e-6 && (f.2 - s.2).abs() < 1e-6,
            "{fast:?} vs {slow:?}"
        );
    }
}

/// The ratings kept beside the votes (counts, running Elo, Glicko-2 kept vote by vote in a
/// long-lived engine, with and without the identity leaks) equal those computed from a scan
/// of the same votes, before and after a vote left out and after a rebuild. A theme selects
/// the same votes through a scan of the votes.
#[test]
fn kept_ratings_leave_it_out_vote_by_vote() {
    use arena::battle::{Origin, VoteFlags, Winner};
    use arena::engine::Selection;
    use arena::rating::Method;
    use arena::store::{Mode, NewBattle, SideOutcome, Store};

    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = arena::store::open(&dir.path().join("a.sqlite3"), Mode::Create)
            .await
            .expect("open");
        let config = arena::config::Config {
            user_id_salt: arena::config::Secret::new("0123456789abcdef0123456789abcdef-left-out"),
            ..arena::config::Config::default()
        };
        let now = arena::store::now_ms();
        let engine = arena::Arena::new(store.clone(), config, arena::config::Models::default())
            .await
            .expect("engine")
            .with_clock(std::sync::Arc::new(move || now));
        let battle = |a: &str, b: &str, text_a: &str, text_b: &str| {
            let store = store.clone();
            let new = NewBattle {
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
                now,
                limits: None,
                prompt_content: None,
            };
            let side = |t: &str| SideOutcome {
                response: Some(t.into()),
                ..SideOutcome::default()
            };
            let (ta, tb) = (side(text_a), side(text_b));
            async move {
                let id = store.create_battle(new).await.expect("create").id;
                store.finish_generation(id, ta, tb).await.expect("finish");
                id
            }
        };
        let compare = |when: &'static str| {
            let engine = engine.clone();
            async move {
                for include_identity_leaks in [false, true] {
                    let all = Selection {
                        include_identity_leaks,
                        ..Selection::default()
                    };
                    let scanned = Selection {
                        theme: Some("general".into()),
                        ..all.clone()
                    };
                    for method in [Method::Glicko2, Method::Elo, Method::Bt] {
                        let options = engine.leaderboard_options(method).expect("options");
                        let fast = engine.leaderboard(&options, &all).await.expect("board");
                        let slow = engine.leaderboard(&options, &scanned).await.expect("board");
                        let what = format!("{when} {method:?} {include_identity_leaks}");
                        assert_eq!(fast.votes, slow.votes, "{what}");
                        assert_same_ratings(&fast, &slow);
                    }
                }
            }
        };
        for (a, b, w) in [
            ("xenon", "yttrium", Winner::ModelA),
            ("yttrium", "zinc", Winner::ModelA),
            ("zinc", "xenon", Winner::Tie),
        ] {
            let id = battle(a, b, "An answer.", "Another.").await;
            engine.vote(id, w, None).await.expect("vote");
        }
        // Every board computed once: the Glicko-2 kept vote by vote exists now.
        compare("before").await;
        let id = battle("xenon", "yttrium", "Fine.", "I am Yttrium, of course.").await;
        let reveal = engine.vote(id, Winner::ModelB, None).await.expect("vote");
        assert_eq!(reveal.left_out, VoteFlags::IDENTITY_LEAK);
        assert_eq!(
            reveal.identity_leak.as_ref().map(|l| l.b.clone()),
            Some(vec!["yttrium".to_owned()])
        );
        let id = battle("zinc", "yttrium", "One.", "Two.").await;
        engine.vote(id, Winner::ModelA, None).await.expect("vote");
        compare("after").await;
        let options = engine
            .leaderboard_options(Method::Glicko2)
            .expect("options");
        let fast = engine
            .leaderboard(&options, &Selection::default())
            .await
            .expect("board");
        assert_eq!(fast.votes, 4);
        assert_eq!(fast.left_out.identity_leak, 1);
        let with = Selection {
            include_identity_leaks: true,
            ..Selection::default()
        };
        let included = engine.leaderboard(&options, &with).await.expect("board");
        assert_eq!(included.votes, 5);
        engine.rebuild().await.expect("rebuild");
        compare("rebuilt").await;
    });
}
