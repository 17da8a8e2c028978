//! The exec and template executors through the real engine (`App`), on a fixture workflow
//! whose script misbehaves in every way a real one can.

use std::path::Path;

use flowmcp::app::{ActionError, App};
use flowmcp::config::{Settings, WorkflowChoice};
use flowmcp::exec::Caller;
use flowmcp::session::ChannelId;
use serde_json::{Value, json};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exec")
}

fn open(data_dir: &Path) -> App {
    App::open(&Settings {
        workflow: WorkflowChoice::Dir(fixture()),
        data_dir: data_dir.to_path_buf(),
        channel: ChannelId::parse("exec-test").expect("valid channel"),
        user: None,
    })
    .expect("fixture workflow loads")
}

fn caller() -> Caller {
    Caller {
        channel_id: ChannelId::parse("exec-test").expect("valid channel"),
        user_id: Some("tester".into()),
    }
}

async fn run(app: &App, command: &str, params: Value) -> flowmcp::exec::output::CommandResponse {
    let outcome = app
        .perform_action(&caller(), command, Some(&params), None)
        .await
        .expect("action accepted");
    // The stored JSON read back as the typed response: also checks that it is the same shape.
    serde_json::from_value(outcome.output_json["command_responses"][0].clone())
        .expect("one response, in CommandResponse's shape")
}

#[tokio::test]
async fn exec_reads_a_json_command_response_and_runs_in_the_workflow_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path());
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
    let dir = tempfile::tempdir().expect("tempdir");
    let response = run(&open(dir.path()), "echo_text", json!({"word": "yo"})).await;
    assert!(response.success);
    assert_eq!(response.response, "plain yo");
}

#[tokio::test]
async fn exec_nonzero_exit_is_a_failure_carrying_the_stderr_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let response = run(&open(dir.path()), "fail_exit", json!({})).await;
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
    let dir = tempfile::tempdir().expect("tempdir");
    let response = run(&open(dir.path()), "report_failure", json!({})).await;
    assert!(!response.success);
    assert_eq!(response.response, "no such thing");
}

#[tokio::test]
async fn exec_timeout_fails_and_kills_the_child() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("pid");
    let response = run(
        &open(dir.path()),
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
    let dir = tempfile::tempdir().expect("tempdir");
    let response = run(&open(dir.path()), "chatty", json!({})).await;
    assert!(!response.success);
    assert!(
        response.response.contains("more than 1000 bytes"),
        "{}",
        response.response
    );
}

#[tokio::test]
async fn exec_missing_program_is_a_failure_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let response = run(&open(dir.path()), "missing_program", json!({})).await;
    assert!(!response.success);
    assert!(
        response.response.contains("no-such-program-here"),
        "{}",
        response.response
    );
}

#[tokio::test]
async fn template_fills_parameters_and_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path());
    let outcome = app
        .perform_action(&caller(), "greet", Some(&json!({"name": "Ada"})), None)
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
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open(dir.path());
    let err = app
        .perform_action(
            &caller(),
            "greet",
            Some(&json!({"name": 5, "color": "red"})),
            None,
        )
        .await
        .expect_err("invalid");
    let message = err.to_string();
    assert!(matches!(err, ActionError::InvalidParams { .. }));
    assert!(message.contains("name: must be a string"), "{message}");
    assert!(message.contains("color: unknown parameter"), "{message}");

    let err = app
        .perform_action(&caller(), "gret", Some(&json!({})), None)
        .await
        .expect_err("unknown");
    assert!(err.to_string().contains("did you mean \"greet\""), "{err}");

    let err = app
        .perform_action(&caller(), "greet", Some(&json!({"name": "x"})), Some(0))
        .await
        .expect_err("bad timeout");
    assert!(matches!(err, ActionError::InvalidTimeout(0)));
}

#[tokio::test]
async fn the_hello_example_runs_its_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = App::open(&Settings {
        workflow: WorkflowChoice::Dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello")),
        data_dir: dir.path().to_path_buf(),
        channel: ChannelId::parse("hello").expect("valid channel"),
        user: None,
    })
    .expect("examples/hello loads");
    let sum = run(
        &app,
        "add_two_numbers",
        json!({"first_num": 2, "second_num": 3.5}),
    )
    .await;
    assert!(sum.success, "{sum:?}");
    assert!(sum.response.contains("5.5"), "{}", sum.response);
}
