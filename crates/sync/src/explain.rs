//! One reading of a sync error for every front end: what kind of problem it is, what to tell
//! the person, whether trying again can help, and whether the app's background loop must stop
//! until someone acts. The `desk` CLI turns the kind into an exit code, the desktop app into an
//! error kind for the UI, the background loop into "offline, retrying" or "stopped".

use crate::{Denied, SyncError};
use desk_core::ErrorKind;
use serde::Serialize;

/// What kind of problem a sync error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trouble {
    /// The server could not be reached, or answered with a passing failure: try again later.
    Offline,
    /// The server's own store failed; nothing was stored: try again later.
    ServerFailed,
    /// Something failed in the local replica (the error names it).
    Local,
    /// The user's role changed: the device pulls again from the start (the next round does it).
    Rescope,
    /// Not signed in, or the sign-in expired: sign in again.
    SignedOut,
    /// This device's access was revoked.
    Revoked,
    /// This program is older than the server accepts: update it (the outbox waits).
    Upgrade,
    /// The server refused what was sent or asked (scope, permission, a malformed change, a
    /// device of another user): trying again unchanged cannot help.
    Refused,
    /// Bad input, something the user may not see, or past one of the server's limits.
    Invalid,
}

/// A sync error as front ends present it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub trouble: Trouble,
    /// A stable code for programs (the server's error code where there is one: `expired`,
    /// `out_of_scope`, `quota_exceeded`…; otherwise `offline`, `local`, `server_store`,
    /// `rescope`).
    pub code: &'static str,
    /// What happened, in words a person can act on.
    pub message: String,
    /// Whether running again, unchanged, may succeed.
    pub retry: bool,
    /// Whether the background loop stops until a person acts (rather than backing off).
    pub fatal: bool,
    /// For [`Trouble::Local`]: the replica error's own kind.
    #[serde(skip)]
    pub local: Option<ErrorKind>,
}

impl Problem {
    /// The category the desktop UI switches on: unreachable → unavailable, signed out or
    /// revoked → wrong key, a local error → its own kind, anything else → validation.
    pub fn error_kind(&self) -> ErrorKind {
        match self.trouble {
            Trouble::Local => self.local.unwrap_or(ErrorKind::Internal),
            Trouble::Offline => ErrorKind::Unavailable,
            Trouble::SignedOut | Trouble::Revoked => ErrorKind::WrongKey,
            _ => ErrorKind::Validation,
        }
    }
}

/// The one classification of sync errors.
pub fn classify(e: &SyncError) -> Problem {
    let (trouble, code, local) = match e {
        SyncError::Network(_) => (Trouble::Offline, "offline", None),
        SyncError::Store(_) => (Trouble::ServerFailed, "server_store", None),
        SyncError::Replica(core) => (Trouble::Local, "local", Some(core.kind())),
        SyncError::Rescope => (Trouble::Rescope, "rescope", None),
        SyncError::Denied(d, _) => (
            match d {
                Denied::Revoked => Trouble::Revoked,
                Denied::Unknown | Denied::Expired => Trouble::SignedOut,
            },
            d.code(),
            None,
        ),
        SyncError::UpgradeRequired(_) => (Trouble::Upgrade, "upgrade_required", None),
        SyncError::Refused { .. } => (Trouble::Refused, "refused", None),
        SyncError::OutOfScope(_) => (Trouble::Refused, "out_of_scope", None),
        SyncError::NotPermitted(_) => (Trouble::Refused, "not_permitted", None),
        SyncError::BadChange(_) => (Trouble::Refused, "invalid_change", None),
        SyncError::DeviceTaken(_) => (Trouble::Refused, "device_taken", None),
        SyncError::Invalid(_) => (Trouble::Invalid, "invalid", None),
        SyncError::NotFound(_) => (Trouble::Invalid, "not_found", None),
        SyncError::Limit(code, _) => (Trouble::Invalid, *code, None),
    };
    // Passing troubles: the background loop backs off and tries again.
    let retry = matches!(
        trouble,
        Trouble::Offline | Trouble::ServerFailed | Trouble::Local | Trouble::Rescope
    );
    Problem {
        trouble,
        code,
        message: e.to_string(),
        retry,
        fatal: !retry,
        local,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passing_troubles_are_retried_and_refusals_stop_the_loop() {
        let offline = classify(&SyncError::Network("no route".into()));
        assert_eq!(
            (offline.trouble, offline.retry, offline.fatal),
            (Trouble::Offline, true, false)
        );
        assert_eq!(offline.error_kind(), ErrorKind::Unavailable);
        let expired = classify(&SyncError::Denied(Denied::Expired, "expired".into()));
        assert_eq!(
            (expired.trouble, expired.code, expired.fatal),
            (Trouble::SignedOut, "expired", true)
        );
        assert_eq!(expired.error_kind(), ErrorKind::WrongKey);
        let quota = classify(&SyncError::Limit("quota_exceeded", "full".into()));
        assert_eq!((quota.code, quota.fatal), ("quota_exceeded", true));
        let local = classify(&SyncError::Replica(desk_core::Error::UnknownEntity(
            "x".into(),
        )));
        assert_eq!(
            (local.fatal, local.error_kind()),
            (false, ErrorKind::Validation)
        );
        assert_eq!(
            classify(&SyncError::UpgradeRequired("update".into())).message,
            "update"
        );
    }
}
