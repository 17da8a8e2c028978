//! The built-in commands every workflow has in assistant mode (DESIGN §2): they move the
//! channel between contexts, say where it is and what it can do, or leave a dialog.
//!
//! Each is one entry of [`BUILTINS`]: its name, its phrasings (indexed with the workflow's
//! utterances, so they are routed like any command) and its behaviour. Adding one is adding
//! an entry; the loader refuses workflow commands and contexts with these names.

use std::sync::LazyLock;

use super::state::AssistantState;
use super::text::edit_distance;
use super::wording;
use crate::domain::CommandResponse;
use crate::workflow::Catalog;

/// One built-in command.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub description: &'static str,
    /// Example phrasings, indexed with the workflow's utterances.
    pub utterances: &'static [&'static str],
    /// It only tells where the channel is: a question in progress stays pending.
    pub informational: bool,
    /// Offered only while a question is in progress.
    pub only_mid_dialog: bool,
    /// What it does to the channel's state, and its answer.
    pub run: fn(&Catalog, &mut AssistantState) -> CommandResponse,
}

/// Every built-in, in the order `what_can_i_do` lists them.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "what_can_i_do",
        description: "List the commands available in the current context.",
        utterances: &[
            "what can I do",
            "what can you do",
            "help",
            "show me the commands",
            "what are my options",
            "list commands",
        ],
        informational: true,
        only_mid_dialog: false,
        run: |catalog, state| wording::commands_list(catalog, state.context()),
    },
    Builtin {
        name: "what_is_current_context",
        description: "Say which context the conversation is in.",
        utterances: &[
            "what is the current context",
            "where am I",
            "which context am I in",
            "current context",
        ],
        informational: true,
        only_mid_dialog: false,
        run: |_, state| wording::where_we_are(state.context(), &state.context_values()),
    },
    Builtin {
        name: "go_up",
        description: "Leave the current context for its parent.",
        utterances: &["go up", "go back", "up one level", "leave this context"],
        informational: false,
        only_mid_dialog: false,
        run: |_, state| {
            let left = state.context().to_string();
            let went = state.go_up();
            wording::went_up(went.then_some(left.as_str()), state.context())
        },
    },
    Builtin {
        name: "reset_context",
        description: "Go back to the global context.",
        utterances: &[
            "reset context",
            "start over",
            "go to the top",
            "back to the beginning",
        ],
        informational: false,
        only_mid_dialog: false,
        run: |_, state| {
            state.reset();
            wording::back_to_global()
        },
    },
    Builtin {
        name: "abort",
        description: "Cancel the question in progress.",
        utterances: &["abort", "cancel that", "never mind", "stop", "forget it"],
        informational: false,
        only_mid_dialog: true,
        run: |_, state| {
            state.dialog = None;
            wording::nothing_to_abort()
        },
    },
];

impl Builtin {
    /// Every built-in's name: what workflow commands and contexts may not be called.
    pub fn names() -> Vec<&'static str> {
        BUILTINS.iter().map(|b| b.name).collect()
    }
}

/// The built-in called `name`, if any.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Every built-in phrasing (and name), normalised once: `(built-in, phrase, its length in
/// characters)`.
static PHRASES: LazyLock<Vec<(&'static str, String, usize)>> = LazyLock::new(|| {
    BUILTINS
        .iter()
        .flat_map(|b| {
            std::iter::once(b.name.replace('_', " "))
                .chain(b.utterances.iter().map(|u| u.to_string()))
                .map(move |phrase| {
                    let phrase = normalize(&phrase);
                    let chars = phrase.chars().count();
                    (b.name, phrase, chars)
                })
        })
        .collect()
});

/// Most edits a phrasing of 8 or more characters may be off by.
const MAX_TYPOS: usize = 2;

/// The built-in `text` asks for, when it is one of their phrasings or names nearly word for
/// word (case, punctuation, "please" and a typo or two aside).
pub fn matching(text: &str) -> Option<&'static str> {
    if text.len() > 64 {
        return None;
    }
    let said = normalize(text);
    if said.is_empty() {
        return None;
    }
    let length = said.chars().count();
    PHRASES
        .iter()
        .find(|(_, phrase, chars)| {
            said == *phrase
                || (*chars >= 8
                    && chars.abs_diff(length) <= MAX_TYPOS
                    && edit_distance(&said, phrase) <= MAX_TYPOS)
        })
        .map(|(name, _, _)| *name)
}

fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && *w != "please")
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_are_matched_nearly_verbatim_only() {
        assert_eq!(matching("What can I do?"), Some("what_can_i_do"));
        assert_eq!(matching("where am i"), Some("what_is_current_context"));
        assert_eq!(matching("go_up"), Some("go_up"));
        assert_eq!(matching("please reset the context"), None);
        assert_eq!(matching("reset context please"), Some("reset_context"));
        assert_eq!(
            matching("what is the curent context"),
            Some("what_is_current_context")
        );
        assert_eq!(matching("can you reset my password?"), None);
        assert_eq!(matching("I want to leave a review for the earbuds"), None);
        assert_eq!(matching(""), None);
    }
}
