//! The OpenAPI 3.1 document of every endpoint, generated from the handlers' own annotations
//! and types, so it cannot drift from what the server does; served at `/openapi.json`.

use axum::Json;
use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::web::api as page;
use super::web::board as page_board;
use super::{AppState, board, openai, rest, stats};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "arena",
        description = "Blind pairwise comparison of language models: battles, votes, \
                       leaderboards and statistics. Errors are {\"detail\": ...}."
    ),
    tags(
        (name = "battles", description = "Battles and votes"),
        (name = "ratings", description = "Leaderboards"),
        (name = "statistics", description = "Head-to-head and per-prompt figures"),
        (name = "server", description = "The server itself"),
        (name = "page", description = "The web page's API: battles streamed as server-sent \
                                        events of both sides at once, the caller's battles, \
                                        the models, the settings and the leaderboards"),
        (name = "openai", description = "OpenAI-compatible: a proxy to the pool, and blind \
                                          battles by in-chat commands with the battle model"),
    )
)]
struct Doc;

/// The document of every endpoint.
#[must_use]
pub fn document() -> Document {
    routes().doc
}

/// The routes, grouped by the limits they need, and the document of all.
pub(super) struct Routes {
    /// Those that answer quickly: under the request timeout.
    pub quick: Router<AppState>,
    /// Those that wait for a generation: under the generation's own timeout.
    pub slow: Router<AppState>,
    /// Chat and the page's battles, which wait for a generation too and take bodies with
    /// images in them.
    pub chat: Router<AppState>,
    pub doc: Document,
}

pub(super) fn routes() -> Routes {
    let (quick, mut doc) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(rest::vote))
        .routes(routes!(rest::get_battle))
        .routes(routes!(board::leaderboard))
        .routes(routes!(rest::health))
        .routes(routes!(rest::battleback))
        .routes(routes!(rest::battleunstuck))
        .routes(routes!(stats::battle_statistics))
        .routes(routes!(stats::prompt_statistics))
        .routes(routes!(openapi_json))
        .routes(routes!(openai::list_models))
        .routes(routes!(openai::get_model))
        .routes(routes!(openai::leaderboard))
        .routes(routes!(page::list))
        .routes(routes!(page::detail))
        .routes(routes!(page::resume))
        .routes(routes!(page::vote))
        .routes(routes!(page_board::models))
        .routes(routes!(page_board::config))
        .routes(routes!(page_board::leaderboard))
        .split_for_parts();
    let (slow, slow_doc) = OpenApiRouter::new()
        .routes(routes!(rest::create_battle))
        .routes(routes!(openai::images))
        .split_for_parts();
    let (chat, chat_doc) = OpenApiRouter::new()
        .routes(routes!(openai::chat_completions))
        .routes(routes!(openai::completions))
        // Battles of the page: bodies with images, and streams as long as a generation.
        .routes(routes!(page::start_battle))
        .routes(routes!(page::next_turn))
        .split_for_parts();
    doc.merge(slow_doc);
    doc.merge(chat_doc);
    Routes {
        quick,
        slow,
        chat,
        doc,
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "server",
    responses((status = 200, description = "the OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<Document> {
    Json(document())
}
