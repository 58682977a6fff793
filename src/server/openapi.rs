//! The OpenAPI 3.1 document of every endpoint, generated from the handlers' own annotations
//! and types, so it cannot drift from what the server does; served at `/openapi.json`.

use axum::Json;
use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{AppState, openai, rest, stats};

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
        (name = "openai", description = "OpenAI-compatible: a proxy to the pool, and blind \
                                          battles by in-chat commands with the battle model"),
    )
)]
struct Doc;

/// The document of every endpoint.
#[must_use]
pub fn document() -> Document {
    routes().2
}

/// The routes that answer quickly, those that wait for a generation, and the document of
/// both.
pub(super) fn routes() -> (Router<AppState>, Router<AppState>, Document) {
    let (quick, quick_doc) = OpenApiRouter::with_openapi(Doc::openapi())
        .routes(routes!(rest::vote))
        .routes(routes!(rest::get_battle))
        .routes(routes!(rest::leaderboard))
        .routes(routes!(rest::health))
        .routes(routes!(rest::battleback))
        .routes(routes!(rest::battleunstuck))
        .routes(routes!(stats::battle_statistics))
        .routes(routes!(stats::prompt_statistics))
        .routes(routes!(openapi_json))
        .routes(routes!(openai::list_models))
        .routes(routes!(openai::get_model))
        .routes(routes!(openai::leaderboard))
        .split_for_parts();
    let (slow, slow_doc) = OpenApiRouter::new()
        .routes(routes!(rest::create_battle))
        .routes(routes!(openai::chat_completions))
        .routes(routes!(openai::completions))
        .routes(routes!(openai::images))
        .split_for_parts();
    let mut doc = quick_doc;
    doc.merge(slow_doc);
    (quick, slow, doc)
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "server",
    responses((status = 200, description = "the OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<Document> {
    Json(document())
}
