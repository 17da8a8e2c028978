//! The built-in commands every workflow has in assistant mode (DESIGN §2): they move the
//! channel between contexts, say where it is and what it can do, or leave a dialog.
//!
//! They are routed like workflow commands (by name or by their phrasings below), but run
//! inside the assistant: no executor, no parameters.

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
    BUILTINS.iter().find_map(|b| {
        let close = |phrase: &str| {
            let phrase = normalize(phrase);
            said == phrase || (phrase.len() >= 8 && within_two_edits(&said, &phrase))
        };
        (close(&b.name.replace('_', " ")) || b.utterances.iter().any(|u| close(u)))
            .then_some(b.name)
    })
}

fn normalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty() && *w != "please")
        .collect();
    words.join(" ")
}

fn within_two_edits(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == cb {
                previous
            } else {
                1 + previous.min(row[j]).min(current)
            };
            previous = current;
        }
    }
    row[b.len()] <= 2
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
