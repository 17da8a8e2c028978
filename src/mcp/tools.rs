//! Tools generated from the catalog, built once per process and shared by every session.

use std::sync::Arc;

use rmcp::model::{
    CallToolResult, ContentBlock, JsonObject, ResourceContents, Tool, ToolAnnotations,
};
use serde_json::{Value, json};

use crate::app::ActionOutcome;
use crate::exec::output::CommandOutput;
use crate::workflow::{Catalog, Command, ContentSpec};

pub const PERFORM_ACTION: &str = "perform_action";
pub const INVOKE_ASSISTANT: &str = "invoke_assistant";

/// The tool list and the output schema every command shares.
#[derive(Debug)]
pub struct ToolSet {
    pub tools: Vec<Tool>,
}

impl ToolSet {
    pub fn build(catalog: &Catalog) -> Arc<Self> {
        let output_schema = Arc::new(command_output_schema());
        let mut tools = vec![
            perform_action_tool(catalog, output_schema.clone()),
            invoke_assistant_tool(catalog, output_schema.clone()),
        ];
        tools.extend(super::conversation_tools::tools());
        tools.extend(
            catalog
                .commands
                .values()
                .map(|c| command_tool(c, output_schema.clone())),
        );
        Arc::new(Self { tools })
    }
}

/// JSON Schema of `CommandOutput`, the `structuredContent` of every command result.
fn command_output_schema() -> JsonObject {
    let schema = schemars::schema_for!(CommandOutput);
    match serde_json::to_value(schema) {
        Ok(Value::Object(map)) => map,
        _ => JsonObject::new(),
    }
}

fn perform_action_tool(catalog: &Catalog, output_schema: Arc<JsonObject>) -> Tool {
    let names: Vec<&str> = catalog.commands.keys().map(String::as_str).collect();
    let mut description = format!(
        "Run a command of the \"{}\" workflow by name with its parameters (validated against the command's schema). Commands:",
        catalog.name
    );
    for command in catalog.commands.values() {
        description.push_str(&format!(
            "\n- {}: {}",
            command.name,
            first_line(&command.description)
        ));
    }
    let schema = json!({
        "type": "object",
        "properties": {
            "command_name": {"type": "string", "enum": names, "description": "The command to run"},
            "parameters": {"type": "object", "description": "The command's parameters, as in its own tool's input schema", "default": {}},
            "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 600, "description": "Give up after this many seconds (default 60)"}
        },
        "required": ["command_name"],
        "additionalProperties": false
    });
    let schema = match schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    Tool::new(PERFORM_ACTION, description, Arc::new(schema))
        .with_raw_output_schema(output_schema)
        .with_annotations(ToolAnnotations::new().read_only(false).open_world(false))
}

fn invoke_assistant_tool(catalog: &Catalog, output_schema: Arc<JsonObject>) -> Tool {
    let mut description = format!(
        "Ask the \"{}\" workflow in plain words; it picks the command, takes the parameters from \
         the text, and asks back (a numbered choice, or the missing values) when unsure — answer \
         with the next call; \"abort\" drops the question. Explicit calls work too: \
         `name key=value` or `/name value, value`. One turn at a time per channel. You can ask:",
        catalog.name
    );
    for command in catalog.commands.values() {
        match command.utterances.first() {
            Some(example) => {
                description.push_str(&format!("\n- {} (e.g. \"{example}\")", command.name))
            }
            None => description.push_str(&format!("\n- {}", command.name)),
        }
    }
    description.push_str(
        "\nBuilt-in: what_can_i_do, what_is_current_context, go_up, reset_context, abort.",
    );
    let schema = json!({
        "type": "object",
        "properties": {
            "command": {"type": "string", "minLength": 1, "maxLength": crate::app::assistant::MAX_COMMAND_BYTES, "description": "What the user wants, in their words (or the answer to the assistant's question)"},
            "timeout_seconds": {"type": "integer", "minimum": 1, "maximum": 600, "description": "Give up after this many seconds (default 60)"}
        },
        "required": ["command"],
        "additionalProperties": false
    });
    let schema = match schema {
        Value::Object(map) => map,
        _ => JsonObject::new(),
    };
    Tool::new(INVOKE_ASSISTANT, description, Arc::new(schema))
        .with_raw_output_schema(output_schema)
        .with_annotations(ToolAnnotations::new().read_only(false).open_world(false))
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
pub fn outcome_result(outcome: ActionOutcome) -> CallToolResult {
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
pub fn content_block(spec: ContentSpec) -> ContentBlock {
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

/// A refusal (bad arguments, unknown command, timeout) as an `isError` result the model reads.
pub fn error_result(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}
