//! `arena battle` and `arena vote`: the blind loop of question, two answers, vote, reveal.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::render;
use super::{Context, Format, ItemOutput};
use crate::battle::Side;
use crate::battle::{BattleView, Origin, Reveal, Status, Winner, parse_id};
use crate::config::Tier;
use crate::engine::run::BattleEvent;
use crate::engine::sampler::Pairing;
use crate::engine::{BattleRequest, PromptSource};
use crate::error::Error;
use crate::store::Mode;

#[derive(Debug, Args)]
pub struct BattleArgs {
    /// The question; `-` reads it from stdin (its final line ends are dropped)
    #[arg(value_name = "PROMPT")]
    prompt: Option<String>,

    /// Read the question from a file (its final line ends are dropped)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["prompt", "random_prompt"])]
    prompt_file: Option<PathBuf>,

    /// Take a random question from the prompt pool
    #[arg(long, conflicts_with = "prompt")]
    random_prompt: bool,

    /// With --random-prompt: only prompts of this theme
    #[arg(long, requires = "random_prompt")]
    theme: Option<String>,

    /// Pin the two models by name, e.g. --models gpt-4o,claude-3-opus (sides are still
    /// random). The models file itself is given before the subcommand: arena --models FILE battle
    #[arg(
        long = "models",
        visible_alias = "pair",
        value_name = "A,B",
        value_delimiter = ','
    )]
    pinned: Option<Vec<String>>,

    /// Draw both models from this tier
    #[arg(long, value_enum, conflicts_with = "pinned")]
    tier: Option<TierArg>,

    /// Do not ask for a vote: print the battle id (or the battle with --format json) and exit
    #[arg(long)]
    no_vote: bool,

    /// A system message for both models
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,

    /// Sampling temperature passed to both models, from 0 to 2
    #[arg(long, allow_negative_numbers = true)]
    temperature: Option<f64>,

    /// Maximum answer length in tokens, passed to both models
    #[arg(long)]
    max_tokens: Option<u32>,

    /// Who is asking (stored only as a salted hash), e.g. cli:alice
    #[arg(long)]
    user: Option<String>,

    #[command(flatten)]
    output: ItemOutput,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TierArg {
    High,
    Low,
}

#[derive(Debug, Args)]
pub struct VoteArgs {
    /// The battle id
    id: String,
    /// a, b, tie, bothbad or skip (also model_a, model_b, both_bad, "tie (bothbad)")
    choice: String,
    /// Who votes (stored only as a salted hash)
    #[arg(long)]
    user: Option<String>,

    #[command(flatten)]
    output: ItemOutput,
}

/// Reads at most `limit` bytes of a prompt: a larger one is refused before it is in memory.
fn read_limited(mut from: impl Read, name: &str, limit: u64) -> Result<String, Error> {
    let mut bytes = Vec::new();
    from.by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(name, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::Input(format!(
            "{name}: the prompt is longer than the {limit} bytes allowed (max_prompt_bytes in \
             config.jsonc)"
        )));
    }
    let mut text = String::from_utf8(bytes)
        .map_err(|_| Error::Input(format!("{name}: the prompt is not valid UTF-8 text")))?;
    // The line ends a file or a pipe finishes with are not part of the question, as with
    // `$(cat FILE)` in a shell; other white space, and any line end inside, stays.
    let kept = text.trim_end_matches(['\n', '\r']).len();
    text.truncate(kept);
    Ok(text)
}

fn read_prompt(args: &BattleArgs, limit: u64) -> Result<PromptSource, Error> {
    if args.random_prompt {
        return Ok(PromptSource::Random {
            theme: args.theme.clone(),
        });
    }
    if let Some(path) = &args.prompt_file {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let text = read_limited(file, &path.display().to_string(), limit)?;
        return Ok(PromptSource::Text(text));
    }
    match args.prompt.as_deref() {
        Some("-") => Ok(PromptSource::Text(read_limited(
            std::io::stdin(),
            "<stdin>",
            limit,
        )?)),
        Some(text) => Ok(PromptSource::Text(text.to_owned())),
        None => Err(Error::Input(
            "no prompt: give the question as an argument (`arena battle \"...\"`), `-` to read \
             stdin, --prompt-file FILE, or --random-prompt"
                .into(),
        )),
    }
}

pub async fn run(ctx: &Context, args: BattleArgs) -> anyhow::Result<u8> {
    let pinned = checked_pins(&args)?;
    let prompt = read_prompt(&args, ctx.config()?.max_prompt_bytes)?;
    let format = args.output.format();
    let arena = ctx.arena(Mode::Create).await?;
    arena.expire_stale().await?;
    let pairing = Pairing {
        pinned,
        tier: args.tier.map(|t| match t {
            TierArg::High => Tier::High,
            TierArg::Low => Tier::Low,
        }),
        tier_battle: None,
    };
    let interactive = !args.no_vote
        && format == Format::Table
        && console::Term::stdout().is_term()
        && console::Term::stderr().is_term()
        && std::io::IsTerminal::is_terminal(&std::io::stdin());
    let run = arena
        .start_battle(BattleRequest {
            prompt,
            system: args.system.clone(),
            temperature: args.temperature,
            max_tokens: args.max_tokens,
            pairing,
            user: args.user.clone(),
            origin: Origin::Cli,
            limited: false,
            rpid: None,
        })
        .await?;
    let id = run.battle_id;
    tracing::info!("battle {id} started");
    let Some(view) = follow(ctx, &arena, run).await? else {
        return Ok(130);
    };

    if view.status == Status::Failed {
        return Err(failed(ctx, &arena, id, &view, format).await);
    }
    if !interactive {
        match format {
            Format::Table => outln!("{id}")?,
            _ => render::print_json(&view, format)?,
        }
        ctx.note(format!(
            "battle {id} is waiting for a vote: arena vote {id} a|b|tie|bothbad|skip"
        ));
        return Ok(0);
    }
    out!("{}", render::answers(&view, render::terminal_width()))?;
    let winner = match ask_vote(ctx, id)? {
        Choice::Vote(winner) => winner,
        Choice::None => return Ok(0),
        Choice::Interrupted => return Ok(130),
    };
    let reveal = arena.vote(id, winner, args.user.as_deref()).await?;
    out!("{}", render::reveal(&reveal))?;
    Ok(0)
}

/// The two models `--models` pins, and a `--temperature` in range.
fn checked_pins(args: &BattleArgs) -> Result<Option<(String, String)>, Error> {
    let pinned = match args.pinned.as_deref() {
        None => None,
        Some([a, b]) => Some((a.trim().to_owned(), b.trim().to_owned())),
        Some(other) => {
            return Err(Error::Input(format!(
                "--models takes exactly two model names, as in --models gpt-4o,claude-3-opus; \
                 got {}",
                other.len()
            )));
        }
    };
    if let Some(t) = args.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(Error::Input(format!(
            "--temperature {t}: expected a number from 0 to 2, such as 0.7"
        )));
    }
    Ok(pinned)
}

/// Draws the battle's progress until both answers are in, and returns its view; `None` when
/// Ctrl-C cancelled it.
async fn follow(
    ctx: &Context,
    arena: &crate::engine::Arena,
    mut run: crate::engine::run::BattleRun,
) -> anyhow::Result<Option<BattleView>> {
    let id = run.battle_id;
    // Listen for Ctrl-C before anything is drawn, so no interrupt falls between the two.
    let mut interrupt = Interrupt::listen()?;
    let bars = Progress::new(ctx.progress_enabled());
    loop {
        tokio::select! {
            event = run.next_event() => match event {
                Some(event) => bars.update(&event),
                None => break,
            },
            () = interrupt.recv() => {
                // Ctrl-C: end the battle cleanly rather than leave it generating.
                bars.clear();
                arena.cancel(id).await?;
                ctx.note(format!("battle {id} cancelled"));
                return Ok(None);
            }
        }
    }
    bars.clear();
    Ok(Some(run.finish().await?))
}

/// The error of a failed battle; with `-v`, the unblinded errors of its sides first, on
/// stderr (the operator asked for details), and its view on stdout in a JSON format.
async fn failed(
    ctx: &Context,
    arena: &crate::engine::Arena,
    id: uuid::Uuid,
    view: &BattleView,
    format: Format,
) -> anyhow::Error {
    if ctx.global.verbose > 0 {
        match arena.battle_record(id).await {
            Ok(record) => {
                for (label, side) in [("Assistant A", &record.a), ("Assistant B", &record.b)] {
                    if let Some(e) = &side.error {
                        eprintln!(
                            "{label} ({}): {}",
                            render::terminal_safe(&side.model),
                            render::terminal_safe(e)
                        );
                    }
                }
            }
            Err(e) => return e.into(),
        }
    }
    if format != Format::Table
        && let Err(e) = render::print_json(view, format)
    {
        return e;
    }
    Error::upstream(format!(
        "battle {id} failed: {}",
        view.error.as_deref().unwrap_or("an upstream failed")
    ))
    .into()
}

/// What the terminal's vote prompt ended with.
enum Choice {
    Vote(Winner),
    /// Left without a choice: no vote, the battle waits.
    None,
    /// Ctrl-C at the prompt: no vote, the battle waits.
    Interrupted,
}

/// Asks for the vote on the terminal.
fn ask_vote(ctx: &Context, id: uuid::Uuid) -> anyhow::Result<Choice> {
    let items = ["A is better", "B is better", "Tie", "Both are bad", "Skip"];
    let choice = dialoguer::Select::with_theme(&dialoguer::theme::ColorfulTheme::default())
        .with_prompt("Which answer is better?")
        .items(items)
        .default(0)
        .interact_opt();
    // However the prompt ends, the cursor it hid comes back.
    let _ = console::Term::stderr().show_cursor();
    let waits = || {
        ctx.note(format!(
            "no vote recorded; battle {id} waits: arena vote {id} a|b|tie|bothbad|skip"
        ));
    };
    match choice {
        Ok(Some(choice)) => Ok(Choice::Vote(Winner::ALL[choice])),
        Ok(None) => {
            waits();
            Ok(Choice::None)
        }
        Err(dialoguer::Error::IO(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
            waits();
            Ok(Choice::Interrupted)
        }
        Err(e) => {
            Err(Error::Internal(format!("cannot read the vote from the terminal: {e}")).into())
        }
    }
}

pub async fn vote(ctx: &Context, args: &VoteArgs) -> anyhow::Result<u8> {
    let id = parse_id(&args.id)?;
    let winner: Winner = args.choice.parse()?;
    let arena = ctx.arena_without_models(Mode::Write).await?;
    arena.expire_stale().await?;
    let reveal: Reveal = arena.vote(id, winner, args.user.as_deref()).await?;
    match args.output.format() {
        Format::Table => out!("{}", render::reveal(&reveal))?,
        format => render::print_json(&reveal, format)?,
    }
    Ok(0)
}

/// Ctrl-C, caught from the moment of [`Interrupt::listen`].
struct Interrupt {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupt {
    fn listen() -> Result<Self, Error> {
        #[cfg(unix)]
        {
            let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .map_err(|e| Error::Internal(format!("cannot listen for Ctrl-C: {e}")))?;
            Ok(Interrupt { signal })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupt {})
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            if self.signal.recv().await.is_none() {
                // No more signals can arrive: never report one.
                std::future::pending::<()>().await;
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// One spinner per side: chunks so far and time elapsed.
struct Progress {
    multi: MultiProgress,
    a: ProgressBar,
    b: ProgressBar,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = |side: Side| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(side.label());
            bar.set_message("waiting for the first token…");
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        };
        let (a, b) = (bar(Side::A), bar(Side::B));
        Progress { multi, a, b }
    }

    fn update(&self, event: &BattleEvent) {
        match event {
            BattleEvent::Delta { side, .. } => {
                let bar = self.bar(*side);
                bar.inc(1);
                bar.set_message(format!(
                    "{} tokens, {:.1}s",
                    bar.position(),
                    bar.elapsed().as_secs_f64()
                ));
            }
            BattleEvent::SideDone {
                side,
                error,
                elapsed,
                ..
            } => {
                let bar = self.bar(*side);
                let message = match error {
                    None => format!(
                        "done: {} tokens in {:.1}s",
                        bar.position(),
                        elapsed.as_secs_f64()
                    ),
                    Some(_) => format!("failed after {:.1}s", elapsed.as_secs_f64()),
                };
                bar.finish_with_message(message);
            }
        }
    }

    fn bar(&self, side: Side) -> &ProgressBar {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    fn clear(&self) {
        self.a.finish_and_clear();
        self.b.finish_and_clear();
        let _ = self.multi.clear();
    }
}

/// What `arena show` prints for a battle.
pub(super) fn battle_text(view: &BattleView) -> String {
    let mut out = render::answers(view, render::terminal_width());
    match (&view.model_a, &view.model_b, view.winner) {
        (Some(a), Some(b), Some(w)) => {
            out.push_str(&format!(
                "\nAssistant A: {}\nAssistant B: {}\nVote: {}\n",
                render::terminal_safe(a),
                render::terminal_safe(b),
                w.as_str()
            ));
            if !view.left_out.is_empty() {
                out.push_str(&format!(
                    "Left out of the ratings: {}\n",
                    view.left_out.describe()
                ));
            }
            if let Some(leak) = &view.identity_leak {
                out.push_str(&format!(
                    "Named a model: {}\n",
                    render::terminal_safe(&leak.describe())
                ));
            }
        }
        _ => out.push_str(&format!("\nStatus: {}\n", view.status)),
    }
    if let Some(e) = &view.error {
        out.push_str(&format!("Error: {}\n", render::terminal_safe(e)));
    }
    out
}
