//! `arena models`: the pool, `check` (one call per model) and `sync` (upstream model lists).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::render;
use super::{Context, Format, RowsFormat};
use crate::error::Error;
use crate::store::{Mode, Store};

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
    /// Fetch each upstream's /v1/models into available_models.json of the data directory
    Sync {
        /// Where to write [default: available_models.json in the data directory]
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
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
    let lines = crate::engine::pool::lines(&models, &counts);
    let header = ["model", "provider", "tier", "weight", "endpoint", "battles"];
    let fields = ["name", "provider", "tier", "weight", "endpoints", "battles"];
    render::data(format, &lines, &fields, &header, || {
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
    let lines = crate::engine::pool::check(&config, &models, names).await?;
    let failed = lines.iter().filter(|l| !l.ok).count();
    let header = ["model", "status", "latency", "answer or error"];
    let fields = ["name", "ok", "latency_ms", "answer", "error"];
    render::data(format, &lines, &fields, &header, || {
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
    // arena's own directory, never the current one (a checkout): the path is printed.
    let path = match output {
        Some(p) => p.to_path_buf(),
        None => {
            let dir = crate::config::project_dirs()
                .ok_or_else(|| Error::Input("no home directory found: pass --output FILE".into()))?
                .data_dir()
                .to_owned();
            crate::util::create_private_dir(&dir)?;
            dir.join("available_models.json")
        }
    };
    let (lists, failures) = crate::engine::pool::sync(&config, &models).await?;
    for (base_url, ids) in &lists {
        ctx.note(format!("{base_url}: {} models", ids.len()));
    }
    if lists.is_empty() && failures.is_empty() {
        ctx.note("no model of the pool has an OpenAI-compatible upstream: nothing to fetch");
        return Ok(0);
    }
    // A sync where every upstream failed keeps the file of the last one that worked.
    if !lists.is_empty() {
        let found: serde_json::Map<String, serde_json::Value> = lists
            .into_iter()
            .map(|(url, ids)| (url, serde_json::json!(ids)))
            .collect();
        let text = serde_json::to_string_pretty(&found)? + "\n";
        crate::util::replace_file(&path, text.as_bytes())?;
        outln!("{}", path.display())?;
    }
    if !failures.is_empty() {
        return Err(Error::upstream(failures.join("; ")).into());
    }
    Ok(0)
}
