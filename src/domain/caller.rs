//! `Caller`: on whose behalf a request runs. Today the configured channel (stdio,
//! `--auth none`); with tokens, the verified principal of the request.

use super::channel::ChannelId;

/// Longest user id accepted.
pub const MAX_USER_ID_LEN: usize = 128;

/// Who runs a command: the channel its turns belong to, the user (recorded in traces), and
/// the bearer token the request came with (forwarded by `http` commands that ask for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub channel_id: ChannelId,
    pub user_id: Option<String>,
    pub bearer: Option<Bearer>,
}

impl Caller {
    pub fn new(channel_id: ChannelId, user_id: Option<String>) -> Self {
        Self {
            channel_id,
            user_id,
            bearer: None,
        }
    }

    /// The same caller, carrying the token its request came with.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.bearer = Some(Bearer(token.to_string()));
        self
    }
}

/// A bearer token in memory: never printed (its `Debug` says only that it is there), never
/// stored, only forwarded.
#[derive(Clone, PartialEq, Eq)]
pub struct Bearer(String);

impl Bearer {
    /// The token, for the one place that sends it on.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer(…)")
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
    fn a_bearer_token_is_never_printed() {
        let caller = Caller::new(ChannelId::parse("c").expect("id"), None).with_bearer("s3cr3t");
        assert!(!format!("{caller:?}").contains("s3cr3t"));
        assert_eq!(caller.bearer.as_ref().map(Bearer::expose), Some("s3cr3t"));
    }

    #[test]
    fn user_ids_are_bounded_and_printable() {
        assert_eq!(parse_user_id("noah").as_deref(), Ok("noah"));
        assert_eq!(parse_user_id(""), Err(UserIdError));
        assert_eq!(parse_user_id("a\nb"), Err(UserIdError));
        assert!(parse_user_id(&"é".repeat(128)).is_ok());
        assert_eq!(parse_user_id(&"x".repeat(129)), Err(UserIdError));
    }
}
