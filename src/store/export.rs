//! `flowmcp export`: every conversation as one JSON line, read from a RocksDB *secondary*
//! instance so it works beside a running server (which holds the primary's lock).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use rocksdb::{DB, Options};
use serde_json::{Value, json};

use super::conversations::{ConversationSummary, Turn};
use super::{CF_CONVERSATIONS, CF_TURNS};
use crate::session::ChannelId;

/// Write `{channel_id, conversation_id, topic, summary, created_at, updated_at, turns}` per
/// line for every conversation (of `channel` only, when given); returns how many.
pub fn export_jsonl(
    data_dir: &Path,
    channel: Option<&ChannelId>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let primary = data_dir.join("db");
    if !primary.join("CURRENT").is_file() {
        bail!(
            "{} is not a flowmcp data dir (no database at {})",
            data_dir.display(),
            primary.display()
        );
    }
    let opts = Options::default();
    let families = DB::list_cf(&opts, &primary)
        .map_err(|e| anyhow::anyhow!("{} is not a flowmcp data dir: {e}", data_dir.display()))?;
    for needed in [CF_CONVERSATIONS, CF_TURNS] {
        if !families.iter().any(|f| f == needed) {
            bail!(
                "{} is not a flowmcp data dir (no {needed} data)",
                data_dir.display()
            );
        }
    }
    // The secondary keeps its own small files; a fresh folder per run, removed afterwards.
    let secondary = std::env::temp_dir().join(format!(
        "flowmcp-export-{}-{}",
        std::process::id(),
        crate::session::now_ms()
    ));
    let result = (|| {
        let db = DB::open_cf_as_secondary(&opts, &primary, &secondary, &families)
            .with_context(|| format!("cannot read {}", primary.display()))?;
        db.try_catch_up_with_primary()
            .with_context(|| format!("cannot catch up with {}", primary.display()))?;
        write_all(&db, channel, out)
    })();
    let _ = std::fs::remove_dir_all(&secondary);
    result
}

fn write_all(db: &DB, channel: Option<&ChannelId>, out: &mut dyn Write) -> anyhow::Result<usize> {
    let conversations = db
        .cf_handle(CF_CONVERSATIONS)
        .context("no conversations family")?;
    let turns_cf = db.cf_handle(CF_TURNS).context("no turns family")?;
    // A secondary changes only when told to catch up, so after the one catch-up above every
    // read below sees the same consistent point of the primary.
    let prefix: Vec<u8> = channel
        .map(|c| {
            let mut p = c.as_str().as_bytes().to_vec();
            p.push(0);
            p
        })
        .unwrap_or_default();
    let mut count = 0;
    let iter = db.iterator_cf_opt(
        conversations,
        rocksdb::ReadOptions::default(),
        rocksdb::IteratorMode::From(&prefix, rocksdb::Direction::Forward),
    );
    for item in iter {
        let (key, value) = item?;
        if !key.starts_with(&prefix) {
            break;
        }
        let Some(split) = key.iter().position(|&b| b == 0) else {
            continue;
        };
        let channel_id = String::from_utf8_lossy(&key[..split]).into_owned();
        let summary: ConversationSummary = serde_json::from_slice(&value)
            .with_context(|| format!("unreadable conversation record of channel {channel_id}"))?;
        let mut turns: Vec<Turn> = Vec::new();
        let turns_iter = db.iterator_cf_opt(
            turns_cf,
            rocksdb::ReadOptions::default(),
            rocksdb::IteratorMode::From(&key, rocksdb::Direction::Forward),
        );
        for item in turns_iter {
            let (turn_key, turn_value) = item?;
            if !turn_key.starts_with(&key) || turn_key.len() != key.len() + 8 {
                break;
            }
            turns.push(serde_json::from_slice(&turn_value).context("unreadable turn record")?);
        }
        if turns.is_empty() && summary.topic.is_empty() {
            continue; // an active conversation nobody has used yet
        }
        let line: Value = json!({
            "channel_id": channel_id,
            "conversation_id": summary.conversation_id,
            "topic": summary.topic,
            "summary": summary.summary,
            "created_at": summary.created_at,
            "updated_at": summary.updated_at,
            "turns": turns,
        });
        writeln!(out, "{line}")?;
        count += 1;
    }
    Ok(count)
}
