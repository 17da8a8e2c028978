//! The steps of an agent turn: ask the model, carry out its tool calls (the workflow's
//! commands, checked first; the agent's own `ask_user`, `what_can_i_do`, `finish`), until it
//! finishes, asks, or runs out of steps.

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{CONTEXT_RETRIES, End, LLM_TRACE_NAME, Run};
use crate::agent::plan::{self, Setting};
use crate::agent::{ChatRequest, Completion, LlmError, Message, ToolCall, ToolSpec};
use crate::app::App;
use crate::app::actions::{entered, raw_command};
use crate::assistant::wording;
use crate::domain::Direction;
use crate::workflow::validate;

impl App {
    pub(super) async fn agent_loop(&self, run: &mut Run<'_>) -> End {
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
                // Nothing at all (llama.cpp's function calling says "" whenever the model
                // chose to talk): ask for the answer in words, without tools.
                let say = "Answer the user now, in words, from what you found.".to_string();
                let fallback = "I have no answer to give.".to_string();
                return self.answer_in_words(run, say, fallback).await;
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
        let raw = raw_command(&command.name, &params);
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
            self.trace_model_call(run, &result, started, false);
        }
        result
    }

    /// One model call as a trace event: its step (`final` for the tool-free call for the
    /// answer, which is not a step of the budget), its time and the tools it called.
    fn trace_model_call(
        &self,
        run: &mut Run<'_>,
        result: &Result<Completion, LlmError>,
        started: Instant,
        final_call: bool,
    ) {
        let mut parameters = Map::new();
        parameters.insert("step".into(), json!(run.plan.steps));
        if final_call {
            parameters.insert("final".into(), json!(true));
        }
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
        run.trace.push(
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
        let say = format!(
            "You have used all {} steps. Answer the user now from what you found; do not call \
             tools.",
            run.max_steps
        );
        let fallback = format!("I could not finish within {} steps.", run.max_steps);
        self.answer_in_words(run, say, fallback).await
    }

    /// A model call without tools, telling it to `say` its answer; if that fails or says
    /// nothing, `fallback` and what the last command said.
    async fn answer_in_words(&self, run: &mut Run<'_>, say: String, fallback: String) -> End {
        let mut closing = run.plan.clone();
        closing.trajectory.push(Message::user(say));
        let request: ChatRequest =
            plan::request(&self.system_prompt(run), &run.history, &closing, Vec::new());
        let started = Instant::now();
        let result = run.llm.chat(&request, run.deadline).await;
        if matches!(result, Err(LlmError::Deferred)) {
            return End::Deferred;
        }
        self.trace_model_call(run, &result, started, true);
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
                    Some(last) => format!("{fallback} The last result was: {last}"),
                    None => fallback,
                })
            }
        }
    }
}
