//! Intent ranking: which command do the user's words mean?
//!
//! STUB — to be replaced by the retrieval model (BM25/TF-IDF over word and character
//! n-grams, built once at load).

use crate::workflow::Catalog;

/// One command's similarity to an utterance (higher is closer).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    pub command: String,
    pub score: f32,
}

/// What the ranking means for routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntentDecision {
    /// One command clearly fits.
    Confident(String),
    /// These candidates (best first, 2..=5) are too close to call: ask the user.
    Ambiguous(Vec<String>),
    /// Nothing fits well enough.
    NoMatch,
}

/// The index over every command's name, description and utterances (and the built-ins').
#[derive(Debug)]
pub struct IntentIndex {
    names: Vec<String>,
}

impl IntentIndex {
    pub fn build(catalog: &Catalog) -> Self {
        let mut names: Vec<String> = catalog.commands.keys().cloned().collect();
        names.extend(super::builtins::BUILTINS.iter().map(|b| b.name.to_string()));
        Self { names }
    }

    /// Commands for which `available(name)` holds, best first.
    pub fn rank(&self, text: &str, available: &dyn Fn(&str) -> bool) -> Vec<Ranked> {
        let text = text.to_lowercase();
        let mut out: Vec<Ranked> = self
            .names
            .iter()
            .filter(|n| available(n))
            .map(|n| Ranked {
                command: n.clone(),
                score: if text.contains(&n.replace('_', " ")) {
                    1.0
                } else {
                    0.0
                },
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out
    }

    /// Decide from a ranking (as returned by [`Self::rank`]).
    pub fn decide(&self, ranked: &[Ranked]) -> IntentDecision {
        match ranked.first() {
            Some(top) if top.score > 0.0 => IntentDecision::Confident(top.command.clone()),
            _ => IntentDecision::NoMatch,
        }
    }
}
