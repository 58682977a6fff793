//! One message of a chat body ([`Message`], its [`Role`]) read without a tree of values,
//! and the shaping a conversation gets before it goes upstream. Uses [`super::content`] and
//! [`super::raw`].

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::content::{is_text_part, raw_text, with_text};
use super::raw::{Key, Members, each_element, inner, push_json, push_key};

pub(super) struct MessageSeed;

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
    pub(super) rest: Box<str>,
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

    /// Replaces the text of the content (see `set_text`).
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

    pub(super) fn write(&self, out: &mut String) {
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
