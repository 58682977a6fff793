//! `models.json`: the model pool read and checked (names, providers, endpoints, weights,
//! tiers), and the base URLs of upstreams (checked, masked in errors).

use super::*;

/// Per-model object of the third `models.json` form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelEntry {
    name: String,
    model: Option<String>,
    base_url: Option<String>,
    /// Absent (`None`), `null` (`Some(None)`: send no key) or a variable name.
    #[serde(default, deserialize_with = "present")]
    api_key_env: Option<Option<String>>,
    tier: Option<Tier>,
    #[serde(default = "one")]
    weight: f64,
    endpoints: Option<Vec<EndpointEntry>>,
    #[serde(default)]
    params: Map<String, Value>,
    #[serde(default)]
    provider: ProviderKind,
    /// The key may go over plain http to another host (a trusted network).
    #[serde(default)]
    allow_http_key: bool,
    #[serde(default)]
    kind: ModelKind,
    images_per_request: Option<u32>,
    max_concurrent: Option<u64>,
}

pub(super) fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndpointEntry {
    base_url: Option<String>,
    model: Option<String>,
    #[serde(default, deserialize_with = "present")]
    api_key_env: Option<Option<String>>,
    max_concurrent: Option<u64>,
}

/// A model's `max_concurrent` (`limit`), checked: a whole number from 1, located at the
/// first such key after the model's name that holds `limit`.
pub(super) fn slots(
    path: &Path,
    text: &str,
    name: &str,
    limit: Option<u64>,
) -> Result<Option<u32>> {
    let Some(n) = limit else { return Ok(None) };
    if let Ok(n) = u32::try_from(n)
        && n >= 1
    {
        return Ok(Some(n));
    }
    let from = text.find(&format!("\"{name}\"")).unwrap_or(0);
    let at = text[from..]
        .match_indices("\"max_concurrent\"")
        .map(|(i, _)| i + from)
        .find(|&i| {
            text[i + 16..]
                .trim_start()
                .strip_prefix(':')
                .is_some_and(|v| v.trim_start().starts_with(&n.to_string()))
        });
    Err(located(
        path,
        text,
        at,
        format!(
            "model `{name}` has max_concurrent {n}: give the number of requests its server \
             takes at once, from 1 to 4294967295, or leave max_concurrent out for no limit"
        ),
    ))
}

/// A field that is present, `null` included: absent stays `None` (by `default`), `null`
/// becomes `Some(None)`.
pub(super) fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModelsObject {
    models: Vec<ModelEntry>,
}

/// Reads `models.json` in any of its three forms (SPEC §3), detected by shape.
pub fn load_models(path: &Path, config: &Config) -> Result<Models> {
    let text = read(path)?;
    let models = parse_models(path, &text, config)?;
    Ok(Models {
        models,
        path: Some(path.to_owned()),
    })
}

/// Parses the text of a `models.json`; `path` is only used in messages.
pub fn parse_models(path: &Path, text: &str, config: &Config) -> Result<Vec<ModelSpec>> {
    let shape: Value = parse(path, text)?;
    let default_endpoint = |model: &str| Endpoint {
        base_url: config.upstream.base_url.clone(),
        model: model.to_owned(),
        api_key_env: config.upstream.api_key_env.clone(),
        allow_http_key: false,
        max_concurrent: None,
    };
    let simple = |name: String, id: String| ModelSpec {
        endpoints: vec![default_endpoint(&id)],
        name,
        provider: ProviderKind::Openai,
        tier: None,
        weight: 1.0,
        params: Map::new(),
        kind: ModelKind::Chat,
        images_per_request: None,
    };
    let specs: Vec<ModelSpec> = match &shape {
        Value::Array(_) => parse::<Vec<String>>(path, text)?
            .into_iter()
            .map(|n| simple(n.clone(), n))
            .collect(),
        Value::Object(map) if map.get("models").is_some_and(Value::is_array) => {
            let parsed: ModelsObject = parse(path, text)?;
            parsed
                .models
                .into_iter()
                .map(|e| model_of(path, text, config, e))
                .collect::<Result<_>>()?
        }
        Value::Object(map) if map.contains_key("models") => {
            return Err(locate(
                path,
                text,
                "\"models\"",
                "`models` must be an array of model objects, as in {\"models\": [{\"name\": \"gpt-4o\"}]}"
                    .into(),
            ));
        }
        Value::Object(_) => parse::<Map<String, Value>>(path, text)?
            .into_iter()
            .map(|(name, id)| match id {
                Value::String(id) => Ok(simple(name, id)),
                other => Err(locate(
                    path,
                    text,
                    &format!("\"{name}\""),
                    format!(
                        "model `{name}` maps to {other}, expected a string (the upstream model id); \
                         for per-model settings use the form {{\"models\": [{{\"name\": ...}}]}}"
                    ),
                )),
            })
            .collect::<Result<_>>()?,
        _ => {
            return Err(Error::File {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: "expected an array of model names, an object of name -> upstream id, \
                          or {\"models\": [...]}"
                    .into(),
            });
        }
    };
    validate_models(path, text, &specs, &config.upstream)?;
    Ok(specs)
}

/// One entry of the `{"models": [...]}` form as the model it describes: its endpoints, each
/// with the key it may send and its concurrency limit.
fn model_of(path: &Path, text: &str, config: &Config, e: ModelEntry) -> Result<ModelSpec> {
    let limit = slots(path, text, &e.name, e.max_concurrent)?;
    let model = e.model.unwrap_or_else(|| e.name.clone());
    // A key goes only to the host it was named for: the default upstream's
    // key only to the default upstream, never to a base_url of the model's
    // own; `null` sends none.
    let key = match (&e.api_key_env, &e.base_url) {
        (Some(named), _) => named.clone(),
        (None, None) => config.upstream.api_key_env.clone(),
        (None, Some(_)) => None,
    };
    let base_url = e
        .base_url
        .unwrap_or_else(|| config.upstream.base_url.clone());
    let endpoints = match e.endpoints {
        Some(list) if !list.is_empty() => list
            .into_iter()
            .map(|p| {
                let own = slots(path, text, &e.name, p.max_concurrent)?;
                // An endpoint inherits the key its model named; the default
                // upstream's key only when it also inherits the default URL.
                let api_key_env = match (p.api_key_env, &p.base_url) {
                    (Some(named), _) => named,
                    (None, None) => key.clone(),
                    (None, Some(_)) => e.api_key_env.clone().flatten(),
                };
                Ok(Endpoint {
                    base_url: p.base_url.unwrap_or_else(|| base_url.clone()),
                    model: p.model.unwrap_or_else(|| model.clone()),
                    api_key_env,
                    allow_http_key: e.allow_http_key,
                    // An endpoint inherits its model's limit.
                    max_concurrent: own.or(limit),
                })
            })
            .collect::<Result<_>>()?,
        _ => vec![Endpoint {
            base_url,
            model,
            api_key_env: key,
            allow_http_key: e.allow_http_key,
            max_concurrent: limit,
        }],
    };
    Ok(ModelSpec {
        name: e.name,
        provider: e.provider,
        endpoints,
        tier: e.tier,
        weight: e.weight,
        params: e.params,
        kind: e.kind,
        images_per_request: e.images_per_request,
    })
}

/// `url` as an error may show it: a password in it becomes `***`, and so does a user name
/// given alone (tokens are often passed that way). Done on the text, so that a URL too
/// malformed to parse is masked as well.
#[must_use]
pub fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let masked = match authority[..at].split_once(':') {
        Some((user, _password)) => format!("{user}:***"),
        None => "***".to_owned(),
    };
    format!("{}{masked}{}", &url[..scheme_end], &url[scheme_end + at..])
}

/// Why `url` cannot be an upstream's base URL, if it cannot: it must be http or https with a
/// host, and carry no user name or password (they would be printed and stored with errors;
/// keys go in `api_key_env`), no query and no fragment (`/chat/completions` is appended).
pub fn check_base_url(url: &str) -> std::result::Result<(), String> {
    let example = "such as https://api.openai.com/v1";
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("not a URL ({e}): expected an http:// or https:// URL {example}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("expected an http:// or https:// URL {example}"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("the URL has no host: expected a URL {example}"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "the URL carries a user name or password: remove it and put the key in an \
             environment variable named by api_key_env"
                .into(),
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "the URL has a query or a fragment: give the base URL up to /v1, {example}"
        ));
    }
    Ok(())
}

/// The largest sampling weight: weights are relative, and a bound keeps their sum finite.
pub(super) const MAX_WEIGHT: f64 = 1e9;

pub(super) fn validate_models(
    path: &Path,
    text: &str,
    specs: &[ModelSpec],
    upstream: &UpstreamConfig,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    for m in specs {
        let quoted = format!("\"{}\"", m.name);
        if m.name.trim().is_empty() {
            return Err(locate(
                path,
                text,
                "\"\"",
                "a model name is empty: give every model a `name`".into(),
            ));
        }
        if m.name.chars().any(char::is_control) {
            let escaped = serde_json::to_string(&m.name).unwrap_or_default();
            return Err(locate(
                path,
                text,
                &escaped,
                format!(
                    "model name {:?} holds a control character (a newline, a tab, an escape): \
                     names are shown in tables and must be plain text",
                    m.name
                ),
            ));
        }
        if !seen.insert(m.name.as_str()) {
            return Err(locate_last(
                path,
                text,
                &quoted,
                format!(
                    "model `{}` is listed twice: model names must be unique",
                    m.name
                ),
            ));
        }
        if !(0.0..=MAX_WEIGHT).contains(&m.weight) {
            return Err(locate(
                path,
                text,
                &quoted,
                format!(
                    "model `{}` has weight {}: weights go from 0 (out of rotation) to 1e9",
                    m.name, m.weight
                ),
            ));
        }
        if m.provider == ProviderKind::Openai {
            // The default upstream's URL was checked with config.jsonc, and is blamed there.
            for e in m
                .endpoints
                .iter()
                .filter(|e| e.base_url != upstream.base_url)
            {
                if let Err(why) = check_base_url(&e.base_url) {
                    let at = format!("\"{}\"", e.base_url);
                    let needle = if text.contains(&at) { &at } else { &quoted };
                    return Err(locate(
                        path,
                        text,
                        needle,
                        format!(
                            "model `{}` has base_url `{}`: {why}",
                            m.name,
                            mask_url(&e.base_url)
                        ),
                    ));
                }
            }
        }
    }
    if specs.is_empty() {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "no models: list at least two models to compare".into(),
        });
    }
    // A limit belongs to a server: two that differ for one base_url leave it unknown.
    let mut limits: std::collections::BTreeMap<&str, (u32, &str)> =
        std::collections::BTreeMap::new();
    for m in specs {
        for e in &m.endpoints {
            let Some(n) = e.max_concurrent else { continue };
            let server = e.base_url.trim_end_matches('/');
            match limits.get(server) {
                Some(&(first, by)) if first != n => {
                    let quoted = format!("\"{}\"", m.name);
                    return Err(locate(
                        path,
                        text,
                        &quoted,
                        format!(
                            "model `{}` sets max_concurrent {n} for {server}, but model `{by}` \
                             sets {first}: the limit is the server's, counted over every model \
                             at that base_url, so give them all the same value",
                            m.name
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    limits.insert(server, (n, &m.name));
                }
            }
        }
    }
    Ok(())
}
