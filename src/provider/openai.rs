//! The OpenAI-compatible client, one pipeline for battles and the proxy: wait for a slot of
//! the endpoint's server (`max_concurrent`), `POST {base_url}/{path}`, fail over to another
//! endpoint of the pool before the answer has begun, cap what is read, and read the answer as
//! server-sent events ([`super::sse`]) or as one JSON body when the upstream does not stream.
//!
//! An answer is whole only when a chunk said why it ended (`finish_reason`): a stream that
//! closes, or says `data: [DONE]`, without one was cut short (llama.cpp's server ends a
//! running answer that way when a second request takes its slot).
//!
//! Everything read is bounded ([`Limits`]); every piece of upstream text that ends up in an
//! error is scrubbed of credentials ([`super::scrub`]); a key never travels over plain http
//! to another machine unless the model allows it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use rand::seq::SliceRandom;
use serde_json::{Map, Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::{Instant, timeout};

use super::{ChatRequest, Chunk, Upstream, UpstreamError, UpstreamKind, Usage, sse};
use crate::config::{Endpoint, ModelSpec};

type Tx = mpsc::Sender<Result<Chunk, UpstreamError>>;

/// What every clone of an [`Upstream`] shares.
#[derive(Debug, Default)]
pub(super) struct Shared {
    /// The slots of each server with a `max_concurrent`, by base URL and limit.
    slots: Mutex<HashMap<(String, u32), Arc<Semaphore>>>,
    /// Endpoints (base URL, upstream id) that refused `stream_options`: asked without it.
    no_usage: Mutex<HashSet<(String, String)>>,
}

impl Shared {
    fn semaphore(&self, endpoint: &Endpoint) -> Option<Arc<Semaphore>> {
        let n = endpoint.max_concurrent?;
        let server = endpoint.base_url.trim_end_matches('/').to_owned();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let permits = usize::try_from(n).unwrap_or(usize::MAX);
        Some(
            slots
                .entry((server, n))
                .or_insert_with(|| Arc::new(Semaphore::new(permits)))
                .clone(),
        )
    }

    /// Whether a request to `endpoint` would wait for its slot now.
    fn busy(&self, endpoint: &Endpoint) -> bool {
        self.semaphore(endpoint)
            .is_some_and(|s| s.available_permits() == 0)
    }

    /// Waits for a slot of `endpoint`'s server; none is needed without a limit.
    async fn slot(&self, endpoint: &Endpoint) -> Option<OwnedSemaphorePermit> {
        // The semaphores are never closed, so acquiring only fails if that changes.
        self.semaphore(endpoint)?.acquire_owned().await.ok()
    }

    fn takes_usage(&self, endpoint: &Endpoint) -> bool {
        !self
            .no_usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(endpoint.base_url.clone(), endpoint.model.clone()))
    }

    fn refused_usage(&self, endpoint: &Endpoint) {
        self.no_usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((endpoint.base_url.clone(), endpoint.model.clone()));
    }
}

/// Streams the answer of `model` into `tx`, trying each endpoint of its pool once until one
/// starts answering with text. An error after the first piece of text is not retried: the
/// answer so far has been handed out already. Asks for usage in the stream
/// (`stream_options.include_usage`) from every endpoint that has not refused it.
pub(super) async fn answer(
    up: &Upstream,
    model: &ModelSpec,
    request: &ChatRequest,
    tx: &Tx,
) -> Result<(), UpstreamError> {
    let call = Call {
        path: "chat/completions",
        body: &|endpoint: &Endpoint, usage: bool| {
            serde_json::to_vec(&chat_body(model, endpoint, request, usage)).unwrap_or_default()
        },
        begun: has_text,
        ask_usage: true,
    };
    let mut used = 0u64;
    let cap = up.limits.answer_bytes;
    match open(up, model, &call).await? {
        Opened::Whole(value, ctx) => {
            let finish = finish_reason(&value).map(str::to_owned);
            for chunk in chunks(&value, "message") {
                if !pass(chunk, &mut used, cap, &ctx, tx).await? {
                    return Ok(());
                }
            }
            let _ = tx
                .send(Ok(Chunk::Finish(finish.unwrap_or_else(|| "stop".into()))))
                .await;
            Ok(())
        }
        Opened::Stream(head, mut rest) => {
            let mut finish = None;
            let mut next = head.into_iter();
            loop {
                let value = match next.next() {
                    Some(v) => v,
                    None => match rest.next().await {
                        Some(item) => item?,
                        None => break,
                    },
                };
                if finish.is_none() {
                    finish = finish_reason(&value).map(str::to_owned);
                }
                for chunk in chunks(&value, "delta") {
                    if !pass(chunk, &mut used, cap, &rest.ctx, tx).await? {
                        // The consumer is gone: stop reading, which drops the connection.
                        return Ok(());
                    }
                }
            }
            // A stream ends without error only once a chunk said why it ended.
            let finish = finish.unwrap_or_else(|| "stop".into());
            let _ = tx.send(Ok(Chunk::Finish(finish))).await;
            Ok(())
        }
    }
}

/// Hands a chunk on, its text counted against the answer's limit: `false` when the consumer
/// is gone, an error once the answer is too long (what still fits handed on first).
async fn pass(
    chunk: Chunk,
    used: &mut u64,
    cap: u64,
    ctx: &Ctx,
    tx: &Tx,
) -> Result<bool, UpstreamError> {
    let chunk = match chunk {
        Chunk::Delta(text) => match cap_text(text, used, cap) {
            Ok(text) => Chunk::Delta(text),
            Err(rest) => {
                if !rest.is_empty() {
                    let _ = tx.send(Ok(Chunk::Delta(rest))).await;
                }
                return Err(ctx.too_long(cap));
            }
        },
        other => other,
    };
    Ok(tx.send(Ok(chunk)).await.is_ok())
}

/// One call to a model, whichever endpoint answers it.
struct Call<'a> {
    /// Under the endpoint's base URL: `chat/completions`, `completions`, `images/generations`.
    path: &'a str,
    /// The body for an endpoint, asking for usage in the stream or not.
    body: &'a (dyn Fn(&Endpoint, bool) -> Vec<u8> + Sync),
    /// Whether an event (or a whole body) shows that the answer has begun: until then,
    /// another endpoint may still be tried, since nothing has been handed out.
    begun: fn(&Value) -> bool,
    /// Whether to ask for usage (`stream_options.include_usage`) where it is taken.
    ask_usage: bool,
}

/// An answer that has begun.
enum Opened {
    /// One JSON body.
    Whole(Value, Ctx),
    /// Server-sent events: those read until the answer began, and the rest.
    Stream(Vec<Value>, Box<Events>),
}

/// Calls the endpoints of `model` one after another, in a random order (those whose server
/// has a free slot first), until one's answer begins. An endpoint's failure moves on to the
/// next only when another might do better ([`try_another`]): a request the upstream refuses
/// as invalid is refused by the others too.
async fn open(up: &Upstream, model: &ModelSpec, call: &Call<'_>) -> Result<Opened, UpstreamError> {
    let mut order: Vec<&Endpoint> = model.endpoints.iter().collect();
    order.shuffle(&mut rand::rng());
    order.sort_by_key(|e| up.shared.busy(e));
    let mut failures = Vec::new();
    for endpoint in order {
        match open_one(up, model, endpoint, call).await {
            Ok(opened) => return Ok(opened),
            Err(e) if try_another(e.status) => {
                // Blinded: this runs while a battle waits for its vote, and no log may name
                // its models (the full errors reach the battle's record).
                tracing::debug!("an endpoint failed, trying another: {}", e.shown);
                failures.push(e);
            }
            Err(e) => return Err(e),
        }
    }
    match failures.len() {
        0 => Err(UpstreamError::of_model(
            UpstreamKind::Other,
            "no endpoint to call",
            &model.name,
            "",
            "",
        )),
        1 => Err(failures.remove(0)),
        _ => Err(all_failed(&model.name, failures)),
    }
}

/// The failure of every endpoint of `model`: the status of the last, a timeout if any timed
/// out, and each one's words, blinded in the part that may be shown.
pub(super) fn all_failed(model: &str, failures: Vec<UpstreamError>) -> UpstreamError {
    let n = failures.len();
    let status = failures.last().and_then(|f| f.status);
    let kind = if failures.iter().any(|f| f.kind == UpstreamKind::Timeout) {
        UpstreamKind::Timeout
    } else {
        failures.last().map_or(UpstreamKind::Other, |f| f.kind)
    };
    let mut all =
        UpstreamError::of_model(kind, &format!("all {n} endpoints failed"), model, "", "")
            .with_status(status);
    let full: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
    let shown: Vec<&str> = failures.iter().map(|f| f.shown.as_str()).collect();
    all.message = format!("{}: {}", all.message, full.join("; "));
    all.shown = format!("{}: {}", all.shown, shown.join("; "));
    all
}

/// One endpoint's answer, up to where it begins.
async fn open_one(
    up: &Upstream,
    model: &ModelSpec,
    endpoint: &Endpoint,
    call: &Call<'_>,
) -> Result<Opened, UpstreamError> {
    let target = url(&endpoint.base_url, call.path);
    let key = key(endpoint.api_key_env.as_deref());
    let ctx = Ctx {
        name: model.name.clone(),
        endpoint: endpoint.clone(),
        target,
        secret: key.as_ref().map(|(_, v)| v.clone()),
    };
    // The request's time starts once its server has a slot for it.
    let slot = up.shared.slot(endpoint).await;
    let deadline = Instant::now() + up.timeouts.request;
    let mut usage = call.ask_usage && up.shared.takes_usage(endpoint);
    let response = loop {
        let payload = (call.body)(endpoint, usage);
        match post(up, &ctx, key.as_ref(), payload, deadline).await {
            Err(e) if usage && refuses_usage(&e) => {
                // Asked again without it, here and from now on; the answer's tokens are
                // then estimated.
                tracing::info!("an endpoint does not take stream_options: asking without it");
                up.shared.refused_usage(endpoint);
                usage = false;
            }
            other => break other?,
        }
    };
    let is_sse = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !is_sse {
        let cap = up.limits.raw_answer_bytes();
        let text = match read_capped(response, cap, deadline).await {
            Ok((_, true)) => {
                return Err(ctx.err(
                    UpstreamKind::BadAnswer,
                    &format!(
                        "the upstream sent a body of more than {cap} bytes (max_answer_bytes in \
                         config.jsonc)"
                    ),
                ));
            }
            Ok((t, false)) => t,
            Err(e) => return Err(ctx.transport(&e)),
        };
        drop(slot);
        if Instant::now() >= deadline {
            return Err(ctx.timed_out(up.timeouts.request));
        }
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| ctx.broken("a body that is not JSON", &e.to_string()))?;
        if let Some(message) = in_band_error(&value) {
            return Err(ctx.in_band(&message));
        }
        if !(call.begun)(&value) {
            return Err(ctx.empty());
        }
        return Ok(Opened::Whole(value, ctx));
    }
    let mut events = Events {
        response,
        parser: sse::Parser::new(),
        ready: VecDeque::new(),
        raw: 0,
        raw_cap: up.limits.raw_answer_bytes(),
        deadline,
        idle: up.timeouts.idle,
        request: up.timeouts.request,
        finished: false,
        over: false,
        ctx,
        slot,
    };
    let mut head = Vec::new();
    loop {
        match events.next().await {
            Some(Ok(v)) => {
                let begun = (call.begun)(&v);
                head.push(v);
                if begun {
                    return Ok(Opened::Stream(head, Box::new(events)));
                }
            }
            Some(Err(e)) => return Err(e),
            None => return Err(events.ctx.empty()),
        }
    }
}

/// Whether an upstream's refusal is of `stream_options`: a 400 (or 422) whose message names
/// it, as OpenAI-compatible servers that do not know the field answer.
fn refuses_usage(e: &UpstreamError) -> bool {
    matches!(e.status, Some(400 | 422))
        && (e.said.contains("stream_options") || e.said.contains("include_usage"))
}

/// Whether a chunk or completion carries text of the answer.
fn has_text(value: &Value) -> bool {
    chunks(value, "delta")
        .iter()
        .chain(chunks(value, "message").iter())
        .any(|c| matches!(c, Chunk::Delta(_)))
}

/// The JSON events of an upstream's stream, read with its caps and timeouts, while holding
/// its server's slot.
pub(super) struct Events {
    response: reqwest::Response,
    parser: sse::Parser,
    /// Events parsed and not yet handed out.
    ready: VecDeque<sse::Event>,
    /// Raw bytes read, and the most that may be.
    raw: u64,
    raw_cap: u64,
    deadline: Instant,
    idle: Duration,
    request: Duration,
    /// A chunk has said why the answer ended.
    finished: bool,
    /// The stream has ended (or failed): nothing more comes.
    over: bool,
    ctx: Ctx,
    slot: Option<OwnedSemaphorePermit>,
}

impl Events {
    /// The next JSON event: `None` once the answer is whole; an error for a stream that is
    /// broken, stalled, too long or cut short, or that reports an error, after which it ends.
    pub(super) async fn next(&mut self) -> Option<Result<Value, UpstreamError>> {
        if self.over {
            return None;
        }
        let item = self.read().await;
        if !matches!(item, Some(Ok(_))) {
            self.over = true;
            // The server's slot is free as soon as this answer is over.
            self.slot = None;
        }
        item
    }

    async fn read(&mut self) -> Option<Result<Value, UpstreamError>> {
        loop {
            let Some(event) = self.ready.pop_front() else {
                if let Err(e) = self.fill().await {
                    return e;
                }
                continue;
            };
            let data = event.data.trim();
            if data == "[DONE]" {
                return (!self.finished).then(|| {
                    Err(self.ctx.broken(
                        "the stream said `data: [DONE]` but no chunk gave a finish_reason, so \
                         the answer may be cut short (a server with one slot ends a running \
                         answer so when another request arrives: set max_concurrent for it in \
                         models.json)",
                        "",
                    ))
                });
            }
            if data.is_empty() {
                continue;
            }
            let value: Value = match serde_json::from_str(data) {
                Ok(v) => v,
                Err(e) => {
                    return Some(Err(self
                        .ctx
                        .broken("an event that is not JSON", &e.to_string())));
                }
            };
            if let Some(message) = in_band_error(&value) {
                return Some(Err(self.ctx.in_band(&message)));
            }
            self.finished |= says_finished(&value);
            return Some(Ok(value));
        }
    }

    /// Reads the next piece of the stream into the parser; `Err` with what [`Self::read`]
    /// answers when the stream ends or fails instead.
    async fn fill(&mut self) -> Result<(), Option<Result<Value, UpstreamError>>> {
        let wait = self
            .idle
            .min(self.deadline.saturating_duration_since(Instant::now()));
        let piece = match timeout(wait, self.response.chunk()).await {
            Err(_) if Instant::now() >= self.deadline => {
                return Err(Some(Err(self.ctx.timed_out(self.request))));
            }
            Err(_) => return Err(Some(Err(self.ctx.idle(self.idle)))),
            Ok(Ok(None)) if self.finished => return Err(None),
            Ok(Ok(None)) => {
                return Err(Some(Err(self.ctx.broken(
                    "the stream ended without `data: [DONE]` or a finish_reason, so the answer \
                     may be cut short",
                    "",
                ))));
            }
            Ok(Err(e)) => {
                return Err(Some(Err(self
                    .ctx
                    .broken("the connection failed", &error_chain(&e)))));
            }
            Ok(Ok(Some(piece))) => piece,
        };
        // The raw stream is cut after the bytes an answer of the largest size could take,
        // so an endless stream, or one endless event, cannot grow in memory.
        self.raw += piece.len() as u64;
        if self.raw > self.raw_cap {
            return Err(Some(Err(self.ctx.err(
                UpstreamKind::BadAnswer,
                &format!(
                    "the stream passed {} bytes without ending (max_answer_bytes in \
                     config.jsonc)",
                    self.raw_cap
                ),
            ))));
        }
        let mut out = Vec::new();
        self.parser.push(&piece, &mut out);
        self.ready.extend(out);
        Ok(())
    }
}

/// Whether a chunk says why its answer ended: a `finish_reason` on one of its choices.
fn says_finished(value: &Value) -> bool {
    value
        .get("choices")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.get("finish_reason")
                    .and_then(Value::as_str)
                    .is_some_and(|f| !f.is_empty())
            })
        })
}

fn url(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// The body of a battle's request: the model's `params`, then the request's own settings.
/// The request's token limit is the one limit sent, under the name the params use
/// (`max_completion_tokens` for upstreams that want it), never both names.
fn chat_body(model: &ModelSpec, endpoint: &Endpoint, request: &ChatRequest, usage: bool) -> Value {
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
        let name = if body.contains_key("max_completion_tokens") && !body.contains_key("max_tokens")
        {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.remove("max_tokens");
        body.remove("max_completion_tokens");
        body.insert(name.into(), json!(m));
    }
    if usage {
        match body.get_mut("stream_options") {
            Some(Value::Object(options)) => {
                options.entry("include_usage").or_insert(json!(true));
            }
            _ => {
                body.insert("stream_options".into(), json!({"include_usage": true}));
            }
        }
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
/// this machine, unless the model allows it. Names neither the key's variable nor the host
/// (a battle's side may not be told apart by them): the caller adds them where the model's
/// name goes.
fn refuse_plain_http(target: &str, allowed: bool) -> Option<String> {
    let parsed = reqwest::Url::parse(target).ok()?;
    if allowed || parsed.scheme() != "http" || super::is_loopback(&parsed) {
        return None;
    }
    Some(
        "refusing to send the provider's key over plain http: anyone on the way could read \
         it. Use https, or set \"allow_http_key\": true for this model in models.json if the \
         network is trusted"
            .to_owned(),
    )
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
    ctx: &Ctx,
    key: Option<&(String, String)>,
    payload: Vec<u8>,
    deadline: Instant,
) -> Result<reqwest::Response, UpstreamError> {
    let client = up
        .client_for(&ctx.target)
        .map_err(|e| UpstreamError::new(UpstreamKind::Other, e))?;
    let mut builder = client
        .post(&ctx.target)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    if let Some((var, value)) = key {
        if let Some(why) = refuse_plain_http(&ctx.target, ctx.endpoint.allow_http_key) {
            return Err(ctx.err_noted(UpstreamKind::Other, &why, &format!("the key in {var}"), ""));
        }
        builder = builder.bearer_auth(value);
    }
    let response = match tokio::time::timeout_at(deadline, builder.body(payload).send()).await {
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
        .filter(|f| !f.is_empty())
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
#[derive(Debug, Clone)]
struct Ctx {
    /// The model's public name.
    name: String,
    endpoint: Endpoint,
    target: String,
    secret: Option<String>,
}

impl Ctx {
    /// Upstream text made safe to keep: see [`super::scrub`].
    fn clean(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        super::scrub(text, &secrets)
    }

    fn err(&self, kind: UpstreamKind, what: &str) -> UpstreamError {
        self.err_said(kind, what, "")
    }

    /// [`Self::err`] with the upstream's own words (`said`), which go where the model's name
    /// goes: see [`worded`].
    fn err_said(&self, kind: UpstreamKind, what: &str, said: &str) -> UpstreamError {
        self.err_noted(kind, what, "", said)
    }

    /// [`Self::err_said`] with a note of arena's (`note`, such as the key's variable) beside
    /// the model's name and address, hidden with them.
    fn err_noted(&self, kind: UpstreamKind, what: &str, note: &str, said: &str) -> UpstreamError {
        let secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        let mut place = format!("{} at {}", self.endpoint.model, self.target);
        if !note.is_empty() {
            place.push_str("; ");
            place.push_str(note);
        }
        worded(kind, what, &self.name, &place, said, &secrets)
    }

    fn transport(&self, e: &reqwest::Error) -> UpstreamError {
        if let Some(tls) = tls_failure(e) {
            self.err_said(
                UpstreamKind::Unreachable,
                "the TLS connection failed: is the address https on a server that speaks TLS, \
                 with a certificate this machine trusts for that host name?",
                &tls,
            )
        } else if e.is_connect() {
            self.err(
                UpstreamKind::Unreachable,
                "cannot connect: is the server running and the base_url in models.json right?",
            )
        } else if e.is_timeout() {
            self.err(UpstreamKind::Unreachable, "the connection timed out")
        } else {
            self.err_said(
                UpstreamKind::Unreachable,
                "the request failed",
                &error_chain(e),
            )
        }
    }

    fn timed_out(&self, limit: Duration) -> UpstreamError {
        self.err(
            UpstreamKind::Timeout,
            &format!(
                "no complete answer within {} s (request_timeout_seconds in config.jsonc)",
                limit.as_secs()
            ),
        )
    }

    fn idle(&self, limit: Duration) -> UpstreamError {
        self.err(
            UpstreamKind::Timeout,
            &format!(
                "the stream stalled: nothing arrived for {} s (stream_idle_timeout_seconds in config.jsonc)",
                limit.as_secs()
            ),
        )
    }

    fn empty(&self) -> UpstreamError {
        self.err(
            UpstreamKind::BadAnswer,
            "the upstream answered with no text",
        )
    }

    fn too_long(&self, cap: u64) -> UpstreamError {
        self.err(
            UpstreamKind::BadAnswer,
            &format!(
                "the answer passed {cap} bytes (max_answer_bytes in config.jsonc) and was cut there"
            ),
        )
    }

    fn broken(&self, what: &str, said: &str) -> UpstreamError {
        self.err_said(
            UpstreamKind::BadAnswer,
            &format!("the answer broke off: {what}"),
            said,
        )
    }

    fn in_band(&self, message: &str) -> UpstreamError {
        self.err_said(
            UpstreamKind::BadAnswer,
            "the upstream reported an error",
            message,
        )
    }

    fn status(&self, code: u16, body: &str, location: Option<&str>) -> UpstreamError {
        let detail = upstream_message(body);
        // The key's variable goes with the model's name, hidden before a battle's vote: a
        // variable such as VENDOR_API_KEY names the side's vendor. What shows names the
        // provider.
        let (key_hint, key_note) = match self.endpoint.api_key_env.as_deref() {
            Some(var) if std::env::var_os(var).is_none_or(|v| v.is_empty()) => (
                "; the provider's key is not set (the log names its variable)".to_owned(),
                format!("the environment variable {var} is not set"),
            ),
            Some(var) => (
                "; check the provider's key (the log names its variable)".to_owned(),
                format!("the key is in the environment variable {var}"),
            ),
            None => (
                "; no key was sent: name the environment variable that holds it with \
                 api_key_env for this model in models.json"
                    .to_owned(),
                String::new(),
            ),
        };
        let what = match code {
            300..=399 => {
                let to = location.map_or_else(|| "another address".to_owned(), |l| self.clean(l));
                return self.err_said(
                    UpstreamKind::Refused,
                    &format!(
                        "the upstream redirected ({code}): redirects are not followed, since the \
                         prompt and the key would go to another host; set base_url to the final \
                         address"
                    ),
                    &format!("to {to}"),
                )
                .with_status(Some(code));
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
        let note = if matches!(code, 401 | 403) {
            key_note.as_str()
        } else {
            ""
        };
        let mut e = self
            .err_noted(UpstreamKind::Refused, &what, note, said)
            .with_status(Some(code));
        e.refusal = self.refusal(body).map(Box::new);
        e
    }

    /// The upstream's OpenAI-style error, fit to pass on: see [`super::Refusal`].
    fn refusal(&self, body: &str) -> Option<super::Refusal> {
        let v: Value = serde_json::from_str(body).ok()?;
        let error = v.get("error").filter(|e| e.is_object())?;
        let field = |name: &str| {
            error.get(name).and_then(|f| match f {
                Value::String(s) => Some(self.public(s)),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        Some(super::Refusal {
            message: field("message")?,
            kind: field("type"),
            code: field("code"),
            param: field("param"),
        })
    }

    /// Upstream text as a client of the public model may see it: keys scrubbed, the
    /// upstream's id of the model and its address replaced.
    fn public(&self, text: &str) -> String {
        let mut out = self.clean(text);
        let base = self.endpoint.base_url.trim_end_matches('/');
        let host = reqwest::Url::parse(base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        for (from, to) in [
            (Some(self.target.to_owned()), "the upstream"),
            (Some(base.to_owned()), "the upstream"),
            (host, "the upstream"),
            (Some(self.endpoint.model.clone()), self.name.as_str()),
        ] {
            if let Some(from) = from.filter(|f| f.len() >= 2 && f != to) {
                out = out.replace(&from, to);
            }
        }
        out
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

/// An error of the model `name`: `what`, which may be shown while the models are hidden,
/// then, hidden, the model, where it was called and what the upstream said (`said`, keys
/// scrubbed: its words may name the model, a transport error names the address).
fn worded(
    kind: UpstreamKind,
    what: &str,
    name: &str,
    place: &str,
    said: &str,
    secrets: &[&str],
) -> UpstreamError {
    // Brackets of its own would end the hidden part early (scrub's own are balanced).
    let said = super::scrub(&said.replace('[', "(").replace(']', ")"), secrets);
    UpstreamError::of_model(kind, what, name, place, &said)
}

/// Why a request reached no upstream, in words (not the client library's chain of causes).
fn unreached(e: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    if let Some(tls) = tls_failure(e) {
        return format!(
            "the TLS connection failed ({tls}): is the address https on a server that speaks \
             TLS, with a certificate this machine trusts for that host name?"
        );
    }
    if e.is_timeout() {
        return "the connection timed out".into();
    }
    if !e.is_connect() {
        return format!("the request failed: {}", error_chain(e));
    }
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    if error_chain(e).contains("dns error") {
        return format!(
            "cannot find the host `{host}` (its name does not resolve): is the base_url in \
             models.json right?"
        );
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => {
                    return "cannot connect: nothing listens there (connection refused); is \
                            the server running and the base_url in models.json right?"
                        .into();
                }
                ErrorKind::TimedOut => return "the connection timed out".into(),
                _ => {}
            }
        }
        source = s.source();
    }
    "cannot connect: is the server running and the base_url in models.json right?".into()
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
    let fail = |kind, what: &str| {
        UpstreamError::new(kind, format!("{target}: {}", super::scrub(what, &secrets)))
    };
    let mut builder = up
        .client_for(&target)
        .map_err(|e| fail(UpstreamKind::Other, &e))?
        .get(&target);
    if let Some((var, value)) = &key {
        if let Some(why) = refuse_plain_http(&target, allow_http_key) {
            return Err(UpstreamError::new(
                UpstreamKind::Other,
                format!("{target}: {why} (the key in {var})"),
            ));
        }
        builder = builder.bearer_auth(value);
    }
    let deadline = Instant::now() + up.timeouts.request;
    let response = match tokio::time::timeout_at(deadline, builder.send()).await {
        Err(_) => {
            return Err(fail(
                UpstreamKind::Timeout,
                "no answer in time (request_timeout_seconds)",
            ));
        }
        Ok(Err(e)) => return Err(fail(UpstreamKind::Unreachable, &unreached(&e))),
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
        .map_err(|e| fail(UpstreamKind::Unreachable, &error_chain(&e)))?;
    if !status.is_success() {
        return Err(UpstreamError::new(
            UpstreamKind::Refused,
            format!(
                "{target}: status {}: {}",
                status.as_u16(),
                super::scrub(&upstream_message(&text), &secrets)
            ),
        )
        .with_status(Some(status.as_u16())));
    }
    if cut {
        return Err(fail(
            UpstreamKind::BadAnswer,
            &format!("the listing is larger than {cap} bytes (max_listing_bytes in config.jsonc)"),
        ));
    }
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| fail(UpstreamKind::BadAnswer, &format!("not a JSON body ({e})")))?;
    let ids = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| fail(UpstreamKind::BadAnswer, "no `data` array in the answer"))?
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
/// keeps every field the client sent (but [`super::wire::DROPPED`]'s, out already); `model`
/// becomes the endpoint's upstream id, the model's `params` fill in fields the client left
/// out, and `stream` is `stream` (see [`super::wire::RequestBody::upstream_body`]).
pub(super) async fn relay(
    up: &Upstream,
    model: &ModelSpec,
    path: &str,
    body: &super::wire::RequestBody,
    stream: bool,
) -> Result<Relay, UpstreamError> {
    let call = Call {
        path,
        body: &|endpoint: &Endpoint, _| {
            let stream = (path != "images/generations").then_some(stream);
            body.upstream_body(&endpoint.model, stream, &model.params)
        },
        begun: |_| true,
        ask_usage: false,
    };
    let relay = match open(up, model, &call).await? {
        Opened::Whole(value, _) => Relay::Whole(value),
        Opened::Stream(head, rest) => {
            let rest = futures_util::stream::unfold(rest, |mut events| async move {
                let item = events.next().await?;
                Some((item, events))
            });
            Relay::Stream(Box::pin(
                futures_util::stream::iter(head.into_iter().map(Ok)).chain(rest),
            ))
        }
    };
    Ok(unkeyed(relay, Upstream::key_values(model)))
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
