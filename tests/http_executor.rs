//! The `http` executor end to end: a workflow whose commands call a small upstream server on
//! 127.0.0.1, served by a real `flowmcp serve` (secure auth) and reached over REST with a
//! channel's token. The upstream checks the token it is forwarded — and that commands without
//! `forward_bearer` send none.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use common::TestServer;
use serde_json::{Value, json};

/// What the upstream saw: the `Authorization` header of every request, in order.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Option<String>>>>);

impl Seen {
    fn record(&self, headers: &HeaderMap) -> Option<String> {
        let auth = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        self.0.lock().expect("lock").push(auth.clone());
        auth
    }

    fn all(&self) -> Vec<Option<String>> {
        self.0.lock().expect("lock").clone()
    }
}

/// The upstream, bound before it is served; its expected token arrives later (the channel's
/// token exists only once flowmcp runs), so it is a shared slot.
async fn upstream(expected: Arc<Mutex<String>>, seen: Seen) -> std::net::SocketAddr {
    async fn order(
        State((expected, seen)): State<(Arc<Mutex<String>>, Seen)>,
        UrlPath(id): UrlPath<String>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Result<Json<Value>, StatusCode> {
        let want = format!("Bearer {}", expected.lock().expect("lock"));
        if seen.record(&headers).as_deref() != Some(want.as_str()) {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let note = body["note"].as_str().unwrap_or("-");
        Ok(Json(json!({
            "response": format!("order {id}: {note}"),
            "artifacts": {"id": id},
        })))
    }
    async fn anonymous(
        State((_, seen)): State<(Arc<Mutex<String>>, Seen)>,
        headers: HeaderMap,
    ) -> Json<Value> {
        let auth = seen.record(&headers);
        Json(json!({"authorization": auth}))
    }
    let app = Router::new()
        .route("/orders/{id}", post(order))
        .route("/anonymous", get(anonymous))
        .route(
            "/teapot",
            get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }),
        )
        .route("/big", get(|| async { "x".repeat(64 * 1024) }))
        .route("/never", get(std::future::pending::<&'static str>))
        .with_state((expected, seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// A workflow of `http` commands against `upstream`.
fn workflow(dir: &Path, upstream: std::net::SocketAddr) {
    let base = format!("http://{upstream}");
    let tools = [
        (
            "lookup_order",
            format!(
                r#"description = "Look an order up upstream"
[parameters.order_id]
type = "string"
description = "The order"
[parameters.note]
type = "string"
description = "A note"
[run]
kind = "http"
method = "POST"
url = "{base}/orders/{{order_id}}"
body = {{ note = "{{note}}" }}
forward_bearer = true
"#
            ),
        ),
        (
            "anonymous",
            format!(
                "description = \"Call upstream without the caller's token\"\n\
                 [run]\nkind = \"http\"\nmethod = \"GET\"\nurl = \"{base}/anonymous\"\n"
            ),
        ),
        (
            "teapot",
            format!(
                "description = \"An upstream that refuses\"\n\
                 [run]\nkind = \"http\"\nmethod = \"GET\"\nurl = \"{base}/teapot\"\n"
            ),
        ),
        (
            "big",
            format!(
                "description = \"An upstream that says too much\"\n\
                 [run]\nkind = \"http\"\nmethod = \"GET\"\nurl = \"{base}/big\"\n\
                 max_output_bytes = 1000\n"
            ),
        ),
        (
            "never",
            format!(
                "description = \"An upstream that never answers\"\n\
                 [run]\nkind = \"http\"\nmethod = \"GET\"\nurl = \"{base}/never\"\n\
                 timeout_seconds = 1\n"
            ),
        ),
    ];
    std::fs::create_dir_all(dir.join("tools")).expect("mkdir tools");
    std::fs::write(dir.join("workflow.toml"), "name = \"upstream\"\n").expect("workflow.toml");
    for (name, text) in tools {
        std::fs::write(dir.join("tools").join(format!("{name}.toml")), text).expect("tool");
    }
}

async fn perform(server: &TestServer, token: &str, command: &str, params: Value) -> Value {
    let response = reqwest::Client::new()
        .post(server.url("/perform_action"))
        .bearer_auth(token)
        .json(&json!({"action": {"command_name": command, "parameters": params}}))
        .send()
        .await
        .expect("POST /perform_action");
    assert_eq!(response.status().as_u16(), 200, "{command}");
    response.json().await.expect("JSON")
}

fn first(output: &Value) -> (&Value, &str) {
    let response = &output["command_responses"][0];
    (response, response["response"].as_str().unwrap_or_default())
}

#[tokio::test]
async fn http_commands_forward_only_the_token_they_are_told_to_and_fail_clearly() {
    let expected = Arc::new(Mutex::new(String::new()));
    let seen = Seen::default();
    let addr = upstream(expected.clone(), seen.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let flow = dir.path().join("flow");
    workflow(&flow, addr);
    let data = dir.path().join("data");
    let flow_arg = flow.to_str().expect("utf-8 path");
    let server = TestServer::secure(&data, &["--workflow", flow_arg]).await;

    let init: Value = reqwest::Client::new()
        .post(server.url("/initialize"))
        .json(&json!({"channel_id": "upstream-user", "user_id": "u1"}))
        .send()
        .await
        .expect("initialize")
        .json()
        .await
        .expect("JSON");
    let token = init["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    *expected.lock().expect("lock") = token.clone();

    let done = perform(
        &server,
        &token,
        "lookup_order",
        json!({"order_id": "A7", "note": "hi"}),
    )
    .await;
    let (response, text) = first(&done);
    assert_eq!(response["success"], true, "{done}");
    assert_eq!(
        text, "order A7: hi",
        "the upstream's CommandResponse comes back as it is"
    );
    assert_eq!(response["artifacts"]["id"], "A7");
    assert_eq!(seen.all(), vec![Some(format!("Bearer {token}"))]);

    let anonymous = perform(&server, &token, "anonymous", json!({})).await;
    assert_eq!(
        first(&anonymous).0["artifacts"]["body"]["authorization"],
        Value::Null
    );
    assert_eq!(
        seen.all().last(),
        Some(&None),
        "no forward_bearer, no token sent"
    );

    let refused = perform(&server, &token, "teapot", json!({})).await;
    let (response, text) = first(&refused);
    assert_eq!(response["success"], false);
    assert_eq!(response["artifacts"]["status"], 418, "{refused}");
    assert!(
        text.contains("418") && text.contains("short and stout"),
        "{text}"
    );

    let big = perform(&server, &token, "big", json!({})).await;
    let (response, text) = first(&big);
    assert_eq!(response["success"], false);
    assert!(text.contains("more than 1000 bytes"), "{text}");

    let never = perform(&server, &token, "never", json!({})).await;
    let (response, text) = first(&never);
    assert_eq!(response["success"], false);
    assert!(text.contains("no answer within 1 s"), "{text}");

    // A token that the upstream does not expect is the upstream's refusal, passed on.
    *expected.lock().expect("lock") = "someone else".into();
    let wrong = perform(
        &server,
        &token,
        "lookup_order",
        json!({"order_id": "A7", "note": "x"}),
    )
    .await;
    assert_eq!(first(&wrong).0["artifacts"]["status"], 401, "{wrong}");
}
