//! The engine behind every face: the loaded workflow, its executors, live channel sessions
//! and the conversation store. MCP (stdio and HTTP) and the REST shim call the same `App`
//! methods with the same [`requests`], and get the same [`EngineError`]s, so a command behaves
//! the same whichever way it is reached. `App` is a cheap cloneable handle.
//!
//! - [`builder`]: how an `App` is put together — workflow, store, plug-ins;
//! - [`requests`] and [`error`]: what every face asks, and every way the engine says no;
//! - [`actions`]: `perform_action` — validate, run, record the turn;
//! - [`assistant`]: `invoke_assistant` — words → command, clarification dialog, contexts;
//! - `route`: [`App::route`] — the router's choice, settled by the data (`[applies_when]`);
//! - [`conversations`]: new / list / activate conversations, feedback, reading turns;
//! - [`trace`]: the events of a running turn.

pub mod actions;
pub mod assistant;
pub mod builder;
pub mod conversations;
pub mod error;
pub mod requests;
mod route;
pub mod trace;

use std::sync::Arc;

pub use actions::ActionOutcome;
pub use assistant::{AskAnswer, AskRequest, AssistantReply, ParamAsker};
pub use builder::{AppBuilder, Plugin, check};
pub use conversations::StatusReply;
pub use error::EngineError;
pub use trace::TraceObserver;

use crate::assistant::{Assistant, AssistantState};
use crate::domain::{Caller, ChannelId, Turn};
use crate::exec::Executors;
use crate::session::{Loaded, Session, Sessions, TurnSlot};
use crate::store::{ConversationStore, PendingUpdate, StoreError, WriteWait};
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

    fn executors(&self) -> &Executors {
        &self.inner.executors
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
