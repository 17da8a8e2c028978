//! The server's RS256 key pair, kept under `<data-dir>/keys/`: created on first start (the
//! private key readable by its owner only), read on every later start, published as a JWKS.
//!
//! A private key file that others can read, or that does not hold an RSA key, is a start-up
//! error naming the file: the server never signs with a key it cannot vouch for.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};

/// Size of a generated key.
const KEY_BITS: usize = 2048;
const PRIVATE_FILE: &str = "private.pem";
const PUBLIC_FILE: &str = "public.pem";

/// Why the key pair could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {problem}", path.display())]
    File { path: PathBuf, problem: String },
    #[error(
        "{} can be read by others (mode {mode:03o}): the private key must be private; run \
         `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    LoosePermissions { path: PathBuf, mode: u32 },
    #[error("cannot generate a key pair: {0}")]
    Generate(String),
    #[error("this build has no crypto backend for tokens (jsonwebtoken's `rust_crypto` feature)")]
    NoBackend,
}

/// The signing key, the verifying key, and what clients see of them.
pub struct KeyPair {
    pub(crate) encoding: EncodingKey,
    pub(crate) decoding: DecodingKey,
    /// The key id (`kid`): the RFC 7638 thumbprint of the public key.
    pub(crate) kid: String,
    /// `{"keys": [...]}` for `/.well-known/jwks.json`.
    pub(crate) jwks: JwkSet,
    /// The public key as SPKI PEM (a forgery test signs HS256 with it).
    #[cfg(test)]
    pub(crate) public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn file_error(path: &Path, problem: impl std::fmt::Display) -> KeyError {
    KeyError::File {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

impl KeyPair {
    /// The key pair under `<data_dir>/keys/`, created there if there is none yet.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, KeyError> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(KeyError::NoBackend);
        }
        let dir = data_dir.join("keys");
        let private = dir.join(PRIVATE_FILE);
        if !private.exists() {
            create(&dir, &private)?;
        }
        Self::load(&private)
    }

    fn load(private: &Path) -> Result<Self, KeyError> {
        let metadata = fs::metadata(private).map_err(|e| file_error(private, e))?;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::LoosePermissions {
                path: private.to_path_buf(),
                mode,
            });
        }
        let pem = fs::read_to_string(private).map_err(|e| file_error(private, e))?;
        let key = rsa::PrivateKey::from_pkcs8_pem(&pem)
            .map_err(|e| file_error(private, format!("not a PKCS#8 RSA private key ({e})")))?;
        let public_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| file_error(private, e))?;
        let encoding =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| file_error(private, e))?;
        let decoding =
            DecodingKey::from_rsa_pem(public_pem.as_bytes()).map_err(|e| file_error(private, e))?;
        let mut jwk = Jwk::from_decoding_key(&decoding, Some(Algorithm::RS256))
            .map_err(|e| file_error(private, e))?;
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| file_error(private, e))?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(Self {
            encoding,
            decoding,
            kid,
            jwks: JwkSet { keys: vec![jwk] },
            #[cfg(test)]
            public_pem,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key set, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }
}

/// Generate a key pair into `dir`. The private key is written to a temporary file and linked
/// into place only if no other process created one meanwhile (then that one is used).
fn create(dir: &Path, private: &Path) -> Result<(), KeyError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| file_error(dir, e))?;
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let temporary = dir.join(format!("{PRIVATE_FILE}.{}.tmp", std::process::id()));
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(|e| file_error(&temporary, e))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| file_error(&temporary, e))?;
    let linked = fs::hard_link(&temporary, private);
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => {
            let public = dir.join(PUBLIC_FILE);
            fs::write(&public, public_pem).map_err(|e| file_error(&public, e))?;
            tracing::info!(path = %private.display(), "created the token signing key");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(file_error(private, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_pair_is_made_once_kept_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = KeyPair::load_or_create(dir.path()).expect("created");
        let private = dir.path().join("keys").join(PRIVATE_FILE);
        let mode = fs::metadata(&private).expect("file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = KeyPair::load_or_create(dir.path()).expect("read back");
        assert_eq!(first.kid(), again.kid(), "the same key on the next start");
        let jwks = serde_json::to_value(again.jwks()).expect("json");
        assert_eq!(jwks["keys"][0]["kid"], first.kid());
        assert_eq!(jwks["keys"][0]["kty"], "RSA");
        assert_eq!(jwks["keys"][0]["alg"], "RS256");
        assert_eq!(jwks["keys"][0]["use"], "sig");
        assert!(jwks["keys"][0].get("d").is_none(), "never the private part");
    }

    #[test]
    fn a_readable_or_broken_private_key_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        KeyPair::load_or_create(dir.path()).expect("created");
        let private = dir.path().join("keys").join(PRIVATE_FILE);
        fs::set_permissions(&private, fs::Permissions::from_mode(0o644)).expect("chmod");
        let loose = KeyPair::load_or_create(dir.path()).expect_err("loose");
        assert!(matches!(
            loose,
            KeyError::LoosePermissions { mode: 0o644, .. }
        ));
        assert!(loose.to_string().contains("chmod 600"), "{loose}");
        fs::set_permissions(&private, fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(&private, "not a key").expect("write");
        let broken = KeyPair::load_or_create(dir.path()).expect_err("broken");
        assert!(broken.to_string().contains("private.pem"), "{broken}");
        assert!(
            broken.to_string().contains("not a PKCS#8 RSA private key"),
            "{broken}"
        );
    }
}
