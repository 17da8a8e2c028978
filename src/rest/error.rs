//! Every refusal of the REST shim as an HTTP response: the status written once for each
//! cause (DESIGN §1), a body of `{"detail": "…"}`, `WWW-Authenticate` on a 401 and
//! `Retry-After` on a 503. Internals stay in the log.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::EngineError;
use crate::auth::AuthError;

/// Why a REST request got no answer.
#[derive(Debug)]
pub enum ApiError {
    Engine(EngineError),
    /// A credential problem, with the `WWW-Authenticate` value a 401 carries.
    Auth(AuthError, HeaderValue),
    /// The request itself is malformed (not JSON, wrong content type): 400.
    BadRequest(String),
    /// The body is over the size cap: 413.
    TooLarge(String),
    /// Nothing here: 404.
    NotFound(String),
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

/// Seconds a busy server asks a client to wait before trying again.
const RETRY_AFTER_SECONDS: &str = "1";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match &self {
            Self::Engine(e) => (e.status(), e.to_string()),
            Self::Auth(e, _) => (e.status(), e.to_string()),
            Self::BadRequest(detail) => (400, detail.clone()),
            Self::TooLarge(detail) => (413, detail.clone()),
            Self::NotFound(detail) => (404, detail.clone()),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(json!({ "detail": detail }))).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Auth(_, challenge) if status == StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, challenge.clone());
            }
            Self::Engine(EngineError::Busy(_)) => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            _ => {}
        }
        response
    }
}
