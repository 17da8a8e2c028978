//! The requests every face (MCP tools, the REST shim) makes of the engine: plain structs whose
//! JSON Schemas are generated (schemars), parsed once here with errors that name the field.
//!
//! A transport turns its arguments into a JSON object and calls [`parse`]; what it gets back
//! is either a checked request or an [`EngineError::InvalidField`] — the same for every face.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::EngineError;
use crate::domain::Timeout;

/// Longest user message accepted (characters): more is not a request a person typed.
pub const MAX_QUERY_CHARS: usize = 16 * 1024;
/// Longest feedback text accepted (characters).
pub const MAX_FEEDBACK_CHARS: usize = 16 * 1024;
/// What a user's words must look like: some character that is not a space, and no control
/// characters but tab and line breaks (the engine refuses the rest, and says why).
pub const TEXT_PATTERN: &str = concat!(
    r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*",
    r"[^\s\x00-\x1F\x7F-\x9F]",
    r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$",
);

/// A request with a name (its MCP tool and REST path) and the fields it takes.
pub trait Request: DeserializeOwned + JsonSchema {
    /// The tool name, also the REST path (`/perform_action`).
    const NAME: &'static str;
    /// The fields; a unit test holds this to the generated schema.
    const FIELDS: &'static [&'static str];
}

/// `perform_action`: run a command with parameters checked against its schema.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PerformAction {
    /// The command to run
    pub command_name: String,
    /// The command's parameters, as in its own tool's input schema
    #[serde(default = "empty_object")]
    #[schemars(with = "Map<String, Value>")]
    pub parameters: Value,
    /// Give up after this many seconds
    #[serde(default)]
    #[schemars(with = "Timeout")]
    pub timeout_seconds: Option<Timeout>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl Request for PerformAction {
    const NAME: &'static str = "perform_action";
    const FIELDS: &'static [&'static str] = &["command_name", "parameters", "timeout_seconds"];
}

/// `invoke_assistant`: a user's words, routed to a command without an LLM.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeAssistant {
    /// What the user wants, in their words (or the answer to the assistant's question)
    #[schemars(length(min = 1, max = MAX_QUERY_CHARS), pattern(TEXT_PATTERN))]
    pub command: String,
    /// Give up after this many seconds
    #[serde(default)]
    #[schemars(with = "Timeout")]
    pub timeout_seconds: Option<Timeout>,
}

impl Request for InvokeAssistant {
    const NAME: &'static str = "invoke_assistant";
    const FIELDS: &'static [&'static str] = &["command", "timeout_seconds"];
}

impl InvokeAssistant {
    /// The checks of the words the turn would make first (length, blank, control
    /// characters): for a face that must refuse before it starts answering (a stream).
    pub fn check(&self) -> Result<(), EngineError> {
        super::assistant::check_text(&self.command).map(|_| ())
    }
}

/// `invoke_agent`: a user's words, planned and carried out by an LLM (agent mode).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeAgent {
    /// What the user wants, in their words
    #[schemars(length(min = 1, max = MAX_QUERY_CHARS), pattern(TEXT_PATTERN))]
    pub user_query: String,
    /// Give up after this many seconds
    #[serde(default)]
    #[schemars(with = "Timeout")]
    pub timeout_seconds: Option<Timeout>,
}

impl Request for InvokeAgent {
    const NAME: &'static str = "invoke_agent";
    const FIELDS: &'static [&'static str] = &["user_query", "timeout_seconds"];
}

impl InvokeAgent {
    /// The checks of the words the turn would make first, for a face that must refuse before
    /// it starts answering (a stream).
    pub fn check(&self) -> Result<(), EngineError> {
        super::assistant::check_field(&self.user_query, "user_query").map(|_| ())
    }
}

/// `new_conversation`: close the active conversation and start the next.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConversation {}

impl Request for NewConversation {
    const NAME: &'static str = "new_conversation";
    const FIELDS: &'static [&'static str] = &[];
}

/// `get_all_conversations`: the channel's conversations, newest first.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetAllConversations {
    /// How many to list
    #[serde(default)]
    pub limit: Limit,
}

impl Request for GetAllConversations {
    const NAME: &'static str = "get_all_conversations";
    const FIELDS: &'static [&'static str] = &["limit"];
}

/// `activate_conversation`: make an earlier conversation the active one.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateConversation {
    #[schemars(range(min = 1))]
    pub conversation_id: u64,
}

impl Request for ActivateConversation {
    const NAME: &'static str = "activate_conversation";
    const FIELDS: &'static [&'static str] = &["conversation_id"];
}

/// `post_feedback`: a score, words, or both, on the last turn (or on `turn_id`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostFeedback {
    /// e.g. 1/0 or a rating
    #[serde(default)]
    pub binary_or_numeric_score: Option<f64>,
    #[serde(default)]
    #[schemars(length(max = MAX_FEEDBACK_CHARS))]
    pub nl_feedback: Option<String>,
    /// Default: the last turn
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub turn_id: Option<u64>,
}

impl Request for PostFeedback {
    const NAME: &'static str = "post_feedback";
    const FIELDS: &'static [&'static str] = &["binary_or_numeric_score", "nl_feedback", "turn_id"];
}

/// How many conversations a listing returns: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Limit(usize);

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Limit {
    pub const MAX: usize = 100;
    pub const DEFAULT: Self = Self(20);

    /// `n` if it is within 1..=[`Self::MAX`].
    pub fn new(n: usize) -> Option<Self> {
        (1..=Self::MAX).contains(&n).then_some(Self(n))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(deserializer)?;
        usize::try_from(n).ok().and_then(Self::new).ok_or_else(|| {
            serde::de::Error::custom(format!("must be between 1 and {}, not {n}", Self::MAX))
        })
    }
}

impl JsonSchema for Limit {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": 1,
            "maximum": Self::MAX,
        })
    }
}

/// Parse `args` as `R`: unknown fields, missing fields and bad values are refused naming the
/// field (`timeout_seconds: must be between 1 and 600, not 0`).
pub fn parse<R: Request>(args: Map<String, Value>) -> Result<R, EngineError> {
    if let Some(unknown) = args.keys().find(|k| !R::FIELDS.contains(&k.as_str())) {
        let takes = if R::FIELDS.is_empty() {
            "no arguments".to_string()
        } else {
            R::FIELDS.join(", ")
        };
        return Err(EngineError::invalid(
            truncated(unknown),
            format!("unknown argument ({} takes {takes})", R::NAME),
        ));
    }
    let args = args
        .into_iter()
        .map(|(k, v)| (k, integral(v)))
        .collect::<Map<_, _>>();
    serde_path_to_error::deserialize(Value::Object(args)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde words a missing field `missing field `name``, and says which field on the
        // path of the object rather than its own.
        match message.strip_prefix("missing field `") {
            Some(rest) => {
                EngineError::invalid(rest.trim_end_matches('`'), "missing required argument")
            }
            None => EngineError::invalid(path, plain_words(&message)),
        }
    })
}

/// serde's type errors ("invalid type: string \"x\", expected u64") in the words the tool
/// schemas use ("must be a non-negative integer"); other messages as they are.
fn plain_words(message: &str) -> String {
    let Some(expected) = message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
        .map(|(_, expected)| expected)
    else {
        return message.to_string();
    };
    let wanted = match expected {
        "u64" | "u32" | "u16" | "usize" => "a non-negative integer",
        "i64" | "i32" => "an integer",
        "f64" | "f32" => "a number",
        "a boolean" => "true or false",
        "a string" => "a string",
        other => return format!("must be {other}"),
    };
    format!("must be {wanted}")
}

/// `2.0` as `2`: JSON Schema counts a number with no fraction as an integer, and some clients
/// send every number as a float. Only a request's own fields: a command's `parameters` reach
/// it as they were sent.
fn integral(value: Value) -> Value {
    match value.as_f64() {
        // Every f64 below 2^64 with no fraction is a u64, exactly.
        Some(f)
            if value.is_f64()
                && f.fract() == 0.0
                && (0.0..18_446_744_073_709_551_616.0).contains(&f) =>
        {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Value::from(f as u64)
        }
        _ => value,
    }
}

/// A field name as it may be quoted back: at most 80 characters.
fn truncated(name: &str) -> String {
    name.chars().take(80).collect()
}

/// The input schema of `R` (JSON Schema 2020-12, every subschema inline), as an object.
pub fn input_schema<R: Request>() -> Map<String, Value> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let schema = settings.into_generator().into_root_schema_for::<R>();
    let mut map = match schema.to_value() {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    // The type's doc comment is for this code's readers; tools carry their own description.
    map.remove("description");
    map.remove("title");
    // An optional field "defaults" to null in the generated schema: absent is what it means,
    // and strict clients reject a null default for a typed field.
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for property in properties.values_mut() {
            if let Value::Object(property) = property
                && property.get("default") == Some(&Value::Null)
            {
                property.remove("default");
            }
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// The schema's property names and `R::FIELDS`, both sorted.
    fn fields_of<R: Request>() -> (Vec<String>, Vec<String>) {
        let schema = input_schema::<R>();
        let mut properties: Vec<String> = schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        properties.sort();
        let mut fields: Vec<String> = R::FIELDS.iter().map(|f| f.to_string()).collect();
        fields.sort();
        (properties, fields)
    }

    #[test]
    fn the_field_lists_are_the_schemas() {
        let pairs = [
            fields_of::<PerformAction>(),
            fields_of::<InvokeAssistant>(),
            fields_of::<InvokeAgent>(),
            fields_of::<NewConversation>(),
            fields_of::<GetAllConversations>(),
            fields_of::<ActivateConversation>(),
            fields_of::<PostFeedback>(),
        ];
        for (properties, fields) in pairs {
            assert_eq!(properties, fields);
        }
    }

    #[test]
    fn schemas_state_bounds_and_refuse_unknown_fields() {
        let schema = Value::Object(input_schema::<InvokeAssistant>());
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], json!(["command"]));
        assert_eq!(
            schema["properties"]["command"]["maxLength"],
            MAX_QUERY_CHARS
        );
        let timeout = &schema["properties"]["timeout_seconds"];
        assert_eq!(
            (&timeout["minimum"], &timeout["maximum"]),
            (&json!(1), &json!(600))
        );
        assert_eq!(
            timeout["type"], "integer",
            "no null: absent means the default"
        );
        let schema = Value::Object(input_schema::<GetAllConversations>());
        assert_eq!(schema["properties"]["limit"]["maximum"], 100);
        assert_eq!(schema["properties"]["limit"]["default"], 20);
        assert_eq!(schema.get("required"), None);
        let schema = Value::Object(input_schema::<PerformAction>());
        assert_eq!(schema["properties"]["parameters"]["default"], json!({}));
        for schema in [
            input_schema::<PerformAction>(),
            input_schema::<InvokeAssistant>(),
            input_schema::<PostFeedback>(),
            input_schema::<GetAllConversations>(),
        ] {
            let properties = schema["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (name, property) in properties {
                assert_ne!(property.get("default"), Some(&Value::Null), "{name}");
            }
        }
    }

    #[test]
    fn bad_arguments_name_the_field() {
        let message = |args: Value| {
            parse::<InvokeAssistant>(object(args))
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            message(json!({"words": "hi"})),
            "words: unknown argument (invoke_assistant takes command, timeout_seconds)"
        );
        assert_eq!(message(json!({})), "command: missing required argument");
        assert_eq!(message(json!({"command": 5})), "command: must be a string");
        assert_eq!(
            message(json!({"command": "hi", "timeout_seconds": 0})),
            "timeout_seconds: must be between 1 and 600, not 0"
        );
        assert!(
            message(json!({"command": "hi", "timeout_seconds": "x"}))
                .starts_with("timeout_seconds: ")
        );
        let limit = parse::<GetAllConversations>(object(json!({"limit": 101})))
            .expect_err("refused")
            .to_string();
        assert_eq!(limit, "limit: must be between 1 and 100, not 101");
        let id = parse::<ActivateConversation>(object(json!({"conversation_id": "seven"})))
            .expect_err("refused")
            .to_string();
        assert_eq!(id, "conversation_id: must be a non-negative integer");
        let none = parse::<NewConversation>(object(json!({"x": 1})))
            .expect_err("refused")
            .to_string();
        assert!(none.contains("takes no arguments"), "{none}");
    }

    #[test]
    fn good_arguments_parse() {
        let request: PerformAction = parse(object(json!({
            "command_name": "calculate",
            "parameters": {"expression": "1+1"},
            "timeout_seconds": 5,
        })))
        .expect("valid");
        assert_eq!(request.command_name, "calculate");
        assert_eq!(request.timeout_seconds.map(Timeout::secs), Some(5));
        let bare: PerformAction =
            parse(object(json!({"command_name": "go"}))).expect("parameters are optional");
        assert_eq!(bare.parameters, json!({}));
        let listing: GetAllConversations = parse(Map::new()).expect("all optional");
        assert_eq!(listing.limit, Limit::DEFAULT);
        // A whole number sent as a float is that integer; a command's parameters are not
        // touched, and a fraction is still refused.
        let floats: PerformAction = parse(object(json!({
            "command_name": "go",
            "parameters": {"n": 2.0},
            "timeout_seconds": 5.0,
        })))
        .expect("5.0 is an integer");
        assert_eq!(floats.timeout_seconds.map(Timeout::secs), Some(5));
        assert!(floats.parameters["n"].is_f64());
        let half = parse::<ActivateConversation>(object(json!({"conversation_id": 2.5})));
        assert!(half.is_err());
    }
}
