//! The replica: one encrypted SQLite file, and the one writer path every mutation goes through.
//!
//! Every write is one transaction that (1) validates all input against the descriptors,
//! (2) changes the rows, (3) appends one change-log entry per changed field, stamped with a
//! single hybrid-logical-clock reading for the whole user action, and (4) keeps the search
//! index current. If any step fails, nothing is written.

use crate::error::{Error, Result};
use crate::hlc::{Clock, Hlc, Version};
use crate::migrations::{MIGRATIONS, SCHEMA_VERSION};
use crate::schema::{Entity, EntityDesc, FieldKind};
use crate::search;
use crate::validate::{normalize, resolve_ref};
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Field values keyed by field name, as given by a caller or stored on a record.
pub type Fields = Map<String, Value>;

/// The key that opens a replica file.
#[derive(Clone)]
pub enum Key {
    /// 32 random bytes, kept in the OS keychain. Opening costs no key derivation.
    Raw([u8; 32]),
    /// A passphrase, for machines without a keychain; SQLCipher derives the key
    /// (PBKDF2-HMAC-SHA512, 256,000 iterations, per-file salt).
    Passphrase(String),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Key::Raw(_) => "Key::Raw(…)",
            Key::Passphrase(_) => "Key::Passphrase(…)",
        })
    }
}

impl Key {
    /// A fresh random key from the operating system's generator.
    pub fn random() -> Result<Key> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).map_err(|e| Error::Io {
            path: "OS random source".into(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Key::Raw(k))
    }
    pub fn to_hex(&self) -> Option<String> {
        match self {
            Key::Raw(k) => Some(k.iter().map(|b| format!("{b:02x}")).collect()),
            Key::Passphrase(_) => None,
        }
    }
    pub fn from_hex(s: &str) -> Option<Key> {
        let s = s.trim();
        if s.len() != 64 {
            return None;
        }
        let mut k = [0u8; 32];
        for (i, b) in k.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Key::Raw(k))
    }
    fn pragma(&self) -> String {
        match self {
            Key::Raw(_) => format!("x'{}'", self.to_hex().unwrap_or_default()),
            Key::Passphrase(p) => p.clone(),
        }
    }
}

/// A record as the UI and the command line see it: its fields plus id and times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub entity: &'static str,
    pub id: String,
    #[serde(flatten)]
    pub fields: Fields,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Record {
    pub fn str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

/// One entry of the change log: the field changes one device made to one record in one
/// transaction, all stamped with the same clock. `(device, dev_seq)` identifies it everywhere.
/// Grouping a record's fields per transaction (rather than a row per field) keeps the log, the
/// write path and the wire small; each field still merges on its own (see `apply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: i64,
    pub device: String,
    pub dev_seq: i64,
    pub tx: i64,
    pub entity: String,
    pub record: String,
    pub hlc: Hlc,
    pub schema_version: i64,
    pub fields: Vec<FieldChange>,
}

/// A record named by its entity (change-log name) and id: what a purge removes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordRef {
    pub entity: String,
    pub id: String,
}

/// A field's new value, and the version of the field the editor had seen (zero on create).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub value: Value,
    pub base: Hlc,
    /// For an edit of a set field (see [`crate::sets`]): what it added and removed; `value`
    /// is then the list as its editor saw it afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<SetOps>,
}

/// An add-wins set edit: elements added (each dotted with the change's own device and
/// sequence) and the dots removed (only those the editor had seen: a concurrent add survives).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetOps {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub del: Vec<Dot>,
}

/// One add of a set element: the element, and the device and sequence of the change that
/// added it (for a value written whole, without set edits: its writer's, see `sets.rs`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    pub elem: String,
    pub dev: String,
    pub seq: i64,
}

/// Which records `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only children of this parent (an agenda's meeting, a milestone's project).
    pub parent: Option<String>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub include_deleted: bool,
    /// Only records whose field compares so with the value (fields of the entity only; text
    /// comparison, as stored).
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: String,
    pub op: FilterOp,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    /// Differs (an unset field differs from every value).
    Ne,
    Lt,
}

impl Filter {
    pub fn eq(field: &str, value: impl Into<String>) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Eq,
            value: value.into(),
        }
    }
    pub fn ne(field: &str, value: impl Into<String>) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Ne,
            value: value.into(),
        }
    }
    pub fn lt(field: &str, value: impl Into<String>) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Lt,
            value: value.into(),
        }
    }
}

/// Progress of long work, for a progress bar: `done` of `total` units of `stage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub path: String,
    pub device: String,
    pub schema_version: i64,
    pub counts: BTreeMap<&'static str, u64>,
    pub changes: u64,
}

pub struct Replica {
    conn: Connection,
    path: PathBuf,
    device: String,
    clock: Clock,
    next_dev_seq: i64,
    next_tx: i64,
    /// See [`Replica::set_search_index`].
    search_index: bool,
    /// See [`Replica::checkpoint_in_background`]. Declared after `conn`, so the connection
    /// (whose WAL hook holds the only way to wake the thread) closes before the thread is
    /// joined.
    checkpointer: Option<Checkpointer>,
}

/// The thread that copies the WAL into the database file for [`Replica::checkpoint_in_background`].
struct Checkpointer {
    ask: std::sync::mpsc::SyncSender<Wake>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why the checkpoint thread wakes: a commit left the log long, or someone waits for one.
enum Wake {
    Grown,
    Now(std::sync::mpsc::Sender<rusqlite::Result<Checkpoint>>),
}

/// What a checkpoint did: WAL frames (pages) in the log, and how many of them are now in the
/// database file (all of them unless a reader still needed older ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub frames: i64,
    pub copied: i64,
    /// Checkpoints the background thread has run because commits woke it (not counting this).
    pub background_runs: u64,
}

fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The WAL hook's sender went with the connection (dropped first); with ours gone the
        // thread's loop ends.
        let (gone, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.ask, gone));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// WAL frames (pages) after which a commit wakes the checkpoint thread (~4 MB).
const CHECKPOINT_AT: i32 = 1_000;
/// WAL frames after which the writer checkpoints itself (~80 MB): under a steady stream of
/// commits the thread copies most of the log, but only a writer that finds it fully copied
/// restarts it, so without this the log would grow for as long as the stream lasts.
const CHECKPOINT_INLINE_AT: i32 = 20_000;

/// Mutable state of one write transaction.
pub(crate) struct Tx<'a> {
    pub(crate) tx: Transaction<'a>,
    device: &'a str,
    pub(crate) hlc: Hlc,
    next_dev_seq: i64,
    tx_no: i64,
    /// (entity, rowid) whose search entry must be rebuilt at commit.
    reindex: BTreeSet<(Entity, i64)>,
    /// Whether changes from elsewhere feed the search index.
    search: bool,
    /// Devices met in this transaction: id -> (number here, highest sequence held).
    devices: std::collections::HashMap<String, (i64, i64)>,
}

/// Opens and keys a connection to the encrypted file at `path` (a wrong key is an error
/// here, before anything is written).
fn open_keyed(path: &Path, key: &Key, flags: OpenFlags) -> Result<Connection> {
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
    conn.pragma_update(None, "key", key.pragma())?;
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

    /// Hands WAL checkpoints to a thread of its own with a second connection: a sync push or
    /// pull, or an import, then never waits while the log is copied into the database file
    /// (the server's stores and the `desk`/app replicas opened by `desk-keys` use it). A
    /// commit that leaves the log over ~4 MB wakes the thread, which checkpoints passively —
    /// it neither waits for nor blocks the writer; past ~80 MB (a long stream of commits) the
    /// writer copies what the thread has not, so the log restarts. Replaces SQLite's automatic
    /// checkpoint on this connection.
    pub fn checkpoint_in_background(&mut self, key: &Key) -> Result<()> {
        if self.checkpointer.is_some() {
            return Ok(());
        }
        let synchronous: i64 = self
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))?;
        let (path, key) = (self.path.clone(), key.clone());
        let (ask, woken) = std::sync::mpsc::sync_channel::<Wake>(1);
        let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name("desk-checkpoint".into())
            .spawn(move || {
                // Opened here rather than by the caller: deriving a passphrase's key costs the
                // caller nothing. Should it fail, the thread ends and the writer checkpoints
                // itself, as SQLite would.
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let Ok(conn) = open_keyed(&path, &key, flags) else {
                    return;
                };
                let _ = conn.pragma_update(None, "synchronous", synchronous);
                while let Ok(wake) = woken.recv() {
                    let done = passive_checkpoint(&conn);
                    match wake {
                        // Busy (another checkpoint running) or an I/O error: the next wake-up
                        // tries again, and the writer sees any real I/O error itself.
                        Wake::Grown => {
                            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Wake::Now(reply) => {
                            let _ = reply.send(done.map(|(frames, copied)| Checkpoint {
                                frames,
                                copied,
                                background_runs: counted.load(std::sync::atomic::Ordering::Relaxed),
                            }));
                        }
                    }
                }
            })
            .map_err(|source| Error::Io {
                path: self.path.display().to_string(),
                source,
            })?;
        let nudge = ask.clone();
        self.checkpointer = Some(Checkpointer {
            ask,
            thread: Some(thread),
        });
        // After a reset the log file is cut back to this size rather than kept at its peak.
        self.conn
            .pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        self.conn.wal_hook(Some(
            move |wal: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
                // The commit has happened: an error returned from here would make it report a
                // failure all the same, so a checkpoint that cannot run now (busy) is left to
                // the next commit.
                let passive = rusqlite::wal::CheckpointMode::PASSIVE;
                if frames >= CHECKPOINT_INLINE_AT {
                    // The thread cannot keep the log short while commits keep coming (the log
                    // restarts only when a write finds it fully copied): here the writer
                    // copies what the thread has not, and the next write restarts the log.
                    let _ = wal.checkpoint_v2(passive);
                } else if frames >= CHECKPOINT_AT {
                    // Full: a wake-up is already pending. Gone: the thread could not open.
                    if let Err(std::sync::mpsc::TrySendError::Disconnected(_)) =
                        nudge.try_send(Wake::Grown)
                    {
                        let _ = wal.checkpoint_v2(passive);
                    }
                }
                Ok(())
            },
        ))?;
        Ok(())
    }

    /// Copies the WAL into the database file now, as far as readers allow, and waits for it
    /// (on the background thread when there is one, after any checkpoint already asked of it).
    pub fn checkpoint_now(&mut self) -> Result<Checkpoint> {
        if let Some(c) = &self.checkpointer {
            let (reply, answer) = std::sync::mpsc::channel();
            if c.ask.send(Wake::Now(reply)).is_ok() {
                if let Ok(done) = answer.recv() {
                    return Ok(done?);
                }
            }
            // The thread could not open the file: here, then.
        }
        let (frames, copied) = passive_checkpoint(&self.conn)?;
        Ok(Checkpoint {
            frames,
            copied,
            background_runs: 0,
        })
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
        // 64 MB of page cache: a large import or sync batch then never spills half-written
        // pages to the WAL before its commit.
        conn.pragma_update(None, "cache_size", -65_536)?;
        let mut r = Replica {
            conn,
            path: path.to_path_buf(),
            device: String::new(),
            clock: Clock::starting_at(Hlc::ZERO),
            next_dev_seq: 1,
            next_tx: 1,
            search_index: true,
            checkpointer: None,
        };
        r.migrate(found, upto)?;
        r.load_meta()?;
        if upto == SCHEMA_VERSION {
            r.reapply_deferred()?;
        }
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
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        Ok(())
    }

    fn meta(&self, key: &str) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
    }

    fn load_meta(&mut self) -> Result<()> {
        let num = |s: String| s.parse::<i64>().unwrap_or(0);
        self.device = self.meta("device")?;
        self.clock = Clock::starting_at(Hlc(num(self.meta("hlc")?) as u64));
        self.next_dev_seq = num(self.meta("dev_seq")?).max(1);
        self.next_tx = num(self.meta("tx")?).max(1);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn device_id(&self) -> &str {
        &self.device
    }
    pub fn schema_version(&self) -> i64 {
        SCHEMA_VERSION
    }
    /// The underlying connection, for read-only queries of other crates in this workspace
    /// (briefing packs, exports). Writes must go through the methods of `Replica`.
    pub fn reader(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` as one transaction stamped with one clock reading; commits only if it succeeds.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let hlc = self.clock.tick(now_millis());
        let tx_no = self.next_tx;
        let mut w = Tx {
            tx: self.conn.transaction()?,
            device: &self.device,
            hlc,
            next_dev_seq: self.next_dev_seq,
            search: self.search_index,
            tx_no,
            reindex: BTreeSet::new(),
            devices: std::collections::HashMap::new(),
        };
        let out = f(&mut w)?;
        for (entity, rowid) in std::mem::take(&mut w.reindex) {
            search::reindex(&w.tx, entity, rowid)?;
        }
        let clock = self.clock.last().max(w.hlc);
        w.tx.execute(
            "UPDATE meta SET value = CASE key WHEN 'hlc' THEN ?1 WHEN 'dev_seq' THEN ?2 \
             WHEN 'tx' THEN ?3 END WHERE key IN ('hlc', 'dev_seq', 'tx')",
            params![
                clock.0.to_string(),
                w.next_dev_seq.to_string(),
                (tx_no + 1).to_string()
            ],
        )?;
        let next_dev_seq = w.next_dev_seq;
        w.tx.commit()?;
        self.clock.observe(clock);
        self.next_dev_seq = next_dev_seq;
        self.next_tx = tx_no + 1;
        Ok(out)
    }

    /// Creates one record; returns it as stored.
    pub fn create(&mut self, entity: Entity, input: &Fields) -> Result<Record> {
        let id = self.write(|w| w.insert(entity, input))?;
        self.get(entity, &id)
    }

    /// Creates many records of one entity in one transaction: all or none. Errors name the row
    /// (counting from 1). `progress` is called every 1,000 rows and at the end.
    pub fn create_many(
        &mut self,
        entity: Entity,
        rows: &[Fields],
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<String>> {
        let total = rows.len() as u64;
        // A big batch holds all its pages until commit: give it room so it does not spill.
        let big = rows.len() > 10_000;
        if big {
            self.conn.pragma_update(None, "cache_size", -262_144)?;
        }
        let out = self.write(|w| {
            let mut ids = Vec::with_capacity(rows.len());
            for (i, row) in rows.iter().enumerate() {
                let id = w.insert(entity, row).map_err(|e| Error::InRow {
                    row: i + 1,
                    source: Box::new(e),
                })?;
                ids.push(id);
                if (i + 1) % 1000 == 0 {
                    progress(Progress {
                        stage: entity.name(),
                        done: i as u64 + 1,
                        total,
                    });
                }
            }
            progress(Progress {
                stage: entity.name(),
                done: total,
                total,
            });
            Ok(ids)
        });
        if big {
            self.conn.pragma_update(None, "cache_size", -65_536)?;
        }
        out
    }

    /// Changes the given fields of a live record; `Value::Null` clears a field.
    pub fn update(&mut self, entity: Entity, id: &str, input: &Fields) -> Result<Record> {
        self.write(|w| w.update(entity, id, input))?;
        self.get(entity, id)
    }

    /// Deletes a record and its children (tombstones: they never come back by themselves).
    /// Returns how many records were deleted.
    pub fn delete(&mut self, entity: Entity, id: &str) -> Result<usize> {
        self.write(|w| w.delete(entity, id))
    }

    /// Brings a deleted record back (its children stay deleted unless restored too).
    pub fn restore(&mut self, entity: Entity, id: &str) -> Result<Record> {
        self.write(|w| w.restore(entity, id))?;
        self.get(entity, id)
    }

    /// One record, live or deleted.
    pub fn get(&self, entity: Entity, id: &str) -> Result<Record> {
        let d = entity.desc();
        let sql = format!("{} WHERE id = ?1", select_sql(d));
        self.conn
            .query_row(&sql, [id], |r| row_to_record(d, r))
            .optional()?
            .ok_or_else(|| Error::NotFound {
                entity: d.name,
                id: id.to_string(),
            })
    }

    pub fn list(&self, entity: Entity, q: &ListQuery) -> Result<Vec<Record>> {
        let d = entity.desc();
        let mut sql = select_sql(d);
        let mut args: Vec<Sql> = Vec::new();
        let mut conds = Vec::new();
        if !q.include_deleted {
            conds.push("_deleted = 0".to_string());
        }
        if let Some(parent) = &q.parent {
            let (pf, _) = d.parent.ok_or_else(|| {
                Error::invalid(
                    d.name,
                    "parent",
                    format!("{} records have no parent", d.name),
                )
            })?;
            conds.push(format!("{pf} = ?"));
            args.push(Sql::Text(parent.clone()));
        }
        for f in &q.filters {
            // Only the entity's own field names reach the SQL text.
            let field = d.fields.iter().find(|x| x.name == f.field).ok_or_else(|| {
                Error::invalid(
                    d.name,
                    "filter",
                    format!("{} has no field {}", d.name, f.field),
                )
            })?;
            conds.push(match f.op {
                FilterOp::Eq => format!("{} = ?", field.name),
                FilterOp::Ne => format!("({0} IS NULL OR {0} != ?)", field.name),
                FilterOp::Lt => format!("{} < ?", field.name),
            });
            args.push(Sql::Text(f.value.clone()));
        }
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY {}", d.order_by));
        sql.push_str(&format!(
            " LIMIT {} OFFSET {}",
            q.limit.map_or(-1, |l| l as i64),
            q.offset
        ));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| row_to_record(d, r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Live records of an entity.
    pub fn count(&self, entity: Entity) -> Result<u64> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE _deleted = 0",
            entity.desc().table
        );
        Ok(self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The replica's clock after its latest committed change (a local edit, or changes that
    /// arrived by sync, whose clocks the replica's clock has observed): what "data as of" means
    /// on anything made from it. None for an empty replica. One row read (a scan of the change
    /// log for its highest clock took 0.36 s on the large demo replica).
    pub fn data_as_of(&self) -> Result<Option<Hlc>> {
        let h = self.meta("hlc")?.parse::<u64>().unwrap_or(0);
        Ok((h > 0).then_some(Hlc(h)))
    }

    pub fn summary(&self) -> Result<Summary> {
        let mut counts = BTreeMap::new();
        for e in Entity::ALL {
            counts.insert(e.name(), self.count(e)?);
        }
        let changes: i64 = self
            .conn
            .query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))?;
        Ok(Summary {
            path: self.path.display().to_string(),
            device: self.device.clone(),
            schema_version: SCHEMA_VERSION,
            counts,
            changes: changes as u64,
        })
    }

    /// Resolves an id or natural key (acronym, project code, exact name) to a live record's id.
    pub fn resolve(&self, entity: Entity, text: &str) -> Result<String> {
        resolve_ref(&self.conn, entity.desc(), text)
            .map_err(|message| Error::invalid(entity.name(), "id", message))
    }

    /// A short human label for a record: its title, or for a reference title (a participant's
    /// contact) the referenced record's title.
    pub fn label(&self, rec: &Record) -> String {
        let Some(d) = Entity::parse(rec.entity).map(Entity::desc) else {
            return rec.id.clone();
        };
        let raw = rec
            .fields
            .get(d.title)
            .map(display_value)
            .unwrap_or_default();
        if let Some(FieldKind::Ref(target)) = d.field(d.title).map(|f| f.kind) {
            if let Ok(t) = self.get(target, &raw) {
                return self.label(&t);
            }
        }
        raw
    }

    /// Change-log entries after `after_seq`, oldest first, at most `limit`.
    pub fn changes(&self, after_seq: i64, limit: usize) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.seq, d.id, c.dev_seq, c.tx, c.entity, c.record, c.hlc, c.schema_version, \
             c.fields, c.bases, c.sets FROM change_log c JOIN device d ON d.n = c.device \
             WHERE c.seq > ?1 ORDER BY c.seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_seq, limit as i64], |r| {
            Ok((
                Change {
                    seq: r.get(0)?,
                    device: r.get(1)?,
                    dev_seq: r.get(2)?,
                    tx: r.get(3)?,
                    entity: r.get(4)?,
                    record: r.get(5)?,
                    hlc: Hlc(r.get::<_, i64>(6)? as u64),
                    schema_version: r.get(7)?,
                    fields: Vec::new(),
                },
                r.get::<_, String>(8)?,
                r.get::<_, Option<String>>(9)?,
                r.get::<_, Option<String>>(10)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut c, fields, bases, sets) = row?;
            let bad = |e: serde_json::Error| Error::BadChange {
                seq: c.seq,
                message: e.to_string(),
            };
            let values: Map<String, Value> = serde_json::from_str(&fields).map_err(bad)?;
            let bases: BTreeMap<String, u64> = match bases {
                Some(b) => serde_json::from_str(&b).map_err(bad)?,
                None => BTreeMap::new(),
            };
            let mut sets: BTreeMap<String, SetOps> = match sets {
                Some(s) => serde_json::from_str(&s).map_err(bad)?,
                None => BTreeMap::new(),
            };
            c.fields = values
                .into_iter()
                .map(|(field, value)| FieldChange {
                    base: Hlc(bases.get(&field).copied().unwrap_or(0)),
                    set: sets.remove(&field),
                    field,
                    value,
                })
                .collect();
            out.push(c);
        }
        Ok(out)
    }

    /// Applies changes made elsewhere (sync, or replaying a log) in one transaction. Per field
    /// the highest (clock, device) version wins whatever the order of arrival; a change already
    /// applied (same device and sequence) is skipped. Returns how many were new.
    pub fn apply_changes(&mut self, changes: &[Change]) -> Result<usize> {
        self.apply_pulled(changes, None)
    }

    /// [`Replica::apply_changes`] for a batch pulled from the sync server, recording in the
    /// same transaction how far the server's stream has been applied (`cursor`): an
    /// interrupted sync resumes after the last batch that committed, and a batch applied twice
    /// changes nothing.
    pub fn apply_pulled(&mut self, changes: &[Change], cursor: Option<i64>) -> Result<usize> {
        self.apply_pull(changes, &[], cursor)
    }

    /// [`Replica::apply_pulled`] with the records the server says this replica may no longer
    /// hold (its user lost the right to see them): in the same transaction they are removed with
    /// their children, their history, their conflicts and their search entries. This replica's
    /// own edits to them that the server has not yet acknowledged stay in the outbox (the server
    /// keeps them for review), so nothing typed here is lost unsent.
    pub fn apply_pull(
        &mut self,
        changes: &[Change],
        purged: &[RecordRef],
        cursor: Option<i64>,
    ) -> Result<usize> {
        // Hybrid logical clock: what we have seen moves our clock on, so our next edits are
        // stamped after the ones that just arrived.
        let before = self.clock.last();
        if let Some(max) = changes.iter().map(|c| c.hlc).max() {
            self.clock.observe(max);
        }
        let applied = match self.write(|w| {
            // Purges first: a record lost and regained within one page comes back whole from
            // the changes that follow.
            for p in purged {
                let entity = Entity::parse(&p.entity).ok_or_else(|| Error::BadChange {
                    seq: 0,
                    message: format!("purge of an unknown entity {}", p.entity),
                })?;
                w.purge(entity, &p.id)?;
            }
            let mut applied = 0;
            for c in changes {
                if w.apply(c)? {
                    applied += 1;
                }
            }
            if !purged.is_empty() {
                // Cached files of documents that went go too.
                crate::blobs::drop_unreferenced(&w.tx)?;
            }
            if let Some(cursor) = cursor {
                set_meta(&w.tx, "pulled", &cursor.to_string())?;
            }
            Ok(applied)
        }) {
            Ok(n) => n,
            Err(e) => {
                self.clock = Clock::starting_at(before);
                return Err(e);
            }
        };
        Ok(applied)
    }

    /// This replica's own changes the sync server has not yet acknowledged, oldest first: the
    /// outbox. An entry leaves it only when [`Replica::acknowledge`] records the server's
    /// durable commit, so nothing is lost to a dropped connection or a crash.
    pub fn outbox(&self, limit: usize) -> Result<Vec<Change>> {
        let acked = self.acknowledged()?;
        let own: i64 =
            self.conn
                .query_row("SELECT n FROM device WHERE id = ?1", [&self.device], |r| {
                    r.get(0)
                })?;
        let seqs: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(
                "SELECT seq FROM change_log WHERE device = ?1 AND dev_seq > ?2 \
                 ORDER BY dev_seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![own, acked, limit as i64], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            out.extend(self.changes(seq - 1, 1)?);
        }
        Ok(out)
    }

    /// How many changes wait in the outbox (cheap; for progress).
    pub fn outbox_len(&self) -> Result<usize> {
        let acked = self.acknowledged()?;
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM change_log WHERE device = 1 AND dev_seq > ?1",
            [acked],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// The highest sequence number held from `device` (0 if none): the server's high-water mark
    /// for that device.
    pub fn high_water(&self, device: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT coalesce(max(c.dev_seq), 0) FROM change_log c \
                 JOIN device d ON d.n = c.device WHERE d.id = ?1",
            [device],
            |r| r.get(0),
        )?)
    }

    /// The highest own sequence number the sync server has acknowledged.
    pub fn acknowledged(&self) -> Result<i64> {
        Ok(self.meta_or("pushed")?.parse().unwrap_or(0))
    }

    /// Records the server's acknowledgement of every own change up to `dev_seq` (never moves
    /// back: a late or repeated acknowledgement is harmless).
    pub fn acknowledge(&mut self, dev_seq: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        let current: i64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'pushed'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if dev_seq > current {
            set_meta(&tx, "pushed", &dev_seq.to_string())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How far the sync server's stream has been applied here (0: nothing yet).
    pub fn pull_cursor(&self) -> Result<i64> {
        Ok(self.meta_or("pulled")?.parse().unwrap_or(0))
    }

    /// Whether this replica holds any record at all (deleted ones included).
    pub fn holds_records(&self) -> Result<bool> {
        for e in Entity::ALL {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", e.desc().table);
            if self.conn.query_row(&sql, [], |r| r.get::<_, bool>(0))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Removes every record, its history, conflicts and search entries, and starts the pull
    /// cursor again from zero: for a device whose access was revoked (wiped) or whose user's
    /// role changed (pulled again under the new role). Own edits the server has not
    /// acknowledged stay in the outbox. One transaction. Returns how many records went.
    pub fn wipe(&mut self) -> Result<usize> {
        self.write(|w| {
            let mut n = 0;
            for e in Entity::ALL {
                let d = e.desc();
                n += w.tx.execute(&format!("DELETE FROM {}", d.table), [])?;
            }
            w.tx.execute("DELETE FROM search_tri", [])?;
            w.tx.execute("DELETE FROM conflict", [])?;
            w.tx.execute("DELETE FROM undo", [])?;
            w.tx.execute("DELETE FROM deferred", [])?;
            w.tx.execute("DELETE FROM set_dot", [])?;
            w.tx.execute("DELETE FROM blob_chunk", [])?;
            w.tx.execute("DELETE FROM blob", [])?;
            // The sync engine's note of files the server holds (made again when needed).
            w.tx.execute("DROP TABLE IF EXISTS sync_file_sent", [])?;
            let acked = acked_in(&w.tx)?;
            w.tx.execute(
                "DELETE FROM change_log WHERE NOT (device = 1 AND dev_seq > ?1)",
                [acked],
            )?;
            set_meta(&w.tx, "pulled", "0")?;
            Ok(n)
        })
    }

    /// Applies, in one transaction, the changes that were deferred because they named
    /// entities or fields this build did not know, now that it knows them (after an upgrade).
    /// Runs on open; returns how many were applied.
    pub fn reapply_deferred(&mut self) -> Result<usize> {
        let rows: Vec<(String, i64, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT device, dev_seq, change FROM deferred ORDER BY rowid")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let ready: Vec<(String, i64, Change)> = rows
            .into_iter()
            .filter_map(|(d, s, json)| {
                serde_json::from_str::<Change>(&json)
                    .ok()
                    .map(|c| (d, s, c))
            })
            .filter(|(_, _, c)| {
                Entity::parse(&c.entity).is_some_and(|e| {
                    c.fields
                        .iter()
                        .all(|f| f.field == "_deleted" || e.desc().field(&f.field).is_some())
                })
            })
            .collect();
        if ready.is_empty() {
            return Ok(0);
        }
        self.write(|w| {
            for (device, dev_seq, c) in &ready {
                w.apply_inner(c, true)?;
                w.tx.execute(
                    "DELETE FROM deferred WHERE device = ?1 AND dev_seq = ?2",
                    params![device, dev_seq],
                )?;
            }
            Ok(ready.len())
        })
    }

    /// How many changes wait for an upgrade of this replica (schema skew).
    pub fn deferred_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM deferred", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// The sequence number of the newest change-log entry (0 when empty).
    pub fn last_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(seq), 0) FROM change_log", [], |r| {
                r.get(0)
            })?)
    }

    /// Change-log entries by sequence number (those that exist), in the order asked.
    pub fn changes_at(&self, seqs: &[i64]) -> Result<Vec<Change>> {
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            out.extend(
                self.changes(seq - 1, 1)?
                    .into_iter()
                    .filter(|c| c.seq == seq),
            );
        }
        Ok(out)
    }

    /// A new reading of this replica's clock (the sync server stamps with it the changes whose
    /// clocks are implausibly far ahead).
    pub fn tick(&mut self) -> Hlc {
        self.clock.tick(now_millis())
    }

    /// Runs `f` in one transaction on tables outside the record schema (the sync server's
    /// accounts, tokens and audit log live beside its records). Records are never written this
    /// way: they go through the methods above, which keep the change log.
    pub fn with_transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// [`Replica::apply_changes`] and `also` (on tables outside the record schema) in one
    /// transaction: both commit or neither does.
    pub fn apply_changes_and(
        &mut self,
        changes: &[Change],
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<usize> {
        if let Some(max) = changes.iter().map(|c| c.hlc).max() {
            self.clock.observe(max);
        }
        self.write(|w| {
            let mut applied = 0;
            for c in changes {
                if w.apply(c)? {
                    applied += 1;
                }
            }
            also(&w.tx)?;
            Ok(applied)
        })
    }

    /// A local setting of this replica (never synced; inside the encrypted file): the sync
    /// server's address, the signed-in user, and the sync token where no OS keychain exists.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = ?1",
                [format!("local.{name}")],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Sets (or with `None` removes) a local setting; see [`Replica::setting`].
    pub fn set_setting(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        let key = format!("local.{name}");
        match value {
            Some(v) => {
                self.conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![key, v],
                )?;
            }
            None => {
                self.conn
                    .execute("DELETE FROM meta WHERE key = ?1", [key])?;
            }
        }
        Ok(())
    }

    fn meta_or(&self, key: &str) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?
            .unwrap_or_default())
    }

    /// A canonical text dump of every record table (all columns but the rowid, ordered by id)
    /// and of the search index. Two replicas with the same state give the same dump.
    pub fn dump(&self) -> Result<String> {
        let mut out = String::new();
        let devices: std::collections::HashMap<i64, String> = {
            let mut stmt = self.conn.prepare("SELECT n, id FROM device")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for e in Entity::ALL {
            let d = e.desc();
            out.push_str(&format!("## {}\n", d.table));
            let cols: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare(&format!("PRAGMA table_info({})", d.table))?;
                let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
                names
                    .collect::<rusqlite::Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|c| c != "rowid")
                    .collect()
            };
            let sql = format!("SELECT {} FROM {} ORDER BY id", cols.join(", "), d.table);
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let mut line = Vec::with_capacity(cols.len());
                for (i, col) in cols.iter().enumerate() {
                    let v = r.get::<_, Sql>(i)?;
                    // Device numbers are local to a file: show the device ids instead.
                    let v = match (col.as_str(), v) {
                        ("_dev", Sql::Integer(n)) => {
                            Sql::Text(devices.get(&n).cloned().unwrap_or_default())
                        }
                        ("_fv", Sql::Text(fv)) => {
                            let m: BTreeMap<String, (u64, i64)> =
                                serde_json::from_str(&fv).unwrap_or_default();
                            let m: BTreeMap<String, (u64, String)> = m
                                .into_iter()
                                .map(|(k, (h, n))| {
                                    (k, (h, devices.get(&n).cloned().unwrap_or_default()))
                                })
                                .collect();
                            Sql::Text(serde_json::to_string(&m).unwrap_or_default())
                        }
                        (_, v) => v,
                    };
                    line.push(format!("{v:?}"));
                }
                out.push_str(&line.join("|"));
                out.push('\n');
            }
        }
        if self.search_index {
            out.push_str("## search\n");
            for rec in crate::search::indexed_records(&self.conn)? {
                out.push_str(&rec);
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// Whether changes from elsewhere feed the search index (on by default). The sync server's
    /// store never searches and turns it off: a trigram entry is a good part of each merge.
    /// Its dump then has no search section.
    pub fn set_search_index(&mut self, on: bool) {
        self.search_index = on;
    }

    /// Makes this replica a sync server's copy, which merges and serves changes but is never
    /// browsed: no search index, and none of the indexes that only order lists for people
    /// (by name, code, date — a quarter of a merge's index work). Idempotent; the records
    /// and the change log are untouched.
    pub fn serve_only(&mut self) -> Result<()> {
        self.search_index = false;
        let sql: String = crate::migrations::BROWSE_INDEXES
            .iter()
            .map(|i| format!("DROP INDEX IF EXISTS {i};"))
            .collect();
        self.with_transaction(|tx| tx.execute_batch(&sql))
    }
}

impl Tx<'_> {
    /// Appends one change-log entry: `fields` changed on one record, `bases` the versions the
    /// editor had seen (only non-zero ones are stored).
    fn log(
        &mut self,
        entity: &str,
        record: &str,
        fields: String,
        bases: &BTreeMap<&str, u64>,
        sets: Option<String>,
    ) -> Result<()> {
        let dev_seq = self.next_dev_seq;
        self.next_dev_seq += 1;
        let bases: BTreeMap<&str, u64> = bases
            .iter()
            .filter(|(_, b)| **b != 0)
            .map(|(k, v)| (*k, *v))
            .collect();
        let bases = if bases.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&bases).unwrap_or_default())
        };
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO change_log (device, dev_seq, tx, entity, record, hlc, schema_version, \
             fields, bases, sets) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        stmt.execute(params![
            1,
            dev_seq,
            self.tx_no,
            entity,
            record,
            self.hlc.0 as i64,
            SCHEMA_VERSION,
            fields,
            bases,
            sets
        ])?;
        Ok(())
    }

    /// (rowid, deleted) of a record, or NotFound.
    fn locate(&self, d: &EntityDesc, id: &str) -> Result<(i64, bool)> {
        let sql = format!("SELECT rowid, _deleted FROM {} WHERE id = ?1", d.table);
        self.tx
            .prepare_cached(&sql)?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| Error::NotFound {
                entity: d.name,
                id: id.to_string(),
            })
    }

    fn normalize_input(
        &self,
        d: &'static EntityDesc,
        input: &Fields,
    ) -> Result<Vec<(&'static str, Value)>> {
        let mut out = Vec::with_capacity(input.len());
        for (name, v) in input {
            let f = d.field(name).ok_or_else(|| {
                Error::invalid(
                    d.name,
                    name,
                    format!(
                        "unknown field; {} fields are: {}",
                        d.name,
                        d.fields
                            .iter()
                            .map(|f| f.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
            out.push((f.name, normalize(&self.tx, d, f, v)?));
        }
        Ok(out)
    }

    pub(crate) fn insert(&mut self, entity: Entity, input: &Fields) -> Result<String> {
        let d = entity.desc();
        let mut values: BTreeMap<&'static str, Value> = BTreeMap::new();
        for (name, v) in self.normalize_input(d, input)? {
            values.insert(name, v);
        }
        for f in d.fields {
            let present = values.get(f.name).is_some_and(|v| !v.is_null());
            if !present {
                if let Some(default) = f.default {
                    values.insert(f.name, normalize(&self.tx, d, f, &Value::from(default))?);
                } else if f.required {
                    return Err(Error::invalid(d.name, f.name, "is required"));
                }
            }
        }
        values.retain(|_, v| !v.is_null());
        self.check_record(d, None, &values)?;
        let id = uuid::Uuid::now_v7().to_string();
        let hlc = self.hlc.0 as i64;
        {
            // One cached statement per entity, every column bound (NULL where absent).
            let mut stmt = self.tx.prepare_cached(insert_sql(entity, false))?;
            let mut params: Vec<ToSqlOutput<'_>> = Vec::with_capacity(4 + d.fields.len());
            params.push(ToSqlOutput::Borrowed(ValueRef::Text(id.as_bytes())));
            params.push(ToSqlOutput::Owned(Sql::Integer(hlc)));
            // This replica is device 1 of its own `device` table.
            params.push(ToSqlOutput::Owned(Sql::Integer(1)));
            params.push(ToSqlOutput::Owned(Sql::Integer(hlc)));
            for f in d.fields {
                params.push(bind(values.get(f.name).unwrap_or(&Value::Null)));
            }
            stmt.execute(rusqlite::params_from_iter(params))?;
        }
        let rowid = self.tx.last_insert_rowid();
        let logged = serde_json::to_string(&values).unwrap_or_default();
        self.log(d.name, &id, logged, &BTreeMap::new(), None)?;
        if !d.search.is_empty() {
            search::index_new(&self.tx, d, rowid, &values)?;
        }
        Ok(id)
    }

    /// Cross-field rules: uniqueness, date ranges, references that must share a parent.
    fn check_record(
        &self,
        d: &EntityDesc,
        id: Option<&str>,
        v: &BTreeMap<&'static str, Value>,
    ) -> Result<()> {
        for u in d.unique {
            if let Some(Value::String(s)) = v.get(u) {
                let sql = format!(
                    "SELECT id FROM {} WHERE {u} = ?1 COLLATE NOCASE AND _deleted = 0 AND id != ?2 LIMIT 1",
                    d.table
                );
                let other: Option<String> = self
                    .tx
                    .query_row(&sql, params![s, id.unwrap_or("")], |r| r.get(0))
                    .optional()?;
                if let Some(other) = other {
                    return Err(Error::invalid(
                        d.name,
                        u,
                        format!("'{s}' is already used by {other}"),
                    ));
                }
            }
        }
        if let Some((start, end)) = d.date_range {
            if let (Some(Value::String(s)), Some(Value::String(e))) = (v.get(start), v.get(end)) {
                if e < s {
                    return Err(Error::invalid(
                        d.name,
                        end,
                        format!("{e} is before {start} {s}"),
                    ));
                }
            }
        }
        if let Some((pf, pe)) = d.parent {
            let parent = v.get(pf).and_then(Value::as_str).unwrap_or_default();
            for f in d.fields {
                let FieldKind::Ref(target) = f.kind else {
                    continue;
                };
                let td = target.desc();
                let Some((tpf, tpe)) = td.parent else {
                    continue;
                };
                if tpe != pe || f.name == pf {
                    continue;
                }
                if let Some(Value::String(tid)) = v.get(f.name) {
                    let sql = format!("SELECT {tpf} FROM {} WHERE id = ?1", td.table);
                    let tparent: Option<String> = self
                        .tx
                        .query_row(&sql, [tid], |r| r.get(0))
                        .optional()?
                        .flatten();
                    if tparent.as_deref() != Some(parent) {
                        return Err(Error::invalid(
                            d.name,
                            f.name,
                            format!("{} {tid} belongs to another {}", td.name, pe.name()),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn current(&self, d: &'static EntityDesc, id: &str) -> Result<(i64, Record, Versions)> {
        let sql = format!(
            "{}, _hlc, _dev, _fv FROM {} WHERE id = ?1",
            select_cols(d),
            d.table
        );
        type Raw = (i64, Record, (i64, i64, Option<String>));
        let (rowid, rec, (hlc, dev, fv)): Raw = self
            .tx
            .prepare_cached(&sql)?
            .query_row([id], |r| {
                let rec = row_to_record(d, r)?;
                let n = 6 + d.fields.len();
                Ok((r.get(4)?, rec, (r.get(n)?, r.get(n + 1)?, r.get(n + 2)?)))
            })
            .optional()?
            .ok_or_else(|| Error::NotFound {
                entity: d.name,
                id: id.to_string(),
            })?;
        let versions = Versions::read(hlc, dev, fv, &|n| self.device_id(n))?;
        Ok((rowid, rec, versions))
    }

    #[allow(clippy::too_many_arguments)]
    fn record_conflict(
        &self,
        entity: &str,
        record: &str,
        field: &str,
        kind: &str,
        held: (&Value, &Version),
        incoming: (&Value, &Version),
        winner: &str,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO conflict (entity, record, field, kind, held, held_hlc, held_device, \
                 incoming, incoming_hlc, incoming_device, winner) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                entity,
                record,
                field,
                kind,
                held.0.to_string(),
                held.1.hlc.0 as i64,
                held.1.device,
                incoming.0.to_string(),
                incoming.1.hlc.0 as i64,
                incoming.1.device,
                winner
            ])?;
        Ok(())
    }

    /// The id of a device by its number in this file (1 is this replica; 0 none).
    fn device_id(&self, n: i64) -> Result<String> {
        match n {
            0 => Ok(String::new()),
            1 => Ok(self.device.to_string()),
            _ => Ok(self
                .tx
                .prepare_cached("SELECT id FROM device WHERE n = ?1")?
                .query_row([n], |r| r.get(0))?),
        }
    }

    /// The number of a device in this file, adding it if it is new.
    fn device_n(&self, id: &str) -> Result<i64> {
        if id == self.device {
            return Ok(1);
        }
        if id.is_empty() {
            return Ok(0);
        }
        let n: Option<i64> = self
            .tx
            .prepare_cached("SELECT n FROM device WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        match n {
            Some(n) => Ok(n),
            None => {
                self.tx
                    .execute("INSERT INTO device (id) VALUES (?1)", [id])?;
                Ok(self.tx.last_insert_rowid())
            }
        }
    }

    pub(crate) fn update(&mut self, entity: Entity, id: &str, input: &Fields) -> Result<()> {
        let d = entity.desc();
        let (rowid, rec, mut versions) = self.current(d, id)?;
        if rec.deleted {
            return Err(Error::Deleted {
                entity: d.name,
                id: id.to_string(),
            });
        }
        let changes = self.normalize_input(d, input)?;
        if let Some((pf, _)) = d.parent {
            if changes
                .iter()
                .any(|(n, v)| *n == pf && rec.fields.get(pf) != Some(v))
            {
                return Err(Error::invalid(
                    d.name,
                    pf,
                    "cannot move a record to another parent",
                ));
            }
        }
        let mut merged: BTreeMap<&'static str, Value> = BTreeMap::new();
        for f in d.fields {
            if let Some(v) = rec.fields.get(f.name) {
                merged.insert(f.name, v.clone());
            }
        }
        let mut changed = Vec::new();
        for (name, v) in changes {
            let old = merged.get(name).cloned().unwrap_or(Value::Null);
            if old != v {
                if v.is_null() {
                    merged.remove(name);
                } else {
                    merged.insert(name, v.clone());
                }
                changed.push((name, v));
            }
        }
        if changed.is_empty() {
            return Ok(());
        }
        self.check_record(d, Some(id), &merged)?;
        // Set fields: the edit becomes adds and removals of elements (add-wins, `sets.rs`);
        // the list stored is what the dots hold.
        let mut set_ops: BTreeMap<&'static str, SetOps> = BTreeMap::new();
        let mut unchanged: BTreeSet<&'static str> = BTreeSet::new();
        for (name, v) in changed.iter_mut() {
            if !crate::sets::is_set(d, name) {
                continue;
            }
            let present = rec.fields.contains_key(*name);
            let held = rec.fields.get(*name).cloned().unwrap_or(Value::Null);
            match crate::sets::edit(
                &self.tx,
                id,
                name,
                &held,
                &versions.get(name, present),
                v,
                self.device,
                self.next_dev_seq,
                self.hlc,
            )? {
                Some((ops, now)) => {
                    *v = now;
                    set_ops.insert(name, ops);
                }
                None => {
                    unchanged.insert(name);
                }
            }
        }
        changed.retain(|(name, _)| !unchanged.contains(name));
        if changed.is_empty() {
            return Ok(());
        }
        let mut sets = Vec::new();
        let mut args = Vec::new();
        for (name, v) in &changed {
            sets.push(format!("{name} = ?"));
            args.push(to_sql(v));
        }
        let mut logged = Map::new();
        let mut bases = BTreeMap::new();
        for (name, v) in &changed {
            bases.insert(
                *name,
                versions.get(name, rec.fields.contains_key(*name)).hlc.0,
            );
            logged.insert(name.to_string(), v.clone());
            versions.set(
                name,
                Version {
                    hlc: self.hlc,
                    device: self.device.to_string(),
                },
                v.is_null(),
            );
        }
        let set_ops =
            (!set_ops.is_empty()).then(|| serde_json::to_string(&set_ops).unwrap_or_default());
        self.log(
            d.name,
            id,
            Value::Object(logged).to_string(),
            &bases,
            set_ops,
        )?;
        args.push(versions.overrides_json(&|id| self.device_n(id))?);
        args.push(Sql::Integer(self.hlc.0 as i64));
        args.push(Sql::Integer(rowid));
        let sql = format!(
            "UPDATE {} SET {}, _fv = ?, _updated = ? WHERE rowid = ?",
            d.table,
            sets.join(", ")
        );
        self.tx.execute(&sql, rusqlite::params_from_iter(args))?;
        if changed.iter().any(|(n, _)| d.search.contains(n)) {
            self.reindex.insert((entity, rowid));
        }
        Ok(())
    }

    pub(crate) fn tx_no(&self) -> i64 {
        self.tx_no
    }

    /// Brings a deleted record back; refused while its parent is deleted.
    pub(crate) fn restore(&mut self, entity: Entity, id: &str) -> Result<()> {
        let d = entity.desc();
        let (rowid, deleted) = self.locate(d, id)?;
        if !deleted {
            return Ok(());
        }
        if let Some((pf, pe)) = d.parent {
            let parent: Option<String> = self.tx.query_row(
                &format!("SELECT {pf} FROM {} WHERE rowid = ?1", d.table),
                [rowid],
                |r| r.get(0),
            )?;
            if let Some(p) = parent {
                let (_, parent_deleted) = self.locate(pe.desc(), &p)?;
                if parent_deleted {
                    return Err(Error::Deleted {
                        entity: pe.name(),
                        id: p,
                    });
                }
            }
        }
        self.set_deleted(entity, rowid, id, false)
    }

    pub(crate) fn delete(&mut self, entity: Entity, id: &str) -> Result<usize> {
        let d = entity.desc();
        let (rowid, deleted) = self.locate(d, id)?;
        if deleted {
            return Ok(0);
        }
        let mut n = 0;
        for child in entity.children() {
            let (pf, _) = child.parent.unwrap_or(("", entity));
            let sql = format!(
                "SELECT id FROM {} WHERE {pf} = ?1 AND _deleted = 0",
                child.table
            );
            let ids: Vec<String> = self
                .tx
                .prepare(&sql)?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for cid in ids {
                n += self.delete(child.entity, &cid)?;
            }
        }
        self.set_deleted(entity, rowid, id, true)?;
        Ok(n + 1)
    }

    /// Removes a record and its children from this replica entirely (rows, history except own
    /// unacknowledged edits, conflicts, search entries). Nothing is logged: a purge is not an
    /// edit, and other replicas never hear of it. Unknown ids are ignored.
    pub(crate) fn purge(&mut self, entity: Entity, id: &str) -> Result<()> {
        let d = entity.desc();
        for child in entity.children() {
            let (pf, _) = child.parent.unwrap_or(("", entity));
            let sql = format!("SELECT id FROM {} WHERE {pf} = ?1", child.table);
            let ids: Vec<String> = self
                .tx
                .prepare(&sql)?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for cid in ids {
                self.purge(child.entity, &cid)?;
            }
        }
        if let Ok((rowid, _)) = self.locate(d, id) {
            if !d.search.is_empty() {
                self.tx
                    .prepare_cached("DELETE FROM search_tri WHERE rowid = ?1")?
                    .execute([(d.search_code << search::SHIFT) | rowid])?;
            }
            self.tx.execute(
                &format!("DELETE FROM {} WHERE rowid = ?1", d.table),
                [rowid],
            )?;
        }
        self.tx.execute(
            "DELETE FROM conflict WHERE entity = ?1 AND record = ?2",
            params![d.name, id],
        )?;
        self.tx
            .execute("DELETE FROM deferred WHERE record = ?1", [id])?;
        crate::sets::forget(&self.tx, id)?;
        let acked = acked_in(&self.tx)?;
        self.tx.execute(
            "DELETE FROM change_log WHERE record = ?1 AND entity = ?2 \
             AND NOT (device = 1 AND dev_seq > ?3)",
            params![id, d.name, acked],
        )?;
        Ok(())
    }

    /// The sync server stamped one of our changes again (its clock was implausibly far ahead):
    /// take the server's stamp for it in the log and for every field whose version it still is,
    /// so this replica holds exactly what every other one does.
    fn restamp(&mut self, d: &'static EntityDesc, c: &Change, seq: i64, old: Hlc) -> Result<()> {
        self.tx.execute(
            "UPDATE change_log SET hlc = ?1 WHERE seq = ?2",
            params![c.hlc.0 as i64, seq],
        )?;
        crate::sets::restamp(&self.tx, &c.device, c.dev_seq, c.hlc)?;
        let Ok((rowid, rec, mut versions)) = self.current(d, &c.record) else {
            return Ok(());
        };
        let was = Version {
            hlc: old,
            device: c.device.clone(),
        };
        let now = Version {
            hlc: c.hlc,
            device: c.device.clone(),
        };
        let default_was_this = versions.default == was;
        let mut fixed = Vec::new();
        for f in &c.fields {
            let present = rec.fields.contains_key(&f.field);
            if versions.get(&f.field, present) == was {
                let is_null = rec.fields.get(&f.field).is_none_or(Value::is_null);
                fixed.push((f.field.clone(), is_null && f.field != "_deleted"));
            }
        }
        if default_was_this {
            // Fields still at the create version move with it.
            versions.default = now.clone();
        }
        for (field, is_null) in fixed {
            versions.overrides.remove(&field);
            versions.set(&field, now.clone(), is_null);
        }
        // The row's newest clock is its newest field version (every change that won bumped it).
        let updated = versions
            .overrides
            .values()
            .map(|v| v.hlc)
            .chain([versions.default.hlc])
            .max()
            .unwrap_or(Hlc::ZERO);
        self.tx.execute(
            &format!(
                "UPDATE {} SET _hlc = ?1, _fv = ?2, _updated = ?3 WHERE rowid = ?4",
                d.table
            ),
            params![
                versions.default.hlc.0 as i64,
                versions.overrides_json(&|id| self.device_n(id))?,
                updated.0 as i64,
                rowid
            ],
        )?;
        Ok(())
    }

    fn set_deleted(&mut self, entity: Entity, rowid: i64, id: &str, deleted: bool) -> Result<()> {
        let d = entity.desc();
        let (_, _, mut versions) = self.current(d, id)?;
        let base = versions.get("_deleted", false).hlc;
        let logged = json_object_1("_deleted", &Value::Bool(deleted));
        self.log(
            d.name,
            id,
            logged,
            &BTreeMap::from([("_deleted", base.0)]),
            None,
        )?;
        versions.set(
            "_deleted",
            Version {
                hlc: self.hlc,
                device: self.device.to_string(),
            },
            false,
        );
        self.tx.execute(
            &format!(
                "UPDATE {} SET _deleted = ?1, _fv = ?2, _updated = ?3 WHERE rowid = ?4",
                d.table
            ),
            params![
                deleted,
                versions.overrides_json(&|id| self.device_n(id))?,
                self.hlc.0 as i64,
                rowid
            ],
        )?;
        if !d.search.is_empty() {
            self.reindex.insert((entity, rowid));
        }
        Ok(())
    }

    /// Applies one change from elsewhere; false if it was already applied. Each field merges
    /// on its own: it takes the incoming value only if the incoming version is the highest.
    fn apply(&mut self, c: &Change) -> Result<bool> {
        self.apply_inner(c, false)
    }

    /// Schema skew: a change from a newer schema may name an entity or fields this build does
    /// not know. What is known applies now; the whole change waits in `deferred` and is applied
    /// in full once this replica has been upgraded (see [`Replica::reapply_deferred`]). Returns
    /// `None` when nothing in `c` is unknown.
    fn defer_unknown(&mut self, c: &Change) -> Result<Option<bool>> {
        if c.schema_version <= SCHEMA_VERSION {
            return Ok(None);
        }
        let entity = Entity::parse(&c.entity);
        let known = |f: &FieldChange| {
            f.field == "_deleted" || entity.is_some_and(|e| e.desc().field(&f.field).is_some())
        };
        if entity.is_some() && c.fields.iter().all(known) {
            return Ok(None);
        }
        let held: bool = self
            .tx
            .prepare_cached("SELECT 1 FROM deferred WHERE device = ?1 AND dev_seq = ?2")?
            .query_row(params![c.device, c.dev_seq], |_| Ok(true))
            .optional()?
            .unwrap_or(false);
        if held {
            return Ok(Some(false));
        }
        self.tx
            .prepare_cached(
                "INSERT INTO deferred (device, dev_seq, record, change) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                c.device,
                c.dev_seq,
                c.record,
                serde_json::to_string(c).unwrap_or_default()
            ])?;
        if entity.is_none() {
            return Ok(Some(true));
        }
        let mut part = c.clone();
        part.fields.retain(known);
        self.apply_inner(&part, false).map(Some)
    }

    /// Applies `c`; with `redo`, a change applied before in part (deferred) is merged again in
    /// full and its log entry completed.
    fn apply_inner(&mut self, c: &Change, redo: bool) -> Result<bool> {
        if !redo {
            if let Some(applied) = self.defer_unknown(c)? {
                return Ok(applied);
            }
        }
        let bad = |message: String| Error::BadChange {
            seq: c.seq,
            message,
        };
        // Never trusted: a pulled change is checked as the server checked it when pushed.
        crate::validate::check_change(c)?;
        let entity =
            Entity::parse(&c.entity).ok_or_else(|| bad(format!("unknown entity {}", c.entity)))?;
        let d = entity.desc();
        let mut kinds = Vec::with_capacity(c.fields.len());
        for f in &c.fields {
            kinds.push(if f.field == "_deleted" {
                None
            } else {
                Some(
                    d.field(&f.field)
                        .ok_or_else(|| bad(format!("unknown field {}.{}", d.name, f.field)))?
                        .kind,
                )
            });
        }
        // Per device, its number here and the highest sequence held, read once a
        // transaction: a change above it is new without asking (the common case of a page).
        let known = match self.devices.get(&c.device) {
            Some(&v) => Some(v),
            None => {
                let n: Option<i64> = self
                    .tx
                    .prepare_cached("SELECT n FROM device WHERE id = ?1")?
                    .query_row([&c.device], |r| r.get(0))
                    .optional()?;
                match n {
                    Some(n) => {
                        let max: i64 = self
                            .tx
                            .prepare_cached(
                                "SELECT coalesce(max(dev_seq), 0) FROM change_log WHERE device = ?1",
                            )?
                            .query_row([n], |r| r.get(0))?;
                        self.devices.insert(c.device.clone(), (n, max));
                        Some((n, max))
                    }
                    None => None,
                }
            }
        };
        let dev_n = match known {
            Some((n, max)) if c.dev_seq > max && !redo => n,
            Some((n, _)) => {
                let seen: Option<(i64, i64)> = self
                    .tx
                    .prepare_cached(
                        "SELECT seq, hlc FROM change_log WHERE device = ?1 AND dev_seq = ?2",
                    )?
                    .query_row(params![n, c.dev_seq], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match seen {
                    Some((seq, _)) if redo => {
                        // Logged again below, in full.
                        self.tx
                            .execute("DELETE FROM change_log WHERE seq = ?1", [seq])?;
                    }
                    Some((seq, hlc)) => {
                        if hlc as u64 != c.hlc.0 {
                            self.restamp(d, c, seq, Hlc(hlc as u64))?;
                        }
                        return Ok(false);
                    }
                    None => {}
                }
                n
            }
            None => {
                self.tx
                    .execute("INSERT INTO device (id) VALUES (?1)", [&c.device])?;
                let n = self.tx.last_insert_rowid();
                self.devices.insert(c.device.clone(), (n, 0));
                n
            }
        };
        if let Some(v) = self.devices.get_mut(&c.device) {
            v.1 = v.1.max(c.dev_seq);
        }
        let incoming = Version {
            hlc: c.hlc,
            device: c.device.clone(),
        };
        let has_tombstone = c.fields.iter().any(|f| f.field == "_deleted");
        // A record this replica has never seen (the bulk of an initial sync): one insert with
        // every field, as a local create does; it does nothing if the record exists.
        if !has_tombstone && self.apply_create(d, c, dev_n)? {
            return Ok(true);
        }
        if has_tombstone && self.locate(d, &c.record).is_err() {
            self.tx.execute(
                &format!(
                    "INSERT INTO {} (id, _hlc, _dev, _updated) VALUES (?1, ?2, ?3, ?2)",
                    d.table
                ),
                params![c.record, c.hlc.0 as i64, dev_n],
            )?;
        }
        let (rowid, rec, mut versions) = self.current(d, &c.record)?;
        let mut sets = Vec::new();
        let mut args = Vec::new();
        let mut touches_search = false;
        // An edit that raced a delete: the fields take the edit (they are kept), the record stays
        // deleted — no resurrection — and a person decides whether to restore it.
        let edits: Map<String, Value> = c
            .fields
            .iter()
            .filter(|f| f.field != "_deleted")
            .map(|f| (f.field.clone(), f.value.clone()))
            .collect();
        let deleted_by = versions.get("_deleted", false);
        if rec.deleted && !edits.is_empty() && deleted_by.device != incoming.device {
            self.record_conflict(
                d.name,
                &c.record,
                "_deleted",
                "edited_while_deleted",
                (&Value::Bool(true), &deleted_by),
                (&Value::Object(edits), &incoming),
                "held",
            )?;
        }
        for (f, kind) in c.fields.iter().zip(&kinds) {
            let current = versions.get(&f.field, rec.fields.contains_key(&f.field));
            let held = rec.fields.get(&f.field).cloned().unwrap_or(Value::Null);
            let wins = desk_protocol::merge::wins(&incoming, &current);
            // A set field with a set edit, or one already dotted here: merged element by
            // element (add-wins, `sets.rs`), never a conflict.
            if kind.is_some()
                && crate::sets::is_set(d, &f.field)
                && (f.set.is_some() || crate::sets::dotted(&self.tx, &c.record, &f.field)?)
            {
                let now = crate::sets::merge(
                    &self.tx,
                    &c.record,
                    &f.field,
                    &held,
                    &current,
                    (&f.set, &f.value, &incoming, c.dev_seq),
                )?;
                sets.push(format!("{} = ?", f.field));
                args.push(to_sql(&now));
                let version = if wins { incoming.clone() } else { current };
                versions.set(&f.field, version, now.is_null());
                touches_search |= d.search.contains(&f.field.as_str());
                continue;
            }
            // Concurrent edits that disagree: the writer had not seen the value held here.
            // The higher version still wins; both values go to the inbox.
            if kind.is_some()
                && current.hlc != Hlc::ZERO
                && current.device != incoming.device
                && desk_protocol::merge::is_conflict(
                    f.base,
                    &f.value,
                    &desk_protocol::merge::Register {
                        value: held.clone(),
                        version: current.clone(),
                    },
                )
            {
                self.record_conflict(
                    d.name,
                    &c.record,
                    &f.field,
                    "concurrent_edit",
                    (&held, &current),
                    (&f.value, &incoming),
                    if wins { "incoming" } else { "held" },
                )?;
            }
            if !wins {
                continue;
            }
            sets.push(format!("{} = ?", f.field));
            args.push(match kind {
                None => Sql::Integer(i64::from(f.value.as_bool().unwrap_or(false))),
                Some(_) => to_sql(&f.value),
            });
            versions.set(&f.field, incoming.clone(), f.value.is_null());
            touches_search |= kind.is_none() || d.search.contains(&f.field.as_str());
        }
        if !sets.is_empty() {
            args.push(versions.overrides_json(&|id| self.device_n(id))?);
            args.push(Sql::Integer(c.hlc.0 as i64));
            args.push(Sql::Integer(rowid));
            let sql = format!(
                "UPDATE {} SET {}, _fv = ?, _updated = max(_updated, ?) WHERE rowid = ?",
                d.table,
                sets.join(", ")
            );
            self.tx
                .prepare_cached(&sql)?
                .execute(rusqlite::params_from_iter(args))?;
            if self.search && touches_search && !d.search.is_empty() {
                self.reindex.insert((entity, rowid));
            }
        }
        self.log_applied(d, c, dev_n)?;
        Ok(true)
    }

    /// Applies the first change of a record new to this replica: its fields in one insert,
    /// at the change's version; fields it does not name stay unwritten (version zero).
    fn apply_create(&mut self, d: &'static EntityDesc, c: &Change, dev_n: i64) -> Result<bool> {
        let mut values: BTreeMap<&'static str, Value> = BTreeMap::new();
        let mut nulls: BTreeMap<&'static str, (u64, i64)> = BTreeMap::new();
        for f in &c.fields {
            let Some(fd) = d.field(&f.field) else {
                continue; // checked by the caller
            };
            if f.value.is_null() {
                // Cleared at the create version: it needs its own version (see Versions::set).
                nulls.insert(fd.name, (c.hlc.0, dev_n));
            } else {
                values.insert(fd.name, f.value.clone());
            }
        }
        let hlc = c.hlc.0 as i64;
        {
            let mut stmt = self.tx.prepare_cached(insert_sql(d.entity, true))?;
            let mut params: Vec<ToSqlOutput<'_>> = Vec::with_capacity(4 + d.fields.len());
            params.push(ToSqlOutput::Borrowed(ValueRef::Text(c.record.as_bytes())));
            params.push(ToSqlOutput::Owned(Sql::Integer(hlc)));
            params.push(ToSqlOutput::Owned(Sql::Integer(dev_n)));
            params.push(ToSqlOutput::Owned(Sql::Integer(hlc)));
            for f in d.fields {
                params.push(bind(values.get(f.name).unwrap_or(&Value::Null)));
            }
            if stmt.execute(rusqlite::params_from_iter(params))? == 0 {
                return Ok(false);
            }
        }
        let rowid = self.tx.last_insert_rowid();
        if !nulls.is_empty() {
            self.tx.execute(
                &format!("UPDATE {} SET _fv = ?1 WHERE rowid = ?2", d.table),
                params![serde_json::to_string(&nulls).unwrap_or_default(), rowid],
            )?;
        }
        if self.search && !d.search.is_empty() {
            search::index_new(&self.tx, d, rowid, &values)?;
        }
        self.log_applied(d, c, dev_n)?;
        Ok(true)
    }

    /// Appends a change that arrived from elsewhere to this replica's log.
    fn log_applied(&mut self, d: &EntityDesc, c: &Change, dev_n: i64) -> Result<()> {
        // Borrowed: the same JSON (keys sorted) without copying every value first.
        let fields: BTreeMap<&str, &Value> = c
            .fields
            .iter()
            .map(|f| (f.field.as_str(), &f.value))
            .collect();
        let bases: BTreeMap<&str, u64> = c
            .fields
            .iter()
            .filter(|f| f.base.0 != 0)
            .map(|f| (f.field.as_str(), f.base.0))
            .collect();
        let sets: BTreeMap<&str, &SetOps> = c
            .fields
            .iter()
            .filter_map(|f| f.set.as_ref().map(|s| (f.field.as_str(), s)))
            .collect();
        self.tx
            .prepare_cached(
                "INSERT INTO change_log (device, dev_seq, tx, entity, record, hlc, schema_version, \
                 fields, bases, sets) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                dev_n,
                c.dev_seq,
                c.tx,
                d.name,
                c.record,
                c.hlc.0 as i64,
                c.schema_version,
                serde_json::to_string(&fields).unwrap_or_default(),
                (!bases.is_empty()).then(|| serde_json::to_string(&bases).unwrap_or_default()),
                (!sets.is_empty()).then(|| serde_json::to_string(&sets).unwrap_or_default())
            ])?;
        if c.hlc > self.hlc {
            self.hlc = c.hlc;
        }
        Ok(())
    }
}

/// The versions of a row's fields: a default (the create) and overrides for later writes.
struct Versions {
    default: Version,
    overrides: BTreeMap<String, Version>,
}

impl Versions {
    /// Reads a row's versions; devices are stored as numbers of the `device` table and
    /// resolved to their ids here, so comparisons use the ids every replica agrees on.
    fn read(
        hlc: i64,
        dev_n: i64,
        fv: Option<String>,
        id_of: &dyn Fn(i64) -> Result<String>,
    ) -> Result<Versions> {
        let mut overrides = BTreeMap::new();
        let stored = fv
            .and_then(|s| serde_json::from_str::<BTreeMap<String, (u64, i64)>>(&s).ok())
            .unwrap_or_default();
        for (k, (h, n)) in stored {
            overrides.insert(
                k,
                Version {
                    hlc: Hlc(h),
                    device: id_of(n)?,
                },
            );
        }
        Ok(Versions {
            default: Version {
                hlc: Hlc(hlc as u64),
                device: id_of(dev_n)?,
            },
            overrides,
        })
    }
    /// The version of a field. A field with no override has the row's create version if it
    /// holds a value, and the zero version if it was never written (so an older change that
    /// arrives after a newer one still fills the fields the newer one did not touch). The
    /// tombstone always has an explicit version once written.
    fn get(&self, field: &str, present: bool) -> Version {
        match self.overrides.get(field) {
            Some(v) => v.clone(),
            None if present && field != "_deleted" => self.default.clone(),
            None => Version {
                hlc: Hlc::ZERO,
                device: String::new(),
            },
        }
    }
    /// Records that `field` now has version `v`. A write at the create version needs no
    /// override, unless it wrote nothing (a null): then "never written" and "cleared at the
    /// create version" would look the same, and an older value arriving later would win.
    fn set(&mut self, field: &str, v: Version, is_null: bool) {
        if v == self.default && !is_null && field != "_deleted" {
            self.overrides.remove(field);
        } else {
            self.overrides.insert(field.to_string(), v);
        }
    }
    fn overrides_json(&self, n_of: &dyn Fn(&str) -> Result<i64>) -> Result<Sql> {
        if self.overrides.is_empty() {
            return Ok(Sql::Null);
        }
        let mut m: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
        for (k, v) in &self.overrides {
            m.insert(k.as_str(), (v.hlc.0, n_of(&v.device)?));
        }
        Ok(Sql::Text(serde_json::to_string(&m).unwrap_or_default()))
    }
}

/// The highest own sequence number the server acknowledged, read inside a transaction.
fn acked_in(tx: &rusqlite::Transaction<'_>) -> Result<i64> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE key = 'pushed'", [], |r| {
            r.get::<_, String>(0)
        })
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

fn set_meta(tx: &rusqlite::Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// The wall clock, in milliseconds since the Unix epoch (the physical part of new clocks).
fn now_millis() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

fn select_cols(d: &EntityDesc) -> String {
    let mut s = String::from("SELECT id, _hlc, _updated, _deleted, rowid, _dev");
    for f in d.fields {
        s.push_str(", ");
        s.push_str(f.name);
    }
    s
}

fn select_sql(d: &EntityDesc) -> String {
    format!("{} FROM {}", select_cols(d), d.table)
}

fn row_to_record(d: &EntityDesc, r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let mut fields = Map::new();
    for (i, f) in d.fields.iter().enumerate() {
        let v = from_sql(f.kind, r.get::<_, Sql>(6 + i)?);
        if !v.is_null() {
            fields.insert(f.name.to_string(), v);
        }
    }
    Ok(Record {
        entity: d.name,
        id: r.get(0)?,
        fields,
        created_at: Hlc(r.get::<_, i64>(1)? as u64).to_rfc3339(),
        updated_at: Hlc(r.get::<_, i64>(2)? as u64).to_rfc3339(),
        deleted: r.get(3)?,
    })
}

fn json_object_1(k: &str, v: &Value) -> String {
    let mut m = Map::new();
    m.insert(k.to_string(), v.clone());
    Value::Object(m).to_string()
}

/// `INSERT INTO table (id, _hlc, _dev, _updated, field…) VALUES (?, …)`, made once per entity.
/// The cached INSERT of every column of an entity; `or_skip`: one that does nothing when a
/// record with that id exists (applying changes from elsewhere).
fn insert_sql(entity: Entity, or_skip: bool) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        [false, true]
            .iter()
            .flat_map(|skip| Entity::ALL.iter().map(move |e| (*skip, e)))
            .map(|(skip, e)| {
                let d = e.desc();
                let cols: Vec<&str> = ["id", "_hlc", "_dev", "_updated"]
                    .into_iter()
                    .chain(d.fields.iter().map(|f| f.name))
                    .collect();
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({}){}",
                    d.table,
                    cols.join(", "),
                    marks.join(", "),
                    if skip {
                        " ON CONFLICT (id) DO NOTHING"
                    } else {
                        ""
                    }
                )
            })
            .collect()
    });
    let i = Entity::ALL.iter().position(|e| *e == entity).unwrap_or(0);
    &all[i + if or_skip { Entity::ALL.len() } else { 0 }]
}

/// A stored value as an SQL parameter, borrowing text rather than copying it.
fn bind(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::String(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        other => ToSqlOutput::Owned(to_sql(other)),
    }
}

pub(crate) fn to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        Value::Array(_) | Value::Object(_) => Sql::Text(v.to_string()),
    }
}

fn from_sql(kind: FieldKind, v: Sql) -> Value {
    match (kind, v) {
        (_, Sql::Null) => Value::Null,
        (FieldKind::List | FieldKind::CountryList | FieldKind::RefList(_), Sql::Text(s)) => {
            serde_json::from_str(&s).unwrap_or(Value::String(s))
        }
        (FieldKind::Real { .. }, Sql::Integer(i)) => serde_json::Number::from_f64(i as f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (_, Sql::Integer(i)) => Value::from(i),
        (_, Sql::Real(f)) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (_, Sql::Text(s)) => Value::String(s),
        (_, Sql::Blob(_)) => Value::Null,
    }
}

/// A value as plain text for tables and labels: lists joined with ", ".
pub fn display_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}
