//! The page's answer streams: one turn of a web battle as server-sent events of both sides
//! at once, merged fairly, with keep-alive comments. Uses the engine's turn pieces and the
//! server's errors and messages; the handlers that start the streams are in `api`.

use axum::response::Response;
use axum::response::sse::Event;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::battle::Side;
use crate::engine::chat::{Piece, WebTurn};
use crate::error::Error;
use crate::server::AppState;
use crate::server::i18n::{self, Msg};

use super::api::web_error;

fn side_name(side: Side) -> &'static str {
    match side {
        Side::A => "a",
        Side::B => "b",
    }
}

fn event(name: &str, data: &Value) -> Result<Event, std::convert::Infallible> {
    Ok(Event::default().event(name).data(data.to_string()))
}

/// Where the merged stream of a turn is.
struct Merge<S> {
    pieces: S,
    ended: [bool; 2],
    over: bool,
    voted: bool,
    state: AppState,
}

/// The events of one turn: `battle`, then both sides' `delta`s as they come (a fair merge of
/// the two piece streams), each side's `side_end`, and `done` once both ended; or `error`
/// (which names no side) and the end.
fn turn_events(
    state: &AppState,
    turn: WebTurn,
) -> impl Stream<Item = Result<Event, std::convert::Infallible>> + Send + 'static {
    let mut head = json!({
        "battle_id": turn.battle_id.to_string(),
        "turn": turn.turn,
        "prompt": turn.prompt,
        "prompt_theme": turn.theme,
        "mode": turn.mode,
    });
    if let Some((a, b)) = &turn.models {
        head["model_a"] = json!(a);
        head["model_b"] = json!(b);
    }
    let [a, b] = turn.answers;
    let pieces = futures_util::stream::select(
        a.pieces.map(|p| (Side::A, p)),
        b.pieces.map(|p| (Side::B, p)),
    );
    let merge = Merge {
        pieces,
        ended: [false; 2],
        over: false,
        voted: turn.voted,
        state: state.clone(),
    };
    let body = futures_util::stream::unfold(merge, |mut m| async move {
        if m.over {
            return None;
        }
        let mut out = Vec::with_capacity(2);
        match m.pieces.next().await {
            // Both streams ended without both ends: nothing to vote on.
            None => {
                m.over = true;
                out.push(event("done", &json!({"votable": false})));
            }
            Some((side, Ok(Piece::Text(text)))) => {
                out.push(event(
                    "delta",
                    &json!({"side": side_name(side), "text": text}),
                ));
            }
            Some((side, Ok(Piece::End(end)))) => {
                m.ended[usize::from(side == Side::B)] = true;
                out.push(event(
                    "side_end",
                    &json!({"side": side_name(side), "finish_reason": end.finish_reason}),
                ));
                if m.ended == [true, true] {
                    m.over = true;
                    out.push(event("done", &json!({"votable": !m.voted})));
                }
            }
            Some((_, Err(e))) => {
                m.over = true;
                out.push(event(
                    "error",
                    &json!({"message": failure_text(&m.state, &e)}),
                ));
            }
        }
        Some((futures_util::stream::iter(out), m))
    });
    let head = futures_util::stream::once(std::future::ready(event("battle", &head)));
    head.chain(body.flatten())
}

/// What an `error` event says: a failed battle without its side, else the API's message.
fn failure_text(state: &AppState, e: &Error) -> String {
    if matches!(e, Error::Upstream { .. } | Error::BattleFailed { .. }) {
        return i18n::text(state.lang, Msg::BattleFailed).to_owned();
    }
    match web_error(state, e, false).detail {
        crate::server::Detail::Text(t) => t,
        crate::server::Detail::Limit { message, .. } => message,
    }
}

/// The SSE response of a turn: the OpenAI endpoints' event streams' response, with its
/// keep-alive comments and the headers that keep proxies from buffering it.
pub(super) fn turn_stream(state: &AppState, turn: WebTurn) -> Response {
    crate::server::openai::sse(state, turn_events(state, turn))
}
