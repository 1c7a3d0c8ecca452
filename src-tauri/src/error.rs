//! What the UI receives when a command fails: `{kind, field, message}`, from whichever library
//! failed (the core, the keys, a briefing pack, sync). No error is worded here but the shell's
//! own two (a locked replica, a background task that did not finish).

use desk_core::ErrorKind;
use desk_keys::KeyError;
use serde::Serialize;

#[derive(Debug, Serialize, specta::Type)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub field: Option<String>,
    pub message: String,
}

impl From<desk_core::Error> for CommandError {
    fn from(e: desk_core::Error) -> Self {
        CommandError {
            kind: e.kind(),
            field: e.field().map(str::to_string),
            message: e.to_string(),
        }
    }
}

impl From<KeyError> for CommandError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Core(core) => core.into(),
            KeyError::Pin { field, .. } => CommandError {
                kind: if field == "idle_minutes" {
                    ErrorKind::Validation
                } else {
                    ErrorKind::WrongKey
                },
                field: Some(field.into()),
                message: e.to_string(),
            },
            KeyError::PassphraseNeeded => CommandError {
                kind: ErrorKind::WrongKey,
                field: Some("passphrase".into()),
                message: e.to_string(),
            },
            other => CommandError {
                kind: ErrorKind::Unavailable,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

impl From<desk_brief::Error> for CommandError {
    fn from(e: desk_brief::Error) -> Self {
        match e {
            desk_brief::Error::Replica(e) => e.into(),
            desk_brief::Error::Option { option, .. } => CommandError {
                kind: ErrorKind::Validation,
                field: Some(option.into()),
                message: e.to_string(),
            },
            desk_brief::Error::Write { .. } => CommandError {
                kind: ErrorKind::Unavailable,
                field: Some("path".into()),
                message: e.to_string(),
            },
            other => CommandError {
                kind: ErrorKind::Unavailable,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

/// A sync error as `desk_sync::explain` reads it.
impl From<desk_sync::SyncError> for CommandError {
    fn from(e: desk_sync::SyncError) -> Self {
        let p = desk_sync::explain::classify(&e);
        CommandError {
            kind: p.error_kind(),
            field: None,
            message: p.message,
        }
    }
}

/// The replica is not open yet.
pub fn locked() -> CommandError {
    CommandError {
        kind: ErrorKind::WrongKey,
        field: Some("passphrase".into()),
        message: "the replica is locked; unlock it first".into(),
    }
}

/// A background task that could not finish (it panicked or was cancelled).
pub fn joined(e: tauri::Error) -> CommandError {
    CommandError {
        kind: ErrorKind::Internal,
        field: None,
        message: e.to_string(),
    }
}
