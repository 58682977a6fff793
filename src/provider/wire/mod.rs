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
//!
//! The request's body in `request`, its messages in `message` and their content in
//! `content`, the answers arena writes in `answer`, and JSON text read without a tree in
//! `raw`. Depends on serde and serde_json, and on `crate::provider::Message` alone.

mod answer;
mod content;
mod message;
mod raw;
mod request;

pub use answer::{chunk, completion, estimate_tokens, normalise_chunk, usage};
pub use content::{largest_attachment, raw_text, set_text, text_of};
pub use message::{Message, Role, Shaping, shape};
pub use raw::whole_number;
pub use request::{BodyError, DROPPED, MAX_DEPTH, MAX_MESSAGES, RequestBody};

#[cfg(test)]
mod tests;
