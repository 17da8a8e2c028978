//! The `exec` executor: run the workflow author's program, in the workflow folder, with the
//! request as JSON on stdin; read a CommandResponse (or plain text) from stdout.
//!
//! The child gets its own process group so a timeout kills it and anything it started.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::domain::CommandResponse;

/// How much of stderr a failure reports (its end is what explains it).
const STDERR_TAIL_BYTES: usize = 2048;

/// What the program is asked and under which limits.
#[derive(Debug)]
pub struct ExecRequest<'a> {
    pub program: &'a [String],
    pub workdir: &'a Path,
    pub command_name: &'a str,
    pub params: &'a Map<String, Value>,
    pub channel_id: &'a str,
    pub user_id: Option<&'a str>,
    pub timeout: Duration,
    pub max_output_bytes: usize,
}

/// Run the program; every failure (spawn, exit code, timeout, oversized output) is a failed
/// response naming the cause, never an error for the caller to handle.
pub async fn run(req: ExecRequest<'_>) -> CommandResponse {
    let Some((program, args)) = req.program.split_first() else {
        return CommandResponse::fail(format!("{}: no program to run", req.command_name));
    };
    let mut child = match Command::new(program)
        .args(args)
        .current_dir(req.workdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!(command = req.command_name, program, error = %e, "exec: spawn failed");
            return CommandResponse::fail(format!(
                "{}: could not start {program}: {e}",
                req.command_name
            ));
        }
    };
    let pid = child.id();
    let request = json!({
        "command_name": req.command_name,
        "parameters": req.params,
        "channel_id": req.channel_id,
        "user_id": req.user_id,
    });
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return CommandResponse::fail(format!(
            "{}: could not attach to the program's pipes",
            req.command_name
        ));
    };
    let cap = req.max_output_bytes;
    let work = async {
        // A program that never reads stdin must not block us: ignore a broken pipe.
        let _ = stdin.write_all(request.to_string().as_bytes()).await;
        drop(stdin);
        let (out, err, status) =
            tokio::join!(read_capped(stdout, cap), read_tail(stderr), child.wait());
        (out, err, status)
    };
    let (out, err, status) = match tokio::time::timeout(req.timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            kill_group(pid);
            return CommandResponse::fail(format!(
                "{} timed out after {} s and was stopped",
                req.command_name,
                req.timeout.as_secs_f64()
            ));
        }
    };
    let stderr_tail = String::from_utf8_lossy(&err).trim().to_string();
    let (stdout, overflowed) = match out {
        Ok(read) => read,
        Err(e) => {
            return CommandResponse::fail(format!(
                "{}: reading its output failed: {e}",
                req.command_name
            ));
        }
    };
    if overflowed {
        kill_group(pid);
        return CommandResponse::fail(format!(
            "{} wrote more than {cap} bytes of output; the limit is run.max_output_bytes",
            req.command_name
        ));
    }
    match status {
        Ok(status) if status.success() => parse_output(&stdout),
        Ok(status) => {
            let code = status.code().map_or_else(
                || "killed by a signal".to_string(),
                |c| format!("exit code {c}"),
            );
            let detail = if stderr_tail.is_empty() {
                String::new()
            } else {
                format!(": {stderr_tail}")
            };
            CommandResponse::fail(format!("{} failed ({code}){detail}", req.command_name))
        }
        Err(e) => CommandResponse::fail(format!(
            "{}: waiting for the program failed: {e}",
            req.command_name
        )),
    }
}

/// A JSON object with a `response` field is a CommandResponse; anything else is plain text.
fn parse_output(stdout: &[u8]) -> CommandResponse {
    let text = String::from_utf8_lossy(stdout);
    let trimmed = text.trim();
    if trimmed.starts_with('{')
        && let Ok(response) = serde_json::from_str::<CommandResponse>(trimmed)
    {
        return response;
    }
    if trimmed.is_empty() {
        return CommandResponse::ok("(no output)");
    }
    CommandResponse::ok(trimmed.to_string())
}

/// Read at most `cap` bytes; the flag says whether there was more.
async fn read_capped(
    mut reader: impl AsyncRead + Unpin,
    cap: usize,
) -> std::io::Result<(Vec<u8>, bool)> {
    let mut buf = Vec::new();
    let mut limited = (&mut reader).take(cap as u64 + 1);
    limited.read_to_end(&mut buf).await?;
    let overflowed = buf.len() > cap;
    buf.truncate(cap);
    Ok((buf, overflowed))
}

/// Read everything, keeping only the last `STDERR_TAIL_BYTES`.
async fn read_tail(mut reader: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tail.extend_from_slice(&chunk[..n]);
                if tail.len() > STDERR_TAIL_BYTES {
                    tail.drain(..tail.len() - STDERR_TAIL_BYTES);
                }
            }
        }
    }
    tail
}

/// Kill the child's process group (created for this child alone), and whatever it started.
fn kill_group(pid: Option<u32>) {
    let group = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw);
    if let Some(group) = group
        && let Err(e) = rustix::process::kill_process_group(group, rustix::process::Signal::KILL)
    {
        tracing::debug!(error = %e, "the timed-out program's group was already gone");
    }
}
