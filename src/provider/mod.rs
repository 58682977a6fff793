//! Upstream models: the OpenAI-compatible client (`openai/`), the offline mock (`mock`), the
//! server-sent events parser they read streams with (`sse`), and OpenAI's wire format as the
//! proxy and battle mode read and write it (`wire/`).
//!
//! [`Upstream::stream`] hands out the answer of one model as a stream of [`Chunk`]s. The stream
//! is fed by a task of its own, so a consumer can drop it at any time; timeouts (whole request
//! and stream idle), each endpoint's concurrency limit and the retry over an endpoint pool
//! live here, so every caller gets them.

mod mock;
mod openai;
pub mod sse;

pub use openai::{Relay, RelayStream};
pub mod wire;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::config::{Config, ModelSpec, ProviderKind};
use crate::error::{Error, Result};
pub use crate::error::{Refusal, UpstreamError, UpstreamKind};

/// One chat message: a role, and content as an OpenAI client sends it (a string, or a list
/// of parts such as text and images), with any other fields it carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: serde_json::Value,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Message {
    #[must_use]
    pub fn new(role: &str, content: &str) -> Self {
        Message {
            role: role.into(),
            content: serde_json::Value::String(content.into()),
            extra: serde_json::Map::new(),
        }
    }

    /// The text of the content: the string, or the text parts joined.
    #[must_use]
    pub fn text(&self) -> String {
        wire::text_of(&self.content)
    }
}

/// What is asked of a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    /// Other sampling fields of a client's request, checked (see `chat::ChatOptions`):
    /// sent as they are, over the model's `params`.
    pub sampling: serde_json::Map<String, serde_json::Value>,
}

/// A piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Chunk {
    /// More answer text.
    Delta(String),
    /// Token counts reported by the upstream, when it reports them.
    Usage(Usage),
    /// Why the answer ended, as the upstream said (`stop`, `length`, `content_filter`, …):
    /// the last piece of an answer that came whole. A stream that fails has none.
    Finish(String),
}

/// Token counts of one answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

impl From<UpstreamError> for Error {
    fn from(e: UpstreamError) -> Self {
        Error::Upstream(e)
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

/// How much of an upstream's reply is read: nothing it sends can grow without bound.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// An answer's text; a longer one is cut there and its side fails.
    pub answer_bytes: u64,
    /// An error body.
    pub error_body_bytes: u64,
    /// A `/models` listing.
    pub listing_bytes: u64,
}

impl Limits {
    /// The raw bytes of a stream or body that may carry an answer of `answer_bytes`: room
    /// for the JSON and SSE framing around every piece of text.
    fn raw_answer_bytes(self) -> u64 {
        self.answer_bytes.saturating_mul(8).saturating_add(1 << 20)
    }
}

/// The client for all upstreams. Cheap to clone; `Send + Sync`.
///
/// Two HTTP clients: one honours the `HTTP(S)_PROXY` variables, for remote hosts; the other
/// never uses a proxy, for hosts of this machine, whose traffic must not leave it. Neither
/// follows redirects: a redirect would send the prompt, and the key, to another host.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Built at the first request: loading the TLS roots costs every command a few
    /// milliseconds, and most commands (a vote, a leaderboard) never call an upstream.
    clients: std::sync::Arc<std::sync::OnceLock<Result<Clients, String>>>,
    timeouts: Timeouts,
    limits: Limits,
    /// What every clone shares: the endpoints' concurrency slots, what endpoints refused.
    shared: std::sync::Arc<openai::Shared>,
}

/// The two HTTP clients of [`Upstream`].
#[derive(Debug)]
struct Clients {
    http: reqwest::Client,
    direct: reqwest::Client,
}

impl Clients {
    fn new(request_timeout: Duration) -> Result<Self, String> {
        let client = |proxied: bool| {
            let mut b = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10).min(request_timeout))
                .user_agent(concat!("arena/", env!("CARGO_PKG_VERSION")))
                .redirect(reqwest::redirect::Policy::none());
            if !proxied {
                b = b.no_proxy();
            }
            b.build()
                .map_err(|e| format!("cannot build the HTTP client: {e}"))
        };
        Ok(Self {
            http: client(true)?,
            direct: client(false)?,
        })
    }
}

impl Upstream {
    /// A client with the timeouts and limits of `config`.
    pub fn new(config: &Config) -> Result<Self> {
        install_crypto_provider();
        let timeouts = Timeouts {
            request: Duration::from_secs(config.request_timeout_seconds),
            idle: Duration::from_secs(config.stream_idle_timeout_seconds),
        };
        Ok(Upstream {
            clients: std::sync::Arc::default(),
            timeouts,
            limits: Limits {
                answer_bytes: config.max_answer_bytes,
                error_body_bytes: config.max_error_body_bytes,
                listing_bytes: config.max_listing_bytes,
            },
            shared: std::sync::Arc::default(),
        })
    }

    #[must_use]
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The client for `url`: without any proxy for a host of this machine.
    fn client_for(&self, url: &str) -> Result<&reqwest::Client, String> {
        let clients = self
            .clients
            .get_or_init(|| Clients::new(self.timeouts.request))
            .as_ref()
            .map_err(Clone::clone)?;
        Ok(if reqwest::Url::parse(url).is_ok_and(|u| is_loopback(&u)) {
            &clients.direct
        } else {
            &clients.http
        })
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
            let mut keys = KeyFilter::new(Self::key_values(&model));
            let (inner, mut from) = mpsc::channel(64);
            let answer = async move {
                let result = match model.provider {
                    ProviderKind::Mock => mock::answer(&model, &request, &inner).await,
                    ProviderKind::Openai => openai::answer(&this, &model, &request, &inner).await,
                };
                if let Err(e) = result {
                    // The receiver may be gone; then nobody needs the error.
                    let _ = inner.send(Err(e)).await;
                }
            };
            // The answer passes through the key filter on its way out.
            let forward = async {
                while let Some(item) = from.recv().await {
                    let item = match item {
                        Ok(Chunk::Delta(text)) => Ok(Chunk::Delta(keys.push(&text))),
                        other => {
                            let held = keys.finish();
                            if !held.is_empty() && tx.send(Ok(Chunk::Delta(held))).await.is_err() {
                                return;
                            }
                            other
                        }
                    };
                    if matches!(&item, Ok(Chunk::Delta(t)) if t.is_empty()) {
                        continue;
                    }
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
                let held = keys.finish();
                if !held.is_empty() {
                    let _ = tx.send(Ok(Chunk::Delta(held))).await;
                }
            };
            // A consumer that goes away ends the upstream request at once, even while the
            // upstream is silent.
            tokio::select! {
                _ = async { tokio::join!(answer, forward) } => {}
                () = tx.closed() => {}
            }
        });
        ChunkStream { rx }
    }

    /// The model ids an OpenAI-compatible server lists at `{base_url}/models`.
    pub async fn list_models(
        &self,
        base_url: &str,
        api_key_env: Option<&str>,
        allow_http_key: bool,
    ) -> Result<Vec<String>, UpstreamError> {
        openai::list_models(self, base_url, api_key_env, allow_http_key).await
    }

    /// Forwards a request of an OpenAI client to `model`'s upstream (see
    /// `openai::relay`): a pool's endpoints are tried in turn until one answers.
    pub async fn relay(
        &self,
        model: &ModelSpec,
        path: &str,
        body: &wire::RequestBody,
        stream: bool,
    ) -> Result<Relay, UpstreamError> {
        openai::relay(self, model, path, body, stream).await
    }

    /// The key values a model's endpoints would send, to scrub from what its upstreams say.
    #[must_use]
    pub fn key_values(model: &ModelSpec) -> Vec<String> {
        model
            .endpoints
            .iter()
            .filter_map(|e| openai::key(e.api_key_env.as_deref()).map(|(_, v)| v))
            .collect()
    }
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or `::1`.
#[must_use]
pub fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The longest piece of upstream error text kept, in characters.
const MAX_ERROR_CHARS: usize = 600;

/// Upstream text (an error message or body) made fit to store, print, log or return: the key
/// values in `secrets` and anything shaped like a credential (`Bearer …`, `sk-…`) replaced by
/// `[redacted]`, control characters and escape sequences removed, newlines folded, and the
/// length capped.
#[must_use]
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret, "[redacted]");
    }
    let out = redact_shapes(&out);
    let flat: String = crate::util::terminal_safe(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if flat.chars().count() > MAX_ERROR_CHARS {
        let cut: String = flat.chars().take(MAX_ERROR_CHARS).collect();
        format!("{cut}… (cut)")
    } else {
        flat
    }
}

/// Takes the keys a model's upstreams are sent out of its answer as the answer streams: an
/// upstream that echoes its key never gets it shown or stored. Text is passed on at once,
/// but for a tail that could still become a key with the next piece: a tail that begins a
/// key where a key can begin (not glued to the word before it), or one glued to a word but
/// longer than the key's public prefix (`sk-`, `test-`). So the `s` of "values" goes out at
/// once, and a key glued to a word is still taken out: its public prefix may show, the
/// secret rest never does.
#[derive(Debug, Default)]
pub struct KeyFilter {
    keys: Vec<String>,
    held: String,
    /// The end of what was passed on (as long as the longest key), where a key glued to a
    /// word may have begun.
    recent: String,
}

impl KeyFilter {
    /// A filter of these keys (those of fewer than 4 bytes are not taken for keys).
    #[must_use]
    pub fn new(keys: impl IntoIterator<Item = String>) -> Self {
        KeyFilter {
            keys: keys.into_iter().filter(|k| k.len() >= 4).collect(),
            held: String::new(),
            recent: String::new(),
        }
    }

    /// The next piece of the answer: what can be passed on now.
    pub fn push(&mut self, text: &str) -> String {
        if self.keys.is_empty() {
            return text.to_owned();
        }
        self.held.push_str(text);
        self.finish_begun_keys();
        for key in &self.keys {
            if self.held.contains(key.as_str()) {
                self.held = self.held.replace(key.as_str(), "[redacted]");
            }
        }
        let keep = self.keys.iter().map(|k| self.to_hold(k)).max().unwrap_or(0);
        // A key begins on a character, so the cut is on one too.
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_owned();
        self.held.drain(..cut);
        self.remember(&out);
        out
    }

    /// What is still held, at the end of the answer.
    pub fn finish(&mut self) -> String {
        self.recent.clear();
        std::mem::take(&mut self.held)
    }

    /// A key whose public prefix was passed on, completed by what is held now: its rest is
    /// taken out.
    fn finish_begun_keys(&mut self) {
        for key in &self.keys {
            let k = key.as_bytes();
            let r = self.recent.as_bytes();
            let begun = (1..k.len().min(r.len() + 1))
                .rev()
                .find(|&m| r.ends_with(&k[..m]) && self.held.as_bytes().starts_with(&k[m..]));
            if let Some(m) = begun {
                self.held.replace_range(..k.len() - m, "[redacted]");
                self.recent.clear();
            }
        }
    }

    /// How much of the held text's end must wait, for `key`.
    fn to_hold(&self, key: &str) -> usize {
        let t = [self.recent.as_bytes(), self.held.as_bytes()].concat();
        let k = key.as_bytes();
        let public = public_prefix(key);
        for m in (1..k.len().min(t.len() + 1)).rev() {
            if !t.ends_with(&k[..m]) {
                continue;
            }
            let start = t.len() - m;
            let glued = start > 0 && t[start - 1].is_ascii_alphanumeric();
            if !glued || m > public {
                return m.min(self.held.len());
            }
        }
        0
    }

    fn remember(&mut self, out: &str) {
        let longest = self.keys.iter().map(String::len).max().unwrap_or(0);
        self.recent.push_str(out);
        if self.recent.len() > longest {
            let mut from = self.recent.len() - longest;
            while !self.recent.is_char_boundary(from) {
                from += 1;
            }
            self.recent.drain(..from);
        }
    }
}

/// The length of a key's public prefix: up to its first `-` or `_` within 8 bytes (`sk-`,
/// `sk-proj-` starts with `sk-`), which every key of its kind shares; none for other keys.
fn public_prefix(key: &str) -> usize {
    key.bytes()
        .take(8)
        .position(|b| b == b'-' || b == b'_')
        .map_or(0, |i| i + 1)
}

/// Replaces `Bearer <token>` and `sk-<token>` shapes, whatever key they carry.
fn redact_shapes(text: &str) -> String {
    let is_token =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let lower = rest.to_ascii_lowercase();
        let bearer = lower.find("bearer ");
        let sk = lower.match_indices("sk-").map(|(i, _)| i).find(|&i| {
            // A word of its own: not the tail of another word ("task-list").
            rest[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric())
                && rest[i + 3..].chars().take_while(|&c| is_token(c)).count() >= 8
        });
        let (at, keep) = match (bearer, sk) {
            (Some(b), Some(s)) if s < b => (s, 3),
            (Some(b), _) => (b, 7),
            (None, Some(s)) => (s, 3),
            (None, None) => {
                out.push_str(rest);
                return out;
            }
        };
        out.push_str(&rest[..at + keep]);
        let tail = &rest[at + keep..];
        let token_len: usize = tail
            .chars()
            .take_while(|&c| is_token(c))
            .map(char::len_utf8)
            .sum();
        if token_len > 0 {
            out.push_str("[redacted]");
        }
        rest = &tail[token_len..];
    }
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

    /// The pieces through a filter of `keys`, then its end: all that came out.
    fn filtered(keys: &[&str], pieces: &[&str]) -> (Vec<String>, String) {
        let mut f = KeyFilter::new(keys.iter().map(|k| (*k).to_owned()));
        let out: Vec<String> = pieces.iter().map(|p| f.push(p)).collect();
        let end = f.finish();
        let all = out.concat() + &end;
        (out, all)
    }

    #[test]
    fn a_key_is_taken_out_however_the_stream_cuts_it() {
        let key = "sk-live-0123456789";
        let text = format!("the key is {key}, and again {key}. 完了");
        for cut in 1..text.len() {
            if !text.is_char_boundary(cut) {
                continue;
            }
            let (_, all) = filtered(&[key], &[&text[..cut], &text[cut..]]);
            assert_eq!(
                all, "the key is [redacted], and again [redacted]. 完了",
                "cut {cut}"
            );
        }
        // One byte at a time (each character whole).
        let pieces: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (_, all) = filtered(&[key], &pieces);
        assert!(!all.contains(key) && all.ends_with("完了"), "{all}");
    }

    #[test]
    fn text_that_cannot_begin_a_key_passes_at_once() {
        let (out, _) = filtered(&["sk-live-0123456789"], &["Hello, ", "world", " s"]);
        assert_eq!(out, ["Hello, ", "world", " "]);
        let (out, all) = filtered(&[], &["no keys: sk-"]);
        assert_eq!(
            (out[0].as_str(), all.as_str()),
            ("no keys: sk-", "no keys: sk-")
        );
        // A tail that only looked like a key's start comes out at the end.
        let (_, all) = filtered(&["sk-live-0123456789"], &["ends in sk-li"]);
        assert_eq!(all, "ends in sk-li");
    }

    #[test]
    fn only_what_could_still_become_a_key_is_held_back() {
        let key = "sk-live-0123456789";
        // The `s` of a word cannot begin a key of its own; the public `sk-` glued to a word
        // passes too.
        let (out, _) = filtered(&[key], &["three values", " and the tasks", " sk", "-l"]);
        assert_eq!(out, ["three values", " and the tasks", " ", ""]);
        let (out, _) = filtered(&[key], &["a tasksk-"]);
        assert_eq!(out, ["a tasksk-"]);
        // A key glued to a word is taken out however it is cut: at most its public prefix
        // shows.
        let text = format!("glued{key}, end");
        for cut in 1..text.len() {
            let (_, all) = filtered(&[key], &[&text[..cut], &text[cut..]]);
            assert!(
                all == "glued[redacted], end"
                    || all == "gluedsk-[redacted], end"
                    || all == "glueds[redacted], end"
                    || all == "gluedsk[redacted], end",
                "cut {cut}: {all}"
            );
        }
        let pieces: Vec<String> = text.chars().map(String::from).collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let (_, all) = filtered(&[key], &pieces);
        assert!(
            !all.contains("live-0123456789") && all.ends_with(", end"),
            "{all}"
        );
        // A key with no public prefix is held back wherever it may begin.
        let (out, all) = filtered(&["abcdefgh"], &["xab", "cdefgh!"]);
        assert_eq!((out[0].as_str(), all.as_str()), ("x", "x[redacted]!"));
    }

    #[test]
    fn credentials_are_scrubbed_from_upstream_text() {
        let text = "Incorrect API key provided: Bearer sk-live-abcdefgh1234 for \x1b[31mYOU\n\
                    also sk-proj-0123456789abcdef and secret-value-42 and task-list-items";
        let shown = scrub(text, &["secret-value-42"]);
        assert_eq!(
            shown,
            "Incorrect API key provided: Bearer [redacted] for YOU also sk-[redacted] and \
             [redacted] and task-list-items"
        );
        assert!(scrub(&"x".repeat(5000), &[]).ends_with("… (cut)"));
    }

    #[test]
    fn loopback_hosts_are_this_machine() {
        for (url, local) in [
            ("http://127.0.0.1:8000/v1", true),
            ("http://127.9.9.9/v1", true),
            ("http://[::1]:1/v1", true),
            ("http://localhost/v1", true),
            ("http://api.localhost/v1", true),
            ("http://10.0.0.5/v1", false),
            ("https://example.com/v1", false),
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert_eq!(is_loopback(&parsed), local, "{url}");
        }
    }

    #[test]
    fn blinding_removes_who_and_where() {
        use crate::error::UpstreamKind::{Other, Refused, Unreachable};
        let one = UpstreamError::of_model(
            Refused,
            "the upstream server failed (500)",
            "gpt-x",
            "gpt-x-1 at http://h/v1",
            "",
        );
        assert_eq!(one.shown, "the upstream server failed (500)");
        assert_eq!(
            UpstreamError::shown_of_kept(&one.message),
            "the upstream server failed (500)"
        );
        let failed = [
            UpstreamError::of_model(
                Unreachable,
                "cannot connect",
                "secret",
                "a at http://127.0.0.1:1/v1",
                "",
            ),
            UpstreamError::of_model(Other, "boom", "secret", "b at http://[::1]:2/v1", ""),
        ];
        let pool = openai::all_failed("secret", failed.to_vec());
        let shown = pool.shown.clone();
        assert_eq!(shown, "all 2 endpoints failed: cannot connect; boom");
        assert_eq!(UpstreamError::shown_of_kept(&pool.message), shown);
        assert!(!shown.contains("secret") && !shown.contains("127.0.0.1"));
    }
}
