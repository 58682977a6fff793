//! Request bodies read strictly and answered clearly: a body that is too large is a 413, one
//! that is not JSON a 400, one of the wrong shape a 422 that names the field; never a 500.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::i18n::{self, Msg};

/// The battle id of a path (`/battle/{id}`, `/vote/{id}`) as sent; one that does not even
/// decode (`%FF`) is the reference's 404 for an unknown battle, in JSON like every answer.
pub struct BattlePath(pub String);

impl FromRequestParts<AppState> for BattlePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(id)) => Ok(BattlePath(id)),
            Err(_) => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                i18n::text(state.lang, Msg::BattleNotFound),
            )),
        }
    }
}

/// A JSON body of `T`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

/// A query string of `T`; one that does not fit is a 400 that says which parameter.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Params<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, _) = req.into_parts();
        use axum::extract::FromRequestParts;
        match axum::extract::Query::<T>::from_request_parts(&mut parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Params(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                e.body_text()
                    .trim_start_matches("Failed to deserialize query string: ")
                    .to_owned(),
            )),
            Err(other) => Err(ApiError::new(other.status(), other.body_text())),
        }
    }
}

fn rejected(r: &JsonRejection) -> ApiError {
    match r {
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            // serde's own words name the field and what was expected.
            e.body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
                .to_owned(),
        ),
        JsonRejection::JsonSyntaxError(e) => {
            let text = e.body_text();
            let text = text.trim_start_matches("Failed to parse the request body as JSON: ");
            // serde reports a field of the wrong kind (a number for a string choice) as a
            // syntax error: with a field path in front, it is a body of the wrong shape.
            match text.split_once(": ") {
                Some((path, why))
                    if !path.is_empty()
                        && path
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c)) =>
                {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("`{path}`: {why}"))
                }
                _ => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not valid JSON: {text}"),
                ),
            }
        }
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON, with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(e) if let Some(t) = super::body_timed_out(e) => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, t.to_string())
        }
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the body is larger than the server takes (max_request_body_bytes)",
            )
        }
        other => ApiError::new(other.status(), other.body_text()),
    }
}
