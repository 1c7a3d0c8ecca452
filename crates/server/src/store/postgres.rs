//! The PostgreSQL store (`desk-server --db postgres://…`).
//!
//! PostgreSQL holds everything the server must not lose: the history of accepted changes (each
//! with its server sequence), the accounts and tokens, the audit log, the changes kept aside
//! and the files. The merged records — a pure function of that history under the merge rule —
//! are kept in a *working copy*: a scratch replica in the temporary directory, encrypted with a
//! random key that never leaves this process, rebuilt from the history when the server starts
//! and advanced after every commit. A crash between the two loses nothing: the next start (or
//! the next push) replays what the copy lacks.
//!
//! One server per database: the store takes a PostgreSQL advisory lock for as long as its
//! connection lives, so a second `desk-server` on the same database refuses to start instead
//! of numbering changes twice.

use super::migrations::{self, Migrate};
use super::{Rollback, Row, Sql, SqlFn, Store, Tables, Val};
use crate::error::HubError;
use bytes::BytesMut;
use desk_core::hlc::Hlc;
use desk_core::{Change, Key, Replica};
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, GenericClient, NoTls};
use std::cell::RefCell;
use std::path::PathBuf;

/// Arbitrary, fixed: the advisory lock that keeps a database to one server.
const LOCK_ID: i64 = 0x6465_736b_5f73_7276; // "desk_srv"

/// Changes replayed into the working copy per transaction.
const REPLAY: i64 = 5_000;

pub(crate) fn pg_error(e: &postgres::Error) -> HubError {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(cause) = src {
                s.push_str(": ");
                s.push_str(&cause.to_string());
                src = cause.source();
            }
            s
        }
    };
    HubError::Store(format!("PostgreSQL: {detail}"))
}

/// The address without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer where PostgreSQL expects {ty}").into()),
            },
            Val::Text(v) => v.as_str().to_sql(ty, out),
            Val::Bytes(v) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn row_of(r: &postgres::Row) -> Result<Row, HubError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let e = |e: postgres::Error| pg_error(&e);
        out.push(
            match *col.type_() {
                Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(e)?.map(Val::Int),
                Type::INT4 => r
                    .try_get::<_, Option<i32>>(i)
                    .map_err(e)?
                    .map(|v| Val::Int(v.into())),
                Type::INT2 => r
                    .try_get::<_, Option<i16>>(i)
                    .map_err(e)?
                    .map(|v| Val::Int(v.into())),
                Type::BOOL => r
                    .try_get::<_, Option<bool>>(i)
                    .map_err(e)?
                    .map(|v| Val::Int(v.into())),
                Type::BYTEA => r
                    .try_get::<_, Option<Vec<u8>>>(i)
                    .map_err(e)?
                    .map(Val::Bytes),
                _ => r.try_get::<_, Option<String>>(i).map_err(e)?.map(Val::Text),
            }
            .unwrap_or(Val::Null),
        );
    }
    Ok(Row(out))
}

/// [`Sql`] on a PostgreSQL client or transaction.
struct Pg<'a, C: GenericClient>(&'a mut C);

fn params(p: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Migrate for Pg<'_, C> {
    fn batch(&mut self, sql: &str) -> Result<(), HubError> {
        self.0.batch_execute(sql).map_err(|e| pg_error(&e))
    }
}

impl<C: GenericClient> Sql for Pg<'_, C> {
    fn exec(&mut self, sql: &str, p: &[Val]) -> Result<u64, HubError> {
        self.0.execute(sql, &params(p)).map_err(|e| pg_error(&e))
    }
    fn rows(&mut self, sql: &str, p: &[Val]) -> Result<Vec<Row>, HubError> {
        self.0
            .query(sql, &params(p))
            .map_err(|e| pg_error(&e))?
            .iter()
            .map(row_of)
            .collect()
    }
}

/// The server's tables in PostgreSQL, for administration (`desk-server user …` beside a
/// running server): no history, no working copy, no lock.
pub struct PgTables {
    client: RefCell<Client>,
    url: String,
}

impl PgTables {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`) and brings the
    /// server's tables to this build's version ([`migrations`]).
    pub fn connect(url: &str) -> Result<PgTables, HubError> {
        let shown = redact(url);
        let mut client = Client::connect(url, NoTls).map_err(|e| {
            HubError::Store(format!(
                "cannot connect to {shown}: {}",
                match pg_error(&e) {
                    HubError::Store(m) => m,
                    other => other.to_string(),
                }
            ))
        })?;
        // The server's tables, brought to this build's version in one transaction (a
        // database a newer server wrote is refused untouched).
        let mut tx = client.transaction().map_err(|e| pg_error(&e))?;
        migrations::run(&mut Pg(&mut tx), migrations::Dialect::Postgres, &shown)?;
        tx.commit().map_err(|e| pg_error(&e))?;
        Ok(PgTables {
            client: RefCell::new(client),
            url: shown,
        })
    }
}

impl Tables for PgTables {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn write(&mut self, f: &mut SqlFn<'_>) -> Result<(), HubError> {
        let client = self.client.get_mut();
        let mut tx = client.transaction().map_err(|e| pg_error(&e))?;
        f(&mut Pg(&mut tx))?;
        tx.commit().map_err(|e| pg_error(&e))
    }

    fn read(&self, f: &mut SqlFn<'_>) -> Result<(), HubError> {
        let mut client = self.client.borrow_mut();
        f(&mut Pg(&mut *client))
    }
}

/// The PostgreSQL store (see the module's documentation).
pub struct PgStore {
    tables: PgTables,
    copy: Replica,
    copy_path: PathBuf,
}

impl PgStore {
    /// [`PgTables::connect`], then takes the one-server lock and builds the working copy
    /// from the history.
    pub fn connect(url: &str) -> Result<PgStore, HubError> {
        let mut tables = PgTables::connect(url)?;
        let locked: bool = tables
            .client
            .get_mut()
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_ID])
            .map_err(|e| pg_error(&e))?
            .get(0);
        if !locked {
            return Err(HubError::Store(format!(
                "another desk-server is serving {}: one server per database",
                tables.url
            )));
        }
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).map_err(|e| HubError::Store(format!("no randomness: {e}")))?;
        let name: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = std::env::temp_dir();
        remove_orphan_copies(&tmp);
        let copy_path = tmp.join(format!("{COPY_PREFIX}{}-{name}.db", std::process::id()));
        let key = Key::random()?;
        let mut copy = Replica::init(&copy_path, &key)?;
        copy.serve_only()?;
        copy.checkpoint_in_background(&key)?;
        let mut store = PgStore {
            tables,
            copy,
            copy_path,
        };
        store.catch_up()?;
        Ok(store)
    }

    /// Replays into the working copy whatever of the history it lacks.
    fn catch_up(&mut self) -> Result<(), HubError> {
        loop {
            let after = self.copy.last_seq()?;
            let rows = self
                .tables
                .client
                .get_mut()
                .query(
                    "SELECT seq, body FROM srv_change WHERE seq > $1 ORDER BY seq LIMIT $2",
                    &[&after, &REPLAY],
                )
                .map_err(|e| pg_error(&e))?;
            if rows.is_empty() {
                return Ok(());
            }
            let mut changes = Vec::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                let seq: i64 = r.get(0);
                if seq != after + 1 + i as i64 {
                    return Err(HubError::Store(format!(
                        "the history in {} has a gap before change {seq}",
                        self.tables.url
                    )));
                }
                changes.push(decode(seq, r.get(1))?);
            }
            let last = after + changes.len() as i64;
            self.copy.apply_changes_and(&changes, |_| Ok(()))?;
            if self.copy.last_seq()? != last {
                return Err(HubError::Store(format!(
                    "the working copy did not take changes {}..{last} in order",
                    after + 1
                )));
            }
        }
    }
}

/// Working copies are named `desk-server-copy-PID-RANDOM.db`.
const COPY_PREFIX: &str = "desk-server-copy-";

/// Removes the working copies of servers that died without removing theirs (killed): their
/// process is gone (Linux: no `/proc/PID`). They were unreadable anyway — the key died with
/// the process — but they take space.
fn remove_orphan_copies(dir: &std::path::Path) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(COPY_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty()
            && pid.bytes().all(|b| b.is_ascii_digit())
            && !std::path::Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// One push's part in PostgreSQL, in one transaction: the changes at the sequences after
/// `head` (which must still be the history's head) and the server's own rows.
fn commit_to_postgres(
    client: &mut Client,
    head: i64,
    changes: &[Change],
    also: &mut SqlFn<'_>,
) -> Result<(), HubError> {
    let mut tx = client.transaction().map_err(|e| pg_error(&e))?;
    let held: i64 = tx
        .query_one("SELECT coalesce(max(seq), 0) FROM srv_change", &[])
        .map_err(|e| pg_error(&e))?
        .get(0);
    if held != head {
        return Err(HubError::Store(format!(
            "the history has changes the working copy lacks ({head} < {held})"
        )));
    }
    if !changes.is_empty() {
        // One statement for the whole batch (a round trip per change was 6.5k changes/s).
        let mut seqs = Vec::with_capacity(changes.len());
        let mut devices = Vec::with_capacity(changes.len());
        let mut dev_seqs = Vec::with_capacity(changes.len());
        let mut bodies = Vec::with_capacity(changes.len());
        for (i, c) in changes.iter().enumerate() {
            seqs.push(head + 1 + i as i64);
            devices.push(c.device.as_str());
            dev_seqs.push(c.dev_seq);
            bodies.push(
                serde_json::to_string(c)
                    .map_err(|e| HubError::Store(format!("cannot encode a change: {e}")))?,
            );
        }
        tx.execute(
            "INSERT INTO srv_change (seq, device, dev_seq, body) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])",
            &[&seqs, &devices, &dev_seqs, &bodies],
        )
        .map_err(|e| pg_error(&e))?;
    }
    also(&mut Pg(&mut tx))?;
    tx.commit().map_err(|e| pg_error(&e))
}

fn decode(seq: i64, body: &str) -> Result<Change, HubError> {
    let mut c: Change = serde_json::from_str(body)
        .map_err(|e| HubError::Store(format!("change {seq} in the history is unreadable: {e}")))?;
    c.seq = seq;
    Ok(c)
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // The copy is encrypted with a key only this process had; remove it all the same.
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.copy_path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Tables for PgStore {
    fn describe(&self) -> String {
        self.tables.describe()
    }
    fn write(&mut self, f: &mut SqlFn<'_>) -> Result<(), HubError> {
        self.tables.write(f)
    }
    fn read(&self, f: &mut SqlFn<'_>) -> Result<(), HubError> {
        self.tables.read(f)
    }
}

impl Store for PgStore {
    fn state(&self) -> &Replica {
        &self.copy
    }

    fn tick(&mut self) -> Hlc {
        self.copy.tick()
    }

    fn last_seq(&self) -> Result<i64, HubError> {
        let row = self
            .tables
            .client
            .borrow_mut()
            .query_one("SELECT coalesce(max(seq), 0) FROM srv_change", &[])
            .map_err(|e| pg_error(&e))?;
        Ok(row.get(0))
    }

    fn changes(&self, after: i64, limit: usize) -> Result<Vec<Change>, HubError> {
        // Served from the working copy when it holds them (it is the history, in order).
        let held = self.copy.last_seq()?;
        if after < held {
            return Ok(self.copy.changes(after, limit)?);
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .tables
            .client
            .borrow_mut()
            .query(
                "SELECT seq, body FROM srv_change WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after, &limit],
            )
            .map_err(|e| pg_error(&e))?;
        rows.iter().map(|r| decode(r.get(0), r.get(1))).collect()
    }

    fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>, HubError> {
        Ok(self.copy.changes_at(seqs)?)
    }

    fn high_water(&self, device: &str) -> Result<i64, HubError> {
        let row = self
            .tables
            .client
            .borrow_mut()
            .query_one(
                "SELECT coalesce(max(dev_seq), 0) FROM srv_change WHERE device = $1",
                &[&device],
            )
            .map_err(|e| pg_error(&e))?;
        Ok(row.get(0))
    }

    fn accept(&mut self, changes: &[Change], also: &mut SqlFn<'_>) -> Result<(), HubError> {
        // Anything a failed earlier step left out of the copy goes in first, so the copy's
        // sequence numbers stay the history's.
        self.catch_up()?;
        let head = self.copy.last_seq()?;
        // The changes merge into the copy first — that checks them (unknown entity or field,
        // a bad value) — and PostgreSQL commits inside the copy's transaction, before it: a
        // change the copy refuses is never stored, and if PostgreSQL fails the copy rolls back.
        // (If the copy's own commit then failed, it would be behind; the next push replays.)
        let client = self.tables.client.get_mut();
        let mut failed = None;
        let done = self.copy.apply_changes_and(changes, |_| {
            match commit_to_postgres(client, head, changes, also) {
                Ok(()) => Ok(()),
                Err(e) => {
                    failed = Some(e);
                    Err(Rollback::sqlite())
                }
            }
        });
        match (done, failed) {
            (_, Some(e)) => return Err(e),
            (Err(e), None) => return Err(e.into()),
            (Ok(_), None) => {}
        }
        if self.copy.last_seq()? != head + changes.len() as i64 {
            return Err(HubError::Store(
                "the working copy fell out of step with the history".into(),
            ));
        }
        Ok(())
    }
}

/// A database of its own for one test, on the PostgreSQL server `DESK_TEST_POSTGRES` names
/// (dropped when this goes). Used by the hub and server suites to run against PostgreSQL.
#[doc(hidden)]
pub struct TestDatabase {
    admin: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    /// `admin` is a URL to the server's maintenance database (e.g. `…/postgres`).
    pub fn create(admin: &str) -> Result<TestDatabase, HubError> {
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).map_err(|e| HubError::Store(format!("no randomness: {e}")))?;
        let name = format!(
            "desk_test_{}",
            raw.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let mut c = Client::connect(admin, NoTls).map_err(|e| pg_error(&e))?;
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| pg_error(&e))?;
        let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
        let url = format!("{base}/{name}");
        Ok(TestDatabase {
            admin: admin.to_string(),
            name,
            url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("postgres://desk:s3cret@db.example:5432/desk"),
            "postgres://desk:***@db.example:5432/desk"
        );
        assert_eq!(
            redact("postgres://desk@127.0.0.1/desk"),
            "postgres://desk@127.0.0.1/desk"
        );
    }
}
