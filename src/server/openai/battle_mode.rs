//! Battle mode: the battle model's in-chat commands (SPEC §4), read from the last user
//! message (or the battle server's `extra_body` fields) and done by the engine's chat
//! battles (`crate::chat`). The client's history only locates the battle (the latest
//! command in it) and the new user text; what each model sees is the battle's own
//! transcript of that side.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::proxy::{Asked, proxy};
use super::stream::{async_stream, data, done, error_frame, sse, text_reply};
use super::{OpenAiError, new_id, now_secs};
use crate::battle::commands::{self, Action, Command, Verdict, Which};
use crate::battle::{Side, Winner};
use crate::chat::{ChatAnswer, ChatOptions, Piece, UserTurn};
use crate::error::Error;
use crate::provider::wire;
use crate::server::AppState;

/// Who is asking in battle mode: the request's `user`, else its key, else everyone without
/// either, together.
pub(super) fn caller(headers: &HeaderMap, body: &Map<String, Value>) -> String {
    if let Some(user) = body
        .get("user")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        return format!("openai-user:{user}");
    }
    match crate::server::auth::bearer(headers) {
        Some(key) => format!("key:{key}"),
        None => "anonymous:".into(),
    }
}

/// A field of the request, top-level or under `extra_body`.
pub(super) fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)
        .or_else(|| body.get("extra_body").and_then(|e| e.get(name)))
        .and_then(Value::as_str)
}

pub(super) const HELP: &str = "This is arena's battle model. Start a blind battle with \
    $sA<id> and your question (for example: $sA1 Write a haiku about autumn): two anonymous \
    models answer it. $A or $B shows either answer; $A or $B followed by a message (or a plain \
    message) goes on with both. Once you have seen both answers, give the result with $wA, $wB, \
    $tie or $bad ($skip leaves a battle without one). The models are revealed only with the \
    result.";

/// Whether the client asked for errors as HTTP statuses rather than as a reply's text.
fn strict(body: &Map<String, Value>) -> bool {
    body.get("strict").and_then(Value::as_bool) == Some(true)
        || body
            .get("extra_body")
            .and_then(|e| e.get("strict"))
            .and_then(Value::as_bool)
            == Some(true)
}

/// A field of the request, top-level or under `extra_body`, whatever its type.
fn value<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name)
        .or_else(|| body.get("extra_body").and_then(|e| e.get(name)))
}

fn side_of(which: Which) -> Side {
    match which {
        Which::A => Side::A,
        Which::B => Side::B,
    }
}

/// A chat engine error as battle mode answers it: a failed battle is the upstream's
/// failure (502), said without the side; a battle that cannot take the command now is a
/// conflict (409); the rest as everywhere.
fn chat_error(e: &Error) -> OpenAiError {
    match e {
        Error::Upstream { message, .. } => {
            OpenAiError::new(StatusCode::BAD_GATEWAY, message.clone())
        }
        Error::BattleState(m) => OpenAiError::new(StatusCode::CONFLICT, m.clone()),
        other => OpenAiError::from_error(other),
    }
}

/// The user turn of the last user message: its content without the command it starts with.
fn user_turn(message: Option<&Value>) -> UserTurn {
    let Some(content) = message.and_then(|m| m.get("content")) else {
        return UserTurn::text("");
    };
    let text = wire::text_of(content);
    let stripped = commands::strip(&text).to_owned();
    match content {
        Value::String(_) | Value::Null => UserTurn::text(stripped),
        other => {
            let mut content = other.clone();
            wire::set_text(&mut content, &stripped);
            UserTurn {
                text: stripped,
                content: Some(content),
            }
        }
    }
}

/// The system text a battle keeps from the messages that start it: every system (and
/// developer) message's text, in order.
fn system_text(messages: &[Value]) -> Option<String> {
    let texts: Vec<String> = messages
        .iter()
        .filter(|m| {
            matches!(
                m.get("role").and_then(Value::as_str),
                Some("system" | "developer")
            )
        })
        .map(|m| wire::text_of(m.get("content").unwrap_or(&Value::Null)))
        .filter(|t| !t.trim().is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

/// The latest command of the history (the user messages before the last) that names a
/// battle: a plain message goes on with that battle, as the side it last showed.
fn history_command(messages: &[Value]) -> Option<(Option<String>, Side)> {
    let users: Vec<&Value> = messages
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .collect();
    let earlier = users.split_last().map_or(&[][..], |(_, rest)| rest);
    earlier.iter().rev().find_map(|m| {
        let text = wire::text_of(m.get("content").unwrap_or(&Value::Null));
        match commands::parse(&text)?.0.ok()? {
            Command {
                action: Action::Start(w) | Action::Answer(w),
                rpid,
            } => Some((rpid, side_of(w))),
            Command {
                action: Action::Result(_),
                rpid,
            } => Some((rpid, Side::A)),
        }
    })
}

pub(super) async fn battle_mode(state: &AppState, headers: &HeaderMap, asked: Asked) -> Response {
    let battle_model = state.arena.config().battle_model.clone();
    let strict = strict(&asked.body);
    let (stream, include_usage) = (asked.stream, asked.include_usage);
    let fail = |e: OpenAiError| {
        if strict {
            e.into_response()
        } else {
            text_reply(state, &battle_model, &e.message, stream, include_usage)
        }
    };
    let last = asked
        .messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"));
    let last_text = last
        .map(|m| wire::text_of(m.get("content").unwrap_or(&Value::Null)))
        .unwrap_or_default();
    // A client's housekeeping (Open WebUI's titles and tags) is no battle.
    if last_text.trim_start().starts_with("### Task:") {
        return housekeeping(state, asked).await;
    }
    let command = match commands::parse(&last_text) {
        Some((parsed, _)) => Some(parsed),
        None => commands::from_fields(
            field(&asked.body, "rpid"),
            field(&asked.body, "start_models"),
            field(&asked.body, "battle_models"),
            field(&asked.body, "win_models"),
        ),
    };
    let command = match command {
        Some(Err(e)) => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, e.to_string())),
        Some(Ok(c)) => Some(c),
        None => None,
    };
    let options = match ChatOptions::from_request(|k| value(&asked.body, k)) {
        Ok(o) => o,
        Err(e) => return fail(OpenAiError::from_error(&e)),
    };
    let who = caller(headers, &asked.body);
    let arena = &state.arena;
    let named = field(&asked.body, "rpid").map(str::to_owned);
    let turn = user_turn(last);
    let answer = match command {
        Some(Command {
            action: Action::Result(verdict),
            rpid,
        }) => {
            let winner = match verdict {
                Verdict::WinA => Winner::ModelA,
                Verdict::WinB => Winner::ModelB,
                Verdict::Tie => Winner::Tie,
                Verdict::BothBad => Winner::BothBad,
                Verdict::Skip => Winner::Skip,
            };
            let rpid = rpid
                .or(named)
                .or_else(|| history_command(&asked.messages).and_then(|(r, _)| r));
            return match arena.chat_result(&who, rpid.as_deref(), winner).await {
                Ok(r) => text_reply(
                    state,
                    &battle_model,
                    &reveal_text(&r),
                    stream,
                    include_usage,
                ),
                Err(e) => fail(chat_error(&e)),
            };
        }
        Some(Command {
            action: Action::Start(which),
            rpid,
        }) => {
            let Some(rpid) = rpid.or(named) else {
                return fail(OpenAiError::new(
                    StatusCode::BAD_REQUEST,
                    "a start needs its RPID, such as $sA1 and your question",
                ));
            };
            arena
                .chat_start(
                    &who,
                    &rpid,
                    side_of(which),
                    system_text(&asked.messages),
                    turn,
                    options,
                )
                .await
        }
        Some(Command {
            action: Action::Answer(which),
            rpid,
        }) => {
            let rpid = rpid
                .or(named)
                .or_else(|| history_command(&asked.messages).and_then(|(r, _)| r));
            arena
                .chat_answer(&who, rpid.as_deref(), side_of(which), Some(turn), options)
                .await
        }
        // A plain message goes on with the battle of the conversation, if it has one.
        None => match history_command(&asked.messages) {
            Some((rpid, side)) => {
                arena
                    .chat_answer(&who, rpid.or(named).as_deref(), side, Some(turn), options)
                    .await
            }
            None => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, HELP)),
        },
    };
    match answer {
        Ok(answer) => answer_response(state, answer, stream, include_usage, strict).await,
        Err(e) => fail(chat_error(&e)),
    }
}

/// One side's answer as the client asked for it: streamed as `Assistant A`/`Assistant B`
/// chunks with arena's own id, or whole; usage by arena's own count.
async fn answer_response(
    state: &AppState,
    answer: ChatAnswer,
    stream: bool,
    include_usage: bool,
    strict: bool,
) -> Response {
    let model = answer.side.label().to_owned();
    let id = new_id();
    let created = now_secs();
    let mut pieces = answer.pieces;
    if !stream {
        let mut text = String::new();
        loop {
            match pieces.next().await {
                Some(Ok(Piece::Text(t))) => text.push_str(&t),
                Some(Ok(Piece::End(end))) => {
                    let mut v = wire::completion(
                        &id,
                        created,
                        &model,
                        &text,
                        wire::usage(end.prompt_tokens, end.completion_tokens),
                    );
                    if let Some(f) = v.pointer_mut("/choices/0/finish_reason") {
                        *f = json!(end.finish_reason);
                    }
                    return Json(v).into_response();
                }
                Some(Err(e)) => {
                    let e = chat_error(&e);
                    return if strict {
                        e.into_response()
                    } else {
                        text_reply(state, &model, &e.message, false, include_usage)
                    };
                }
                None => {
                    return chat_error(&Error::Internal("an answer ended without its end".into()))
                        .into_response();
                }
            }
        }
    }
    let events = async_stream(move |tx| async move {
        let first = wire::chunk(
            &id,
            created,
            &model,
            json!({"role": "assistant", "content": ""}),
            None,
        );
        if tx.send(data(&first)).await.is_err() {
            return;
        }
        while let Some(item) = pieces.next().await {
            let frames = match item {
                Ok(Piece::Text(t)) => {
                    vec![data(&wire::chunk(
                        &id,
                        created,
                        &model,
                        json!({"content": t}),
                        None,
                    ))]
                }
                Ok(Piece::End(end)) => {
                    let mut frames = vec![data(&wire::chunk(
                        &id,
                        created,
                        &model,
                        json!({}),
                        Some(&end.finish_reason),
                    ))];
                    if include_usage {
                        frames.push(data(&json!({
                            "id": id, "object": "chat.completion.chunk", "created": created,
                            "model": model, "choices": [],
                            "usage": wire::usage(end.prompt_tokens, end.completion_tokens),
                        })));
                    }
                    frames.push(done());
                    frames
                }
                Err(e) => vec![error_frame(&chat_error(&e)), done()],
            };
            for frame in frames {
                if tx.send(frame).await.is_err() {
                    return;
                }
            }
        }
    });
    sse(state, events)
}

pub(super) fn reveal_text(r: &crate::chat::ChatResult) -> String {
    let v = &r.reveal;
    let change = |c: &crate::battle::RatingChange| {
        if c.rating_before.is_nan() {
            String::new()
        } else {
            format!(
                ", Elo {:.1} → {:.1} ({:+.1})",
                c.rating_before,
                c.rating_after,
                c.rating_after - c.rating_before
            )
        }
    };
    let outcome = match v.winner {
        Winner::ModelA => format!("{} wins", v.model_a),
        Winner::ModelB => format!("{} wins", v.model_b),
        Winner::Tie => "a tie".into(),
        Winner::BothBad => "both bad".into(),
        Winner::Skip => "skipped".into(),
    };
    let text = format!(
        "Battle {}: {outcome}.\nAssistant A was {}{}.\nAssistant B was {}{}.",
        r.rpid,
        v.model_a,
        change(&v.elo.model_a),
        v.model_b,
        change(&v.elo.model_b)
    );
    // A repeated result (a client's retry) reads the same: the first reveal, as kept.
    text
}

/// A client's housekeeping request: the utility model answers it, or a short fixed text.
pub(super) async fn housekeeping(state: &AppState, mut asked: Asked) -> Response {
    let utility = state.arena.config().utility_model.clone();
    if utility.is_empty() || state.arena.models().get(&utility).is_none() {
        let text = if asked
            .messages
            .iter()
            .any(|m| wire::text_of(m.get("content").unwrap_or(&Value::Null)).contains("title"))
        {
            r#"{"title": "Arena battle"}"#
        } else {
            r#"{"tags": ["arena"]}"#
        };
        let model = state.arena.config().battle_model.clone();
        return text_reply(state, &model, text, asked.stream, asked.include_usage);
    }
    asked.model = utility.clone();
    asked.body.insert("model".into(), json!(utility));
    proxy(state, asked, "chat/completions").await
}
