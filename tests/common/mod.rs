//! Test helpers: a real `flowmcp serve` on port 0 and real MCP clients.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, Peer, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub type Client = RunningService<RoleClient, ()>;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_flowmcp")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `flowmcp serve --auth none --port 0`, killed on drop.
pub struct TestServer {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
}

impl TestServer {
    /// Serve the embedded demo on a fresh data dir.
    pub async fn demo(data_dir: &Path) -> Self {
        Self::start(data_dir, &[]).await
    }

    /// Start with extra arguments; waits for the `listening on` line (no sleeps).
    pub async fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(bin())
            .args(["serve", "--auth", "none", "--port", "0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn flowmcp serve");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            match lines.next_line().await.expect("read stderr") {
                Some(line) => {
                    if let Some(rest) = line.strip_prefix("listening on http://") {
                        break rest.parse().expect("address after 'listening on'");
                    }
                    eprintln!("[server] {line}");
                }
                None => panic!("flowmcp serve exited before listening"),
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[server] {line}");
            }
        });
        Self {
            child,
            addr,
            data_dir: data_dir.to_path_buf(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An MCP client using the 2025-11-25 session handshake.
    pub async fn client(&self) -> Client {
        let transport = StreamableHttpClientTransport::from_uri(self.url("/mcp"));
        ().serve(transport).await.expect("MCP initialize over HTTP")
    }

    /// An MCP client using the 2026-07-28 stateless era (`server/discover`).
    pub async fn stateless_client(&self) -> Client {
        let transport = StreamableHttpClientTransport::from_uri(self.url("/mcp"));
        ().serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("MCP discover over HTTP")
    }

    /// Kill the server the hard way (SIGKILL) and wait for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Call `tool` with a JSON object of arguments.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    call_on(client, tool, args).await
}

/// [`call`] through any client (one with its own handler, too).
pub async fn call_on(peer: &Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    peer.call_tool(params).await.expect("tools/call")
}

/// `perform_action(command, params)`.
pub async fn action(client: &Client, command: &str, params: Value) -> CallToolResult {
    call(
        client,
        "perform_action",
        json!({"command_name": command, "parameters": params}),
    )
    .await
}

/// The text of a result's first content block.
pub fn text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

pub fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// The structured CommandOutput of a result.
pub fn output(result: &CallToolResult) -> Value {
    result
        .structured_content
        .clone()
        .expect("structuredContent")
}
