//! [`Tokens`]: minting, verifying, refreshing and revoking the server's JWTs.
//!
//! Verification is the hot path of every authenticated request, so it touches no store: the
//! revoked tokens and families live in memory (loaded at start, updated with every
//! revocation), a verified token is remembered until it expires (so its signature is checked
//! once), and the last use of a recorded MCP token is noted in memory and written out in
//! batches ([`Tokens::flush_last_used`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};

use super::claims::{ADMIN_SUBJECT, AUDIENCE, Claims, ISSUER};
use super::{AuthError, KeyPair, Principal, Verification};
use crate::domain::{ChannelId, Revocation, TokenRecord, TokenType, now_ms};
use crate::store::{StoreError, TokenStore};

/// Lifetime of an access token (seconds).
pub const ACCESS_SECONDS: u64 = 3600;
/// Lifetime of a refresh token (seconds).
pub const REFRESH_SECONDS: u64 = 30 * 86_400;
/// Clock skew tolerated on `exp` and `iat` (seconds).
const LEEWAY: u64 = 30;
/// Verified tokens remembered at most; past it the memory starts over.
const CACHE_CAPACITY: usize = 10_000;

/// A token and what it says.
#[derive(Debug, Clone)]
pub struct Minted {
    pub token: String,
    pub claims: Claims,
}

/// What `/initialize` and `/refresh_token` hand out.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: Minted,
    pub refresh: Minted,
}

/// Revocations and recorded tokens, in memory.
#[derive(Debug, Default)]
struct Known {
    revoked: HashSet<String>,
    families: HashSet<String>,
    /// Recorded (MCP) tokens, whose last use is kept.
    recorded: HashSet<String>,
}

/// The server's token authority. Cheap to share (`Arc`).
pub struct Tokens {
    verification: Verification,
    keys: KeyPair,
    validation: Validation,
    store: Arc<dyn TokenStore>,
    known: RwLock<Known>,
    /// Last uses not yet written: jti → ms.
    last_used: Mutex<HashMap<String, u64>>,
    /// Verified tokens: the token text → what it says.
    verified: Mutex<HashMap<String, Principal>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("verification", &self.verification)
            .field("kid", &self.keys.kid())
            .finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// 128 random bits as hex: token and family ids.
fn random_id() -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| AuthError::Unavailable(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn unavailable(e: StoreError) -> AuthError {
    tracing::error!(error = %e, "token store failure");
    AuthError::Unavailable("the token store failed".into())
}

impl Tokens {
    /// The authority over `keys`, with what `store` remembers of earlier runs.
    pub fn open(
        verification: Verification,
        keys: KeyPair,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, StoreError> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY;
        let mut known = Known::default();
        for record in store.tokens()? {
            if record.revoked.is_some() {
                known.revoked.insert(record.jti.clone());
            }
            known.recorded.insert(record.jti);
        }
        known.families = store.revoked_families()?.into_iter().collect();
        Ok(Self {
            verification,
            keys,
            validation,
            store,
            known: RwLock::new(known),
            last_used: Mutex::default(),
            verified: Mutex::default(),
        })
    }

    pub fn keys(&self) -> &KeyPair {
        &self.keys
    }

    pub fn verification(&self) -> Verification {
        self.verification
    }

    fn mint(
        &self,
        kind: TokenType,
        sub: &str,
        uid: Option<&str>,
        seconds: u64,
        fam: Option<&str>,
    ) -> Result<Minted, AuthError> {
        let iat = now_secs();
        let claims = Claims {
            sub: sub.to_string(),
            uid: uid.map(str::to_string),
            kind,
            jti: random_id()?,
            iat,
            exp: iat.saturating_add(seconds),
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            fam: fam.map(str::to_string),
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.keys.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.keys.encoding)
            .map_err(|e| AuthError::Unavailable(format!("cannot sign: {e}")))?;
        Ok(Minted { token, claims })
    }

    /// A new access/refresh pair for `channel`, beginning a family.
    pub fn pair(&self, channel: &ChannelId, user: Option<&str>) -> Result<TokenPair, AuthError> {
        let family = random_id()?;
        self.pair_in(channel.as_str(), user, &family)
    }

    fn pair_in(&self, sub: &str, user: Option<&str>, family: &str) -> Result<TokenPair, AuthError> {
        Ok(TokenPair {
            access: self.mint(TokenType::Access, sub, user, ACCESS_SECONDS, Some(family))?,
            refresh: self.mint(TokenType::Refresh, sub, user, REFRESH_SECONDS, Some(family))?,
        })
    }

    /// Spend `token` (a refresh token) for a new pair of the same family. A refresh token
    /// works once: presented again, it is refused and its whole family is revoked, since
    /// one of the two presenters is not who the token was given to. Blocks (a store write).
    pub fn refresh(&self, token: &str) -> Result<TokenPair, AuthError> {
        let principal = self.verify(token)?;
        if principal.kind != TokenType::Refresh {
            return Err(AuthError::WrongType(principal.kind.as_str()));
        }
        let (Some(channel), Some(family)) = (&principal.channel, &principal.family) else {
            return Err(AuthError::Invalid(
                "a refresh token names its family".into(),
            ));
        };
        let first_use = self
            .store
            .spend_refresh(&principal.jti, principal.exp.saturating_mul(1000))
            .map_err(unavailable)?;
        if !first_use {
            self.store
                .revoke_family(family, now_ms())
                .map_err(unavailable)?;
            self.write_known().families.insert(family.clone());
            tracing::warn!(
                channel = %channel,
                "a refresh token was used twice: its family is revoked"
            );
            return Err(AuthError::Revoked);
        }
        self.pair_in(channel.as_str(), principal.user.as_deref(), family)
    }

    /// A long-lived access token for an MCP client of `channel`, recorded (its id and
    /// metadata, never the token) so an admin can list and revoke it. Blocks (a store write).
    pub fn mint_mcp(
        &self,
        channel: &ChannelId,
        user: Option<&str>,
        name: Option<&str>,
        days: u64,
    ) -> Result<(Minted, TokenRecord), AuthError> {
        let minted = self.mint(
            TokenType::Access,
            channel.as_str(),
            user,
            days.saturating_mul(86_400),
            None,
        )?;
        let record = TokenRecord {
            jti: minted.claims.jti.clone(),
            name: name.map(str::to_string),
            channel_id: channel.to_string(),
            user_id: user.map(str::to_string),
            created_at: minted.claims.iat.saturating_mul(1000),
            expires_at: minted.claims.exp.saturating_mul(1000),
            last_used_at: None,
            revoked: None,
        };
        self.store.add_token(&record).map_err(unavailable)?;
        self.write_known().recorded.insert(record.jti.clone());
        Ok((minted, record))
    }

    /// An admin token: mints, lists and revokes MCP tokens, exports conversations.
    pub fn mint_admin(&self, days: u64) -> Result<Minted, AuthError> {
        self.mint(
            TokenType::Admin,
            ADMIN_SUBJECT,
            None,
            days.saturating_mul(86_400),
            None,
        )
    }

    /// Who `token` speaks for, if it is one of ours and still good. In memory only.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let remembered = self.remembered().get(token).cloned();
        let principal = match remembered {
            Some(principal) if principal.exp.saturating_add(LEEWAY) >= now_secs() => principal,
            Some(_) => return Err(AuthError::Expired),
            None => {
                let principal = self.check(token)?;
                let mut verified = self.remembered();
                if verified.len() >= CACHE_CAPACITY {
                    verified.clear();
                }
                verified.insert(token.to_string(), principal.clone());
                principal
            }
        };
        let known = self.read_known();
        if known.revoked.contains(&principal.jti)
            || principal
                .family
                .as_ref()
                .is_some_and(|f| known.families.contains(f))
        {
            return Err(AuthError::Revoked);
        }
        if known.recorded.contains(&principal.jti) {
            drop(known);
            self.lock_last_used()
                .insert(principal.jti.clone(), now_ms());
        }
        Ok(principal)
    }

    /// The full check of a token not seen before (signature and claims; no cache, no
    /// revocation): what [`Self::verify`] costs on a token's first request.
    pub fn check(&self, token: &str) -> Result<Principal, AuthError> {
        let claims = match self.verification {
            Verification::Signed => {
                jsonwebtoken::decode::<Claims>(token, &self.keys.decoding, &self.validation)
                    .map_err(|e| match e.kind() {
                        ErrorKind::ExpiredSignature => AuthError::Expired,
                        ErrorKind::InvalidSignature => {
                            AuthError::Invalid("the signature does not verify".into())
                        }
                        ErrorKind::InvalidAlgorithm => {
                            AuthError::Invalid("only RS256 tokens are accepted".into())
                        }
                        ErrorKind::InvalidAudience => AuthError::Invalid("wrong audience".into()),
                        ErrorKind::InvalidIssuer => AuthError::Invalid("wrong issuer".into()),
                        ErrorKind::MissingRequiredClaim(claim) => {
                            AuthError::Invalid(format!("missing claim `{claim}`"))
                        }
                        _ => AuthError::Invalid("not a token of this server".into()),
                    })?
                    .claims
            }
            Verification::Unsigned => {
                let claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
                    .map_err(|_| AuthError::Invalid("not a token of this server".into()))?
                    .claims;
                if claims.exp.saturating_add(LEEWAY) < now_secs() {
                    return Err(AuthError::Expired);
                }
                if claims.iss != ISSUER {
                    return Err(AuthError::Invalid("wrong issuer".into()));
                }
                if claims.aud != AUDIENCE {
                    return Err(AuthError::Invalid("wrong audience".into()));
                }
                claims
            }
        };
        if claims.iat > now_secs().saturating_add(LEEWAY) {
            return Err(AuthError::Invalid("issued in the future".into()));
        }
        let channel = match claims.kind {
            TokenType::Admin if claims.sub == ADMIN_SUBJECT => None,
            TokenType::Admin => return Err(AuthError::Invalid("not an admin subject".into())),
            TokenType::Access | TokenType::Refresh => Some(
                ChannelId::parse(&claims.sub)
                    .map_err(|e| AuthError::Invalid(format!("bad subject: {e}")))?,
            ),
        };
        Ok(Principal {
            kind: claims.kind,
            channel,
            user: claims.uid,
            jti: claims.jti,
            family: claims.fam,
            exp: claims.exp,
        })
    }

    /// Revoke a recorded token; it is refused from the next request on. Blocks (a store
    /// write).
    pub fn revoke(&self, jti: &str, reason: Option<&str>) -> Result<TokenRecord, AuthError> {
        let revocation = Revocation {
            at: now_ms(),
            reason: reason.map(str::to_string),
        };
        let record = self
            .store
            .revoke_token(jti, revocation)
            .map_err(|e| match e {
                StoreError::UnknownToken(jti) => AuthError::UnknownToken(jti),
                other => unavailable(other),
            })?;
        self.write_known().revoked.insert(record.jti.clone());
        Ok(record)
    }

    /// Every recorded token, newest first, with last uses not yet written. Blocks (a read).
    pub fn list(&self) -> Result<Vec<TokenRecord>, AuthError> {
        let mut records = self.store.tokens().map_err(unavailable)?;
        let pending = self.lock_last_used();
        for record in &mut records {
            if let Some(&at) = pending.get(&record.jti) {
                record.last_used_at = Some(record.last_used_at.map_or(at, |last| last.max(at)));
            }
        }
        Ok(records)
    }

    /// Write the last uses noted since the previous flush. Blocks (a store write).
    pub fn flush_last_used(&self) -> Result<usize, StoreError> {
        let pending: Vec<(String, u64)> = self.lock_last_used().drain().collect();
        if !pending.is_empty() {
            self.store.touch_tokens(&pending)?;
        }
        Ok(pending.len())
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<String, Principal>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_last_used(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.last_used.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read_known(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        self.known.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_known(&self) -> std::sync::RwLockWriteGuard<'_, Known> {
        self.known.write().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::EncodingKey;
    use serde_json::{Value, json};

    use super::*;
    use crate::store::MemoryStore;

    struct Fixture {
        tokens: Tokens,
        _dir: tempfile::TempDir,
    }

    fn fixture(verification: Verification) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = KeyPair::load_or_create(dir.path()).expect("keys");
        let tokens =
            Tokens::open(verification, keys, Arc::new(MemoryStore::new())).expect("tokens");
        Fixture { tokens, _dir: dir }
    }

    fn alice() -> ChannelId {
        ChannelId::parse("alice").expect("channel")
    }

    /// Claims as a JSON object, valid unless changed.
    fn claims(kind: &str) -> Value {
        let now = now_secs();
        json!({"sub": "alice", "type": kind, "jti": "j1", "iat": now, "exp": now + 600,
               "iss": ISSUER, "aud": AUDIENCE})
    }

    /// `claims` signed with the server's own key, whatever they say.
    fn signed(tokens: &Tokens, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(tokens.keys.kid.clone());
        jsonwebtoken::encode(&header, claims, &tokens.keys.encoding).expect("sign")
    }

    fn refused(tokens: &Tokens, token: &str) -> AuthError {
        tokens.verify(token).expect_err("refused")
    }

    #[test]
    fn minted_tokens_verify_and_say_who_they_act_for() {
        let f = fixture(Verification::Signed);
        let pair = f.tokens.pair(&alice(), Some("ada")).expect("pair");
        let access = f.tokens.verify(&pair.access.token).expect("valid");
        assert_eq!(access.kind, TokenType::Access);
        assert_eq!(access.channel, Some(alice()));
        assert_eq!(access.user.as_deref(), Some("ada"));
        assert_eq!(access.family, pair.refresh.claims.fam);
        assert_eq!(
            pair.access.claims.exp - pair.access.claims.iat,
            ACCESS_SECONDS
        );
        assert_eq!(
            pair.refresh.claims.exp - pair.refresh.claims.iat,
            REFRESH_SECONDS
        );
        let header = jsonwebtoken::decode_header(&pair.access.token).expect("header");
        assert_eq!(header.kid.as_deref(), Some(f.tokens.keys.kid()));
        assert_eq!(header.alg, Algorithm::RS256);
        let admin = f.tokens.mint_admin(30).expect("admin");
        let admin = f.tokens.verify(&admin.token).expect("valid");
        assert_eq!((admin.kind, admin.channel), (TokenType::Admin, None));
    }

    #[test]
    fn forged_tokens_are_all_refused() {
        let f = fixture(Verification::Signed);
        let t = &f.tokens;
        let valid = signed(t, &claims("access"));
        assert!(t.verify(&valid).is_ok(), "the control token is valid");

        // alg: none, no signature.
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims("access").to_string());
        let unsigned = format!("{none_header}.{body}.");
        assert!(matches!(refused(t, &unsigned), AuthError::Invalid(_)));

        // HS256, keyed with the public key (the classic confusion attack).
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims("access"),
            &EncodingKey::from_secret(t.keys.public_pem.as_bytes()).expect("hmac key"),
        )
        .expect("sign");
        assert_eq!(
            refused(t, &hs),
            AuthError::Invalid("only RS256 tokens are accepted".into())
        );

        // A payload changed after signing.
        let mut parts: Vec<String> = valid.split('.').map(str::to_string).collect();
        let mut tampered = claims("access");
        tampered["sub"] = json!("bob");
        parts[1] = URL_SAFE_NO_PAD.encode(tampered.to_string());
        assert_eq!(
            refused(t, &parts.join(".")),
            AuthError::Invalid("the signature does not verify".into())
        );

        // Expired, and issued in the future.
        let mut expired = claims("access");
        expired["exp"] = json!(now_secs() - 3600);
        assert_eq!(refused(t, &signed(t, &expired)), AuthError::Expired);
        let mut future = claims("access");
        future["iat"] = json!(now_secs() + 3600);
        assert!(matches!(
            refused(t, &signed(t, &future)),
            AuthError::Invalid(_)
        ));

        // Missing or wrong audience and issuer; a missing jti, iat or type.
        for (field, value) in [
            ("aud", None),
            ("aud", Some("someone-else")),
            ("iss", None),
            ("iss", Some("another-issuer")),
            ("jti", None),
            ("iat", None),
            ("type", None),
            ("type", Some("superuser")),
            ("sub", None),
        ] {
            let mut c = claims("access");
            match value {
                None => {
                    c.as_object_mut().map(|o| o.remove(field));
                }
                Some(v) => c[field] = json!(v),
            }
            let err = refused(t, &signed(t, &c));
            assert!(
                matches!(err, AuthError::Invalid(_)),
                "{field}={value:?}: {err:?}"
            );
        }

        // A channel id that is not one, and an admin token for a channel.
        let mut bad_sub = claims("access");
        bad_sub["sub"] = json!("../etc");
        assert!(matches!(
            refused(t, &signed(t, &bad_sub)),
            AuthError::Invalid(_)
        ));
        assert!(matches!(
            refused(t, &signed(t, &claims("admin"))),
            AuthError::Invalid(_)
        ));

        // Signed by another key pair.
        let other = fixture(Verification::Signed);
        let foreign = signed(&other.tokens, &claims("access"));
        assert_eq!(
            refused(t, &foreign),
            AuthError::Invalid("the signature does not verify".into())
        );
        assert!(matches!(refused(t, "not.a.token"), AuthError::Invalid(_)));
        assert!(matches!(refused(t, ""), AuthError::Invalid(_)));
    }

    #[test]
    fn a_refresh_token_works_once_and_a_replay_revokes_the_family() {
        let f = fixture(Verification::Signed);
        let t = &f.tokens;
        let first = t.pair(&alice(), None).expect("pair");
        let second = t.refresh(&first.refresh.token).expect("first use");
        assert_eq!(second.access.claims.fam, first.access.claims.fam);
        assert!(t.verify(&second.access.token).is_ok());
        // An access token is no refresh token.
        assert_eq!(
            t.refresh(&second.access.token).map(|_| ()),
            Err(AuthError::WrongType("access"))
        );
        // The replay: refused, and every token of the family with it.
        assert_eq!(
            t.refresh(&first.refresh.token).map(|_| ()),
            Err(AuthError::Revoked)
        );
        assert_eq!(refused(t, &first.access.token), AuthError::Revoked);
        assert_eq!(refused(t, &second.access.token), AuthError::Revoked);
        assert_eq!(
            t.refresh(&second.refresh.token).map(|_| ()),
            Err(AuthError::Revoked)
        );
        // Other families are untouched.
        let other = t.pair(&alice(), None).expect("pair");
        assert!(t.verify(&other.access.token).is_ok());
    }

    #[test]
    fn recorded_tokens_are_listed_revoked_and_their_use_noted_in_batches() {
        let f = fixture(Verification::Signed);
        let t = &f.tokens;
        let (minted, record) = t
            .mint_mcp(&alice(), Some("ada"), Some("laptop"), 365)
            .expect("mint");
        assert_eq!(record.name.as_deref(), Some("laptop"));
        assert_eq!(record.expires_at - record.created_at, 365 * 86_400 * 1000);
        assert!(t.verify(&minted.token).is_ok());
        let listed = t.list().expect("list");
        assert_eq!(listed.len(), 1);
        assert!(
            listed[0].last_used_at.is_some(),
            "the use shows before it is written"
        );
        assert_eq!(t.flush_last_used().expect("flush"), 1);
        assert_eq!(t.flush_last_used().expect("flush"), 0, "nothing new");
        let revoked = t.revoke(&record.jti, Some("lost laptop")).expect("revoke");
        assert_eq!(
            revoked.revoked.and_then(|r| r.reason).as_deref(),
            Some("lost laptop")
        );
        assert_eq!(
            refused(t, &minted.token),
            AuthError::Revoked,
            "from the next request on"
        );
        assert!(matches!(
            t.revoke("no-such-jti", None),
            Err(AuthError::UnknownToken(_))
        ));
    }

    #[test]
    fn revocations_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        let open = || {
            let keys = KeyPair::load_or_create(dir.path()).expect("keys");
            Tokens::open(Verification::Signed, keys, store.clone()).expect("tokens")
        };
        let first = open();
        let (minted, record) = first.mint_mcp(&alice(), None, None, 1).expect("mint");
        first.revoke(&record.jti, None).expect("revoke");
        let pair = first.pair(&alice(), None).expect("pair");
        first.refresh(&pair.refresh.token).expect("spend");
        let _ = first.refresh(&pair.refresh.token);
        let second = open();
        assert_eq!(refused(&second, &minted.token), AuthError::Revoked);
        assert_eq!(refused(&second, &pair.access.token), AuthError::Revoked);
    }

    #[test]
    fn trusted_mode_skips_only_the_signature() {
        let f = fixture(Verification::Unsigned);
        let t = &f.tokens;
        let other = fixture(Verification::Signed);
        // Signed by someone else: accepted, since the signature is not checked…
        let foreign = signed(&other.tokens, &claims("access"));
        assert!(t.verify(&foreign).is_ok());
        // …but everything else still is.
        let mut expired = claims("access");
        expired["exp"] = json!(now_secs() - 3600);
        assert_eq!(refused(t, &signed(t, &expired)), AuthError::Expired);
        let mut wrong = claims("access");
        wrong["aud"] = json!("someone-else");
        assert!(matches!(
            refused(t, &signed(t, &wrong)),
            AuthError::Invalid(_)
        ));
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims("access").to_string());
        assert!(matches!(
            refused(t, &format!("{none_header}.{body}.")),
            AuthError::Invalid(_)
        ));
    }
}
