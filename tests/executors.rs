//! The exec and template executors through the real engine (`App`, its conversations in the
//! in-memory store), on a fixture workflow whose script misbehaves in every way a real one can.

use std::path::Path;

use flowmcp::app::requests::{self, PerformAction};
use flowmcp::app::{App, EngineError};
use flowmcp::domain::{Caller, ChannelId, CommandResponse};
use flowmcp::workflow::WorkflowSource;
use serde_json::{Map, Value, json};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec")
}

/// The engine on the workflow folder `dir`, conversations kept in memory.
fn open_dir(dir: &Path) -> App {
    let source = WorkflowSource::from_dir(dir).expect("workflow readable");
    App::builder(source)
        .in_memory()
        .open()
        .expect("workflow loads")
}

fn open() -> App {
    open_dir(&fixture())
}

fn caller() -> Caller {
    Caller::new(
        ChannelId::parse("exec-test").expect("valid channel"),
        Some("tester".into()),
    )
}

fn request(command: &str, parameters: Value) -> PerformAction {
    PerformAction {
        command_name: command.into(),
        parameters,
        timeout_seconds: None,
    }
}

async fn run(app: &App, command: &str, params: Value) -> CommandResponse {
    let outcome = app
        .perform_action(&caller(), request(command, params), None)
        .await
        .expect("action accepted");
    // The stored JSON read back as the typed response: also checks that it is the same shape.
    serde_json::from_value(outcome.output_json["command_responses"][0].clone())
        .expect("one response, in CommandResponse's shape")
}

#[tokio::test]
async fn exec_reads_a_json_command_response_and_runs_in_the_workflow_folder() {
    let app = open();
    let response = run(&app, "echo_json", json!({"word": "hi"})).await;
    assert!(response.success, "{response:?}");
    assert_eq!(response.response, "got hi");
    let cwd = response.artifacts["cwd"].as_str().expect("cwd artifact");
    assert_eq!(
        Path::new(cwd).canonicalize().ok(),
        fixture().canonicalize().ok()
    );
    assert_eq!(response.artifacts["channel"], "exec-test");
}

#[tokio::test]
async fn exec_takes_plain_text_as_a_successful_answer() {
    let response = run(&open(), "echo_text", json!({"word": "yo"})).await;
    assert!(response.success);
    assert_eq!(response.response, "plain yo");
}

#[tokio::test]
async fn exec_nonzero_exit_is_a_failure_carrying_the_stderr_tail() {
    let response = run(&open(), "fail_exit", json!({})).await;
    assert!(!response.success);
    assert!(
        response.response.contains("exit code 3"),
        "{}",
        response.response
    );
    assert!(
        response.response.contains("the database is on fire"),
        "{}",
        response.response
    );
}

#[tokio::test]
async fn exec_json_with_success_false_is_a_failure() {
    let response = run(&open(), "report_failure", json!({})).await;
    assert!(!response.success);
    assert_eq!(response.response, "no such thing");
}

#[tokio::test]
async fn exec_timeout_fails_and_kills_the_child() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let response = run(
        &open(),
        "sleepy",
        json!({"pid_file": pid_file.to_string_lossy()}),
    )
    .await;
    assert!(!response.success);
    assert!(
        response.response.contains("timed out"),
        "{}",
        response.response
    );
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("script wrote its pid")
        .trim()
        .parse()
        .expect("pid");
    // The group was SIGKILLed; reap may lag a moment, so poll the process state (bounded).
    let mut gone = false;
    for _ in 0..200 {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone entirely, or a zombie waiting to be reaped: either way it no longer runs.
        if state.is_empty() || state.split_whitespace().nth(2) == Some("Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(gone, "process {pid} still running after the timeout");
}

#[tokio::test]
async fn exec_output_over_the_cap_is_a_failure() {
    let response = run(&open(), "chatty", json!({})).await;
    assert!(!response.success);
    assert!(
        response.response.contains("more than 1000 bytes"),
        "{}",
        response.response
    );
}

#[tokio::test]
async fn exec_missing_program_is_a_failure_naming_it() {
    let response = run(&open(), "missing_program", json!({})).await;
    assert!(!response.success);
    assert!(
        response.response.contains("no-such-program-here"),
        "{}",
        response.response
    );
}

#[tokio::test]
async fn template_fills_parameters_and_defaults() {
    let app = open();
    let outcome = app
        .perform_action(&caller(), request("greet", json!({"name": "Ada"})), None)
        .await
        .expect("accepted");
    assert_eq!(
        outcome.output_json["command_responses"][0]["response"],
        "Hello, Ada x1 {literal}"
    );
    assert_eq!(outcome.text, "Hello, Ada x1 {literal}");
    assert_eq!(outcome.output_json["command_parameters"]["times"], 1);
    let refused = run(&app, "refuse", json!({})).await;
    assert!(!refused.success);
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_runs() {
    let app = open();
    let err = app
        .perform_action(
            &caller(),
            request("greet", json!({"name": 5, "color": "red"})),
            None,
        )
        .await
        .expect_err("invalid");
    let message = err.to_string();
    assert!(matches!(err, EngineError::InvalidParams { .. }));
    assert_eq!(err.status(), 422);
    assert!(message.contains("name: must be a string"), "{message}");
    assert!(message.contains("color: unknown parameter"), "{message}");

    let err = app
        .perform_action(&caller(), request("gret", json!({})), None)
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("did you mean \"greet\""), "{err}");
    assert_eq!(err.status(), 404);

    // A timeout out of bounds never becomes a request.
    let mut args = Map::new();
    args.insert("command_name".into(), json!("greet"));
    args.insert("timeout_seconds".into(), json!(0));
    let err = requests::parse::<PerformAction>(args).expect_err("bad timeout");
    assert!(
        matches!(&err, EngineError::InvalidField { field, .. } if field == "timeout_seconds"),
        "{err}"
    );
    let (_, turns) = app
        .conversation_turns(&caller(), 1)
        .await
        .expect("conversation");
    assert!(
        turns.is_empty(),
        "refused requests store nothing: {turns:?}"
    );
}

#[tokio::test]
async fn the_hello_example_runs_its_script() {
    let app = open_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello"));
    let sum = run(
        &app,
        "add_two_numbers",
        json!({"first_num": 2, "second_num": 3.5}),
    )
    .await;
    assert!(sum.success, "{sum:?}");
    assert!(sum.response.contains("5.5"), "{}", sum.response);
}
