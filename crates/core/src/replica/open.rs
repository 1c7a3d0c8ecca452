//! Opening a replica: creating or opening the file, keying it, migrating its schema, and
//! choosing what it indexes.

use super::{Key, Replica};
use crate::error::{Error, Result};
use crate::hlc::{Clock, Hlc};
use crate::migrations::{MIGRATIONS, SCHEMA_VERSION};
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Opens and keys a connection to the encrypted file at `path` (a wrong key is an error
/// here, before anything is written).
pub(super) fn open_keyed(path: &Path, key: &Key, flags: OpenFlags) -> Result<Connection> {
    // Opening and keying one at a time, process-wide. The first open in a process runs
    // sqlite3_initialize, which marks SQLite initialised *before* SQLCipher's own start-up
    // (SQLITE_EXTRA_INIT) has finished; a second thread opening at that moment gets a
    // connection whose `PRAGMA key` fails ("An error occurred with PRAGMA key or rekey",
    // seen in parallel tests). Holding this lock across open, key and the first read closes
    // that window; it costs nothing measurable (one open per replica).
    static KEYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let keying = KEYING.lock().unwrap_or_else(|p| p.into_inner());
    let conn = Connection::open_with_flags(path, flags)?;
    // SQLCipher logs failed page checks to stderr itself; we report a wrong key as an error.
    conn.pragma_update(None, "cipher_log_level", "NONE")?;
    conn.pragma_update(None, "key", key.pragma().as_str())?;
    // The first read decrypts page 1: a wrong key fails here, before anything is written.
    let check: rusqlite::Result<i64> =
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0));
    drop(keying);
    match check {
        Ok(_) => Ok(conn),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(Error::WrongKey {
                path: path.display().to_string(),
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// SQLite's page cache (decrypted pages) per replica connection between writes, in MiB.
/// Reading a window of a list or searching touches a few hundred pages, and the OS keeps the
/// file itself cached, so a bigger cache only grows the desktop app: after scrolling through
/// 100,000 contacts it held the whole 64 MB the cache then had, and later the whole 16 MB
/// (`scripts/bench-app`). 8 MB holds what one view reads (the 600-delegate meeting's page,
/// a framework's tracker, a search) several times over.
pub const RESTING_CACHE_MIB: u32 = 8;
/// The page cache during a batch: a sync page, a server merge, a demo load, an upgrade.
/// A write transaction keeps every page it changed until it commits; one that outgrows the
/// cache spills half-written pages to the WAL.
pub(crate) const BATCH_CACHE_MIB: u32 = 64;
/// The page cache during a bulk import ([`Replica::create_many`] of more than 10,000 rows).
pub(super) const IMPORT_CACHE_MIB: u32 = 256;
/// Changes (with purges) in a pulled page or a merge above which it runs as a batch.
pub(super) const BATCH_CHANGES: usize = 500;

pub(super) fn set_cache(conn: &Connection, mib: u32) -> Result<()> {
    conn.pragma_update(None, "cache_size", -(i64::from(mib) * 1024))?;
    Ok(())
}

impl Replica {
    /// Creates a new replica file; fails if one exists.
    pub fn init(path: &Path, key: &Key) -> Result<Replica> {
        if path.exists() {
            return Err(Error::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "file exists"),
            });
        }
        Self::open_with(path, key, true, SCHEMA_VERSION)
    }

    /// Opens an existing replica; a wrong key is `Error::WrongKey` and leaves the file untouched.
    pub fn open(path: &Path, key: &Key) -> Result<Replica> {
        if !path.exists() {
            return Err(Error::NoReplica {
                path: path.display().to_string(),
            });
        }
        Self::open_with(path, key, false, SCHEMA_VERSION)
    }

    fn open_with(path: &Path, key: &Key, create: bool, upto: i64) -> Result<Replica> {
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        // Opening and keying one at a time, process-wide. The first open in a process runs
        // sqlite3_initialize, which marks SQLite initialised *before* SQLCipher's own start-up
        // (SQLITE_EXTRA_INIT) has finished; a second thread opening at that moment gets a
        // connection whose `PRAGMA key` fails ("An error occurred with PRAGMA key or rekey",
        // seen in parallel tests). Holding this lock across open, key and the first read closes
        // that window; it costs nothing measurable (one open per replica).
        let conn = open_keyed(path, key, flags)?;
        // The functions the list orders use (natural order of agenda and decision numbers).
        crate::order::register(&conn)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: path.display().to_string(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Per-entity and per-field-set statements (inserts, merges) stay compiled.
        conn.set_prepared_statement_cache_capacity(128);
        // Room for a schema upgrade's rewrite (an index built over every record); the resting
        // size once open.
        set_cache(&conn, BATCH_CACHE_MIB)?;
        let mut r = Replica {
            conn,
            path: path.to_path_buf(),
            device: String::new(),
            clock: Clock::starting_at(Hlc::ZERO),
            next_dev_seq: 1,
            next_tx: 1,
            search_index: true,
            cache_mib: RESTING_CACHE_MIB,
            followup_order: std::sync::Mutex::new(None),
            checkpointer: None,
        };
        r.migrate(found, upto)?;
        r.load_meta()?;
        if upto == SCHEMA_VERSION {
            r.reapply_deferred()?;
        }
        set_cache(&r.conn, r.cache_mib)?;
        Ok(r)
    }

    /// A new replica brought only to schema `version` (for upgrade tests).
    #[doc(hidden)]
    pub fn init_at_version(path: &Path, key: &Key, version: i64) -> Result<Replica> {
        Self::open_with(path, key, true, version)
    }

    fn migrate(&mut self, from: i64, upto: i64) -> Result<()> {
        for (i, sql) in MIGRATIONS.iter().enumerate() {
            let version = i as i64 + 1;
            if version <= from || version > upto {
                continue;
            }
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            if version == 1 {
                let device = uuid::Uuid::now_v7().to_string();
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('device', ?1), ('hlc', '0'), \
                     ('dev_seq', '1'), ('tx', '1')",
                    [&device],
                )?;
                tx.execute("INSERT INTO device (n, id) VALUES (1, ?1)", [&device])?;
            }
            if version == 6 {
                // The records of the entities searchable from version 6 on, into the index.
                crate::search::index_all(&tx, crate::migrations::V6_SEARCHED)?;
            }
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn load_meta(&mut self) -> Result<()> {
        let num = |s: String| s.parse::<i64>().unwrap_or(0);
        self.device = self.meta("device")?;
        self.clock = Clock::starting_at(Hlc(num(self.meta("hlc")?) as u64));
        self.next_dev_seq = num(self.meta("dev_seq")?).max(1);
        self.next_tx = num(self.meta("tx")?).max(1);
        Ok(())
    }

    /// Whether changes from elsewhere feed the search index (on by default). The sync server's
    /// store never searches and turns it off: a trigram entry is a good part of each merge.
    /// Its dump then has no search section.
    pub fn set_search_index(&mut self, on: bool) {
        self.search_index = on;
    }

    /// Gives back the memory SQLite keeps for speed while the replica is in use — its cached
    /// pages and what its statements hold — for an app left alone: the next read takes its
    /// pages from the file again (the OS keeps it cached), decrypting them once more.
    pub fn rest(&self) -> Result<()> {
        self.conn.release_memory()?;
        Ok(())
    }

    /// SQLite's page cache this replica keeps between writes, in MiB ([`RESTING_CACHE_MIB`]
    /// unless set). Batches raise it while they run and bring it back to this.
    pub fn set_cache_mib(&mut self, mib: u32) -> Result<()> {
        set_cache(&self.conn, mib)?;
        self.cache_mib = mib;
        Ok(())
    }

    /// Runs `f` as [`Replica::write`] does with the page cache at least `mib` MiB while it
    /// runs (see [`BATCH_CACHE_MIB`]), then back to the resting size.
    pub(crate) fn write_batch<T>(
        &mut self,
        mib: u32,
        f: impl FnOnce(&mut super::Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_batch_then(mib, |w| f(w).map(|out| (out, true)))
    }

    /// [`Replica::write_batch`], where `f` also says whether to commit (see `write_then`).
    pub(crate) fn write_batch_then<T>(
        &mut self,
        mib: u32,
        f: impl FnOnce(&mut super::Tx<'_>) -> Result<(T, bool)>,
    ) -> Result<T> {
        if mib <= self.cache_mib {
            return self.write_then(f);
        }
        set_cache(&self.conn, mib)?;
        let out = self.write_then(f);
        let back = set_cache(&self.conn, self.cache_mib);
        let out = out?;
        back?;
        Ok(out)
    }

    /// Writes a copy of this replica, encrypted under `key`, to the new file `to` (SQLCipher's
    /// export: every table, index and row, and the schema version). Nothing here changes; the
    /// caller moves the copy into place (`desk_keys::rekey`).
    pub fn copy_rekeyed(&self, to: &Path, key: &Key) -> Result<()> {
        if to.exists() {
            return Err(Error::Io {
                path: to.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file is already there",
                ),
            });
        }
        let name = to.to_str().ok_or_else(|| Error::Io {
            path: to.display().to_string(),
            source: std::io::Error::other("not a UTF-8 path"),
        })?;
        // An empty file is an empty database: ATTACH opens it with this connection's flags,
        // which do not create files.
        std::fs::File::create(to).map_err(|source| Error::Io {
            path: to.display().to_string(),
            source,
        })?;
        self.conn.execute(
            "ATTACH DATABASE ?1 AS rekeyed KEY ?2",
            rusqlite::params![name, key.pragma().as_str()],
        )?;
        let copied = (|| -> Result<()> {
            self.conn
                .query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(()))?;
            let version: i64 = self
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))?;
            self.conn
                .execute_batch(&format!("PRAGMA rekeyed.user_version = {version}"))?;
            Ok(())
        })();
        self.conn.execute("DETACH DATABASE rekeyed", [])?;
        copied
    }

    /// Makes this replica a sync server's copy, which merges and serves changes but is never
    /// browsed: no search index, and none of the indexes that only order lists for people
    /// (by name, code, date — a quarter of a merge's index work). It keeps a batch's page
    /// cache at rest ([`BATCH_CACHE_MIB`]): it serves every device's pulls. Idempotent; the
    /// records and the change log are untouched.
    pub fn serve_only(&mut self) -> Result<()> {
        self.search_index = false;
        self.set_cache_mib(BATCH_CACHE_MIB)?;
        let sql: String = crate::migrations::BROWSE_INDEXES
            .iter()
            .map(|i| format!("DROP INDEX IF EXISTS {i};"))
            .collect();
        self.with_transaction(|tx| tx.execute_batch(&sql))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Entity;
    use serde_json::json;

    fn cache_kib(r: &Replica) -> i64 {
        -r.conn
            .pragma_query_value(None, "cache_size", |row| row.get::<_, i64>(0))
            .expect("cache_size")
    }

    #[test]
    fn the_page_cache_rests_small_and_grows_only_while_a_batch_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("replica.db");
        let mut r = Replica::init(&path, &Key::Raw([7u8; 32])).expect("init");
        assert_eq!(cache_kib(&r), i64::from(RESTING_CACHE_MIB) * 1024);
        let row = |i: usize| {
            let v = json!({"name": format!("Contact {i}")});
            v.as_object().cloned().expect("object")
        };
        let rows: Vec<_> = (0..BATCH_CHANGES + 1).map(row).collect();
        r.create_many(Entity::Contact, &rows, &mut |_| {})
            .expect("batch");
        assert_eq!(cache_kib(&r), i64::from(RESTING_CACHE_MIB) * 1024);
        // A failed batch goes back to rest too.
        let mut bad = rows.clone();
        bad.push(serde_json::Map::new());
        assert!(r.create_many(Entity::Contact, &bad, &mut |_| {}).is_err());
        assert_eq!(cache_kib(&r), i64::from(RESTING_CACHE_MIB) * 1024);
        r.set_cache_mib(4).expect("set");
        assert_eq!(cache_kib(&r), 4 * 1024);
        r.serve_only().expect("serve only");
        assert_eq!(cache_kib(&r), i64::from(BATCH_CACHE_MIB) * 1024);
        drop(r);
        let r = Replica::open(&path, &Key::Raw([7u8; 32])).expect("open");
        assert_eq!(cache_kib(&r), i64::from(RESTING_CACHE_MIB) * 1024);
    }

    #[test]
    fn a_rested_replica_reads_and_writes_as_before() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r =
            Replica::init(&dir.path().join("replica.db"), &Key::Raw([7u8; 32])).expect("init");
        let rows: Vec<_> = (0..2_000)
            .map(|i| {
                let v =
                    json!({"name": format!("Sǫmphone {i}"), "email": format!("c{i}@mfa.gov.la")});
                v.as_object().cloned().expect("object")
            })
            .collect();
        r.create_many(Entity::Contact, &rows, &mut |_| {})
            .expect("rows");
        let page = |r: &Replica| {
            r.list(Entity::Contact, &crate::replica::ListQuery::default())
                .expect("list")
        };
        let before = page(&r);
        r.rest().expect("rest");
        assert_eq!(page(&r), before, "the same rows, read from the file again");
        // Resting inside an open transaction frees only what no statement holds.
        let tx = r.conn.unchecked_transaction().expect("tx");
        r.rest().expect("rest in a transaction");
        tx.commit().expect("commit");
        let rec = r
            .create(
                Entity::Contact,
                json!({"name": "Vilayvanh"}).as_object().expect("object"),
            )
            .expect("a write after resting");
        r.rest().expect("rest");
        assert_eq!(
            r.get(Entity::Contact, &rec.id).expect("read").str("name"),
            Some("Vilayvanh")
        );
        assert_eq!(r.count(Entity::Contact).expect("count"), 2_001);
    }
}
