//! Accuracy of assistant routing on the labelled demo set (`tests/assistant/labelled.jsonl`).
//!
//! `cargo bench --bench assistant_accuracy` prints, for the tuning and the held-out part:
//! top-1 intent accuracy (as served: the words, then the demo data through `[applies_when]`;
//! and from the words alone), parameter exact-match (the extractor given the labelled command, and
//! end to end: right command *and* right parameters), and how often the router would ask.
//! `-- --failures` lists the tuning lines it gets wrong (never the held-out ones: tune on
//! `tune` only, see tests/assistant/README.md). During development `cargo test --bench
//! assistant_accuracy -- --failures` gives the same in a debug build.

use std::collections::BTreeMap;

use flowmcp::assistant::{IntentDecision, extract, syntax};
use flowmcp::workflow::{Catalog, validate};

#[path = "support/demo_app.rs"]
mod demo_app;
use demo_app::DemoApp;
use serde_json::{Map, Value};

const LABELLED: &str = include_str!("../tests/assistant/labelled.jsonl");

#[derive(serde::Deserialize)]
struct Line {
    id: String,
    split: String,
    utterance: String,
    command: Option<String>,
    parameters: Map<String, Value>,
    kind: String,
}

#[derive(Default)]
struct Tally {
    lines: usize,
    intent_ok: usize,
    /// Top-1 right from the words alone (no data read).
    words_ok: usize,
    /// Lines with a labelled command.
    in_scope: usize,
    params_ok: usize,
    end_to_end_ok: usize,
    asked: usize,
    /// `ambiguous` lines where the labelled command was top-1 or among the offered choices.
    ambiguous: usize,
    ambiguous_ok: usize,
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:5.1} %", 100.0 * n as f64 / d as f64)
    }
}

fn main() {
    let show_failures = std::env::args().any(|a| a == "--failures");
    // The demo with its generated data: the labelled lines use its planted ids.
    let demo = DemoApp::open();
    let app = &demo.app;
    let catalog = app.catalog();
    let assistant = app.assistant();
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut by_kind: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
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
                    _ => extract::extract(command, &line.utterance).values,
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
        let t = tallies.entry(line.split.clone()).or_default();
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
        let k = by_kind
            .entry((line.split.clone(), line.kind.clone()))
            .or_default();
        k.0 += 1;
        k.1 += usize::from(intent_ok);
        if show_failures
            && line.split == "tune"
            && (!intent_ok || (line.command.is_some() && !params_ok))
        {
            println!(
                "{} [{}] {:?}\n    want {:?} {}\n    got  {:?} {}",
                line.id,
                line.kind,
                line.utterance,
                line.command,
                Value::Object(line.parameters.clone()),
                understanding.intent,
                Value::Object(isolated.unwrap_or_default()),
            );
        }
    }
    println!("\nassistant routing accuracy — demo workflow, tests/assistant/labelled.jsonl\n");
    println!(
        "| split | lines | top-1 intent | top-1 intent (words only) | params (extractor) | params (end to end) | asks | ambiguous: labelled offered |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for split in ["tune", "heldout"] {
        let t = tallies
            .get(split)
            .unwrap_or(&Tally::default())
            .clone_counts();
        println!(
            "| {split} | {} | {} | {} | {} | {} | {} | {} |",
            t.lines,
            pct(t.intent_ok, t.lines),
            pct(t.words_ok, t.lines),
            pct(t.params_ok, t.in_scope),
            pct(t.end_to_end_ok, t.in_scope),
            pct(t.asked, t.lines),
            pct(t.ambiguous_ok, t.ambiguous),
        );
    }
    println!("\ntop-1 intent by kind:\n");
    println!("| kind | tune | heldout |");
    println!("|---|---:|---:|");
    let kinds: std::collections::BTreeSet<&String> = by_kind.keys().map(|(_, k)| k).collect();
    for kind in kinds {
        let cell = |split: &str| {
            by_kind
                .get(&(split.to_string(), kind.clone()))
                .map_or("-".to_string(), |(n, ok)| {
                    format!("{} ({ok}/{n})", pct(*ok, *n).trim())
                })
        };
        println!("| {kind} | {} | {} |", cell("tune"), cell("heldout"));
    }
}

/// The first-ranked command of a decision, if any.
fn top_of(intent: &IntentDecision) -> Option<String> {
    match intent {
        IntentDecision::Confident(name) => Some(name.clone()),
        IntentDecision::Ambiguous(candidates) => candidates.first().cloned(),
        IntentDecision::NoMatch => None,
    }
}

impl Tally {
    fn clone_counts(&self) -> Tally {
        Tally { ..*self }
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
