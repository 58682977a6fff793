//! Identity leaks: answers that name a model. A voter who reads "I am GPT-4" or "as a model
//! trained by Anthropic" knows who stands on a side, and the vote is no longer blind, so the
//! battle is marked with the words that matched and its vote is kept but left out of the
//! ratings by default (SPEC §5), as LMArena does.
//!
//! The rule, and why:
//! - Every assistant turn of both sides is read; a match on either side marks the battle: a
//!   vote is biased whichever side gave itself away.
//! - A model naming *another* model ("unlike ChatGPT, I ...") is a leak too, as in FastChat's
//!   `clean_battle_data.py`: telling "I am X" from "X is not me" takes more than matching,
//!   and both say something about who answered. Questions about models therefore leave their
//!   votes out; `--include-identity-leaks` puts them back.
//! - Matching ignores case and takes whole words: a term matches only where the characters
//!   around it are not letters or digits. FastChat matches substrings, which marks "napalm"
//!   for `palm` and "bombarded" for `bard`; whole words keep `gpt` out of "gpt4all"-like
//!   identifiers but still match "GPT-4o" (the `-` ends the word). Scripts written without
//!   spaces (Chinese, Japanese, Korean: everything from U+2E80 on) need no boundary, so
//!   `通义千问` matches inside a sentence and `Claude` before `是`.
//! - The terms: the configured words (vendors and model families; a default list below),
//!   and, unless turned off, the pool's public names and upstream ids, and for an id such as
//!   `meta-llama/Llama-3-8b` or `llama3:8b` its last path segment and the part before its
//!   tag. Names and ids of fewer than three characters are left out: `a` or `pi` as a
//!   model's name would mark nearly every answer.

use std::collections::BTreeSet;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use serde::{Deserialize, Serialize};

/// The words that mark an answer by default: AI labs and model families, each distinctive
/// enough that an answer naming it speaks of a model. Words an answer uses for other
/// things (`google`, `meta`, `microsoft`, `baidu` as places to search or shop, `palm`,
/// `bard`) are left out, or kept only in a phrase that names the model's maker.
pub const DEFAULT_WORDS: &[&str] = &[
    "openai",
    "chatgpt",
    "gpt",
    "anthropic",
    "claude",
    "deepmind",
    "gemini",
    "gemma",
    "trained by google",
    "developed by google",
    "created by google",
    "meta ai",
    "llama",
    "mistral",
    "mixtral",
    "codestral",
    "alibaba cloud",
    "qwen",
    "tongyi",
    "通义千问",
    "通义",
    "deepseek",
    "深度求索",
    "zhipu",
    "智谱",
    "chatglm",
    "moonshot ai",
    "kimi",
    "月之暗面",
    "baichuan",
    "百川",
    "01.ai",
    "零一万物",
    "cohere",
    "command r",
    "command-r",
    "xai",
    "grok",
    "ernie bot",
    "文心一言",
    "doubao",
    "豆包",
    "bytedance",
    "字节跳动",
    "minimax",
    "hunyuan",
    "混元",
    "讯飞星火",
    "nemotron",
    "vicuna",
    "lmsys",
    "lmarena",
    "chatbot arena",
];

/// Pool names and ids shorter than this (in characters) are not matched.
pub const MIN_POOL_TERM_CHARS: usize = 3;

/// The words that matched on each side of a battle, lower-case, sorted, each once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLeak {
    pub a: Vec<String>,
    pub b: Vec<String>,
}

impl IdentityLeak {
    /// Whether neither side named a model.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.a.is_empty() && self.b.is_empty()
    }

    /// "Assistant A: gpt, openai; Assistant B: claude", the sides that matched only.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (side, words) in [("Assistant A", &self.a), ("Assistant B", &self.b)] {
            if !words.is_empty() {
                parts.push(format!("{side}: {}", words.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// What to look for: the configured words, and whether the pool's names and ids count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityTerms {
    /// Lower-case, each once.
    terms: BTreeSet<String>,
    /// Whether the names of a battle's own models are added to the terms (see
    /// [`IdentityTerms::with_names`]).
    pub pool_names: bool,
}

impl IdentityTerms {
    /// The configured `words`, plus, when `pool_names`, the pool's public names and upstream
    /// ids (and the short forms of ids described in the module documentation).
    #[must_use]
    pub fn new<'a>(
        words: impl IntoIterator<Item = &'a str>,
        pool_names: bool,
        pool: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut t = IdentityTerms {
            terms: BTreeSet::new(),
            pool_names,
        };
        for w in words {
            t.add(w, 1);
        }
        if pool_names {
            for name in pool {
                t.add_name(name);
            }
        }
        t
    }

    /// The terms with a battle's own model names added (when pool names count): what a vote
    /// checks, so that a battle is checked for its models even without `models.json`.
    #[must_use]
    pub fn with_names<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut t = self.clone();
        if t.pool_names {
            for name in names {
                t.add_name(name);
            }
        }
        t
    }

    fn add(&mut self, term: &str, min_chars: usize) {
        let term = term.trim().to_lowercase();
        if term.chars().count() >= min_chars {
            self.terms.insert(term);
        }
    }

    /// A name or an upstream id, with its last path segment and its part before a tag.
    fn add_name(&mut self, name: &str) {
        self.add(name, MIN_POOL_TERM_CHARS);
        let last = name.rsplit('/').next().unwrap_or(name);
        self.add(last, MIN_POOL_TERM_CHARS);
        if let Some((base, _tag)) = last.split_once(':') {
            self.add(base, MIN_POOL_TERM_CHARS);
        }
    }

    /// Whether there is nothing to look for.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The matcher over these terms.
    #[must_use]
    pub fn matcher(&self) -> Matcher {
        let terms: Vec<&String> = self.terms.iter().collect();
        // Overlapping matches need the standard semantics; a build fails only on patterns
        // beyond the automaton's limits, far above any word list, and then nothing matches.
        // Each vote builds one and searches a few answers with it: a contiguous NFA builds in
        // a fraction of the time of the DFA the crate would choose for a short list, which
        // took a quarter of a vote's time.
        let automaton = AhoCorasickBuilder::new()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::Standard)
            .build(&terms)
            .ok();
        Matcher {
            automaton,
            terms: terms.into_iter().cloned().collect(),
        }
    }
}

/// The terms compiled for matching: one pass over a text finds them all.
#[derive(Debug, Clone)]
pub struct Matcher {
    automaton: Option<AhoCorasick>,
    terms: Vec<String>,
}

impl Matcher {
    /// The terms that occur as whole words in any of `texts` (case ignored), sorted.
    #[must_use]
    pub fn find<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let Some(automaton) = &self.automaton else {
            return Vec::new();
        };
        let mut found = BTreeSet::new();
        for text in texts {
            let lower = text.to_lowercase();
            for m in automaton.find_overlapping_iter(&lower) {
                let term = &self.terms[m.pattern().as_usize()];
                if whole(&lower, m.start(), m.end(), term) {
                    found.insert(term.clone());
                }
            }
        }
        found.into_iter().collect()
    }

    /// Both sides' answers checked: `None` when neither names a model.
    #[must_use]
    pub fn check<'a>(
        &self,
        a: impl IntoIterator<Item = &'a str>,
        b: impl IntoIterator<Item = &'a str>,
    ) -> Option<IdentityLeak> {
        let leak = IdentityLeak {
            a: self.find(a),
            b: self.find(b),
        };
        (!leak.is_empty()).then_some(leak)
    }
}

/// A character of a script written with spaces between words: only these make a boundary
/// matter (see the module documentation).
fn spaced_word_char(c: char) -> bool {
    c.is_alphanumeric() && u32::from(c) < 0x2E80
}

/// Whether the match `start..end` of `term` in `text` stands as a whole word.
fn whole(text: &str, start: usize, end: usize, term: &str) -> bool {
    let first = term.chars().next().is_some_and(spaced_word_char);
    let last = term.chars().next_back().is_some_and(spaced_word_char);
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let joined_before = first && before.is_some_and(spaced_word_char);
    let joined_after = last && after.is_some_and(spaced_word_char);
    !joined_before && !joined_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(words: &[&str], pool: &[&str]) -> Matcher {
        IdentityTerms::new(words.iter().copied(), true, pool.iter().copied()).matcher()
    }

    #[test]
    fn whole_words_in_any_case() {
        let m = terms(&["gpt", "openai", "palm"], &[]);
        assert_eq!(m.find(["I am GPT-4, made by OpenAI."]), ["gpt", "openai"]);
        assert_eq!(m.find(["Hold it in the palm of your hand."]), ["palm"]);
        // Inside a longer word it is not the word.
        assert!(m.find(["napalm, gpt4all and openairlines"]).is_empty());
        assert!(m.find(["nothing here"]).is_empty());
    }

    #[test]
    fn scripts_without_spaces_match_inside_sentences() {
        let m = terms(&["通义千问", "claude"], &[]);
        assert_eq!(m.find(["我是通义千问，由阿里云开发。"]), ["通义千问"]);
        assert_eq!(m.find(["Claude是一个助手"]), ["claude"]);
        assert_eq!(m.find(["저는Claude입니다"]), ["claude"]);
    }

    #[test]
    fn pool_names_ids_and_their_short_forms() {
        let m = terms(
            &[],
            &[
                "saturn",
                "meta-llama/Llama-3-8B-Instruct",
                "llama3:8b",
                "pi",
            ],
        );
        assert_eq!(m.find(["I am Saturn."]), ["saturn"]);
        assert_eq!(
            m.find(["This is Llama-3-8B-Instruct speaking"]),
            ["llama-3-8b-instruct"]
        );
        assert_eq!(m.find(["llama3 here"]), ["llama3"]);
        // Too short to tell a name from a word.
        assert!(m.find(["pi is 3.14"]).is_empty());
    }

    #[test]
    fn pool_names_can_be_turned_off() {
        let t = IdentityTerms::new(["openai"], false, ["saturn"]).with_names(["neptune"]);
        let m = t.matcher();
        assert!(m.find(["Saturn and Neptune"]).is_empty());
        assert_eq!(m.find(["OpenAI"]), ["openai"]);
        let t = IdentityTerms::new([], true, []).with_names(["neptune"]);
        assert_eq!(t.matcher().find(["I am Neptune"]), ["neptune"]);
    }

    #[test]
    fn overlapping_terms_all_match_and_each_side_is_told() {
        let m = terms(&["gpt", "gpt-4", "chatgpt"], &[]);
        assert_eq!(m.find(["ChatGPT (GPT-4)"]), ["chatgpt", "gpt", "gpt-4"]);
        let leak = m
            .check(["plain", "then gpt"], ["nothing"])
            .expect("side A named a model");
        assert_eq!(leak.a, ["gpt"]);
        assert!(leak.b.is_empty());
        assert_eq!(leak.describe(), "Assistant A: gpt");
        assert!(m.check(["plain"], ["plain"]).is_none());
    }

    #[test]
    fn the_default_words_mark_typical_self_descriptions() {
        let m = IdentityTerms::new(DEFAULT_WORDS.iter().copied(), false, []).matcher();
        for text in [
            "I am ChatGPT, a large language model trained by OpenAI.",
            "I'm Claude, an AI assistant made by Anthropic.",
            "I am a large language model, trained by Google.",
            "I am Qwen, created by Alibaba Cloud.",
            "我是通义千问。",
            "Unlike GPT-4o, I cannot browse.",
        ] {
            assert!(!m.find([text]).is_empty(), "{text}");
        }
        for text in [
            "Search Google for the nearest bakery.",
            "A palm tree and a bard.",
            "The meta question is about microsoft excel.",
        ] {
            assert!(m.find([text]).is_empty(), "{text}");
        }
    }
}
