//! Assistant mode: the user's words → a workflow command with typed parameters, no LLM.
//!
//! - [`syntax`]: explicit calls (`name key=value`, `/name a, b`);
//! - [`intent`]: the retrieval index that ranks commands by similarity to the words;
//! - [`extract`]: typed parameter values found in free text;
//! - [`builtins`]: what_can_i_do, what_is_current_context, go_up, reset_context, abort —
//!   names, phrasings and behaviour in one table;
//! - [`state`]: the per-channel context stack and the question in progress (persisted);
//! - [`wording`]: every sentence the assistant says;
//! - `text`: tokens, stems and the workflow's own vocabulary (`[assistant]` in workflow.toml).
//!
//! [`Assistant::understand`] is pure (no store, no session): the accuracy and latency
//! benchmarks call it directly, and the dialog in `app::assistant` builds on it.

pub mod builtins;
pub mod extract;
pub mod intent;
pub mod state;
pub mod syntax;
pub(crate) mod text;
pub mod wording;

pub use builtins::Builtin;
pub use extract::Extraction;
pub use intent::{IntentDecision, IntentIndex, Ranked};
pub use state::{AssistantState, Dialog};

use std::borrow::Cow;
use std::collections::HashMap;

use crate::workflow::{Catalog, Command};

/// How many of the best candidates are weighed by the values the text gives them…
const EVIDENCE_CANDIDATES: usize = 5;
/// …as long as they score at least this share of the best…
const EVIDENCE_WITHIN: f32 = 0.5;
/// …and what each parameter value found is worth (relative).
const EVIDENCE_BONUS: f32 = 0.3;

/// What a question word is worth to the commands that only read (relative).
const QUESTION_BONUS: f32 = 0.3;

/// Whether the text asks *what*, *where*, *which*… — information, not a change: such a word
/// opens the text or a clause ("…, what's my address?"), not a relative clause ("cancel the
/// order which …"). "How" is left out: "how do I change my address" asks for the change.
fn asks_for_information(text: &str) -> bool {
    const QUESTION_WORDS: [&str; 9] = [
        "what", "what's", "whats", "where", "where's", "which", "when", "who", "whose",
    ];
    text.split(['.', ',', ';', ':', '!', '?', '\n'])
        .take(64)
        .filter_map(|clause| clause.split_whitespace().next())
        .any(|first| QUESTION_WORDS.iter().any(|w| first.eq_ignore_ascii_case(w)))
}

/// Commands annotated read-only gain [`QUESTION_BONUS`] over the others; the ranking is
/// re-sorted. Only the order changes: scores are scaled back so the best keeps the best
/// score it had, or an off-topic question ("what's the weather like?") would be lifted over
/// the "nothing fits" threshold just for being a question.
fn favour_read_only(catalog: &Catalog, ranked: &mut [Ranked]) {
    let Some(best_before) = ranked.first().map(|r| r.score) else {
        return;
    };
    for candidate in ranked.iter_mut() {
        if catalog
            .command(&candidate.command)
            .is_some_and(|c| c.annotations.read_only == Some(true))
        {
            candidate.score *= 1.0 + QUESTION_BONUS;
        }
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    let best_after = ranked[0].score;
    if best_after > 0.0 {
        let scale = best_before / best_after;
        for candidate in ranked.iter_mut() {
            candidate.score *= scale;
        }
    }
}

/// The routing model of one workflow, built once at load.
#[derive(Debug)]
pub struct Assistant {
    index: IntentIndex,
    /// Every command's parameter names, lowercased → whether some command's parameter of
    /// that name is free text (a string without pattern or enum).
    param_keys: HashMap<String, bool>,
    /// Length in bytes of the longest parameter name.
    longest_key: usize,
}

/// What one utterance means, before any dialog state is applied.
#[derive(Debug, Clone)]
pub struct Understanding {
    /// The text was an explicit call (`name key=value`, `/name …`) of this command.
    pub explicit: bool,
    pub intent: IntentDecision,
    /// The parameters found for the command `intent` is confident about.
    pub extraction: Extraction,
    /// The ranking `intent` was decided from, best first (empty for explicit calls and
    /// built-ins), for [`Assistant::decide_without`].
    pub ranked: Vec<Ranked>,
}

impl Assistant {
    pub fn new(catalog: &Catalog) -> Self {
        let mut param_keys: HashMap<String, bool> = HashMap::new();
        for param in catalog.commands.values().flat_map(|c| &c.params) {
            let free = param.spec.ty == crate::workflow::ParamType::String
                && param.spec.pattern.is_none()
                && param.spec.enum_values.is_none();
            *param_keys
                .entry(param.name.to_ascii_lowercase())
                .or_default() |= free;
        }
        let longest_key = param_keys.keys().map(String::len).max().unwrap_or(0);
        Self {
            index: IntentIndex::build(catalog),
            param_keys,
            longest_key,
        }
    }

    pub fn index(&self) -> &IntentIndex {
        &self.index
    }

    /// Everything `text` says about `command`'s parameters.
    pub fn extract(&self, command: &Command, text: &str) -> Extraction {
        extract::extract(self.index.lexicon(), command, text)
    }

    /// The user's answer to a question for the parameters `asking` (in that order):
    /// positional comma-separated values, `key=value`, or natural words.
    pub fn extract_answer(&self, command: &Command, asking: &[&str], text: &str) -> Extraction {
        extract::extract_answer(self.index.lexicon(), command, asking, text)
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
            let extraction = self.extract(command, text);
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
            // Uncapped: the command that takes more of the values given explains more of
            // the text ("#W…, item X -> Y, card …" is an items change, not a return, which
            // has no place for Y).
            candidate.score *= 1.0 + EVIDENCE_BONUS * found as f32;
            made.push((candidate.command.clone(), extraction));
        }
        ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
        made
    }

    /// The words of `text` that say what to do: the value of a labelled free-text parameter
    /// (`summary: wants to change the email on the account`) is the user's content, not a
    /// request, and must not vote for a command. The label itself stays (it names a
    /// parameter); the value runs to the next parameter label or the end.
    fn intent_words<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let labels = self.labels(text);
        if labels.iter().all(|(_, _, free)| !free) {
            return Cow::Borrowed(text);
        }
        let mut kept = String::with_capacity(text.len());
        let mut from = 0;
        for (i, &(_, end, free)) in labels.iter().enumerate() {
            if free {
                kept.push_str(&text[from..end]);
                from = labels.get(i + 1).map_or(text.len(), |next| next.0);
                kept.push(' ');
            }
        }
        kept.push_str(&text[from..]);
        Cow::Owned(kept)
    }

    /// Parameter labels in `text` (`name:` or `name=`, any command's parameter, as a whole
    /// word): (start of the name, end of the separator, whether it labels free text). Only
    /// the part of the text that intent ranking reads is searched.
    fn labels(&self, text: &str) -> Vec<(usize, usize, bool)> {
        let bytes = &text.as_bytes()[..text.len().min(text::MAX_BYTES)];
        // Non-ASCII bytes count as word bytes: "cafésummary:" is not the label "summary".
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
        let mut found = Vec::new();
        for (at, &sep) in bytes.iter().enumerate() {
            if sep != b':' && sep != b'=' {
                continue;
            }
            let start = bytes[..at]
                .iter()
                .rposition(|&b| !is_word(b))
                .map_or(0, |p| p + 1);
            let key = &text[start..at];
            if key.is_empty()
                || key.len() > self.longest_key
                || found.last().is_some_and(|&(s, _, _)| s == start)
            {
                continue;
            }
            if let Some(&free) = self.param_keys.get(&key.to_ascii_lowercase()) {
                found.push((start, at + 1, free));
            }
        }
        found
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
                ranked: Vec::new(),
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
                ranked: Vec::new(),
            };
        }
        let commands_only = |name: &str| builtins::builtin(name).is_none() && available(name);
        let words = self.intent_words(text);
        let mut ranked = self.index.rank(&words, &commands_only);
        // A question reorders commands that fit; it never makes one fit.
        if asks_for_information(&words) && self.index.decide(&ranked) != IntentDecision::NoMatch {
            favour_read_only(catalog, &mut ranked);
        }
        // Values inside a labelled free-text value are not evidence either; extractions made
        // from the cut text are not the command's parameters, so they are not reused then.
        let mut made = self.weigh_evidence(catalog, &words, &mut ranked);
        if matches!(words, Cow::Owned(_)) {
            made.clear();
        }
        self.settle(catalog, text, ranked, made)
    }

    /// Decide from `ranked` and extract the parameters of a confident choice (reusing one of
    /// the extractions `made` while weighing evidence, when it is there).
    fn settle(
        &self,
        catalog: &Catalog,
        text: &str,
        ranked: Vec<Ranked>,
        mut made: Vec<(String, Extraction)>,
    ) -> Understanding {
        let intent = self.index.decide(&ranked);
        let extraction = match &intent {
            IntentDecision::Confident(name) => match made.iter().position(|(n, _)| n == name) {
                Some(at) => made.swap_remove(at).1,
                None => catalog
                    .command(name)
                    .map(|command| self.extract(command, text))
                    .unwrap_or_default(),
            },
            _ => Extraction::default(),
        };
        Understanding {
            explicit: false,
            intent,
            extraction,
            ranked,
        }
    }

    /// Decide again, by the same rule, as if the commands in `ruled_out` had not been
    /// ranked (the data says they do not apply). What is left keeps its scores, so a runner-up
    /// that fits too weakly still comes out as "nothing fits".
    pub fn decide_without(
        &self,
        catalog: &Catalog,
        text: &str,
        understanding: &Understanding,
        ruled_out: &[String],
    ) -> Understanding {
        let ranked: Vec<Ranked> = understanding
            .ranked
            .iter()
            .filter(|r| !ruled_out.contains(&r.command))
            .cloned()
            .collect();
        self.settle(catalog, text, ranked, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::testing::helpdesk;

    fn fixture() -> (Catalog, Assistant) {
        let catalog = helpdesk();
        let assistant = Assistant::new(&catalog);
        (catalog, assistant)
    }

    fn ranking(scores: &[(&str, f32)]) -> Vec<Ranked> {
        scores
            .iter()
            .map(|(command, score)| Ranked {
                command: (*command).into(),
                score: *score,
            })
            .collect()
    }

    #[test]
    fn the_command_that_takes_every_value_given_wins() {
        let (catalog, assistant) = fixture();
        // Two constrained values; closing a ticket has no place for the email.
        let text = "T-1234 -> grace@example.org";
        let mut ranked = ranking(&[("close_ticket", 1.0), ("reassign_ticket", 0.9)]);
        assistant.weigh_evidence(&catalog, text, &mut ranked);
        assert_eq!(ranked[0].command, "reassign_ticket", "{ranked:?}");
    }

    #[test]
    fn a_question_favours_the_commands_that_only_read() {
        let (catalog, _) = fixture();
        for text in ["what's on my profile?", "Where is it", "WHICH ONE"] {
            assert!(asks_for_information(text), "{text:?}");
        }
        for text in ["how do I change my address", "somewhat odd", "whatever", ""] {
            assert!(!asks_for_information(text), "{text:?}");
        }
        let mut ranked = ranking(&[("modify_user_address", 1.0), ("find_user_by_email", 0.9)]);
        favour_read_only(&catalog, &mut ranked);
        assert_eq!(ranked[0].command, "find_user_by_email");
        assert!(
            (ranked[0].score - 1.0).abs() < 1e-6,
            "the best keeps its score"
        );
        let ratio = ranked[1].score / ranked[0].score;
        assert!((ratio - 1.0 / (0.9 * (1.0 + QUESTION_BONUS))).abs() < 1e-6);
        let mut weak = ranking(&[("find_user_by_email", 0.1)]);
        favour_read_only(&catalog, &mut weak);
        assert_eq!(
            weak[0].score, 0.1,
            "a question lifts no score over a threshold"
        );
    }

    #[test]
    fn a_labelled_free_text_value_does_not_vote() {
        let (catalog, assistant) = fixture();
        let text = "get me a person, Summary: the user wants ticket T-1234 closed and the \
                    address on the profile changed";
        assert_eq!(
            assistant.intent_words(text),
            "get me a person, Summary: ",
            "cut after the label of a free-text parameter"
        );
        let understood = assistant.understand(&catalog, text, &|_| true);
        assert_eq!(
            understood.intent,
            IntentDecision::Confident("transfer_to_human_agents".into())
        );
        let summary = understood.extraction.values.get("summary");
        assert!(
            summary.is_some_and(|s| s.as_str().is_some_and(|s| s.contains("T-1234"))),
            "the value is still extracted whole: {summary:?}"
        );
        // The value ends at the next label: later labels still say which command it is.
        assert_eq!(
            assistant.intent_words("address1: 12 Oak Street, zip=80302 please"),
            "address1: zip=80302 please"
        );
        assert_eq!(
            assistant.intent_words("move my profile to city: Austin, state: TX"),
            "move my profile to city: state: "
        );
        // Only whole parameter names of free-text parameters are labels.
        for text in [
            "cafésummary: not a label",
            "close my ticket, mysummary: whatever",
            "ticket_id: T-1234 and close it",
            "résumé: no colon key here ü",
            "",
            ":=:",
        ] {
            assert_eq!(assistant.intent_words(text), text);
        }
    }

    #[test]
    fn the_workflow_vocabulary_routes_its_own_words() {
        let (catalog, assistant) = fixture();
        // "issue" is the fixture's synonym of "ticket", "sorted" an equivalent of "resolved".
        let understood =
            assistant.understand(&catalog, "close issue T-2001, it is sorted", &|_| true);
        assert_eq!(
            understood.intent,
            IntentDecision::Confident("close_ticket".into())
        );
        assert_eq!(
            understood.extraction.values.get("reason"),
            Some(&serde_json::json!("resolved"))
        );
    }
}
