//! What can go wrong on the server: one error type for the hub, its stores and accounts
//! ([`HubError`]); `lib.rs` turns each into an HTTP status and the wire's error body.
//!
//! Its variants carry the same names and messages as the client's `desk_sync::SyncError` for
//! the same situations (a client decodes the error body back into those), but the two types
//! are separate: the server does not link the client.

use desk_protocol::v1::Denied;
use desk_protocol::wire::WireError;

#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    Replica(#[from] desk_core::Error),
    /// A change was refused as a whole (it names which and why); nothing of the batch was
    /// stored.
    #[error("the server refused the change {device}/{dev_seq}: {message}")]
    Refused {
        device: String,
        dev_seq: i64,
        message: String,
    },
    /// The token was not accepted (see [`Denied`]).
    #[error("{1}")]
    Denied(Denied, String),
    /// A change names a record its user may not see (or would create one they could not).
    #[error("out of scope: {0}")]
    OutOfScope(String),
    /// The user's role does not allow the change (a partner writing, a focal point
    /// reclassifying).
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The user's role changed: the device pulls again from zero under the new one.
    #[error("the user's role changed: pull again from the start")]
    Rescope,
    /// The client is older than the server accepts.
    #[error("{0}")]
    UpgradeRequired(String),
    /// No such thing that this user may see (a file no visible document names).
    #[error("not found: {0}")]
    NotFound(String),
    /// A sign-in named a device registered to another user.
    #[error("{0}")]
    DeviceTaken(String),
    /// A pushed change is malformed: a value no local edit could store, an unknown field, a
    /// new record without a required field. The message names the change and the field;
    /// nothing of the batch was stored.
    #[error("{0}")]
    BadChange(String),
    /// Past one of the server's limits (a file's size, a user's quota): `.0` is the code.
    #[error("{1}")]
    Limit(&'static str, String),
    /// The request does not fit the device's state (confirming a wipe it was never asked
    /// for): `.0` is the code.
    #[error("{1}")]
    Conflict(&'static str, String),
    /// Bad input (a request, a user name, a password).
    #[error("{0}")]
    Invalid(String),
    /// The server's store failed (PostgreSQL unreachable, a disk error): nothing was stored.
    #[error("the server's store failed: {0}")]
    Store(String),
}

impl From<desk_core::rusqlite::Error> for HubError {
    fn from(e: desk_core::rusqlite::Error) -> HubError {
        HubError::Replica(desk_core::Error::from(e))
    }
}

impl From<WireError> for HubError {
    fn from(e: WireError) -> HubError {
        HubError::Invalid(e.to_string())
    }
}
