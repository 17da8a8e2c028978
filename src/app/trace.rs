//! The trace of one turn as it runs: each step becomes a [`TraceEvent`], numbered from 1,
//! handed to whoever watches the turn live (MCP progress, a stream) and kept for the stored
//! turn.

use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::domain::{Caller, Direction, TraceEvent, now_ms};
use crate::session::TurnSlot;

/// Where live trace events go while a turn runs (MCP progress notifications, a stream).
pub type TraceObserver = UnboundedSender<TraceEvent>;

/// Collects one turn's events, numbering them from 1, and hands each to the observer.
#[derive(Debug)]
pub(crate) struct TraceSink {
    caller: Caller,
    slot: TurnSlot,
    events: Vec<TraceEvent>,
    observer: Option<TraceObserver>,
}

impl TraceSink {
    pub(crate) fn new(caller: &Caller, slot: TurnSlot, observer: Option<TraceObserver>) -> Self {
        Self {
            caller: caller.clone(),
            slot,
            events: Vec::new(),
            observer,
        }
    }

    /// The agent (or user) asked the workflow to run `command_name`.
    pub(crate) fn sent(
        &mut self,
        raw_command: &str,
        command_name: &str,
        parameters: &Map<String, Value>,
    ) {
        self.push(
            Direction::AgentToWorkflow,
            raw_command,
            command_name,
            parameters,
            String::new(),
            true,
        );
    }

    /// The workflow answered.
    pub(crate) fn answered(
        &mut self,
        command_name: &str,
        parameters: &Map<String, Value>,
        response_text: &str,
        success: bool,
    ) {
        self.push(
            Direction::WorkflowToAgent,
            "",
            command_name,
            parameters,
            response_text.to_string(),
            success,
        );
    }

    /// Events of this turn recorded by an earlier call (a turn carried across a client's
    /// calls), renumbered to this slot; the observer heard them already.
    pub(crate) fn carry(&mut self, events: Vec<Value>) {
        for event in events {
            if let Ok(mut event) = serde_json::from_value::<TraceEvent>(event) {
                event.conversation_id = self.slot.conversation_id;
                event.turn_id = self.slot.turn_id;
                event.seq = self.events.len() as u64 + 1;
                self.events.push(event);
            }
        }
    }

    /// Any step; [`Self::sent`] and [`Self::answered`] are the usual two (an agent's model
    /// calls are pushed as they are).
    pub(crate) fn push(
        &mut self,
        direction: Direction,
        raw_command: &str,
        command_name: &str,
        parameters: &Map<String, Value>,
        response_text: String,
        success: bool,
    ) {
        let seq = self.events.len() as u64 + 1;
        let event = TraceEvent {
            direction,
            raw_command: raw_command.to_string(),
            command_name: command_name.to_string(),
            parameters: parameters.clone(),
            response_text,
            success,
            timestamp_ms: now_ms(),
            user_id: self.caller.user_id.clone(),
            channel_id: self.caller.channel_id.to_string(),
            conversation_id: self.slot.conversation_id,
            turn_id: self.slot.turn_id,
            seq,
        };
        if let Some(observer) = &self.observer {
            // A gone observer (client hung up) must not stop the turn.
            let _ = observer.send(event.clone());
        }
        self.events.push(event);
    }

    pub(crate) fn finish(self) -> Vec<TraceEvent> {
        self.events
    }
}
