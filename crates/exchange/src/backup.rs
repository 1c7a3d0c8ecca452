//! Whole-replica backup and restore as one JSON file (`desk export json` / `desk import json`).
//!
//! The file (format `secretariat-desk-backup`, version 1; documented in
//! `docs/design/exchange.md`) holds, readable by any JSON tool:
//! - `records`: every record of every entity, deleted ones included, with its fields — what a
//!   person or another program reads;
//! - `changes`: the replica's change log, oldest first, in the sync wire's JSON form — what a
//!   restore replays, through the same merge sync uses, so the restored replica is identical
//!   (record for record, field version for field version, search index included: compared by
//!   `desk dump`);
//! - with `--files`, `files`: every document file held, base64, with its SHA-256.
//!
//! A restore goes only into an empty replica, checks every file's SHA-256 and every record
//! against what the replay made before it reports success, and writes nothing when the file is
//! not a backup, is of a newer format, or is damaged. A replica holding restricted records is
//! exported only when the caller says so (`include_restricted`), and the file says how many.

use base64::Engine;
use desk_core::{Change, Entity, Fields, ListQuery, Replica};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` of every backup file.
pub const FORMAT: &str = "secretariat-desk-backup";
/// The version of the format this build writes and the newest it reads.
pub const VERSION: u32 = 1;
/// The largest backup file a restore reads (a large replica with its files).
pub const MAX_BACKUP_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A backup file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub version: u32,
    /// The replica schema the records are in.
    pub schema_version: i64,
    pub exported_at: String,
    /// The device whose replica this was.
    pub device: String,
    /// Records classified `restricted` in it.
    pub restricted: usize,
    /// Changes made on that device that its sync server had not yet acknowledged: they are in
    /// `changes`, but a restored replica does not send them (see the module documentation).
    pub unsent: usize,
    /// Records per entity (deleted ones included).
    pub counts: BTreeMap<String, usize>,
    /// Every record, by entity.
    pub records: BTreeMap<String, Vec<BackupRecord>>,
    /// The change log, oldest first.
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<BackupFile>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    pub id: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    pub fields: Fields,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupFile {
    pub sha256: String,
    pub size: usize,
    /// Base64 (standard alphabet, padded).
    pub data: String,
}

/// Why a backup was not written or not restored. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("this replica holds {0} restricted records: a backup would carry them; say so explicitly (desk export json --include-restricted) and keep the file as you keep them")]
    Restricted(usize),
    #[error(
        "restore goes into an empty replica only; this one holds records (use a new --data-dir)"
    )]
    NotEmpty,
    #[error("not a Secretariat Desk backup: {0}")]
    NotABackup(String),
    #[error("this backup is format version {0}; this build reads up to version {VERSION}: update the desk")]
    TooNew(u32),
    #[error("this backup is of replica schema {0}; this build knows up to {1}: update the desk")]
    SchemaTooNew(i64, i64),
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Replica(#[from] desk_core::Error),
}

/// Reads the whole replica into a backup; `files` adds every document file held.
pub fn export(r: &Replica, files: bool, include_restricted: bool) -> Result<Backup, BackupError> {
    let mut records = BTreeMap::new();
    let mut counts = BTreeMap::new();
    let mut restricted = 0;
    for e in Entity::ALL {
        let all = r.list(
            e,
            &ListQuery {
                include_deleted: true,
                ..ListQuery::default()
            },
        )?;
        restricted += all
            .iter()
            .filter(|rec| rec.str("classification") == Some("restricted"))
            .count();
        counts.insert(e.name().to_string(), all.len());
        let mut list: Vec<BackupRecord> = all
            .into_iter()
            .map(|rec| BackupRecord {
                id: rec.id,
                deleted: rec.deleted,
                fields: rec.fields,
            })
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        records.insert(e.name().to_string(), list);
    }
    if restricted > 0 && !include_restricted {
        return Err(BackupError::Restricted(restricted));
    }
    let mut changes = Vec::new();
    let mut after = 0;
    loop {
        let page = r.changes(after, 10_000)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        changes.extend(page);
    }
    let mut out_files = Vec::new();
    if files {
        for sha in r.held_blobs()? {
            let data = r.read_blob(&sha, 0, usize::MAX, false)?;
            out_files.push(BackupFile {
                sha256: sha,
                size: data.len(),
                data: base64::engine::general_purpose::STANDARD.encode(&data),
            });
        }
    }
    Ok(Backup {
        format: FORMAT.into(),
        version: VERSION,
        schema_version: r.schema_version(),
        exported_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        device: r.device_id().to_string(),
        restricted,
        unsent: r.outbox_len()?,
        counts,
        records,
        changes,
        files: out_files,
    })
}

/// Writes a backup as JSON (pretty enough to read: one record or change per line would be
/// ideal, but a plain compact document keeps large replicas small).
pub fn to_json(b: &Backup) -> Vec<u8> {
    serde_json::to_vec(b).unwrap_or_default()
}

/// Reads a backup file's bytes, checking its format and version.
pub fn from_json(bytes: &[u8]) -> Result<Backup, BackupError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        BackupError::NotABackup(format!(
            "not JSON ({e}); a truncated file ends early — line {}, column {}",
            e.line(),
            e.column()
        ))
    })?;
    match v.get("format").and_then(serde_json::Value::as_str) {
        Some(FORMAT) => {}
        Some(other) => {
            return Err(BackupError::NotABackup(format!(
                "its format is \"{other}\""
            )))
        }
        None => return Err(BackupError::NotABackup("it has no \"format\"".into())),
    }
    let version = v
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| BackupError::NotABackup("it has no \"version\"".into()))?;
    if version > u64::from(VERSION) {
        return Err(BackupError::TooNew(
            u32::try_from(version).unwrap_or(u32::MAX),
        ));
    }
    serde_json::from_value(v).map_err(|e| BackupError::Damaged(e.to_string()))
}

/// What a restore brought back.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Restored {
    pub records: usize,
    pub changes: usize,
    pub files: usize,
    pub restricted: usize,
    pub unsent: usize,
}

/// Restores `b` into the empty replica `r` (see the module documentation).
pub fn restore(r: &mut Replica, b: &Backup) -> Result<Restored, BackupError> {
    if r.holds_records()? {
        return Err(BackupError::NotEmpty);
    }
    if b.schema_version > r.schema_version() {
        return Err(BackupError::SchemaTooNew(
            b.schema_version,
            r.schema_version(),
        ));
    }
    // Files first checked whole, so a damaged one stops the restore before anything is written.
    let mut files = Vec::with_capacity(b.files.len());
    for f in &b.files {
        let data = base64::engine::general_purpose::STANDARD
            .decode(f.data.as_bytes())
            .map_err(|e| BackupError::Damaged(format!("file {}: {e}", f.sha256)))?;
        if data.len() != f.size || desk_core::blobs::sha256_hex(&data) != f.sha256 {
            return Err(BackupError::Damaged(format!(
                "file {} does not match its SHA-256 or size",
                f.sha256
            )));
        }
        files.push(data);
    }
    r.apply_pull(&b.changes, &[], None)?;
    // The replay must have made exactly the records listed; otherwise the file was edited or
    // damaged, and the replica (empty before) is emptied again.
    if let Err(e) = check(r, b) {
        r.wipe()?;
        return Err(e);
    }
    for data in &files {
        r.put_blob(data)?;
    }
    Ok(Restored {
        records: b.records.values().map(Vec::len).sum(),
        changes: b.changes.len(),
        files: files.len(),
        restricted: b.restricted,
        unsent: b.unsent,
    })
}

/// Whether the replica holds exactly the records `b` lists.
fn check(r: &Replica, b: &Backup) -> Result<(), BackupError> {
    for (entity, list) in &b.records {
        let e = Entity::parse(entity)
            .ok_or_else(|| BackupError::Damaged(format!("unknown entity \"{entity}\"")))?;
        for rec in list {
            let have = r.get(e, &rec.id).map_err(|_| {
                BackupError::Damaged(format!(
                    "{entity} {} is listed but not in the change log",
                    rec.id
                ))
            })?;
            if have.deleted != rec.deleted || have.fields != rec.fields {
                return Err(BackupError::Damaged(format!(
                    "{entity} {} differs from what its change log makes",
                    rec.id
                )));
            }
        }
        let sql = format!("SELECT count(*) FROM {}", e.desc().table);
        let n: i64 = r
            .reader()
            .query_row(&sql, [], |row| row.get(0))
            .map_err(desk_core::Error::from)?;
        if n as usize != list.len() {
            return Err(BackupError::Damaged(format!(
                "the change log makes {n} {entity} records, the file lists {}",
                list.len()
            )));
        }
    }
    Ok(())
}
