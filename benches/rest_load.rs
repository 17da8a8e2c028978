//! Load benchmark: REST `POST /perform_action` against `flowmcp serve`, with token
//! authentication (`--auth secure`, the default) and without it (`--auth none`), beside a
//! ceiling, in the same run.
//!
//! The ceiling is the cheapest answer an axum server can give to the same request: the bench
//! re-executes itself with `--serve-ceiling`, an axum `Router` with one route that parses the
//! JSON body and answers a fixed JSON reply. Each round starts the three servers (in rotating
//! order, so none always runs on a warmer machine); flowmcp on fresh data dirs, serving the
//! embedded demo. The secure one is reached with the access token `/initialize` hands out;
//! every request carries it and is verified. The command is `calculate` (no data, a short
//! answer): what the framework costs per request — token, parse, run, the turn written to
//! RocksDB before the answer. The client opens N HTTP/1.1 connections (one per task, no
//! pooling) and runs a closed loop: a warm-up, then a measured window; every reply is read in
//! full and checked (200, the command's answer), and any failure aborts the bench.
//!
//! Run with `cargo build --release && cargo bench --bench rest_load` (options: `--help`).
//! Without `--bench` (as in `cargo test --benches`) it does nothing, so test runs need no
//! release binary.
#![allow(clippy::print_stdout)] // a bench reports on stdout

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::process::Command;

#[path = "support/server.rs"]
mod server;
use server::{ServerProc, flowmcp_bin, start_ceiling};

const BODY: &str =
    r#"{"action":{"command_name":"calculate","parameters":{"expression":"(17 + 25) * 3"}}}"#;
/// What every answer must contain.
const ANSWER: &str = "= 126";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `cargo bench --bench rest_load -- [OPTIONS]`; env var FLOWMCP_BIN names the flowmcp
/// binary (default: target/release/flowmcp).
#[derive(Debug, clap::Parser)]
struct Args {
    /// Seconds per run, not measured
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds per run, measured
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Concurrent connections
    #[arg(long, default_value_t = 16)]
    conns: usize,
    /// Rounds (each runs every server)
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Channels the secure server's connections are spread over (connection i uses channel
    /// i mod N, each with its own token); `--auth none` serves one channel whatever this says
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// Set by `cargo bench`; without it the bench does nothing
    #[arg(long)]
    bench: bool,
    /// Run as the ceiling server (the bench starts itself this way)
    #[arg(long, hide = true)]
    serve_ceiling: bool,
    /// cargo bench's name filter, meant for all benches
    filters: Vec<String>,
}

/// The servers of a round.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// flowmcp with `--auth secure`.
    Secure,
    /// flowmcp with `--auth none`.
    None,
    /// The bare axum server.
    Ceiling,
}

impl Target {
    const ALL: [Self; 3] = [Self::Secure, Self::None, Self::Ceiling];

    fn label(self) -> &'static str {
        match self {
            Self::Secure => "secure",
            Self::None => "none",
            Self::Ceiling => "ceiling",
        }
    }
}

fn main() -> ExitCode {
    let args: Args = match server::args_or_exit() {
        Ok(args) => args,
        Err(code) => return code,
    };
    if args.serve_ceiling {
        return match serve_ceiling() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("ceiling server: {err:#}");
                ExitCode::FAILURE
            }
        };
    }
    if !args.bench
        || args
            .filters
            .iter()
            .any(|f| !"rest_load".contains(f.as_str()))
    {
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("rest_load: no runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("rest_load: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The ceiling: one route, the body parsed as JSON, a fixed answer.
fn serve_ceiling() -> anyhow::Result<()> {
    server::serve_ceiling(|| {
        let answer =
            serde_json::json!({"command_responses": [{"response": "(17 + 25) * 3 = 126"}]});
        axum::Router::new().route(
            "/perform_action",
            axum::routing::post(move |axum::Json(_body): axum::Json<serde_json::Value>| {
                let answer = answer.clone();
                async move { axum::Json(answer) }
            }),
        )
    })
}

/// A server of `target`, and the tokens its connections use in turn (none without auth).
async fn start(target: Target, channels: usize) -> anyhow::Result<(ServerProc, Vec<String>)> {
    let auth = match target {
        Target::Ceiling => return Ok((start_ceiling().await?, Vec::new())),
        Target::Secure => "secure",
        Target::None => "none",
    };
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-rest-bench-")
        .tempdir()
        .context("create temporary data dir")?;
    let mut cmd = Command::new(flowmcp_bin());
    cmd.args(["serve", "--auth", auth, "--port", "0", "--data-dir"])
        .arg(data_dir.path());
    let server = ServerProc::spawn("flowmcp", cmd, Some(data_dir)).await?;
    let mut tokens = Vec::new();
    if target == Target::Secure {
        let mut conn = Conn::open(server.addr, None).await?;
        for i in 0..channels.max(1) {
            let body = format!(r#"{{"channel_id":"bench-{i}","user_id":"bench"}}"#);
            let (status, body) = conn.post("/initialize", body.into()).await?;
            if status != StatusCode::OK {
                bail!("/initialize answered {status}: {body}");
            }
            let reply: serde_json::Value = serde_json::from_str(&body)?;
            let token = reply["access_token"].as_str().context("no access_token")?;
            tokens.push(token.to_string());
        }
    }
    Ok((server, tokens))
}

/// One HTTP/1.1 connection.
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    authorization: Option<String>,
}

impl Conn {
    async fn open(addr: SocketAddr, token: Option<&str>) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            addr,
            authorization: token.map(|t| format!("Bearer {t}")),
        })
    }

    async fn post(&mut self, path: &str, body: Bytes) -> anyhow::Result<(StatusCode, String)> {
        let mut request = Request::post(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        let request = request.body(Full::new(body))?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, async {
            self.sender.ready().await?;
            let response = self.sender.send_request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .await
        .map_err(|_| anyhow!("no answer within {REQUEST_TIMEOUT:?}"))??;
        Ok(response)
    }
}

struct Measured {
    calls: usize,
    elapsed: Duration,
    /// Latencies of the measured calls, sorted (µs).
    latencies: Vec<u64>,
}

async fn load(addr: SocketAddr, tokens: &[String], args: &Args) -> anyhow::Result<Measured> {
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    let start = Instant::now() + Duration::from_millis(200);
    let (from, to) = (start + warmup, start + warmup + duration);
    let mut tasks = Vec::new();
    for i in 0..args.conns {
        let token = (!tokens.is_empty()).then(|| tokens[i % tokens.len()].as_str());
        let mut conn = Conn::open(addr, token).await?;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let mut latencies = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= to {
                    break;
                }
                let (status, body) = conn
                    .post("/perform_action", Bytes::from_static(BODY.as_bytes()))
                    .await?;
                if status != StatusCode::OK || !body.contains(ANSWER) {
                    bail!("/perform_action answered {status}: {body}");
                }
                if sent >= from {
                    let micros = sent.elapsed().as_micros();
                    latencies.push(u64::try_from(micros).unwrap_or(u64::MAX));
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    latencies.sort_unstable();
    Ok(Measured {
        calls: latencies.len(),
        elapsed: duration,
        latencies,
    })
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run(args: Args) -> anyhow::Result<()> {
    println!(
        "REST POST /perform_action (calculate), {} connections ({} channel(s) with secure \
         auth), {} s measured after {} s warm-up, {} rounds; server {}",
        args.conns,
        args.channels,
        args.duration,
        args.warmup,
        args.rounds,
        flowmcp_bin().display()
    );
    println!(
        "{:>5}  {:>7}  {:>9}  {:>8}  {:>8}",
        "round", "server", "req/s", "p50 µs", "p99 µs"
    );
    let mut rates: Vec<(Target, f64)> = Vec::new();
    for round in 1..=args.rounds {
        let mut order = Target::ALL;
        order.rotate_left((round - 1) % Target::ALL.len());
        for target in order {
            let (mut server, tokens) = start(target, args.channels).await?;
            let measured = load(server.addr, &tokens, &args).await;
            server.check_alive()?;
            server.stop().await;
            let measured = measured?;
            #[allow(clippy::cast_precision_loss)]
            let rate = measured.calls as f64 / measured.elapsed.as_secs_f64();
            println!(
                "{round:>5}  {:>7}  {rate:>9.0}  {:>8}  {:>8}",
                target.label(),
                percentile(&measured.latencies, 0.5),
                percentile(&measured.latencies, 0.99)
            );
            rates.push((target, rate));
        }
    }
    let median = |target: Target| {
        let mut r: Vec<f64> = rates
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, r)| *r)
            .collect();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let (secure, none, ceiling) = (
        median(Target::Secure),
        median(Target::None),
        median(Target::Ceiling),
    );
    println!(
        "median req/s: secure {secure:.0}, none {none:.0}, ceiling {ceiling:.0}; \
         secure/none = {:.3}, secure/ceiling = {:.2}, none/ceiling = {:.2}",
        ratio(secure, none),
        ratio(secure, ceiling),
        ratio(none, ceiling)
    );
    Ok(())
}
