//! Missing parameters of a command called as a tool (its own tool, or `perform_action`) asked
//! for through MCP elicitation: the form's schema (SEP-1034 defaults, SEP-1330 enums), accept
//! runs with the answers, decline runs nothing, no capability keeps the plain refusal, and the
//! 2026-07-28 `input_required` round trip.

mod common;

use std::path::{Path, PathBuf};

use common::{InProcess, TestServer, call_on, is_error, output, text};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ErrorData, Implementation, ReadResourceRequestParams,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn fixture() -> PathBuf {
    common::repo_root().join("tests/fixtures/elicit")
}

/// A client that answers every form with `answer` (`None`: decline), reporting each form.
#[derive(Clone, Default)]
struct Answerer {
    elicitation: bool,
    answer: Option<Value>,
    asked: Option<mpsc::UnboundedSender<Value>>,
}

impl ClientHandler for Answerer {
    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let Some(asked) = &self.asked {
            let _ = asked.send(serde_json::to_value(&request).unwrap_or(Value::Null));
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
        ClientConfig::new(capabilities, Implementation::new("elicit-test", "0"))
    }
}

async fn client(data_dir: &Path, handler: Answerer) -> RunningService<RoleClient, Answerer> {
    InProcess::open(data_dir, Some(&fixture()))
        .client_with(handler)
        .await
}

/// The turns stored in the channel's first conversation.
async fn stored_turns(c: &RunningService<RoleClient, Answerer>) -> usize {
    let Ok(conversation) = c
        .read_resource(ReadResourceRequestParams::new("conversation://1"))
        .await
    else {
        return 0;
    };
    let contents = serde_json::to_value(&conversation.contents).expect("json");
    let body: Value =
        serde_json::from_str(contents[0]["text"].as_str().unwrap_or("{}")).expect("json");
    body["turns"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_command_tool_asks_for_what_the_call_leaves_out_and_runs_with_the_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (asked_tx, mut asked_rx) = mpsc::unbounded_channel();
    let c = client(
        dir.path(),
        Answerer {
            elicitation: true,
            answer: Some(json!({"email": "ada@example.com", "plan": "pro"})),
            asked: Some(asked_tx),
        },
    )
    .await;
    let result = call_on(&c, "sign_up", json!({"topics": ["news"]})).await;
    assert!(!is_error(&result), "{}", text(&result));
    assert_eq!(text(&result), "Signed up ada@example.com on pro (news)");
    let form = asked_rx.recv().await.expect("a form was sent");
    let schema = &form["requestedSchema"];
    // The required parameter is required; the one asked for by `ask = true` offers its default.
    assert_eq!(schema["required"], json!(["email"]));
    assert_eq!(schema["properties"]["email"]["type"], "string");
    assert_eq!(
        schema["properties"]["plan"],
        json!({
            "type": "string",
            "title": "plan",
            "description": "The plan",
            "oneOf": [{"const": "free", "title": "Free"}, {"const": "pro", "title": "Pro"}],
            "default": "free"
        })
    );
    // Given by the call, so not asked.
    assert!(schema["properties"].get("topics").is_none());
    assert!(
        form["message"]
            .as_str()
            .unwrap_or("")
            .contains("sign_up needs: email")
    );
    assert_eq!(stored_turns(&c).await, 1);
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn perform_action_asks_too_and_the_answer_is_validated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = client(
        dir.path(),
        Answerer {
            elicitation: true,
            answer: Some(json!({"email": "not an email"})),
            asked: None,
        },
    )
    .await;
    let args = json!({"command_name": "sign_up", "parameters": {}});
    let result = call_on(&c, "perform_action", args).await;
    assert!(is_error(&result));
    assert!(
        text(&result).contains("email: must match the pattern"),
        "{}",
        text(&result)
    );
    assert_eq!(stored_turns(&c).await, 0);
    c.cancel().await.expect("close");

    // An answer that leaves out the `ask` parameter takes its default.
    let dir = tempfile::tempdir().expect("tempdir");
    let c = client(
        dir.path(),
        Answerer {
            elicitation: true,
            answer: Some(json!({"email": "bo@example.com"})),
            asked: None,
        },
    )
    .await;
    let args = json!({"command_name": "sign_up", "parameters": {"topics": []}});
    let result = call_on(&c, "perform_action", args).await;
    assert_eq!(text(&result), "Signed up bo@example.com on free ()");
    assert_eq!(output(&result)["command_parameters"]["plan"], "free");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn declining_runs_nothing_and_without_elicitation_the_refusal_is_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = client(
        dir.path(),
        Answerer {
            elicitation: true,
            answer: None,
            asked: None,
        },
    )
    .await;
    let result = call_on(&c, "sign_up", json!({})).await;
    assert!(is_error(&result));
    assert_eq!(
        text(&result),
        "the user declined to give the parameters sign_up needs, so it was not run"
    );
    assert_eq!(stored_turns(&c).await, 0);
    // A call that is wrong anyway is refused without asking anyone.
    let result = call_on(&c, "sign_up", json!({"topics": ["spam"]})).await;
    assert!(
        text(&result).contains("topics: item 0 must be one of"),
        "{}",
        text(&result)
    );
    // A command of another context is refused before anyone is asked.
    let result = call_on(&c, "close_account", json!({})).await;
    assert!(
        text(&result).contains("only available in the Account context"),
        "{}",
        text(&result)
    );
    c.cancel().await.expect("close");

    let dir = tempfile::tempdir().expect("tempdir");
    let c = client(dir.path(), Answerer::default()).await;
    let result = call_on(&c, "sign_up", json!({})).await;
    assert!(is_error(&result));
    assert_eq!(
        text(&result),
        "invalid parameters for sign_up: email: missing required parameter"
    );
    // With no one to ask, `ask = true` falls back to the default.
    let result = call_on(&c, "sign_up", json!({"email": "cy@example.com"})).await;
    assert_eq!(text(&result), "Signed up cy@example.com on free ()");
    c.cancel().await.expect("close");
}

#[tokio::test]
async fn the_stateless_era_asks_through_input_required_and_takes_the_retry() {
    use rmcp::model::ProtocolVersion;
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::StreamableHttpClientTransport;

    let dir = tempfile::tempdir().expect("tempdir");
    let workflow = fixture();
    let workflow = workflow.to_str().expect("utf-8 path");
    let server = TestServer::start(dir.path(), &["--workflow", workflow]).await;
    let (asked_tx, mut asked_rx) = mpsc::unbounded_channel();
    let answerer = Answerer {
        elicitation: true,
        answer: Some(json!({"email": "di@example.com", "plan": "pro"})),
        asked: Some(asked_tx),
    };
    let transport = StreamableHttpClientTransport::from_uri(server.url("/mcp"));
    let c = answerer
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("MCP discover over HTTP");
    // rmcp's client answers the input_required result with its elicitation handler and calls
    // again with inputResponses; the second call runs the command.
    let result: CallToolResult = c
        .call_tool(CallToolRequestParams::new("sign_up"))
        .await
        .expect("tools/call with an input_required round");
    assert_eq!(text(&result), "Signed up di@example.com on pro ()");
    let form = asked_rx.recv().await.expect("the form reached the client");
    assert_eq!(form["requestedSchema"]["required"], json!(["email"]));
    assert_eq!(stored_turns(&c).await, 1);
}
