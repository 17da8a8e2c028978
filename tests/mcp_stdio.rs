//! `flowmcp stdio` driven as a desktop client would: a child process speaking MCP on its
//! stdin/stdout, with rmcp's client, and a raw check that stdout carries nothing else.

mod common;

use common::{call, is_error, text};
use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn stdio_lists_tools_and_runs_a_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(common::bin());
    command
        .arg("stdio")
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "info");
    let transport = TokioChildProcess::new(command).expect("spawn flowmcp stdio");
    let client = ().serve(transport).await.expect("initialize over stdio");
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("flowmcp")
    );
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "get_order_details"));
    let result = call(
        &client,
        "get_order_details",
        json!({"order_id": "#W2611340"}),
    )
    .await;
    assert!(!is_error(&result), "{}", text(&result));
    assert!(text(&result).contains("#W2611340"));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn stdout_carries_only_json_rpc_even_with_verbose_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let messages = [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},
            "clientInfo":{"name":"raw","version":"1"}
        }}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{
            "name":"get_order_details","arguments":{"order_id":"#W2611340"}
        }}),
    ];
    let (mut child, stdin, mut lines) = raw_stdio(dir.path(), "trace", &messages).await;
    let mut seen_ids = Vec::new();
    while seen_ids.len() < 2 {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("stdout closed early");
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("non-JSON on stdout ({e}): {line}"));
        assert_eq!(value["jsonrpc"], "2.0", "{line}");
        if let Some(id) = value.get("id").and_then(Value::as_i64) {
            seen_ids.push(id);
        }
    }
    assert_eq!(seen_ids, vec![1, 2]);
    drop(stdin);
    let status = child.wait().await.expect("wait");
    assert!(
        status.success(),
        "stdio exits cleanly when stdin closes: {status}"
    );
}

#[tokio::test]
async fn trace_events_go_out_as_progress_before_the_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let messages = [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},
            "clientInfo":{"name":"raw","version":"1"}
        }}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{
            "name":"calculate","arguments":{"expression":"6*7"},"_meta":{"progressToken":"p-7"}
        }}),
    ];
    let (mut child, stdin, mut lines) = raw_stdio(dir.path(), "info", &messages).await;
    let mut progress = Vec::new();
    loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("stdout closed early");
        let value: Value = serde_json::from_str(&line).expect("JSON");
        if value["method"] == "notifications/progress" {
            assert_eq!(value["params"]["progressToken"], "p-7");
            progress.push(value["params"]["progress"].as_f64().expect("progress"));
        }
        if value["id"] == 2 {
            assert!(
                value["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap_or("")
                    .contains("42"),
                "{value}"
            );
            break;
        }
    }
    assert_eq!(
        progress,
        vec![0.0, 1.0, 2.0],
        "accepted, then one per trace event, all before the result"
    );
    drop(stdin);
    let _ = child.wait().await;
}

/// `flowmcp stdio` on a fresh data dir, fed raw JSON-RPC lines; returns the child (keep it
/// alive), its stdin and a line reader on its stdout.
async fn raw_stdio(
    data_dir: &std::path::Path,
    log_level: &str,
    messages: &[Value],
) -> (
    tokio::process::Child,
    tokio::process::ChildStdin,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
) {
    let mut child = Command::new(common::bin())
        .arg("stdio")
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", log_level)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    for message in messages {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .expect("write");
    }
    stdin.flush().await.expect("flush");
    let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    (child, stdin, lines)
}
