//! Categories of a battle computed from its text alone: `multiturn`, `long_query`, `coding`
//! and `language:<code>`, the rule-based ones of LMArena's category boards. (Its
//! LLM-classified categories, such as hard prompts or math, need a classifier model and
//! are not here.)
//!
//! * `multiturn`: at least two user turns.
//! * `long_query`: the user turns together hold at least 500 `cl100k_base` tokens, counted
//!   per turn as the style features count answer tokens.
//! * `coding`: LMArena's own code detector is not public, so the rule is ours, stated
//!   here so that it can be checked: the battle involves code when a user turn or an answer
//!   holds a fenced code block (a line starting with three backticks or tildes), or a user
//!   turn holds an inline code span with code punctuation in it (`` `x = f(y)` ``, not
//!   `` `word` ``), or at least two of the user's lines look like code. A line looks like
//!   code when, indentation aside, it starts with a statement keyword of a common language
//!   followed by a space, `(` or `:` (`def`, `class`, `import`, `#include`, `SELECT`, …), it
//!   ends with `{`, it is a closing `}` (with `)` or `;`), or it ends with `;` and holds `(`
//!   or `=`. Prose with semicolons, a lone keyword-like word or one stray brace is not code.
//! * `language:<code>`: the language of the user's turns by `whatlang`, as an ISO 639-1
//!   code where one exists (`en`, `zh`, `fa`; ISO 639-3 otherwise). `whatlang` counts
//!   trigrams and often misreads a short prompt (a one-line English question may come out as
//!   Afrikaans, with a low confidence), so when its guess on the user's text is not
//!   reliable the answers are added to the text (models answer in the user's language, at
//!   length); when that is not reliable either, the category is `language:unknown`.

use std::sync::LazyLock;

use regex::Regex;

use super::style::count_tokens;

pub const MULTITURN: &str = "multiturn";
pub const LONG_QUERY: &str = "long_query";
pub const CODING: &str = "coding";
/// Prefix of the language categories.
pub const LANGUAGE_PREFIX: &str = "language:";
/// Code used when no language is detected reliably.
pub const UNKNOWN_LANGUAGE: &str = "unknown";
/// Fewest user tokens of a long query.
pub const LONG_QUERY_TOKENS: u32 = 500;

/// The text of a battle: the user's turns and each side's answers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Conversation<'a> {
    pub user: &'a [&'a str],
    pub answers_a: &'a [&'a str],
    pub answers_b: &'a [&'a str],
}

/// The categories of a battle, sorted by name.
#[must_use]
pub fn categories(c: &Conversation) -> Vec<String> {
    let mut out = Vec::new();
    if c.user.len() >= 2 {
        out.push(MULTITURN.to_string());
    }
    if is_long_query(c.user) {
        out.push(LONG_QUERY.to_string());
    }
    if is_coding(c) {
        out.push(CODING.to_string());
    }
    out.push(format!(
        "{LANGUAGE_PREFIX}{}",
        language(c).unwrap_or(UNKNOWN_LANGUAGE)
    ));
    out.sort();
    out
}

/// At least [`LONG_QUERY_TOKENS`] tokens over all user turns.
#[must_use]
pub fn is_long_query(user: &[&str]) -> bool {
    let mut total = 0u32;
    for turn in user {
        total = total.saturating_add(count_tokens(turn));
        if total >= LONG_QUERY_TOKENS {
            return true;
        }
    }
    false
}

struct Patterns {
    fence: Regex,
    inline: Regex,
    keyword: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("a fixed pattern compiles");
    Patterns {
        fence: re(r"(?m)^[ \t]*(```|~~~)"),
        inline: re(r"`[^`\n]*[(){}\[\];=<>][^`\n]*`"),
        keyword: re(concat!(
            r"^(?:def|class|import|from\s+\S+\s+import|return|elif|else:|try:|except|",
            r"#include|#define|#import|using|namespace|package|func|fn|pub|impl|struct|enum|",
            r"function|const|let|var|public|private|protected|static|void|int|char|",
            r"console\.log|print|printf|System\.out|echo|SELECT|INSERT|UPDATE|DELETE|CREATE|",
            r"ALTER|DROP|<\?php|<!DOCTYPE|<html|<div|<script|@media|#!/)(?:\s|\(|:|$)",
        )),
    }
});

/// Whether the battle involves code (the rule is in the module docs).
#[must_use]
pub fn is_coding(c: &Conversation) -> bool {
    let p = &*PATTERNS;
    let fenced = |t: &&str| p.fence.is_match(t);
    if c.user.iter().any(fenced) || c.answers_a.iter().any(fenced) || c.answers_b.iter().any(fenced)
    {
        return true;
    }
    if c.user.iter().any(|t| p.inline.is_match(t)) {
        return true;
    }
    c.user
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| looks_like_code(l))
        .take(2)
        .count()
        >= 2
}

fn looks_like_code(line: &str) -> bool {
    let l = line.trim();
    if l.is_empty() {
        return false;
    }
    if PATTERNS.keyword.is_match(l) || l.ends_with('{') {
        return true;
    }
    if matches!(l, "}" | "};" | "})" | "});" | ")" | ");") {
        return true;
    }
    l.ends_with(';') && (l.contains('(') || l.contains('='))
}

/// The language of the user's turns as a code (see the module docs), `None` when the
/// detection is not reliable.
#[must_use]
pub fn language(c: &Conversation) -> Option<&'static str> {
    let reliable = |text: &str| {
        whatlang::detect(text)
            .filter(whatlang::Info::is_reliable)
            .map(|info| iso_639_1(info.lang()))
    };
    let user = c.user.join("\n");
    reliable(&user).or_else(|| {
        if c.answers_a.is_empty() && c.answers_b.is_empty() {
            return None;
        }
        let mut all = user.clone();
        for answer in c.answers_a.iter().chain(c.answers_b) {
            all.push('\n');
            all.push_str(answer);
        }
        reliable(&all)
    })
}

/// The two-letter code of a language `whatlang` knows, or its three-letter code.
fn iso_639_1(lang: whatlang::Lang) -> &'static str {
    let code = lang.code();
    const TABLE: [(&str, &str); 69] = [
        ("afr", "af"),
        ("aka", "ak"),
        ("amh", "am"),
        ("ara", "ar"),
        ("aze", "az"),
        ("bel", "be"),
        ("ben", "bn"),
        ("bul", "bg"),
        ("cat", "ca"),
        ("ces", "cs"),
        ("cmn", "zh"),
        ("cym", "cy"),
        ("dan", "da"),
        ("deu", "de"),
        ("ell", "el"),
        ("eng", "en"),
        ("epo", "eo"),
        ("est", "et"),
        ("fin", "fi"),
        ("fra", "fr"),
        ("guj", "gu"),
        ("heb", "he"),
        ("hin", "hi"),
        ("hrv", "hr"),
        ("hun", "hu"),
        ("hye", "hy"),
        ("ind", "id"),
        ("ita", "it"),
        ("jav", "jv"),
        ("jpn", "ja"),
        ("kan", "kn"),
        ("kat", "ka"),
        ("khm", "km"),
        ("kor", "ko"),
        ("lat", "la"),
        ("lav", "lv"),
        ("lit", "lt"),
        ("mal", "ml"),
        ("mar", "mr"),
        ("mkd", "mk"),
        ("mya", "my"),
        ("nep", "ne"),
        ("nld", "nl"),
        ("nob", "nb"),
        ("ori", "or"),
        ("pan", "pa"),
        ("pes", "fa"),
        ("pol", "pl"),
        ("por", "pt"),
        ("ron", "ro"),
        ("rus", "ru"),
        ("sin", "si"),
        ("slk", "sk"),
        ("slv", "sl"),
        ("sna", "sn"),
        ("spa", "es"),
        ("srp", "sr"),
        ("swe", "sv"),
        ("tam", "ta"),
        ("tel", "te"),
        ("tgl", "tl"),
        ("tha", "th"),
        ("tuk", "tk"),
        ("tur", "tr"),
        ("ukr", "uk"),
        ("urd", "ur"),
        ("uzb", "uz"),
        ("vie", "vi"),
        ("zul", "zu"),
    ];
    TABLE
        .iter()
        .find(|(three, _)| *three == code)
        .map_or(code, |(_, two)| two)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv<'a>(user: &'a [&'a str]) -> Conversation<'a> {
        Conversation {
            user,
            answers_a: &[],
            answers_b: &[],
        }
    }

    #[test]
    fn multiturn_needs_two_user_turns() {
        let one = categories(&conv(&["What is the capital of France?"]));
        assert!(!one.contains(&MULTITURN.to_string()));
        let two = categories(&conv(&["Hello there, how are you today?", "And tomorrow?"]));
        assert!(two.contains(&MULTITURN.to_string()));
    }

    #[test]
    fn a_long_query_has_500_user_tokens_over_all_turns() {
        // "word " is one token; 499 of them and a final one make 500.
        let short = "word ".repeat(499);
        assert!(!is_long_query(&[short.trim_end()]));
        let long = "word ".repeat(500);
        assert!(is_long_query(&[long.trim_end()]));
        let half = "word ".repeat(250);
        assert!(is_long_query(&[half.as_str(), half.as_str()]));
    }

    #[test]
    fn coding_is_a_fence_an_inline_span_with_code_or_two_code_lines() {
        let code = |user: &[&str]| is_coding(&conv(user));
        assert!(code(&["Fix this:\n```\nx = 1\n```"]));
        assert!(code(&["Why does `x = f(y)` fail?"]));
        assert!(code(&["def f(x):\n    return x + 1\nwhat is wrong?"]));
        assert!(code(&["int main() {\n  printf(\"hi\");\n}"]));
        assert!(code(&["SELECT name FROM users;\nDELETE FROM users;"]));
        // Prose with semicolons, a word in backticks, one keyword-like line: not code.
        assert!(!code(&["Buy apples; buy pears;\nthen go home; rest."]));
        assert!(!code(&["What does the word `serendipity` mean?"]));
        assert!(!code(&["Print this letter for me, please."]));
        assert!(!code(&["Write a poem about the sea."]));
        // A fenced block in an answer counts too.
        let c = Conversation {
            user: &["How do I reverse a list in Python?"],
            answers_a: &["Use slicing:\n\n```python\nxs[::-1]\n```"],
            answers_b: &["Call reversed() on it."],
        };
        assert!(is_coding(&c));
    }

    #[test]
    fn the_language_is_detected_from_the_prompt_then_the_answers() {
        assert_eq!(
            language(&conv(&["What is the capital of France?"])),
            Some("en")
        );
        assert_eq!(
            language(&conv(&["请详细解释一下植物的光合作用是如何进行的。"])),
            Some("zh")
        );
        assert_eq!(
            language(&conv(&["¿Cuál es la capital de Francia?"])),
            Some("es")
        );
        // Too short to tell alone (whatlang's guess is Afrikaans, unreliable) ...
        let prompt = ["Please explain how photosynthesis works in green plants."];
        assert_eq!(language(&conv(&prompt)), None);
        assert_eq!(
            categories(&conv(&prompt)),
            vec!["language:unknown".to_string()]
        );
        // ... but the answers settle it.
        let c = Conversation {
            user: &prompt,
            answers_a: &[
                "Photosynthesis is the process by which green plants use sunlight, \
                          water and carbon dioxide to make glucose and release oxygen.",
            ],
            answers_b: &[
                "Plants capture light energy with chlorophyll in their leaves and \
                          turn it into chemical energy stored in sugars.",
            ],
        };
        assert_eq!(language(&c), Some("en"));
        let ru = Conversation {
            user: &["Напиши стихотворение о море."],
            answers_a: &[
                "Волны шепчут берегу свои старые сказки, и ветер поёт над водой \
                          о далёких странах и кораблях.",
            ],
            answers_b: &[],
        };
        assert_eq!(language(&ru), Some("ru"));
    }
}
