//! What assistant mode remembers about a channel between turns: where it is (a stack of
//! contexts, each with the values it was entered with) and the question it is waiting on.
//!
//! Kept in the channel's persisted `pending` slot, so it survives a restart; a change of the
//! active conversation clears it (a new conversation starts at the global context).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::workflow::Catalog;
use crate::workflow::catalog::GLOBAL_CONTEXT;

/// A channel's assistant state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssistantState {
    /// Entered contexts, outermost first; empty = the global context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
    /// The question the next message answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialog: Option<Dialog>,
    /// Agent mode's plan while it waits on the user (`agent::Plan`, kept opaque here: the
    /// assistant only carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Value>,
}

/// One entered context and the parameters of the command that entered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    pub context: String,
    #[serde(default)]
    pub values: Map<String, Value>,
}

/// A clarification in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dialog {
    /// Several commands fit `utterance`: the answer picks one by number or name.
    ChooseCommand {
        utterance: String,
        candidates: Vec<String>,
    },
    /// `command` needs `asking` (in order); `values` holds what is already known.
    FillParams {
        command: String,
        values: Map<String, Value>,
        asking: Vec<String>,
    },
}

impl AssistantState {
    /// The current context's name ("*" when none was entered).
    pub fn context(&self) -> &str {
        self.frames
            .last()
            .map_or(GLOBAL_CONTEXT, |f| f.context.as_str())
    }

    /// Values the entered contexts provide, innermost winning.
    pub fn context_values(&self) -> Map<String, Value> {
        let mut values = Map::new();
        for frame in &self.frames {
            for (k, v) in &frame.values {
                values.insert(k.clone(), v.clone());
            }
        }
        values
    }

    /// Move into `context`: frames that are not its ancestors are left, then it is pushed
    /// (re-entering the current context replaces its values).
    pub fn enter(&mut self, catalog: &Catalog, context: &str, values: Map<String, Value>) {
        let chain = catalog.context_chain(context);
        self.frames
            .retain(|f| f.context != context && chain.contains(&f.context.as_str()));
        self.frames.push(Frame {
            context: context.to_string(),
            values,
        });
    }

    /// Leave the current context for its parent; false when already at the global context.
    pub fn go_up(&mut self) -> bool {
        self.frames.pop().is_some()
    }

    /// Back to the global context.
    pub fn reset(&mut self) {
        self.frames.clear();
    }

    /// Read a stored state; anything unreadable (an older format, damage) counts as empty,
    /// which loses at most a question in progress.
    pub fn from_stored(value: Option<&Value>) -> Self {
        match value {
            None | Some(Value::Null) => Self::default(),
            Some(value) => serde_json::from_value(value.clone()).unwrap_or_else(|e| {
                tracing::warn!("ignoring unreadable assistant state: {e}");
                Self::default()
            }),
        }
    }

    /// The form it is stored in (`None` when there is nothing to keep).
    pub fn to_stored(&self) -> Option<Value> {
        if *self == Self::default() {
            None
        } else {
            serde_json::to_value(self).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        crate::workflow::testing::helpdesk()
    }

    #[test]
    fn entering_going_up_and_resetting() {
        let catalog = catalog();
        let mut state = AssistantState::default();
        assert_eq!(state.context(), "*");
        let values = json!({"ticket_id": "T-1234"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        state.enter(&catalog, "Ticket", values.clone());
        assert_eq!(state.context(), "Ticket");
        assert_eq!(state.context_values(), values);
        // Re-entering replaces rather than stacking the same context twice.
        let other = json!({"ticket_id": "T-4817"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        state.enter(&catalog, "Ticket", other.clone());
        assert_eq!(state.frames.len(), 1);
        assert_eq!(state.context_values(), other);
        assert!(state.go_up());
        assert_eq!(state.context(), "*");
        assert!(!state.go_up());
        state.enter(&catalog, "Ticket", values);
        state.reset();
        assert_eq!(state, AssistantState::default());
    }

    #[test]
    fn stored_form_round_trips_and_damage_is_ignored() {
        let catalog = catalog();
        let mut state = AssistantState::default();
        assert_eq!(state.to_stored(), None);
        state.enter(&catalog, "Ticket", Map::new());
        state.dialog = Some(Dialog::FillParams {
            command: "close_ticket".into(),
            values: Map::new(),
            asking: vec!["reason".into()],
        });
        let stored = state.to_stored();
        assert_eq!(AssistantState::from_stored(stored.as_ref()), state);
        assert_eq!(
            AssistantState::from_stored(Some(&json!({"frames": 7}))),
            AssistantState::default()
        );
    }
}
