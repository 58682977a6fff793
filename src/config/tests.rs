use super::*;

#[test]
fn urls_in_errors_have_their_password_masked() {
    assert_eq!(
        mask_url("http://user:s3cret@example.com/v1"),
        "http://user:***@example.com/v1"
    );
    assert_eq!(
        mask_url("https://tok3n@h:99999/v1"),
        "https://***@h:99999/v1"
    );
    // An `@` of the path is not user info; a password may hold one of its own.
    assert_eq!(mask_url("http://h/v1/a@b"), "http://h/v1/a@b");
    assert_eq!(mask_url("http://u:p@ss@h/v1"), "http://u:***@h/v1");
    assert_eq!(mask_url("not a url"), "not a url");
    for text in [
        r#"{"upstream": {"base_url": "https://bob:hunter2@api.example.com/v1"}}"#,
        r#"{"upstream": {"base_url": "https://bob:hunter2@api.example.com:99999/v1"}}"#,
    ] {
        let e = parse_config(Path::new("c.jsonc"), text)
            .expect_err("user info is refused")
            .to_string();
        assert!(!e.contains("hunter2") && e.contains("bob:***@"), "{e}");
    }
    let models = r#"{"models": [{"name": "x", "base_url": "http://u:s3cret@h/v1"}]}"#;
    let e = parse_models(Path::new("m.json"), models, &Config::default())
        .expect_err("user info is refused")
        .to_string();
    assert!(!e.contains("s3cret") && e.contains("u:***@h"), "{e}");
}

fn models(text: &str) -> Result<Vec<ModelSpec>> {
    parse_models(Path::new("models.json"), text, &Config::default())
}

#[test]
fn allowed_hosts_are_host_names_and_the_slow_client_timeouts_are_bounded() {
    let path = Path::new("config.jsonc");
    let ok = r#"{"allowed_hosts": ["arena.example.com", ".lan.example", "192.168.1.7",
                 "[fe80::1]", "*"], "max_connections": 100}"#;
    assert!(parse_config(path, ok).is_ok());
    for bad in [
        "http://arena.example.com",
        "arena.example.com:8080",
        "*.example.com",
        "",
    ] {
        let text = format!(r#"{{"allowed_hosts": ["{bad}"]}}"#);
        let e = parse_config(path, &text).expect_err(bad).to_string();
        assert!(
            e.contains("allowed_hosts") && e.contains("without scheme"),
            "{e}"
        );
    }
    for key in [
        "header_read_timeout_seconds",
        "keepalive_timeout_seconds",
        "body_read_timeout_seconds",
    ] {
        for value in [0, 3601] {
            let text = format!(r#"{{"{key}": {value}}}"#);
            let e = parse_config(path, &text).expect_err(key).to_string();
            assert!(e.contains(key), "{e}");
        }
    }
}

#[test]
fn the_template_shows_the_default_identity_words() {
    let path = Path::new("config.jsonc");
    let template = parse_config(path, include_str!("../../config.jsonc")).expect("template");
    let default = IdentityLeakConfig::default();
    assert_eq!(template.identity_leak.words, default.words);
    assert!(template.identity_leak.pool_names);
    let off = parse_config(
        path,
        r#"{"identity_leak": {"words": [], "pool_names": false}}"#,
    )
    .expect("off");
    assert!(off.identity_leak.words.is_empty() && !off.identity_leak.pool_names);
    let e = parse_config(path, r#"{"identity_leak": {"word": []}}"#)
        .expect_err("an unknown key")
        .to_string();
    assert!(e.contains("words"), "{e}");
}

#[test]
fn a_battle_interval_beyond_thirty_days_is_refused() {
    let path = Path::new("config.jsonc");
    assert!(parse_config(path, r#"{"battle_interval_seconds": 2592000}"#).is_ok());
    let e = parse_config(path, r#"{"battle_interval_seconds": 9200000000000000}"#)
        .expect_err("refused")
        .to_string();
    assert!(e.contains("battle_interval_seconds"), "{e}");
}

#[test]
fn three_forms_of_models_json() {
    let a = models(r#"["gpt-4o", "claude"]"#).unwrap();
    assert_eq!(a[1].name, "claude");
    assert_eq!(a[1].endpoints[0].model, "claude");
    assert_eq!(a[0].endpoints[0].base_url, "https://api.openai.com/v1");

    let b = models(r#"{"gpt-4o": "gpt-4o-2024-08-06", "x": "y",}"#).unwrap();
    assert_eq!(b[0].endpoints[0].model, "gpt-4o-2024-08-06");

    let c = models(
        r#"// pools and mocks
        {"models": [
          {"name": "a", "provider": "mock", "tier": "high", "weight": 2},
          {"name": "b", "model": "bb", "endpoints": [
             {"base_url": "http://127.0.0.1:1/v1"},
             {"base_url": "http://127.0.0.1:2/v1", "model": "other", "api_key_env": "K"}]}
        ]}"#,
    )
    .unwrap();
    assert_eq!(c[0].provider, ProviderKind::Mock);
    assert_eq!(c[0].tier, Some(Tier::High));
    assert_eq!(c[1].endpoints.len(), 2);
    assert_eq!(c[1].endpoints[0].model, "bb");
    assert_eq!(c[1].endpoints[1].model, "other");
    assert_eq!(c[1].endpoints[1].api_key_env.as_deref(), Some("K"));
}

#[test]
fn unknown_key_names_the_nearest_and_the_position() {
    let err = parse::<Config>(
        Path::new("config.jsonc"),
        "{\n  // c\n  \"battle_server_prot\": 1,\n}",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("config.jsonc:3:3: unknown key `battle_server_prot`"),
        "{err}"
    );
    assert!(err.contains("did you mean `battle_server_port`?"), "{err}");
}

#[test]
fn wrong_type_is_located() {
    let err = parse::<Config>(Path::new("c"), "{\"elo\": {\"k\": \"high\"}}")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("c:1:15:"), "{err}");
}

#[test]
fn a_models_key_that_is_not_a_list_is_an_error() {
    let err = models("{\n \"models\": \"x\"}").unwrap_err().to_string();
    assert!(
        err.starts_with("models.json:2:2: `models` must be an array"),
        "{err}"
    );
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config: Config = parse(
        Path::new("c"),
        r#"{"api_key": "server-key-123", "user_id_salt": "0123456789abcdef0123456789abcdef"}"#,
    )
    .unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("server-key-123"), "{shown}");
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
    assert!(shown.contains("[redacted]"), "{shown}");
}

#[test]
fn max_concurrent_is_a_servers_limit_of_one_or_more() {
    let c = models(
        r#"{"models": [
          {"name": "a", "base_url": "http://127.0.0.1:8080/v1", "max_concurrent": 1},
          {"name": "b", "base_url": "http://127.0.0.1:8080/v1/", "max_concurrent": 1},
          {"name": "p", "max_concurrent": 2, "endpoints": [
             {"base_url": "http://127.0.0.1:1/v1"},
             {"base_url": "http://127.0.0.1:2/v1", "max_concurrent": 5}]}
        ]}"#,
    )
    .unwrap();
    assert_eq!(c[0].endpoints[0].max_concurrent, Some(1));
    assert_eq!(c[2].endpoints[0].max_concurrent, Some(2));
    assert_eq!(c[2].endpoints[1].max_concurrent, Some(5));
    let err = models("{\"models\": [\n {\"name\": \"a\",\n  \"max_concurrent\": 0}]}")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("models.json:3:3: model `a` has max_concurrent 0: give the number"),
        "{err}"
    );
    let err = models("{\"models\": [\n {\"name\": \"a\", \"max_concurrent\": -1}]}")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("models.json:2:"), "{err}");
    let err = models(
        "{\"models\": [\n {\"name\": \"a\", \"base_url\": \"http://h/v1\", \"max_concurrent\": 1},\n \
         {\"name\": \"b\", \"base_url\": \"http://h/v1\", \"max_concurrent\": 2}]}",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("models.json:3:11: model `b` sets max_concurrent 2 for http://h/v1"),
        "{err}"
    );
}

#[test]
fn duplicate_model_is_located() {
    let err = models("[\"a\",\n \"a\"]").unwrap_err().to_string();
    assert!(
        err.starts_with("models.json:2:2: model `a` is listed twice"),
        "{err}"
    );
}
