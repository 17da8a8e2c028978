//! The loaded, validated workflow: commands, contexts and prompts, built once at start.

use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::{Map, Value};

use super::resources::Resources;
use crate::domain::Timeout;

/// The global context: commands declared with `context = "*"` are available everywhere.
pub const GLOBAL_CONTEXT: &str = "*";

/// A workflow, ready to serve.
#[derive(Debug)]
pub struct Catalog {
    pub name: String,
    pub description: String,
    /// The folder on disk (`exec` commands run there); `None` for the embedded demo.
    pub root: Option<PathBuf>,
    /// Context name → parent context (`"*"` is the root).
    pub contexts: IndexMap<String, String>,
    pub commands: IndexMap<String, Arc<Command>>,
    pub prompts: IndexMap<String, Prompt>,
    /// How long a caller waits when it gives no `timeout_seconds` (`[defaults]`).
    pub default_timeout: Timeout,
    /// The workflow's own words for the assistant router (`[assistant]` in workflow.toml).
    pub vocabulary: Vocabulary,
    /// MCP resources, from `resources/*.toml`.
    pub resources: Resources,
}

/// Words a workflow teaches the assistant router, so requests are judged by the workflow's
/// own vocabulary: `synonyms` maps a word users say to the word the commands use ("parcel" →
/// "order"), `equivalents` are groups of words that mean the same when matching enum values
/// ("mistake", "accident", …; the first is canonical).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    pub synonyms: Vec<(String, String)>,
    pub equivalents: Vec<Vec<String>>,
}

impl Catalog {
    pub fn command(&self, name: &str) -> Option<&Arc<Command>> {
        self.commands.get(name)
    }

    /// `context` and its ancestors, innermost first, ending with the global context.
    /// An unknown context counts as the global one.
    pub fn context_chain<'a>(&'a self, context: &'a str) -> Vec<&'a str> {
        let mut chain = Vec::new();
        let mut current = context;
        // The loader refuses cycles; the bound only guards against a damaged catalog.
        while current != GLOBAL_CONTEXT && chain.len() <= self.contexts.len() {
            match self.contexts.get(current) {
                Some(parent) => {
                    chain.push(current);
                    current = parent;
                }
                None => break,
            }
        }
        chain.push(GLOBAL_CONTEXT);
        chain
    }

    /// True when `command` can be used in `context` (its own context is `context` or an
    /// ancestor of it).
    pub fn available_in(&self, command: &Command, context: &str) -> bool {
        command.context == GLOBAL_CONTEXT
            || self
                .context_chain(context)
                .contains(&command.context.as_str())
    }

    /// The commands usable in `context`, in catalog order.
    pub fn commands_in<'a>(
        &'a self,
        context: &'a str,
    ) -> impl Iterator<Item = &'a Arc<Command>> + 'a {
        let chain = self.context_chain(context);
        self.commands
            .values()
            .filter(move |c| c.context == GLOBAL_CONTEXT || chain.contains(&c.context.as_str()))
    }
}

/// One workflow command, from `tools/<name>.toml`.
#[derive(Debug)]
pub struct Command {
    pub name: String,
    pub description: String,
    pub context: String,
    /// After it succeeds, the channel moves into this context, remembering the command's
    /// parameters there (the demo: `get_order_details` enters `Order` with its `order_id`).
    pub enters_context: Option<String>,
    pub utterances: Vec<String>,
    /// In declaration order (it is the order a user fills them in).
    pub params: Vec<Param>,
    pub annotations: Annotations,
    /// The state of the data this command applies to (`[applies_when]`), if declared.
    pub applies_when: Option<AppliesWhen>,
    pub run: RunSpec,
    /// JSON Schema (draft 2020-12) of the parameters object.
    pub input_schema: Arc<Map<String, Value>>,
    /// The file it came from, for messages.
    pub source: PathBuf,
}

impl Command {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// When a command applies, as read from the data by another command (`[applies_when]`):
/// "modify a pending order" does not apply to a delivered one. The assistant router reads it
/// to set aside commands the words fit but the data rules out ("swap item … in #W4817420",
/// a delivered order, is an exchange, not an items change).
#[derive(Debug, Clone, PartialEq)]
pub struct AppliesWhen {
    /// A read-only command, run with this command's values of the same parameter names.
    pub command: String,
    /// JSON pointer into that command's artifacts (`/order/status`).
    pub artifact: String,
    /// The values found there for which this command applies.
    pub one_of: Vec<Value>,
}

/// Hints for clients, from `annotations = { … }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotations {
    pub title: Option<String>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

/// The JSON type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl ParamType {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "boolean" => Self::Boolean,
            "array" => Self::Array,
            "object" => Self::Object,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

/// The constraints on one value: a parameter, the items of an array parameter, or a property
/// of an object parameter.
#[derive(Debug, Clone)]
pub struct ValueSpec {
    pub ty: ParamType,
    pub pattern: Option<Regex>,
    /// The allowed values, whatever way their labels are given (see `enum_labels`).
    pub enum_values: Option<Vec<Value>>,
    /// Labels a person reads for the enum members, in the same order (SEP-1330).
    pub enum_labels: Option<EnumLabels>,
    /// For arrays: what each item must be.
    pub items: Option<Box<ValueSpec>>,
    /// For objects with a declared shape (inline `properties`, or a named type of
    /// `[types]`); `None` for a free-form object.
    pub shape: Option<Arc<ObjectShape>>,
}

impl ValueSpec {
    /// A value of type `ty` with no further constraint.
    pub fn of(ty: ParamType) -> Self {
        Self {
            ty,
            pattern: None,
            enum_values: None,
            enum_labels: None,
            items: None,
            shape: None,
        }
    }
}

/// How enum members are labelled, which decides the JSON Schema keyword clients read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnumLabels {
    /// `enum = [{ value = "a", title = "Option A" }, …]`: `oneOf` (`anyOf` for the items of a
    /// multi-select) of `{const, title}`.
    Titles(Vec<String>),
    /// `enum_names = [...]` beside a plain `enum`: the deprecated `enumNames` keyword, for
    /// clients that predate titled enums.
    LegacyNames(Vec<String>),
}

/// The declared properties of an object value.
#[derive(Debug)]
pub struct ObjectShape {
    /// The name under `[types]` in workflow.toml (emitted once under `$defs` and referenced
    /// with `$ref`); `None` for inline `properties`.
    pub name: Option<String>,
    pub description: String,
    /// In declaration order; `ask` and `available_from` are never set here.
    pub properties: Vec<Param>,
}

/// One parameter of a command.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub description: String,
    pub spec: ValueSpec,
    pub required: bool,
    pub default: Option<Value>,
    pub examples: Vec<Value>,
    pub available_from: Vec<String>,
    /// `ask = true`: when a call does not give it, the client is asked for it (MCP
    /// elicitation) even though it has a default, which the form offers.
    pub ask: bool,
}

/// How a command runs.
#[derive(Debug, Clone)]
pub enum RunSpec {
    /// A Rust handler registered by name.
    Builtin { handler: String },
    /// A child program: request JSON on stdin, answer on stdout.
    Exec {
        command: Vec<String>,
        timeout_seconds: u64,
        max_output_bytes: usize,
    },
    /// An upstream HTTP API: the URL, header values and body strings are templates of the
    /// parameters; with `forward_bearer`, the caller's token goes along (the only way a token
    /// leaves the server).
    Http {
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        /// A JSON body template; `None` sends the parameters as the body (except for GET and
        /// DELETE, which send none).
        body: Option<Value>,
        forward_bearer: bool,
        timeout_seconds: u64,
        max_response_bytes: usize,
    },
    /// A fixed answer with `{param}` placeholders, plus optional extra content blocks.
    Template {
        response: String,
        success: bool,
        content: Vec<ContentSpec>,
    },
}

/// An extra content block of a tool result (beyond the response text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentSpec {
    Image {
        mime_type: String,
        data: String,
    },
    Audio {
        mime_type: String,
        data: String,
    },
    Resource {
        uri: String,
        mime_type: String,
        text: String,
    },
}

/// An MCP prompt, from `prompts/<name>.md`.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub name: String,
    pub description: String,
    pub arguments: Vec<PromptArgument>,
    pub template: String,
    /// Extra messages after the rendered text; `{{argument}}` is filled in `uri` and `text`.
    pub content: Vec<ContentSpec>,
}

#[derive(Debug, Clone)]
pub struct PromptArgument {
    pub name: String,
    pub description: String,
    pub required: bool,
    /// The values it takes, when only these (offered as completions).
    pub enum_values: Vec<String>,
    /// Typical values (offered as completions after the enum).
    pub examples: Vec<String>,
}
