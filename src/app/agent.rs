//! `invoke_agent`: one conversational turn in agent mode — a model plans and calls the
//! workflow's commands.
//!
//! Each step asks the model (the configured LLM, else the MCP client's own through
//! sampling) with the commands of the channel's current context, plus `ask_user`,
//! `what_can_i_do` and `finish`. A command call is validated and run like any other; what is
//! wrong with a call (unknown tool, bad JSON, an invalid parameter) goes back to the model as
//! the tool's result, never to the user. The turn ends at `finish`, at `ask_user` (the plan is
//! kept in the channel's state, so the next message answers the question, even after a
//! restart), or at the step limit, where the model is asked once more, without tools, for the
//! answer. Every model call and every command run is a trace event, streamed as it happens.
//!
//! With no model at all, the assistant router answers and says so: the channel never fails
//! for want of an LLM.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::actions::{ActionOutcome, entered};
use super::assistant::check_field;
use super::requests::{InvokeAgent, InvokeAssistant};
use super::trace::{TraceObserver, TraceSink};
use super::{App, AssistantReply, EngineError, ParamAsker, blocking};
use crate::agent::plan::{self, OwnTools, PastTurn, Plan, Setting};
use crate::agent::{ChatRequest, Completion, LlmClient, LlmError, Message, ToolCall, ToolSpec};
use crate::assistant::{AssistantState, wording};
use crate::domain::{
    Caller, CommandOutput, CommandResponse, Direction, Timeout, Turn, TurnMode, now_ms,
};
use crate::workflow::validate;

/// How long an agent turn may take when the request does not say.
pub const DEFAULT_AGENT_TURN: Duration = Duration::from_secs(300);
/// Model calls an agent turn may make before it must answer.
pub const DEFAULT_MAX_STEPS: u32 = 25;
/// How often a too-long request is shortened and tried again.
const CONTEXT_RETRIES: usize = 12;

/// What the client of this request lends the agent.
#[derive(Default, Clone)]
pub struct Borrowed<'a> {
    /// The client's own model (MCP sampling), used when none is configured.
    pub llm: Option<&'a dyn LlmClient>,
    /// Asks for missing parameters out of band, for the assistant's answer without a model.
    pub asker: Option<&'a dyn ParamAsker>,
    /// The client's model answers across calls (MCP 2026-07-28 `input_required`): `llm`
    /// defers each request to the client's next call, which this continues.
    pub rounds: Option<ClientRounds<'a>>,
}

/// A turn carried across the client's calls.
#[derive(Debug, Clone)]
pub struct ClientRounds<'a> {
    /// The handle of the plan this call continues (from its `request_state`); `None` on
    /// the first call.
    pub continues: Option<&'a str>,
    /// Calls the client makes before it gives up (rmcp's clients: 10).
    pub max_calls: u32,
    /// The client can put `ask_user`'s question to the user within the call (elicitation).
    pub can_ask: bool,
    /// The user's answer to the question the previous call asked.
    pub answer: Option<UserAnswer>,
}

/// What the user said to a question asked within the call.
#[derive(Debug, Clone, PartialEq)]
pub enum UserAnswer {
    Said(String),
    /// Declined or dismissed: the turn ends, politely.
    Declined,
}

impl std::fmt::Debug for Borrowed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Borrowed")
            .field("llm", &self.llm.map(|l| l.describe()))
            .field("asker", &self.asker.is_some())
            .finish()
    }
}

/// How an agent turn ended.
#[derive(Debug, Clone)]
pub enum AgentReply {
    /// Answered (and stored).
    Answered(ActionOutcome),
    /// A question went to the client with the response (MCP 2026-07-28 `input_required`);
    /// the client's next call answers it.
    InputRequired,
    /// The model's next step is asked of the client's own model (`input_required`); the
    /// client's next call brings its answer and names `handle` (sealed in its
    /// `request_state`). The plan so far is kept in the channel's state.
    AwaitingModel { handle: String },
    /// `ask_user`'s question goes to the user within the call (an elicitation in
    /// `input_required`); the client's next call brings the answer and names `handle`.
    AwaitingUser { handle: String, question: String },
}

/// How the loop ended.
enum End {
    Finished(String),
    Asked(String),
    /// The model could not be used: said to the user, the plan dropped.
    Failed(String),
    TimedOut,
    /// The model's answer is awaited from the client (a client round).
    Deferred,
}

/// One running turn.
struct Run<'a> {
    caller: &'a Caller,
    llm: &'a dyn LlmClient,
    own: OwnTools,
    state: AssistantState,
    plan: Plan,
    history: Vec<PastTurn>,
    trace: TraceSink,
    command_timeout: Timeout,
    deadline: Instant,
    max_steps: u32,
    /// The turn runs within a client's rounds (its model, its questions).
    rounds: Option<(u32, bool)>,
    /// The last command run: the turn's `command_name` and parameters.
    last_command: Option<(String, Map<String, Value>)>,
    commands_run: Vec<String>,
}

impl Run<'_> {
    /// Within a client's rounds, the last model request must be made now: its answer comes
    /// with the client's last call.
    fn last_round(&self) -> bool {
        self.rounds
            .is_some_and(|(max_calls, _)| self.plan.rounds + 2 >= max_calls)
    }

    /// `ask_user` can put its question within the call, leaving rounds for the model to go
    /// on after the answer.
    fn can_ask_within_call(&self) -> bool {
        self.rounds
            .is_some_and(|(max_calls, can_ask)| can_ask && self.plan.rounds + 4 <= max_calls)
    }
}

/// A plan continued by the client's next call: the model's answer is awaited by the loop;
/// the user's answer to the question asked goes to the plan now. Returns the plan, the trace
/// events carried, and whether the user declined.
fn continue_in_call(
    mut plan: Plan,
    answer: Option<UserAnswer>,
) -> Result<(Plan, Vec<Value>, bool), EngineError> {
    plan.awaiting_client = None;
    let carried = std::mem::take(&mut plan.carried_traces);
    let Some(call) = plan.waiting_on.take() else {
        return Ok((plan, carried, false));
    };
    match answer {
        Some(UserAnswer::Said(words)) => {
            plan.trajectory.push(Message::tool_result(
                &call,
                format!("The user answered: {words}"),
            ));
            Ok((plan, carried, false))
        }
        Some(UserAnswer::Declined) => {
            plan.trajectory
                .push(Message::tool_result(&call, "The user declined to answer."));
            Ok((plan, carried, true))
        }
        None => Err(EngineError::invalid(
            "input_responses",
            "the question asked needs its answer (\"question\")",
        )),
    }
}

impl App {
    /// The model agent turns use, when one is configured.
    pub fn llm(&self) -> Option<&Arc<dyn LlmClient>> {
        self.inner.llm.as_ref()
    }

    /// Answer the user's words in agent mode for `caller`'s channel.
    pub async fn invoke_agent(
        &self,
        caller: &Caller,
        request: InvokeAgent,
        observer: Option<TraceObserver>,
        borrowed: Borrowed<'_>,
    ) -> Result<AgentReply, EngineError> {
        let llm: &dyn LlmClient = match (&self.inner.llm, borrowed.llm) {
            (Some(llm), _) => llm.as_ref(),
            (None, Some(llm)) => llm,
            (None, None) => {
                return self
                    .agent_without_llm(caller, request, observer, borrowed)
                    .await;
            }
        };
        let text = check_field(&request.user_query, "user_query")?;
        let turn_timeout = request
            .timeout_seconds
            .map_or(DEFAULT_AGENT_TURN, |t| t.duration());
        let command_timeout = request
            .timeout_seconds
            .unwrap_or(self.catalog().default_timeout);
        let session = self.session(&caller.channel_id).await?;
        let _turn = session.turn_lock.try_begin(caller.channel_id.as_str())?;
        let _admitted = self.admit()?;
        let before = session.assistant_state();
        let history = self
            .past_turns(caller, session.active_conversation())
            .await?;
        let stored = Plan::from_stored(before.agent.as_ref());
        let rounds = borrowed.rounds;
        let (plan, carried, declined) = match rounds.as_ref().and_then(|r| r.continues) {
            Some(handle) => match stored {
                Some(plan) if plan.awaiting_client.as_deref() == Some(handle) => {
                    continue_in_call(plan, rounds.as_ref().and_then(|r| r.answer.clone()))?
                }
                _ => {
                    return Err(EngineError::invalid(
                        "request_state",
                        "does not continue this channel's agent turn: it was used already, \
                         or the turn has moved on; call again without it",
                    ));
                }
            },
            None => (Plan::resume(stored, text), Vec::new(), false),
        };
        let max_steps = self.inner.agent_max_steps;
        let slot = session.next_slot();
        let catalog = self.catalog();
        let mut trace = TraceSink::new(caller, slot, observer);
        trace.carry(carried);
        let mut run = Run {
            caller,
            llm,
            own: plan::own_tools(|name| catalog.command(name).is_some()),
            state: before.clone(),
            plan,
            history,
            trace,
            command_timeout,
            deadline: Instant::now() + turn_timeout,
            max_steps,
            rounds: rounds.as_ref().map(|r| (r.max_calls, r.can_ask)),
            last_command: None,
            commands_run: Vec::new(),
        };
        let end = if declined {
            End::Finished("All right, I have left it there.".into())
        } else {
            self.agent_loop(&mut run).await
        };
        // Within a client's rounds, the model's request or the user's question goes out
        // with the response, and the plan waits in the store for the next call.
        let out = match &end {
            End::Deferred => Some(None),
            End::Asked(question) if run.can_ask_within_call() => Some(Some(question.clone())),
            _ => None,
        };
        if let Some(question) = out {
            let Run {
                mut state,
                mut plan,
                trace,
                ..
            } = run;
            let handle = new_handle()?;
            plan.awaiting_client = Some(handle.clone());
            plan.rounds += 1;
            plan.carried_traces = trace
                .finish()
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .collect();
            state.agent = plan.to_stored();
            self.keep_state(&session, state).await?;
            session.release_slot(slot);
            return Ok(match question {
                Some(question) => AgentReply::AwaitingUser { handle, question },
                None => AgentReply::AwaitingModel { handle },
            });
        }
        let Run {
            mut state,
            mut plan,
            trace,
            last_command,
            commands_run,
            ..
        } = run;
        let (response, timed_out) = match end {
            End::Finished(answer) => (CommandResponse::ok(answer), false),
            End::Asked(question) => (CommandResponse::ok(question), false),
            End::Failed(why) => (CommandResponse::fail(why), false),
            // Handled above: a deferred turn is not stored.
            End::Deferred => (CommandResponse::fail(""), false),
            End::TimedOut => (
                CommandResponse::fail(format!(
                    "The agent ran out of time after {} s.",
                    turn_timeout.as_secs()
                )),
                true,
            ),
        };
        state.agent = if plan.waiting_on.is_some() {
            plan.to_stored()
        } else {
            plan.trajectory.clear();
            None
        };
        let steps = plan.steps;
        let response = response.with_artifact(
            "agent",
            json!({"llm": true, "steps": steps, "commands": commands_run}),
        );
        let (command_name, command_parameters) = last_command.unwrap_or_default();
        let output = CommandOutput {
            command_responses: vec![response],
            workflow_name: catalog.name.clone(),
            context: state.context().to_string(),
            command_name,
            command_parameters,
        };
        let context_changed = state.context() != before.context();
        let (reply_text, success) = (output.text(), output.success());
        let record = Turn {
            turn_id: slot.turn_id,
            mode: TurnMode::Agent,
            user_query: text.to_string(),
            command_output: output,
            traces: trace.finish(),
            feedback: None,
            timestamp_ms: now_ms(),
        };
        let changed = (state != before).then_some(state);
        self.store_turn(&session, slot, &record, changed).await?;
        if timed_out {
            return Err(EngineError::TimedOut {
                command: "invoke_agent".into(),
                seconds: turn_timeout.as_secs(),
            });
        }
        let Turn {
            command_output,
            traces,
            ..
        } = record;
        Ok(AgentReply::Answered(ActionOutcome {
            text: reply_text,
            success,
            output_json: command_output.into_json(),
            content: Vec::new(),
            context_changed,
            traces,
        }))
    }

    /// No model: the assistant router answers, and the answer says why.
    async fn agent_without_llm(
        &self,
        caller: &Caller,
        request: InvokeAgent,
        observer: Option<TraceObserver>,
        borrowed: Borrowed<'_>,
    ) -> Result<AgentReply, EngineError> {
        check_field(&request.user_query, "user_query")?;
        let request = InvokeAssistant {
            command: request.user_query,
            timeout_seconds: request.timeout_seconds,
        };
        match self
            .invoke_assistant(caller, request, observer, borrowed.asker)
            .await?
        {
            AssistantReply::InputRequired => Ok(AgentReply::InputRequired),
            AssistantReply::Answered(mut outcome) => {
                if let Some(Value::Object(artifacts)) = outcome
                    .output_json
                    .pointer_mut("/command_responses/0/artifacts")
                {
                    artifacts.insert("agent".into(), json!({"llm": false, "note": NO_LLM_NOTE}));
                }
                Ok(AgentReply::Answered(outcome))
            }
        }
    }

    /// The conversation's last turns, oldest first, as context for the model.
    async fn past_turns(
        &self,
        caller: &Caller,
        conversation: u64,
    ) -> Result<Vec<PastTurn>, EngineError> {
        let store = self.store().clone();
        let channel = caller.channel_id.clone();
        let turns = blocking(move || store.turns(&channel, conversation)).await?;
        let skip = turns.len().saturating_sub(plan::HISTORY_TURNS);
        Ok(turns
            .into_iter()
            .skip(skip)
            .map(|t| PastTurn {
                answer: t.command_output.text(),
                user: t.user_query,
            })
            .collect())
    }

    /// Keep the channel's state without a turn (a plan awaiting the client's model).
    async fn keep_state(
        &self,
        session: &crate::session::Session,
        state: AssistantState,
    ) -> Result<(), EngineError> {
        let store = self.store().clone();
        let (channel, stored) = (session.channel.clone(), state.to_stored());
        blocking(move || store.set_pending(&channel, stored)).await?;
        session.set_assistant_state(state);
        Ok(())
    }

    async fn agent_loop(&self, run: &mut Run<'_>) -> End {
        let max_steps = run.max_steps;
        loop {
            if Instant::now() >= run.deadline {
                return End::TimedOut;
            }
            if run.plan.steps >= max_steps || run.last_round() {
                return self.final_answer(run).await;
            }
            let tools = self.agent_tools(run);
            let completion = match self.ask_model(run, tools).await {
                Ok(completion) => completion,
                Err(LlmError::TimedOut(_)) if Instant::now() >= run.deadline => {
                    return End::TimedOut;
                }
                Err(LlmError::Deferred) => return End::Deferred,
                Err(e) => return End::Failed(format!("The agent could not go on: {e}")),
            };
            if completion.tool_calls.is_empty() {
                let text = completion.content.trim();
                if !text.is_empty() {
                    return End::Finished(text.to_string());
                }
                run.plan.trajectory.push(Message::assistant(""));
                run.plan.trajectory.push(Message::user(format!(
                    "Call a tool, or `{}` with the answer for the user.",
                    run.own.finish
                )));
                continue;
            }
            let mut said = Message::assistant(completion.content.clone());
            said.tool_calls.clone_from(&completion.tool_calls);
            run.plan.trajectory.push(said);
            let mut end = None;
            for call in &completion.tool_calls {
                if end.is_some() {
                    let skipped = "Not run: the turn ended before this call.";
                    run.plan
                        .trajectory
                        .push(Message::tool_result(&call.id, skipped));
                    continue;
                }
                end = self.take_call(run, call, &completion).await;
            }
            if let Some(end) = end {
                return end;
            }
        }
    }

    /// Carry out one tool call; `Some` when it ends the turn.
    async fn take_call(
        &self,
        run: &mut Run<'_>,
        call: &ToolCall,
        completion: &Completion,
    ) -> Option<End> {
        let arguments = call.parsed_arguments();
        if call.name == run.own.finish {
            let answer = arguments
                .ok()
                .and_then(|a| a.get("answer").and_then(Value::as_str).map(str::to_string))
                .filter(|a| !a.trim().is_empty())
                .or_else(|| Some(completion.content.trim().to_string()))
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "Done.".to_string());
            run.plan
                .trajectory
                .push(Message::tool_result(&call.id, "Finished."));
            return Some(End::Finished(answer));
        }
        if call.name == run.own.ask_user {
            let question = arguments
                .ok()
                .and_then(|a| {
                    a.get("question")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .filter(|q| !q.trim().is_empty());
            let Some(question) = question else {
                let error = "ask_user needs a `question` (a string).";
                self.tool_error(run, call, &Map::new(), error);
                return None;
            };
            run.plan.waiting_on = Some(call.id.clone());
            return Some(End::Asked(question));
        }
        if call.name == run.own.what_can_i_do {
            let list = wording::commands_list(self.catalog(), run.state.context()).response;
            run.trace.sent(&call.name, &call.name, &Map::new());
            run.trace.answered(&call.name, &Map::new(), &list, true);
            run.plan
                .trajectory
                .push(Message::tool_result(&call.id, list));
            return None;
        }
        let arguments = match arguments {
            Ok(arguments) => arguments,
            Err(why) => {
                self.tool_error(run, call, &Map::new(), &why);
                return None;
            }
        };
        self.run_tool_command(run, call, arguments).await;
        None
    }

    /// A workflow command the model called, checked first.
    async fn run_tool_command(
        &self,
        run: &mut Run<'_>,
        call: &ToolCall,
        mut arguments: Map<String, Value>,
    ) {
        let catalog = self.catalog();
        let context = run.state.context().to_string();
        let command = catalog
            .command(&call.name)
            .filter(|c| catalog.available_in(c, &context))
            .cloned();
        let Some(command) = command else {
            let names: Vec<&str> = catalog
                .commands_in(&context)
                .map(|c| c.name.as_str())
                .collect();
            let error = format!(
                "There is no tool `{}` here. The commands here are: {}.",
                call.name,
                names.join(", ")
            );
            self.tool_error(run, call, &arguments, &error);
            return;
        };
        // What the context knows fills what the model left out.
        for (name, value) in run.state.context_values() {
            if command.param(&name).is_some() && !arguments.contains_key(&name) {
                arguments.insert(name, value);
            }
        }
        let params =
            match validate::validate_params(&command, Some(&Value::Object(arguments.clone()))) {
                Ok(params) => params,
                Err(errors) => {
                    let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    let error = format!("Invalid arguments: {}", problems.join("; "));
                    self.tool_error(run, call, &arguments, &error);
                    return;
                }
            };
        let raw = super::actions::raw_command(&command.name, &params);
        let ran = self
            .execute(
                run.caller,
                &command,
                params,
                run.command_timeout,
                &mut run.trace,
                &raw,
            )
            .await;
        if let Some(after) = entered(catalog, &run.state, &command, &ran) {
            run.state.frames = after.frames;
        }
        let mut result = ran.output.text();
        if ran.timed_out {
            result.push_str(" (timed out)");
        }
        for response in &ran.output.command_responses {
            if !response.artifacts.is_empty() {
                result.push_str(&format!(
                    "\nData: {}",
                    Value::Object(response.artifacts.clone())
                ));
            }
        }
        run.plan
            .trajectory
            .push(Message::tool_result(&call.id, plan::clip(&result)));
        run.commands_run.push(command.name.clone());
        run.last_command = Some((command.name.clone(), ran.output.command_parameters));
    }

    /// A call that could not be carried out: traced, and said back to the model.
    fn tool_error(
        &self,
        run: &mut Run<'_>,
        call: &ToolCall,
        arguments: &Map<String, Value>,
        error: &str,
    ) {
        run.trace.sent(
            &format!("{} {}", call.name, call.arguments),
            &call.name,
            arguments,
        );
        run.trace.answered(&call.name, arguments, error, false);
        run.plan
            .trajectory
            .push(Message::tool_result(&call.id, format!("Error: {error}")));
    }

    /// The tools on offer where the channel is: its commands, then the agent's own.
    fn agent_tools(&self, run: &Run<'_>) -> Vec<ToolSpec> {
        let catalog = self.catalog();
        let mut tools: Vec<ToolSpec> = catalog
            .commands_in(run.state.context())
            .map(|c| ToolSpec {
                name: c.name.clone(),
                description: c.description.clone(),
                parameters: (*c.input_schema).clone(),
            })
            .collect();
        tools.extend(run.own.specs());
        tools
    }

    fn system_prompt(&self, run: &Run<'_>) -> String {
        let catalog = self.catalog();
        let here = wording::where_we_are(run.state.context(), &run.state.context_values());
        plan::system_prompt(&Setting {
            workflow: &catalog.name,
            description: &catalog.description,
            context: here
                .response
                .trim_start_matches("You are in ")
                .trim_end_matches('.')
                .to_string(),
        })
    }

    /// One model call, traced; a request too long for the model is shortened (the oldest
    /// earlier turns, then the oldest steps) and tried again.
    async fn ask_model(
        &self,
        run: &mut Run<'_>,
        tools: Vec<ToolSpec>,
    ) -> Result<Completion, LlmError> {
        let system = self.system_prompt(run);
        let mut skip_history = 0;
        let mut tries = 0;
        let started = Instant::now();
        run.plan.steps += 1;
        let result = loop {
            let request = plan::request(
                &system,
                &run.history[skip_history.min(run.history.len())..],
                &run.plan,
                tools.clone(),
            );
            match run.llm.chat(&request, run.deadline).await {
                Err(LlmError::ContextLength(why)) if tries < CONTEXT_RETRIES => {
                    tries += 1;
                    if skip_history < run.history.len() {
                        skip_history += 1;
                    } else if !run.plan.drop_oldest_step() {
                        break Err(LlmError::ContextLength(why));
                    }
                    tracing::debug!(tries, "the request was too long for the model: shortened");
                }
                Ok(mut completion) => {
                    completion.recover_calls_from_content(&request.tools);
                    break Ok(completion);
                }
                Err(e) => break Err(e),
            }
        };
        if matches!(result, Err(LlmError::Deferred)) {
            // Asked again when the client answers: not a step yet.
            run.plan.steps -= 1;
        } else {
            self.trace_model_call(run, &result, started);
        }
        result
    }

    fn trace_model_call(
        &self,
        run: &mut Run<'_>,
        result: &Result<Completion, LlmError>,
        started: Instant,
    ) {
        let mut parameters = Map::new();
        parameters.insert("step".into(), json!(run.plan.steps));
        parameters.insert("ms".into(), json!(started.elapsed().as_millis() as u64));
        let (raw, text, success) = match result {
            Ok(completion) => {
                let calls: Vec<String> = completion
                    .tool_calls
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.arguments))
                    .collect();
                parameters.insert(
                    "tool_calls".into(),
                    json!(
                        completion
                            .tool_calls
                            .iter()
                            .map(|c| &c.name)
                            .collect::<Vec<_>>()
                    ),
                );
                (calls.join("\n"), completion.content.clone(), true)
            }
            Err(e) => (String::new(), e.to_string(), false),
        };
        run.trace.note(
            Direction::AgentToWorkflow,
            &raw,
            LLM_TRACE_NAME,
            &parameters,
            text,
            success,
        );
    }

    /// The step limit: one more model call, without tools, for the answer; if even that
    /// fails, what the last command said.
    async fn final_answer(&self, run: &mut Run<'_>) -> End {
        let mut closing = run.plan.clone();
        closing.trajectory.push(Message::user(format!(
            "You have used all {} steps. Answer the user now from what you found; do not call \
             tools.",
            run.max_steps
        )));
        let request: ChatRequest =
            plan::request(&self.system_prompt(run), &run.history, &closing, Vec::new());
        let started = Instant::now();
        let result = run.llm.chat(&request, run.deadline).await;
        if matches!(result, Err(LlmError::Deferred)) {
            return End::Deferred;
        }
        self.trace_model_call(run, &result, started);
        match result {
            Ok(c) if !c.content.trim().is_empty() => End::Finished(c.content.trim().to_string()),
            _ => {
                let last = run
                    .plan
                    .trajectory
                    .iter()
                    .rev()
                    .find(|m| m.tool_call_id.is_some())
                    .map(|m| m.content.clone());
                End::Finished(match last {
                    Some(last) => format!(
                        "I could not finish within {} steps. The last result was: {last}",
                        run.max_steps
                    ),
                    None => format!("I could not finish within {} steps.", run.max_steps),
                })
            }
        }
    }
}

impl App {
    /// A topic and summary of `turns` written by the model; `None` when it fails or answers
    /// something unreadable (the caller derives them instead).
    pub(crate) async fn topic_from_llm(
        &self,
        llm: &dyn LlmClient,
        turns: &[Turn],
    ) -> Option<(String, String)> {
        let mut transcript = String::new();
        for turn in turns.iter().rev().take(20).rev() {
            transcript.push_str(&format!(
                "User: {}\nAnswer: {}\n",
                turn.user_query,
                plan::clip(&turn.command_output.text())
            ));
        }
        let request = ChatRequest {
            messages: vec![
                Message::system(
                    "Name this conversation. Reply with JSON only: {\"topic\": \"3 to 6 words\", \
                     \"summary\": \"one or two sentences\"}.",
                ),
                Message::user(plan::clip(&transcript)),
            ],
            tools: Vec::new(),
        };
        let deadline = Instant::now() + TOPIC_WITHIN;
        let completion = match llm.chat(&request, deadline).await {
            Ok(completion) => completion,
            Err(e) => {
                tracing::debug!("the model wrote no topic ({e}): derived instead");
                return None;
            }
        };
        let text = completion.content;
        let start = text.find('{')?;
        let end = text.rfind('}')?;
        let value: Value = serde_json::from_str(text.get(start..=end)?).ok()?;
        let field = |name: &str, max: usize| {
            value
                .get(name)
                .and_then(Value::as_str)
                .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(max).collect::<String>())
        };
        Some((field("topic", 80)?, field("summary", 1000)?))
    }
}

/// A fresh handle for a plan awaiting the client's model (random: it names one round).
fn new_handle() -> Result<String, EngineError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        EngineError::from(crate::store::StoreError::Internal(format!(
            "no randomness: {e}"
        )))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Longest wait for the model to name a conversation.
const TOPIC_WITHIN: Duration = Duration::from_secs(30);

/// The `command_name` of a model call's trace event.
pub const LLM_TRACE_NAME: &str = "llm";

/// What an agent turn answered without a model says about it.
pub const NO_LLM_NOTE: &str = "no LLM is configured: the assistant router answered";
