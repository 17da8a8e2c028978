//! Reading resources: the workflow's own (`resources/*.toml`: fixed files and templates read
//! through a read-only command) and the channel's conversations (`conversation://{id}`), and
//! which of them a stored change touched.

use serde_json::{Map, Value};

use super::changes::Change;
use super::{App, EngineError};
use crate::domain::{Caller, CommandResponse};
use crate::workflow::resources::{RESERVED_SCHEME, ResourceBody, ResourceTemplate};
use crate::workflow::{Command, ParamType, validate};

/// The URI template of the channel's conversations.
pub const CONVERSATION_TEMPLATE: &str = "conversation://{conversation_id}";

/// The URI of one of the channel's conversations.
pub fn conversation_uri(conversation_id: u64) -> String {
    format!("{RESERVED_SCHEME}://{conversation_id}")
}

/// The conversation id in a `conversation://{id}` URI.
pub fn parse_conversation_uri(uri: &str) -> Option<u64> {
    let id = uri.strip_prefix(RESERVED_SCHEME)?.strip_prefix("://")?;
    // Digits only: `+7` or ` 7` are not the same resource as `7`.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

/// A resource's contents.
#[derive(Debug, Clone)]
pub struct ResourceRead {
    pub uri: String,
    pub mime_type: String,
    pub body: ResourceBody,
}

impl App {
    /// Read `uri` for `caller`: conversations are the caller's channel's own; template
    /// resources run their read-only command (no turn is recorded: reading changes nothing).
    pub async fn read_resource(
        &self,
        caller: &Caller,
        uri: &str,
    ) -> Result<ResourceRead, EngineError> {
        if let Some(id) = parse_conversation_uri(uri) {
            return self.read_conversation(caller, uri, id).await;
        }
        let resources = &self.catalog().resources;
        if let Some(fixed) = resources.fixed.get(uri) {
            return Ok(ResourceRead {
                uri: uri.to_string(),
                mime_type: fixed.info.mime_type.clone(),
                body: fixed.body.clone(),
            });
        }
        let Some((template, values)) = resources.template_for(uri) else {
            return Err(EngineError::UnknownResource(shorten(uri)));
        };
        self.read_template(caller, uri, template, values).await
    }

    /// True when `uri` names a resource that could be read (for subscriptions).
    pub fn knows_resource(&self, uri: &str) -> bool {
        let resources = &self.catalog().resources;
        parse_conversation_uri(uri).is_some()
            || resources.fixed.contains_key(uri)
            || resources.template_for(uri).is_some()
    }

    /// The resources `change` touched, as seen from `caller`'s channel: its conversation (only
    /// the channel's own) and the workflow's template resources its command changes.
    pub fn changed_uris(&self, caller: &Caller, change: &Change) -> Vec<String> {
        let mut uris = Vec::new();
        if change.channel == caller.channel_id {
            uris.push(conversation_uri(change.conversation_id));
        }
        if let (Some((command, params)), true) = (&change.command, change.success) {
            uris.extend(self.catalog().resources.changed_by(command, params));
        }
        uris
    }

    async fn read_conversation(
        &self,
        caller: &Caller,
        uri: &str,
        id: u64,
    ) -> Result<ResourceRead, EngineError> {
        let body = match self.conversation_json(caller, id).await {
            Ok(body) => body,
            Err(EngineError::UnknownConversation(_)) => {
                return Err(EngineError::UnknownResource(shorten(uri)));
            }
            Err(e) => return Err(e),
        };
        Ok(ResourceRead {
            uri: uri.to_string(),
            mime_type: "application/json".into(),
            body: ResourceBody::Text(body.to_string().into()),
        })
    }

    async fn read_template(
        &self,
        caller: &Caller,
        uri: &str,
        template: &ResourceTemplate,
        values: Map<String, Value>,
    ) -> Result<ResourceRead, EngineError> {
        let catalog = self.catalog();
        let read = &template.read;
        // The loader checked the command exists and is read-only.
        let Some(command) = catalog.command(&read.command) else {
            return Err(EngineError::UnknownResource(shorten(uri)));
        };
        // URI variables arrive as text: a number parameter takes "42" as 42.
        let params = coerce(command, values);
        let params =
            validate::validate_params(command, Some(&Value::Object(params))).map_err(|errors| {
                EngineError::UnreadableResource {
                    uri: shorten(uri),
                    reason: validate::describe(&errors),
                }
            })?;
        let response = self.peek(caller, command, &params).await?;
        if !response.success {
            return Err(EngineError::UnreadableResource {
                uri: shorten(uri),
                reason: response.response,
            });
        }
        let text = match &read.artifact {
            None => response.response,
            Some(pointer) => {
                let artifacts = Value::Object(response.artifacts);
                let Some(value) = artifacts.pointer(pointer) else {
                    return Err(EngineError::UnreadableResource {
                        uri: shorten(uri),
                        reason: format!("{} gave no artifact at \"{pointer}\"", command.name),
                    });
                };
                value.to_string()
            }
        };
        Ok(ResourceRead {
            uri: uri.to_string(),
            mime_type: template.info.mime_type.clone(),
            body: ResourceBody::Text(text.into()),
        })
    }
}

impl App {
    /// Run a read-only command for what it shows, within the default timeout, recording no
    /// turn: reading a resource or completing an argument changes nothing.
    pub(crate) async fn peek(
        &self,
        caller: &Caller,
        command: &Command,
        params: &Map<String, Value>,
    ) -> Result<CommandResponse, EngineError> {
        debug_assert_eq!(command.annotations.read_only, Some(true));
        let _admitted = self.admit()?;
        let timeout = self.catalog().default_timeout;
        let run = self.executors().run(command, params, caller);
        match tokio::time::timeout(timeout.duration(), run).await {
            Ok(execution) => Ok(execution.response),
            Err(_) => Err(EngineError::TimedOut {
                command: command.name.clone(),
                seconds: timeout.secs(),
            }),
        }
    }
}

/// The values of a URI's variables, typed as the command's parameters want them.
pub(crate) fn coerce(command: &Command, values: Map<String, Value>) -> Map<String, Value> {
    values
        .into_iter()
        .map(|(name, value)| {
            let typed = match (&value, command.param(&name)) {
                (Value::String(text), Some(param)) => match param.spec.ty {
                    ParamType::Integer => text.parse::<i64>().map_or(value, Value::from),
                    ParamType::Number => text.parse::<f64>().map_or(value, Value::from),
                    ParamType::Boolean => text.parse::<bool>().map_or(value, Value::from),
                    _ => value,
                },
                _ => value,
            };
            (name, typed)
        })
        .collect()
}

/// A URI as an error message quotes it: at most 200 characters.
fn shorten(uri: &str) -> String {
    uri.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_uris_are_digits_only() {
        assert_eq!(parse_conversation_uri(&conversation_uri(42)), Some(42));
        for bad in [
            "conversation://",
            "conversation://+7",
            "conversation:// 7",
            "conv://7",
        ] {
            assert_eq!(parse_conversation_uri(bad), None, "{bad}");
        }
    }
}
