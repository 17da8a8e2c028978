//! The clarification dialog: what the words of a turn do to a question in progress. They
//! abort it, answer it (a number or name for a choice of commands, values for missing
//! parameters), or are a fresh request — then the question is asked again if nothing else
//! fits either.

use super::{App, Reply, TurnCtx};
use crate::assistant::builtins;
use crate::assistant::syntax::parse_explicit;
use crate::assistant::{Dialog, Extraction, IntentDecision, wording};
use crate::workflow::{Command, Param};

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

/// What the words did to the pending question.
pub(super) enum Answered {
    /// They settled it (or aborted it): this is the turn's reply.
    Reply(Reply),
    /// They are no answer; the question to ask again if nothing else fits (`None`: the words
    /// named a built-in, which replaces the question).
    NotAnAnswer(Option<Dialog>),
}

impl App {
    /// Take the words as the answer to `dialog`, if they are one.
    pub(super) async fn answer(&self, turn: &mut TurnCtx<'_>, dialog: Dialog) -> Answered {
        let catalog = self.catalog();
        if is_abort(turn.text) {
            return Answered::Reply(self.say(turn, "abort", wording::aborted(&dialog)));
        }
        // A built-in said mid-dialog is the built-in, not an answer.
        if builtins::builtin(&bare_name(turn.text)).is_some()
            || builtins::matching(turn.text).is_some()
        {
            return Answered::NotAnAnswer(None);
        }
        match dialog {
            Dialog::ChooseCommand {
                utterance,
                candidates,
            } => {
                if let Some(choice) = self.pick(turn.text, &candidates) {
                    if let Some(command) = catalog.command(&choice).cloned() {
                        let found = self.assistant().extract(&command, &utterance);
                        return Answered::Reply(self.proceed(turn, &command, found).await);
                    }
                    if builtins::builtin(&choice).is_some() {
                        return Answered::Reply(self.run_builtin(turn, &choice));
                    }
                }
                Answered::NotAnAnswer(Some(Dialog::ChooseCommand {
                    utterance,
                    candidates,
                }))
            }
            Dialog::FillParams {
                command,
                values,
                asking,
            } => {
                let Some(cmd) = catalog.command(&command).cloned() else {
                    return Answered::NotAnAnswer(None);
                };
                let asked: Vec<&str> = asking.iter().map(String::as_str).collect();
                let answer = enum_by_number(&cmd, &asked, turn.text)
                    .unwrap_or_else(|| self.assistant().extract_answer(&cmd, &asked, turn.text));
                let answered = !answer.values.is_empty() || !answer.invalid.is_empty();
                // An explicit call of a command is a new request, not an answer.
                if answered && parse_explicit(catalog, turn.text).is_none() {
                    let mut merged = values;
                    merged.extend(answer.values);
                    let found = Extraction {
                        values: merged,
                        invalid: answer.invalid,
                    };
                    return Answered::Reply(self.proceed(turn, &cmd, found).await);
                }
                Answered::NotAnAnswer(Some(Dialog::FillParams {
                    command,
                    values,
                    asking,
                }))
            }
        }
    }

    /// Ask the pending question again: the words were neither an answer nor a request.
    pub(super) fn ask_again(&self, turn: &mut TurnCtx<'_>, dialog: Dialog) -> Reply {
        let catalog = self.catalog();
        let (name, response) = match &dialog {
            Dialog::ChooseCommand { candidates, .. } => {
                (String::new(), wording::not_a_choice(catalog, candidates))
            }
            Dialog::FillParams {
                command, asking, ..
            } => {
                let response = match catalog.command(command) {
                    Some(cmd) => {
                        let params: Vec<&Param> =
                            asking.iter().filter_map(|n| cmd.param(n)).collect();
                        wording::params_question(cmd, &params, &[])
                    }
                    None => wording::say_again(),
                };
                (command.clone(), response)
            }
        };
        turn.state.dialog = Some(dialog);
        self.say(turn, &name, response)
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
        let index = self.assistant().index();
        let ranked = index.rank(text, &|name| candidates.iter().any(|c| c == name));
        match index.decide(&ranked) {
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

fn is_abort(text: &str) -> bool {
    let words = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    ABORT_WORDS.contains(&words.as_str())
}

/// `text` as a command name: `/go_up`, `Go up`, `what_can_i_do?` → `go_up`, …
pub(super) fn bare_name(text: &str) -> String {
    text.trim()
        .trim_start_matches('/')
        .trim_end_matches(['?', '.', '!'])
        .trim()
        .to_lowercase()
        .replace([' ', '-'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_abort_words() {
        assert_eq!(bare_name("/go_up"), "go_up");
        assert_eq!(bare_name("What can I do?"), "what_can_i_do");
        assert!(is_abort("Never mind."));
        assert!(!is_abort("cancel ticket T-1234"));
    }
}
