//! `arena serve`: the engine behind HTTP.
//!
//! - [`router`] builds the whole application (for in-process tests too), [`serve`] runs it on
//!   a listener until a shutdown future resolves, then lets in-flight requests and running
//!   generations finish within the grace period and closes the store.
//! - `rest` is the writing arena's REST API, `stats` its statistics, `auth` the key check,
//!   `error` the error bodies, `extract` strict JSON bodies, `i18n` the messages,
//!   `openapi` the document at `/openapi.json`.
//!
//! Every request gets an `x-request-id` (the client's, or a new one), echoed in the response,
//! and one log line with method, path, status and latency; no body, user id or key is ever
//! logged. Beyond `max_inflight_requests` at once, requests are answered 503 at once.

mod auth;
mod error;
mod extract;
mod i18n;
mod openai;
mod openapi;
mod rest;
mod stats;

pub use auth::constant_time_eq;
pub use error::{ApiError, Detail};
pub use i18n::Lang;
pub use openapi::document;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
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
    /// The server's key, when it needs one.
    api_key: Option<Arc<Secret>>,
    /// The last `/leaderboard` body and the [`Arena::board_version`] it was made at, without
    /// and with `include_identity_leaks`: the same version is the same body, sent again
    /// without building or serialising it.
    pub(crate) leaderboard_body: Arc<std::sync::Mutex<[Option<VersionedBody>; 2]>>,
}

/// A response body and the version of the figures it shows.
pub(crate) type VersionedBody = ((i64, i64), axum::body::Bytes);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("lang", &self.lang)
            .field("api_key", &self.api_key.is_some())
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
            leaderboard_body: Arc::default(),
            arena,
        }
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
            auth::require_key,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            usize::try_from(config.max_request_body_bytes).unwrap_or(usize::MAX),
        ))
        .with_state(state);
    let app = match cors(&config.cors_allowed_origins) {
        Some(layer) => app.layer(layer),
        None => app,
    };
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
            .layer(axum::middleware::from_fn(log_request))
            .layer(HandleErrorLayer::new(
                move |_: tower::BoxError| async move {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        i18n::text(lang, Msg::Overloaded),
                    )
                },
            ))
            .load_shed()
            .concurrency_limit(config.max_inflight_requests),
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
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods(tower_http::cors::Any)
            .allow_headers(tower_http::cors::Any),
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
    let app = router(state);
    // Each chunk of a stream goes out as it is written, not held back for the next.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut stopping = stop_rx.clone();
    let served = tokio::select! {
        served = server => served.map_err(|e| Error::Internal(format!("the server failed: {e}"))),
        () = async {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("requests still running after the grace period: stopping them");
            Ok(())
        }
    };
    for task in background {
        task.abort();
    }
    // Battles being generated finish and are stored, within what is left of the grace.
    if arena.generations_running() > 0 {
        tracing::info!(
            "waiting for {} battle(s) being generated",
            arena.generations_running()
        );
        if tokio::time::timeout(grace, arena.generations_done())
            .await
            .is_err()
        {
            tracing::warn!("battles still generating after the grace period");
        }
    }
    served?;
    arena.close().await
}

/// The server's own tasks: ends stale battles every `expiry_interval_seconds`, and says when
/// a Glicko-2 rating period ends (the periodic ratings change then).
fn background(arena: Arena) -> Vec<tokio::task::JoinHandle<()>> {
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
    vec![expiry, periods]
}
