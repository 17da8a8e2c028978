//! Streamable HTTP: MCP at `/mcp` (both protocol eras rmcp serves: 2025-11-25 sessions and
//! 2026-07-28 stateless requests), behind the token check.
//!
//! Every request is authenticated before rmcp sees it ([`Gate`]): a missing or bad token is a
//! 401 whose `WWW-Authenticate` points at the protected-resource metadata. The caller the
//! token names goes into the request's extensions, where [`FlowServer`] reads it. A session
//! belongs to the channel that opened it: a request naming another channel's session is
//! answered as if the session did not exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::FlowServer;
use crate::auth::{AuthError, Gate, gate};
use crate::config::ServeSettings;
use crate::domain::{Caller, ChannelId};

/// The header naming an MCP session.
const SESSION_HEADER: &str = "mcp-session-id";
/// A binding not used for this long belongs to a session rmcp has closed (idle after five
/// minutes); it is forgotten.
const BINDING_IDLE: Duration = Duration::from_secs(15 * 60);
/// Bindings kept before forgetting idle ones is worth a sweep.
const SWEEP_ABOVE: usize = 1024;

/// Which channel opened each live session.
#[derive(Debug)]
struct Guard {
    gate: Gate,
    public_base: String,
    sessions: Mutex<HashMap<String, (ChannelId, Instant)>>,
}

impl Guard {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, (ChannelId, Instant)>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when `session` was opened by `channel` (and note that it was used).
    fn owns(&self, session: &str, channel: &ChannelId) -> bool {
        match self.sessions().get_mut(session) {
            Some((owner, seen)) if owner == channel => {
                *seen = Instant::now();
                true
            }
            _ => false,
        }
    }

    fn bind(&self, session: String, channel: ChannelId) {
        let mut sessions = self.sessions();
        if sessions.len() > SWEEP_ABOVE {
            sessions.retain(|_, (_, seen)| seen.elapsed() < BINDING_IDLE);
        }
        sessions.insert(session, (channel, Instant::now()));
    }

    fn unbind(&self, session: &str) {
        self.sessions().remove(session);
    }

    fn refuse(&self, error: &AuthError) -> Response {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        let mut response =
            (status, axum::Json(json!({"detail": error.to_string()}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, gate::challenge(&self.public_base));
        }
        response
    }
}

/// Authenticate, check the session belongs to the caller's channel, and remember the channel
/// of each new session.
async fn authenticate(
    State(guard): State<Arc<Guard>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller: Caller = match guard.gate.caller(request.headers()) {
        Ok(caller) => caller,
        Err(e) => return guard.refuse(&e),
    };
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(session) = &session
        && !guard.owns(session, &caller.channel_id)
    {
        // Never say whether the session exists: it is not this caller's.
        return (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response();
    }
    let closing = request.method() == Method::DELETE;
    let channel = caller.channel_id.clone();
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    match session {
        None => {
            if let Some(opened) = response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                guard.bind(opened.to_string(), channel);
            }
        }
        Some(session) if closing && response.status().is_success() => {
            guard.unbind(&session);
            // rmcp answers 202; clients expect 200 or 204 (the Python SDK logs anything else
            // as a failed termination).
            if response.status() == StatusCode::ACCEPTED {
                *response.status_mut() = StatusCode::NO_CONTENT;
            }
        }
        Some(_) => {}
    }
    response
}

/// MCP at `/mcp`, each request authenticated by `gate`.
pub fn router(
    server: FlowServer,
    settings: &ServeSettings,
    gate: Gate,
    public_base: String,
    shutdown: CancellationToken,
) -> Router {
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
    let guard = Arc::new(Guard {
        gate,
        public_base,
        sessions: Mutex::default(),
    });
    Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(guard, authenticate))
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
