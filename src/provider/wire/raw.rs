//! JSON text read and written without a tree of values: an object's members, an array's
//! elements, an object built field by field. Depends on serde alone.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// A field name, borrowed from the body where it has no escapes.
pub(super) struct Key;

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
pub(super) struct Members(String);

impl Members {
    /// Goes on with an object's text (or none).
    pub(super) fn reopen(mut text: String) -> Members {
        if text.ends_with('}') {
            text.pop();
        }
        Members(text)
    }

    pub(super) fn push(&mut self, key: &str, raw: &str) {
        self.0.push(if self.0.is_empty() { '{' } else { ',' });
        push_key(&mut self.0, key);
        self.0.push_str(raw);
    }

    /// The object's text; empty for no field at all.
    pub(super) fn finish(mut self) -> String {
        if !self.0.is_empty() {
            self.0.push('}');
        }
        self.0
    }
}

pub(super) fn push_key(out: &mut String, key: &str) {
    push_json(out, &json!(key));
    out.push(':');
}

pub(super) fn push_json(out: &mut String, v: &Value) {
    out.push_str(&v.to_string());
}

/// The members of an object's text, without its braces (empty for none).
pub(super) fn inner(object: &str) -> &str {
    object
        .trim()
        .strip_prefix('{')
        .and_then(|o| o.strip_suffix('}'))
        .map_or("", str::trim)
}

/// Calls `f(key, value)` for each member of an object's text, in order; nothing if it is
/// not an object.
pub(super) fn each_member<'a>(object: &'a str, mut f: impl FnMut(&str, &'a RawValue)) {
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
pub(super) fn each_element<'a>(array: &'a str, mut f: impl FnMut(&'a RawValue)) {
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
pub(super) fn member<'a>(object: &'a str, name: &str) -> Option<&'a RawValue> {
    let mut found = None;
    each_member(object, |k, v| {
        if k == name {
            found = Some(v);
        }
    });
    found
}

/// An object's text without the members whose key `drop` refuses; empty for none left.
pub(super) fn without(object: &str, drop: impl Fn(&str) -> bool) -> String {
    let mut kept = Members::default();
    each_member(object, |k, v| {
        if !drop(k) {
            kept.push(k, v.get());
        }
    });
    kept.finish()
}
