//! The `http` executor: call an upstream API with the command's parameters (URL, header and
//! body templates), and read its answer as a CommandResponse (or JSON, or text).
//!
//! With `forward_bearer = true` the caller's own token is sent as `Authorization: Bearer`:
//! the only way a token leaves the server (it is never stored, never logged). Every failure
//! (connection, timeout, an answer over the size cap, a non-2xx status) is a failed response
//! naming the cause, never an error for the caller to handle.

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::domain::{Caller, CommandResponse};
use crate::workflow::template;

/// One client for every `http` command: connections are pooled. Built on first use (loading
/// the system's certificates is not start-up work).
fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            // rustls needs a process-wide crypto provider; installing it twice is harmless.
            // ring, though rustls now marks it deprecated for lacking post-quantum key
            // exchange: aws-lc-rs, the alternative, is another large C build for every CI run.
            #[allow(deprecated)]
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder()
                .user_agent(concat!("flowmcp/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// What one call is made of.
#[derive(Debug)]
pub(crate) struct HttpRequest<'a> {
    pub(crate) command_name: &'a str,
    pub(crate) method: &'a str,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: Option<&'a Value>,
    pub(crate) forward_bearer: bool,
    pub(crate) timeout: Duration,
    pub(crate) max_response_bytes: usize,
}

/// Make the call; every failure is a failed response naming the cause.
pub(crate) async fn run(
    req: HttpRequest<'_>,
    params: &Map<String, Value>,
    caller: &Caller,
) -> CommandResponse {
    let name = req.command_name;
    let client = match client() {
        Ok(client) => client,
        Err(e) => return CommandResponse::fail(format!("{name}: no HTTP client: {e}")),
    };
    let url = template::render_url(req.url, params);
    let method =
        reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut call = client.request(method.clone(), &url).timeout(req.timeout);
    for (header, value) in req.headers {
        let value = template::render_response(value, params);
        match (
            HeaderName::from_bytes(header.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(header), Ok(value)) => call = call.header(header, value),
            _ => return CommandResponse::fail(format!("{name}: header {header} is not valid")),
        }
    }
    if req.forward_bearer {
        let Some(token) = &caller.bearer else {
            return CommandResponse::fail(format!(
                "{name} forwards the caller's token, and this request came without one"
            ));
        };
        match HeaderValue::from_str(&format!("Bearer {}", token.expose())) {
            Ok(mut value) => {
                value.set_sensitive(true);
                call = call.header(AUTHORIZATION, value);
            }
            Err(_) => return CommandResponse::fail(format!("{name}: the token cannot be sent")),
        }
    }
    let body = match req.body {
        Some(template) => Some(template::render_json(template, params)),
        None if matches!(method, reqwest::Method::GET | reqwest::Method::DELETE) => None,
        None => Some(Value::Object(params.clone())),
    };
    if let Some(body) = &body {
        call = call
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
    }
    let mut response = match call.send().await {
        Ok(response) => response,
        Err(e) if e.is_timeout() => {
            return CommandResponse::fail(format!(
                "{name}: the upstream gave no answer within {} s",
                req.timeout.as_secs_f64()
            ));
        }
        Err(e) => {
            tracing::warn!(command = name, error = %e.without_url(), "http: the call failed");
            return CommandResponse::fail(format!("{name}: the upstream could not be reached"));
        }
    };
    let status = response.status();
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > req.max_response_bytes {
                    return CommandResponse::fail(format!(
                        "{name}: the upstream answered more than {} bytes; the limit is \
                         run.max_output_bytes",
                        req.max_response_bytes
                    ));
                }
            }
            Ok(None) => break,
            Err(e) => {
                return CommandResponse::fail(format!(
                    "{name}: reading the upstream's answer failed: {}",
                    e.without_url()
                ));
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if !status.is_success() {
        let snippet: String = text.chars().take(300).collect();
        return CommandResponse::fail(format!("{name}: the upstream answered {status}: {snippet}"))
            .with_artifact("status", Value::from(status.as_u16()));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) if map.contains_key("response") => {
            serde_json::from_value(Value::Object(map.clone())).unwrap_or_else(|_| {
                CommandResponse::ok(text.clone()).with_artifact("body", Value::Object(map))
            })
        }
        Ok(json) => CommandResponse::ok(json.to_string()).with_artifact("body", json),
        Err(_) if text.is_empty() => CommandResponse::ok(format!("{name}: done ({status})")),
        Err(_) => CommandResponse::ok(text),
    }
}
