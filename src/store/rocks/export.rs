//! Conversations as JSON Lines: one object per conversation, with its turns and feedback.
//!
//! Two entry points:
//! - [`export_jsonl`] (the `flowmcp export` command) reads a data dir from another process. It
//!   opens the database as a RocksDB *secondary* instance, which takes no lock, so it works
//!   beside a running server (and without one), and never writes under the data dir.
//! - [`export_db`] reads an open [`Db`] (the server's own, for `GET /admin/export`).
//!
//! Both read through one snapshot, so the output is one consistent point in time: a
//! conversation closed during the export is seen either before or after, never half.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use super::channels::state_in;
use super::conversations::{has_turns, turns_in};
use super::db::Order;
use super::{CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS, Db, DbError, decode, keys};
use crate::domain::{ChannelId, ConversationSummary};
use crate::store::{ChannelState, StoreError};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The data dir is missing, or is not one flowmcp wrote.
    #[error("{path} is not a flowmcp data dir: {reason}")]
    NotADataDir { path: PathBuf, reason: String },
    #[error("reading the conversations: {0}")]
    Store(#[from] StoreError),
    #[error("writing the export: {0}")]
    Write(#[from] std::io::Error),
}

impl From<DbError> for ExportError {
    fn from(e: DbError) -> Self {
        Self::Store(e.into())
    }
}

/// Write every conversation of the data dir at `data_dir` (its RocksDB is `<data-dir>/db`),
/// or only those of `channel`, as one JSON line each; returns how many lines.
///
/// Order: by channel id, then conversation id. A channel's active conversation is left out
/// while it has no turn (as in `get_all_conversations`). Feedback rides on its turn.
pub fn export_jsonl(
    data_dir: &Path,
    channel: Option<&ChannelId>,
    out: &mut dyn Write,
) -> Result<usize, ExportError> {
    let not_ours = |reason: String| ExportError::NotADataDir {
        path: data_dir.to_path_buf(),
        reason,
    };
    if !data_dir.is_dir() {
        return Err(not_ours("no such directory".into()));
    }
    let db_dir = data_dir.join("db");
    // Checked before RocksDB sees the path: a secondary open of a non-database would fail
    // with a less helpful message.
    if !db_dir.join("CURRENT").is_file() {
        return Err(not_ours(format!("no database at {}", db_dir.display())));
    }
    let db = Db::open_secondary(&db_dir).map_err(|e| not_ours(e.to_string()))?;
    for family in [CF_CHANNELS, CF_CONVERSATIONS, CF_TURNS] {
        if !db.has_family(family) {
            return Err(not_ours(format!(
                "the database at {} has no `{family}` column family",
                db_dir.display()
            )));
        }
    }
    export_db(&db, channel, out)
}

/// [`export_jsonl`] on an open database (primary or secondary), from one snapshot taken now.
/// Runs synchronously: async callers use the blocking pool and a writer that forwards lines.
pub fn export_db(
    db: &Db,
    channel: Option<&ChannelId>,
    out: &mut dyn Write,
) -> Result<usize, ExportError> {
    let snapshot = db.snapshot();
    let prefix = channel.map(keys::conversations_of).unwrap_or_default();
    // Conversation keys are grouped by channel: the state is read once per channel.
    let mut current: Option<(ChannelId, Option<ChannelState>)> = None;
    let mut count = 0;
    snapshot.for_each_prefix(CF_CONVERSATIONS, &prefix, Order::Forward, |key, value| {
        let (channel, conversation_id) =
            keys::parse_conversation(key).ok_or_else(|| StoreError::Corrupt {
                key: keys::describe(key),
                reason: "not a conversation key".into(),
            })?;
        if current.as_ref().is_none_or(|(c, _)| *c != channel) {
            let state = state_in(&snapshot, &channel)?;
            current = Some((channel.clone(), state));
        }
        let active = current
            .as_ref()
            .and_then(|(_, state)| state.as_ref())
            .map(|s| s.active_conversation);
        if active == Some(conversation_id) && !has_turns(&snapshot, &channel, conversation_id)? {
            return Ok(ControlFlow::Continue(()));
        }
        let summary: ConversationSummary = decode(key, value)?;
        let turns = turns_in(&snapshot, &channel, conversation_id)?;
        crate::store::write_export_line(out, &channel, &summary, &turns)?;
        count += 1;
        Ok::<_, ExportError>(ControlFlow::Continue(()))
    })?;
    out.flush()?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::domain::Feedback;
    use crate::store::ConversationStore;
    use crate::store::contract::{append, channel, turn};
    use crate::store::rocks::{COLUMN_FAMILIES, RocksStore};

    fn lines(bytes: &[u8]) -> Vec<Value> {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect()
    }

    fn export(data_dir: &Path, channel: Option<&ChannelId>) -> Result<Vec<Value>, ExportError> {
        let mut out = Vec::new();
        let count = export_jsonl(data_dir, channel, &mut out)?;
        let lines = lines(&out);
        assert_eq!(lines.len(), count);
        Ok(lines)
    }

    /// A data dir whose server is still running (the primary stays open).
    fn running_server(data_dir: &Path) -> RocksStore {
        let store = RocksStore::new(Db::open(&data_dir.join("db"), COLUMN_FAMILIES).expect("open"));
        let (a, b) = (channel("alice"), channel("bob"));
        store.load_channel(&a).expect("load");
        append(&store, &a, 1, turn(1, "calculate")).expect("append");
        append(&store, &a, 1, turn(2, "go_up")).expect("append");
        store
            .set_feedback(
                &a,
                1,
                2,
                Feedback {
                    binary_or_numeric_score: Some(1.0),
                    nl_feedback: None,
                    timestamp: 7,
                },
            )
            .expect("feedback");
        store
            .close_and_start_new(&a, "Topic", "Summary")
            .expect("close");
        store.load_channel(&b).expect("load"); // blank active conversation: not exported
        store
    }

    #[test]
    fn exports_beside_a_running_primary_and_sees_every_acknowledged_turn() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = running_server(dir.path());
        let all = export(dir.path(), None).expect("export");
        assert_eq!(all.len(), 1, "{all:?}");
        let conv = &all[0];
        assert_eq!(conv["channel_id"], "alice");
        assert_eq!(conv["conversation_id"], 1);
        assert_eq!(conv["topic"], "Topic");
        assert_eq!(conv["summary"], "Summary");
        assert!(conv["created_at"].as_u64().is_some() && conv["updated_at"].as_u64().is_some());
        let turns = conv["turns"].as_array().expect("turns");
        assert_eq!(turns.len(), 2);
        assert_eq!(turns[0]["turn_id"], 1);
        assert_eq!(turns[0].get("feedback"), None);
        assert_eq!(turns[1]["feedback"]["binary_or_numeric_score"], 1.0);

        // Written after the first export, still unflushed (WAL only): the next one sees it.
        append(&store, &channel("bob"), 1, turn(1, "calculate")).expect("append");
        let all = export(dir.path(), None).expect("export");
        let who: Vec<(&str, u64)> = all
            .iter()
            .map(|c| {
                (
                    c["channel_id"].as_str().unwrap_or(""),
                    c["conversation_id"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(who, [("alice", 1), ("bob", 1)]);

        let only_bob = export(dir.path(), Some(&channel("bob"))).expect("export");
        assert_eq!(only_bob.len(), 1);
        assert_eq!(only_bob[0]["channel_id"], "bob");
        assert!(
            export(dir.path(), Some(&channel("bo")))
                .expect("export")
                .is_empty()
        );
        // The primary is untouched and still writable.
        append(&store, &channel("bob"), 1, turn(2, "x")).expect("append");
    }

    #[test]
    fn exports_from_the_servers_own_handle() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = running_server(dir.path());
        let mut out = Vec::new();
        let count = export_db(store.db(), Some(&channel("alice")), &mut out).expect("export");
        assert_eq!(count, 1);
        assert_eq!(lines(&out)[0]["turns"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn a_dir_flowmcp_did_not_write_is_a_clear_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let named = |e: ExportError, path: &Path, needle: &str| {
            let text = e.to_string();
            assert!(matches!(e, ExportError::NotADataDir { .. }), "{text}");
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert!(text.contains(needle), "{text}");
        };

        let missing = dir.path().join("missing");
        named(
            export(&missing, None).expect_err("missing"),
            &missing,
            "no such directory",
        );

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        named(
            export(&empty, None).expect_err("empty"),
            &empty,
            "no database",
        );

        let garbage = dir.path().join("garbage");
        std::fs::create_dir_all(garbage.join("db")).expect("mkdir");
        std::fs::write(garbage.join("db/CURRENT"), "garbage\n").expect("write");
        named(
            export(&garbage, None).expect_err("garbage"),
            &garbage,
            "garbage",
        );

        // A real RocksDB, but not flowmcp's: no conversation column families.
        let foreign = dir.path().join("foreign");
        {
            let mut opts = rocksdb::Options::default();
            opts.create_if_missing(true);
            let db = rocksdb::DB::open(&opts, foreign.join("db")).expect("open");
            db.put(b"k", b"v").expect("put");
        }
        named(
            export(&foreign, None).expect_err("foreign"),
            &foreign,
            "column family",
        );
    }
}
