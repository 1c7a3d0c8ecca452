//! Errors of the core. Display says what failed in words a user can act on; `kind()` gives the
//! small stable category the UI and the CLI switch on.

use serde::Serialize;

/// The stable category of an error, for the UI and for `--json` output.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Validation,
    NotFound,
    WrongKey,
    Unavailable,
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: names the entity and the field, and says what was wrong. Nothing was written.
    #[error("{entity}.{field}: {message}")]
    Validation {
        entity: &'static str,
        field: String,
        message: String,
    },
    /// Bad input in one row of a batch (import, bulk create). Nothing of the batch was written.
    #[error("row {row}: {source}")]
    InRow {
        row: usize,
        #[source]
        source: Box<Error>,
    },
    #[error("no {entity} with id {id}")]
    NotFound { entity: &'static str, id: String },
    #[error("{entity} {id} is deleted; restore it first")]
    Deleted { entity: &'static str, id: String },
    #[error("unknown entity '{0}'")]
    UnknownEntity(String),
    /// The key or passphrase does not open this replica. The file was not touched.
    #[error("the key or passphrase does not open the replica at {path}")]
    WrongKey { path: String },
    #[error("no replica at {path}; run `desk init` first")]
    NoReplica { path: String },
    #[error("the replica at {path} has schema version {found}, newer than this program knows ({known}); upgrade Secretariat Desk")]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("malformed change log entry {seq}: {message}")]
    BadChange { seq: i64, message: String },
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Validation { .. } | Error::UnknownEntity(_) | Error::Deleted { .. } => {
                ErrorKind::Validation
            }
            Error::InRow { source, .. } => source.kind(),
            Error::NotFound { .. } | Error::NoReplica { .. } => ErrorKind::NotFound,
            Error::WrongKey { .. } => ErrorKind::WrongKey,
            Error::SchemaTooNew { .. } | Error::Io { .. } => ErrorKind::Unavailable,
            Error::BadChange { .. } | Error::Db(_) => ErrorKind::Internal,
        }
    }

    /// The offending field, where there is one (for the UI to highlight it).
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Validation { field, .. } => Some(field),
            Error::InRow { source, .. } => source.field(),
            _ => None,
        }
    }

    pub(crate) fn invalid(entity: &'static str, field: &str, message: impl Into<String>) -> Self {
        Error::Validation {
            entity,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
