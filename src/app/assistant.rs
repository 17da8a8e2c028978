//! `invoke_assistant`: one conversational turn in assistant mode.
//!
//! The words go through a question in progress first (a numbered choice, missing parameters,
//! `abort`), then through the router (`crate::assistant`). The outcome is one of: a command
//! runs, a built-in answers, a question is asked (and remembered for the next turn), or the
//! assistant says nothing fits and what can be done instead. Every outcome is a stored turn;
//! the channel's assistant state is stored in the same write, so a restart resumes the dialog.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::App;
use super::actions::{ActionOutcome, Ran, TIMEOUT_RANGE, entered};
use crate::assistant::builtins::{self, BUILTINS};
use crate::assistant::{AssistantState, Dialog, Extraction, IntentDecision, extract};
use crate::exec::Caller;
use crate::exec::output::{Action, CommandOutput, CommandResponse};
use crate::session::{TurnInProgress, now_ms};
use crate::store::conversations::{StoreError, Turn, TurnMode};
use crate::trace::{TraceObserver, TraceSink};
use crate::workflow::catalog::GLOBAL_CONTEXT;
use crate::workflow::validate::{self, FieldError};
use crate::workflow::{Catalog, Command, Param, ParamType};

/// Longest message accepted (bytes): more is not a request a person typed.
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;

/// Words that leave a question in progress.
const ABORT_WORDS: &[&str] = &[
    "abort",
    "cancel",
    "stop",
    "quit",
    "exit",
    "never mind",
    "nevermind",
    "forget it",
    "cancel that",
];

/// Why a turn was refused (nothing was run or stored).
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error(transparent)]
    TurnInProgress(#[from] TurnInProgress),
    #[error("{0}")]
    Invalid(String),
    #[error("{command} produced no output within {seconds} s")]
    TimedOut { command: String, seconds: u64 },
    #[error("the turn could not be recorded: {0}")]
    Store(#[from] StoreError),
    /// The asker deferred a question to the client's next call; nothing was stored.
    #[error("input required")]
    InputRequired,
}

/// Asks the user for missing parameters out of band (MCP elicitation) when the client can.
pub trait ParamAsker: Send + Sync {
    fn ask<'a>(
        &'a self,
        request: AskRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = AskAnswer> + Send + 'a>>;
}

/// What to ask for.
pub struct AskRequest<'a> {
    pub command: &'a Command,
    pub params: Vec<&'a Param>,
    pub message: String,
}

/// The user's answer to an out-of-band question.
#[derive(Debug, Clone, PartialEq)]
pub enum AskAnswer {
    Values(Map<String, Value>),
    /// The user said no: the command is not run.
    Declined,
    /// No answer (the client cannot ask, or the user dismissed it): ask in text instead.
    Unavailable,
    /// The question goes out with the response and the client calls again with the answer
    /// (MCP 2026-07-28 `input_required`): this turn ends without being stored.
    Deferred,
}

/// The answer of one turn before it is stored.
struct Reply {
    output: CommandOutput,
    content: Vec<crate::workflow::ContentSpec>,
    timed_out: bool,
    /// A question was deferred to the client's next call (nothing to store).
    deferred: bool,
}

impl Reply {
    fn say(catalog: &Catalog, command_name: &str, response: CommandResponse) -> Self {
        Self {
            output: CommandOutput {
                command_responses: vec![response],
                workflow_name: catalog.name.clone(),
                context: GLOBAL_CONTEXT.to_string(),
                command_name: command_name.to_string(),
                command_parameters: Map::new(),
            },
            content: Vec::new(),
            timed_out: false,
            deferred: false,
        }
    }
}

/// Everything one turn works with.
struct TurnCtx<'a> {
    caller: &'a Caller,
    text: &'a str,
    seconds: u64,
    state: AssistantState,
    /// The question that was pending when the turn began: informational built-ins
    /// (what_can_i_do, what_is_current_context) leave it pending.
    suspended: Option<Dialog>,
    trace: TraceSink,
    asker: Option<&'a dyn ParamAsker>,
}

impl App {
    /// Answer `text` in assistant mode for `caller`'s channel (one turn at a time).
    pub async fn invoke_assistant(
        &self,
        caller: &Caller,
        text: &str,
        timeout_seconds: Option<u64>,
        observer: Option<TraceObserver>,
        asker: Option<&dyn ParamAsker>,
    ) -> Result<ActionOutcome, AssistantError> {
        let text = check_text(text)?;
        let seconds = timeout_seconds.unwrap_or(self.catalog().default_timeout_seconds);
        if !TIMEOUT_RANGE.contains(&seconds) {
            return Err(AssistantError::Invalid(format!(
                "timeout_seconds must be between 1 and 600, not {seconds}"
            )));
        }
        let session = self.sessions().get(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let before = session.assistant_state();
        let slot = session.next_slot();
        let mut turn = TurnCtx {
            caller,
            text: &text,
            seconds,
            state: before.clone(),
            suspended: before.dialog.clone(),
            trace: TraceSink::new(caller, slot, observer),
            asker,
        };
        let mut reply = self.respond(&mut turn).await;
        if reply.deferred {
            session.release_slot(slot);
            return Err(AssistantError::InputRequired);
        }
        reply.output.context = turn.state.context().to_string();
        let context_changed = turn.state.context() != before.context();
        let (reply_text, success) = (reply.output.text(), reply.output.success());
        let timed_out = reply.timed_out.then(|| reply.output.command_name.clone());
        let record = Turn {
            turn_id: slot.turn_id,
            mode: TurnMode::Assistant,
            user_query: text.clone(),
            command_output: reply.output.into_json(),
            traces: turn.trace.finish(),
            feedback: None,
            timestamp_ms: now_ms(),
        };
        let changed = (turn.state != before).then_some(turn.state);
        self.store_turn(&session, slot, &record, changed).await?;
        if let Some(command) = timed_out {
            return Err(AssistantError::TimedOut { command, seconds });
        }
        Ok(ActionOutcome {
            text: reply_text,
            success,
            output_json: record.command_output,
            content: reply.content,
            context_changed,
        })
    }

    async fn respond(&self, turn: &mut TurnCtx<'_>) -> Reply {
        let catalog = self.catalog();
        let mut reask = None;
        if let Some(dialog) = turn.state.dialog.take() {
            if is_abort(turn.text) {
                return self.say(
                    turn,
                    "abort",
                    CommandResponse::ok(format!(
                        "Cancelled: {}. What would you like to do?",
                        describe_dialog(&dialog)
                    )),
                );
            }
            // A built-in said mid-dialog is the built-in, not an answer.
            let says_builtin = builtins::builtin(&bare_name(turn.text)).is_some()
                || builtins::matching(turn.text).is_some();
            match dialog {
                _ if says_builtin => {}
                Dialog::ChooseCommand {
                    utterance,
                    candidates,
                } => {
                    if let Some(choice) = self.pick(turn.text, &candidates) {
                        if let Some(command) = catalog.command(&choice).cloned() {
                            let found = extract::extract(&command, &utterance);
                            return self.proceed(turn, &command, found).await;
                        }
                        if builtins::builtin(&choice).is_some() {
                            return self.run_builtin(turn, &choice);
                        }
                    }
                    reask = Some(Dialog::ChooseCommand {
                        utterance,
                        candidates,
                    });
                }
                Dialog::FillParams {
                    command,
                    values,
                    asking,
                } => {
                    if let Some(cmd) = catalog.command(&command).cloned() {
                        let asked: Vec<&str> = asking.iter().map(String::as_str).collect();
                        let answer = enum_by_number(&cmd, &asked, turn.text)
                            .unwrap_or_else(|| extract::extract_answer(&cmd, &asked, turn.text));
                        let answered = !answer.values.is_empty() || !answer.invalid.is_empty();
                        if answered
                            && crate::assistant::syntax::parse_explicit(catalog, turn.text)
                                .is_none()
                        {
                            let mut merged = values;
                            for (k, v) in answer.values {
                                merged.insert(k, v);
                            }
                            return self
                                .proceed(
                                    turn,
                                    &cmd,
                                    Extraction {
                                        values: merged,
                                        invalid: answer.invalid,
                                    },
                                )
                                .await;
                        }
                        reask = Some(Dialog::FillParams {
                            command,
                            values,
                            asking,
                        });
                    }
                }
            }
        }

        // A fresh request (or an answer that was not one).
        let bare = bare_name(turn.text);
        if builtins::builtin(&bare).is_some() {
            return self.run_builtin(turn, &bare);
        }
        let context = turn.state.context().to_string();
        let available = |name: &str| {
            builtins::builtin(name).is_some_and(|b| b.name != "abort" || reask.is_some())
                || catalog
                    .command(name)
                    .is_some_and(|c| catalog.available_in(c, &context))
        };
        let known = turn.state.context_values();
        let understanding = self.route(turn.caller, turn.text, &available, &known).await;
        match understanding.intent {
            IntentDecision::Confident(name) => {
                if let Some(command) = catalog.command(&name).cloned() {
                    self.proceed(turn, &command, understanding.extraction).await
                } else {
                    self.run_builtin(turn, &name)
                }
            }
            IntentDecision::Ambiguous(candidates) => {
                let response = choose_question(catalog, &candidates);
                turn.state.dialog = Some(Dialog::ChooseCommand {
                    utterance: turn.text.to_string(),
                    candidates,
                });
                self.say(turn, "", response)
            }
            IntentDecision::NoMatch => match reask {
                Some(dialog) => {
                    let response = match &dialog {
                        Dialog::ChooseCommand { candidates, .. } => {
                            let mut r = choose_question(catalog, candidates);
                            r.response = format!("That is not one of the choices.\n{}", r.response);
                            r
                        }
                        Dialog::FillParams {
                            command, asking, ..
                        } => match catalog.command(command) {
                            Some(cmd) => {
                                let params: Vec<&Param> =
                                    asking.iter().filter_map(|n| cmd.param(n)).collect();
                                params_question(cmd, &params, &[])
                            }
                            None => CommandResponse::fail("Please say that again."),
                        },
                    };
                    let name = match &dialog {
                        Dialog::FillParams { command, .. } => command.clone(),
                        Dialog::ChooseCommand { .. } => String::new(),
                    };
                    turn.state.dialog = Some(dialog);
                    self.say(turn, &name, response)
                }
                None => {
                    let list = commands_list(catalog, turn.state.context());
                    let response = CommandResponse::fail(format!(
                        "I could not match \"{}\" to anything I can do here.\n{list}",
                        preview(turn.text)
                    ))
                    .with_artifact("commands", commands_artifact(catalog, turn.state.context()));
                    self.say(turn, "", response)
                }
            },
        }
    }

    /// Run `command` with what was found (plus what the context provides), or ask for
    /// exactly the parameters still missing or invalid.
    async fn proceed(
        &self,
        turn: &mut TurnCtx<'_>,
        command: &Arc<Command>,
        found: Extraction,
    ) -> Reply {
        let mut values = found.values;
        let context_values = turn.state.context_values();
        for param in &command.params {
            if !values.contains_key(&param.name)
                && let Some(value) = context_values.get(&param.name)
            {
                values.insert(param.name.clone(), value.clone());
            }
        }
        let mut invalid = found.invalid;
        let mut asked_out_of_band = false;
        loop {
            let checked = validate::validate_params(command, Some(&Value::Object(values.clone())));
            let errors = match checked {
                Ok(params) if invalid.is_empty() => return self.run(turn, command, params).await,
                Ok(_) => Vec::new(),
                Err(errors) => errors,
            };
            // Keep what is valid; ask for the rest, in declaration order.
            let mut problems: Vec<FieldError> = invalid.clone();
            problems.extend(errors);
            let asking: Vec<&Param> = command
                .params
                .iter()
                .filter(|p| problems.iter().any(|e| e.field == p.name))
                .collect();
            for param in &asking {
                values.remove(&param.name);
            }
            if let (Some(asker), false) = (turn.asker, asked_out_of_band) {
                asked_out_of_band = true;
                let message = params_question(command, &asking, &problems).response;
                match asker
                    .ask(AskRequest {
                        command,
                        params: asking.clone(),
                        message,
                    })
                    .await
                {
                    AskAnswer::Values(given) => {
                        for (k, v) in given {
                            values.insert(k, v);
                        }
                        invalid.clear();
                        continue;
                    }
                    AskAnswer::Declined => {
                        return self.say(
                            turn,
                            &command.name,
                            CommandResponse::ok(format!(
                                "Cancelled: {} was not run.",
                                command.name
                            )),
                        );
                    }
                    AskAnswer::Deferred => {
                        let mut reply =
                            Reply::say(self.catalog(), &command.name, CommandResponse::fail(""));
                        reply.deferred = true;
                        return reply;
                    }
                    AskAnswer::Unavailable => {}
                }
            }
            let response = params_question(command, &asking, &problems);
            turn.state.dialog = Some(Dialog::FillParams {
                command: command.name.clone(),
                values: values.clone(),
                asking: asking.iter().map(|p| p.name.clone()).collect(),
            });
            let mut reply = self.say(turn, &command.name, response);
            reply.output.command_parameters = values;
            return reply;
        }
    }

    async fn run(
        &self,
        turn: &mut TurnCtx<'_>,
        command: &Arc<Command>,
        params: Map<String, Value>,
    ) -> Reply {
        let raw = format!("{} {}", command.name, Value::Object(params.clone()));
        let ran: Ran = self
            .execute(
                turn.caller,
                command,
                params,
                turn.seconds,
                &mut turn.trace,
                &raw,
            )
            .await;
        if let Some(after) = entered(self.catalog(), &turn.state, command, &ran) {
            turn.state = after;
        }
        turn.state.dialog = None;
        Reply {
            output: ran.output,
            content: ran.content,
            timed_out: ran.timed_out,
            deferred: false,
        }
    }

    fn run_builtin(&self, turn: &mut TurnCtx<'_>, name: &str) -> Reply {
        let catalog = self.catalog();
        let informational = matches!(name, "what_can_i_do" | "what_is_current_context");
        let mut response = match name {
            "what_can_i_do" => CommandResponse::ok(commands_list(catalog, turn.state.context()))
                .with_artifact("commands", commands_artifact(catalog, turn.state.context())),
            "what_is_current_context" => {
                let values = turn.state.context_values();
                let text = match turn.state.context() {
                    GLOBAL_CONTEXT => "You are in the global context.".to_string(),
                    context if values.is_empty() => format!("You are in the {context} context."),
                    context => format!(
                        "You are in the {context} context ({}).",
                        values
                            .iter()
                            .map(|(k, v)| format!("{k} = {}", plain(v)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                CommandResponse::ok(text).with_artifact(
                    "context",
                    json!({"name": turn.state.context(), "values": values}),
                )
            }
            "go_up" => {
                let left = turn.state.context().to_string();
                if turn.state.go_up() {
                    CommandResponse::ok(format!(
                        "Left the {left} context; now in {}.",
                        context_name(turn.state.context())
                    ))
                } else {
                    CommandResponse::ok("Already at the global context.")
                }
            }
            "reset_context" => {
                turn.state.reset();
                CommandResponse::ok("Back to the global context.")
            }
            "abort" => {
                turn.state.dialog = None;
                CommandResponse::ok("There is no question in progress to cancel.")
            }
            other => CommandResponse::fail(format!("unknown built-in command {other}")),
        };
        if informational && let Some(dialog) = turn.suspended.take() {
            response.response.push_str(&format!(
                "\n(Still waiting for your answer about {}; \"abort\" drops it.)",
                match &dialog {
                    Dialog::ChooseCommand { .. } => "which command you mean".to_string(),
                    Dialog::FillParams { command, .. } => command.clone(),
                }
            ));
            turn.state.dialog = Some(dialog);
        }
        self.say(turn, name, response)
    }

    /// A reply that ran no workflow command, traced like one.
    fn say(&self, turn: &mut TurnCtx<'_>, command_name: &str, response: CommandResponse) -> Reply {
        let empty = Map::new();
        turn.trace.to_workflow(turn.text, command_name, &empty);
        turn.trace
            .from_workflow(command_name, &empty, &response.response, response.success);
        Reply::say(self.catalog(), command_name, response)
    }

    /// The candidate a reply to "which one?" picks: a number, a name, or words closest to
    /// one of them.
    fn pick(&self, text: &str, candidates: &[String]) -> Option<String> {
        let answer = text
            .trim()
            .trim_end_matches(['.', '!', ')'])
            .trim_start_matches(['#', '('])
            .trim();
        if let Ok(n) = answer.parse::<usize>() {
            return candidates.get(n.checked_sub(1)?).cloned();
        }
        let bare = bare_name(answer);
        if let Some(found) = candidates.iter().find(|c| **c == bare) {
            return Some(found.clone());
        }
        let ranked = self
            .assistant()
            .index()
            .rank(text, &|name| candidates.iter().any(|c| c == name));
        match self.assistant().index().decide(&ranked) {
            IntentDecision::Confident(name) => Some(name),
            _ => None,
        }
    }
}

/// "2" answering a question for one enum parameter picks its second value.
fn enum_by_number(command: &Command, asked: &[&str], text: &str) -> Option<Extraction> {
    let [name] = asked else { return None };
    let param = command.param(name)?;
    let values = param.spec.enum_values.as_ref()?;
    let n: usize = text.trim().trim_end_matches('.').parse().ok()?;
    let value = values.get(n.checked_sub(1)?)?.clone();
    let mut found = Extraction::default();
    found.values.insert(param.name.clone(), value);
    Some(found)
}

/// Empty, oversized or control-character input is refused before anything happens.
fn check_text(text: &str) -> Result<String, AssistantError> {
    if text.len() > MAX_COMMAND_BYTES {
        return Err(AssistantError::Invalid(format!(
            "command is too long: {} bytes (at most {MAX_COMMAND_BYTES})",
            text.len()
        )));
    }
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AssistantError::Invalid(format!(
            "command contains a control character (U+{:04X} at byte {at}): send plain text",
            c as u32
        )));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(AssistantError::Invalid(
            "command is empty: say what you want to do (e.g. \"what can I do?\")".into(),
        ));
    }
    Ok(text.to_string())
}

fn is_abort(text: &str) -> bool {
    let words = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    ABORT_WORDS.contains(&words.as_str())
}

/// `text` as a command name: `/go_up`, `Go up`, `what_can_i_do?` → `go_up`, …
fn bare_name(text: &str) -> String {
    text.trim()
        .trim_start_matches('/')
        .trim_end_matches(['?', '.', '!'])
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

fn describe_dialog(dialog: &Dialog) -> String {
    match dialog {
        Dialog::ChooseCommand { .. } => "the choice of command".into(),
        Dialog::FillParams { command, .. } => format!("{command} was not run"),
    }
}

fn context_name(context: &str) -> String {
    if context == GLOBAL_CONTEXT {
        "the global context".into()
    } else {
        format!("the {context} context")
    }
}

fn choose_question(catalog: &Catalog, candidates: &[String]) -> CommandResponse {
    let mut text = String::from("Which of these do you mean?\n");
    let mut actions = Vec::new();
    for (i, name) in candidates.iter().enumerate() {
        let description = describe_command(catalog, name);
        text.push_str(&format!("{}. {name} — {description}\n", i + 1));
        actions.push(Action {
            command_name: name.clone(),
            parameters: Map::new(),
        });
    }
    text.push_str("Reply with a number or a name, or \"abort\".");
    let mut response = CommandResponse::fail(text).with_artifact(
        "clarification",
        json!({"kind": "choose_command", "candidates": candidates}),
    );
    response.next_actions = actions;
    response
}

fn params_question(
    command: &Command,
    asking: &[&Param],
    problems: &[FieldError],
) -> CommandResponse {
    let mut text = format!("To run {} I need:\n", command.name);
    let mut listed = Vec::new();
    for (i, param) in asking.iter().enumerate() {
        let mut line = format!("{}. {}", i + 1, param.name);
        if !param.description.is_empty() {
            line.push_str(&format!(" — {}", param.description));
        }
        if let Some(values) = &param.spec.enum_values {
            let values: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{}) {}", i + 1, plain(v)))
                .collect();
            line.push_str(&format!(" (one of: {})", values.join(", ")));
        } else if let Some(example) = example_of(param)
            && !param.description.contains(&example)
        {
            line.push_str(&format!(" (e.g. {example})"));
        }
        let problem = problems
            .iter()
            .find(|e| e.field == param.name && !e.message.starts_with("missing"))
            .map(|e| e.message.clone());
        if let Some(problem) = &problem {
            line.push_str(&format!(" [{problem}]"));
        }
        text.push_str(&line);
        text.push('\n');
        listed.push(json!({
            "name": param.name,
            "description": param.description,
            "type": param.spec.ty.as_str(),
            "example": example_of(param),
            "problem": problem,
        }));
    }
    text.push_str(if asking.len() == 1 {
        "Reply with the value, or \"abort\"."
    } else {
        "Reply with the values in this order, separated by commas (or as name=value), or \"abort\"."
    });
    CommandResponse::fail(text).with_artifact(
        "clarification",
        json!({"kind": "missing_parameters", "command": command.name, "parameters": listed}),
    )
}

fn example_of(param: &Param) -> Option<String> {
    if let Some(example) = param.examples.first() {
        return Some(plain(example));
    }
    Some(
        match param.spec.ty {
            ParamType::Integer => "3",
            ParamType::Number => "2.5",
            ParamType::Boolean => "yes",
            _ => return None,
        }
        .to_string(),
    )
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn describe_command(catalog: &Catalog, name: &str) -> String {
    let description = catalog
        .command(name)
        .map(|c| c.description.clone())
        .or_else(|| builtins::builtin(name).map(|b| b.description.to_string()))
        .unwrap_or_default();
    first_sentence(&description)
}

fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    text[..end].trim().to_string()
}

/// "In the global context you can: …" — the answer to what_can_i_do.
fn commands_list(catalog: &Catalog, context: &str) -> String {
    let mut text = format!("In {} you can:\n", context_name(context));
    for command in catalog.commands_in(context) {
        text.push_str(&format!(
            "- {}: {}\n",
            command.name,
            first_sentence(&command.description)
        ));
    }
    let names: Vec<&str> = BUILTINS.iter().map(|b| b.name).collect();
    text.push_str(&format!("And always: {}.", names.join(", ")));
    text
}

fn commands_artifact(catalog: &Catalog, context: &str) -> Value {
    Value::Array(
        catalog
            .commands_in(context)
            .map(|c| Value::String(c.name.clone()))
            .collect(),
    )
}

fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_text_is_refused_with_the_reason() {
        assert!(check_text("  ").unwrap_err().to_string().contains("empty"));
        let long = "a".repeat(MAX_COMMAND_BYTES + 1);
        assert!(
            check_text(&long)
                .unwrap_err()
                .to_string()
                .contains("too long")
        );
        let bell = check_text("show order\u{7}").unwrap_err().to_string();
        assert!(bell.contains("U+0007"), "{bell}");
        assert_eq!(
            check_text(" where am I\n").ok().as_deref(),
            Some("where am I")
        );
    }

    #[test]
    fn names_and_abort_words() {
        assert_eq!(bare_name("/go_up"), "go_up");
        assert_eq!(bare_name("What can I do?"), "what_can_i_do");
        assert!(is_abort("Never mind."));
        assert!(!is_abort("cancel order #W2611340"));
    }
}
