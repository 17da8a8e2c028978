//! Raw turn persistence: `ConversationStore::append_turn` on a fresh RocksDB, from 1 and 16
//! threads (each its own channel, as concurrent channels would be), with a realistic turn
//! (a CommandOutput and two trace events). Prints turns/s; no assertion.
//!
//! `cargo bench --bench store_turns` (TURNS=200000 to change the count per run).
#![allow(clippy::print_stdout)] // a bench reports on stdout

use std::sync::Arc;
use std::time::Instant;

use flowmcp::domain::{
    ChannelId, CommandOutput, CommandResponse, Direction, TraceEvent, Turn, TurnMode,
};
use flowmcp::store::rocks::{COLUMN_FAMILIES, Db, RocksStore};
use flowmcp::store::{ConversationStore, PendingUpdate, WriteWait};
use serde_json::json;

fn turn(channel: &str, turn_id: u64) -> Turn {
    let parameters = json!({"order_id": "#W2611340"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    let event = |direction, seq, text: &str| TraceEvent {
        direction,
        raw_command: "get_order_details {\"order_id\":\"#W2611340\"}".into(),
        command_name: "get_order_details".into(),
        parameters: parameters.clone(),
        response_text: text.into(),
        success: true,
        timestamp_ms: 1_790_000_000_000,
        user_id: None,
        channel_id: channel.into(),
        conversation_id: 1,
        turn_id,
        seq,
    };
    let answer = "Order #W2611340 of user noah_brown_6181 is pending. Items: T-Shirt, \
                  item 3920175488 (color: blue, size: M), $24.99; Water Bottle, item 1178420563, \
                  $18.99. Total: $43.98.";
    Turn {
        turn_id,
        mode: TurnMode::Action,
        user_query: "get_order_details {\"order_id\":\"#W2611340\"}".into(),
        command_output: CommandOutput {
            command_responses: vec![CommandResponse::ok(answer)],
            workflow_name: "retail".into(),
            context: "*".into(),
            command_name: "get_order_details".into(),
            command_parameters: parameters.clone(),
        },
        traces: vec![
            event(Direction::AgentToWorkflow, 1, ""),
            event(Direction::WorkflowToAgent, 2, answer),
        ],
        feedback: None,
        timestamp_ms: 1_790_000_000_000,
    }
}

fn run(threads: usize, total: u64) -> f64 {
    let dir = std::env::temp_dir().join(format!(
        "flowmcp-store-bench-{}-{threads}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(RocksStore::new(
        Db::open(&dir, COLUMN_FAMILIES).expect("open RocksDB"),
    ));
    let per_thread = total / threads as u64;
    let channels: Vec<ChannelId> = (0..threads)
        .map(|i| ChannelId::parse(&format!("bench-{i}")).expect("channel"))
        .collect();
    for channel in &channels {
        store.load_channel(channel).expect("load channel");
    }
    let turns: Vec<Vec<Turn>> = channels
        .iter()
        .map(|c| (1..=per_thread).map(|id| turn(c.as_str(), id)).collect())
        .collect();
    let start = Instant::now();
    std::thread::scope(|scope| {
        for (channel, turns) in channels.iter().zip(&turns) {
            let store = store.clone();
            scope.spawn(move || {
                for turn in turns {
                    store
                        .append_turn(channel, 1, turn, PendingUpdate::Keep, WriteWait::Block)
                        .expect("append");
                }
            });
        }
    });
    let rate = (per_thread * threads as u64) as f64 / start.elapsed().as_secs_f64();
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    rate
}

fn main() {
    let total: u64 = std::env::var("TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    println!("store append_turn ({total} turns per run, WAL on, not fsynced; 2-core machine)");
    println!("{:>8} {:>12}", "threads", "turns/s");
    for threads in [1, 16] {
        println!("{threads:>8} {:>12.0}", run(threads, total));
    }
}
