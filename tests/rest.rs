//! The REST shim and token authentication against a real `flowmcp serve` (the default
//! `--auth secure`), over real HTTP: fastworkflow's paths and shapes, every status path,
//! forged and misused tokens, the admin token lifecycle, one channel never reaching another,
//! streams (NDJSON and SSE) and what a client hanging up leaves behind.

mod common;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{TestServer, admin_token, client_with_token, is_error, text};
use reqwest::header::{ACCEPT, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::{Value, json};

/// A response: status, JSON body (or the text as a JSON string), headers.
struct Answer {
    status: u16,
    body: Value,
    headers: reqwest::header::HeaderMap,
}

impl Answer {
    fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        body,
        headers,
    }
}

async fn post(server: &TestServer, path: &str, token: Option<&str>, body: Value) -> Answer {
    let mut request = reqwest::Client::new().post(server.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("POST")).await
}

async fn get(server: &TestServer, path: &str, token: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("GET")).await
}

/// `/initialize` a channel; returns (access, refresh).
async fn initialize(server: &TestServer, channel: &str) -> (String, String) {
    let reply = post(
        server,
        "/initialize",
        None,
        json!({"channel_id": channel, "user_id": format!("user-of-{channel}")}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    (
        reply.body["access_token"]
            .as_str()
            .expect("access")
            .to_string(),
        reply.body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_string(),
    )
}

fn calculate(expression: &str) -> Value {
    json!({"action": {"command_name": "calculate", "parameters": {"expression": expression}}})
}

fn slow_workflow() -> String {
    common::repo_root()
        .join("tests/fixtures/slow")
        .display()
        .to_string()
}

#[tokio::test]
async fn a_channel_initializes_acts_and_reads_its_conversations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &[]).await;
    let (token, _) = initialize(&server, "alice").await;
    let t = Some(token.as_str());

    let done = post(&server, "/perform_action", t, calculate("2+3")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["command_name"], "calculate");
    assert!(
        done.body["command_responses"][0]["response"]
            .as_str()
            .is_some_and(|r| r.contains('5'))
    );
    let traces = done.body["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 2);
    assert_eq!(
        traces[0]["user_id"], "user-of-alice",
        "uid goes into the traces"
    );
    assert_eq!(traces[0]["channel_id"], "alice");

    let asked = post(
        &server,
        "/invoke_assistant",
        t,
        json!({"user_query": "where is my order #W2611340?"}),
    )
    .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_eq!(asked.body["command_name"], "get_order_details");
    let feedback = post(
        &server,
        "/post_feedback",
        t,
        json!({"binary_or_numeric_score": 1}),
    )
    .await;
    assert_eq!(
        (feedback.status, &feedback.body["status"]),
        (200, &json!("ok"))
    );

    let listed = get(&server, "/conversations", t).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body[0]["conversation_id"], 1);
    let one = get(&server, "/conversations/1", t).await;
    let turns = one.body["turns"].as_array().expect("turns");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1]["feedback"]["binary_or_numeric_score"], 1.0);
    let saved = post(&server, "/new_conversation", t, json!({})).await;
    assert!(
        saved.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Saved"))
    );
    let active = post(
        &server,
        "/activate_conversation",
        t,
        json!({"conversation_id": 1}),
    )
    .await;
    assert_eq!((active.status, &active.body["status"]), (200, &json!("ok")));

    // Every refusal names its problem, with its status.
    let cases = [
        (
            "/activate_conversation",
            json!({"conversation_id": 99}),
            404,
            "not found",
        ),
        (
            "/perform_action",
            json!({"action": {"command_name": "calculat"}}),
            404,
            "did you mean \"calculate\"",
        ),
        (
            "/perform_action",
            json!({"action": {"command_name": "get_order_details", "parameters": {"order_id": 5}}}),
            422,
            "order_id: must be a string",
        ),
        (
            "/perform_action",
            json!({"action": {"command_name": "calculate"}, "timeout_seconds": 0}),
            422,
            "timeout_seconds",
        ),
        (
            "/perform_action",
            json!({"acton": {}}),
            422,
            "acton: unknown argument",
        ),
        ("/invoke_assistant", json!({}), 422, "user_query"),
        (
            "/invoke_assistant",
            json!({"user_query": "x", "command": "y"}),
            422,
            "not both",
        ),
        ("/post_feedback", json!({}), 422, "binary_or_numeric_score"),
    ];
    for (path, body, status, needle) in cases {
        let refused = post(&server, path, t, body.clone()).await;
        assert_eq!(refused.status, status, "{path} {body}: {}", refused.body);
        assert!(
            refused.detail().contains(needle),
            "{path}: {}",
            refused.body
        );
    }
    let limit = get(&server, "/conversations?limit=0", t).await;
    assert_eq!(
        (limit.status, limit.detail().contains("limit")),
        (422, true)
    );
    let not_json = reqwest::Client::new()
        .post(server.url("/perform_action"))
        .bearer_auth(&token)
        .header(CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(not_json.status().as_u16(), 400);
    let huge = post(
        &server,
        "/invoke_assistant",
        t,
        json!({"user_query": "x".repeat(2 << 20)}),
    )
    .await;
    assert_eq!(huge.status, 413, "{}", huge.body);
    let unknown = get(&server, "/no/such/path", t).await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn initialize_runs_a_startup_and_guards_channels_in_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &[]).await;
    let started = post(
        &server,
        "/initialize",
        None,
        json!({"channel_id": "bob", "user_id": "b",
               "startup_command": "get_order_details order_id=#W2611340"}),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(
        started.body["startup_output"]["command_name"],
        "get_order_details"
    );
    let bob = started.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let action = post(
        &server,
        "/initialize",
        None,
        json!({
            "channel_id": "carol",
            "user_id": "c",
            "startup_action": {"command_name": "calculate", "parameters": {"expression": "1+1"}},
        }),
    )
    .await;
    assert_eq!(action.body["startup_output"]["command_name"], "calculate");

    for (body, needle) in [
        (
            json!({"channel_id": "x1", "user_id": "u", "startup_command": "a",
                "startup_action": {"command_name": "calculate"}}),
            "not both",
        ),
        (
            json!({"channel_id": "x2", "startup_command": "go_up"}),
            "needs user_id",
        ),
    ] {
        let refused = post(&server, "/initialize", None, body).await;
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.detail().contains(needle), "{}", refused.body);
    }
    for (body, field) in [
        (json!({"channel_id": "../etc"}), "channel_id"),
        (json!({"channel_id": ""}), "channel_id"),
        (json!({"channel_id": "ok", "user_id": ""}), "user_id"),
        (
            json!({"channel_id": "ok", "stream_format": "xml"}),
            "stream_format",
        ),
    ] {
        let refused = post(&server, "/initialize", None, body).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.detail().starts_with(field), "{}", refused.body);
    }

    // A startup action that cannot run is refused before anything exists: the channel is
    // still free afterwards, so the same client can simply try again.
    for (action, status, needle) in [
        (json!({"command_name": "calculat"}), 404, "calculate"),
        (
            json!({"command_name": "calculate", "parameters": {}}),
            422,
            "expression",
        ),
    ] {
        let body = json!({"channel_id": "dave", "user_id": "d", "startup_action": action,
                          "stream_format": "sse"});
        let refused = post(&server, "/initialize", None, body).await;
        assert_eq!(refused.status, status, "{}", refused.body);
        assert!(refused.detail().contains(needle), "{}", refused.body);
    }
    let retried = post(
        &server,
        "/initialize",
        None,
        json!({"channel_id": "dave", "user_id": "d",
               "startup_action": {"command_name": "calculate",
                                  "parameters": {"expression": "2+2"}}}),
    )
    .await;
    assert_eq!(retried.status, 200, "{}", retried.body);

    // bob is in use: only bob's own token (or an admin's) may initialize it again.
    let stranger = post(&server, "/initialize", None, json!({"channel_id": "bob"})).await;
    assert_eq!(stranger.status, 403, "{}", stranger.body);
    let (carol, _) = initialize(&server, "carol-2").await;
    let other = post(
        &server,
        "/initialize",
        Some(&carol),
        json!({"channel_id": "bob"}),
    )
    .await;
    assert_eq!(other.status, 403);
    let own = post(
        &server,
        "/initialize",
        Some(&bob),
        json!({"channel_id": "bob"}),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.body);
    let admin = admin_token(dir.path()).await;
    let by_admin = post(
        &server,
        "/initialize",
        Some(&admin),
        json!({"channel_id": "bob"}),
    )
    .await;
    assert_eq!(by_admin.status, 200);
}

/// A token with the given header and claims and no valid signature.
fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[tokio::test]
async fn tokens_are_checked_and_a_refresh_token_works_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &[]).await;
    let (access, refresh) = initialize(&server, "alice").await;

    let missing = post(&server, "/perform_action", None, calculate("1")).await;
    assert_eq!(missing.status, 401);
    let challenge = missing.headers[WWW_AUTHENTICATE].to_str().expect("header");
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(&format!(
            "resource_metadata=\"{}\"",
            server.url("/.well-known/oauth-protected-resource/mcp")
        )),
        "{challenge}"
    );
    // Never from a query string.
    let in_query = post(
        &server,
        &format!("/perform_action?access_token={access}"),
        None,
        calculate("1"),
    )
    .await;
    assert_eq!(in_query.status, 401);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({"sub": "alice", "type": "access", "jti": "forged", "iat": now,
                        "exp": now + 600, "iss": "flowmcp", "aud": "flowmcp-client"});
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other_key = admin_token(other_dir.path()).await;
    let mut tampered: Vec<String> = access.split('.').map(str::to_string).collect();
    tampered[1] = URL_SAFE_NO_PAD.encode(
        json!({"sub": "bob", "type": "access", "jti": "x", "iat": now, "exp": now + 600,
               "iss": "flowmcp", "aud": "flowmcp-client"})
        .to_string(),
    );
    for forged in [
        unsigned(&json!({"alg": "none", "typ": "JWT"}), &claims),
        unsigned(&json!({"alg": "RS256", "typ": "JWT"}), &claims),
        tampered.join("."),
        other_key,
        "garbage".to_string(),
    ] {
        let refused = post(&server, "/perform_action", Some(&forged), calculate("1")).await;
        assert_eq!(refused.status, 401, "{forged}: {}", refused.body);
        assert!(refused.headers.contains_key(WWW_AUTHENTICATE));
    }

    // A refresh token is no bearer token, and an admin token acts for no channel.
    let refresh_as_bearer = post(&server, "/perform_action", Some(&refresh), calculate("1")).await;
    assert_eq!(refresh_as_bearer.status, 401);
    let admin = admin_token(dir.path()).await;
    let admin_as_channel = post(&server, "/perform_action", Some(&admin), calculate("1")).await;
    assert_eq!(admin_as_channel.status, 403);

    // Refresh rotates; a refresh token used twice revokes its whole family.
    let rotated = post(&server, "/refresh_token", Some(&refresh), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_access = rotated.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    assert_eq!(
        post(
            &server,
            "/perform_action",
            Some(&new_access),
            calculate("1")
        )
        .await
        .status,
        200
    );
    let replayed = post(&server, "/refresh_token", Some(&refresh), json!({})).await;
    assert_eq!(replayed.status, 401);
    assert!(replayed.detail().contains("revoked"), "{}", replayed.body);
    for revoked in [&access, &new_access] {
        let refused = post(&server, "/perform_action", Some(revoked), calculate("1")).await;
        assert_eq!(refused.status, 401, "the family is revoked");
    }
    let access_as_refresh = post(&server, "/refresh_token", Some(&admin), json!({})).await;
    assert_eq!(access_as_refresh.status, 401);
}

#[tokio::test]
async fn admins_mint_list_and_revoke_mcp_tokens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &[]).await;
    let admin = admin_token(dir.path()).await;
    let (alice, _) = initialize(&server, "alice").await;
    let mint = json!({"channel_id": "carol", "user_id": "c", "name": "laptop", "expires_days": 30});

    assert_eq!(
        post(&server, "/admin/generate_mcp_token", None, mint.clone())
            .await
            .status,
        401
    );
    let not_admin = post(
        &server,
        "/admin/generate_mcp_token",
        Some(&alice),
        mint.clone(),
    )
    .await;
    assert_eq!(not_admin.status, 403);
    assert_eq!(
        get(&server, "/admin/tokens", Some(&alice)).await.status,
        403
    );
    assert_eq!(
        get(&server, "/admin/export", Some(&alice)).await.status,
        403
    );
    for days in [0, 366] {
        let mut too_long = mint.clone();
        too_long["expires_days"] = json!(days);
        let refused = post(&server, "/admin/generate_mcp_token", Some(&admin), too_long).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(
            refused.detail().starts_with("expires_days"),
            "{}",
            refused.body
        );
    }

    let minted = post(&server, "/admin/generate_mcp_token", Some(&admin), mint).await;
    assert_eq!(minted.status, 200, "{}", minted.body);
    assert_eq!(minted.body["expires_in"], 30 * 86_400);
    assert_eq!(minted.body["refresh_token"], "");
    let token = minted.body["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let jti = minted.body["jti"].as_str().expect("jti").to_string();

    // The token opens MCP for carol.
    let client = client_with_token(&server.url("/mcp"), &token).await;
    let done = common::action(&client, "calculate", json!({"expression": "6*7"})).await;
    assert!(!is_error(&done), "{}", text(&done));
    client.cancel().await.expect("close");

    let listed = get(&server, "/admin/tokens", Some(&admin)).await;
    assert_eq!(listed.status, 200);
    let record = &listed.body[0];
    assert_eq!(
        (
            &record["jti"],
            &record["name"],
            &record["channel_id"],
            &record["user_id"]
        ),
        (&json!(jti), &json!("laptop"), &json!("carol"), &json!("c"))
    );
    assert!(record["created_at"].as_u64().is_some() && record["expires_at"].as_u64().is_some());
    assert!(record["last_used_at"].as_u64().is_some(), "{record}");
    assert!(
        !listed.body.to_string().contains(&token),
        "never the token itself"
    );

    let export = reqwest::Client::new()
        .get(server.url("/admin/export"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("GET");
    assert_eq!(export.headers()[CONTENT_TYPE], "application/x-ndjson");
    let lines = export.text().await.expect("body");
    let carol: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .filter(|l: &Value| l["channel_id"] == "carol")
        .collect();
    assert_eq!(carol.len(), 1, "{lines}");

    let revoked = post(
        &server,
        "/admin/revoke_token",
        Some(&admin),
        json!({"jti": jti, "reason": "lost"}),
    )
    .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body["revoked"]["reason"], "lost");
    let unknown = post(
        &server,
        "/admin/revoke_token",
        Some(&admin),
        json!({"jti": "nope"}),
    )
    .await;
    assert_eq!(unknown.status, 404);
    // Refused from the next request on, on both faces.
    let mcp = reqwest::Client::new()
        .post(server.url("/mcp"))
        .bearer_auth(&token)
        .header(ACCEPT, "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(mcp.status().as_u16(), 401);
    assert_eq!(
        post(&server, "/perform_action", Some(&token), calculate("1"))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn a_token_for_one_channel_never_reaches_another() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &[]).await;
    let (alice, _) = initialize(&server, "alice").await;
    let (bob, _) = initialize(&server, "bob").await;
    let secret = calculate("123456789+1");
    assert_eq!(
        post(&server, "/perform_action", Some(&bob), secret)
            .await
            .status,
        200
    );

    let listed = get(&server, "/conversations", Some(&alice)).await;
    assert!(
        !listed.body.to_string().contains("123456789"),
        "{}",
        listed.body
    );
    let read = get(&server, "/conversations/1", Some(&alice)).await;
    assert!(
        !read.body.to_string().contains("123456789"),
        "{}",
        read.body
    );
    assert_eq!(read.body["channel_id"], "alice");

    // An MCP session opened by bob is not alice's to use.
    let bob_client = client_with_token(&server.url("/mcp"), &bob).await;
    let session = reqwest::Client::new()
        .post(server.url("/mcp"))
        .bearer_auth(&bob)
        .header(ACCEPT, "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"}}}),
        )
        .send()
        .await
        .expect("initialize");
    let session_id = session.headers()["mcp-session-id"]
        .to_str()
        .expect("id")
        .to_string();
    let hijack = reqwest::Client::new()
        .post(server.url("/mcp"))
        .bearer_auth(&alice)
        .header("mcp-session-id", &session_id)
        .header(ACCEPT, "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(hijack.status().as_u16(), 404);
    let delete = |token: &str| {
        reqwest::Client::new()
            .delete(server.url("/mcp"))
            .bearer_auth(token)
            .header("mcp-session-id", &session_id)
            .send()
    };
    let foreign = delete(&alice).await.expect("DELETE");
    assert_eq!(
        foreign.status().as_u16(),
        404,
        "alice cannot end bob's session"
    );
    // 204, not rmcp's 202: the Python SDK takes anything but 200/204/405 as a failure.
    let ended = delete(&bob).await.expect("DELETE");
    assert_eq!(ended.status().as_u16(), 204);
    let gone = reqwest::Client::new()
        .post(server.url("/mcp"))
        .bearer_auth(&bob)
        .header("mcp-session-id", &session_id)
        .header(ACCEPT, "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(gone.status().as_u16(), 404, "an ended session is gone");
    bob_client.cancel().await.expect("close");
}

/// Lines of an NDJSON body, parsed.
fn ndjson(body: &str) -> Vec<Value> {
    body.lines()
        .map(|l| serde_json::from_str(l).expect("an NDJSON line"))
        .collect()
}

/// The events of an SSE body: (event, id, data), keep-alive comments skipped.
fn sse(body: &str) -> Vec<(String, String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let (mut event, mut id, mut data) = (String::new(), String::new(), None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    event = v.to_string();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(v).ok();
                }
            }
            data.map(|data| (event, id, data))
        })
        .collect()
}

#[tokio::test]
async fn streams_send_the_traces_then_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &[]).await;
    let (token, _) = initialize(&server, "alice").await;
    let words = json!({"user_query": "calculate 2 + 2"});

    let response = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .bearer_auth(&token)
        .json(&words)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/x-ndjson");
    let lines = ndjson(&response.text().await.expect("body"));
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["type"].as_str()).collect();
    assert_eq!(kinds, ["trace", "trace", "output"], "{lines:?}");
    assert_eq!(
        (&lines[0]["data"]["seq"], &lines[1]["data"]["seq"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(lines[2]["data"]["command_name"], "calculate");
    assert_eq!(
        lines[2]["data"]["command_responses"][0]["artifacts"]["agent"]["llm"], false,
        "says no LLM answered"
    );

    // SSE when asked, by Accept or by the channel's choice at /initialize.
    let asked = reqwest::Client::new()
        .post(server.url("/invoke_assistant"))
        .bearer_auth(&token)
        .header(ACCEPT, "text/event-stream")
        .json(&words)
        .send()
        .await
        .expect("POST");
    assert!(
        asked.headers()[CONTENT_TYPE]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/event-stream"))
    );
    let events = sse(&asked.text().await.expect("body"));
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|(e, i, _)| (e.as_str(), i.as_str()))
        .collect();
    assert_eq!(seen, [("trace", "1"), ("trace", "2"), ("output", "3")]);
    assert_eq!(events[2].2["command_name"], "calculate");

    let sse_channel = post(
        &server,
        "/initialize",
        None,
        json!({"channel_id": "s", "stream_format": "sse"}),
    )
    .await;
    let sse_token = sse_channel.body["access_token"].as_str().expect("token");
    let chosen = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .bearer_auth(sse_token)
        .json(&words)
        .send()
        .await
        .expect("POST");
    assert!(
        chosen.headers()[CONTENT_TYPE]
            .to_str()
            .is_ok_and(|c| c.starts_with("text/event-stream"))
    );
    assert_eq!(sse(&chosen.text().await.expect("body")).len(), 3);

    // Words the turn would refuse are refused before the stream starts, with their status.
    let refused = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .bearer_auth(&token)
        .json(&json!({"user_query": "\u{7}"}))
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status().as_u16(), 422);
    let body: Value = refused.json().await.expect("JSON");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("U+0007")),
        "{body}"
    );
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_stream_loses_no_turn() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflow = slow_workflow();
    let server = TestServer::secure(dir.path(), &["--workflow", &workflow]).await;
    let (token, _) = initialize(&server, "alice").await;
    let mut response = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .bearer_auth(&token)
        .json(&json!({"user_query": "/wait 1"}))
        .send()
        .await
        .expect("POST");
    // The first trace line says the command went out; then the client hangs up.
    let first = response
        .chunk()
        .await
        .expect("a chunk")
        .expect("not the end");
    assert!(String::from_utf8_lossy(&first).contains("\"trace\""));
    drop(response);
    // The turn still finishes and is stored: wait for it (bounded), as a client would poll.
    let mut stored = Value::Null;
    for _ in 0..200 {
        stored = get(&server, "/conversations/1", Some(&token)).await.body;
        if stored["turns"].as_array().is_some_and(|t| !t.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let turn = &stored["turns"][0];
    assert_eq!(turn["command_output"]["command_name"], "wait", "{stored}");
    assert!(
        turn["command_output"]["command_responses"][0]["response"]
            .as_str()
            .is_some_and(|r| r.contains("waited"))
    );

    // A turn that fails once the stream has begun ends it with an error item.
    let late = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .bearer_auth(&token)
        .json(&json!({"user_query": "/wait 5", "timeout_seconds": 1}))
        .send()
        .await
        .expect("POST");
    assert_eq!(late.status().as_u16(), 200);
    let lines = ndjson(&late.text().await.expect("body"));
    let last = lines.last().expect("an item");
    assert_eq!(last["type"], "error", "{lines:?}");
    assert!(
        last["data"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no output within 1 s")),
        "{last}"
    );
}

#[tokio::test]
async fn a_busy_server_a_held_channel_and_a_slow_command_answer_503_409_504() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflow = slow_workflow();
    let server = TestServer::secure(
        dir.path(),
        &["--workflow", &workflow, "--max-concurrent-turns", "1"],
    )
    .await;
    let (alice, _) = initialize(&server, "alice").await;
    let (bob, _) = initialize(&server, "bob").await;
    // alice's turn holds the only permit while it waits.
    let mut running = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .bearer_auth(&alice)
        .json(&json!({"user_query": "/wait 3"}))
        .send()
        .await
        .expect("POST");
    running
        .chunk()
        .await
        .expect("a chunk")
        .expect("the turn is running");

    let wait = |seconds: f64, timeout: u64| {
        json!({"action": {"command_name": "wait", "parameters": {"seconds": seconds}},
               "timeout_seconds": timeout})
    };
    let busy = post(&server, "/perform_action", Some(&bob), wait(0.0, 10)).await;
    assert_eq!(busy.status, 503, "{}", busy.body);
    assert_eq!(busy.headers[RETRY_AFTER], "1");
    let held = post(
        &server,
        "/invoke_assistant",
        Some(&alice),
        json!({"user_query": "/wait 0"}),
    )
    .await;
    assert_eq!(held.status, 409, "{}", held.body);
    assert!(
        held.detail().contains("already in progress"),
        "{}",
        held.body
    );
    let rest = running.text().await.expect("the rest of the stream");
    assert!(rest.contains("\"output\""), "{rest}");

    let slow = post(&server, "/perform_action", Some(&bob), wait(5.0, 1)).await;
    assert_eq!(slow.status, 504, "{}", slow.body);
    assert!(
        slow.detail().contains("no output within 1 s"),
        "{}",
        slow.body
    );
}

#[tokio::test]
async fn what_a_client_reads_first_jwks_metadata_and_openapi() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(
        dir.path(),
        &[
            "--public-url",
            "https://flow.example.com/",
            "--allowed-host",
            "127.0.0.1",
            "--max-token-days",
            "90",
        ],
    )
    .await;
    let base = "https://flow.example.com";
    assert_eq!(get(&server, "/healthz", None).await.status, 200);
    assert_eq!(get(&server, "/readyz", None).await.status, 200);
    let jwks = get(&server, "/.well-known/jwks.json", None).await;
    assert_eq!(jwks.body["keys"][0]["kty"], "RSA");
    assert!(jwks.body["keys"][0]["kid"].is_string());
    let mcp = get(&server, "/.well-known/oauth-protected-resource/mcp", None).await;
    assert_eq!(mcp.body["resource"], format!("{base}/mcp"));
    assert_eq!(mcp.body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(
        mcp.body["jwks_uri"],
        format!("{base}/.well-known/jwks.json")
    );
    let root = get(&server, "/.well-known/oauth-protected-resource", None).await;
    assert_eq!(root.body["resource"], base);
    for absent in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
        "/.well-known/anything",
    ] {
        assert_eq!(get(&server, absent, None).await.status, 404, "{absent}");
    }
    let missing = post(&server, "/perform_action", None, calculate("1")).await;
    let challenge = missing.headers[WWW_AUTHENTICATE].to_str().expect("header");
    assert!(challenge.contains(&format!("{base}/.well-known/oauth-protected-resource/mcp")));

    let api = get(&server, "/openapi.json", None).await.body;
    assert_eq!(api["openapi"], "3.1.0");
    assert_eq!(
        api["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(
        api["paths"]["/perform_action"]["post"]["security"],
        json!([{"bearer": []}])
    );
    assert!(
        api["paths"]["/initialize"]["post"]
            .get("security")
            .is_none()
    );
    for path in [
        "/invoke_agent_stream",
        "/admin/generate_mcp_token",
        "/conversations/{conversation_id}",
    ] {
        assert!(api["paths"].get(path).is_some(), "{path}");
    }
    // Request bodies are the parsers' own schemas: rules across fields, the workflow's
    // commands, this server's limits; and every body can be refused as not JSON.
    let body = |path: &str| {
        api["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"].clone()
    };
    assert_eq!(
        body("/invoke_assistant")["oneOf"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        body("/initialize")["oneOf"].as_array().map(Vec::len),
        Some(3)
    );
    // An action is one branch per command: a body the schema admits names a command and
    // carries the parameters it needs; optional ones may be null, as the engine takes them.
    let actions = body("/perform_action")["properties"]["action"]["oneOf"].clone();
    let actions = actions.as_array().expect("one branch per command");
    let branch = |name: &str| {
        actions
            .iter()
            .find(|b| b["properties"]["command_name"]["const"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no branch for {name}"))
    };
    let calculate = branch("calculate");
    assert_eq!(calculate["required"], json!(["command_name", "parameters"]));
    assert_eq!(
        calculate["properties"]["parameters"]["required"],
        json!(["expression"])
    );
    let listing = branch("list_all_product_types");
    assert_eq!(listing["required"], json!(["command_name"]));
    assert_eq!(
        listing["properties"]["parameters"]["type"],
        json!(["object", "null"])
    );
    let address = branch("modify_user_address")["properties"]["parameters"].clone();
    assert_eq!(
        address["properties"]["address2"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(address["properties"]["city"]["type"], "string");
    let startup = body("/initialize")["properties"]["startup_action"]["oneOf"].clone();
    assert_eq!(
        startup.as_array().map(Vec::len),
        Some(actions.len() + 1),
        "every command, or null"
    );
    let days = &body("/admin/generate_mcp_token")["properties"]["expires_days"];
    assert_eq!(days["maximum"], 90);
    assert_eq!(
        api["paths"]["/post_feedback"]["post"]["responses"]["400"]["description"],
        "the body is not JSON"
    );
}

#[tokio::test]
async fn auth_none_serves_rest_without_tokens_on_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::start(dir.path(), &[]).await;
    let done = post(&server, "/perform_action", None, calculate("1+1")).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["traces"][0]["channel_id"], "local");
    let no_tokens = post(&server, "/initialize", None, json!({"channel_id": "x"})).await;
    assert_eq!(no_tokens.status, 404);
    assert_eq!(
        get(&server, "/.well-known/jwks.json", None).await.status,
        404
    );
}

#[tokio::test]
async fn trusted_mode_skips_the_signature_and_nothing_else() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::secure(dir.path(), &["--auth", "trusted"]).await;
    // A token of another server's key: its signature is not checked here.
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other = TestServer::secure(other_dir.path(), &[]).await;
    let (foreign, refresh) = initialize(&other, "alice").await;
    assert_eq!(
        post(&server, "/perform_action", Some(&foreign), calculate("1"))
            .await
            .status,
        200
    );
    assert_eq!(
        post(&server, "/perform_action", Some(&refresh), calculate("1"))
            .await
            .status,
        401,
        "the type is still checked"
    );
    assert_eq!(
        post(&server, "/perform_action", Some("garbage"), calculate("1"))
            .await
            .status,
        401
    );
}

/// The data dir's token records, through the CLI.
async fn token_list(dir: &Path) -> String {
    let (ok, out, err) = common::cli(dir, &["token", "list"]).await;
    assert!(ok, "{err}");
    out
}

#[tokio::test]
async fn the_token_cli_mints_lists_and_revokes_and_says_so_beside_a_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, token, err) = common::cli(
        dir.path(),
        &[
            "token",
            "mint",
            "--channel",
            "dana",
            "--name",
            "phone",
            "--days",
            "10",
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(token.split('.').count(), 3, "a JWT on stdout: {token}");
    assert!(err.contains("dana"), "{err}");
    let listed = token_list(dir.path()).await;
    assert!(
        listed.contains("phone") && listed.contains("dana"),
        "{listed}"
    );
    assert!(!listed.contains(&token));
    let jti = listed
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("a jti")
        .to_string();
    let (ok, _, err) =
        common::cli(dir.path(), &["token", "revoke", &jti, "--reason", "stolen"]).await;
    assert!(ok, "{err}");
    assert!(token_list(dir.path()).await.contains("stolen"));
    let (ok, _, err) = common::cli(dir.path(), &["token", "mint", "--channel", "a b"]).await;
    assert!(!ok && err.contains("channel"), "{err}");

    // With a server holding the data dir: mint explains what to do, list and admin work.
    let server = TestServer::secure(dir.path(), &[]).await;
    let refused = post(&server, "/perform_action", Some(&token), calculate("1")).await;
    assert_eq!(refused.status, 401, "revoked before the server started");
    let (ok, _, err) = common::cli(dir.path(), &["token", "mint", "--channel", "erin"]).await;
    assert!(!ok);
    assert!(err.contains("in use by a running flowmcp server"), "{err}");
    assert!(err.contains("/admin/generate_mcp_token"), "{err}");
    assert!(token_list(dir.path()).await.contains("phone"));
    let admin = admin_token(dir.path()).await;
    assert_eq!(
        get(&server, "/admin/tokens", Some(&admin)).await.status,
        200
    );
}
