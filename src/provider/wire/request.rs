//! A request body read leniently ([`RequestBody`]): the fields arena reads kept apart, the
//! rest as the client wrote it, the [`DROPPED`] ones out, and the body an upstream gets.
//! Uses the messages ([`super::message`]) and the JSON text helpers ([`super::raw`]).

use std::collections::BTreeSet;

use serde::de::{self, DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::message::{Message, MessageSeed};
use super::raw::{Key, Members, each_member, inner, member, push_json, push_key, without};

/// The most messages one request may carry (as many as Anthropic's API takes): a bound on
/// what a body of many tiny messages costs beyond its text.
pub const MAX_MESSAGES: usize = 100_000;

/// The deepest nesting of arrays and objects a body may have: serde_json's own limit, which
/// the upstream's parser may not survive beyond.
pub const MAX_DEPTH: usize = 128;

/// Fields a client may not send upstream: each would redirect the request (`api_base`,
/// `base_url`) or authenticate it (`api_key`, `headers`, `extra_headers`) at an upstream
/// that is a proxy itself, such as LiteLLM. Also taken out of `extra_body`.
pub const DROPPED: [&str; 5] = [
    "api_base",
    "base_url",
    "api_key",
    "headers",
    "extra_headers",
];

/// Top-level fields kept apart from the rest, because arena reads them: the proxy, and the
/// in-chat battle commands (`rpid`, `start_models`, ...).
const KNOWN: [&str; 15] = [
    "model",
    "stream",
    "stream_options",
    "n",
    "user",
    "safety_identifier",
    "strict",
    "extra_body",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "rpid",
    "start_models",
    "battle_models",
    "win_models",
];
const MODEL: usize = 0;
const STREAM: usize = 1;

/// The fields that limit an answer's length: a client's one replaces the model's `params`.
const TOKEN_LIMITS: [&str; 2] = ["max_tokens", "max_completion_tokens"];

/// Why a body is not a request: the message, and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    pub message: String,
    pub param: Option<&'static str>,
}

impl BodyError {
    fn new(param: Option<&'static str>, message: impl Into<String>) -> Self {
        BodyError {
            message: message.into(),
            param,
        }
    }
}

/// A request body (chat, legacy completions, images): see the module's notes.
#[derive(Debug, Clone, Default)]
pub struct RequestBody {
    known: [Option<Box<RawValue>>; KNOWN.len()],
    /// Every other field as the client sent it: a JSON object's text, or empty for none.
    rest: String,
    /// The chat messages (read only for chat bodies; elsewhere `messages` is another field).
    pub messages: Option<Vec<Message>>,
    /// The [`DROPPED`] fields the client had sent.
    pub dropped: Vec<&'static str>,
}

impl RequestBody {
    /// Reads a body; `chat` reads its `messages` too. A body that is not a JSON object, is
    /// nested deeper than [`MAX_DEPTH`], or has messages that are not an array of objects
    /// with a `role` (at most [`MAX_MESSAGES`]) is an error that says so.
    pub fn parse(bytes: &[u8], chat: bool) -> Result<RequestBody, BodyError> {
        if let Some(at) = too_deep(bytes, MAX_DEPTH) {
            return Err(BodyError::new(
                None,
                format!("the body is nested more than {MAX_DEPTH} levels deep (at byte {at})"),
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = serde::Deserializer::deserialize_map(&mut de, BodyVisitor { chat })
            .and_then(|body| de.end().map(|()| body));
        match parsed {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(e)) => Err(e),
            Err(e) if e.classify() == serde_json::error::Category::Data => Err(BodyError::new(
                None,
                format!("the body must be a JSON object ({e})"),
            )),
            Err(e) => Err(BodyError::new(
                None,
                format!("the body is not valid JSON: {e}"),
            )),
        }
    }

    /// A field as the client sent it (the last, if it came twice).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&RawValue> {
        match KNOWN.iter().position(|k| *k == name) {
            Some(i) => self.known[i].as_deref(),
            None => member(&self.rest, name),
        }
    }

    /// A field read as `T`; `None` when it is absent or of another type.
    #[must_use]
    pub fn value<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.get(name)
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// A field read as `T` from `extra_body` (where the OpenAI SDKs' `extra_body` lands
    /// when a client sends it as such).
    #[must_use]
    pub fn extra_body_value<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.nested_value("extra_body", name)
    }

    /// The field `name` of the object field `object`, read as `T`.
    #[must_use]
    pub fn nested_value<T: DeserializeOwned>(&self, object: &str, name: &str) -> Option<T> {
        self.get(object)
            .and_then(|o| member(o.get(), name))
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// Whether the client sent the field.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets a field to `value`, in place of what the client sent.
    pub fn set(&mut self, name: &str, value: &Value) {
        let Ok(raw) = serde_json::value::to_raw_value(value) else {
            return;
        };
        match KNOWN.iter().position(|k| *k == name) {
            Some(i) => self.known[i] = Some(raw),
            None => {
                self.remove(name);
                let mut rest = Members::reopen(std::mem::take(&mut self.rest));
                rest.push(name, raw.get());
                self.rest = rest.finish();
            }
        }
    }

    /// Takes a field out.
    pub fn remove(&mut self, name: &str) {
        if let Some(i) = KNOWN.iter().position(|k| *k == name) {
            self.known[i] = None;
        } else if member(&self.rest, name).is_some() {
            self.rest = without(&self.rest, |k| k == name);
        }
    }

    /// The body an upstream gets: `model` the upstream's id, `stream` as given (none: as the
    /// client sent it), the client's fields as it sent them, then the model's `params` for
    /// the fields the client left out (a client's `max_tokens` or `max_completion_tokens`
    /// stands for both), then the messages.
    #[must_use]
    pub fn upstream_body(
        &self,
        model: &str,
        stream: Option<bool>,
        params: &Map<String, Value>,
    ) -> Vec<u8> {
        let mut out = String::with_capacity(self.size_hint());
        out.push('{');
        push_key(&mut out, "model");
        push_json(&mut out, &json!(model));
        if let Some(stream) = stream {
            out.push(',');
            push_key(&mut out, "stream");
            out.push_str(if stream { "true" } else { "false" });
        }
        // One token limit, the client's: under the name the model's params use when they
        // set one (some servers ignore the other name), else as the client sent it.
        let asked: Vec<&str> = TOKEN_LIMITS.into_iter().filter(|k| self.has(k)).collect();
        let named: Vec<&str> = TOKEN_LIMITS
            .into_iter()
            .filter(|k| params.contains_key(*k))
            .collect();
        let rename = match (asked.as_slice(), named.as_slice()) {
            ([a], [n]) if a != n => Some((*a, *n)),
            _ => None,
        };
        for (i, slot) in self.known.iter().enumerate() {
            let replaced = i == MODEL || (i == STREAM && stream.is_some());
            if let (Some(raw), false) = (slot, replaced) {
                out.push(',');
                let key = match rename {
                    Some((from, to)) if KNOWN[i] == from => to,
                    _ => KNOWN[i],
                };
                push_key(&mut out, key);
                out.push_str(raw.get());
            }
        }
        let inner = inner(&self.rest);
        if !inner.is_empty() {
            out.push(',');
            out.push_str(inner);
        }
        let in_rest = self.rest_keys(|k| params.contains_key(k));
        let limited = TOKEN_LIMITS.iter().any(|k| self.has(k));
        for (k, v) in params {
            let ours = matches!(k.as_str(), "model" | "stream" | "messages");
            let sent = KNOWN
                .iter()
                .position(|n| n == k)
                .map_or_else(|| in_rest.contains(k.as_str()), |i| self.known[i].is_some());
            if ours || sent || (limited && TOKEN_LIMITS.contains(&k.as_str())) {
                continue;
            }
            out.push(',');
            push_key(&mut out, k);
            push_json(&mut out, v);
        }
        if let Some(messages) = &self.messages {
            out.push(',');
            push_key(&mut out, "messages");
            out.push('[');
            for (i, m) in messages.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                m.write(&mut out);
            }
            out.push(']');
        }
        out.push('}');
        out.into_bytes()
    }

    /// The keys of the other fields for which `wanted` holds.
    fn rest_keys(&self, wanted: impl Fn(&str) -> bool) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        each_member(&self.rest, |k, _| {
            if wanted(k) {
                found.insert(k.to_owned());
            }
        });
        found
    }

    fn size_hint(&self) -> usize {
        let known: usize = self
            .known
            .iter()
            .flatten()
            .map(|r| r.get().len() + 24)
            .sum();
        let messages: usize = self
            .messages
            .iter()
            .flatten()
            .map(|m| m.content.as_ref().map_or(0, |c| c.get().len()) + m.rest.len() + 32)
            .sum();
        known + self.rest.len() + messages + 64
    }
}

/// Reads a top-level object: known fields into their slots, messages typed (for chat), the
/// dropped fields out, the rest into one object's text. A problem with `messages` is kept
/// as the result so that it can name its field.
struct BodyVisitor {
    chat: bool,
}

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Result<RequestBody, BodyError>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut body = RequestBody::default();
        let mut rest = Members::default();
        let mut problem = None;
        while let Some(key) = map.next_key_seed(Key)? {
            let raw: &'de RawValue = map.next_value()?;
            if self.chat && key == "messages" {
                match parse_messages(raw.get()) {
                    Ok(m) => body.messages = Some(m),
                    Err(e) => problem = Some(e),
                }
            } else if let Some(d) = DROPPED.iter().find(|d| **d == key) {
                if !body.dropped.contains(d) {
                    body.dropped.push(d);
                }
            } else if let Some(i) = KNOWN.iter().position(|k| *k == key) {
                body.known[i] = Some(if key == "extra_body" {
                    without_dropped(raw, &mut body.dropped)
                } else {
                    raw.to_owned()
                });
            } else {
                rest.push(&key, raw.get());
            }
        }
        body.rest = rest.finish();
        Ok(match problem {
            Some(p) => Err(p),
            None => Ok(body),
        })
    }
}

/// `extra_body` without the [`DROPPED`] fields (noted in `dropped`).
fn without_dropped(raw: &RawValue, dropped: &mut Vec<&'static str>) -> Box<RawValue> {
    let mut found = Vec::new();
    each_member(raw.get(), |k, _| {
        if let Some(d) = DROPPED.iter().find(|d| **d == k) {
            found.push(*d);
        }
    });
    if found.is_empty() {
        return raw.to_owned();
    }
    for d in found {
        if !dropped.contains(&d) {
            dropped.push(d);
        }
    }
    let text = without(raw.get(), |k| DROPPED.contains(&k));
    let text = if text.is_empty() {
        "{}".to_owned()
    } else {
        text
    };
    RawValue::from_string(text).unwrap_or_else(|_| raw.to_owned())
}

/// The messages of a chat body, each an object with a `role`.
fn parse_messages(raw: &str) -> Result<Vec<Message>, BodyError> {
    let too_many = std::cell::Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(raw);
    let visitor = MessagesVisitor {
        too_many: &too_many,
    };
    match serde::Deserializer::deserialize_any(&mut de, visitor) {
        Ok(m) if m.is_empty() => Err(BodyError::new(
            Some("messages"),
            "`messages` must be a non-empty array of messages",
        )),
        Ok(m) => Ok(m),
        Err(_) if too_many.get() => Err(BodyError::new(
            Some("messages"),
            format!(
                "a request carries at most {MAX_MESSAGES} messages: send the conversation's \
                 last {MAX_MESSAGES}"
            ),
        )),
        Err(e) => Err(BodyError::new(
            Some("messages"),
            format!(
                "`messages` must be a non-empty array of messages, each an object with a \
                 string `role` ({e})"
            ),
        )),
    }
}

struct MessagesVisitor<'a> {
    too_many: &'a std::cell::Cell<bool>,
}

impl<'de> Visitor<'de> for MessagesVisitor<'_> {
    type Value = Vec<Message>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(m) = seq.next_element_seed(MessageSeed)? {
            if out.len() == MAX_MESSAGES {
                self.too_many.set(true);
                return Err(de::Error::custom("too many messages"));
            }
            out.push(m);
        }
        Ok(out)
    }
}

/// Where `bytes` nest deeper than `limit` arrays and objects (strings skipped), if they do.
fn too_deep(bytes: &[u8], limit: usize) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}
