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
pub(crate) mod text;

pub use extract::Extraction;
pub use intent::{IntentDecision, IntentIndex, Ranked};
pub use state::{AssistantState, Dialog};

use crate::workflow::Catalog;

/// How many of the best candidates are weighed by the values the text gives them…
const EVIDENCE_CANDIDATES: usize = 5;
/// …as long as they score at least this share of the best…
const EVIDENCE_WITHIN: f32 = 0.5;
/// …and what each parameter value found is worth (relative).
const EVIDENCE_BONUS: f32 = 0.3;

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

    /// Words say what to do; values say to which command they belong. The best few
    /// candidates gain a little for each of their parameters the text gives a value for, so
    /// "look up #W1845024" goes to the command that takes an order id. Returns the
    /// extractions it made, so the chosen command's is not made twice.
    fn weigh_evidence(
        &self,
        catalog: &Catalog,
        text: &str,
        ranked: &mut [Ranked],
    ) -> Vec<(String, Extraction)> {
        let mut made = Vec::new();
        let Some(top) = ranked.first().map(|r| r.score) else {
            return made;
        };
        for candidate in ranked.iter_mut().take(EVIDENCE_CANDIDATES) {
            if candidate.score < top * EVIDENCE_WITHIN {
                break;
            }
            let Some(command) = catalog.command(&candidate.command) else {
                continue;
            };
            // Only values of constrained parameters are evidence: free text (a summary, a
            // name) can be read into almost any sentence.
            let extraction = extract::extract(command, text);
            let found = extraction
                .values
                .keys()
                .filter_map(|name| command.param(name))
                .filter(|p| {
                    p.spec.pattern.is_some()
                        || p.spec.enum_values.is_some()
                        || p.spec.items.as_ref().is_some_and(|i| i.pattern.is_some())
                })
                .count();
            candidate.score *= 1.0 + EVIDENCE_BONUS * found.min(3) as f32;
            made.push((candidate.command.clone(), extraction));
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        made
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
        // Built-ins are short, generic phrases ("go back", "stop"): matched loosely they would
        // swallow real requests ("call off my order before it leaves…"), so they must be said
        // nearly as listed.
        if let Some(name) = builtins::matching(text)
            && available(name)
        {
            return Understanding {
                explicit: false,
                intent: IntentDecision::Confident(name.to_string()),
                extraction: Extraction::default(),
            };
        }
        let commands_only = |name: &str| builtins::builtin(name).is_none() && available(name);
        let mut ranked = self.index.rank(text, &commands_only);
        let mut made = self.weigh_evidence(catalog, text, &mut ranked);
        let intent = self.index.decide(&ranked);
        let extraction = match &intent {
            IntentDecision::Confident(name) => match made.iter().position(|(n, _)| n == name) {
                Some(at) => made.swap_remove(at).1,
                None => catalog
                    .command(name)
                    .map(|command| extract::extract(command, text))
                    .unwrap_or_default(),
            },
            _ => Extraction::default(),
        };
        Understanding {
            explicit: false,
            intent,
            extraction,
        }
    }
}
