//! Style features of answer texts: Markdown headers, list items and bold spans counted as
//! LMArena's public `add_markdown_info.py` counts them, and `cl100k_base` tokens counted as
//! its battle cleaning counts them.
//!
//! Both are reproduced to the character, quirks included, because the features must mean
//! the same as in the published `conv_metadata`:
//!
//! * code blocks are removed first, the reference's way: every text between a pair of
//!   triple backticks (`` ```([^`]*)``` ``, leftmost first, not overlapping) is taken, and
//!   then each of those texts in turn is deleted wherever it occurs in the answer. The
//!   fences themselves stay, and a code block's text is deleted from the prose too.
//! * headers are lines starting with one to six `#` and a whitespace character (`#\n`
//!   counts); list items are lines starting with optional whitespace and `N.` or `-`, `*`,
//!   `+`, then whitespace, where the leading whitespace may run over blank lines; bold spans
//!   are `**…**` and `__…__` on one line. Python's `\s` is Unicode whitespace plus the
//!   separators U+001C–U+001F, which Rust's `\s` lacks, so they are added explicitly.
//! * the answers of several turns are joined by a newline before counting Markdown, while
//!   tokens are counted per turn and summed, with special tokens such as `<|endoftext|>`
//!   read as one token (`allowed_special="all"` in the reference).

use std::sync::LazyLock;

use regex::Regex;
use tiktoken_rs::CoreBPE;

/// Python's `\s` on text: Unicode whitespace and the four information separators.
const WS: &str = r"[\s\x1C-\x1F]";

struct Patterns {
    code: Regex,
    headers: [Regex; 6],
    ordered: Regex,
    unordered: Regex,
    bold_stars: Regex,
    bold_underscores: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("a fixed pattern compiles");
    Patterns {
        code: re("```([^`]*)```"),
        headers: std::array::from_fn(|level| re(&format!("(?m)^#{{{}}}{WS}", level + 1))),
        ordered: re(&format!(r"(?m)^{WS}*\d+\.{WS}")),
        unordered: re(&format!(r"(?m)^{WS}*[-*+]{WS}")),
        bold_stars: re(r"\*\*[^*\n]+\*\*"),
        bold_underscores: re(r"__[^_\n]+__"),
    }
});

/// Markdown element counts of one side's answers, in the shape of LMArena's
/// `conv_metadata` (`header_count_a: {h1..h6}`, `list_count_a: {ordered, unordered}`,
/// `bold_count_a: {"**", "__"}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MarkdownCounts {
    /// Headers of level 1 to 6.
    pub headers: [u32; 6],
    pub ordered: u32,
    pub unordered: u32,
    /// `**bold**` spans.
    pub bold_stars: u32,
    /// `__bold__` spans.
    pub bold_underscores: u32,
}

impl MarkdownCounts {
    /// Counts the elements of `text` after removing its code blocks.
    #[must_use]
    pub fn of(text: &str) -> Self {
        let p = &*PATTERNS;
        let prose = remove_code_blocks(text);
        let count = |re: &Regex| u32::try_from(re.find_iter(&prose).count()).unwrap_or(u32::MAX);
        Self {
            headers: std::array::from_fn(|level| count(&p.headers[level])),
            ordered: count(&p.ordered),
            unordered: count(&p.unordered),
            bold_stars: count(&p.bold_stars),
            bold_underscores: count(&p.bold_underscores),
        }
    }

    #[must_use]
    pub fn header_total(&self) -> u32 {
        self.headers.iter().fold(0u32, |a, &h| a.saturating_add(h))
    }

    #[must_use]
    pub fn list_total(&self) -> u32 {
        self.ordered.saturating_add(self.unordered)
    }

    #[must_use]
    pub fn bold_total(&self) -> u32 {
        self.bold_stars.saturating_add(self.bold_underscores)
    }
}

/// The answer with its code blocks' contents deleted, as the reference's `remove_pattern`
/// does: each captured content, in order, removed wherever it occurs.
fn remove_code_blocks(text: &str) -> String {
    let blocks: Vec<&str> = PATTERNS
        .code
        .captures_iter(text)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    let mut out = text.to_string();
    for block in blocks {
        if !block.is_empty() && out.contains(block) {
            out = out.replace(block, "");
        }
    }
    out
}

/// The four style features of one side of a battle, in LMArena's units: answer tokens,
/// Markdown headers, list items and bold spans (each summed over its kinds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Features {
    pub tokens: u32,
    pub headers: u32,
    pub lists: u32,
    pub bold: u32,
}

impl Features {
    /// Number of features, the width of the style part of the model.
    pub const COUNT: usize = 4;
    /// Feature names in the order of [`Self::as_array`] and of the fitted coefficients.
    pub const NAMES: [&'static str; Self::COUNT] = ["tokens", "headers", "lists", "bold"];

    /// The features of one side from all its assistant turns: tokens counted per turn and
    /// summed, Markdown counted on the turns joined by newlines.
    #[must_use]
    pub fn of_answers<'a>(turns: impl IntoIterator<Item = &'a str>) -> Self {
        let turns: Vec<&str> = turns.into_iter().collect();
        let tokens = turns
            .iter()
            .fold(0u32, |acc, t| acc.saturating_add(count_tokens(t)));
        Self::from_counts(tokens, &MarkdownCounts::of(&turns.join("\n")))
    }

    /// The features from a token count and Markdown counts (as imported from
    /// `conv_metadata`).
    #[must_use]
    pub fn from_counts(tokens: u32, md: &MarkdownCounts) -> Self {
        Self {
            tokens,
            headers: md.header_total(),
            lists: md.list_total(),
            bold: md.bold_total(),
        }
    }

    #[must_use]
    pub fn as_array(&self) -> [u32; Self::COUNT] {
        [self.tokens, self.headers, self.lists, self.bold]
    }
}

fn tokenizer() -> &'static CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

/// Length of the text in `cl100k_base` tokens, special tokens read as one token each.
///
/// The tokenizer's pre-split pattern runs on a backtracking engine with a step limit; a
/// text on which it gives up (long runs of unusual whitespace) is tokenized line by line,
/// and a line that still fails counts one token per four bytes, rounded up: a count that
/// must exist for every stored answer matters more here than its last few tokens.
#[must_use]
pub fn count_tokens(text: &str) -> u32 {
    let bpe = tokenizer();
    let special = bpe.special_tokens();
    let whole = |t: &str| bpe.encode(t, &special).ok().map(|(ids, _)| ids.len());
    let n = whole(text).unwrap_or_else(|| {
        text.split_inclusive('\n')
            .map(|line| whole(line).unwrap_or_else(|| line.len().div_ceil(4)))
            .sum()
    });
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_elements_are_counted_as_the_reference_does() {
        let text = "# Title\n## Part\n#NoSpace\n####### seven\n\
                    1. one\n  2. two\n10.ten\n- a\n* b\n+ c\n-no\n---\n\
                    **bold** and __also__ and **not\nclosed** and ****\n";
        let md = MarkdownCounts::of(text);
        assert_eq!(md.headers, [1, 1, 0, 0, 0, 0]);
        assert_eq!((md.ordered, md.unordered), (2, 3));
        // `** and **` between `closed` and `****` is a bold span too.
        assert_eq!((md.bold_stars, md.bold_underscores), (2, 1));
    }

    #[test]
    fn a_header_may_end_its_line_and_list_whitespace_runs_over_blank_lines() {
        // `#\n` is a header (`\s` matches the newline); the blank lines before `1.` are
        // consumed by one match, so the item still counts once.
        let md = MarkdownCounts::of("#\ntext\n\n\n   1. item\n");
        assert_eq!(md.headers[0], 1);
        assert_eq!(md.ordered, 1);
        // The information separators are whitespace to Python.
        assert_eq!(MarkdownCounts::of("-\u{1F}x").unordered, 1);
    }

    #[test]
    fn code_blocks_are_removed_first_with_their_text_elsewhere() {
        let text = "```\n# not a header\n- nor an item\n```\n# Header\n";
        let md = MarkdownCounts::of(text);
        assert_eq!(md.headers[0], 1);
        assert_eq!(md.unordered, 0);
        // The block's text is deleted wherever it occurs, prose included.
        let twice = "```\n**x**\n```\n\n**x**\n**y**";
        assert_eq!(MarkdownCounts::of(twice).bold_stars, 1);
        // A lone fence removes nothing.
        assert_eq!(MarkdownCounts::of("```\n# h\n").headers[0], 1);
    }

    #[test]
    fn tokens_are_cl100k_with_special_tokens_allowed() {
        assert_eq!(count_tokens(""), 0);
        assert_eq!(count_tokens("hello world"), 2);
        assert_eq!(count_tokens("<|endoftext|>"), 1);
        assert_eq!(
            count_tokens("The quick brown fox jumps over the lazy dog."),
            10
        );
    }

    #[test]
    fn features_sum_tokens_per_turn_and_join_turns_for_markdown() {
        let f = Features::of_answers(["# A\nhello world", "- item"]);
        assert_eq!(f.headers, 1);
        assert_eq!(f.lists, 1);
        assert_eq!(
            f.tokens,
            count_tokens("# A\nhello world") + count_tokens("- item")
        );
        assert_eq!(Features::of_answers([]), Features::default());
    }

    /// Every case of `tests/fixtures/style/features_reference.json`, written by
    /// `scripts/reference/style_features.py` from the reference code itself.
    #[test]
    fn features_match_the_reference_scripts() {
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/style/features_reference.json"
        ))
        .expect("fixture");
        let cases = fixture["cases"].as_array().expect("cases");
        assert!(cases.len() > 10);
        for case in cases {
            let turns: Vec<&str> = case["turns"]
                .as_array()
                .expect("turns")
                .iter()
                .map(|t| t.as_str().expect("text"))
                .collect();
            let md = MarkdownCounts::of(&turns.join("\n"));
            let n = |v: &serde_json::Value| u32::try_from(v.as_u64().expect("count")).expect("u32");
            let h = &case["header_count_a"];
            let expected = MarkdownCounts {
                headers: std::array::from_fn(|l| n(&h[format!("h{}", l + 1)])),
                ordered: n(&case["list_count_a"]["ordered"]),
                unordered: n(&case["list_count_a"]["unordered"]),
                bold_stars: n(&case["bold_count_a"]["**"]),
                bold_underscores: n(&case["bold_count_a"]["__"]),
            };
            assert_eq!(md, expected, "{turns:?}");
            let f = Features::of_answers(turns.iter().copied());
            assert_eq!(f.tokens, n(&case["tokens"]), "{turns:?}");
        }
    }

    #[test]
    fn pathological_whitespace_still_gets_a_count() {
        let text = format!("a{}b", "\u{2003}\t".repeat(50_000));
        assert!(count_tokens(&text) > 0);
    }
}
