//! The sampling settings of a chat request: checked once, sent alike to both sides.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Sampling settings of a chat request: checked once, sent alike to both sides. Any other
/// field of the request reaches neither model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatOptions {
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// `top_p`, `presence_penalty`, `frequency_penalty`, `seed`, `stop`, as checked.
    pub sampling: Map<String, Value>,
}

impl ChatOptions {
    /// The sampling fields of a request, each read by `field` (`None` when absent). A field
    /// that is not what OpenAI's API takes is an error that names it and its range.
    pub fn from_request(field: impl Fn(&str) -> Option<Value>) -> Result<ChatOptions> {
        let present = |name: &str| field(name).filter(|v| !v.is_null());
        let number = |name: &str, lo: f64, hi: f64| -> Result<Option<f64>> {
            present(name)
                .map(|v| {
                    v.as_f64()
                        .filter(|x| x.is_finite() && (lo..=hi).contains(x))
                        .ok_or_else(|| {
                            Error::Input(format!("`{name}` must be a number from {lo} to {hi}"))
                        })
                })
                .transpose()
        };
        let tokens = |name: &str| -> Result<Option<u32>> {
            present(name)
                .map(|v| {
                    v.as_u64()
                        .filter(|n| (1..=1_000_000).contains(n))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(|| {
                            Error::Input(format!(
                                "`{name}` must be a whole number of tokens from 1 to 1000000"
                            ))
                        })
                })
                .transpose()
        };
        let max_tokens = match (tokens("max_completion_tokens")?, tokens("max_tokens")?) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::Input(format!(
                    "`max_completion_tokens` ({a}) and `max_tokens` ({b}) differ: send one"
                )));
            }
            (a, b) => a.or(b),
        };
        let mut sampling = Map::new();
        for (name, lo, hi) in [
            ("top_p", 0.0, 1.0),
            ("presence_penalty", -2.0, 2.0),
            ("frequency_penalty", -2.0, 2.0),
        ] {
            if let Some(x) = number(name, lo, hi)? {
                sampling.insert(name.into(), Value::from(x));
            }
        }
        if let Some(v) = present("seed") {
            let seed = v
                .as_i64()
                .ok_or_else(|| Error::Input("`seed` must be a whole number".into()))?;
            sampling.insert("seed".into(), Value::from(seed));
        }
        if let Some(v) = present("stop") {
            let ok = match &v {
                Value::String(_) => true,
                Value::Array(items) => {
                    (1..=4).contains(&items.len()) && items.iter().all(Value::is_string)
                }
                _ => false,
            };
            if !ok {
                return Err(Error::Input(
                    "`stop` must be a string or a list of up to 4 strings".into(),
                ));
            }
            sampling.insert("stop".into(), v);
        }
        Ok(ChatOptions {
            temperature: number("temperature", 0.0, 2.0)?,
            max_tokens,
            sampling,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sampling_fields_are_checked_once() {
        let body = json!({"temperature": 0.5, "top_p": 0.9, "seed": 7, "stop": ["x"],
                          "max_completion_tokens": 64, "logit_bias": {"1": 5}});
        let o = ChatOptions::from_request(|k| body.get(k).cloned()).expect("valid");
        assert_eq!(o.temperature, Some(0.5));
        assert_eq!(o.max_tokens, Some(64));
        assert_eq!(
            Value::Object(o.sampling),
            json!({"top_p": 0.9, "seed": 7, "stop": ["x"]})
        );
        for bad in [
            json!({"temperature": 3}),
            json!({"temperature": "hot"}),
            json!({"max_tokens": 2.0}),
            json!({"max_tokens": "3"}),
            json!({"max_tokens": 1e30}),
            json!({"max_tokens": 5, "max_completion_tokens": 6}),
            json!({"top_p": -0.1}),
            json!({"stop": [1]}),
            json!({"seed": 1.5}),
        ] {
            let e = ChatOptions::from_request(|k| bad.get(k).cloned());
            assert!(matches!(e, Err(Error::Input(_))), "{bad}: {e:?}");
        }
    }
}
