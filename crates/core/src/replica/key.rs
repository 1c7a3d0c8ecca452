//! The key that opens a replica file.

use crate::error::{Error, Result};

/// The key that opens a replica file.
#[derive(Clone)]
pub enum Key {
    /// 32 random bytes, kept in the OS keychain. Opening costs no key derivation.
    Raw([u8; 32]),
    /// A passphrase, for machines without a keychain; SQLCipher derives the key
    /// (PBKDF2-HMAC-SHA512, 256,000 iterations, per-file salt).
    Passphrase(String),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Key::Raw(_) => "Key::Raw(…)",
            Key::Passphrase(_) => "Key::Passphrase(…)",
        })
    }
}

/// A key leaves no copy in memory behind it: the app lock closes the replica and drops its
/// keys (the connection's, the checkpoint thread's), and each one is wiped as it goes.
impl Drop for Key {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        match self {
            Key::Raw(k) => k.zeroize(),
            Key::Passphrase(p) => p.zeroize(),
        }
    }
}

impl Key {
    /// A fresh random key from the operating system's generator.
    pub fn random() -> Result<Key> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| Error::Io {
            path: "OS random source".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Key::Raw(k))
    }
    pub fn to_hex(&self) -> Option<String> {
        match self {
            Key::Raw(k) => Some(k.iter().map(|b| format!("{b:02x}")).collect()),
            Key::Passphrase(_) => None,
        }
    }
    pub fn from_hex(s: &str) -> Option<Key> {
        let s = s.trim();
        if s.len() != 64 {
            return None;
        }
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Key::Raw(k))
    }
    /// The key as SQLCipher's `key` pragma takes it; wiped when dropped, like the key.
    pub(super) fn pragma(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(match self {
            Key::Raw(_) => {
                let hex = zeroize::Zeroizing::new(self.to_hex().unwrap_or_default());
                format!("x'{}'", hex.as_str())
            }
            Key::Passphrase(p) => p.clone(),
        })
    }
}
