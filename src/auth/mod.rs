//! Token authentication: RS256 JWTs minted and verified by the server itself.
//!
//! - [`keys`]: the key pair under `<data-dir>/keys/`, and its JWKS;
//! - [`claims`]: what a token says;
//! - [`tokens`]: [`Tokens`] — minting (access/refresh pairs, MCP and admin tokens), verifying
//!   (signature, expiry, issuer, audience, type, revocation), refreshing (single use, a
//!   replay revokes the family), and the record of minted MCP tokens.
//!
//! - [`gate`]: [`Gate`], who an HTTP request speaks for (REST and MCP read it the same way).
//!
//! What a verified token means to the rest of the system is a [`Principal`].

pub mod claims;
pub mod gate;
pub mod keys;
pub mod tokens;

pub use gate::Gate;
pub use keys::{KeyError, KeyPair};
pub use tokens::{Minted, TokenPair, Tokens};

use crate::domain::{Caller, ChannelId, TokenType};

/// How tokens are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// Signature (RS256 only), expiry, issuer, audience, type and revocation.
    Signed,
    /// Everything but the signature: for a trusted network that already checked it.
    Unsigned,
}

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub kind: TokenType,
    /// The channel an access or refresh token acts for; `None` for an admin token.
    pub channel: Option<ChannelId>,
    pub user: Option<String>,
    pub jti: String,
    pub family: Option<String>,
    /// When the token expires, seconds since the Unix epoch.
    pub exp: u64,
}

impl Principal {
    /// The caller an access token acts as (`None` for an admin token: it has no channel).
    pub fn caller(&self) -> Option<Caller> {
        let channel = self.channel.clone()?;
        Some(Caller::new(channel, self.user.clone()))
    }
}

/// Why a token was refused. Every variant is a 401 with `WWW-Authenticate`, except
/// `Forbidden` (a valid token without the right: 403), `UnknownToken` (404) and `Unavailable`
/// (503); the text says why, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token: send `Authorization: Bearer <token>`")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
    #[error("a {0} token cannot be used here")]
    WrongType(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// No recorded token has this id.
    #[error("no token with jti {0}")]
    UnknownToken(String),
    /// The server could not do its part (sign, remember): not the caller's fault.
    #[error("{0}")]
    Unavailable(String),
}

impl AuthError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::Forbidden(_) => 403,
            Self::UnknownToken(_) => 404,
            Self::Unavailable(_) => 503,
            _ => 401,
        }
    }
}
