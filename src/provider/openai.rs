//! The OpenAI-compatible client: `POST {base_url}/chat/completions` with `"stream": true`,
//! read as server-sent events, or as one JSON body when the upstream does not stream.
//! A pool's endpoints are tried in a random order until one starts answering.
//!
//! Everything read is bounded ([`Limits`]); every piece of upstream text that ends up in an
//! error is scrubbed of credentials ([`super::scrub`]); a key never travels over plain http
//! to another machine unless the model allows it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use super::{ChatRequest, Chunk, Limits, Upstream, UpstreamError, Usage};
use crate::config::{Endpoint, ModelSpec};

type Tx = mpsc::Sender<Result<Chunk, UpstreamError>>;

/// Streams the answer of `model` into `tx`, trying each endpoint of its pool once until one
/// starts answering. An error after the first piece of text is not retried: the answer so far
/// has been handed out already.
pub(super) async fn answer(
    up: &Upstream,
    model: &ModelSpec,
    request: &ChatRequest,
    tx: &Tx,
) -> Result<(), UpstreamError> {
    let mut order: Vec<&Endpoint> = model.endpoints.iter().collect();
    order.shuffle(&mut rand::rng());
    let mut failures = Vec::new();
    for endpoint in order {
        match attempt(up, model, endpoint, request, tx).await {
            Ok(()) => return Ok(()),
            Err(Attempt::Started(e)) => return Err(e),
            Err(Attempt::NotStarted(e)) => {
                // Blinded: this runs while a battle waits for its vote, and no log may name
                // its models (the full errors reach the battle's record).
                tracing::debug!(
                    "an endpoint failed, trying another: {}",
                    super::blind(&e.message)
                );
                failures.push(e);
            }
        }
    }
    match failures.len() {
        0 => Err(UpstreamError::new(format!(
            "no endpoint to call {}",
            super::who(&model.name, "")
        ))),
        1 => Err(failures.remove(0)),
        n => {
            let status = failures.last().and_then(|f| f.status);
            let all: Vec<String> = failures.into_iter().map(|f| f.message).collect();
            Err(UpstreamError {
                message: format!(
                    "all {n} endpoints failed {}: {}",
                    super::who(&model.name, ""),
                    all.join("; ")
                ),
                status,
            })
        }
    }
}

enum Attempt {
    /// Failed before any text was handed out: another endpoint may be tried.
    NotStarted(UpstreamError),
    /// Failed after text was handed out.
    Started(UpstreamError),
}

fn url(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

fn body(model: &ModelSpec, endpoint: &Endpoint, request: &ChatRequest) -> Value {
    let mut body = Map::new();
    for (k, v) in &model.params {
        body.insert(k.clone(), v.clone());
    }
    for (k, v) in &request.sampling {
        body.insert(k.clone(), v.clone());
    }
    body.insert("model".into(), json!(endpoint.model));
    body.insert("messages".into(), json!(request.messages));
    body.insert("stream".into(), json!(true));
    if let Some(t) = request.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(m) = request.max_tokens {
        body.insert("max_tokens".into(), json!(m));
    }
    Value::Object(body)
}

/// The key of an endpoint: the variable named and its value, when it is set.
pub(super) fn key(api_key_env: Option<&str>) -> Option<(String, String)> {
    let var = api_key_env?;
    let value = std::env::var(var).ok().filter(|v| !v.is_empty())?;
    Some((var.to_owned(), value))
}

/// Why the key must not go to `target`, if it must not: plain http to a host that is not
/// this machine, unless the model allows it.
fn refuse_plain_http(target: &str, var: &str, allowed: bool) -> Option<String> {
    let parsed = reqwest::Url::parse(target).ok()?;
    if allowed || parsed.scheme() != "http" || super::is_loopback(&parsed) {
        return None;
    }
    Some(format!(
        "refusing to send the key in {var} over plain http to {}: anyone on the way could read \
         it. Use https, or set \"allow_http_key\": true for this model in models.json if the \
         network is trusted",
        parsed.host_str().unwrap_or("the host")
    ))
}

/// Reads a body of at most `cap` bytes: the text, and whether there was more.
async fn read_capped(
    response: reqwest::Response,
    cap: u64,
    deadline: Instant,
) -> Result<(String, bool), reqwest::Error> {
    let mut bytes = Vec::new();
    let mut stream = response.bytes_stream();
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) | Ok(None) => return Ok((String::from_utf8_lossy(&bytes).into_owned(), false)),
            Ok(Some(Err(e))) => return Err(e),
            Ok(Some(Ok(piece))) => {
                let room = cap.saturating_sub(bytes.len());
                if piece.len() > room {
                    bytes.extend_from_slice(&piece[..room]);
                    return Ok((String::from_utf8_lossy(&bytes).into_owned(), true));
                }
                bytes.extend_from_slice(&piece);
            }
        }
    }
}

/// Posts `payload` to the context's target with the endpoint's key (refused over plain HTTP
/// unless the endpoint allows it). An answer that is not a success is the error, its body
/// read up to the error cap.
async fn post(
    up: &Upstream,
    ctx: &Ctx<'_>,
    key: Option<&(String, String)>,
    payload: &Value,
    deadline: Instant,
) -> Result<reqwest::Response, UpstreamError> {
    let mut builder = up.client_for(ctx.target).post(ctx.target);
    if let Some((var, value)) = key {
        if let Some(why) = refuse_plain_http(ctx.target, var, ctx.endpoint.allow_http_key) {
            return Err(ctx.err(None, &why));
        }
        builder = builder.bearer_auth(value);
    }
    let response = match tokio::time::timeout_at(deadline, builder.json(payload).send()).await {
        Err(_) => return Err(ctx.timed_out(up.timeouts.request)),
        Ok(Err(e)) => return Err(ctx.transport(&e)),
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    if !status.is_success() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = read_capped(response, up.limits.error_body_bytes, deadline)
            .await
            .map(|(t, _)| t)
            .unwrap_or_default();
        return Err(ctx.status(status.as_u16(), &text, location.as_deref()));
    }
    Ok(response)
}

async fn attempt(
    up: &Upstream,
    model: &ModelSpec,
    endpoint: &Endpoint,
    request: &ChatRequest,
    tx: &Tx,
) -> Result<(), Attempt> {
    let target = url(&endpoint.base_url, "chat/completions");
    let started = Instant::now();
    let deadline = started + up.timeouts.request;
    let key = key(endpoint.api_key_env.as_deref());
    let ctx = Ctx {
        model,
        endpoint,
        target: &target,
        secret: key.as_ref().map(|(_, v)| v.clone()),
    };
    let payload = body(model, endpoint, request);
    let response = post(up, &ctx, key.as_ref(), &payload, deadline)
        .await
        .map_err(Attempt::NotStarted)?;
    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        let text = match read_capped(response, up.limits.raw_answer_bytes(), deadline).await {
            Ok((_, true)) => {
                return Err(Attempt::NotStarted(ctx.err(
                    None,
                    &format!(
                        "the upstream sent a body of more than {} bytes (max_answer_bytes in \
                         config.jsonc)",
                        up.limits.raw_answer_bytes()
                    ),
                )));
            }
            Ok((t, false)) => t,
            Err(e) => return Err(Attempt::NotStarted(ctx.transport(&e))),
        };
        if Instant::now() >= deadline {
            return Err(Attempt::NotStarted(ctx.timed_out(up.timeouts.request)));
        }
        return whole(&ctx, &text, up.limits, tx)
            .await
            .map_err(Attempt::NotStarted);
    }

    // The raw stream is cut after the bytes an answer of the largest size could take, so
    // an endless stream, or one endless event, cannot grow in memory.
    let raw_cap = up.limits.raw_answer_bytes();
    let overflowed = Arc::new(AtomicBool::new(false));
    let flag = overflowed.clone();
    let bytes = response.bytes_stream().scan(0u64, move |seen, item| {
        if let Ok(piece) = &item {
            *seen += piece.len() as u64;
            if *seen > raw_cap {
                flag.store(true, Ordering::SeqCst);
                return std::future::ready(None);
            }
        }
        std::future::ready(Some(item))
    });
    let mut events = bytes.eventsource();
    let mut started_text = false;
    let mut text_bytes = 0u64;
    // An answer is complete only with `[DONE]` or a `finish_reason`: a connection that just
    // closes may have cut it short.
    let mut finished = false;
    loop {
        let wait = up
            .timeouts
            .idle
            .min(deadline.saturating_duration_since(Instant::now()));
        let fail = |e: UpstreamError| {
            if started_text {
                Attempt::Started(e)
            } else {
                Attempt::NotStarted(e)
            }
        };
        let next = match timeout(wait, events.next()).await {
            Err(_) if Instant::now() >= deadline => {
                return Err(fail(ctx.timed_out(up.timeouts.request)));
            }
            Err(_) => return Err(fail(ctx.idle(up.timeouts.idle))),
            Ok(None) if overflowed.load(Ordering::SeqCst) => {
                return Err(fail(ctx.err(
                    None,
                    &format!(
                        "the stream passed {raw_cap} bytes without ending (max_answer_bytes in \
                         config.jsonc)"
                    ),
                )));
            }
            Ok(None) if !finished => {
                return Err(fail(ctx.broken(
                    "the stream ended without `data: [DONE]` or a finish_reason, so the answer \
                     may be cut short",
                    "",
                )));
            }
            Ok(None) => {
                return if started_text {
                    Ok(())
                } else {
                    Err(Attempt::NotStarted(ctx.empty()))
                };
            }
            Ok(Some(Err(e))) => {
                return Err(fail(ctx.broken("the connection failed", &error_chain(&e))));
            }
            Ok(Some(Ok(event))) => event,
        };
        let data = next.data.trim();
        if data == "[DONE]" {
            return if started_text {
                Ok(())
            } else {
                Err(Attempt::NotStarted(ctx.empty()))
            };
        }
        if data.is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(data) {
            Ok(v) => v,
            Err(e) => {
                return Err(fail(
                    ctx.broken("an event that is not JSON", &e.to_string()),
                ));
            }
        };
        if let Some(message) = in_band_error(&value) {
            return Err(fail(ctx.in_band(&message)));
        }
        finished |= finish_reason(&value).is_some();
        for chunk in chunks(&value, "delta") {
            let chunk = match chunk {
                Chunk::Delta(text) => {
                    started_text = true;
                    match cap_text(text, &mut text_bytes, up.limits.answer_bytes) {
                        Ok(text) => Chunk::Delta(text),
                        Err(rest) => {
                            if !rest.is_empty() {
                                let _ = tx.send(Ok(Chunk::Delta(rest))).await;
                            }
                            return Err(Attempt::Started(ctx.too_long(up.limits.answer_bytes)));
                        }
                    }
                }
                other => other,
            };
            if tx.send(Ok(chunk)).await.is_err() {
                // The consumer is gone: stop reading, which drops the connection.
                return Ok(());
            }
        }
    }
}

/// Counts `text` against the answer's limit: the text when it fits, else `Err` with the
/// part that still fits.
fn cap_text(text: String, used: &mut u64, cap: u64) -> Result<String, String> {
    let room = cap.saturating_sub(*used);
    if text.len() as u64 <= room {
        *used += text.len() as u64;
        return Ok(text);
    }
    let mut end = usize::try_from(room).unwrap_or(usize::MAX).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *used = cap;
    Err(text[..end].to_owned())
}

/// A non-streamed `chat.completion` body.
async fn whole(ctx: &Ctx<'_>, text: &str, limits: Limits, tx: &Tx) -> Result<(), UpstreamError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ctx.broken("a body that is not JSON", &e.to_string()))?;
    if let Some(message) = in_band_error(&value) {
        return Err(ctx.in_band(&message));
    }
    let pieces = chunks(&value, "message");
    if !pieces.iter().any(|c| matches!(c, Chunk::Delta(_))) {
        return Err(ctx.empty());
    }
    let mut used = 0;
    for chunk in pieces {
        let chunk = match chunk {
            Chunk::Delta(text) => match cap_text(text, &mut used, limits.answer_bytes) {
                Ok(text) => Chunk::Delta(text),
                Err(rest) => {
                    let _ = tx.send(Ok(Chunk::Delta(rest))).await;
                    return Err(ctx.too_long(limits.answer_bytes));
                }
            },
            other => other,
        };
        if tx.send(Ok(chunk)).await.is_err() {
            break;
        }
    }
    Ok(())
}

/// The text and usage in a completion or chunk object; `field` is `delta` or `message`.
fn chunks(value: &Value, field: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    if let Some(choices) = value.get("choices").and_then(Value::as_array) {
        for choice in choices.iter().take(1) {
            if let Some(text) = choice
                .get(field)
                .and_then(|d| d.get("content"))
                .and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(Chunk::Delta(text.to_owned()));
            }
        }
    }
    if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
        out.push(Chunk::Usage(Usage {
            prompt_tokens: usage.get("prompt_tokens").and_then(Value::as_u64),
            completion_tokens: usage.get("completion_tokens").and_then(Value::as_u64),
        }));
    }
    out
}

/// The `finish_reason` of the first choice, when the chunk carries one.
fn finish_reason(value: &Value) -> Option<&str> {
    value
        .get("choices")?
        .as_array()?
        .first()?
        .get("finish_reason")?
        .as_str()
}

fn in_band_error(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    Some(
        error
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| error.to_string(), str::to_owned),
    )
}

/// Who was called, for messages; and the key sent, to scrub from what comes back.
struct Ctx<'a> {
    model: &'a ModelSpec,
    endpoint: &'a Endpoint,
    target: &'a str,
    secret: Option<String>,
}

impl Ctx<'_> {
    /// Upstream text made safe to keep: see [`super::scrub`].
    fn clean(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        super::scrub(text, &secrets)
    }

    fn err(&self, status: Option<u16>, what: &str) -> UpstreamError {
        self.err_said(status, what, "")
    }

    /// [`Self::err`] with the upstream's own words (`said`), which go where the model's name
    /// goes: see [`worded`].
    fn err_said(&self, status: Option<u16>, what: &str, said: &str) -> UpstreamError {
        let secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        let place = format!("{} at {}", self.endpoint.model, self.target);
        UpstreamError {
            message: worded(what, &self.model.name, &place, said, &secrets),
            status,
        }
    }

    fn transport(&self, e: &reqwest::Error) -> UpstreamError {
        if let Some(tls) = tls_failure(e) {
            self.err_said(
                None,
                "the TLS connection failed: is the address https on a server that speaks TLS, \
                 with a certificate this machine trusts for that host name?",
                &tls,
            )
        } else if e.is_connect() {
            self.err(
                None,
                "cannot connect: is the server running and the base_url in models.json right?",
            )
        } else if e.is_timeout() {
            self.err(None, "the connection timed out")
        } else {
            self.err_said(None, "the request failed", &error_chain(e))
        }
    }

    fn timed_out(&self, limit: Duration) -> UpstreamError {
        self.err(
            None,
            &format!(
                "no complete answer within {} s (request_timeout_seconds in config.jsonc)",
                limit.as_secs()
            ),
        )
    }

    fn idle(&self, limit: Duration) -> UpstreamError {
        self.err(
            None,
            &format!(
                "the stream stalled: nothing arrived for {} s (stream_idle_timeout_seconds in config.jsonc)",
                limit.as_secs()
            ),
        )
    }

    fn empty(&self) -> UpstreamError {
        self.err(None, "the upstream answered with no text")
    }

    fn too_long(&self, cap: u64) -> UpstreamError {
        self.err(
            None,
            &format!(
                "the answer passed {cap} bytes (max_answer_bytes in config.jsonc) and was cut there"
            ),
        )
    }

    fn broken(&self, what: &str, said: &str) -> UpstreamError {
        self.err_said(None, &format!("the answer broke off: {what}"), said)
    }

    fn in_band(&self, message: &str) -> UpstreamError {
        self.err_said(None, "the upstream reported an error", message)
    }

    fn status(&self, code: u16, body: &str, location: Option<&str>) -> UpstreamError {
        let detail = upstream_message(body);
        let key_hint = match self.endpoint.api_key_env.as_deref() {
            Some(var) if std::env::var_os(var).is_none_or(|v| v.is_empty()) => {
                format!("; the environment variable {var} is not set")
            }
            Some(var) => format!("; check the key in the environment variable {var}"),
            None => "; no key was sent: name the environment variable that holds it with \
                     api_key_env for this model in models.json"
                .into(),
        };
        let what = match code {
            300..=399 => {
                let to = location.map_or_else(|| "another address".to_owned(), |l| self.clean(l));
                return self.err_said(
                    Some(code),
                    &format!(
                        "the upstream redirected ({code}): redirects are not followed, since the \
                         prompt and the key would go to another host; set base_url to the final \
                         address"
                    ),
                    &format!("to {to}"),
                );
            }
            401 => format!("the upstream refused the API key (401 Unauthorized){key_hint}"),
            403 => format!("the upstream denied access (403 Forbidden){key_hint}"),
            // The id itself is in the `who` part, hidden until the vote.
            404 => "not found (404): check the model id and the base_url in models.json".into(),
            413 => "the request is too large for the upstream (413): shorten the prompt".into(),
            422 => {
                "the upstream rejected the request as invalid (422): check `params` in models.json"
                    .into()
            }
            429 => {
                "the upstream is rate limiting (429): wait and try again, or lower the load".into()
            }
            500..=599 => format!("the upstream server failed ({code})"),
            _ => format!("the upstream answered with status {code}"),
        };
        let said = if (300..400).contains(&code) {
            ""
        } else {
            detail.as_str()
        };
        self.err_said(Some(code), &what, said)
    }
}

/// The `error.message` of an OpenAI-style error body, or the start of the body.
fn upstream_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(m) = in_band_error(&v).or_else(|| {
            v.get("detail")
                .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned))
        })
    {
        return m;
    }
    body.trim().chars().take(200).collect()
}

/// The TLS error behind a failed request, if that is what it was: an https connection that
/// failed after the TCP connection and the name lookup succeeded.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    use std::io::ErrorKind;
    let https = e.url().is_some_and(|u| u.scheme() == "https");
    if !https || !e.is_connect() {
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut last = String::new();
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(tls.to_string());
            }
            // A failure of the TCP connection itself is not TLS.
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::TimedOut
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NotFound
            ) {
                return None;
            }
        }
        last = s.to_string();
        source = s.source();
    }
    let lookup = error_chain(e).contains("dns error");
    (!lookup).then_some(last)
}

/// An error's message: `what`, which may be shown while the models are hidden, then, in the
/// part [`super::blind`] removes, the model, where it was called and what the upstream said
/// (`said`, keys scrubbed: its words may name the model, a transport error names the address).
fn worded(what: &str, name: &str, place: &str, said: &str, secrets: &[&str]) -> String {
    // Brackets of its own would end the hidden part early (scrub's own are balanced).
    let said = super::scrub(&said.replace('[', "(").replace(']', ")"), secrets);
    let place = if said.trim().is_empty() {
        place.to_owned()
    } else {
        format!("{place}; it said: {}", said.trim())
    };
    format!("{what} {}", super::who(name, &place))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// `GET {base_url}/models`.
pub(super) async fn list_models(
    up: &Upstream,
    base_url: &str,
    api_key_env: Option<&str>,
    allow_http_key: bool,
) -> Result<Vec<String>, UpstreamError> {
    let target = url(base_url, "models");
    let key = key(api_key_env);
    let secrets: Vec<&str> = key.iter().map(|(_, v)| v.as_str()).collect();
    let fail =
        |what: &str| UpstreamError::new(format!("{target}: {}", super::scrub(what, &secrets)));
    let mut builder = up.client_for(&target).get(&target);
    if let Some((var, value)) = &key {
        if let Some(why) = refuse_plain_http(&target, var, allow_http_key) {
            return Err(UpstreamError::new(format!("{target}: {why}")));
        }
        builder = builder.bearer_auth(value);
    }
    let deadline = Instant::now() + up.timeouts.request;
    let response = match tokio::time::timeout_at(deadline, builder.send()).await {
        Err(_) => return Err(fail("no answer in time (request_timeout_seconds)")),
        Ok(Err(e)) => return Err(fail(&error_chain(&e))),
        Ok(Ok(r)) => r,
    };
    let status = response.status();
    let cap = if status.is_success() {
        up.limits.listing_bytes
    } else {
        up.limits.error_body_bytes
    };
    let (text, cut) = read_capped(response, cap, deadline)
        .await
        .map_err(|e| fail(&error_chain(&e)))?;
    if !status.is_success() {
        return Err(UpstreamError {
            message: format!(
                "{target}: status {}: {}",
                status.as_u16(),
                super::scrub(&upstream_message(&text), &secrets)
            ),
            status: Some(status.as_u16()),
        });
    }
    if cut {
        return Err(fail(&format!(
            "the listing is larger than {cap} bytes (max_listing_bytes in config.jsonc)"
        )));
    }
    let value: Value =
        serde_json::from_str(&text).map_err(|e| fail(&format!("not a JSON body ({e})")))?;
    let ids = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("no `data` array in the answer"))?
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .map(crate::util::terminal_safe)
        .collect();
    Ok(ids)
}

/// An upstream's answer to a proxied request.
pub enum Relay {
    /// A JSON body (a request that did not stream, or an upstream that would not).
    Whole(Value),
    /// Server-sent events, each a JSON object, as they arrive. Dropping it closes the
    /// connection to the upstream.
    Stream(RelayStream),
}

/// The events of a proxied stream.
pub type RelayStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Value, UpstreamError>> + Send>>;

/// Statuses after which another endpoint of the pool is worth a try: the request itself
/// may be fine.
fn try_another(status: Option<u16>) -> bool {
    status.is_none_or(|s| matches!(s, 401 | 403 | 404 | 408 | 429) || s >= 500)
}

/// Forwards `body` to `path` (`chat/completions`, `completions`, `images/generations`) of
/// one endpoint of `model` after another, in a random order, until one answers: only before
/// anything of an answer was taken, so a client never gets two answers spliced. The body
/// keeps every field the client sent; `model` becomes the endpoint's upstream id, the
/// model's `params` fill in fields the client left out, and `stream` is `stream`.
pub(super) async fn relay(
    up: &Upstream,
    model: &ModelSpec,
    path: &str,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<Relay, UpstreamError> {
    let mut order: Vec<&Endpoint> = model.endpoints.iter().collect();
    order.shuffle(&mut rand::rng());
    let mut last = None;
    for endpoint in order {
        match relay_once(up, model, endpoint, path, body, stream).await {
            Ok(r) => return Ok(unkeyed(r, Upstream::key_values(model))),
            Err(e) if try_another(e.status) => {
                tracing::debug!("an endpoint failed, trying another: {}", e.message);
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        UpstreamError::new(format!(
            "no endpoint to call {}",
            super::who(&model.name, "")
        ))
    }))
}

/// A relayed answer without the keys an upstream echoes in its text (`content` of a choice's
/// `message` or `delta`, or its `text`): see [`super::KeyFilter`]. A stream keeps a filter per
/// choice and lets a choice's held tail out with its `finish_reason`.
fn unkeyed(relay: Relay, keys: Vec<String>) -> Relay {
    if keys.iter().all(|k| k.len() < 4) {
        return relay;
    }
    match relay {
        Relay::Whole(mut value) => {
            for_each_text(&mut value, |_, text, _| {
                let mut f = super::KeyFilter::new(keys.iter().cloned());
                *text = f.push(text) + &f.finish();
            });
            Relay::Whole(value)
        }
        Relay::Stream(stream) => {
            let mut filters: std::collections::HashMap<u64, super::KeyFilter> =
                std::collections::HashMap::new();
            Relay::Stream(Box::pin(stream.map(move |item| {
                let mut value = item?;
                for_each_text(&mut value, |index, text, finished| {
                    let f = filters
                        .entry(index)
                        .or_insert_with(|| super::KeyFilter::new(keys.iter().cloned()));
                    let mut out = f.push(text);
                    if finished {
                        out.push_str(&f.finish());
                    }
                    *text = out;
                });
                Ok(value)
            })))
        }
    }
}

/// Calls `f(index, text, finished)` on the text of every choice of a completion or chunk
/// (`message.content`, `delta.content` or `text`); a finished choice with no text is given
/// one for the call, so that what a filter holds has a place to go, and keeps it only when
/// it is not empty.
fn for_each_text(value: &mut Value, mut f: impl FnMut(u64, &mut String, bool)) {
    let Some(choices) = value.get_mut("choices").and_then(Value::as_array_mut) else {
        return;
    };
    for choice in choices {
        let index = choice.get("index").and_then(Value::as_u64).unwrap_or(0);
        let finished = choice.get("finish_reason").is_some_and(Value::is_string);
        let Some(choice) = choice.as_object_mut() else {
            continue;
        };
        if let Some(Value::String(text)) = choice.get_mut("text") {
            f(index, text, finished);
            continue;
        }
        let Some(m) = ["message", "delta"]
            .into_iter()
            .find(|k| choice.get(*k).is_some_and(Value::is_object))
            .and_then(|k| choice.get_mut(k))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        let added = finished && !m.get("content").is_some_and(Value::is_string);
        if added {
            m.insert("content".into(), Value::String(String::new()));
        }
        if let Some(Value::String(text)) = m.get_mut("content") {
            f(index, text, finished);
            if added && text.is_empty() {
                m.remove("content");
            }
        }
    }
}

async fn relay_once(
    up: &Upstream,
    model: &ModelSpec,
    endpoint: &Endpoint,
    path: &str,
    body: &Map<String, Value>,
    stream: bool,
) -> Result<Relay, UpstreamError> {
    let target = url(&endpoint.base_url, path);
    let deadline = Instant::now() + up.timeouts.request;
    let key = key(endpoint.api_key_env.as_deref());
    let ctx = Ctx {
        model,
        endpoint,
        target: &target,
        secret: key.as_ref().map(|(_, v)| v.clone()),
    };
    let mut payload = body.clone();
    for (k, v) in &model.params {
        payload.entry(k.clone()).or_insert_with(|| v.clone());
    }
    payload.insert("model".into(), json!(endpoint.model));
    if path != "images/generations" {
        payload.insert("stream".into(), json!(stream));
    }
    let payload = Value::Object(payload);
    let response = post(up, &ctx, key.as_ref(), &payload, deadline).await?;
    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        let (text, cut) = read_capped(response, up.limits.raw_answer_bytes(), deadline)
            .await
            .map_err(|e| ctx.transport(&e))?;
        if cut {
            return Err(ctx.err(
                None,
                "the upstream's answer is larger than max_answer_bytes allows",
            ));
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| ctx.broken("a body that is not JSON", &e.to_string()))?;
        if let Some(message) = in_band_error(&value) {
            return Err(ctx.in_band(&message));
        }
        return Ok(Relay::Whole(value));
    }
    let raw_cap = up.limits.raw_answer_bytes();
    let bytes = response.bytes_stream().scan(0u64, move |seen, item| {
        if let Ok(piece) = &item {
            *seen += piece.len() as u64;
            if *seen > raw_cap {
                return std::future::ready(None);
            }
        }
        std::future::ready(Some(item))
    });
    let events: EventStream = Box::pin(bytes.eventsource());
    let idle = up.timeouts.idle;
    let label = format!("{} at {target}", endpoint.model);
    let secret = ctx.secret.clone();
    let name = model.name.clone();
    let fail = move |what: &str, said: &str| UpstreamError {
        message: worded(
            what,
            &name,
            &label,
            said,
            &secret.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        status: None,
    };
    // The first event decides whether this endpoint answers at all.
    let mut state = (events, deadline, false, fail, false);
    let first = next_event(&mut state, idle).await;
    let first = match first {
        None => {
            return Err((state.3)(
                "the upstream's stream ended before any answer",
                "",
            ));
        }
        Some(Err(e)) => return Err(e),
        Some(Ok(v)) => v,
    };
    let rest = futures_util::stream::unfold(state, move |mut state| async move {
        let item = next_event(&mut state, idle).await?;
        Some((item, state))
    });
    Ok(Relay::Stream(Box::pin(
        futures_util::stream::once(std::future::ready(Ok(first))).chain(rest),
    )))
}

/// The events of an upstream's stream.
type EventStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// A relayed stream's events, its deadline, whether it is over, how to word a failure, and
/// whether a chunk has said its answer is finished.
type EventState<F> = (EventStream, Instant, bool, F, bool);

/// The next JSON event of a relayed stream: `None` at `[DONE]` (or the end), an error for a
/// broken or stalled stream or an in-band error, after which the stream ends.
async fn next_event<F: Fn(&str, &str) -> UpstreamError>(
    state: &mut EventState<F>,
    idle: Duration,
) -> Option<Result<Value, UpstreamError>> {
    let (events, deadline, done, fail, finished) = state;
    if *done {
        return None;
    }
    loop {
        let wait = idle.min(deadline.saturating_duration_since(Instant::now()));
        let next = timeout(wait, events.next()).await;
        let event = match next {
            Err(_) => {
                *done = true;
                return Some(Err(fail(
                    "the stream stalled or ran past request_timeout_seconds",
                    "",
                )));
            }
            Ok(None) => {
                *done = true;
                // Without `[DONE]`, only a finish_reason tells a whole answer from a cut one.
                return (!*finished).then(|| {
                    Err(fail(
                        "the stream ended before the answer did (no finish_reason, no [DONE])",
                        "",
                    ))
                });
            }
            Ok(Some(Err(e))) => {
                *done = true;
                return Some(Err(fail("the stream broke off", &error_chain(&e))));
            }
            Ok(Some(Ok(event))) => event,
        };
        let data = event.data.trim();
        if data == "[DONE]" {
            *done = true;
            return None;
        }
        if data.is_empty() {
            continue;
        }
        return Some(match serde_json::from_str::<Value>(data) {
            Ok(v) => match in_band_error(&v) {
                Some(m) => {
                    *done = true;
                    Err(fail("the upstream reported an error", &m))
                }
                None => {
                    let says_finished = v
                        .get("choices")
                        .and_then(Value::as_array)
                        .is_some_and(|c| c.iter().any(|c| c["finish_reason"].is_string()));
                    *finished |= says_finished;
                    Ok(v)
                }
            },
            Err(e) => {
                *done = true;
                Err(fail("an event that is not JSON", &e.to_string()))
            }
        });
    }
}
