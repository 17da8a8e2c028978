//! MCP over stdin/stdout, for LLM desktop clients. Nothing but MCP messages may reach stdout:
//! logs go to stderr (see `logging`).

use rmcp::ServiceExt;

use super::FlowServer;

/// Serve until the client closes stdin.
pub async fn serve(server: FlowServer) -> anyhow::Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("MCP handshake on stdio failed: {e}"))?;
    running.waiting().await?;
    Ok(())
}
