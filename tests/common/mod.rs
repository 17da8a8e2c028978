//! Test helpers: a real `flowmcp serve` on port 0, the same server in this process over an
//! in-memory pipe, and real MCP clients for both.
#![allow(dead_code)] // each test binary uses a different subset

pub(crate) mod llm;

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

pub(crate) type Client = RunningService<RoleClient, ()>;

/// The engine on the small fixture workflow (`tests/fixtures/engine`), conversations kept by
/// the in-memory store: for tests of the engine that need neither the demo nor a data dir.
pub(crate) fn engine_app() -> flowmcp::app::App {
    let dir = repo_root().join("tests/fixtures/engine");
    let source = flowmcp::workflow::WorkflowSource::from_dir(&dir).expect("fixture readable");
    flowmcp::app::App::builder(source)
        .in_memory()
        .open()
        .expect("the fixture opens")
}

/// The demo served in this process over `tokio::io::duplex` (rmcp's own test pattern): the
/// per-tool behaviour of the MCP face, with no HTTP and no child process in between. What
/// only a process shows (stdio, HTTP, signals, kill -9) uses [`TestServer`].
pub(crate) struct InProcess {
    pub(crate) app: flowmcp::app::App,
    caller: flowmcp::domain::Caller,
}

impl InProcess {
    /// The embedded demo on `data_dir`, acting for channel `local`.
    pub(crate) fn demo(data_dir: &Path) -> Self {
        Self::open(data_dir, None)
    }

    /// The workflow folder `workflow` (default: the embedded demo) on `data_dir`, acting for
    /// channel `local`, as `flowmcp serve` would open it.
    pub(crate) fn open(data_dir: &Path, workflow: Option<&Path>) -> Self {
        Self::open_with(data_dir, workflow, None, 25)
    }

    /// [`Self::open`] with agent mode planning through `llm`, at most `max_steps` steps.
    pub(crate) fn open_with(
        data_dir: &Path,
        workflow: Option<&Path>,
        llm: Option<flowmcp::agent::LlmSettings>,
        max_steps: u32,
    ) -> Self {
        let channel = flowmcp::domain::ChannelId::parse("local").expect("channel");
        let settings = flowmcp::config::Settings {
            workflow: workflow.map_or(flowmcp::config::WorkflowChoice::Embedded, |dir| {
                flowmcp::config::WorkflowChoice::Dir(dir.to_path_buf())
            }),
            data_dir: data_dir.to_path_buf(),
            channel: channel.clone(),
            user: None,
            llm,
            agent_max_steps: max_steps,
        };
        Self {
            app: flowmcp::open_app(&settings).expect("the workflow opens"),
            caller: flowmcp::domain::Caller::new(channel, None),
        }
    }

    /// A client connected through a fresh in-memory pipe (one MCP session).
    pub(crate) async fn client(&self) -> Client {
        self.client_with(()).await
    }

    /// [`Self::client`] with a client handler of the test's own (elicitation, notifications).
    pub(crate) async fn client_with<H: rmcp::ClientHandler>(
        &self,
        handler: H,
    ) -> RunningService<RoleClient, H> {
        let (server_io, client_io) = tokio::io::duplex(1 << 20);
        let server = flowmcp::mcp::FlowServer::new(self.app.clone(), self.caller.clone());
        tokio::spawn(async move {
            if let Ok(running) = server.serve(server_io).await {
                let _ = running.waiting().await;
            }
        });
        handler
            .serve(client_io)
            .await
            .expect("MCP initialize in memory")
    }
}

/// reqwest is built with rustls and no crypto provider of its own (the server installs ring:
/// `src/exec/http.rs`), so a test process installs the same before its first HTTP client —
/// reqwest's or rmcp's. Every HTTP test starts a [`TestServer`] first, which calls this.
#[allow(deprecated)] // ring: see src/exec/http.rs
pub(crate) fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub(crate) fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_flowmcp")
}

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running `flowmcp serve --auth none --port 0`, killed on drop.
pub(crate) struct TestServer {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) data_dir: PathBuf,
}

impl TestServer {
    /// Serve the embedded demo on a fresh data dir.
    pub(crate) async fn demo(data_dir: &Path) -> Self {
        Self::start(data_dir, &[]).await
    }

    /// Start with extra arguments and `--auth none`; waits for the `listening on` line (no
    /// sleeps).
    pub(crate) async fn start(data_dir: &Path, extra: &[&str]) -> Self {
        let mut args = vec!["--auth", "none"];
        args.extend_from_slice(extra);
        Self::spawn(data_dir, &args).await
    }

    /// Start with the default authentication (`--auth secure`) and extra arguments.
    pub(crate) async fn secure(data_dir: &Path, extra: &[&str]) -> Self {
        Self::spawn(data_dir, extra).await
    }

    async fn spawn(data_dir: &Path, extra: &[&str]) -> Self {
        install_crypto();
        let mut child = Command::new(bin())
            .args(["serve", "--port", "0", "--data-dir"])
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

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An MCP client using the 2025-11-25 session handshake.
    pub(crate) async fn client(&self) -> Client {
        let transport = StreamableHttpClientTransport::from_uri(self.url("/mcp"));
        ().serve(transport).await.expect("MCP initialize over HTTP")
    }

    /// An MCP client using the 2026-07-28 stateless era (`server/discover`).
    pub(crate) async fn stateless_client(&self) -> Client {
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
    pub(crate) async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Run `flowmcp <args> --data-dir <data_dir>` to completion: (exit ok, stdout, stderr).
pub(crate) async fn cli(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(bin())
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .expect("run flowmcp");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        String::from_utf8_lossy(&output.stderr).trim().to_string(),
    )
}

/// An admin token for the data dir's key pair, from `flowmcp token admin`.
pub(crate) async fn admin_token(data_dir: &Path) -> String {
    let (ok, token, err) = cli(data_dir, &["token", "admin"]).await;
    assert!(ok, "token admin failed: {err}");
    token
}

/// An MCP client (2025-11-25 sessions) sending `Authorization: Bearer <token>`.
pub(crate) async fn client_with_token(url: &str, token: &str) -> Client {
    let config =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(url)
            .auth_header(token);
    let transport = StreamableHttpClientTransport::from_config(config);
    ().serve(transport)
        .await
        .expect("MCP initialize over HTTP with a token")
}

/// Call `tool` with a JSON object of arguments.
pub(crate) async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    call_on(client, tool, args).await
}

/// [`call`] through any client (one with its own handler, too).
pub(crate) async fn call_on(peer: &Peer<RoleClient>, tool: &str, args: Value) -> CallToolResult {
    let mut params = CallToolRequestParams::new(tool.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    peer.call_tool(params).await.expect("tools/call")
}

/// `perform_action(command, params)`, through any client.
pub(crate) async fn action(
    client: &Peer<RoleClient>,
    command: &str,
    params: Value,
) -> CallToolResult {
    call_on(
        client,
        "perform_action",
        json!({"command_name": command, "parameters": params}),
    )
    .await
}

/// The text of a result's first content block.
pub(crate) fn text(result: &CallToolResult) -> String {
    result
        .content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

pub(crate) fn is_error(result: &CallToolResult) -> bool {
    result.is_error == Some(true)
}

/// The structured CommandOutput of a result.
pub(crate) fn output(result: &CallToolResult) -> Value {
    result
        .structured_content
        .clone()
        .expect("structuredContent")
}
