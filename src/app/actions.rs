//! `perform_action`: validate the parameters, run the command within its timeout, and store
//! the turn with its trace events before the answer goes out.

use std::time::Duration;

use serde_json::{Map, Value};

use std::sync::Arc;

use super::App;
use crate::assistant::AssistantState;
use crate::assistant::text::edit_distance;
use crate::exec::Caller;
use crate::exec::output::{CommandOutput, CommandResponse};
use crate::session::{Session, TurnSlot, now_ms};
use crate::store::conversations::{StoreError, Turn, TurnMode};
use crate::store::{DbError, WriteWait};
use crate::trace::{TraceObserver, TraceSink};
use crate::workflow::catalog::GLOBAL_CONTEXT;
use crate::workflow::validate::{self, FieldError};
use crate::workflow::{Catalog, Command, ContentSpec};

/// Bounds on a caller's `timeout_seconds` (DESIGN §6).
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=600;

/// Why an action was refused before or instead of an answer.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("unknown command \"{name}\"{}", suggestion_text(.suggestion))]
    UnknownCommand {
        name: String,
        suggestion: Option<String>,
    },
    #[error("invalid parameters for {command}: {}", validate::describe(.errors))]
    InvalidParams {
        command: String,
        errors: Vec<FieldError>,
    },
    #[error("timeout_seconds must be between 1 and 600, not {0}")]
    InvalidTimeout(u64),
    #[error("{command} produced no output within {seconds} s")]
    TimedOut { command: String, seconds: u64 },
    /// The turn could not be stored, so no answer is given (it would not be durable).
    #[error("the turn could not be recorded: {0}")]
    Store(#[from] StoreError),
}

fn suggestion_text(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

/// A finished action: the seed-compatible output plus extra content blocks.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    /// The responses' texts, one per line (the text copy of a tool result).
    pub text: String,
    /// True when every response succeeded.
    pub success: bool,
    /// The `CommandOutput` as JSON, as stored with the turn (MCP's `structuredContent`):
    /// built once, by moving the output.
    pub output_json: Value,
    pub content: Vec<ContentSpec>,
    /// The channel moved to another context: the per-command tools on offer changed.
    pub context_changed: bool,
}

impl App {
    /// Run `command_name` with `params` (validated first), within `timeout_seconds`, and
    /// record it as a turn of the caller's active conversation.
    pub async fn perform_action(
        &self,
        caller: &Caller,
        command_name: &str,
        params: Option<&Value>,
        timeout_seconds: Option<u64>,
    ) -> Result<ActionOutcome, ActionError> {
        self.perform_action_traced(caller, command_name, params, timeout_seconds, None)
            .await
    }

    /// [`Self::perform_action`], handing each trace event to `observer` as it happens.
    pub async fn perform_action_traced(
        &self,
        caller: &Caller,
        command_name: &str,
        params: Option<&Value>,
        timeout_seconds: Option<u64>,
        observer: Option<TraceObserver>,
    ) -> Result<ActionOutcome, ActionError> {
        let catalog = self.catalog();
        let Some(command) = catalog.command(command_name) else {
            return Err(ActionError::UnknownCommand {
                name: command_name.chars().take(80).collect(),
                suggestion: closest_name(command_name, catalog.commands.keys().map(String::as_str)),
            });
        };
        let seconds = timeout_seconds.unwrap_or(catalog.default_timeout_seconds);
        if !TIMEOUT_RANGE.contains(&seconds) {
            return Err(ActionError::InvalidTimeout(seconds));
        }
        let params = validate::validate_params(command, params).map_err(|errors| {
            ActionError::InvalidParams {
                command: command.name.clone(),
                errors,
            }
        })?;

        let session = self.sessions().get(&caller.channel_id).await?;
        let slot = session.next_slot();
        let mut trace = TraceSink::new(caller, slot, observer);
        let raw_command = raw_command(&command.name, &params);
        let ran = self
            .execute(caller, command, params, seconds, &mut trace, &raw_command)
            .await;
        // Only a command that enters a context changes the channel's state here; the others
        // just report where the channel is (without copying its whole state).
        let (context, after, context_changed) = if command.enters_context.is_some() {
            let before = session.assistant_state();
            let after = entered(catalog, &before, command, &ran);
            let context = after.as_ref().unwrap_or(&before).context().to_string();
            let changed = context != before.context();
            (context, after, changed)
        } else {
            (session.context_name(), None, false)
        };
        let mut output = ran.output;
        output.context = context;
        let (text, success) = (output.text(), output.success());
        let turn = Turn {
            turn_id: slot.turn_id,
            mode: TurnMode::Action,
            user_query: raw_command,
            command_output: output.into_json(),
            traces: trace.finish(),
            feedback: None,
            timestamp_ms: now_ms(),
        };
        self.store_turn(&session, slot, &turn, after).await?;
        if ran.timed_out {
            return Err(ActionError::TimedOut {
                command: command.name.clone(),
                seconds,
            });
        }
        Ok(ActionOutcome {
            text,
            success,
            output_json: turn.command_output,
            content: ran.content,
            context_changed,
        })
    }

    /// Run a validated command within `seconds`, tracing the call and its answer.
    pub(crate) async fn execute(
        &self,
        caller: &Caller,
        command: &Arc<Command>,
        params: Map<String, Value>,
        seconds: u64,
        trace: &mut TraceSink,
        raw_command: &str,
    ) -> Ran {
        trace.to_workflow(raw_command, &command.name, &params);
        let run = self.executors().run(command, &params, caller);
        // A late answer is dropped with the future: it can never reach a later response.
        let (response, content, timed_out) =
            match tokio::time::timeout(Duration::from_secs(seconds), run).await {
                Ok(execution) => (execution.response, execution.content, false),
                Err(_) => (
                    CommandResponse::fail(format!(
                        "{} produced no output within {seconds} s",
                        command.name
                    )),
                    Vec::new(),
                    true,
                ),
            };
        let output = CommandOutput {
            command_responses: vec![response],
            workflow_name: self.catalog().name.clone(),
            context: GLOBAL_CONTEXT.to_string(),
            command_name: command.name.clone(),
            command_parameters: params,
        };
        trace.from_workflow(
            &command.name,
            &output.command_parameters,
            &output.text(),
            output.success(),
        );
        Ran {
            output,
            content,
            timed_out,
        }
    }

    /// Store a finished turn — with the channel's new assistant state, if it changed, in the
    /// same atomic write — before anyone sees its answer.
    ///
    /// Written inline on the async worker: an unsynced WAL append plus a memtable insert
    /// (~15 µs, `benches/store_turns.rs`) costs less than the two thread wake-ups of a hop to
    /// the blocking pool (mcp_load: ~0.1 of the flowmcp/ceiling ratio). The inline write
    /// refuses to wait out a RocksDB write stall; only then does the turn go to the blocking
    /// pool, so a worker never sleeps inside RocksDB.
    pub(crate) async fn store_turn(
        &self,
        session: &Session,
        slot: TurnSlot,
        turn: &Turn,
        state: Option<AssistantState>,
    ) -> Result<(), StoreError> {
        let store = self.sessions().store();
        let pending = state.as_ref().map(AssistantState::to_stored);
        let (channel, conversation_id) = (&session.channel, slot.conversation_id);
        let inline = store.append_turn_with_wait(
            channel,
            conversation_id,
            turn,
            pending.as_ref(),
            WriteWait::NoStall,
        );
        match inline {
            Err(StoreError::Db(DbError::WouldStall)) => {
                tracing::debug!(channel = %channel, "write stall: turn stored from the blocking pool");
                let (store, channel, turn) = (store.clone(), channel.clone(), turn.clone());
                tokio::task::spawn_blocking(move || {
                    store.append_turn_with_wait(
                        &channel,
                        conversation_id,
                        &turn,
                        pending.as_ref(),
                        WriteWait::Block,
                    )
                })
                .await
                .map_err(|e| StoreError::Internal(e.to_string()))??;
            }
            stored => stored?,
        }
        if let Some(state) = state {
            session.set_assistant_state(state);
        }
        Ok(())
    }
}

/// A command's run, before it is stored.
pub(crate) struct Ran {
    pub output: CommandOutput,
    pub content: Vec<ContentSpec>,
    pub timed_out: bool,
}

/// The state after `command` ran from `before`, when it entered a context (`None`: unchanged).
pub(crate) fn entered(
    catalog: &Catalog,
    before: &AssistantState,
    command: &Command,
    ran: &Ran,
) -> Option<AssistantState> {
    let context = command.enters_context.as_deref()?;
    if !ran.output.success() || ran.timed_out {
        return None;
    }
    let mut after = before.clone();
    after.enter(catalog, context, ran.output.command_parameters.clone());
    (after != *before).then_some(after)
}

/// How an action reads in a transcript: `name {"param": value}`.
fn raw_command(name: &str, params: &Map<String, Value>) -> String {
    if params.is_empty() {
        name.to_string()
    } else {
        format!("{name} {}", Value::Object(params.clone()))
    }
}

/// The known name nearest to `wanted` by edit distance, if it is plausibly a typo.
fn closest_name<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<String> {
    let wanted: Vec<char> = wanted.to_ascii_lowercase().chars().collect();
    names
        .filter_map(|name| {
            let max = (name.len() / 3).max(2);
            let candidate: Vec<char> = name.to_ascii_lowercase().chars().collect();
            let distance = edit_distance(&wanted, &candidate, max);
            (distance <= max).then_some((distance, name))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let names = ["get_order_details", "cancel_pending_order"];
        assert_eq!(
            closest_name("get_order_detail", names.into_iter()).as_deref(),
            Some("get_order_details")
        );
        assert_eq!(closest_name("launch_rocket", names.into_iter()), None);
    }
}
