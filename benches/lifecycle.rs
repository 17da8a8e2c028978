//! Lifecycle benchmark: what a flowmcp process costs around its requests — start-up, memory
//! at rest and per idle channel, shutdown under load, and the stdio round trip.
//!
//! Five parts (`--parts`, all by default), each against the release binary (`$FLOWMCP_BIN`,
//! default: the release `flowmcp` next to this bench's build directory) unless noted:
//!
//! * **start** — start to ready on the embedded demo. A data dir is seeded once (the first
//!   start creates the RocksDB database: timed and reported on its own; `--auth none` makes
//!   no key pair), then `flowmcp serve --auth none --port 0 --data-dir D` is spawned N times
//!   (`--starts`, default 20) and timed from just before the spawn to the `listening on
//!   http://` line on its stderr; each is stopped with SIGTERM before the next. min, median
//!   and p90.
//! * **rss** — `VmRSS` from `/proc/PID/status` of a ready server on the seeded data dir after
//!   `--idle-secs` (default 1) of idleness, and how it splits: `RssAnon` (the process's own
//!   memory) and `RssFile` (mapped pages of the binary and libraries, shared and file-backed).
//! * **channels** — memory per idle channel, measured in process through the library, since
//!   a server's RSS moves with too much else (connections, rmcp sessions, tokens) to isolate
//!   ten thousand channels in it. The bench writes one `calculate` turn on each of
//!   `--channels` (default 10,000) channels of a fresh data dir with `flowmcp::open_app`,
//!   closes it, then re-executes itself (`--measure-channels DIR`) so the measurement starts
//!   from a clean heap with the server's allocator (mimalloc). The child opens the data dir,
//!   loads 100 warm-up channels, reads its `VmRSS`, loads every channel with
//!   `App::session` (what a request does first: the channel's state read from RocksDB into
//!   the in-memory `Session` an idle channel keeps until it is evicted), and reads `VmRSS`
//!   again: the difference over the channel count is the figure. A real channel that has
//!   answered a request in this process also left its turn in RocksDB's memtable, a shared
//!   buffer bounded by its size and flushed to disk, not a per-channel cost; the child reports
//!   that too, as a second line: one more `calculate` turn on every loaded channel, then
//!   `VmRSS` again.
//! * **shutdown** — `serve --auth secure` on the fixture workflow `tests/fixtures/slow` (a
//!   command `wait` whose `exec` program is a shell script calling `sleep`). `--idle` (default
//!   1,000) channels are created with REST `POST /initialize` (each mints its tokens) and
//!   brought into memory with one `invoke_assistant "what can I do"` each (a turn, stored);
//!   then `--in-flight` (default 16) other channels each start `perform_action wait
//!   {"seconds": 0.5}`; 250 ms later the bench sends SIGTERM and times until the process
//!   exits, and reports which part of that came after the last in-flight call ended (the
//!   drain waits for the calls: they end about 250 ms after the signal). Afterwards `flowmcp
//!   export` reads the data dir: every call that got a 200 must have its `wait` turn stored.
//! * **stdio** — `flowmcp stdio --data-dir D` against a bare rmcp server over stdio (this
//!   bench re-executed with `--serve-stdio-ceiling`: one no-op tool on rmcp's stdio
//!   transport). Raw JSON-RPC lines on the child's stdin and stdout (no client library in
//!   the timed path): `initialize`, then sequential `tools/call` — flowmcp `calculate
//!   {"expression": "(17 + 25) * 3"}`, the ceiling its no-op with the same arguments — a
//!   warm-up of `--warmup-calls`, then `--calls` (default 2,000) timed from the write of the
//!   request line to the read of its reply. p50 and p99 of both and their ratio.
//!
//! Run with `cargo build --release && cargo bench --bench lifecycle` (options: `--help`).
//! Without `--bench` (as under `cargo test --benches`) it runs a short smoke check of the
//! stdio ceiling only, so test runs stay fast and need no release binary.
#![allow(clippy::print_stdout)] // a bench reports on stdout

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use flowmcp::app::App;
use flowmcp::app::requests::PerformAction;
use flowmcp::config::{Settings, WorkflowChoice};
use flowmcp::domain::{Caller, ChannelId};
use rmcp::ServiceExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader as AsyncBufReader};
use tokio::process::{Child, Command};

#[path = "support/noop.rs"]
mod noop;
#[path = "support/server.rs"]
mod server;
use noop::{NOOP_TOOL, NoopServer};
use server::{READY_MARKER, READY_TIMEOUT, flowmcp_bin, parse_ready_line};

/// As in the server binary (`src/main.rs`), so the in-process memory figures use its
/// allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Name of this bench target; a positional filter given to `cargo bench` must match it.
const BENCH_NAME: &str = "lifecycle";
const PROTOCOL: &str = "2025-11-25";
const CALCULATE_ARGS: &str = r#"{"expression":"(17 + 25) * 3"}"#;
/// How long a server may take to exit after SIGTERM before the bench kills it.
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Channels loaded before the first memory reading, so one-time allocations are not counted.
const WARM_CHANNELS: usize = 100;
/// How long each in-flight call of the shutdown part runs, and when SIGTERM comes.
const WAIT_SECONDS: f64 = 0.5;
const SIGTERM_AFTER: Duration = Duration::from_millis(250);

/// `cargo bench --bench lifecycle -- [OPTIONS]`; env var FLOWMCP_BIN names the flowmcp binary
/// (default: target/release/flowmcp).
#[derive(Debug, clap::Parser)]
#[command(name = "lifecycle")]
struct Args {
    /// Parts to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "start,rss,channels,shutdown,stdio"
    )]
    parts: Vec<Part>,
    /// Timed starts on the seeded data dir.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    starts: u32,
    /// Seconds a ready server idles before its RSS is read.
    #[arg(long, default_value_t = 1.0)]
    idle_secs: f64,
    /// Idle channels whose memory is measured in process.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    channels: u32,
    /// Idle channels of the server that is shut down.
    #[arg(long, default_value_t = 1_000)]
    idle: u32,
    /// Calls in flight when the server gets SIGTERM.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=256))]
    in_flight: u32,
    /// Timed stdio calls per server.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..))]
    calls: u32,
    /// Untimed stdio calls first.
    #[arg(long, default_value_t = 200)]
    warmup_calls: u32,
    /// Set by `cargo bench`; without it only a smoke check runs.
    #[arg(long)]
    bench: bool,
    /// Run as the stdio ceiling server (the bench starts itself this way).
    #[arg(long, hide = true)]
    serve_stdio_ceiling: bool,
    /// Measure the memory of the channels of this data dir (the bench starts itself this way).
    #[arg(long, hide = true)]
    measure_channels: Option<PathBuf>,
    /// cargo bench's name filter, meant for all benches.
    filters: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// Start to ready, seeded and fresh.
    Start,
    /// Idle RSS of a ready server.
    Rss,
    /// Memory per idle channel (in process).
    Channels,
    /// SIGTERM to exit with idle channels and calls in flight.
    Shutdown,
    /// stdio round trip against a bare rmcp server.
    Stdio,
}

fn main() -> ExitCode {
    let args: Args = match server::args_or_exit() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let result = if args.serve_stdio_ceiling {
        serve_stdio_ceiling()
    } else if let Some(dir) = &args.measure_channels {
        measure_channels_child(dir, args.channels as usize)
    } else if !args.filters.is_empty()
        && !args.filters.iter().any(|f| BENCH_NAME.contains(f.as_str()))
    {
        eprintln!(
            "{BENCH_NAME}: filter {:?} does not match; skipped",
            args.filters
        );
        Ok(())
    } else {
        // reqwest is built without a rustls crypto provider of its own (see src/exec/http.rs).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        run(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{BENCH_NAME}: FAILED: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// One line of the report: what, the figure, the target.
struct Line {
    what: String,
    value: String,
    target: &'static str,
}

fn run(args: &Args) -> anyhow::Result<()> {
    if !args.bench {
        // Under `cargo test --benches`: prove the stdio harness works, nothing heavy.
        let ceiling = stdio_round_trips(ceiling_command()?, NOOP_TOOL, CALCULATE_ARGS, 20, 50)?;
        println!(
            "# {BENCH_NAME} (smoke check): stdio ceiling p50 {:.0} µs over 50 calls",
            ceiling.p50_us
        );
        return Ok(());
    }
    let bin = flowmcp_bin();
    if !bin.exists() {
        bail!(
            "flowmcp binary not found at {}.\nBuild it first with `cargo build --release` (or \
             set FLOWMCP_BIN).",
            bin.display()
        );
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "# {BENCH_NAME}: start-up, memory, shutdown and stdio of {}",
        bin.display()
    );
    println!("# {cpus} CPUs; load average at start: {}", load_average());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("build tokio runtime")?;
    let mut lines = Vec::new();
    let wants = |part| args.parts.contains(&part);
    if wants(Part::Start) || wants(Part::Rss) {
        runtime.block_on(start_and_rss(&bin, args, &mut lines))?;
    }
    if wants(Part::Channels) {
        lines.extend(channel_memory(args.channels as usize, &runtime)?);
    }
    if wants(Part::Shutdown) {
        lines.extend(runtime.block_on(shutdown(&bin, args.idle, args.in_flight))?);
    }
    if wants(Part::Stdio) {
        lines.extend(stdio(&bin, args)?);
    }
    println!();
    let width = lines.iter().map(|l| l.what.len()).max().unwrap_or(0);
    println!("{:width$}  {:>28}  target", "what", "measured");
    for line in &lines {
        println!("{:width$}  {:>28}  {}", line.what, line.value, line.target);
    }
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".to_owned())
}

/// `VmRSS` of a process (`"self"` or a pid) in KiB.
fn vm_rss_kib(pid: &str) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `RssAnon`, `RssFile`).
fn status_kib(pid: &str, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("read /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// Nearest-rank percentile of sorted samples.
fn percentile<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// start and rss: a server process from spawn to ready, and at rest.
// ---------------------------------------------------------------------------------------------

/// A `flowmcp serve` that has printed its ready line.
struct Started {
    child: Child,
    addr: SocketAddr,
    /// From just before the spawn to the ready line.
    ready_after: Duration,
}

/// Spawn `flowmcp serve` with `args` and wait for its ready line; stderr keeps being drained.
async fn start_server(bin: &Path, args: &[&str], data_dir: &Path) -> anyhow::Result<Started> {
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .args(args)
        .args(["--port", "0", "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let spawned_at = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("start {}", bin.display()))?;
    let stderr = child.stderr.take().context("stderr is piped")?;
    let mut lines = AsyncBufReader::new(stderr).lines();
    let mut seen = Vec::new();
    let ready = tokio::time::timeout(READY_TIMEOUT, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(addr) = parse_ready_line(&line) {
                return anyhow::Ok(Some((addr, spawned_at.elapsed())));
            }
            seen.push(line);
        }
        Ok(None)
    })
    .await;
    let (addr, ready_after) = match ready {
        Ok(Ok(Some(ready))) => ready,
        Ok(Ok(None)) => bail!(
            "flowmcp exited before printing `{READY_MARKER}ADDR`; its stderr:\n{}",
            seen.join("\n")
        ),
        Ok(Err(err)) => return Err(err.context("reading flowmcp's stderr")),
        Err(_) => bail!("flowmcp not ready after {READY_TIMEOUT:?}"),
    };
    // Keep draining stderr so a chatty server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Started {
        child,
        addr,
        ready_after,
    })
}

/// SIGTERM `child` (through `kill`, no `unsafe`) and wait for it; the time from the signal to
/// the exit, or an error if it exits with a failure or not within [`EXIT_TIMEOUT`].
async fn terminate(child: &mut Child) -> anyhow::Result<Duration> {
    let pid = child.id().context("the server has already exited")?;
    let signalled_at = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .context("run kill")?;
    if !status.success() {
        bail!("kill -TERM {pid} failed: {status}");
    }
    match tokio::time::timeout(EXIT_TIMEOUT, child.wait()).await {
        Ok(status) => {
            let took = signalled_at.elapsed();
            let status = status?;
            if !status.success() {
                bail!("flowmcp exited with {status} after SIGTERM");
            }
            Ok(took)
        }
        Err(_) => {
            let _ = child.kill().await;
            bail!("flowmcp still running {EXIT_TIMEOUT:?} after SIGTERM: killed")
        }
    }
}

async fn start_and_rss(bin: &Path, args: &Args, lines: &mut Vec<Line>) -> anyhow::Result<()> {
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-lifecycle-")
        .tempdir()
        .context("create temporary data dir")?;
    let serve_args = ["--auth", "none"];
    let mut first = start_server(bin, &serve_args, data_dir.path()).await?;
    terminate(&mut first.child).await?;
    if args.parts.contains(&Part::Start) {
        let mut times = Vec::with_capacity(args.starts as usize);
        for _ in 0..args.starts {
            let mut started = start_server(bin, &serve_args, data_dir.path()).await?;
            times.push(started.ready_after);
            terminate(&mut started.child).await?;
        }
        times.sort_unstable();
        lines.push(Line {
            what: "start to ready, first start (fresh data dir)".into(),
            value: format!("{:.1} ms", ms(first.ready_after)),
            target: "",
        });
        lines.push(Line {
            what: format!(
                "start to ready, seeded, min / median / p90 of {}",
                times.len()
            ),
            value: format!(
                "{:.1} / {:.1} / {:.1} ms",
                ms(times[0]),
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.9))
            ),
            target: "≤ 100 ms",
        });
    }
    if args.parts.contains(&Part::Rss) {
        let mut started = start_server(bin, &serve_args, data_dir.path()).await?;
        tokio::time::sleep(Duration::from_secs_f64(args.idle_secs.clamp(0.0, 600.0))).await;
        let pid = started.child.id().context("the server exited while idle")?;
        let rss = vm_rss_kib(&pid.to_string())?;
        // Of which: the binary's and libraries' mapped pages (shared, file-backed) and the
        // process's own memory.
        let anon = status_kib(&pid.to_string(), "RssAnon")?;
        let file = status_kib(&pid.to_string(), "RssFile")?;
        // Proves it was serving, not stuck: one request after the reading.
        let health = reqwest::get(format!("http://{}/healthz", started.addr)).await?;
        if !health.status().is_success() {
            bail!("/healthz answered {}", health.status());
        }
        terminate(&mut started.child).await?;
        lines.push(Line {
            what: format!("idle RSS, seeded demo, after {} s idle", args.idle_secs),
            value: format!("{:.1} MB", rss as f64 / 1024.0),
            target: "≤ 30 MB",
        });
        lines.push(Line {
            what: "… of which anonymous (RssAnon) / file-backed (RssFile)".into(),
            value: format!(
                "{:.1} / {:.1} MB",
                anon as f64 / 1024.0,
                file as f64 / 1024.0
            ),
            target: "",
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// channels: memory per idle channel, in process.
// ---------------------------------------------------------------------------------------------

fn channel_id(i: usize) -> anyhow::Result<ChannelId> {
    ChannelId::parse(&format!("idle-{i}")).map_err(|e| anyhow!("channel id: {e}"))
}

fn open_demo(data_dir: &Path) -> anyhow::Result<App> {
    flowmcp::open_app(&Settings {
        workflow: WorkflowChoice::Embedded,
        data_dir: data_dir.to_path_buf(),
        channel: channel_id(0)?,
        user: None,
        llm: None,
        agent_max_steps: 25,
    })
}

/// One `calculate` turn on each channel, checked.
async fn one_turn_each(app: &App, channels: &[ChannelId]) -> anyhow::Result<()> {
    for channel in channels {
        let request = PerformAction {
            command_name: "calculate".into(),
            parameters: serde_json::from_str(CALCULATE_ARGS)?,
            timeout_seconds: None,
        };
        let caller = Caller::new(channel.clone(), None);
        let outcome = app
            .perform_action(&caller, request, None)
            .await
            .with_context(|| format!("calculate on {}", channel.as_str()))?;
        if !outcome.success {
            bail!("calculate failed on {}: {}", channel.as_str(), outcome.text);
        }
    }
    Ok(())
}

fn channel_memory(count: usize, runtime: &tokio::runtime::Runtime) -> anyhow::Result<Vec<Line>> {
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-channels-")
        .tempdir()
        .context("create temporary data dir")?;
    let channels = (0..WARM_CHANNELS + count)
        .map(channel_id)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let seeding = Instant::now();
    {
        let app = open_demo(data_dir.path())?;
        runtime.block_on(async {
            one_turn_each(&app, &channels).await?;
            app.sync().await.context("sync the store")
        })?;
    }
    eprintln!(
        "# channels: {} channels seeded with a turn each in {:.1} s",
        channels.len(),
        seeding.elapsed().as_secs_f64()
    );
    let exe = std::env::current_exe().context("locate the bench executable")?;
    let output = std::process::Command::new(exe)
        .arg("--measure-channels")
        .arg(data_dir.path())
        .args(["--channels", &count.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .context("run the channel measurement")?;
    if !output.status.success() {
        bail!("the channel measurement failed: {}", output.status);
    }
    let report: Value = serde_json::from_slice(&output.stdout)
        .context("the channel measurement printed no JSON")?;
    let kib = |key: &str| {
        report[key]
            .as_u64()
            .ok_or_else(|| anyhow!("no {key} in {report}"))
    };
    let (before, loaded, turned) = (kib("before_kib")?, kib("loaded_kib")?, kib("turned_kib")?);
    let per = |after: u64| (after.saturating_sub(before) * 1024) as f64 / count as f64;
    Ok(vec![
        Line {
            what: format!("per idle channel, {count} loaded from the store"),
            value: format!("{:.0} B", per(loaded)),
            target: "≤ 20 KB",
        },
        Line {
            what: format!("per idle channel, {count} loaded + a turn each (memtable)"),
            value: format!("{:.0} B", per(turned)),
            target: "",
        },
    ])
}

/// The child of the channels part: VmRSS before and after loading the channels, and after a
/// turn on each, as one JSON object on stdout.
fn measure_channels_child(data_dir: &Path, count: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("build tokio runtime")?;
    let app = open_demo(data_dir)?;
    let warm = (0..WARM_CHANNELS)
        .map(channel_id)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let measured = (WARM_CHANNELS..WARM_CHANNELS + count)
        .map(channel_id)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let report = runtime.block_on(async {
        for channel in &warm {
            app.session(channel).await?;
        }
        one_turn_each(&app, &warm).await?;
        let before_kib = vm_rss_kib("self")?;
        for channel in &measured {
            app.session(channel).await?;
        }
        let loaded_kib = vm_rss_kib("self")?;
        if app.sessions().len() != warm.len() + measured.len() {
            bail!(
                "{} sessions in memory, expected {}",
                app.sessions().len(),
                warm.len() + measured.len()
            );
        }
        one_turn_each(&app, &measured).await?;
        let turned_kib = vm_rss_kib("self")?;
        anyhow::Ok(json!({
            "before_kib": before_kib,
            "loaded_kib": loaded_kib,
            "turned_kib": turned_kib,
        }))
    })?;
    println!("{report}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// shutdown: SIGTERM with idle channels and calls in flight.
// ---------------------------------------------------------------------------------------------

/// A token for a new channel, from `/initialize`.
async fn initialize(http: &reqwest::Client, base: &str, channel: &str) -> anyhow::Result<String> {
    let reply = http
        .post(format!("{base}/initialize"))
        .json(&json!({ "channel_id": channel }))
        .send()
        .await?;
    let status = reply.status();
    let body: Value = reply.json().await?;
    if !status.is_success() {
        bail!("/initialize {channel}: {status}: {body}");
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("/initialize {channel}: no access_token in {body}"))
}

/// `POST path` with a token and a JSON body; the HTTP status (or the error when there was no
/// reply).
async fn post(
    http: &reqwest::Client,
    url: String,
    token: &str,
    body: Value,
) -> anyhow::Result<reqwest::StatusCode> {
    let reply = http.post(url).bearer_auth(token).json(&body).send().await?;
    let status = reply.status();
    // Read the body: a 200 is only acknowledged once its answer has arrived.
    let _ = reply.bytes().await?;
    Ok(status)
}

async fn shutdown(bin: &Path, idle: u32, in_flight: u32) -> anyhow::Result<Vec<Line>> {
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-shutdown-")
        .tempdir()
        .context("create temporary data dir")?;
    let workflow = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/slow");
    let workflow = workflow.to_str().context("workflow path is not UTF-8")?;
    let mut server = start_server(
        bin,
        &["--auth", "secure", "--workflow", workflow],
        data_dir.path(),
    )
    .await?;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;

    // Idle channels, a few at a time (each /initialize signs two RS256 tokens).
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let (http, base) = (http.clone(), base.clone());
        tasks.spawn(async move {
            for i in (worker..idle).step_by(4) {
                let channel = format!("idle-{i}");
                let token = initialize(&http, &base, &channel).await?;
                let url = format!("{base}/invoke_assistant");
                let body = json!({ "user_query": "what can I do" });
                let status = post(&http, url, &token, body).await?;
                if status != reqwest::StatusCode::OK {
                    bail!("invoke_assistant on {channel}: {status}");
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!(
        "# shutdown: {idle} idle channels created in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut busy = Vec::new();
    for i in 0..in_flight {
        let channel = format!("busy-{i}");
        let token = initialize(&http, &base, &channel).await?;
        busy.push((channel, token));
    }
    let mut calls = tokio::task::JoinSet::new();
    for (channel, token) in busy.clone() {
        let (http, base) = (http.clone(), base.clone());
        calls.spawn(async move {
            let url = format!("{base}/perform_action");
            let body = json!({
                "action": { "command_name": "wait", "parameters": { "seconds": WAIT_SECONDS } }
            });
            let status = post(&http, url, &token, body).await;
            (channel, status, Instant::now())
        });
    }
    tokio::time::sleep(SIGTERM_AFTER).await;
    let signalled_at = Instant::now();
    let took = terminate(&mut server.child).await?;
    let exited_at = signalled_at + took;
    let mut acknowledged = HashSet::new();
    let mut refused = Vec::new();
    let mut last_answer = signalled_at;
    while let Some(done) = calls.join_next().await {
        let (channel, status, ended_at) = done?;
        last_answer = last_answer.max(ended_at.min(exited_at));
        match status {
            Ok(status) if status == reqwest::StatusCode::OK => {
                acknowledged.insert(channel);
            }
            Ok(status) => refused.push(format!("{channel}: {status}")),
            Err(err) => refused.push(format!("{channel}: {err:#}")),
        }
    }

    // What the data dir holds now: `wait` turns per channel.
    let export = std::process::Command::new(bin)
        .args(["export", "--output", "-", "--data-dir"])
        .arg(data_dir.path())
        .stderr(Stdio::null())
        .output()
        .context("run flowmcp export")?;
    if !export.status.success() {
        bail!("flowmcp export failed: {}", export.status);
    }
    let mut stored: HashMap<String, usize> = HashMap::new();
    for line in String::from_utf8_lossy(&export.stdout).lines() {
        let conversation: Value = serde_json::from_str(line).context("export line")?;
        let channel = conversation["channel_id"].as_str().unwrap_or_default();
        let waits = conversation["turns"].as_array().map_or(0, |turns| {
            turns
                .iter()
                .filter(|t| t["command_output"]["command_name"] == "wait")
                .count()
        });
        *stored.entry(channel.to_owned()).or_default() += waits;
    }
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|c| stored.get(*c).copied().unwrap_or(0) == 0)
        .collect();
    if !refused.is_empty() {
        eprintln!("# shutdown: calls without a 200: {}", refused.join("; "));
    }
    Ok(vec![
        Line {
            what: format!("SIGTERM to exit, {idle} idle channels, {in_flight} calls in flight"),
            value: format!("{:.0} ms", ms(took)),
            target: "≤ 1 s",
        },
        Line {
            what: "  of which after the last in-flight call ended".into(),
            value: format!(
                "{:.0} ms",
                ms(exited_at.saturating_duration_since(last_answer))
            ),
            target: "",
        },
        Line {
            what: "  calls answered 200 / turns of them lost".into(),
            value: format!("{} of {in_flight} / {}", acknowledged.len(), lost.len()),
            target: "lost 0",
        },
    ])
}

// ---------------------------------------------------------------------------------------------
// stdio: round trips against a bare rmcp server.
// ---------------------------------------------------------------------------------------------

/// The stdio ceiling: `NoopServer` on rmcp's stdio transport until stdin closes.
fn serve_stdio_ceiling() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let service = NoopServer::default()
            .serve(rmcp::transport::stdio())
            .await?;
        service.waiting().await?;
        anyhow::Ok(())
    })
}

/// This bench re-executed as the stdio ceiling.
fn ceiling_command() -> anyhow::Result<std::process::Command> {
    let exe = std::env::current_exe().context("locate the bench executable")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--serve-stdio-ceiling");
    Ok(cmd)
}

struct RoundTrips {
    p50_us: f64,
    p99_us: f64,
}

/// A JSON-RPC peer on a child's stdin and stdout, one message per line.
struct LinePeer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    line: String,
}

impl LinePeer {
    fn spawn(mut cmd: std::process::Command) -> anyhow::Result<Self> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start the stdio server")?;
        let stdin = child.stdin.take().context("stdin is piped")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout is piped")?);
        Ok(Self {
            child,
            stdin,
            stdout,
            line: String::new(),
        })
    }

    fn send(&mut self, message: &str) -> anyhow::Result<()> {
        self.stdin.write_all(message.as_bytes())?;
        self.stdin.write_all(b"\n")?;
        self.stdin.flush()?;
        Ok(())
    }

    /// The reply to request `id` (notifications and other messages before it are skipped),
    /// checked: a `result`, and not a tool error.
    fn reply(&mut self, id: u64) -> anyhow::Result<()> {
        loop {
            self.line.clear();
            if self.stdout.read_line(&mut self.line)? == 0 {
                bail!("the stdio server closed its stdout");
            }
            let message: Value = serde_json::from_str(&self.line)
                .with_context(|| format!("not JSON: {}", self.line.trim_end()))?;
            if message["id"].as_u64() != Some(id) {
                continue;
            }
            if message.get("result").is_none() || message["result"]["isError"] == true {
                bail!("request {id} failed: {}", self.line.trim_end());
            }
            return Ok(());
        }
    }

    fn call(&mut self, id: u64, tool: &str, arguments: &str) -> anyhow::Result<()> {
        // `concat!` keeps the JSON raw; a format string built by a macro cannot capture names.
        self.send(&format!(
            concat!(
                r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","#,
                r#""params":{{"name":"{}","arguments":{}}}}}"#
            ),
            id, tool, arguments
        ))?;
        self.reply(id)
    }

    /// Close stdin (the end of the session for both servers) and reap the child.
    fn close(mut self) -> anyhow::Result<()> {
        drop(self.stdin);
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                bail!("the stdio server did not exit when its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

/// An MCP client of raw JSON-RPC lines on `cmd`'s stdin and stdout: `initialize`, `warmup`
/// untimed calls of `tool`, then `calls` timed ones, each checked.
fn stdio_round_trips(
    cmd: std::process::Command,
    tool: &str,
    arguments: &str,
    warmup: u32,
    calls: u32,
) -> anyhow::Result<RoundTrips> {
    let mut peer = LinePeer::spawn(cmd)?;
    peer.send(&format!(
        concat!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"#,
            r#""protocolVersion":"{}","capabilities":{{}},"#,
            r#""clientInfo":{{"name":"lifecycle","version":"0.1.0"}}}}}}"#
        ),
        PROTOCOL
    ))?;
    peer.reply(0).context("initialize")?;
    peer.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)?;
    let mut id = 1;
    for _ in 0..warmup {
        peer.call(id, tool, arguments)?;
        id += 1;
    }
    let mut latencies = Vec::with_capacity(calls as usize);
    for _ in 0..calls {
        let started = Instant::now();
        peer.call(id, tool, arguments)?;
        latencies.push(started.elapsed());
        id += 1;
    }
    peer.close()?;
    latencies.sort_unstable();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    Ok(RoundTrips {
        p50_us: us(percentile(&latencies, 0.5)),
        p99_us: us(percentile(&latencies, 0.99)),
    })
}

fn stdio(bin: &Path, args: &Args) -> anyhow::Result<Vec<Line>> {
    let data_dir = tempfile::Builder::new()
        .prefix("flowmcp-stdio-")
        .tempdir()
        .context("create temporary data dir")?;
    let mut flowmcp = std::process::Command::new(bin);
    flowmcp.arg("stdio").arg("--data-dir").arg(data_dir.path());
    // Back to back, the ceiling first: the two see the same phase of the machine, roughly.
    let (warmup, calls) = (args.warmup_calls, args.calls);
    let ceiling = stdio_round_trips(ceiling_command()?, NOOP_TOOL, CALCULATE_ARGS, warmup, calls)?;
    let flow = stdio_round_trips(flowmcp, "calculate", CALCULATE_ARGS, warmup, calls)?;
    let pair = |r: &RoundTrips| format!("{:.0} / {:.0} µs", r.p50_us, r.p99_us);
    Ok(vec![
        Line {
            what: format!("stdio tools/call p50 / p99, bare rmcp ({calls} calls)"),
            value: pair(&ceiling),
            target: "",
        },
        Line {
            what: format!("stdio tools/call p50 / p99, flowmcp calculate ({calls} calls)"),
            value: pair(&flow),
            target: "",
        },
        Line {
            what: "  flowmcp ÷ bare rmcp, p50 / p99".into(),
            value: format!(
                "{:.2} / {:.2}",
                flow.p50_us / ceiling.p50_us,
                flow.p99_us / ceiling.p99_us
            ),
            target: "",
        },
    ])
}
