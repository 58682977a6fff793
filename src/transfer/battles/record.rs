//! One JSON record, whichever reader found it (an element of a JSON array, a line of JSON
//! Lines): read with its fields renamed by the mapping, its conversations, ids and style
//! taken out, then handed to the rows.
//!
//! Depends on the shared rows ([`super::rows`]), `transfer::style` and the parent's mapping
//! and skips; not on any reader.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use super::FIELDS;
use super::rows::{Builder, Extra, left_out_of};
use crate::battle::VoteFlags;

#[derive(Debug, Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    model_a: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model_b: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    winner: Option<Cow<'a, str>>,
    #[serde(default)]
    tstamp: Option<f64>,
    #[serde(borrow, default)]
    judge: Option<Cow<'a, str>>,
    #[serde(default)]
    conversation_a: Option<Value>,
    #[serde(default)]
    conversation_b: Option<Value>,
    #[serde(default)]
    question_id: Option<Value>,
    #[serde(borrow, default)]
    battle_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    vote_id: Option<Cow<'a, str>>,
    /// Ours: why the vote is left out of the ratings, a list of reasons (or one string).
    #[serde(default)]
    left_out: Option<Value>,
    #[serde(default)]
    conv_metadata: Option<Value>,
    #[serde(default)]
    category_tag: Option<Value>,
    #[serde(default)]
    language: Option<Value>,
    #[serde(default)]
    is_code: Option<Value>,
    #[serde(default)]
    sum_assistant_a_tokens: Option<Value>,
    #[serde(default)]
    header_count_a: Option<Value>,
    #[serde(default)]
    list_count_a: Option<Value>,
    #[serde(default)]
    bold_count_a: Option<Value>,
    #[serde(default)]
    sum_assistant_b_tokens: Option<Value>,
    #[serde(default)]
    header_count_b: Option<Value>,
    #[serde(default)]
    list_count_b: Option<Value>,
    #[serde(default)]
    bold_count_b: Option<Value>,
}

impl Builder {
    /// One JSON record: a row, or a skip with its reason.
    pub(super) fn push_json(&mut self, number: u64, text: &[u8]) {
        if std::str::from_utf8(text).is_err() {
            self.skips.add("the record is not valid UTF-8", number);
            return;
        }
        let renamed;
        let text = if self.mapping.is_identity() {
            text
        } else {
            match self.renamed_json(text) {
                Ok(r) => {
                    renamed = r;
                    renamed.as_slice()
                }
                Err(e) => {
                    self.skips.add(json_skip(&e), number);
                    return;
                }
            }
        };
        match serde_json::from_slice::<Raw<'_>>(text) {
            Ok(raw) if raw.model_a.is_none() && raw.model_b.is_none() => {
                // Records wrapped in another object, such as {"battles": [...]}?
                let wrapper = serde_json::from_slice::<serde_json::Map<String, Value>>(text)
                    .ok()
                    .and_then(|m| {
                        m.into_iter()
                            .find(|(_, v)| v.as_array().is_some_and(|a| !a.is_empty()))
                            .map(|(k, _)| k)
                    });
                match wrapper {
                    Some(key) => self.skips.add(
                        &format!(
                            "an object holding a list under `{key}`, not a record: for JSON \
                             Lines of its records use jq -c '.{key}[]'"
                        ),
                        number,
                    ),
                    None => self.skips.add("missing model_a or model_b", number),
                }
            }
            Ok(raw) => {
                let extra = Extra::of(&raw);
                self.push(
                    number,
                    raw.model_a.as_deref(),
                    raw.model_b.as_deref(),
                    raw.winner.as_deref(),
                    extra,
                );
            }
            Err(e) => self.skips.add(json_skip(&e), number),
        }
    }

    /// A record whose fields go by other names, with our names.
    fn renamed_json(&self, text: &[u8]) -> serde_json::Result<Vec<u8>> {
        let mut object: serde_json::Map<String, Value> = serde_json::from_slice(text)?;
        let mut renamed = serde_json::Map::new();
        for field in FIELDS {
            if let Some(v) = object.remove(self.mapping.name(field)) {
                renamed.insert(field.to_owned(), v);
            }
        }
        for field in ["conversation_a", "conversation_b"]
            .into_iter()
            .chain(STYLE_FIELDS)
            .chain(crate::transfer::style::COUNT_FIELDS)
        {
            if let Some(v) = object.remove(field) {
                renamed.insert(field.to_owned(), v);
            }
        }
        serde_json::to_vec(&Value::Object(renamed))
    }
}

impl Extra {
    fn of(raw: &Raw<'_>) -> Self {
        let text = |v: &Option<Value>| match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let turn = |conv: &Option<Value>, role: &str, first: bool| -> Option<String> {
            let turns = conv.as_ref()?.as_array()?;
            let mut it = turns
                .iter()
                .filter(|t| t.get("role").and_then(Value::as_str) == Some(role))
                .filter_map(|t| t.get("content").and_then(Value::as_str));
            let found = if first { it.next() } else { it.next_back() };
            found.map(str::to_owned)
        };
        Extra {
            judge: raw.judge.as_deref().map(str::to_owned),
            prompt: turn(&raw.conversation_a, "user", true),
            response_a: turn(&raw.conversation_a, "assistant", false),
            response_b: turn(&raw.conversation_b, "assistant", false),
            battle_id: raw
                .battle_id
                .as_deref()
                .and_then(|s| uuid::Uuid::parse_str(s).ok()),
            battle_text: raw.battle_id.as_deref().map(str::to_owned),
            vote_id: raw.vote_id.as_deref().map(str::to_owned),
            question_id: text(&raw.question_id),
            left_out: match &raw.left_out {
                None | Some(Value::Null) => Ok(VoteFlags::NONE),
                Some(Value::String(s)) => left_out_of([s]),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().ok_or(()))
                    .collect::<Result<Vec<_>, ()>>()
                    .and_then(left_out_of),
                Some(_) => Err(()),
            },
            style: style_of_raw(raw),
            ..Extra::default()
        }
        .with_keys(raw.tstamp)
    }
}

/// Fields of a record, besides the conversations and the counts, that say its categories.
const STYLE_FIELDS: [&str; 4] = ["conv_metadata", "category_tag", "language", "is_code"];

/// The style features and categories a JSON record brings.
fn style_of_raw(raw: &Raw<'_>) -> crate::store::VoteStyle {
    // Nested counts at the top level (a record flattened one level) count as metadata.
    let top = serde_json::json!({
        "sum_assistant_a_tokens": raw.sum_assistant_a_tokens,
        "header_count_a": raw.header_count_a,
        "list_count_a": raw.list_count_a,
        "bold_count_a": raw.bold_count_a,
        "sum_assistant_b_tokens": raw.sum_assistant_b_tokens,
        "header_count_b": raw.header_count_b,
        "list_count_b": raw.list_count_b,
        "bold_count_b": raw.bold_count_b,
    });
    let meta = raw
        .conv_metadata
        .as_ref()
        .filter(|m| crate::transfer::style::features_of_metadata(m).is_some())
        .or_else(|| crate::transfer::style::features_of_metadata(&top).map(|_| &top));
    crate::transfer::style::style_of(&crate::transfer::style::StyleFields {
        conversation_a: raw.conversation_a.as_ref(),
        conversation_b: raw.conversation_b.as_ref(),
        conv_metadata: meta,
        flat: &[],
        language: raw.language.as_ref().and_then(Value::as_str),
        category_tag: raw.category_tag.as_ref(),
        is_code: raw.is_code.as_ref().and_then(Value::as_bool),
    })
}

/// The skip reason for a record serde could not read: broken JSON, or a field of the
/// wrong type.
fn json_skip(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Data => {
            "a field has the wrong type (model_a, model_b, winner and judge are strings; tstamp a number)"
        }
        _ => "not a JSON object",
    }
}
