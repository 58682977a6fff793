//! Reading JSONC files into typed structs: errors with line and column, unknown keys named
//! with the nearest known one, serde's wording put in plain words.

use super::*;

pub(super) fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Deserialises JSONC text into `T`, turning parse and type errors into [`Error::File`] with
/// the line and column, and unknown keys into a message naming the nearest known key.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let empty = jsonc_parser::parse_to_ast(
        text,
        &jsonc_parser::CollectOptions::default(),
        &jsonc_options(),
    )
    .is_ok_and(|parsed| parsed.value.is_none());
    if empty {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "the file holds no JSON value (it is empty or only comments): write an \
                      object such as {}"
                .into(),
        });
    }
    jsonc_parser::parse_to_serde_value::<T>(text, &jsonc_options()).map_err(|e| {
        let kind = e.kind().to_string();
        // The parser places an unknown key at its object; point at the key itself.
        let key_at = kind
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
            .and_then(|(key, _)| {
                let from = e.range().start.min(text.len());
                text.get(from..)?
                    .find(&format!("\"{key}\""))
                    .map(|i| i + from)
            });
        match key_at {
            Some(at) => located(path, text, Some(at), explain(&kind)),
            None => {
                let message = match key_before(text, e.range().start) {
                    Some(key) if kind.starts_with("invalid ") => {
                        format!("`{key}`: {}", explain(&kind))
                    }
                    _ => explain(&kind),
                };
                Error::File {
                    path: path.to_owned(),
                    line: e.line_display(),
                    column: e.column_display(),
                    message,
                }
            }
        }
    })
}

/// The name of the key whose value starts at byte `at`: the last `"name":` before it.
pub(super) fn key_before(text: &str, at: usize) -> Option<&str> {
    let before = text.get(..at.min(text.len()))?.trim_end();
    let before = before.strip_suffix(':')?.trim_end();
    let before = before.strip_suffix('"')?;
    let start = before.rfind('"')?;
    Some(&before[start + 1..])
}

/// JSON plus comments and trailing commas, nothing looser: a missing comma or a single-quoted
/// string is an error, not a guess.
pub(crate) fn jsonc_options() -> jsonc_parser::ParseOptions {
    jsonc_parser::ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Makes serde's messages say what to do: "unknown field `prot`, expected one of ..." becomes
/// "unknown key `prot` (did you mean `port`?); known keys: ...".
pub(super) fn explain(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return plain_types(message);
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let known: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.is_empty())
        .collect();
    let hint = nearest(key, known.iter().copied())
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    format!(
        "unknown key `{key}`{hint}; known keys here: {}",
        known.join(", ")
    )
}

/// Serde's type names in words: "invalid type: string \"x\", expected u64" becomes "expected
/// a whole number of 0 or more, found the string \"x\"".
pub(super) fn plain_types(message: &str) -> String {
    fn kind(t: &str) -> String {
        let t = t.trim();
        match t {
            "u8" => "a whole number from 0 to 255".into(),
            "u16" => "a whole number from 0 to 65535".into(),
            "u32" | "u64" | "usize" => "a whole number of 0 or more".into(),
            "i32" | "i64" | "isize" => "a whole number".into(),
            "f32" | "f64" => "a number".into(),
            "a boolean" | "bool" => "true or false".into(),
            "unit value" | "null" => "null".into(),
            "a sequence" | "sequence" => "an array".into(),
            "a map" | "map" => "an object".into(),
            "option" => "a value or null".into(),
            _ if t.starts_with("struct ") || t.starts_with("a map") => "an object".into(),
            _ if t.starts_with("string ") => format!("the string {}", &t[7..]),
            _ if t.starts_with("integer ") => format!("the number {}", t[8..].trim_matches('`')),
            _ if t.starts_with("floating point ") => {
                format!("the number {}", t[15..].trim_matches('`'))
            }
            _ => t.to_owned(),
        }
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            return format!("expected {}, found {}", kind(expected), kind(found));
        }
    }
    message.to_owned()
}

/// The candidate closest to `word` by edit distance, if any is close enough to be a typo.
#[must_use]
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// An error located at the first occurrence of `needle` in `text` (line 1 when absent).
pub(super) fn locate(path: &Path, text: &str, needle: &str, message: String) -> Error {
    let at = text.find(needle);
    located(path, text, at, message)
}

pub(super) fn locate_last(path: &Path, text: &str, needle: &str, message: String) -> Error {
    let at = text.rfind(needle);
    located(path, text, at, message)
}

pub(super) fn located(path: &Path, text: &str, at: Option<usize>, message: String) -> Error {
    let (line, column) = at.map_or((1, 1), |i| {
        let before = &text[..i];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    });
    Error::File {
        path: path.to_owned(),
        line,
        column,
        message,
    }
}

// ---------------------------------------------------------------------------------------------
// Paths
