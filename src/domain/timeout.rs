//! `Timeout`: how long a caller waits for a turn, 1 to 600 seconds (DESIGN §6). This is the
//! one place that bound is written: request parsing, the workflow's default and the JSON
//! Schemas clients see all go through it.

use std::borrow::Cow;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

/// Seconds to wait for a command's output, within [`Timeout::MIN`]..=[`Timeout::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Timeout(u64);

/// A timeout outside the accepted range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be between {min} and {max}, not {0}", min = Timeout::MIN, max = Timeout::MAX)]
pub struct TimeoutError(pub u64);

impl Timeout {
    pub const MIN: u64 = 1;
    pub const MAX: u64 = 600;
    /// What a workflow that names no default waits.
    pub const DEFAULT: Self = Self(60);

    pub fn from_secs(seconds: u64) -> Result<Self, TimeoutError> {
        if (Self::MIN..=Self::MAX).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(TimeoutError(seconds))
        }
    }

    pub fn secs(self) -> u64 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} s", self.0)
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = u64::deserialize(deserializer)?;
        Self::from_secs(seconds).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Timeout {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timeout".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "integer",
            "minimum": Self::MIN,
            "maximum": Self::MAX,
            "description": "Give up after this many seconds",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_range_is_accepted() {
        assert_eq!(Timeout::from_secs(1).map(Timeout::secs), Ok(1));
        assert_eq!(Timeout::from_secs(600).map(Timeout::secs), Ok(600));
        assert_eq!(Timeout::from_secs(0), Err(TimeoutError(0)));
        assert_eq!(Timeout::from_secs(601), Err(TimeoutError(601)));
        let refused = serde_json::from_str::<Timeout>("601").expect_err("out of range");
        assert!(
            refused
                .to_string()
                .contains("must be between 1 and 600, not 601"),
            "{refused}"
        );
        assert!(serde_json::from_str::<Timeout>("-1").is_err());
        assert!(serde_json::from_str::<Timeout>("2.5").is_err());
        assert_eq!(
            serde_json::from_str::<Timeout>("30").ok(),
            Timeout::from_secs(30).ok()
        );
    }

    #[test]
    fn the_schema_states_the_bounds() {
        let schema = schemars::schema_for!(Timeout);
        let value = serde_json::to_value(&schema).expect("serializes");
        assert_eq!(value["minimum"], 1);
        assert_eq!(value["maximum"], 600);
        assert_eq!(value["type"], "integer");
    }
}
