//! `flowmcp serve` over real HTTP with rmcp's client: both protocol eras, health, Host and
//! Origin checks, and the refusals only a process shows (flags, a data dir in use). The
//! per-tool behaviour is in `mcp_tools.rs`, in memory.

mod common;

use common::{TestServer, call, is_error, text};
use serde_json::json;

#[tokio::test]
async fn the_stateless_era_serves_the_same_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let client = server.stateless_client().await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 22);
    let result = call(
        &client,
        "get_user_details",
        json!({"user_id": "noah_brown_6181"}),
    )
    .await;
    assert!(!is_error(&result), "{}", text(&result));
    assert!(
        text(&result).to_lowercase().contains("noah"),
        "{}",
        text(&result)
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn healthz_and_host_validation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let http = reqwest::Client::new();
    let health = http
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(
        health.json::<serde_json::Value>().await.expect("json")["status"],
        "ok"
    );

    // DNS rebinding: a foreign Host header is refused before any MCP handling.
    let rebound = http
        .post(server.url("/mcp"))
        .header("Host", "evil.example")
        .header("Accept", "application/json, text/event-stream")
        .header("Content-Type", "application/json")
        .body(concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","#,
            r#""params":{"protocolVersion":"2025-11-25","capabilities":{},"#,
            r#""clientInfo":{"name":"x","version":"1"}}}"#
        ))
        .send()
        .await
        .expect("post");
    assert!(
        rebound.status().is_client_error(),
        "got {}",
        rebound.status()
    );
}

#[tokio::test]
async fn allowed_origin_is_enforced_when_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server =
        TestServer::start(dir.path(), &["--allowed-origin", "http://localhost:3000"]).await;
    let http = reqwest::Client::new();
    let init = concat!(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","#,
        r#""params":{"protocolVersion":"2025-11-25","capabilities":{},"#,
        r#""clientInfo":{"name":"x","version":"1"}}}"#
    );
    let post = |origin: &'static str| {
        http.post(server.url("/mcp"))
            .header("Origin", origin)
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .body(init)
            .send()
    };
    let good = post("http://localhost:3000").await.expect("post");
    assert!(good.status().is_success(), "got {}", good.status());
    let bad = post("http://evil.example").await.expect("post");
    assert_eq!(bad.status(), 403);
}

#[tokio::test]
async fn serve_refuses_auth_none_off_loopback_a_bad_channel_and_a_bad_public_url() {
    let out = std::process::Command::new(common::bin())
        .args([
            "serve", "--auth", "none", "--host", "0.0.0.0", "--port", "0",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = std::process::Command::new(common::bin())
        .args([
            "serve",
            "--channel",
            "../etc",
            "--auth",
            "none",
            "--port",
            "0",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid --channel"));
    for url in ["ftp://example.com", "not a url", "https://example.com/?x=1"] {
        let out = std::process::Command::new(common::bin())
            .args(["serve", "--port", "0", "--public-url", url])
            .output()
            .expect("run");
        assert!(!out.status.success(), "{url}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("invalid --public-url"),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_data_dir_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = TestServer::demo(dir.path()).await;
    let out = tokio::process::Command::new(common::bin())
        .args(["serve", "--auth", "none", "--port", "0", "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .expect("run second");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another flowmcp process"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );
}
