//! The default store: one encrypted replica file holds the merged records, the history (its
//! change log) and the server's own tables, so one SQLite transaction covers all three.

use super::{migrations, Rollback, Row, Sql, SqlFn, Store, Tables, Val};
use crate::error::HubError;
use desk_core::hlc::Hlc;
use desk_core::rusqlite::{self, types::ValueRef};
use desk_core::{Change, Replica};
use std::borrow::Cow;

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
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, HubError> {
        let mut stmt = self.0.prepare_cached(&sqlite_dialect(sql))?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, HubError> {
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

impl migrations::Migrate for Lite<'_> {
    fn batch(&mut self, sql: &str) -> Result<(), HubError> {
        Ok(self.0.execute_batch(sql)?)
    }
}

/// Brings the server's tables in `replica` to this build's version, in one transaction.
fn migrate(replica: &mut Replica, shown: &str) -> Result<(), HubError> {
    let mut failed = None;
    let done = replica.with_transaction(|tx| {
        match migrations::run(&mut Lite(tx), migrations::Dialect::Sqlite, shown) {
            Ok(()) => Ok(()),
            Err(e) => {
                failed = Some(e);
                Err(Rollback::sqlite())
            }
        }
    });
    match (done, failed) {
        (_, Some(e)) => Err(e),
        (Err(e), None) => Err(e.into()),
        (Ok(()), None) => Ok(()),
    }
}

/// Runs `f` inside a rusqlite transaction, keeping `f`'s own error as it is.
fn in_sqlite_tx(
    replica: &mut Replica,
    changes: Option<&[Change]>,
    f: &mut SqlFn<'_>,
) -> Result<(), HubError> {
    let mut failed = None;
    let mut run = |tx: &rusqlite::Transaction<'_>| match f(&mut Lite(tx)) {
        Ok(()) => Ok(()),
        Err(e) => {
            failed = Some(e);
            // Any error rolls the transaction back; the real one is `failed`.
            Err(Rollback::sqlite())
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
    pub fn open(path: &std::path::Path, key: &desk_core::Key) -> Result<SqliteStore, HubError> {
        let replica = if path.exists() {
            Replica::open(path, key)?
        } else {
            Replica::init(path, key)?
        };
        SqliteStore::start(replica, path, key)
    }

    /// A new store at `path` (an error if something is there).
    pub fn create(path: &std::path::Path, key: &desk_core::Key) -> Result<SqliteStore, HubError> {
        SqliteStore::start(Replica::init(path, key)?, path, key)
    }

    fn start(
        mut replica: Replica,
        path: &std::path::Path,
        key: &desk_core::Key,
    ) -> Result<SqliteStore, HubError> {
        // The server's own tables first: a file a newer server wrote is refused untouched.
        migrate(&mut replica, &path.display().to_string())?;
        // The hub never searches nor browses: its merges skip the search index and the
        // indexes that order lists for people.
        replica.serve_only()?;
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
    fn write(&mut self, f: &mut SqlFn<'_>) -> Result<(), HubError> {
        in_sqlite_tx(&mut self.replica, None, f)
    }
    fn read(&self, f: &mut SqlFn<'_>) -> Result<(), HubError> {
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
    fn last_seq(&self) -> Result<i64, HubError> {
        Ok(self.replica.last_seq()?)
    }
    fn changes(&self, after: i64, limit: usize) -> Result<Vec<Change>, HubError> {
        Ok(self.replica.changes(after, limit)?)
    }
    fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>, HubError> {
        Ok(self.replica.changes_at(seqs)?)
    }
    fn high_water(&self, device: &str) -> Result<i64, HubError> {
        Ok(self.replica.high_water(device)?)
    }
    fn accept(&mut self, changes: &[Change], also: &mut SqlFn<'_>) -> Result<(), HubError> {
        in_sqlite_tx(&mut self.replica, Some(changes), also)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // (Written when the stores answered with the sync crate's error; the hub's own has the
    // same variants.)
    use crate::error::HubError as SyncError;
    use crate::store::TablesExt;

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

    #[test]
    fn the_server_tables_are_versioned_and_a_newer_store_is_refused_untouched() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("s.db");
        let key = desk_core::Key::Raw([1; 32]);
        let version = |r: &Replica| -> String {
            r.reader()
                .query_row(
                    "SELECT value FROM srv_meta WHERE key = 'format'",
                    [],
                    |row| row.get(0),
                )
                .expect("format")
        };
        drop(SqliteStore::create(&path, &key).expect("store"));
        // A store made before versions were kept (no srv_meta) is brought to this version.
        let mut r = Replica::open(&path, &key).expect("open");
        assert_eq!(version(&r), migrations::VERSION.to_string());
        // (Such a store has version 1's tables only.)
        r.with_transaction(|tx| {
            tx.execute_batch(
                "DROP TABLE srv_meta; DROP INDEX srv_audit_origin; \
                 ALTER TABLE srv_audit DROP COLUMN origin_seq; \
                 ALTER TABLE srv_device DROP COLUMN wiped; \
                 ALTER TABLE srv_device DROP COLUMN bundle_in; \
                 ALTER TABLE srv_device DROP COLUMN bundle_out; \
                 ALTER TABLE srv_device DROP COLUMN bundle_cursor; \
                 ALTER TABLE srv_device DROP COLUMN bundle_wanted; \
                 ALTER TABLE srv_device DROP COLUMN sign_key;",
            )
        })
        .expect("drop");
        drop(r);
        drop(SqliteStore::open(&path, &key).expect("reopen"));
        let mut r = Replica::open(&path, &key).expect("open");
        assert_eq!(version(&r), migrations::VERSION.to_string());
        // One a newer server wrote is refused, and left as it was.
        r.with_transaction(|tx| {
            tx.execute("UPDATE srv_meta SET value = '99' WHERE key = 'format'", [])
        })
        .expect("newer");
        drop(r);
        let err = SqliteStore::open(&path, &key).err().expect("refused");
        assert!(
            err.to_string()
                .contains("was written by a newer desk-server (layout 99; this one knows up to"),
            "{err}"
        );
        let r = Replica::open(&path, &key).expect("open");
        assert_eq!(version(&r), "99");
    }
}
