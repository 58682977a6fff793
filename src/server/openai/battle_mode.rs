//! Battle mode: the battle model's in-chat commands (SPEC §4), read from the last user
//! message (or the battle server's `extra_body` fields) and done by the engine's chat
//! battles (`crate::engine::chat`). The client's history only locates the battle (the latest
//! command in it), the new user text, and (for a continuation, Open WebUI's Continue
//! Response) how much of an answer the client already has; what each model sees is the
//! battle's own transcript of that side.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::housekeeping::{housekeeping, is_housekeeping};
use super::proxy::Asked;
use super::stream::{async_stream, data, done, error_frame, sse, text_reply};
use super::{OpenAiError, new_id, now_secs};
use crate::battle::commands::{self, Action, Command, Verdict, Which};
use crate::battle::{Side, Winner};
use crate::engine::chat::{ChatAnswer, ChatOptions, Piece, UserTurn};
use crate::error::Error;
use crate::provider::wire::{self, Message, Role};
use crate::server::AppState;
use crate::server::auth::{Named, Refusal, Who};

/// Who is asking in battle mode: the user the request names (`user`, else OpenAI's newer
/// `safety_identifier`, which gateways such as LiteLLM forward instead), weighed by
/// [`Who::caller`] with the request's key; a caller naming no user only where
/// [`Who::chat_user`] lets it.
pub(super) fn caller(who: &Who, asked: &Asked) -> Result<String, OpenAiError> {
    let named = ["user", "safety_identifier"].into_iter().find_map(|field| {
        asked
            .body
            .value::<String>(field)
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .map(|u| format!("openai-user:{u}"))
    });
    who.caller(named, Named::Chat)
        .and_then(|caller| who.chat_user(caller))
        .map_err(Refusal::openai)
}

pub(super) const HELP: &str = "This is arena's battle model. Start a blind battle with \
    $sA<id> and your question (for example: $sA1 Write a haiku about autumn): two anonymous \
    models answer it. $A or $B shows either answer; $A or $B followed by a message (or a plain \
    message) goes on with both. Once you have seen both answers, give the result with $wA, $wB, \
    $tie or $bad ($skip leaves a battle without one). The models are revealed only with the \
    result.";

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
        Error::Upstream(up) => OpenAiError::new(StatusCode::BAD_GATEWAY, up.message.clone()),
        Error::BattleState(m) => OpenAiError::new(StatusCode::CONFLICT, m.clone()),
        other => OpenAiError::from_error(other),
    }
}

/// The user turn of the last user message: its content without the command it starts with.
fn user_turn(message: Option<&Message>) -> UserTurn {
    let Some(message) = message.filter(|m| m.content.is_some()) else {
        return UserTurn::text("");
    };
    let text = message.text();
    let stripped = commands::strip(&text).to_owned();
    if !message
        .content
        .as_deref()
        .is_some_and(|c| c.get().starts_with('['))
    {
        return UserTurn::text(stripped);
    }
    // A content of parts (images): the same parts, the command taken out of its text.
    let mut message = message.clone();
    message.set_text(&stripped);
    UserTurn {
        text: stripped,
        content: message
            .content
            .as_deref()
            .and_then(|c| serde_json::from_str::<Value>(c.get()).ok()),
    }
}

/// The system text a battle keeps from the messages that start it: every system (and
/// developer) message's text, in order.
fn system_text(messages: &[Message]) -> Option<String> {
    let texts: Vec<String> = messages
        .iter()
        .filter(|m| matches!(m.role, Role::System | Role::Developer))
        .map(Message::text)
        .filter(|t| !t.trim().is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n\n"))
}

/// The latest command of the history (the user messages before the last) that names a
/// battle: a plain message goes on with that battle, as the side it last showed.
fn history_command(messages: &[Message]) -> Option<(Option<String>, Side)> {
    let users: Vec<&Message> = messages.iter().filter(|m| m.role == Role::User).collect();
    let earlier = users.split_last().map_or(&[][..], |(_, rest)| rest);
    earlier.iter().rev().find_map(|m| {
        let text = m.text();
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

/// The answer text a client asks to have continued (Open WebUI's "Continue Response"): the
/// request's messages end with an assistant message after the last user message.
fn continued(messages: &[Message]) -> Option<String> {
    messages
        .last()
        .filter(|m| m.role == Role::Assistant)
        .map(Message::text)
}

/// Passes over the text a client already has of an answer it asks to continue, so that only
/// the rest is sent. Text that is not the answer's beginning (an edited message, an older
/// answer) gets nothing more.
#[derive(Default)]
struct Shown {
    left: String,
    diverged: bool,
}

impl Shown {
    fn rest(&mut self, piece: String) -> String {
        if self.diverged {
            return String::new();
        }
        if self.left.is_empty() {
            return piece;
        }
        if self.left.starts_with(piece.as_str()) {
            self.left.drain(..piece.len());
            return String::new();
        }
        match piece.strip_prefix(self.left.as_str()) {
            Some(rest) => {
                let rest = rest.to_owned();
                self.left.clear();
                rest
            }
            None => {
                self.diverged = true;
                String::new()
            }
        }
    }
}

/// The command a battle-mode request carries: in its last user message, else in the battle
/// server's `extra_body` fields; a malformed one is the client's error.
fn requested_command(asked: &Asked, last_text: &str) -> Result<Option<Command>, OpenAiError> {
    let command = match commands::parse(last_text) {
        Some((parsed, _)) => Some(parsed),
        None => commands::from_fields(
            asked.field("rpid").as_deref(),
            asked.field("start_models").as_deref(),
            asked.field("battle_models").as_deref(),
            asked.field("win_models").as_deref(),
        ),
    };
    command
        .transpose()
        .map_err(|e| OpenAiError::new(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The generation options a battle-mode request sets, at its top level or in `extra_body`.
fn chat_options(asked: &Asked) -> Result<ChatOptions, OpenAiError> {
    ChatOptions::from_request(|k| {
        asked
            .body
            .value::<Value>(k)
            .or_else(|| asked.body.extra_body_value::<Value>(k))
    })
    .map_err(|e| OpenAiError::from_error(&e))
}

/// The battle and side a continuation goes on with: the command's, else the history's; a
/// result command continues nothing.
fn continued_target(
    command: Option<Command>,
    messages: &[Message],
) -> Option<(Option<String>, Side)> {
    match command {
        Some(Command {
            action: Action::Start(w) | Action::Answer(w),
            rpid,
        }) => Some((rpid, side_of(w))),
        Some(Command {
            action: Action::Result(_),
            ..
        }) => None,
        None => history_command(messages),
    }
}

/// The battle a command goes to: the one it names, else the request's `rpid` field, else
/// the latest one in the conversation.
fn battle_named(
    rpid: Option<String>,
    named: Option<String>,
    messages: &[Message],
) -> Option<String> {
    rpid.or(named)
        .or_else(|| history_command(messages).and_then(|(r, _)| r))
}

fn winner_of(verdict: Verdict) -> Winner {
    match verdict {
        Verdict::WinA => Winner::ModelA,
        Verdict::WinB => Winner::ModelB,
        Verdict::Tie => Winner::Tie,
        Verdict::BothBad => Winner::BothBad,
        Verdict::Skip => Winner::Skip,
    }
}

pub(super) async fn battle_mode(state: &AppState, who: &Who, asked: Asked) -> Response {
    let battle_model = state.arena.config().battle_model.clone();
    let strict = asked.flag("strict");
    let (stream, include_usage) = (asked.stream, asked.include_usage);
    let fail = |e: OpenAiError| {
        if strict {
            e.into_response()
        } else {
            text_reply(state, &battle_model, &e.message, stream, include_usage)
        }
    };
    let last = asked.messages().iter().rev().find(|m| m.role == Role::User);
    let last_text = last.map(Message::text).unwrap_or_default();
    // A client's housekeeping (Open WebUI's titles and tags) is no battle.
    if is_housekeeping(&last_text) {
        return housekeeping(state, asked, &last_text).await;
    }
    let command = match requested_command(&asked, &last_text) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let options = match chat_options(&asked) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let who = match caller(who, &asked) {
        Ok(who) => who,
        Err(e) => return fail(e),
    };
    let arena = &state.arena;
    let named = asked.field("rpid");
    let turn = user_turn(last);
    // A continuation of an answer shown (Open WebUI's Continue Response) starts nothing,
    // adds no turn and records no result: it sends the rest of that side's latest answer,
    // if the client has only part of it (its Stop button), else nothing.
    if let Some(shown) = continued(asked.messages()) {
        let Some((rpid, side)) = continued_target(command, asked.messages()) else {
            return text_reply(state, &battle_model, "", stream, include_usage);
        };
        let rpid = rpid.or(named);
        return match arena
            .chat_answer(&who, rpid.as_deref(), side, None, options)
            .await
        {
            Ok(answer) => {
                let shown = Shown {
                    left: shown,
                    diverged: false,
                };
                answer_response(state, answer, shown, stream, include_usage, strict).await
            }
            Err(e) => fail(chat_error(&e)),
        };
    }
    let answer = match command {
        Some(Command {
            action: Action::Result(verdict),
            rpid,
        }) => {
            let winner = winner_of(verdict);
            let rpid = battle_named(rpid, named, asked.messages());
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
                    system_text(asked.messages()),
                    turn,
                    options,
                )
                .await
        }
        Some(Command {
            action: Action::Answer(which),
            rpid,
        }) => {
            let rpid = battle_named(rpid, named, asked.messages());
            arena
                .chat_answer(&who, rpid.as_deref(), side_of(which), Some(turn), options)
                .await
        }
        // A plain message goes on with the battle of the conversation, if it has one.
        None => match history_command(asked.messages()) {
            Some((rpid, side)) => {
                arena
                    .chat_answer(&who, rpid.or(named).as_deref(), side, Some(turn), options)
                    .await
            }
            None => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, HELP)),
        },
    };
    match answer {
        Ok(answer) => {
            let whole = Shown::default();
            answer_response(state, answer, whole, stream, include_usage, strict).await
        }
        Err(e) => fail(chat_error(&e)),
    }
}

/// One side's answer as the client asked for it (less what `shown` passes over): streamed
/// as `Assistant A`/`Assistant B` chunks with arena's own id, or whole; usage by arena's own
/// count.
async fn answer_response(
    state: &AppState,
    answer: ChatAnswer,
    mut shown: Shown,
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
                Some(Ok(Piece::Text(t))) => text.push_str(&shown.rest(t)),
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
                    let t = shown.rest(t);
                    if t.is_empty() {
                        continue;
                    }
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

pub(super) fn reveal_text(r: &crate::engine::chat::ChatResult) -> String {
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
    let mut text = format!(
        "Battle {}: {outcome}.\nAssistant A was {}{}.\nAssistant B was {}{}.",
        r.rpid,
        v.model_a,
        change(&v.elo.model_a),
        v.model_b,
        change(&v.elo.model_b)
    );
    if let Some(left_out) = v.left_out_text() {
        text.push('\n');
        text.push_str(&left_out);
    }
    // A repeated result (a client's retry) reads the same: the first reveal, as kept.
    text
}
