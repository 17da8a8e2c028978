//! A scripted OpenAI-compatible server on 127.0.0.1: the one fake of the test suite, for the
//! one thing we cannot run here (an LLM). It answers `POST /v1/chat/completions` with the
//! planned replies in order, keeps every request it got (body and headers) for the test to
//! check, and can replay the quirks of real servers: streamed tool calls without `index`,
//! `id`/`name` repeated in every chunk, tool-call JSON in `content`, errors with
//! `Retry-After`, a context-length 400, a stall.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One planned answer.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    /// A whole (non-streamed) completion body.
    Json(Value),
    /// SSE chunks, then `data: [DONE]`.
    Stream(Vec<Value>),
    /// An error status with a body and, maybe, `Retry-After` seconds.
    Status(u16, Value, Option<u64>),
    /// Headers are never sent: the client's timeout must fire.
    Stall,
    /// A 200 event stream with an empty body (llama.cpp's server when generation fails).
    EmptyStream,
}

/// A completion that calls one tool.
pub(crate) fn call(name: &str, arguments: Value) -> Reply {
    calls(&[(name, arguments)])
}

/// A completion that calls several tools at once.
pub(crate) fn calls(list: &[(&str, Value)]) -> Reply {
    let tool_calls: Vec<Value> = list
        .iter()
        .enumerate()
        .map(|(i, (name, arguments))| {
            json!({"id": format!("call_{i}_{name}"), "type": "function",
                   "function": {"name": name, "arguments": arguments.to_string()}})
        })
        .collect();
    Reply::Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
                     "message": {"role": "assistant", "content": null, "tool_calls": tool_calls}}],
    }))
}

/// A completion that only says `text`.
pub(crate) fn say(text: &str) -> Reply {
    Reply::Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
    }))
}

/// A request the server got.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) body: Value,
    pub(crate) authorization: Option<String>,
}

impl Seen {
    pub(crate) fn messages(&self) -> &[Value] {
        self.body["messages"].as_array().map_or(&[], Vec::as_slice)
    }

    pub(crate) fn tool_names(&self) -> Vec<String> {
        self.body["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The tool results it carried, in order.
    pub(crate) fn tool_results(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m["role"] == "tool")
            .filter_map(|m| m["content"].as_str().map(str::to_string))
            .collect()
    }
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<Reply>,
    seen: Vec<Seen>,
}

/// The running server; it stops with the test's runtime.
#[derive(Debug, Clone)]
pub(crate) struct ScriptedLlm {
    pub(crate) addr: SocketAddr,
    script: Arc<Mutex<Script>>,
}

impl ScriptedLlm {
    /// Bind 127.0.0.1:0 first, then serve.
    pub(crate) async fn start(replies: Vec<Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the scripted LLM");
        let addr = listener.local_addr().expect("local addr");
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            seen: Vec::new(),
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(answer))
            .with_state(script.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script }
    }

    /// The `/v1` base URL to give flowmcp.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Plan more replies.
    pub(crate) fn then(&self, replies: Vec<Reply>) {
        self.script
            .lock()
            .expect("script lock")
            .replies
            .extend(replies);
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.script.lock().expect("script lock").seen.clone()
    }

    pub(crate) fn unused(&self) -> usize {
        self.script.lock().expect("script lock").replies.len()
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    let reply = {
        let mut script = script.lock().expect("script lock");
        script.seen.push(Seen {
            body: body.0,
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        script.replies.pop_front()
    };
    match reply {
        None => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"error": {"message": "the script has no more replies"}})),
        )
            .into_response(),
        Some(Reply::Json(body)) => axum::Json(body).into_response(),
        Some(Reply::Stream(chunks)) => {
            let mut text = String::new();
            for chunk in chunks {
                text.push_str(&format!("data: {chunk}\n\n"));
            }
            text.push_str("data: [DONE]\n\n");
            (
                [(header::CONTENT_TYPE, "text/event-stream")],
                Body::from(text),
            )
                .into_response()
        }
        Some(Reply::Status(status, body, retry_after)) => {
            let status = StatusCode::from_u16(status).expect("status");
            let mut response = (status, axum::Json(body)).into_response();
            if let Some(secs) = retry_after {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    secs.to_string().parse().expect("header value"),
                );
            }
            response
        }
        Some(Reply::EmptyStream) => {
            ([(header::CONTENT_TYPE, "text/event-stream")], Body::empty()).into_response()
        }
        Some(Reply::Stall) => {
            std::future::pending::<()>().await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}
