//! What an agent turn is made of, apart from running commands: the plan it keeps between
//! turns (so `ask_user` can wait for the next message, even across a restart), the tools of
//! its own it offers beside the workflow's commands, and the messages a model call is built
//! from — the system prompt, the conversation so far within a token budget, the plan.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::wire::{ChatRequest, Message, ToolSpec};

/// Ask the user a question: the turn ends with it, the next message answers it.
pub const ASK_USER: &str = "ask_user";
/// List what can be done in the current context.
pub const WHAT_CAN_I_DO: &str = "what_can_i_do";
/// End the turn with the answer for the user.
pub const FINISH: &str = "finish";

/// Most earlier turns given as context.
pub const HISTORY_TURNS: usize = 5;
/// Tokens (estimated) the earlier turns may take.
pub const HISTORY_BUDGET: usize = 1500;
/// Longest tool result handed to the model (characters); the rest is cut.
pub const MAX_TOOL_RESULT: usize = 6000;

/// The plan of a channel's agent: the user's request and every step taken for it since.
/// Kept in the channel's state while it waits on the user (`ask_user`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The user's messages, the model's tool calls and their results, in order.
    pub trajectory: Vec<Message>,
    /// Model calls since the user last spoke (`ask_user` starts the count again).
    pub steps: u32,
    /// The `ask_user` call the next message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<String>,
    /// While the turn awaits the MCP client's next call (a 2026-07-28 `input_required`
    /// round: its model's answer, or the user's answer to `waiting_on`): the handle the
    /// call's `request_state` names, so only that call continues the turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_client: Option<String>,
    /// The client rounds this turn has used (a client gives up after a fixed number).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rounds: u32,
    /// The trace events of a turn that spans client rounds, kept as JSON until it is stored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried_traces: Vec<Value>,
}

impl Plan {
    /// Read a stored plan; anything unreadable counts as none (a lost plan starts afresh).
    pub fn from_stored(value: Option<&Value>) -> Option<Self> {
        let plan = serde_json::from_value(value?.clone());
        plan.map_err(|e| tracing::warn!("ignoring an unreadable agent plan: {e}"))
            .ok()
    }

    pub fn to_stored(&self) -> Option<Value> {
        serde_json::to_value(self).ok()
    }

    /// Continue with the user's `words`: the answer to the question asked, or a new request
    /// (which starts a new plan).
    pub fn resume(previous: Option<Self>, words: &str) -> Self {
        match previous {
            // A turn that awaited the client's model, called afresh: the call starts over.
            Some(plan) if plan.awaiting_client.is_some() => Self::start(words),
            Some(mut plan) => match plan.waiting_on.take() {
                Some(call) => {
                    plan.trajectory.push(Message::tool_result(
                        &call,
                        format!("The user answered: {words}"),
                    ));
                    // A new call: the step count and the client's rounds start again.
                    plan.steps = 0;
                    plan.rounds = 0;
                    plan
                }
                None => Self::start(words),
            },
            None => Self::start(words),
        }
    }

    fn start(words: &str) -> Self {
        Self {
            trajectory: vec![Message::user(words)],
            ..Self::default()
        }
    }

    /// Drop the oldest step (an assistant message and its tool results) after the user's
    /// request; false when there is none left to drop.
    pub fn drop_oldest_step(&mut self) -> bool {
        let Some(start) = self
            .trajectory
            .iter()
            .position(|m| m.role == super::wire::Role::Assistant)
        else {
            return false;
        };
        // Keep the last step: the model needs to see what it just did.
        let last_assistant = self
            .trajectory
            .iter()
            .rposition(|m| m.role == super::wire::Role::Assistant);
        if last_assistant == Some(start) {
            return false;
        }
        let mut end = start + 1;
        while self
            .trajectory
            .get(end)
            .is_some_and(|m| m.role == super::wire::Role::Tool)
        {
            end += 1;
        }
        self.trajectory.drain(start..end);
        true
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// An earlier turn of the conversation, as context.
#[derive(Debug, Clone)]
pub struct PastTurn {
    pub user: String,
    pub answer: String,
}

/// What the system prompt says about where the user is.
#[derive(Debug, Clone)]
pub struct Setting<'a> {
    pub workflow: &'a str,
    pub description: &'a str,
    /// "the Order context (order_id = #W2611340)"
    pub context: String,
}

/// The instructions: who the agent is, where the user is, how to use the tools.
pub fn system_prompt(setting: &Setting<'_>) -> String {
    format!(
        "You are the assistant of the \"{workflow}\" workflow{description}. You carry out the \
         user's request by calling the workflow's commands as tools; the user is in \
         {context}. Use only values the user gave or a command returned. Call \
         `{WHAT_CAN_I_DO}` to see the commands, `{ASK_USER}` when you need something only \
         the user can tell you, and `{FINISH}` with the answer for the user when done. If a \
         command fails, read why and fix the call.",
        workflow = setting.workflow,
        description = if setting.description.trim().is_empty() {
            String::new()
        } else {
            format!(" ({})", setting.description.trim())
        },
        context = setting.context,
    )
}

/// The agent's own tools, named so they never hide a workflow command of the same name.
pub fn own_tools(taken: impl Fn(&str) -> bool) -> OwnTools {
    let name = |base: &str| {
        if taken(base) {
            format!("agent_{base}")
        } else {
            base.to_string()
        }
    };
    OwnTools {
        ask_user: name(ASK_USER),
        what_can_i_do: name(WHAT_CAN_I_DO),
        finish: name(FINISH),
    }
}

/// The names the agent's own tools go by in this workflow.
#[derive(Debug, Clone)]
pub struct OwnTools {
    pub ask_user: String,
    pub what_can_i_do: String,
    pub finish: String,
}

impl OwnTools {
    pub fn specs(&self) -> Vec<ToolSpec> {
        let object = |props: Value, required: &[&str]| -> Map<String, Value> {
            let schema = json!({"type": "object", "properties": props, "required": required});
            schema.as_object().cloned().unwrap_or_default()
        };
        vec![
            ToolSpec {
                name: self.ask_user.clone(),
                description: "Ask the user a question and wait for the answer (ends this turn)."
                    .into(),
                parameters: object(
                    json!({"question": {"type": "string", "description": "What to ask"}}),
                    &["question"],
                ),
            },
            ToolSpec {
                name: self.what_can_i_do.clone(),
                description: "List the commands available where the user is.".into(),
                parameters: object(json!({}), &[]),
            },
            ToolSpec {
                name: self.finish.clone(),
                description: "Finish with the answer for the user.".into(),
                parameters: object(
                    json!({"answer": {"type": "string", "description": "The answer"}}),
                    &["answer"],
                ),
            },
        ]
    }
}

/// The messages of one model call: system prompt, the earlier turns that fit the budget
/// (newest kept), then the plan.
pub fn request(
    system: &str,
    history: &[PastTurn],
    plan: &Plan,
    tools: Vec<ToolSpec>,
) -> ChatRequest {
    let mut messages = vec![Message::system(system)];
    let mut budget = HISTORY_BUDGET;
    let mut kept = Vec::new();
    for turn in history.iter().rev().take(HISTORY_TURNS) {
        let pair = [
            Message::user(turn.user.clone()),
            Message::assistant(turn.answer.clone()),
        ];
        let cost: usize = pair.iter().map(Message::estimated_tokens).sum();
        if cost > budget {
            break;
        }
        budget -= cost;
        kept.push(pair);
    }
    for pair in kept.into_iter().rev() {
        messages.extend(pair);
    }
    messages.extend(plan.trajectory.iter().cloned());
    ChatRequest { messages, tools }
}

/// A tool result cut to what a model should read.
pub fn clip(text: &str) -> String {
    if text.chars().count() <= MAX_TOOL_RESULT {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(MAX_TOOL_RESULT).collect();
    clipped.push_str(" …(cut)");
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::wire::{Role, ToolCall};

    fn step(plan: &mut Plan, id: &str) {
        let mut call = Message::assistant("");
        call.tool_calls.push(ToolCall {
            id: id.into(),
            name: "x".into(),
            arguments: "{}".into(),
        });
        plan.trajectory.push(call);
        plan.trajectory.push(Message::tool_result(id, "done"));
    }

    #[test]
    fn an_answer_goes_to_the_waiting_question_and_a_new_request_starts_afresh() {
        let mut plan = Plan::resume(None, "cancel my order");
        step(&mut plan, "a");
        plan.waiting_on = Some("a".into());
        plan.steps = 7;
        let stored = plan.to_stored();
        let resumed = Plan::resume(Plan::from_stored(stored.as_ref()), "#W1");
        assert_eq!(resumed.steps, 0);
        assert_eq!(resumed.trajectory.len(), 4);
        let last = resumed.trajectory.last().expect("answer");
        assert_eq!(last.tool_call_id.as_deref(), Some("a"));
        assert!(last.content.contains("#W1"));
        let fresh = Plan::resume(Some(resumed), "something else");
        assert_eq!(fresh.trajectory.len(), 1);
        assert_eq!(Plan::from_stored(Some(&json!({"trajectory": 3}))), None);
    }

    #[test]
    fn dropping_steps_keeps_the_request_and_the_last_step() {
        let mut plan = Plan::resume(None, "go");
        step(&mut plan, "a");
        step(&mut plan, "b");
        assert!(plan.drop_oldest_step());
        assert_eq!(plan.trajectory.len(), 3);
        assert_eq!(plan.trajectory[0].role, Role::User);
        assert_eq!(plan.trajectory[1].tool_calls[0].id, "b");
        assert!(!plan.drop_oldest_step());
    }

    #[test]
    fn history_keeps_the_newest_turns_within_the_budget() {
        let history: Vec<PastTurn> = (0..8)
            .map(|i| PastTurn {
                user: format!("question {i}"),
                answer: "x".repeat(if i == 6 { HISTORY_BUDGET * 4 } else { 10 }),
            })
            .collect();
        let plan = Plan::resume(None, "now");
        let req = request("sys", &history, &plan, Vec::new());
        // Turn 7 fits; turn 6 is too big, and nothing older is taken past it.
        let texts: Vec<&str> = req.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, ["sys", "question 7", "xxxxxxxxxx", "now"]);
    }

    #[test]
    fn own_tools_step_aside_for_workflow_commands() {
        let tools = own_tools(|n| n == FINISH);
        assert_eq!(tools.finish, "agent_finish");
        assert_eq!(tools.ask_user, ASK_USER);
        assert_eq!(tools.specs().len(), 3);
    }
}
