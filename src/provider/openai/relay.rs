//! A proxied request: the client's body sent through [`super::failover`] as it came, and the
//! answer handed back whole or as a stream, without the keys an upstream echoes.

use futures_util::StreamExt;
use serde_json::Value;

use super::failover::{Call, Opened, open};
use crate::config::{Endpoint, ModelSpec};
use crate::provider::{Upstream, UpstreamError};

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

/// Forwards `body` to `path` (`chat/completions`, `completions`, `images/generations`) of
/// one endpoint of `model` after another, in a random order, until one answers: only before
/// anything of an answer was taken, so a client never gets two answers spliced. The body
/// keeps every field the client sent (but [`crate::provider::wire::DROPPED`]'s, out already); `model`
/// becomes the endpoint's upstream id, the model's `params` fill in fields the client left
/// out, and `stream` is `stream` (see [`crate::provider::wire::RequestBody::upstream_body`]).
pub(in crate::provider) async fn relay(
    up: &Upstream,
    model: &ModelSpec,
    path: &str,
    body: &crate::provider::wire::RequestBody,
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
/// `message` or `delta`, or its `text`): see [`crate::provider::KeyFilter`]. A stream keeps a filter per
/// choice and lets a choice's held tail out with its `finish_reason`.
fn unkeyed(relay: Relay, keys: Vec<String>) -> Relay {
    if keys.iter().all(|k| k.len() < 4) {
        return relay;
    }
    match relay {
        Relay::Whole(mut value) => {
            for_each_text(&mut value, |_, text, _| {
                let mut f = crate::provider::KeyFilter::new(keys.iter().cloned());
                *text = f.push(text) + &f.finish();
            });
            Relay::Whole(value)
        }
        Relay::Stream(stream) => {
            let mut filters: std::collections::HashMap<u64, crate::provider::KeyFilter> =
                std::collections::HashMap::new();
            Relay::Stream(Box::pin(stream.map(move |item| {
                let mut value = item?;
                for_each_text(&mut value, |index, text, finished| {
                    let f = filters
                        .entry(index)
                        .or_insert_with(|| crate::provider::KeyFilter::new(keys.iter().cloned()));
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
