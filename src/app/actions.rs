//! `perform_action`: validate the parameters, run the command within its timeout, and store
//! the turn with its trace events before the answer goes out. Over MCP, parameters a call
//! leaves out may first be asked of the user through a [`ParamAsker`] (elicitation).

use std::sync::Arc;

use serde_json::{Map, Value};

use super::requests::PerformAction;
use super::trace::{TraceObserver, TraceSink};
use super::{App, AskAnswer, AskRequest, EngineError, ParamAsker};
use crate::assistant::{AssistantState, wording};
use crate::domain::{
    Caller, CommandOutput, CommandResponse, Timeout, TraceEvent, Turn, TurnMode, now_ms,
};
use crate::workflow::catalog::GLOBAL_CONTEXT;
use crate::workflow::validate;
use crate::workflow::{Catalog, Command, ContentSpec, Param};

/// A finished turn: the seed-compatible output plus extra content blocks.
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
    /// The turn's trace events, as stored (the REST shim returns them with the output).
    pub traces: Vec<TraceEvent>,
}

impl ActionOutcome {
    /// The outcome of a stored turn, with its extra content blocks.
    pub(crate) fn of(turn: Turn, content: Vec<ContentSpec>, context_changed: bool) -> Self {
        let Turn {
            command_output,
            traces,
            ..
        } = turn;
        Self {
            text: command_output.text(),
            success: command_output.success(),
            output_json: command_output.into_json(),
            content,
            context_changed,
            traces,
        }
    }
}

/// How a direct action that may ask for its parameters ended.
#[derive(Debug, Clone)]
pub enum ActionReply {
    /// It ran (and was stored).
    Done(ActionOutcome),
    /// The asker deferred its form to the client's next call (MCP 2026-07-28
    /// `input_required`): nothing ran, nothing was stored.
    InputRequired,
}

/// The parameters after asking, or the question deferred to the client's next call.
enum Asked {
    Parameters(Value),
    Deferred,
}

impl App {
    /// [`Self::perform_action`] (with `in_context`: [`Self::run_in_context`]), first asking
    /// `asker` for the parameters the call leaves out that a person must give: the required
    /// ones without a default, and those marked `ask = true`. The answers are validated like
    /// any argument; a declined or dismissed form runs nothing. Without an asker, or when it
    /// cannot ask, the call goes on as given (and a missing parameter is refused as usual).
    pub async fn perform_action_asking(
        &self,
        caller: &Caller,
        mut request: PerformAction,
        observer: Option<TraceObserver>,
        in_context: bool,
        asker: Option<&dyn ParamAsker>,
    ) -> Result<ActionReply, EngineError> {
        if in_context {
            self.check_here(caller, &request).await?;
        }
        if let Some(asker) = asker {
            let given = std::mem::take(&mut request.parameters);
            match self
                .ask_missing(&request.command_name, given, asker)
                .await?
            {
                Asked::Parameters(parameters) => request.parameters = parameters,
                Asked::Deferred => return Ok(ActionReply::InputRequired),
            }
        }
        self.perform_action(caller, request, observer)
            .await
            .map(ActionReply::Done)
    }

    /// Ask for what `given` lacks (see [`Self::perform_action_asking`]); `given` comes back
    /// unchanged when there is nothing to ask or the call is wrong in another way (asking a
    /// person to fill a form for a call that fails anyway would waste their time). Runs before
    /// any admission or lock: a person may take minutes to answer.
    async fn ask_missing(
        &self,
        command_name: &str,
        given: Value,
        asker: &dyn ParamAsker,
    ) -> Result<Asked, EngineError> {
        let Some(command) = self.catalog().command(command_name) else {
            return Ok(Asked::Parameters(given));
        };
        let mut values = match &given {
            Value::Object(map) => map.clone(),
            Value::Null => Map::new(),
            _ => return Ok(Asked::Parameters(given)),
        };
        let asking: Vec<&Param> = command
            .params
            .iter()
            .filter(|p| values.get(&p.name).is_none_or(Value::is_null) && (p.ask || p.required))
            .collect();
        if asking.is_empty() {
            return Ok(Asked::Parameters(given));
        }
        if let Err(errors) = validate::validate_params(command, Some(&given))
            && errors
                .iter()
                .any(|e| !asking.iter().any(|p| p.name == e.field))
        {
            return Ok(Asked::Parameters(given));
        }
        let message = ask_message(command, &asking);
        let answer = asker
            .ask(AskRequest {
                command,
                params: asking,
                message,
            })
            .await;
        match answer {
            AskAnswer::Values(answers) => {
                for (name, value) in answers {
                    if !value.is_null() {
                        values.insert(name, value);
                    }
                }
                Ok(Asked::Parameters(Value::Object(values)))
            }
            AskAnswer::Declined | AskAnswer::Cancelled => Err(EngineError::Declined {
                command: command.name.clone(),
            }),
            AskAnswer::Deferred => Ok(Asked::Deferred),
            AskAnswer::Unavailable => Ok(Asked::Parameters(given)),
        }
    }

    /// Run a command with its parameters (validated first) within the request's timeout, and
    /// record it as a turn of the caller's active conversation; each trace event goes to
    /// `observer` as it happens.
    pub async fn perform_action(
        &self,
        caller: &Caller,
        request: PerformAction,
        observer: Option<TraceObserver>,
    ) -> Result<ActionOutcome, EngineError> {
        let catalog = self.catalog();
        let (command, params) = self.resolve(&request)?;
        let timeout = request.timeout_seconds.unwrap_or(catalog.default_timeout);

        let _admitted = self.admit()?;
        let session = self.session(&caller.channel_id).await?;
        let slot = session.next_slot();
        let mut trace = TraceSink::new(caller, slot, observer);
        let raw_command = raw_command(&command.name, &params);
        let ran = self
            .execute(caller, command, params, timeout, &mut trace, &raw_command)
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
        let turn = Turn {
            turn_id: slot.turn_id,
            mode: TurnMode::Action,
            user_query: raw_command,
            command_output: output,
            traces: trace.finish(),
            feedback: None,
            timestamp_ms: now_ms(),
        };
        self.store_turn(&session, slot, &turn, after).await?;
        if ran.timed_out {
            return Err(EngineError::TimedOut {
                command: command.name.clone(),
                seconds: timeout.secs(),
            });
        }
        Ok(ActionOutcome::of(turn, ran.content, context_changed))
    }

    /// What [`Self::perform_action`] refuses before it touches anything: an unknown command
    /// (404) or parameters it does not accept (422). For callers that must refuse a bad action
    /// before their own side effects (`/initialize` with a `startup_action`).
    pub fn check_action(&self, request: &PerformAction) -> Result<(), EngineError> {
        self.resolve(request).map(|_| ())
    }

    /// The request's command and its validated parameters.
    fn resolve(
        &self,
        request: &PerformAction,
    ) -> Result<(&Arc<Command>, Map<String, Value>), EngineError> {
        let catalog = self.catalog();
        let Some(command) = catalog.command(&request.command_name) else {
            return Err(EngineError::UnknownCommand {
                name: request.command_name.chars().take(80).collect(),
                suggestion: closest_name(
                    &request.command_name,
                    catalog.commands.keys().map(String::as_str),
                ),
            });
        };
        let params =
            validate::validate_params(command, Some(&request.parameters)).map_err(|errors| {
                EngineError::InvalidParams {
                    command: command.name.clone(),
                    errors,
                }
            })?;
        Ok((command, params))
    }

    /// A command run as its own tool: [`Self::perform_action`], but only where the channel's
    /// context offers the command (`perform_action` itself runs any command anywhere).
    pub async fn run_in_context(
        &self,
        caller: &Caller,
        request: PerformAction,
        observer: Option<TraceObserver>,
    ) -> Result<ActionOutcome, EngineError> {
        self.check_here(caller, &request).await?;
        self.perform_action(caller, request, observer).await
    }

    /// Refuses a command whose context the caller's channel is not in.
    async fn check_here(
        &self,
        caller: &Caller,
        request: &PerformAction,
    ) -> Result<(), EngineError> {
        let catalog = self.catalog();
        if let Some(command) = catalog.command(&request.command_name)
            && command.context != GLOBAL_CONTEXT
        {
            let current = self.current_context(caller).await?;
            if !catalog.available_in(command, &current) {
                return Err(EngineError::NotHere {
                    command: command.name.clone(),
                    context: command.context.clone(),
                    here: wording::context_name(&current),
                });
            }
        }
        Ok(())
    }

    /// Run a validated command within `timeout`, tracing the call and its answer.
    pub(crate) async fn execute(
        &self,
        caller: &Caller,
        command: &Arc<Command>,
        params: Map<String, Value>,
        timeout: Timeout,
        trace: &mut TraceSink,
        raw_command: &str,
    ) -> Ran {
        trace.sent(raw_command, &command.name, &params);
        let run = self.executors().run(command, &params, caller);
        // A late answer is dropped with the future: it can never reach a later response.
        let (response, content, timed_out) =
            match tokio::time::timeout(timeout.duration(), run).await {
                Ok(execution) => (execution.response, execution.content, false),
                Err(_) => (
                    CommandResponse::fail(format!(
                        "{} produced no output within {} s",
                        command.name,
                        timeout.secs()
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
        trace.answered(
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
}

/// A command's run, before it is stored.
pub(crate) struct Ran {
    pub(crate) output: CommandOutput,
    pub(crate) content: Vec<ContentSpec>,
    pub(crate) timed_out: bool,
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

/// What the form says: the command, then each value asked for with its description.
fn ask_message(command: &Command, asking: &[&Param]) -> String {
    let wanted: Vec<String> = asking
        .iter()
        .map(|p| {
            if p.description.is_empty() {
                p.name.clone()
            } else {
                format!("{} ({})", p.name, p.description)
            }
        })
        .collect();
    format!(
        "{} needs: {}. {}",
        command.name,
        wanted.join(", "),
        first_sentence(&command.description)
    )
    .trim_end()
    .to_string()
}

fn first_sentence(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

/// How an action reads in a transcript: `name {"param": value}`.
pub(crate) fn raw_command(name: &str, params: &Map<String, Value>) -> String {
    if params.is_empty() {
        return name.to_string();
    }
    // Written straight from the map (the same text as `Value::Object`'s `Display`) rather
    // than copying every parameter into a `Value` first. A map of JSON values always
    // serializes; the fallback only keeps this infallible.
    match serde_json::to_string(params) {
        Ok(json) => format!("{name} {json}"),
        Err(_) => name.to_string(),
    }
}

/// The known name nearest to `wanted` by edit distance, if it is plausibly a typo.
fn closest_name<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Option<String> {
    let wanted = wanted.to_ascii_lowercase();
    let length = wanted.chars().count();
    names
        .filter_map(|name| {
            let max = (name.len() / 3).max(2);
            // Cheap first: a name whose length differs by more cannot be that close.
            if name.chars().count().abs_diff(length) > max {
                return None;
            }
            let distance = strsim::osa_distance(&wanted, &name.to_ascii_lowercase());
            (distance <= max).then_some((distance, name))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_command_reads_like_the_parameters_as_json() {
        let params = serde_json::json!({"order_id": "#W1", "items": ["a\"b", 2], "n": null});
        let Value::Object(params) = params else {
            panic!("an object");
        };
        assert_eq!(
            raw_command("modify", &params),
            format!("modify {}", Value::Object(params.clone()))
        );
        assert_eq!(raw_command("list", &Map::new()), "list");
    }

    #[test]
    fn suggests_near_names_only() {
        let names = ["get_ticket_details", "close_ticket"];
        assert_eq!(
            closest_name("get_ticket_detail", names.into_iter()).as_deref(),
            Some("get_ticket_details")
        );
        assert_eq!(closest_name("launch_rocket", names.into_iter()), None);
        assert_eq!(closest_name(&"x".repeat(100_000), names.into_iter()), None);
    }
}
