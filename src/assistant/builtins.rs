//! The built-in commands every workflow has in assistant mode (DESIGN §2): they move the
//! channel between contexts, say where it is and what it can do, or leave a dialog.
//!
//! They are routed like workflow commands (by name or by their phrasings below), but run
//! inside the assistant: no executor, no parameters.

use std::sync::LazyLock;

use super::text::edit_distance;

/// One built-in command.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub description: &'static str,
    /// Example phrasings, indexed with the workflow's utterances.
    pub utterances: &'static [&'static str],
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
    },
    Builtin {
        name: "go_up",
        description: "Leave the current context for its parent.",
        utterances: &["go up", "go back", "up one level", "leave this context"],
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
    },
    Builtin {
        name: "abort",
        description: "Cancel the question in progress.",
        utterances: &["abort", "cancel that", "never mind", "stop", "forget it"],
    },
];

/// The built-in called `name`, if any.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Every built-in phrasing (and name), normalised once: `(built-in, phrase as chars)`.
static PHRASES: LazyLock<Vec<(&'static str, Vec<char>)>> = LazyLock::new(|| {
    BUILTINS
        .iter()
        .flat_map(|b| {
            std::iter::once(b.name.replace('_', " "))
                .chain(b.utterances.iter().map(|u| u.to_string()))
                .map(move |phrase| (b.name, normalize(&phrase).chars().collect()))
        })
        .collect()
});

/// The built-in `text` asks for, when it is one of their phrasings or names nearly word for
/// word (case, punctuation, "please" and a typo or two aside).
pub fn matching(text: &str) -> Option<&'static str> {
    if text.len() > 64 {
        return None;
    }
    let said: Vec<char> = normalize(text).chars().collect();
    if said.is_empty() {
        return None;
    }
    PHRASES
        .iter()
        .find(|(_, phrase)| {
            said == *phrase || (phrase.len() >= 8 && edit_distance(&said, phrase, 2) <= 2)
        })
        .map(|(name, _)| *name)
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
