//! The trace events of a running call, sent to the client as they happen: as progress
//! notifications when the call carries a progress token, and as log messages
//! (`notifications/message`, logger "flowmcp") when the session chose a log level.

// Logging is deprecated for the 2026-07-28 era (SEP-2577); it is served to the clients of the
// eras that have it.
#![allow(deprecated)]

use rmcp::RoleServer;
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam};
use rmcp::service::{Peer, RequestContext};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::app::TraceObserver;
use crate::domain::{Direction, TraceEvent};

/// The logger name of every message.
const LOGGER: &str = "flowmcp";

/// A task that forwards each trace event of the call in order, and the observer to give the
/// engine; `None` when the client asked for neither progress nor log messages. The task ends
/// after the last event, when the engine drops the observer.
pub(crate) fn forwarder(
    context: &RequestContext<RoleServer>,
    what: &str,
    log_level: Option<LoggingLevel>,
) -> (Option<TraceObserver>, Option<JoinHandle<()>>) {
    let progress = context.meta.get_progress_token();
    if progress.is_none() && log_level.is_none() {
        return (None, None);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<TraceEvent>();
    let sender = Sender {
        peer: context.peer.clone(),
        progress,
        log_level,
    };
    let what = what.to_string();
    let task = tokio::spawn(async move {
        sender
            .send(0.0, format!("running {what}"), LoggingLevel::Debug, None)
            .await;
        // In order, one by one: a notification never overtakes an earlier one.
        while let Some(event) = rx.recv().await {
            let (message, level) = match event.direction {
                Direction::AgentToWorkflow => (
                    format!("{} sent to the workflow", event.command_name),
                    LoggingLevel::Debug,
                ),
                Direction::WorkflowToAgent => (
                    event.response_text.chars().take(200).collect(),
                    if event.success {
                        LoggingLevel::Info
                    } else {
                        LoggingLevel::Warning
                    },
                ),
            };
            sender
                .send(event.seq as f64, message, level, Some(&event))
                .await;
        }
    });
    (Some(tx), Some(task))
}

struct Sender {
    peer: Peer<RoleServer>,
    progress: Option<rmcp::model::ProgressToken>,
    log_level: Option<LoggingLevel>,
}

impl Sender {
    async fn send(
        &self,
        step: f64,
        message: String,
        level: LoggingLevel,
        event: Option<&TraceEvent>,
    ) {
        if let Some(wanted) = self.log_level
            && rank(level) >= rank(wanted)
        {
            let data = match event {
                Some(event) => json!({
                    "message": message,
                    "command": event.command_name,
                    "turn_id": event.turn_id,
                    "seq": event.seq,
                    "success": event.success,
                }),
                None => json!({ "message": message }),
            };
            let log = LoggingMessageNotificationParam::new(level, data).with_logger(LOGGER);
            let _ = self.peer.notify_logging_message(log).await;
        }
        if let Some(token) = &self.progress {
            let step = ProgressNotificationParam::new(token.clone(), step).with_message(message);
            let _ = self.peer.notify_progress(step).await;
        }
    }
}

/// Severity order (RFC 5424, as MCP uses it): a message goes out at or above the chosen level.
pub(crate) fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}
