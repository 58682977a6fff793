//! The errors of a call, worded: who was called ([`Ctx`]), what went wrong in words a user
//! can act on, the upstream's own words scrubbed of keys and, while a battle is blind, of
//! the model's name and address. Uses [`crate::provider::scrub`].

use std::time::Duration;

use serde_json::Value;

use crate::config::Endpoint;
use crate::provider::{UpstreamError, UpstreamKind};

/// The message of an error an upstream reports inside its answer (an `error` member).
pub(super) fn in_band_error(value: &Value) -> Option<String> {
    let error = value.get("error")?;
    Some(
        error
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| error.to_string(), str::to_owned),
    )
}

/// Who was called, for messages; and the key sent, to scrub from what comes back.
#[derive(Debug, Clone)]
pub(super) struct Ctx {
    /// The model's public name.
    pub(super) name: String,
    pub(super) endpoint: Endpoint,
    pub(super) target: String,
    pub(super) secret: Option<String>,
}

impl Ctx {
    /// Upstream text made safe to keep: see [`crate::provider::scrub`].
    fn clean(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        crate::provider::scrub(text, &secrets)
    }

    pub(super) fn err(&self, kind: UpstreamKind, what: &str) -> UpstreamError {
        self.err_said(kind, what, "")
    }

    /// [`Self::err`] with the upstream's own words (`said`), which go where the model's name
    /// goes: see [`worded`].
    pub(super) fn err_said(&self, kind: UpstreamKind, what: &str, said: &str) -> UpstreamError {
        self.err_noted(kind, what, "", said)
    }

    /// [`Self::err_said`] with a note of arena's (`note`, such as the key's variable) beside
    /// the model's name and address, hidden with them.
    pub(super) fn err_noted(
        &self,
        kind: UpstreamKind,
        what: &str,
        note: &str,
        said: &str,
    ) -> UpstreamError {
        let secrets: Vec<&str> = self.secret.iter().map(String::as_str).collect();
        let mut place = format!("{} at {}", self.endpoint.model, self.target);
        if !note.is_empty() {
            place.push_str("; ");
            place.push_str(note);
        }
        worded(kind, what, &self.name, &place, said, &secrets)
    }

    pub(super) fn transport(&self, e: &reqwest::Error) -> UpstreamError {
        if let Some(tls) = tls_failure(e) {
            self.err_said(
                UpstreamKind::Unreachable,
                "the TLS connection failed: is the address https on a server that speaks TLS, \
                 with a certificate this machine trusts for that host name?",
                &tls,
            )
        } else if e.is_connect() {
            self.err(
                UpstreamKind::Unreachable,
                "cannot connect: is the server running and the base_url in models.json right?",
            )
        } else if e.is_timeout() {
            self.err(UpstreamKind::Unreachable, "the connection timed out")
        } else {
            self.err_said(
                UpstreamKind::Unreachable,
                "the request failed",
                &error_chain(e),
            )
        }
    }

    pub(super) fn timed_out(&self, limit: Duration) -> UpstreamError {
        self.err(
            UpstreamKind::Timeout,
            &format!(
                "no complete answer within {} s (request_timeout_seconds in config.jsonc)",
                limit.as_secs()
            ),
        )
    }

    pub(super) fn idle(&self, limit: Duration) -> UpstreamError {
        self.err(
            UpstreamKind::Timeout,
            &format!(
                "the stream stalled: nothing arrived for {} s (stream_idle_timeout_seconds in config.jsonc)",
                limit.as_secs()
            ),
        )
    }

    pub(super) fn empty(&self) -> UpstreamError {
        self.err(
            UpstreamKind::BadAnswer,
            "the upstream answered with no text",
        )
    }

    pub(super) fn too_long(&self, cap: u64) -> UpstreamError {
        self.err(
            UpstreamKind::BadAnswer,
            &format!(
                "the answer passed {cap} bytes (max_answer_bytes in config.jsonc) and was cut there"
            ),
        )
    }

    pub(super) fn broken(&self, what: &str, said: &str) -> UpstreamError {
        self.err_said(
            UpstreamKind::BadAnswer,
            &format!("the answer broke off: {what}"),
            said,
        )
    }

    pub(super) fn in_band(&self, message: &str) -> UpstreamError {
        self.err_said(
            UpstreamKind::BadAnswer,
            "the upstream reported an error",
            message,
        )
    }

    pub(super) fn status(&self, code: u16, body: &str, location: Option<&str>) -> UpstreamError {
        let detail = upstream_message(body);
        // The key's variable goes with the model's name, hidden before a battle's vote: a
        // variable such as VENDOR_API_KEY names the side's vendor. What shows names the
        // provider.
        let (key_hint, key_note) = match self.endpoint.api_key_env.as_deref() {
            Some(var) if std::env::var_os(var).is_none_or(|v| v.is_empty()) => (
                "; the provider's key is not set (the log names its variable)".to_owned(),
                format!("the environment variable {var} is not set"),
            ),
            Some(var) => (
                "; check the provider's key (the log names its variable)".to_owned(),
                format!("the key is in the environment variable {var}"),
            ),
            None => (
                "; no key was sent: name the environment variable that holds it with \
                 api_key_env for this model in models.json"
                    .to_owned(),
                String::new(),
            ),
        };
        let what = match code {
            300..=399 => {
                let to = location.map_or_else(|| "another address".to_owned(), |l| self.clean(l));
                return self.err_said(
                    UpstreamKind::Refused,
                    &format!(
                        "the upstream redirected ({code}): redirects are not followed, since the \
                         prompt and the key would go to another host; set base_url to the final \
                         address"
                    ),
                    &format!("to {to}"),
                )
                .with_status(Some(code));
            }
            401 => format!("the upstream refused the API key (401 Unauthorized){key_hint}"),
            403 => format!("the upstream denied access (403 Forbidden){key_hint}"),
            // The id itself is in the `who` part, hidden until the vote.
            404 => "not found (404): check the model id and the base_url in models.json".into(),
            413 => "the request is too large for the upstream (413): shorten the prompt".into(),
            422 => {
                "the upstream rejected the request as invalid (422): check `params` in models.json"
                    .into()
            }
            429 => {
                "the upstream is rate limiting (429): wait and try again, or lower the load".into()
            }
            500..=599 => format!("the upstream server failed ({code})"),
            _ => format!("the upstream answered with status {code}"),
        };
        let said = if (300..400).contains(&code) {
            ""
        } else {
            detail.as_str()
        };
        let note = if matches!(code, 401 | 403) {
            key_note.as_str()
        } else {
            ""
        };
        let mut e = self
            .err_noted(UpstreamKind::Refused, &what, note, said)
            .with_status(Some(code));
        e.refusal = self.refusal(body).map(Box::new);
        e
    }

    /// The upstream's OpenAI-style error, fit to pass on: see [`crate::provider::Refusal`].
    fn refusal(&self, body: &str) -> Option<crate::provider::Refusal> {
        let v: Value = serde_json::from_str(body).ok()?;
        let error = v.get("error").filter(|e| e.is_object())?;
        let field = |name: &str| {
            error.get(name).and_then(|f| match f {
                Value::String(s) => Some(self.public(s)),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        Some(crate::provider::Refusal {
            message: field("message")?,
            kind: field("type"),
            code: field("code"),
            param: field("param"),
        })
    }

    /// Upstream text as a client of the public model may see it: keys scrubbed, the
    /// upstream's id of the model and its address replaced.
    fn public(&self, text: &str) -> String {
        let mut out = self.clean(text);
        let base = self.endpoint.base_url.trim_end_matches('/');
        let host = reqwest::Url::parse(base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        for (from, to) in [
            (Some(self.target.to_owned()), "the upstream"),
            (Some(base.to_owned()), "the upstream"),
            (host, "the upstream"),
            (Some(self.endpoint.model.clone()), self.name.as_str()),
        ] {
            if let Some(from) = from.filter(|f| f.len() >= 2 && f != to) {
                out = out.replace(&from, to);
            }
        }
        out
    }
}

/// The `error.message` of an OpenAI-style error body, or the start of the body.
pub(super) fn upstream_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body)
        && let Some(m) = in_band_error(&v).or_else(|| {
            v.get("detail")
                .map(|d| d.as_str().map_or_else(|| d.to_string(), str::to_owned))
        })
    {
        return m;
    }
    body.trim().chars().take(200).collect()
}

/// The TLS error behind a failed request, if that is what it was: an https connection that
/// failed after the TCP connection and the name lookup succeeded.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    use std::io::ErrorKind;
    let https = e.url().is_some_and(|u| u.scheme() == "https");
    if !https || !e.is_connect() {
        return None;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut last = String::new();
    while let Some(s) = source {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(tls.to_string());
            }
            // A failure of the TCP connection itself is not TLS.
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::TimedOut
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NotFound
            ) {
                return None;
            }
        }
        last = s.to_string();
        source = s.source();
    }
    let lookup = error_chain(e).contains("dns error");
    (!lookup).then_some(last)
}

/// An error of the model `name`: `what`, which may be shown while the models are hidden,
/// then, hidden, the model, where it was called and what the upstream said (`said`, keys
/// scrubbed: its words may name the model, a transport error names the address).
fn worded(
    kind: UpstreamKind,
    what: &str,
    name: &str,
    place: &str,
    said: &str,
    secrets: &[&str],
) -> UpstreamError {
    // Brackets of its own would end the hidden part early (scrub's own are balanced).
    let said = crate::provider::scrub(&said.replace('[', "(").replace(']', ")"), secrets);
    UpstreamError::of_model(kind, what, name, place, &said)
}

/// Why a request reached no upstream, in words (not the client library's chain of causes).
pub(super) fn unreached(e: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    if let Some(tls) = tls_failure(e) {
        return format!(
            "the TLS connection failed ({tls}): is the address https on a server that speaks \
             TLS, with a certificate this machine trusts for that host name?"
        );
    }
    if e.is_timeout() {
        return "the connection timed out".into();
    }
    if !e.is_connect() {
        return format!("the request failed: {}", error_chain(e));
    }
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    if error_chain(e).contains("dns error") {
        return format!(
            "cannot find the host `{host}` (its name does not resolve): is the base_url in \
             models.json right?"
        );
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => {
                    return "cannot connect: nothing listens there (connection refused); is \
                            the server running and the base_url in models.json right?"
                        .into();
                }
                ErrorKind::TimedOut => return "the connection timed out".into(),
                _ => {}
            }
        }
        source = s.source();
    }
    "cannot connect: is the server running and the base_url in models.json right?".into()
}

pub(super) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
