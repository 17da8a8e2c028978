//! [`EngineError`]: every way the engine refuses a request, and the one mapping of each to an
//! HTTP status (DESIGN §1). MCP turns any of them into an `isError` tool result carrying the
//! same text; the REST shim into `{"detail": …}` with [`EngineError::status`].

use crate::session::TurnInProgress;
use crate::store::StoreError;
use crate::workflow::validate::{self, FieldError};

/// Why a request got no answer. Nothing was run or stored, except for `TimedOut` (the turn is
/// stored with its failure) and `Store` (nothing stored, nothing answered).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A field of the request is missing, of the wrong type, or out of bounds.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The request is well-formed but asks for something that cannot be given (both startup
    /// fields at once, feedback without any turn to give it on).
    #[error("{0}")]
    BadRequest(String),
    /// A valid caller without the right to this channel or operation.
    #[error("{0}")]
    Forbidden(String),
    #[error("unknown command \"{name}\"{}", suggestion_text(.suggestion))]
    UnknownCommand {
        name: String,
        suggestion: Option<String>,
    },
    /// The command exists, but not in the context the channel is in.
    #[error(
        "{command} is only available in the {context} context (the channel is in {here}); \
         perform_action runs it anywhere"
    )]
    NotHere {
        command: String,
        context: String,
        /// Where the channel is, as a person reads it ("the global context").
        here: String,
    },
    /// No resource has this URI.
    #[error("no resource {0}")]
    UnknownResource(String),
    /// The resource's command could not read it (no such order, a bad URI variable).
    #[error("{uri} cannot be read: {reason}")]
    UnreadableResource { uri: String, reason: String },
    #[error("conversation not found with id {0}")]
    UnknownConversation(u64),
    #[error("turn {0} not found in the active conversation")]
    UnknownTurn(u64),
    /// Feedback on "the last turn" of a conversation that has none.
    #[error("the active conversation has no turns yet: there is nothing to give feedback on")]
    NoTurns,
    /// A command's parameters do not fit its schema.
    #[error("invalid parameters for {command}: {}", validate::describe(.errors))]
    InvalidParams {
        command: String,
        errors: Vec<FieldError>,
    },
    /// A conversational turn is already running on this channel.
    #[error(transparent)]
    TurnInProgress(#[from] TurnInProgress),
    /// Text longer than its field takes (characters, as JSON Schema's `maxLength` counts).
    #[error("{field}: is too long: {chars} characters (at most {limit})")]
    TooLong {
        field: &'static str,
        chars: usize,
        limit: usize,
    },
    #[error("{command} produced no output within {seconds} s")]
    TimedOut { command: String, seconds: u64 },
    /// The user declined (or cancelled) the form asking for the command's parameters: nothing
    /// was run.
    #[error("the user declined to give the parameters {command} needs, so it was not run")]
    Declined { command: String },
    /// The server is running as many turns as it is configured for; try again shortly.
    #[error("the server is busy ({0} turns running): try again in a moment")]
    Busy(usize),
    /// The store failed, so no answer is given (a turn that is not durable is not answered).
    /// The cause is logged, not shown.
    #[error("storage error: the request could not be completed")]
    Store(#[source] StoreError),
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

impl EngineError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status of this refusal: the one place the mapping is written.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::Forbidden(_) => 403,
            Self::UnknownCommand { .. }
            | Self::UnknownConversation(_)
            | Self::UnknownTurn(_)
            | Self::UnknownResource(_)
            | Self::UnreadableResource { .. }
            | Self::NoTurns => 404,
            Self::TurnInProgress(_) | Self::NotHere { .. } => 409,
            Self::InvalidField { .. }
            | Self::InvalidParams { .. }
            | Self::TooLong { .. }
            | Self::Declined { .. } => 422,
            Self::Store(_) => 500,
            Self::Busy(_) => 503,
            Self::TimedOut { .. } => 504,
        }
    }

    /// True when the caller's input (not the server) is at fault: worth a `debug` log at most.
    pub fn is_client_error(&self) -> bool {
        self.status() < 500
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownConversation(id) => Self::UnknownConversation(id),
            StoreError::UnknownTurn(id) => Self::UnknownTurn(id),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::Store(other)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_status_and_names_the_problem() {
        let cases: Vec<(EngineError, u16, &str)> = vec![
            (
                EngineError::invalid("limit", "must be between 1 and 100, not 0"),
                422,
                "limit: must be",
            ),
            (
                EngineError::BadRequest("give startup_command or startup_action, not both".into()),
                400,
                "not both",
            ),
            (
                EngineError::Forbidden("channel belongs to another token".into()),
                403,
                "another token",
            ),
            (
                EngineError::UnknownCommand {
                    name: "get_ticket_detail".into(),
                    suggestion: Some("get_ticket_details".into()),
                },
                404,
                "did you mean \"get_ticket_details\"",
            ),
            (
                StoreError::UnknownConversation(7).into(),
                404,
                "conversation not found with id 7",
            ),
            (StoreError::UnknownTurn(3).into(), 404, "turn 3 not found"),
            (
                EngineError::InvalidParams {
                    command: "greet".into(),
                    errors: vec![FieldError {
                        field: "name".into(),
                        message: "must be a string".into(),
                    }],
                },
                422,
                "name: must be a string",
            ),
            (
                EngineError::TurnInProgress(TurnInProgress {
                    channel: "alice".into(),
                }),
                409,
                "a turn is already in progress on channel alice",
            ),
            (
                EngineError::TooLong {
                    field: "command",
                    chars: 20_000,
                    limit: 16_384,
                },
                422,
                "command: is too long: 20000 characters",
            ),
            (
                EngineError::TimedOut {
                    command: "slow".into(),
                    seconds: 2,
                },
                504,
                "slow produced no output within 2 s",
            ),
            (
                StoreError::Internal("disk on fire".into()).into(),
                500,
                "could not be completed",
            ),
        ];
        for (error, status, text) in cases {
            assert_eq!(error.status(), status, "{error}");
            assert!(error.to_string().contains(text), "{error}");
            assert_eq!(error.is_client_error(), status < 500);
        }
        let hidden: EngineError = StoreError::Internal("disk on fire".into()).into();
        assert!(
            !hidden.to_string().contains("fire"),
            "internals stay in the log"
        );
    }
}
