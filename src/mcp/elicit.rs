//! Asking for missing parameters through MCP elicitation, when the client declared form
//! elicitation; otherwise the assistant asks in text.
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
    ElicitationSchema, InputRequest, InputRequiredResult, InputResponses,
};
use rmcp::service::{ElicitationMode, Peer};
use serde_json::{Map, Value, json};

use crate::app::{AskAnswer, AskRequest, ParamAsker};
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

/// The form for `params`, or `None` when one of them is not a flat value.
fn form_schema(params: &[&Param]) -> Option<ElicitationSchema> {
    let mut properties = Map::new();
    for param in params {
        let mut property = Map::new();
        let ty = match param.spec.ty {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
            ParamType::Array | ParamType::Object => return None,
        };
        property.insert("type".into(), json!(ty));
        property.insert("title".into(), json!(param.name));
        let mut description = param.description.clone();
        if let Some(example) = param.examples.first() {
            let example = match example {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            description.push_str(&format!(" (e.g. {example})"));
        }
        if !description.is_empty() {
            property.insert("description".into(), json!(description));
        }
        if let Some(values) = &param.spec.enum_values {
            property.insert("enum".into(), Value::Array(values.clone()));
        }
        properties.insert(param.name.clone(), Value::Object(property));
    }
    let required: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let schema = json!({"type": "object", "properties": properties, "required": required});
    serde_json::from_value(schema)
        .map_err(|e| tracing::debug!("no elicitation form: {e}"))
        .ok()
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
}
