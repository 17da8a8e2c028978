//! Assistant mode: the user's words → a workflow command with typed parameters, no LLM.
//!
//! - [`syntax`]: explicit calls (`name key=value`, `/name a, b`);
//! - [`intent`]: the retrieval index that ranks commands by similarity to the words;
//! - [`extract`]: typed parameter values found in free text;
//! - [`builtins`]: what_can_i_do, what_is_current_context, go_up, reset_context, abort;
//! - [`state`]: the per-channel context stack and the question in progress (persisted).
//!
//! [`Assistant::understand`] is pure (no store, no session): the accuracy and latency
//! benchmarks call it directly, and the dialog in `app::assistant` builds on it.

pub mod builtins;
pub mod extract;
pub mod intent;
pub mod state;
pub mod syntax;
mod text;

pub use extract::Extraction;
pub use intent::{IntentDecision, IntentIndex, Ranked};
pub use state::{AssistantState, Dialog};

use crate::workflow::Catalog;

/// The routing model of one workflow, built once at load.
#[derive(Debug)]
pub struct Assistant {
    index: IntentIndex,
}

/// What one utterance means, before any dialog state is applied.
#[derive(Debug, Clone)]
pub struct Understanding {
    /// The text was an explicit call (`name key=value`, `/name …`) of this command.
    pub explicit: bool,
    pub intent: IntentDecision,
    /// The parameters found for the command `intent` is confident about.
    pub extraction: Extraction,
}

impl Assistant {
    pub fn new(catalog: &Catalog) -> Self {
        Self {
            index: IntentIndex::build(catalog),
        }
    }

    pub fn index(&self) -> &IntentIndex {
        &self.index
    }

    /// Route `text` among the commands for which `available(name)` holds (the channel's
    /// context and its ancestors, plus the built-ins).
    pub fn understand(
        &self,
        catalog: &Catalog,
        text: &str,
        available: &dyn Fn(&str) -> bool,
    ) -> Understanding {
        if let Some(call) = syntax::parse_explicit(catalog, text)
            && available(&call.command.name)
        {
            return Understanding {
                explicit: true,
                intent: IntentDecision::Confident(call.command.name.clone()),
                extraction: call.extraction,
            };
        }
        let ranked = self.index.rank(text, available);
        let intent = self.index.decide(&ranked);
        let extraction = match &intent {
            IntentDecision::Confident(name) => catalog
                .command(name)
                .map(|command| extract::extract(command, text))
                .unwrap_or_default(),
            _ => Extraction::default(),
        };
        Understanding {
            explicit: false,
            intent,
            extraction,
        }
    }
}
