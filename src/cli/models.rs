//! `arena models`: the pool, `check` (one call per model) and `sync` (upstream model lists).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use futures_util::StreamExt;
use serde::Serialize;

use super::render;
use super::{Context, Format, RowsFormat};
use crate::config::ProviderKind;
use crate::error::Error;
use crate::provider::{ChatRequest, Chunk, Message, Upstream};
use crate::store::Mode;

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    action: Option<ModelsAction>,
    #[command(flatten)]
    format: RowsFormat,
}

#[derive(Debug, Subcommand)]
enum ModelsAction {
    /// List the pool with tier, weight, endpoint and battles (the default)
    List {
        #[command(flatten)]
        format: RowsFormat,
    },
    /// Call each model once and report latency or the error
    Check {
        /// Only these models
        names: Vec<String>,
        #[command(flatten)]
        format: RowsFormat,
    },
    /// Fetch each upstream's /v1/models into available_models.json
    Sync {
        /// Where to write [default: available_models.json beside models.json]
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Serialize)]
struct ModelLine {
    name: String,
    provider: &'static str,
    tier: Option<&'static str>,
    weight: f64,
    endpoints: Vec<String>,
    battles: u64,
}

#[derive(Debug, Serialize)]
struct CheckLine {
    name: String,
    ok: bool,
    latency_ms: u128,
    answer: Option<String>,
    error: Option<String>,
}

pub async fn run(ctx: &Context, args: &ModelsArgs) -> anyhow::Result<u8> {
    match &args.action {
        None => list(ctx, args.format.format()).await,
        Some(ModelsAction::List { format }) => list(ctx, format.format()).await,
        Some(ModelsAction::Check { names, format }) => check(ctx, names, format.format()).await,
        Some(ModelsAction::Sync { output }) => sync(ctx, output.as_deref()).await,
    }
}

async fn list(ctx: &Context, format: Format) -> anyhow::Result<u8> {
    let config = ctx.config()?;
    let models = ctx.models(&config)?;
    // The pool is in models.json; battle counts come from the database when there is one.
    let counts: BTreeMap<String, u64> = match ctx.store(Mode::Read).await {
        Ok(store) => store.model_battle_counts().await?.into_iter().collect(),
        Err(Error::NotFound(_)) => BTreeMap::new(),
        Err(e) => return Err(e.into()),
    };
    let lines: Vec<ModelLine> = models
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
            battles: counts.get(&m.name).copied().unwrap_or(0),
        })
        .collect();
    let header = ["model", "provider", "tier", "weight", "endpoint", "battles"];
    render::data(format, &lines, &header, || {
        lines
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    l.provider.to_owned(),
                    l.tier.unwrap_or("-").to_owned(),
                    l.weight.to_string(),
                    if l.provider == "openai" {
                        l.endpoints.join("\n")
                    } else {
                        "-".into()
                    },
                    l.battles.to_string(),
                ]
            })
            .collect()
    })?;
    Ok(0)
}

async fn check(ctx: &Context, names: &[String], format: Format) -> anyhow::Result<u8> {
    let config = ctx.config()?;
    let models = ctx.models(&config)?;
    let upstream = Upstream::new(&config)?;
    for n in names {
        models.require(n)?;
    }
    let request = ChatRequest {
        messages: vec![Message::new("user", "Reply with the single word: ok")],
        temperature: Some(0.0),
        max_tokens: Some(8),
    };
    let calls = models
        .models
        .iter()
        .filter(|m| names.is_empty() || names.contains(&m.name))
        .map(|m| {
            let up = upstream.clone();
            let request = request.clone();
            async move {
                let start = Instant::now();
                let mut stream = up.stream(m, &request);
                let mut text = String::new();
                let mut error = None;
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(Chunk::Delta(d)) => text.push_str(&d),
                        Ok(Chunk::Usage(_)) => {}
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
    let lines: Vec<CheckLine> = futures_util::future::join_all(calls).await;
    let failed = lines.iter().filter(|l| !l.ok).count();
    let header = ["model", "status", "latency", "answer or error"];
    render::data(format, &lines, &header, || {
        lines
            .iter()
            .map(|l| {
                vec![
                    l.name.clone(),
                    if l.ok { "ok".into() } else { "FAILED".into() },
                    format!("{} ms", l.latency_ms),
                    l.error
                        .clone()
                        .or_else(|| l.answer.clone())
                        .unwrap_or_default(),
                ]
            })
            .collect()
    })?;
    if failed > 0 {
        return Err(Error::upstream(format!(
            "{failed} of {} models failed the check",
            lines.len()
        ))
        .into());
    }
    Ok(0)
}

async fn sync(ctx: &Context, output: Option<&std::path::Path>) -> anyhow::Result<u8> {
    let config = ctx.config()?;
    let models = ctx.models(&config)?;
    let upstream = Upstream::new(&config)?;
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
    let mut found = serde_json::Map::new();
    let mut failures = Vec::new();
    for (base_url, (key, allow_http_key)) in &upstreams {
        match upstream
            .list_models(base_url, key.as_deref(), *allow_http_key)
            .await
        {
            Ok(ids) => {
                ctx.note(format!("{base_url}: {} models", ids.len()));
                found.insert(base_url.clone(), serde_json::json!(ids));
            }
            Err(e) => failures.push(e.message),
        }
    }
    let path = output.map_or_else(
        || {
            models.path.as_ref().and_then(|p| p.parent()).map_or_else(
                || PathBuf::from("available_models.json"),
                |d| d.join("available_models.json"),
            )
        },
        std::path::Path::to_path_buf,
    );
    let text = serde_json::to_string_pretty(&found)? + "\n";
    crate::util::replace_file(&path, text.as_bytes())?;
    println!("{}", path.display());
    if !failures.is_empty() {
        return Err(Error::upstream(failures.join("; ")).into());
    }
    Ok(0)
}
