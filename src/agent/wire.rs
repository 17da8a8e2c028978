//! The chat-completions wire format, owned here because OpenAI-compatible servers differ
//! (Ollama, vLLM, llama.cpp, LiteLLM, OpenAI): what we send is plain and what we read is read
//! leniently — tool calls with or without `index`/`id`, `id` and `name` repeated in every
//! streamed chunk, arguments as a string or an object, tool-call JSON written into `content`
//! by small models, `content` as `null` or `""`, any `finish_reason`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One message of a chat, in the form the agent keeps and sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    #[serde(default)]
    pub content: String,
    /// The tool calls an assistant message made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    pub fn tool_result(call_id: &str, content: impl Into<String>) -> Self {
        Self {
            tool_call_id: Some(call_id.to_string()),
            ..Self::new(Role::Tool, content)
        }
    }

    fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// The OpenAI form. An assistant message's content is `""` rather than `null` when it
    /// only calls tools: some servers refuse a `null`.
    pub fn to_wire(&self) -> Value {
        let mut message = json!({"role": self.role, "content": self.content});
        if !self.tool_calls.is_empty() {
            message["tool_calls"] = self
                .tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    })
                })
                .collect();
        }
        if let Some(id) = &self.tool_call_id {
            message["tool_call_id"] = json!(id);
        }
        message
    }

    /// A rough size in tokens (4 characters each), for the context budget.
    pub fn estimated_tokens(&self) -> usize {
        let calls: usize = self
            .tool_calls
            .iter()
            .map(|c| c.name.len() + c.arguments.len())
            .sum();
        (self.content.len() + calls) / 4 + 4
    }
}

/// A tool call as the model made it: `arguments` is the JSON text it wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
}

impl ToolCall {
    /// The arguments as a JSON object, or why they are not one (said back to the model).
    pub fn parsed_arguments(&self) -> Result<Map<String, Value>, String> {
        let text = self.arguments.trim();
        if text.is_empty() {
            return Ok(Map::new());
        }
        // Small models write line breaks and tabs raw inside strings: escape them first.
        let parsed = serde_json::from_str::<Value>(text)
            .or_else(|e| serde_json::from_str::<Value>(&escape_raw_controls(text)).map_err(|_| e));
        match parsed {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(format!(
                "the arguments must be a JSON object, not {}",
                kind_of(&other)
            )),
            Err(e) => Err(format!("the arguments are not valid JSON ({e})")),
        }
    }
}

/// `text` with control characters inside JSON strings escaped (outside them they are only
/// whitespace, and stay).
fn escape_raw_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string && !escaped && c.is_control() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                other => out.push_str(&format!("\\u{:04x}", other as u32)),
            }
            continue;
        }
        out.push(c);
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
    }
    out
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A tool offered to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments object.
    pub parameters: Map<String, Value>,
}

impl ToolSpec {
    pub fn to_wire(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        })
    }
}

/// One request to the model.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    /// Empty: a tool-free answer is wanted.
    pub tools: Vec<ToolSpec>,
}

impl ChatRequest {
    /// The request body for `model`.
    pub fn to_wire(&self, model: &str, stream: bool) -> Value {
        let mut body = json!({
            "model": model,
            "messages": self.messages.iter().map(Message::to_wire).collect::<Vec<_>>(),
            "stream": stream,
        });
        if !self.tools.is_empty() {
            body["tools"] = self.tools.iter().map(ToolSpec::to_wire).collect();
            body["tool_choice"] = json!("auto");
        }
        body
    }

    pub fn estimated_tokens(&self) -> usize {
        self.messages.iter().map(Message::estimated_tokens).sum()
    }
}

/// What the model answered, normalised.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub content: String,
    pub tool_calls: Vec<ToolCall>,
    /// As the server said it (`stop`, `tool_calls`, `length`, or anything else).
    pub finish_reason: Option<String>,
    /// The model that answered, when the server says.
    pub model: Option<String>,
}

impl Completion {
    /// Tool calls a small model wrote into its text instead of `tool_calls` become real
    /// ones — only for names of tools it was offered, so prose with braces stays prose.
    pub fn recover_calls_from_content(&mut self, offered: &[ToolSpec]) {
        if !self.tool_calls.is_empty() || offered.is_empty() {
            return;
        }
        let calls = calls_in_text(&self.content, offered);
        if !calls.is_empty() {
            self.tool_calls = calls;
            self.content.clear();
        }
    }
}

/// A non-streamed response body → a completion.
pub fn parse_response(body: &Value) -> Result<Completion, String> {
    let choice = body
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or("the response has no choices")?;
    let message = choice.get("message").ok_or("the choice has no message")?;
    let mut completion = Completion {
        content: text_of(message.get("content")),
        finish_reason: choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_string),
        model: body
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
        ..Completion::default()
    };
    let mut calls = CallAccumulator::default();
    if let Some(Value::Array(list)) = message.get("tool_calls") {
        for (position, call) in list.iter().enumerate() {
            calls.add(call, Some(position));
        }
    }
    completion.tool_calls = calls.finish();
    Ok(completion)
}

/// `content` as text: a string, `null`, or (some servers) a list of text parts.
fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect(),
        _ => String::new(),
    }
}

/// Builds a completion from streamed chunks.
#[derive(Debug, Default)]
pub struct StreamAccumulator {
    content: String,
    calls: CallAccumulator,
    finish_reason: Option<String>,
    model: Option<String>,
    /// Chunks that said something about tool calls (even ones that could not be read).
    pub(crate) tool_call_chunks: usize,
}

impl StreamAccumulator {
    /// Take one `data:` payload (already parsed).
    pub fn push(&mut self, chunk: &Value) {
        if self.model.is_none() {
            self.model = chunk
                .get("model")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        let Some(choice) = chunk.get("choices").and_then(|c| c.get(0)) else {
            return;
        };
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(reason.to_string());
        }
        // Some servers send the whole message in the last chunk instead of a delta.
        let Some(delta) = choice.get("delta").or_else(|| choice.get("message")) else {
            return;
        };
        self.content.push_str(&text_of(delta.get("content")));
        if let Some(Value::Array(list)) = delta.get("tool_calls") {
            self.tool_call_chunks += 1;
            for call in list {
                self.calls.add(call, None);
            }
        }
    }

    pub fn finish(self) -> Completion {
        Completion {
            content: self.content,
            tool_calls: self.calls.finish(),
            finish_reason: self.finish_reason,
            model: self.model,
        }
    }
}

/// Tool-call pieces → whole calls. A piece goes to the call its `index` names; without one,
/// to the call with its `id`, else a new call when it names a different tool, else the last
/// call. `id` and `name` are taken when first seen and never concatenated (servers repeat
/// them in every chunk); argument pieces are appended.
#[derive(Debug, Default)]
struct CallAccumulator {
    calls: Vec<Partial>,
}

#[derive(Debug, Default)]
struct Partial {
    index: Option<u64>,
    id: Option<String>,
    name: Option<String>,
    arguments: String,
}

impl CallAccumulator {
    fn add(&mut self, piece: &Value, position: Option<usize>) {
        let index = piece
            .get("index")
            .and_then(Value::as_u64)
            .or(position.map(|p| p as u64));
        let id = piece
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let function = piece.get("function").unwrap_or(piece);
        let name = function
            .get("name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let slot = match index {
            Some(i) => self.calls.iter().position(|c| c.index == Some(i)),
            None => match id {
                Some(id) => self.calls.iter().position(|c| c.id.as_deref() == Some(id)),
                None => match (name, self.calls.last()) {
                    (Some(name), Some(last)) if last.name.as_deref() != Some(name) => None,
                    (_, Some(_)) => Some(self.calls.len() - 1),
                    (_, None) => None,
                },
            },
        };
        let slot = match slot {
            Some(slot) => slot,
            None => {
                self.calls.push(Partial {
                    index,
                    ..Partial::default()
                });
                self.calls.len() - 1
            }
        };
        let call = &mut self.calls[slot];
        if call.id.is_none() {
            call.id = id.map(str::to_string);
        }
        if call.name.is_none() {
            call.name = name.map(str::to_string);
        }
        match function.get("arguments") {
            Some(Value::String(s)) => call.arguments.push_str(s),
            Some(Value::Null) | None => {}
            // An object rather than its JSON text (some servers, non-streamed).
            Some(other) => call.arguments.push_str(&other.to_string()),
        }
    }

    fn finish(self) -> Vec<ToolCall> {
        self.calls
            .into_iter()
            .enumerate()
            .filter_map(|(n, c)| {
                Some(ToolCall {
                    id: c.id.unwrap_or_else(|| format!("call_{}", n + 1)),
                    name: c.name?,
                    arguments: c.arguments,
                })
            })
            .collect()
    }
}

/// Tool calls written as JSON in text: `{"name": …, "arguments": {…}}` (or `parameters`),
/// alone, in a list, in a code fence or between `<tool_call>` tags.
fn calls_in_text(text: &str, offered: &[ToolSpec]) -> Vec<ToolCall> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(['{', '[']) {
        let candidate = &rest[start..];
        let mut values = serde_json::Deserializer::from_str(candidate).into_iter::<Value>();
        match values.next() {
            Some(Ok(value)) => {
                let used = values.byte_offset();
                let found: Vec<Value> = match value {
                    Value::Array(items) => items,
                    other => vec![other],
                };
                for item in found {
                    if let Some(call) = call_from_json(&item, offered, calls.len()) {
                        calls.push(call);
                    }
                }
                rest = &candidate[used.max(1)..];
            }
            _ => rest = &candidate[1..],
        }
    }
    calls
}

fn call_from_json(item: &Value, offered: &[ToolSpec], n: usize) -> Option<ToolCall> {
    let inner = item
        .get("function")
        .filter(|f| f.is_object())
        .unwrap_or(item);
    let name = inner.get("name").and_then(Value::as_str)?;
    if !offered.iter().any(|t| t.name == name) {
        return None;
    }
    let arguments = ["arguments", "parameters", "args"]
        .iter()
        .find_map(|k| inner.get(*k))
        .map_or_else(
            || "{}".to_string(),
            |a| match a {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
        );
    Some(ToolCall {
        id: format!("call_text_{}", n + 1),
        name: name.to_string(),
        arguments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered(names: &[&str]) -> Vec<ToolSpec> {
        names
            .iter()
            .map(|n| ToolSpec {
                name: n.to_string(),
                description: String::new(),
                parameters: Map::new(),
            })
            .collect()
    }

    #[test]
    fn streamed_calls_without_index_and_with_repeated_ids_are_not_concatenated() {
        let mut acc = StreamAccumulator::default();
        let piece = |id: &str, name: &str, arguments: &str| {
            json!({"choices": [{"delta": {"tool_calls": [
                {"id": id, "function": {"name": name, "arguments": arguments}}]}}]})
        };
        for chunk in [
            piece("a", "get", "{\"x\""),
            piece("a", "get", ": 1}"),
            piece("b", "put", "{}"),
            json!({"choices":[{"delta":{"content":null},"finish_reason":"tool_calls"}]}),
        ] {
            acc.push(&chunk);
        }
        let done = acc.finish();
        assert_eq!(done.tool_calls.len(), 2);
        assert_eq!(done.tool_calls[0].id, "a");
        assert_eq!(done.tool_calls[0].name, "get");
        assert_eq!(done.tool_calls[0].arguments, "{\"x\": 1}");
        assert_eq!(done.tool_calls[1].name, "put");
        assert_eq!(done.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn indexed_pieces_go_to_their_call_and_ids_come_when_first_seen() {
        let mut acc = StreamAccumulator::default();
        let piece = |call: Value| json!({"choices": [{"delta": {"tool_calls": [call]}}]});
        for chunk in [
            piece(json!({"index": 0, "id": "c1", "function": {"name": "get", "arguments": ""}})),
            piece(json!({"index": 1, "id": "c2", "function": {"name": "get", "arguments": "{}"}})),
            piece(json!({"index": 0, "function": {"arguments": "{\"a\":2}"}})),
        ] {
            acc.push(&chunk);
        }
        let done = acc.finish();
        assert_eq!(done.tool_calls[0].arguments, "{\"a\":2}");
        assert_eq!(done.tool_calls[1].id, "c2");
    }

    #[test]
    fn a_non_streamed_call_with_object_arguments_and_no_id() {
        let body = json!({"model":"m","choices":[{"finish_reason":"weird","message":{
            "content":"","tool_calls":[{"function":{"name":"get","arguments":{"x":1}}}]}}]});
        let done = parse_response(&body).expect("parses");
        assert_eq!(done.tool_calls[0].id, "call_1");
        assert_eq!(
            done.tool_calls[0].parsed_arguments().expect("object")["x"],
            1
        );
        assert_eq!(done.finish_reason.as_deref(), Some("weird"));
        assert!(parse_response(&json!({"choices": []})).is_err());
    }

    #[test]
    fn tool_call_json_in_content_becomes_a_call_only_for_offered_tools() {
        let tools = offered(&["get_order_details"]);
        let mut c = Completion {
            content: "<tool_call>\n{\"name\": \"get_order_details\", \"arguments\": \
                      {\"order_id\": \"#W1\"}}\n</tool_call>"
                .into(),
            ..Completion::default()
        };
        c.recover_calls_from_content(&tools);
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.tool_calls[0].arguments, "{\"order_id\":\"#W1\"}");
        assert!(c.content.is_empty());
        let mut prose = Completion {
            content: "Use {\"name\": \"other\"} or {braces}".into(),
            ..Completion::default()
        };
        prose.recover_calls_from_content(&tools);
        assert!(prose.tool_calls.is_empty());
        assert!(!prose.content.is_empty());
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let call = |a: &str| ToolCall {
            id: "x".into(),
            name: "n".into(),
            arguments: a.into(),
        };
        assert!(call("").parsed_arguments().expect("empty").is_empty());
        let raw_line_break = call("{\"note\": \"say \\\"hi\\\"\ttwo\nlines\", \"n\":\n 1}");
        let parsed = raw_line_break.parsed_arguments().expect("escaped");
        assert_eq!(parsed["note"], "say \"hi\"\ttwo\nlines");
        assert_eq!(parsed["n"], 1);
        assert!(
            call("[1]")
                .parsed_arguments()
                .expect_err("array")
                .contains("an array")
        );
        assert!(
            call("{oops")
                .parsed_arguments()
                .expect_err("json")
                .contains("not valid JSON")
        );
    }

    #[test]
    fn assistant_messages_go_out_with_empty_content_not_null() {
        let mut m = Message::assistant("");
        m.tool_calls.push(ToolCall {
            id: "1".into(),
            name: "f".into(),
            arguments: "{}".into(),
        });
        let wire = m.to_wire();
        assert_eq!(wire["content"], "");
        assert_eq!(wire["tool_calls"][0]["function"]["name"], "f");
    }
}
