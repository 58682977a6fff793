//! A fake OpenAI-compatible upstream: a small real HTTP server on `127.0.0.1:0`, on a tokio
//! runtime of its own, so the synchronous tests can point `models.json` at it.
//!
//! `POST /v1/chat/completions` behaves by the request's `model` field:
//!
//! - `stream-*`: server-sent events, a role chunk, the text of [`answer`] in pieces 50 ms
//!   apart, a finish chunk, a usage-only chunk (prompt 7, completion 11) when
//!   `stream_options.include_usage` is set, then `data: [DONE]`;
//! - `meet-*`: as `stream-*`, but after its first piece each waits (ten seconds at most) until
//!   two `meet-*` requests have arrived, so a client that sends both at once sees them overlap
//!   however slow the machine, and one that sends them in turn never does;
//! - `self-*`, `vendor-*`: as `stream-*`, with an answer that names a model: its own upstream
//!   id, or its vendor (OpenAI) — an identity leak;
//! - `json-*`: one non-streamed `chat.completion` body, although `stream: true` was asked;
//! - `fail-500`, `fail-401`, `fail-404`, `fail-429`: that status with an OpenAI-style error;
//! - `stall`: one chunk, then silence for five seconds, then the end of the stream;
//! - `silent`: no response at all for thirty seconds (headers included);
//! - `trickle`: a stream of one byte a second, forever;
//! - `garbled-*`: a stream with a truncated JSON line and a line that is not JSON;
//! - `ansi-*`: a streamed answer full of terminal escape sequences and a tab: [`ANSI_ANSWER`];
//! - `cut-*`: two pieces of text, then the connection closes: no finish_reason, no `[DONE]`;
//! - `echo-key`: 401 whose message repeats the `Authorization` header it got and an
//!   `sk-…` token;
//! - `echo-stream`: a streamed answer that repeats the key it got, cut across three pieces;
//! - `endless-text`: an SSE stream of text that never ends;
//! - `endless-event`: one SSE event that never ends (no blank line ever comes);
//! - `endless-json`: a non-SSE body that never ends;
//! - `endless-error`: status 500 with a body that never ends;
//! - `redirect`: 307 to another address;
//! - `ctx-400`: 400 with OpenAI's error for a conversation longer than the model's context
//!   (`type` `invalid_request_error`, `code` `context_length_exceeded`, `param` `messages`),
//!   whose message names the upstream id it was asked for and its own address;
//! - `fp-*`: a `system_fingerprint` (`fp_fake`) in every chunk of a streamed answer, or in
//!   the whole `chat.completion` when the request does not ask for a stream;
//! - `hold-*`: streams its first piece ("first s"), then holds the rest ("econd") until
//!   [`Upstream::release`];
//! - `slow-*`: a piece every 100 ms for ten seconds, then a proper end; records when the client went away
//!   ([`Upstream::cancelled`]);
//! - `done-no-finish-*`: as `stream-*`, but the stream ends with `data: [DONE]` and no chunk
//!   ever gives a finish_reason (how llama.cpp's server ends an answer it cut);
//! - `length-*`: as `stream-*`, but its finish_reason is `length` (max_tokens cut it);
//! - `refuse-usage-*`: 400 naming `stream_options` when the body has that field (as servers
//!   that do not know it answer), else as `stream-*` without usage;
//! - `one-slot-*`: a server with one slot, as llama.cpp's: as `stream-*`, but a running
//!   stream that sees another `one-slot-*` request arrive after its own ends at once with
//!   `data: [DONE]` and no finish_reason; after its first piece it waits up to one second
//!   for such a rival, so two requests sent at once always collide and two sent in turn never
//!   do;
//! - `litellm-*`: as `stream-*`, but after the finish chunk comes a chunk with an empty delta
//!   and a null finish_reason, as LiteLLM sends with `include_usage`;
//! - `strict-*`: as `stream-*`, but a `temperature` above 2 is refused with a 400;
//! - `prose-*`: as `stream-*`, with a longer Markdown answer of its own ([`prose_answer`]: a
//!   heading, a list, a code block) in about 35 pieces, for a page to render as it grows;
//! - `xss-*`: as `stream-*`, with [`XSS_ANSWER`] (a script, an `img onerror`, `javascript:`
//!   links) in pieces that cut its tags apart;
//! - `judge-yes`: a prompt classifier's answers, by the question its system message asks:
//!   six criteria met (`[1, 2, 3, 4, 5, 6]`) for a hard prompt, `<score>1</score>` for
//!   instruction following, `<decision>yes</decision>` for a yes or no question; streamed;
//! - `judge-garbled`: a classifier that never answers in the shape asked for;
//! - anything else: 404 with an OpenAI-style "model not found" error.
//!
//! `GET /v1/models` lists a few ids; `GET /endless/v1/models` is a listing that never ends;
//! `GET /requests` is the request log as JSON (`[{model, body}]`), for tests in other
//! languages (the browser tests).
//! `POST /v1/completions` answers a `text_completion` (streamed or not); `POST
//! /v1/images/generations` answers `n` image URLs (model `img-one` refuses `n` above 1). Every chat request is recorded with its body and the
//! instants it started and finished sending, so a test can prove that two requests overlapped
//! in time by interval intersection, without any timing threshold.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The pause between two streamed pieces.
const CHUNK_DELAY: Duration = Duration::from_millis(50);

/// How long `stall` stays silent before it ends its stream.
const STALL: Duration = Duration::from_secs(5);

/// How long `silent` keeps its headers back.
const SILENT: Duration = Duration::from_secs(30);

/// The longest a `meet-*` request waits for its partner.
const MEET: Duration = Duration::from_secs(10);

/// The longest a `one-slot-*` stream waits, after its first piece, for a rival to cut it.
const ONE_SLOT: Duration = Duration::from_secs(1);

/// What `ansi-*` answers: escape sequences that clear the screen, retitle the window and move
/// the cursor, around plain words.
pub const ANSI_ANSWER: &str =
    "Plain start\x1b[2J\x1b]0;PWNED TITLE\x07 middle\tafter-tab\x1b[10;5H\x1b[31m red end.";

/// What `xss-*` answers: markup that a page must show as text and never run.
pub const XSS_ANSWER: &str = "Careful: <script>window.__xss = 1; alert(1)</script> and \
    <img src=x onerror=\"window.__xss = 2; alert(2)\"> and [a link](javascript:alert(3)) and \
    <a href=\"javascript:alert(4)\">raw link</a>.";

/// FNV-1a of an upstream id: stable across runs and platforms.
fn tag(model: &str) -> u32 {
    model.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// What `prose-*` answers: Markdown with a tag of its own per upstream id (never the id).
pub fn prose_answer(model: &str) -> String {
    let tag = tag(model);
    format!(
        "## Notes {tag:08x}\n\nHere is a short answer with **bold** text, a list and some code.\n\n\
         - first point\n- second point\n- third point\n\n```python\nprint(\"{tag:08x}\")\n```\n\n\
         That is all for {tag:08x}."
    )
}

/// The text the fake answers with for an upstream model id: one of its own for each id, so
/// a test can tell which side got which model, which never names the id (an answer that
/// named its model would be an identity leak, and its vote left out of the ratings), except
/// for `self-*` and `vendor-*`, which name their model on purpose.
pub fn answer(model: &str) -> String {
    if model.starts_with("self-") {
        return format!("I am {model}: red green blue.");
    }
    if model.starts_with("vendor-") {
        return "As a model trained by OpenAI, I say: red green blue.".to_owned();
    }
    format!("Answer {:08x}: red green blue.", tag(model))
}

/// One chat request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The `model` field of the body.
    pub model: String,
    /// The whole JSON body.
    pub body: Value,
    /// The body as it arrived, byte for byte.
    pub raw: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// When the handler received the request.
    pub started: Instant,
    /// When the last byte of the response was handed out; `None` while it is still going.
    pub ended: Option<Instant>,
}

impl Request {
    /// Whether the two requests were in flight at the same time.
    pub fn overlaps(&self, other: &Request) -> bool {
        let (Some(self_end), Some(other_end)) = (self.ended, other.ended) else {
            panic!("a request has not finished: {self:?} {other:?}");
        };
        self.started < other_end && other.started < self_end
    }
}

/// What the handlers share: the request log, and the `meet-*` rendezvous.
#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    meet_arrivals: AtomicUsize,
    meet: Notify,
    release: Notify,
    released: std::sync::atomic::AtomicBool,
    cancelled: AtomicUsize,
    /// How many `one-slot-*` requests have arrived, and a wake-up for each arrival.
    one_slot_arrivals: AtomicUsize,
    one_slot: Notify,
}

type Log = Arc<Shared>;

fn lock(log: &Log) -> MutexGuard<'_, Vec<Request>> {
    log.requests.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until two `meet-*` requests have arrived, or [`MEET`] has passed.
async fn meet(log: &Log) {
    let deadline = tokio::time::Instant::now() + MEET;
    loop {
        let notified = log.meet.notified();
        if log.meet_arrivals.load(Ordering::SeqCst) >= 2 {
            return;
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return;
        }
    }
}

/// The running fake; stopped when dropped.
pub struct Upstream {
    addr: SocketAddr,
    log: Log,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Upstream {
    /// Starts the fake on a free port of 127.0.0.1.
    pub fn start() -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let log = Log::default();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let state = log.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the fake upstream");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let app = Router::new()
                    .route("/v1/chat/completions", post(chat))
                    .route("/v1/models", get(models))
                    .route("/v1/completions", post(completions))
                    .route("/v1/images/generations", post(images))
                    .route("/endless/v1/models", get(endless_listing))
                    .route("/requests", get(record))
                    .with_state(state);
                // Dropping the runtime at the end of this thread ends every connection, a
                // stalled stream included, so stopping never waits for one.
                tokio::select! {
                    served = axum::serve(listener, app) => served.expect("the fake upstream"),
                    _ = stop => {}
                }
            });
        });
        Upstream {
            addr,
            log,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    /// The base URL to put in `models.json`, up to and including `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A model entry of the third `models.json` form: public `name`, upstream id `model`.
    pub fn model(&self, name: &str, model: &str) -> Value {
        json!({
            "name": name,
            "model": model,
            "base_url": self.base_url(),
            "api_key_env": super::KEY_VAR,
        })
    }

    /// Every chat request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.log).clone()
    }

    /// Lets the `hold-*` streams go on past their first piece.
    pub fn release(&self) {
        self.log.released.store(true, Ordering::SeqCst);
        self.log.release.notify_waiters();
    }

    /// How many `slow-*` streams lost their client before their end.
    pub fn cancelled(&self) -> usize {
        self.log.cancelled.load(Ordering::SeqCst)
    }

    /// How many chat requests named the upstream id `model`.
    pub fn hits(&self, model: &str) -> usize {
        lock(&self.log).iter().filter(|r| r.model == model).count()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A port of 127.0.0.1 on which nothing listens: bound, read, and released again.
pub fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// The request log, for tests that are not written in Rust.
async fn record(State(log): State<Log>) -> Response {
    let requests: Vec<Value> = lock(&log)
        .iter()
        .map(|r| json!({"model": r.model, "body": r.body}))
        .collect();
    json_response(StatusCode::OK, &Value::Array(requests))
}

async fn completions(State(log): State<Log>, raw: String) -> Response {
    let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    lock(&log).push(Request {
        model: model.clone(),
        body: body.clone(),
        raw,
        authorization: None,
        started: Instant::now(),
        ended: Some(Instant::now()),
    });
    let text = answer(&model);
    if body["stream"] == json!(true) {
        let pieces: Vec<String> = text
            .split_inclusive(' ')
            .map(|p| {
                let v = json!({"id": "cmpl-fake", "object": "text_completion", "created": 0,
                               "model": model, "choices": [{"index": 0, "text": p, "finish_reason": null}]});
                format!("data: {v}\n\n")
            })
            .chain([
                format!(
                    "data: {}\n\n",
                    json!({"id": "cmpl-fake", "object": "text_completion", "created": 0,
                           "model": model, "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]})
                ),
                "data: [DONE]\n\n".to_owned(),
            ])
            .collect();
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(stream::iter(
                pieces.into_iter().map(Ok::<_, Infallible>),
            )))
            .expect("an SSE response");
    }
    json_response(
        StatusCode::OK,
        &json!({"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": model,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}}),
    )
}

async fn images(State(log): State<Log>, raw: String) -> Response {
    let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    let n = body["n"].as_u64().unwrap_or(1);
    lock(&log).push(Request {
        model: model.clone(),
        body: body.clone(),
        raw,
        authorization: None,
        started: Instant::now(),
        ended: Some(Instant::now()),
    });
    if model == "img-one" && n > 1 {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"message": "n must be 1", "type": "invalid_request_error"}}),
        );
    }
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"url": format!("https://images.example/{model}/{i}.png")}))
        .collect();
    json_response(StatusCode::OK, &json!({"created": 0, "data": data}))
}

async fn models() -> Response {
    let ids = ["stream-north", "stream-south", "json-east"];
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "fake"}))
        .collect();
    json_response(StatusCode::OK, &json!({"object": "list", "data": data}))
}

async fn chat(State(log): State<Log>, headers: HeaderMap, raw: String) -> Response {
    let started = Instant::now();
    let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let asked_stream = body["stream"] == json!(true);
    let index = {
        let mut requests = lock(&log);
        requests.push(Request {
            model: model.clone(),
            body,
            raw,
            authorization,
            started,
            ended: None,
        });
        requests.len() - 1
    };
    let meeting = model.starts_with("meet-");
    if meeting {
        log.meet_arrivals.fetch_add(1, Ordering::SeqCst);
        log.meet.notify_waiters();
    }
    let finished = Finished { log, index };
    let asked = |pointer: &str| {
        lock(&finished.log)
            .get(index)
            .and_then(|r| r.body.pointer(pointer).cloned())
    };

    if model.starts_with("refuse-usage-") && asked("/stream_options").is_some() {
        finished.now();
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"message": "Unrecognized request argument supplied: stream_options",
                              "type": "invalid_request_error", "param": "stream_options", "code": null}}),
        );
    }
    if model.starts_with("strict-")
        && asked("/temperature")
            .and_then(|t| t.as_f64())
            .is_some_and(|t| t > 2.0)
    {
        finished.now();
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"message": "temperature must be between 0 and 2",
                              "type": "invalid_request_error", "param": "temperature", "code": null}}),
        );
    }
    if model.starts_with("one-slot-") {
        let me = finished
            .log
            .one_slot_arrivals
            .fetch_add(1, Ordering::SeqCst)
            + 1;
        finished.log.one_slot.notify_waiters();
        return one_slot(&model, me, finished);
    }
    if model.starts_with("judge-") {
        let system = asked("/messages/0/content")
            .and_then(|c| c.as_str().map(str::to_owned))
            .unwrap_or_default();
        let text = if model == "judge-garbled" {
            "I would rather not say; maybe [1, 2] or [3]."
        } else if system.contains("<score>") {
            "<score>1</score>"
        } else if system.contains("<decision>") {
            "<decision>\nyes\n</decision>"
        } else {
            "[1, 2, 3, 4, 5, 6]"
        };
        let pieces = vec![
            role_chunk(&model),
            content_chunk(&model, text),
            finish_chunk(&model),
            "data: [DONE]\n\n".to_owned(),
        ];
        return sse(pieces, Duration::ZERO, Pause::None, finished);
    }
    if model.starts_with("fp-") {
        let with_fingerprint = |piece: String| {
            piece.replacen(
                "\"object\"",
                "\"system_fingerprint\":\"fp_fake\",\"object\"",
                1,
            )
        };
        if !asked_stream {
            finished.now();
            let completion = json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0,
                "model": model, "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer(&model)},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
            });
            return json_response(StatusCode::OK, &completion);
        }
        let mut pieces = vec![with_fingerprint(role_chunk(&model))];
        pieces.extend(
            answer(&model)
                .split_inclusive(' ')
                .map(|piece| with_fingerprint(content_chunk(&model, piece))),
        );
        pieces.push(with_fingerprint(finish_chunk(&model)));
        pieces.push("data: [DONE]\n\n".to_owned());
        return sse(pieces, Duration::ZERO, Pause::None, finished);
    }

    if model.starts_with("prose-") || model.starts_with("xss-") {
        let text = if model.starts_with("xss-") {
            XSS_ANSWER.to_owned()
        } else {
            prose_answer(&model)
        };
        if !asked_stream {
            finished.now();
            let completion = json!({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
            });
            return json_response(StatusCode::OK, &completion);
        }
        let pieces: Vec<String> = if model.starts_with("xss-") {
            // Nine bytes a piece (the text is ASCII): tags arrive cut apart.
            text.as_bytes()
                .chunks(9)
                .map(|c| content_chunk(&model, &String::from_utf8_lossy(c)))
                .collect()
        } else {
            text.split_inclusive(' ')
                .map(|piece| content_chunk(&model, piece))
                .collect()
        };
        let mut all = vec![role_chunk(&model)];
        all.extend(pieces);
        all.push(finish_chunk(&model));
        all.push("data: [DONE]\n\n".to_owned());
        return sse(all, CHUNK_DELAY, Pause::None, finished);
    }

    let like_stream = [
        "stream-",
        "done-no-finish-",
        "length-",
        "refuse-usage-",
        "litellm-",
        "strict-",
        "self-",
        "vendor-",
    ];
    if like_stream.iter().any(|p| model.starts_with(p)) || meeting {
        let mut pieces = vec![role_chunk(&model)];
        pieces.extend(
            answer(&model)
                .split_inclusive(' ')
                .map(|piece| content_chunk(&model, piece)),
        );
        if model.starts_with("length-") {
            pieces.push(chunk(&model, &json!({}), Some("length")));
        } else if !model.starts_with("done-no-finish-") {
            pieces.push(finish_chunk(&model));
        }
        if model.starts_with("litellm-") {
            pieces.push(chunk(&model, &json!({}), None));
        }
        if asked("/stream_options/include_usage") == Some(Value::Bool(true)) {
            // As OpenAI does: usage in a chunk of its own, with no choices.
            let usage = json!({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                "created": 0, "model": model, "choices": [],
                "usage": {"prompt_tokens": 7, "completion_tokens": 11, "total_tokens": 18}});
            pieces.push(format!("data: {usage}\n\n"));
        }
        pieces.push("data: [DONE]\n\n".to_owned());
        let pause = if meeting { Pause::Meet } else { Pause::None };
        return sse(pieces, CHUNK_DELAY, pause, finished);
    }
    if model == "echo-stream" {
        // The key it was sent, cut across three pieces, in a streamed answer.
        let key = authorization_of(&finished.log, index)
            .unwrap_or_default()
            .trim_start_matches("Bearer ")
            .to_owned();
        let (a, rest) = key.split_at(key.len() / 3);
        let (b, c) = rest.split_at(rest.len() / 2);
        let pieces = vec![
            role_chunk(&model),
            content_chunk(&model, &format!("Your key: {a}")),
            content_chunk(&model, b),
            content_chunk(&model, &format!("{c}. Keep it safe.")),
            finish_chunk(&model),
            "data: [DONE]\n\n".to_owned(),
        ];
        return sse(pieces, Duration::ZERO, Pause::None, finished);
    }
    if model.starts_with("ansi-") {
        let pieces = vec![
            role_chunk(&model),
            content_chunk(&model, &ANSI_ANSWER[..20]),
            content_chunk(&model, &ANSI_ANSWER[20..]),
            finish_chunk(&model),
            "data: [DONE]\n\n".to_owned(),
        ];
        return sse(pieces, Duration::ZERO, Pause::None, finished);
    }
    if model.starts_with("cut-") {
        let pieces = vec![
            content_chunk(&model, "The first half of an answer"),
            content_chunk(&model, " that never"),
        ];
        return sse(pieces, Duration::ZERO, Pause::None, finished);
    }
    if model.starts_with("garbled-") {
        let pieces = vec![
            role_chunk(&model),
            "data: {\"choices\": [{\"delta\": {\"content\": \"half\"\n\n".to_owned(),
            "data: not json at all\n\n".to_owned(),
            finish_chunk(&model),
            "data: [DONE]\n\n".to_owned(),
        ];
        return sse(pieces, Duration::ZERO, Pause::None, finished);
    }
    if model == "silent" {
        // Headers never come: the request hangs until the client gives up.
        tokio::time::sleep(SILENT).await;
        finished.now();
        return json_response(StatusCode::OK, &json!({}));
    }
    if model == "trickle" {
        // One byte a second, forever: never silent for long, never finished.
        let text = content_chunk(&model, &"drip ".repeat(50));
        let bytes: Vec<u8> = text.into_bytes();
        let body = stream::iter(bytes.into_iter().cycle()).then(|b| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, Infallible>(vec![b])
        });
        finished.now();
        return Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(body))
            .expect("a response");
    }
    if let Some(response) = misbehave(&model, authorization_of(&finished.log, index).as_deref()) {
        finished.now();
        return response;
    }
    if model.starts_with("hold-") {
        // Cut inside a word: arena hands out battle answers word by word, and hands out a
        // word only once the next one has begun, so "first " goes out before the release.
        let first = vec![role_chunk(&model), content_chunk(&model, "first s")];
        let rest = [
            content_chunk(&model, "econd"),
            finish_chunk(&model),
            "data: [DONE]\n\n".to_owned(),
        ];
        let shared = finished.log.clone();
        let body = stream::iter(first.into_iter().map(Ok::<_, Infallible>)).chain(stream::once(
            async move {
                loop {
                    let notified = shared.release.notified();
                    if shared.released.load(Ordering::SeqCst) {
                        break;
                    }
                    if tokio::time::timeout(MEET, notified).await.is_err() {
                        break;
                    }
                }
                finished.now();
                Ok(rest.concat())
            },
        ));
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(body))
            .expect("an SSE response");
    }
    if model.starts_with("slow-") {
        struct Watch(Log, bool);
        impl Drop for Watch {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.cancelled.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        let watch = Watch(finished.log.clone(), false);
        let name = model.clone();
        let body = stream::unfold((0, watch), move |(i, mut watch)| {
            let name = name.clone();
            async move {
                if i == 102 {
                    watch.1 = true;
                    drop(watch);
                    return None;
                }
                // A proper end: the finish chunk, then `[DONE]`.
                if i >= 100 {
                    let last = if i == 100 {
                        finish_chunk(&name)
                    } else {
                        "data: [DONE]\n\n".to_owned()
                    };
                    return Some((Ok::<_, Infallible>(last), (i + 1, watch)));
                }
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some((
                    Ok::<_, Infallible>(content_chunk(&name, "tick ")),
                    (i + 1, watch),
                ))
            }
        });
        return Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/event-stream")
            .body(Body::from_stream(body))
            .expect("an SSE response");
    }
    if model == "stall" {
        let pieces = vec![
            content_chunk(&model, "I will say more"),
            finish_chunk(&model),
            "data: [DONE]\n\n".to_owned(),
        ];
        return sse(pieces, Duration::ZERO, Pause::Silence(STALL), finished);
    }
    if model.starts_with("json-") {
        finished.now();
        let completion = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": answer(&model)},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11},
        });
        return json_response(StatusCode::OK, &completion);
    }
    finished.now();
    if model == "ctx-400" {
        let address = format!(
            "http://{}",
            headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("?")
        );
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {
                "message": format!(
                    "This model's maximum context length is 8192 tokens. However, your messages \
                     resulted in 9000 tokens. Please reduce the length of the messages. \
                     (model {model} at {address}/v1)"
                ),
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }}),
        );
    }
    let (status, message, kind) = match model.as_str() {
        "fail-500" => (StatusCode::INTERNAL_SERVER_ERROR, "boom", "server_error"),
        "fail-401" => (
            StatusCode::UNAUTHORIZED,
            "Incorrect API key provided",
            "invalid_request_error",
        ),
        "fail-429" => (
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limit reached",
            "rate_limit_error",
        ),
        // As OpenAI words it: the message names the model asked for.
        _ => (
            StatusCode::NOT_FOUND,
            &*format!("The model `{model}` does not exist"),
            "invalid_request_error",
        ),
    };
    json_response(
        status,
        &json!({"error": {"message": message, "type": kind, "code": null}}),
    )
}

/// A `one-slot-*` stream, the `me`-th such request: cut with `[DONE]` (no finish_reason) as
/// soon as a later one has arrived.
fn one_slot(model: &str, me: usize, finished: Finished) -> Response {
    let mut pieces: Vec<String> = answer(model)
        .split_inclusive(' ')
        .map(|piece| content_chunk(model, piece))
        .collect();
    pieces.insert(0, role_chunk(model));
    pieces.push(finish_chunk(model));
    pieces.push("data: [DONE]\n\n".to_owned());
    let total = pieces.len();
    let state = (pieces.into_iter().enumerate(), Some(finished));
    let body = stream::unfold(state, move |(mut pieces, finished)| async move {
        let finished = finished?;
        let (i, piece) = pieces.next()?;
        let rivalled = || finished.log.one_slot_arrivals.load(Ordering::SeqCst) > me;
        if i == 2 {
            // After the first piece of text: wait for a rival, a little.
            let deadline = tokio::time::Instant::now() + ONE_SLOT;
            loop {
                let notified = finished.log.one_slot.notified();
                if rivalled() || tokio::time::timeout_at(deadline, notified).await.is_err() {
                    break;
                }
            }
        } else if i > 0 {
            tokio::time::sleep(CHUNK_DELAY).await;
        }
        if i > 1 && rivalled() {
            finished.now();
            return Some((
                Ok::<_, Infallible>("data: [DONE]\n\n".to_owned()),
                (pieces, None),
            ));
        }
        if i + 1 == total {
            finished.now();
        }
        Some((Ok(piece), (pieces, Some(finished))))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(body))
        .expect("an SSE response")
}

fn authorization_of(log: &Log, index: usize) -> Option<String> {
    lock(log).get(index).and_then(|r| r.authorization.clone())
}

/// A body that repeats `piece` for ever (until the client goes away).
fn endless(piece: String) -> Body {
    let pieces = stream::repeat_with(move || Ok::<_, Infallible>(piece.clone()));
    Body::from_stream(pieces)
}

/// The answers of the models that misbehave on purpose.
fn misbehave(model: &str, authorization: Option<&str>) -> Option<Response> {
    let build = |status: StatusCode, kind: &str, body: Body| {
        Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, kind)
            .body(body)
            .expect("a response")
    };
    Some(match model {
        "echo-key" => json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": {
                "message": format!(
                    "Incorrect API key provided: {}. Keys look like sk-abcdefghijklmnop0123.",
                    authorization.unwrap_or("none")
                ),
                "type": "invalid_request_error", "code": "invalid_api_key"}}),
        ),
        "endless-text" => build(
            StatusCode::OK,
            "text/event-stream",
            endless(content_chunk(model, &"lorem ipsum ".repeat(80))),
        ),
        "endless-event" => build(
            StatusCode::OK,
            "text/event-stream",
            Body::from_stream(
                stream::once(async { Ok::<_, Infallible>("data: ".to_owned()) })
                    .chain(stream::repeat_with(|| Ok("x".repeat(8192)))),
            ),
        ),
        "endless-json" => build(
            StatusCode::OK,
            "application/json",
            endless("[1,2,3,4,5,6,7,8,9,10],".repeat(100)),
        ),
        "endless-error" => build(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            endless("error ".repeat(500)),
        ),
        "redirect" => Response::builder()
            .status(StatusCode::TEMPORARY_REDIRECT)
            .header(header::LOCATION, "http://127.0.0.1:9/v1/chat/completions")
            .body(Body::empty())
            .expect("a redirect"),
        _ => return None,
    })
}

async fn endless_listing() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(endless(r#"{"id": "x", "object": "model"},"#.repeat(100)))
        .expect("a listing")
}

/// Marks a request as finished when told to.
struct Finished {
    log: Log,
    index: usize,
}

impl Finished {
    fn now(&self) {
        if let Some(request) = lock(&self.log).get_mut(self.index) {
            request.ended = Some(Instant::now());
        }
    }
}

/// What an SSE response does after its first piece.
#[derive(Clone, Copy)]
enum Pause {
    None,
    /// Waits for the partner `meet-*` request.
    Meet,
    /// Says nothing for this long.
    Silence(Duration),
}

/// An SSE response of `pieces`, `delay` apart, with `pause` after the first piece.
/// The request is marked finished just before its last piece is handed out, so a client that
/// reads the end of one answer before starting the next can never look concurrent.
fn sse(pieces: Vec<String>, delay: Duration, pause: Pause, finished: Finished) -> Response {
    let total = pieces.len();
    let state = (pieces.into_iter().enumerate(), finished);
    let body = stream::unfold(state, move |(mut pieces, finished)| async move {
        let (i, piece) = pieces.next()?;
        if i > 0 {
            tokio::time::sleep(delay).await;
        }
        if i == 1 {
            match pause {
                Pause::None => {}
                Pause::Meet => meet(&finished.log).await,
                Pause::Silence(silence) => tokio::time::sleep(silence).await,
            }
        }
        if i + 1 == total {
            finished.now();
        }
        Some((Ok::<_, Infallible>(piece), (pieces, finished)))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(body))
        .expect("an SSE response")
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(value.to_string()))
        .expect("a JSON response")
}

fn chunk(model: &str, delta: &Value, finish: Option<&str>) -> String {
    let value = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    format!("data: {value}\n\n")
}

fn role_chunk(model: &str) -> String {
    chunk(model, &json!({"role": "assistant", "content": ""}), None)
}

fn content_chunk(model: &str, text: &str) -> String {
    chunk(model, &json!({"content": text}), None)
}

fn finish_chunk(model: &str) -> String {
    chunk(model, &json!({}), Some("stop"))
}
