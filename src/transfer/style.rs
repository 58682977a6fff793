//! The style features and categories an imported battle record brings: from LMArena's
//! `conv_metadata` (the 140k release's shape: `sum_assistant_a_tokens`, `header_count_a`
//! `{h1..h6}`, `list_count_a` `{ordered, unordered}`, `bold_count_a` `{"**", "__"}`, and the
//! `_b` ones; a count may also be one number, as in flattened CSV columns), else counted from
//! `conversation_a` / `conversation_b`; categories from the conversation, with the record's
//! own `language` and `category_tag` kept as they are.
//!
//! `category_tag` is kept by its names: every boolean that is true, at the top or one level
//! down (`{"math_v0.1": {"math": true}}` gives `math`), and a string or a list of strings
//! as such; LMArena's `hard_prompt` is added when at least 6 of the 7 `criteria_v0.1`
//! criteria are true, as its boards define it. `is_code: true` gives `coding`.

use serde_json::Value;

use crate::rating::category::{self, Conversation};
use crate::rating::style::Features;
use crate::store::VoteStyle;

/// The fields of a record this module reads.
#[derive(Debug, Default)]
pub struct StyleFields<'a> {
    pub conversation_a: Option<&'a Value>,
    pub conversation_b: Option<&'a Value>,
    pub conv_metadata: Option<&'a Value>,
    /// Top-level counts, by their `conv_metadata` names (flattened logs, CSV columns).
    pub flat: &'a [(&'a str, Option<f64>)],
    pub language: Option<&'a str>,
    pub category_tag: Option<&'a Value>,
    pub is_code: Option<bool>,
}

/// The `conv_metadata` names of the counts, side a then side b.
pub const COUNT_FIELDS: [&str; 8] = [
    "sum_assistant_a_tokens",
    "header_count_a",
    "list_count_a",
    "bold_count_a",
    "sum_assistant_b_tokens",
    "header_count_b",
    "list_count_b",
    "bold_count_b",
];

/// A count: a number, or an object whose numbers are summed (`{h1: 2, h2: 1}`).
fn count(v: &Value) -> Option<u32> {
    let clamp = |x: f64| {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        (x.is_finite() && x >= 0.0).then(|| x.min(f64::from(u32::MAX)).round() as u32)
    };
    match v {
        Value::Number(n) => n.as_f64().and_then(clamp),
        Value::Object(m) => m
            .values()
            .map(count)
            .try_fold(0u32, |acc, c| Some(acc.saturating_add(c?))),
        _ => None,
    }
}

fn features_of(counts: [Option<u32>; 8]) -> Option<(Features, Features)> {
    let c: Vec<u32> = counts.into_iter().collect::<Option<_>>()?;
    let side = |o: usize| Features {
        tokens: c[o],
        headers: c[o + 1],
        lists: c[o + 2],
        bold: c[o + 3],
    };
    Some((side(0), side(4)))
}

/// The features in `conv_metadata`, when it holds all eight counts.
#[must_use]
pub fn features_of_metadata(meta: &Value) -> Option<(Features, Features)> {
    features_of(COUNT_FIELDS.map(|f| meta.get(f).and_then(count)))
}

/// The text of a turn's content: a string, or the `text` of its parts.
fn text_of(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.as_str()),
                    other => other.get("text").and_then(Value::as_str),
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

/// The texts of the turns of `role` in a conversation.
fn turns(conv: Option<&Value>, role: &str) -> Vec<String> {
    conv.and_then(Value::as_array)
        .map(|turns| {
            turns
                .iter()
                .filter(|t| t.get("role").and_then(Value::as_str) == Some(role))
                .filter_map(|t| t.get("content").and_then(text_of))
                .collect()
        })
        .unwrap_or_default()
}

/// The categories a `category_tag` names.
#[must_use]
pub fn categories_of_tag(tag: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match tag {
        Value::String(s) => out.extend(
            s.split([',', ';'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        ),
        Value::Array(items) => {
            out.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
        }
        Value::Object(groups) => {
            for (name, value) in groups {
                match value {
                    Value::Bool(true) => out.push(name.clone()),
                    Value::Object(inner) => {
                        for (k, v) in inner {
                            if v == &Value::Bool(true) {
                                out.push(k.clone());
                            }
                        }
                        if name.starts_with("criteria") {
                            let met = inner.values().filter(|v| **v == Value::Bool(true)).count();
                            if met >= 6 {
                                out.push("hard_prompt".to_owned());
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// What an imported record brings (see the module docs).
#[must_use]
pub fn style_of(f: &StyleFields<'_>) -> VoteStyle {
    let user = turns(f.conversation_a, "user");
    let a = turns(f.conversation_a, "assistant");
    let b = turns(f.conversation_b, "assistant");
    let has_conversation = !(user.is_empty() && a.is_empty() && b.is_empty());
    let features = f
        .conv_metadata
        .and_then(features_of_metadata)
        .or_else(|| {
            let flat = |name: &str| {
                f.flat
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| *v)
                    .and_then(|x| count(&serde_json::json!(x)))
            };
            features_of(COUNT_FIELDS.map(flat))
        })
        .or_else(|| {
            has_conversation.then(|| {
                (
                    Features::of_answers(a.iter().map(String::as_str)),
                    Features::of_answers(b.iter().map(String::as_str)),
                )
            })
        });
    let mut categories = Vec::new();
    if has_conversation {
        let user: Vec<&str> = user.iter().map(String::as_str).collect();
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let c = Conversation {
            user: &user,
            answers_a: &a,
            answers_b: &b,
        };
        if user.len() >= 2 {
            categories.push(category::MULTITURN.to_owned());
        }
        if category::is_long_query(&user) {
            categories.push(category::LONG_QUERY.to_owned());
        }
        if category::is_coding(&c) {
            categories.push(category::CODING.to_owned());
        }
        if f.language.is_none() {
            categories.push(format!(
                "{}{}",
                category::LANGUAGE_PREFIX,
                category::language(&c).unwrap_or(category::UNKNOWN_LANGUAGE)
            ));
        }
    }
    if let Some(lang) = f.language.map(str::trim).filter(|l| !l.is_empty()) {
        categories.push(format!("{}{lang}", category::LANGUAGE_PREFIX));
    }
    if f.is_code == Some(true) {
        categories.push(category::CODING.to_owned());
    }
    if let Some(tag) = f.category_tag {
        categories.extend(categories_of_tag(tag));
    }
    categories.sort();
    categories.dedup();
    VoteStyle {
        features,
        categories,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_counts_are_summed_by_kind() {
        let meta = json!({
            "sum_assistant_a_tokens": 120, "sum_assistant_b_tokens": 80,
            "header_count_a": {"h1": 1, "h2": 2, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "header_count_b": {"h1": 0, "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "list_count_a": {"ordered": 3, "unordered": 4},
            "list_count_b": {"ordered": 0, "unordered": 1},
            "bold_count_a": {"**": 2, "__": 1},
            "bold_count_b": {"**": 0, "__": 0},
        });
        let (a, b) = features_of_metadata(&meta).expect("all counts");
        assert_eq!(a.as_array(), [120, 3, 7, 3]);
        assert_eq!(b.as_array(), [80, 0, 1, 0]);
        assert_eq!(
            features_of_metadata(&json!({"sum_assistant_a_tokens": 1})),
            None
        );
    }

    #[test]
    fn category_tags_are_kept_by_name_with_hard_prompts() {
        let tag = json!({
            "criteria_v0.1": {"complexity": true, "creativity": true, "domain_knowledge": true,
                "problem_solving": true, "real_world": true, "specificity": true,
                "technical_accuracy": false},
            "math_v0.1": {"math": true},
            "if_v0.1": {"if": false, "score": 2},
        });
        let c = categories_of_tag(&tag);
        assert!(c.contains(&"hard_prompt".to_owned()));
        assert!(c.contains(&"math".to_owned()));
        assert!(!c.contains(&"if".to_owned()));
        assert_eq!(
            categories_of_tag(&json!("coding, math")),
            ["coding", "math"]
        );
    }

    #[test]
    fn a_record_keeps_its_language_and_counts_its_conversation() {
        let conv_a = json!([{"role": "user", "content": "Write `x = f(y)` in Rust"},
                            {"role": "assistant", "content": [{"type": "text", "text": "# Sure\n- one"}]}]);
        let conv_b = json!([{"role": "user", "content": "Write `x = f(y)` in Rust"},
                            {"role": "assistant", "content": "ok"}]);
        let s = style_of(&StyleFields {
            conversation_a: Some(&conv_a),
            conversation_b: Some(&conv_b),
            language: Some("English"),
            ..StyleFields::default()
        });
        let (a, b) = s.features.expect("features");
        assert_eq!((a.headers, a.lists, b.headers), (1, 1, 0));
        assert_eq!(s.categories, ["coding", "language:English"]);
    }
}
