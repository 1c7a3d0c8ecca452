//! Where the hub keeps what it must not lose: the history of accepted changes, the
//! per-device high-water marks, accounts, the audit log, changes kept aside and files.
//!
//! One trait, two stores:
//! - [`SqliteStore`] (the default: `desk-server` with no flags): everything in one encrypted
//!   replica file — the merged records, the change log that is the history, and the server's
//!   own tables beside them, all written in one SQLite transaction.
//! - [`PgStore`] (`--db postgres://…`): the history, marks, accounts, audit,
//!   quarantine and files in PostgreSQL; the merged records are a *working copy* derived from
//!   that history (an encrypted scratch replica, rebuilt on start), because the merged state is
//!   a pure function of the history. See `docs/design/server-stores.md`.
//!
//! The server's own tables are reached through [`Sql`], a deliberately small SQL interface
//! (`$1`-style parameters, integers, text and bytes) that both databases speak, so accounts,
//! audit, quarantine and files are one piece of code whichever store holds them. They are
//! created and changed only by [`migrations`], version by version, in both stores.

use crate::error::HubError;
use desk_core::hlc::Hlc;
use desk_core::{BlobStatus, Change, Replica};

pub mod migrations;
pub mod postgres;
mod sqlite;

pub use self::postgres::{PgStore, PgTables};
pub use self::sqlite::SqliteStore;

/// What a store's transaction returns to the database library to make it roll back when the
/// work inside failed: the real error is kept aside and returned once the rollback is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rollback;

impl std::fmt::Display for Rollback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rolled back: the work inside the transaction failed")
    }
}

impl std::error::Error for Rollback {}

impl Rollback {
    /// As the SQLite library's error (what its transaction callbacks return), carried in the
    /// one variant of it that holds an error of our own.
    pub(crate) fn sqlite() -> desk_core::rusqlite::Error {
        desk_core::rusqlite::Error::ToSqlConversionFailure(Box::new(Rollback))
    }
}

/// A value bound to or read from a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::Int(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::Int(i64::from(v))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::Text(v.to_string())
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::Text(v)
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::Text(v.clone())
    }
}
impl From<&[u8]> for Val {
    fn from(v: &[u8]) -> Val {
        Val::Bytes(v.to_vec())
    }
}
impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map_or(Val::Null, Into::into)
    }
}

/// One row of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<Val>);

fn column(i: usize, what: &str) -> HubError {
    HubError::Store(format!("column {i} of a result is not {what}"))
}

impl Row {
    pub fn int(&self, i: usize) -> Result<i64, HubError> {
        match self.0.get(i) {
            Some(Val::Int(v)) => Ok(*v),
            _ => Err(column(i, "an integer")),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, HubError> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn flag(&self, i: usize) -> Result<bool, HubError> {
        self.int(i).map(|v| v != 0)
    }
    pub fn text(&self, i: usize) -> Result<String, HubError> {
        match self.0.get(i) {
            Some(Val::Text(v)) => Ok(v.clone()),
            _ => Err(column(i, "text")),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, HubError> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, HubError> {
        match self.0.get(i) {
            Some(Val::Bytes(v)) => Ok(v.clone()),
            _ => Err(column(i, "bytes")),
        }
    }
}

/// The SQL both stores speak for the server's own tables: `$1`, `$2`… parameters; integer,
/// text and byte columns (flags are integers); `ON CONFLICT` upserts; identifiers that are
/// keywords somewhere (`"user"`, `"offset"`) quoted.
pub trait Sql {
    /// Runs a statement; the number of rows it changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, HubError>;
    /// Runs a query; its rows.
    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, HubError>;
}

impl dyn Sql + '_ {
    /// The first row, if any.
    pub fn row(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>, HubError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
}

/// A transaction (or a read) on a store's own tables.
pub type SqlFn<'a> = dyn FnMut(&mut dyn Sql) -> Result<(), HubError> + 'a;

/// The server's own tables (accounts, devices, audit, quarantine, files): what administration
/// needs, without the history or the merged records.
pub trait Tables: Send {
    /// Where the store is, for messages (no password).
    fn describe(&self) -> String;
    /// Runs `f` as one transaction on the server's tables.
    fn write(&mut self, f: &mut SqlFn<'_>) -> Result<(), HubError>;
    /// Runs `f` to read the server's tables.
    fn read(&self, f: &mut SqlFn<'_>) -> Result<(), HubError>;
}

/// [`Tables::write`] and [`Tables::read`] returning what the closure returns.
pub trait TablesExt: Tables {
    fn write_with<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let mut f = Some(f);
        let mut out = None;
        self.write(&mut |sql| {
            if let Some(f) = f.take() {
                out = Some(f(sql)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| HubError::Store("a transaction did not run".into()))
    }

    fn read_with<T>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, HubError>,
    ) -> Result<T, HubError> {
        let mut f = Some(f);
        let mut out = None;
        self.read(&mut |sql| {
            if let Some(f) = f.take() {
                out = Some(f(sql)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| HubError::Store("a read did not run".into()))
    }
}

impl<T: Tables + ?Sized> TablesExt for T {}

/// What the hub needs of its store: the server's tables, the history and the merged records.
/// Every method that writes is one transaction.
pub trait Store: Tables {
    /// The merged records every replica converges to (read-only).
    fn state(&self) -> &Replica;
    /// A fresh server clock reading (for re-stamping changes from fast clocks).
    fn tick(&mut self) -> Hlc;
    /// The server sequence of the newest change held (0 when none).
    fn last_seq(&self) -> Result<i64, HubError>;
    /// Up to `limit` changes after server sequence `after`, in order.
    fn changes(&self, after: i64, limit: usize) -> Result<Vec<Change>, HubError>;
    /// The changes at these server sequences, in the order given.
    fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>, HubError>;
    /// The highest sequence of `device` held in the history (0 when none).
    fn high_water(&self, device: &str) -> Result<i64, HubError>;
    /// Appends `changes` to the history at the next server sequences, merges them into the
    /// state, and runs `also` on the server's tables: all of it or nothing.
    fn accept(&mut self, changes: &[Change], also: &mut SqlFn<'_>) -> Result<(), HubError>;
}

/// Changes kept aside for review: (device, dev_seq, record, reason), oldest first.
pub fn quarantined(t: &dyn Tables) -> Result<Vec<(String, i64, String, String)>, HubError> {
    t.read_with(|sql| {
        sql.rows(
            "SELECT device, dev_seq, record, reason FROM srv_quarantine ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.text(0)?, r.int(1)?, r.text(2)?, r.text(3)?)))
        .collect()
    })
}

// Files on the server: the same tables as a replica's (`blob`, `blob_chunk`), in either store.

/// How much of file `sha` the store holds.
pub(crate) fn blob_status(sql: &mut dyn Sql, sha: &str) -> Result<Option<BlobStatus>, HubError> {
    sql.row(
        "SELECT size, have, complete FROM blob WHERE sha256 = $1",
        &[sha.into()],
    )?
    .map(|r| {
        Ok(BlobStatus {
            size: u64::try_from(r.int(0)?).unwrap_or(0),
            have: u64::try_from(r.int(1)?).unwrap_or(0),
            complete: r.flag(2)?,
        })
    })
    .transpose()
}

/// Up to `len` bytes of file `sha` from `offset` (of a complete file, unless `partial`).
pub(crate) fn blob_read(
    sql: &mut dyn Sql,
    sha: &str,
    offset: u64,
    len: usize,
    partial: bool,
) -> Result<Vec<u8>, HubError> {
    let missing = || HubError::NotFound(format!("the server does not hold the file {sha}"));
    let status = blob_status(sql, sha)?.ok_or_else(missing)?;
    if !status.complete && !partial {
        return Err(missing());
    }
    let end = offset.saturating_add(len as u64).min(status.have);
    let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
    let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    for r in sql.rows(
        "SELECT \"offset\", data FROM blob_chunk WHERE sha256 = $1 AND \"offset\" < $3 \
         AND \"offset\" + length(data) > $2 ORDER BY \"offset\"",
        &[sha.into(), as_i64(offset).into(), as_i64(end).into()],
    )? {
        let at = u64::try_from(r.int(0)?).unwrap_or(0);
        let data = r.bytes(1)?;
        let from = offset.saturating_sub(at) as usize;
        let to = (end.saturating_sub(at) as usize).min(data.len());
        if from < to {
            out.extend_from_slice(&data[from..to]);
        }
    }
    Ok(out)
}
