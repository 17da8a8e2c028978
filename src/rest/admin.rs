//! The admin's endpoints (an admin token, `type: admin`): mint, list and revoke long-lived
//! MCP tokens, and export every conversation as JSON Lines — streamed to the caller, never
//! written to a path on the server.

use std::io::Write;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio_stream::wrappers::ReceiverStream;

use super::RestState;
use super::api::{
    Detail, GenerateTokenBody, MAX_LABEL_CHARS, MAX_REASON_CHARS, RevokeBody, TokenResponse,
    channel_and_user, check_label,
};
use super::body::JsonBody;
use super::error::ApiError;
use crate::app::EngineError;
use crate::auth::{AuthError, Tokens};
use crate::domain::TokenRecord;

fn tokens(state: &RestState) -> Result<std::sync::Arc<Tokens>, ApiError> {
    state.gate.tokens().cloned().ok_or_else(|| {
        ApiError::NotFound("token authentication is off (--auth none): no admin API".into())
    })
}

/// Run token-store work (blocking) off the async workers.
async fn blocking<T: Send + 'static>(
    state: &RestState,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| state.refuse(AuthError::Unavailable(e.to_string())))?
}

/// Mint a long-lived access token for an MCP client of a channel. The token is shown once:
/// only its id and metadata are kept.
#[utoipa::path(
    post,
    path = "/admin/generate_mcp_token",
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Detail),
        (status = 403, description = "not an admin token", body = Detail),
        (status = 413, body = Detail),
        (status = 422, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn generate_mcp_token(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<GenerateTokenBody>,
) -> Result<Json<TokenResponse>, ApiError> {
    let tokens = tokens(&state)?;
    state.admin(&headers)?;
    let (channel, user) = channel_and_user(&body.channel_id, body.user_id.as_deref())?;
    check_label("name", body.name.as_deref(), 1..=MAX_LABEL_CHARS, true)?;
    if !(1..=state.max_token_days).contains(&body.expires_days) {
        return Err(EngineError::invalid(
            "expires_days",
            format!(
                "must be between 1 and {} (--max-token-days), not {}",
                state.max_token_days, body.expires_days
            ),
        )
        .into());
    }
    let refused = state.clone();
    let (minted, record) = blocking(&state, move || {
        tokens
            .mint_mcp(
                &channel,
                user.as_deref(),
                body.name.as_deref(),
                body.expires_days,
            )
            .map_err(|e| refused.refuse(e))
    })
    .await?;
    tracing::info!(jti = %record.jti, channel = %record.channel_id, "minted an MCP token");
    Ok(Json(TokenResponse {
        access_token: minted.token,
        refresh_token: String::new(),
        token_type: "bearer",
        expires_in: minted.claims.exp - minted.claims.iat,
        startup_output: None,
        jti: Some(record.jti),
    }))
}

/// Every MCP token minted: name, channel, user, created, expires, last used, revoked (never
/// the token itself).
#[utoipa::path(
    get,
    path = "/admin/tokens",
    responses(
        (status = 200, body = [Object]),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list_tokens(
    State(state): State<RestState>,
    headers: HeaderMap,
) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    let tokens = tokens(&state)?;
    state.admin(&headers)?;
    let failed = state.clone();
    let records = blocking(&state, move || tokens.list().map_err(|e| failed.refuse(e))).await?;
    Ok(Json(records))
}

/// Revoke an MCP token by its `jti`: refused from the next request on.
#[utoipa::path(
    post,
    path = "/admin/revoke_token",
    responses(
        (status = 200, description = "the token's record", body = Object),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
        (status = 404, description = "no token with that jti", body = Detail),
        (status = 422, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn revoke_token(
    State(state): State<RestState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RevokeBody>,
) -> Result<Json<TokenRecord>, ApiError> {
    let tokens = tokens(&state)?;
    let admin = state.admin(&headers)?;
    check_label(
        "reason",
        body.reason.as_deref(),
        0..=MAX_REASON_CHARS,
        false,
    )?;
    let failed = state.clone();
    let record = blocking(&state, move || {
        tokens
            .revoke(&body.jti, body.reason.as_deref())
            .map_err(|e| failed.refuse(e))
    })
    .await?;
    tracing::info!(jti = %record.jti, by = %admin.jti, "revoked an MCP token");
    Ok(Json(record))
}

/// A writer that hands what it is given to a response body, chunk by chunk.
struct ChunkWriter(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client gone"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every conversation of every channel as JSON Lines, from one consistent view of the store.
#[utoipa::path(
    get,
    path = "/admin/export",
    responses(
        (
            status = 200,
            description = "one JSON object per line: a conversation with its turns",
            content_type = "application/x-ndjson",
            body = String,
        ),
        (status = 401, body = Detail),
        (status = 403, body = Detail),
    ),
    security(("bearer" = []))
)]
pub(super) async fn export(
    State(state): State<RestState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    tokens(&state)?;
    state.admin(&headers)?;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let app = state.app;
    tokio::task::spawn_blocking(move || {
        // The export flushes what it wrote before it returns.
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, ChunkWriter(tx.clone()));
        match app.export_blocking(None, &mut out) {
            Ok(count) => tracing::info!(conversations = count, "exported over the admin API"),
            Err(e) => {
                tracing::warn!(error = %e, "export failed midway");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        Body::from_stream(ReceiverStream::new(rx)),
    )
        .into_response())
}
