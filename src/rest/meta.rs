//! What a client reads before it calls anything: health, the signing keys (JWKS), the
//! protected-resource metadata of RFC 9728 (no authorization-server metadata: flowmcp has no
//! authorization-code flow, and clients that find one start it), and `/openapi.json`.
//! Any other path, `/.well-known/*` included, is a plain 404.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};
use utoipa::Modify;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use super::RestState;
use super::api::Detail;
use super::error::ApiError;
use crate::domain::ChannelId;

/// The bearer scheme every secured operation names.
pub(super) struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .build();
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Alive: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Object)))]
pub(super) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Ready: the store answers too.
#[utoipa::path(
    get,
    path = "/readyz",
    responses((status = 200, body = Object), (status = 503, body = Detail))
)]
pub(super) async fn readyz(State(state): State<RestState>) -> Result<Json<Value>, ApiError> {
    // A read that creates nothing: the store is reachable and answers.
    let probe = ChannelId::parse("readyz").map_err(|e| ApiError::BadRequest(e.to_string()))?;
    state.app.channel_exists(&probe).await?;
    Ok(Json(json!({"status": "ready"})))
}

fn no_tokens() -> ApiError {
    ApiError::NotFound("token authentication is off (--auth none)".into())
}

/// The public keys tokens are signed with.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    responses((status = 200, body = Object), (status = 404, body = Detail))
)]
pub(super) async fn jwks(State(state): State<RestState>) -> Result<Json<Value>, ApiError> {
    let tokens = state.gate.tokens().ok_or_else(no_tokens)?;
    Ok(Json(
        serde_json::to_value(tokens.keys().jwks()).unwrap_or_default(),
    ))
}

fn resource_metadata(state: &RestState, resource: &str) -> Result<Json<Value>, ApiError> {
    state.gate.tokens().ok_or_else(no_tokens)?;
    let base = &state.public_base;
    Ok(Json(json!({
        "resource": format!("{base}{resource}"),
        "resource_name": "flowmcp",
        "bearer_methods_supported": ["header"],
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "resource_documentation": format!("{base}/openapi.json"),
    })))
}

/// RFC 9728 metadata of the whole API.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-protected-resource",
    responses((status = 200, body = Object), (status = 404, body = Detail))
)]
pub(super) async fn protected_resource(
    State(state): State<RestState>,
) -> Result<Json<Value>, ApiError> {
    resource_metadata(&state, "")
}

/// RFC 9728 metadata of the MCP endpoint (where a 401 from `/mcp` points).
#[utoipa::path(
    get,
    path = "/.well-known/oauth-protected-resource/mcp",
    responses((status = 200, body = Object), (status = 404, body = Detail))
)]
pub(super) async fn protected_resource_mcp(
    State(state): State<RestState>,
) -> Result<Json<Value>, ApiError> {
    resource_metadata(&state, "/mcp")
}

/// The OpenAPI document: utoipa's, generated from the handlers, with each request body's
/// schema taken from the schemars schema its parser is held to (`bodies`: path → schema), the
/// refusals every body or parameter can meet added to each operation, and `expires_days`
/// bounded by this server's `--max-token-days`.
pub(super) fn document(
    api: &utoipa::openapi::OpenApi,
    bodies: Vec<(&str, Map<String, Value>)>,
    max_token_days: u64,
) -> Value {
    let mut doc = serde_json::to_value(api).unwrap_or_default();
    for (path, mut schema) in bodies {
        schema.remove("$schema");
        let pointer = format!("/paths/{}/post", path.replace('/', "~1"));
        if let Some(Value::Object(operation)) = doc.pointer_mut(&pointer) {
            operation.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": schema}}}),
            );
        }
    }
    let days = "/paths/~1admin~1generate_mcp_token/post/requestBody/content/application~1json\
                /schema/properties/expires_days";
    if let Some(Value::Object(property)) = doc.pointer_mut(days) {
        property.insert("maximum".into(), json!(max_token_days));
    }
    let refusal = |description: &str| {
        json!({
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Detail"}}},
        })
    };
    let operations = doc
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(Value::as_object_mut);
    for operation in operations {
        let has_body = operation.contains_key("requestBody");
        let has_params = operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|p| !p.is_empty());
        let Some(Value::Object(responses)) = operation.get_mut("responses") else {
            continue;
        };
        let mut add = |status: &str, description: &str| {
            responses
                .entry(status)
                .or_insert_with(|| refusal(description));
        };
        if has_body {
            add("400", "the body is not JSON");
            add("413", "the body is over 1 MiB");
        }
        if has_body || has_params {
            add("422", "a field is invalid (named)");
        }
    }
    doc
}

/// `/openapi.json`: the [`document`].
pub(super) fn document_routes(document: &Value) -> Router<RestState> {
    let document = document.to_string();
    Router::new().route(
        "/openapi.json",
        get(move || {
            let document = document.clone();
            async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/json"),
                    )],
                    document,
                )
            }
        }),
    )
}

/// Every path not above.
pub(super) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"detail": "not found"}))).into_response()
}
