//! [`JsonBody`]: a request body read as one of the engine's request types, refused the way
//! every face refuses: 413 over the size cap, 400 when it is not JSON, 422 naming the field
//! that is missing, unknown or out of bounds.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::app::EngineError;
use crate::app::requests::{self, Request as EngineRequest};

/// A JSON body parsed as `T` (an empty body counts as `{}`).
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: EngineRequest> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge("the request body is too large".into())
            } else {
                ApiError::BadRequest(format!("cannot read the request body: {e}"))
            }
        })?;
        let map = if bytes.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => {
                    return Err(EngineError::invalid("body", "must be a JSON object").into());
                }
                Err(e) => return Err(ApiError::BadRequest(format!("the body is not JSON: {e}"))),
            }
        };
        Ok(Self(requests::parse::<T>(map)?))
    }
}
