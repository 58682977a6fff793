//! The HTTP of a call: the endpoint's URL and key (never over plain http to another machine
//! unless allowed), the POST, bodies read up to a cap, and `GET /models`.

use futures_util::StreamExt;
use serde_json::Value;
use tokio::time::Instant;

use super::errors::{Ctx, error_chain, unreached, upstream_message};
use crate::provider::{Upstream, UpstreamError, UpstreamKind};

pub(super) fn url(base: &str, path: &str) -> String {
    format!("{}/{path}", base.trim_end_matches('/'))
}

/// The key of an endpoint: the variable named and its value, when it is set.
pub(in crate::provider) fn key(api_key_env: Option<&str>) -> Option<(String, String)> {
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
    if allowed || parsed.scheme() != "http" || crate::provider::is_loopback(&parsed) {
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
pub(super) async fn read_capped(
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
pub(super) async fn post(
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

/// `GET {base_url}/models`.
pub(in crate::provider) async fn list_models(
    up: &Upstream,
    base_url: &str,
    api_key_env: Option<&str>,
    allow_http_key: bool,
) -> Result<Vec<String>, UpstreamError> {
    let target = url(base_url, "models");
    let key = key(api_key_env);
    let secrets: Vec<&str> = key.iter().map(|(_, v)| v.as_str()).collect();
    let fail = |kind, what: &str| {
        UpstreamError::new(
            kind,
            format!("{target}: {}", crate::provider::scrub(what, &secrets)),
        )
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
                crate::provider::scrub(&upstream_message(&text), &secrets)
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
