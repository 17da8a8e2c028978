//! [`TokenStore`] on RocksDB, in the `tokens` family:
//!
//! ```text
//! tokens  t jti      → TokenRecord (JSON)
//!         r jti      → a spent refresh token: its expiry, ms, u64 big-endian
//!         f family   → a revoked family: when, ms, u64 big-endian
//! ```
//!
//! Read-modify-write changes (revoking, spending a refresh token) are serialised by one lock:
//! they are rare next to conversation writes.

use std::ops::ControlFlow;

use super::db::Order;
use super::{CF_TOKENS, RocksStore, decode, encode};
use crate::domain::{Revocation, TokenRecord, now_ms};
use crate::store::{StoreError, TokenStore};

fn key(kind: u8, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 1);
    key.push(kind);
    key.extend_from_slice(id.as_bytes());
    key
}

const RECORD: u8 = b't';
const SPENT: u8 = b'r';
const FAMILY: u8 = b'f';

impl RocksStore {
    fn token_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.token_lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, jti: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.get_json(CF_TOKENS, &key(RECORD, jti))
    }
}

impl TokenStore for RocksStore {
    fn add_token(&self, record: &TokenRecord) -> Result<(), StoreError> {
        let _guard = self.token_lock();
        if self.record(&record.jti)?.is_some() {
            return Err(StoreError::DuplicateToken(record.jti.clone()));
        }
        Ok(self
            .db
            .put(CF_TOKENS, &key(RECORD, &record.jti), &encode(record)?)?)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let mut records: Vec<TokenRecord> = Vec::new();
        self.db
            .for_each_prefix(CF_TOKENS, &[RECORD], Order::Forward, |k, v| {
                records.push(decode(k, v)?);
                Ok::<_, StoreError>(ControlFlow::Continue(()))
            })?;
        records.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.jti.cmp(&b.jti)));
        Ok(records)
    }

    fn revoke_token(&self, jti: &str, revocation: Revocation) -> Result<TokenRecord, StoreError> {
        let _guard = self.token_lock();
        let mut record = self
            .record(jti)?
            .ok_or_else(|| StoreError::UnknownToken(jti.to_string()))?;
        if record.revoked.is_none() {
            record.revoked = Some(revocation);
            self.db
                .put(CF_TOKENS, &key(RECORD, jti), &encode(&record)?)?;
        }
        Ok(record)
    }

    fn touch_tokens(&self, used: &[(String, u64)]) -> Result<(), StoreError> {
        let _guard = self.token_lock();
        let mut updated = Vec::new();
        for (jti, at) in used {
            if let Some(mut record) = self.record(jti)?
                && record.last_used_at.is_none_or(|last| last < *at)
            {
                record.last_used_at = Some(*at);
                updated.push((key(RECORD, jti), encode(&record)?));
            }
        }
        self.db.write(|batch| {
            for (k, v) in &updated {
                batch.put(CF_TOKENS, k, v);
            }
        })?;
        Ok(())
    }

    fn spend_refresh(&self, jti: &str, expires_at: u64) -> Result<bool, StoreError> {
        let _guard = self.token_lock();
        let spent = key(SPENT, jti);
        if self.db.get(CF_TOKENS, &spent)?.is_some() {
            return Ok(false);
        }
        self.db.put(CF_TOKENS, &spent, &expires_at.to_be_bytes())?;
        Ok(true)
    }

    fn revoke_family(&self, family: &str, at: u64) -> Result<(), StoreError> {
        Ok(self
            .db
            .put(CF_TOKENS, &key(FAMILY, family), &at.to_be_bytes())?)
    }

    fn revoked_families(&self) -> Result<Vec<String>, StoreError> {
        let mut families = Vec::new();
        self.db
            .for_each_prefix(CF_TOKENS, &[FAMILY], Order::Forward, |k, _| {
                families.push(String::from_utf8_lossy(&k[1..]).into_owned());
                Ok::<_, StoreError>(ControlFlow::Continue(()))
            })?;
        Ok(families)
    }
}

impl RocksStore {
    /// Forget spent refresh tokens that have expired anyway (a replay of one is refused as
    /// expired). Returns how many were dropped.
    pub fn prune_spent_refresh(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let mut expired = Vec::new();
        self.db
            .for_each_prefix(CF_TOKENS, &[SPENT], Order::Forward, |k, v| {
                let exp = <[u8; 8]>::try_from(v).map_or(0, u64::from_be_bytes);
                if exp < now {
                    expired.push(k.to_vec());
                }
                Ok::<_, StoreError>(ControlFlow::Continue(()))
            })?;
        self.db.write(|batch| {
            for k in &expired {
                batch.delete(CF_TOKENS, k);
            }
        })?;
        Ok(expired.len())
    }
}
