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
