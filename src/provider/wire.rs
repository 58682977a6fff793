//! OpenAI's wire format, leniently, shared by the proxy and battle mode.
//!
//! A request body is read into a [`RequestBody`]: what arena reads or changes is typed or
//! kept apart (`model`, `stream`, `n`, the battle fields, and `messages`, each a [`Message`]
//! with its `role` and raw `content`), and every other field stays as the client wrote it,
//! raw JSON, so the proxy passes on what it does not know (`tools`, `response_format`,
//! `seed`, vendor extensions) byte for byte. Nothing becomes a tree of `serde_json::Value`s:
//! such a tree costs up to a hundred times its text (a `{"a":1}` is eight bytes of text and
//! several hundred of `BTreeMap`), and a body of many small objects would cost gigabytes.
//! Here a body costs about its own size, and the few fields read are read from their text.
//!
//! Fields that would redirect or authenticate a request at an upstream that is itself a
//! proxy ([`DROPPED`]) are taken out of every body.
//!
//! Answers (chunks, completions, usage) are small and made by arena: they stay `Value`s.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

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

struct MessageSeed;

impl<'de> DeserializeSeed<'de> for MessageSeed {
    type Value = Message;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed {
    type Value = Message;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a message: an object with a `role`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let mut role = None;
        let mut content = None;
        let mut rest = Members::default();
        while let Some(key) = map.next_key_seed(Key)? {
            match &*key {
                "role" => role = Some(map.next_value_seed(RoleSeed)?),
                "content" => content = Some(map.next_value::<&RawValue>()?.to_owned()),
                _ => rest.push(&key, map.next_value::<&RawValue>()?.get()),
            }
        }
        let role = role.ok_or_else(|| de::Error::custom("a message has no `role`"))?;
        Ok(Message {
            role,
            content,
            rest: rest.finish().into_boxed_str(),
        })
    }
}

/// A field name, borrowed from the body where it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_owned()))
    }
}

struct RoleSeed;

impl<'de> DeserializeSeed<'de> for RoleSeed {
    type Value = Role;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Role, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for RoleSeed {
    type Value = Role;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a role (a string)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Role, E> {
        Ok(Role::from(v))
    }
}

/// The role of a message; the usual ones cost no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
    Other(Box<str>),
}

impl Role {
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::Function => "function",
            Role::Other(r) => r,
        }
    }
}

impl From<&str> for Role {
    fn from(role: &str) -> Role {
        match role {
            "system" => Role::System,
            "developer" => Role::Developer,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            "function" => Role::Function,
            other => Role::Other(other.into()),
        }
    }
}

/// One message of a chat body: its role, its content as the client sent it (a string, a
/// list of parts, `null`), and its other fields (`name`, `tool_calls`, ...) as they came.
#[derive(Debug, Clone)]
pub struct Message {
    pub role: Role,
    pub content: Option<Box<RawValue>>,
    /// The other fields: a JSON object's text, or empty for none.
    rest: Box<str>,
}

impl Message {
    /// A message of `role` with a text.
    #[must_use]
    pub fn new(role: &str, text: &str) -> Message {
        Message {
            role: Role::from(role),
            content: serde_json::value::to_raw_value(text).ok(),
            rest: Box::default(),
        }
    }

    /// The text of the content: the string itself, or its text parts joined by newlines.
    #[must_use]
    pub fn text(&self) -> String {
        self.content.as_deref().map(raw_text).unwrap_or_default()
    }

    /// Replaces the text of the content (see [`set_text`]).
    pub fn set_text(&mut self, text: &str) {
        let content = match self.content.as_deref() {
            Some(raw) if raw.get().starts_with('[') => with_text(raw.get(), text),
            _ => serde_json::value::to_raw_value(text).ok(),
        };
        if content.is_some() {
            self.content = content;
        }
    }

    /// Whether the content has parts other than text (images, files, audio).
    #[must_use]
    pub fn has_attachments(&self) -> bool {
        let Some(raw) = self.content.as_deref().filter(|r| r.get().starts_with('[')) else {
            return false;
        };
        let mut any = false;
        each_element(raw.get(), |p| any |= !is_text_part(p));
        any
    }

    /// The message as the upstream client takes it (content and fields as JSON values).
    #[must_use]
    pub fn to_provider(&self) -> crate::provider::Message {
        crate::provider::Message {
            role: self.role.as_str().to_owned(),
            content: self
                .content
                .as_deref()
                .and_then(|c| serde_json::from_str(c.get()).ok())
                .unwrap_or(Value::Null),
            extra: if self.rest.is_empty() {
                Map::new()
            } else {
                serde_json::from_str(&self.rest).unwrap_or_default()
            },
        }
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        push_key(out, "role");
        push_json(out, &json!(self.role.as_str()));
        if let Some(content) = &self.content {
            out.push(',');
            push_key(out, "content");
            out.push_str(content.get());
        }
        let inner = inner(&self.rest);
        if !inner.is_empty() {
            out.push(',');
            out.push_str(inner);
        }
        out.push('}');
    }
}

impl serde::Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::new();
        self.write(&mut out);
        match RawValue::from_string(out) {
            Ok(raw) => raw.serialize(s),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// A JSON number written as a whole number (`3`, not `3.0`, `"3"` or `3e0`) that fits in
/// a `u64`.
#[must_use]
pub fn whole_number(raw: &RawValue) -> Option<u64> {
    let text = raw.get();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// JSON object text built field by field.
#[derive(Default)]
struct Members(String);

impl Members {
    /// Goes on with an object's text (or none).
    fn reopen(mut text: String) -> Members {
        if text.ends_with('}') {
            text.pop();
        }
        Members(text)
    }

    fn push(&mut self, key: &str, raw: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        push_key(&mut self.0, key);
        self.0.push_str(raw);
    }

    /// The object's text; empty for no field at all.
    fn finish(mut self) -> String {
        if !self.0.is_empty() {
            self.0.push('}');
        }
        self.0
    }
}

fn push_key(out: &mut String, key: &str) {
    push_json(out, &json!(key));
    out.push(':');
}

fn push_json(out: &mut String, v: &Value) {
    out.push_str(&v.to_string());
}

/// The members of an object's text, without its braces (empty for none).
fn inner(object: &str) -> &str {
    object
        .trim()
        .strip_prefix('{')
        .and_then(|o| o.strip_suffix('}'))
        .map_or("", str::trim)
}

/// Calls `f(key, value)` for each member of an object's text, in order; nothing if it is
/// not an object.
fn each_member<'a>(object: &'a str, mut f: impl FnMut(&str, &'a RawValue)) {
    struct V<'f, F>(&'f mut F);
    impl<'de, F: FnMut(&str, &'de RawValue)> Visitor<'de> for V<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(k) = map.next_key_seed(Key)? {
                let v: &'de RawValue = map.next_value()?;
                (self.0)(&k, v);
            }
            Ok(())
        }
    }
    if object.trim_start().starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(object);
        let _ = serde::Deserializer::deserialize_map(&mut de, V(&mut f));
    }
}

/// Calls `f` for each element of an array's text, in order; nothing if it is not one.
fn each_element<'a>(array: &'a str, mut f: impl FnMut(&'a RawValue)) {
    struct V<'f, F>(&'f mut F);
    impl<'de, F: FnMut(&'de RawValue)> Visitor<'de> for V<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(v) = seq.next_element::<&'de RawValue>()? {
                (self.0)(v);
            }
            Ok(())
        }
    }
    if array.trim_start().starts_with('[') {
        let mut de = serde_json::Deserializer::from_str(array);
        let _ = serde::Deserializer::deserialize_seq(&mut de, V(&mut f));
    }
}

/// The value of the member `name` of an object's text (the last, if it came twice).
fn member<'a>(object: &'a str, name: &str) -> Option<&'a RawValue> {
    let mut found = None;
    each_member(object, |k, v| {
        if k == name {
            found = Some(v);
        }
    });
    found
}

/// An object's text without the members whose key `drop` refuses; empty for none left.
fn without(object: &str, drop: impl Fn(&str) -> bool) -> String {
    let mut kept = Members::default();
    each_member(object, |k, v| {
        if !drop(k) {
            kept.push(k, v.get());
        }
    });
    kept.finish()
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
fn is_text_part(part: &RawValue) -> bool {
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
fn with_text(parts: &str, text: &str) -> Option<Box<RawValue>> {
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

/// What must change in a conversation before it goes upstream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shaping {
    /// Merge every system message into one leading system message (role-play clients).
    pub tavern_mode: bool,
    /// Send `developer` messages as `system` (upstreams other than OpenAI's).
    pub developer_as_system: bool,
}

/// Shapes `messages` for an upstream: `developer` as `system` when asked, an empty user text
/// as a single space (some upstreams refuse empty content), and in tavern mode every system
/// message merged, by blank lines, into one leading system message.
pub fn shape(messages: &mut Vec<Message>, s: Shaping) {
    for m in messages.iter_mut() {
        if s.developer_as_system && m.role == Role::Developer {
            m.role = Role::System;
        }
        if m.role == Role::User && m.text().trim().is_empty() && !m.has_attachments() {
            m.set_text(" ");
        }
    }
    if s.tavern_mode {
        let (system, rest): (Vec<Message>, Vec<Message>) = messages
            .drain(..)
            .partition(|m| matches!(m.role, Role::System | Role::Developer));
        if !system.is_empty() {
            let merged: Vec<String> = system
                .iter()
                .map(Message::text)
                .filter(|t| !t.trim().is_empty())
                .collect();
            messages.push(Message::new("system", &merged.join("\n\n")));
        }
        messages.extend(rest);
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

/// A relayed chat completion chunk, normalised: every field a client relies on is there
/// (`id`, `object`, `created`, `model`, `choices[].index`, an explicit `finish_reason` of
/// `null` until the last), `model` and `id` are what arena says they are, and the
/// upstream's `system_fingerprint` stays. (Battle mode never relays an upstream's chunks:
/// it writes its own, with no fingerprint.)
pub fn normalise_chunk(chunk: &mut Map<String, Value>, model: &str, id: &str, created: u64) {
    chunk.insert("object".into(), json!("chat.completion.chunk"));
    chunk.insert("model".into(), json!(model));
    chunk.insert("id".into(), json!(id));
    chunk.entry("created").or_insert(json!(created));
    match chunk.get_mut("choices") {
        Some(Value::Array(choices)) => {
            for (i, c) in choices.iter_mut().enumerate() {
                if let Some(o) = c.as_object_mut() {
                    o.entry("index").or_insert(json!(i));
                    o.entry("delta").or_insert(json!({}));
                    let finish = o.entry("finish_reason").or_insert(Value::Null);
                    if finish.as_str().is_some_and(str::is_empty) {
                        *finish = Value::Null;
                    }
                }
            }
        }
        _ => {
            chunk.insert("choices".into(), json!([]));
        }
    }
}

/// A chunk with text (or a role, or an end) for the stream arena writes itself.
#[must_use]
pub fn chunk(
    id: &str,
    created: u64,
    model: &str,
    delta: Value,
    finish_reason: Option<&str>,
) -> Value {
    json!({
        "id": id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    })
}

/// A whole `chat.completion` with one choice, and its usage.
#[must_use]
pub fn completion(id: &str, created: u64, model: &str, text: &str, usage: Value) -> Value {
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": "stop",
        }],
        "usage": usage,
    })
}

/// An estimate of the tokens of `text`, for when an upstream reports no usage: no model's
/// tokenizer, but a rule close to common BPE vocabularies on English and code. A run of ASCII
/// letters is one token per started 8 letters; a run of digits one per started 3 digits;
/// every other character that is not white space (punctuation, a CJK character, an emoji) is
/// one token. It is counted over the whole text, so how a stream was cut never changes it.
#[must_use]
pub fn estimate_tokens(text: &str) -> u64 {
    let mut tokens = 0u64;
    let mut letters = 0u64;
    let mut digits = 0u64;
    let end_runs = |letters: &mut u64, digits: &mut u64, tokens: &mut u64| {
        *tokens += letters.div_ceil(8) + digits.div_ceil(3);
        *letters = 0;
        *digits = 0;
    };
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            if digits > 0 {
                end_runs(&mut letters, &mut digits, &mut tokens);
            }
            letters += 1;
        } else if c.is_ascii_digit() {
            if letters > 0 {
                end_runs(&mut letters, &mut digits, &mut tokens);
            }
            digits += 1;
        } else {
            end_runs(&mut letters, &mut digits, &mut tokens);
            if !c.is_whitespace() {
                tokens += 1;
            }
        }
    }
    end_runs(&mut letters, &mut digits, &mut tokens);
    tokens
}

/// Usage of `prompt_tokens` and `completion_tokens`, with their total.
#[must_use]
pub fn usage(prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens.saturating_add(completion_tokens),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> RequestBody {
        RequestBody::parse(text.as_bytes(), true).unwrap()
    }

    fn sent(body: &RequestBody) -> Value {
        serde_json::from_slice(&body.upstream_body("up-1", Some(true), &Map::new())).unwrap()
    }

    fn messages(list: Value) -> Vec<Message> {
        parse(&json!({"messages": list}).to_string())
            .messages
            .unwrap()
    }

    #[test]
    fn unknown_fields_go_upstream_as_the_client_wrote_them() {
        let text = r#"{"model":"m","temperature":0.70,"seed":7,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"vendor":{"x":1e2,"y":"\u00e9"},"messages":[{"role":"user","content":[{"type":"text","text":"hi"}],"name":"u"}],"n":1}"#;
        let body = parse(text);
        let out = String::from_utf8(body.upstream_body("up-1", Some(false), &Map::new())).unwrap();
        for piece in [
            r#""temperature":0.70"#,
            r#""vendor":{"x":1e2,"y":"\u00e9"}"#,
            r#""tools":[{"type":"function","function":{"name":"f","parameters":{}}}]"#,
            r#"{"role":"user","content":[{"type":"text","text":"hi"}],"name":"u"}"#,
            r#""model":"up-1""#,
            r#""stream":false"#,
            r#""n":1"#,
        ] {
            assert!(out.contains(piece), "{piece} is not in {out}");
        }
        assert!(!out.contains(r#""model":"m""#), "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["seed"], json!(7));
        assert_eq!(body.value::<f64>("temperature"), Some(0.7));
        assert_eq!(body.value::<String>("model").as_deref(), Some("m"));
        assert_eq!(body.get("seed").map(RawValue::get), Some("7"));
    }

    #[test]
    fn fields_that_redirect_or_authenticate_are_dropped_also_from_extra_body() {
        let body = parse(
            r#"{"model":"m","api_base":"http://evil/","base_url":"x","api_key":"k","headers":{"a":"b"},"extra_headers":{},"extra_body":{"api_key":"k2","rpid":"7"},"messages":[{"role":"user","content":"hi"}]}"#,
        );
        let v = sent(&body);
        for d in DROPPED {
            assert!(v.get(d).is_none(), "{d}: {v}");
        }
        assert_eq!(v["extra_body"], json!({"rpid": "7"}));
        assert_eq!(body.dropped.len(), 5);
        assert_eq!(
            body.extra_body_value::<String>("rpid").as_deref(),
            Some("7")
        );
    }

    #[test]
    fn params_fill_in_what_the_client_left_out_and_one_token_limit_stands_for_both() {
        let params: Map<String, Value> = serde_json::from_value(json!({
            "temperature": 0.1, "max_tokens": 100, "top_k": 5, "seed": 1, "model": "no",
        }))
        .unwrap();
        let body = parse(
            r#"{"model":"m","temperature":0.9,"seed":2,"max_completion_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#,
        );
        let v: Value = serde_json::from_slice(&body.upstream_body("up", None, &params)).unwrap();
        assert_eq!(v["temperature"], json!(0.9));
        assert_eq!(v["seed"], json!(2));
        assert_eq!(v["top_k"], json!(5));
        // The client's limit, under the name the params use (a server may ignore the other).
        assert_eq!(v["max_tokens"], json!(5));
        assert!(v.get("max_completion_tokens").is_none(), "{v}");
        assert_eq!(v["model"], json!("up"));
        assert!(v.get("stream").is_none(), "{v}");
    }

    #[test]
    fn bodies_that_are_not_requests_say_why() {
        for (text, param, words) in [
            ("[1]", None, "must be a JSON object"),
            ("{\"a\":", None, "not valid JSON"),
            ("{} x", None, "not valid JSON"),
            (r#"{"messages":"hi"}"#, Some("messages"), "non-empty array"),
            (r#"{"messages":[]}"#, Some("messages"), "non-empty array"),
            (
                r#"{"messages":[{"content":"x"}]}"#,
                Some("messages"),
                "`role`",
            ),
            (r#"{"messages":[{"role":5}]}"#, Some("messages"), "`role`"),
            (r#"{"messages":["x"]}"#, Some("messages"), "`role`"),
        ] {
            let e = RequestBody::parse(text.as_bytes(), true).unwrap_err();
            assert_eq!(e.param, param, "{text}: {e:?}");
            assert!(e.message.contains(words), "{text}: {e:?}");
        }
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let e = RequestBody::parse(deep.as_bytes(), true).unwrap_err();
        assert!(e.message.contains("nested"), "{e:?}");
        // Brackets inside strings are text, not nesting.
        let text = format!("{{\"a\":\"{}\"}}", "[".repeat(300));
        assert!(RequestBody::parse(text.as_bytes(), true).is_ok());
        let many = format!(
            "{{\"messages\":[{}]}}",
            vec![r#"{"role":"user"}"#; MAX_MESSAGES + 1].join(",")
        );
        let e = RequestBody::parse(many.as_bytes(), true).unwrap_err();
        assert!(e.message.contains("at most"), "{e:?}");
        // Legacy and image bodies keep `messages` as any other field.
        let body = RequestBody::parse(br#"{"messages":"hi","prompt":"p"}"#, false).unwrap();
        assert_eq!(body.value::<String>("messages").as_deref(), Some("hi"));
    }

    #[test]
    fn set_and_remove_change_one_field() {
        let mut body = parse(r#"{"model":"m","a":1,"b":2,"messages":[{"role":"user"}]}"#);
        body.set("a", &json!([3]));
        body.remove("b");
        body.set("n", &json!(1));
        let v = sent(&body);
        assert_eq!(v["a"], json!([3]));
        assert!(v.get("b").is_none());
        assert_eq!(v["n"], json!(1));
        assert_eq!(v["messages"], json!([{"role": "user"}]));
    }

    #[test]
    fn shaping_merges_systems_maps_developer_and_fills_empty_text() {
        let mut m = messages(json!([
            {"role": "system", "content": "one"},
            {"role": "user", "content": ""},
            {"role": "developer", "content": [{"type": "text", "text": "two"}]},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}], "name": "u"},
            {"role": "user", "content": [{"type": "text", "text": " "}, {"type": "text", "text": ""}]},
        ]));
        shape(
            &mut m,
            Shaping {
                tavern_mode: true,
                developer_as_system: true,
            },
        );
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v[0], json!({"role": "system", "content": "one\n\ntwo"}));
        assert_eq!(v[1]["content"], json!(" "));
        // An image alone is content enough; unknown fields stay.
        assert_eq!(v[2]["content"][0]["type"], json!("image_url"));
        assert_eq!(v[2]["name"], json!("u"));
        assert_eq!(v[3]["content"], json!([{"type": "text", "text": " "}]));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn text_is_read_and_replaced_around_images() {
        let mut m = messages(json!([{"role": "user", "content": [
            {"type": "text", "text": "$A hi"},
            {"type": "image_url", "image_url": {"url": "http://x/y.png"}},
            {"type": "text", "text": "more"}]}]))
        .remove(0);
        assert_eq!(m.text(), "$A hi\nmore");
        m.set_text("hi");
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v["content"],
            json!([{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "http://x/y.png"}}])
        );
        let mut only_image = messages(json!([{"role": "user", "content": [
            {"type": "image_url", "image_url": "http://x/y.png"}]}]))
        .remove(0);
        only_image.set_text("caption");
        assert_eq!(
            serde_json::to_value(&only_image).unwrap()["content"],
            json!([{"type": "text", "text": "caption"}, {"type": "image_url", "image_url": "http://x/y.png"}])
        );
        let big = format!("data:image/png;base64,{}", "A".repeat(4000));
        for content in [
            json!([{"type": "image_url", "image_url": {"url": big}}]),
            json!([{"type": "image_url", "image_url": big}]),
            json!([{"type": "file", "file": {"file_data": big}}]),
            json!([{"type": "input_audio", "input_audio": {"data": big, "format": "wav"}}]),
        ] {
            let m = messages(json!([{"role": "user", "content": content}]));
            assert_eq!(largest_attachment(&m), 3000, "{content}");
        }
        let provider = messages(json!([{"role": "tool", "content": null, "tool_call_id": "c"}]))
            .remove(0)
            .to_provider();
        assert_eq!(provider.role, "tool");
        assert_eq!(provider.extra["tool_call_id"], json!("c"));
    }

    #[test]
    fn the_token_estimate_counts_punctuation_once_and_ignores_how_text_was_cut() {
        assert_eq!(
            estimate_tokens("The quick brown fox jumps over the lazy dog."),
            10
        );
        assert_eq!(estimate_tokens("Hello, world!"), 4);
        assert_eq!(
            estimate_tokens("internationalization 2024 1234567"),
            3 + 2 + 3
        );
        assert_eq!(estimate_tokens("猫が好き 🐈"), 5);
        assert_eq!(estimate_tokens("  \n\t "), 0);
        // The same text cut into a stream's pieces counts the same once joined: a sum over
        // pieces would count "," and a word cut in two as words of their own.
        let pieces = ["Hel", "lo", ",", " wor", "ld", "!"];
        assert_eq!(estimate_tokens(&pieces.concat()), 4);
    }

    #[test]
    fn chunks_get_every_field_and_keep_their_fingerprint() {
        let mut c = json!({"id": "up-1", "model": "secret-model", "system_fingerprint": "fp",
                           "choices": [{"delta": {"content": "x"}}]});
        let o = c.as_object_mut().unwrap();
        normalise_chunk(o, "public", "chatcmpl-1", 7);
        assert_eq!(c["model"], json!("public"));
        assert_eq!(c["id"], json!("chatcmpl-1"));
        assert_eq!(c["created"], json!(7));
        assert_eq!(c["choices"][0]["index"], json!(0));
        assert_eq!(c["choices"][0]["finish_reason"], Value::Null);
        assert_eq!(c["system_fingerprint"], json!("fp"));
        assert!(!c.to_string().contains("secret"));
    }
}
