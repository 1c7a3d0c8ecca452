//! Sync by hand-carried file: a bundle is one direction of a sync round written to a file —
//! a device's unsent changes and audit events for the server ([`ToServer`]), or what the server
//! has for that device ([`ToDevice`]) — sealed so that only that device and the server can read
//! or make it: AES-256-GCM under a key derived from the SHA-256 of the device's sync token,
//! which the device can compute and the server keeps (never the token itself). The header
//! (device, direction, number) travels in clear but is authenticated with the contents, so a
//! bundle changed, cut short or made for another device is refused whole before anything in it
//! is read; its number lets each side refuse one it has taken before (a replay).
//!
//! Layout: `DESKBUNDLE1\n`, the header's length (u32, big-endian), the header (JSON), the
//! 12-byte nonce, the 16-byte tag, then the deflated JSON body encrypted. A device's bundle
//! then ends with an Ed25519 signature of all that under a key only the device holds (its
//! public half given to the server by an online sync), so not even a reader of the server's
//! store, who could compute the sealing key, can make a bundle in the device's name. ([`read_file`] is the
//! protocol's one file access: both ends read bundles the same way.)

use crate::v1::{AuditEvent, Change, Policy, RecordRef};
use hmac::{Hmac, Mac};
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::io::Read;

const MAGIC: &[u8] = b"DESKBUNDLE1\n";
/// The largest bundle file read (bytes) and the most its body may inflate to.
pub const MAX_FILE: u64 = 128 << 20;
pub const MAX_INFLATED: u64 = 512 << 20;
const HEADER_MAX: usize = 4096;

/// Which way a bundle goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToServer,
    ToDevice,
}

/// What a bundle says of itself, readable without the key (and checked with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub device: String,
    pub direction: Direction,
    /// Counts the bundles made for this direction and device, from 1.
    pub number: i64,
    /// When it was made, ms since 1970 on the maker's clock.
    pub made_at: i64,
}

/// A document's file carried in a bundle: its SHA-256 and its bytes (hex in the JSON, which
/// deflates back to about their size).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileData {
    pub sha256: String,
    #[serde(with = "hex")]
    pub data: Vec<u8>,
}

/// The most bytes of files one bundle carries (the rest go with the next).
pub const FILES_MAX: usize = 64 << 20;

/// A device's bundle for the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToServer {
    /// The outbox: every change the server has not acknowledged.
    pub changes: Vec<Change>,
    pub audit: Vec<AuditEvent>,
    /// The device's pull cursor: the server's answer starts after it.
    pub pulled: i64,
    /// Files of its documents the server has not confirmed holding.
    #[serde(default)]
    pub files: Vec<FileData>,
    /// Files its documents name that it lacks: the server's answer brings those it may read.
    #[serde(default)]
    pub wanted: Vec<String>,
}

/// The server's bundle for a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToDevice {
    /// The device's changes the server holds, up to this dev_seq (its outbox moves on).
    pub acked: i64,
    /// Its audit events the server's log holds, up to this number.
    pub audit_acked: i64,
    /// What the device's user may see, after the cursor it sent (purges first).
    pub changes: Vec<Change>,
    pub purged: Vec<RecordRef>,
    pub cursor: i64,
    pub policy: Policy,
    pub authors: Vec<(String, String)>,
    /// Files the device asked for that its user may read.
    #[serde(default)]
    pub files: Vec<FileData>,
}

/// Bytes as lowercase hex in JSON.
mod hex {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            out.push_str(&format!("{b:02x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("odd-length hex"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| {
                text.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| D::Error::custom("not hex"))
            })
            .collect()
    }
}

/// Why a bundle was refused (nothing of it was applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleError {
    /// Not a bundle, cut short, or larger than allowed.
    Malformed(String),
    /// Changed since it was made, or sealed with another key (another device, a sign-in since).
    NotAuthentic,
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BundleError::Malformed(m) => write!(f, "not a usable bundle: {m}"),
            BundleError::NotAuthentic => f.write_str(
                "this bundle was changed after it was made, or is not for this device and server (or the device has signed in again since): nothing of it was applied",
            ),
        }
    }
}

impl std::error::Error for BundleError {}

/// Reads a bundle file, refusing one larger than [`MAX_FILE`] before reading it (and bounded
/// while read, should it grow meanwhile). The protocol's only file access: both ends read
/// bundles the same way.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, BundleError> {
    let cannot = |e: std::io::Error| BundleError::Malformed(format!("{}: {e}", path.display()));
    let f = std::fs::File::open(path).map_err(cannot)?;
    let len = f.metadata().map_err(cannot)?.len();
    if len > MAX_FILE {
        return Err(BundleError::Malformed(format!(
            "{} is {} MB, more than a bundle may be ({} MB)",
            path.display(),
            len >> 20,
            MAX_FILE >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(BundleError::Malformed(format!(
            "{} grew while read",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The length of the Ed25519 signature a device's bundle ends with.
pub const SIGNATURE: usize = 64;

/// A new Ed25519 key pair for signing a device's bundles: (private, public), raw 32 bytes each.
pub fn signing_key() -> Result<([u8; 32], [u8; 32]), BundleError> {
    let bad = |e: openssl::error::ErrorStack| BundleError::Malformed(e.to_string());
    let key = openssl::pkey::PKey::generate_ed25519().map_err(bad)?;
    let private = key.raw_private_key().map_err(bad)?;
    let public = key.raw_public_key().map_err(bad)?;
    let (Ok(private), Ok(public)) = (private.try_into(), public.try_into()) else {
        return Err(BundleError::Malformed("an Ed25519 key is 32 bytes".into()));
    };
    Ok((private, public))
}

/// A key written as 64 hex digits (as stored and sent), read back.
pub fn key_from_hex(text: &str) -> Option<[u8; 32]> {
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    bytes.and_then(|b| b.try_into().ok())
}

/// A key as 64 lowercase hex digits.
pub fn key_to_hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// The public half of a device's signing key.
pub fn public_of(private: &[u8; 32]) -> Result<[u8; 32], BundleError> {
    let bad = |e: openssl::error::ErrorStack| BundleError::Malformed(e.to_string());
    let key = openssl::pkey::PKey::private_key_from_raw_bytes(private, openssl::pkey::Id::ED25519)
        .map_err(bad)?;
    key.raw_public_key()
        .map_err(bad)?
        .try_into()
        .map_err(|_| BundleError::Malformed("an Ed25519 key is 32 bytes".into()))
}

/// `bytes` followed by their Ed25519 signature under the device's private key.
pub fn sign(private: &[u8; 32], bytes: Vec<u8>) -> Result<Vec<u8>, BundleError> {
    let bad = |e: openssl::error::ErrorStack| BundleError::Malformed(e.to_string());
    let key = openssl::pkey::PKey::private_key_from_raw_bytes(private, openssl::pkey::Id::ED25519)
        .map_err(bad)?;
    let mut signer = openssl::sign::Signer::new_without_digest(&key).map_err(bad)?;
    let sig = signer.sign_oneshot_to_vec(&bytes).map_err(bad)?;
    let mut out = bytes;
    out.extend_from_slice(&sig);
    Ok(out)
}

/// The signed bytes of a device's bundle, if its last [`SIGNATURE`] bytes are their signature
/// under `public`; else the bundle is not the device's.
pub fn verify<'a>(public: &[u8; 32], bytes: &'a [u8]) -> Result<&'a [u8], BundleError> {
    let at = bytes
        .len()
        .checked_sub(SIGNATURE)
        .ok_or_else(|| BundleError::Malformed("the file is cut short".into()))?;
    let (signed, sig) = bytes.split_at(at);
    let key = openssl::pkey::PKey::public_key_from_raw_bytes(public, openssl::pkey::Id::ED25519)
        .map_err(|_| BundleError::NotAuthentic)?;
    let ok = openssl::sign::Verifier::new_without_digest(&key)
        .and_then(|mut v| v.verify_oneshot(sig, signed))
        .unwrap_or(false);
    if ok {
        Ok(signed)
    } else {
        Err(BundleError::NotAuthentic)
    }
}

/// The bundle key of a device, from its token's hash (hex SHA-256).
pub fn key(token_hash: &str) -> [u8; 32] {
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(token_hash.as_bytes()) else {
        return [0; 32];
    };
    m.update(b"desk-bundle-v1");
    m.finalize().into_bytes().into()
}

/// Seals `body` (serialised as JSON, deflated) under `key`; `nonce` must be fresh random bytes.
pub fn seal<T: Serialize>(
    key: &[u8; 32],
    header: &Header,
    body: &T,
    nonce: [u8; 12],
) -> Result<Vec<u8>, BundleError> {
    let bad = |e: String| BundleError::Malformed(e);
    let head = serde_json::to_vec(header).map_err(|e| bad(e.to_string()))?;
    let json = serde_json::to_vec(body).map_err(|e| bad(e.to_string()))?;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, &json).map_err(|e| bad(e.to_string()))?;
    let plain = z.finish().map_err(|e| bad(e.to_string()))?;
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(&head);
    let mut tag = [0u8; 16];
    let sealed = encrypt_aead(
        Cipher::aes_256_gcm(),
        key,
        Some(&nonce),
        &aad,
        &plain,
        &mut tag,
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(head.len() as u32).to_be_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&tag);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The parts of a bundle file, as slices of it.
struct Parts<'a> {
    head: &'a [u8],
    nonce: &'a [u8],
    tag: &'a [u8],
    sealed: &'a [u8],
}

fn parts(bytes: &[u8]) -> Result<Parts<'_>, BundleError> {
    let short = || BundleError::Malformed("the file is cut short".into());
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| BundleError::Malformed("this is not a Secretariat Desk bundle".into()))?;
    let len = rest.get(..4).ok_or_else(short)?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len > HEADER_MAX {
        return Err(BundleError::Malformed("its header is too long".into()));
    }
    let rest = &rest[4..];
    let head = rest.get(..len).ok_or_else(short)?;
    let rest = &rest[len..];
    let nonce = rest.get(..12).ok_or_else(short)?;
    let tag = rest.get(12..28).ok_or_else(short)?;
    Ok(Parts {
        head,
        nonce,
        tag,
        sealed: &rest[28..],
    })
}

/// A bundle's header, read without its key (to know whose it is); not yet authentic.
pub fn peek(bytes: &[u8]) -> Result<Header, BundleError> {
    let head = parts(bytes)?.head;
    serde_json::from_slice(head).map_err(|e| BundleError::Malformed(format!("its header: {e}")))
}

/// Opens a bundle under `key`: its header and body, only if nothing in it changed.
pub fn open<T: for<'de> Deserialize<'de>>(
    key: &[u8; 32],
    bytes: &[u8],
) -> Result<(Header, T), BundleError> {
    if bytes.len() as u64 > MAX_FILE {
        return Err(BundleError::Malformed(format!(
            "larger than {} MB",
            MAX_FILE >> 20
        )));
    }
    let p = parts(bytes)?;
    let header = peek(bytes)?;
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(p.head);
    let plain = decrypt_aead(
        Cipher::aes_256_gcm(),
        key,
        Some(p.nonce),
        &aad,
        p.sealed,
        p.tag,
    )
    .map_err(|_| BundleError::NotAuthentic)?;
    let mut json = Vec::new();
    flate2::read::DeflateDecoder::new(plain.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)
        .map_err(|e| BundleError::Malformed(e.to_string()))?;
    if json.len() as u64 > MAX_INFLATED {
        return Err(BundleError::Malformed("its contents are too large".into()));
    }
    let body = serde_json::from_slice(&json).map_err(|e| BundleError::Malformed(e.to_string()))?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Header, ToServer) {
        (
            Header {
                device: "laptop-1".into(),
                direction: Direction::ToServer,
                number: 1,
                made_at: 1_796_600_000_000,
            },
            ToServer {
                changes: Vec::new(),
                audit: vec![AuditEvent {
                    seq: 1,
                    at: 5,
                    action: "pack".into(),
                    detail: "ສະບາຍດີ".into(),
                }],
                pulled: 42,
                files: vec![FileData {
                    sha256: "ab".into(),
                    data: vec![0, 1, 254, 255],
                }],
                wanted: vec!["cd".into()],
            },
        )
    }

    #[test]
    fn a_bundle_opens_with_its_key_only_and_any_change_to_it_is_refused() {
        let k = key(&crate::unlock::token_hash("tok"));
        let (h, body) = sample();
        let b = seal(&k, &h, &body, [7; 12]).unwrap();
        assert_eq!(peek(&b).unwrap(), h);
        let (h2, body2): (Header, ToServer) = open(&k, &b).unwrap();
        assert_eq!((h2, body2), (h.clone(), body));
        // Another device's (or a new sign-in's) key.
        let other = key(&crate::unlock::token_hash("other"));
        assert_eq!(
            open::<ToServer>(&other, &b).unwrap_err(),
            BundleError::NotAuthentic
        );
        // Every byte flipped in turn: refused (the magic and lengths as malformed, the rest
        // as not authentic), never opened.
        for i in 0..b.len() {
            let mut t = b.clone();
            t[i] ^= 0x01;
            assert!(open::<ToServer>(&k, &t).is_err(), "byte {i}");
        }
        // Cut short anywhere.
        for n in [0, 5, 14, 30, b.len() - 1] {
            assert!(open::<ToServer>(&k, &b[..n]).is_err(), "{n} bytes");
        }
        // A header rewritten to name another device is caught by the tag.
        let mut forged = h;
        forged.device = "laptop-2".into();
        let head = serde_json::to_vec(&forged).unwrap();
        let old_head = parts(&b).unwrap().head;
        let mut t = MAGIC.to_vec();
        t.extend_from_slice(&(head.len() as u32).to_be_bytes());
        t.extend_from_slice(&head);
        t.extend_from_slice(&b[MAGIC.len() + 4 + old_head.len()..]);
        assert_eq!(peek(&t).unwrap().device, "laptop-2");
        assert_eq!(
            open::<ToServer>(&k, &t).unwrap_err(),
            BundleError::NotAuthentic
        );
    }

    #[test]
    fn a_signed_bundle_verifies_under_its_devices_key_only() {
        let (private, public) = signing_key().unwrap();
        let (_, other) = signing_key().unwrap();
        let signed = sign(&private, b"a sealed bundle".to_vec()).unwrap();
        assert_eq!(verify(&public, &signed).unwrap(), b"a sealed bundle");
        assert_eq!(
            verify(&other, &signed).unwrap_err(),
            BundleError::NotAuthentic
        );
        let mut t = signed.clone();
        t[3] ^= 1;
        assert_eq!(verify(&public, &t).unwrap_err(), BundleError::NotAuthentic);
        assert!(verify(&public, &signed[..10]).is_err());
    }
}
