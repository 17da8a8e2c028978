//! What the load benches (`mcp_load`, `rest_load`) share: a server process seen from a bench,
//! started with its stderr read until it prints `listening on http://ADDR` (no sleeps), the
//! last lines of its log kept for the error message if it misbehaves; and their flags.
#![allow(dead_code)] // each bench uses a different subset

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// The bench's flags, or the exit code to leave with (`--help` and `--version` exit 0).
pub(crate) fn args_or_exit<A: clap::Parser>() -> Result<A, std::process::ExitCode> {
    A::try_parse().map_err(|err| {
        let _ = err.print();
        std::process::ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2))
    })
}

/// The line servers print on stderr once they accept connections.
pub(crate) const READY_MARKER: &str = "listening on http://";
/// How long a server may take to be ready.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// stderr lines of a server kept for the error message if it misbehaves.
const LOG_TAIL_LINES: usize = 40;

pub(crate) struct ServerProc {
    pub(crate) label: &'static str,
    pub(crate) addr: SocketAddr,
    pub(crate) child: Child,
    /// Held open so the ceiling child notices when we are gone (see `serve_ceiling`).
    stdin: Option<ChildStdin>,
    tail: Arc<Mutex<VecDeque<String>>>,
    /// Deleted on drop, after the child is dead.
    _data_dir: Option<tempfile::TempDir>,
}

impl ServerProc {
    pub(crate) async fn spawn(
        label: &'static str,
        mut cmd: Command,
        data_dir: Option<tempfile::TempDir>,
    ) -> anyhow::Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("start {label}"))?;
        let stdin = child.stdin.take();
        let stderr = child.stderr.take().expect("stderr is piped");
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let mut lines = BufReader::new(stderr).lines();

        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await? {
                push_tail(&tail, &line);
                if let Some(addr) = parse_ready_line(&line) {
                    return Ok(Some(addr));
                }
            }
            anyhow::Ok(None)
        })
        .await;
        let addr = match ready {
            Ok(Ok(Some(addr))) => addr,
            Ok(Ok(None)) => bail!(
                "{label} exited before printing `{READY_MARKER}ADDR`; its stderr:\n{}",
                tail_text(&tail)
            ),
            Ok(Err(err)) => return Err(err.context(format!("reading {label} stderr"))),
            Err(_) => bail!(
                "{label} not ready after {READY_TIMEOUT:?}; its stderr:\n{}",
                tail_text(&tail)
            ),
        };
        // Keep draining stderr so a chatty server never blocks on a full pipe.
        let drain_tail = Arc::clone(&tail);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                push_tail(&drain_tail, &line);
            }
        });
        Ok(Self {
            label,
            addr,
            child,
            stdin,
            tail,
            _data_dir: data_dir,
        })
    }

    /// Error unless the process is still running; used to blame a dead server, not the client.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); its stderr:\n{}",
                self.label,
                tail_text(&self.tail)
            );
        }
        Ok(())
    }

    pub(crate) async fn stop(mut self) {
        drop(self.stdin.take());
        // The ceiling exits on stdin EOF; flowmcp is simply killed (its data dir is temporary).
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

fn push_tail(tail: &Mutex<VecDeque<String>>, line: &str) {
    let mut tail = tail.lock().expect("tail lock");
    if tail.len() == LOG_TAIL_LINES {
        tail.pop_front();
    }
    tail.push_back(line.to_owned());
}

fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    let tail = tail.lock().expect("tail lock");
    tail.iter()
        .map(|l| format!("    {l}\n"))
        .collect::<String>()
}

/// Finds `listening on http://ADDR` anywhere in the line, tolerating log prefixes and
/// colour codes around it.
pub(crate) fn parse_ready_line(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(READY_MARKER)? + READY_MARKER.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// `$FLOWMCP_BIN`, else the `flowmcp` in the profile directory this bench was built into
/// (`target/release/deps/<bench>-*` → `target/release/flowmcp`), which also honours a custom
/// `CARGO_TARGET_DIR`.
pub(crate) fn flowmcp_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("FLOWMCP_BIN").filter(|b| !b.is_empty()) {
        return PathBuf::from(bin);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("flowmcp")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/flowmcp"))
}

/// Serve the router `make` builds on 127.0.0.1:0 as a ceiling process: the ready line on
/// stderr, `TCP_NODELAY` on accepted sockets (as flowmcp sets it), and an exit when stdin
/// closes — the parent holds it open, so a parent that panics or is killed leaves no orphan
/// holding a port.
pub(crate) fn serve_ceiling(make: impl FnOnce() -> axum::Router) -> anyhow::Result<()> {
    use axum::serve::ListenerExt as _;
    std::thread::spawn(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        std::process::exit(0);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let router = make();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        // Without TCP_NODELAY, Nagle + delayed ACK stall small writes by ~40 ms.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        eprintln!("{READY_MARKER}{addr}");
        axum::serve(listener, router).await?;
        anyhow::Ok(())
    })
}

/// Start this bench's own executable as the ceiling (`--serve-ceiling`).
pub(crate) async fn start_ceiling() -> anyhow::Result<ServerProc> {
    let exe = std::env::current_exe().context("locate the bench executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("--serve-ceiling");
    ServerProc::spawn("ceiling", cmd, None).await
}
