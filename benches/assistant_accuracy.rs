//! Accuracy of assistant routing on the labelled demo set (`tests/assistant/labelled.jsonl`).
//!
//! `cargo bench --bench assistant_accuracy` prints, for the tuning and the held-out part:
//! top-1 intent accuracy (as served: the words, then the demo data through `[applies_when]`;
//! and from the words alone), parameter exact-match (the extractor given the labelled command, and
//! end to end: right command *and* right parameters), and how often the router would ask.
//! `-- --failures` lists the tuning lines it gets wrong (never the held-out ones: tune on
//! `tune` only, see tests/assistant/README.md). During development `cargo test --bench
//! assistant_accuracy -- --failures` gives the same in a debug build. `make test` holds the
//! held-out figures above a floor (`tests/routing_accuracy.rs`).
#![allow(clippy::print_stdout)] // a bench reports on stdout

#[path = "support/accuracy.rs"]
mod accuracy;
#[path = "support/demo_app.rs"]
mod demo_app;

use accuracy::ratio;
use demo_app::DemoApp;

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:5.1} %", ratio(n, d))
    }
}

fn main() {
    let show_failures = std::env::args().any(|a| a == "--failures");
    // The demo with its generated data: the labelled lines use its planted ids.
    let demo = DemoApp::open();
    let measured = accuracy::measure(&demo, |failure| {
        if show_failures {
            println!("{failure}");
        }
    });
    println!("\nassistant routing accuracy — demo workflow, tests/assistant/labelled.jsonl\n");
    println!(
        "| split | lines | top-1 intent | top-1 intent (words only) | params (extractor) | \
         params (end to end) | asks | ambiguous: labelled offered |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for split in ["tune", "heldout"] {
        let t = measured.split(split);
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
    let kinds: std::collections::BTreeSet<&String> =
        measured.by_kind.keys().map(|(_, k)| k).collect();
    for kind in kinds {
        let cell = |split: &str| {
            measured
                .by_kind
                .get(&(split.to_string(), kind.clone()))
                .map_or("-".to_string(), |(n, ok)| {
                    format!("{} ({ok}/{n})", pct(*ok, *n).trim())
                })
        };
        println!("| {kind} | {} | {} |", cell("tune"), cell("heldout"));
    }
}
