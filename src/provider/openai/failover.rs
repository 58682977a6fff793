//! One call to a model, failed over: its endpoints tried in turn until one's answer begins,
//! and the error of a pool that all failed. Uses the HTTP of [`super::client`] and the events
//! of [`super::stream`].

use rand::seq::SliceRandom;
use serde_json::Value;
use tokio::time::Instant;

use super::client::{key, post, read_capped, url};
use super::errors::{Ctx, in_band_error};
use super::stream::Events;
use crate::config::{Endpoint, ModelSpec};
use crate::provider::{Upstream, UpstreamError, UpstreamKind};

/// One call to a model, whichever endpoint answers it.
pub(super) struct Call<'a> {
    /// Under the endpoint's base URL: `chat/completions`, `completions`, `images/generations`.
    pub(super) path: &'a str,
    /// The body for an endpoint, asking for usage in the stream or not.
    pub(super) body: &'a (dyn Fn(&Endpoint, bool) -> Vec<u8> + Sync),
    /// Whether an event (or a whole body) shows that the answer has begun: until then,
    /// another endpoint may still be tried, since nothing has been handed out.
    pub(super) begun: fn(&Value) -> bool,
    /// Whether to ask for usage (`stream_options.include_usage`) where it is taken.
    pub(super) ask_usage: bool,
}

/// An answer that has begun.
pub(super) enum Opened {
    /// One JSON body.
    Whole(Value, Ctx),
    /// Server-sent events: those read until the answer began, and the rest.
    Stream(Vec<Value>, Box<Events>),
}

/// Calls the endpoints of `model` one after another, in a random order (those whose server
/// has a free slot first), until one's answer begins. An endpoint's failure moves on to the
/// next only when another might do better ([`try_another`]): a request the upstream refuses
/// as invalid is refused by the others too.
pub(super) async fn open(
    up: &Upstream,
    model: &ModelSpec,
    call: &Call<'_>,
) -> Result<Opened, UpstreamError> {
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
pub(in crate::provider) fn all_failed(model: &str, failures: Vec<UpstreamError>) -> UpstreamError {
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
    let mut events = Events::new(up, response, deadline, ctx, slot);
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

/// Statuses after which another endpoint of the pool is worth a try: the request itself
/// may be fine.
fn try_another(status: Option<u16>) -> bool {
    status.is_none_or(|s| matches!(s, 401 | 403 | 404 | 408 | 429) || s >= 500)
}
