//! The compact binary wire format (`application/x-desk-sync`): a batch of changes as postcard
//! (varint integers, length-prefixed strings), with each record id as its 16 UUID bytes and each
//! device named once per batch, then deflated. JSON stays available (and is what the OpenAPI
//! document shows) for people and tools; clients ask for this with `Accept` and send it with
//! `Content-Type`. A one-field edit costs well under 48 bytes in a batch (see the sync bench).
//!
//! Pure in-memory: bytes in, values out (deflate runs over buffers); every failure is a
//! [`WireError`].

use crate::hlc::Hlc;
use crate::v1::{Change, Dot, FieldChange, PullPage, RecordRef, SetOps};
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

pub const CONTENT_TYPE: &str = "application/x-desk-sync";

/// The largest request body the server reads (413 beyond it); the client's HTTP transport
/// splits a push that would be larger.
pub const MAX_BODY: usize = 32 * 1024 * 1024;

/// The most a batch may inflate to. Inflation stops one byte past it, so a deflate bomb costs
/// the server at most this much memory (413 "too_large"). A client batch is at most
/// `desk_sync::BATCH` changes; a typical one inflates to well under 1 MB, and the client's
/// HTTP transport splits one that would pass this (one change is at most a few MB: long texts
/// are capped at 100,000 characters).
pub const MAX_INFLATED: usize = 64 * 1024 * 1024;

/// The most a page from the server may inflate to (the client trusts its server further: a
/// page of long texts may be larger than a push the server takes).
const MAX_PAGE_INFLATED: usize = 256 * 1024 * 1024;

/// Why a batch could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// It inflates past `limit` bytes.
    TooLarge { limit: usize },
    /// Not deflate data, or not a desk-sync batch.
    Invalid(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::TooLarge { limit } => write!(
                f,
                "the batch inflates past the {} MB limit: send fewer changes at once",
                limit / (1024 * 1024)
            ),
            WireError::Invalid(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for WireError {}

fn invalid(e: impl std::fmt::Display) -> WireError {
    WireError::Invalid(e.to_string())
}

#[derive(Serialize, Deserialize)]
enum Id {
    Uuid([u8; 16]),
    Text(String),
}

impl Id {
    fn of(s: &str) -> Id {
        match parse_uuid(s) {
            Some(b) if format_uuid(&b) == s => Id::Uuid(b),
            _ => Id::Text(s.to_string()),
        }
    }
    fn text(self) -> String {
        match self {
            Id::Uuid(b) => format_uuid(&b),
            Id::Text(s) => s,
        }
    }
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|b| *b != b'-').collect();
    if s.len() != 36 || hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

fn format_uuid(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

#[derive(Serialize, Deserialize)]
struct WireField {
    field: String,
    /// The value as JSON text (postcard does not carry self-describing values).
    value: String,
    base: u64,
    /// A set edit (one byte when there is none).
    set: Option<WireSet>,
}

#[derive(Serialize, Deserialize)]
struct WireSet {
    add: Vec<String>,
    /// (element, device, sequence) of each dot removed.
    del: Vec<(String, String, i64)>,
}

#[derive(Serialize, Deserialize)]
struct WireChange {
    seq: i64,
    /// Index into the batch's device table.
    device: u32,
    dev_seq: i64,
    tx: i64,
    entity: String,
    record: Id,
    hlc: u64,
    schema_version: i64,
    fields: Vec<WireField>,
}

#[derive(Serialize, Deserialize)]
struct WireBatch {
    devices: Vec<String>,
    changes: Vec<WireChange>,
    purged: Vec<(String, Id)>,
    cursor: i64,
    more: bool,
}

fn to_wire(changes: &[Change]) -> (Vec<String>, Vec<WireChange>) {
    let mut devices: Vec<String> = Vec::new();
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let device = match devices.iter().position(|d| *d == c.device) {
            Some(i) => i,
            None => {
                devices.push(c.device.clone());
                devices.len() - 1
            }
        } as u32;
        out.push(WireChange {
            seq: c.seq,
            device,
            dev_seq: c.dev_seq,
            tx: c.tx,
            entity: c.entity.clone(),
            record: Id::of(&c.record),
            hlc: c.hlc.0,
            schema_version: c.schema_version,
            fields: c
                .fields
                .iter()
                .map(|f| WireField {
                    field: f.field.clone(),
                    value: f.value.to_string(),
                    base: f.base.0,
                    set: f.set.as_ref().map(|s| WireSet {
                        add: s.add.clone(),
                        del: s
                            .del
                            .iter()
                            .map(|d| (d.elem.clone(), d.dev.clone(), d.seq))
                            .collect(),
                    }),
                })
                .collect(),
        });
    }
    (devices, out)
}

fn from_wire(devices: &[String], changes: Vec<WireChange>) -> Result<Vec<Change>, WireError> {
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        let device = devices
            .get(c.device as usize)
            .ok_or_else(|| WireError::Invalid(format!("change {}: no device {}", c.seq, c.device)))?
            .clone();
        let mut fields = Vec::with_capacity(c.fields.len());
        for f in c.fields {
            let value = serde_json::from_str(&f.value).map_err(|e| {
                WireError::Invalid(format!("change {}: field {}: {e}", c.seq, f.field))
            })?;
            fields.push(FieldChange {
                field: f.field,
                value,
                base: Hlc(f.base),
                set: f.set.map(|s| SetOps {
                    add: s.add,
                    del: s
                        .del
                        .into_iter()
                        .map(|(elem, dev, seq)| Dot { elem, dev, seq })
                        .collect(),
                }),
            });
        }
        out.push(Change {
            seq: c.seq,
            device,
            dev_seq: c.dev_seq,
            tx: c.tx,
            entity: c.entity,
            record: c.record.text(),
            hlc: Hlc(c.hlc),
            schema_version: c.schema_version,
            fields,
        });
    }
    Ok(out)
}

/// (deflated, inflated length)
fn pack(batch: &WireBatch) -> Result<(Vec<u8>, usize), WireError> {
    let raw = postcard::to_allocvec(batch).map_err(invalid)?;
    let mut z = DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    z.write_all(&raw).map_err(invalid)?;
    let packed = z.finish().map_err(invalid)?;
    Ok((packed, raw.len()))
}

/// Inflates `bytes`, refusing past `limit` bytes without holding more than about `limit` (the
/// buffer grows as the data does, never past the limit, rather than doubling beyond it).
fn inflate(bytes: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    let mut z = DeflateDecoder::new(bytes);
    let mut raw: Vec<u8> = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match z.read(&mut chunk) {
            Ok(0) => return Ok(raw),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(WireError::Invalid(format!(
                    "the batch is not valid deflate data: {e}"
                )))
            }
        };
        if raw.len() + n > limit {
            return Err(WireError::TooLarge { limit });
        }
        if raw.capacity() - raw.len() < n {
            let grow = raw.capacity().max(n).min(limit - raw.len());
            raw.reserve_exact(grow);
        }
        raw.extend_from_slice(&chunk[..n]);
    }
}

fn unpack(bytes: &[u8], limit: usize) -> Result<WireBatch, WireError> {
    let raw = inflate(bytes, limit)?;
    postcard::from_bytes(&raw)
        .map_err(|e| WireError::Invalid(format!("the batch is not a valid desk-sync batch: {e}")))
}

/// A push body: the device's changes.
pub fn encode_push(device: &str, changes: &[Change]) -> Result<Vec<u8>, WireError> {
    Ok(encode_push_sized(device, changes)?.0)
}

/// [`encode_push`], and how large the batch is once inflated (what [`MAX_INFLATED`] limits).
pub fn encode_push_sized(device: &str, changes: &[Change]) -> Result<(Vec<u8>, usize), WireError> {
    let (mut devices, changes) = to_wire(changes);
    if devices.is_empty() {
        devices.push(device.to_string());
    }
    pack(&WireBatch {
        devices,
        changes,
        purged: Vec::new(),
        cursor: 0,
        more: false,
    })
}

/// Reads a push body: (device, changes). An empty batch names its device first.
pub fn decode_push(bytes: &[u8]) -> Result<(String, Vec<Change>), WireError> {
    read_push(bytes, MAX_INFLATED)
}

/// [`decode_push`] with the inflated size limited to `limit` bytes, telling a batch that is
/// too large ([`WireError::TooLarge`]) from one that is malformed.
pub fn read_push(bytes: &[u8], limit: usize) -> Result<(String, Vec<Change>), WireError> {
    let b = unpack(bytes, limit)?;
    let device = b
        .devices
        .first()
        .cloned()
        .ok_or_else(|| WireError::Invalid("the batch names no device".into()))?;
    let changes = from_wire(&b.devices, b.changes)?;
    Ok((device, changes))
}

/// A pull page's body (its `snapshot` travels in a header).
pub fn encode_page(p: &PullPage) -> Result<Vec<u8>, WireError> {
    let (devices, changes) = to_wire(&p.changes);
    Ok(pack(&WireBatch {
        devices,
        changes,
        purged: p
            .purged
            .iter()
            .map(|r| (r.entity.clone(), Id::of(&r.id)))
            .collect(),
        cursor: p.cursor,
        more: p.more,
    })?
    .0)
}

/// Reads a pull page's body (`snapshot` is 0: it travels in a header).
pub fn decode_page(bytes: &[u8]) -> Result<PullPage, WireError> {
    let b = unpack(bytes, MAX_PAGE_INFLATED)?;
    Ok(PullPage {
        changes: from_wire(&b.devices, b.changes)?,
        purged: b
            .purged
            .into_iter()
            .map(|(entity, id)| RecordRef {
                entity,
                id: id.text(),
            })
            .collect(),
        cursor: b.cursor,
        more: b.more,
        // Travels in the `x-desk-snapshot` header (this layout is fixed for older clients).
        snapshot: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::PullPage as PullReply;
    use serde_json::json;
    // (These tests were written when the codec answered with the client's error type.)
    use WireError as SyncError;

    fn change(i: i64) -> Change {
        Change {
            seq: 100 + i,
            device: "01a233b4-c525-7369-9564-f1fdef3213a0".into(),
            dev_seq: i,
            tx: i,
            entity: "contact".into(),
            record: format!("01a233b4-c52f-7695-bc69-47a546f1{:04x}", i),
            hlc: Hlc::new(1_790_000_000_000 + i as u64, 0),
            schema_version: 2,
            fields: vec![FieldChange {
                field: "title".into(),
                value: json!("Director-General"),
                base: Hlc::new(1_789_000_000_000, 3),
                set: None,
            }],
        }
    }

    #[test]
    fn batches_round_trip() {
        let changes: Vec<Change> = (1..=50).map(change).collect();
        let (device, back) =
            decode_push(&encode_push("d", &changes).expect("encode")).expect("decode");
        assert_eq!(
            (device.as_str(), &back),
            ("01a233b4-c525-7369-9564-f1fdef3213a0", &changes)
        );
        let mut odd = change(1);
        odd.record = "not-a-uuid".into();
        odd.fields[0].value = json!(["TH", {"k": null}, 1.5]);
        let page = PullReply {
            changes: vec![odd],
            purged: vec![RecordRef {
                entity: "meeting".into(),
                id: "01a233b4-c52f-7695-bc69-47a546f1e7d9".into(),
            }],
            cursor: 7,
            more: true,
            snapshot: 0,
        };
        assert_eq!(
            decode_page(&encode_page(&page).expect("encode")).expect("decode"),
            page
        );
        let (device, none) =
            decode_push(&encode_push("solo", &[]).expect("encode")).expect("decode");
        assert_eq!((device.as_str(), none.len()), ("solo", 0));
    }

    #[test]
    fn a_deflate_bomb_stops_at_the_limit() {
        // 8 MB of zeros deflates to a few KB.
        let mut z = DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 8 * 1024 * 1024]).expect("deflate");
        let bomb = z.finish().expect("finish");
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let err = read_push(&bomb, 1024 * 1024).err();
        assert_eq!(err, Some(WireError::TooLarge { limit: 1024 * 1024 }));
        let text = WireError::TooLarge {
            limit: MAX_INFLATED,
        }
        .to_string();
        assert!(text.contains("64 MB limit"), "{text}");
        // Within the limit it is read (and found not to be a batch).
        assert!(matches!(
            read_push(&bomb, 16 * 1024 * 1024),
            Err(WireError::Invalid(_))
        ));
        // A real batch passes exactly at its inflated size, and not one byte below it.
        let changes: Vec<Change> = (1..=20).map(change).collect();
        let (body, size) = encode_push_sized("d", &changes).expect("encode");
        assert!(read_push(&body, size).is_ok());
        assert_eq!(
            read_push(&body, size - 1).err(),
            Some(WireError::TooLarge { limit: size - 1 })
        );
    }

    #[test]
    fn garbage_is_a_clear_error() {
        for bad in [&b"not deflate"[..], &[0x03, 0x00][..]] {
            let err = decode_page(bad).expect_err("garbage");
            assert!(matches!(err, SyncError::Invalid(_)), "{err}");
        }
    }
}
