//! Battle mode: the battle model's in-chat commands.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::housekeeping::{housekeeping, is_housekeeping};
use super::proxy::Asked;
use super::stream::{own_stream, own_whole, sse, text_reply, tokio_stream_from};
use super::{OpenAiError, battle_error};
use crate::battle::commands::{self, Action, Verdict, Which};
use crate::battle::{Side, Winner};
use crate::chat::ChatOptions;
use crate::provider::Message;
use crate::provider::wire::{self, Role, Shaping};
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

pub(super) const HELP: &str = "This is arena's battle model. Start a blind battle with $sA<id> and your \
    question (for example: $sA1 Write a haiku about autumn); $A or $B to see either answer, or \
    to go on with it; then $wA, $wB, $tie or $bad for the result. The models are revealed only \
    with the result.";

pub(super) async fn battle_mode(state: &AppState, who: &Who, mut asked: Asked) -> Response {
    let strict = asked.flag("strict");
    let battle_model = state.arena.config().battle_model.clone();
    let (stream, include_usage) = (asked.stream, asked.include_usage);
    let fail = |e: OpenAiError| {
        if strict {
            e.into_response()
        } else {
            text_reply(state, &battle_model, &e.message, stream, include_usage)
        }
    };
    let last_user = asked
        .messages()
        .iter()
        .rev()
        .find(|m| m.role == Role::User)
        .map(wire::Message::text)
        .unwrap_or_default();
    // A client's housekeeping (Open WebUI's titles and tags) is no battle.
    if is_housekeeping(&last_user) {
        return housekeeping(state, asked, &last_user).await;
    }
    let command = match commands::parse(&last_user) {
        Some((parsed, _)) => Some(parsed),
        None => commands::from_fields(
            asked.field("rpid").as_deref(),
            asked.field("start_models").as_deref(),
            asked.field("battle_models").as_deref(),
            asked.field("win_models").as_deref(),
        ),
    };
    let command = match command {
        None => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, HELP)),
        Some(Err(e)) => return fail(OpenAiError::new(StatusCode::BAD_REQUEST, e.to_string())),
        Some(Ok(c)) => c,
    };
    let rpid = command.rpid.clone().or_else(|| asked.field("rpid"));
    let who = match caller(who, &asked) {
        Ok(who) => who,
        Err(e) => return fail(e),
    };
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
            let mut conversation = asked.take_messages();
            for m in &mut conversation {
                if m.role == Role::User && m.content.is_some() {
                    let text = m.text();
                    let stripped = commands::strip(&text);
                    if stripped.len() != text.len() {
                        m.set_text(stripped);
                    }
                }
            }
            wire::shape(
                &mut conversation,
                Shaping {
                    tavern_mode: state.arena.config().tavern_mode,
                    developer_as_system: true,
                },
            );
            let messages: Vec<Message> = conversation
                .iter()
                .map(wire::Message::to_provider)
                .collect();
            drop(conversation);
            let options = ChatOptions {
                temperature: asked.body.value::<f64>("temperature"),
                max_tokens: asked
                    .body
                    .value::<u64>("max_tokens")
                    .or_else(|| asked.body.value::<u64>("max_completion_tokens"))
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
