//! `arena leaderboard`, and the vote filters it shares with `stats` and `export`.

use std::path::PathBuf;

use clap::Args;

use super::render;
use super::{Context, Format, RowsFormat};
use crate::config::Tier;
use crate::engine::Selection;
use crate::error::{Error, Result};
use crate::rating::leaderboard::StyleSummary;
use crate::rating::style::Variant;
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
    pub theme: Option<String>,
    /// Count the votes whose answers named a model (kept, but left out by default)
    #[arg(long)]
    include_identity_leaks: bool,
    /// Count the side-by-side votes of the web page, cast with the models named (kept, but
    /// left out by default)
    #[arg(long)]
    include_named: bool,
    /// Only votes in this category (repeatable: votes in every one named), e.g. coding,
    /// long_query, multiturn, language:en; `arena leaderboard --categories` lists them
    #[arg(long, value_name = "NAME")]
    category: Vec<String>,
    /// Leave out votes in this category (repeatable)
    #[arg(long, value_name = "NAME")]
    exclude_category: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TierArg {
    High,
    Low,
}

impl FilterArgs {
    /// Whether any filter was given.
    pub fn any(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || self.tier.is_some()
            || self.theme.is_some()
            || !self.category.is_empty()
            || !self.exclude_category.is_empty()
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
            categories: self.category.clone(),
            exclude_categories: self.exclude_category.clone(),
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
    /// Control for style (answer length and Markdown): the contextual Bradley-Terry model
    /// of arena-rank (the default) or FastChat's; the board shows the style coefficients
    /// and each model's rank change against the plain board
    #[arg(long, value_enum, value_name = "VARIANT", num_args = 0..=1,
          default_missing_value = "arena-rank")]
    style_control: Option<StyleArg>,
    /// One line per category instead of the board: its votes, its top model and that
    /// model's rank change against the board of all votes
    #[arg(long)]
    categories: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// Write to this file instead of stdout
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    format: RowsFormat,
}

/// The style-control variants, as the command line names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StyleArg {
    /// arena-rank's ContextualBradleyTerry (LMArena's default board)
    ArenaRank,
    /// FastChat's earlier style control
    Fastchat,
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
    if args.style_control.is_some() && method != Method::Bt {
        return Err(Error::Input(format!(
            "--style-control is a Bradley-Terry model: it applies to --method bt, not {}",
            method.as_str()
        )));
    }
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
    if let Some((last, first)) = unused.split_last() {
        let (flags, verb) = if first.is_empty() {
            ((*last).to_owned(), "applies")
        } else {
            (format!("{} and {last}", first.join(", ")), "apply")
        };
        return Err(Error::Input(format!(
            "{flags} only {verb} to --method bt, not {name}"
        )));
    }
    if args.ci.is_some() && method == Method::Elo {
        return Err(Error::Input(
            "--ci only applies to --method bt and glicko2, not elo (Elo has no intervals)".into(),
        ));
    }
    Ok(())
}

/// Whether `--ci` and `--bootstrap` can give intervals; an error names only the flags the
/// user gave (a default is named as one).
fn check_intervals(
    args: &LeaderboardArgs,
    method: Method,
    ci: f64,
    bootstrap: usize,
) -> Result<()> {
    if let Some(ci) = args.ci
        && !(ci > 0.0 && ci < 1.0)
    {
        return Err(Error::Input(format!(
            "--ci {ci}: expected a coverage between 0 and 1, such as 0.95"
        )));
    }
    if method != Method::Bt || bootstrap == 0 {
        return Ok(());
    }
    let min = LeaderboardOptions::min_bootstrap_rounds(ci);
    let percent = (ci * 1000.0).round() / 10.0;
    if bootstrap < min {
        return Err(Error::Input(match args.bootstrap {
            Some(_) => format!(
                "--bootstrap {bootstrap}: too few rounds for {percent}% intervals, whose \
                 percentiles need at least {min} rounds (2 / (1 - ci)): give --bootstrap {min} \
                 or more, or --bootstrap 0 for sandwich intervals"
            ),
            None => format!(
                "--ci {ci}: {percent}% intervals need at least {min} bootstrap rounds \
                 (2 / (1 - ci)), more than the {bootstrap} run by default: add --bootstrap \
                 {min} (or more), or --bootstrap 0 for sandwich intervals"
            ),
        }));
    }
    if bootstrap > crate::rating::bt::MAX_BOOTSTRAP_ROUNDS {
        return Err(Error::Input(format!(
            "--bootstrap {bootstrap}: at most {} rounds are run",
            crate::rating::bt::MAX_BOOTSTRAP_ROUNDS
        )));
    }
    Ok(())
}

/// With `--theme T` and nothing to show: an error when no prompt of the pool and no vote
/// that counts has that theme (a typo, most likely), naming the themes there are.
pub(crate) async fn check_theme(arena: &crate::Arena, theme: Option<&str>) -> Result<()> {
    let Some(theme) = theme else { return Ok(()) };
    let mut known: std::collections::BTreeSet<String> = arena
        .prompts(None)
        .await?
        .into_iter()
        .map(|p| p.theme)
        .collect();
    known.extend(
        arena
            .prompt_statistics(false, &Selection::default())
            .await?
            .prompt_statistics
            .into_iter()
            .map(|p| p.prompt_theme),
    );
    if known.contains(theme) {
        return Ok(());
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let hint = crate::config::nearest(theme, names.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    Err(Error::Input(if names.is_empty() {
        format!("--theme `{theme}`: no prompt and no vote has a theme yet")
    } else {
        format!(
            "--theme `{theme}`{hint}: no prompt of the pool and no vote that counts has this \
             theme; the themes are {}",
            names.join(", ")
        )
    }))
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
    check_intervals(args, method, ci, bootstrap)?;
    let anchor = args.anchor.as_deref().map(parse_anchor).transpose()?;
    let selection = args.filter.selection()?;
    let arena = ctx.arena_without_models(Mode::Read).await?;
    let options = LeaderboardOptions {
        bootstrap,
        seed: args.seed.unwrap_or(0),
        ci,
        anchor,
        min_battles: args.min_battles,
        style: args.style_control.map(|s| match s {
            StyleArg::ArenaRank => Variant::ArenaRank,
            StyleArg::Fastchat => Variant::FastChat,
        }),
        ..arena.leaderboard_options(method)?
    };
    if args.categories {
        return categories(ctx, &arena, &options, &selection, args).await;
    }
    let board = arena.leaderboard(&options, &selection).await?;
    if board.leaderboard.is_empty() {
        check_theme(&arena, args.filter.theme.as_deref()).await?;
    }
    let fmt = args.format.format();
    let text = format(&board, fmt)?;
    super::emit(args.output.as_deref(), &text)?;
    if matches!(fmt, Format::Table | Format::Markdown) {
        if let Some(style) = &board.style {
            ctx.note(style_line(style));
        }
        for note in &board.notes {
            ctx.note(format!("note: {}", render::terminal_safe(note)));
        }
        // Said once: when --min-battles left every model out, the note above says so.
        if board.leaderboard.is_empty() && board.dropped_models == 0 {
            ctx.note(if args.filter.any() {
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

/// A column: its JSON name (the CSV header), its header for people (`None`: only in CSV),
/// and its cell.
struct Column {
    json: &'static str,
    human: Option<&'static str>,
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

/// The columns of `board`: every field its JSON rows have, in their order (a CSV carries
/// them all), with the ones tables show named for people.
fn columns(board: &Leaderboard) -> Vec<Column> {
    let method = board.method;
    let column = |json, human, cell| Column { json, human, cell };
    let mut c = Vec::new();
    if board.leaderboard.iter().any(|r| r.group.is_some()) {
        c.push(column("group", Some("group"), |r: &Row, _| {
            r.group.map_or_else(String::new, |g| g.to_string())
        }));
    }
    c.push(column("rank", Some("rank"), |r, _| r.rank.to_string()));
    if method == Method::Bt {
        c.push(column("rank_ub", Some("rank (UB)"), |r, _| {
            r.rank_ub.map_or_else(String::new, |x| x.to_string())
        }));
    }
    c.push(column("model_name", Some("model"), |r, _| {
        r.model_name.clone()
    }));
    c.push(column("rating", Some("rating"), |r, exact| {
        fixed(Some(r.rating), 1, exact)
    }));
    match method {
        Method::Bt => {
            c.push(column("rating_lower", Some("CI −"), |r, exact| {
                if exact {
                    fixed(r.rating_lower, 1, true)
                } else {
                    fixed(r.rating_lower.map(|l| r.rating - l), 1, false)
                }
            }));
            c.push(column("rating_upper", Some("CI +"), |r, exact| {
                if exact {
                    fixed(r.rating_upper, 1, true)
                } else {
                    fixed(r.rating_upper.map(|u| u - r.rating), 1, false)
                }
            }));
            // The sandwich bounds stand beside the bootstrap's whenever a bootstrap ran.
            let bootstrap = board
                .params
                .get("bootstrap_rounds")
                .and_then(serde_json::Value::as_u64)
                .is_some_and(|n| n > 0);
            if bootstrap || board.leaderboard.iter().any(|r| r.sandwich_lower.is_some()) {
                c.push(column("sandwich_lower", None, |r, exact| {
                    fixed(r.sandwich_lower, 1, exact)
                }));
                c.push(column("sandwich_upper", None, |r, exact| {
                    fixed(r.sandwich_upper, 1, exact)
                }));
            }
        }
        Method::Glicko2 => {
            c.push(column("rating_lower", None, |r, exact| {
                fixed(r.rating_lower, 1, exact)
            }));
            c.push(column("rating_upper", None, |r, exact| {
                fixed(r.rating_upper, 1, exact)
            }));
            c.push(column("rating_deviation", Some("RD"), |r, exact| {
                fixed(r.rating_deviation, 1, exact)
            }));
            c.push(column("volatility", Some("volatility"), |r, exact| {
                fixed(r.volatility, 5, exact)
            }));
            c.push(column(
                "rating_realtime",
                Some("rating (realtime)"),
                |r, exact| fixed(r.rating_realtime, 1, exact),
            ));
            c.push(column(
                "rating_deviation_realtime",
                Some("RD (realtime)"),
                |r, exact| fixed(r.rating_deviation_realtime, 1, exact),
            ));
            c.push(column(
                "volatility_realtime",
                Some("volatility (realtime)"),
                |r, exact| fixed(r.volatility_realtime, 5, exact),
            ));
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
        c.push(column(json, Some(human), cell));
    }
    c.push(column(
        "win_rate_percentage",
        Some("win rate %"),
        |r, exact| fixed(r.win_rate_percentage, 1, exact),
    ));
    if board.style.is_some() {
        c.push(column("rank_plain", Some("rank (plain)"), |r, _| {
            r.rank_plain.map_or_else(String::new, |x| x.to_string())
        }));
        c.push(column("rank_change", Some("rank change"), |r, exact| {
            r.rank_change.map_or_else(String::new, |x| {
                if exact || x <= 0 {
                    x.to_string()
                } else {
                    format!("+{x}")
                }
            })
        }));
    }
    c
}

/// The coefficients of a style-controlled board, in one line for people.
fn style_line(style: &StyleSummary) -> String {
    let coefficient = |name: &str| {
        let get = |m: &serde_json::Map<String, serde_json::Value>| {
            m.get(name)
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN)
        };
        format!(
            "{name} {:+.4} (±{:.4})",
            get(&style.coefficients),
            get(&style.coefficient_se)
        )
    };
    let names = crate::rating::style::Features::NAMES;
    format!(
        "style control ({}, lambda {}): coefficients per standard deviation of each relative \
         difference: {}",
        style.variant,
        style.lambda,
        names.map(coefficient).join(", ")
    )
}

/// One line of `--categories`.
#[derive(Debug, serde::Serialize)]
struct CategoryLine {
    category: String,
    votes: u64,
    top_model: Option<String>,
    /// The top model's rank on the board of all the selected votes.
    top_model_overall_rank: Option<usize>,
    /// How many places higher the top model stands here than overall.
    rank_change: Option<i64>,
}

async fn categories(
    ctx: &Context,
    arena: &crate::Arena,
    options: &LeaderboardOptions,
    selection: &Selection,
    args: &LeaderboardArgs,
) -> anyhow::Result<u8> {
    // Ranks need the ratings alone: no intervals are computed.
    let options = LeaderboardOptions {
        bootstrap: 0,
        ..options.clone()
    };
    let lines: Vec<CategoryLine> = arena
        .category_tops(&options, selection)
        .await?
        .into_iter()
        .map(|t| CategoryLine {
            rank_change: t
                .overall_rank
                .and_then(|r| i64::try_from(r).ok())
                .map(|r| r - 1),
            category: t.category,
            votes: t.votes,
            top_model: t.top_model,
            top_model_overall_rank: t.overall_rank,
        })
        .collect();
    let fmt = args.format.format();
    let text = match fmt {
        Format::Json => serde_json::to_string_pretty(&lines)? + "\n",
        Format::Jsonl => {
            let mut out = String::new();
            for line in &lines {
                out.push_str(&serde_json::to_string(line)?);
                out.push('\n');
            }
            out
        }
        f => {
            let exact = f == Format::Csv;
            let header: Vec<&str> = if exact {
                vec![
                    "category",
                    "votes",
                    "top_model",
                    "top_model_overall_rank",
                    "rank_change",
                ]
            } else {
                vec![
                    "category",
                    "votes",
                    "top model",
                    "overall rank",
                    "rank change",
                ]
            };
            let opt = |x: Option<String>| x.unwrap_or_default();
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|l| {
                    vec![
                        l.category.clone(),
                        l.votes.to_string(),
                        opt(l.top_model.clone()),
                        opt(l.top_model_overall_rank.map(|r| r.to_string())),
                        opt(l.rank_change.map(|c| {
                            if c > 0 && !exact {
                                format!("+{c}")
                            } else {
                                c.to_string()
                            }
                        })),
                    ]
                })
                .collect();
            render::table(f, &header, &rows)
        }
    };
    super::emit(args.output.as_deref(), &text)?;
    if lines.is_empty() && matches!(fmt, Format::Table | Format::Markdown) {
        ctx.note(
            "no vote has a category yet: votes get theirs when they complete or are imported; \
             `arena rebuild` computes them for earlier battles"
                .to_owned(),
        );
    }
    Ok(0)
}

/// The leaderboard in `format`. JSON carries everything; JSON Lines one row a line; CSV
/// every field of the rows under their JSON names, at full precision; tables and Markdown
/// the columns for people.
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
            let cols: Vec<Column> = columns(board)
                .into_iter()
                .filter(|c| exact || c.human.is_some())
                .collect();
            let header: Vec<&str> = cols
                .iter()
                .map(|c| {
                    if exact {
                        c.json
                    } else {
                        c.human.unwrap_or(c.json)
                    }
                })
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
