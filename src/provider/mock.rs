//! The `mock` provider: a deterministic, offline responder for demos and tests. It is not a
//! model, and every answer says so. The same model name and prompt always give the same text.
//!
//! `params` in `models.json` tune it: `delay_ms` (pause between streamed words, default 12),
//! `reply` (a fixed answer), `style` (`plain`, `list` or `terse`; default chosen by name).

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::{ChatRequest, Chunk, Message, UpstreamError, Usage};
use crate::config::ModelSpec;

const WORDS: &[&str] = &[
    "clear",
    "simple",
    "careful",
    "first",
    "then",
    "finally",
    "example",
    "idea",
    "answer",
    "question",
    "detail",
    "step",
    "reason",
    "because",
    "result",
    "short",
    "useful",
    "balanced",
    "consider",
    "note",
    "often",
    "usually",
    "every",
    "small",
    "large",
    "quiet",
    "bright",
    "structure",
    "pattern",
    "approach",
    "practical",
    "honest",
    "direct",
];

/// Streams a deterministic answer word by word.
pub(super) async fn answer(
    model: &ModelSpec,
    request: &ChatRequest,
    tx: &mpsc::Sender<Result<Chunk, UpstreamError>>,
) -> Result<(), UpstreamError> {
    let text = compose(model, request);
    let delay = model
        .params
        .get("delay_ms")
        .and_then(Value::as_u64)
        .unwrap_or(12);
    let mut count = 0u64;
    for piece in text.split_inclusive(' ') {
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        count += 1;
        if tx.send(Ok(Chunk::Delta(piece.to_owned()))).await.is_err() {
            return Ok(());
        }
    }
    let prompt_words: usize = request
        .messages
        .iter()
        .map(|m| m.text().split_whitespace().count())
        .sum();
    let _ = tx
        .send(Ok(Chunk::Usage(Usage {
            prompt_tokens: Some(prompt_words as u64),
            completion_tokens: Some(count),
        })))
        .await;
    let _ = tx.send(Ok(Chunk::Finish("stop".into()))).await;
    Ok(())
}

/// The answer text: fixed by `reply`, else drawn from a generator seeded by name and prompt.
fn compose(model: &ModelSpec, request: &ChatRequest) -> String {
    if let Some(reply) = model.params.get("reply").and_then(Value::as_str) {
        return reply.to_owned();
    }
    let prompt = request
        .messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or_else(String::new, Message::text);
    let prompt = prompt.as_str();
    let digest = Sha256::new()
        .chain_update(model.name.as_bytes())
        .chain_update([0])
        .chain_update(prompt.as_bytes())
        .finalize();
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&digest);
    let mut rng = ChaCha8Rng::from_seed(seed);
    let style = model
        .params
        .get("style")
        .and_then(Value::as_str)
        .map_or_else(
            || ["plain", "list", "terse"][usize::from(digest[0]) % 3].to_owned(),
            str::to_owned,
        );
    let topic: String = prompt
        .split_whitespace()
        .take(8)
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = |rng: &mut ChaCha8Rng| {
        let n = rng.random_range(5..11);
        let words: Vec<&str> = (0..n)
            .map(|_| WORDS[rng.random_range(0..WORDS.len())])
            .collect();
        let mut s = words.join(" ");
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        s + "."
    };
    // The label must not name the model: answers are shown before the reveal.
    let mut out = String::from("(Mock answer: not a language model.) ");
    match style.as_str() {
        "list" => {
            out.push_str(&format!("On \"{topic}\":\n"));
            for i in 1..=rng.random_range(3..6) {
                out.push_str(&format!("{i}. {}\n", sentence(&mut rng)));
            }
        }
        "terse" => out.push_str(&sentence(&mut rng)),
        _ => {
            out.push_str(&format!("About \"{topic}\": "));
            for _ in 0..rng.random_range(3..7) {
                out.push_str(&sentence(&mut rng));
                out.push(' ');
            }
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ProviderKind, Tier};

    fn spec(name: &str) -> ModelSpec {
        ModelSpec {
            name: name.into(),
            provider: ProviderKind::Mock,
            endpoints: vec![],
            tier: Some(Tier::High),
            weight: 1.0,
            params: serde_json::Map::new(),
            kind: crate::config::ModelKind::Chat,
            images_per_request: None,
        }
    }

    #[test]
    fn same_name_and_prompt_same_answer() {
        let req = ChatRequest {
            messages: vec![Message::new("user", "Write a haiku")],
            ..ChatRequest::default()
        };
        assert_eq!(compose(&spec("a"), &req), compose(&spec("a"), &req));
        assert_ne!(compose(&spec("a"), &req), compose(&spec("b"), &req));
        assert!(compose(&spec("a"), &req).contains("not a language model"));
        // Answers are shown before the reveal: they must not name the model.
        assert!(!compose(&spec("mock-zebra"), &req).contains("zebra"));
    }
}
