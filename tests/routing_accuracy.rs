//! Routing accuracy is guarded: the held-out part of the labelled demo set
//! (`tests/assistant/labelled.jsonl`), routed as the server routes it, must stay above a
//! floor, so a change that costs accuracy cannot land unseen. The exact figures come from
//! `cargo bench --bench assistant_accuracy`; this only asserts the floors.

#[path = "../benches/support/accuracy.rs"]
mod accuracy;
#[path = "../benches/support/demo_app.rs"]
mod demo_app;

/// Held-out top-1 intent, as served (words, then the demo's data): at least this share.
const INTENT_FLOOR: f64 = 90.0;
/// Held-out parameters, the extractor given the labelled command: at least this share.
const PARAMS_FLOOR: f64 = 85.0;
/// The tuning split, routed the same way: what the router was tuned on must stay there too.
const TUNE_INTENT_FLOOR: f64 = 95.0;
const TUNE_PARAMS_FLOOR: f64 = 97.0;

#[test]
fn held_out_routing_stays_above_its_floors() {
    let demo = demo_app::DemoApp::open();
    let measured = accuracy::measure(&demo, |_| {});
    let heldout = measured.split("heldout");
    assert!(
        heldout.lines > 100,
        "the held-out split is there: {} lines",
        heldout.lines
    );
    let intent = accuracy::ratio(heldout.intent_ok, heldout.lines);
    let params = accuracy::ratio(heldout.params_ok, heldout.in_scope);
    eprintln!("held-out: top-1 intent {intent:.1} %, parameters {params:.1} %");
    assert!(
        intent >= INTENT_FLOOR,
        "held-out top-1 intent fell to {intent:.1} % (floor {INTENT_FLOOR} %)"
    );
    assert!(
        params >= PARAMS_FLOOR,
        "held-out parameters fell to {params:.1} % (floor {PARAMS_FLOOR} %)"
    );
    let tune = measured.split("tune");
    let intent = accuracy::ratio(tune.intent_ok, tune.lines);
    let params = accuracy::ratio(tune.params_ok, tune.in_scope);
    eprintln!("tune: top-1 intent {intent:.1} %, parameters {params:.1} %");
    assert!(
        intent >= TUNE_INTENT_FLOOR,
        "tune top-1 intent fell to {intent:.1} %"
    );
    assert!(
        params >= TUNE_PARAMS_FLOOR,
        "tune parameters fell to {params:.1} %"
    );
}
