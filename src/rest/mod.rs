//! The REST shim: fastworkflow's HTTP API (DESIGN §1) as a small axum router over the same
//! engine calls as MCP, mounted beside `/mcp` on one port.
//!
//! - [`api`]: request and response shapes (fastworkflow's field names);
//! - [`body`]: JSON bodies parsed into the engine's request types (413, 400, 422);
//! - [`error`]: every refusal as `{"detail": …}` with its status;
//! - `session`: `/initialize` and `/refresh_token`;
//! - `turns`: `/invoke_*` and `/perform_action`, as JSON or as a stream (NDJSON, SSE);
//! - `conversations`: list, read, new, activate, feedback;
//! - `admin`: MCP tokens (mint, list, revoke) and the JSONL export;
//! - `meta`: health, JWKS, protected-resource metadata (RFC 9728), `/openapi.json`.

mod admin;
pub mod api;
pub mod body;
mod conversations;
pub mod error;
mod meta;
mod session;
mod turns;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::auth::{AuthError, Gate, Principal, gate};
use crate::domain::Caller;
use error::ApiError;
use meta::BearerScheme;

/// Largest request body the shim reads (bytes); more is a 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// What every handler works with. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RestState {
    pub app: App,
    pub gate: Gate,
    /// The base URL clients reach the server at (for the documents that name it).
    pub public_base: String,
    /// Longest lifetime an admin may give an MCP token.
    pub max_token_days: u64,
}

impl RestState {
    /// The caller of a request that needs an access token (or `--auth none`).
    fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        self.gate.caller(headers).map_err(|e| self.refuse(e))
    }

    /// The admin of a request that needs an admin token.
    fn admin(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        self.gate.admin(headers).map_err(|e| self.refuse(e))
    }

    /// A credential problem as a response (with the challenge a 401 carries).
    fn refuse(&self, error: AuthError) -> ApiError {
        ApiError::Auth(error, gate::challenge(&self.public_base))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "flowmcp",
        description = "Conversational workflows over HTTP: the REST face of flowmcp \
                       (MCP is at /mcp)."
    ),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// The body each path parses, as the schema of its parser: what `/openapi.json` documents.
/// An action is documented as one branch per workflow command, each with that command's
/// parameter schema, so a body the schema admits names a command and the parameters it needs.
fn request_bodies(app: &App) -> Vec<(&'static str, Map<String, Value>)> {
    use crate::app::requests::input_schema;
    use api::{
        ActivateBody, FeedbackBody, GenerateTokenBody, InitializeBody, InvokeBody,
        PerformActionBody, RevokeBody,
    };
    let actions = action_branches(app.catalog());
    let with_commands = |mut schema: Map<String, Value>, field: &str| {
        if let Some(Value::Object(property)) = schema
            .get_mut("properties")
            .and_then(|properties| properties.get_mut(field))
        {
            let nullable = property
                .get("type")
                .and_then(Value::as_array)
                .is_some_and(|types| types.contains(&json!("null")));
            let mut branches = actions.clone();
            if nullable {
                branches.push(json!({"type": "null"}));
            }
            property.retain(|key, _| key == "description");
            property.insert("oneOf".into(), Value::Array(branches));
        }
        schema
    };
    vec![
        (
            "/initialize",
            with_commands(input_schema::<InitializeBody>(), "startup_action"),
        ),
        ("/invoke_assistant", input_schema::<InvokeBody>()),
        ("/invoke_agent", input_schema::<InvokeBody>()),
        ("/invoke_agent_stream", input_schema::<InvokeBody>()),
        (
            "/perform_action",
            with_commands(input_schema::<PerformActionBody>(), "action"),
        ),
        ("/post_feedback", input_schema::<FeedbackBody>()),
        ("/activate_conversation", input_schema::<ActivateBody>()),
        (
            "/admin/generate_mcp_token",
            input_schema::<GenerateTokenBody>(),
        ),
        ("/admin/revoke_token", input_schema::<RevokeBody>()),
    ]
}

/// One schema per workflow command: `command_name` fixed to it, `parameters` its own schema
/// (required when the command has a required parameter).
fn action_branches(catalog: &crate::workflow::Catalog) -> Vec<Value> {
    catalog
        .commands
        .values()
        .map(|command| {
            let mut parameters = (*command.input_schema).clone();
            parameters.remove("$schema");
            let required_params: Vec<Value> = parameters
                .get("required")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            // The engine takes null for an optional parameter as "not given".
            if let Some(Value::Object(properties)) = parameters.get_mut("properties") {
                for (name, property) in properties.iter_mut() {
                    if !required_params.contains(&json!(name)) {
                        allow_null(property);
                    }
                }
            }
            let needs_parameters = !required_params.is_empty();
            let mut required = vec![json!("command_name")];
            if needs_parameters {
                required.push(json!("parameters"));
            } else {
                parameters.insert("type".into(), json!(["object", "null"]));
                parameters.insert("default".into(), json!({}));
            }
            json!({
                "type": "object",
                "title": command.name,
                "properties": {
                    "command_name": {"const": command.name},
                    "parameters": parameters,
                },
                "required": required,
                "additionalProperties": false,
            })
        })
        .collect()
}

/// Widens a property's schema to admit null.
fn allow_null(property: &mut Value) {
    let Value::Object(property) = property else {
        return;
    };
    if let Some(ty) = property.get("type").cloned() {
        property.insert("type".into(), json!([ty, "null"]));
    }
    if let Some(Value::Array(values)) = property.get_mut("enum") {
        values.push(Value::Null);
    }
}

/// The REST API, its OpenAPI document included.
pub fn router(state: RestState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::initialize))
        .routes(routes!(session::refresh_token))
        .routes(routes!(turns::invoke_assistant))
        .routes(routes!(turns::invoke_agent))
        .routes(routes!(turns::invoke_agent_stream))
        .routes(routes!(turns::perform_action))
        .routes(routes!(conversations::new_conversation))
        .routes(routes!(conversations::list_conversations))
        .routes(routes!(conversations::conversation))
        .routes(routes!(conversations::post_feedback))
        .routes(routes!(conversations::activate_conversation))
        .routes(routes!(admin::generate_mcp_token))
        .routes(routes!(admin::list_tokens))
        .routes(routes!(admin::revoke_token))
        .routes(routes!(admin::export))
        .routes(routes!(meta::healthz))
        .routes(routes!(meta::readyz))
        .routes(routes!(meta::jwks))
        .routes(routes!(meta::protected_resource))
        .routes(routes!(meta::protected_resource_mcp))
        .split_for_parts();
    let document = meta::document(&api, request_bodies(&state.app), state.max_token_days);
    router
        .merge(meta::document_routes(&document))
        .fallback(meta::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
