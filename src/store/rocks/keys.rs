//! The key codec of the conversation store. Only these functions know the layout
//! (column family → key → JSON value):
//!
//! ```text
//! channels       channel                                      → ChannelState
//! conversations  channel \0 conversation_id:be64              → ConversationSummary
//! turns          channel \0 conversation_id:be64 turn_id:be64 → Turn (traces, feedback)
//! ```
//!
//! Keys are built only from a validated [`ChannelId`] and integers; ids are fixed-width
//! big-endian so key order is numeric order, and a channel id never contains `\0`, so the
//! `channel \0` prefix of one channel is never a prefix of another's keys (`a` vs `ab`).

use crate::domain::ChannelId;

/// Width of an encoded id.
const ID_LEN: usize = 8;

pub(crate) fn channel(channel: &ChannelId) -> Vec<u8> {
    channel.as_str().as_bytes().to_vec()
}

/// The prefix of all of a channel's conversation keys.
pub(crate) fn conversations_of(channel: &ChannelId) -> Vec<u8> {
    let mut key = self::channel(channel);
    key.push(0);
    key
}

/// A conversation's key; also the prefix of all its turn keys.
pub(crate) fn conversation(channel: &ChannelId, conversation_id: u64) -> Vec<u8> {
    let mut key = conversations_of(channel);
    key.extend_from_slice(&conversation_id.to_be_bytes());
    key
}

pub(crate) fn turn(channel: &ChannelId, conversation_id: u64, turn_id: u64) -> Vec<u8> {
    turn_in(&conversation(channel, conversation_id), turn_id)
}

/// The key of a turn of the conversation whose key is `conversation_key`.
pub(crate) fn turn_in(conversation_key: &[u8], turn_id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(conversation_key.len() + 8);
    key.extend_from_slice(conversation_key);
    key.extend_from_slice(&turn_id.to_be_bytes());
    key
}

/// `(channel, conversation_id)` of a conversation key; `None` if it is not one.
pub(crate) fn parse_conversation(key: &[u8]) -> Option<(ChannelId, u64)> {
    let split = key.iter().position(|&b| b == 0)?;
    let channel = ChannelId::parse(std::str::from_utf8(&key[..split]).ok()?).ok()?;
    let id = u64::from_be_bytes(key[split + 1..].try_into().ok()?);
    Some((channel, id))
}

/// The id `ID_LEN` bytes right after `prefix` in `key`, if `key` is exactly that long.
pub(crate) fn id_after(prefix: &[u8], key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// A key as a person reads it in an error message: `channel/1/7`.
pub(crate) fn describe(key: &[u8]) -> String {
    let Some(split) = key.iter().position(|&b| b == 0) else {
        return String::from_utf8_lossy(key).into_owned();
    };
    let mut out = String::from_utf8_lossy(&key[..split]).into_owned();
    for chunk in key[split + 1..].chunks(ID_LEN) {
        match <[u8; ID_LEN]>::try_from(chunk) {
            Ok(id) => out.push_str(&format!("/{}", u64::from_be_bytes(id))),
            Err(_) => out.push_str(&format!("/{chunk:02x?}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> ChannelId {
        ChannelId::parse(name).expect("channel")
    }

    #[test]
    fn keys_round_trip_and_never_share_a_prefix_across_channels() {
        let key = conversation(&id("a"), 7);
        assert_eq!(parse_conversation(&key), Some((id("a"), 7)));
        assert!(!turn(&id("ab"), 1, 1).starts_with(&conversations_of(&id("a"))));
        assert_eq!(id_after(&key, &turn(&id("a"), 7, 9)), Some(9));
        assert_eq!(id_after(&key, &key), None);
        assert_eq!(describe(&turn(&id("a"), 1, 3)), "a/1/3");
        assert_eq!(describe(b"a\0\x01"), "a/[01]");
        assert_eq!(parse_conversation(b"no-separator"), None);
    }
}
