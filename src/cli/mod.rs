//! The command line: clap types, one file per subcommand, and rendering. Each subcommand
//! parses its arguments, calls the engine and renders the result; no SQL or HTTP here.
//!
//! The top layer: may use every module of the crate, and none uses it.

/// `print!` that returns the error of a closed stdout instead of panicking on it.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::emit(None, &format!($($arg)*))
    };
}

/// `println!` that returns the error of a closed stdout instead of panicking on it.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::emit(None, &(format!($($arg)*) + "\n"))
    };
}

mod battle;
pub(crate) mod battles;
mod completions;
mod export;
mod import;
mod init;
mod keys;
mod leaderboard;
mod migrate;
mod models;
mod prompts;
mod rebuild;
mod render;
mod serve;
mod stats;
mod trust;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::Arena;
use crate::config::{self, Config, Models};
use crate::error::{Error, Result};
use crate::store::{AnyStore, Mode, Store};

/// Blind, pairwise comparison of language models, with leaderboards in one SQLite file.
#[derive(Debug, Parser)]
#[command(name = "arena", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    /// The models file, models.json (or ARENA_MODELS). Give it before the subcommand.
    #[arg(long = "models", value_name = "PATH")]
    pub models_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub db: Option<PathBuf>,

    /// The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config
    /// directory]
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,

    /// Say more (which files are used, upstream details); repeat for more
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,

    /// Print only results and errors
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,

    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, help_heading = "Global options")]
    pub color: ColorChoice,

    /// Never draw progress bars
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_progress: bool,
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

/// `--format` of commands that print rows: every format.
#[derive(Debug, Clone, Copy, Args)]
pub struct RowsFormat {
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl RowsFormat {
    #[must_use]
    pub fn format(self) -> Format {
        self.format
    }
}

/// The formats of commands that print one thing (a battle, a reveal, a summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ItemFormat {
    Table,
    Json,
    Jsonl,
}

impl From<ItemFormat> for Format {
    fn from(f: ItemFormat) -> Format {
        match f {
            ItemFormat::Table => Format::Table,
            ItemFormat::Json => Format::Json,
            ItemFormat::Jsonl => Format::Jsonl,
        }
    }
}

/// `--format` of commands that print one thing.
#[derive(Debug, Clone, Copy, Args)]
pub struct ItemOutput {
    /// Output format (`table` is for people; json and jsonl for scripts)
    #[arg(long = "format", value_enum, default_value_t = ItemFormat::Table)]
    pub item_format: ItemFormat,
}

impl ItemOutput {
    #[must_use]
    pub fn format(self) -> Format {
        self.item_format.into()
    }
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
    /// Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)
    Serve(serve::ServeArgs),
    /// The server's API keys: add (user or service), list, revoke
    Keys(keys::KeysArgs),
    /// Recompute the running counts and online Elo from the votes table
    Rebuild(rebuild::RebuildArgs),
    /// Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable
    Migrate(migrate::MigrateArgs),
    /// Trust config.jsonc or models.json of the current directory (by path and content)
    Trust(trust::TrustArgs),
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
    apply_color(cli.global.color);
    // A server logs a line per request by default.
    init_logging(&cli.global, matches!(cli.command, Command::Serve(_)));
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
        (Ok(code), _) => ExitCode::from(code),
        (Err(e), models) => report(&e, models.as_deref()),
    }
}

/// Prints an error (and a hint) and gives its exit code; `models` is the models file the
/// command read, if it read one.
fn report(e: &anyhow::Error, models: Option<&std::path::Path>) -> ExitCode {
    // A reader that went away (`arena export votes | head -1`) is not a failure.
    let broken_pipe = e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| cause.downcast_ref::<Error>().and_then(Error::io_kind))
            == Some(std::io::ErrorKind::BrokenPipe)
    });
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let code = e.downcast_ref::<Error>().map_or(1, Error::exit_code);
    let style = console::Style::new().red().bold().for_stderr();
    // Messages may quote upstream or imported text: never let it drive the terminal.
    let message = render::terminal_safe(&format!("{e:#}"));
    eprintln!("{} {message}", style.apply_to("error:"));
    if let Some(hint) = e.downcast_ref::<Error>().and_then(|e| hint(e, models)) {
        eprintln!("hint: {}", render::terminal_safe(&hint));
    }
    ExitCode::from(code)
}

/// What to do next, for the command line: the library's messages say what happened.
fn hint(e: &Error, models: Option<&std::path::Path>) -> Option<String> {
    Some(match e {
        // The operator's own terminal: the file to edit is named (never to HTTP clients).
        Error::UnknownModel(_) => match models {
            Some(path) => format!("the pool is {}; `arena models` lists it", path.display()),
            None => "`arena models` lists the pool".into(),
        },
        Error::BattleNotFound(_) => "`arena battles` lists the battles".into(),
        Error::Expired(_) => {
            "battles expire after pending_vote_expiry_minutes (config.jsonc) without a vote".into()
        }
        Error::StillGenerating(_) => {
            "if the process that started it has ended, `arena unstuck` clears it".into()
        }
        Error::BattleFailed { id, .. } => format!(
            "`arena show {id}` has the error; `arena -v battle ...` names the model that failed"
        ),
        Error::NotOwner(_) => "vote with the same --user the battle was started with".into(),
        Error::EmptyPrompt => {
            "give the question as an argument, with --prompt-file FILE, on stdin (`-`), or use \
             --random-prompt"
                .into()
        }
        _ => return None,
    })
}

fn init_logging(global: &Global, serving: bool) {
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) if serving => "info",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ARENA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("arena={level}")));
    let ansi = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => console::colors_enabled_stderr(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
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

/// Runs the command; also gives the models file it read, for the hint of an error.
async fn run(cli: Cli) -> (anyhow::Result<u8>, Option<PathBuf>) {
    let ctx = Context {
        global: cli.global,
        models_file: cli.models_file,
        opened: std::sync::Mutex::new(Vec::new()),
        noted: std::sync::Mutex::default(),
        models_path: std::sync::Mutex::default(),
    };
    let outcome = match cli.command {
        Command::Init(args) => init::run(&ctx, &args).await,
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
        Command::Rebuild(args) => rebuild::run(&ctx, &args).await,
        Command::Migrate(args) => migrate::run(&ctx, &args).await,
        Command::Serve(args) => serve::run(&ctx, &args).await,
        Command::Keys(args) => keys::run(&ctx, &args).await,
        Command::Trust(args) => trust::run(&ctx, &args),
        Command::Completions(args) => completions::print(&args),
        Command::GenerateCompletions(args) => completions::generate(&args),
    };
    // Whatever the outcome, the database file is left complete on its own.
    let closed = ctx.close().await;
    let models = ctx
        .models_path
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    (
        outcome.and_then(|code| closed.map(|()| code).map_err(Into::into)),
        models,
    )
}

/// What every subcommand shares: the global flags and how to open the engine.
pub(crate) struct Context {
    pub global: Global,
    pub models_file: Option<PathBuf>,
    /// Stores opened by the command, closed when it ends.
    opened: std::sync::Mutex<Vec<AnyStore>>,
    /// Files of the current directory whose refusal was said already.
    noted: std::sync::Mutex<std::collections::BTreeSet<PathBuf>>,
    /// The models file the command read.
    models_path: std::sync::Mutex<Option<PathBuf>>,
}

/// A path from its flag, else from its environment variable; `true` when from the variable.
/// An empty one is a mistake, named as such.
fn path_option(flag: &str, var: &str, value: Option<&PathBuf>) -> Result<Option<(PathBuf, bool)>> {
    if let Some(p) = value {
        if p.as_os_str().is_empty() {
            return Err(Error::Input(format!("{flag} is empty: give a path")));
        }
        return Ok(Some((p.clone(), false)));
    }
    match std::env::var_os(var) {
        None => Ok(None),
        Some(v) if v.is_empty() => Err(Error::Input(format!(
            "{var} is set but empty: unset it, or set it to a path"
        ))),
        Some(v) => Ok(Some((PathBuf::from(v), true))),
    }
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
        let explicit = path_option("--config", "ARENA_CONFIG", self.global.config.as_ref())?;
        let resolution = config::resolve_file(
            explicit.as_ref().map(|(p, _)| p.as_path()),
            explicit.as_ref().is_some_and(|(_, env)| *env),
            "config.jsonc",
        )?;
        self.refused(&resolution, "--config");
        match resolution.found {
            Some((path, source)) => {
                self.say(format!(
                    "config: {} ({})",
                    path.display(),
                    source.describe()
                ));
                config::load_config(&path).map(Config::with_env)
            }
            None => {
                self.say(
                    "config: built-in defaults (no config.jsonc found; `arena init` writes one)",
                );
                Ok(Config::default().with_env())
            }
        }
    }

    pub fn models(&self, config: &Config) -> Result<Models> {
        let explicit = path_option("--models", "ARENA_MODELS", self.models_file.as_ref())?;
        let resolution = config::resolve_file(
            explicit.as_ref().map(|(p, _)| p.as_path()),
            explicit.as_ref().is_some_and(|(_, env)| *env),
            "models.json",
        )?;
        self.refused(&resolution, "--models");
        match resolution.found {
            Some((path, source)) => {
                self.say(format!("models: {} ({})", path.display(), source.describe()));
                *self
                    .models_path
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(path.clone());
                config::load_models(&path, config)
            }
            None => Err(Error::Input(
                "no models.json found: pass --models PATH before the subcommand, set ARENA_MODELS, \
                 trust a models.json of the current directory (`arena trust models.json`), or \
                 run `arena init`"
                    .into(),
            )),
        }
    }

    /// Says why a file of the current directory was not used, once per command (a command
    /// may read the config more than once).
    fn refused(&self, resolution: &config::Resolution, flag: &str) {
        if let Some((path, why)) = &resolution.refused {
            let first = self
                .noted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(path.clone());
            if !first {
                return;
            }
            let name = path.display();
            self.note(format!(
                "note: ./{name} {why}, so it is not used: read it, then `arena trust {name}` \
                 (or pass {flag} {name})"
            ));
        }
    }

    /// The database path: the flag, `ARENA_DB`, else the data directory's.
    pub fn db_path(&self) -> Result<PathBuf> {
        let explicit = path_option("--db", "ARENA_DB", self.global.db.as_ref())?;
        // config.jsonc is read only when neither the flag nor the variable names one.
        let configured = match explicit {
            Some(_) => None,
            None => Some(self.config()?.database_url),
        };
        let (path, source) = config::resolve_db(
            explicit.as_ref().map(|(p, _)| p.as_path()),
            explicit.as_ref().is_some_and(|(_, env)| *env),
            configured
                .as_ref()
                .map(|url| (url.expose(), config::Source::ConfigSetting)),
        )?;
        // An address is shown without its password.
        self.say(format!(
            "database: {} ({})",
            crate::store::describe(&path),
            source.describe()
        ));
        Ok(path)
    }

    /// The store, opened as `mode` says; closed when the command ends.
    pub async fn store(&self, mode: Mode) -> Result<AnyStore> {
        let store = crate::store::open(&self.db_path()?, mode).await?;
        self.opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(store.clone());
        Ok(store)
    }

    /// Closes every store the command opened.
    async fn close(&self) -> Result<()> {
        let opened = std::mem::take(
            &mut *self
                .opened
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut result = Ok(());
        for store in opened {
            if let Err(e) = store.close().await {
                result = Err(e);
            }
        }
        result
    }

    /// The engine with config, models and store.
    pub async fn arena(&self, mode: Mode) -> Result<Arena> {
        let config = self.config()?;
        let models = self.models(&config)?;
        let store = self.store(mode).await?;
        Arena::new(store, config, models).await
    }

    /// The engine for commands that do not call upstreams: a missing models.json is fine.
    pub async fn arena_without_models(&self, mode: Mode) -> Result<Arena> {
        let config = self.config()?;
        let models = match self.models(&config) {
            Ok(m) => m,
            Err(Error::Input(_)) => Models::default(),
            Err(e) => return Err(e),
        };
        let store = self.store(mode).await?;
        Arena::new(store, config, models).await
    }

    pub fn progress_enabled(&self) -> bool {
        !self.global.no_progress && !self.global.quiet && console::Term::stderr().is_term()
    }
}

/// Writes `text` to `--output FILE` or stdout. A reader that went away (`arena ... | head
/// -1`) is no failure: what it did not read is dropped, and the command still finishes its
/// work (`init` writes both files, `battle` records its battle) and exits 0.
pub(crate) fn emit(output: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(path) => crate::util::replace_file(path, text.as_bytes()).map_err(Into::into),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(Into::into),
            }
        }
    }
}
