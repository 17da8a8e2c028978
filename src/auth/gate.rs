//! [`Gate`]: who an HTTP request speaks for — the one place both faces (REST and MCP over
//! HTTP) read credentials. A bearer token in the `Authorization` header, verified by
//! [`Tokens`]; with `--auth none`, the configured caller. Tokens are never read from a query
//! string.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};

use super::{AuthError, Principal, Tokens};
use crate::domain::{Caller, TokenType};

/// How requests are authenticated.
#[derive(Debug, Clone)]
pub enum Gate {
    /// Every request needs a token of ours.
    Tokens(Arc<Tokens>),
    /// No tokens: every request acts as this caller (loopback only, checked at start).
    Open(Caller),
}

impl Gate {
    /// The bearer token of a request, if it sent one.
    pub fn bearer(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(None);
        };
        let value = value
            .to_str()
            .map_err(|_| AuthError::Invalid("the Authorization header is not text".into()))?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::Invalid(
                "send `Authorization: Bearer <token>`".into(),
            ));
        }
        Ok(Some(token.trim()))
    }

    /// The verified principal of a request's token (any type); `Missing` without one.
    pub fn principal(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let Self::Tokens(tokens) = self else {
            return Err(AuthError::Forbidden(
                "token authentication is off (--auth none)".into(),
            ));
        };
        let token = Self::bearer(headers)?.ok_or(AuthError::Missing)?;
        tokens.verify(token)
    }

    /// The caller an access token (or, with `--auth none`, the configuration) acts as. A
    /// refresh token is never a bearer credential; an admin token acts for no channel.
    pub fn caller(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        match self {
            Self::Open(caller) => Ok(caller.clone()),
            Self::Tokens(_) => {
                let principal = self.principal(headers)?;
                match principal.kind {
                    TokenType::Access => {
                        let caller = principal.caller().ok_or_else(|| {
                            AuthError::Invalid("an access token names its channel".into())
                        })?;
                        // Verified above: kept for `http` commands that forward it.
                        let token = Self::bearer(headers)?.unwrap_or_default();
                        Ok(caller.with_bearer(token))
                    }
                    TokenType::Refresh => Err(AuthError::WrongType("refresh")),
                    TokenType::Admin => Err(AuthError::Forbidden(
                        "an admin token acts for no channel: use a channel's access token".into(),
                    )),
                }
            }
        }
    }

    /// An admin's principal, or why not: 401 without a valid token, 403 for a token that is
    /// valid but not an admin's.
    pub fn admin(&self, headers: &HeaderMap) -> Result<Principal, AuthError> {
        let principal = self.principal(headers)?;
        match principal.kind {
            TokenType::Admin => Ok(principal),
            TokenType::Refresh => Err(AuthError::WrongType("refresh")),
            TokenType::Access => Err(AuthError::Forbidden(
                "this needs an admin token (`flowmcp token admin`)".into(),
            )),
        }
    }

    /// The tokens, when authentication is on.
    pub fn tokens(&self) -> Option<&Arc<Tokens>> {
        match self {
            Self::Tokens(tokens) => Some(tokens),
            Self::Open(_) => None,
        }
    }
}

/// The `WWW-Authenticate` value of a 401: RFC 6750's `invalid_token`, and where the protected
/// resource's metadata is (RFC 9728), so a client knows what the server expects.
pub fn challenge(public_base: &str) -> HeaderValue {
    let value = format!(
        "Bearer error=\"invalid_token\", \
         resource_metadata=\"{public_base}/.well-known/oauth-protected-resource/mcp\""
    );
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
}
