//! Channels, turns and conversations: every acknowledged turn is stored with its traces
//! (MCP in memory, real RocksDB), conversations are per channel (the engine on its fixture,
//! the in-memory store), and a kill -9 of a real server loses nothing that was answered.

mod common;

use common::{InProcess, TestServer, action, call, engine_app, is_error, text};
use flowmcp::app::App;
use flowmcp::app::requests::{
    ActivateConversation, GetAllConversations, PerformAction, PostFeedback,
};
use flowmcp::domain::{Caller, ChannelId};
use rmcp::model::ReadResourceRequestParams;
use serde_json::{Value, json};

async fn read_conversation(client: &common::Client, id: u64) -> Value {
    let result = client
        .read_resource(ReadResourceRequestParams::new(format!(
            "conversation://{id}"
        )))
        .await
        .expect("resources/read");
    let contents = serde_json::to_value(&result.contents).expect("json");
    let text = contents[0]["text"].as_str().expect("text contents");
    serde_json::from_str(text).expect("conversation JSON")
}

#[tokio::test]
async fn actions_are_recorded_as_turns_with_traces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;
    action(&c, "get_order_details", json!({"order_id": "#W2611340"})).await;
    call(
        &c,
        "get_user_details",
        json!({"user_id": "noah_brown_6181"}),
    )
    .await;
    let failed = call(&c, "get_order_details", json!({"order_id": "#W0000000"})).await;
    assert!(is_error(&failed));
    // Refused input runs nothing and records nothing.
    let refused = call(&c, "get_order_details", json!({"order_id": "nope"})).await;
    assert!(is_error(&refused));

    let conversation = read_conversation(&c, 1).await;
    let turns = conversation["turns"].as_array().expect("turns");
    assert_eq!(turns.len(), 3, "{conversation:#}");
    for (i, turn) in turns.iter().enumerate() {
        assert_eq!(turn["turn_id"], i as u64 + 1);
        assert_eq!(turn["mode"], "action");
        let traces = turn["traces"].as_array().expect("traces");
        assert_eq!(traces.len(), 2);
        assert_eq!(traces[0]["direction"], "agent_to_workflow");
        assert_eq!(traces[1]["direction"], "workflow_to_agent");
        assert_eq!(traces[0]["seq"], 1);
        assert_eq!(traces[1]["seq"], 2);
        assert_eq!(traces[1]["channel_id"], "local");
        assert_eq!(traces[1]["conversation_id"], 1);
        assert_eq!(traces[1]["turn_id"], turn["turn_id"]);
    }
    assert_eq!(
        turns[0]["command_output"]["command_name"],
        "get_order_details"
    );
    assert_eq!(turns[1]["traces"][0]["command_name"], "get_user_details");
    assert_eq!(turns[2]["traces"][1]["success"], false);
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn conversation_tools_save_list_activate_and_take_feedback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;

    let empty = call(&c, "new_conversation", json!({})).await;
    assert!(!is_error(&empty));
    assert_eq!(
        empty.structured_content.as_ref().expect("sc")["message"],
        "No turns to save"
    );
    let no_turns = call(&c, "post_feedback", json!({"nl_feedback": "great"})).await;
    assert!(is_error(&no_turns));
    assert!(text(&no_turns).contains("no turns"), "{}", text(&no_turns));

    action(&c, "get_order_details", json!({"order_id": "#W2611340"})).await;
    action(
        &c,
        "cancel_pending_order",
        json!({"order_id": "#W2611340", "reason": "no longer needed"}),
    )
    .await;
    let neither = call(&c, "post_feedback", json!({})).await;
    assert!(is_error(&neither));
    let fb = call(
        &c,
        "post_feedback",
        json!({"binary_or_numeric_score": 1, "nl_feedback": "quick"}),
    )
    .await;
    assert!(!is_error(&fb), "{}", text(&fb));
    let fb1 = call(
        &c,
        "post_feedback",
        json!({"binary_or_numeric_score": 0, "turn_id": 1}),
    )
    .await;
    assert!(!is_error(&fb1), "{}", text(&fb1));
    let bad_turn = call(
        &c,
        "post_feedback",
        json!({"binary_or_numeric_score": 0, "turn_id": 99}),
    )
    .await;
    assert!(is_error(&bad_turn));

    let saved = call(&c, "new_conversation", json!({})).await;
    assert!(!is_error(&saved), "{}", text(&saved));
    action(&c, "list_all_product_types", json!({})).await;

    let listed = call(&c, "get_all_conversations", json!({})).await;
    let list = listed.structured_content.as_ref().expect("sc")["conversations"].clone();
    let ids: Vec<u64> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["conversation_id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids.first(), Some(&2), "newest first: {list}");
    assert!(ids.contains(&1));
    let first = list
        .as_array()
        .expect("array")
        .iter()
        .find(|c| c["conversation_id"] == 1)
        .expect("conv 1");
    assert!(!first["topic"].as_str().unwrap_or("").is_empty(), "{first}");
    assert!(
        first["summary"]
            .as_str()
            .unwrap_or("")
            .contains("cancel_pending_order"),
        "{first}"
    );
    let bad_limit = call(&c, "get_all_conversations", json!({"limit": 1000})).await;
    assert!(is_error(&bad_limit));
    assert!(text(&bad_limit).contains("limit"), "{}", text(&bad_limit));

    let conv1 = read_conversation(&c, 1).await;
    assert_eq!(conv1["turns"][1]["feedback"]["nl_feedback"], "quick");
    assert_eq!(
        conv1["turns"][0]["feedback"]["binary_or_numeric_score"],
        0.0
    );

    let unknown = call(&c, "activate_conversation", json!({"conversation_id": 42})).await;
    assert!(is_error(&unknown));
    assert!(text(&unknown).contains("42"), "{}", text(&unknown));
    let back = call(&c, "activate_conversation", json!({"conversation_id": 1})).await;
    assert!(!is_error(&back), "{}", text(&back));
    action(&c, "calculate", json!({"expression": "1+1"})).await;
    let conv1 = read_conversation(&c, 1).await;
    assert_eq!(conv1["turns"].as_array().map(Vec::len), Some(3));
    assert_eq!(conv1["turns"][2]["turn_id"], 3);

    let err = c
        .read_resource(ReadResourceRequestParams::new("conversation://77"))
        .await
        .expect_err("unknown conversation");
    assert!(err.to_string().contains("conversation://77"), "{err}");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn parallel_actions_on_one_channel_all_run_and_are_all_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let c = server.client().await;
    // Concurrent tools/call requests on one MCP session, as LLM clients send them.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..24u64 {
        let peer = c.peer().clone();
        tasks.spawn(async move {
            let mut args = serde_json::Map::new();
            args.insert("expression".into(), json!(format!("{i} + 1")));
            let params = rmcp::model::CallToolRequestParams::new("calculate").with_arguments(args);
            (i, peer.call_tool(params).await.expect("tools/call"))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.expect("task");
        assert!(!is_error(&result), "{}", text(&result));
        assert!(
            text(&result).contains(&format!("{}", i + 1)),
            "{}",
            text(&result)
        );
    }
    let conversation = read_conversation(&c, 1).await;
    let mut ids: Vec<u64> = conversation["turns"]
        .as_array()
        .expect("turns")
        .iter()
        .map(|t| t["turn_id"].as_u64().expect("id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (1..=24).collect::<Vec<_>>());
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn a_kill_loses_no_acknowledged_turn_and_the_conversation_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let url = server.url("/mcp");
    // Drive turns from a separate task and kill the server while it is sending them.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let driver = tokio::spawn(async move {
        let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(url);
        let Ok(client) = rmcp::ServiceExt::serve((), transport).await else {
            return;
        };
        for i in 0..10_000u64 {
            let mut params = rmcp::model::CallToolRequestParams::new("calculate");
            let mut args = serde_json::Map::new();
            args.insert("expression".into(), json!(format!("{i} * 2")));
            params = params.with_arguments(args);
            match client.call_tool(params).await {
                Ok(result) if result.is_error != Some(true) => {
                    if tx.send(i).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    });
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 40 {
        acknowledged.push(rx.recv().await.expect("turn acknowledged"));
    }
    server.kill().await;
    let _ = driver.await;
    while let Ok(i) = rx.try_recv() {
        acknowledged.push(i);
    }

    let server = TestServer::demo(dir.path()).await;
    let c = server.client().await;
    let conversation = read_conversation(&c, 1).await;
    let turns = conversation["turns"].as_array().expect("turns");
    assert!(
        turns.len() >= acknowledged.len(),
        "{} stored < {} acknowledged",
        turns.len(),
        acknowledged.len()
    );
    for (position, i) in acknowledged.iter().enumerate() {
        let turn = &turns[position];
        assert_eq!(turn["turn_id"], position as u64 + 1);
        assert_eq!(
            turn["command_output"]["command_parameters"]["expression"],
            format!("{i} * 2")
        );
        assert_eq!(turn["traces"].as_array().map(Vec::len), Some(2));
    }
    // The active conversation resumes: the next turn follows the stored ones.
    action(&c, "calculate", json!({"expression": "2+2"})).await;
    let conversation = read_conversation(&c, 1).await;
    let turns = conversation["turns"].as_array().expect("turns");
    let last = turns.last().expect("a turn");
    assert_eq!(last["turn_id"], turns.len() as u64);
    assert_eq!(
        last["command_output"]["command_parameters"]["expression"],
        "2+2"
    );
    c.cancel().await.expect("close");
}

/// `perform_action` of `command` with `parameters`, the default timeout.
fn action_request(command: &str, parameters: Value) -> PerformAction {
    PerformAction {
        command_name: command.into(),
        parameters,
        timeout_seconds: None,
    }
}

/// A direct action that must succeed.
async fn calculate(app: &App, who: &Caller, expression: &str) {
    app.perform_action(
        who,
        action_request("calculate", json!({"expression": expression})),
        None,
    )
    .await
    .expect("the action runs");
}

fn caller(channel: &str) -> Caller {
    Caller::new(
        ChannelId::parse(channel).expect("channel"),
        Some(format!("user-of-{channel}")),
    )
}

#[tokio::test]
async fn two_channels_never_see_each_others_conversations() {
    let app = engine_app();
    let (alice, bob) = (caller("alice"), caller("bob"));
    calculate(&app, &alice, "1+1").await;
    app.new_conversation(&alice).await.expect("alice saves");
    app.perform_action(
        &bob,
        action_request("find_user_by_email", json!({"email": "ada@example.com"})),
        None,
    )
    .await
    .expect("bob acts");

    let (_, alice_turns) = app
        .conversation_turns(&alice, 1)
        .await
        .expect("alice conv 1");
    let (_, bob_turns) = app.conversation_turns(&bob, 1).await.expect("bob conv 1");
    assert_eq!(alice_turns.len(), 1);
    assert_eq!(bob_turns.len(), 1);
    assert_eq!(alice_turns[0].traces[0].command_name, "calculate");
    assert_eq!(bob_turns[0].traces[0].command_name, "find_user_by_email");
    assert_eq!(
        bob_turns[0].traces[0].user_id.as_deref(),
        Some("user-of-bob")
    );
    assert!(
        app.conversation_turns(&bob, 2).await.is_err(),
        "bob has no conversation 2"
    );
    let alice_list = app
        .list_conversations(&alice, GetAllConversations::default())
        .await
        .expect("list");
    let bob_list = app
        .list_conversations(&bob, GetAllConversations::default())
        .await
        .expect("list");
    // Alice saved conversation 1 (her new, empty conversation 2 is not listed yet); Bob's
    // conversation 1 is active with one turn.
    assert_eq!(
        alice_list
            .iter()
            .map(|c| c.conversation_id)
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert!(
        alice_list[0].summary.contains("calculate"),
        "{alice_list:?}"
    );
    assert_eq!(
        bob_list
            .iter()
            .map(|c| c.conversation_id)
            .collect::<Vec<_>>(),
        vec![1]
    );
    assert!(
        bob_list[0].topic.is_empty(),
        "Bob never saved: {bob_list:?}"
    );
}

#[tokio::test]
async fn feedback_activate_and_new_conversation_take_the_turn_lock() {
    let app = engine_app();
    let alice = caller("alice");
    calculate(&app, &alice, "1+1").await;
    let session = app.session(&alice.channel_id).await.expect("session");
    let held = session.turn_lock.try_begin("alice").expect("free");
    for err in [
        app.new_conversation(&alice)
            .await
            .err()
            .map(|e| e.to_string()),
        app.activate_conversation(&alice, ActivateConversation { conversation_id: 1 })
            .await
            .err()
            .map(|e| e.to_string()),
        app.post_feedback(
            &alice,
            PostFeedback {
                nl_feedback: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .err()
        .map(|e| e.to_string()),
    ] {
        assert_eq!(
            err.as_deref(),
            Some("a turn is already in progress on channel alice")
        );
    }
    // Direct actions do not wait for the lock: LLM clients call tools in parallel.
    calculate(&app, &alice, "2+2").await;
    drop(held);
    app.new_conversation(&alice).await.expect("free again");
}

#[tokio::test]
async fn idle_sessions_leave_memory_but_not_the_store() {
    let app = engine_app();
    let alice = caller("alice");
    calculate(&app, &alice, "1+1").await;
    assert_eq!(app.sessions().len(), 1);
    assert_eq!(app.sessions().evict_idle(std::time::Duration::ZERO), 1);
    assert!(app.sessions().is_empty());
    calculate(&app, &alice, "2+2").await;
    let (_, turns) = app.conversation_turns(&alice, 1).await.expect("conv");
    let ids: Vec<u64> = turns.iter().map(|t| t.turn_id).collect();
    assert_eq!(
        ids,
        vec![1, 2],
        "the reloaded session continues the numbering"
    );
}
