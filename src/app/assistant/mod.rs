//! `invoke_assistant`: one conversational turn in assistant mode.
//!
//! The words go through a question in progress first ([`dialog`]: a numbered choice, missing
//! parameters, `abort`), then through the router (`crate::assistant`, settled by the data in
//! `App::route`). The outcome is one of: a command runs, a built-in answers, a question is
//! asked (and remembered for the next turn), or the assistant says nothing fits and what can
//! be done instead. Every outcome is a stored turn; the channel's assistant state is stored in
//! the same write, so a restart resumes the dialog. What is said comes from
//! `crate::assistant::wording`.

mod dialog;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::actions::{ActionOutcome, Ran, entered};
use super::requests::{InvokeAssistant, MAX_QUERY_CHARS};
use super::trace::{TraceObserver, TraceSink};
use super::{App, EngineError};
use crate::assistant::builtins::{self, Builtin};
use crate::assistant::{AssistantState, Dialog, Extraction, IntentDecision, wording};
use crate::domain::{Caller, CommandOutput, CommandResponse, Timeout, Turn, TurnMode, now_ms};
use crate::workflow::catalog::GLOBAL_CONTEXT;
use crate::workflow::validate::{self, FieldError};
use crate::workflow::{Catalog, Command, ContentSpec, Param};

/// Asks the user for missing parameters out of band (MCP elicitation) when the client can.
pub trait ParamAsker: Send + Sync {
    fn ask<'a>(
        &'a self,
        request: AskRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = AskAnswer> + Send + 'a>>;
}

/// What to ask for.
#[derive(Debug)]
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
    /// The user dismissed the form without saying yes or no (MCP `cancel`).
    Cancelled,
    /// No answer (the client cannot ask, or the user dismissed it): ask in text instead.
    Unavailable,
    /// The question goes out with the response and the client calls again with the answer
    /// (MCP 2026-07-28 `input_required`): this turn ends without being stored.
    Deferred,
}

/// How an assistant turn ended.
#[derive(Debug, Clone)]
pub enum AssistantReply {
    /// Answered (and stored).
    Answered(ActionOutcome),
    /// The asker deferred a question to the client's next call; nothing was stored.
    InputRequired,
}

/// The answer of one turn before it is stored.
struct Reply {
    output: CommandOutput,
    content: Vec<ContentSpec>,
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
    timeout: Timeout,
    state: AssistantState,
    /// The question that was pending when the turn began: informational built-ins
    /// (what_can_i_do, what_is_current_context) leave it pending.
    suspended: Option<Dialog>,
    trace: TraceSink,
    asker: Option<&'a dyn ParamAsker>,
}

impl App {
    /// Answer the request's words in assistant mode for `caller`'s channel (one turn at a
    /// time: a second one meanwhile is refused at once).
    pub async fn invoke_assistant(
        &self,
        caller: &Caller,
        request: InvokeAssistant,
        observer: Option<TraceObserver>,
        asker: Option<&dyn ParamAsker>,
    ) -> Result<AssistantReply, EngineError> {
        let text = check_text(&request.command)?;
        let timeout = request
            .timeout_seconds
            .unwrap_or(self.catalog().default_timeout);
        let session = self.session(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let _admitted = self.admit()?;
        let before = session.assistant_state();
        let slot = session.next_slot();
        let mut turn = TurnCtx {
            caller,
            text,
            timeout,
            state: before.clone(),
            suspended: before.dialog.clone(),
            trace: TraceSink::new(caller, slot, observer),
            asker,
        };
        let mut reply = self.respond(&mut turn).await;
        if reply.deferred {
            session.release_slot(slot);
            return Ok(AssistantReply::InputRequired);
        }
        reply.output.context = turn.state.context().to_string();
        let context_changed = turn.state.context() != before.context();
        let timed_out = reply.timed_out.then(|| reply.output.command_name.clone());
        let record = Turn {
            turn_id: slot.turn_id,
            mode: TurnMode::Assistant,
            user_query: text.to_string(),
            command_output: reply.output,
            traces: turn.trace.finish(),
            feedback: None,
            timestamp_ms: now_ms(),
        };
        let changed = (turn.state != before).then_some(turn.state);
        self.store_turn(&session, slot, &record, changed).await?;
        if let Some(command) = timed_out {
            return Err(EngineError::TimedOut {
                command,
                seconds: timeout.secs(),
            });
        }
        Ok(AssistantReply::Answered(ActionOutcome::of(
            record,
            reply.content,
            context_changed,
        )))
    }

    async fn respond(&self, turn: &mut TurnCtx<'_>) -> Reply {
        let catalog = self.catalog();
        // A question in progress takes the words first; what it does not take is a fresh
        // request, and the question is asked again if nothing else fits either.
        let mut reask = None;
        if let Some(dialog) = turn.state.dialog.take() {
            match self.answer(turn, dialog).await {
                dialog::Answered::Reply(reply) => return reply,
                dialog::Answered::NotAnAnswer(dialog) => reask = dialog,
            }
        }

        let bare = dialog::bare_name(turn.text);
        if builtins::builtin(&bare).is_some() {
            return self.run_builtin(turn, &bare);
        }
        let context = turn.state.context().to_string();
        let pending = reask.is_some();
        let available = |name: &str| {
            builtins::builtin(name).is_some_and(|b| !b.only_mid_dialog || pending)
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
                let response = wording::choose_question(catalog, &candidates);
                turn.state.dialog = Some(Dialog::ChooseCommand {
                    utterance: turn.text.to_string(),
                    candidates,
                });
                self.say(turn, "", response)
            }
            IntentDecision::NoMatch => match reask {
                Some(dialog) => self.ask_again(turn, dialog),
                None => {
                    let response = wording::no_match(catalog, turn.state.context(), turn.text);
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
                let message = wording::params_question(command, &asking, &problems).response;
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
                        return self.say(turn, &command.name, wording::declined(&command.name));
                    }
                    AskAnswer::Deferred => {
                        let mut reply =
                            Reply::say(self.catalog(), &command.name, CommandResponse::fail(""));
                        reply.deferred = true;
                        return reply;
                    }
                    // Dismissed or not sent: the assistant asks in its reply instead.
                    AskAnswer::Unavailable | AskAnswer::Cancelled => {}
                }
            }
            let response = wording::params_question(command, &asking, &problems);
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
                turn.timeout,
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

    /// Run the built-in called `name`; an informational one leaves a pending question pending.
    fn run_builtin(&self, turn: &mut TurnCtx<'_>, name: &str) -> Reply {
        let Some(builtin) = builtins::builtin(name) else {
            let response = CommandResponse::fail(format!("unknown built-in command {name}"));
            return self.say(turn, name, response);
        };
        let Builtin {
            run, informational, ..
        } = *builtin;
        let mut response = run(self.catalog(), &mut turn.state);
        if informational && let Some(dialog) = turn.suspended.take() {
            response.response.push_str(&wording::still_waiting(&dialog));
            turn.state.dialog = Some(dialog);
        }
        self.say(turn, name, response)
    }

    /// A reply that ran no workflow command, traced like one.
    fn say(&self, turn: &mut TurnCtx<'_>, command_name: &str, response: CommandResponse) -> Reply {
        let empty = Map::new();
        turn.trace.sent(turn.text, command_name, &empty);
        turn.trace
            .answered(command_name, &empty, &response.response, response.success);
        Reply::say(self.catalog(), command_name, response)
    }
}

/// Oversized, empty or control-character input is refused before anything happens.
pub(crate) fn check_text(text: &str) -> Result<&str, EngineError> {
    check_field(text, "command")
}

/// [`check_text`] for a request field of another name (`user_query`).
pub(crate) fn check_field<'a>(text: &'a str, field: &'static str) -> Result<&'a str, EngineError> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(EngineError::TooLong {
            field,
            chars,
            limit: MAX_QUERY_CHARS,
        });
    }
    if let Some((at, c)) = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(EngineError::invalid(
            field,
            format!(
                "contains a control character (U+{:04X} at byte {at}): send plain text",
                c as u32
            ),
        ));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(EngineError::invalid(
            field,
            "is empty: say what you want to do (e.g. \"what can I do?\")",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_text_is_refused_with_the_reason() {
        let empty = check_text("  ").expect_err("empty");
        assert!(empty.to_string().contains("empty"), "{empty}");
        assert_eq!(empty.status(), 422);
        let long = "é".repeat(MAX_QUERY_CHARS + 1);
        let too_long = check_text(&long).expect_err("too long");
        assert!(too_long.to_string().contains("too long"), "{too_long}");
        assert_eq!(too_long.status(), 422);
        // Characters, as JSON Schema's maxLength counts them, not bytes.
        assert!(check_text(&"é".repeat(MAX_QUERY_CHARS)).is_ok());
        let bell = check_text("show order\u{7}")
            .expect_err("control")
            .to_string();
        assert!(bell.contains("U+0007"), "{bell}");
        assert_eq!(check_text(" where am I\n").ok(), Some("where am I"));
    }
}
