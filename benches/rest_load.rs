//! Load benchmark: REST `POST /perform_action` against `flowmcp serve`, with token
//! authentication (`--auth secure`, the default) and without it (`--auth none`), in the same
//! run.
//!
//! Each round starts both servers (in alternating order, so neither always runs on a warmer
//! machine) on fresh data dirs, serving the embedded demo. The secure one is reached with the
//! access token `/initialize` hands out; every request carries it and is verified. The command
//! is `calculate` (no data, a short answer): what the framework costs per request — token,
//! parse, run, the turn written to RocksDB before the answer. The client opens N HTTP/1.1
//! connections (one per task, no pooling) and runs a closed loop: a warm-up, then a measured
//! window; every reply is read in full and checked (200, the command's answer), and any
//! failure aborts the bench.
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
use server::{ServerProc, flowmcp_bin};

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
    /// Rounds (each runs both servers)
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Set by `cargo bench`; without it the bench does nothing
    #[arg(long)]
    bench: bool,
    /// cargo bench's name filter, meant for all benches
    filters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Auth {
    Secure,
    None,
}

impl Auth {
    fn label(self) -> &'static str {
        match self {
            Self::Secure => "secure",
            Self::None => "none",
        }
    }
}

fn main() -> ExitCode {
    let args: Args = match server::args_or_exit() {
        Ok(args) => args,
        Err(code) => return code,
    };
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

async fn start(auth: Auth) -> anyhow::Result<(ServerProc, Option<String>)> {
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-rest-bench-")
        .tempdir()
        .context("create temporary data dir")?;
    let mut cmd = Command::new(flowmcp_bin());
    cmd.args(["serve", "--auth", auth.label(), "--port", "0", "--data-dir"])
        .arg(data_dir.path());
    let server = ServerProc::spawn("flowmcp", cmd, Some(data_dir)).await?;
    let token = match auth {
        Auth::None => None,
        Auth::Secure => {
            let mut conn = Conn::open(server.addr, None).await?;
            let (status, body) = conn
                .post("/initialize", r#"{"channel_id":"bench","user_id":"bench"}"#)
                .await?;
            if status != StatusCode::OK {
                bail!("/initialize answered {status}: {body}");
            }
            let reply: serde_json::Value = serde_json::from_str(&body)?;
            let token = reply["access_token"].as_str().context("no access_token")?;
            Some(token.to_string())
        }
    };
    Ok((server, token))
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

    async fn post(
        &mut self,
        path: &str,
        body: &'static str,
    ) -> anyhow::Result<(StatusCode, String)> {
        let mut request = Request::post(path)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        if let Some(authorization) = &self.authorization {
            request = request.header("authorization", authorization);
        }
        let request = request.body(Full::new(Bytes::from_static(body.as_bytes())))?;
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

async fn load(addr: SocketAddr, token: Option<String>, args: &Args) -> anyhow::Result<Measured> {
    let warmup = Duration::from_secs_f64(args.warmup);
    let duration = Duration::from_secs_f64(args.duration);
    let start = Instant::now() + Duration::from_millis(200);
    let (from, to) = (start + warmup, start + warmup + duration);
    let mut tasks = Vec::new();
    for _ in 0..args.conns {
        let mut conn = Conn::open(addr, token.as_deref()).await?;
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(start.into()).await;
            let mut latencies = Vec::new();
            loop {
                let sent = Instant::now();
                if sent >= to {
                    break;
                }
                let (status, body) = conn.post("/perform_action", BODY).await?;
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
        "REST POST /perform_action (calculate), {} connections, {} s measured after {} s \
         warm-up, {} rounds; server {}",
        args.conns,
        args.duration,
        args.warmup,
        args.rounds,
        flowmcp_bin().display()
    );
    println!(
        "{:>5}  {:>6}  {:>9}  {:>8}  {:>8}",
        "round", "auth", "req/s", "p50 µs", "p99 µs"
    );
    let mut rates: Vec<(Auth, f64)> = Vec::new();
    for round in 1..=args.rounds {
        let order = if round % 2 == 1 {
            [Auth::Secure, Auth::None]
        } else {
            [Auth::None, Auth::Secure]
        };
        for auth in order {
            let (mut server, token) = start(auth).await?;
            let measured = load(server.addr, token, &args).await;
            server.check_alive()?;
            server.stop().await;
            let measured = measured?;
            #[allow(clippy::cast_precision_loss)]
            let rate = measured.calls as f64 / measured.elapsed.as_secs_f64();
            println!(
                "{round:>5}  {:>6}  {rate:>9.0}  {:>8}  {:>8}",
                auth.label(),
                percentile(&measured.latencies, 0.5),
                percentile(&measured.latencies, 0.99)
            );
            rates.push((auth, rate));
        }
    }
    let median = |auth: Auth| {
        let mut r: Vec<f64> = rates
            .iter()
            .filter(|(a, _)| *a == auth)
            .map(|(_, r)| *r)
            .collect();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    };
    let (secure, none) = (median(Auth::Secure), median(Auth::None));
    println!(
        "median req/s: secure {secure:.0}, none {none:.0}; secure/none = {:.3}",
        if none > 0.0 { secure / none } else { 0.0 }
    );
    Ok(())
}
