//! The MCP surface beyond tools, on the demo served in this process: the workflow's resources
//! (fixed and templated, read through a command), subscriptions told when a turn changes a
//! resource, completions from the metadata and from read-only commands, log messages at the
//! level the client chose.
#![allow(deprecated)] // logging and resources/subscribe: served for the 2025-11-25 era

mod common;

use std::time::Duration;

use common::{InProcess, action, is_error, text};
use rmcp::model::{
    ArgumentInfo, CompleteRequestParams, CompletionContext, LoggingLevel,
    LoggingMessageNotificationParam, ReadResourceRequestParams, Reference, ResourceContents,
    ResourceUpdatedNotificationParam, SetLevelRequestParams, SubscribeRequestParams,
    UnsubscribeRequestParams,
};
use rmcp::service::NotificationContext;
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Long enough for a notification already sent to arrive; a missing one fails the test.
const ARRIVES_WITHIN: Duration = Duration::from_secs(10);

/// A client that reports resource updates and log messages.
#[derive(Clone)]
struct Listener {
    updated: mpsc::UnboundedSender<String>,
    logged: mpsc::UnboundedSender<LoggingMessageNotificationParam>,
}

impl ClientHandler for Listener {
    async fn on_resource_updated(
        &self,
        params: ResourceUpdatedNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.updated.send(params.uri);
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.logged.send(params);
    }
}

type Listened = (
    rmcp::service::RunningService<RoleClient, Listener>,
    mpsc::UnboundedReceiver<String>,
    mpsc::UnboundedReceiver<LoggingMessageNotificationParam>,
);

async fn listening_client(server: &InProcess) -> Listened {
    let (updated, updates) = mpsc::unbounded_channel();
    let (logged, logs) = mpsc::unbounded_channel();
    let client = server.client_with(Listener { updated, logged }).await;
    (client, updates, logs)
}

fn only_text(contents: &[ResourceContents]) -> (&str, Option<&str>) {
    match contents {
        [
            ResourceContents::TextResourceContents {
                text, mime_type, ..
            },
        ] => (text, mime_type.as_deref()),
        other => panic!("expected one text content, got {other:?}"),
    }
}

#[tokio::test]
async fn the_demo_lists_and_reads_its_resources_and_templates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;

    let listed = c.list_all_resources().await.expect("resources/list");
    let uris: Vec<&str> = listed.iter().map(|r| r.uri.as_str()).collect();
    assert!(uris.contains(&"retail://policy"), "{uris:?}");
    assert!(uris.contains(&"retail://logo.svg"), "{uris:?}");
    let templates = c
        .list_all_resource_templates()
        .await
        .expect("resources/templates/list");
    let templates: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    for expected in [
        "retail://orders/{order_id}",
        "retail://users/{user_id}",
        "retail://products/{product_id}",
        "conversation://{conversation_id}",
    ] {
        assert!(templates.contains(&expected), "{expected} in {templates:?}");
    }

    let policy = c
        .read_resource(ReadResourceRequestParams::new("retail://policy"))
        .await
        .expect("read the policy");
    let (body, mime) = only_text(&policy.contents);
    assert_eq!(mime, Some("text/markdown"));
    assert!(body.contains("Pending orders"), "{body}");

    // A template read runs get_order_details and gives its /order artifact as JSON.
    let order = c
        .read_resource(ReadResourceRequestParams::new(
            "retail://orders/%23W2611340",
        ))
        .await
        .expect("read an order");
    let (body, mime) = only_text(&order.contents);
    assert_eq!(mime, Some("application/json"));
    let order: Value = serde_json::from_str(body).expect("JSON");
    assert_eq!(order["order_id"], "#W2611340");
    assert_eq!(order["status"], "pending");

    // Reading records no turn: the conversation is still empty.
    let conversation = c
        .read_resource(ReadResourceRequestParams::new("conversation://1"))
        .await
        .expect("read the conversation");
    let conversation: Value =
        serde_json::from_str(only_text(&conversation.contents).0).expect("JSON");
    assert_eq!(conversation["turns"], json!([]));
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn unknown_and_unreadable_resources_are_refused_by_uri() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;
    for (uri, says) in [
        ("retail://nothing", "no resource retail://nothing"),
        ("retail://orders/%23W0000000", "retail://orders/%23W0000000"),
        // The pattern of order_id refuses it before the command runs.
        ("retail://orders/nope", "order_id"),
        ("conversation://77", "conversation://77"),
    ] {
        let err = c
            .read_resource(ReadResourceRequestParams::new(uri))
            .await
            .expect_err(uri);
        let rmcp::ServiceError::McpError(err) = err else {
            panic!("{uri}: not an MCP error: {err}");
        };
        assert_eq!(err.code.0, -32002, "{uri}: {err:?}");
        assert!(err.message.contains(says), "{uri}: {}", err.message);
    }
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn subscribers_hear_of_the_turns_that_change_their_resources() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let (c, mut updates, _logs) = listening_client(&server).await;
    let order = "retail://orders/%23W2611340";
    for uri in [order, "conversation://1", "retail://orders/%23W4817420"] {
        c.subscribe(SubscribeRequestParams::new(uri))
            .await
            .expect("resources/subscribe");
    }
    let err = c
        .subscribe(SubscribeRequestParams::new("retail://nothing"))
        .await
        .expect_err("an unknown resource");
    assert!(err.to_string().contains("retail://nothing"), "{err}");

    // A read-only command changes no order, but it is a turn of the conversation.
    let ran = action(&c, "calculate", json!({"expression": "2+2"})).await;
    assert!(!is_error(&ran), "{}", text(&ran));
    let first = tokio::time::timeout(ARRIVES_WITHIN, updates.recv()).await;
    assert_eq!(first.ok().flatten().as_deref(), Some("conversation://1"));

    let paid = action(
        &c,
        "modify_pending_order_payment",
        json!({"order_id": "#W2611340", "payment_method_id": "paypal_5650034"}),
    )
    .await;
    assert!(!is_error(&paid), "{}", text(&paid));
    let mut heard = Vec::new();
    for _ in 0..2 {
        let next = tokio::time::timeout(ARRIVES_WITHIN, updates.recv()).await;
        heard.push(next.ok().flatten().expect("an update"));
    }
    heard.sort();
    assert_eq!(heard, ["conversation://1", order]);

    // Unsubscribed: the next change of the order is not told, the conversation's still is.
    c.unsubscribe(UnsubscribeRequestParams::new(order))
        .await
        .expect("resources/unsubscribe");
    let cancelled = action(
        &c,
        "cancel_pending_order",
        json!({"order_id": "#W2611340", "reason": "no longer needed"}),
    )
    .await;
    assert!(!is_error(&cancelled), "{}", text(&cancelled));
    // One more turn: its update comes after any the cancellation caused.
    action(&c, "calculate", json!({"expression": "3+3"})).await;
    for _ in 0..2 {
        let next = tokio::time::timeout(ARRIVES_WITHIN, updates.recv()).await;
        assert_eq!(next.ok().flatten().as_deref(), Some("conversation://1"));
    }
    c.cancel().await.expect("close");
}

async fn complete(
    c: &rmcp::service::RunningService<RoleClient, ()>,
    reference: Reference,
    argument: &str,
    typed: &str,
    known: &[(&str, &str)],
) -> Result<rmcp::model::CompletionInfo, rmcp::ServiceError> {
    let mut request = CompleteRequestParams::new(reference, ArgumentInfo::new(argument, typed));
    if !known.is_empty() {
        let arguments = known
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        request.context = Some(CompletionContext::with_arguments(arguments));
    }
    c.complete(request).await.map(|r| r.completion)
}

#[tokio::test]
async fn completions_come_from_enums_examples_and_read_only_commands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;

    // Product ids: list_all_product_types runs with nothing given and shows every product.
    let products = Reference::for_resource("retail://products/{product_id}");
    let all = complete(&c, products.clone(), "product_id", "", &[])
        .await
        .expect("completion/complete");
    assert!(all.values.len() > 5, "{:?}", all.values);
    assert!(
        all.values
            .iter()
            .all(|v| v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit())),
        "only product ids: {:?}",
        all.values
    );
    let first = &all.values[0];
    let narrowed = complete(&c, products, "product_id", &first[..4], &[])
        .await
        .expect("narrowed");
    assert!(narrowed.values.contains(first), "{:?}", narrowed.values);
    assert!(narrowed.values.iter().all(|v| v.starts_with(&first[..4])));

    // Order ids need the user: without one only the example, with one that user's orders.
    let orders = Reference::for_resource("retail://orders/{order_id}");
    let alone = complete(&c, orders.clone(), "order_id", "#W", &[])
        .await
        .expect("without a user");
    assert_eq!(alone.values, ["#W2611340"], "the example only");
    let mine = complete(
        &c,
        orders,
        "order_id",
        "",
        &[("user_id", "noah_brown_6181")],
    )
    .await
    .expect("with a user");
    assert!(
        mine.values.contains(&"#W4817420".to_string()),
        "{:?}",
        mine.values
    );
    assert_eq!(mine.total, Some(mine.values.len() as u32));

    // Prompt arguments: their examples.
    let prompt = Reference::for_prompt("retail_agent_policy");
    let users = complete(&c, prompt.clone(), "user_id", "noah", &[])
        .await
        .expect("prompt argument");
    assert_eq!(users.values, ["noah_brown_6181"]);

    // Bad references are refused, naming what is wrong.
    let err = complete(&c, prompt, "nope", "", &[])
        .await
        .expect_err("no argument");
    assert!(err.to_string().contains("nope"), "{err}");
    let err = complete(&c, Reference::for_prompt("missing"), "x", "", &[])
        .await
        .expect_err("no prompt");
    assert!(err.to_string().contains("missing"), "{err}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn log_messages_follow_the_chosen_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let (c, _updates, mut logs) = listening_client(&server).await;

    // No level chosen: no log messages.
    action(&c, "calculate", json!({"expression": "1+1"})).await;
    c.set_level(SetLevelRequestParams::new(LoggingLevel::Debug))
        .await
        .expect("logging/setLevel");
    assert!(logs.try_recv().is_err(), "nothing logged before setLevel");

    action(&c, "calculate", json!({"expression": "2*3"})).await;
    // running (debug), sent (debug), the answer (info); a client may see them in any order.
    let mut levels = Vec::new();
    while levels.len() < 3 {
        let next = tokio::time::timeout(ARRIVES_WITHIN, logs.recv()).await;
        let log = next.ok().flatten().expect("a log message");
        assert_eq!(log.logger.as_deref(), Some("flowmcp"));
        levels.push(log.level);
    }
    let debug = levels.iter().filter(|l| **l == LoggingLevel::Debug).count();
    let info = levels.iter().filter(|l| **l == LoggingLevel::Info).count();
    assert_eq!((debug, info), (2, 1), "{levels:?}");

    // At warning, a success says nothing and a failure is told.
    c.set_level(SetLevelRequestParams::new(LoggingLevel::Warning))
        .await
        .expect("logging/setLevel");
    action(&c, "calculate", json!({"expression": "3*3"})).await;
    action(&c, "get_order_details", json!({"order_id": "#W0000000"})).await;
    let next = tokio::time::timeout(ARRIVES_WITHIN, logs.recv()).await;
    let log = next.ok().flatten().expect("the failure");
    assert_eq!(log.level, LoggingLevel::Warning);
    assert_eq!(log.data["command"], "get_order_details");
    assert!(logs.try_recv().is_err(), "only the failure");
    c.cancel().await.expect("close");
}
