//! Prompt sets (SPEC §3): `{"prompts": {"poetry_spring": "..."}}` (theme = the id's prefix
//! before `_`, else `general`), `[{"id", "text", "theme"}]`, or JSON Lines of such objects.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::Prompt;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: Option<String>,
    text: String,
    theme: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keyed {
    prompts: serde_json::Map<String, serde_json::Value>,
}

/// The theme of an id: its prefix before `_`, else `general`.
#[must_use]
pub fn theme_of(id: &str) -> String {
    match id.split_once('_') {
        Some((prefix, _)) if !prefix.is_empty() => prefix.to_owned(),
        _ => "general".to_owned(),
    }
}

/// A stable id for a prompt given without one: a short hash of its text.
#[must_use]
pub fn id_for(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    format!("p{}", &hex::encode(digest)[..10])
}

fn entry(e: Entry) -> Prompt {
    let id = e.id.unwrap_or_else(|| id_for(&e.text));
    let theme = e.theme.unwrap_or_else(|| theme_of(&id));
    Prompt {
        id,
        text: e.text,
        theme,
    }
}

/// Parses a prompt set; `path` names the file in errors.
pub fn parse(path: &Path, text: &str) -> Result<Vec<Prompt>> {
    let first = text.trim_start().chars().next();
    let prompts: Vec<Prompt> = match first {
        Some('[') => crate::config::parse::<Vec<Entry>>(path, text)?
            .into_iter()
            .map(entry)
            .collect(),
        Some('{') if looks_keyed(text) => keyed(path, text)?,
        Some('{') => lines(path, text)?,
        _ => {
            return Err(Error::File {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: "expected {\"prompts\": {id: text}}, [{\"id\", \"text\", \"theme\"}] \
                          or JSON Lines of {\"id\", \"text\", \"theme\"}"
                    .into(),
            });
        }
    };
    if let Some(p) = prompts.iter().find(|p| p.text.trim().is_empty()) {
        return Err(Error::File {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: format!("prompt `{}` is empty", p.id),
        });
    }
    Ok(prompts)
}

/// `{"prompts": {id: text}}`: the theme from each id.
fn keyed(path: &Path, text: &str) -> Result<Vec<Prompt>> {
    let keyed: Keyed = crate::config::parse(path, text)?;
    keyed
        .prompts
        .into_iter()
        .map(|(id, v)| match v {
            serde_json::Value::String(text) => Ok(Prompt {
                theme: theme_of(&id),
                id,
                text,
            }),
            other => Err(Error::File {
                path: path.to_owned(),
                line: 1,
                column: 1,
                message: format!("prompt `{id}` is {other}, expected a string"),
            }),
        })
        .collect()
}

/// JSON Lines of `{"id", "text", "theme"}`: an error names its line.
fn lines(path: &Path, text: &str) -> Result<Vec<Prompt>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e: Entry = crate::config::parse(path, line).map_err(|e| match e {
            Error::File {
                path,
                column,
                message,
                ..
            } => Error::File {
                path,
                line: i + 1,
                column,
                message,
            },
            other => other,
        })?;
        out.push(entry(e));
    }
    Ok(out)
}

fn looks_keyed(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("prompts").map(serde_json::Value::is_object))
        .unwrap_or(false)
        || jsonc_parser::parse_to_serde_value::<serde_json::Value>(
            text,
            &crate::config::jsonc_options(),
        )
        .ok()
        .and_then(|v| v.get("prompts").map(serde_json::Value::is_object))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_forms() {
        let p = Path::new("p.json");
        let keyed = parse(
            p,
            r#"{"prompts": {"poetry_spring": "A poem", "hello": "Hi"}}"#,
        )
        .unwrap();
        assert_eq!(keyed[0].theme, "general");
        assert_eq!(keyed[1].theme, "poetry");
        let list = parse(
            p,
            r#"[{"id": "x", "text": "T", "theme": "code"}, {"text": "U"}]"#,
        )
        .unwrap();
        assert_eq!(list[0].theme, "code");
        assert!(list[1].id.starts_with('p'));
        let lines = parse(
            p,
            "{\"text\": \"a\"}\n\n{\"id\": \"s_1\", \"text\": \"b\"}\n",
        )
        .unwrap();
        assert_eq!(lines[1].theme, "s");
        let err = parse(p, "{\"text\": \"a\"}\n{\"txt\": \"b\"}\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.json:2:"), "{err}");
    }
}
