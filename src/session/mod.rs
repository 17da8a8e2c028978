//! Live channels in memory: what each channel has going on between two requests, and the
//! lock that keeps its conversational turns one at a time.
//!
//! - [`Sessions`]: the channels in memory, each loaded by the engine from the store on first
//!   use and evicted when idle (never from disk: the next request loads it again);
//! - [`Session`]: one channel — its active conversation, next turn id, assistant state;
//! - [`turn_lock`]: one conversational turn at a time per channel, refused at once otherwise.

pub mod turn_lock;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use turn_lock::{TurnGuard, TurnInProgress, TurnLock};

use crate::assistant::AssistantState;
use crate::domain::{ChannelId, now_ms};

/// Where the next turn of a channel goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnSlot {
    pub conversation_id: u64,
    pub turn_id: u64,
}

/// What a channel starts from when it is loaded: the store's record of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub conversation_id: u64,
    pub next_turn_id: u64,
    pub assistant: AssistantState,
}

/// One channel in memory.
#[derive(Debug)]
pub struct Session {
    pub channel: ChannelId,
    pub turn_lock: TurnLock,
    live: Mutex<Loaded>,
    last_used_ms: AtomicU64,
}

impl Session {
    fn new(channel: ChannelId, loaded: Loaded) -> Self {
        Self {
            channel,
            turn_lock: TurnLock::default(),
            live: Mutex::new(loaded),
            last_used_ms: AtomicU64::new(now_ms()),
        }
    }

    /// The guarded state. Every change under it is a plain assignment, so a poisoned lock
    /// still holds a whole state.
    fn live(&self) -> MutexGuard<'_, Loaded> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserve the next turn id of the active conversation (direct actions may do this
    /// concurrently; each gets its own id).
    pub fn next_slot(&self) -> TurnSlot {
        let mut live = self.live();
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
        let mut live = self.live();
        if live.conversation_id == slot.conversation_id && live.next_turn_id == slot.turn_id + 1 {
            live.next_turn_id = slot.turn_id;
        }
    }

    pub fn active_conversation(&self) -> u64 {
        self.live().conversation_id
    }

    /// Switch to `conversation_id`, whose next turn id is `next_turn_id` (after activate or
    /// new_conversation, both under the turn lock).
    pub fn switch_to(&self, conversation_id: u64, next_turn_id: u64) {
        let mut live = self.live();
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
        self.live().assistant.clone()
    }

    /// The channel's current context ("*" = global), without copying the whole state.
    pub fn context_name(&self) -> String {
        self.live().assistant.context().to_string()
    }

    /// Replace the in-memory assistant state (after the store has accepted it).
    pub fn set_assistant_state(&self, state: AssistantState) {
        self.live().assistant = state;
    }

    fn touch(&self) {
        self.last_used_ms.store(now_ms(), Ordering::Relaxed);
    }
}

/// All live sessions of this process. Cheap to clone.
#[derive(Clone, Default)]
pub struct Sessions {
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
    fn map(&self) -> MutexGuard<'_, HashMap<ChannelId, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The channel's session if it is in memory.
    pub fn get(&self, channel: &ChannelId) -> Option<Arc<Session>> {
        let session = self.map().get(channel).cloned()?;
        session.touch();
        Some(session)
    }

    /// Put a channel loaded from the store in memory. Another request may have loaded the same
    /// channel meanwhile: the first one in stays, and is returned.
    pub fn insert(&self, channel: &ChannelId, loaded: Loaded) -> Arc<Session> {
        let session = self
            .map()
            .entry(channel.clone())
            .or_insert_with(|| Arc::new(Session::new(channel.clone(), loaded)))
            .clone();
        session.touch();
        session
    }

    /// Live sessions in memory.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop sessions unused for `idle`, unless a turn or a request still holds them.
    /// Their state is on disk; the next request reloads it.
    pub fn evict_idle(&self, idle: Duration) -> usize {
        let cutoff = now_ms().saturating_sub(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX));
        let mut map = self.map();
        let before = map.len();
        map.retain(|_, session| {
            let in_use = Arc::strong_count(session) > 1 || session.turn_lock.is_busy();
            in_use || session.last_used_ms.load(Ordering::Relaxed) > cutoff
        });
        before - map.len()
    }

    /// Evict idle sessions every `every` until `shutdown`; after a sweep that evicted some,
    /// `release_memory` hands what they held back to the operating system.
    pub fn spawn_evictor(
        &self,
        every: Duration,
        idle: Duration,
        release_memory: fn(),
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
                            release_memory();
                        }
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded() -> Loaded {
        Loaded {
            conversation_id: 1,
            next_turn_id: 4,
            assistant: AssistantState::default(),
        }
    }

    #[test]
    fn slots_are_handed_out_once_and_only_the_last_is_given_back() {
        let sessions = Sessions::default();
        let channel = ChannelId::parse("c").expect("channel");
        let session = sessions.insert(&channel, loaded());
        let first = session.next_slot();
        let second = session.next_slot();
        assert_eq!((first.turn_id, second.turn_id), (4, 5));
        session.release_slot(first); // a later id is out: a gap, not a duplicate
        assert_eq!(session.next_slot().turn_id, 6);
        let last = session.next_slot();
        session.release_slot(last);
        assert_eq!(session.next_slot().turn_id, 7);
        session.switch_to(1, 2);
        assert_eq!(
            session.next_slot().turn_id,
            8,
            "never backwards in one conversation"
        );
        session.switch_to(2, 1);
        assert_eq!(
            session.next_slot(),
            TurnSlot {
                conversation_id: 2,
                turn_id: 1
            }
        );
    }

    #[test]
    fn the_first_load_stays_and_idle_sessions_leave_memory_unless_held() {
        let sessions = Sessions::default();
        let channel = ChannelId::parse("c").expect("channel");
        let first = sessions.insert(&channel, loaded());
        let mut other = loaded();
        other.next_turn_id = 99;
        let second = sessions.insert(&channel, other);
        assert!(Arc::ptr_eq(&first, &second));
        drop(second);
        assert_eq!(sessions.evict_idle(Duration::ZERO), 0, "held by a request");
        drop(first);
        assert_eq!(
            sessions.evict_idle(Duration::from_secs(3600)),
            0,
            "recently used"
        );
        assert_eq!(sessions.evict_idle(Duration::ZERO), 1);
        assert!(sessions.get(&channel).is_none());
    }
}
