//! API keys go only to the host they were named for.

use serde_json::json;

use crate::support::{Test, Upstream};

/// The default upstream's key, in the variable the default config names.
const DEFAULT_KEY: &str = "sk-default-upstream-secret";

/// A config whose default upstream is the fake, keyed by `OPENAI_API_KEY`.
fn with_default_upstream(up: &Upstream) -> Test {
    Test::new().with_config_keys(&json!({
        "upstream": {"base_url": up.base_url(), "api_key_env": "OPENAI_API_KEY"},
    }))
}

fn authorizations(up: &Upstream, model: &str) -> Vec<Option<String>> {
    up.requests()
        .into_iter()
        .filter(|r| r.model == model)
        .map(|r| r.authorization)
        .collect()
}

#[test]
fn a_model_with_its_own_base_url_gets_no_default_key() {
    let up = Upstream::start();
    let other = Upstream::start();
    let t = with_default_upstream(&up).with_models(&json!({"models": [
        // No base_url: the default upstream, with its key.
        {"name": "inherits", "model": "stream-default"},
        // Its own host and `null`: no key at all.
        {"name": "null-key", "model": "stream-null", "base_url": other.base_url(),
         "api_key_env": null},
        // Its own host and no api_key_env: no key either.
        {"name": "own-host", "model": "stream-own", "base_url": other.base_url()},
        // A pool of its own hosts: none of them gets the default key.
        {"name": "pool", "endpoints": [
            {"base_url": other.base_url(), "model": "stream-pool-1"},
            {"base_url": other.base_url(), "model": "stream-pool-2"}]},
    ]}));
    for pair in ["inherits,null-key", "own-host,pool", "pool,null-key"] {
        t.arena()
            .args(["battle", "Hello", "--models", pair, "--no-vote"])
            .env("OPENAI_API_KEY", DEFAULT_KEY)
            .run()
            .success();
    }
    assert_eq!(
        authorizations(&up, "stream-default"),
        [Some(format!("Bearer {DEFAULT_KEY}"))]
    );
    for model in ["stream-null", "stream-own"] {
        let seen = authorizations(&other, model);
        assert!(!seen.is_empty(), "{model} was not called");
        assert!(seen.iter().all(Option::is_none), "{model} got {seen:?}");
    }
    let pool: Vec<_> = other
        .requests()
        .into_iter()
        .filter(|r| r.model.starts_with("stream-pool"))
        .collect();
    assert_eq!(pool.len(), 2);
    assert!(pool.iter().all(|r| r.authorization.is_none()), "{pool:?}");
}

#[test]
fn a_key_named_for_a_model_goes_to_its_pool_and_the_hint_names_it() {
    let up = Upstream::start();
    let t = with_default_upstream(&up).with_models(&json!({"models": [
        {"name": "pooled", "api_key_env": "POOL_KEY", "endpoints": [
            {"base_url": up.base_url(), "model": "stream-a"},
            {"base_url": up.base_url(), "model": "stream-b"}]},
        {"name": "refused", "model": "fail-401", "base_url": up.base_url(),
         "api_key_env": null},
        {"name": "refused-keyed", "model": "fail-401", "base_url": up.base_url(),
         "api_key_env": "NAMED_KEY"},
    ]}));
    t.arena()
        .args(["models", "check", "pooled"])
        .env("POOL_KEY", "pool-secret")
        .env("OPENAI_API_KEY", DEFAULT_KEY)
        .run()
        .success();
    let seen: Vec<_> = up.requests().into_iter().map(|r| r.authorization).collect();
    assert_eq!(seen, [Some("Bearer pool-secret".to_owned())]);

    // The 401 hint names the variable actually used, or says none was sent.
    t.arena()
        .args(["models", "check", "refused"])
        .env("OPENAI_API_KEY", DEFAULT_KEY)
        .run()
        .code(3)
        .stdout_contains("no key was sent")
        .stdout_lacks("OPENAI_API_KEY");
    t.arena()
        .args(["models", "check", "refused-keyed"])
        .env("NAMED_KEY", "x")
        .run()
        .code(3)
        .stdout_contains("NAMED_KEY");
}
