//! The client's LLM, for agent turns when flowmcp has none of its own: MCP sampling
//! (`sampling/createMessage` with tools), offered only when the client declares
//! `sampling.tools`. On 2025-11-25 sessions the request goes to the client during the tool
//! call, under our own timeout (rmcp sets none). On the 2026-07-28 stateless era each model
//! request goes out in an `input_required` result ([`AnswerFromClient`]) and the client calls
//! again with the answer: the plan stays in the store, and the client holds only a sealed
//! handle to it ([`Rounds`], rmcp's request-state codec, bound to the channel).
//!
//! Sampling is deprecated by the spec (SEP-2577): everything about it stays in this module.

#![allow(deprecated)]

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{
    ClientResult, ContentBlock, CreateMessageRequest, CreateMessageRequestParams,
    CreateMessageResult, ErrorData as McpError, InputRequest, InputRequests, InputRequiredResult,
    InputResponses, JsonObject, RequestStateCodec, Role, SamplingMessage,
    SamplingMessageContentBlock, SealOptions, ServerRequest, Tool, ToolChoice,
};
use rmcp::service::{PeerRequestOptions, RequestContext, ServiceError};
use rmcp::{Peer, RoleServer};
use tokio::time::Instant;

use crate::agent::{
    ChatRequest, Completion, LlmClient, LlmError, LlmFuture, Role as WireRole, ToolCall,
};

/// Tokens a sampled answer may take.
const MAX_TOKENS: u32 = 2048;
/// Longest wait for the client's answer (a person may have to approve the request).
const ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// True when the client lends its model with tools.
pub(crate) fn lends_llm(context: &RequestContext<RoleServer>) -> bool {
    context
        .client_capabilities()
        .and_then(|c| c.sampling)
        .is_some_and(|s| s.tools.is_some())
}

/// The model of the client on the other end of a 2025-11-25 session.
#[derive(Clone)]
pub(crate) struct ClientLlm {
    peer: Peer<RoleServer>,
    name: Arc<str>,
}

impl std::fmt::Debug for ClientLlm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientLlm")
            .field("name", &self.name)
            .finish()
    }
}

impl ClientLlm {
    pub(crate) fn for_peer(peer: &Peer<RoleServer>) -> Self {
        let name = peer
            .peer_info()
            .map_or_else(|| "the client".to_string(), |i| i.client_info.name.clone());
        Self {
            peer: peer.clone(),
            name: format!("{name}'s model (MCP sampling)").into(),
        }
    }

    async fn ask(&self, request: &ChatRequest, deadline: Instant) -> Result<Completion, LlmError> {
        let params = to_params(request)?;
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(ANSWER_WITHIN);
        let handle = self
            .peer
            .send_request_with_option(
                ServerRequest::CreateMessageRequest(CreateMessageRequest::new(params)),
                PeerRequestOptions::with_timeout(wait),
            )
            .await
            .map_err(refused)?;
        match handle.await_response().await.map_err(|e| match e {
            ServiceError::Timeout { .. } => LlmError::TimedOut(wait.as_secs()),
            other => refused(other),
        })? {
            ClientResult::CreateMessageResult(result) => from_result(*result),
            _ => Err(LlmError::Refused(
                "the client answered something else".into(),
            )),
        }
    }
}

impl LlmClient for ClientLlm {
    fn chat<'a>(&'a self, request: &'a ChatRequest, deadline: Instant) -> LlmFuture<'a> {
        Box::pin(self.ask(request, deadline))
    }

    fn describe(&self) -> String {
        self.name.to_string()
    }
}

fn refused(e: ServiceError) -> LlmError {
    LlmError::Refused(e.to_string())
}

/// A chat request as sampling parameters: the system messages become the system prompt, a
/// run of tool results one user message, and tool calls `tool_use` blocks.
pub(crate) fn to_params(request: &ChatRequest) -> Result<CreateMessageRequestParams, LlmError> {
    let mut system = Vec::new();
    let mut messages: Vec<SamplingMessage> = Vec::new();
    let mut results: Vec<SamplingMessageContentBlock> = Vec::new();
    let flush = |results: &mut Vec<SamplingMessageContentBlock>, out: &mut Vec<SamplingMessage>| {
        if !results.is_empty() {
            out.push(SamplingMessage::new_multiple(
                Role::User,
                std::mem::take(results),
            ));
        }
    };
    for message in &request.messages {
        if message.role != WireRole::Tool {
            flush(&mut results, &mut messages);
        }
        match message.role {
            WireRole::System => system.push(message.content.clone()),
            WireRole::User => messages.push(SamplingMessage::user_text(message.content.clone())),
            WireRole::Assistant if message.tool_calls.is_empty() => {
                // An empty turn (the model said nothing) is left out: sampling wants text.
                if !message.content.trim().is_empty() {
                    messages.push(SamplingMessage::assistant_text(message.content.clone()));
                }
            }
            WireRole::Assistant => {
                let mut blocks = Vec::new();
                if !message.content.trim().is_empty() {
                    blocks.push(SamplingMessageContentBlock::text(message.content.clone()));
                }
                for call in &message.tool_calls {
                    let input: JsonObject = call.parsed_arguments().unwrap_or_default();
                    blocks.push(SamplingMessageContentBlock::tool_use(
                        call.id.clone(),
                        call.name.clone(),
                        input,
                    ));
                }
                messages.push(SamplingMessage::new_multiple(Role::Assistant, blocks));
            }
            WireRole::Tool => results.push(SamplingMessageContentBlock::tool_result(
                message.tool_call_id.clone().unwrap_or_default(),
                vec![ContentBlock::text(message.content.clone())],
            )),
        }
    }
    flush(&mut results, &mut messages);
    let mut params = CreateMessageRequestParams::new(messages, MAX_TOKENS);
    if !system.is_empty() {
        params = params.with_system_prompt(system.join("\n\n"));
    }
    if request.tools.is_empty() {
        params = params.with_tool_choice(ToolChoice::none());
    } else {
        let tools = request
            .tools
            .iter()
            .map(|t| {
                Tool::new(
                    t.name.clone(),
                    t.description.clone(),
                    Arc::new(t.parameters.clone()),
                )
            })
            .collect();
        params = params
            .with_tools(tools)
            .with_tool_choice(ToolChoice::auto());
    }
    params
        .validate()
        .map_err(|e| LlmError::Malformed(format!("the sampling request: {e}")))?;
    Ok(params)
}

/// The client's answer as a completion: text blocks are the content, `tool_use` blocks the
/// calls (decided by the blocks, not the free-text stop reason).
pub(crate) fn from_result(result: CreateMessageResult) -> Result<Completion, LlmError> {
    if result.message.role != Role::Assistant {
        return Err(LlmError::Malformed(
            "the client's answer is not the assistant's".into(),
        ));
    }
    let mut completion = Completion {
        finish_reason: result.stop_reason.clone(),
        model: Some(result.model.clone()),
        ..Completion::default()
    };
    for block in result.message.content.iter() {
        if let Some(text) = block.as_text() {
            completion.content.push_str(&text.text);
        } else if let Some(call) = block.as_tool_use() {
            completion.tool_calls.push(ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                arguments: serde_json::Value::Object(call.input.clone()).to_string(),
            });
        }
    }
    Ok(completion)
}

/// The key of the model request in an `input_required` result.
const MODEL_KEY: &str = "llm";
/// How long a sealed handle stays good.
const HANDLE_TTL: Duration = Duration::from_secs(15 * 60);
/// Calls an rmcp client makes for one tool call before it gives up.
pub(crate) const CLIENT_MAX_CALLS: u32 = 10;

/// Seals plan handles into `request_state` and opens them, bound to the caller's channel.
/// The key is made at start-up: a handle does not survive a restart (the client's call then
/// fails and is made afresh).
pub(crate) struct Rounds {
    codec: RequestStateCodec,
}

impl std::fmt::Debug for Rounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rounds")
    }
}

impl Rounds {
    pub(crate) fn new() -> Option<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).ok()?;
        RequestStateCodec::try_new(key.to_vec())
            .ok()
            .map(|codec| Self { codec })
    }

    pub(crate) fn seal(&self, handle: &str, channel: &str) -> String {
        let options = SealOptions::new()
            .associated_data(channel.as_bytes())
            .ttl(HANDLE_TTL);
        self.codec.seal_with(handle.as_bytes(), &options)
    }

    /// The handle in `sealed`; every failure is the same error (it tells nothing).
    pub(crate) fn open(&self, sealed: &str, channel: &str) -> Result<String, McpError> {
        let refused = || McpError::invalid_params("invalid or expired requestState", None);
        let bytes = self
            .codec
            .open_with(sealed, channel.as_bytes())
            .map_err(|e| {
                tracing::debug!("request state refused: {e}");
                refused()
            })?;
        String::from_utf8(bytes).map_err(|_| refused())
    }
}

/// The client's model across its calls: the answer it brought (if any) goes to the first
/// request; the next request is kept for the `input_required` result and deferred.
#[derive(Debug, Default)]
pub(crate) struct AnswerFromClient {
    answer: std::sync::Mutex<Option<Completion>>,
    asked: std::sync::Mutex<Option<CreateMessageRequestParams>>,
}

impl AnswerFromClient {
    /// With the answer in `responses`, when the call brings one.
    pub(crate) fn from_responses(responses: Option<&InputResponses>) -> Result<Self, McpError> {
        let answer = match responses.and_then(|r| r.get(MODEL_KEY)) {
            Some(value) => Some(read_answer(value.clone())?),
            None => None,
        };
        Ok(Self {
            answer: std::sync::Mutex::new(answer),
            asked: std::sync::Mutex::default(),
        })
    }

    pub(crate) fn has_answer(&self) -> bool {
        self.answer.lock().is_ok_and(|a| a.is_some())
    }

    /// The `input_required` result asking the client's model, with the sealed handle.
    pub(crate) fn input_required(&self, request_state: String) -> Option<InputRequiredResult> {
        let params = self.asked.lock().ok()?.take()?;
        let mut requests = InputRequests::new();
        requests.insert(
            MODEL_KEY.into(),
            InputRequest::CreateMessage(CreateMessageRequest::new(params)),
        );
        Some(InputRequiredResult::new(
            Some(requests),
            Some(request_state),
        ))
    }

    /// The `input_required` result putting `ask_user`'s question to the user.
    pub(crate) fn question_required(
        question: &str,
        request_state: String,
    ) -> Option<InputRequiredResult> {
        let mut requests = InputRequests::new();
        requests.insert(
            super::elicit::QUESTION_KEY.into(),
            super::elicit::question_request(question)?,
        );
        Some(InputRequiredResult::new(
            Some(requests),
            Some(request_state),
        ))
    }

    fn take(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        if let Some(answer) = self.answer.lock().ok().and_then(|mut a| a.take()) {
            return Ok(answer);
        }
        let params = to_params(request)?;
        if let Ok(mut asked) = self.asked.lock() {
            *asked = Some(params);
        }
        Err(LlmError::Deferred)
    }
}

impl LlmClient for AnswerFromClient {
    fn chat<'a>(&'a self, request: &'a ChatRequest, _deadline: Instant) -> LlmFuture<'a> {
        Box::pin(std::future::ready(self.take(request)))
    }

    fn describe(&self) -> String {
        "the client's model (MCP sampling, input_required)".into()
    }
}

/// A sampling answer from a client's `input_responses`, read as untrusted JSON.
pub(crate) fn read_answer(value: serde_json::Value) -> Result<Completion, McpError> {
    let result: CreateMessageResult = serde_json::from_value(value).map_err(|e| {
        McpError::invalid_params(format!("the sampling answer could not be read: {e}"), None)
    })?;
    from_result(result).map_err(|e| McpError::invalid_params(e.to_string(), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{Message, ToolSpec};

    #[test]
    fn a_plan_maps_onto_balanced_sampling_messages_and_back() {
        let mut call = Message::assistant("");
        call.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "get".into(),
            arguments: "{\"x\":1}".into(),
        });
        call.tool_calls.push(ToolCall {
            id: "c2".into(),
            name: "get".into(),
            arguments: "{}".into(),
        });
        let request = ChatRequest {
            messages: vec![
                Message::system("be brief"),
                Message::user("go"),
                call,
                Message::tool_result("c1", "one"),
                Message::tool_result("c2", "two"),
            ],
            tools: vec![ToolSpec {
                name: "get".into(),
                description: "get".into(),
                parameters: serde_json::Map::new(),
            }],
        };
        let params = to_params(&request).expect("valid");
        assert_eq!(params.system_prompt.as_deref(), Some("be brief"));
        assert_eq!(params.messages.len(), 3, "both results in one user message");
        assert_eq!(params.messages[2].content.len(), 2);
        let answer = CreateMessageResult::new(
            SamplingMessage::assistant_tool_use(
                "c3",
                "get",
                serde_json::json!({"y": 2})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            "m".into(),
        );
        let completion = from_result(answer).expect("assistant");
        assert_eq!(completion.tool_calls[0].arguments, "{\"y\":2}");
        let user = CreateMessageResult::new(SamplingMessage::user_text("hi"), "m".into());
        assert!(from_result(user).is_err());
    }
}
