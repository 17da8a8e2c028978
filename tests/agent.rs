//! Agent mode against a scripted OpenAI-compatible server on 127.0.0.1 (`common::llm`): plans
//! over the demo's commands, the quirks of real servers, tool errors the model recovers from,
//! the step limit, ask_user and its resumption (across a restart too), the order of streamed
//! events, topics written by the model, and the answer without any model.

// Sampling is deprecated by the spec (SEP-2577); its client side is what these tests play.
#![allow(deprecated)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::llm::{Reply, ScriptedLlm, call, calls, say};
use common::{InProcess, TestServer, call_on, is_error, output, text};
use flowmcp::agent::{ApiKey, LlmSettings};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, CreateMessageRequestParams,
    CreateMessageResult, ElicitRequestParams, ElicitResult, ElicitationAction, ErrorData,
    Implementation, SamplingMessage,
};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, RoleClient};
use serde_json::{Value, json};

const ORDER: &str = "#W2611340";

fn settings(llm: &ScriptedLlm, timeout_secs: u64) -> LlmSettings {
    LlmSettings {
        base_url: llm.base_url(),
        model: "scripted".into(),
        api_key: ApiKey::new("sk-test-secret-key"),
        timeout: Duration::from_secs(timeout_secs),
        retries: 3,
    }
}

fn demo_with(dir: &std::path::Path, llm: &ScriptedLlm, max_steps: u32) -> InProcess {
    InProcess::open_with(dir, None, Some(settings(llm, 5)), max_steps)
}

fn ask(words: &str) -> Value {
    json!({"user_query": words})
}

/// The response text of an agent answer.
fn response(result: &rmcp::model::CallToolResult) -> String {
    output(result)["command_responses"][0]["response"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_plan_runs_demo_commands_and_recovers_from_its_own_mistakes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![
        // A command that does not exist here, then bad JSON, then a wrong type: each goes
        // back to the model as the tool's result.
        call("refund_everything", json!({})),
        Reply::Json(
            json!({"model": "scripted", "choices": [{"finish_reason": "tool_calls",
            "message": {"content": "", "tool_calls": [{"id": "bad", "type": "function",
                "function": {"name": "get_order_details", "arguments": "{oops"}}]}}]}),
        ),
        call("get_order_details", json!({"order_id": 2611340})),
        call("get_order_details", json!({"order_id": ORDER})),
        call("finish", json!({"answer": "Your order is on its way."})),
    ])
    .await;
    let demo = demo_with(dir.path(), &llm, 25);
    let c = demo.client().await;
    let result = call_on(&c, "invoke_agent", ask("where is my order #W2611340?")).await;
    assert!(!is_error(&result), "{}", text(&result));
    assert_eq!(response(&result), "Your order is on its way.");
    let out = output(&result);
    assert_eq!(out["command_name"], "get_order_details");
    assert_eq!(out["context"], "Order", "the command moved the channel");
    assert_eq!(
        out["command_responses"][0]["artifacts"]["agent"]["steps"],
        5
    );

    let seen = llm.seen();
    assert_eq!(seen.len(), 5);
    let first = &seen[0];
    assert_eq!(first.body["model"], "scripted");
    assert_eq!(first.body["stream"], true);
    assert_eq!(first.messages()[0]["role"], "system");
    assert_eq!(
        first.messages()[1]["content"],
        "where is my order #W2611340?"
    );
    let tools = first.tool_names();
    for wanted in [
        "get_order_details",
        "find_user_id_by_email",
        "ask_user",
        "what_can_i_do",
        "finish",
    ] {
        assert!(
            tools.iter().any(|t| t == wanted),
            "{wanted} offered: {tools:?}"
        );
    }
    // The prompt follows the channel: in the Order context once the order was read.
    let prompt = |n: usize| {
        seen[n].messages()[0]["content"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    assert!(prompt(0).contains("global context"), "{}", prompt(0));
    assert!(
        prompt(4).contains("Order context (order_id = #W2611340)"),
        "{}",
        prompt(4)
    );
    assert_eq!(
        first.authorization.as_deref(),
        Some("Bearer sk-test-secret-key")
    );
    let results = seen[4].tool_results();
    assert!(
        results[0].contains("no tool `refund_everything`"),
        "{}",
        results[0]
    );
    assert!(results[1].contains("not valid JSON"), "{}", results[1]);
    assert!(results[2].contains("order_id"), "{}", results[2]);
    assert!(results[3].contains(ORDER), "{}", results[3]);
    // The assistant message that made a call is sent back with "" content, not null.
    let made = &seen[1].messages()[2];
    assert_eq!(made["role"], "assistant");
    assert_eq!(made["content"], "");
    assert_eq!(
        made["tool_calls"][0]["function"]["name"],
        "refund_everything"
    );

    // The turn is stored with every model call and command as trace events.
    let conversation = flowmcp_conversation(&c).await;
    let turn = &conversation["turns"][0];
    assert_eq!(turn["mode"], "agent");
    let names: Vec<&str> = turn["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .filter_map(|t| t["command_name"].as_str())
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "llm").count(),
        5,
        "{names:?}"
    );
    assert!(names.contains(&"get_order_details"));
    // The key appears nowhere in what was stored.
    assert!(!conversation.to_string().contains("sk-test-secret"));
}

async fn flowmcp_conversation(c: &common::Client) -> Value {
    let read = c
        .read_resource(rmcp::model::ReadResourceRequestParams::new(
            "conversation://1",
        ))
        .await
        .expect("conversation");
    let contents = serde_json::to_value(&read.contents).expect("json");
    serde_json::from_str(contents[0]["text"].as_str().unwrap_or("{}")).expect("json")
}

#[tokio::test]
async fn streamed_quirks_of_real_servers_are_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![
        // No `index`, `id` and `name` repeated in every chunk, arguments in pieces.
        Reply::Stream(vec![
            json!({"model": "scripted", "choices": [{"delta": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "get_order_details", "arguments": "{\"order_"}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "get_order_details",
                    "arguments": "id\": \"#W2611340\"}"}}]}}]}),
            json!({"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}),
        ]),
        // A small model writing its call as JSON text, with an unknown finish reason.
        Reply::Stream(vec![
            json!({"choices": [{"delta": {"content": "<tool_call>\n{\"name\": \"finish\", "}}]}),
            json!({"choices": [{"delta": {
                "content": "\"arguments\": {\"answer\": \"Shipped.\"}}\n</tool_call>"},
                "finish_reason": "eos_token"}]}),
        ]),
    ])
    .await;
    let demo = demo_with(dir.path(), &llm, 25);
    let c = demo.client().await;
    let result = call_on(&c, "invoke_agent", ask("status of #W2611340")).await;
    assert_eq!(response(&result), "Shipped.", "{}", text(&result));
    let seen = llm.seen();
    assert_eq!(seen.len(), 2);
    let results = seen[1].tool_results();
    assert_eq!(results.len(), 1);
    assert!(results[0].contains(ORDER), "one call, not two: {results:?}");
    let call_made = &seen[1].messages()[2]["tool_calls"][0];
    assert_eq!(call_made["id"], "c1");
    assert_eq!(
        call_made["function"]["name"], "get_order_details",
        "not concatenated"
    );
}

#[tokio::test]
async fn a_stream_that_says_nothing_is_asked_again_unstreamed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![Reply::EmptyStream, say("Asked again.")]).await;
    let demo = demo_with(dir.path(), &llm, 25);
    let c = demo.client().await;
    let result = call_on(&c, "invoke_agent", ask("hello")).await;
    assert_eq!(response(&result), "Asked again.", "{}", text(&result));
    let seen = llm.seen();
    assert_eq!(seen[0].body["stream"], true);
    assert_eq!(seen[1].body["stream"], false);
    assert_eq!(seen[0].messages(), seen[1].messages(), "the same request");
}

#[tokio::test]
async fn busy_servers_long_prompts_and_stalls_are_handled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let too_long = json!({"error": {"message": "This model's maximum context length is 4096 \
        tokens. However, you requested 9000 tokens.", "code": "context_length_exceeded"}});
    let llm = ScriptedLlm::start(vec![
        // Turn 1: busy, then an answer.
        Reply::Status(429, json!({"error": {"message": "slow down"}}), Some(0)),
        Reply::Status(503, json!({"error": "overloaded"}), None),
        say("First answer."),
        // Turn 2: too long for the model: the oldest earlier turn goes, and it is tried again.
        Reply::Status(400, too_long, None),
        say("Second answer."),
        // Turn 3: the server stalls past the timeout.
        Reply::Stall,
    ])
    .await;
    let demo = InProcess::open_with(dir.path(), None, Some(settings(&llm, 1)), 25);
    let c = demo.client().await;
    let first = call_on(&c, "invoke_agent", ask("hello")).await;
    assert_eq!(response(&first), "First answer.", "{}", text(&first));
    assert_eq!(llm.seen().len(), 3);

    let second = call_on(&c, "invoke_agent", ask("and again")).await;
    assert_eq!(response(&second), "Second answer.", "{}", text(&second));
    let seen = llm.seen();
    let (refused, retried) = (&seen[3], &seen[4]);
    assert!(retried.messages().len() < refused.messages().len());
    assert!(refused.messages().iter().any(|m| m["content"] == "hello"));
    assert!(!retried.messages().iter().any(|m| m["content"] == "hello"));

    let stalled = call_on(&c, "invoke_agent", ask("once more")).await;
    let said = response(&stalled);
    assert!(said.contains("no answer within 1 s"), "{said}");
    assert_eq!(output(&stalled)["command_responses"][0]["success"], false);
    // The channel still works: a direct action answers.
    let calc = common::action(&c, "calculate", json!({"expression": "2+2"})).await;
    assert!(text(&calc).contains('4'), "{}", text(&calc));
}

#[tokio::test]
async fn at_the_step_limit_the_model_answers_without_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![
        call("what_can_i_do", json!({})),
        calls(&[
            ("what_can_i_do", json!({})),
            ("list_all_product_types", json!({})),
        ]),
        call("what_can_i_do", json!({})),
        say("Here is what I found."),
    ])
    .await;
    let demo = demo_with(dir.path(), &llm, 3);
    let c = demo.client().await;
    let result = call_on(&c, "invoke_agent", ask("look around")).await;
    assert_eq!(response(&result), "Here is what I found.");
    let seen = llm.seen();
    assert_eq!(seen.len(), 4);
    assert!(seen[2].tool_names().contains(&"finish".to_string()));
    assert!(
        seen[3].tool_names().is_empty(),
        "the last call offers no tools"
    );
    assert!(seen[3].body.get("tool_choice").is_none());
    let last = seen[3].messages().last().expect("a message").clone();
    assert!(
        last["content"]
            .as_str()
            .unwrap_or("")
            .contains("all 3 steps")
    );
    let conversation = flowmcp_conversation(&c).await;
    let finals: Vec<bool> = conversation["turns"][0]["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .filter(|t| t["command_name"] == "llm")
        .map(|t| t["parameters"]["final"] == true)
        .collect();
    assert_eq!(
        finals,
        [false, false, false, true],
        "the tool-free call is marked"
    );
    // Both parallel calls of step 2 were answered.
    assert_eq!(seen[2].tool_results().len(), 3);
    assert!(seen[2].tool_results()[2].contains("product"));
}

#[tokio::test]
async fn ask_user_waits_for_the_answer_even_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![call(
        "ask_user",
        json!({"question": "Which order do you mean?"}),
    )])
    .await;
    let url = llm.base_url();
    let args = ["--llm-base-url", url.as_str(), "--llm-model", "scripted"];
    let server = TestServer::start(dir.path(), &args).await;
    let http = reqwest::Client::new();
    let first: Value = http
        .post(server.url("/invoke_agent"))
        .json(&ask("cancel my order"))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(
        first["command_responses"][0]["response"],
        "Which order do you mean?"
    );
    server.kill().await;

    llm.then(vec![
        call("get_order_details", json!({"order_id": ORDER})),
        call("finish", json!({"answer": "Found it."})),
    ]);
    let server = TestServer::start(dir.path(), &args).await;
    let second: Value = http
        .post(server.url("/invoke_agent"))
        .json(&ask(ORDER))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(second["command_responses"][0]["response"], "Found it.");
    let seen = llm.seen();
    let resumed = &seen[1];
    let messages = resumed.messages();
    assert!(
        messages.iter().any(|m| m["content"] == "cancel my order"),
        "the plan kept the request"
    );
    let answer = messages.last().expect("last");
    assert_eq!(answer["role"], "tool");
    assert_eq!(answer["tool_call_id"], "call_0_ask_user");
    assert!(answer["content"].as_str().unwrap_or("").contains(ORDER));
    // A new request after the plan finished starts afresh.
    llm.then(vec![say("Hello again.")]);
    let third: Value = http
        .post(server.url("/invoke_agent"))
        .json(&ask("hi"))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json");
    assert_eq!(third["command_responses"][0]["response"], "Hello again.");
    let fresh = &llm.seen()[3];
    assert!(fresh.tool_results().is_empty(), "no steps of the old plan");
}

#[tokio::test]
async fn the_stream_sends_each_model_call_and_command_as_it_happens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![
        call("get_order_details", json!({"order_id": ORDER})),
        call("finish", json!({"answer": "Done."})),
    ])
    .await;
    let url = llm.base_url();
    let server = TestServer::start(
        dir.path(),
        &["--llm-base-url", url.as_str(), "--llm-model", "scripted"],
    )
    .await;
    let body = reqwest::Client::new()
        .post(server.url("/invoke_agent_stream"))
        .json(&ask("where is #W2611340"))
        .send()
        .await
        .expect("POST")
        .text()
        .await
        .expect("body");
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    let kinds: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["type"].as_str().unwrap_or("").to_string(),
                l["data"]["command_name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        ("trace", "llm"),
        ("trace", "get_order_details"),
        ("trace", "get_order_details"),
        ("trace", "llm"),
        ("output", "get_order_details"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(kinds, expected);
    let seqs: Vec<u64> = lines
        .iter()
        .filter_map(|l| l["data"]["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(
        lines[0]["data"]["raw_command"],
        format!("get_order_details {{\"order_id\":\"{ORDER}\"}}")
    );
    assert_eq!(
        lines[4]["data"]["command_responses"][0]["response"],
        "Done."
    );
    assert_eq!(lines[4]["data"]["traces"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn the_model_names_conversations_and_a_failure_falls_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let llm = ScriptedLlm::start(vec![
        say("Hi."),
        say("Sure: {\"topic\": \"Greeting the store\", \"summary\": \"The user said hello.\"}"),
        say("Hi again."),
        Reply::Status(500, json!({"error": "down"}), None),
    ])
    .await;
    let demo = InProcess::open_with(
        dir.path(),
        None,
        Some(LlmSettings {
            retries: 0,
            ..settings(&llm, 5)
        }),
        25,
    );
    let c = demo.client().await;
    call_on(&c, "invoke_agent", ask("hello")).await;
    let closed = call_on(&c, "new_conversation", json!({})).await;
    assert!(
        text(&closed).contains("Greeting the store"),
        "{}",
        text(&closed)
    );
    call_on(&c, "invoke_agent", ask("hello again")).await;
    let closed = call_on(&c, "new_conversation", json!({})).await;
    assert!(!is_error(&closed), "never fails for want of a model");
    assert!(
        !text(&closed).contains("Greeting the store"),
        "{}",
        text(&closed)
    );
    let listed = call_on(&c, "get_all_conversations", json!({})).await;
    let listed = text(&listed);
    assert!(listed.contains("The user said hello."), "{listed}");
    assert_eq!(llm.unused(), 0);
}

#[tokio::test]
async fn without_a_model_the_assistant_answers_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = InProcess::demo(dir.path());
    let c = demo.client().await;
    let result = call_on(
        &c,
        "invoke_agent",
        ask("get_order_details order_id=#W2611340"),
    )
    .await;
    assert!(!is_error(&result), "{}", text(&result));
    let out = output(&result);
    assert_eq!(out["command_name"], "get_order_details");
    assert_eq!(
        out["command_responses"][0]["artifacts"]["agent"]["llm"],
        false
    );
    let bad = call_on(&c, "invoke_agent", ask("  ")).await;
    assert!(is_error(&bad));
    assert!(text(&bad).contains("user_query"), "{}", text(&bad));
}

#[tokio::test]
async fn bad_llm_flags_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, wanted) in [
        (
            vec!["--llm-base-url", "http://127.0.0.1:1/v1"],
            "needs --llm-model",
        ),
        (vec!["--llm-model", "m"], "needs --llm-base-url"),
        (
            vec!["--llm-base-url", "ftp://x/v1", "--llm-model", "m"],
            "invalid --llm-base-url",
        ),
    ] {
        let mut all = vec!["stdio"];
        all.extend(args);
        let (ok, _, stderr) = common::cli(dir.path(), &all).await;
        assert!(!ok);
        assert!(stderr.contains(wanted), "{stderr}");
    }
}

/// An MCP client that lends its model (sampling with tools), answering from a script and
/// keeping what it was asked.
#[derive(Clone, Default)]
struct LendsModel {
    tools: bool,
    /// Declares form elicitation and answers each question with this (`None`: declines).
    elicits: Option<Option<String>>,
    questions: Arc<Mutex<Vec<String>>>,
    script: Arc<Mutex<VecDeque<CreateMessageResult>>>,
    seen: Arc<Mutex<Vec<CreateMessageRequestParams>>>,
}

impl LendsModel {
    fn new(script: Vec<CreateMessageResult>) -> Self {
        Self {
            tools: true,
            elicits: None,
            questions: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
            seen: Arc::default(),
        }
    }

    fn seen(&self) -> Vec<CreateMessageRequestParams> {
        self.seen.lock().expect("lock").clone()
    }
}

impl ClientHandler for LendsModel {
    async fn create_message(
        &self,
        params: CreateMessageRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<CreateMessageResult, ErrorData> {
        self.seen.lock().expect("lock").push(params);
        self.script
            .lock()
            .expect("lock")
            .pop_front()
            .ok_or_else(|| ErrorData::internal_error("the script is over", None))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        let asked = serde_json::to_value(&request).unwrap_or_default();
        let message = asked["message"].as_str().unwrap_or("").to_string();
        self.questions.lock().expect("lock").push(message);
        Ok(match self.elicits.clone().flatten() {
            Some(answer) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"answer": answer}))
            }
            None => ElicitResult::new(ElicitationAction::Decline),
        })
    }

    fn get_info(&self) -> ClientConfig {
        let mut sampling = if self.tools {
            json!({"sampling": {"tools": {}}})
        } else {
            json!({"sampling": {}})
        };
        if self.elicits.is_some() {
            sampling["elicitation"] = json!({"form": {}});
        }
        let capabilities: ClientCapabilities = serde_json::from_value(sampling).unwrap_or_default();
        ClientConfig::new(capabilities, Implementation::new("lends-model", "0"))
    }
}

fn tool_use(id: &str, name: &str, input: Value) -> CreateMessageResult {
    let input = input.as_object().cloned().unwrap_or_default();
    CreateMessageResult::new(
        SamplingMessage::assistant_tool_use(id, name, input),
        "client-model".into(),
    )
    .with_stop_reason(CreateMessageResult::STOP_REASON_TOOL_USE)
}

fn text_answer(text: &str) -> CreateMessageResult {
    CreateMessageResult::new(SamplingMessage::assistant_text(text), "client-model".into())
        .with_stop_reason(CreateMessageResult::STOP_REASON_END_TURN)
}

#[tokio::test]
async fn with_no_model_of_its_own_the_agent_borrows_the_clients_by_sampling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lender = LendsModel::new(vec![
        tool_use("u1", "get_order_details", json!({"order_id": ORDER})),
        text_answer("It shipped."),
    ]);
    let demo = InProcess::demo(dir.path());
    let c = demo.client_with(lender.clone()).await;
    let result = call_on(&c, "invoke_agent", ask("where is #W2611340?")).await;
    assert_eq!(response(&result), "It shipped.", "{}", text(&result));
    assert_eq!(
        output(&result)["command_responses"][0]["artifacts"]["agent"]["llm"],
        true
    );
    let seen = lender.seen();
    assert_eq!(seen.len(), 2);
    let offered: Vec<String> = seen[0]
        .tools
        .iter()
        .flatten()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        offered.contains(&"get_order_details".to_string()),
        "{offered:?}"
    );
    assert!(offered.contains(&"finish".to_string()));
    assert!(
        seen[0]
            .system_prompt
            .as_deref()
            .unwrap_or("")
            .contains("retail")
    );
    let last = serde_json::to_value(seen[1].messages.last().expect("messages")).expect("json");
    assert_eq!(last["role"], "user");
    assert!(last.to_string().contains("tool_result"), "{last}");
    assert!(last.to_string().contains(ORDER), "{last}");

    // A client that samples without tools lends nothing: the assistant answers.
    let plain = LendsModel {
        tools: false,
        ..LendsModel::new(Vec::new())
    };
    let c = demo.client_with(plain.clone()).await;
    let result = call_on(
        &c,
        "invoke_agent",
        ask("get_order_details order_id=#W2611340"),
    )
    .await;
    assert_eq!(
        output(&result)["command_responses"][0]["artifacts"]["agent"]["llm"],
        false
    );
    assert!(plain.seen().is_empty());
}

async fn stateless_lender(
    server: &TestServer,
    lender: LendsModel,
) -> rmcp::service::RunningService<RoleClient, LendsModel> {
    use rmcp::model::ProtocolVersion;
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    use rmcp::transport::StreamableHttpClientTransport;
    let transport = StreamableHttpClientTransport::from_uri(server.url("/mcp"));
    lender
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("MCP discover over HTTP")
}

fn invoke(words: &str) -> CallToolRequestParams {
    CallToolRequestParams::new("invoke_agent")
        .with_arguments(ask(words).as_object().cloned().unwrap_or_default())
}

#[tokio::test]
async fn the_stateless_era_asks_the_clients_model_round_by_round() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let lender = LendsModel::new(vec![
        tool_use("u1", "get_order_details", json!({"order_id": ORDER})),
        text_answer("It shipped."),
    ]);
    let c = stateless_lender(&server, lender.clone()).await;
    // rmcp's client answers each input_required round with its create_message handler and
    // calls again with the answer and the sealed request state.
    let result = c
        .call_tool(invoke("where is #W2611340?"))
        .await
        .expect("rounds");
    assert_eq!(response(&result), "It shipped.", "{}", text(&result));
    let seen = lender.seen();
    assert_eq!(seen.len(), 2, "one request per round");
    let last = serde_json::to_value(seen[1].messages.last().expect("messages")).expect("json");
    assert!(
        last.to_string().contains(ORDER),
        "the second round saw the result: {last}"
    );
    // One stored turn, with both model calls and the command in order.
    let turns: Value = reqwest::Client::new()
        .get(server.url("/conversations/1"))
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    let turns = turns["turns"].as_array().cloned().unwrap_or_default();
    assert_eq!(turns.len(), 1, "{turns:?}");
    let traces: Vec<(String, u64)> = turns[0]["traces"]
        .as_array()
        .expect("traces")
        .iter()
        .map(|t| {
            (
                t["command_name"].as_str().unwrap_or("").to_string(),
                t["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let names: Vec<&str> = traces.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["llm", "get_order_details", "get_order_details", "llm"]
    );
    assert_eq!(traces.iter().map(|t| t.1).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

#[tokio::test]
async fn a_tampered_or_replayed_request_state_continues_nothing() {
    use rmcp::model::{CallToolResponse, InputResponses};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let c = stateless_lender(&server, LendsModel::new(Vec::new())).await;
    let first = c
        .call_tool_once(invoke("hello"))
        .await
        .expect("first round");
    let CallToolResponse::InputRequired(required) = first else {
        panic!("expected input_required, got {first:?}");
    };
    let state = required.request_state.clone().expect("a sealed handle");
    let requests = serde_json::to_value(&required.input_requests).expect("json");
    assert_eq!(
        requests["llm"]["method"], "sampling/createMessage",
        "{requests}"
    );
    let answer = serde_json::to_value(text_answer("Hi there.")).expect("json");
    let mut responses = InputResponses::new();
    responses.insert("llm".into(), answer);
    let again = |state: String| {
        c.call_tool_once(
            invoke("hello")
                .with_input_responses(responses.clone())
                .with_request_state(state),
        )
    };
    let mut tampered = state.clone();
    tampered.pop();
    tampered.push(if state.ends_with('A') { 'B' } else { 'A' });
    let refused = format!("{:?}", again(tampered).await.expect("answered"));
    assert!(
        refused.contains("invalid or expired requestState"),
        "{refused}"
    );
    let done = again(state.clone()).await.expect("answered");
    let CallToolResponse::Complete(done) = done else {
        panic!("expected a result, got {done:?}");
    };
    assert_eq!(response(&done), "Hi there.");
    let replayed = format!("{:?}", again(state).await.expect("answered"));
    assert!(replayed.contains("does not continue"), "{replayed}");
}

#[tokio::test]
async fn in_the_stateless_era_ask_user_puts_the_question_within_the_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let lender = LendsModel {
        elicits: Some(Some(ORDER.to_string())),
        ..LendsModel::new(vec![
            tool_use("q1", "ask_user", json!({"question": "Which order?"})),
            tool_use("u1", "get_order_details", json!({"order_id": ORDER})),
            text_answer("Found your order."),
        ])
    };
    let c = stateless_lender(&server, lender.clone()).await;
    let result = c.call_tool(invoke("check my order")).await.expect("rounds");
    assert_eq!(response(&result), "Found your order.", "{}", text(&result));
    assert_eq!(*lender.questions.lock().expect("lock"), ["Which order?"]);
    let seen = lender.seen();
    let answered = serde_json::to_value(&seen[1].messages)
        .expect("json")
        .to_string();
    assert!(
        answered.contains("The user answered: #W2611340"),
        "{answered}"
    );

    // A declined question ends the turn politely, and the next call starts afresh.
    let decliner = LendsModel {
        elicits: Some(None),
        ..LendsModel::new(vec![tool_use(
            "q2",
            "ask_user",
            json!({"question": "Which one?"}),
        )])
    };
    let c = stateless_lender(&server, decliner.clone()).await;
    let result = c.call_tool(invoke("cancel it")).await.expect("rounds");
    assert_eq!(response(&result), "All right, I have left it there.");
    assert!(
        decliner.seen().len() == 1,
        "no model call after the decline"
    );
}
