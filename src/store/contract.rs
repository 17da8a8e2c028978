//! The [`ConversationStore`] contract as tests, run against every implementation
//! (`contract_tests!` in each one's test module), so the in-memory store the engine's tests
//! use behaves like the durable one.

use std::path::Path;

use serde_json::{Value, json};

use super::{ChannelState, ConversationStore, PendingUpdate, StoreError, TokenStore, WriteWait};
use crate::domain::{
    ChannelId, CommandOutput, CommandResponse, ConversationSummary, Feedback, Revocation,
    TokenRecord, Turn, TurnMode,
};

/// One `#[test]` per contract function, each on a fresh store made by `$make(dir)`.
macro_rules! contract_tests {
    ($make:expr) => {
        crate::store::contract::contract_tests!(@each $make;
            a_turn_and_the_pending_state_are_written_together_for_the_active_conversation_only,
            turns_append_and_read_back_in_order,
            append_refuses_unknown_conversations_and_taken_turn_ids,
            the_inline_append_stores_and_refuses_like_the_blocking_one,
            conversation_ids_are_per_channel_and_channels_never_mix,
            feedback_on_the_last_turn_on_a_turn_id_and_on_an_unknown_turn,
            activating_an_unknown_conversation_changes_nothing,
            list_is_newest_first_bounded_and_skips_only_a_blank_active_conversation,
            close_and_start_new_saves_the_topic_and_opens_the_next,
            concurrent_appends_and_close_lose_nothing,
            concurrent_appends_of_one_turn_id_store_one,
            token_records_revocations_and_spent_refreshes,
            existence_stream_format_and_export,
        );
    };
    (@each $make:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                let dir = tempfile::tempdir().expect("tempdir");
                let make = $make;
                crate::store::contract::$name(&make(dir.path()));
            }
        )*
    };
}
pub(crate) use contract_tests;

pub(crate) fn channel(name: &str) -> ChannelId {
    ChannelId::parse(name).expect("channel")
}

pub(crate) fn turn(id: u64, command: &str) -> Turn {
    turn_with(id, command, json!({"ticket_id": "T-1234"}), true)
}

pub(crate) fn turn_with(id: u64, command: &str, params: Value, success: bool) -> Turn {
    let Value::Object(params) = params else {
        unreachable!("an object literal")
    };
    let response = if success {
        CommandResponse::ok("done")
    } else {
        CommandResponse::fail("done")
    };
    Turn {
        turn_id: id,
        mode: TurnMode::Action,
        user_query: command.into(),
        command_output: CommandOutput {
            command_responses: vec![response],
            workflow_name: "w".into(),
            context: "*".into(),
            command_name: command.into(),
            command_parameters: params,
        },
        traces: Vec::new(),
        feedback: None,
        timestamp_ms: 1000 + id,
    }
}

/// A direct action's write: the pending state is left alone, stalls are waited out.
pub(crate) fn append<S: ConversationStore + ?Sized>(
    s: &S,
    channel: &ChannelId,
    conversation_id: u64,
    turn: Turn,
) -> Result<(), StoreError> {
    s.append_turn(
        channel,
        conversation_id,
        &turn,
        PendingUpdate::Keep,
        WriteWait::Block,
    )
}

/// An assistant turn's write: the pending state is replaced with the turn.
fn pend<S: ConversationStore>(
    s: &S,
    channel: &ChannelId,
    conversation_id: u64,
    turn: Turn,
    pending: Option<&Value>,
) -> Result<(), StoreError> {
    s.append_turn(
        channel,
        conversation_id,
        &turn,
        PendingUpdate::Replace(pending),
        WriteWait::Block,
    )
}

fn command_of(turn: &Turn) -> Option<&str> {
    Some(turn.command_output.command_name.as_str()).filter(|n| !n.is_empty())
}

fn ids(list: &[ConversationSummary]) -> Vec<u64> {
    list.iter().map(|c| c.conversation_id).collect()
}

fn turn_ids(turns: &[Turn]) -> Vec<u64> {
    turns.iter().map(|t| t.turn_id).collect()
}

fn feedback(score: f64) -> Feedback {
    Feedback {
        binary_or_numeric_score: Some(score),
        nl_feedback: Some("fine".into()),
        timestamp: 5,
    }
}

pub(crate) fn a_turn_and_the_pending_state_are_written_together_for_the_active_conversation_only<
    S: ConversationStore,
>(
    s: &S,
) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    pend(s, &a, 1, turn(1, "close_ticket"), Some(&json!({"q": 1}))).expect("append");
    assert_eq!(
        s.load_channel(&a).expect("load").pending,
        Some(json!({"q": 1}))
    );
    assert_eq!(turn_ids(&s.turns(&a, 1).expect("turns")), [1]);
    // A refused turn writes neither.
    let duplicate = pend(s, &a, 1, turn(1, "x"), None);
    assert!(matches!(duplicate, Err(StoreError::DuplicateTurn { .. })));
    assert_eq!(
        s.load_channel(&a).expect("load").pending,
        Some(json!({"q": 1}))
    );
    // A turn finishing in a conversation that is no longer active leaves the state alone.
    s.close_and_start_new(&a, "topic", "summary")
        .expect("new conversation");
    s.set_pending(&a, Some(json!({"q": 2}))).expect("pending");
    pend(s, &a, 1, turn(2, "get_ticket_details"), None).expect("late turn");
    assert_eq!(
        s.load_channel(&a).expect("load").pending,
        Some(json!({"q": 2}))
    );
    assert_eq!(turn_ids(&s.turns(&a, 1).expect("turns")), [1, 2]);
}

pub(crate) fn turns_append_and_read_back_in_order<S: ConversationStore>(s: &S) {
    let a = channel("a");
    let state = s.load_channel(&a).expect("load");
    assert_eq!(
        (state.active_conversation, state.next_conversation_id),
        (1, 2)
    );
    assert_eq!(s.next_turn_id(&a, 1).expect("next"), 1);
    assert_eq!(s.last_turn(&a, 1).expect("last"), None);
    // Ids above 255 check that key order is numeric order (big-endian), not byte-wise.
    for id in [1, 2, 3, 256, 257] {
        append(s, &a, 1, turn(id, "get_ticket_details")).expect("append");
    }
    assert_eq!(
        turn_ids(&s.turns(&a, 1).expect("turns")),
        [1, 2, 3, 256, 257]
    );
    assert_eq!(s.next_turn_id(&a, 1).expect("next"), 258);
    assert_eq!(
        s.last_turn(&a, 1).expect("last").map(|t| t.turn_id),
        Some(257)
    );
    assert_eq!(
        s.turn(&a, 1, 2).expect("turn"),
        Some(turn(2, "get_ticket_details"))
    );
    assert_eq!(s.turn(&a, 1, 4).expect("turn"), None);
    let created = s
        .conversation(&a, 1)
        .expect("conv")
        .expect("exists")
        .created_at;
    let mut late = turn(300, "x");
    late.timestamp_ms = created + 60_000;
    append(s, &a, 1, late).expect("append");
    // An older turn finishing afterwards does not move it back.
    append(s, &a, 1, turn(299, "x")).expect("append");
    let summary = s.conversation(&a, 1).expect("conv").expect("exists");
    assert_eq!(
        summary.updated_at,
        created + 60_000,
        "follows the latest turn"
    );
}

pub(crate) fn append_refuses_unknown_conversations_and_taken_turn_ids<S: ConversationStore>(s: &S) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    assert!(matches!(
        append(s, &a, 2, turn(1, "x")),
        Err(StoreError::UnknownConversation(2))
    ));
    append(s, &a, 1, turn(1, "x")).expect("append");
    assert!(matches!(
        append(s, &a, 1, turn(1, "y")),
        Err(StoreError::DuplicateTurn {
            conversation_id: 1,
            turn_id: 1
        })
    ));
    assert_eq!(command_of(&s.turns(&a, 1).expect("turns")[0]), Some("x"));
    assert!(s.turns(&a, 2).expect("turns").is_empty());
}

pub(crate) fn the_inline_append_stores_and_refuses_like_the_blocking_one<S: ConversationStore>(
    s: &S,
) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    s.append_turn(
        &a,
        1,
        &turn(1, "x"),
        PendingUpdate::Keep,
        WriteWait::NoStall,
    )
    .expect("append");
    let pending = Some(json!({"dialog": 1}));
    s.append_turn(
        &a,
        1,
        &turn(2, "y"),
        PendingUpdate::Replace(pending.as_ref()),
        WriteWait::NoStall,
    )
    .expect("append with pending");
    assert!(matches!(
        s.append_turn(
            &a,
            1,
            &turn(2, "z"),
            PendingUpdate::Keep,
            WriteWait::NoStall
        ),
        Err(StoreError::DuplicateTurn { turn_id: 2, .. })
    ));
    assert!(matches!(
        s.append_turn(
            &a,
            9,
            &turn(1, "z"),
            PendingUpdate::Keep,
            WriteWait::NoStall
        ),
        Err(StoreError::UnknownConversation(9))
    ));
    let turns = s.turns(&a, 1).expect("turns");
    let commands: Vec<_> = turns.iter().map(command_of).collect();
    assert_eq!(commands, vec![Some("x"), Some("y")]);
    assert_eq!(
        s.load_channel(&a).expect("load").pending,
        Some(json!({"dialog": 1}))
    );
}

pub(crate) fn conversation_ids_are_per_channel_and_channels_never_mix<S: ConversationStore>(s: &S) {
    // "a" is a byte prefix of "ab": the \0 separator keeps them apart.
    let (a, ab) = (channel("a"), channel("ab"));
    for c in [&a, &ab] {
        s.load_channel(c).expect("load");
    }
    append(s, &a, 1, turn(1, "from_a")).expect("append");
    append(s, &ab, 1, turn(1, "from_ab")).expect("append");
    append(s, &ab, 1, turn(2, "from_ab")).expect("append");
    let (closed, state) = s.close_and_start_new(&a, "A", "a's").expect("close");
    assert_eq!((closed, state.active_conversation), (1, 2));
    // ab's ids are its own: its active conversation is still 1, and it has no 2.
    assert_eq!(s.load_channel(&ab).expect("load").active_conversation, 1);
    assert_eq!(s.conversation(&ab, 2).expect("conv"), None);
    assert!(s.activate(&ab, 2).is_err());
    s.close_and_start_new(&ab, "AB", "ab's").expect("close");

    let a_turns = s.turns(&a, 1).expect("turns");
    let ab_turns = s.turns(&ab, 1).expect("turns");
    assert_eq!(turn_ids(&a_turns), [1]);
    assert_eq!(turn_ids(&ab_turns), [1, 2]);
    assert!(a_turns.iter().all(|t| command_of(t) == Some("from_a")));
    assert!(ab_turns.iter().all(|t| command_of(t) == Some("from_ab")));
    assert_eq!(s.next_turn_id(&a, 1).expect("next"), 2);
    assert_eq!(s.next_turn_id(&ab, 1).expect("next"), 3);
    let a_list = s.list(&a, 100).expect("list");
    let ab_list = s.list(&ab, 100).expect("list");
    assert_eq!((ids(&a_list), a_list[0].topic.as_str()), (vec![1], "A"));
    assert_eq!((ids(&ab_list), ab_list[0].topic.as_str()), (vec![1], "AB"));
    assert!(s.list(&channel("nobody"), 10).expect("list").is_empty());
    assert_eq!(
        s.conversation(&channel("nobody"), 1).expect("conversation"),
        None,
        "list creates nothing"
    );
}

pub(crate) fn feedback_on_the_last_turn_on_a_turn_id_and_on_an_unknown_turn<
    S: ConversationStore,
>(
    s: &S,
) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    for id in 1..=3 {
        append(s, &a, 1, turn(id, "x")).expect("append");
    }
    let last = s.last_turn(&a, 1).expect("last").expect("a turn").turn_id;
    s.set_feedback(&a, 1, last, feedback(1.0))
        .expect("feedback");
    s.set_feedback(&a, 1, 1, feedback(0.0)).expect("feedback");
    // A second feedback replaces the first.
    s.set_feedback(&a, 1, 1, feedback(0.5)).expect("feedback");
    let turns = s.turns(&a, 1).expect("turns");
    let scores: Vec<Option<f64>> = turns
        .iter()
        .map(|t| t.feedback.as_ref().and_then(|f| f.binary_or_numeric_score))
        .collect();
    assert_eq!(scores, [Some(0.5), None, Some(1.0)]);
    assert!(matches!(
        s.set_feedback(&a, 1, 7, feedback(1.0)),
        Err(StoreError::UnknownTurn(7))
    ));
    assert!(matches!(
        s.set_feedback(&channel("b"), 1, 1, feedback(1.0)),
        Err(StoreError::UnknownTurn(1))
    ));
    assert_eq!(s.turns(&a, 1).expect("turns"), turns, "nothing changed");
}

pub(crate) fn activating_an_unknown_conversation_changes_nothing<S: ConversationStore>(s: &S) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    append(s, &a, 1, turn(1, "x")).expect("append");
    s.close_and_start_new(&a, "T", "S").expect("close");
    s.set_pending(&a, Some(json!(1))).expect("pending");
    let before = s.load_channel(&a).expect("load");
    for unknown in [0, 3, 99, u64::MAX] {
        assert!(matches!(
            s.activate(&a, unknown),
            Err(StoreError::UnknownConversation(id)) if id == unknown
        ));
    }
    assert_eq!(s.load_channel(&a).expect("load"), before);
    // Unknown for a channel that was never used: it is not created either.
    assert!(s.activate(&channel("fresh"), 1).is_err());
    assert_eq!(
        s.conversation(&channel("fresh"), 1).expect("conversation"),
        None
    );

    // Re-activating the active one keeps the pending clarification; switching drops it.
    assert_eq!(s.activate(&a, 2).expect("activate"), before);
    let state = s.activate(&a, 1).expect("activate");
    assert_eq!((state.active_conversation, state.pending), (1, None));
    assert_eq!(state.next_conversation_id, 3);
    append(s, &a, 1, turn(2, "x")).expect("append to a reactivated one");
}

pub(crate) fn list_is_newest_first_bounded_and_skips_only_a_blank_active_conversation<
    S: ConversationStore,
>(
    s: &S,
) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    assert!(s.list(&a, 20).expect("list").is_empty(), "blank active one");
    for conversation in 1..=5 {
        append(s, &a, conversation, turn(1, "x")).expect("append");
        s.close_and_start_new(&a, &format!("T{conversation}"), "S")
            .expect("close");
    }
    // 6 is active and blank: not listed.
    assert_eq!(ids(&s.list(&a, 20).expect("list")), [5, 4, 3, 2, 1]);
    assert_eq!(ids(&s.list(&a, 2).expect("list")), [5, 4]);
    assert_eq!(ids(&s.list(&a, 0).expect("list")), [5], "clamped up to 1");
    append(s, &a, 6, turn(1, "x")).expect("append");
    assert_eq!(ids(&s.list(&a, 2).expect("list")), [6, 5]);
    // Switching away from a blank conversation leaves it listed (it can be re-activated).
    s.close_and_start_new(&a, "T6", "S").expect("close");
    s.activate(&a, 1).expect("activate");
    assert_eq!(ids(&s.list(&a, 3).expect("list")), [7, 6, 5]);

    let many = channel("many");
    s.load_channel(&many).expect("load");
    for conversation in 1..=120 {
        append(s, &many, conversation, turn(1, "x")).expect("append");
        s.close_and_start_new(&many, "T", "S").expect("close");
    }
    let list = s.list(&many, usize::MAX).expect("list");
    assert_eq!(list.len(), 100, "clamped down to 100");
    assert_eq!(
        (list[0].conversation_id, list[99].conversation_id),
        (120, 21)
    );
}

pub(crate) fn close_and_start_new_saves_the_topic_and_opens_the_next<S: ConversationStore>(s: &S) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    append(s, &a, 1, turn(1, "close_ticket")).expect("append");
    s.set_pending(&a, Some(json!({"q": 1}))).expect("pending");
    let (closed, state) = s
        .close_and_start_new(&a, "Topic", "Summary")
        .expect("close");
    assert_eq!(closed, 1);
    assert_eq!(
        state,
        ChannelState {
            active_conversation: 2,
            next_conversation_id: 3,
            pending: None,
            stream_format: None,
        }
    );
    assert_eq!(s.load_channel(&a).expect("load"), state);
    let old = s.conversation(&a, 1).expect("conv").expect("exists");
    assert_eq!(
        (old.topic.as_str(), old.summary.as_str()),
        ("Topic", "Summary")
    );
    assert!(old.updated_at >= old.created_at);
    let new = s.conversation(&a, 2).expect("conv").expect("exists");
    assert_eq!((new.topic.as_str(), new.summary.as_str()), ("", ""));
    assert_eq!(s.next_turn_id(&a, 2).expect("next"), 1);
    assert!(s.turns(&a, 2).expect("turns").is_empty());
}

pub(crate) fn concurrent_appends_and_close_lose_nothing<S: ConversationStore>(s: &S) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    std::thread::scope(|scope| {
        for thread in 0..8u64 {
            let a = &a;
            scope.spawn(move || {
                for i in 0..50 {
                    append(s, a, 1, turn(1 + thread * 50 + i, "x")).expect("append");
                }
            });
        }
        let a = &a;
        scope.spawn(move || s.close_and_start_new(a, "Kept", "S").expect("close"));
    });
    assert_eq!(s.turns(&a, 1).expect("turns").len(), 400);
    let conv = s.conversation(&a, 1).expect("conv").expect("exists");
    assert_eq!(conv.topic, "Kept", "an append never overwrites the topic");
    assert!(conv.updated_at >= 1400);
}

pub(crate) fn concurrent_appends_of_one_turn_id_store_one<S: ConversationStore>(s: &S) {
    let a = channel("a");
    s.load_channel(&a).expect("load");
    let results: Vec<Result<(), StoreError>> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..8)
            .map(|thread| {
                let a = &a;
                scope.spawn(move || append(s, a, 1, turn(7, &format!("writer {thread}"))))
            })
            .collect();
        writers
            .into_iter()
            .map(|w| w.join().expect("writer"))
            .collect()
    });
    let stored: Vec<usize> = (0..8).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(
        stored.len(),
        1,
        "exactly one writer stores turn 7: {results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, StoreError::DuplicateTurn { turn_id: 7, .. })),
        "{results:?}"
    );
    let turns = s.turns(&a, 1).expect("turns");
    assert_eq!(turns.len(), 1);
    assert_eq!(
        command_of(&turns[0]),
        Some(format!("writer {}", stored[0]).as_str()),
        "the stored turn is the winner's, never overwritten"
    );
}

fn record(jti: &str, created_at: u64) -> TokenRecord {
    TokenRecord {
        jti: jti.into(),
        name: Some(format!("token {jti}")),
        channel_id: "alice".into(),
        user_id: None,
        created_at,
        expires_at: created_at + 1_000,
        last_used_at: None,
        revoked: None,
    }
}

pub(crate) fn token_records_revocations_and_spent_refreshes<S: ConversationStore + TokenStore>(
    s: &S,
) {
    s.add_token(&record("a", 1)).expect("add");
    s.add_token(&record("b", 2)).expect("add");
    assert!(matches!(
        s.add_token(&record("a", 3)),
        Err(StoreError::DuplicateToken(jti)) if jti == "a"
    ));
    let jtis: Vec<String> = s
        .tokens()
        .expect("list")
        .into_iter()
        .map(|r| r.jti)
        .collect();
    assert_eq!(jtis, ["b", "a"], "newest first");

    s.touch_tokens(&[("a".into(), 50), ("nobody".into(), 9)])
        .expect("touch");
    s.touch_tokens(&[("a".into(), 40)]).expect("touch");
    let revocation = |at| Revocation {
        at,
        reason: Some("lost".into()),
    };
    let revoked = s.revoke_token("a", revocation(60)).expect("revoke");
    assert_eq!(revoked.last_used_at, Some(50), "never moves backwards");
    assert_eq!(revoked.revoked, Some(revocation(60)));
    let again = s.revoke_token("a", revocation(70)).expect("revoke again");
    assert_eq!(
        again.revoked,
        Some(revocation(60)),
        "the first revocation stays"
    );
    assert!(matches!(
        s.revoke_token("nobody", revocation(1)),
        Err(StoreError::UnknownToken(_))
    ));

    assert!(s.spend_refresh("r1", 100).expect("spend"));
    assert!(
        !s.spend_refresh("r1", 100).expect("replay"),
        "a second use is a replay"
    );
    assert!(s.spend_refresh("r2", 100).expect("spend"));
    s.revoke_family("fam", 5).expect("revoke family");
    s.revoke_family("fam", 6).expect("revoke family again");
    assert_eq!(s.revoked_families().expect("families"), ["fam"]);
}

pub(crate) fn existence_stream_format_and_export<S: ConversationStore>(s: &S) {
    let (a, b) = (channel("a"), channel("b"));
    assert!(!s.channel_exists(&a).expect("exists"));
    s.load_channel(&a).expect("load");
    assert!(s.channel_exists(&a).expect("exists"));
    assert!(
        !s.channel_exists(&b).expect("exists"),
        "asking creates nothing"
    );
    let state = s.set_stream_format(&a, Some("sse")).expect("format");
    assert_eq!(state.stream_format.as_deref(), Some("sse"));
    append(s, &a, 1, turn(1, "x")).expect("append");
    let (_, state) = s.close_and_start_new(&a, "T", "S").expect("close");
    assert_eq!(
        state.stream_format.as_deref(),
        Some("sse"),
        "the channel's choice outlives a conversation"
    );
    s.load_channel(&b).expect("load");
    append(s, &b, 1, turn(1, "y")).expect("append");
    let mut out = Vec::new();
    assert_eq!(s.export(None, &mut out).expect("export"), 2);
    let lines: Vec<Value> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let who: Vec<(&str, u64)> = lines
        .iter()
        .map(|l| {
            (
                l["channel_id"].as_str().unwrap_or(""),
                l["conversation_id"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        who,
        [("a", 1), ("b", 1)],
        "a's blank active conversation 2 is left out"
    );
    assert_eq!(lines[0]["topic"], "T");
    assert_eq!(lines[1]["turns"][0]["turn_id"], 1);
    let mut only_b = Vec::new();
    assert_eq!(s.export(Some(&b), &mut only_b).expect("export"), 1);
}

/// For a durable store: reopening `dir` finds everything, and the active conversation resumes.
pub(crate) fn survives_reopening<S: ConversationStore + TokenStore>(
    dir: &Path,
    store: impl Fn(&Path) -> S,
) {
    let a = channel("a");
    {
        let s = store(dir);
        s.load_channel(&a).expect("load");
        append(&s, &a, 1, turn(1, "x")).expect("append");
        s.close_and_start_new(&a, "T", "S").expect("close");
        append(&s, &a, 2, turn(1, "y")).expect("append");
        append(&s, &a, 2, turn(2, "y")).expect("append");
        s.set_feedback(&a, 2, 2, feedback(1.0)).expect("feedback");
        s.set_pending(&a, Some(json!({"asking": "ticket_id"})))
            .expect("pending");
        s.add_token(&record("t1", 1)).expect("token");
        s.revoke_token(
            "t1",
            Revocation {
                at: 2,
                reason: None,
            },
        )
        .expect("revoke");
        assert!(s.spend_refresh("r1", u64::MAX).expect("spend"));
        s.revoke_family("fam", 3).expect("family");
    }
    let s = store(dir);
    let state = s.load_channel(&a).expect("load");
    assert_eq!(state.active_conversation, 2);
    assert_eq!(state.next_conversation_id, 3);
    assert_eq!(state.pending, Some(json!({"asking": "ticket_id"})));
    assert_eq!(s.next_turn_id(&a, 2).expect("next"), 3);
    assert_eq!(turn_ids(&s.turns(&a, 1).expect("turns")), [1]);
    let last = s.last_turn(&a, 2).expect("last").expect("a turn");
    assert_eq!(last.feedback, Some(feedback(1.0)));
    assert_eq!(ids(&s.list(&a, 20).expect("list")), [2, 1]);
    assert_eq!(
        s.conversation(&a, 1).expect("conv").map(|c| c.topic),
        Some("T".into())
    );
    let tokens = s.tokens().expect("tokens");
    assert_eq!(tokens.len(), 1);
    assert!(tokens[0].revoked.is_some(), "the revocation survives");
    assert!(
        !s.spend_refresh("r1", u64::MAX).expect("replay"),
        "so does a spent refresh"
    );
    assert_eq!(s.revoked_families().expect("families"), ["fam"]);
}
