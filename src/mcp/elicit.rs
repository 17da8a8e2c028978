//! Asking for missing parameters through MCP elicitation, when the client declared form
//! elicitation: for `invoke_assistant` (otherwise it asks in text), and for a command's own
//! tool and `perform_action` (otherwise a missing parameter is refused).
//!
//! Two protocol eras, two ways: up to 2025-11-25 the server sends `elicitation/create` and
//! waits; from 2026-07-28 (no server-to-client requests) the call ends with an
//! `input_required` result carrying the same form, and the client calls again with the
//! answer in `inputResponses` — the turn is then routed afresh and takes the answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use rmcp::RoleServer;
use rmcp::model::{
    ClientCapabilities, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequiredResult, InputResponses, ProtocolVersion,
};
use rmcp::service::{ElicitationMode, Peer, RequestContext};
use serde_json::{Map, Value, json};

use crate::app::agent::UserAnswer;
use crate::app::{AskAnswer, AskRequest, ParamAsker};
use crate::workflow::catalog::{EnumLabels, ValueSpec};
use crate::workflow::schema::titled;
use crate::workflow::{Param, ParamType};

/// How long a person gets to fill the form.
const ANSWER_WITHIN: Duration = Duration::from_secs(600);

/// The key of our one input request in `inputRequests` / `inputResponses`.
const INPUT_KEY: &str = "parameters";

/// A [`ParamAsker`] for one call.
pub(crate) enum ElicitAsker {
    /// Up to 2025-11-25: ask the client and wait.
    Request(Peer<RoleServer>),
    /// From 2026-07-28: answer from the retry's `inputResponses`, or defer with the form.
    Retry {
        responses: Option<InputResponses>,
        deferred: Mutex<Option<ElicitRequestParams>>,
    },
}

impl ElicitAsker {
    /// The asker for one call in whichever era it was made, if the client declared forms.
    pub(crate) fn for_call(
        context: &RequestContext<RoleServer>,
        input_responses: Option<InputResponses>,
    ) -> Option<Self> {
        let stateless_era = context
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
        if stateless_era {
            Self::for_retry(context.client_capabilities(), input_responses)
        } else {
            Self::for_peer(&context.peer)
        }
    }

    /// An asker for `peer`, if it declared form elicitation.
    pub(crate) fn for_peer(peer: &Peer<RoleServer>) -> Option<Self> {
        peer.supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
            .then(|| Self::Request(peer.clone()))
    }

    /// An asker for a 2026-07-28 call, if the request's capabilities include forms.
    pub(crate) fn for_retry(
        capabilities: Option<ClientCapabilities>,
        responses: Option<InputResponses>,
    ) -> Option<Self> {
        let elicitation = capabilities?.elicitation?;
        // No mode named means form (the capability predates modes).
        let form = elicitation.form.is_some() || elicitation.url.is_none();
        form.then(|| Self::Retry {
            responses,
            deferred: Mutex::new(None),
        })
    }

    /// The `input_required` result for a deferred question, if the turn deferred one.
    pub(crate) fn input_required(&self) -> Option<InputRequiredResult> {
        let Self::Retry { deferred, .. } = self else {
            return None;
        };
        let params = deferred.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        let mut requests = std::collections::BTreeMap::new();
        requests.insert(
            INPUT_KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(params)),
        );
        Some(InputRequiredResult::new(Some(requests), None))
    }
}

/// A form's answer as the assistant takes it.
fn answer_of(result: ElicitResult, asked: &[&Param]) -> AskAnswer {
    match result.action {
        ElicitationAction::Accept => match result.content {
            Some(Value::Object(values)) => AskAnswer::Values(
                values
                    .into_iter()
                    .filter(|(k, _)| asked.iter().any(|p| p.name == *k))
                    .collect(),
            ),
            _ => AskAnswer::Unavailable,
        },
        ElicitationAction::Decline => AskAnswer::Declined,
        ElicitationAction::Cancel => AskAnswer::Cancelled,
        _ => AskAnswer::Unavailable,
    }
}

impl ParamAsker for ElicitAsker {
    fn ask<'a>(
        &'a self,
        request: AskRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = AskAnswer> + Send + 'a>> {
        Box::pin(async move {
            // Forms hold only flat values: anything else is asked in text.
            let Some(schema) = form_schema(&request.params) else {
                return AskAnswer::Unavailable;
            };
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: request.message,
                requested_schema: schema,
            };
            match self {
                Self::Request(peer) => {
                    match peer
                        .create_elicitation_with_timeout(params, Some(ANSWER_WITHIN))
                        .await
                    {
                        Ok(result) => answer_of(result, &request.params),
                        Err(e) => {
                            tracing::debug!("elicitation not answered: {e}");
                            AskAnswer::Unavailable
                        }
                    }
                }
                Self::Retry {
                    responses,
                    deferred,
                } => match responses.as_ref().and_then(|r| r.get(INPUT_KEY)) {
                    Some(answer) => match serde_json::from_value::<ElicitResult>(answer.clone()) {
                        Ok(result) => answer_of(result, &request.params),
                        Err(e) => {
                            tracing::debug!("unreadable input response: {e}");
                            AskAnswer::Unavailable
                        }
                    },
                    None => {
                        *deferred.lock().unwrap_or_else(|p| p.into_inner()) = Some(params);
                        AskAnswer::Deferred
                    }
                },
            }
        })
    }
}

/// The form for `params`, or `None` when one of them is not a value a form can hold (flat
/// values and multi-selects of enum strings, SEP-1330). A parameter with a default is
/// optional in the form and offers the default (SEP-1034).
fn form_schema(params: &[&Param]) -> Option<ElicitationSchema> {
    let mut properties = Map::new();
    for param in params {
        let mut property = form_value(&param.spec)?;
        property.insert("title".into(), json!(param.name));
        let mut description = param.description.clone();
        if let Some(example) = param.examples.first() {
            let example = match example {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            description.push_str(&format!(" (e.g. {example})"));
        }
        // A form enumerates strings only: other members are said in words (the answer is
        // validated anyway).
        if let Some(values) = &param.spec.enum_values
            && param.spec.ty != ParamType::String
        {
            let values: Vec<String> = values.iter().map(ToString::to_string).collect();
            description.push_str(&format!(" (one of {})", values.join(", ")));
        }
        let description = description.trim();
        if !description.is_empty() {
            property.insert("description".into(), json!(description));
        }
        if let Some(default) = &param.default {
            property.insert("default".into(), default.clone());
        }
        properties.insert(param.name.clone(), Value::Object(property));
    }
    let required: Vec<&str> = params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.as_str())
        .collect();
    let schema = json!({"type": "object", "properties": properties, "required": required});
    serde_json::from_value(schema)
        .map_err(|e| tracing::debug!("no elicitation form: {e}"))
        .ok()
}

/// One form field's type and choices, in the keywords of SEP-1330.
fn form_value(spec: &ValueSpec) -> Option<Map<String, Value>> {
    let mut property = Map::new();
    match spec.ty {
        ParamType::String => {
            property.insert("type".into(), json!("string"));
            if let Some(values) = &spec.enum_values {
                match &spec.enum_labels {
                    None => {
                        property.insert("enum".into(), json!(values));
                    }
                    Some(EnumLabels::Titles(titles)) => {
                        property.insert("oneOf".into(), titled(values, titles));
                    }
                    Some(EnumLabels::LegacyNames(names)) => {
                        property.insert("enum".into(), json!(values));
                        property.insert("enumNames".into(), json!(names));
                    }
                }
            }
        }
        ParamType::Integer | ParamType::Number | ParamType::Boolean => {
            property.insert("type".into(), json!(spec.ty.as_str()));
        }
        ParamType::Array => {
            let items = spec.items.as_ref()?;
            let values = items.enum_values.as_ref()?;
            if items.ty != ParamType::String {
                return None;
            }
            let items = match &items.enum_labels {
                Some(EnumLabels::Titles(titles)) => json!({"anyOf": titled(values, titles)}),
                _ => json!({"type": "string", "enum": values}),
            };
            property.insert("type".into(), json!("array"));
            property.insert("items".into(), items);
        }
        ParamType::Object => return None,
    }
    Some(property)
}

/// The key of an agent's question in an `input_required` result.
pub(crate) const QUESTION_KEY: &str = "question";

/// True when a 2026-07-28 call's client can be asked a question in a form.
pub(crate) fn can_ask(capabilities: Option<ClientCapabilities>) -> bool {
    capabilities
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// An agent's free-text question (`ask_user`) as an elicitation form with one field.
pub(crate) fn question_request(question: &str) -> Option<InputRequest> {
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "string", "title": "Your answer"}},
        "required": ["answer"],
    });
    let requested_schema: ElicitationSchema = serde_json::from_value(schema).ok()?;
    Some(InputRequest::Elicitation(ElicitRequest::new(
        ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: question.to_string(),
            requested_schema,
        },
    )))
}

/// The user's answer to [`question_request`] from a call's `input_responses`: `None` when
/// there is none; a declined, dismissed or empty form is `Declined`.
pub(crate) fn answer_to_question(responses: Option<&InputResponses>) -> Option<UserAnswer> {
    let value = responses?.get(QUESTION_KEY)?;
    let Ok(result) = serde_json::from_value::<ElicitResult>(value.clone()) else {
        return Some(UserAnswer::Declined);
    };
    let said = match (result.action, result.content) {
        (ElicitationAction::Accept, Some(content)) => content
            .get("answer")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        _ => None,
    };
    Some(said.map_or(UserAnswer::Declined, UserAnswer::Said))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_parameters_make_a_form_and_arrays_do_not() {
        let catalog = crate::workflow::testing::helpdesk();
        let close = catalog.command("close_ticket").expect("command");
        let params: Vec<&Param> = close.params.iter().collect();
        let schema = form_schema(&params).expect("a form");
        let value = serde_json::to_value(&schema).expect("serializes");
        assert_eq!(value["required"], json!(["ticket_id", "reason"]));
        assert_eq!(value["properties"]["reason"]["enum"][0], "resolved");
        let merge = catalog.command("merge_tickets").expect("command");
        let params: Vec<&Param> = merge.params.iter().collect();
        assert!(form_schema(&params).is_none());
    }

    /// The form of every parameter of `command` in the conformance fixture, as JSON.
    fn conformance_form(command: &str) -> Value {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
        let source = crate::workflow::WorkflowSource::from_dir(&dir).expect("readable");
        let rules = crate::workflow::LoadRules {
            is_handler: &|_| false,
            reserved_tools: &[],
            builtin_commands: &[],
        };
        let catalog = crate::workflow::load(&source, &rules).expect("the fixture loads");
        let command = catalog.command(command).expect("command");
        let params: Vec<&Param> = command.params.iter().collect();
        serde_json::to_value(form_schema(&params).expect("a form")).expect("serializes")
    }

    #[test]
    fn defaults_are_offered_and_leave_fields_optional() {
        let form = conformance_form("test_elicitation_sep1034_defaults");
        let p = &form["properties"];
        assert_eq!(p["name"]["default"], "John Doe");
        assert_eq!(p["age"]["type"], "integer");
        assert_eq!(p["age"]["default"], 30);
        assert_eq!(p["score"]["default"], 95.5);
        assert_eq!(
            p["status"]["enum"],
            json!(["active", "inactive", "pending"])
        );
        assert_eq!(p["status"]["default"], "active");
        assert_eq!(p["verified"]["default"], true);
        assert!(
            form.get("required").is_none_or(|r| r == &json!([])),
            "{form}"
        );
    }

    #[test]
    fn every_enum_form_survives_into_the_form() {
        let form = conformance_form("test_elicitation_sep1330_enums");
        let p = &form["properties"];
        assert_eq!(
            p["untitledSingle"]["enum"],
            json!(["option1", "option2", "option3"])
        );
        assert!(p["untitledSingle"].get("oneOf").is_none());
        assert_eq!(
            p["titledSingle"]["oneOf"][0],
            json!({"const": "value1", "title": "First Option"})
        );
        assert!(p["titledSingle"].get("enum").is_none());
        assert_eq!(
            p["legacyEnum"]["enumNames"],
            json!(["Option One", "Option Two", "Option Three"])
        );
        assert_eq!(p["untitledMulti"]["type"], "array");
        assert_eq!(
            p["untitledMulti"]["items"],
            json!({"type": "string", "enum": ["option1", "option2", "option3"]})
        );
        assert_eq!(
            p["titledMulti"]["items"]["anyOf"][1],
            json!({"const": "value2", "title": "Second Choice"})
        );
        assert!(p["titledMulti"]["items"].get("enum").is_none());
        assert_eq!(form["required"].as_array().map(Vec::len), Some(5));
    }
}
