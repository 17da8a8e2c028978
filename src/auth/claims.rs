//! The claims of a flowmcp JWT (DESIGN §1): `sub` (the channel, or `admin`), `uid`, `type`,
//! `jti`, `iat`, `exp`, `iss`, `aud`, and `fam`, the family of tokens one `/initialize` began.

use serde::{Deserialize, Serialize};

use crate::domain::TokenType;

/// The issuer every token names and every check requires.
pub const ISSUER: &str = "flowmcp";
/// The audience every token names and every check requires.
pub const AUDIENCE: &str = "flowmcp-client";
/// The `sub` of an admin token.
pub const ADMIN_SUBJECT: &str = "admin";

/// What a token says. Every field but `uid` and `fam` is required: a token without one is
/// refused before anything else is looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(rename = "type")]
    pub kind: TokenType,
    pub jti: String,
    /// Seconds since the Unix epoch.
    pub iat: u64,
    /// Seconds since the Unix epoch.
    pub exp: u64,
    pub iss: String,
    pub aud: String,
    /// Tokens of one `/initialize` and its refreshes share a family: a refresh token used
    /// twice revokes all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
}
