//! `ChannelId`: the validated name of a channel, safe to put in a storage key.

use std::fmt;

/// Longest channel id accepted.
pub const MAX_CHANNEL_ID_LEN: usize = 128;

/// A channel id matching `[A-Za-z0-9._:@-]{1,128}` (DESIGN §3). Only `parse` makes one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelIdError {
    #[error("channel id is empty")]
    Empty,
    #[error("channel id is {0} characters long; at most 128 are allowed")]
    TooLong(usize),
    #[error("channel id contains {0:?}; only letters, digits and . _ : @ - are allowed")]
    BadCharacter(char),
}

impl ChannelId {
    pub fn parse(raw: &str) -> Result<Self, ChannelIdError> {
        if raw.is_empty() {
            return Err(ChannelIdError::Empty);
        }
        let len = raw.chars().count();
        if len > MAX_CHANNEL_ID_LEN {
            return Err(ChannelIdError::TooLong(len));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '@' | '-')))
        {
            return Err(ChannelIdError::BadCharacter(bad));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ChannelId {
    type Err = ChannelIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_allowed_charset() {
        for ok in [
            "local",
            "a",
            "user@example.com",
            "team:42.x_y-z",
            &"x".repeat(128),
        ] {
            assert_eq!(
                ChannelId::parse(ok).map(|c| c.to_string()),
                Ok(ok.to_string())
            );
        }
    }

    #[test]
    fn rejects_paths_spaces_and_oversize() {
        assert_eq!(ChannelId::parse(""), Err(ChannelIdError::Empty));
        assert_eq!(
            ChannelId::parse("../etc"),
            Err(ChannelIdError::BadCharacter('/'))
        );
        assert_eq!(
            ChannelId::parse("a b"),
            Err(ChannelIdError::BadCharacter(' '))
        );
        assert_eq!(
            ChannelId::parse("é"),
            Err(ChannelIdError::BadCharacter('é'))
        );
        assert_eq!(
            ChannelId::parse(&"x".repeat(129)),
            Err(ChannelIdError::TooLong(129))
        );
    }
}
