//! Live channel sessions: the active conversation, the next turn id and the turn lock of each
//! channel, loaded from the store on first use and dropped from memory when idle (never from
//! disk: the next request loads them again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::ChannelId;
use super::turn_lock::TurnLock;
use crate::assistant::AssistantState;
use crate::store::conversations::{ConversationStore, RocksConversationStore, StoreError};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Where the next turn of a channel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnSlot {
    pub conversation_id: u64,
    pub turn_id: u64,
}

/// One channel in memory.
#[derive(Debug)]
pub struct Session {
    pub channel: ChannelId,
    pub turn_lock: TurnLock,
    live: Mutex<Live>,
    last_used_ms: AtomicU64,
}

#[derive(Debug)]
struct Live {
    conversation_id: u64,
    next_turn_id: u64,
    /// Context stack and question in progress; the store holds the durable copy.
    assistant: AssistantState,
}

impl Session {
    /// Reserve the next turn id of the active conversation (direct actions may do this
    /// concurrently; each gets its own id).
    pub fn next_slot(&self) -> TurnSlot {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let slot = TurnSlot {
            conversation_id: live.conversation_id,
            turn_id: live.next_turn_id,
        };
        live.next_turn_id += 1;
        slot
    }

    /// Give back `slot` when its turn ended without being stored, if no later id was handed
    /// out meanwhile (then the id stays unused: a gap, never a duplicate).
    pub fn release_slot(&self, slot: TurnSlot) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if live.conversation_id == slot.conversation_id && live.next_turn_id == slot.turn_id + 1 {
            live.next_turn_id = slot.turn_id;
        }
    }

    pub fn active_conversation(&self) -> u64 {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .conversation_id
    }

    /// Switch to `conversation_id`, whose next turn id is `next_turn_id` (after activate or
    /// new_conversation, both under the turn lock).
    pub fn switch_to(&self, conversation_id: u64, next_turn_id: u64) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        // Re-activating the active conversation must not hand out ids that direct actions
        // still in flight have reserved but not stored yet.
        if live.conversation_id == conversation_id {
            live.next_turn_id = live.next_turn_id.max(next_turn_id);
        } else {
            live.conversation_id = conversation_id;
            live.next_turn_id = next_turn_id;
            // The store drops the pending state with the switch; so does memory.
            live.assistant = AssistantState::default();
        }
    }

    /// The channel's assistant state (context stack, question in progress).
    pub fn assistant_state(&self) -> AssistantState {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .assistant
            .clone()
    }

    /// The channel's current context ("*" = global).
    pub fn context_name(&self) -> String {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .assistant
            .context()
            .to_string()
    }

    /// Replace the in-memory assistant state (after the store has accepted it).
    pub fn set_assistant_state(&self, state: AssistantState) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .assistant = state;
    }

    fn touch(&self) {
        self.last_used_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// All live sessions of this process. Cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    store: Arc<RocksConversationStore>,
    map: Arc<Mutex<HashMap<ChannelId, Arc<Session>>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("live", &self.len())
            .finish()
    }
}

impl Sessions {
    pub fn new(store: Arc<RocksConversationStore>) -> Self {
        Self {
            store,
            map: Arc::default(),
        }
    }

    pub fn store(&self) -> &Arc<RocksConversationStore> {
        &self.store
    }

    /// The channel's session, loading it from the store on first use.
    pub async fn get(&self, channel: &ChannelId) -> Result<Arc<Session>, StoreError> {
        if let Some(session) = self.lookup(channel) {
            session.touch();
            return Ok(session);
        }
        let store = self.store.clone();
        let id = channel.clone();
        let loaded = tokio::task::spawn_blocking(move || -> Result<Live, StoreError> {
            let state = store.load_channel(&id)?;
            let next_turn_id = store.next_turn_id(&id, state.active_conversation)?;
            Ok(Live {
                conversation_id: state.active_conversation,
                next_turn_id,
                assistant: AssistantState::from_stored(state.pending.as_ref()),
            })
        })
        .await
        .map_err(|e| StoreError::Internal(format!("loading channel {channel}: {e}")))??;
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        // Another request may have loaded the same channel meanwhile: keep the first.
        let session = map
            .entry(channel.clone())
            .or_insert_with(|| {
                Arc::new(Session {
                    channel: channel.clone(),
                    turn_lock: TurnLock::default(),
                    live: Mutex::new(loaded),
                    last_used_ms: AtomicU64::new(now_ms()),
                })
            })
            .clone();
        session.touch();
        Ok(session)
    }

    fn lookup(&self, channel: &ChannelId) -> Option<Arc<Session>> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(channel)
            .cloned()
    }

    /// Live sessions in memory.
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop sessions unused for `idle`, unless a turn or a request still holds them.
    /// Their state is on disk; the next request reloads it.
    pub fn evict_idle(&self, idle: Duration) -> usize {
        let cutoff = now_ms().saturating_sub(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX));
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let before = map.len();
        map.retain(|_, session| {
            let in_use = Arc::strong_count(session) > 1 || session.turn_lock.is_busy();
            in_use || session.last_used_ms.load(Ordering::Relaxed) > cutoff
        });
        before - map.len()
    }

    /// Evict idle sessions every `every` until `shutdown`.
    pub fn spawn_evictor(
        &self,
        every: Duration,
        idle: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let sessions = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        let evicted = sessions.evict_idle(idle);
                        if evicted > 0 {
                            tracing::debug!(evicted, "idle sessions left memory");
                        }
                    }
                }
            }
        });
    }
}
