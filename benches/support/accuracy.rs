//! Scoring assistant routing on the labelled demo set (`tests/assistant/labelled.jsonl`):
//! shared by the accuracy bench, which prints the figures, and the floor test in `make test`,
//! which fails when they drop.
#![allow(dead_code)] // the bench prints every figure; the floor test reads two

use std::collections::BTreeMap;

use flowmcp::assistant::{IntentDecision, syntax};
use flowmcp::workflow::{Catalog, validate};
use serde_json::{Map, Value};

use super::demo_app::DemoApp;

const LABELLED: &str = include_str!("../../tests/assistant/labelled.jsonl");

#[derive(serde::Deserialize)]
pub(crate) struct Line {
    pub(crate) id: String,
    pub(crate) split: String,
    pub(crate) utterance: String,
    pub(crate) command: Option<String>,
    pub(crate) parameters: Map<String, Value>,
    pub(crate) kind: String,
}

#[derive(Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) lines: usize,
    pub(crate) intent_ok: usize,
    /// Top-1 right from the words alone (no data read).
    pub(crate) words_ok: usize,
    /// Lines with a labelled command.
    pub(crate) in_scope: usize,
    pub(crate) params_ok: usize,
    pub(crate) end_to_end_ok: usize,
    pub(crate) asked: usize,
    /// `ambiguous` lines where the labelled command was top-1 or among the offered choices.
    pub(crate) ambiguous: usize,
    pub(crate) ambiguous_ok: usize,
}

/// The tallies per split (`tune`, `heldout`) and, per (split, kind), (lines, top-1 right).
#[derive(Default)]
pub(crate) struct Measured {
    pub(crate) splits: BTreeMap<String, Tally>,
    pub(crate) by_kind: BTreeMap<(String, String), (usize, usize)>,
}

impl Measured {
    pub(crate) fn split(&self, name: &str) -> Tally {
        self.splits.get(name).copied().unwrap_or_default()
    }
}

/// `n` of `d` as a percentage (0 when `d` is 0).
pub(crate) fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        0.0
    } else {
        100.0 * n as f64 / d as f64
    }
}

/// Route every labelled line as the server does; `failure` hears about each tuning line it
/// gets wrong (never a held-out one: tune on `tune` only, see tests/assistant/README.md).
pub(crate) fn measure(demo: &DemoApp, mut failure: impl FnMut(String)) -> Measured {
    let app = &demo.app;
    let catalog = app.catalog();
    let assistant = app.assistant();
    let mut measured = Measured::default();
    for raw in LABELLED.lines().filter(|l| !l.trim().is_empty()) {
        let line: Line = serde_json::from_str(raw).expect("labelled line parses");
        let words = assistant.understand(catalog, &line.utterance, &|_| true);
        let understanding = demo.route(&line.utterance);
        let words_ok = top_of(&words.intent) == line.command;
        let offered: Vec<String> = match &understanding.intent {
            IntentDecision::Confident(name) => vec![name.clone()],
            IntentDecision::Ambiguous(candidates) => candidates.clone(),
            IntentDecision::NoMatch => Vec::new(),
        };
        let top = top_of(&understanding.intent);
        let intent_ok = top == line.command;
        // The extractor alone, given the labelled command.
        let isolated = line
            .command
            .as_deref()
            .and_then(|name| catalog.command(name))
            .map(
                |command| match syntax::parse_explicit(catalog, &line.utterance) {
                    Some(call) if call.command.name == command.name => call.extraction.values,
                    _ => assistant.extract(command, &line.utterance).values,
                },
            );
        let params_ok = isolated.as_ref().is_some_and(|found| {
            same_params(catalog, line.command.as_deref(), found, &line.parameters)
        });
        let end_to_end_ok = intent_ok
            && match &line.command {
                None => true,
                Some(name) => same_params(
                    catalog,
                    Some(name),
                    &understanding.extraction.values,
                    &line.parameters,
                ),
            };
        let asked = match &understanding.intent {
            IntentDecision::Ambiguous(_) => true,
            IntentDecision::Confident(name) => catalog.command(name).is_some_and(|command| {
                !understanding.extraction.invalid.is_empty()
                    || validate::validate_params(
                        command,
                        Some(&Value::Object(understanding.extraction.values.clone())),
                    )
                    .is_err()
            }),
            IntentDecision::NoMatch => false,
        };
        let t = measured.splits.entry(line.split.clone()).or_default();
        t.lines += 1;
        t.intent_ok += usize::from(intent_ok);
        t.words_ok += usize::from(words_ok);
        t.asked += usize::from(asked);
        if line.command.is_some() {
            t.in_scope += 1;
            t.params_ok += usize::from(params_ok);
            t.end_to_end_ok += usize::from(end_to_end_ok);
        }
        if line.kind == "ambiguous" {
            t.ambiguous += 1;
            t.ambiguous_ok +=
                usize::from(line.command.as_ref().is_some_and(|c| offered.contains(c)));
        }
        let k = measured
            .by_kind
            .entry((line.split.clone(), line.kind.clone()))
            .or_default();
        k.0 += 1;
        k.1 += usize::from(intent_ok);
        if line.split == "tune" && (!intent_ok || (line.command.is_some() && !params_ok)) {
            failure(format!(
                "{} [{}] {:?}\n    want {:?} {}\n    got  {:?} {}",
                line.id,
                line.kind,
                line.utterance,
                line.command,
                Value::Object(line.parameters.clone()),
                understanding.intent,
                Value::Object(isolated.unwrap_or_default()),
            ));
        }
    }
    measured
}

/// The first-ranked command of a decision, if any.
fn top_of(intent: &IntentDecision) -> Option<String> {
    match intent {
        IntentDecision::Confident(name) => Some(name.clone()),
        IntentDecision::Ambiguous(candidates) => candidates.first().cloned(),
        IntentDecision::NoMatch => None,
    }
}

/// Labelled and found parameters agree: names case-insensitively, expressions by value.
fn same_params(
    catalog: &Catalog,
    command: Option<&str>,
    found: &Map<String, Value>,
    want: &Map<String, Value>,
) -> bool {
    let Some(command) = command.and_then(|c| catalog.command(c)) else {
        return found.is_empty() && want.is_empty();
    };
    // Defaults the extractor may fill in are not the user's words: compare only what was said
    // or what differs from the default.
    let said = |map: &Map<String, Value>| -> Map<String, Value> {
        map.iter()
            .filter(|(k, v)| {
                command.param(k).and_then(|p| p.default.as_ref()) != Some(v)
                    || want.contains_key(*k)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let found = said(found);
    if found.len() != want.len() {
        return false;
    }
    want.iter().all(|(key, value)| {
        let Some(got) = found.get(key) else {
            return false;
        };
        match (key.as_str(), value, got) {
            ("expression", Value::String(a), Value::String(b)) => {
                match (
                    flowmcp::demo::evaluate_expression(a),
                    flowmcp::demo::evaluate_expression(b),
                ) {
                    (Ok(x), Ok(y)) => (x - y).abs() < 1e-9,
                    _ => a == b,
                }
            }
            ("first_name" | "last_name", Value::String(a), Value::String(b)) => {
                a.eq_ignore_ascii_case(b)
            }
            _ => value == got,
        }
    })
}
