//! Every demo command over real MCP (in memory), each answer checked; changes survive a
//! kill -9 of a real server and its restart.
//!
//! Ids are the demo's planted records (see `src/demo/generate.rs`, module `planted`).

mod common;

use common::{InProcess, TestServer, call, is_error, output, text};
use serde_json::json;

/// Call a tool that must succeed; return its text.
async fn ok(client: &common::Client, tool: &str, args: serde_json::Value) -> String {
    let result = call(client, tool, args.clone()).await;
    assert!(
        !is_error(&result),
        "{tool} {args} failed: {}",
        text(&result)
    );
    assert_eq!(output(&result)["command_name"], tool);
    text(&result)
}

/// Call a tool that must fail as a command (business rule), not as bad input.
async fn refused(client: &common::Client, tool: &str, args: serde_json::Value) -> String {
    let result = call(client, tool, args.clone()).await;
    assert!(
        is_error(&result),
        "{tool} {args} should have failed: {}",
        text(&result)
    );
    assert_eq!(output(&result)["command_responses"][0]["success"], false);
    text(&result)
}

#[tokio::test]
async fn every_demo_command_answers_over_mcp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;

    let t = ok(
        &c,
        "find_user_id_by_email",
        json!({"email": "noah.brown4093@example.com"}),
    )
    .await;
    assert!(t.contains("noah_brown_6181"), "{t}");
    let t = ok(
        &c,
        "find_user_id_by_name_zip",
        json!({"first_name": "Noah", "last_name": "Brown", "zip": "80219"}),
    )
    .await;
    assert!(t.contains("noah_brown_6181"), "{t}");
    let t = ok(
        &c,
        "get_user_details",
        json!({"user_id": "noah_brown_6181"}),
    )
    .await;
    assert!(
        t.contains("#W2611340") && t.contains("credit_card_4421983"),
        "{t}"
    );
    let t = ok(&c, "get_order_details", json!({"order_id": "#W4817420"})).await;
    assert!(t.contains("delivered"), "{t}");
    let t = ok(
        &c,
        "get_product_details",
        json!({"product_id": "4710385226"}),
    )
    .await;
    assert!(t.contains("3920175488"), "{t}");
    let t = ok(&c, "list_all_product_types", json!({})).await;
    assert!(t.contains("4710385226") && t.contains("8036915247"), "{t}");
    let t = ok(
        &c,
        "calculate",
        json!({"expression": "(24.99 + 18.99) * 2"}),
    )
    .await;
    assert!(t.contains("87.96"), "{t}");
    let t = ok(
        &c,
        "transfer_to_human_agents",
        json!({"summary": "wants a refund"}),
    )
    .await;
    assert!(t.contains("wants a refund"), "{t}");

    let t = ok(
        &c,
        "modify_user_address",
        json!({"user_id": "noah_brown_6181", "address1": "1 Main St", "address2": "",
               "city": "Austin", "state": "TX", "country": "USA", "zip": "78701"}),
    )
    .await;
    assert!(t.contains("Austin"), "{t}");
    let t = ok(
        &c,
        "modify_pending_order_address",
        json!({"order_id": "#W2611340", "address1": "2 Oak Ave", "address2": "Unit 5",
               "city": "Boise", "state": "ID", "country": "USA", "zip": "83702"}),
    )
    .await;
    assert!(t.contains("Boise"), "{t}");
    let t = ok(
        &c,
        "modify_pending_order_payment",
        json!({"order_id": "#W2611340", "payment_method_id": "paypal_5650034"}),
    )
    .await;
    assert!(t.contains("paypal_5650034"), "{t}");
    let t = ok(
        &c,
        "modify_pending_order_items",
        json!({"order_id": "#W2611340", "item_ids": ["3920175488"], "new_item_ids": ["6104823951"],
               "payment_method_id": "paypal_5650034"}),
    )
    .await;
    assert!(t.contains("6104823951"), "{t}");
    // Items of a pending order can be modified only once.
    let t = refused(
        &c,
        "modify_pending_order_items",
        json!({"order_id": "#W2611340", "item_ids": ["6104823951"], "new_item_ids": ["3920175488"],
               "payment_method_id": "paypal_5650034"}),
    )
    .await;
    assert!(
        t.to_lowercase().contains("once") || t.contains("modified"),
        "{t}"
    );

    let t = ok(
        &c,
        "exchange_delivered_order_items",
        json!({"order_id": "#W4817420", "item_ids": ["2290451863"], "new_item_ids": ["5018374629"],
               "payment_method_id": "paypal_5650034"}),
    )
    .await;
    assert!(t.contains("Exchange requested"), "{t}");
    let t = ok(
        &c,
        "return_delivered_order_items",
        json!({"order_id": "#W5092331", "item_ids": ["4409236815"],
               "payment_method_id": "credit_card_9072415"}),
    )
    .await;
    assert!(t.to_lowercase().contains("return"), "{t}");

    let t = ok(
        &c,
        "cancel_pending_order",
        json!({"order_id": "#W2611340", "reason": "ordered by mistake"}),
    )
    .await;
    assert!(t.contains("cancelled"), "{t}");
    // Business rules: a cancelled order cannot be cancelled again; a delivered one is not pending.
    let t = refused(
        &c,
        "cancel_pending_order",
        json!({"order_id": "#W2611340", "reason": "no longer needed"}),
    )
    .await;
    assert!(t.contains("#W2611340"), "{t}");
    let t = refused(
        &c,
        "cancel_pending_order",
        json!({"order_id": "#W1845024", "reason": "no longer needed"}),
    )
    .await;
    assert!(t.contains("#W1845024"), "{t}");
    let t = refused(&c, "get_order_details", json!({"order_id": "#W0000000"})).await;
    assert!(t.contains("#W0000000"), "{t}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn changes_survive_a_kill_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let c = server.client().await;
    ok(
        &c,
        "cancel_pending_order",
        json!({"order_id": "#W2611340", "reason": "no longer needed"}),
    )
    .await;
    drop(c);
    server.kill().await; // SIGKILL: only what was acknowledged counts, and it was.

    let server = TestServer::demo(dir.path()).await;
    let c = server.client().await;
    let t = ok(&c, "get_order_details", json!({"order_id": "#W2611340"})).await;
    assert!(t.contains("cancelled"), "{t}");
    assert!(!t.contains("is pending"), "{t}");
    c.cancel().await.expect("close");
}
