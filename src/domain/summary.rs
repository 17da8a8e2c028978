//! The deterministic topic and summary of a conversation, derived from its turns alone, so
//! closing a conversation never needs an LLM.

use serde_json::Value;

use super::conversation::Turn;

/// Most words a derived topic has.
const TOPIC_WORDS: usize = 6;
/// Turns spelled out in a derived summary; the rest are counted.
const SUMMARY_STEPS: usize = 10;
/// Longest argument value quoted in a summary (characters).
const ARGUMENT_CHARS: usize = 40;

/// A topic and summary of `turns`. Deterministic: the same turns always give the same strings.
///
/// - topic (at most 6 words): the most used command, humanized ("Get order details"), joined
///   by the runner-up when both fit, or followed by its first argument when short
///   ("Cancel pending order #W2611340"); without any command name, the first words of the
///   first question; "Empty conversation" for no turns.
/// - summary: "3 turns: get_order_details #W2611340; cancel_pending_order #W2611340 (failed);
///   …", at most 10 turns spelled out, then "and N more".
pub fn summarize(turns: &[Turn]) -> (String, String) {
    (topic_of(turns), summary_of(turns))
}

fn topic_of(turns: &[Turn]) -> String {
    // (name, uses), in first-use order; a stable sort then keeps ties in that order.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for name in turns.iter().filter_map(command_of) {
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, uses)) => *uses += 1,
            None => counts.push((name, 1)),
        }
    }
    counts.sort_by_key(|&(_, uses)| std::cmp::Reverse(uses));
    let mut words: Vec<String> = match counts.first() {
        Some((top, _)) => name_words(top),
        None => turns
            .iter()
            .map(|t| t.user_query.trim())
            .find(|q| !q.is_empty())
            .map(|q| q.split_whitespace().map(str::to_string).collect())
            .unwrap_or_else(|| vec!["Empty".into(), "conversation".into()]),
    };
    if let Some((top, _)) = counts.first() {
        let second = counts.get(1).map(|(name, _)| name_words(name));
        match second {
            Some(second) if words.len() + 1 + second.len() <= TOPIC_WORDS => {
                words.push("and".into());
                words.extend(second);
            }
            _ => {
                // A lone short name says little; its first argument says what it was about.
                let argument = turns
                    .iter()
                    .filter(|t| command_of(t) == Some(top))
                    .find_map(|t| arguments(t).into_iter().next());
                if let Some(argument) = argument.filter(|_| words.len() < 4) {
                    words.extend(argument.split_whitespace().map(str::to_string));
                }
            }
        }
    }
    words.truncate(TOPIC_WORDS);
    let topic = words.join(" ");
    let mut chars = topic.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => topic,
    }
}

fn summary_of(turns: &[Turn]) -> String {
    let steps: Vec<String> = turns
        .iter()
        .take(SUMMARY_STEPS)
        .map(|turn| {
            let mut step = match command_of(turn) {
                Some(name) => {
                    let mut parts = vec![name.to_string()];
                    parts.extend(arguments(turn).into_iter().take(3));
                    parts.join(" ")
                }
                None => format!("\"{}\"", shorten(turn.user_query.trim())),
            };
            if !turn.command_output.success() {
                step.push_str(" (failed)");
            }
            step
        })
        .collect();
    let mut summary = format!(
        "{} turn{}",
        turns.len(),
        if turns.len() == 1 { "" } else { "s" }
    );
    if !steps.is_empty() {
        summary.push_str(": ");
        summary.push_str(&steps.join("; "));
    }
    let more = turns.len().saturating_sub(steps.len());
    if more > 0 {
        summary.push_str(&format!("; and {more} more"));
    }
    summary
}

/// The command a turn ran; `None` when it names none (a question, a choice).
fn command_of(turn: &Turn) -> Option<&str> {
    Some(turn.command_output.command_name.as_str()).filter(|name| !name.trim().is_empty())
}

/// The turn's parameter values as short display strings (in stored order).
fn arguments(turn: &Turn) -> Vec<String> {
    turn.command_output
        .command_parameters
        .values()
        .map(display)
        .filter(|s| !s.is_empty())
        .map(|s| shorten(&s))
        .collect()
}

/// `get_order_details` → `["get", "order", "details"]`.
fn name_words(name: &str) -> Vec<String> {
    name.split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() > ARGUMENT_CHARS {
        format!("{}…", text.chars().take(ARGUMENT_CHARS).collect::<String>())
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{CommandOutput, CommandResponse, TurnMode};

    fn turn_with(id: u64, command: &str, params: Value, success: bool) -> Turn {
        let Value::Object(params) = params else {
            unreachable!("an object literal")
        };
        let response = if success {
            CommandResponse::ok("done")
        } else {
            CommandResponse::fail("done")
        };
        Turn {
            turn_id: id,
            mode: TurnMode::Action,
            user_query: command.into(),
            command_output: CommandOutput {
                command_responses: vec![response],
                workflow_name: "w".into(),
                context: "*".into(),
                command_name: command.into(),
                command_parameters: params,
            },
            traces: Vec::new(),
            feedback: None,
            timestamp_ms: 1000 + id,
        }
    }

    fn turn(id: u64, command: &str) -> Turn {
        turn_with(id, command, json!({"order_id": "#W2611340"}), true)
    }

    #[test]
    fn summarize_is_deterministic_and_names_what_was_done() {
        let turns = vec![
            turn(1, "get_order_details"),
            turn_with(
                2,
                "cancel_pending_order",
                json!({"order_id": "#W2611340", "reason": "ordered by mistake"}),
                false,
            ),
            turn(3, "get_order_details"),
        ];
        let (topic, summary) = summarize(&turns);
        assert_eq!(topic, "Get order details #W2611340");
        assert_eq!(
            summary,
            "3 turns: get_order_details #W2611340; \
             cancel_pending_order #W2611340 ordered by mistake (failed); \
             get_order_details #W2611340"
        );
        assert_eq!(summarize(&turns), (topic, summary));

        let pair = vec![turn(1, "calculate"), turn(2, "list_products")];
        assert_eq!(summarize(&pair).0, "Calculate and list products");

        let mut asked = turn_with(1, "", json!({}), true);
        asked.user_query = "where is my blue water bottle order".into();
        let (topic, summary) = summarize(&[asked]);
        assert_eq!(topic, "Where is my blue water bottle");
        assert_eq!(summary, "1 turn: \"where is my blue water bottle order\"");

        assert_eq!(
            summarize(&[]),
            ("Empty conversation".into(), "0 turns".into())
        );
        let many: Vec<Turn> = (1..=13)
            .map(|id| turn_with(id, "go_up", json!({}), true))
            .collect();
        let (topic, summary) = summarize(&many);
        assert_eq!(topic, "Go up");
        assert!(summary.starts_with("13 turns: go_up; go_up;"), "{summary}");
        assert!(summary.ends_with("; and 3 more"), "{summary}");
    }

    #[test]
    fn long_and_listed_arguments_are_shortened() {
        let long = "x".repeat(50);
        let turns = [turn_with(
            1,
            "note",
            json!({"text": long, "ids": ["1", "2"], "none": null}),
            true,
        )];
        let (_, summary) = summarize(&turns);
        // Parameters in stored order (by key); a list joined, `null` left out.
        assert_eq!(summary, format!("1 turn: note 1,2 {}…", "x".repeat(40)));
    }
}
