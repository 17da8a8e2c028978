//! Talking to a model: the [`LlmClient`] trait the agent loop calls, and [`OpenAiClient`], for
//! any OpenAI-compatible `/v1` endpoint. The MCP face has its own client (sampling: the
//! client's LLM) behind the same trait.
//!
//! A request is streamed (a stalled server is noticed between chunks, not only at the end),
//! retried a bounded number of times on 429 and 5xx honouring `Retry-After`, and repeated
//! without streaming when the stream lost tool calls. The API key goes in one header and
//! nowhere else: not in `Debug`, logs, traces or errors (a server that echoes it back has it
//! blanked out).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;
use tokio::time::Instant;

use super::sse::SseParser;
use super::wire::{ChatRequest, Completion, StreamAccumulator, parse_response};

/// A boxed future, so the trait stays object-safe.
pub type LlmFuture<'a> = Pin<Box<dyn Future<Output = Result<Completion, LlmError>> + Send + 'a>>;

/// A model the agent can ask.
pub trait LlmClient: Send + Sync + fmt::Debug {
    /// One chat completion, given up at `deadline`.
    fn chat<'a>(&'a self, request: &'a ChatRequest, deadline: Instant) -> LlmFuture<'a>;

    /// What to call it in traces and answers ("qwen2.5 at http://…/v1"): never a secret.
    fn describe(&self) -> String;
}

/// Why a model call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The request is longer than the model's context: drop something and try again.
    #[error("the request does not fit the model's context: {0}")]
    ContextLength(String),
    #[error("the model gave no answer within {0} s")]
    TimedOut(u64),
    #[error("the model's server answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("cannot reach the model's server: {0}")]
    Unreachable(String),
    #[error("the model's answer could not be read: {0}")]
    Malformed(String),
    /// The client whose LLM this is would not answer (MCP sampling refused or failed).
    #[error("the client's model did not answer: {0}")]
    Refused(String),
    /// The request went to the MCP client with the response (2026-07-28 `input_required`);
    /// the turn continues when the client calls again with the model's answer.
    #[error("the model's answer is awaited from the client")]
    Deferred,
}

/// An API key: shown as `***` everywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for an empty key.
    pub fn new(key: &str) -> Option<Self> {
        let key = key.trim();
        (!key.is_empty()).then(|| Self(key.to_string()))
    }

    /// `text` with every copy of the key blanked out.
    fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Where the model is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// The `/v1` base, without a trailing `/` (`http://127.0.0.1:11434/v1`).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Longest wait for one model call (and for the next chunk of its stream).
    pub timeout: Duration,
    /// How many times a 429 or 5xx is tried again.
    pub retries: u32,
}

/// Longest `Retry-After` honoured: a server asking for more is treated as down.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);
/// Longest error body quoted in an error.
const ERROR_EXCERPT: usize = 300;

/// An OpenAI-compatible chat-completions endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    settings: LlmSettings,
    http: reqwest::Client,
    endpoint: String,
    /// Cleared when a streamed request with tools came back empty or broken: some servers
    /// (llama.cpp's function calling) cannot stream tool choice, so such requests go
    /// unstreamed from then on.
    stream_tools: Arc<AtomicBool>,
}

impl OpenAiClient {
    pub fn new(settings: LlmSettings) -> Result<Self, LlmError> {
        // rustls needs a process-wide crypto provider; installing it twice is harmless.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("flowmcp/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| LlmError::Unreachable(e.to_string()))?;
        let endpoint = format!("{}/chat/completions", settings.base_url);
        Ok(Self {
            settings,
            http,
            endpoint,
            stream_tools: Arc::new(AtomicBool::new(true)),
        })
    }

    async fn chat_inner(
        &self,
        request: &ChatRequest,
        deadline: Instant,
    ) -> Result<Completion, LlmError> {
        let with_tools = !request.tools.is_empty();
        if with_tools && !self.stream_tools.load(Ordering::Relaxed) {
            return self.call(request, false, deadline).await;
        }
        let streamed = match self.call(request, true, deadline).await {
            Err(LlmError::Unreachable(why)) if with_tools => {
                tracing::debug!("the stream broke ({why}): tools go unstreamed from now on");
                self.stream_tools.store(false, Ordering::Relaxed);
                return self.call(request, false, deadline).await;
            }
            other => other?,
        };
        // Some servers end a stream early without a word (llama.cpp's server on an error:
        // 200, no chunks, no finish_reason), or lose the calls they announce.
        let said_nothing = streamed.tool_calls.is_empty() && streamed.content.trim().is_empty();
        let lost_calls = !request.tools.is_empty()
            && said_nothing
            && streamed.finish_reason.as_deref() == Some("tool_calls");
        let cut_short = said_nothing && streamed.finish_reason.is_none();
        if lost_calls || cut_short {
            if with_tools {
                self.stream_tools.store(false, Ordering::Relaxed);
            }
            tracing::debug!(
                lost_calls,
                cut_short,
                "the stream said nothing: asking unstreamed"
            );
            return self.call(request, false, deadline).await;
        }
        Ok(streamed)
    }

    /// One request, tried again on 429 and 5xx.
    async fn call(
        &self,
        request: &ChatRequest,
        stream: bool,
        deadline: Instant,
    ) -> Result<Completion, LlmError> {
        let body = request.to_wire(&self.settings.model, stream);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let deadline = deadline.min(Instant::now() + self.settings.timeout);
            match self.attempt(&body, stream, deadline).await {
                Err(Retry::After(wait, error)) if attempt <= self.settings.retries => {
                    if Instant::now() + wait >= deadline {
                        return Err(error);
                    }
                    tracing::debug!(attempt, ?wait, "the model's server is busy: trying again");
                    tokio::time::sleep(wait).await;
                }
                Err(Retry::After(_, error) | Retry::Never(error)) => return Err(error),
                Ok(completion) => return Ok(completion),
            }
        }
    }

    async fn attempt(
        &self,
        body: &Value,
        stream: bool,
        deadline: Instant,
    ) -> Result<Completion, Retry> {
        let timed_out = || Retry::Never(LlmError::TimedOut(self.settings.timeout.as_secs()));
        let mut post = self.http.post(&self.endpoint).json(body);
        if let Some(key) = &self.settings.api_key {
            post = post.header(AUTHORIZATION, format!("Bearer {}", key.0));
        }
        let sent = tokio::time::timeout_at(deadline, post.send())
            .await
            .map_err(|_| timed_out())?
            .map_err(|e| {
                // A connection the server closed under the pool: one more try is cheap.
                let retry = e.is_connect() || e.is_request();
                let error = LlmError::Unreachable(self.scrub(&e.without_url().to_string()));
                if retry {
                    Retry::After(Duration::from_millis(100), error)
                } else {
                    Retry::Never(error)
                }
            })?;
        let status = sent.status();
        if !status.is_success() {
            let retry_after = sent
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = tokio::time::timeout_at(deadline, sent.text())
                .await
                .map_err(|_| timed_out())?
                .unwrap_or_default();
            return Err(self.failure(status, &text, retry_after));
        }
        let json_body = sent
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !stream || json_body {
            // Some servers answer a streamed request with one JSON body: read it as such.
            let bytes = tokio::time::timeout_at(deadline, sent.bytes())
                .await
                .map_err(|_| timed_out())?
                .map_err(|e| {
                    Retry::Never(LlmError::Unreachable(
                        self.scrub(&e.without_url().to_string()),
                    ))
                })?;
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| Retry::Never(LlmError::Malformed(e.to_string())))?;
            return parse_response(&value).map_err(|e| Retry::Never(LlmError::Malformed(e)));
        }
        let mut body = sent.bytes_stream();
        let mut parser = SseParser::default();
        let mut acc = StreamAccumulator::default();
        loop {
            // Each chunk must come within the timeout, and the whole call before the deadline.
            let next = Instant::now() + self.settings.timeout;
            let chunk = match tokio::time::timeout_at(next.min(deadline), body.next()).await {
                Err(_) => return Err(timed_out()),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(Retry::Never(LlmError::Unreachable(
                        self.scrub(&e.without_url().to_string()),
                    )));
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            if take_events(parser.feed(&chunk), &mut acc)? {
                return Ok(acc.finish());
            }
        }
        take_events(parser.finish(), &mut acc)?;
        Ok(acc.finish())
    }

    /// A refused request → an error, retried when the server is busy or broken.
    fn failure(&self, status: StatusCode, text: &str, retry_after: Option<Duration>) -> Retry {
        let message = self.scrub(&error_message(text));
        if status == StatusCode::BAD_REQUEST && is_context_length(text) {
            return Retry::Never(LlmError::ContextLength(message));
        }
        let error = LlmError::Status {
            status: status.as_u16(),
            message,
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let wait = retry_after.unwrap_or(Duration::from_millis(500));
            if wait > MAX_RETRY_WAIT {
                return Retry::Never(error);
            }
            return Retry::After(wait, error);
        }
        Retry::Never(error)
    }

    fn scrub(&self, text: &str) -> String {
        match &self.settings.api_key {
            Some(key) => key.scrub(text),
            None => text.to_string(),
        }
    }
}

impl LlmClient for OpenAiClient {
    fn chat<'a>(&'a self, request: &'a ChatRequest, deadline: Instant) -> LlmFuture<'a> {
        Box::pin(self.chat_inner(request, deadline))
    }

    fn describe(&self) -> String {
        format!(
            "{} at {}",
            self.settings.model,
            shown_url(&self.settings.base_url)
        )
    }
}

/// A URL as it may be shown: without user info or query (where some gateways take keys).
fn shown_url(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(mut url) => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => "(an unreadable URL)".into(),
    }
}

enum Retry {
    After(Duration, LlmError),
    Never(LlmError),
}

/// Feed SSE events into the accumulator; true at `[DONE]`.
fn take_events(events: Vec<String>, acc: &mut StreamAccumulator) -> Result<bool, Retry> {
    for data in events {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        if data.is_empty() {
            continue;
        }
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| Retry::Never(LlmError::Malformed(format!("a stream chunk: {e}"))))?;
        if let Some(error) = chunk.get("error") {
            let text = error_message(&error.to_string());
            return Err(Retry::Never(if is_context_length(&text) {
                LlmError::ContextLength(text)
            } else {
                LlmError::Malformed(format!("the stream carried an error: {text}"))
            }));
        }
        acc.push(&chunk);
    }
    Ok(false)
}

/// The error's message from an error body (`{"error": {"message": …}}`, `{"error": "…"}`,
/// `{"detail": …}`, or the text), shortened.
fn error_message(text: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let message = parsed
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("detail"))
                .or_else(|| v.get("message"))
        })
        .map_or_else(
            || text.to_string(),
            |m| m.as_str().map_or_else(|| m.to_string(), str::to_string),
        );
    let mut message = message.trim().to_string();
    if message.chars().count() > ERROR_EXCERPT {
        message = message.chars().take(ERROR_EXCERPT).collect::<String>() + "…";
    }
    message
}

/// How servers say the prompt is too long: OpenAI's code, vLLM's, llama.cpp's and Ollama's
/// wordings.
fn is_context_length(text: &str) -> bool {
    let text = text.to_lowercase();
    text.contains("context_length_exceeded")
        || text.contains("context length")
        || text.contains("context window")
        || text.contains("maximum context")
        || text.contains("exceeds the available context")
        || (text.contains("token") && text.contains("exceed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_shown() {
        let key = ApiKey::new(" sk-secret ").expect("key");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(key.scrub("bad key sk-secret given"), "bad key *** given");
        assert!(ApiKey::new("  ").is_none());
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        assert_eq!(
            shown_url("https://me:sk-1@gw.example.com/v1?api-key=sk-2"),
            "https://gw.example.com/v1"
        );
        assert_eq!(
            shown_url("http://127.0.0.1:11434/v1"),
            "http://127.0.0.1:11434/v1"
        );
    }

    #[test]
    fn context_length_errors_of_several_servers_are_recognised() {
        for text in [
            r#"{"error":{"message":"This model's maximum context length is 4096 tokens",
                "code":"context_length_exceeded"}}"#,
            r#"{"error":{"message":"Requested tokens (5000) exceed context window of 4096"}}"#,
            "the input length exceeds the context length",
        ] {
            assert!(is_context_length(text), "{text}");
        }
        assert!(!is_context_length(
            r#"{"error":{"message":"model not found"}}"#
        ));
        assert_eq!(
            error_message(r#"{"error":{"message":"model not found"}}"#),
            "model not found"
        );
    }
}
