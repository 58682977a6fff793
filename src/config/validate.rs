//! Loading `config.jsonc` and checking every value of it: ranges, addresses, limits and
//! how settings combine, each error naming the file, line and key.

use super::*;

/// Reads and validates `config.jsonc`.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = read(path)?;
    parse_config(path, &text)
}

/// Parses and validates the text of `config.jsonc` (`path` names it in errors).
pub fn parse_config(path: &Path, text: &str) -> Result<Config> {
    let config: Config = parse(path, text)?;
    validate_config(path, text, &config)?;
    Ok(config)
}

/// The longest timeout accepted: a week.
pub(super) const MAX_TIMEOUT_SECONDS: u64 = 7 * 24 * 3600;

pub(super) fn validate_config(path: &Path, text: &str, c: &Config) -> Result<()> {
    check_ratings(path, text, c)?;
    check_upstream(path, text, c)?;
    check_server(path, text, c)
}

/// The error of `field` (a dotted path), located at its key when the file names it, else at
/// the top.
fn at_key(path: &Path, text: &str, field: &str, why: &str) -> Error {
    let key = field.rsplit('.').next().unwrap_or(field);
    locate(
        path,
        text,
        &format!("\"{key}\""),
        format!("`{field}` {why}"),
    )
}

/// Elo, Glicko-2, the timeouts and the vote expiry.
fn check_ratings(path: &Path, text: &str, c: &Config) -> Result<()> {
    let bad = |field: &str, why: &str| at_key(path, text, field, why);
    let positive = |x: f64| x > 0.0 && x.is_finite();
    if !positive(c.elo.k) {
        return Err(bad("elo.k", "must be a positive number (default 32)"));
    }
    if !c.elo.initial.is_finite() {
        return Err(bad("elo.initial", "must be a number (default 1000)"));
    }
    for (field, value, default) in [
        ("request_timeout_seconds", c.request_timeout_seconds, 360),
        (
            "stream_idle_timeout_seconds",
            c.stream_idle_timeout_seconds,
            120,
        ),
        (
            "generation_timeout_seconds",
            c.generation_timeout_seconds,
            600,
        ),
    ] {
        if value == 0 || value > MAX_TIMEOUT_SECONDS {
            return Err(bad(
                field,
                &format!("must be between 1 and {MAX_TIMEOUT_SECONDS} seconds (default {default})"),
            ));
        }
    }
    if c.pending_vote_expiry_minutes > 100 * 365 * 24 * 60 {
        return Err(bad(
            "pending_vote_expiry_minutes",
            "must be at most a century of minutes (0 = never expire)",
        ));
    }
    let g = &c.glicko2;
    if !g.initial_rating.is_finite() {
        return Err(bad(
            "glicko2.initial_rating",
            "must be a number (default 1500)",
        ));
    }
    if !positive(g.initial_rd) {
        return Err(bad(
            "glicko2.initial_rd",
            "must be a positive number (default 350)",
        ));
    }
    if !positive(g.initial_volatility) {
        return Err(bad(
            "glicko2.initial_volatility",
            "must be a positive number (default 0.06)",
        ));
    }
    if !positive(g.tau) {
        return Err(bad(
            "glicko2.tau",
            "must be a positive number (default 0.5)",
        ));
    }
    if let Err(e) = crate::rating::glicko2::parse_period(&g.rating_period) {
        return Err(locate(path, text, "\"rating_period\"", e.to_string()));
    }
    Ok(())
}

/// The upstream, the per-user limits and the key that hashes user ids.
fn check_upstream(path: &Path, text: &str, c: &Config) -> Result<()> {
    let bad = |field: &str, why: &str| at_key(path, text, field, why);
    if let Err(why) = check_base_url(&c.upstream.base_url) {
        return Err(bad(
            "upstream.base_url",
            &format!("`{}`: {why}", mask_url(&c.upstream.base_url)),
        ));
    }
    for (field, p) in [
        (
            "tiers.cross_tier_probability",
            c.tiers.cross_tier_probability,
        ),
        (
            "tiers.transition_zone_probability",
            c.tiers.transition_zone_probability,
        ),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(bad(
                field,
                &format!("is {p}: a probability goes from 0 to 1"),
            ));
        }
    }
    let salt = c.user_id_salt.expose();
    if !salt.is_empty() && salt.chars().count() < MIN_SALT_CHARS {
        return Err(bad(
            "user_id_salt",
            &format!(
                "is {} characters: a configured key needs at least {MIN_SALT_CHARS} (128 bits \
                 as hex, such as the output of `openssl rand -hex 32`), or leave it empty for \
                 the database's own key",
                salt.chars().count()
            ),
        ));
    }
    for (field, value, min, default) in [
        ("max_answer_bytes", c.max_answer_bytes, 1 << 10, "4194304"),
        (
            "max_error_body_bytes",
            c.max_error_body_bytes,
            1 << 10,
            "65536",
        ),
        ("max_listing_bytes", c.max_listing_bytes, 1 << 10, "4194304"),
        ("max_prompt_bytes", c.max_prompt_bytes, 1, "1048576"),
    ] {
        if !(min..=1 << 30).contains(&value) {
            return Err(bad(
                field,
                &format!("must be between {min} and 1073741824 bytes (default {default})"),
            ));
        }
    }
    Ok(())
}

/// The server's language, origins, hosts, sizes and rates.
fn check_server(path: &Path, text: &str, c: &Config) -> Result<()> {
    let bad = |field: &str, why: &str| at_key(path, text, field, why);
    if !matches!(c.language.as_str(), "en" | "zh-CN") {
        return Err(bad(
            "language",
            &format!("is `{}`: expected \"en\" or \"zh-CN\"", c.language),
        ));
    }
    for origin in &c.cors_allowed_origins {
        let ok = reqwest::Url::parse(origin).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.path() == "/"
                && !origin.ends_with('/')
        });
        if !ok && origin != "*" {
            return Err(bad(
                "cors_allowed_origins",
                &format!(
                    "holds `{}`: an origin is a scheme, a host and maybe a port, such as \
                     https://example.com (or \"*\" for any)",
                    mask_url(origin)
                ),
            ));
        }
    }
    for host in &c.allowed_hosts {
        let name = host.strip_prefix('.').unwrap_or(host);
        let ok = host == "*"
            || (!name.is_empty() && !name.contains('*') && url::Host::parse(name).is_ok());
        if !ok {
            return Err(bad(
                "allowed_hosts",
                &format!(
                    "holds `{host}`: a host name alone, without scheme or port, such as \
                     arena.example.com (.example.com for it and every name below it, \
                     \"*\" for any)"
                ),
            ));
        }
    }
    for (field, value, max) in [
        ("shutdown_grace_seconds", c.shutdown_grace_seconds, 3600),
        (
            "server_request_timeout_seconds",
            c.server_request_timeout_seconds,
            MAX_TIMEOUT_SECONDS,
        ),
        ("expiry_interval_seconds", c.expiry_interval_seconds, 86_400),
        (
            "header_read_timeout_seconds",
            c.header_read_timeout_seconds,
            3600,
        ),
        (
            "keepalive_timeout_seconds",
            c.keepalive_timeout_seconds,
            3600,
        ),
        (
            "body_read_timeout_seconds",
            c.body_read_timeout_seconds,
            3600,
        ),
    ] {
        if value == 0 || value > max {
            return Err(bad(field, &format!("must be between 1 and {max} seconds")));
        }
    }
    if !(1..=6000).contains(&c.classifier_prompts_per_minute) {
        return Err(bad(
            "classifier_prompts_per_minute",
            "must be between 1 and 6000 prompts a minute (default 10)",
        ));
    }
    if !(1..=1000).contains(&c.max_battle_turns) {
        return Err(bad(
            "max_battle_turns",
            "must be between 1 and 1000 user turns (default 20)",
        ));
    }
    if c.battle_interval_seconds.is_some_and(|s| s > 30 * 86_400) {
        return Err(bad(
            "battle_interval_seconds",
            "must be at most 2592000 seconds (30 days); 0 turns the interval off",
        ));
    }
    if !(1024..=1 << 30).contains(&c.max_request_body_bytes) {
        return Err(bad(
            "max_request_body_bytes",
            "must be between 1024 and 1073741824 bytes (default 1048576)",
        ));
    }
    if !(1..=1_000_000).contains(&c.max_inflight_requests) {
        return Err(bad(
            "max_inflight_requests",
            "must be between 1 and 1000000 (default 512)",
        ));
    }
    if c.max_connections > 1_000_000 {
        return Err(bad(
            "max_connections",
            "must be at most 1000000 (default 0: from the descriptor limit)",
        ));
    }
    if c.battle_model.trim().is_empty() {
        return Err(bad("battle_model", "must not be empty (default \"arena\")"));
    }
    Ok(())
}
