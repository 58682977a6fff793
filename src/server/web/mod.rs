//! The web page at `/` and the API it streams its battles from.
//!
//! - `api`: `/api/battles` (start, turns, resume, vote, list, one), under the same keys,
//!   callers, limits and ownership as the REST API; its routes are listed in `openapi`, with
//!   the others.
//! - `stream`: a turn's answers as server-sent events of both sides at once.
//! - `board`: `/api/models`, `/api/config` and `/api/leaderboard`.
//! - `assets`: the page's files, embedded in the binary, served without a key (they hold
//!   nothing but the page), with ETags, caching and gzip.

pub(crate) mod api;
mod assets;
pub(crate) mod board;
mod stream;

use axum::Router;
use axum::routing::get;

/// The routes of the page's files, which need no key: `/` and `/assets/{file}`.
pub(super) fn assets() -> Router {
    Router::new()
        .route("/", get(assets::index))
        .route("/assets/{*file}", get(assets::file))
}
