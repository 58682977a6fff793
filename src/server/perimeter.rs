//! What a request must be to reach a handler at all, checked in one middleware before any
//! handler, key check or body read:
//!
//! - `Host`: on a loopback bind, only loopback names (`localhost`, `127.0.0.1`, `[::1]`, any
//!   port) and the names of `allowed_hosts`: a web page whose own name was rebound to
//!   127.0.0.1 (DNS rebinding) cannot read this server's answers. Beyond loopback the check
//!   runs once `allowed_hosts` names anything. 403 otherwise.
//! - `Origin`: a state-changing request (any method but GET, HEAD, OPTIONS, TRACE) that a
//!   browser sent from another site is refused (403) unless `cors_allowed_origins` lists
//!   that site; a request of the server's own origin, or without `Origin` (any client that
//!   is not a browser), passes. CORS alone would not stop it: a simple POST needs no
//!   preflight, only its answer is hidden.
//! - A body is JSON with a JSON `Content-Type` (`application/json`, `…+json`), on every
//!   route; anything else is a 415, so a page cannot send JSON as `text/plain`.
//! - `max_inflight_requests`: one limit for the whole server; a request holds its place until
//!   its response body has ended or was dropped, so a stream counts while it runs. Beyond it,
//!   503 at once.
//! - Every 429 and 503 carries `Retry-After`.
//!
//! Also here: the `x-request-id` a client sends is kept only as a short token, else replaced.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::error::{ApiError, BUSY_RETRY_SECONDS, RETRY_HINT_SECONDS, set_retry_after};
use super::i18n::{self, Lang, Msg};
use super::openai::OpenAiError;
use crate::config::Config;

/// The longest `x-request-id` kept as sent.
pub const REQUEST_ID_MAX: usize = 128;

/// Whether a client's `x-request-id` is kept: 1 to [`REQUEST_ID_MAX`] letters, digits, `.`,
/// `_` or `-` (a UUID, a trace id); with a space or `=` it could forge a field of the log
/// line, and a long one would bloat every line.
#[must_use]
pub fn request_id_is_token(id: &[u8]) -> bool {
    (1..=REQUEST_ID_MAX).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Drops an `x-request-id` that is not a token (or is sent twice), so that a new one is made
/// for the request, logged and echoed.
pub(super) async fn clean_request_id(mut req: Request) -> Request {
    let name = &super::REQUEST_ID;
    let mut values = req.headers().get_all(name).iter();
    let keep = match (values.next(), values.next()) {
        (Some(one), None) => request_id_is_token(one.as_bytes()),
        _ => false,
    };
    if !keep {
        req.headers_mut().remove(name);
    }
    req
}

/// The checks' settings, shared by every route.
#[derive(Clone)]
pub(super) struct Perimeter {
    lang: Lang,
    /// Host names served besides the loopback names; `None`: any host.
    hosts: Option<Arc<[String]>>,
    /// Origins that may change state; `None`: any.
    origins: Option<Arc<[String]>>,
    inflight: Arc<Semaphore>,
}

impl Perimeter {
    /// The checks of `config` for a server bound to `bound` (`None`: not bound to a socket).
    pub(super) fn new(config: &Config, lang: Lang, bound: Option<SocketAddr>) -> Perimeter {
        let listed = |list: &[String]| -> Option<Arc<[String]>> {
            (!list.iter().any(|h| h == "*"))
                .then(|| list.iter().map(|h| h.to_ascii_lowercase()).collect())
        };
        let loopback = bound.is_some_and(|a| a.ip().is_loopback());
        let hosts = if loopback || !config.allowed_hosts.is_empty() {
            listed(&config.allowed_hosts)
        } else {
            None
        };
        Perimeter {
            lang,
            hosts,
            origins: listed(&config.cors_allowed_origins),
            inflight: Arc::new(Semaphore::new(config.max_inflight_requests)),
        }
    }

    fn refuse(&self, path: &str, status: StatusCode, message: String) -> Response {
        let mut response = if path.starts_with("/v1/") {
            let code = match status {
                StatusCode::FORBIDDEN => "forbidden",
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                _ => "server_busy",
            };
            OpenAiError::new(status, message).code(code).into_response()
        } else {
            ApiError::new(status, message).into_response()
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            set_retry_after(&mut response, BUSY_RETRY_SECONDS);
        }
        response
    }

    /// Why the request's `Host` is not one of this server's names, if it is not.
    fn foreign_host(&self, headers: &HeaderMap) -> Option<String> {
        let allowed = self.hosts.as_ref()?;
        // HTTP/1.0 clients may send none; a browser always does.
        let value = headers.get(header::HOST)?;
        let host = value
            .to_str()
            .ok()
            .and_then(|v| v.parse::<Authority>().ok())
            .map(|a| a.host().trim_end_matches('.').to_ascii_lowercase());
        if let Some(host) = &host
            && (is_loopback_name(host) || allowed.iter().any(|a| host_matches(host, a)))
        {
            return None;
        }
        let shown = String::from_utf8_lossy(value.as_bytes());
        let shown = crate::util::terminal_safe(&shown.chars().take(100).collect::<String>());
        Some(format!(
            "Host `{shown}` is not a name of this server: it answers localhost, 127.0.0.1 and \
             [::1]{}; to serve another name (behind a reverse proxy, on a LAN), list it in \
             allowed_hosts in config.jsonc",
            if allowed.is_empty() {
                String::new()
            } else {
                format!(" and {}", allowed.join(", "))
            }
        ))
    }

    /// Why a state-changing request from a browser's page may not go on, if it may not.
    fn foreign_origin(&self, method: &Method, headers: &HeaderMap) -> Option<String> {
        if matches!(
            *method,
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        ) {
            return None;
        }
        let origin = headers.get(header::ORIGIN)?;
        let allowed = self.origins.as_ref()?;
        let text = origin.to_str().unwrap_or_default();
        if allowed
            .iter()
            .any(|a| a.eq_ignore_ascii_case(text.trim_end_matches('/')))
            || same_origin(text, headers)
        {
            return None;
        }
        let shown = crate::util::terminal_safe(&text.chars().take(100).collect::<String>());
        Some(format!(
            "requests that change something are not taken from pages of other sites (Origin \
             `{shown}`): list the origin in cors_allowed_origins in config.jsonc to allow it"
        ))
    }
}

/// `localhost`, or an address of this machine's loopback.
fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `host` is `allowed`, or `allowed` is `.example.com` and `host` is it or below it.
fn host_matches(host: &str, allowed: &str) -> bool {
    match allowed.strip_prefix('.') {
        Some(domain) => {
            host == domain
                || host
                    .strip_suffix(domain)
                    .is_some_and(|sub| sub.ends_with('.'))
        }
        None => host == allowed,
    }
}

/// Whether `origin` is this server itself, as the request's `Host` names it: the same host
/// and port. The scheme is not compared, so that a server behind a TLS-terminating proxy
/// (`https://` outside, `http://` here) still knows its own pages.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<Authority>().ok())
    else {
        return false;
    };
    let origin_host = url.host_str().unwrap_or_default();
    let port = host.port_u16().or_else(|| url.port_or_known_default());
    origin_host.eq_ignore_ascii_case(host.host()) && url.port_or_known_default() == port
}

/// Whether the request has a body: HTTP/1.1 says so with one of these two headers.
fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// `application/json`, or any `application/…+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

/// The checks of the module's documentation, in that order.
pub(super) async fn guard(State(p): State<Perimeter>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(why) = p.foreign_host(req.headers()) {
        return p.refuse(&path, StatusCode::FORBIDDEN, why);
    }
    if let Some(why) = p.foreign_origin(req.method(), req.headers()) {
        return p.refuse(&path, StatusCode::FORBIDDEN, why);
    }
    if has_body(req.headers()) && !is_json(req.headers()) {
        return p.refuse(
            &path,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON, with Content-Type: application/json".to_owned(),
        );
    }
    let Ok(permit) = p.inflight.clone().try_acquire_owned() else {
        let message = i18n::text(p.lang, Msg::Overloaded).to_owned();
        return p.refuse(&path, StatusCode::SERVICE_UNAVAILABLE, message);
    };
    let mut response = next.run(req).await;
    let wait = match response.status() {
        StatusCode::TOO_MANY_REQUESTS => Some(RETRY_HINT_SECONDS),
        StatusCode::SERVICE_UNAVAILABLE => Some(BUSY_RETRY_SECONDS),
        _ => None,
    };
    if let Some(wait) = wait
        && !response.headers().contains_key(header::RETRY_AFTER)
    {
        set_retry_after(&mut response, wait);
    }
    response.map(|body| {
        Body::new(Holding {
            body,
            permit: Some(permit),
        })
    })
}

/// A response body that holds a place of `max_inflight_requests` until it has ended (or is
/// dropped, when the client leaves first).
struct Holding {
    body: Body,
    permit: Option<OwnedSemaphorePermit>,
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            self.permit = None;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The headers of an answer that a page of an allowed origin may read.
pub(super) fn exposed_headers() -> [axum::http::HeaderName; 2] {
    [super::REQUEST_ID.clone(), header::RETRY_AFTER]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn request_ids_are_kept_only_as_short_tokens() {
        assert!(request_id_is_token(b"4f0c2d1e-8b7a-4c3d-9e2f-0a1b2c3d4e5f"));
        assert!(request_id_is_token(b"trace_01.A-z"));
        for bad in [
            &b""[..],
            b"abc def",
            b"a=b",
            b"x\nlevel=ERROR",
            b"caf\xc3\xa9",
            &[b'a'; REQUEST_ID_MAX + 1],
        ] {
            assert!(!request_id_is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn loopback_names_and_listed_hosts() {
        for host in ["localhost", "127.0.0.1", "127.0.0.2", "[::1]"] {
            assert!(is_loopback_name(host), "{host}");
        }
        for host in ["localhost.evil.com", "10.0.0.1", "[::2]", "evil.com"] {
            assert!(!is_loopback_name(host), "{host}");
        }
        assert!(host_matches("arena.example.com", "arena.example.com"));
        assert!(host_matches("a.example.com", ".example.com"));
        assert!(host_matches("example.com", ".example.com"));
        assert!(!host_matches("badexample.com", ".example.com"));
        assert!(!host_matches("example.com.evil", ".example.com"));
    }

    #[test]
    fn json_content_types() {
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            h
        };
        assert!(is_json(&with("application/json")));
        assert!(is_json(&with("Application/JSON; charset=utf-8")));
        assert!(is_json(&with("application/vnd.api+json")));
        assert!(!is_json(&with("text/plain")));
        assert!(!is_json(&with("application/x-www-form-urlencoded")));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn the_own_origin_is_host_and_port() {
        let host = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static(v));
            h
        };
        assert!(same_origin(
            "http://127.0.0.1:5103",
            &host("127.0.0.1:5103")
        ));
        assert!(same_origin("https://arena.example", &host("arena.example")));
        assert!(same_origin(
            "https://arena.example",
            &host("arena.example:443")
        ));
        assert!(!same_origin(
            "http://127.0.0.1:5104",
            &host("127.0.0.1:5103")
        ));
        assert!(!same_origin(
            "http://evil.example:5103",
            &host("127.0.0.1:5103")
        ));
        assert!(!same_origin("null", &host("127.0.0.1:5103")));
    }
}
