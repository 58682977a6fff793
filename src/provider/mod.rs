//! Upstream models: the OpenAI-compatible client (`openai`) and the offline mock (`mock`).
//!
//! [`Upstream::stream`] hands out the answer of one model as a stream of [`Chunk`]s. The stream
//! is fed by a task of its own, so a consumer can drop it at any time; timeouts (whole request
//! and stream idle) and the retry over an endpoint pool live here, so every caller gets them.

mod mock;
mod openai;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::config::{Config, ModelSpec, ProviderKind};
use crate::error::{Error, Result};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    #[must_use]
    pub fn new(role: &str, content: &str) -> Self {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// What is asked of a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
}

/// A piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// More answer text.
    Delta(String),
    /// Token counts reported by the upstream, when it reports them.
    Usage(Usage),
}

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

/// Why an upstream call failed, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UpstreamError {
    pub message: String,
    /// The HTTP status the upstream answered with, if it answered.
    pub status: Option<u16>,
}

impl UpstreamError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        UpstreamError {
            message: message.into(),
            status: None,
        }
    }
}

impl From<UpstreamError> for Error {
    fn from(e: UpstreamError) -> Self {
        Error::Upstream(e.message)
    }
}

/// A model's answer as it arrives. Dropping it cancels the request.
pub struct ChunkStream {
    rx: mpsc::Receiver<Result<Chunk, UpstreamError>>,
}

impl Stream for ChunkStream {
    type Item = Result<Chunk, UpstreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// Timeouts that apply to every upstream call.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// The whole request, first byte to last.
    pub request: Duration,
    /// The longest wait for the next piece of a stream.
    pub idle: Duration,
}

/// The client for all upstreams. Cheap to clone; `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Upstream {
    http: reqwest::Client,
    timeouts: Timeouts,
}

impl Upstream {
    /// A client with the timeouts of `config`.
    pub fn new(config: &Config) -> Result<Self> {
        Self::with_timeouts(Timeouts {
            request: Duration::from_secs(config.request_timeout_seconds),
            idle: Duration::from_secs(config.stream_idle_timeout_seconds),
        })
    }

    /// A client with explicit timeouts.
    pub fn with_timeouts(timeouts: Timeouts) -> Result<Self> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeouts.request))
            .user_agent(concat!("arena/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Upstream { http, timeouts })
    }

    #[must_use]
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The answer of `model` to `request`, streamed. Never fails up front: every failure
    /// arrives as an `Err` item, after which the stream ends.
    #[must_use]
    pub fn stream(&self, model: &ModelSpec, request: &ChatRequest) -> ChunkStream {
        let (tx, rx) = mpsc::channel(64);
        let model = model.clone();
        let request = request.clone();
        let this = self.clone();
        tokio::spawn(async move {
            let result = match model.provider {
                ProviderKind::Mock => mock::answer(&model, &request, &tx).await,
                ProviderKind::Openai => openai::answer(&this, &model, &request, &tx).await,
            };
            if let Err(e) = result {
                // The receiver may be gone; then nobody needs the error.
                let _ = tx.send(Err(e)).await;
            }
        });
        ChunkStream { rx }
    }

    /// The model ids an OpenAI-compatible server lists at `{base_url}/models`.
    pub async fn list_models(
        &self,
        base_url: &str,
        api_key_env: Option<&str>,
    ) -> Result<Vec<String>, UpstreamError> {
        openai::list_models(self, base_url, api_key_env).await
    }
}

const WHO_OPEN: &str = "[model `";

/// The part of an error that says which model and endpoint failed, as `[model `NAME`: WHERE]`.
/// It always comes after the blind part of the message, so [`blind`] can remove it.
#[must_use]
pub fn who(model: &str, place: &str) -> String {
    if place.is_empty() {
        format!("{WHO_OPEN}{model}`]")
    } else {
        format!("{WHO_OPEN}{model}`: {place}]")
    }
}

/// An error message without the parts written by [`who`]: what may be shown for a battle whose
/// models are still hidden.
#[must_use]
pub fn blind(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(WHO_OPEN) {
        out.push_str(rest[..start].trim_end());
        let tail = &rest[start..];
        // Skip to the bracket that closes this one, allowing nested brackets inside.
        let mut depth = 0usize;
        let mut end = tail.len();
        for (i, c) in tail.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The environment variable a model's endpoint needs and that is not set, if any.
#[must_use]
pub fn missing_key(model: &ModelSpec) -> Option<String> {
    if model.provider == ProviderKind::Mock {
        return None;
    }
    model
        .endpoints
        .iter()
        .filter_map(|e| e.api_key_env.as_deref())
        .find(|var| std::env::var_os(var).is_none_or(|v| v.is_empty()))
        .map(str::to_owned)
}

fn install_crypto_provider() {
    // A second install reports the first one back; either way a provider is in place.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blinding_removes_who_and_where() {
        let one = format!(
            "the upstream server failed (500) {}",
            who("gpt-x", "gpt-x-1 at http://h/v1")
        );
        assert_eq!(blind(&one), "the upstream server failed (500)");
        let pool = format!(
            "all 2 endpoints failed {}: cannot connect {}; boom {}",
            who("secret", ""),
            who("secret", "a at http://127.0.0.1:1/v1"),
            who("secret", "b at http://[::1]:2/v1")
        );
        let shown = blind(&pool);
        assert_eq!(shown, "all 2 endpoints failed: cannot connect; boom");
        assert!(!shown.contains("secret") && !shown.contains("127.0.0.1"));
    }
}
