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
//!
//! - this file: the turn — its plan loaded and stored, what the client lends, the reply;
//! - `steps`: asking the model and carrying out its tool calls;
//! - `topic`: a conversation's topic and summary written by the model.

mod steps;
mod topic;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::actions::ActionOutcome;
use super::assistant::check_field;
use super::requests::{InvokeAgent, InvokeAssistant};
use super::trace::{TraceObserver, TraceSink};
use super::{App, AssistantReply, EngineError, ParamAsker, blocking};
use crate::agent::plan::{self, OwnTools, PastTurn, Plan};
use crate::agent::{LlmClient, Message};
use crate::assistant::AssistantState;
use crate::domain::{Caller, CommandOutput, CommandResponse, Timeout, Turn, TurnMode, now_ms};

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
            .field("rounds", &self.rounds)
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
        Ok(AgentReply::Answered(ActionOutcome::of(
            record,
            Vec::new(),
            context_changed,
        )))
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

/// The `command_name` of a model call's trace event.
pub const LLM_TRACE_NAME: &str = "llm";

/// What an agent turn answered without a model says about it.
pub const NO_LLM_NOTE: &str = "no LLM is configured: the assistant router answered";
