//! Where the hub keeps what it must not lose: the history of accepted changes, the
//! per-device high-water marks, accounts, the audit log, changes kept aside and files.
//!
//! One trait, two stores:
//! - [`SqliteStore`] (the default: `desk-server` with no flags): everything in one encrypted
//!   replica file — the merged records, the change log that is the history, and the server's
//!   own tables beside them, all written in one SQLite transaction.
//! - `PgStore` (feature `postgres`, `--db postgres://…`): the history, marks, accounts, audit,
//!   quarantine and files in PostgreSQL; the merged records are a *working copy* derived from
//!   that history (an encrypted scratch replica, rebuilt on start), because the merged state is
//!   a pure function of the history. See ARCHITECTURE.md "Server stores".
//!
//! The server's own tables are reached through [`Sql`], a deliberately small SQL interface
//! (`$1`-style parameters, integers, text and bytes) that both databases speak, so accounts,
//! audit, quarantine and files are one piece of code whichever store holds them.

use crate::SyncError;
use desk_core::hlc::Hlc;
use desk_core::rusqlite::{self, types::ValueRef};
use desk_core::{BlobStatus, Change, Replica};
use std::borrow::Cow;

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

fn column(i: usize, what: &str) -> SyncError {
    SyncError::Store(format!("column {i} of a result is not {what}"))
}

impl Row {
    pub fn int(&self, i: usize) -> Result<i64, SyncError> {
        match self.0.get(i) {
            Some(Val::Int(v)) => Ok(*v),
            _ => Err(column(i, "an integer")),
        }
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, SyncError> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }
    pub fn flag(&self, i: usize) -> Result<bool, SyncError> {
        self.int(i).map(|v| v != 0)
    }
    pub fn text(&self, i: usize) -> Result<String, SyncError> {
        match self.0.get(i) {
            Some(Val::Text(v)) => Ok(v.clone()),
            _ => Err(column(i, "text")),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, SyncError> {
        match self.0.get(i) {
            Some(Val::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
    pub fn bytes(&self, i: usize) -> Result<Vec<u8>, SyncError> {
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
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, SyncError>;
    /// Runs a query; its rows.
    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, SyncError>;
}

impl dyn Sql + '_ {
    /// The first row, if any.
    pub fn row(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>, SyncError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
}

/// A transaction (or a read) on a store's own tables.
pub type SqlFn<'a> = dyn FnMut(&mut dyn Sql) -> Result<(), SyncError> + 'a;

/// The server's own tables (accounts, devices, audit, quarantine, files): what administration
/// needs, without the history or the merged records.
pub trait Tables: Send {
    /// Where the store is, for messages (no password).
    fn describe(&self) -> String;
    /// Runs `f` as one transaction on the server's tables.
    fn write(&mut self, f: &mut SqlFn<'_>) -> Result<(), SyncError>;
    /// Runs `f` to read the server's tables.
    fn read(&self, f: &mut SqlFn<'_>) -> Result<(), SyncError>;
}

/// [`Tables::write`] and [`Tables::read`] returning what the closure returns.
pub trait TablesExt: Tables {
    fn write_with<T>(
        &mut self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, SyncError>,
    ) -> Result<T, SyncError> {
        let mut f = Some(f);
        let mut out = None;
        self.write(&mut |sql| {
            if let Some(f) = f.take() {
                out = Some(f(sql)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| SyncError::Store("a transaction did not run".into()))
    }

    fn read_with<T>(
        &self,
        f: impl FnOnce(&mut dyn Sql) -> Result<T, SyncError>,
    ) -> Result<T, SyncError> {
        let mut f = Some(f);
        let mut out = None;
        self.read(&mut |sql| {
            if let Some(f) = f.take() {
                out = Some(f(sql)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| SyncError::Store("a read did not run".into()))
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
    fn last_seq(&self) -> Result<i64, SyncError>;
    /// Up to `limit` changes after server sequence `after`, in order.
    fn changes(&self, after: i64, limit: usize) -> Result<Vec<Change>, SyncError>;
    /// The changes at these server sequences, in the order given.
    fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>, SyncError>;
    /// The highest sequence of `device` held in the history (0 when none).
    fn high_water(&self, device: &str) -> Result<i64, SyncError>;
    /// Appends `changes` to the history at the next server sequences, merges them into the
    /// state, and runs `also` on the server's tables: all of it or nothing.
    fn accept(&mut self, changes: &[Change], also: &mut SqlFn<'_>) -> Result<(), SyncError>;
}

/// Changes kept aside for review: (device, dev_seq, record, reason), oldest first.
pub fn quarantined(t: &dyn Tables) -> Result<Vec<(String, i64, String, String)>, SyncError> {
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

/// The server's tables in a SQLite store (the records' tables come from the replica's own
/// migrations; `blob` and `blob_chunk` are the replica's file tables).
pub(crate) const SQLITE_SCHEMA: &str = "\
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
";

/// `$1` → `?1` (SQLite reads `$1` as a *named* parameter, numbered by first appearance).
fn sqlite_dialect(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value};
        Ok(match self {
            Val::Null => ToSqlOutput::Owned(Value::Null),
            Val::Int(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            Val::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Val::Bytes(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
        })
    }
}

/// [`Sql`] on a SQLite connection (or transaction).
pub(crate) struct Lite<'a>(pub &'a rusqlite::Connection);

impl Sql for Lite<'_> {
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, SyncError> {
        let mut stmt = self.0.prepare_cached(&sqlite_dialect(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, SyncError> {
        let mut stmt = self.0.prepare_cached(&sqlite_dialect(sql))?;
        let n = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(match r.get_ref(i)? {
                    ValueRef::Null => Val::Null,
                    ValueRef::Integer(v) => Val::Int(v),
                    ValueRef::Real(v) => Val::Int(v as i64),
                    ValueRef::Text(v) => Val::Text(String::from_utf8_lossy(v).into_owned()),
                    ValueRef::Blob(v) => Val::Bytes(v.to_vec()),
                });
            }
            out.push(Row(row));
        }
        Ok(out)
    }
}

/// Runs `f` inside a rusqlite transaction, keeping `f`'s own error as it is.
fn in_sqlite_tx(
    replica: &mut Replica,
    changes: Option<&[Change]>,
    f: &mut SqlFn<'_>,
) -> Result<(), SyncError> {
    let mut failed = None;
    let mut run = |tx: &rusqlite::Transaction<'_>| match f(&mut Lite(tx)) {
        Ok(()) => Ok(()),
        Err(e) => {
            failed = Some(e);
            // Any error rolls the transaction back; the real one is `failed`.
            Err(rusqlite::Error::QueryReturnedNoRows)
        }
    };
    let done = match changes {
        Some(c) => replica.apply_changes_and(c, &mut run).map(|_| ()),
        None => replica.with_transaction(&mut run),
    };
    match (done, failed) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(()),
    }
}

/// The default store: one encrypted replica file holds the merged records, the history (its
/// change log) and the server's tables, so one SQLite transaction covers all three.
pub struct SqliteStore {
    replica: Replica,
    path: String,
}

impl SqliteStore {
    /// Opens the store at `path`, creating it on first use.
    pub fn open(path: &std::path::Path, key: &desk_core::Key) -> Result<SqliteStore, SyncError> {
        let replica = if path.exists() {
            Replica::open(path, key)?
        } else {
            Replica::init(path, key)?
        };
        SqliteStore::start(replica, path, key)
    }

    /// A new store at `path` (an error if something is there).
    pub fn create(path: &std::path::Path, key: &desk_core::Key) -> Result<SqliteStore, SyncError> {
        SqliteStore::start(Replica::init(path, key)?, path, key)
    }

    fn start(
        mut replica: Replica,
        path: &std::path::Path,
        key: &desk_core::Key,
    ) -> Result<SqliteStore, SyncError> {
        // The hub never searches nor browses: its merges skip the search index and the
        // indexes that order lists for people.
        replica.serve_only()?;
        replica.with_transaction(|tx| {
            tx.execute_batch(SQLITE_SCHEMA)?;
            tx.execute_batch(&crate::hubfiles::schema("BLOB"))
        })?;
        // An acknowledged push must survive a power cut, not only a crash: the server syncs
        // the WAL at every commit (a replica's NORMAL would lose its last commits then).
        replica
            .reader()
            .pragma_update(None, "synchronous", "FULL")?;
        // The WAL is copied into the file on a thread of its own: pushes never wait for it.
        replica.checkpoint_in_background(key)?;
        Ok(SqliteStore {
            replica,
            path: path.display().to_string(),
        })
    }
}

impl Tables for SqliteStore {
    fn describe(&self) -> String {
        format!("sqlite:{}", self.path)
    }
    fn write(&mut self, f: &mut SqlFn<'_>) -> Result<(), SyncError> {
        in_sqlite_tx(&mut self.replica, None, f)
    }
    fn read(&self, f: &mut SqlFn<'_>) -> Result<(), SyncError> {
        f(&mut Lite(self.replica.reader()))
    }
}

impl Store for SqliteStore {
    fn state(&self) -> &Replica {
        &self.replica
    }
    fn tick(&mut self) -> Hlc {
        self.replica.tick()
    }
    fn last_seq(&self) -> Result<i64, SyncError> {
        Ok(self.replica.last_seq()?)
    }
    fn changes(&self, after: i64, limit: usize) -> Result<Vec<Change>, SyncError> {
        Ok(self.replica.changes(after, limit)?)
    }
    fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>, SyncError> {
        Ok(self.replica.changes_at(seqs)?)
    }
    fn high_water(&self, device: &str) -> Result<i64, SyncError> {
        Ok(self.replica.high_water(device)?)
    }
    fn accept(&mut self, changes: &[Change], also: &mut SqlFn<'_>) -> Result<(), SyncError> {
        in_sqlite_tx(&mut self.replica, Some(changes), also)
    }
}

// Files on the server: the same tables as a replica's (`blob`, `blob_chunk`), in either store.

/// How much of file `sha` the store holds.
pub(crate) fn blob_status(sql: &mut dyn Sql, sha: &str) -> Result<Option<BlobStatus>, SyncError> {
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
) -> Result<Vec<u8>, SyncError> {
    let missing = || SyncError::NotFound(format!("the server does not hold the file {sha}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reads_dollar_parameters_in_any_order_and_repeated() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = SqliteStore::create(&dir.path().join("s.db"), &desk_core::Key::Raw([1; 32]))
            .expect("store");
        let store: &mut dyn Store = &mut s;
        store
            .write_with(|sql| {
                sql.exec(
                    "INSERT INTO srv_audit (at, \"user\", device, action, detail) \
                     VALUES ($2, $1, $1, $3, $3)",
                    &["ann".into(), 7.into(), "x".into()],
                )
            })
            .expect("insert");
        let row = store
            .read_with(|sql| {
                sql.row(
                    "SELECT at, \"user\", device, action, detail FROM srv_audit",
                    &[],
                )
            })
            .expect("read")
            .expect("a row");
        assert_eq!(
            row.0,
            vec![
                Val::Int(7),
                "ann".into(),
                "ann".into(),
                "x".into(),
                "x".into()
            ]
        );
    }

    #[test]
    fn a_failing_write_keeps_its_own_error_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = SqliteStore::create(&dir.path().join("s.db"), &desk_core::Key::Raw([1; 32]))
            .expect("store");
        let store: &mut dyn Store = &mut s;
        let err = store
            .write_with(|sql| -> Result<(), SyncError> {
                sql.exec(
                    "INSERT INTO srv_audit (at, action, detail) VALUES ($1, 'a', 'b')",
                    &[1.into()],
                )?;
                Err(SyncError::Invalid("no".into()))
            })
            .expect_err("fails");
        assert!(matches!(err, SyncError::Invalid(m) if m == "no"));
        let n = store
            .read_with(|sql| sql.row("SELECT count(*) FROM srv_audit", &[]))
            .expect("read")
            .expect("row")
            .int(0)
            .expect("int");
        assert_eq!(n, 0);
    }
}
