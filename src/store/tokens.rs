//! [`TokenStore`]: what token authentication keeps between restarts — the records of minted
//! MCP tokens (never the tokens), revocations, and which refresh tokens were already spent.

use super::StoreError;
use crate::domain::{Revocation, TokenRecord};

/// The durable side of token authentication.
///
/// Durability and atomicity are those of [`super::ConversationStore`]: a call that returns
/// `Ok` survives the process dying; one that returns `Err` wrote nothing. Methods block and
/// may be called from many threads.
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// Keep the record of a newly minted token (a `jti` already recorded is refused with
    /// `DuplicateToken`).
    fn add_token(&self, record: &TokenRecord) -> Result<(), StoreError>;

    /// Every recorded token, newest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Mark a recorded token revoked (`UnknownToken` if there is no such record). Revoking a
    /// revoked token keeps the first revocation and returns the record as it is.
    fn revoke_token(&self, jti: &str, revocation: Revocation) -> Result<TokenRecord, StoreError>;

    /// Remember when recorded tokens were last used (`(jti, ms)` pairs; unknown ones are
    /// skipped). Callers batch these: it is not one write per request.
    fn touch_tokens(&self, used: &[(String, u64)]) -> Result<(), StoreError>;

    /// Spend a refresh token: `true` the first time `jti` is presented, `false` on any later
    /// presentation (a replay). `expires_at` (ms) says when the marker may be forgotten.
    fn spend_refresh(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError>;

    /// Revoke a whole token family (every token minted from one `/initialize`).
    fn revoke_family(&self, family: &str, at: u64) -> Result<(), StoreError>;

    /// Every revoked family.
    fn revoked_families(&self) -> Result<Vec<String>, StoreError>;
}
