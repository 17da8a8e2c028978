//! Assistant mode end to end over real MCP (in memory, and stdio and streamable HTTP where the
//! transport matters) and real RocksDB:
//! explicit and natural-language requests, the clarification dialog (choose by number, fill
//! missing parameters, abort, resume after a restart), contexts and built-ins, elicitation,
//! the turn lock, and bad input answered clearly.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{InProcess, TestServer, is_error, output, text};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ErrorData, Implementation,
};
use rmcp::service::{NotificationContext, Peer, RequestContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio::sync::{Notify, mpsc};

fn tickets_dir() -> String {
    common::repo_root()
        .join("tests/fixtures/tickets")
        .display()
        .to_string()
}

async fn ask(peer: &Peer<RoleClient>, words: &str) -> CallToolResult {
    let params = CallToolRequestParams::new("invoke_assistant").with_arguments(
        json!({"command": words})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    peer.call_tool(params)
        .await
        .expect("tools/call invoke_assistant")
}

/// The clarification a reply carries, if it asks something.
fn clarification(result: &CallToolResult) -> Value {
    output(result)["command_responses"][0]["artifacts"]["clarification"].clone()
}

fn ran(result: &CallToolResult) -> (String, bool) {
    let out = output(result);
    (
        out["command_name"].as_str().unwrap_or_default().to_string(),
        out["command_responses"][0]["success"] == json!(true),
    )
}

/// A client that counts tools/list_changed and answers elicitation with a fixed form.
#[derive(Clone, Default)]
struct Recorder {
    list_changed: Arc<AtomicUsize>,
    changed: Arc<Notify>,
    /// What to answer to an elicitation (None: decline). Each request is reported on `asked`.
    answer: Option<Value>,
    asked: Option<mpsc::UnboundedSender<Value>>,
    /// Hold the answer until this is notified.
    hold: Option<Arc<Notify>>,
    elicitation: bool,
}

impl ClientHandler for Recorder {
    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.list_changed.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let Some(asked) = &self.asked {
            let _ = asked.send(serde_json::to_value(&request).unwrap_or(Value::Null));
        }
        if let Some(hold) = &self.hold {
            hold.notified().await;
        }
        Ok(match &self.answer {
            Some(values) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(values.clone())
            }
            None => ElicitResult::new(ElicitationAction::Decline),
        })
    }

    fn get_info(&self) -> ClientConfig {
        let capabilities: ClientCapabilities = if self.elicitation {
            serde_json::from_value(json!({"elicitation": {"form": {}}})).unwrap_or_default()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(capabilities, Implementation::new("assistant-test", "0"))
    }
}

/// The workflow (default: the demo) served in this process, a client with `handler`.
async fn in_process_client(
    data_dir: &Path,
    workflow: Option<&str>,
    handler: Recorder,
) -> RunningService<RoleClient, Recorder> {
    let server = InProcess::open(data_dir, workflow.map(Path::new));
    server.client_with(handler).await
}

async fn stdio_client(
    data_dir: &Path,
    workflow: Option<&str>,
    handler: Recorder,
) -> RunningService<RoleClient, Recorder> {
    let mut command = Command::new(common::bin());
    command.arg("stdio").arg("--data-dir").arg(data_dir);
    if let Some(workflow) = workflow {
        command.arg("--workflow").arg(workflow);
    }
    command.env("RUST_LOG", "warn");
    let transport = TokioChildProcess::new(command).expect("spawn flowmcp stdio");
    handler
        .serve(transport)
        .await
        .expect("initialize over stdio")
}

#[tokio::test]
async fn explicit_and_natural_requests_run_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;

    let result = ask(&c, "get_order_details order_id=#W2611340").await;
    assert!(!is_error(&result), "{}", text(&result));
    assert_eq!(ran(&result), ("get_order_details".into(), true));
    assert!(text(&result).contains("#W2611340"));
    // Looking at an order enters the Order context, where "cancel it" needs no order id.
    assert_eq!(output(&result)["context"], "Order");
    let result = ask(&c, "cancel it").await;
    let asked = clarification(&result);
    assert_eq!(
        asked["command"],
        "cancel_pending_order",
        "{}",
        text(&result)
    );
    assert_eq!(
        asked["parameters"].as_array().map(Vec::len),
        Some(1),
        "{asked}"
    );
    assert_eq!(asked["parameters"][0]["name"], "reason");
    assert_eq!(
        output(&result)["command_parameters"]["order_id"],
        "#W2611340"
    );
    ask(&c, "abort").await;

    let result = ask(&c, "where is my order #W4817420?").await;
    assert_eq!(
        ran(&result),
        ("get_order_details".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(
        output(&result)["command_parameters"]["order_id"],
        "#W4817420"
    );

    let result = ask(
        &c,
        "I want to cancel order W2611340 because I ordered it by mistake",
    )
    .await;
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(
        output(&result)["command_parameters"],
        json!({"order_id": "#W2611340", "reason": "ordered by mistake"})
    );

    let result = ask(&c, "/get_user_details noah_brown_6181").await;
    assert_eq!(
        ran(&result),
        ("get_user_details".into(), true),
        "{}",
        text(&result)
    );
}

#[tokio::test]
async fn missing_parameters_are_asked_then_filled_and_abort_leaves_the_dialog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;

    let result = ask(&c, "/cancel_pending_order").await;
    let asked = clarification(&result);
    assert_eq!(asked["kind"], "missing_parameters", "{}", text(&result));
    let names: Vec<&str> = asked["parameters"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["order_id", "reason"]);
    assert!(
        text(&result).contains("#W2611340"),
        "an example is given: {}",
        text(&result)
    );

    // The answer fills them in order; a bad value is asked again, naming the problem.
    let result = ask(&c, "#W12, ordered by mistake").await;
    let asked = clarification(&result);
    assert_eq!(
        asked["parameters"][0]["name"],
        "order_id",
        "{}",
        text(&result)
    );
    assert_eq!(asked["parameters"].as_array().map(Vec::len), Some(1));
    let result = ask(&c, "#W2611340").await;
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(
        output(&result)["command_parameters"],
        json!({"order_id": "#W2611340", "reason": "ordered by mistake"})
    );

    // abort drops a question: the next message is a fresh request, not an answer.
    let result = ask(&c, "/cancel_pending_order #W1845024").await;
    assert_eq!(clarification(&result)["parameters"][0]["name"], "reason");
    let result = ask(&c, "abort").await;
    assert!(text(&result).contains("Cancelled"), "{}", text(&result));
    let result = ask(&c, "no longer needed").await;
    assert_ne!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    let details = ask(&c, "get_order_details order_id=#W1845024").await;
    assert!(!text(&details).contains("cancelled"), "{}", text(&details));
}

#[tokio::test]
async fn a_dialog_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let c = server.client().await;
    let result = ask(&c, "/cancel_pending_order #W2611340").await;
    assert_eq!(clarification(&result)["parameters"][0]["name"], "reason");
    drop(c);
    server.kill().await;

    let server = TestServer::demo(dir.path()).await;
    let c = server.client().await;
    let result = ask(&c, "no longer needed").await;
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(
        output(&result)["command_parameters"]["reason"],
        "no longer needed"
    );
}

#[tokio::test]
async fn ambiguity_is_asked_as_a_numbered_choice_over_stdio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tickets = tickets_dir();
    let c = stdio_client(dir.path(), Some(&tickets), Recorder::default()).await;

    let result = ask(&c, "get rid of ticket T0042").await;
    let asked = clarification(&result);
    assert_eq!(asked["kind"], "choose_command", "{}", text(&result));
    let candidates: Vec<String> = asked["candidates"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        candidates.contains(&"archive_ticket".to_string()),
        "{candidates:?}"
    );
    assert!(
        candidates.contains(&"delete_ticket".to_string()),
        "{candidates:?}"
    );
    assert!(text(&result).contains("1. "), "{}", text(&result));

    // Something that is no choice is asked again; a number picks, and the original words'
    // parameters carry over.
    let result = ask(&c, "banana").await;
    assert_eq!(
        clarification(&result)["kind"],
        "choose_command",
        "{}",
        text(&result)
    );
    let pick = candidates
        .iter()
        .position(|c| c == "delete_ticket")
        .map(|i| i + 1)
        .unwrap_or(0);
    let result = ask(&c, &pick.to_string()).await;
    assert_eq!(
        ran(&result),
        ("delete_ticket".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(text(&result), "Ticket T0042 deleted.");

    // And by name.
    ask(&c, "get rid of ticket T0043").await;
    let result = ask(&c, "archive_ticket").await;
    assert_eq!(text(&result), "Ticket T0043 archived.");
    c.cancel().await.expect("close");
}

/// The command a reply runs, asks parameters for, or offers first in a choice.
fn chosen(result: &CallToolResult) -> String {
    let asked = clarification(result);
    match (asked["command"].as_str(), asked["candidates"][0].as_str()) {
        (Some(name), _) | (None, Some(name)) => name.to_string(),
        (None, None) => ran(result).0,
    }
}

/// Say `words`, check which command the reply [`chosen`], and leave any question it asked.
async fn expect_chosen(peer: &Peer<RoleClient>, words: &str, want: &str) {
    let result = ask(peer, words).await;
    assert_eq!(chosen(&result), want, "{}", text(&result));
    ask(peer, "abort").await;
}

#[tokio::test]
async fn the_order_status_decides_what_the_words_cannot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;
    let resize = |order: &str| format!("I'd like a different size of the shirt from {order}");

    // #W4817420 is delivered: an exchange (asked for its missing values, no choice offered),
    // though the words lean to an items change.
    let result = ask(&c, &resize("#W4817420")).await;
    assert_eq!(
        clarification(&result)["command"],
        "exchange_delivered_order_items",
        "{}",
        text(&result)
    );
    assert_eq!(
        output(&result)["command_parameters"]["order_id"],
        "#W4817420"
    );
    // Reading the order did not enter its context: only a command the user runs does.
    assert_eq!(output(&result)["context"], "*");
    ask(&c, "abort").await;

    // #W2611340 is pending: the same words are an items change.
    expect_chosen(&c, &resize("#W2611340"), "modify_pending_order_items").await;

    // An order that does not exist says nothing: the words decide.
    expect_chosen(&c, &resize("#W0000001"), "modify_pending_order_items").await;

    // #W3961067 is cancelled: neither applies, so the words decide, and the question (or the
    // run) of the command they chose says what is wrong, not a command without a condition.
    expect_chosen(&c, &resize("#W3961067"), "modify_pending_order_items").await;

    // The data never hands an order's change to a command it does not vouch for: the
    // delivered order's address cannot change, and that is no reason to change the profile's.
    expect_chosen(
        &c,
        "change the shipping address of order #W4817420 to 12 Main St, Austin, TX 78701",
        "modify_pending_order_address",
    )
    .await;

    // An explicit call is done as said.
    let result = ask(&c, "modify_pending_order_items order_id=#W4817420").await;
    assert_eq!(
        clarification(&result)["command"],
        "modify_pending_order_items",
        "{}",
        text(&result)
    );
    ask(&c, "abort").await;

    // The data settles near ties only: a clear return of a pending order stays a return (its
    // run will say why not), it does not become some other command that mentions items.
    expect_chosen(
        &c,
        "return item 2290451863 from #W2611340",
        "return_delivered_order_items",
    )
    .await;

    // Looking at the delivered order puts its id in the context: no id needed then.
    let result = ask(&c, "show me order #W4817420").await;
    assert_eq!(ran(&result), ("get_order_details".into(), true));
    let result = ask(&c, "I'd like a different size of the shirt").await;
    assert_eq!(
        chosen(&result),
        "exchange_delivered_order_items",
        "{}",
        text(&result)
    );
    assert!(
        !text(&result).contains("modify_pending_order_items"),
        "{}",
        text(&result)
    );
    ask(&c, "abort").await;
}

#[tokio::test]
async fn contexts_built_ins_and_tools_that_follow_the_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tickets = tickets_dir();
    let recorder = Recorder::default();
    let c = in_process_client(dir.path(), Some(&tickets), recorder.clone()).await;
    let tool_names = |tools: Vec<rmcp::model::Tool>| -> Vec<String> {
        tools.into_iter().map(|t| t.name.to_string()).collect()
    };

    let result = ask(&c, "what_is_current_context").await;
    assert!(text(&result).contains("global"), "{}", text(&result));
    let tools = tool_names(c.list_all_tools().await.expect("tools/list"));
    assert!(tools.contains(&"open_ticket".to_string()));
    assert!(!tools.contains(&"close_ticket".to_string()), "{tools:?}");
    let refused = common::call_on(&c, "close_ticket", json!({"ticket_id": "T0001"})).await;
    assert!(is_error(&refused));
    assert!(
        text(&refused).contains("Ticket context"),
        "{}",
        text(&refused)
    );

    let result = ask(&c, "open ticket T0007").await;
    assert_eq!(
        ran(&result),
        ("open_ticket".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(output(&result)["context"], "Ticket");
    // The client hears that the tools changed, and the list now has the Ticket commands.
    while recorder.list_changed.load(Ordering::SeqCst) == 0 {
        recorder.changed.notified().await;
    }
    let tools = tool_names(c.list_all_tools().await.expect("tools/list"));
    assert!(tools.contains(&"close_ticket".to_string()), "{tools:?}");

    let result = ask(&c, "what is the current context").await;
    assert!(
        text(&result).contains("Ticket") && text(&result).contains("T0007"),
        "{}",
        text(&result)
    );
    let result = ask(&c, "what can I do").await;
    assert!(text(&result).contains("close_ticket"), "{}", text(&result));

    // In the context, the ticket id comes from it.
    let result = ask(&c, "close it").await;
    assert_eq!(text(&result), "Ticket T0007 closed.");

    let result = ask(&c, "go_up").await;
    assert!(text(&result).contains("global"), "{}", text(&result));
    assert_eq!(output(&result)["context"], "*");
    let tools = tool_names(c.list_all_tools().await.expect("tools/list"));
    assert!(!tools.contains(&"close_ticket".to_string()), "{tools:?}");
    let result = ask(&c, "/go_up").await;
    assert!(text(&result).contains("Already"), "{}", text(&result));

    ask(&c, "open ticket T0008").await;
    let result = ask(&c, "reset_context").await;
    assert_eq!(output(&result)["context"], "*");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn missing_parameters_go_through_elicitation_when_the_client_can() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (asked_tx, mut asked_rx) = mpsc::unbounded_channel();
    let recorder = Recorder {
        elicitation: true,
        answer: Some(json!({"order_id": "#W2611340", "reason": "no longer needed"})),
        asked: Some(asked_tx),
        ..Recorder::default()
    };
    let c = in_process_client(dir.path(), None, recorder).await;
    let result = ask(&c, "/cancel_pending_order").await;
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    let request = asked_rx.recv().await.expect("an elicitation was sent");
    assert_eq!(
        request["requestedSchema"]["required"],
        json!(["order_id", "reason"])
    );
    assert_eq!(
        request["requestedSchema"]["properties"]["reason"]["enum"],
        json!(["no longer needed", "ordered by mistake"])
    );
    c.cancel().await.expect("close");

    // Declining runs nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let recorder = Recorder {
        elicitation: true,
        ..Recorder::default()
    };
    let c = in_process_client(dir.path(), None, recorder).await;
    let result = ask(&c, "/cancel_pending_order").await;
    assert!(text(&result).contains("Cancelled"), "{}", text(&result));
    let result = ask(&c, "get_order_details order_id=#W2611340").await;
    assert!(
        text(&result).contains("pending"),
        "still pending: {}",
        text(&result)
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn a_second_turn_while_one_runs_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (asked_tx, mut asked_rx) = mpsc::unbounded_channel();
    let hold = Arc::new(Notify::new());
    let recorder = Recorder {
        elicitation: true,
        answer: Some(json!({"order_id": "#W2611340", "reason": "no longer needed"})),
        asked: Some(asked_tx),
        hold: Some(hold.clone()),
        ..Recorder::default()
    };
    let c = in_process_client(dir.path(), None, recorder).await;
    let peer = c.peer().clone();
    // The first turn waits on the user (an elicitation held open) with the lock taken.
    let first = tokio::spawn(async move { ask(&peer, "/cancel_pending_order").await });
    asked_rx.recv().await.expect("the first turn is asking");
    let second = ask(&c, "what can I do").await;
    assert!(is_error(&second));
    assert!(
        text(&second).contains("already in progress"),
        "{}",
        text(&second)
    );
    // Direct actions are not conversational turns: they still run.
    let direct = common::call_on(&c, "get_order_details", json!({"order_id": "#W4817420"})).await;
    assert!(!is_error(&direct), "{}", text(&direct));
    hold.notify_one();
    let first = first.await.expect("first turn");
    assert_eq!(
        ran(&first),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&first)
    );
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn bad_input_is_answered_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;
    let result = ask(&c, "abort").await;
    assert!(text(&result).contains("no question"), "{}", text(&result));
    ask(&c, "/cancel_pending_order #W2611340").await; // a question in progress

    let empty = ask(&c, "   ").await;
    assert!(is_error(&empty));
    assert!(text(&empty).contains("empty"), "{}", text(&empty));
    let huge = ask(&c, &"where is my order ".repeat(6000)).await;
    assert!(is_error(&huge));
    assert!(text(&huge).contains("too long"), "{}", text(&huge));
    let control = ask(&c, "cancel\u{1b}[2J it").await;
    assert!(is_error(&control));
    assert!(
        text(&control).contains("control character"),
        "{}",
        text(&control)
    );
    let missing = common::call_on(&c, "invoke_assistant", json!({"words": "hi"})).await;
    assert!(is_error(&missing));
    assert!(
        text(&missing).contains("words: unknown argument"),
        "{}",
        text(&missing)
    );

    // None of that touched the question in progress.
    let result = ask(&c, "ordered by mistake").await;
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );

    // Another language is not understood, and says so with what can be done.
    for words in ["我的订单在哪里", "¿Puedes contarme un chiste?"] {
        let result = ask(&c, words).await;
        assert!(is_error(&result), "{}", text(&result));
        assert!(
            text(&result).contains("could not match"),
            "{}",
            text(&result)
        );
        assert!(
            text(&result).contains("get_order_details"),
            "{}",
            text(&result)
        );
    }
}

#[tokio::test]
async fn informational_built_ins_keep_the_question_and_a_number_picks_an_enum_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;
    let result = ask(&c, "/cancel_pending_order #W2611340").await;
    assert!(
        text(&result).contains("2) ordered by mistake"),
        "{}",
        text(&result)
    );
    let result = ask(&c, "what can I do?").await;
    assert_eq!(
        ran(&result),
        ("what_can_i_do".into(), true),
        "{}",
        text(&result)
    );
    assert!(text(&result).contains("Still waiting"), "{}", text(&result));
    let result = ask(&c, "where am I").await;
    assert!(text(&result).contains("Still waiting"), "{}", text(&result));
    let result = ask(&c, "2").await;
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    assert_eq!(
        output(&result)["command_parameters"]["reason"],
        "ordered by mistake"
    );
}

#[tokio::test]
async fn the_stateless_era_asks_through_input_required_and_takes_the_retry() {
    use rmcp::model::ProtocolVersion;
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::StreamableHttpClientTransport;

    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let (asked_tx, mut asked_rx) = mpsc::unbounded_channel();
    let recorder = Recorder {
        elicitation: true,
        answer: Some(json!({"order_id": "#W2611340", "reason": "ordered by mistake"})),
        asked: Some(asked_tx),
        ..Recorder::default()
    };
    let transport = StreamableHttpClientTransport::from_uri(server.url("/mcp"));
    let c = recorder
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("MCP discover over HTTP");
    // rmcp's client (RunningService::call_tool) answers the input_required result with its
    // elicitation handler and calls again; the second call runs the command.
    let result = c
        .call_tool(
            CallToolRequestParams::new("invoke_assistant").with_arguments(
                json!({"command": "/cancel_pending_order"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
        )
        .await
        .expect("tools/call with an input_required round");
    assert_eq!(
        ran(&result),
        ("cancel_pending_order".into(), true),
        "{}",
        text(&result)
    );
    let request = asked_rx.recv().await.expect("the form reached the client");
    assert_eq!(
        request["requestedSchema"]["required"],
        json!(["order_id", "reason"])
    );
    // One stored turn for the whole exchange, numbered without a gap.
    let conversation = c
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "conversation://1",
        ))
        .await
        .expect("resources/read");
    let contents = serde_json::to_value(&conversation.contents).expect("json");
    let body: Value =
        serde_json::from_str(contents[0]["text"].as_str().unwrap_or("{}")).expect("json");
    let turn_ids: Vec<u64> = body["turns"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["turn_id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(turn_ids, [1]);

    // Built-ins reach the same engine in this era too.
    let s = server.stateless_client().await;
    let result = ask(&s, "what can I do?").await;
    assert_eq!(ran(&result).0, "what_can_i_do");
    assert!(
        text(&result).contains("cancel_pending_order"),
        "{}",
        text(&result)
    );
}
