//! What the assistant says: every user-facing sentence of assistant mode, built from the
//! metadata, with the machine-readable artifact beside it (`clarification`, `commands`).
//! The dialog decides *what* to say; this module decides *how*.

use serde_json::{Map, Value, json};

use super::builtins::{self, BUILTINS};
use super::state::Dialog;
use crate::domain::{Action, CommandResponse};
use crate::workflow::catalog::GLOBAL_CONTEXT;
use crate::workflow::validate::FieldError;
use crate::workflow::{Catalog, Command, Param, ParamType};

/// "the global context" / "the Order context".
pub fn context_name(context: &str) -> String {
    if context == GLOBAL_CONTEXT {
        "the global context".into()
    } else {
        format!("the {context} context")
    }
}

/// "In the global context you can: …" — the answer to what_can_i_do.
pub fn commands_list(catalog: &Catalog, context: &str) -> CommandResponse {
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
    CommandResponse::ok(text).with_artifact("commands", commands_artifact(catalog, context))
}

/// Nothing fits the words: say so, and what can be done here instead.
pub fn no_match(catalog: &Catalog, context: &str, text: &str) -> CommandResponse {
    let list = commands_list(catalog, context);
    CommandResponse::fail(format!(
        "I could not match \"{}\" to anything I can do here.\n{}",
        preview(text),
        list.response
    ))
    .with_artifact("commands", commands_artifact(catalog, context))
}

/// "You are in the Order context (order_id = #W2611340)."
pub fn where_we_are(context: &str, values: &Map<String, Value>) -> CommandResponse {
    let text = match context {
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
    CommandResponse::ok(text).with_artifact("context", json!({"name": context, "values": values}))
}

/// After go_up: where the channel went, or that it was already at the top.
pub fn went_up(left: Option<&str>, now: &str) -> CommandResponse {
    match left {
        Some(left) => CommandResponse::ok(format!(
            "Left the {left} context; now in {}.",
            context_name(now)
        )),
        None => CommandResponse::ok("Already at the global context."),
    }
}

pub fn back_to_global() -> CommandResponse {
    CommandResponse::ok("Back to the global context.")
}

pub fn nothing_to_abort() -> CommandResponse {
    CommandResponse::ok("There is no question in progress to cancel.")
}

/// The reply to "abort" while a question was pending.
pub fn aborted(dialog: &Dialog) -> CommandResponse {
    let what = match dialog {
        Dialog::ChooseCommand { .. } => "the choice of command".to_string(),
        Dialog::FillParams { command, .. } => format!("{command} was not run"),
    };
    CommandResponse::ok(format!("Cancelled: {what}. What would you like to do?"))
}

/// The reply when the user declines an out-of-band question for `command`'s parameters.
pub fn declined(command: &str) -> CommandResponse {
    CommandResponse::ok(format!("Cancelled: {command} was not run."))
}

/// Appended to an informational answer given while a question is pending.
pub fn still_waiting(dialog: &Dialog) -> String {
    let about = match dialog {
        Dialog::ChooseCommand { .. } => "which command you mean".to_string(),
        Dialog::FillParams { command, .. } => command.clone(),
    };
    format!("\n(Still waiting for your answer about {about}; \"abort\" drops it.)")
}

/// "Which of these do you mean?" with a numbered list of candidates.
pub fn choose_question(catalog: &Catalog, candidates: &[String]) -> CommandResponse {
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

/// The choice asked again after an answer that was none of the choices.
pub fn not_a_choice(catalog: &Catalog, candidates: &[String]) -> CommandResponse {
    let mut response = choose_question(catalog, candidates);
    response.response = format!("That is not one of the choices.\n{}", response.response);
    response
}

/// "To run X I need: 1. order_id — … (e.g. #W2611340)", naming each problem found.
pub fn params_question(
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

/// When a pending question's command is gone from the workflow.
pub fn say_again() -> CommandResponse {
    CommandResponse::fail("Please say that again.")
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

/// A value as a person reads it: strings without quotes.
pub fn plain(value: &Value) -> String {
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

fn commands_artifact(catalog: &Catalog, context: &str) -> Value {
    Value::Array(
        catalog
            .commands_in(context)
            .map(|c| Value::String(c.name.clone()))
            .collect(),
    )
}

/// The first 80 characters of what the user said, for quoting it back.
fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
