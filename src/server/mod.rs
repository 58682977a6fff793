//! `arena serve`: the engine behind HTTP.
//!
//! - [`router`] builds the whole application (for in-process tests too), [`serve`] runs it on
//!   a listener until a shutdown future resolves, then lets in-flight requests and running
//!   generations finish within the grace period and closes the store.
//! - `rest` is the writing arena's REST API, `stats` its statistics, `web` the page at `/`
//!   and its streaming battle API, `auth` who is calling,
//!   `error` the error bodies, `extract` strict JSON bodies, `i18n` the messages,
//!   `openapi` the document at `/openapi.json`.
//!
//! - `conn` is the accept loop: a cap on connections, and timeouts for heads, idle
//!   keep-alives and bodies, so that slow clients cannot hold every descriptor.
//! - `perimeter` is what a request must be to reach a handler at all: its `Host`, its
//!   `Origin`, a JSON content type, a place of `max_inflight_requests`.
//!
//! Every request gets an `x-request-id` (the client's when it is a short token, else a new
//! one), echoed in the response, and one log line with method, path, status and latency; no
//! body, user id or key is ever logged.
//!
//! May use `classify`, the engine and everything below it; it writes no SQL (the store is
//! reached through the engine) and nothing below it uses it. Only `cli` is above it.

mod auth;
mod board;
mod conn;
mod error;
mod extract;
mod i18n;
mod openai;
mod openapi;
mod perimeter;
mod rest;
mod stats;
mod web;

pub use auth::{ANONYMOUS, Caller, Principal, Who, constant_time_eq};
pub use conn::{BodyTimedOut, ConnectionLimits, body_timed_out};
pub use error::{ApiError, Detail};
pub use i18n::Lang;
pub use openapi::document;
pub use perimeter::{REQUEST_ID_MAX, request_id_is_token};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::Arena;
use crate::config::Secret;
use crate::error::{Error, Result};
use i18n::Msg;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub arena: Arena,
    pub lang: Lang,
    /// The config's `api_key` (a service key), when it has one.
    api_key: Option<Arc<Secret>>,
    /// Whether the server listens on this machine only (one person's server, without keys).
    loopback: bool,
    /// When each stored key's use was last written (see `auth`).
    keys_touched: Arc<std::sync::Mutex<std::collections::HashMap<i64, i64>>>,
    /// The last `/leaderboard` body and the [`Arena::board_version`] it was made at, without
    /// and with `include_identity_leaks`: the same version is the same body, sent again
    /// without building or serialising it.
    pub(crate) leaderboard_body: Arc<std::sync::Mutex<[Option<VersionedBody>; 2]>>,
    /// The address the server listens on, once [`serve`] knows it: which `Host` names are
    /// its own depends on it.
    bound: Option<SocketAddr>,
}

/// A response body and the version of the figures it shows.
pub(crate) type VersionedBody = ((i64, i64), axum::body::Bytes);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("lang", &self.lang)
            .field("api_key", &self.api_key.is_some())
            .field("loopback", &self.loopback)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state of a server over `arena`, with the language and key of its configuration.
    #[must_use]
    pub fn new(arena: Arena) -> AppState {
        let config = arena.config();
        let api_key = (!config.api_key.is_empty()).then(|| Arc::new(config.api_key.clone()));
        AppState {
            lang: Lang::from_config(&config.language),
            api_key,
            loopback: true,
            keys_touched: Arc::default(),
            leaderboard_body: Arc::default(),
            bound: None,
            arena,
        }
    }

    /// The state of a server listening on `ip`: beyond this machine, callers are strangers
    /// whatever the keys (see `auth`), and the per-user limits those of a shared server.
    #[must_use]
    pub fn listening_on(mut self, ip: std::net::IpAddr) -> AppState {
        self.loopback = ip.is_loopback();
        self
    }

    /// The response to an engine error.
    #[must_use]
    pub fn error(&self, e: &Error) -> ApiError {
        ApiError::from_error(e, self.lang)
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The largest body of a chat request: chat bodies carry images, several parts of up to
/// `max_attachment_bytes` each, in base64.
pub(crate) fn chat_body_limit(config: &crate::config::Config) -> u64 {
    config
        .max_request_body_bytes
        .max(config.max_attachment_bytes.saturating_mul(8))
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let config = state.arena.config().clone();
    let bound = state.bound;
    let openapi::Routes {
        quick, slow, chat, ..
    } = openapi::routes();
    let timeout = Duration::from_secs(config.server_request_timeout_seconds);
    let lang = state.lang;
    let quick = quick.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(
                move |_: tower::BoxError| async move {
                    ApiError::new(StatusCode::REQUEST_TIMEOUT, i18n::text(lang, Msg::TimedOut))
                },
            ))
            .timeout(timeout),
    );
    let chat = chat.layer(axum::extract::DefaultBodyLimit::max(
        usize::try_from(chat_body_limit(&config)).unwrap_or(usize::MAX),
    ));
    let app = Router::new()
        .merge(quick)
        .merge(slow)
        .merge(chat)
        .fallback(
            move |method: axum::http::Method, uri: axum::http::Uri| async move {
                if uri.path().starts_with("/v1/") {
                    openai::OpenAiError::new(
                        StatusCode::NOT_FOUND,
                        format!("Invalid URL ({method} {}); see /openapi.json", uri.path()),
                    )
                    .code("unknown_url")
                    .into_response()
                } else {
                    ApiError::new(StatusCode::NOT_FOUND, i18n::text(lang, Msg::NoRoute))
                        .into_response()
                }
            },
        )
        .method_not_allowed_fallback(
            move |method: axum::http::Method, uri: axum::http::Uri| async move {
                let message = format!(
                    "{method} is not a method of {}: see /openapi.json",
                    uri.path()
                );
                if uri.path().starts_with("/v1/") {
                    openai::OpenAiError::new(StatusCode::METHOD_NOT_ALLOWED, message)
                        .code("method_not_allowed")
                        .into_response()
                } else {
                    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_response()
                }
            },
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            usize::try_from(config.max_request_body_bytes).unwrap_or(usize::MAX),
        ))
        .with_state(state)
        // The page's files need no key: they hold nothing but the page.
        .merge(web::assets());
    let app = match cors(&config.cors_allowed_origins) {
        Some(layer) => app.layer(layer),
        None => app,
    };
    app.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_request(perimeter::clean_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            .layer(axum::middleware::from_fn(log_request))
            .layer(axum::middleware::from_fn_with_state(
                perimeter::Perimeter::new(&config, lang, bound),
                perimeter::guard,
            )),
    )
}

/// CORS for the configured origins; none configured, no CORS header at all.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    // The wildcard of `Access-Control-Allow-Headers` does not cover `Authorization`: the
    // headers a preflight asks for are named back instead (the SDKs send `x-stainless-*`
    // headers that a fixed list would refuse).
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods(tower_http::cors::Any)
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers(perimeter::exposed_headers()),
    )
}

/// One line per request: method, path, status, latency and request id. Never a body, a
/// query (it may carry ids) or a header value.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_default();
    let response = next.run(req).await;
    tracing::info!(
        target: "arena::server",
        method = %method,
        path = %crate::util::terminal_safe(&path),
        status = response.status().as_u16(),
        latency_ms = format_args!("{:.1}", started.elapsed().as_secs_f64() * 1e3),
        request_id = %id,
        "request"
    );
    response
}

/// Runs the server on `listener` until `shutdown` resolves; then stops accepting, lets
/// in-flight requests and running generations finish (within `shutdown_grace_seconds`), and
/// closes the store, so the database file is complete on its own. Owns the background tasks:
/// the expiry of stale battles and the log of each rating period's end.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let arena = state.arena.clone();
    let grace = Duration::from_secs(arena.config().shutdown_grace_seconds);
    let background = background(arena.clone());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut state = state;
    state.bound = listener.local_addr().ok();
    let app = router(state);
    let (limits, warning) = conn::ConnectionLimits::of(arena.config());
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
    let server = conn::run(listener, app, limits, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut stopping = stop_rx.clone();
    // One grace period, from the signal on, for requests and then the tasks they started.
    let (deadline_tx, deadline_rx) = tokio::sync::oneshot::channel();
    tokio::select! {
        () = server => {}
        () = async {
            let _ = stopping.wait_for(|s| *s).await;
            let deadline = tokio::time::Instant::now() + grace;
            let _ = deadline_tx.send(deadline);
            tokio::time::sleep_until(deadline).await;
        } => {
            tracing::warn!("requests still running after the grace period: stopping them");
        }
    }
    for task in background {
        task.abort();
    }
    let deadline = match deadline_rx.await {
        Ok(at) => at,
        Err(_) => tokio::time::Instant::now() + grace,
    };
    // Battles being generated finish and are stored, within what is left of the grace.
    if arena.tasks_running() > 0 {
        tracing::info!(
            "waiting for {} task(s): battles being generated, notes being written",
            arena.tasks_running()
        );
        if tokio::time::timeout_at(deadline, arena.tasks_done())
            .await
            .is_err()
        {
            tracing::warn!("tasks still running after the grace period");
        }
    }
    arena.close().await
}

/// The server's own tasks: ends stale battles every `expiry_interval_seconds`, says when a
/// Glicko-2 rating period ends (the periodic ratings change then), and judges prompts when
/// a classifier model is set ([`crate::classify`]).
fn background(arena: Arena) -> Vec<tokio::task::JoinHandle<()>> {
    let arena_for_classifier = arena.clone();
    let every = Duration::from_secs(arena.config().expiry_interval_seconds);
    let expiry = {
        let arena = arena.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match arena.expire_stale().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("ended {n} stale battle(s)"),
                    Err(e) => tracing::warn!("ending stale battles failed: {e}"),
                }
            }
        })
    };
    let periods = tokio::spawn(async move {
        let Ok(period) =
            crate::rating::glicko2::parse_period(&arena.config().glicko2.rating_period)
        else {
            return;
        };
        loop {
            let now = arena.now_ms();
            let next = (now.div_euclid(period) + 1) * period;
            let wait = u64::try_from(next - now).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
            tracing::info!(
                "a Glicko-2 rating period ended at {}: the periodic ratings take its votes",
                crate::util::format_ms(next)
            );
        }
    });
    let mut tasks = vec![expiry, periods];
    tasks.extend(crate::classify::spawn(arena_for_classifier));
    tasks
}
