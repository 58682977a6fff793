//! A message's content: its text parts read and replaced, raw (as the client sent them) or as
//! `Value`s, and the size of its attachments. Uses the JSON text helpers of [`super::raw`].

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::message::Message;
use super::raw::{each_element, member};

/// A content part, read from its text without copying: only the fields arena looks at.
#[derive(Deserialize, Default)]
struct Part<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    image_url: Option<&'a RawValue>,
    #[serde(borrow, default)]
    file: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input_audio: Option<&'a RawValue>,
}

impl<'a> Part<'a> {
    fn read(raw: &'a RawValue) -> Part<'a> {
        if raw.get().starts_with('{') {
            serde_json::from_str(raw.get()).unwrap_or_default()
        } else {
            Part::default()
        }
    }
}

/// Whether a content part is text: a string, or `{"type": "text", ...}`.
pub(super) fn is_text_part(part: &RawValue) -> bool {
    part.get().starts_with('"') || Part::read(part).kind.is_some_and(|k| k.get() == "\"text\"")
}

/// The text of a content part, if it is a text part.
fn part_text(part: &RawValue) -> Option<String> {
    if part.get().starts_with('"') {
        return serde_json::from_str(part.get()).ok();
    }
    let p = Part::read(part);
    if p.kind.is_some_and(|k| k.get() == "\"text\"") {
        p.text.and_then(|t| serde_json::from_str(t.get()).ok())
    } else {
        None
    }
}

/// The text of a raw content: the string itself, or its text parts joined by newlines.
#[must_use]
pub fn raw_text(content: &RawValue) -> String {
    let text = content.get();
    if text.starts_with('"') {
        return serde_json::from_str(text).unwrap_or_default();
    }
    let mut parts = Vec::new();
    each_element(text, |p| parts.extend(part_text(p)));
    parts.join("\n")
}

/// A raw list of parts whose text is `text`: the first text part takes it (the other text
/// parts are dropped), and the other parts (images, files) stay as they are.
pub(super) fn with_text(parts: &str, text: &str) -> Option<Box<RawValue>> {
    let new_part = json!({"type": "text", "text": text}).to_string();
    let mut out = String::with_capacity(parts.len() + new_part.len());
    out.push('[');
    let mut placed = false;
    let mut first = true;
    each_element(parts, |p| {
        let piece = if is_text_part(p) {
            if placed {
                return;
            }
            placed = true;
            new_part.as_str()
        } else {
            p.get()
        };
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(piece);
    });
    if !placed {
        out.insert_str(1, &new_part);
        if !first {
            out.insert(1 + new_part.len(), ',');
        }
    }
    out.push(']');
    RawValue::from_string(out).ok()
}

/// The text of a message's content: the string itself, or its text parts joined by newlines.
#[must_use]
pub fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.as_str()),
                Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("text") => {
                    o.get("text").and_then(Value::as_str)
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Replaces the text of a content with `text`: a string content becomes `text`; in a list of
/// parts the first text part takes it (others are dropped), and the other parts (images,
/// files) stay as they are.
pub fn set_text(content: &mut Value, text: &str) {
    match content {
        Value::Array(parts) => {
            let mut first = true;
            parts.retain_mut(|p| {
                let is_text = matches!(p, Value::String(_))
                    || p.get("type").and_then(Value::as_str) == Some("text");
                if !is_text {
                    return true;
                }
                if first {
                    first = false;
                    *p = json!({"type": "text", "text": text});
                    true
                } else {
                    false
                }
            });
            if first {
                parts.insert(0, json!({"type": "text", "text": text}));
            }
        }
        other => *other = Value::String(text.to_owned()),
    }
}

/// The largest attachment in `messages`, in bytes: the decoded size of `data:` URLs in
/// image, file or audio parts (links are not fetched, so they count for their length only).
#[must_use]
pub fn largest_attachment(messages: &[Message]) -> usize {
    let mut largest = 0;
    for m in messages {
        let Some(content) = m.content.as_deref() else {
            continue;
        };
        each_element(content.get(), |p| {
            let part = Part::read(p);
            let url = part
                .image_url
                .map(|u| {
                    if u.get().starts_with('{') {
                        member(u.get(), "url").unwrap_or(u)
                    } else {
                        u
                    }
                })
                .or_else(|| part.file.and_then(|f| member(f.get(), "file_data")))
                .or_else(|| part.input_audio.and_then(|a| member(a.get(), "data")));
            if let Some(url) = url.map(RawValue::get).filter(|u| u.starts_with('"')) {
                let data = url.split_once(";base64,").map_or(url, |(_, d)| d);
                largest = largest.max(data.len().saturating_sub(1) / 4 * 3);
            }
        });
    }
    largest
}
