//! Encryption of sensitive fields at rest (identity document numbers, dates of
//! birth, addresses): AES-256-GCM with a random 96-bit nonce per value, the field's
//! name as associated data (a value copied into another field does not decrypt),
//! and the key's id stored with each value, so keys can be rotated: new values use
//! the first (current) key, older values still decrypt with the key they name.
//!
//! Stored form: `v1:<key id>:<hex of nonce ‖ ciphertext ‖ tag>`.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};

use crate::platform::error::{AppError, AppResult};

const VERSION: &str = "v1";
const NONCE_BYTES: usize = 12;
/// The first bytes of an encrypted file.
const BYTES_MAGIC: &[u8] = b"VLTE1";

/// The encryption keys, the current one first.
pub struct FieldCipher {
    keys: Vec<(String, Aes256Gcm)>,
}

impl fmt::Debug for FieldCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Key ids only: never the keys.
        f.debug_struct("FieldCipher").field("keys", &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>()).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeySpecError {
    #[error("no key: expected `id:64 hex digits`, comma-separated, the current key first")]
    Empty,
    #[error("key `{0}`: expected `id:64 hex digits` (an id of letters, digits, `-` or `_`, then 32 bytes in hex)")]
    Malformed(String),
    #[error("key id `{0}` appears twice")]
    Duplicate(String),
}

impl FieldCipher {
    /// Parses `VOLANT_ENCRYPTION_KEYS`: `id:hex,id:hex`, the current key first.
    pub fn from_spec(spec: &str) -> Result<Self, KeySpecError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, hex_key) = entry.split_once(':').ok_or_else(|| KeySpecError::Malformed(redact(entry)))?;
            let id = id.trim();
            let valid_id = !id.is_empty()
                && id.len() <= 32
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            let bytes = hex::decode(hex_key.trim()).ok().filter(|b| b.len() == 32);
            let (true, Some(bytes)) = (valid_id, bytes) else { return Err(KeySpecError::Malformed(redact(entry))) };
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(KeySpecError::Duplicate(id.to_owned()));
            }
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| KeySpecError::Malformed(redact(entry)))?;
            keys.push((id.to_owned(), cipher));
        }
        if keys.is_empty() { Err(KeySpecError::Empty) } else { Ok(Self { keys }) }
    }

    /// A new key line for `VOLANT_ENCRYPTION_KEYS` (id from today's date).
    pub fn generate_spec() -> AppResult<String> {
        let key = crate::platform::secrets::random_token(32)?;
        Ok(format!("k{}:{key}", chrono::Utc::now().format("%Y%m%d%H%M%S")))
    }

    /// The id of the key new values are encrypted with.
    pub fn current_key_id(&self) -> &str {
        self.keys.first().map_or("", |(id, _)| id.as_str())
    }

    /// Encrypts `plaintext` for the field named `context` (e.g. `candidates/birth_date`).
    pub fn encrypt(&self, context: &str, plaintext: &str) -> AppResult<String> {
        let (id, cipher) = self.keys.first().ok_or_else(|| AppError::Internal("no encryption key".to_owned()))?;
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .map_err(|_| AppError::Internal("encryption failed".to_owned()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!("{VERSION}:{id}:{}", hex::encode(bytes)))
    }

    /// Decrypts a stored value of the field named `context`; an error when the key
    /// it names is unknown or the value was altered.
    pub fn decrypt(&self, context: &str, stored: &str) -> AppResult<String> {
        let mut parts = stored.splitn(3, ':');
        let (Some(VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AppError::Internal(format!("{context}: not an encrypted value")));
        };
        let (_, cipher) = self.keys.iter().find(|(key_id, _)| key_id == id).ok_or_else(|| {
            AppError::Internal(format!("{context}: encrypted with key `{id}`, which is not configured"))
        })?;
        let bytes = hex::decode(body).map_err(|_| AppError::Internal(format!("{context}: corrupt value")))?;
        if bytes.len() < NONCE_BYTES + 16 {
            return Err(AppError::Internal(format!("{context}: corrupt value")));
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] =
            nonce.try_into().map_err(|_| AppError::Internal(format!("{context}: corrupt value")))?;
        let plain = cipher
            .decrypt(&nonce.into(), Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| AppError::Internal(format!("{context}: value altered or wrong key")))?;
        String::from_utf8(plain).map_err(|_| AppError::Internal(format!("{context}: not text")))
    }

    /// Encrypts a file's bytes for the place named `context` (its storage key: a
    /// blob copied under another key does not decrypt). Stored form: `VLTE1`, the
    /// key id's length and the key id, then nonce ‖ ciphertext ‖ tag.
    pub fn encrypt_bytes(&self, context: &str, plain: &[u8]) -> AppResult<Vec<u8>> {
        let (id, cipher) = self.keys.first().ok_or_else(|| AppError::Internal("no encryption key".to_owned()))?;
        let mut nonce = [0_u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let sealed = cipher
            .encrypt(&nonce.into(), Payload { msg: plain, aad: context.as_bytes() })
            .map_err(|_| AppError::Internal("encryption failed".to_owned()))?;
        let mut out = Vec::with_capacity(BYTES_MAGIC.len() + 1 + id.len() + NONCE_BYTES + sealed.len());
        out.extend_from_slice(BYTES_MAGIC);
        out.push(u8::try_from(id.len()).map_err(|_| AppError::Internal("key id too long".to_owned()))?);
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend(sealed);
        Ok(out)
    }

    /// The bytes [`Self::encrypt_bytes`] sealed for `context`; an error when the
    /// key is unknown or the bytes were altered.
    pub fn decrypt_bytes(&self, context: &str, stored: &[u8]) -> AppResult<Vec<u8>> {
        let corrupt = || AppError::Internal(format!("{context}: not an encrypted file"));
        let rest = stored.strip_prefix(BYTES_MAGIC).ok_or_else(corrupt)?;
        let (&id_len, rest) = rest.split_first().ok_or_else(corrupt)?;
        let id_len = usize::from(id_len);
        if rest.len() < id_len + NONCE_BYTES + 16 {
            return Err(corrupt());
        }
        let (id, rest) = rest.split_at(id_len);
        let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
        let (_, cipher) = self.keys.iter().find(|(key_id, _)| key_id == id).ok_or_else(|| {
            AppError::Internal(format!("{context}: encrypted with key `{id}`, which is not configured"))
        })?;
        let (nonce, sealed) = rest.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| corrupt())?;
        cipher
            .decrypt(&nonce.into(), Payload { msg: sealed, aad: context.as_bytes() })
            .map_err(|_| AppError::Internal(format!("{context}: file altered or wrong key")))
    }

    /// Whether encrypted bytes were sealed with a key other than the current one.
    pub fn is_stale_bytes(&self, stored: &[u8]) -> bool {
        let Some(rest) = stored.strip_prefix(BYTES_MAGIC) else { return false };
        let Some((&len, rest)) = rest.split_first() else { return false };
        rest.get(..usize::from(len)).is_some_and(|id| id != self.current_key_id().as_bytes())
    }

    /// Whether a stored value should be re-encrypted with the current key.
    pub fn is_stale(&self, stored: &str) -> bool {
        stored.split(':').nth(1).is_some_and(|id| id != self.current_key_id())
    }
}

/// A key entry as error messages may show it: its id, never the key.
fn redact(entry: &str) -> String {
    entry.split_once(':').map_or_else(|| "…".to_owned(), |(id, _)| format!("{id}:…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn values_round_trip_and_never_repeat() {
        let cipher = FieldCipher::from_spec(K1).unwrap_or_else(|e| panic!("{e}"));
        let a = cipher.encrypt("candidates/birth_date", "2004-05-17").unwrap_or_default();
        let b = cipher.encrypt("candidates/birth_date", "2004-05-17").unwrap_or_default();
        assert!(a.starts_with("v1:k1:"));
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("2004"));
        assert_eq!(cipher.decrypt("candidates/birth_date", &a).ok().as_deref(), Some("2004-05-17"));
    }

    #[test]
    fn a_value_does_not_decrypt_in_another_field_or_altered() {
        let cipher = FieldCipher::from_spec(K1).unwrap_or_else(|e| panic!("{e}"));
        let stored = cipher.encrypt("candidates/address", "3 rue des Lilas").unwrap_or_default();
        assert!(cipher.decrypt("candidates/id_number", &stored).is_err());
        let mut altered = stored.clone();
        let last = altered.pop().unwrap_or('0');
        altered.push(if last == '0' { '1' } else { '0' });
        assert!(cipher.decrypt("candidates/address", &altered).is_err());
        assert!(cipher.decrypt("candidates/address", "3 rue des Lilas").is_err());
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = FieldCipher::from_spec(K1).unwrap_or_else(|e| panic!("{e}"));
        let stored = old.encrypt("f", "secret").unwrap_or_default();
        let rotated = FieldCipher::from_spec(&format!("{K2},{K1}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rotated.current_key_id(), "k2");
        assert!(rotated.is_stale(&stored));
        assert_eq!(rotated.decrypt("f", &stored).ok().as_deref(), Some("secret"));
        let fresh = rotated.encrypt("f", "secret").unwrap_or_default();
        assert!(fresh.starts_with("v1:k2:") && !rotated.is_stale(&fresh));
        let without_old = FieldCipher::from_spec(K2).unwrap_or_else(|e| panic!("{e}"));
        assert!(without_old.decrypt("f", &stored).is_err(), "removing a key too early is an error, not garbage");
    }

    #[test]
    fn key_specs_are_checked_and_never_echoed() {
        assert_eq!(FieldCipher::from_spec("").err(), Some(KeySpecError::Empty));
        assert_eq!(FieldCipher::from_spec("k1:abcd").err(), Some(KeySpecError::Malformed("k1:…".to_owned())));
        assert!(matches!(FieldCipher::from_spec(&format!("{K1},{K1}")), Err(KeySpecError::Duplicate(_))));
        assert!(matches!(FieldCipher::from_spec("nocolon"), Err(KeySpecError::Malformed(_))));
        let generated = FieldCipher::generate_spec().unwrap_or_default();
        assert!(FieldCipher::from_spec(&generated).is_ok(), "{generated}");
        let debug = format!("{:?}", FieldCipher::from_spec(K1).unwrap_or_else(|e| panic!("{e}")));
        assert!(!debug.contains("0001020304"), "{debug}");
    }

    #[test]
    fn files_round_trip_only_in_their_place() {
        let cipher = FieldCipher::from_spec(K1).unwrap_or_else(|e| panic!("{e}"));
        let plain = b"%PDF-1.7 carte d'identit\xc3\xa9".to_vec();
        let sealed = cipher.encrypt_bytes("attachments/abc", &plain).unwrap_or_default();
        assert!(sealed.starts_with(b"VLTE1\x02k1"));
        assert!(!sealed.windows(4).any(|w| w == b"%PDF"), "no plaintext left");
        assert_eq!(cipher.decrypt_bytes("attachments/abc", &sealed).ok(), Some(plain));
        assert!(cipher.decrypt_bytes("attachments/other", &sealed).is_err());
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(cipher.decrypt_bytes("attachments/abc", &altered).is_err());
        assert!(cipher.decrypt_bytes("attachments/abc", b"VLTE1").is_err());
        let rotated = FieldCipher::from_spec(&format!("{K2},{K1}")).unwrap_or_else(|e| panic!("{e}"));
        assert!(rotated.is_stale_bytes(&sealed) && !cipher.is_stale_bytes(&sealed));
    }
}

/// The keys configured in `VOLANT_ENCRYPTION_KEYS`, or else those of the key file,
/// which is created with a new key on first start (permissions 0600): a laptop
/// needs nothing configured; production sets the variable from its secret store.
pub fn load(spec: Option<&str>, key_file: &std::path::Path) -> Result<FieldCipher, String> {
    if let Some(spec) = spec {
        return FieldCipher::from_spec(spec).map_err(|e| format!("VOLANT_ENCRYPTION_KEYS: {e}"));
    }
    let file = key_file.display();
    match std::fs::read_to_string(key_file) {
        Ok(spec) => FieldCipher::from_spec(spec.trim()).map_err(|e| format!("{file}: {e}")),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = key_file.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
            }
            let spec = FieldCipher::generate_spec().map_err(|e| e.to_string())?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(key_file).map_err(|e| format!("{file}: {e}"))?;
            std::io::Write::write_all(&mut out, format!("{spec}\n").as_bytes()).map_err(|e| format!("{file}: {e}"))?;
            out.sync_all().map_err(|e| format!("{file}: {e}"))?;
            tracing::warn!(file = %file, "created a new encryption key file: back it up with the database (without it, encrypted fields cannot be read)");
            FieldCipher::from_spec(&spec).map_err(|e| format!("{file}: {e}"))
        }
        Err(err) => Err(format!("{file}: {err}")),
    }
}

#[cfg(test)]
mod load_tests {
    use super::*;

    #[test]
    fn the_key_file_is_created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("keys").join("volant.keys");
        let first = load(None, &path).unwrap_or_else(|e| panic!("{e}"));
        let stored = first.encrypt("f", "x").unwrap_or_default();
        let again = load(None, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.decrypt("f", &stored).ok().as_deref(), Some("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, "garbage").unwrap_or_else(|e| panic!("{e}"));
        assert!(load(None, &path).is_err(), "a damaged key file stops the start");
    }
}
