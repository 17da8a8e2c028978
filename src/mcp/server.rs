//! `FlowServer`: the MCP `ServerHandler`, written by hand because its tools come from metadata.

// Logging and `resources/subscribe` are deprecated for the 2026-07-28 era (SEP-2577); they
// are served to the clients of the eras that have them.
#![allow(deprecated)]

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult, CompletionInfo,
    ErrorData as McpError, GetPromptRequestParams, GetPromptResponse, GetPromptResult,
    Implementation, InputResponses, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, PaginatedRequestParams, Prompt, PromptArgument,
    PromptMessage, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, Reference,
    Role, ServerCapabilities, ServerConfig, SetLevelRequestParams, SubscribeRequestParams,
    SubscriptionFilter, Tool, UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::{RoleServer, ServerHandler};
use serde_json::{Map, Value};

use super::conversation_tools;
use super::elicit::{self, ElicitAsker};
use super::events;
use super::resources;
use super::sampling;
use super::session::SessionState;
use super::tools::{self, ToolSet, error_result};
use crate::agent::LlmClient;
use crate::app::agent::ClientRounds;
use crate::app::completion::CompletionTarget;
use crate::app::requests::{self, InvokeAgent, InvokeAssistant, PerformAction, Request};
use crate::app::{ActionReply, AgentReply, App, AssistantReply, Borrowed, ParamAsker};
use crate::domain::Caller;
use crate::workflow::{ContentSpec, template};

/// Everything a session needs, shared: cloning a `FlowServer` per HTTP session is cheap.
#[derive(Clone)]
pub struct FlowServer {
    app: App,
    /// Who every request acts for (stdio); `None` over HTTP, where each request carries its
    /// caller (put in its extensions by the HTTP layer once its token was verified).
    caller: Option<Caller>,
    tools: Arc<ToolSet>,
    /// This session's subscriptions and log level: its own, not shared by `fork`.
    session: Arc<SessionState>,
    /// Seals agent plans awaiting the client's model (one key per process).
    rounds: Option<Arc<sampling::Rounds>>,
}

impl std::fmt::Debug for FlowServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowServer")
            .field("app", &self.app)
            .field("caller", &self.caller)
            .field("tools", &self.tools.tools.len())
            .finish()
    }
}

impl FlowServer {
    /// A handler acting for `caller` on every request (stdio: the configured channel).
    pub fn new(app: App, caller: Caller) -> Self {
        let tools = ToolSet::build(app.catalog());
        Self {
            app,
            caller: Some(caller),
            tools,
            session: Arc::default(),
            rounds: sampling::Rounds::new().map(Arc::new),
        }
    }

    /// A handler for HTTP, where each request says who it acts for (see `mcp::http`).
    pub fn for_http(app: App) -> Self {
        let tools = ToolSet::build(app.catalog());
        Self {
            app,
            caller: None,
            tools,
            session: Arc::default(),
            rounds: sampling::Rounds::new().map(Arc::new),
        }
    }

    /// Who this request acts for.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
        if let Some(caller) = &self.caller {
            return Ok(caller.clone());
        }
        context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| McpError::invalid_request("the request carries no caller", None))
    }

    /// Another handler over the same app and tool set, with a session state of its own
    /// (one per HTTP session).
    pub fn fork(&self) -> Self {
        Self {
            session: Arc::default(),
            ..self.clone()
        }
    }

    /// Run a command (`in_context`: as its own tool, only where the channel's context offers
    /// it), asking the user for missing parameters when the client can (`mcp::elicit`); with a
    /// progress token, each trace event goes out as a progress notification (after an
    /// "accepted" one) before the result.
    async fn run_command(
        &self,
        request: PerformAction,
        in_context: bool,
        input_responses: Option<InputResponses>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let caller = match self.caller(context) {
            Ok(caller) => caller,
            Err(e) => return tools::message_result(e.message).into(),
        };
        let (observer, forwarder) =
            events::forwarder(context, &request.command_name, self.session.log_level());
        let asker = ElicitAsker::for_call(context, input_responses);
        let asking = asker.as_ref().map(|a| a as &dyn ParamAsker);
        let outcome = self
            .app
            .perform_action_asking(&caller, request, observer, in_context, asking)
            .await;
        if let Some(forwarder) = forwarder {
            // The sender was dropped with the turn: the forwarder ends after the last event.
            let _ = forwarder.await;
        }
        let result = match outcome {
            Ok(ActionReply::InputRequired) => {
                return match asker.as_ref().and_then(ElicitAsker::input_required) {
                    Some(required) => required.into(),
                    None => tools::message_result("the question could not be sent").into(),
                };
            }
            Ok(ActionReply::Done(outcome)) => {
                if outcome.context_changed {
                    notify_tools_changed(context).await;
                }
                tools::outcome_result(outcome)
            }
            Err(e) => error_result(&e),
        };
        result.into()
    }

    /// `invoke_assistant`: missing parameters are asked by elicitation when the client
    /// declared it, otherwise in the reply text.
    async fn invoke_assistant(
        &self,
        request: InvokeAssistant,
        input_responses: Option<InputResponses>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let stateless_era = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        let asker = if stateless_era {
            ElicitAsker::for_retry(context.client_capabilities(), input_responses)
        } else {
            ElicitAsker::for_peer(&context.peer)
        };
        let caller = match self.caller(context) {
            Ok(caller) => caller,
            Err(e) => return tools::message_result(e.message).into(),
        };
        let (observer, forwarder) =
            events::forwarder(context, "assistant", self.session.log_level());
        let outcome = self
            .app
            .invoke_assistant(
                &caller,
                request,
                observer,
                asker.as_ref().map(|a| a as &dyn ParamAsker),
            )
            .await;
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
        match outcome {
            Ok(AssistantReply::Answered(outcome)) => {
                if outcome.context_changed {
                    notify_tools_changed(context).await;
                }
                tools::outcome_result(outcome).into()
            }
            Ok(AssistantReply::InputRequired) => {
                match asker.as_ref().and_then(ElicitAsker::input_required) {
                    Some(required) => required.into(),
                    None => tools::message_result("the question could not be sent").into(),
                }
            }
            Err(e) => error_result(&e).into(),
        }
    }

    /// `invoke_agent`: planned by flowmcp's LLM; without one by the client's own model
    /// (sampling) when it lends it; else the assistant router answers (asking by elicitation
    /// where the client can).
    async fn invoke_agent(
        &self,
        request: InvokeAgent,
        input_responses: Option<InputResponses>,
        request_state: Option<String>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let caller = match self.caller(context) {
            Ok(caller) => caller,
            Err(e) => return tools::message_result(e.message).into(),
        };
        let stateless_era = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        let borrow_model = self.app.llm().is_none() && sampling::lends_llm(context);
        if borrow_model && stateless_era {
            return self
                .invoke_agent_in_rounds(&caller, request, input_responses, request_state, context)
                .await;
        }
        let client_llm = borrow_model.then(|| sampling::ClientLlm::for_peer(&context.peer));
        let asker = ElicitAsker::for_call(context, input_responses);
        let borrowed = Borrowed {
            llm: client_llm.as_ref().map(|l| l as &dyn LlmClient),
            asker: asker.as_ref().map(|a| a as &dyn ParamAsker),
            rounds: None,
        };
        let (observer, forwarder) = events::forwarder(context, "agent", self.session.log_level());
        let outcome = self
            .app
            .invoke_agent(&caller, request, observer, borrowed)
            .await;
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
        match outcome {
            Ok(AgentReply::Answered(outcome)) => {
                if outcome.context_changed {
                    notify_tools_changed(context).await;
                }
                tools::outcome_result(outcome).into()
            }
            Ok(AgentReply::InputRequired) => {
                match asker.as_ref().and_then(ElicitAsker::input_required) {
                    Some(required) => required.into(),
                    None => tools::message_result("the question could not be sent").into(),
                }
            }
            Ok(AgentReply::AwaitingModel { .. } | AgentReply::AwaitingUser { .. }) => {
                tools::message_result("the request could not be sent").into()
            }
            Err(e) => error_result(&e).into(),
        }
    }

    /// `invoke_agent` on the client's model in the stateless era: each model request goes
    /// out as `input_required`, and the client's next call (with the answer and the sealed
    /// handle in `request_state`) continues the plan kept in the store.
    async fn invoke_agent_in_rounds(
        &self,
        caller: &Caller,
        request: InvokeAgent,
        input_responses: Option<InputResponses>,
        request_state: Option<String>,
        context: &RequestContext<RoleServer>,
    ) -> CallToolResponse {
        let Some(rounds) = self.rounds.as_deref() else {
            return tools::message_result("the client's model cannot be used here").into();
        };
        let channel = caller.channel_id.as_str();
        let continues = match request_state.as_deref().map(|s| rounds.open(s, channel)) {
            None => None,
            Some(Ok(handle)) => Some(handle),
            Some(Err(e)) => return tools::message_result(e.message).into(),
        };
        let model = match sampling::AnswerFromClient::from_responses(input_responses.as_ref()) {
            Ok(model) => model,
            Err(e) => return tools::message_result(e.message).into(),
        };
        let answer = elicit::answer_to_question(input_responses.as_ref());
        if continues.is_none() && (model.has_answer() || answer.is_some()) {
            return tools::message_result(
                "inputResponses come with the requestState of the call that asked for them",
            )
            .into();
        }
        let borrowed = Borrowed {
            llm: Some(&model),
            asker: None,
            rounds: Some(ClientRounds {
                continues: continues.as_deref(),
                max_calls: sampling::CLIENT_MAX_CALLS,
                can_ask: elicit::can_ask(context.client_capabilities()),
                answer,
            }),
        };
        let (observer, forwarder) = events::forwarder(context, "agent", self.session.log_level());
        let outcome = self
            .app
            .invoke_agent(caller, request, observer, borrowed)
            .await;
        if let Some(forwarder) = forwarder {
            let _ = forwarder.await;
        }
        match outcome {
            Ok(AgentReply::AwaitingModel { handle }) => {
                match model.input_required(rounds.seal(&handle, channel)) {
                    Some(required) => required.into(),
                    None => tools::message_result("the model request could not be sent").into(),
                }
            }
            Ok(AgentReply::AwaitingUser { handle, question }) => {
                let sealed = rounds.seal(&handle, channel);
                match sampling::AnswerFromClient::question_required(&question, sealed) {
                    Some(required) => required.into(),
                    None => tools::message_result(question).into(),
                }
            }
            Ok(AgentReply::Answered(outcome)) => tools::outcome_result(outcome).into(),
            Ok(AgentReply::InputRequired) => {
                tools::message_result("the question could not be sent").into()
            }
            Err(e) => error_result(&e).into(),
        }
    }

    /// A command's own tool: only where the channel's context offers it.
    async fn command_tool(
        &self,
        name: &str,
        args: Map<String, Value>,
        input_responses: Option<InputResponses>,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if self.app.catalog().command(name).is_none() {
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool \"{}\"",
                    name.chars().take(80).collect::<String>()
                ),
                None,
            ));
        }
        let request = PerformAction {
            command_name: name.to_string(),
            parameters: Value::Object(args),
            timeout_seconds: None,
        };
        Ok(self
            .run_command(request, true, input_responses, context)
            .await)
    }
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
            .enable_resources_subscribe()
            .enable_completions()
            .enable_logging()
            .build();
        let mut instructions = format!(
            "Workflow \"{}\". Call a command's own tool, or perform_action with its name and \
             parameters.",
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
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        // Per-command tools follow the channel's context; the others are always there.
        let caller = self.caller(&context)?;
        let context = self
            .app
            .current_context(&caller)
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
        let CallToolRequestParams {
            name,
            arguments,
            input_responses,
            request_state,
            ..
        } = request;
        let args = arguments.unwrap_or_default();
        if name == PerformAction::NAME {
            return Ok(match requests::parse::<PerformAction>(args) {
                Ok(request) => {
                    self.run_command(request, false, input_responses, &context)
                        .await
                }
                Err(e) => error_result(&e).into(),
            });
        }
        // The rarer, larger futures are boxed: rmcp moves this one into a task per request,
        // and its size is that of the largest branch.
        if name == InvokeAssistant::NAME {
            return Ok(match requests::parse::<InvokeAssistant>(args) {
                Ok(request) => {
                    Box::pin(self.invoke_assistant(request, input_responses, &context)).await
                }
                Err(e) => error_result(&e).into(),
            });
        }
        if name == InvokeAgent::NAME {
            return Ok(match requests::parse::<InvokeAgent>(args) {
                Ok(request) => {
                    Box::pin(self.invoke_agent(request, input_responses, request_state, &context))
                        .await
                }
                Err(e) => error_result(&e).into(),
            });
        }
        if conversation_tools::is_conversation_tool(&name) {
            let caller = self.caller(&context)?;
            return Ok(
                Box::pin(conversation_tools::call(&self.app, &caller, &name, args))
                    .await
                    .into(),
            );
        }
        self.command_tool(&name, args, input_responses, &context)
            .await
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.caller(&context)?;
        resources::list(&self.app, &caller).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(resources::templates(&self.app))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let caller = self.caller(&context)?;
        Ok(resources::read(&self.app, &caller, &request.uri)
            .await?
            .into())
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let caller = self.caller(&context)?;
        resources::check_known(&self.app, &request.uri)?;
        self.session
            .subscribe(&self.app, caller, context.peer, request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        // Unsubscribing from what was never subscribed changes nothing: not an error.
        self.session.unsubscribe(&request.uri);
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        // Only resources that exist; rmcp intersects the rest with the capabilities.
        let mut accepted = requested.clone();
        if let Some(uris) = &mut accepted.resource_subscriptions {
            uris.retain(|uri| self.app.knows_resource(uri));
        }
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), McpError> {
        let caller = self.caller(context.request_context())?;
        resources::listen(&self.app, &caller, &context).await;
        Ok(())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        self.session.set_log_level(request.level);
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let caller = self.caller(&context)?;
        let target = match &request.r#ref {
            Reference::Prompt(prompt) => CompletionTarget::Prompt(&prompt.name),
            Reference::Resource(template) => CompletionTarget::Template(&template.uri),
            _ => {
                return Err(McpError::invalid_params(
                    "completion/complete: ref is neither ref/prompt nor ref/resource",
                    None,
                ));
            }
        };
        let known: Map<String, Value> = request
            .context
            .and_then(|c| c.arguments)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name, Value::String(value)))
            .collect();
        let found = self
            .app
            .complete(
                &caller,
                target,
                &request.argument.name,
                &request.argument.value,
                &known,
            )
            .await
            .map_err(resources::to_mcp)?;
        let has_more = found.has_more();
        let total = u32::try_from(found.total).unwrap_or(u32::MAX);
        let info = CompletionInfo::with_pagination(found.values, Some(total), has_more)
            .map_err(|e| McpError::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
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
