//! The engine behind every face: the loaded workflow, its executors, live channel sessions
//! and the conversation store. MCP (stdio and HTTP) and the REST shim call the same `App`
//! methods with the same [`requests`], and get the same [`EngineError`]s, so a command behaves
//! the same whichever way it is reached. `App` is a cheap cloneable handle.
//!
//! - [`builder`]: how an `App` is put together — workflow, store, plug-ins;
//! - [`requests`] and [`error`]: what every face asks, and every way the engine says no;
//! - [`actions`]: `perform_action` — validate, run, record the turn;
//! - [`agent`]: `invoke_agent` — a model plans and calls commands (`crate::agent` talks to it);
//! - [`assistant`]: `invoke_assistant` — words → command, clarification dialog, contexts;
//! - `route`: [`App::route`] — the router's choice, settled by the data (`[applies_when]`);
//! - [`conversations`]: new / list / activate conversations, feedback, reading turns;
//! - [`resources`]: reading the workflow's resources and the conversations as resources;
//! - [`completion`]: completing prompt arguments and resource-template variables;
//! - [`changes`]: what stored turns changed, for resource subscriptions;
//! - [`trace`]: the events of a running turn.

pub mod actions;
pub mod agent;
pub mod assistant;
pub mod builder;
pub mod changes;
pub mod completion;
pub mod conversations;
pub mod error;
pub mod requests;
pub mod resources;
mod route;
pub mod trace;

use std::sync::Arc;

pub use actions::{ActionOutcome, ActionReply};
pub use agent::{AgentReply, Borrowed};
pub use assistant::{AskAnswer, AskRequest, AssistantReply, ParamAsker};
pub use builder::{AppBuilder, Plugin, check};
pub use conversations::StatusReply;
pub use error::EngineError;
pub use trace::TraceObserver;

use crate::agent::LlmClient;
use crate::assistant::{Assistant, AssistantState};
use crate::domain::{Caller, ChannelId, Turn};
use crate::exec::Executors;
use crate::session::{Loaded, Session, Sessions, TurnSlot};
use crate::store::{ConversationStore, PendingUpdate, StoreError, TokenStore, WriteWait};
use crate::workflow::Catalog;

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Catalog,
    assistant: Assistant,
    executors: Executors,
    sessions: Sessions,
    store: Arc<dyn ConversationStore>,
    /// Kept beside the conversations (the same database), for token authentication.
    tokens: Arc<dyn TokenStore>,
    /// One permit per turn running (every mode): past the cap a turn is refused, not queued.
    turns: Arc<tokio::sync::Semaphore>,
    max_turns: usize,
    changes: changes::Changes,
    /// The model agent turns plan with, if one is configured.
    llm: Option<Arc<dyn LlmClient>>,
    agent_max_steps: u32,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("workflow", &self.inner.catalog.name)
            .field("store", &self.inner.store)
            .finish()
    }
}

/// The built-in commands every workflow has in assistant mode (`go_up`, …), by name.
pub fn builtin_commands() -> Vec<&'static str> {
    crate::assistant::Builtin::names()
}

impl App {
    pub fn catalog(&self) -> &Catalog {
        &self.inner.catalog
    }

    /// The routing model built from the catalog at load.
    pub fn assistant(&self) -> &Assistant {
        &self.inner.assistant
    }

    /// The channels in memory.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    fn store(&self) -> &Arc<dyn ConversationStore> {
        &self.inner.store
    }

    /// Where token authentication keeps its records: the same database as the
    /// conversations.
    pub fn token_store(&self) -> Arc<dyn TokenStore> {
        self.inner.tokens.clone()
    }

    fn executors(&self) -> &Executors {
        &self.inner.executors
    }

    /// Every change stored from now on (see [`changes`]).
    pub fn watch_changes(&self) -> changes::ChangeWatch {
        self.inner.changes.watch()
    }

    /// A permit for one more turn, or `Busy` when the configured number are running.
    pub(crate) fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, EngineError> {
        self.inner
            .turns
            .clone()
            .try_acquire_owned()
            .map_err(|_| EngineError::Busy(self.inner.max_turns))
    }

    /// True when the channel has been used before (it has a stored state).
    pub async fn channel_exists(&self, channel: &ChannelId) -> Result<bool, EngineError> {
        if self.sessions().get(channel).is_some() {
            return Ok(true);
        }
        let store = self.store().clone();
        let channel = channel.clone();
        blocking(move || store.channel_exists(&channel)).await
    }

    /// Remember how the channel's streamed turns are framed (`ndjson`, `sse`).
    pub async fn set_stream_format(
        &self,
        channel: &ChannelId,
        format: Option<&str>,
    ) -> Result<(), EngineError> {
        let store = self.store().clone();
        let (channel, format) = (channel.clone(), format.map(str::to_string));
        blocking(move || store.set_stream_format(&channel, format.as_deref())).await?;
        Ok(())
    }

    /// How the channel chose to have its streams framed, if it did.
    pub async fn stream_format(&self, channel: &ChannelId) -> Result<Option<String>, EngineError> {
        let store = self.store().clone();
        let channel = channel.clone();
        blocking(move || Ok(store.load_channel(&channel)?.stream_format)).await
    }

    /// Every conversation (or `channel`'s) as JSON Lines into `out`, from one consistent
    /// view of the store; returns how many. Blocks: run it off the async workers.
    pub fn export_blocking(
        &self,
        channel: Option<&ChannelId>,
        out: &mut dyn std::io::Write,
    ) -> Result<usize, EngineError> {
        Ok(self.store().export(channel, out)?)
    }

    /// Make every acknowledged turn survive an operating-system crash too (at shutdown).
    pub async fn sync(&self) -> Result<(), EngineError> {
        let store = self.store().clone();
        blocking(move || store.sync()).await
    }

    /// The context `caller`'s channel is in ("*" = global).
    pub async fn current_context(&self, caller: &Caller) -> Result<String, EngineError> {
        Ok(self.session(&caller.channel_id).await?.context_name())
    }

    /// The channel's session, loaded from the store on first use.
    pub async fn session(&self, channel: &ChannelId) -> Result<Arc<Session>, EngineError> {
        if let Some(session) = self.sessions().get(channel) {
            return Ok(session);
        }
        let store = self.store().clone();
        let id = channel.clone();
        let loaded = blocking(move || {
            let state = store.load_channel(&id)?;
            let next_turn_id = store.next_turn_id(&id, state.active_conversation)?;
            Ok(Loaded {
                conversation_id: state.active_conversation,
                next_turn_id,
                assistant: AssistantState::from_stored(state.pending.as_ref()),
            })
        })
        .await?;
        Ok(self.sessions().insert(channel, loaded))
    }

    /// Store a finished turn — with the channel's new assistant state, if it changed, in the
    /// same atomic write — before anyone sees its answer.
    ///
    /// The write is tried inline on the async worker first: a store write that need not wait
    /// (RocksDB: an unsynced WAL append and a memtable insert) costs less than the two thread
    /// wake-ups of a hop to the blocking pool. When the store would stall (RocksDB throttling
    /// writes), the turn goes to the blocking pool, so a worker never sleeps inside the store.
    pub(crate) async fn store_turn(
        &self,
        session: &Session,
        slot: TurnSlot,
        turn: &Turn,
        state: Option<AssistantState>,
    ) -> Result<(), EngineError> {
        let stored = state.as_ref().map(AssistantState::to_stored);
        let pending = match &stored {
            Some(stored) => PendingUpdate::Replace(stored.as_ref()),
            None => PendingUpdate::Keep,
        };
        let (channel, conversation_id) = (&session.channel, slot.conversation_id);
        let inline =
            self.store()
                .append_turn(channel, conversation_id, turn, pending, WriteWait::NoStall);
        match inline {
            Err(StoreError::WouldStall) => {
                tracing::debug!(
                    channel = %channel,
                    "write stall: turn stored from the blocking pool"
                );
                let (store, channel, turn) = (self.store().clone(), channel.clone(), turn.clone());
                blocking(move || {
                    let pending = match &stored {
                        Some(stored) => PendingUpdate::Replace(stored.as_ref()),
                        None => PendingUpdate::Keep,
                    };
                    store.append_turn(&channel, conversation_id, &turn, pending, WriteWait::Block)
                })
                .await?;
            }
            stored => stored?,
        }
        if let Some(state) = state {
            session.set_assistant_state(state);
        }
        self.inner.changes.publish(|| changes::Change {
            channel: channel.clone(),
            conversation_id,
            command: Some((
                turn.command_output.command_name.clone(),
                turn.command_output.command_parameters.clone(),
            )),
            success: turn.command_output.success(),
        });
        Ok(())
    }
}

/// Run blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EngineError::from(StoreError::Internal(e.to_string())))?
        .map_err(EngineError::from)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use serde_json::{Value, json};

    use super::*;
    use crate::app::requests::{InvokeAssistant, PerformAction};
    use crate::domain::{ConversationSummary, Feedback};
    use crate::store::{ChannelState, MemoryStore};
    use crate::workflow::WorkflowSource;

    /// A store that is "catching up" on the first inline write: the engine must store the
    /// turn from the blocking pool instead, and lose nothing.
    #[derive(Debug, Default)]
    struct StallsOnce {
        inner: MemoryStore,
        stalled: AtomicUsize,
        blocking_writes: AtomicUsize,
    }

    impl ConversationStore for StallsOnce {
        fn load_channel(&self, channel: &ChannelId) -> Result<ChannelState, StoreError> {
            self.inner.load_channel(channel)
        }
        fn append_turn(
            &self,
            channel: &ChannelId,
            conversation_id: u64,
            turn: &Turn,
            pending: PendingUpdate<'_>,
            wait: WriteWait,
        ) -> Result<(), StoreError> {
            if wait == WriteWait::NoStall {
                self.stalled.fetch_add(1, Ordering::SeqCst);
                return Err(StoreError::WouldStall);
            }
            self.blocking_writes.fetch_add(1, Ordering::SeqCst);
            self.inner
                .append_turn(channel, conversation_id, turn, pending, wait)
        }
        fn next_turn_id(&self, channel: &ChannelId, id: u64) -> Result<u64, StoreError> {
            self.inner.next_turn_id(channel, id)
        }
        fn turns(&self, channel: &ChannelId, id: u64) -> Result<Vec<Turn>, StoreError> {
            self.inner.turns(channel, id)
        }
        fn turn(&self, c: &ChannelId, id: u64, turn: u64) -> Result<Option<Turn>, StoreError> {
            self.inner.turn(c, id, turn)
        }
        fn last_turn(&self, c: &ChannelId, id: u64) -> Result<Option<Turn>, StoreError> {
            self.inner.last_turn(c, id)
        }
        fn set_feedback(
            &self,
            c: &ChannelId,
            id: u64,
            turn: u64,
            feedback: Feedback,
        ) -> Result<(), StoreError> {
            self.inner.set_feedback(c, id, turn, feedback)
        }
        fn close_and_start_new(
            &self,
            c: &ChannelId,
            topic: &str,
            summary: &str,
        ) -> Result<(u64, ChannelState), StoreError> {
            self.inner.close_and_start_new(c, topic, summary)
        }
        fn activate(&self, c: &ChannelId, id: u64) -> Result<ChannelState, StoreError> {
            self.inner.activate(c, id)
        }
        fn set_pending(&self, c: &ChannelId, p: Option<Value>) -> Result<ChannelState, StoreError> {
            self.inner.set_pending(c, p)
        }
        fn list(
            &self,
            c: &ChannelId,
            limit: usize,
        ) -> Result<Vec<ConversationSummary>, StoreError> {
            self.inner.list(c, limit)
        }
        fn conversation(
            &self,
            c: &ChannelId,
            id: u64,
        ) -> Result<Option<ConversationSummary>, StoreError> {
            self.inner.conversation(c, id)
        }
        fn sync(&self) -> Result<(), StoreError> {
            self.inner.sync()
        }
        fn channel_exists(&self, c: &ChannelId) -> Result<bool, StoreError> {
            self.inner.channel_exists(c)
        }
        fn set_stream_format(
            &self,
            c: &ChannelId,
            format: Option<&str>,
        ) -> Result<ChannelState, StoreError> {
            self.inner.set_stream_format(c, format)
        }
        fn export(
            &self,
            c: Option<&ChannelId>,
            out: &mut dyn std::io::Write,
        ) -> Result<usize, StoreError> {
            self.inner.export(c, out)
        }
    }

    #[tokio::test]
    async fn a_stalled_store_gets_the_turn_from_the_blocking_pool_with_its_state() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/engine");
        let store = Arc::new(StallsOnce::default());
        let app = App::builder(WorkflowSource::from_dir(&dir).expect("fixture"))
            .store(store.clone())
            .open()
            .expect("opens");
        let caller = Caller::new(ChannelId::parse("c").expect("channel"), None);
        let outcome = app
            .perform_action(
                &caller,
                PerformAction {
                    command_name: "get_ticket_details".into(),
                    parameters: json!({"ticket_id": "T-1234"}),
                    timeout_seconds: None,
                },
                None,
            )
            .await
            .expect("answered");
        assert!(outcome.success && outcome.context_changed);
        // An assistant question: its pending dialog goes with the turn.
        let asked = app
            .invoke_assistant(
                &caller,
                InvokeAssistant {
                    command: "/close_ticket".into(),
                    timeout_seconds: None,
                },
                None,
                None,
            )
            .await
            .expect("asked");
        assert!(matches!(asked, AssistantReply::Answered(ref o) if !o.success));
        assert_eq!(store.stalled.load(Ordering::SeqCst), 2);
        assert_eq!(store.blocking_writes.load(Ordering::SeqCst), 2);
        let turns = store.inner.turns(&caller.channel_id, 1).expect("turns");
        assert_eq!(turns.iter().map(|t| t.turn_id).collect::<Vec<_>>(), [1, 2]);
        let state = store.inner.load_channel(&caller.channel_id).expect("state");
        let pending = state
            .pending
            .expect("the dialog and the context are stored");
        assert_eq!(pending["dialog"]["command"], "close_ticket");
        assert_eq!(pending["frames"][0]["context"], "Ticket");
        let session = app.session(&caller.channel_id).await.expect("session");
        assert_eq!(session.context_name(), "Ticket", "memory follows the store");
    }
}
