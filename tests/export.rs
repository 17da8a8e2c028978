//! `flowmcp export`: JSONL of the conversations, readable while the server runs.

mod common;

use common::{TestServer, action};
use serde_json::{Value, json};

fn export(data_dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(common::bin())
        .arg("export")
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .output()
        .expect("run export")
}

#[tokio::test]
async fn exports_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::demo(dir.path()).await;
    let c = server.client().await;
    action(&c, "get_order_details", json!({"order_id": "#W2611340"})).await;
    action(&c, "calculate", json!({"expression": "6*7"})).await;
    common::call(&c, "post_feedback", json!({"binary_or_numeric_score": 1})).await;

    let out = export(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let conv = &lines[0];
    assert_eq!(conv["channel_id"], "local");
    assert_eq!(conv["conversation_id"], 1);
    for key in ["topic", "summary", "created_at", "updated_at"] {
        assert!(conv.get(key).is_some(), "missing {key}: {conv}");
    }
    let turns = conv["turns"].as_array().expect("turns");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1]["feedback"]["binary_or_numeric_score"], 1.0);

    let file = dir.path().join("out.jsonl");
    let out = export(
        dir.path(),
        &[
            "--channel",
            "someone-else",
            "--output",
            file.to_str().expect("utf8"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("written"), "");
    c.cancel().await.expect("close");
}

#[test]
fn a_foreign_or_missing_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("db")).expect("mkdir");
    std::fs::write(dir.path().join("db/CURRENT"), "garbage\n").expect("write");
    let out = export(dir.path(), &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );

    let out = export(std::path::Path::new("/definitely/not/a/data/dir"), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/definitely/not/a/data/dir"));

    let out = export(dir.path(), &["--channel", "../x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid --channel"));
}
