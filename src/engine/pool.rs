//! The model pool as an operator sees it: its listing, a check that calls each model once,
//! and the model lists its upstreams publish. The command line and the server both show
//! these; neither needs a database for them.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::StreamExt;
use serde::Serialize;

use crate::config::{Config, Models, ProviderKind};
use crate::error::Result;
use crate::provider::{ChatRequest, Chunk, Message, Upstream};

/// One model of the pool.
#[derive(Debug, Clone, Serialize)]
pub struct ModelLine {
    pub name: String,
    pub provider: &'static str,
    pub tier: Option<&'static str>,
    pub weight: f64,
    /// `upstream id @ base URL`, one per endpoint.
    pub endpoints: Vec<String>,
    /// Voted battles.
    pub battles: u64,
}

/// The pool with each model's number of voted battles.
#[must_use]
pub fn lines(models: &Models, battles: &BTreeMap<String, u64>) -> Vec<ModelLine> {
    models
        .models
        .iter()
        .map(|m| ModelLine {
            name: m.name.clone(),
            provider: match m.provider {
                ProviderKind::Openai => "openai",
                ProviderKind::Mock => "mock (not a model)",
            },
            tier: m.tier.map(crate::config::Tier::as_str),
            weight: m.weight,
            endpoints: m
                .endpoints
                .iter()
                .map(|e| format!("{} @ {}", e.model, e.base_url))
                .collect(),
            battles: battles.get(&m.name).copied().unwrap_or(0),
        })
        .collect()
}

/// How one model answered the check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLine {
    pub name: String,
    pub ok: bool,
    pub latency_ms: u128,
    /// The start of the answer.
    pub answer: Option<String>,
    pub error: Option<String>,
}

/// Calls each model of `names` (all when empty) once, all at the same time.
pub async fn check(config: &Config, models: &Models, names: &[String]) -> Result<Vec<CheckLine>> {
    for n in names {
        models.require(n)?;
    }
    let upstream = Upstream::new(config)?;
    let calls = models
        .models
        .iter()
        .filter(|m| names.is_empty() || names.contains(&m.name))
        .map(|m| {
            let up = upstream.clone();
            // The model's own params, as a battle sends them: a check that set its own
            // temperature or limit over them would pass a model whose every battle fails. A
            // short limit only where the params give none, to keep the check cheap.
            let limited = ["max_tokens", "max_completion_tokens"]
                .iter()
                .any(|k| m.params.contains_key(*k));
            let request = ChatRequest {
                messages: vec![Message::new("user", "Reply with the single word: ok")],
                temperature: None,
                max_tokens: (!limited).then_some(16),
                sampling: serde_json::Map::new(),
            };
            async move {
                let start = Instant::now();
                let mut stream = up.stream(m, &request);
                let mut text = String::new();
                let mut error = None;
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(Chunk::Delta(d)) => text.push_str(&d),
                        Ok(Chunk::Usage(_) | Chunk::Finish(_)) => {}
                        Err(e) => error = Some(e.message),
                    }
                }
                CheckLine {
                    name: m.name.clone(),
                    ok: error.is_none(),
                    latency_ms: start.elapsed().as_millis(),
                    answer: (!text.is_empty()).then(|| text.chars().take(40).collect()),
                    error,
                }
            }
        });
    Ok(futures_util::future::join_all(calls).await)
}

/// The model ids each upstream of the pool lists at `/models`, by base URL, and the failures.
pub async fn sync(
    config: &Config,
    models: &Models,
) -> Result<(BTreeMap<String, Vec<String>>, Vec<String>)> {
    let upstream = Upstream::new(config)?;
    let mut upstreams: BTreeMap<String, (Option<String>, bool)> = BTreeMap::new();
    for m in models
        .models
        .iter()
        .filter(|m| m.provider == ProviderKind::Openai)
    {
        for e in &m.endpoints {
            upstreams
                .entry(e.base_url.clone())
                .or_insert_with(|| (e.api_key_env.clone(), e.allow_http_key));
        }
    }
    let mut found = BTreeMap::new();
    let mut failures = Vec::new();
    for (base_url, (key, allow_http_key)) in &upstreams {
        match upstream
            .list_models(base_url, key.as_deref(), *allow_http_key)
            .await
        {
            Ok(ids) => {
                found.insert(base_url.clone(), ids);
            }
            Err(e) => failures.push(e.message),
        }
    }
    Ok((found, failures))
}
