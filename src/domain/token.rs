//! Tokens as the rest of the system sees them: the kinds of bearer token, and the record of a
//! long-lived MCP token an admin minted (never the token itself: only its id and metadata).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a token lets its bearer do (the `type` claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    /// Acts for one channel (`sub`): the REST API and MCP.
    Access,
    /// Only buys a new token pair at `/refresh_token`, once.
    Refresh,
    /// Mints, lists and revokes tokens, exports conversations.
    Admin,
}

impl TokenType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
            Self::Admin => "admin",
        }
    }
}

/// Why and when a token was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Revocation {
    /// ms since the Unix epoch.
    pub at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A long-lived MCP token as an admin lists it. Times are ms since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenRecord {
    pub jti: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub channel_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    /// Updated at most once a minute, not on every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}
