//! Intent ranking: which command do the user's words mean?
//!
//! A TF-IDF cosine model over two term spaces — stemmed words (plus value shapes and the
//! workflow's synonyms) and character 3-grams of words (typo tolerance) — built once at load.
//! Each command has one whole document (name, description, utterances, parameter names) and one
//! small document per utterance (and one for its name); its score blends the whole-document
//! similarity with its best utterance. Parameters add their names and the shapes of their
//! example values (ids, numbers, emails). Queries walk an inverted index, so only documents
//! sharing a term with the text are touched.

use std::collections::HashMap;

use super::builtins::BUILTINS;
use super::text::{self, Lexicon, Term, TermKind};
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

/// Weight of the word space against the 3-gram space.
const WORD_SHARE: f32 = 0.5;
/// Weight of the best utterance against the whole command document.
const UTTERANCE_SHARE: f32 = 0.1;
/// Below this top score, nothing fits…
const NO_MATCH_BELOW: f32 = 0.15;
/// …unless the top is a clear winner: at least this many times the runner-up's score…
const CLEAR_WINNER_RATIO: f32 = 2.0;
/// …and not below this floor. A command with many phrasings has a long whole document, so
/// its cosine with a short request is low even when nothing else comes close ("subtract 18.99
/// from 30" against `calculate`); a fixed threshold alone would answer those "nothing fits".
const CLEAR_WINNER_FLOOR: f32 = 0.08;
/// Candidates scoring at least this fraction of the top are too close to call.
const CLOSE_RATIO: f32 = 0.85;
/// Most candidates offered when asking.
const MAX_CANDIDATES: usize = 5;
/// Built-ins are meta-commands with short phrasings that match anything sharing a word
/// ("cancel that", "leave this context"): a workflow command with the same words wins.
const BUILTIN_FACTOR: f32 = 0.75;
/// Added to a command whose exact name the text contains as a word: naming it is the
/// clearest signal there is, even without the explicit-call syntax.
const NAMED_BONUS: f32 = 1.0;
/// Weight of a typo-corrected word relative to an exact one.
const CORRECTED_WEIGHT: f32 = 0.8;

/// Count a typo-corrected word, and the word it is a synonym of (as the tokeniser does for
/// words spelled right).
fn add_corrected(lexicon: &Lexicon, tf: &mut HashMap<(TermKind, String), f32>, fixed: String) {
    if let Some(canon) = lexicon.synonym_of(&fixed) {
        *tf.entry((TermKind::Word, canon.to_string())).or_default() +=
            CORRECTED_WEIGHT * text::SYNONYM_WEIGHT;
    }
    *tf.entry((TermKind::Word, fixed)).or_default() += CORRECTED_WEIGHT;
}

/// For each word seen once (`occurrences` 1, at least 4 letters), the common word one edit
/// away with the same first letter (ties: the alphabetically first), by term id.
fn typos(vocab: &HashMap<(TermKind, String), u32>, occurrences: &[u32]) -> Vec<Option<String>> {
    // (word, its chars, times seen) for every word of the vocabulary, by id.
    let words = || {
        vocab
            .iter()
            .filter(|((kind, w), _)| *kind == TermKind::Word && !w.starts_with('~'))
            .map(|((_, w), &id)| (id, w, w.chars().collect::<Vec<char>>()))
    };
    let seen = |id: u32| occurrences[id as usize];
    // Common words by first letter, so the build stays near-linear in the vocabulary.
    let mut by_first: HashMap<char, Vec<(&String, usize)>> = HashMap::new();
    for (_, word, chars) in words().filter(|(id, _, _)| seen(*id) > 1) {
        if let Some(&first) = chars.first() {
            by_first.entry(first).or_default().push((word, chars.len()));
        }
    }
    let mut typo_of = vec![None; occurrences.len()];
    for (id, word, chars) in words().filter(|(id, _, c)| seen(*id) == 1 && c.len() >= 4) {
        let Some(candidates) = chars.first().and_then(|c| by_first.get(c)) else {
            continue;
        };
        typo_of[id as usize] = candidates
            .iter()
            .filter(|(_, len)| len.abs_diff(chars.len()) <= 1)
            .filter(|(common, _)| text::edit_distance(word, common) == 1)
            .map(|(common, _)| *common)
            .min()
            .cloned();
    }
    typo_of
}

/// One indexed document.
#[derive(Debug)]
struct Doc {
    command: u32,
    whole: bool,
}

/// The index over every command's name, description and utterances (and the built-ins').
#[derive(Debug)]
pub struct IntentIndex {
    names: Vec<String>,
    /// Command name → index in `names`.
    by_name: HashMap<String, u32>,
    /// Per command: multiplier of its score ([`BUILTIN_FACTOR`] for built-ins).
    factors: Vec<f32>,
    docs: Vec<Doc>,
    /// Term (with its space) → id.
    vocab: HashMap<(TermKind, String), u32>,
    idf: Vec<f32>,
    /// Term id → (doc, normalised weight).
    postings: Vec<Vec<(u32, f32)>>,
    /// Word vocabulary, for typo correction of unknown words.
    words: Vec<VocabWord>,
    /// Per term id: for a word seen only once in the text the index was built from (a
    /// command's name counts twice, so never one of its words), the common word one edit
    /// away, if any. Such a word may be a phrasing's deliberate misspelling ("chnage"): it
    /// must not stop the correction of the same typo in a request, or the request loses the
    /// real word ("change") and its synonyms. Found at build, so a request pays nothing.
    typo_of: Vec<Option<String>>,
    /// Idf given to terms never seen at build (they still count in the query's norm).
    unseen_idf: f32,
    /// The workflow's synonyms and equivalents.
    lexicon: Lexicon,
}

/// A word of the vocabulary with what makes most correction candidates cheap to rule out.
#[derive(Debug)]
struct VocabWord {
    text: String,
    chars: usize,
    first: Option<char>,
    letters: u64,
}

/// The set of characters of `word`, folded into 64 bits. One edit changes at most two bits
/// (a substitution takes one character out and puts one in; a transposition changes none),
/// so words whose sets differ in more than `2 × max` bits are more than `max` edits apart.
fn letter_set(word: &str) -> u64 {
    word.chars()
        .fold(0, |set, c| set | 1 << (u32::from(c) % 64))
}

/// The raw material of one command.
struct Source {
    name: String,
    builtin: bool,
    description: String,
    utterances: Vec<String>,
    params: Vec<String>,
}

/// A parameter's example values that are ids, numbers or emails: indexed, they become value
/// shapes, so an order id in the text points at the commands that take one even when none of
/// their phrasings shows one. Word examples ("Boulder") would only add noise.
fn value_examples(param: &crate::workflow::Param) -> impl Iterator<Item = String> + '_ {
    param
        .examples
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .filter(|s| s.contains('@') || s.chars().any(|c| c.is_ascii_digit()))
}

impl IntentIndex {
    pub fn build(catalog: &Catalog) -> Self {
        let lexicon = Lexicon::new(&catalog.vocabulary);
        let mut sources: Vec<Source> = catalog
            .commands
            .values()
            .map(|c| Source {
                name: c.name.clone(),
                builtin: false,
                description: c.description.clone(),
                utterances: c.utterances.clone(),
                params: c
                    .params
                    .iter()
                    .flat_map(|p| {
                        std::iter::once(p.name.replace('_', " ")).chain(value_examples(p))
                    })
                    .collect(),
            })
            .collect();
        sources.extend(BUILTINS.iter().map(|b| Source {
            name: b.name.to_string(),
            builtin: true,
            description: b.description.to_string(),
            utterances: b.utterances.iter().map(|u| u.to_string()).collect(),
            params: Vec::new(),
        }));
        Self::from_sources(&sources, lexicon)
    }

    /// The workflow's synonyms and equivalents, as the index reads them.
    pub(crate) fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    fn from_sources(sources: &[Source], lexicon: Lexicon) -> Self {
        let mut names = Vec::with_capacity(sources.len());
        let mut factors = Vec::with_capacity(sources.len());
        let mut docs = Vec::new();
        let mut doc_terms: Vec<Vec<Term>> = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            let command = i as u32;
            names.push(s.name.clone());
            factors.push(if s.builtin { BUILTIN_FACTOR } else { 1.0 });
            let spoken_name = s.name.replace('_', " ");
            let mut whole = Vec::new();
            // The name counts twice in the whole document: it is the most deliberate text.
            text::terms(&lexicon, &spoken_name, &mut whole);
            text::terms(&lexicon, &spoken_name, &mut whole);
            text::terms(&lexicon, &s.description, &mut whole);
            for u in &s.utterances {
                text::terms(&lexicon, u, &mut whole);
            }
            for p in &s.params {
                text::terms(&lexicon, p, &mut whole);
            }
            docs.push(Doc {
                command,
                whole: true,
            });
            doc_terms.push(whole);
            for u in std::iter::once(&spoken_name).chain(&s.utterances) {
                let mut t = Vec::new();
                text::terms(&lexicon, u, &mut t);
                docs.push(Doc {
                    command,
                    whole: false,
                });
                doc_terms.push(t);
            }
        }
        // Document frequency counts commands (not documents): a word in every utterance of
        // one command is still specific to it.
        let mut vocab: HashMap<(TermKind, String), u32> = HashMap::new();
        let mut kinds = Vec::new();
        let mut df: Vec<u32> = Vec::new();
        let mut occurrences: Vec<u32> = Vec::new();
        for (doc, terms) in docs.iter().zip(&doc_terms) {
            if !doc.whole {
                continue;
            }
            let mut seen = std::collections::HashSet::new();
            for t in terms {
                let key = (t.kind, t.text.clone());
                let id = *vocab.entry(key).or_insert_with(|| {
                    kinds.push(t.kind);
                    df.push(0);
                    occurrences.push(0);
                    (df.len() - 1) as u32
                });
                occurrences[id as usize] += 1;
                if seen.insert(id) {
                    df[id as usize] += 1;
                }
            }
        }
        let n = sources.len().max(1) as f32;
        let idf: Vec<f32> = df.iter().map(|&d| (1.0 + n / d as f32).ln()).collect();
        let unseen_idf = (1.0 + n).ln();
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); idf.len()];
        for (d, terms) in doc_terms.iter().enumerate() {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for t in terms {
                if let Some(&id) = vocab.get(&(t.kind, t.text.clone())) {
                    *tf.entry(id).or_default() += t.weight;
                }
            }
            for kind in [TermKind::Word, TermKind::Gram] {
                let mut weights: Vec<(u32, f32)> = tf
                    .iter()
                    .filter(|(id, _)| kinds[**id as usize] == kind)
                    .map(|(&id, &f)| (id, (1.0 + f.ln().max(-2.0)).max(0.05) * idf[id as usize]))
                    .collect();
                weights.sort_by_key(|(id, _)| *id);
                let norm = weights.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
                if norm > 0.0 {
                    for (id, w) in weights {
                        postings[id as usize].push((d as u32, w / norm));
                    }
                }
            }
        }
        let words = vocab
            .iter()
            .filter(|((k, w), _)| *k == TermKind::Word && !w.starts_with('~'))
            .map(|((_, w), _)| VocabWord {
                text: w.clone(),
                chars: w.chars().count(),
                first: w.chars().next(),
                letters: letter_set(w),
            })
            .collect();
        let typo_of = typos(&vocab, &occurrences);
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
        Self {
            names,
            by_name,
            factors,
            docs,
            vocab,
            idf,
            postings,
            words,
            typo_of,
            unseen_idf,
            lexicon,
        }
    }

    /// The query's terms as (id or unseen, weight) per space, typo-corrected.
    fn query(&self, text: &str) -> Vec<(Option<u32>, TermKind, f32)> {
        let mut terms = Vec::new();
        text::terms(&self.lexicon, text, &mut terms);
        let mut tf: HashMap<(TermKind, String), f32> = HashMap::new();
        for t in terms {
            let key = (t.kind, t.text);
            if t.kind == TermKind::Word && t.weight >= 1.0 && !key.1.starts_with('~') {
                match self.vocab.get(&key) {
                    None => {
                        if let Some(fixed) = self.correct(&key.1) {
                            add_corrected(&self.lexicon, &mut tf, fixed);
                            continue;
                        }
                    }
                    // Known, but maybe only as someone's typo: also read it as the common word.
                    Some(&id) => {
                        if let Some(fixed) = &self.typo_of[id as usize] {
                            add_corrected(&self.lexicon, &mut tf, fixed.clone());
                        }
                    }
                }
            }
            *tf.entry(key).or_default() += t.weight;
        }
        // Sorted, so that float sums run in the same order on every call.
        let mut tf: Vec<((TermKind, String), f32)> = tf.into_iter().collect();
        tf.sort_by(|a, b| a.0.1.cmp(&b.0.1).then((a.0.0 as u8).cmp(&(b.0.0 as u8))));
        tf.into_iter()
            .map(|(key, f)| {
                let kind = key.0;
                let id = self.vocab.get(&key).copied();
                let idf = id.map_or(self.unseen_idf, |id| self.idf[id as usize]);
                (id, kind, (1.0 + f.ln().max(-2.0)).max(0.05) * idf)
            })
            .collect()
    }

    /// The indexed word closest to an unknown `word`, within a length-dependent distance.
    fn correct(&self, word: &str) -> Option<String> {
        let chars = word.chars().count();
        let max = match chars {
            0..=3 => return None,
            4..=5 => 1,
            _ => 2,
        };
        let (first, letters) = (word.chars().next(), letter_set(word));
        let mut best: Option<(usize, &String)> = None;
        for w in &self.words {
            if w.chars.abs_diff(chars) > max
                || (w.first != first && max < 2)
                || (w.letters ^ letters).count_ones() as usize > 2 * max
            {
                continue;
            }
            let d = text::edit_distance(word, &w.text);
            if d <= max && best.is_none_or(|(bd, bs)| d < bd || (d == bd && w.text < *bs)) {
                best = Some((d, &w.text));
            }
        }
        best.map(|(_, s)| s.clone())
    }

    /// Commands for which `available(name)` holds, best first.
    pub fn rank(&self, text: &str, available: &dyn Fn(&str) -> bool) -> Vec<Ranked> {
        let query = self.query(text);
        let norm = |kind: TermKind| {
            query
                .iter()
                .filter(|(_, k, _)| *k == kind)
                .map(|(_, _, w)| w * w)
                .sum::<f32>()
                .sqrt()
        };
        let (word_norm, gram_norm) = (norm(TermKind::Word), norm(TermKind::Gram));
        // A query without 3-grams (only stop words and values) is all word space.
        let word_share = if gram_norm > 0.0 { WORD_SHARE } else { 1.0 };
        // Dense accumulators over documents, touched only through postings.
        let mut sims = vec![0.0f32; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        for (id, kind, w) in &query {
            let Some(id) = id else { continue };
            let (norm, share) = match kind {
                TermKind::Word => (word_norm, word_share),
                TermKind::Gram => (gram_norm, 1.0 - word_share),
            };
            if norm <= 0.0 {
                continue;
            }
            let factor = share * w / norm;
            for &(doc, dw) in &self.postings[*id as usize] {
                let slot = &mut sims[doc as usize];
                if *slot == 0.0 {
                    touched.push(doc);
                }
                *slot += dw * factor;
            }
        }
        touched.sort_unstable();
        touched.dedup();
        // Per command: (whole-document similarity, best utterance similarity).
        let mut per_command: Vec<(u32, f32, f32)> = Vec::new();
        for doc in touched {
            let d = &self.docs[doc as usize];
            let sim = sims[doc as usize];
            // Documents of one command are contiguous, so are their touched ids.
            if per_command.last().is_none_or(|(c, _, _)| *c != d.command) {
                per_command.push((d.command, 0.0, 0.0));
            }
            if let Some(entry) = per_command.last_mut() {
                if d.whole {
                    entry.1 = sim;
                } else {
                    entry.2 = entry.2.max(sim);
                }
            }
        }
        for token in text.split_whitespace().take(64) {
            let token = token.trim_start_matches('/');
            let token = token.split_once('=').map_or(token, |(key, _)| key);
            if let Some(&command) = self.by_name.get(token) {
                match per_command.iter_mut().find(|(c, _, _)| *c == command) {
                    Some(entry) => entry.1 += NAMED_BONUS / (1.0 - UTTERANCE_SHARE),
                    None => per_command.push((command, NAMED_BONUS / (1.0 - UTTERANCE_SHARE), 0.0)),
                }
            }
        }
        let mut ranked: Vec<Ranked> = per_command
            .into_iter()
            .filter_map(|(command, whole, best)| {
                let name = &self.names[command as usize];
                // A near-verbatim phrasing wins on its own, even when the whole document
                // (diluted by everything else the command says) matches weakly.
                let blend = (1.0 - UTTERANCE_SHARE) * whole + UTTERANCE_SHARE * best;
                let score = blend.max(best.powi(4)) * self.factors[command as usize];
                (score > 0.0 && available(name)).then(|| Ranked {
                    command: name.clone(),
                    score,
                })
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.command.cmp(&b.command))
        });
        ranked
    }

    /// Decide from a ranking (as returned by [`Self::rank`]).
    pub fn decide(&self, ranked: &[Ranked]) -> IntentDecision {
        let Some(top) = ranked.first() else {
            return IntentDecision::NoMatch;
        };
        // NaN cannot happen (finite weights), but must not count as a match either.
        let runner_up = ranked.get(1).map_or(0.0, |r| r.score);
        let clear_winner =
            top.score >= CLEAR_WINNER_FLOOR && top.score >= CLEAR_WINNER_RATIO * runner_up;
        if top.score.is_nan() || (top.score < NO_MATCH_BELOW && !clear_winner) {
            return IntentDecision::NoMatch;
        }
        let close: Vec<String> = ranked
            .iter()
            .take(MAX_CANDIDATES)
            .take_while(|r| r.score >= top.score * CLOSE_RATIO)
            .map(|r| r.command.clone())
            .collect();
        if close.len() >= 2 {
            IntentDecision::Ambiguous(close)
        } else {
            IntentDecision::Confident(top.command.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::Vocabulary;
    use crate::workflow::testing::helpdesk;

    fn fixture() -> IntentIndex {
        IntentIndex::build(&helpdesk())
    }

    fn decide(index: &IntentIndex, text: &str) -> IntentDecision {
        index.decide(&index.rank(text, &|_| true))
    }

    fn top(index: &IntentIndex, text: &str) -> Option<String> {
        index
            .rank(text, &|_| true)
            .first()
            .map(|r| r.command.clone())
    }

    /// A lexicon with the one synonym the hand-made indexes below need.
    fn change_is_modify() -> Lexicon {
        Lexicon::new(&Vocabulary {
            synonyms: vec![("change".into(), "modify".into())],
            equivalents: Vec::new(),
        })
    }

    #[test]
    fn clear_requests_are_confident() {
        let index = fixture();
        assert_eq!(
            decide(&index, "please close my ticket T-1234"),
            IntentDecision::Confident("close_ticket".into())
        );
        assert_eq!(
            decide(&index, "I want to speak to a person"),
            IntentDecision::Confident("transfer_to_human_agents".into())
        );
    }

    #[test]
    fn typos_still_route() {
        let index = fixture();
        assert_eq!(top(&index, "calcualte 3 + 4").as_deref(), Some("calculate"));
        assert_eq!(
            top(&index, "clsoe my tikcet T-1234").as_deref(),
            Some("close_ticket")
        );
        assert_eq!(
            top(&index, "reasign T-1234 to grace@example.org").as_deref(),
            Some("reassign_ticket")
        );
    }

    #[test]
    fn nonsense_is_no_match() {
        let index = fixture();
        for text in ["purple monkey dishwasher", "zzzz qqqq", "", "   "] {
            assert_eq!(decide(&index, text), IntentDecision::NoMatch, "{text:?}");
        }
    }

    /// Two commands that say the same about addresses, one about the home and one about the
    /// office: a request naming neither fits both equally, whatever the phrasings say.
    fn two_addresses() -> IntentIndex {
        let address = |name: &str, place: &str| Source {
            description: format!("Change the {place} address"),
            params: vec!["address".to_string()],
            ..source(
                name,
                &[
                    &format!("change my {place} address"),
                    &format!("update the address of my {place}"),
                    &format!("my {place} moved, new address"),
                ],
            )
        };
        IntentIndex::from_sources(
            &[
                address("modify_home_address", "home"),
                address("modify_office_address", "office"),
            ],
            change_is_modify(),
        )
    }

    /// A workflow command with only a name and phrasings.
    fn source(name: &str, utterances: &[&str]) -> Source {
        Source {
            name: name.to_string(),
            builtin: false,
            description: String::new(),
            utterances: utterances.iter().map(|u| u.to_string()).collect(),
            params: Vec::new(),
        }
    }

    #[test]
    fn a_typo_seen_once_in_the_phrasings_is_still_corrected() {
        // "chnage" is in the vocabulary once, as somebody's typo; "change" is common.
        let index = IntentIndex::from_sources(
            &[
                source("modify_color", &["change the color", "change its color"]),
                source("modify_size", &["chnage the size", "a bigger size"]),
            ],
            change_is_modify(),
        );
        let id = |word: &str| {
            index
                .vocab
                .get(&(TermKind::Word, text::stem(word)))
                .copied()
        };
        let terms = |query: &str| -> Vec<u32> {
            index
                .query(query)
                .into_iter()
                .filter_map(|(id, _, _)| id)
                .collect()
        };
        let (typo, change) = (
            id("chnage").expect("indexed"),
            id("change").expect("indexed"),
        );
        let modify = id("modify").expect("change's synonym is indexed");
        assert_eq!(index.typo_of[typo as usize].as_deref(), Some("chang"));
        assert_eq!(
            index.typo_of[change as usize], None,
            "a common word is no typo"
        );
        let read = terms("chnage");
        assert!(read.contains(&typo), "the word itself still counts");
        assert!(
            read.contains(&change),
            "read as the common word too: {read:?}"
        );
        assert!(read.contains(&modify), "with that word's synonym: {read:?}");
        // An unknown typo gets the synonym of its correction as well.
        assert!(terms("chanqe").contains(&modify));
        // A common word is taken as written.
        assert!(!terms("change").contains(&typo));
    }

    #[test]
    fn two_way_query_asks() {
        let index = two_addresses();
        match decide(&index, "change the address") {
            IntentDecision::Ambiguous(candidates) => {
                assert_eq!(candidates.len(), 2, "{candidates:?}");
                assert!(candidates.contains(&"modify_home_address".to_string()));
                assert!(candidates.contains(&"modify_office_address".to_string()));
            }
            other => panic!("expected a question, got {other:?}"),
        }
        assert_eq!(
            decide(&index, "change the address of the office"),
            IntentDecision::Confident("modify_office_address".into())
        );
    }

    #[test]
    fn a_weak_but_clear_winner_is_a_match() {
        let index = two_addresses();
        let ranking = |scores: [f32; 2]| -> Vec<Ranked> {
            ["a", "b"]
                .iter()
                .zip(scores)
                .map(|(command, score)| Ranked {
                    command: command.to_string(),
                    score,
                })
                .collect()
        };
        let weak = NO_MATCH_BELOW * 0.7;
        assert!(weak >= CLEAR_WINNER_FLOOR);
        let clear = weak / CLEAR_WINNER_RATIO * 0.9;
        let close = weak / CLEAR_WINNER_RATIO * 1.1;
        assert_eq!(
            index.decide(&ranking([weak, clear])),
            IntentDecision::Confident("a".into())
        );
        assert_eq!(
            index.decide(&ranking([weak, close])),
            IntentDecision::NoMatch
        );
        let too_weak = CLEAR_WINNER_FLOOR * 0.9;
        assert_eq!(
            index.decide(&ranking([too_weak, 0.0])),
            IntentDecision::NoMatch
        );
        assert_eq!(
            index.decide(&ranking([NO_MATCH_BELOW, NO_MATCH_BELOW * 0.9])),
            IntentDecision::Ambiguous(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn unavailable_commands_are_never_ranked() {
        let index = fixture();
        let text = "close my ticket";
        let ranked = index.rank(text, &|name| name != "close_ticket");
        assert!(ranked.iter().all(|r| r.command != "close_ticket"));
        let only = index.rank(text, &|name| name == "get_ticket_details");
        assert!(only.iter().all(|r| r.command == "get_ticket_details"));
    }

    #[test]
    fn a_named_command_wins() {
        let index = fixture();
        assert_eq!(
            top(&index, "modify_user_address city=Boulder zip=80302").as_deref(),
            Some("modify_user_address")
        );
    }

    #[test]
    fn a_bare_value_points_at_the_commands_that_take_it() {
        let catalog = helpdesk();
        let index = IntentIndex::build(&catalog);
        let takes = |param: &'static str| {
            let catalog = &catalog;
            move |name: &str| {
                catalog
                    .command(name)
                    .is_some_and(|c| c.params.iter().any(|p| p.name.contains(param)))
            }
        };
        let ranked = index.rank("T-7654", &|_| true);
        assert!(!ranked.is_empty());
        assert!(
            ranked
                .iter()
                .take(3)
                .all(|r| takes("ticket_id")(&r.command)),
            "{ranked:?}"
        );
        let ranked = index.rank("jane.doe@example.com", &|_| true);
        assert!(takes("email")(&ranked[0].command), "{ranked:?}");
    }

    #[test]
    fn builtins_are_routed() {
        let index = fixture();
        assert_eq!(
            decide(&index, "what can I do?"),
            IntentDecision::Confident("what_can_i_do".into())
        );
        assert_eq!(
            decide(&index, "where am I"),
            IntentDecision::Confident("what_is_current_context".into())
        );
    }

    #[test]
    fn ranking_is_sorted_and_deterministic() {
        let index = fixture();
        let a = index.rank("close a ticket that was reported twice", &|_| true);
        let b = index.rank("close a ticket that was reported twice", &|_| true);
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn any_text_is_safe() {
        let index = fixture();
        let long = "close my ticket ".repeat(7_000);
        let texts = [
            String::new(),
            long,
            "\u{0}\u{7}\t\r\n\u{1b}[31m".to_string(),
            "キャンセルしてください 注文".to_string(),
            "отменить заказ".to_string(),
            "🙂🙂🙂 ̶c̶a̶n̶c̶e̶l̶".to_string(),
            "=====".to_string(),
            "a=b=c= =\"\"".to_string(),
            "é".repeat(3_000),
        ];
        for text in &texts {
            let ranked = index.rank(text, &|_| true);
            assert!(ranked.iter().all(|r| r.score.is_finite()));
            let _ = index.decide(&ranked);
        }
    }

    #[test]
    fn a_letter_set_never_rules_out_a_close_word() {
        for (a, b) in [
            ("cancel", "cancle"),
            ("address", "adress"),
            ("ticket", "tikcet"),
        ] {
            assert!(strsim::osa_distance(a, b) <= 2);
            assert!((letter_set(a) ^ letter_set(b)).count_ones() <= 4, "{a} {b}");
        }
    }
}
