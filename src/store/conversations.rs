//! Conversations and turns of each channel, on RocksDB.
//!
//! Key layout (column family → key → JSON value); ids are big-endian so key order is numeric
//! order, and a channel id never contains `\0`, so `channel \0` prefixes cannot collide:
//!
//! ```text
//! channels       channel                                  → ChannelState
//! conversations  channel \0 conversation_id               → ConversationSummary
//! turns          channel \0 conversation_id turn_id       → Turn (with traces, feedback)
//! ```
//!
//! Appending a turn writes one key (plus the conversation's `updated_at`, in the same batch):
//! a conversation is never rewritten as a whole.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS, Db, DbError};
use crate::session::{ChannelId, now_ms};

/// Which way a trace event went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    AgentToWorkflow,
    WorkflowToAgent,
}

/// One step of a turn (DESIGN §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TraceEvent {
    pub direction: Direction,
    pub raw_command: String,
    pub command_name: String,
    pub parameters: Map<String, Value>,
    pub response_text: String,
    pub success: bool,
    pub timestamp_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub channel_id: String,
    pub conversation_id: u64,
    pub turn_id: u64,
    pub seq: u64,
}

/// How a turn was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TurnMode {
    Agent,
    Assistant,
    Action,
}

/// What a user thought of a turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Feedback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_or_numeric_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nl_feedback: Option<String>,
    /// ms since the Unix epoch.
    pub timestamp: u64,
}

/// One question and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    pub turn_id: u64,
    pub mode: TurnMode,
    pub user_query: String,
    /// The CommandOutput the caller received.
    pub command_output: Value,
    pub traces: Vec<TraceEvent>,
    #[serde(default)]
    pub feedback: Option<Feedback>,
    pub timestamp_ms: u64,
}

/// A conversation as listed (DESIGN §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationSummary {
    pub conversation_id: u64,
    pub topic: String,
    pub summary: String,
    pub created_at: u64,
    pub updated_at: u64,
}

/// What a channel has going on between requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelState {
    pub active_conversation: u64,
    pub next_conversation_id: u64,
    /// A clarification dialog in progress (assistant mode), kept across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conversation not found with id {0}")]
    UnknownConversation(u64),
    #[error("turn {0} not found")]
    UnknownTurn(u64),
    #[error("stored record {key} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Conversations and turns of every channel.
///
/// # Durability
/// When a method returns `Ok`, its writes are in RocksDB's write-ahead log: they survive the
/// process dying at any point (panic, `kill -9`, OOM). They are not fsynced per write, so an
/// operating-system crash or power loss may drop the last few. Multi-key changes (a turn and
/// its conversation's `updated_at`, closing one conversation and opening the next) are one
/// atomic batch: after a crash either all of it is there or none.
///
/// Methods block: async callers run them on the blocking pool.
pub trait ConversationStore: Send + Sync {
    /// The channel's state; the first use of a channel creates conversation 1.
    fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError>;
    /// Store `turn` in `conversation_id`.
    fn append_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
    ) -> Result<(), StoreError>;
    /// One more than the last stored turn id of the conversation (1 when empty).
    fn next_turn_id(&self, channel: &ChannelId, conversation_id: u64) -> Result<u64, StoreError>;
    /// Every turn of a conversation, in order.
    fn turns(&self, channel: &ChannelId, conversation_id: u64) -> Result<Vec<Turn>, StoreError>;
    fn last_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<Turn>, StoreError>;
    /// Attach feedback to one turn (replacing earlier feedback on it).
    fn set_feedback(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
        feedback: Feedback,
    ) -> Result<(), StoreError>;
    /// Give the active conversation its topic and summary and open the next one.
    fn close_and_start_new(
        &self,
        channel: &ChannelId,
        topic: &str,
        summary: &str,
    ) -> Result<(u64, ChannelState), StoreError>;
    /// Make an existing conversation of this channel the active one.
    fn activate(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<ChannelState, StoreError>;
    /// Newest first; the active conversation is listed only once it has a turn.
    fn list(
        &self,
        channel: &ChannelId,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError>;
    fn conversation(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError>;
}

/// [`ConversationStore`] on the shared RocksDB.
#[derive(Debug, Clone)]
pub struct RocksConversationStore {
    db: Db,
}

impl RocksConversationStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn channel_key(channel: &ChannelId) -> Vec<u8> {
    channel.as_str().as_bytes().to_vec()
}

fn conversation_prefix(channel: &ChannelId) -> Vec<u8> {
    let mut key = channel_key(channel);
    key.push(0);
    key
}

fn conversation_key(channel: &ChannelId, conversation_id: u64) -> Vec<u8> {
    let mut key = conversation_prefix(channel);
    key.extend_from_slice(&conversation_id.to_be_bytes());
    key
}

fn turn_key(channel: &ChannelId, conversation_id: u64, turn_id: u64) -> Vec<u8> {
    let mut key = conversation_key(channel, conversation_id);
    key.extend_from_slice(&turn_id.to_be_bytes());
    key
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).replace('\0', "/"),
        reason: e.to_string(),
    })
}

fn encode(value: &impl Serialize) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Internal(e.to_string()))
}

impl RocksConversationStore {
    fn state(&self, channel: &ChannelId) -> Result<Option<ChannelState>, StoreError> {
        let key = channel_key(channel);
        self.db
            .get(CF_CHANNELS, &key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    fn summary_of(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        let key = conversation_key(channel, conversation_id);
        self.db
            .get(CF_CONVERSATIONS, &key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    fn empty_conversation(conversation_id: u64) -> ConversationSummary {
        let now = now_ms();
        ConversationSummary {
            conversation_id,
            topic: String::new(),
            summary: String::new(),
            created_at: now,
            updated_at: now,
        }
    }
}

impl ConversationStore for RocksConversationStore {
    fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError> {
        if let Some(state) = self.state(channel)? {
            return Ok(state);
        }
        let state = ChannelState {
            active_conversation: 1,
            next_conversation_id: 2,
            pending: None,
        };
        let summary = encode(&Self::empty_conversation(1))?;
        let encoded = encode(&state)?;
        self.db.write(|batch| {
            batch.put(CF_CONVERSATIONS, &conversation_key(channel, 1), &summary);
            batch.put(CF_CHANNELS, &channel_key(channel), &encoded);
        })?;
        Ok(state)
    }

    fn append_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn: &Turn,
    ) -> Result<(), StoreError> {
        let mut summary = self
            .summary_of(channel, conversation_id)?
            .ok_or(StoreError::UnknownConversation(conversation_id))?;
        summary.updated_at = summary.updated_at.max(turn.timestamp_ms);
        let summary = encode(&summary)?;
        let turn_bytes = encode(turn)?;
        self.db.write(|batch| {
            batch.put(
                CF_TURNS,
                &turn_key(channel, conversation_id, turn.turn_id),
                &turn_bytes,
            );
            batch.put(
                CF_CONVERSATIONS,
                &conversation_key(channel, conversation_id),
                &summary,
            );
        })?;
        Ok(())
    }

    fn next_turn_id(&self, channel: &ChannelId, conversation_id: u64) -> Result<u64, StoreError> {
        Ok(self
            .last_turn(channel, conversation_id)?
            .map_or(1, |t| t.turn_id + 1))
    }

    fn turns(&self, channel: &ChannelId, conversation_id: u64) -> Result<Vec<Turn>, StoreError> {
        self.db
            .scan_prefix(CF_TURNS, &conversation_key(channel, conversation_id))?
            .iter()
            .map(|(key, value)| decode(key, value))
            .collect()
    }

    fn last_turn(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<Turn>, StoreError> {
        self.db
            .last_with_prefix(CF_TURNS, &conversation_key(channel, conversation_id))?
            .map(|(key, value)| decode(&key, &value))
            .transpose()
    }

    fn set_feedback(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
        turn_id: u64,
        feedback: Feedback,
    ) -> Result<(), StoreError> {
        let key = turn_key(channel, conversation_id, turn_id);
        let Some(bytes) = self.db.get(CF_TURNS, &key)? else {
            return Err(StoreError::UnknownTurn(turn_id));
        };
        let mut turn: Turn = decode(&key, &bytes)?;
        turn.feedback = Some(feedback);
        self.db.put(CF_TURNS, &key, &encode(&turn)?)?;
        Ok(())
    }

    fn close_and_start_new(
        &self,
        channel: &ChannelId,
        topic: &str,
        summary: &str,
    ) -> Result<(u64, ChannelState), StoreError> {
        let state = self.load_channel(channel)?;
        let closed_id = state.active_conversation;
        let mut closed = self
            .summary_of(channel, closed_id)?
            .unwrap_or_else(|| Self::empty_conversation(closed_id));
        closed.topic = topic.to_string();
        closed.summary = summary.to_string();
        closed.updated_at = now_ms().max(closed.updated_at);
        let new_id = state.next_conversation_id;
        let new_state = ChannelState {
            active_conversation: new_id,
            next_conversation_id: new_id + 1,
            pending: None,
        };
        let (closed, opened, encoded) = (
            encode(&closed)?,
            encode(&Self::empty_conversation(new_id))?,
            encode(&new_state)?,
        );
        self.db.write(|batch| {
            batch.put(
                CF_CONVERSATIONS,
                &conversation_key(channel, closed_id),
                &closed,
            );
            batch.put(
                CF_CONVERSATIONS,
                &conversation_key(channel, new_id),
                &opened,
            );
            batch.put(CF_CHANNELS, &channel_key(channel), &encoded);
        })?;
        Ok((closed_id, new_state))
    }

    fn activate(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<ChannelState, StoreError> {
        let mut state = self.load_channel(channel)?;
        if self.summary_of(channel, conversation_id)?.is_none() {
            return Err(StoreError::UnknownConversation(conversation_id));
        }
        state.active_conversation = conversation_id;
        self.db
            .put(CF_CHANNELS, &channel_key(channel), &encode(&state)?)?;
        Ok(state)
    }

    fn list(
        &self,
        channel: &ChannelId,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let state = self.load_channel(channel)?;
        let limit = limit.clamp(1, 100);
        // One more than asked, in case the empty active conversation is skipped.
        let rows =
            self.db
                .scan_prefix_rev(CF_CONVERSATIONS, &conversation_prefix(channel), limit + 1)?;
        let mut out = Vec::with_capacity(limit);
        for (key, value) in rows {
            let summary: ConversationSummary = decode(&key, &value)?;
            if summary.conversation_id == state.active_conversation
                && self.last_turn(channel, summary.conversation_id)?.is_none()
            {
                continue;
            }
            out.push(summary);
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn conversation(
        &self,
        channel: &ChannelId,
        conversation_id: u64,
    ) -> Result<Option<ConversationSummary>, StoreError> {
        self.summary_of(channel, conversation_id)
    }
}

/// A topic and summary derived from the turns alone, so saving a conversation never needs an
/// LLM: the topic names the most used command, the summary lists what was done.
pub fn summarize(turns: &[Turn]) -> (String, String) {
    let names: Vec<&str> = turns.iter().map(turn_command).collect();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for name in &names {
        match counts.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => *count += 1,
            None => counts.push((name, 1)),
        }
    }
    // Most used first; ties keep first-use order (the sort is stable).
    counts.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
    let topic = match counts.as_slice() {
        [] => "Empty conversation".to_string(),
        [(only, _)] => humanize(only),
        [(first, _), (second, _), ..] => format!("{} and {}", humanize(first), humanize(second)),
    };
    let steps: Vec<String> = turns
        .iter()
        .take(10)
        .map(|t| {
            let args: Vec<String> = t
                .command_output
                .get("command_parameters")
                .and_then(Value::as_object)
                .map(|p| p.values().map(short_value).collect())
                .unwrap_or_default();
            if args.is_empty() {
                turn_command(t).to_string()
            } else {
                format!("{} {}", turn_command(t), args.join(" "))
            }
        })
        .collect();
    let more = turns.len().saturating_sub(steps.len());
    let mut summary = format!(
        "{} turn{}: {}",
        turns.len(),
        if turns.len() == 1 { "" } else { "s" },
        steps.join("; ")
    );
    if more > 0 {
        summary.push_str(&format!("; and {more} more"));
    }
    (topic, summary)
}

fn turn_command(turn: &Turn) -> &str {
    turn.command_output
        .get("command_name")
        .and_then(Value::as_str)
        .unwrap_or("unknown command")
}

fn humanize(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

fn short_value(value: &Value) -> String {
    let text = crate::workflow::template::display_value(value);
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(dir: &std::path::Path) -> RocksConversationStore {
        RocksConversationStore::new(Db::open(dir).expect("open"))
    }

    fn channel(name: &str) -> ChannelId {
        ChannelId::parse(name).expect("channel")
    }

    fn turn(id: u64, command: &str) -> Turn {
        Turn {
            turn_id: id,
            mode: TurnMode::Action,
            user_query: command.into(),
            command_output: json!({"command_name": command, "command_parameters": {"order_id": "#W1"}}),
            traces: Vec::new(),
            feedback: None,
            timestamp_ms: 1000 + id,
        }
    }

    #[test]
    fn turns_append_in_order_and_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = channel("a");
        {
            let s = store(dir.path());
            let state = s.load_channel(&a).expect("load");
            assert_eq!(state.active_conversation, 1);
            for id in 1..=3 {
                s.append_turn(&a, 1, &turn(id, "get_order_details"))
                    .expect("append");
            }
            assert_eq!(s.next_turn_id(&a, 1).expect("next"), 4);
        }
        let s = store(dir.path());
        let ids: Vec<u64> = s
            .turns(&a, 1)
            .expect("turns")
            .iter()
            .map(|t| t.turn_id)
            .collect();
        assert_eq!(ids, vec![1, 2, 3]);
        assert_eq!(s.load_channel(&a).expect("load").active_conversation, 1);
    }

    #[test]
    fn channels_are_isolated_even_with_prefix_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let (a, ab) = (channel("a"), channel("ab"));
        s.load_channel(&a).expect("load");
        s.load_channel(&ab).expect("load");
        s.append_turn(&a, 1, &turn(1, "x")).expect("append");
        assert!(s.turns(&ab, 1).expect("turns").is_empty());
        assert!(s.list(&ab, 20).expect("list").is_empty());
        assert_eq!(s.list(&a, 20).expect("list").len(), 1);
    }

    #[test]
    fn close_activate_feedback_and_list() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = store(dir.path());
        let a = channel("a");
        s.load_channel(&a).expect("load");
        s.append_turn(&a, 1, &turn(1, "cancel_pending_order"))
            .expect("append");
        let (closed, state) = s
            .close_and_start_new(&a, "Topic", "Summary")
            .expect("close");
        assert_eq!((closed, state.active_conversation), (1, 2));
        // The new, empty conversation is not listed; the closed one is.
        let list = s.list(&a, 20).expect("list");
        assert_eq!(
            list.iter().map(|c| c.conversation_id).collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(list[0].topic, "Topic");
        s.append_turn(&a, 2, &turn(1, "x")).expect("append");
        let list = s.list(&a, 20).expect("list");
        assert_eq!(
            list.iter().map(|c| c.conversation_id).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(s.list(&a, 1).expect("list").len(), 1);

        assert!(matches!(
            s.activate(&a, 9),
            Err(StoreError::UnknownConversation(9))
        ));
        assert_eq!(
            s.load_channel(&a).expect("load").active_conversation,
            2,
            "unchanged"
        );
        assert_eq!(s.activate(&a, 1).expect("activate").active_conversation, 1);

        let feedback = Feedback {
            binary_or_numeric_score: Some(1.0),
            nl_feedback: None,
            timestamp: 5,
        };
        s.set_feedback(&a, 1, 1, feedback.clone())
            .expect("feedback");
        assert_eq!(
            s.turns(&a, 1).expect("turns")[0].feedback,
            Some(feedback.clone())
        );
        assert!(matches!(
            s.set_feedback(&a, 1, 7, feedback),
            Err(StoreError::UnknownTurn(7))
        ));
    }

    #[test]
    fn summarize_is_deterministic_and_names_what_was_done() {
        let turns = vec![
            turn(1, "get_order_details"),
            turn(2, "cancel_pending_order"),
            turn(3, "get_order_details"),
        ];
        let (topic, summary) = summarize(&turns);
        assert_eq!(topic, "Get order details and Cancel pending order");
        assert_eq!(
            summary,
            "3 turns: get_order_details #W1; cancel_pending_order #W1; get_order_details #W1"
        );
        assert_eq!(summarize(&turns), (topic, summary));
    }
}
