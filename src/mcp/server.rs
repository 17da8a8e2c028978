//! `FlowServer`: the MCP `ServerHandler`, written by hand because its tools come from metadata.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ErrorData as McpError, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, InputResponses, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProgressNotificationParam, Prompt, PromptArgument, PromptMessage, ProtocolVersion,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, Role, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Map, Value};

use super::conversation_tools::{self, CONVERSATION_SCHEME};
use super::elicit::ElicitAsker;
use super::tools::{self, INVOKE_ASSISTANT, PERFORM_ACTION, ToolSet};
use crate::app::ConversationError;
use crate::app::{ActionError, App, AssistantError, ParamAsker};
use crate::exec::Caller;
use crate::store::conversations::{Direction, TraceEvent};
use crate::workflow::{ContentSpec, template};

/// Everything a session needs, shared: cloning a `FlowServer` per HTTP session is cheap.
#[derive(Clone)]
pub struct FlowServer {
    app: App,
    caller: Caller,
    tools: Arc<ToolSet>,
}

impl FlowServer {
    /// A handler acting for `caller` (stdio and `--auth none`: the configured channel).
    pub fn new(app: App, caller: Caller) -> Self {
        let tools = ToolSet::build(app.catalog());
        Self { app, caller, tools }
    }

    /// Another handler over the same app and tool set (one per HTTP session).
    pub fn fork(&self) -> Self {
        self.clone()
    }

    /// Run a command; with a progress token, each trace event goes out as a progress
    /// notification (after an "accepted" one) before the result.
    async fn run_command(
        &self,
        name: &str,
        params: Option<&Value>,
        timeout: Option<u64>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let (observer, forwarder) = progress_forwarder(context, name);
        let outcome = self
            .app
            .perform_action_traced(&self.caller, name, params, timeout, observer)
            .await;
        if let Some(forwarder) = forwarder {
            // The sender was dropped with the turn: the forwarder ends after the last event.
            let _ = forwarder.await;
        }
        let result = match outcome {
            Ok(outcome) => {
                if outcome.context_changed {
                    notify_tools_changed(context).await;
                }
                tools::outcome_result(outcome)
            }
            Err(e) => {
                if matches!(e, ActionError::TimedOut { .. }) {
                    tracing::warn!(command = name, "{e}");
                }
                tools::error_result(e.to_string())
            }
        };
        result.into()
    }

    /// `invoke_assistant`: check the arguments; missing parameters are asked by elicitation
    /// when the client declared it, otherwise in the reply text.
    async fn invoke_assistant(
        &self,
        args: &Map<String, Value>,
        input_responses: Option<InputResponses>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let (text, timeout) =
            match text_and_timeout(INVOKE_ASSISTANT, args, &["command", "timeout_seconds"]) {
                Ok(found) => found,
                Err(message) => return tools::error_result(message).into(),
            };
        let stateless_era = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        let asker = if stateless_era {
            ElicitAsker::for_retry(context.client_capabilities(), input_responses)
        } else {
            ElicitAsker::for_peer(&context.peer)
        };
        let (observer, forwarder) = progress_forwarder(context, "assistant");
        let outcome = self
            .app
            .invoke_assistant(
                &self.caller,
                text,
                timeout,
                observer,
                asker.as_ref().map(|a| a as &dyn ParamAsker),
            )
            .await;
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
        match outcome {
            Ok(outcome) => {
                if outcome.context_changed {
                    notify_tools_changed(context).await;
                }
                tools::outcome_result(outcome).into()
            }
            Err(AssistantError::InputRequired) => {
                match asker.as_ref().and_then(ElicitAsker::input_required) {
                    Some(required) => required.into(),
                    None => tools::error_result("the question could not be sent").into(),
                }
            }
            Err(e) => {
                if matches!(e, AssistantError::TimedOut { .. }) {
                    tracing::warn!("{e}");
                }
                tools::error_result(e.to_string()).into()
            }
        }
    }

    async fn perform_action(
        &self,
        args: &Map<String, Value>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let (command_name, timeout) = match text_and_timeout(
            PERFORM_ACTION,
            args,
            &["command_name", "parameters", "timeout_seconds"],
        ) {
            Ok(found) => found,
            Err(message) => return tools::error_result(message).into(),
        };
        self.run_command(command_name, args.get("parameters"), timeout, context)
            .await
    }
}

/// The arguments of `perform_action` / `invoke_assistant`: only the `allowed` keys, the first
/// of them a required string, and an optional `timeout_seconds`.
fn text_and_timeout<'a>(
    tool: &str,
    args: &'a Map<String, Value>,
    allowed: &[&str],
) -> Result<(&'a str, Option<u64>), String> {
    if let Some(unknown) = args.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "{unknown}: unknown argument ({tool} takes {})",
            allowed.join(", ")
        ));
    }
    let key = allowed.first().copied().unwrap_or_default();
    let text = match args.get(key) {
        Some(Value::String(text)) => text.as_str(),
        Some(_) => return Err(format!("{key}: must be a string")),
        None => return Err(format!("{key}: missing required argument")),
    };
    let timeout =
        match args.get("timeout_seconds") {
            None | Some(Value::Null) => None,
            Some(value) => Some(value.as_u64().ok_or_else(|| {
                "timeout_seconds: must be an integer between 1 and 600".to_string()
            })?),
        };
    Ok((text, timeout))
}

/// With a progress token, a task that sends each trace event of the call as a progress
/// notification (after an "accepted" one), in order; it ends when the sender is dropped.
fn progress_forwarder(
    context: &RequestContext<RoleServer>,
    what: &str,
) -> (
    Option<tokio::sync::mpsc::UnboundedSender<TraceEvent>>,
    Option<tokio::task::JoinHandle<()>>,
) {
    let Some(token) = context.meta.get_progress_token() else {
        return (None, None);
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<TraceEvent>();
    let peer = context.peer.clone();
    let what = what.to_string();
    let forwarder = tokio::spawn(async move {
        let accepted = ProgressNotificationParam::new(token.clone(), 0.0)
            .with_message(format!("running {what}"));
        let _ = peer.notify_progress(accepted).await;
        // In order, one by one: a notification never overtakes an earlier one.
        while let Some(event) = rx.recv().await {
            let message = match event.direction {
                Direction::AgentToWorkflow => {
                    format!("{} sent to the workflow", event.command_name)
                }
                Direction::WorkflowToAgent => event.response_text.chars().take(200).collect(),
            };
            let step = ProgressNotificationParam::new(token.clone(), event.seq as f64)
                .with_message(message);
            let _ = peer.notify_progress(step).await;
        }
    });
    (Some(tx), Some(forwarder))
}

/// Tell the client the per-command tools on offer changed (the channel changed context).
async fn notify_tools_changed(context: &RequestContext<RoleServer>) {
    if let Err(e) = context.peer.notify_tool_list_changed().await {
        tracing::debug!("tools/list_changed not sent: {e}");
    }
}

impl ServerHandler for FlowServer {
    fn get_info(&self) -> ServerConfig {
        let catalog = self.app.catalog();
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_prompts()
            .enable_resources()
            .build();
        let mut instructions = format!(
            "Workflow \"{}\". Call a command's own tool, or perform_action with its name and parameters.",
            catalog.name
        );
        if !catalog.description.is_empty() {
            instructions = format!("{}\n{instructions}", catalog.description.trim());
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("flowmcp", env!("CARGO_PKG_VERSION")))
            .with_instructions(instructions)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        // Per-command tools follow the channel's context; the others are always there.
        let context = self
            .app
            .current_context(&self.caller)
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let catalog = self.app.catalog();
        let tools = self
            .tools
            .tools
            .iter()
            .filter(|t| {
                catalog
                    .command(&t.name)
                    .is_none_or(|c| catalog.available_in(c, &context))
            })
            .cloned()
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let empty = Map::new();
        let args = request.arguments.as_ref().unwrap_or(&empty);
        if request.name == PERFORM_ACTION {
            return Ok(self.perform_action(args, &context).await);
        }
        // The rarer, larger futures are boxed: rmcp moves this one into a task per request,
        // and its size is that of the largest branch.
        if request.name == INVOKE_ASSISTANT {
            return Ok(Box::pin(self.invoke_assistant(
                args,
                request.input_responses.clone(),
                &context,
            ))
            .await);
        }
        if conversation_tools::is_conversation_tool(&request.name) {
            return Ok(Box::pin(conversation_tools::call(
                &self.app,
                &self.caller,
                &request.name,
                args,
            ))
            .await
            .into());
        }
        let catalog = self.app.catalog();
        let Some(command) = catalog.command(&request.name) else {
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool \"{}\"",
                    request.name.chars().take(80).collect::<String>()
                ),
                None,
            ));
        };
        if command.context != crate::workflow::catalog::GLOBAL_CONTEXT {
            let current = self
                .app
                .current_context(&self.caller)
                .await
                .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            if !catalog.available_in(command, &current) {
                return Ok(tools::error_result(format!(
                    "{} is only available in the {} context (the channel is in {}); perform_action runs it anywhere",
                    command.name,
                    command.context,
                    if current == crate::workflow::catalog::GLOBAL_CONTEXT { "the global context".to_string() } else { format!("the {current} context") }
                ))
                .into());
            }
        }
        let params = Value::Object(args.clone());
        Ok(self
            .run_command(&request.name, Some(&params), None, &context)
            .await)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let conversations = self
            .app
            .list_conversations(&self.caller, Some(100))
            .await
            .map_err(|e| McpError::internal_error(e.to_string(), None))?;
        let resources = conversations
            .into_iter()
            .map(|c| {
                let name = if c.topic.is_empty() {
                    format!("conversation {}", c.conversation_id)
                } else {
                    c.topic.clone()
                };
                Resource::new(format!("{CONVERSATION_SCHEME}{}", c.conversation_id), name)
                    .with_description(c.summary)
                    .with_mime_type("application/json")
            })
            .collect();
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let template = ResourceTemplate::new(format!("{CONVERSATION_SCHEME}{{conversation_id}}"), "conversation")
            .with_description("One conversation of this channel: its summary and every turn with its traces and feedback")
            .with_mime_type("application/json");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let not_found =
            || McpError::resource_not_found(format!("no resource {}", request.uri), None);
        let Some(id) = conversation_tools::parse_conversation_uri(&request.uri) else {
            return Err(not_found());
        };
        let (summary, turns) = match self.app.conversation_turns(&self.caller, id).await {
            Ok(found) => found,
            Err(ConversationError::UnknownConversation(_)) => return Err(not_found()),
            Err(e) => return Err(McpError::internal_error(e.to_string(), None)),
        };
        let body = serde_json::json!({
            "channel_id": self.caller.channel_id.as_str(),
            "conversation_id": summary.conversation_id,
            "topic": summary.topic,
            "summary": summary.summary,
            "created_at": summary.created_at,
            "updated_at": summary.updated_at,
            "turns": turns,
        });
        let contents = ResourceContents::TextResourceContents {
            uri: request.uri.clone(),
            mime_type: Some("application/json".into()),
            text: body.to_string(),
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let prompts = self
            .app
            .catalog()
            .prompts
            .values()
            .map(|p| {
                let arguments: Vec<PromptArgument> = p
                    .arguments
                    .iter()
                    .map(|a| {
                        PromptArgument::new(a.name.clone())
                            .with_description(a.description.clone())
                            .with_required(a.required)
                    })
                    .collect();
                let description = (!p.description.is_empty()).then(|| p.description.clone());
                Prompt::new(
                    p.name.clone(),
                    description,
                    (!arguments.is_empty()).then_some(arguments),
                )
            })
            .collect();
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let Some(prompt) = self.app.catalog().prompts.get(&request.name) else {
            return Err(McpError::invalid_params(
                format!("unknown prompt \"{}\"", request.name),
                None,
            ));
        };
        let arguments: Map<String, Value> = request.arguments.unwrap_or_default();
        let missing: Vec<&str> = prompt
            .arguments
            .iter()
            .filter(|a| a.required && !arguments.contains_key(&a.name))
            .map(|a| a.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(McpError::invalid_params(
                format!(
                    "prompt \"{}\" is missing required argument(s): {}",
                    prompt.name,
                    missing.join(", ")
                ),
                None,
            ));
        }
        let text = template::render_prompt(&prompt.template, &arguments);
        let mut messages = vec![PromptMessage::new_text(Role::User, text)];
        for spec in &prompt.content {
            let spec = match spec.clone() {
                ContentSpec::Resource {
                    uri,
                    mime_type,
                    text,
                } => ContentSpec::Resource {
                    uri: template::render_prompt(&uri, &arguments),
                    mime_type,
                    text: template::render_prompt(&text, &arguments),
                },
                other => other,
            };
            messages.push(PromptMessage::new(Role::User, tools::content_block(spec)));
        }
        let mut result = GetPromptResult::new(messages);
        if !prompt.description.is_empty() {
            result = result.with_description(prompt.description.clone());
        }
        Ok(result.into())
    }
}
