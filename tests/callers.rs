//! Who the caller is (SPEC §4 "Auth and callers"): user keys are their users, service keys act
//! for the users they name (Open WebUI's forwarded header when trusted), callers naming no
//! user share one limit bucket and never one another's chat battles on a shared server, keys
//! added and revoked by `arena keys` count from a running server's next request, and the
//! per-user limits fit the server's setup. Real server, real database file, real HTTP, the
//! recording fake upstream.

use serde_json::{Value, json};

use crate::support::Test;
use crate::support::Upstream;
use crate::support::server::{Server, json};

/// The config's `api_key`: a service key.
const SERVICE: &str = "service-key-0123456789";

fn models(up: &Upstream) -> Value {
    let base = up.base_url();
    json!({"models": [
        {"name": "saturn", "model": "stream-one", "base_url": base, "tier": "high"},
        {"name": "neptune", "model": "stream-two", "base_url": base, "tier": "high"},
    ]})
}

/// A request to `path` with a JSON body, the key `key` (if any) and extra headers.
fn post(
    s: &Server,
    path: &str,
    key: Option<&str>,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, String) {
    let mut request = s.client.post(s.url(path)).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    s.send(request)
}

/// `GET /v1/models` with this `Authorization` header (if any): the status.
fn models_status(s: &Server, authorization: Option<&str>) -> u16 {
    let mut request = s.client.get(s.url("/v1/models"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    s.send(request).0
}

/// A battle-mode message, strict (errors are 4xx), not streamed.
fn command(text: &str, extra: &Value) -> Value {
    let mut body = json!({"model": "arena", "strict": true,
                          "messages": [{"role": "user", "content": text}]});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    body
}

fn chat(s: &Server, key: Option<&str>, headers: &[(&str, &str)], text: &str) -> (u16, String) {
    chat_with(s, key, headers, text, &json!({}))
}

fn chat_with(
    s: &Server,
    key: Option<&str>,
    headers: &[(&str, &str)],
    text: &str,
    extra: &Value,
) -> (u16, String) {
    post(
        s,
        "/v1/chat/completions",
        key,
        headers,
        &command(text, extra),
    )
}

/// `POST /battle` of the high tier, naming `user` fields (an object, maybe empty).
fn battle(s: &Server, key: Option<&str>, user: &Value) -> (u16, String) {
    let mut body = json!({"battle_type": "high_tier"});
    if let (Some(b), Some(u)) = (body.as_object_mut(), user.as_object()) {
        b.extend(u.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    post(s, "/battle", key, &[], &body)
}

fn battle_id(body: &str) -> String {
    json(body)["battle_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no battle_id: {body}"))
        .to_owned()
}

fn vote(s: &Server, key: Option<&str>, id: &str, user: &Value) -> (u16, String) {
    let mut body = json!({"vote_choice": "model_a"});
    if let (Some(b), Some(u)) = (body.as_object_mut(), user.as_object()) {
        b.extend(u.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    post(s, &format!("/vote/{id}"), key, &[], &body)
}

/// `arena keys add ARGS` on the server's database: the key it printed.
fn add_key(t: &Test, s: &Server, args: &[&str]) -> String {
    let key = t
        .arena()
        .db(s.db())
        .args(["keys", "add"])
        .args(args)
        .run()
        .success()
        .stdout_trimmed();
    assert!(key.starts_with("arena_"), "not a key: {key}");
    key
}

#[test]
fn a_user_key_is_its_user_whatever_the_request_names() {
    let up = Upstream::start();
    let s = Server::start(&json!({"api_key": SERVICE}), &models(&up));
    let t = Test::new();
    let alice = add_key(&t, &s, &["alice"]);
    let bob = add_key(&t, &s, &["bob"]);

    let (status, body) = battle(&s, Some(&alice), &json!({}));
    assert_eq!(status, 201, "{body}");
    let id = battle_id(&body);
    // Another user's key cannot vote on it, whatever the body says.
    let (status, body) = vote(&s, Some(&bob), &id, &json!({}));
    assert_eq!(status, 403, "{body}");
    // A user key that names a user in a REST body is refused, not taken as that user.
    let (status, body) = vote(&s, Some(&alice), &id, &json!({"discord_id": "42"}));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("user key"), "{body}");
    let (status, body) = battle(&s, Some(&alice), &json!({"user_id": "web:bob"}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = vote(&s, Some(&alice), &id, &json!({}));
    assert_eq!(status, 200, "{body}");

    // On /v1 the `user` a client adds is ignored: the battle is alice's, not "bob"'s.
    let (status, body) = chat_with(
        &s,
        Some(&alice),
        &[],
        "$sA1 Name a colour",
        &json!({"user": "bob"}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat_with(&s, Some(&bob), &[], "$wA1", &json!({"user": "bob"}));
    assert_eq!(status, 404, "bob voted on alice's battle: {body}");
    // Both answers shown, the result is taken.
    assert_eq!(chat(&s, Some(&alice), &[], "$B1").0, 200);
    let (status, body) = chat(&s, Some(&alice), &[], "$wA1");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Battle 1"), "{body}");
}

#[test]
fn a_service_key_acts_for_the_users_it_names() {
    let up = Upstream::start();
    let s = Server::start(
        &json!({"api_key": SERVICE, "trust_forwarded_user": true}),
        &models(&up),
    );
    // REST: the body's user.
    let (status, body) = battle(&s, Some(SERVICE), &json!({"discord_id": "1"}));
    assert_eq!(status, 201, "{body}");
    let id = battle_id(&body);
    let (status, body) = vote(&s, Some(SERVICE), &id, &json!({"discord_id": "2"}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = vote(&s, Some(SERVICE), &id, &json!({"discord_id": "1"}));
    assert_eq!(status, 200, "{body}");

    // /v1: Open WebUI's forwarded user, with the key trusting it.
    let u1 = [("X-OpenWebUI-User-Id", "owui-1")];
    let u2 = [("X-OpenWebUI-User-Id", "owui-2")];
    let (status, body) = chat(&s, Some(SERVICE), &u1, "$sA5 Name a colour");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], json!("Assistant A"), "{body}");
    let (status, body) = chat(&s, Some(SERVICE), &u2, "$wA5");
    assert_eq!(status, 404, "another forwarded user voted: {body}");
    assert_eq!(chat(&s, Some(SERVICE), &u1, "$B5").0, 200);
    let (status, body) = chat(&s, Some(SERVICE), &u1, "$wA5");
    assert_eq!(status, 200, "{body}");
    // A header that is not a user id is refused, not taken as some user.
    let (status, body) = chat(
        &s,
        Some(SERVICE),
        &[("X-OpenWebUI-User-Id", " ")],
        "$sA6 Name a colour",
    );
    assert_eq!(status, 400, "{body}");

    // With the key not trusting the header, the header names no one.
    let plain = Server::start(&json!({"api_key": SERVICE}), &models(&up));
    let (status, body) = chat(&plain, Some(SERVICE), &u1, "$sA5 Name a colour");
    assert_eq!(status, 400, "the untrusted header was taken: {body}");
    assert!(body.contains("user"), "{body}");
    // ... while a stored service key that trusts it acts for that user.
    let t = Test::new();
    let owui = add_key(&t, &plain, &["owui", "--service", "--trust-forwarded-user"]);
    let (status, body) = chat(&plain, Some(&owui), &u1, "$sA5 Name a colour");
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat(&plain, Some(&owui), &u2, "$wA5");
    assert_eq!(status, 404, "{body}");
    assert_eq!(chat(&plain, Some(&owui), &u1, "$B5").0, 200);
    let (status, body) = chat(&plain, Some(&owui), &u1, "$wA5");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn unidentified_chat_clients_of_a_keyed_server_never_share_battles() {
    let up = Upstream::start();
    let s = Server::start(&json!({"api_key": SERVICE}), &models(&up));
    // Two clients with the shared service key, neither naming a user: one cannot start a
    // battle that the other could then vote on.
    let (status, body) = chat(&s, Some(SERVICE), &[], "$sA1 Name a colour");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("safety_identifier"), "{body}");
    let (status, body) = chat(&s, Some(SERVICE), &[], "$wA1");
    assert_ne!(status, 200, "{body}");
    assert!(up.requests().is_empty(), "a model was asked");
    // Not strict: the refusal is a chat reply that says what to do.
    let (status, body) = post(
        &s,
        "/v1/chat/completions",
        Some(SERVICE),
        &[],
        &json!({"model": "arena", "messages": [{"role": "user", "content": "$sA1 Hi"}]}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("arena keys add"), "{body}");

    // Two user keys naming no user are two callers.
    let t = Test::new();
    let alice = add_key(&t, &s, &["alice"]);
    let bob = add_key(&t, &s, &["bob"]);
    let (status, body) = chat(&s, Some(&alice), &[], "$sA1 Name a colour");
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat(&s, Some(&bob), &[], "$wA1");
    assert_eq!(status, 404, "{body}");
    let (status, body) = chat(&s, Some(&bob), &[], "$wA");
    assert_eq!(status, 404, "{body}");
}

#[test]
fn an_open_server_beyond_loopback_takes_no_unidentified_chat_battle() {
    let up = Upstream::start();
    let s = Server::start_beyond_loopback(&json!({}), &models(&up));
    let (status, body) = chat(&s, None, &[], "$sA1 Name a colour");
    assert_eq!(status, 400, "{body}");
    let (status, body) = chat_with(&s, None, &[], "$sA1 Name a colour", &json!({"user": "u"}));
    assert_eq!(status, 200, "{body}");
    // The same server on loopback is one person's: naming no user is fine there.
    let local = Server::start(&json!({}), &models(&up));
    let (status, body) = chat(&local, None, &[], "$sA1 Name a colour");
    assert_eq!(status, 200, "{body}");
    assert_eq!(chat(&local, None, &[], "$B1").0, 200);
    let (status, body) = chat(&local, None, &[], "$wA1");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn rest_battles_of_no_user_share_one_limit_bucket() {
    let up = Upstream::start();
    let s = Server::start(&json!({"battles_per_hour": 1}), &models(&up));
    let (status, body) = battle(&s, None, &json!({}));
    assert_eq!(status, 201, "{body}");
    // Omitting the user id never skips a limit: every caller naming none is one bucket.
    let (status, body) = battle(&s, None, &json!({}));
    assert_eq!(status, 429, "{body}");
    assert!(json(&body)["detail"]["available_at"].is_number(), "{body}");
    let (status, body) = battle(&s, None, &json!({"discord_id": "7"}));
    assert_eq!(status, 201, "{body}");
}

#[test]
fn a_battle_of_no_user_is_voted_only_by_a_caller_naming_none() {
    let up = Upstream::start();
    let s = Server::start(&json!({"api_key": SERVICE}), &models(&up));
    let (status, body) = battle(&s, Some(SERVICE), &json!({}));
    assert_eq!(status, 201, "{body}");
    let id = battle_id(&body);
    let (status, body) = vote(&s, Some(SERVICE), &id, &json!({"discord_id": "9"}));
    assert_eq!(status, 403, "{body}");
    let t = Test::new();
    let alice = add_key(&t, &s, &["alice"]);
    let (status, body) = vote(&s, Some(&alice), &id, &json!({}));
    assert_eq!(status, 403, "{body}");
    let (status, body) = vote(&s, Some(SERVICE), &id, &json!({}));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn require_user_refuses_callers_that_name_none() {
    let up = Upstream::start();
    let s = Server::start(&json!({"require_user": true}), &models(&up));
    let (status, body) = battle(&s, None, &json!({}));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("require_user"), "{body}");
    let (status, body) = chat(&s, None, &[], "$sA1 Name a colour");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("require_user"), "{body}");
    assert!(up.requests().is_empty(), "a model was asked");

    let (status, body) = battle(&s, None, &json!({"user_id": "web:1"}));
    assert_eq!(status, 201, "{body}");
    let id = battle_id(&body);
    let (status, body) = vote(&s, None, &id, &json!({}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = vote(&s, None, &id, &json!({"user_id": "web:1"}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat_with(&s, None, &[], "$sA1 Name a colour", &json!({"user": "u"}));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn keys_added_and_revoked_count_from_the_running_servers_next_request() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    let t = Test::new();
    assert_eq!(models_status(&s, None), 200, "an open server");

    let alice = add_key(&t, &s, &["alice"]);
    assert_eq!(
        models_status(&s, None),
        401,
        "a key added, the server needs one"
    );
    assert_eq!(models_status(&s, Some(&format!("Bearer {alice}"))), 200);
    assert_eq!(s.get("/health").0, 200, "/health needs no key");

    t.arena()
        .db(s.db())
        .args(["keys", "revoke", "alice"])
        .run()
        .success();
    assert_eq!(
        models_status(&s, Some(&format!("Bearer {alice}"))),
        401,
        "a revoked key still let in"
    );
    // Revoking the last key does not open the server again.
    assert_eq!(models_status(&s, None), 401);

    let listed = t
        .arena()
        .db(s.db())
        .args(["keys", "list", "--format", "json"])
        .run()
        .success();
    assert!(!listed.stdout().contains(&alice), "{}", listed.stdout());
    let rows = listed.json();
    assert_eq!(rows[0]["name"], json!("alice"), "{rows}");
    assert!(rows[0]["revoked_at"].is_string(), "{rows}");
    assert!(
        rows[0]["last_used_at"].is_string(),
        "its use was noted: {rows}"
    );
}

#[test]
fn the_bearer_scheme_is_taken_in_any_case() {
    let up = Upstream::start();
    let s = Server::start(&json!({"api_key": SERVICE}), &models(&up));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let status = models_status(&s, Some(&format!("{scheme} {SERVICE}")));
        assert_eq!(status, 200, "{scheme}");
    }
    assert_eq!(models_status(&s, Some(&format!("Basic {SERVICE}"))), 401);
    assert_eq!(models_status(&s, Some(&format!("bearer {SERVICE}x"))), 401);
}

#[test]
fn safety_identifier_names_the_user() {
    let up = Upstream::start();
    let s = Server::start(&json!({}), &models(&up));
    let as_id = |id: &str| json!({"safety_identifier": id});
    let (status, body) = chat_with(&s, None, &[], "$sA3 Name a colour", &as_id("s-1"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = chat_with(&s, None, &[], "$wA3", &as_id("s-2"));
    assert_eq!(status, 404, "another safety_identifier voted: {body}");
    assert_eq!(chat_with(&s, None, &[], "$B3", &as_id("s-1")).0, 200);
    let (status, body) = chat_with(&s, None, &[], "$wA3", &as_id("s-1"));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn open_webui_names_and_emails_are_never_stored() {
    const NAME: &str = "Zelda Quintessence-Marlowe";
    const EMAIL: &str = "zelda.quintessence@example.invalid";
    const ID: &str = "3f1c2a9e-owui-user";
    let up = Upstream::start();
    let s = Server::start(
        &json!({"api_key": SERVICE, "trust_forwarded_user": true}),
        &models(&up),
    );
    let headers = [
        ("X-OpenWebUI-User-Id", ID),
        ("X-OpenWebUI-User-Name", NAME),
        ("X-OpenWebUI-User-Email", EMAIL),
        ("X-OpenWebUI-User-Role", "user"),
        ("X-OpenWebUI-Chat-Id", "chat-7f3e"),
    ];
    let (status, body) = chat(&s, Some(SERVICE), &headers, "$sA8 Name a colour");
    assert_eq!(status, 200, "{body}");
    assert_eq!(chat(&s, Some(SERVICE), &headers, "$B8").0, 200);
    let (status, body) = chat(&s, Some(SERVICE), &headers, "$wA8");
    assert_eq!(status, 200, "{body}");
    let (stopped, dir) = s.stop();
    stopped.expect("a clean stop");
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path()).expect("the server's directory") {
        let path = entry.expect("an entry").path();
        let bytes = std::fs::read(&path).expect("a file");
        files += 1;
        for secret in [NAME, EMAIL, ID] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "`{secret}` is in {}",
                path.display()
            );
        }
    }
    assert!(files > 0);
}

#[test]
fn the_limits_fit_the_setup() {
    let up = Upstream::start();
    // The limits as a config leaves them: unset.
    let unset = json!({"max_concurrent_battles": null, "battles_per_hour": null,
                       "battle_interval_seconds": null});
    // One person on their own machine: battle after battle, and more than three open.
    let local = Server::start(&unset, &models(&up));
    for n in 1..=4 {
        let (status, body) = battle(&local, None, &json!({}));
        assert_eq!(status, 201, "battle {n}: {body}");
    }
    for n in 1..=4 {
        let (status, body) = chat(&local, None, &[], &format!("$sA{n} Name a colour"));
        assert_eq!(status, 200, "chat battle {n}: {body}");
    }
    // A server with keys: the writing arena's limits, 30 s apart among them.
    let mut keyed = unset.clone();
    keyed["api_key"] = json!(SERVICE);
    let shared = Server::start(&keyed, &models(&up));
    let (status, body) = battle(&shared, Some(SERVICE), &json!({"discord_id": "1"}));
    assert_eq!(status, 201, "{body}");
    let (status, body) = battle(&shared, Some(SERVICE), &json!({"discord_id": "1"}));
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("30 s"), "{body}");
    // A limit the config sets holds in every setup.
    let mut set = unset;
    set["battle_interval_seconds"] = json!(30);
    let strict_local = Server::start(&set, &models(&up));
    assert_eq!(battle(&strict_local, None, &json!({})).0, 201);
    assert_eq!(battle(&strict_local, None, &json!({})).0, 429);
}

#[test]
fn keys_are_shown_once_and_kept_only_as_a_hash() {
    let t = Test::new();
    let add = |args: &[&str]| t.arena().args(["keys", "add"]).args(args).run();
    let alice = add(&["alice"]).success().stdout_trimmed();
    assert!(alice.starts_with("arena_") && alice.len() > 60, "{alice}");
    add(&["alice"]).code(4).stderr_contains("revoke it first");
    add(&["bad name"]).code(2).stderr_contains("key name");
    add(&["solo", "--trust-forwarded-user"]).code(2);
    let bot = add(&["bot", "--service", "--trust-forwarded-user"])
        .success()
        .stdout_trimmed();
    assert_ne!(alice, bot);

    let table = t.arena().args(["keys", "list"]).run().success().stdout();
    assert!(
        table.contains("alice") && table.contains("service"),
        "{table}"
    );
    let rows = t
        .arena()
        .args(["keys", "list", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{rows}");
    assert_eq!(rows[0]["name"], json!("alice"), "{rows}");
    assert_eq!(rows[0]["kind"], json!("user"), "{rows}");
    assert_eq!(rows[1]["kind"], json!("service"), "{rows}");
    assert_eq!(rows[1]["trust_forwarded_user"], json!(true), "{rows}");
    for listing in [table, rows.to_string()] {
        assert!(
            !listing.contains(&alice) && !listing.contains(&bot),
            "{listing}"
        );
    }
    let bytes = if t.on_postgres() {
        crate::support::postgres::contents(&t.db().display().to_string()).into_bytes()
    } else {
        std::fs::read(t.db()).expect("the database")
    };
    for key in [&alice, &bot] {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "a key is in the database"
        );
    }

    t.arena()
        .args(["keys", "revoke", "nobody"])
        .run()
        .code(2)
        .stderr_contains("keys list");
    t.arena().args(["keys", "revoke", "alice"]).run().success();
    t.arena().args(["keys", "revoke", "alice"]).run().code(2);
    // The name of a revoked key takes a new key, for the same user.
    let again = add(&["alice"]).success().stdout_trimmed();
    assert_ne!(again, alice);
}
