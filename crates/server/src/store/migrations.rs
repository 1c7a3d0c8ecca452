//! The server's own tables (accounts, devices, audit, quarantine, files; in PostgreSQL also
//! the history and the files' bytes), created and changed only here, version by version, like
//! the replica's (`crates/core/src/migrations.rs`). Each step is written for both stores; the
//! version reached is kept in `srv_meta` (key `format`). A store written by a newer server is
//! refused before anything in it is touched.
//!
//! Never edit a released step: add one. Steps run in one transaction with the version they
//! reach, so a failed step changes nothing.

use super::Sql;
use crate::error::HubError;

/// What a migration needs of a store's connection beyond [`Sql`]: running several statements
/// at once (a step's DDL).
pub(crate) trait Migrate: Sql {
    fn batch(&mut self, sql: &str) -> Result<(), HubError>;
}

/// Which SQL a step is run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// One version of the server's tables: the same change in each store's SQL.
struct Step {
    sqlite: &'static str,
    postgres: &'static str,
}

/// Where the version is kept (the same SQL in both stores; PostgreSQL stores made before these
/// migrations already have it, at version 1).
const META: &str =
    "CREATE TABLE IF NOT EXISTS srv_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

/// Version 1: the tables as the first servers made them (`IF NOT EXISTS`: stores made before
/// versions were kept already hold them).
const V1_SQLITE: &str = "\
CREATE TABLE IF NOT EXISTS srv_user (name TEXT PRIMARY KEY, password TEXT NOT NULL, \
  role TEXT NOT NULL, created INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srv_device (id TEXT PRIMARY KEY, user TEXT NOT NULL, \
  token TEXT UNIQUE, issued INTEGER NOT NULL, expires INTEGER NOT NULL, \
  revoked INTEGER NOT NULL DEFAULT 0, last_seen INTEGER, rescope INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srv_audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, \
  user TEXT, device TEXT, action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS srv_quarantine (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, \
  device TEXT NOT NULL, dev_seq INTEGER NOT NULL, entity TEXT NOT NULL, record TEXT NOT NULL, \
  reason TEXT NOT NULL, change TEXT NOT NULL, UNIQUE (device, dev_seq));
CREATE TABLE IF NOT EXISTS srv_file_claim (document TEXT NOT NULL, sha256 TEXT NOT NULL, \
  \"user\" TEXT NOT NULL, PRIMARY KEY (document, sha256, \"user\"));
CREATE INDEX IF NOT EXISTS srv_file_claim_sha ON srv_file_claim (sha256);
CREATE TABLE IF NOT EXISTS srv_file_holder (sha256 TEXT NOT NULL, \"user\" TEXT NOT NULL, \
  PRIMARY KEY (sha256, \"user\"));
CREATE TABLE IF NOT EXISTS srv_upload (sha256 TEXT NOT NULL, \"user\" TEXT NOT NULL, \
  size BIGINT NOT NULL, have BIGINT NOT NULL, touched BIGINT NOT NULL, \
  PRIMARY KEY (sha256, \"user\"));
CREATE TABLE IF NOT EXISTS srv_upload_chunk (sha256 TEXT NOT NULL, \"user\" TEXT NOT NULL, \
  \"offset\" BIGINT NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, \"user\", \"offset\"));
";

/// Version 1 in PostgreSQL: the history and the files' bytes (`blob`, `blob_chunk`: in SQLite
/// the replica's own tables) live here too.
const V1_POSTGRES: &str = "\
CREATE TABLE IF NOT EXISTS srv_change (seq BIGINT PRIMARY KEY, device TEXT NOT NULL, \
  dev_seq BIGINT NOT NULL, body TEXT NOT NULL, UNIQUE (device, dev_seq));
CREATE TABLE IF NOT EXISTS srv_user (name TEXT PRIMARY KEY, password TEXT NOT NULL, \
  role TEXT NOT NULL, created BIGINT NOT NULL, disabled BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srv_device (id TEXT PRIMARY KEY, \"user\" TEXT NOT NULL, \
  token TEXT UNIQUE, issued BIGINT NOT NULL, expires BIGINT NOT NULL, \
  revoked BIGINT NOT NULL DEFAULT 0, last_seen BIGINT, rescope BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srv_audit (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, \
  \"user\" TEXT, device TEXT, action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS srv_quarantine (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, \
  device TEXT NOT NULL, dev_seq BIGINT NOT NULL, entity TEXT NOT NULL, record TEXT NOT NULL, \
  reason TEXT NOT NULL, change TEXT NOT NULL, UNIQUE (device, dev_seq));
CREATE TABLE IF NOT EXISTS blob (sha256 TEXT PRIMARY KEY, size BIGINT NOT NULL, \
  have BIGINT NOT NULL DEFAULT 0, complete BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS blob_chunk (sha256 TEXT NOT NULL, \"offset\" BIGINT NOT NULL, \
  data BYTEA NOT NULL, PRIMARY KEY (sha256, \"offset\"));
CREATE TABLE IF NOT EXISTS srv_file_claim (document TEXT NOT NULL, sha256 TEXT NOT NULL, \
  \"user\" TEXT NOT NULL, PRIMARY KEY (document, sha256, \"user\"));
CREATE INDEX IF NOT EXISTS srv_file_claim_sha ON srv_file_claim (sha256);
CREATE TABLE IF NOT EXISTS srv_file_holder (sha256 TEXT NOT NULL, \"user\" TEXT NOT NULL, \
  PRIMARY KEY (sha256, \"user\"));
CREATE TABLE IF NOT EXISTS srv_upload (sha256 TEXT NOT NULL, \"user\" TEXT NOT NULL, \
  size BIGINT NOT NULL, have BIGINT NOT NULL, touched BIGINT NOT NULL, \
  PRIMARY KEY (sha256, \"user\"));
CREATE TABLE IF NOT EXISTS srv_upload_chunk (sha256 TEXT NOT NULL, \"user\" TEXT NOT NULL, \
  \"offset\" BIGINT NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (sha256, \"user\", \"offset\"));
";

/// Version 2: when a revoked device confirmed its wipe; the device's own number of an audit
/// record it sent (so a record sent twice is kept once); the numbers of the last bundles taken
/// from and made for a device, the pull cursor and the files wanted its last bundle carried, and
/// the public key its bundles are signed with (sync by hand-carried file).
const V2: &str = "\
ALTER TABLE srv_device ADD COLUMN wiped BIGINT;
ALTER TABLE srv_device ADD COLUMN bundle_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE srv_device ADD COLUMN bundle_out BIGINT NOT NULL DEFAULT 0;
ALTER TABLE srv_device ADD COLUMN bundle_cursor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE srv_device ADD COLUMN bundle_wanted TEXT;
ALTER TABLE srv_device ADD COLUMN sign_key TEXT;
ALTER TABLE srv_audit ADD COLUMN origin_seq BIGINT;
CREATE UNIQUE INDEX IF NOT EXISTS srv_audit_origin ON srv_audit (device, origin_seq) \
  WHERE origin_seq IS NOT NULL;
";

const STEPS: &[Step] = &[
    Step {
        sqlite: V1_SQLITE,
        postgres: V1_POSTGRES,
    },
    Step {
        sqlite: V2,
        postgres: V2,
    },
];

/// The version of the server's tables this build writes.
pub const VERSION: i64 = STEPS.len() as i64;

/// The version `db`'s tables are at (0: none yet). Unreadable counts as newer than any.
fn version(db: &mut dyn Migrate) -> Result<i64, HubError> {
    let rows = db.rows("SELECT value FROM srv_meta WHERE key = 'format'", &[])?;
    match rows.first() {
        None => Ok(0),
        Some(r) => Ok(r.text(0)?.trim().parse::<i64>().unwrap_or(i64::MAX)),
    }
}

/// Brings the server's tables in `db` (inside a transaction the caller commits) up to
/// [`VERSION`]; `shown` names the store in the error for one written by a newer server.
pub(crate) fn run(db: &mut dyn Migrate, dialect: Dialect, shown: &str) -> Result<(), HubError> {
    db.batch(META)?;
    let at = version(db)?;
    if at > VERSION {
        let layout = if at == i64::MAX {
            "an unknown layout".to_string()
        } else {
            format!("layout {at}")
        };
        return Err(HubError::Store(format!(
            "{shown} was written by a newer desk-server ({layout}; this one knows up to \
             {VERSION}): upgrade this server"
        )));
    }
    for (i, step) in STEPS.iter().enumerate().skip(at.max(0) as usize) {
        db.batch(match dialect {
            Dialect::Sqlite => step.sqlite,
            Dialect::Postgres => step.postgres,
        })?;
        db.exec(
            "INSERT INTO srv_meta (key, value) VALUES ('format', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[(i as i64 + 1).to_string().into()],
        )?;
    }
    Ok(())
}
