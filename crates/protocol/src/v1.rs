//! Version 1 of the sync wire: every type a client and the server exchange, defined once (see
//! `docs/openapi.yaml`, which shows the JSON of each). Serde only: the binary codec is in
//! [`crate::wire`], the transport and the server elsewhere.
//!
//! The JSON field names are the contract (clients and servers of every version read them; the
//! OpenAPI fuzzing checks them): never rename one. The binary layout is [`crate::wire`]'s own.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of the change log: the field changes one device made to one record in one
/// transaction, all stamped with the same clock. `(device, dev_seq)` identifies it everywhere.
/// Grouping a record's fields per transaction (rather than a row per field) keeps the log, the
/// write path and the wire small; each field still merges on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: i64,
    pub device: String,
    pub dev_seq: i64,
    pub tx: i64,
    pub entity: String,
    pub record: String,
    pub hlc: Hlc,
    pub schema_version: i64,
    pub fields: Vec<FieldChange>,
}

/// A record named by its entity (change-log name) and id: what a purge removes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordRef {
    pub entity: String,
    pub id: String,
}

/// A field's new value, and the version of the field the editor had seen (zero on create).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub value: Value,
    pub base: Hlc,
    /// For an edit of a set field (add-wins sets, see `desk_core::sets`): what it added and
    /// removed; `value` is then the list as its editor saw it afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<SetOps>,
}

/// An add-wins set edit: elements added (each dotted with the change's own device and
/// sequence) and the dots removed (only those the editor had seen: a concurrent add survives).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetOps {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub del: Vec<Dot>,
}

/// One add of a set element: the element, and the device and sequence of the change that
/// added it (for a value written whole, without set edits: its writer's).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    pub elem: String,
    pub dev: String,
    pub seq: i64,
}

/// `POST /v1/push` as JSON: a device's changes, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub device: String,
    pub changes: Vec<Change>,
}

/// The server's answer to a push: every change of this device up to `acked` is durably stored
/// (merged, or — for records its user can no longer see — kept aside for review).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PushAnswer {
    pub acked: i64,
    /// Changes to records out of the user's scope, kept for the secretariat to review.
    #[serde(default)]
    pub quarantined: usize,
    /// Changes whose clock was implausibly far ahead, stamped again by the server.
    #[serde(default)]
    pub restamped: usize,
}

/// Something a device did that the server's audit log must show (a briefing pack made, the
/// replica's key changed), recorded on the device even offline and sent with its next sync
/// (`POST /v1/audit`). `seq` numbers the device's events (a repeat is kept once); `at` is the
/// device's clock (ms since 1970), which the server keeps beside its own time of receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub detail: String,
}

/// What a device may report (anything else is refused whole).
pub const AUDIT_ACTIONS: &[&str] = &["pack", "rekey"];
/// The most events in one `POST /v1/audit`.
pub const AUDIT_BATCH: usize = 200;
/// The longest detail of one event (characters).
pub const AUDIT_DETAIL_MAX: usize = 1_000;

/// `POST /v1/audit`: a device's events, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRequest {
    pub events: Vec<AuditEvent>,
}

/// Every event of the device up to `acked` is in the server's audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnswer {
    pub acked: i64,
}

/// `POST /v1/device-key`: the public half (hex, 32 bytes) of the key this device signs its
/// hand-carried bundles with; sent by a sync round until the server has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKeyRequest {
    pub public_key: String,
}

/// `GET /v1/policy`: what the server asks of its devices. `lease_days`: how many days a device
/// may go without reaching the server before the app locks its replica (none: no lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Policy {
    pub lease_days: Option<u32>,
}

/// `POST /v1/authors`: the users of devices named in the change log (a record's history by
/// person). At most [`AUTHORS_MAX`] devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorsRequest {
    pub devices: Vec<String>,
}

/// The most devices one `POST /v1/authors` may ask about.
pub const AUTHORS_MAX: usize = 500;

/// (device id, its user) for each asked-about device the server knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorsAnswer {
    pub authors: Vec<(String, String)>,
}

/// A page of the server's history after a cursor, as one device may see it (`GET /v1/pull`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PullPage {
    pub changes: Vec<Change>,
    /// Records this device may no longer hold (removed with their children and history,
    /// before `changes` apply: a record lost and regained within a page is purged, then
    /// comes back whole from its history in `changes`).
    #[serde(default)]
    pub purged: Vec<RecordRef>,
    /// The server sequence the device has now seen up to (the cursor to ask after next).
    pub cursor: i64,
    pub more: bool,
    /// While a device's initial sync lasts: the server sequence it reads as a snapshot (pass
    /// it back with the next pull); 0 once past it. It travels in the [`SNAPSHOT_HEADER`]
    /// header, not in the body.
    #[serde(skip)]
    pub snapshot: i64,
}

/// `POST /v1/login`: a user signs a device in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
    pub device: String,
}

/// The answer to a sign-in: the device's bearer token, the user's role (as `Role::parse`
/// reads it) and when the token expires (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAnswer {
    pub token: String,
    pub role: String,
    pub expires: i64,
}

/// A digest of the records a user may see, to detect divergence: the server's over what the
/// user's role may see at `head`, the replica's over what it holds (`GET /v1/checksum`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// The server sequence it describes (a replica compares only when its cursor is here).
    pub head: i64,
    pub records: u64,
    /// SHA-256 over every record (entity, id, fields, times, deleted), by entity then id.
    pub digest: String,
}

/// Every error answer's body: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable code for programs (`docs/openapi.yaml` lists them) and a
/// sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// Why a request's token was not accepted (401, with [`Denied::code`] as the error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No such token (never issued, or replaced by a newer sign-in).
    Unknown,
    Expired,
    /// The device (or its user) was revoked: the device wipes its replica.
    Revoked,
}

impl Denied {
    pub fn code(self) -> &'static str {
        match self {
            Denied::Unknown => "unauthenticated",
            Denied::Expired => "expired",
            Denied::Revoked => "revoked",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            Denied::Unknown => "not signed in (or signed in again elsewhere): run `desk login`",
            Denied::Expired => "the sign-in has expired: run `desk login` again",
            Denied::Revoked => "this device's access was revoked",
        }
    }
}

/// The request header that tells the server which schema the client speaks (a client too old
/// for the server is refused with 426 before anything is stored).
pub const SCHEMA_HEADER: &str = "x-desk-schema";

/// The response header naming an initial sync's snapshot sequence (binary and JSON alike).
pub const SNAPSHOT_HEADER: &str = "x-desk-snapshot";

/// What a first pull passes as its snapshot to ask for one.
pub const START_SNAPSHOT: i64 = -1;
