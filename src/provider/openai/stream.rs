//! An upstream's server-sent events ([`Events`]) read as JSON values, with the request's
//! deadline, the idle timeout and the raw byte cap; a stream is whole only once a chunk gave
//! a `finish_reason`. Parses with [`crate::provider::sse`].

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, timeout};

use super::errors::{Ctx, error_chain, in_band_error};
use crate::provider::{Upstream, UpstreamError, UpstreamKind, sse};

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
    pub(super) ctx: Ctx,
    slot: Option<OwnedSemaphorePermit>,
}

impl Events {
    /// The events of `response`, read until `deadline` with the caps and idle timeout of
    /// `up`, holding the server's `slot` until they end.
    pub(super) fn new(
        up: &Upstream,
        response: reqwest::Response,
        deadline: Instant,
        ctx: Ctx,
        slot: Option<OwnedSemaphorePermit>,
    ) -> Events {
        Events {
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
        }
    }

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
