//! Battle mode: the battle model's in-chat commands.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::proxy::{Asked, proxy};
use super::stream::{own_stream, own_whole, sse, text_reply, tokio_stream_from};
use super::{OpenAiError, battle_error};
use crate::battle::commands::{self, Action, Verdict, Which};
use crate::battle::{Side, Winner};
use crate::chat::ChatOptions;
use crate::provider::Message;
use crate::provider::wire::{self, Shaping};
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

pub(super) const HELP: &str = "This is arena's battle model. Start a blind battle with $sA<id> and your \
    question (for example: $sA1 Write a haiku about autumn); $A or $B to see either answer, or \
    to go on with it; then $wA, $wB, $tie or $bad for the result. The models are revealed only \
    with the result.";

pub(super) async fn battle_mode(state: &AppState, headers: &HeaderMap, asked: Asked) -> Response {
    let strict = asked.body.get("strict").and_then(Value::as_bool) == Some(true)
        || asked
            .body
            .get("extra_body")
            .and_then(|e| e.get("strict"))
            .and_then(Value::as_bool)
            == Some(true);
    let battle_model = state.arena.config().battle_model.clone();
    let fail = |e: OpenAiError| {
        if strict {
            e.into_response()
        } else {
            text_reply(
                state,
                &battle_model,
                &e.message,
                asked.stream,
                asked.include_usage,
            )
        }
    };
    let last_user = asked
        .messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(|m| wire::text_of(m.get("content").unwrap_or(&Value::Null)))
        .unwrap_or_default();
    // A client's housekeeping (Open WebUI's titles and tags) is no battle.
    if last_user.trim_start().starts_with("### Task:") {
        return housekeeping(state, asked).await;
    }
    let command = match commands::parse(&last_user) {
        Some((parsed, _)) => Some(parsed),
        None => commands::from_fields(
            field(&asked.body, "rpid"),
            field(&asked.body, "start_models"),
            field(&asked.body, "battle_models"),
            field(&asked.body, "win_models"),
        ),
    };
    let command = match command {
        None => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, HELP)),
        Some(Err(e)) => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, e.to_string())),
        Some(Ok(c)) => c,
    };
    let rpid = command
        .rpid
        .clone()
        .or_else(|| field(&asked.body, "rpid").map(str::to_owned));
    let who = caller(headers, &asked.body);
    match command.action {
        Action::Result(verdict) => {
            let winner = match verdict {
                Verdict::WinA => Winner::ModelA,
                Verdict::WinB => Winner::ModelB,
                Verdict::Tie => Winner::Tie,
                Verdict::BothBad => Winner::BothBad,
            };
            match state.arena.chat_result(&who, rpid.as_deref(), winner).await {
                Ok(r) => {
                    let text = reveal_text(&r);
                    text_reply(
                        state,
                        &battle_model,
                        &text,
                        asked.stream,
                        asked.include_usage,
                    )
                }
                Err(e) => fail(OpenAiError::from_error(&e)),
            }
        }
        Action::Start(which) | Action::Answer(which) => {
            let side = match which {
                Which::A => Side::A,
                Which::B => Side::B,
            };
            // Every user message loses its command before the conversation goes upstream.
            let mut conversation = Vec::with_capacity(asked.messages.len());
            for mut m in asked.messages {
                if m.get("role").and_then(Value::as_str) == Some("user")
                    && let Some(content) = m.get_mut("content")
                {
                    let text = wire::text_of(content);
                    let stripped = commands::strip(&text);
                    if stripped.len() != text.len() {
                        wire::set_text(content, stripped);
                    }
                }
                conversation.push(m);
            }
            wire::shape(
                &mut conversation,
                Shaping {
                    tavern_mode: state.arena.config().tavern_mode,
                    developer_as_system: true,
                },
            );
            let messages: Vec<Message> = conversation
                .into_iter()
                .filter_map(|m| serde_json::from_value(m).ok())
                .collect();
            let options = ChatOptions {
                temperature: asked.body.get("temperature").and_then(Value::as_f64),
                max_tokens: asked
                    .body
                    .get("max_tokens")
                    .or_else(|| asked.body.get("max_completion_tokens"))
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok()),
            };
            let start = matches!(command.action, Action::Start(_));
            let answer = match state
                .arena
                .chat_answer(&who, rpid.as_deref(), start, side, messages, options)
                .await
            {
                Ok(a) => a,
                Err(e) => return fail(battle_error(&e, side.label())),
            };
            let label = side.label().to_owned();
            let chunks = tokio_stream_from(answer.chunks);
            let chunks = Box::pin(chunks);
            if asked.stream {
                sse(state, own_stream(chunks, label, asked.include_usage, true))
            } else {
                match own_whole(chunks, &label, true).await {
                    Ok(v) => Json(v).into_response(),
                    Err(e) => fail(e),
                }
            }
        }
    }
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
    if r.repeated {
        text.push_str("\nThis result was recorded already; the ratings did not change again.");
    }
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
