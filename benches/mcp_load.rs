//! Load benchmark: MCP `tools/call` over streamable HTTP, flowmcp against a bare rmcp ceiling.
//!
//! Two servers run as separate processes on this machine:
//!
//! * **ceiling** — this very binary re-executed with `--serve-ceiling`: a minimal rmcp
//!   `StreamableHttpService` with one no-op tool, configured the way flowmcp configures its
//!   `/mcp` endpoint (config defaults with `legacy_session_mode = true`, nested in an axum
//!   `Router` at `/mcp`, `TCP_NODELAY` on accepted sockets);
//! * **durable** — the same server re-executed with `--serve-durable DIR`: before answering,
//!   every call puts one ~2 KB record into RocksDB in DIR (WAL on, not fsynced, default write
//!   options) — the floor cost every flowmcp call pays to keep its turn durable (DESIGN §6),
//!   so flowmcp ÷ durable is what the framework itself costs;
//! * **flowmcp** — `$FLOWMCP_BIN` (default: the release `flowmcp` next to this bench's build
//!   directory) started as `serve --auth none --port 0 --data-dir <tempdir>`, serving the
//!   embedded demo workflow. Three tools are called: the per-command tool `get_order_details`
//!   (a RocksDB read and a 2 KB answer), `perform_action` naming the same command, and
//!   `calculate` (no data, a short answer: what the framework itself costs per call, the
//!   turn's durable write included).
//!
//! Both print `listening on http://ADDR` on stderr when ready; the bench reads that line (no
//! sleeps). The load client opens N HTTP/1.1 connections (one hyper connection per task, so no
//! pooling effects), performs the MCP handshake on each, then runs a closed loop of
//! `tools/call` for a warm-up period followed by a measured period. Every reply is read in
//! full and checked (HTTP 200, a JSON-RPC result for our id, `isError` not true); any failure
//! aborts the bench with a non-zero exit. At the start and end of the measured window the
//! bench reads the CPU time of the server process and of itself (`/proc/PID/stat`), and
//! reports CPU µs per call (`srv_cpu`, its kernel part `srv_sys`, the client's `cli_cpu`):
//! they split a ratio into what the server and what the client spent per call.
//!
//! Two protocol eras are measured when the server supports them:
//! * `session`   — protocol `2025-11-25`: `initialize`, `Mcp-Session-Id`,
//!   `notifications/initialized`, then calls carrying the session id;
//! * `stateless` — protocol `2026-07-28`: no handshake; every call carries
//!   `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name` and the per-request `_meta`
//!   (protocol version, client capabilities, client info) that rmcp 3.11 routes statelessly.
//!
//! Ratios are reported against both ceilings; `--csv FILE` writes every run as a row for
//! `scripts/plot_load.py`. Run with `cargo build --release && cargo bench --bench mcp_load`
//! (see BENCHMARKS.md for options). Without `--bench` (e.g. `cargo test --benches`) it only
//! runs a short smoke check against the ceilings, so test runs stay fast and need no release
//! binary.
#![allow(clippy::print_stdout)] // a bench reports on stdout

use std::{
    net::SocketAddr,
    path::Path,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, StatusCode, client::conn::http1, header::HeaderValue};
use hyper_util::rt::TokioIo;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use serde::Deserialize;
use tokio::{net::TcpStream, process::Command, task::JoinHandle};

#[path = "support/noop.rs"]
mod noop;
#[path = "support/server.rs"]
mod server;
use noop::{Durable, NOOP_TOOL, NoopServer};
use server::{ServerProc, flowmcp_bin, start_ceiling};

/// Name of this bench target; a positional filter given to `cargo bench` must match it.
const BENCH_NAME: &str = "mcp_load";
const SESSION_PROTOCOL: &str = "2025-11-25";
const STATELESS_PROTOCOL: &str = "2026-07-28";
/// Arguments sent to every tool, the ceiling's included, so request sizes match.
const ORDER_ARGS: &str = r##"{"order_id":"#W2611340"}"##;
const PERFORM_ACTION_ARGS: &str =
    r##"{"command_name":"get_order_details","parameters":{"order_id":"#W2611340"}}"##;
const CALCULATE_ARGS: &str = r##"{"expression":"(17 + 25) * 3"}"##;
/// Bounds that keep a stuck server from hanging the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let args: Args = match server::args_or_exit() {
        Ok(args) => args,
        Err(code) => return code,
    };
    // reqwest is built without a rustls crypto provider of its own (see src/exec/http.rs).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    if args.serve_ceiling || args.serve_durable.is_some() {
        return match serve_ceiling(args.serve_durable.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("ceiling server: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    let Some(opts) = Options::from_args(args) else {
        return ExitCode::SUCCESS;
    };
    // The default multi-thread runtime: one worker per core, like both servers use.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("build tokio runtime");
    match runtime.block_on(run_bench(opts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{BENCH_NAME}: FAILED: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo bench --bench mcp_load -- [OPTIONS]`; env var FLOWMCP_BIN names the flowmcp binary
/// (default: target/release/flowmcp).
#[derive(Debug, clap::Parser)]
#[command(name = "mcp_load")]
struct Args {
    /// Measure only the bare rmcp server (no flowmcp binary needed).
    #[arg(long)]
    ceiling_only: bool,
    /// Seconds per run, not measured.
    #[arg(long, env = "MCP_LOAD_WARMUP_SECS", default_value_t = 2.0, value_parser = seconds)]
    warmup: f64,
    /// Seconds per run, measured.
    #[arg(
        long,
        env = "MCP_LOAD_DURATION_SECS",
        default_value_t = 10.0,
        value_parser = positive_seconds
    )]
    duration: f64,
    /// Connection counts, e.g. 1,16.
    #[arg(
        long,
        env = "MCP_LOAD_CONNS",
        value_delimiter = ',',
        default_value = "1,16",
        value_parser = connections
    )]
    conns: Vec<usize>,
    /// Protocol eras to measure.
    #[arg(
        long,
        env = "MCP_LOAD_MODES",
        value_delimiter = ',',
        default_value = "session,stateless"
    )]
    modes: Vec<Mode>,
    /// Repeat each ceiling/flowmcp sequence N times and report the median ratio.
    #[arg(
        long,
        env = "MCP_LOAD_ROUNDS",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..=100)
    )]
    rounds: u16,
    /// Cap on requests per connection and run.
    #[arg(long, env = "MCP_LOAD_MAX_REQUESTS", default_value_t = 2_000_000)]
    max_requests: u64,
    /// A short ceiling-only check (the default without --bench).
    #[arg(long)]
    smoke: bool,
    /// Appended by `cargo bench`; `cargo test --benches` runs the binary without it.
    #[arg(long, hide = true)]
    bench: bool,
    /// Run as the ceiling server (the bench starts itself this way).
    #[arg(long, hide = true)]
    serve_ceiling: bool,
    /// Run as the durable ceiling, writing into RocksDB in this directory.
    #[arg(long, hide = true, value_name = "DIR")]
    serve_durable: Option<std::path::PathBuf>,
    /// Also write every run as a CSV row (server,tool,conns,round,req_s,p50_us,p99_us).
    #[arg(long, env = "MCP_LOAD_CSV", value_name = "FILE")]
    csv: Option<std::path::PathBuf>,
    /// cargo bench's name filter, meant for all benches.
    filters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// Protocol 2025-11-25 with an `Mcp-Session-Id`.
    Session,
    /// Protocol 2026-07-28, per-request metadata, no session.
    Stateless,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Session => "session",
            Mode::Stateless => "stateless",
        }
    }
}

#[derive(Debug, Clone)]
struct Options {
    warmup: Duration,
    duration: Duration,
    conns: Vec<usize>,
    modes: Vec<Mode>,
    /// Back-to-back repetitions of every (conns, mode) sequence; ratios are per round.
    rounds: usize,
    max_requests: u64,
    ceiling_only: bool,
    smoke: bool,
    csv: Option<std::path::PathBuf>,
}

impl Options {
    /// What to run, from the flags; `None` means "nothing to do" (another bench's filter).
    fn from_args(args: Args) -> Option<Self> {
        if !args.filters.is_empty() && !args.filters.iter().any(|f| BENCH_NAME.contains(f.as_str()))
        {
            eprintln!(
                "{BENCH_NAME}: filter {:?} does not match; skipped",
                args.filters
            );
            return None;
        }
        // Under `cargo test --benches` only prove the harness works: short and self-contained.
        if args.smoke || !args.bench {
            return Some(Self {
                warmup: Duration::ZERO,
                duration: Duration::from_millis(300),
                conns: vec![1, 2],
                modes: args.modes,
                rounds: 1,
                max_requests: args.max_requests,
                ceiling_only: true,
                smoke: true,
                csv: None,
            });
        }
        Some(Self {
            warmup: Duration::from_secs_f64(args.warmup),
            duration: Duration::from_secs_f64(args.duration),
            conns: args.conns,
            modes: args.modes,
            rounds: usize::from(args.rounds),
            max_requests: args.max_requests,
            ceiling_only: args.ceiling_only,
            smoke: false,
            csv: args.csv,
        })
    }
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && (0.0..=3600.0).contains(&secs) => Ok(secs),
        _ => Err(format!("seconds must be within 0..=3600, got {s:?}")),
    }
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    let secs = seconds(s)?;
    if secs > 0.0 {
        Ok(secs)
    } else {
        Err("the measured duration must be positive".into())
    }
}

fn connections(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!("connection counts must be in 1..=1024, got {s:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The ceiling server (child process).
// ---------------------------------------------------------------------------------------------

fn serve_ceiling(durable_dir: Option<&Path>) -> anyhow::Result<()> {
    let durable = durable_dir.map(Durable::open).transpose()?.map(Arc::new);
    server::serve_ceiling(move || {
        let config = StreamableHttpServerConfig::default().with_legacy_session_mode(true);
        let service = StreamableHttpService::new(
            move || {
                Ok(NoopServer {
                    durable: durable.clone(),
                })
            },
            Arc::new(LocalSessionManager::default()),
            config,
        );
        axum::Router::new().nest_service("/mcp", service)
    })
}

// ---------------------------------------------------------------------------------------------
// Server processes seen from the bench.
// ---------------------------------------------------------------------------------------------

/// This bench's own executable as the durable ceiling, on a fresh temporary RocksDB.
async fn start_durable_ceiling() -> anyhow::Result<ServerProc> {
    let data_dir = tempfile::Builder::new()
        .prefix("mcp-load-durable-")
        .tempdir()
        .context("create temporary data dir")?;
    let exe = std::env::current_exe().context("locate the bench executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("--serve-durable").arg(data_dir.path());
    ServerProc::spawn("durable", cmd, Some(data_dir)).await
}

async fn start_flowmcp(bin: &Path) -> anyhow::Result<ServerProc> {
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-bench-")
        .tempdir()
        .context("create temporary data dir")?;
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--auth", "none", "--port", "0", "--data-dir"])
        .arg(data_dir.path());
    ServerProc::spawn("flowmcp", cmd, Some(data_dir)).await
}

// ---------------------------------------------------------------------------------------------
// The load client.
// ---------------------------------------------------------------------------------------------

/// What to call: a server and one of its tools.
#[derive(Clone)]
struct Target {
    /// Row label, `server/tool`.
    label: String,
    /// Which ceiling this is, if it is one.
    ceiling: Option<Ceiling>,
    addr: SocketAddr,
    /// The server's process, whose CPU time is sampled around the measured window.
    pid: Option<u32>,
    tool: &'static str,
    arguments: &'static str,
}

/// Everything a request needs that does not change between calls, prepared once.
struct CallShape {
    host: HeaderValue,
    mode: Mode,
    tool_json: String,
    tool_header: HeaderValue,
    arguments: &'static str,
    meta: &'static str,
}

impl CallShape {
    fn new(target: &Target, mode: Mode) -> Self {
        let meta = match mode {
            Mode::Session => "",
            // rmcp routes a request statelessly when its _meta carries these (SEP-2567).
            Mode::Stateless => concat!(
                r#","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","#,
                r#""io.modelcontextprotocol/clientCapabilities":{},"#,
                r#""io.modelcontextprotocol/clientInfo":{"name":"mcp_load","version":"0.1.0"}}"#
            ),
        };
        Self {
            host: HeaderValue::from_str(&target.addr.to_string()).expect("address is a header"),
            mode,
            tool_json: serde_json::to_string(target.tool).expect("tool name serializes"),
            tool_header: HeaderValue::from_static(target.tool),
            arguments: target.arguments,
            meta,
        }
    }

    fn post(&self, session: Option<&HeaderValue>, body: String) -> Request<Full<Bytes>> {
        // hyper's connection-level client does not add Host; rmcp validates it.
        let mut req = Request::post("/mcp")
            .header(hyper::header::HOST, self.host.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::ACCEPT, "application/json, text/event-stream");
        if let Some(session) = session {
            req = req
                .header("mcp-session-id", session.clone())
                .header("mcp-protocol-version", SESSION_PROTOCOL);
        }
        req.body(Full::new(Bytes::from(body)))
            .expect("valid request")
    }

    fn tools_call(&self, session: Option<&HeaderValue>, id: u64) -> Request<Full<Bytes>> {
        // `concat!` keeps the JSON raw; a format string built by a macro cannot capture `id`.
        let body = format!(
            concat!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","#,
                r#""params":{{"name":{},"arguments":{}{}}}}}"#
            ),
            self.tool_json,
            self.arguments,
            self.meta,
            id = id
        );
        let mut req = self.post(session, body);
        if self.mode == Mode::Stateless {
            // SEP-2243 routing headers, required from 2026-07-28 on.
            let headers = req.headers_mut();
            headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_static(STATELESS_PROTOCOL),
            );
            headers.insert("mcp-method", HeaderValue::from_static("tools/call"));
            headers.insert("mcp-name", self.tool_header.clone());
        }
        req
    }
}

/// One HTTP/1.1 connection and, in session mode, its MCP session.
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: JoinHandle<()>,
    session: Option<HeaderValue>,
    next_id: u64,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    session: Option<HeaderValue>,
    body: Bytes,
}

impl Conn {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect {addr}"))?;
        // Real MCP clients (reqwest, hyper) set it too; without it small requests can stall.
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            driver,
            session: None,
            next_id: 1,
        })
    }

    async fn send(&mut self, req: Request<Full<Bytes>>) -> anyhow::Result<Reply> {
        let exchange = async {
            self.sender.ready().await?;
            let resp = self.sender.send_request(req).await?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await?.to_bytes();
            let content_type = parts
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            anyhow::Ok(Reply {
                status: parts.status,
                content_type,
                session: parts.headers.get("mcp-session-id").cloned(),
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| anyhow!("no complete reply within {REQUEST_TIMEOUT:?}"))?
    }

    /// The 2025-11-25 handshake: `initialize`, then `notifications/initialized`.
    async fn initialize(&mut self, shape: &CallShape) -> anyhow::Result<()> {
        // `concat!` keeps the JSON raw; a format string built by a macro cannot capture a name.
        let body = format!(
            concat!(
                r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","#,
                r#""params":{{"protocolVersion":"{SESSION_PROTOCOL}","capabilities":{{}},"#,
                r#""clientInfo":{{"name":"mcp_load","version":"0.1.0"}}}}}}"#
            ),
            SESSION_PROTOCOL = SESSION_PROTOCOL
        );
        let reply = self.send(shape.post(None, body)).await?;
        check_reply(&reply, 0).context("initialize")?;
        let session = reply
            .session
            .ok_or_else(|| anyhow!("initialize reply has no Mcp-Session-Id header"))?;
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_owned();
        let reply = self.send(shape.post(Some(&session), note)).await?;
        if !reply.status.is_success() {
            bail!(
                "notifications/initialized: HTTP {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            );
        }
        self.session = Some(session);
        Ok(())
    }

    /// One `tools/call`, checked; returns the reply body size.
    async fn call(&mut self, shape: &CallShape) -> anyhow::Result<usize> {
        let id = self.next_id;
        self.next_id += 1;
        let reply = self
            .send(shape.tools_call(self.session.as_ref(), id))
            .await?;
        check_reply(&reply, id)?;
        Ok(reply.body.len())
    }

    /// Ends the session politely so the server does not keep it until it times out.
    async fn close(mut self, shape: &CallShape) {
        if let Some(session) = self.session.take() {
            let mut req = shape.post(Some(&session), String::new());
            *req.method_mut() = hyper::Method::DELETE;
            let _ = self.send(req).await;
        }
        drop(self.sender);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.driver).await;
    }
}

/// The parts of a JSON-RPC reply the check needs; everything else is skipped unparsed.
#[derive(Deserialize)]
struct RpcReply {
    id: Option<u64>,
    result: Option<RpcResult>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RpcResult {
    #[serde(rename = "isError")]
    is_error: Option<bool>,
    #[serde(rename = "resultType")]
    result_type: Option<String>,
}

/// HTTP 200 carrying a JSON-RPC result for `id` — as JSON or as one `data:` event of an SSE
/// stream (which may also carry a priming event, notifications or log messages).
fn check_reply(reply: &Reply, id: u64) -> anyhow::Result<()> {
    let body = &reply.body;
    if reply.status != StatusCode::OK {
        bail!("HTTP {}: {}", reply.status, String::from_utf8_lossy(body));
    }
    let mut found = None;
    if reply.content_type.starts_with("text/event-stream") {
        for line in body.split(|&b| b == b'\n') {
            let Some(data) = line.strip_prefix(b"data:") else {
                continue;
            };
            let data = data.strip_prefix(b" ").unwrap_or(data);
            let data = data.strip_suffix(b"\r").unwrap_or(data);
            if data.is_empty() {
                continue;
            }
            let msg: RpcReply = serde_json::from_slice(data)
                .with_context(|| format!("bad SSE data: {}", String::from_utf8_lossy(data)))?;
            if msg.id == Some(id) || msg.error.is_some() {
                found = Some((msg, data));
                break;
            }
        }
    } else {
        let msg: RpcReply = serde_json::from_slice(body)
            .with_context(|| format!("bad JSON reply: {}", String::from_utf8_lossy(body)))?;
        found = Some((msg, &body[..]));
    }
    let Some((msg, raw)) = found else {
        bail!(
            "no JSON-RPC reply for id {id} in: {}",
            String::from_utf8_lossy(body)
        );
    };
    let text = || String::from_utf8_lossy(raw).into_owned();
    if msg.error.is_some() {
        bail!("JSON-RPC error: {}", text());
    }
    let Some(result) = msg.result else {
        bail!("reply without result: {}", text());
    };
    if result.is_error == Some(true) {
        bail!("tool returned isError: {}", text());
    }
    if result
        .result_type
        .as_deref()
        .is_some_and(|t| t != "complete")
    {
        bail!("incomplete tool result: {}", text());
    }
    Ok(())
}

/// Opens a connection ready for `tools/call` in the given mode.
async fn connect(target: &Target, shape: &CallShape) -> anyhow::Result<Conn> {
    let mut conn = Conn::open(target.addr).await?;
    if shape.mode == Mode::Session {
        conn.initialize(shape).await?;
    }
    Ok(conn)
}

/// One call on a fresh connection: proves the target works before loading it and measures
/// the reply size.
async fn probe(target: &Target, mode: Mode) -> anyhow::Result<usize> {
    let shape = CallShape::new(target, mode);
    let mut conn = connect(target, &shape).await?;
    let size = conn.call(&shape).await?;
    conn.close(&shape).await;
    Ok(size)
}

#[derive(Default)]
struct ConnOutcome {
    /// Latencies (ns) of calls that started after the warm-up and ended inside the window.
    latencies: Vec<u64>,
    error: Option<anyhow::Error>,
}

async fn drive(
    mut conn: Conn,
    shape: Arc<CallShape>,
    measure_from: Instant,
    stop_at: Instant,
    max_requests: u64,
) -> ConnOutcome {
    let mut out = ConnOutcome {
        latencies: Vec::with_capacity(1 << 16),
        error: None,
    };
    let mut sent = 0;
    while sent < max_requests {
        let started = Instant::now();
        if started >= stop_at {
            break;
        }
        sent += 1;
        match conn.call(&shape).await {
            Ok(_) => {
                let ended = Instant::now();
                if started >= measure_from && ended <= stop_at {
                    out.latencies.push((ended - started).as_nanos() as u64);
                }
            }
            Err(err) => {
                // Stop at the first failure: the bench fails anyway, and the connection
                // may be unusable.
                out.error = Some(err.context(format!("call #{sent}")));
                break;
            }
        }
    }
    conn.close(&shape).await;
    out
}

struct RunStats {
    requests: usize,
    rps: f64,
    p50_us: f64,
    p99_us: f64,
    /// CPU time per measured call: the server's, its kernel share, and the load client's.
    cpu: Option<CpuPerCall>,
}

/// CPU microseconds per call over the measured window, from `/proc/PID/stat`.
///
/// Splits a ratio into what the server and what the load client spent per call. It moves
/// with the machine's phase as req/s does (both are CPU-bound at 16 connections), so compare
/// rows of the same round.
#[derive(Clone, Copy)]
struct CpuPerCall {
    server_us: f64,
    server_sys_us: f64,
    client_us: f64,
}

/// User and system CPU time a process has used so far, in microseconds (`None` off Linux or
/// once the process is gone).
fn cpu_times(pid: &str) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fixed fields start after its `)`.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15, in USER_HZ ticks (100 per second on Linux).
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    const US_PER_TICK: u64 = 10_000;
    Some((ticks(11)? * US_PER_TICK, ticks(12)? * US_PER_TICK))
}

/// Samples the server's and this process's CPU time at `from` and at `to`.
async fn sample_cpu(pid: Option<u32>, from: Instant, to: Instant) -> Option<[(u64, u64); 4]> {
    let server = pid?.to_string();
    tokio::time::sleep_until(from.into()).await;
    let (s0, c0) = (cpu_times(&server)?, cpu_times("self")?);
    tokio::time::sleep_until(to.into()).await;
    let (s1, c1) = (cpu_times(&server)?, cpu_times("self")?);
    Some([s0, s1, c0, c1])
}

async fn run_load(
    target: &Target,
    mode: Mode,
    conns: usize,
    opts: &Options,
) -> anyhow::Result<RunStats> {
    let shape = Arc::new(CallShape::new(target, mode));
    // Connect and handshake first, outside the measured window.
    let mut ready = Vec::with_capacity(conns);
    for i in 0..conns {
        let conn = connect(target, &shape)
            .await
            .with_context(|| format!("connection {i}"))?;
        ready.push(conn);
    }
    let measure_from = Instant::now() + opts.warmup;
    let stop_at = measure_from + opts.duration;
    let cpu_sampler = tokio::spawn(sample_cpu(target.pid, measure_from, stop_at));
    let tasks: Vec<_> = ready
        .into_iter()
        .map(|conn| {
            tokio::spawn(drive(
                conn,
                Arc::clone(&shape),
                measure_from,
                stop_at,
                opts.max_requests,
            ))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        let outcome = task.await.context("load task panicked")?;
        latencies.extend_from_slice(&outcome.latencies);
        errors.extend(outcome.error);
    }
    if let Some(first) = errors.into_iter().next() {
        return Err(first.context(format!(
            "{} {} @{conns}: request failed",
            target.label,
            mode.name()
        )));
    }
    if latencies.is_empty() {
        bail!(
            "{} {} @{conns}: no request completed inside the measured window",
            target.label,
            mode.name()
        );
    }
    latencies.sort_unstable();
    let calls = latencies.len() as f64;
    let cpu =
        cpu_sampler
            .await
            .ok()
            .flatten()
            .map(
                |[(su0, ss0), (su1, ss1), (cu0, cs0), (cu1, cs1)]| CpuPerCall {
                    server_us: ((su1 + ss1) - (su0 + ss0)) as f64 / calls,
                    server_sys_us: (ss1 - ss0) as f64 / calls,
                    client_us: ((cu1 + cs1) - (cu0 + cs0)) as f64 / calls,
                },
            );
    Ok(RunStats {
        cpu,
        requests: latencies.len(),
        rps: latencies.len() as f64 / opts.duration.as_secs_f64(),
        p50_us: percentile(&latencies, 0.50) / 1_000.0,
        p99_us: percentile(&latencies, 0.99) / 1_000.0,
    })
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

// ---------------------------------------------------------------------------------------------
// Orchestration and report.
// ---------------------------------------------------------------------------------------------

/// The two servers flowmcp is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ceiling {
    /// rmcp with a no-op tool.
    Bare,
    /// rmcp with a no-op tool that first writes ~2 KB to RocksDB.
    Durable,
}

impl Ceiling {
    fn name(self) -> &'static str {
        match self {
            Ceiling::Bare => "ceiling",
            Ceiling::Durable => "durable",
        }
    }
}

struct Row {
    target: Target,
    mode: Mode,
    conns: usize,
    round: usize,
    reply_bytes: usize,
    stats: RunStats,
}

/// flowmcp's req/s for `label` over `ceiling`'s, in one (mode, conns, round).
fn round_ratio(
    rows: &[Row],
    (mode, conns, round): (Mode, usize, usize),
    label: &str,
    ceiling: Ceiling,
) -> Option<f64> {
    let rps = |pred: &dyn Fn(&Row) -> bool| {
        rows.iter()
            .find(|r| r.mode == mode && r.conns == conns && r.round == round && pred(r))
            .map(|r| r.stats.rps)
    };
    Some(rps(&|r| r.target.label == label)? / rps(&|r| r.target.ceiling == Some(ceiling))?)
}

/// The median of sorted values (`None` when empty).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".to_owned())
}

async fn run_bench(opts: Options) -> anyhow::Result<()> {
    let flowmcp = if opts.ceiling_only {
        None
    } else {
        let bin = flowmcp_bin();
        if !bin.exists() {
            bail!(
                "flowmcp binary not found at {}.\nBuild it first with `cargo build --release` \
                 (or set FLOWMCP_BIN), or run with `-- --ceiling-only`.",
                bin.display()
            );
        }
        Some(bin)
    };

    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "# mcp_load: MCP tools/call over streamable HTTP on 127.0.0.1{}",
        if opts.smoke { " (smoke check)" } else { "" }
    );
    println!(
        "# {cpus} CPUs shared by the load client (tokio multi-thread, {cpus} workers) and the \
         server under test; client CPU time counts against every server alike"
    );
    println!(
        "# warm-up {:?} + measured {:?} per run; HTTP/1.1, one connection per client task; \
         load average at start: {}",
        opts.warmup,
        opts.duration,
        load_average()
    );

    let mut servers = vec![start_ceiling().await?, start_durable_ceiling().await?];
    let mut targets: Vec<Target> = [Ceiling::Bare, Ceiling::Durable]
        .iter()
        .zip(&servers)
        .map(|(&ceiling, server)| Target {
            label: format!("{}/{NOOP_TOOL}", ceiling.name()),
            ceiling: Some(ceiling),
            addr: server.addr,
            pid: server.child.id(),
            tool: NOOP_TOOL,
            arguments: ORDER_ARGS,
        })
        .collect();
    if let Some(bin) = &flowmcp {
        let age = std::fs::metadata(bin)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map_or_else(String::new, |a| {
                format!(", built {} min ago", a.as_secs() / 60)
            });
        println!("# flowmcp: {}{age}", bin.display());
        let server = start_flowmcp(bin).await?;
        for (tool, arguments) in [
            ("get_order_details", ORDER_ARGS),
            ("perform_action", PERFORM_ACTION_ARGS),
            ("calculate", CALCULATE_ARGS),
        ] {
            targets.push(Target {
                label: format!("flowmcp/{tool}"),
                ceiling: None,
                addr: server.addr,
                pid: server.child.id(),
                tool,
                arguments,
            });
        }
        servers.push(server);
    }

    let result = measure_all(&opts, &targets, &mut servers).await;
    for server in servers {
        server.stop().await;
    }
    let rows = result?;
    print_report(&rows, &opts);
    if let Some(path) = &opts.csv {
        write_csv(path, &rows)?;
        println!("# runs written to {}", path.display());
    }
    Ok(())
}

async fn measure_all(
    opts: &Options,
    targets: &[Target],
    servers: &mut [ServerProc],
) -> anyhow::Result<Vec<Row>> {
    // Probe every (target, mode) once; a flowmcp that does not speak the stateless era is
    // reported and skipped, anything else is fatal.
    let mut plan = Vec::new();
    for &mode in &opts.modes {
        for target in targets {
            match probe(target, mode).await {
                Ok(bytes) => plan.push((target.clone(), mode, bytes)),
                Err(err) if mode == Mode::Stateless && target.ceiling.is_none() => {
                    println!(
                        "# {} {}: not measured, probe failed: {err:#}",
                        target.label,
                        mode.name()
                    );
                }
                Err(err) => {
                    for server in servers.iter_mut() {
                        server.check_alive()?;
                    }
                    return Err(err.context(format!("probe {} {}", target.label, mode.name())));
                }
            }
        }
    }

    // Servers are interleaved inside each (conns, mode, round) so slow drift in machine load
    // affects the ceiling and flowmcp alike; rounds repeat the whole sequence, so one noisy
    // stretch spoils one round's ratio, not the reported median.
    let mut rows = Vec::new();
    for &conns in &opts.conns {
        for &mode in &opts.modes {
            for round in 1..=opts.rounds {
                for (target, _, reply_bytes) in plan.iter().filter(|(_, m, _)| *m == mode) {
                    eprintln!(
                        "{BENCH_NAME}: {} {} @{conns} round {round}/{} ...",
                        target.label,
                        mode.name(),
                        opts.rounds
                    );
                    let stats = match run_load(target, mode, conns, opts).await {
                        Ok(stats) => stats,
                        Err(err) => {
                            for server in servers.iter_mut() {
                                server.check_alive()?;
                            }
                            return Err(err);
                        }
                    };
                    rows.push(Row {
                        target: target.clone(),
                        mode,
                        conns,
                        round,
                        reply_bytes: *reply_bytes,
                        stats,
                    });
                }
            }
        }
    }
    Ok(rows)
}

/// Per connection count: the median of the per-round ratios, with their range.
fn ratios(rows: &[Row], opts: &Options, mode: Mode, label: &str, ceiling: Ceiling) -> Vec<String> {
    opts.conns
        .iter()
        .filter_map(|&conns| {
            let mut per_round: Vec<f64> = (1..=opts.rounds)
                .filter_map(|round| round_ratio(rows, (mode, conns, round), label, ceiling))
                .collect();
            per_round.sort_by(f64::total_cmp);
            let median = median(&per_round)?;
            Some(match (per_round.first(), per_round.last()) {
                (Some(lo), Some(hi)) if per_round.len() > 1 => format!(
                    "@{conns} = {median:.2} (median of {}, {lo:.2}-{hi:.2})",
                    per_round.len()
                ),
                _ => format!("@{conns} = {median:.2}"),
            })
        })
        .collect()
}

/// Every run as `server,tool,conns,round,req_s,p50_us,p99_us` (with the era when both ran).
fn write_csv(path: &Path, rows: &[Row]) -> anyhow::Result<()> {
    let mut out = String::from("server,tool,mode,conns,round,req_s,p50_us,p99_us\n");
    for row in rows {
        let (server, tool) = row
            .target
            .label
            .split_once('/')
            .unwrap_or((row.target.label.as_str(), ""));
        out.push_str(&format!(
            "{server},{tool},{},{},{},{:.0},{:.1},{:.1}\n",
            row.mode.name(),
            row.conns,
            row.round,
            row.stats.rps,
            row.stats.p50_us,
            row.stats.p99_us
        ));
    }
    std::fs::write(path, out).with_context(|| format!("write {}", path.display()))
}

fn print_report(rows: &[Row], opts: &Options) {
    println!(
        "{:<26} {:<9} {:>5} {:>5} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "server",
        "mode",
        "conns",
        "round",
        "req/s",
        "p50_us",
        "p99_us",
        "requests",
        "reply_B",
        "srv_cpu",
        "srv_sys",
        "cli_cpu"
    );
    for row in rows {
        let cpu = |f: fn(&CpuPerCall) -> f64| {
            row.stats
                .cpu
                .as_ref()
                .map_or_else(|| "n/a".to_owned(), |c| format!("{:.1}", f(c)))
        };
        println!(
            "{:<26} {:<9} {:>5} {:>5} {:>10.0} {:>9.1} {:>9.1} {:>9} {:>8} {:>8} {:>8} {:>8}",
            row.target.label,
            row.mode.name(),
            row.conns,
            row.round,
            row.stats.rps,
            row.stats.p50_us,
            row.stats.p99_us,
            row.stats.requests,
            row.reply_bytes,
            cpu(|c| c.server_us),
            cpu(|c| c.server_sys_us),
            cpu(|c| c.client_us)
        );
    }
    println!(
        "# srv_cpu, srv_sys, cli_cpu: CPU µs per measured call (server total, its kernel part, \
         load client)"
    );
    for &mode in &opts.modes {
        let flow_labels: Vec<&str> = rows
            .iter()
            .filter(|r| r.mode == mode && r.target.ceiling.is_none())
            .map(|r| r.target.label.as_str())
            .fold(Vec::new(), |mut seen, label| {
                if !seen.contains(&label) {
                    seen.push(label);
                }
                seen
            });
        for label in flow_labels {
            let tool = label.trim_start_matches("flowmcp/");
            for ceiling in [Ceiling::Durable, Ceiling::Bare] {
                let target = match (ceiling, tool) {
                    (Ceiling::Durable, "calculate") => "   (target >= 0.95)",
                    (Ceiling::Durable, _) => "   (target >= 0.85)",
                    (Ceiling::Bare, _) => "",
                };
                println!(
                    "ratio flowmcp/{:<7} {:<9} {:<18} {}{target}",
                    ceiling.name(),
                    mode.name(),
                    tool,
                    ratios(rows, opts, mode, label, ceiling).join(", ")
                );
            }
        }
    }
    println!("# load average at end: {}", load_average());
}
