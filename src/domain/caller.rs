//! `Caller`: on whose behalf a request runs. Today the configured channel (stdio,
//! `--auth none`); with tokens, the verified principal of the request.

use super::channel::ChannelId;

/// Longest user id accepted.
pub const MAX_USER_ID_LEN: usize = 128;

/// Who runs a command: the channel its turns belong to, and the user (recorded in traces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub channel_id: ChannelId,
    pub user_id: Option<String>,
}

impl Caller {
    pub fn new(channel_id: ChannelId, user_id: Option<String>) -> Self {
        Self {
            channel_id,
            user_id,
        }
    }
}

/// A user id that cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("user id must be 1 to {MAX_USER_ID_LEN} printable characters")]
pub struct UserIdError;

/// Check a user id: 1 to 128 characters, none of them a control character.
pub fn parse_user_id(raw: &str) -> Result<String, UserIdError> {
    if raw.is_empty() || raw.chars().count() > MAX_USER_ID_LEN || raw.chars().any(char::is_control)
    {
        return Err(UserIdError);
    }
    Ok(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert_eq!(parse_user_id("noah").as_deref(), Ok("noah"));
        assert_eq!(parse_user_id(""), Err(UserIdError));
        assert_eq!(parse_user_id("a\nb"), Err(UserIdError));
        assert!(parse_user_id(&"é".repeat(128)).is_ok());
        assert_eq!(parse_user_id(&"x".repeat(129)), Err(UserIdError));
    }
}
