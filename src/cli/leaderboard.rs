//! `arena leaderboard`, and the vote filters it shares with `stats` and `export`.

use std::path::PathBuf;

use clap::Args;

use super::render;
use super::{Context, Format, RowsFormat};
use crate::config::Tier;
use crate::engine::Selection;
use crate::error::{Error, Result};
use crate::rating::{Leaderboard, LeaderboardOptions, Method, Row};
use crate::store::Mode;

/// Which votes count.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)
    #[arg(long)]
    since: Option<String>,
    /// Only votes before this time (a date or RFC 3339)
    #[arg(long)]
    until: Option<String>,
    /// Only battles between models of this tier (tiers come from models.json)
    #[arg(long, value_enum)]
    tier: Option<TierArg>,
    /// Only battles on prompts of this theme
    #[arg(long)]
    theme: Option<String>,
    /// Count the votes whose answers named a model (kept, but left out by default)
    #[arg(long)]
    include_identity_leaks: bool,
    /// Count the side-by-side votes of the web page, cast with the models named (kept, but
    /// left out by default)
    #[arg(long)]
    include_named: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TierArg {
    High,
    Low,
}

impl FilterArgs {
    /// Whether any filter was given.
    pub fn any(&self) -> bool {
        self.since.is_some() || self.until.is_some() || self.tier.is_some() || self.theme.is_some()
    }

    /// The selection of votes these flags make.
    pub fn selection(&self) -> Result<Selection> {
        let time = |flag: &str, s: &Option<String>| {
            s.as_deref()
                .map(|s| super::battles::parse_time(flag, s))
                .transpose()
        };
        Ok(Selection {
            since: time("--since", &self.since)?,
            until: time("--until", &self.until)?,
            theme: self.theme.clone(),
            tier: self.tier.map(|t| match t {
                TierArg::High => Tier::High,
                TierArg::Low => Tier::Low,
            }),
            include_identity_leaks: self.include_identity_leaks,
            include_named: self.include_named,
        })
    }
}

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    /// Rating method
    #[arg(long, value_enum, default_value_t = MethodArg::Bt)]
    method: MethodArg,
    /// Bootstrap rounds for the confidence intervals of bt (0 = sandwich estimator only)
    /// [default: 100]
    #[arg(long)]
    bootstrap: Option<usize>,
    /// Seed of the bootstrap of bt [default: 0]
    #[arg(long)]
    seed: Option<u64>,
    /// Coverage of the confidence intervals of bt and glicko2 [default: 0.95]
    #[arg(long)]
    ci: Option<f64>,
    /// Shift bt ratings so that MODEL has RATING, e.g. --anchor mixtral-8x7b-instruct-v0.1=1114
    #[arg(long, value_name = "MODEL=RATING")]
    anchor: Option<String>,
    /// Leave out models with fewer battles (and their votes)
    #[arg(long, default_value_t = 0)]
    min_battles: u64,
    #[command(flatten)]
    filter: FilterArgs,
    /// Write to this file instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    format: RowsFormat,
}

/// The rating methods, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum MethodArg {
    /// Bradley-Terry maximum likelihood with confidence intervals
    Bt,
    /// Online Elo in vote order
    Elo,
    /// Glicko-2, periodic and realtime
    Glicko2,
}

fn parse_anchor(text: &str) -> Result<(String, f64)> {
    let bad = || {
        Error::Input(format!(
            "--anchor `{text}`: expected MODEL=RATING, e.g. --anchor gpt-4=1250"
        ))
    };
    let (model, rating) = text.rsplit_once('=').ok_or_else(bad)?;
    let rating: f64 = rating.trim().parse().map_err(|_| bad())?;
    if model.trim().is_empty() || !rating.is_finite() {
        return Err(bad());
    }
    Ok((model.trim().to_owned(), rating))
}

/// Options that a method does not use are an error, not silently ignored.
fn check_flags(args: &LeaderboardArgs, method: Method) -> Result<()> {
    let name = match method {
        Method::Bt => return Ok(()),
        Method::Elo => "elo",
        Method::Glicko2 => "glicko2",
    };
    let mut unused = Vec::new();
    if args.bootstrap.is_some() {
        unused.push("--bootstrap");
    }
    if args.seed.is_some() {
        unused.push("--seed");
    }
    if args.anchor.is_some() {
        unused.push("--anchor");
    }
    if args.ci.is_some() && method == Method::Elo {
        unused.push("--ci");
    }
    if unused.is_empty() {
        return Ok(());
    }
    Err(Error::Input(format!(
        "{} only apply to --method bt, not {name}",
        unused.join(", ")
    )))
}

pub async fn run(ctx: &Context, args: &LeaderboardArgs) -> anyhow::Result<u8> {
    let method = match args.method {
        MethodArg::Bt => Method::Bt,
        MethodArg::Elo => Method::Elo,
        MethodArg::Glicko2 => Method::Glicko2,
    };
    check_flags(args, method)?;
    let ci = args.ci.unwrap_or(0.95);
    let bootstrap = args.bootstrap.unwrap_or(100);
    if let Err(why) = (LeaderboardOptions {
        method,
        ci,
        bootstrap,
        ..LeaderboardOptions::default()
    })
    .check()
    {
        return Err(Error::Input(format!("--bootstrap {bootstrap} --ci {ci}: {why}")).into());
    }
    let anchor = args.anchor.as_deref().map(parse_anchor).transpose()?;
    let selection = args.filter.selection()?;
    let arena = ctx.arena_without_models(Mode::Read).await?;
    let options = LeaderboardOptions {
        bootstrap,
        seed: args.seed.unwrap_or(0),
        ci,
        anchor,
        min_battles: args.min_battles,
        ..arena.leaderboard_options(method)?
    };
    let board = arena.leaderboard(&options, &selection).await?;
    let fmt = args.format.format();
    let text = format(&board, fmt)?;
    super::emit(args.output.as_deref(), &text)?;
    if matches!(fmt, Format::Table | Format::Markdown) {
        for note in &board.notes {
            ctx.note(format!("note: {}", render::terminal_safe(note)));
        }
        if board.leaderboard.is_empty() {
            ctx.note(if board.dropped_models > 0 {
                format!(
                    "no model has {} or more battles (--min-battles)",
                    args.min_battles
                )
            } else if args.filter.any() {
                "no votes match these filters (--since, --until, --tier, --theme)".to_owned()
            } else if board.left_out.any() {
                "no vote counts yet: every vote is left out (see the note above)".to_owned()
            } else {
                "no votes yet: run `arena battle` and vote, or `arena import FILE`".to_owned()
            });
        }
    }
    Ok(0)
}

type CellFn = fn(&Row, bool) -> String;

/// A column: its JSON name (CSV header), its header for people, and its cell.
struct Column {
    json: &'static str,
    human: &'static str,
    cell: CellFn,
}

fn fixed(x: Option<f64>, digits: usize, exact: bool) -> String {
    match x {
        None => String::new(),
        Some(x) if x.is_infinite() && !exact => "∞".into(),
        Some(x) if exact => x.to_string(),
        Some(x) => format!("{x:.digits$}"),
    }
}

fn columns(method: Method) -> Vec<Column> {
    let mut c = vec![Column {
        json: "rank",
        human: "rank",
        cell: |r, _| r.rank.to_string(),
    }];
    if method == Method::Bt {
        c.push(Column {
            json: "rank_ub",
            human: "rank (UB)",
            cell: |r, _| r.rank_ub.map_or_else(String::new, |x| x.to_string()),
        });
    }
    c.push(Column {
        json: "model_name",
        human: "model",
        cell: |r, _| r.model_name.clone(),
    });
    c.push(Column {
        json: "rating",
        human: "rating",
        cell: |r, exact| fixed(Some(r.rating), 1, exact),
    });
    match method {
        Method::Bt => {
            c.push(Column {
                json: "rating_lower",
                human: "CI −",
                cell: |r, exact| {
                    if exact {
                        fixed(r.rating_lower, 1, true)
                    } else {
                        fixed(r.rating_lower.map(|l| r.rating - l), 1, false)
                    }
                },
            });
            c.push(Column {
                json: "rating_upper",
                human: "CI +",
                cell: |r, exact| {
                    if exact {
                        fixed(r.rating_upper, 1, true)
                    } else {
                        fixed(r.rating_upper.map(|u| u - r.rating), 1, false)
                    }
                },
            });
        }
        Method::Glicko2 => {
            c.push(Column {
                json: "rating_deviation",
                human: "RD",
                cell: |r, exact| fixed(r.rating_deviation, 1, exact),
            });
            c.push(Column {
                json: "volatility",
                human: "volatility",
                cell: |r, exact| fixed(r.volatility, 5, exact),
            });
            c.push(Column {
                json: "rating_realtime",
                human: "rating (realtime)",
                cell: |r, exact| fixed(r.rating_realtime, 1, exact),
            });
            c.push(Column {
                json: "rating_deviation_realtime",
                human: "RD (realtime)",
                cell: |r, exact| fixed(r.rating_deviation_realtime, 1, exact),
            });
            c.push(Column {
                json: "volatility_realtime",
                human: "volatility (realtime)",
                cell: |r, exact| fixed(r.volatility_realtime, 5, exact),
            });
        }
        Method::Elo => {}
    }
    let counts: [(&'static str, &'static str, CellFn); 5] = [
        ("battles", "battles", |r, _| r.battles.to_string()),
        ("wins", "wins", |r, _| r.wins.to_string()),
        ("ties", "ties", |r, _| r.ties.to_string()),
        ("both_bad", "both bad", |r, _| r.both_bad.to_string()),
        ("skips", "skips", |r, _| r.skips.to_string()),
    ];
    for (json, human, cell) in counts {
        c.push(Column { json, human, cell });
    }
    c.push(Column {
        json: "win_rate_percentage",
        human: "win rate %",
        cell: |r, exact| fixed(r.win_rate_percentage, 1, exact),
    });
    c
}

/// The leaderboard in `format`. JSON carries everything; CSV the method's columns under
/// their JSON names at full precision; tables and Markdown the same columns for people.
pub fn format(board: &Leaderboard, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(board)? + "\n",
        Format::Jsonl => {
            let mut out = String::new();
            for row in &board.leaderboard {
                out.push_str(&serde_json::to_string(row)?);
                out.push('\n');
            }
            out
        }
        f => {
            let exact = f == Format::Csv;
            let cols = columns(board.method);
            let header: Vec<&str> = cols
                .iter()
                .map(|c| if exact { c.json } else { c.human })
                .collect();
            let rows: Vec<Vec<String>> = board
                .leaderboard
                .iter()
                .map(|r| cols.iter().map(|c| (c.cell)(r, exact)).collect())
                .collect();
            render::table(f, &header, &rows)
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn anchors_parse() {
        assert_eq!(
            super::parse_anchor("mixtral=1114").unwrap(),
            ("mixtral".to_owned(), 1114.0)
        );
        assert!(super::parse_anchor("mixtral").is_err());
        assert!(super::parse_anchor("=3").is_err());
    }
}
