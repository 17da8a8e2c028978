//! Tokenising for intent ranking: words (lowercased, lightly stemmed, the workflow's
//! synonyms), value shapes (an order id or an email says something about the intent, but
//! its digits must not), and character 3-grams of words for typo tolerance.

use std::collections::HashMap;

use crate::workflow::Vocabulary;

/// Texts longer than this are cut (on a char boundary): intent lives in the first words,
/// and a 100 KB paste must not cost more than a sentence.
pub(crate) const MAX_BYTES: usize = 2048;

/// One weighted term of a text, before it is looked up in a vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    pub(crate) text: String,
    pub(crate) kind: TermKind,
    /// Down-weights stop words and shapes relative to content words.
    pub(crate) weight: f32,
}

/// Which space a term belongs to (scored separately, then combined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TermKind {
    Word,
    Gram,
}

/// Stop words: kept (built-ins like "what can I do" are made of them), but weak.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "i",
    "me",
    "my",
    "mine",
    "you",
    "your",
    "we",
    "our",
    "us",
    "it",
    "its",
    "is",
    "am",
    "are",
    "was",
    "were",
    "be",
    "been",
    "do",
    "doe",
    "did",
    "can",
    "could",
    "would",
    "will",
    "should",
    "shall",
    "may",
    "might",
    "please",
    "pls",
    "plz",
    "to",
    "of",
    "for",
    "in",
    "on",
    "at",
    "by",
    "with",
    "from",
    "and",
    "or",
    "but",
    "so",
    "that",
    "this",
    "these",
    "those",
    "there",
    "here",
    "what",
    "which",
    "who",
    "whom",
    "how",
    "when",
    "where",
    "why",
    "if",
    "then",
    "have",
    "ha",
    "had",
    "has",
    "hi",
    "hello",
    "hey",
    "thank",
    "thanks",
    "just",
    "some",
    "any",
    "all",
    "id",
    "s",
    "t",
    "d",
    "ll",
    "m",
    "re",
    "ve",
    "im",
    "i'm",
    "like",
    "want",
    "need",
    "get",
    "u",
    "cn",
    "one",
    "about",
    "yet",
    "still",
    "now",
    "too",
    "also",
    "very",
    "lot",
    "ahead",
    "sure",
    "really",
    "them",
    "they",
    "their",
    "something",
    "it's",
    "what's",
    "whats",
    "don",
    "not",
    "no",
    "yes",
    "ok",
    "okay",
];
const STOP_WEIGHT: f32 = 0.25;
const SHAPE_WEIGHT: f32 = 1.0;

/// A synonym's weight relative to the word itself: the canonical word is added beside the
/// word the user said, a little weaker.
pub(crate) const SYNONYM_WEIGHT: f32 = 0.9;

/// The workflow's own words (`[assistant]` in workflow.toml), prepared for lookups: the
/// engine knows English morphology and stop words; which words mean the same is the
/// workflow's to say.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lexicon {
    /// Stemmed word → stemmed word the commands use (the first entry for a stem wins).
    synonyms: HashMap<String, String>,
    /// Word → the first word of its group of equivalents (the first group wins).
    equivalents: HashMap<String, String>,
}

impl Lexicon {
    pub(crate) fn new(vocabulary: &Vocabulary) -> Self {
        let mut synonyms = HashMap::new();
        for (word, canonical) in &vocabulary.synonyms {
            synonyms
                .entry(stem(word))
                .or_insert_with(|| stem(canonical));
        }
        let mut equivalents = HashMap::new();
        for group in &vocabulary.equivalents {
            if let Some(canonical) = group.first() {
                for word in group {
                    equivalents
                        .entry(word.clone())
                        .or_insert_with(|| canonical.clone());
                }
            }
        }
        Self {
            synonyms,
            equivalents,
        }
    }

    /// The canonical word (stemmed) a stemmed word is a synonym of, if any.
    pub(crate) fn synonym_of(&self, stemmed: &str) -> Option<&str> {
        self.synonyms.get(stemmed).map(String::as_str)
    }

    /// The word of `word`'s group of equivalents that stands for the group (itself if none).
    pub(crate) fn canonical<'a>(&'a self, word: &'a str) -> &'a str {
        self.equivalents.get(word).map_or(word, String::as_str)
    }
}

/// Light suffix stripping: enough to join "orders"/"ordered"/"ordering" and
/// "change"/"changed"/"changing", without a full stemmer's surprises: Snowball's English
/// stemmer (`rust-stemmers`) routes the labelled utterance set worse (BENCHMARKS.md, "Tried").
pub(crate) fn stem(word: &str) -> String {
    let mut w = word.to_string();
    let len = |w: &String| w.chars().count();
    if w.ends_with("ies") && len(&w) > 4 {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
        && len(&w) > 3
    {
        w.pop();
    }
    let mut stripped = false;
    if w.ends_with("ing") && len(&w) > 5 {
        w.truncate(w.len() - 3);
        stripped = true;
    } else if w.ends_with("ed") && len(&w) > 4 {
        w.truncate(w.len() - 2);
        stripped = true;
    }
    if stripped {
        // "shipped" → "shipp" → "ship"
        let b = w.as_bytes();
        if b.len() >= 2 && b[b.len() - 1] == b[b.len() - 2] && !b[b.len() - 1].is_ascii_digit() {
            w.pop();
        }
    }
    if w.ends_with('e') && len(&w) > 4 {
        w.pop();
    }
    w
}

fn is_stop(word: &str) -> bool {
    STOP.contains(&word)
}

/// The shape of a token that holds digits or an `@`: letters → `a`, digit runs → `d` + length,
/// other characters kept. "#W2611340" → "#ad7", "ada_lovelace_1815" → "a_a_d4".
fn shape(token: &str) -> String {
    if token.contains('@') {
        return "~email".to_string();
    }
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    let opish = |c: char| matches!(c, '+' | '-' | '*' | '/' | 'x' | '(' | ')' | '.' | ',');
    if has_digit && token.chars().all(|c| c.is_ascii_digit() || opish(c)) {
        if token
            .chars()
            .any(|c| matches!(c, '+' | '*' | '/' | '(' | ')'))
            || (token.contains('-') && !token.starts_with('-'))
        {
            return "~arith".to_string();
        }
        let digits = token.chars().filter(char::is_ascii_digit).count();
        if token.contains('.') || digits <= 4 {
            return "~num".to_string();
        }
    }
    let mut out = String::from("~");
    let mut run: Option<(char, usize)> = None;
    let flush = |out: &mut String, run: Option<(char, usize)>| match run {
        Some(('d', n)) => {
            out.push('d');
            out.push_str(&n.min(12).to_string());
        }
        Some((c, _)) => out.push(c),
        None => {}
    };
    for c in token.chars() {
        let class = if c.is_ascii_digit() {
            'd'
        } else if c.is_alphabetic() {
            'a'
        } else {
            c
        };
        match run {
            Some((k, n)) if k == class => run = Some((k, n + 1)),
            _ => {
                flush(&mut out, run);
                run = Some((class, 1));
            }
        }
    }
    flush(&mut out, run);
    out
}

/// Character 3-grams of a word with boundary markers ("^ca", "can", …, "el$").
fn grams(word: &str, weight: f32, out: &mut Vec<Term>) {
    let chars: Vec<char> = std::iter::once('^')
        .chain(word.chars())
        .chain(std::iter::once('$'))
        .collect();
    if chars.len() < 3 {
        return;
    }
    for window in chars.windows(3) {
        out.push(Term {
            text: window.iter().collect(),
            kind: TermKind::Gram,
            weight,
        });
    }
}

/// The cut-down text: at most [`MAX_BYTES`], on a char boundary.
fn bounded(text: &str) -> &str {
    if text.len() <= MAX_BYTES {
        return text;
    }
    let mut end = MAX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Every term of `text`.
pub(crate) fn terms(lexicon: &Lexicon, text: &str, out: &mut Vec<Term>) {
    let text = bounded(text).to_lowercase();
    for raw in text.split_whitespace() {
        let token = raw.trim_matches(|c: char| {
            matches!(
                c,
                '"' | '\'' | '`' | ',' | ';' | ':' | '!' | '?' | '(' | ')' | '.'
            )
        });
        if token.is_empty() {
            // A bare operator between numbers ("24.99 + 18.99") was trimmed to nothing only
            // if it was punctuation; keep arithmetic signs as a shape.
            continue;
        }
        if matches!(token, "+" | "-" | "*" | "/" | "x" | "=") {
            if token != "=" && token != "x" {
                out.push(Term {
                    text: "~arith".into(),
                    kind: TermKind::Word,
                    weight: SHAPE_WEIGHT,
                });
            }
            continue;
        }
        // `key=value`: the key is a word, the value a value.
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (token, None),
        };
        let mut value_token = value;
        let key_is_value = key.contains('@') || key.chars().any(|c| c.is_ascii_digit());
        if key_is_value {
            value_token = Some(key);
        } else {
            words(lexicon, key, out);
        }
        if let Some(v) = value_token {
            let v = v.trim_matches(|c: char| matches!(c, '"' | '\'' | '[' | ']'));
            if v.contains('@') || v.chars().any(|c| c.is_ascii_digit()) {
                out.push(Term {
                    text: shape(v),
                    kind: TermKind::Word,
                    weight: SHAPE_WEIGHT,
                });
            } else if !v.is_empty() {
                words(lexicon, v, out);
            }
        }
    }
}

/// The words of a token without digits: split on anything not alphanumeric.
fn words(lexicon: &Lexicon, token: &str, out: &mut Vec<Term>) {
    for word in token
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let stemmed = stem(word);
        let stop = is_stop(word) || is_stop(&stemmed);
        let weight = if stop { STOP_WEIGHT } else { 1.0 };
        if !stop && word.chars().count() >= 3 {
            grams(word, 1.0, out);
        }
        // An exact entry has the same stem, so the stem alone finds every entry.
        if !stop && let Some(canon) = lexicon.synonym_of(&stemmed) {
            out.push(Term {
                text: canon.to_string(),
                kind: TermKind::Word,
                weight: SYNONYM_WEIGHT,
            });
        }
        out.push(Term {
            text: stemmed,
            kind: TermKind::Word,
            weight,
        });
    }
}

/// Optimal-string-alignment distance (edits and adjacent transpositions, each counted once).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words_of(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        terms(&Lexicon::default(), text, &mut out);
        out.into_iter()
            .filter(|t| t.kind == TermKind::Word)
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn stems_join_inflections() {
        assert_eq!(stem("orders"), stem("order"));
        assert_eq!(stem("ordered"), stem("order"));
        assert_eq!(stem("changed"), stem("change"));
        assert_eq!(stem("changing"), stem("change"));
        assert_eq!(stem("shipped"), stem("ship"));
    }

    #[test]
    fn values_become_shapes() {
        let w = words_of("cancel #W2611340 for ada@example.com");
        assert!(w.contains(&"~#ad7".to_string()), "{w:?}");
        assert!(w.contains(&"~email".to_string()));
        assert!(!w.iter().any(|t| t.contains("2611340")));
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(edit_distance("cancle", "cancel"), 1);
        assert_eq!(edit_distance("adress", "address"), 1);
        assert!(edit_distance("weather", "cancel") > 2);
    }

    #[test]
    fn the_workflow_says_which_words_are_synonyms() {
        let lexicon = Lexicon::new(&Vocabulary {
            synonyms: vec![
                ("parcel".into(), "order".into()),
                ("parcels".into(), "box".into()),
            ],
            equivalents: vec![vec!["mistake".into(), "accident".into()]],
        });
        let mut out = Vec::new();
        terms(&lexicon, "my parcels", &mut out);
        let synonym: Vec<&Term> = out.iter().filter(|t| t.text == "order").collect();
        assert_eq!(synonym.len(), 1, "{out:?}");
        assert!((synonym[0].weight - SYNONYM_WEIGHT).abs() < f32::EPSILON);
        assert!(
            out.iter().any(|t| t.text == "parcel"),
            "the word itself stays"
        );
        assert!(
            !out.iter().any(|t| t.text == "box"),
            "the first entry for a stem wins"
        );
        assert!(
            words_of("my parcels").iter().all(|w| w != "order"),
            "no vocabulary, no synonyms"
        );
        assert_eq!(lexicon.canonical("accident"), "mistake");
        assert_eq!(lexicon.canonical("bored"), "bored");
    }
}
