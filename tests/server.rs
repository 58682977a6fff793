//! `arena serve`'s REST API over real TCP: shapes and statuses of the writing arena's
//! reference, anonymity on the raw bytes, ownership, limits under parallel load, the key,
//! CORS, languages, graceful shutdown and the OpenAPI document.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::Upstream;
use crate::support::server::{Server, json};

/// Two high-tier and one low-tier model of the fake upstream.
fn pool(up: &Upstream) -> Value {
    json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": up.base_url(), "tier": "high"},
        {"name": "neptune", "model": "stream-two", "base_url": up.base_url(), "tier": "high"},
        {"name": "jupiter", "model": "json-three", "base_url": up.base_url(), "tier": "low"},
    ]})
}

const SECRETS: [&str; 6] = [
    "saturn",
    "neptune",
    "jupiter",
    "stream-one",
    "stream-two",
    "json-three",
];

fn assert_anonymous(body: &str) {
    // Only the response texts may name a model (an identity leak, kept apart from ratings).
    let v = json(body);
    let mut rest = v.clone();
    if let Some(o) = rest.as_object_mut() {
        o.remove("response_a");
        o.remove("response_b");
    }
    let text = rest.to_string();
    for s in SECRETS {
        assert!(!text.contains(s), "`{s}` before the vote: {body}");
    }
}

fn mocks() -> Value {
    json!({"models": [
        {"name": "mock-high-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        {"name": "mock-high-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 0}},
        {"name": "mock-low-1", "provider": "mock", "tier": "low", "params": {"delay_ms": 0}},
        {"name": "mock-low-2", "provider": "mock", "tier": "low", "params": {"delay_ms": 0}},
    ]})
}

#[test]
fn a_battle_votes_and_reveals_with_the_reference_shapes() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &pool(&up));
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "discord_id": "123456789", "custom_prompt": "Name three colours"}),
    );
    assert_eq!(status, 201, "{body}");
    assert_anonymous(&body);
    let battle = json(&body);
    for key in [
        "battle_id",
        "prompt",
        "prompt_theme",
        "response_a",
        "response_b",
        "status",
    ] {
        assert!(battle.get(key).is_some(), "no {key}: {body}");
    }
    assert_eq!(battle["status"], json!("pending_vote"));
    let id = battle["battle_id"].as_str().expect("id").to_owned();
    let (status, before) = s.get(&format!("/battle/{id}"));
    assert_eq!(status, 200);
    assert_anonymous(&before);
    // The leaderboard names no model of an unvoted battle.
    let (_, board) = s.get("/leaderboard");
    for name in SECRETS {
        assert!(!board.contains(name), "{board}");
    }

    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "model_a", "discord_id": "123456789"}),
    );
    assert_eq!(status, 200, "{body}");
    let vote = json(&body);
    assert_eq!(vote["status"], json!("success"));
    assert_eq!(vote["message"], json!("Vote submitted."));
    assert_eq!(vote["winner"], vote["model_a_name"]);
    let names: BTreeSet<&str> = [&vote["model_a_name"], &vote["model_b_name"]]
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(names.iter().all(|n| SECRETS.contains(n)), "{body}");
    // The same vote again (a retry) is answered the same; another is refused with the
    // reference's 400.
    let (status, again) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "model_a", "discord_id": "123456789"}),
    );
    assert_eq!((status, json(&again)), (200, vote.clone()));
    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "model_b", "discord_id": "123456789"}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        json(&body),
        json!({"detail": "You have already voted on this battle."})
    );
    let (_, after) = s.get(&format!("/battle/{id}"));
    let after = json(&after);
    assert_eq!(after["status"], json!("completed"));
    assert_eq!(after["winner"], json!("model_a"));
    assert_eq!(after["model_a"], vote["model_a_name"]);

    let (status, board) = s.get("/leaderboard");
    assert_eq!(status, 200);
    let board = json(&board);
    let rows = board["leaderboard"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    // Before the period ends both periodic ratings are equal: the winner (higher realtime
    // rating) is listed first, at the same rank.
    assert_eq!(rows[0]["model_name"], vote["winner"], "{board}");
    assert_eq!(rows[0]["rank"], rows[1]["rank"], "{board}");
    for key in [
        "rank",
        "model_name",
        "tier",
        "rating",
        "rating_deviation",
        "volatility",
        "battles",
        "wins",
        "ties",
        "skips",
        "win_rate_percentage",
        "rating_realtime",
        "rating_deviation_realtime",
        "volatility_realtime",
        "bt_rating",
    ] {
        assert!(rows[0].get(key).is_some(), "no {key}: {board}");
    }
    assert!(board["next_update_time"].is_string(), "{board}");

    // Unknown battles and ids that are not ids are 404 with the reference's detail.
    for path in [
        "/battle/00000000-0000-0000-0000-000000000000",
        "/battle/';DROP%20TABLE",
        "/battle/..%2F..%2Fetc",
    ] {
        let (status, body) = s.get(path);
        assert_eq!(status, 404, "{path}");
        assert_eq!(
            json(&body),
            json!({"detail": "The battle ID does not exist."})
        );
    }
    let (status, body) = s.get("/health");
    assert_eq!(status, 200);
    let health = json(&body);
    assert_eq!(health["status"], json!("ok"));
    assert_eq!(health["models_count"], json!(3));
    assert_eq!(health["completed_battles_count"], json!(1));
    assert_eq!(health["recorded_users_count"], json!(1));

    // Counted at most once a second: a battle voted on within it shows a second later.
    s.advance(60_000);
    let (_, body) = s.get("/health");
    assert_eq!(json(&body)["completed_battles_count"], json!(1));
    let prompt_battles = || -> u64 {
        let (_, body) = s.get("/api/prompt_statistics");
        json(&body)["prompt_statistics"]
            .as_array()
            .expect("prompts")
            .iter()
            .filter_map(|p| p["total_battles"].as_u64())
            .sum()
    };
    // The first battle's prompt was the user's own: not published.
    assert_eq!(prompt_battles(), 0);
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "discord_id": "42"}),
    );
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "tie", "discord_id": "42"}),
    );
    assert_eq!(status, 200, "{body}");
    // Prompt statistics are counted again after a vote (not a second later).
    assert_eq!(prompt_battles(), 1);
    let (_, body) = s.get("/health");
    assert_eq!(json(&body)["completed_battles_count"], json!(1));
    s.advance(1_000);
    let (_, body) = s.get("/health");
    assert_eq!(json(&body)["completed_battles_count"], json!(2));
    assert_eq!(json(&body)["recorded_users_count"], json!(2));
}

#[test]
fn only_the_creator_votes_fetches_back_or_unstucks() {
    let s = Server::start(&json!({}), &mocks());
    let (_, body) = s.post(
        "/battle",
        &json!({"battle_type": "low_tier", "discord_id": "alice"}),
    );
    let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
    let (status, body) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "tie", "discord_id": "mallory"}),
    );
    assert_eq!(status, 403, "{body}");
    let (status, _) = s.post(&format!("/vote/{id}"), &json!({"vote_choice": "tie"}));
    assert_eq!(status, 403);
    // Battleback is per user.
    let (status, body) = s.post("/battleback", &json!({"discord_id": "mallory"}));
    assert_eq!(status, 404);
    assert_eq!(
        json(&body),
        json!({"detail": "No battle of yours was found."})
    );
    let (status, body) = s.post("/battleback", &json!({"discord_id": "alice"}));
    assert_eq!(status, 200);
    assert_eq!(json(&body)["battle_id"], json!(id));
    let (status, body) = s.post("/battleunstuck", &json!({"user_id": "discord:alice"}));
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        json!({"message": "No stuck battle was found."})
    );
    let (status, _) = s.post(
        &format!("/vote/{id}"),
        &json!({"vote_choice": "skip", "user_id": "discord:alice"}),
    );
    assert_eq!(
        status, 200,
        "discord_id and user_id discord:... are the same user"
    );
    // A bad user id names its field.
    let (status, body) = s.post("/battleback", &json!({"user_id": "no-platform"}));
    assert_eq!(status, 400);
    assert!(body.contains("user_id"), "{body}");
}

#[test]
fn parallel_battles_of_one_user_never_pass_a_limit() {
    for (config, allowed, limit) in [
        (json!({"max_concurrent_battles": 3}), 3, "at once"),
        (json!({"battles_per_hour": 5}), 5, "within an hour"),
        (json!({"battle_interval_seconds": 30}), 1, "apart"),
    ] {
        let s = Server::start(&config, &mocks());
        let battle = json!({"battle_type": "high_tier", "discord_id": "7"});
        let results = s.post_at_once("/battle", vec![battle; 50]);
        let ok = results.iter().filter(|(s, _)| *s == 201).count();
        assert_eq!(ok, allowed, "{config}: {results:?}");
        for (status, body) in results.iter().filter(|(s, _)| *s != 201) {
            assert_eq!(*status, 429, "{body}");
            let detail = &json(body)["detail"];
            assert!(
                detail["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(limit)),
                "{body}"
            );
            // A vote, not a clock, frees a place of the limit on battles at once.
            assert_eq!(
                detail["available_at"].as_f64().is_some(),
                limit != "at once",
                "{body}"
            );
        }
    }
}

#[test]
fn limits_free_up_as_the_clock_moves_without_waiting() {
    let s = Server::start(
        &json!({"battles_per_hour": 2, "battle_interval_seconds": 30, "language": "zh-CN"}),
        &mocks(),
    );
    let start = |s: &Server| {
        s.post(
            "/battle",
            &json!({"battle_type": "high_tier", "discord_id": 99}),
        )
    };
    assert_eq!(start(&s).0, 201);
    let (status, body) = start(&s);
    assert_eq!(status, 429);
    let detail = &json(&body)["detail"];
    assert_eq!(
        detail["message"],
        json!("两次对战创建之间至少需要间隔30秒，请稍后再试。")
    );
    s.advance(31_000);
    assert_eq!(start(&s).0, 201);
    s.advance(31_000);
    let (status, body) = start(&s);
    assert_eq!(status, 429);
    let detail = &json(&body)["detail"];
    assert_eq!(
        detail["message"],
        json!("您在一小时内创建的对战已达上限 (2场)，请稍后再试。")
    );
    let available = detail["available_at"].as_f64().expect("available_at");
    #[allow(clippy::cast_precision_loss)]
    let now = s.clock.load(std::sync::atomic::Ordering::SeqCst) as f64 / 1000.0;
    assert!(
        available > now && available <= now + 3600.0,
        "{available} vs {now}"
    );
    s.advance(3_600_000);
    assert_eq!(start(&s).0, 201);
    let (_, body) = s.get("/battle/00000000-0000-0000-0000-000000000000");
    assert_eq!(json(&body), json!({"detail": "对战ID不存在。"}));
}

#[test]
fn two_hundred_parallel_votes_record_one() {
    let s = Server::start(&json!({}), &mocks());
    let (_, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "discord_id": "v"}),
    );
    let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
    let choices = ["model_a", "model_b", "tie", "both_bad"];
    let statuses = s.post_at_once(
        &format!("/vote/{id}"),
        (0..200).map(|i| json!({"vote_choice": choices[i % 4], "discord_id": "v"})),
    );
    let won = json(
        &statuses
            .iter()
            .find(|(s, _)| *s == 200)
            .expect("a success")
            .1,
    )["vote_choice"]
        .clone();
    for (status, body) in &statuses {
        match status {
            // The winning choice again is the same vote, answered the same.
            200 => assert_eq!(json(body)["vote_choice"], won, "{body}"),
            400 => assert_eq!(
                json(body)["detail"],
                json!("You have already voted on this battle.")
            ),
            other => panic!("{other}: {body}"),
        }
    }
    let total = s.battles_on_board("/leaderboard");
    assert_eq!(total, 2, "one vote counts for two models");
}

#[test]
fn the_key_guards_every_endpoint_but_health() {
    let s = Server::start(&json!({"api_key": "server-secret-key"}), &mocks());
    let document = arena::server::document();
    for (path, item) in &document.paths.paths {
        let path = path.replace("{battle_id}", "00000000-0000-0000-0000-000000000000");
        let methods: Vec<reqwest::Method> = [
            (item.get.is_some(), reqwest::Method::GET),
            (item.post.is_some(), reqwest::Method::POST),
        ]
        .into_iter()
        .filter_map(|(has, m)| has.then_some(m))
        .collect();
        for method in methods {
            let request = s
                .client
                .request(method.clone(), s.url(&path))
                .json(&json!({}));
            let (status, body) = s.send(request);
            if path == "/health" {
                assert_eq!(status, 200, "{path}");
                continue;
            }
            assert_eq!(status, 401, "{method} {path}: {body}");
            let wrong = s
                .client
                .request(method.clone(), s.url(&path))
                .bearer_auth("server-secret-kex")
                .json(&json!({}));
            assert_eq!(s.send(wrong).0, 401, "{method} {path}");
            let right = s
                .client
                .request(method.clone(), s.url(&path))
                .bearer_auth("server-secret-key")
                .json(&json!({}));
            assert_ne!(s.send(right).0, 401, "{method} {path}");
        }
    }
    let open = Server::start(&json!({}), &mocks());
    assert_eq!(open.get("/leaderboard").0, 200);
}

#[test]
fn cors_is_off_unless_origins_are_configured() {
    let preflight = |s: &Server| {
        s.runtime.block_on(async {
            s.client
                .request(reqwest::Method::OPTIONS, s.url("/leaderboard"))
                .header("Origin", "https://app.example")
                .header("Access-Control-Request-Method", "GET")
                .send()
                .await
                .expect("response")
        })
    };
    let off = Server::start(&json!({}), &mocks());
    let r = preflight(&off);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let on = Server::start(
        &json!({"cors_allowed_origins": ["https://app.example"]}),
        &mocks(),
    );
    let r = preflight(&on);
    assert_eq!(
        r.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://app.example")
    );
}

#[test]
fn bad_bodies_get_clear_4xx_never_5xx() {
    let s = Server::start(&json!({"max_request_body_bytes": 2048}), &mocks());
    // A wrong method and a path that does not decode get JSON like every other answer.
    let (status, body) = s.send(s.client.delete(s.url("/leaderboard")));
    assert_eq!(status, 405, "{body}");
    assert!(
        json(&body)["detail"]
            .as_str()
            .is_some_and(|d| d.contains("DELETE")),
        "{body}"
    );
    let (status, body) = s.send(s.client.put(s.url("/v1/chat/completions")));
    assert_eq!(status, 405, "{body}");
    assert_eq!(json(&body)["error"]["code"], json!("method_not_allowed"));
    for path in ["/battle/%FF", "/battle/%FF%FE"] {
        let (status, body) = s.get(path);
        assert_eq!(status, 404, "{body}");
        assert_eq!(
            json(&body),
            json!({"detail": "The battle ID does not exist."})
        );
    }
    let (status, body) = s.get("/v1/models/%FF");
    assert_eq!(status, 404, "{body}");
    assert_eq!(json(&body)["error"]["code"], json!("model_not_found"));
    let raw = |body: Vec<u8>, kind: &str| {
        s.send(
            s.client
                .post(s.url("/battle"))
                .header("content-type", kind)
                .body(body),
        )
    };
    for (body, kind, want) in [
        (b"{".to_vec(), "application/json", 400),
        (b"{\"battle_type\": 5}".to_vec(), "application/json", 422),
        (
            b"{\"battle_type\": \"mid_tier\"}".to_vec(),
            "application/json",
            422,
        ),
        (vec![0xff, 0xfe, b'{'], "application/json", 400),
        (
            b"{\"battle_type\": \"high_tier\"}".to_vec(),
            "text/plain",
            415,
        ),
        (vec![b' '; 4096], "application/json", 413),
    ] {
        let (status, body) = raw(body, kind);
        assert_eq!(status, want, "{body}");
        assert!(json(&body)["detail"].is_string(), "{body}");
    }
    let (status, body) = s.post(
        "/battle",
        &json!({"battle_type": "high_tier", "custom_prompt": "  "}),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = s.post(
        "/vote/00000000-0000-0000-0000-000000000000",
        &json!({"vote_choice": "everyone"}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("vote_choice"), "{body}");
    // Unknown fields are left alone, as the reference did.
    let (status, _) = s.post(
        "/battleunstuck",
        &json!({"discord_id": "1", "extra": [1, 2]}),
    );
    assert_eq!(status, 200);
}

#[test]
fn a_battle_in_flight_at_shutdown_completes_and_is_stored() {
    let slow = json!({"models": [
        {"name": "slow-1", "provider": "mock", "tier": "high", "params": {"delay_ms": 40}},
        {"name": "slow-2", "provider": "mock", "tier": "high", "params": {"delay_ms": 40}},
    ]});
    let s = Server::start(&json!({"shutdown_grace_seconds": 30}), &slow);
    let request = s
        .client
        .post(s.url("/battle"))
        .json(&json!({"battle_type": "high_tier", "discord_id": "late"}))
        .send();
    // The client runs on a runtime of its own, which outlives the server's: the server's is
    // dropped once it has stopped, and would cancel a client still reading its answer.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pending = runtime.spawn(request);
    // The generation is under way (a mock answer of about 30 words, 40 ms apart).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let db = s.db();
    let answered = {
        let s = s;
        let stop = std::thread::spawn(move || s.stop());
        let response = runtime
            .block_on(pending)
            .expect("task")
            .expect("a response");
        let status = response.status().as_u16();
        let (stopped, dir) = stop.join().expect("stop");
        stopped.expect("a clean stop");
        (status, dir)
    };
    let (answered, _dir) = answered;
    assert_eq!(answered, 201);
    // The database file alone holds the battle, waiting for its vote.
    runtime.block_on(async {
        use arena::store::Store as _;
        let store = arena::store::open(&db, arena::store::Mode::Read)
            .await
            .expect("open");
        let battles = store
            .battles(arena::store::BattleFilter::default())
            .await
            .expect("battles");
        assert_eq!(battles.len(), 1);
        assert_eq!(battles[0].status, arena::battle::Status::PendingVote);
    });
}

#[test]
fn the_openapi_document_lists_every_route_and_is_stable() {
    let s = Server::start(&json!({}), &mocks());
    let (status, body) = s.get("/openapi.json");
    assert_eq!(status, 200);
    let doc = json(&body);
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..3]), Some("3.1"));
    let paths: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let routes: BTreeSet<String> = [
        "/battle",
        "/vote/{battle_id}",
        "/battle/{battle_id}",
        "/leaderboard",
        "/health",
        "/battleback",
        "/battleunstuck",
        "/api/battle_statistics",
        "/api/prompt_statistics",
        "/openapi.json",
        "/v1/models",
        "/v1/models/{model}",
        "/v1/leaderboard",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/images/generations",
        "/api/battles",
        "/api/battles/{battle_id}",
        "/api/battles/{battle_id}/turns",
        "/api/battles/{battle_id}/stream",
        "/api/battles/{battle_id}/vote",
        "/api/models",
        "/api/config",
        "/api/leaderboard",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    assert_eq!(paths, routes);
    // Every listed route is served (none is in the document only).
    for path in &paths {
        let path = path
            .replace("{battle_id}", "00000000-0000-0000-0000-000000000000")
            .replace("{model}", "alpha");
        let (status, body) = s.get(&path);
        assert_ne!(body, r#"{"detail":"Not Found"}"#, "{path} is not served");
        assert!(
            !body.contains("unknown_url"),
            "{path} is not served: {status} {body}"
        );
    }
    // One snapshot for both backends (this module runs again under `on_postgres`).
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("main__server__openapi", doc);
    });
}

#[test]
fn glicko2_kept_vote_by_vote_serves_what_the_whole_computation_gives() {
    let s = Server::start(&json!({}), &mocks());
    let choices = ["model_a", "model_b", "tie", "both_bad", "skip"];
    for i in 0..40 {
        let (status, body) = s.post(
            "/battle",
            &json!({"battle_type": "low_tier", "user_id": format!("web:g{}", i % 3)}),
        );
        assert_eq!(status, 201, "{body}");
        let id = json(&body)["battle_id"].as_str().expect("id").to_owned();
        let (status, body) = s.post(
            &format!("/vote/{id}"),
            &json!({"vote_choice": choices[i % 5], "user_id": format!("web:g{}", i % 3)}),
        );
        assert_eq!(status, 200, "{body}");
        // Now and then a leaderboard, and time moves across rating periods (1 h).
        if i % 4 == 0 {
            assert_eq!(s.get("/leaderboard").0, 200);
        }
        s.advance(13 * 60_000);
    }
    let (_, body) = s.get("/leaderboard");
    let served = json(&body);
    let now = s.clock.load(std::sync::atomic::Ordering::SeqCst);
    let whole = s.runtime.block_on(async {
        use arena::store::Store as _;
        let store = arena::store::open(&s.db(), arena::store::Mode::Read)
            .await
            .expect("open");
        let votes = store
            .votes(arena::store::VoteFilter::default())
            .await
            .expect("votes");
        let p = arena::rating::glicko2::Glicko2Params::default();
        let r = arena::rating::glicko2::compute(
            votes.names.len(),
            &votes.votes,
            &votes.times,
            &votes.imported,
            now,
            &p,
        );
        votes
            .names
            .into_iter()
            .zip(r.ratings)
            .collect::<std::collections::HashMap<_, _>>()
    });
    let rows = served["leaderboard"].as_array().expect("rows");
    assert!(rows.len() >= 2, "{served}");
    for row in rows {
        let name = row["model_name"].as_str().expect("name");
        let g = whole[name];
        let close = |a: &Value, b: f64| (a.as_f64().expect("a number") - b).abs() < 1e-6;
        assert!(
            close(&row["rating"], g.periodic.rating),
            "{name}: {row} vs {g:?}"
        );
        assert!(
            close(&row["rating_realtime"], g.realtime.rating),
            "{name}: {row} vs {g:?}"
        );
    }
}

#[test]
fn a_query_that_does_not_fit_is_a_json_400() {
    let s = Server::start(&json!({}), &mocks());
    for q in ["top=-1", "top=many", "top=99999999999999999999999"] {
        let (status, body) = s.get(&format!("/api/battle_statistics?{q}"));
        assert_eq!(status, 400, "{q}: {body}");
        assert!(
            json(&body)["detail"]
                .as_str()
                .is_some_and(|d| d.contains("top")),
            "{q}: {body}"
        );
    }
}
