//! Streamable HTTP: MCP at `/mcp` (both protocol eras rmcp serves: 2025-11-25 sessions and
//! 2026-07-28 stateless requests), plus `/healthz`, in one axum router.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::FlowServer;
use crate::config::ServeSettings;

/// The HTTP app: `/mcp` and `/healthz`.
pub fn router(server: FlowServer, settings: &ServeSettings, shutdown: CancellationToken) -> Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(settings.allowed_hosts.clone())
        .with_legacy_session_mode(true)
        .with_cancellation_token(shutdown);
    if !settings.allowed_origins.is_empty() {
        config = config.with_allowed_origins(settings.allowed_origins.clone());
    }
    let mcp = StreamableHttpService::new(
        move || Ok(server.fork()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .nest_service("/mcp", mcp)
}

/// Serve `router` on an already-bound `listener` until `shutdown` fires.
///
/// Binding is the caller's job so tests (and `--port 0`) know the address first.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY small SSE frames wait for delayed ACKs (~40 ms each).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await?;
    Ok(())
}
