//! The tool list, built once per process from the catalog and the engine's request types,
//! and shared by every session: `perform_action`, `invoke_assistant`, the conversation tools,
//! and one tool per workflow command.

use std::sync::Arc;

use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ResourceContents, Tool, ToolAnnotations,
};
use serde_json::{Value, json};

use crate::app::requests::{
    self, ActivateConversation, GetAllConversations, InvokeAgent, InvokeAssistant, NewConversation,
    PerformAction, PostFeedback, Request,
};
use crate::app::{ActionOutcome, EngineError, StatusReply};
use crate::domain::{CommandOutput, ConversationSummary};
use crate::workflow::{Catalog, Command, ContentSpec};

/// The tool list.
#[derive(Debug)]
pub(crate) struct ToolSet {
    pub(crate) tools: Vec<Tool>,
}

impl ToolSet {
    pub(crate) fn build(catalog: &Catalog) -> Arc<Self> {
        let output_schema = Arc::new(schema_of::<CommandOutput>());
        let mut tools = vec![
            perform_action_tool(catalog, output_schema.clone()),
            invoke_assistant_tool(catalog, output_schema.clone()),
            invoke_agent_tool(catalog, output_schema.clone()),
        ];
        tools.extend(conversation_tools());
        tools.extend(
            catalog
                .commands
                .values()
                .map(|c| command_tool(c, output_schema.clone())),
        );
        Arc::new(Self { tools })
    }
}

/// The JSON Schema of a type the tools return.
fn schema_of<T: schemars::JsonSchema>() -> JsonObject {
    match schemars::schema_for!(T).to_value() {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

/// "Give up after N seconds (default D)": the workflow's real default.
fn describe_timeout(schema: &mut JsonObject, catalog: &Catalog) {
    if let Some(Value::Object(timeout)) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("timeout_seconds"))
    {
        timeout.insert(
            "description".into(),
            json!(format!(
                "Give up after this many seconds (default {})",
                catalog.default_timeout.secs()
            )),
        );
    }
}

fn perform_action_tool(catalog: &Catalog, output_schema: Arc<JsonObject>) -> Tool {
    let names: Vec<&str> = catalog.commands.keys().map(String::as_str).collect();
    let mut description = format!(
        "Run a command of the \"{}\" workflow by name with its parameters (validated against the \
         command's schema; default timeout {} s). Commands:",
        catalog.name,
        catalog.default_timeout.secs()
    );
    for command in catalog.commands.values() {
        description.push_str(&format!(
            "\n- {}: {}",
            command.name,
            first_line(&command.description)
        ));
    }
    let mut schema = requests::input_schema::<PerformAction>();
    if let Some(Value::Object(name)) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("command_name"))
    {
        name.insert("enum".into(), json!(names));
    }
    describe_timeout(&mut schema, catalog);
    Tool::new(PerformAction::NAME, description, Arc::new(schema))
        .with_raw_output_schema(output_schema)
        .with_annotations(ToolAnnotations::new().read_only(false).open_world(false))
}

fn invoke_assistant_tool(catalog: &Catalog, output_schema: Arc<JsonObject>) -> Tool {
    let mut description = format!(
        "Ask the \"{}\" workflow in plain words; it picks the command, takes the parameters from \
         the text, and asks back (a numbered choice, or the missing values) when unsure — answer \
         with the next call; \"abort\" drops the question. Explicit calls work too: \
         `name key=value` or `/name value, value`. One turn at a time per channel; default \
         timeout {} s. You can ask:",
        catalog.name,
        catalog.default_timeout.secs()
    );
    for command in catalog.commands.values() {
        match command.utterances.first() {
            Some(example) => {
                description.push_str(&format!("\n- {} (e.g. \"{example}\")", command.name));
            }
            None => description.push_str(&format!("\n- {}", command.name)),
        }
    }
    description.push_str(&format!(
        "\nBuilt-in: {}.",
        crate::app::builtin_commands().join(", ")
    ));
    let mut schema = requests::input_schema::<InvokeAssistant>();
    describe_timeout(&mut schema, catalog);
    Tool::new(InvokeAssistant::NAME, description, Arc::new(schema))
        .with_raw_output_schema(output_schema)
        .with_annotations(ToolAnnotations::new().read_only(false).open_world(false))
}

fn invoke_agent_tool(catalog: &Catalog, output_schema: Arc<JsonObject>) -> Tool {
    let description = format!(
        "Ask the \"{}\" workflow's agent in plain words: a model plans the request and runs \
         the commands it needs, and may ask you a question (answer with the next call). \
         The model is the server's own LLM, else yours when your client lends it (sampling \
         with tools); with neither, the deterministic assistant answers (like \
         invoke_assistant) and says so. One turn at a time per channel.",
        catalog.name
    );
    let mut schema = requests::input_schema::<InvokeAgent>();
    describe_timeout(&mut schema, catalog);
    Tool::new(InvokeAgent::NAME, description, Arc::new(schema))
        .with_raw_output_schema(output_schema)
        .with_annotations(ToolAnnotations::new().read_only(false).open_world(true))
}

/// The four conversation tools, in a stable order.
fn conversation_tools() -> Vec<Tool> {
    let status = Arc::new(schema_of::<StatusReply>());
    let listing = {
        let summary = schema_of::<ConversationSummary>();
        Arc::new(
            match json!({
                "type": "object",
                "properties": {"conversations": {"type": "array", "items": summary}},
                "required": ["conversations"]
            }) {
                Value::Object(map) => map,
                _ => JsonObject::new(),
            },
        )
    };
    let changes = || {
        ToolAnnotations::new()
            .read_only(false)
            .destructive(false)
            .open_world(false)
    };
    vec![
        Tool::new(
            NewConversation::NAME,
            "Save the active conversation (topic and summary derived from its turns) and start a \
             new one.",
            Arc::new(requests::input_schema::<NewConversation>()),
        )
        .with_raw_output_schema(status.clone())
        .with_annotations(changes()),
        Tool::new(
            GetAllConversations::NAME,
            "List this channel's conversations, newest first. Read one with the resource \
             conversation://{conversation_id}.",
            Arc::new(requests::input_schema::<GetAllConversations>()),
        )
        .with_raw_output_schema(listing)
        .with_annotations(ToolAnnotations::new().read_only(true).open_world(false)),
        Tool::new(
            ActivateConversation::NAME,
            "Make an earlier conversation of this channel the active one; new turns are added to \
             it.",
            Arc::new(requests::input_schema::<ActivateConversation>()),
        )
        .with_raw_output_schema(status.clone())
        .with_annotations(changes().idempotent(true)),
        Tool::new(
            PostFeedback::NAME,
            "Give feedback on the last turn of the active conversation (or on turn_id): a score, \
             words, or both.",
            Arc::new(requests::input_schema::<PostFeedback>()),
        )
        .with_raw_output_schema(status)
        .with_annotations(changes()),
    ]
}

fn command_tool(command: &Command, output_schema: Arc<JsonObject>) -> Tool {
    let mut description = command.description.clone();
    if !command.utterances.is_empty() {
        let examples: Vec<String> = command
            .utterances
            .iter()
            .take(3)
            .map(|u| format!("\"{u}\""))
            .collect();
        description.push_str(&format!("\nFor requests like: {}", examples.join(", ")));
    }
    let a = &command.annotations;
    let mut annotations = match &a.title {
        Some(title) => ToolAnnotations::with_title(title.clone()),
        None => ToolAnnotations::new(),
    };
    // Unset hints keep MCP's defaults (not read-only, possibly destructive): claiming
    // safety the author did not declare would mislead clients.
    if let Some(v) = a.read_only {
        annotations = annotations.read_only(v);
    }
    if let Some(v) = a.destructive {
        annotations = annotations.destructive(v);
    }
    if let Some(v) = a.idempotent {
        annotations = annotations.idempotent(v);
    }
    annotations = annotations.open_world(a.open_world.unwrap_or(false));
    Tool::new(
        command.name.clone(),
        description,
        command.input_schema.clone(),
    )
    .with_raw_output_schema(output_schema)
    .with_annotations(annotations)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// A finished command as a tool result: text first, extra blocks after, the CommandOutput as
/// `structuredContent`; `isError` when any response failed.
pub(crate) fn outcome_result(outcome: ActionOutcome) -> CallToolResult {
    let mut content = vec![ContentBlock::text(outcome.text)];
    content.extend(outcome.content.into_iter().map(content_block));
    let mut result = if outcome.success {
        CallToolResult::success(content)
    } else {
        CallToolResult::error(content)
    };
    result.structured_content = Some(outcome.output_json).filter(|json| !json.is_null());
    result
}

/// One extra content block of a workflow as MCP content.
pub(crate) fn content_block(spec: ContentSpec) -> ContentBlock {
    match spec {
        ContentSpec::Image { mime_type, data } => ContentBlock::image(data, mime_type),
        ContentSpec::Audio { mime_type, data } => ContentBlock::audio(data, mime_type),
        ContentSpec::Resource {
            uri,
            mime_type,
            text,
        } => ContentBlock::resource(ResourceContents::TextResourceContents {
            uri,
            mime_type: Some(mime_type),
            text,
            meta: None,
        }),
    }
}

/// A refusal as an `isError` result the model reads: the engine's message, nothing more.
pub(crate) fn error_result(error: &EngineError) -> CallToolResult {
    // Store failures are logged where they happen, with their cause.
    if let EngineError::TimedOut { .. } = error {
        tracing::warn!("{error}");
    }
    CallToolResult::error(vec![ContentBlock::text(error.to_string())])
}

/// A plain message as an `isError` result.
pub(crate) fn message_result(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}
