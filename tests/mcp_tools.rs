//! The MCP face's per-tool behaviour, on the demo served in this process over an in-memory
//! pipe: tools and schemas generated from the metadata, commands run as their own tools and
//! through `perform_action`, arguments validated before any handler runs, prompts.

mod common;

use common::{InProcess, action, call, is_error, output, text};
use serde_json::json;

#[tokio::test]
async fn lists_generated_tools_with_schemas_and_annotations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let client = server.client().await;
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "perform_action",
        "invoke_assistant",
        "invoke_agent",
        "new_conversation",
        "get_all_conversations",
        "activate_conversation",
        "post_feedback",
        "find_user_id_by_email",
        "find_user_id_by_name_zip",
        "get_user_details",
        "get_order_details",
        "get_product_details",
        "list_all_product_types",
        "calculate",
        "cancel_pending_order",
        "modify_pending_order_address",
        "modify_pending_order_items",
        "modify_pending_order_payment",
        "modify_user_address",
        "return_delivered_order_items",
        "exchange_delivered_order_items",
        "transfer_to_human_agents",
    ] {
        assert!(
            names.contains(&expected),
            "missing tool {expected} in {names:?}"
        );
    }
    assert_eq!(
        tools.len(),
        22,
        "no stub tools beyond the built-in tools and the commands: {names:?}"
    );
    for tool in &tools {
        assert!(
            tool.output_schema.is_some(),
            "{} has no outputSchema",
            tool.name
        );
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
    }
    let get = tools
        .iter()
        .find(|t| t.name == "get_order_details")
        .expect("tool");
    let schema = serde_json::to_value(get.input_schema.as_ref()).expect("json");
    assert_eq!(schema["properties"]["order_id"]["pattern"], "^#W\\d{7}$");
    assert_eq!(schema["required"], json!(["order_id"]));
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        get.annotations.as_ref().and_then(|a| a.read_only_hint),
        Some(true)
    );
    let cancel = tools
        .iter()
        .find(|t| t.name == "cancel_pending_order")
        .expect("tool");
    assert_eq!(
        cancel.annotations.as_ref().and_then(|a| a.destructive_hint),
        Some(true)
    );
    let cancel_schema = serde_json::to_value(cancel.input_schema.as_ref()).expect("json");
    assert_eq!(
        cancel_schema["properties"]["reason"]["enum"],
        json!(["no longer needed", "ordered by mistake"])
    );
    let perform = tools
        .iter()
        .find(|t| t.name == "perform_action")
        .expect("tool");
    let enumerated = &perform.input_schema["properties"]["command_name"]["enum"];
    assert_eq!(enumerated.as_array().map(Vec::len), Some(15));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn runs_a_command_as_its_own_tool_and_through_perform_action() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let client = server.client().await;

    let direct = call(
        &client,
        "get_order_details",
        json!({"order_id": "#W2611340"}),
    )
    .await;
    assert!(!is_error(&direct), "{}", text(&direct));
    assert!(text(&direct).contains("#W2611340"), "{}", text(&direct));
    let out = output(&direct);
    assert_eq!(out["command_name"], "get_order_details");
    assert_eq!(out["workflow_name"], "retail");
    assert_eq!(out["command_parameters"]["order_id"], "#W2611340");
    assert_eq!(out["command_responses"][0]["success"], true);

    let via_action = action(
        &client,
        "get_order_details",
        json!({"order_id": "#W2611340"}),
    )
    .await;
    assert_eq!(text(&via_action), text(&direct), "same engine, same answer");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn bad_arguments_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let client = server.client().await;

    let cases = [
        (
            "get_order_details",
            json!({"order_id": "W2611340"}),
            "order_id: must match the pattern",
        ),
        (
            "get_order_details",
            json!({}),
            "order_id: missing required parameter",
        ),
        (
            "get_order_details",
            json!({"order_id": 2611340}),
            "order_id: must be a string",
        ),
        (
            "get_order_details",
            json!({"order_id": "#W2611340", "verbose": true}),
            "verbose: unknown parameter",
        ),
        (
            "cancel_pending_order",
            json!({"order_id": "#W2611340", "reason": "bored"}),
            "reason: must be one of",
        ),
    ];
    for (tool, args, needle) in cases {
        let result = call(&client, tool, args.clone()).await;
        assert!(is_error(&result), "{tool} {args} should fail");
        assert!(
            text(&result).contains(needle),
            "{tool} {args}: {}",
            text(&result)
        );
        let via_action = action(&client, tool, args.clone()).await;
        assert!(is_error(&via_action));
        assert!(text(&via_action).contains(needle), "{}", text(&via_action));
    }

    // Nothing ran: the order is unchanged by the refused cancel.
    let order = call(
        &client,
        "get_order_details",
        json!({"order_id": "#W2611340"}),
    )
    .await;
    assert!(text(&order).contains("is pending"), "{}", text(&order));

    let unknown = action(&client, "get_order_detail", json!({})).await;
    assert!(is_error(&unknown));
    assert!(
        text(&unknown).contains("unknown command \"get_order_detail\""),
        "{}",
        text(&unknown)
    );
    assert!(
        text(&unknown).contains("did you mean \"get_order_details\""),
        "{}",
        text(&unknown)
    );

    let missing_name = call(&client, "perform_action", json!({"parameters": {}})).await;
    assert!(is_error(&missing_name));
    assert!(
        text(&missing_name).contains("command_name"),
        "{}",
        text(&missing_name)
    );

    let bad_timeout = call(
        &client,
        "perform_action",
        json!({"command_name": "list_all_product_types", "timeout_seconds": 9999}),
    )
    .await;
    assert!(is_error(&bad_timeout));
    assert!(
        text(&bad_timeout).contains("timeout_seconds"),
        "{}",
        text(&bad_timeout)
    );

    let mut params = rmcp::model::CallToolRequestParams::new("launch_rockets");
    params = params.with_arguments(serde_json::Map::new());
    let err = client
        .call_tool(params)
        .await
        .expect_err("unknown tool is a protocol error");
    assert!(err.to_string().contains("launch_rockets"), "{err}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn prompts_come_from_the_prompts_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = InProcess::demo(dir.path());
    let client = server.client().await;
    let prompts = client.list_all_prompts().await.expect("prompts/list");
    assert!(!prompts.is_empty());
    let prompt = &prompts[0];
    let mut args = serde_json::Map::new();
    for arg in prompt.arguments.iter().flatten() {
        args.insert(arg.name.clone(), json!("MARKER-VALUE"));
    }
    let got = client
        .get_prompt(
            rmcp::model::GetPromptRequestParams::new(prompt.name.clone())
                .with_arguments(args.clone()),
        )
        .await
        .expect("prompts/get");
    let rendered = serde_json::to_string(&got.messages).expect("json");
    if !args.is_empty() {
        assert!(rendered.contains("MARKER-VALUE"), "{rendered}");
    }
    if prompt
        .arguments
        .iter()
        .flatten()
        .any(|a| a.required == Some(true))
    {
        let err = client
            .get_prompt(rmcp::model::GetPromptRequestParams::new(
                prompt.name.clone(),
            ))
            .await
            .expect_err("missing required argument");
        assert!(
            err.to_string().contains("missing required argument"),
            "{err}"
        );
    }
    let err = client
        .get_prompt(rmcp::model::GetPromptRequestParams::new("no_such_prompt"))
        .await
        .expect_err("unknown prompt");
    assert!(err.to_string().contains("no_such_prompt"), "{err}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn tool_descriptions_state_the_workflows_own_default_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The engine's fixture declares `[defaults] timeout_seconds = 20`.
    let fixture = common::repo_root().join("tests/fixtures/engine");
    let server = InProcess::open(dir.path(), Some(&fixture));
    let client = server.client().await;
    let tools = client.list_all_tools().await.expect("tools/list");
    for name in ["perform_action", "invoke_assistant"] {
        let tool = tools.iter().find(|t| t.name == name).expect("tool");
        let description = tool.description.as_deref().unwrap_or_default();
        assert!(
            description.contains("default timeout 20 s"),
            "{description}"
        );
        let timeout = &tool.input_schema["properties"]["timeout_seconds"];
        assert_eq!(
            timeout["description"],
            "Give up after this many seconds (default 20)"
        );
        assert_eq!(
            (&timeout["minimum"], &timeout["maximum"]),
            (&json!(1), &json!(600))
        );
    }
    client.cancel().await.expect("close");
}
