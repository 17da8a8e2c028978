//! `App::route` against a workflow whose `[applies_when]` conditions are read by an `exec`
//! program: the state decides between commands the words cannot tell apart, each distinct
//! reading runs once per turn, a reader that fails leaves the choice to the words, and the
//! data never hands a request to a command it says nothing about.

use std::path::Path;

use flowmcp::app::App;
use flowmcp::assistant::IntentDecision;
use flowmcp::domain::{Caller, ChannelId};
use flowmcp::workflow::WorkflowSource;
use serde_json::Map;

/// A reader that logs every run to `log`, then answers: tickets ending in 0 are closed, in
/// 9 it fails, the others are open.
const READER: &str = r#"
import json, sys
request = json.load(sys.stdin)
ticket = request["parameters"]["ticket_id"]
with open(sys.argv[1], "a") as log:
    log.write(ticket + "\n")
if ticket.endswith("9"):
    sys.exit(1)
status = "closed" if ticket.endswith("0") else "open"
print(json.dumps({"response": status, "artifacts": {"ticket": {"status": status}}}))
"#;

/// Two commands the words cannot tell apart, one for each state of a ticket.
fn write_workflow(dir: &Path, log: &Path) {
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).expect("mkdir");
    std::fs::write(dir.join("workflow.toml"), "name = \"tickets\"\n").expect("manifest");
    std::fs::write(dir.join("reader.py"), READER).expect("reader script");
    let ticket = "[parameters.ticket_id]\ntype = \"string\"\npattern = '^T-\\d+$'\n";
    std::fs::write(
        tools.join("read_ticket.toml"),
        format!(
            "description = \"Show a ticket's details.\"\nannotations = {{ read_only = true }}\n\
             {ticket}[run]\nkind = \"exec\"\ncommand = [\"python3\", \"reader.py\", {:?}]\n",
            log.display().to_string()
        ),
    )
    .expect("reader command");
    // No condition: the data never speaks for it.
    std::fs::write(
        tools.join("archive_ticket.toml"),
        format!(
            "description = \"Archive a ticket.\"\n\
             utterances = [\"archive ticket T-1\", \"put the ticket in the archive\"]\n\
             {ticket}[run]\nkind = \"template\"\nresponse = \"archived\"\n"
        ),
    )
    .expect("command");
    for (name, verb, state) in [
        ("close_ticket", "close", "open"),
        ("reopen_ticket", "reopen", "closed"),
    ] {
        std::fs::write(
            tools.join(format!("{name}.toml")),
            format!(
                "description = \"Update a ticket.\"\n\
                 utterances = [\"update ticket T-1\", \"update the ticket\", \
                 \"{verb} ticket T-1\"]\n\
                 {ticket}[applies_when]\ncommand = \"read_ticket\"\n\
                 artifact = \"/ticket/status\"\n\
                 one_of = [\"{state}\"]\n[run]\nkind = \"template\"\nresponse = \"{name} done\"\n"
            ),
        )
        .expect("command");
    }
}

fn caller() -> Caller {
    Caller::new(ChannelId::parse("route-test").expect("channel"), None)
}

fn runs(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn an_exec_reader_decides_once_per_turn_and_a_failing_one_leaves_the_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let workflow = dir.path().join("workflow");
    let log = dir.path().join("reads.log");
    write_workflow(&workflow, &log);
    let source = WorkflowSource::from_dir(&workflow).expect("workflow readable");
    let app = App::builder(source)
        .in_memory()
        .open()
        .expect("workflow loads");
    let known = Map::new();
    let route = |text: &'static str| {
        let app = app.clone();
        let known = known.clone();
        async move { app.route(&caller(), text, &|_| true, &known).await }
    };

    // The words alone cannot choose.
    let words = app
        .assistant()
        .understand(app.catalog(), "update ticket T-100", &|_| true);
    assert!(
        matches!(words.intent, IntentDecision::Ambiguous(_)),
        "{:?}",
        words.intent
    );

    // T-100 is closed: reopen. Both contenders read the same ticket: one run.
    let closed = route("update ticket T-100").await;
    assert_eq!(
        closed.intent,
        IntentDecision::Confident("reopen_ticket".into())
    );
    assert_eq!(runs(&log), ["T-100"]);

    let open = route("update ticket T-101").await;
    assert_eq!(
        open.intent,
        IntentDecision::Confident("close_ticket".into())
    );
    assert_eq!(runs(&log), ["T-100", "T-101"]);

    // The reader fails for T-109: the words decide, as without any condition.
    let failed = route("update ticket T-109").await;
    assert!(
        matches!(failed.intent, IntentDecision::Ambiguous(_)),
        "{:?}",
        failed.intent
    );
    assert_eq!(runs(&log), ["T-100", "T-101", "T-109"]);

    // The data drops the ruled-out close, but does not hand the request to archive_ticket,
    // which it says nothing about: the words' choice stands (its run would say why not).
    let words = app.assistant().understand(
        app.catalog(),
        "close, update or archive ticket T-100",
        &|_| true,
    );
    let ranked: Vec<&str> = words.ranked.iter().map(|r| r.command.as_str()).collect();
    assert_eq!(
        ranked[..3],
        ["close_ticket", "archive_ticket", "reopen_ticket"],
        "the case needs this order"
    );
    let unvouched = route("close, update or archive ticket T-100").await;
    assert_eq!(unvouched.intent, words.intent);
    assert_eq!(runs(&log), ["T-100", "T-101", "T-109", "T-100"]);

    // No ticket named: nothing to read, nothing run.
    let vague = route("update the ticket").await;
    assert!(
        matches!(vague.intent, IntentDecision::Ambiguous(_)),
        "{:?}",
        vague.intent
    );
    assert_eq!(runs(&log).len(), 4);
}
