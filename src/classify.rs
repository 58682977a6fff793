//! The prompt classifier: LMArena's LLM-judged categories of a battle's prompt, `hard_prompt`,
//! `math`, `creative_writing` and `instruction_following`, kept as categories of its vote.
//!
//! When `classifier_model` names a pool model, a task of the server asks it about the
//! prompts of battles played here (never about imported ones: a log brings its own
//! judgments in `category_tag`), one prompt at a time, at most
//! `classifier_prompts_per_minute` a minute, oldest vote first. Where several instances share
//! a database, one of them at a time runs it ([`crate::store::Job::Classify`]), so that
//! no prompt is asked about twice and the rate holds for all of them. It runs beside the server
//! and never on a vote's path: a vote is recorded and answered first, judged later.
//!
//! Each prompt (its user turns joined by a line break, cut at 12,500 characters as
//! LMArena's labeller cuts them) is put to the model four times, once per question, with
//! the criteria of LMArena's public classifier prompts (FastChat's
//! `serve/monitor/classify/category.py`) in our own words, at temperature 0, and the
//! answers are read as that labeller reads them:
//!
//! - hard prompt: the numbers of the seven criteria the prompt meets, as one bracketed list
//!   (`[1, 2, 6]`); `hard_prompt` when it meets at least 6, as LMArena's boards define it;
//! - instruction following: a score from 0 to 5 in `<score>…</score>`; 4 or more;
//! - math and creative writing: `<decision>yes</decision>` or `no`.
//!
//! An answer that does not have that shape, or gives it twice with different values, adds
//! nothing. A prompt whose questions were all asked is noted judged, with the categories it
//! got or none, and never asked about again; when the model could not be reached, it is
//! asked again at a later turn (unless the upstream refused the request itself, a 4xx
//! other than 408 and 429, which asking again would not change).
//!
//! May use the engine and everything below it (`store`, `provider`, `config`, `battle`,
//! `util`, `error`); the server starts it.

use std::sync::LazyLock;
use std::time::Duration;

use futures_util::StreamExt;
use regex::Regex;

use crate::config::ModelSpec;
use crate::engine::Arena;
use crate::provider::{ChatRequest, Chunk, Message, Upstream, UpstreamError};
use crate::store::{Job, Lead, Store};

/// The categories this classifier gives.
pub const HARD_PROMPT: &str = "hard_prompt";
pub const MATH: &str = "math";
pub const CREATIVE_WRITING: &str = "creative_writing";
pub const INSTRUCTION_FOLLOWING: &str = "instruction_following";

/// The longest prompt put to the classifier, in characters.
const MAX_PROMPT_CHARS: usize = 12_500;

/// The fewest of the seven criteria a hard prompt meets.
const HARD_CRITERIA: usize = 6;

/// One question put to the classifier about a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    HardPrompt,
    InstructionFollowing,
    Math,
    CreativeWriting,
}

const HARD_PROMPT_SYSTEM: &str = "You decide how well a user's prompt would test the abilities of an advanced AI assistant. Check the prompt against these seven criteria:\n\
1. Specificity: it asks for a definite output, such as code, the solution of a mathematical problem, a simplified piece of logic, a plan for solving a problem, or a recommended hardware setup.\n\
2. Domain knowledge: it belongs to a particular field, such as programming, mathematics, logic, problem solving or hardware.\n\
3. Complexity: it has several parts or steps to work through, not a single simple one.\n\
4. Problem solving: it makes the assistant work out a solution for the situation it describes, rather than recall a known fact.\n\
5. Creativity: answering it well takes an inventive approach fitted to the user's own needs and constraints.\n\
6. Technical accuracy: a good answer must be technically precise and correct.\n\
7. Real-world application: it concerns a practical use, such as building a working system or writing code for a real task.\n\n\
Reply with the numbers of the criteria the prompt meets, as one bracketed list separated by commas, for example [1, 3, 6]. Give no explanation.";

const INSTRUCTION_FOLLOWING_SYSTEM: &str = "You decide whether a user's prompt would test how well an AI assistant follows instructions. Read the prompt and ask yourself:\n\
1. Does it give specific instructions or requirements?\n\
2. Does it have several steps or parts that all need an answer?\n\
3. Does it ask for a particular format or structure of the answer?\n\
4. Is there something unusual or demanding in it that would show whether the directions were followed exactly?\n\n\
A good test of instruction following has clear, specific directions whose fulfilment can be checked objectively. Give the prompt a score from 0 to 5:\n\
0 = it does not test instruction following;\n\
1 = it tests it poorly;\n\
2 = it tests it somewhat;\n\
3 = it tests following simple instructions well;\n\
4 = it tests following more complex instructions well;\n\
5 = it tests following advanced instructions well.\n\n\
Reply in exactly this form: <score>N</score>, with N the score. Give no explanation.";

const MATH_SYSTEM: &str = "You decide whether a user's prompt asks an AI assistant to solve a mathematical problem with mathematical reasoning. Ask yourself:\n\
1. Does answering it take a particular mathematical concept or formula?\n\
2. Does it involve calculation, algebra or formal logical reasoning?\n\
3. Is there a definite mathematical problem to solve?\n\
4. Would a good answer show skill in some area of mathematics?\n\n\
Reply in exactly this form: <decision>yes</decision> or <decision>no</decision>. Give no explanation.";

const CREATIVE_WRITING_SYSTEM: &str = "You decide whether a user's prompt asks for creative writing: writing beyond the usual professional, journalistic, academic or technical kinds, which draws on imagination and originality and expresses thoughts and feelings. Fiction, poems, scripts and monologues, personal narrative essays, and songs or lyrics are examples. Ask yourself:\n\
1. Does it ask for fiction, imagined scenarios or invented stories?\n\
2. Does it invite the expression of feelings, thoughts or personal experience beyond reporting or analysing facts?\n\
3. Does it ask for a creative form, such as a story, a poem or a script?\n\
4. Is its main aim creative expression rather than information, documentation or analysis?\n\
5. Does it ask for devices of literary style, such as metaphor, imagery or dialogue?\n\
6. Does it expect an answer in prose or verse, rather than in pictures, formulas or other non-verbal output?\n\n\
Reply in exactly this form: <decision>yes</decision> or <decision>no</decision>. Give no explanation.";

static CRITERIA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[\d(?:,\s\d)*\]").expect("a valid pattern"));
static SCORE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<score>([012345])</score>").expect("a valid pattern"));
static DECISION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<decision>(\w+)</decision>").expect("a valid pattern"));

/// The one value `pattern` finds in `text` (its first group, or the whole match), if it
/// finds exactly one distinct value: none, or two that differ, is no answer.
fn only_match(pattern: &Regex, text: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for c in pattern.captures_iter(text) {
        let value = c.get(1).or_else(|| c.get(0))?.as_str().to_owned();
        match &found {
            Some(f) if *f != value => return None,
            _ => found = Some(value),
        }
    }
    found
}

impl Question {
    pub const ALL: [Question; 4] = [
        Question::HardPrompt,
        Question::InstructionFollowing,
        Question::Math,
        Question::CreativeWriting,
    ];

    /// The category a yes gives.
    #[must_use]
    pub fn category(self) -> &'static str {
        match self {
            Question::HardPrompt => HARD_PROMPT,
            Question::InstructionFollowing => INSTRUCTION_FOLLOWING,
            Question::Math => MATH,
            Question::CreativeWriting => CREATIVE_WRITING,
        }
    }

    /// The messages that ask it about `prompt`.
    #[must_use]
    pub fn messages(self, prompt: &str) -> Vec<Message> {
        let (system, user) = match self {
            Question::HardPrompt => (HARD_PROMPT_SYSTEM, prompt.to_owned()),
            Question::InstructionFollowing => (
                INSTRUCTION_FOLLOWING_SYSTEM,
                format!("<user_prompt>{prompt}</user_prompt>"),
            ),
            Question::Math => (
                MATH_SYSTEM,
                format!("<user_prompt>\n{prompt}\n</user_prompt>"),
            ),
            Question::CreativeWriting => (
                CREATIVE_WRITING_SYSTEM,
                format!("<user_prompt>\n{prompt}\n</user_prompt>"),
            ),
        };
        vec![Message::new("system", system), Message::new("user", &user)]
    }

    /// What `answer` says: `Some(true)` for a yes, `Some(false)` for a no, `None` when it
    /// does not have the shape asked for.
    #[must_use]
    pub fn read(self, answer: &str) -> Option<bool> {
        match self {
            Question::HardPrompt => {
                let list = only_match(&CRITERIA, answer)?;
                let mut met: Vec<u32> = list
                    .trim_matches(['[', ']'])
                    .split(',')
                    .filter_map(|n| n.trim().parse().ok())
                    .filter(|n| (1..=7).contains(n))
                    .collect();
                met.sort_unstable();
                met.dedup();
                Some(met.len() >= HARD_CRITERIA)
            }
            Question::InstructionFollowing => {
                let score: u32 = only_match(&SCORE, answer)?.parse().ok()?;
                Some(score >= 4)
            }
            Question::Math => {
                let text = answer.replace('\n', "").to_lowercase();
                Some(only_match(&DECISION, &text)? == "yes")
            }
            Question::CreativeWriting => {
                let text: String = answer
                    .chars()
                    .filter(|c| !matches!(c, '\n' | '[' | ']' | ' '))
                    .collect::<String>()
                    .to_lowercase();
                Some(only_match(&DECISION, &text)? == "yes")
            }
        }
    }
}

/// The text put to the classifier for a battle's user turns.
#[must_use]
pub fn prompt_text(user: &[String]) -> String {
    user.join("\n").chars().take(MAX_PROMPT_CHARS).collect()
}

/// The whole answer of `model` to `messages`.
async fn ask(
    upstream: &Upstream,
    model: &ModelSpec,
    messages: Vec<Message>,
) -> Result<String, UpstreamError> {
    let request = ChatRequest {
        messages,
        temperature: Some(0.0),
        max_tokens: Some(512),
        sampling: serde_json::Map::new(),
    };
    let mut stream = upstream.stream(model, &request);
    let mut text = String::new();
    while let Some(item) = stream.next().await {
        if let Chunk::Delta(piece) = item? {
            text.push_str(&piece);
        }
    }
    Ok(text)
}

/// The categories `model` finds for the prompt of `user`'s turns, sorted.
///
/// # Errors
/// When a question could not be asked (the upstream failed).
pub async fn judge(
    upstream: &Upstream,
    model: &ModelSpec,
    user: &[String],
) -> Result<Vec<String>, UpstreamError> {
    let prompt = prompt_text(user);
    let mut out = Vec::new();
    for q in Question::ALL {
        let answer = ask(upstream, model, q.messages(&prompt)).await?;
        match q.read(&answer) {
            Some(true) => out.push(q.category().to_owned()),
            Some(false) => {}
            None => tracing::debug!(
                "the classifier's answer about {} has not the shape asked for",
                q.category()
            ),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Whether asking again could change an upstream's failure: not when it refused the
/// request itself.
fn worth_retrying(e: &UpstreamError) -> bool {
    !e.status
        .is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429)
}

/// Starts the classifier when `classifier_model` names a pool model; `None` otherwise (an
/// unknown name is logged with the pool's names).
#[must_use]
pub fn spawn(arena: Arena) -> Option<tokio::task::JoinHandle<()>> {
    let name = arena.config().classifier_model.clone();
    if name.is_empty() {
        return None;
    }
    let Some(model) = arena.models().get(&name).cloned() else {
        let names: Vec<&str> = arena
            .models()
            .models
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        tracing::warn!(
            "classifier_model `{name}` is not a model of the pool ({}): no prompt is classified",
            names.join(", ")
        );
        return None;
    };
    let per_minute = arena.config().classifier_prompts_per_minute.max(1);
    let every = Duration::from_secs_f64(60.0 / f64::from(per_minute));
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut lead = None;
        loop {
            tick.tick().await;
            if !leads(&arena, &mut lead).await {
                continue;
            }
            let vote = match arena.store.unclassified_votes(1).await {
                Ok(votes) => votes.into_iter().next(),
                Err(e) => {
                    tracing::warn!("reading the prompts to classify failed: {e}");
                    None
                }
            };
            let Some(vote) = vote else { continue };
            let categories = match judge(&arena.upstream, &model, &vote.user).await {
                Ok(c) => c,
                Err(e) if worth_retrying(&e) => {
                    tracing::warn!("the classifier model failed, asked again later: {e}");
                    continue;
                }
                Err(e) => {
                    tracing::warn!("the classifier model refused a prompt, left unjudged: {e}");
                    Vec::new()
                }
            };
            if let Err(e) = arena.store.add_categories(vote.vote, categories).await {
                tracing::warn!("keeping the classifier's categories failed: {e}");
            }
        }
    }))
}

/// Whether this instance runs the classifier now: one instance on a database does (so no
/// prompt is judged twice, and the rate holds for all of them); the others try to take the
/// lead at each turn, and one does as soon as its holder is gone.
async fn leads(arena: &Arena, lead: &mut Option<Lead>) -> bool {
    if let Some(held) = lead.as_ref() {
        if held.holds().await {
            return true;
        }
        tracing::warn!("the classifier's lead was lost with its connection: taken again later");
        *lead = None;
    }
    match arena.store.lead(Job::Classify).await {
        Ok(Some(taken)) => {
            tracing::info!("this instance runs the classifier (one instance on a database does)");
            *lead = Some(taken);
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!("taking the classifier's lead failed: {e}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_as_lmarenas_labeller_reads_them() {
        let hard = Question::HardPrompt;
        assert_eq!(hard.read("[1, 2, 3, 4, 6, 7]"), Some(true));
        assert_eq!(hard.read("Criteria met: [1, 2, 3, 4, 5]"), Some(false));
        assert_eq!(hard.read("[1, 2, 3, 4, 5, 6] or [1]"), None);
        assert_eq!(
            hard.read("[1, 2, 3, 4, 5, 6] and [1, 2, 3, 4, 5, 6]"),
            Some(true)
        );
        assert_eq!(hard.read("all of them"), None);
        let ifq = Question::InstructionFollowing;
        assert_eq!(ifq.read("<score>4</score>"), Some(true));
        assert_eq!(ifq.read("<score>3</score>"), Some(false));
        assert_eq!(ifq.read("<score>9</score>"), None);
        assert_eq!(
            Question::Math.read("<decision>\nYES\n</decision>"),
            Some(true)
        );
        assert_eq!(Question::Math.read("<decision>no</decision>"), Some(false));
        assert_eq!(Question::Math.read("yes"), None);
        assert_eq!(
            Question::CreativeWriting.read("<decision>\n[yes]\n</decision>"),
            Some(true)
        );
        assert_eq!(
            Question::CreativeWriting.read("<decision>yes</decision><decision>no</decision>"),
            None
        );
    }

    #[test]
    fn the_prompt_is_the_user_turns_cut_at_12500_characters() {
        assert_eq!(prompt_text(&["a".into(), "b".into()]), "a\nb");
        assert_eq!(prompt_text(&["é".repeat(20_000)]).chars().count(), 12_500);
    }
}
