//! Latency of assistant routing: `Assistant::understand` (intent ranking, decision and
//! parameter extraction) on the demo workflow and on a generated 1,000-command workflow, and
//! `App::route` on the demo with its data (the words, then the order status read for
//! commands that declare `[applies_when]`).
//!
//! `cargo bench --bench assistant_latency` first prints p50/p99 per call from a plain timing
//! loop (criterion reports means and intervals, not tail percentiles), then runs criterion.
#![allow(clippy::print_stdout)] // a bench reports on stdout

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use flowmcp::assistant::Assistant;
use flowmcp::workflow::{Catalog, WorkflowSource};

#[path = "support/demo_app.rs"]
mod demo_app;
use demo_app::DemoApp;

/// Demo utterances: clear, typo'd, vague, explicit, out of scope, built-in.
const DEMO: &[&str] = &[
    "please cancel order #W2611340, I ordered it by mistake",
    "calcualte (24.99 + 18.99) * 2",
    "what's the status of my order #W4817420",
    "I want to exchange item 2290451863 for 5018374629 in #W4817420",
    "change the address",
    "find user noah.brown4093@example.com",
    "what's the weather like today?",
    "what can I do",
    "get_order_details order_id=#W2611340",
    "I'd like to return the earbuds from my delivered order, refund to paypal_5650034",
];

/// Words for generated commands: verbs, objects and filler for descriptions.
const VERBS: &[&str] = &[
    "get", "list", "create", "delete", "update", "find", "archive", "restore", "approve", "reject",
    "export", "import", "sync", "assign", "close", "open", "merge", "split", "tag", "schedule",
];
const OBJECTS: &[&str] = &[
    "invoice",
    "ticket",
    "customer",
    "shipment",
    "refund",
    "report",
    "contract",
    "supplier",
    "warehouse",
    "payment",
    "employee",
    "project",
    "budget",
    "meeting",
    "license",
    "device",
    "campaign",
    "coupon",
    "review",
    "subscription",
    "account",
    "order",
    "product",
    "vendor",
    "alert",
    "backup",
    "policy",
    "session",
    "token",
    "webhook",
    "document",
    "folder",
    "label",
    "team",
    "role",
    "quota",
    "region",
    "cluster",
    "volume",
    "snapshot",
    "pipeline",
    "build",
    "release",
    "incident",
    "survey",
    "lead",
    "deal",
    "note",
    "task",
    "calendar",
];
const QUALIFIERS: &[&str] = &[
    "pending", "archived", "draft", "active", "overdue", "monthly", "external", "internal",
    "shared", "primary",
];
const FILLER: &[&str] = &[
    "quickly",
    "for the current user",
    "with an audit trail",
    "in the selected region",
    "when it is allowed",
    "and notify the owner",
    "using the default settings",
    "if the status permits",
    "for the whole team",
    "from the admin console",
];

/// A deterministic pseudo-random sequence (no dependency, same workflow every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.next() % words.len()]
    }
}

/// Write a workflow of `n` commands into `dir` and load it.
fn generated(dir: &std::path::Path, n: usize) -> Catalog {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).expect("create tools dir");
    // The demo's `[assistant]` vocabulary rides along, so each word costs what it costs in a
    // workflow that has one.
    let demo_manifest = include_str!("../workflow.toml");
    let vocabulary = demo_manifest
        .find("[assistant]")
        .map_or("", |at| &demo_manifest[at..]);
    std::fs::write(
        dir.join("workflow.toml"),
        format!(
            "name = \"generated\"\n\
             description = \"A generated workflow for latency benchmarks.\"\n\n{vocabulary}"
        ),
    )
    .expect("write manifest");
    let mut rng = Lcg(0x5eed);
    for i in 0..n {
        let (verb, qualifier, object) = (
            VERBS[i % VERBS.len()],
            QUALIFIERS[(i / VERBS.len()) % QUALIFIERS.len()],
            OBJECTS[(i / (VERBS.len() * QUALIFIERS.len())) % OBJECTS.len()],
        );
        let name = format!("{verb}_{qualifier}_{object}_{i}");
        let other = rng.pick(OBJECTS);
        let utterances: Vec<String> = (0..6)
            .map(|k| match k {
                0 => format!("{verb} the {qualifier} {object}"),
                1 => format!("please {verb} my {object} {}", rng.pick(FILLER)),
                2 => format!("can you {verb} a {qualifier} {object} for {other}"),
                3 => format!("I need to {verb} {object} {}", rng.next() % 100_000),
                4 => format!("{verb} {other} {object} {}", rng.pick(FILLER)),
                _ => format!("how do I {verb} {qualifier} {object}s"),
            })
            .collect();
        let params = (0..(1 + rng.next() % 3))
            .map(|p| {
                let param = format!("{}_{p}", rng.pick(OBJECTS));
                format!(
                    "[parameters.{param}]\ntype = \"string\"\n\
                     description = \"The {} {} to use\"\n\n",
                    rng.pick(QUALIFIERS),
                    rng.pick(OBJECTS)
                )
            })
            .collect::<String>();
        let toml = format!(
            "description = \"{} {} {} {}.\"\ncontext = \"*\"\nutterances = [{}]\n\n\
             {params}[run]\nkind = \"template\"\nresponse = \"done\"\n",
            capitalise(verb),
            qualifier,
            object,
            rng.pick(FILLER),
            utterances
                .iter()
                .map(|u| format!("{u:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        std::fs::write(tools.join(format!("{name}.toml")), toml).expect("write command");
    }
    let source = WorkflowSource::from_dir(dir).expect("generated workflow reads");
    flowmcp::check_workflow(&source).expect("generated workflow loads")
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Utterances for the generated workflow: some on target, some typo'd, some unrelated.
fn generated_utterances() -> Vec<String> {
    vec![
        "please archive the overdue invoice".into(),
        "can you approve a pending refund for the team".into(),
        "exprot the monthly report".into(),
        "I need to delete snapshot 4411 from the cluster".into(),
        "schedule a meeting with the external vendor".into(),
        "what's the weather like today?".into(),
        "what can I do".into(),
        "sync shared calendar".into(),
    ]
}

/// p50 and p99 of one `call` per utterance, over `rounds` passes.
fn percentiles(label: &str, texts: &[String], rounds: usize, call: &mut dyn FnMut(&str)) {
    let mut samples = Vec::with_capacity(rounds * texts.len());
    for _ in 0..rounds {
        for text in texts {
            let start = Instant::now();
            call(black_box(text));
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{label}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs over {} calls",
        at(0.50),
        at(0.99),
        at(1.0),
        samples.len()
    );
}

fn report_percentiles() {
    let demo = flowmcp::check_workflow(&WorkflowSource::embedded()).expect("demo loads");
    let demo_assistant = Assistant::new(&demo);
    let demo_texts: Vec<String> = DEMO.iter().map(|s| s.to_string()).collect();
    percentiles("demo (15 commands)", &demo_texts, 2_000, &mut |text| {
        black_box(demo_assistant.understand(&demo, text, &|_| true));
    });
    // The same words through the server's router, reading the demo data where it decides.
    let with_data = DemoApp::open();
    percentiles(
        "demo with its data (App::route)",
        &demo_texts,
        2_000,
        &mut |text| {
            black_box(with_data.route(text));
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let big = generated(dir.path(), 1_000);
    let start = Instant::now();
    let big_assistant = Assistant::new(&big);
    println!(
        "generated: {} commands, index built in {:.1} ms",
        big.commands.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    percentiles(
        "generated (1,000 commands)",
        &generated_utterances(),
        300,
        &mut |text| {
            black_box(big_assistant.understand(&big, text, &|_| true));
        },
    );
}

fn bench(c: &mut Criterion) {
    report_percentiles();
    let demo = flowmcp::check_workflow(&WorkflowSource::embedded()).expect("demo loads");
    let demo_assistant = Assistant::new(&demo);
    c.bench_function("understand/demo, 10 utterances", |b| {
        b.iter(|| {
            for text in DEMO {
                black_box(demo_assistant.understand(&demo, black_box(text), &|_| true));
            }
        });
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let big = generated(dir.path(), 1_000);
    let big_assistant = Assistant::new(&big);
    let texts = generated_utterances();
    c.bench_function("understand/1000 commands, 8 utterances", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(big_assistant.understand(&big, black_box(text), &|_| true));
            }
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
