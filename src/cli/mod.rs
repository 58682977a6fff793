//! The command line: clap types, one file per subcommand, and rendering. Each subcommand
//! parses its arguments, calls the engine and renders the result; no SQL or HTTP here.

mod battle;
mod battles;
mod completions;
mod export;
mod import;
mod init;
mod leaderboard;
mod models;
mod prompts;
mod render;
mod stats;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::Arena;
use crate::config::{self, Config, Models};
use crate::error::{Error, Result};
use crate::store::Store;

/// Blind, pairwise comparison of language models, with leaderboards in one SQLite file.
#[derive(Debug, Parser)]
#[command(name = "arena", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    /// The models file (models.json). Give it before the subcommand.
    #[arg(long = "models", env = "ARENA_MODELS", value_name = "PATH")]
    pub models_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The SQLite database [default: arena.sqlite3 in the data directory]
    #[arg(long, global = true, env = "ARENA_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// The configuration file [default: ./config.jsonc, else the config directory]
    #[arg(long, global = true, env = "ARENA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Say more (which files are used, upstream details); repeat for more
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only results and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Never draw progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Output format of commands that print data
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How data is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented config.jsonc and a models.json template into the config directory
    Init(init::InitArgs),
    /// Start a blind battle between two models, then vote
    Battle(battle::BattleArgs),
    /// Vote on a battle and reveal its models
    Vote(battle::VoteArgs),
    /// Show one battle (model names stay hidden until it has a vote)
    Show(battles::ShowArgs),
    /// List battles
    Battles(battles::BattlesArgs),
    /// Clear battles stuck in pending_generation
    Unstuck(battles::UnstuckArgs),
    /// Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)
    Import(import::ImportArgs),
    /// Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)
    Export(export::ExportArgs),
    /// Show the leaderboard
    Leaderboard(leaderboard::LeaderboardArgs),
    /// Statistics: win-rate and match-count matrices, per-prompt figures
    Stats(stats::StatsArgs),
    /// The model pool: list, check upstreams, sync upstream model lists
    Models(models::ModelsArgs),
    /// The prompt pool: list, add, import, remove
    Prompts(prompts::PromptsArgs),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// Write every completion script into a directory (used to refresh completions/)
    #[command(hide = true)]
    GenerateCompletions(completions::GenerateArgs),
}

/// Parses the command line, runs it, and turns the outcome into an exit code.
#[must_use]
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(&cli.global);
    apply_color(cli.global.color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => report(&e),
    }
}

fn report(e: &anyhow::Error) -> ExitCode {
    if let Some(io) = e.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    let code = e.downcast_ref::<Error>().map_or(1, Error::exit_code);
    let style = console::Style::new().red().bold().for_stderr();
    eprintln!("{} {e:#}", style.apply_to("error:"));
    ExitCode::from(code)
}

fn init_logging(global: &Global) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ARENA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("arena={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .try_init();
}

fn apply_color(choice: ColorChoice) {
    match choice {
        ColorChoice::Always => {
            console::set_colors_enabled(true);
            console::set_colors_enabled_stderr(true);
        }
        ColorChoice::Never => {
            console::set_colors_enabled(false);
            console::set_colors_enabled_stderr(false);
        }
        ColorChoice::Auto => {}
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    let ctx = Context {
        global: cli.global,
        models_file: cli.models_file,
    };
    match cli.command {
        Command::Init(args) => init::run(&ctx, &args),
        Command::Battle(args) => battle::run(&ctx, args).await,
        Command::Vote(args) => battle::vote(&ctx, &args).await,
        Command::Show(args) => battles::show(&ctx, &args).await,
        Command::Battles(args) => battles::list(&ctx, &args).await,
        Command::Unstuck(args) => battles::unstuck(&ctx, &args).await,
        Command::Import(args) => import::run(&ctx, &args).await,
        Command::Export(args) => export::run(&ctx, &args).await,
        Command::Stats(args) => stats::run(&ctx, &args).await,
        Command::Leaderboard(args) => leaderboard::run(&ctx, &args).await,
        Command::Models(args) => models::run(&ctx, &args).await,
        Command::Prompts(args) => prompts::run(&ctx, args).await,
        Command::Completions(args) => completions::print(&args),
        Command::GenerateCompletions(args) => completions::generate(&args),
    }
}

/// What every subcommand shares: the global flags and how to open the engine.
pub(crate) struct Context {
    pub global: Global,
    pub models_file: Option<PathBuf>,
}

/// Whether a path option's value came from its environment variable (for `-v`).
fn from_env(var: &str, value: Option<&PathBuf>) -> bool {
    value.is_some_and(|v| std::env::var_os(var).is_some_and(|e| std::path::Path::new(&e) == v))
}

impl Context {
    fn say(&self, message: impl std::fmt::Display) {
        if self.global.verbose > 0 {
            eprintln!("{message}");
        }
    }

    /// Progress and hints on stderr, unless `--quiet`.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.global.quiet {
            eprintln!("{message}");
        }
    }

    pub fn config(&self) -> Result<Config> {
        match config::resolve_file(
            self.global.config.as_deref(),
            from_env("ARENA_CONFIG", self.global.config.as_ref()),
            "config.jsonc",
        ) {
            Some((path, source)) => {
                self.say(format!(
                    "config: {} ({})",
                    path.display(),
                    source.describe()
                ));
                config::load_config(&path)
            }
            None => {
                self.say(
                    "config: built-in defaults (no config.jsonc found; `arena init` writes one)",
                );
                Ok(Config::default())
            }
        }
    }

    pub fn models(&self, config: &Config) -> Result<Models> {
        match config::resolve_file(
            self.models_file.as_deref(),
            from_env("ARENA_MODELS", self.models_file.as_ref()),
            "models.json",
        ) {
            Some((path, source)) => {
                self.say(format!("models: {} ({})", path.display(), source.describe()));
                config::load_models(&path, config)
            }
            None => Err(Error::Input(
                "no models.json found: pass --models PATH before the subcommand, set ARENA_MODELS, \
                 put a models.json in the current directory, or run `arena init`"
                    .into(),
            )),
        }
    }

    pub async fn store(&self) -> Result<Store> {
        let (path, source) = config::resolve_db(
            self.global.db.as_deref(),
            from_env("ARENA_DB", self.global.db.as_ref()),
        )?;
        self.say(format!(
            "database: {} ({})",
            path.display(),
            source.describe()
        ));
        Store::open(&path).await
    }

    /// The engine with config, models and store.
    pub async fn arena(&self) -> Result<Arena> {
        let config = self.config()?;
        let models = self.models(&config)?;
        let store = self.store().await?;
        Arena::new(store, config, models)
    }

    /// The engine for commands that do not call upstreams: a missing models.json is fine.
    pub async fn arena_without_models(&self) -> Result<Arena> {
        let config = self.config()?;
        let models = match self.models(&config) {
            Ok(m) => m,
            Err(Error::Input(_)) => Models::default(),
            Err(e) => return Err(e),
        };
        let store = self.store().await?;
        Arena::new(store, config, models)
    }

    pub fn progress_enabled(&self) -> bool {
        !self.global.no_progress && !self.global.quiet && console::Term::stderr().is_term()
    }
}

/// Writes `text` to `--output FILE` or stdout.
pub(crate) fn emit(output: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::io(path, e).into()),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
