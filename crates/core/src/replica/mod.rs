//! The replica: one encrypted SQLite file, and the one writer path every mutation goes through.
//!
//! Every write is one transaction that (1) validates all input against the descriptors,
//! (2) changes the rows, (3) appends one change-log entry per changed field, stamped with a
//! single hybrid-logical-clock reading for the whole user action, and (4) keeps the search
//! index current. If any step fails, nothing is written.
//!
//! Its parts: `open` opens, keys and migrates the file (`key`: the key that opens it);
//! `write` is the write transaction (create, update, delete, restore and their checks);
//! `read` reads records and views of them; `apply` applies changes made elsewhere;
//! `change_log` reads the log back, with the outbox and acknowledgements of sync; `purge`
//! removes records this replica may no longer hold; `versions` keeps each field's version;
//! `checkpoint` copies the WAL into the file; `sql` converts values to and from SQL; `page`
//! reads lists a page at a time (keyset); `home` gathers the home view; `moves` moves agenda
//! items and decisions and numbers them by their order; `batch` runs many writes (imports) in one
//! transaction, each row under a savepoint, or as a dry run.

mod apply;
mod audit;
mod batch;
mod change_log;
mod checkpoint;
mod history;
mod home;
mod key;
mod moves;
mod open;
mod page;
mod portfolio;
mod purge;
mod read;
mod sql;
mod versions;
mod write;

pub use batch::Batch;
pub use checkpoint::Checkpoint;
use checkpoint::Checkpointer;
pub use history::{FieldEdit, HistoryEntry, HISTORY_MAX};
pub use home::{ActionDue, AttentionReason, Home, ProjectAttention};
pub use key::Key;
pub(crate) use moves::numbers_under;
pub(crate) use open::BATCH_CACHE_MIB;
pub use open::RESTING_CACHE_MIB;
pub use page::{FieldFilter, FilterKind, Page, PageQuery, DEFAULT_PAGE, MAX_PAGE};
pub use portfolio::{MilestonePoint, PortfolioRow};
pub use read::{display_value, Filter, FilterOp, ListQuery, Record, Summary};
pub use write::Progress;

use crate::error::Result;
use crate::hlc::{Clock, Hlc};
use crate::migrations::SCHEMA_VERSION;
use crate::schema::Entity;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Field values keyed by field name, as given by a caller or stored on a record.
pub type Fields = Map<String, Value>;

// The wire types of the change log are the protocol's (one definition, client and server).
pub use desk_protocol::v1::{Change, Dot, FieldChange, RecordRef, SetOps};

pub struct Replica {
    conn: Connection,
    path: PathBuf,
    device: String,
    clock: Clock,
    next_dev_seq: i64,
    next_tx: i64,
    /// See [`Replica::set_search_index`].
    search_index: bool,
    /// SQLite's page cache between writes, MiB (see [`Replica::set_cache_mib`]).
    cache_mib: u32,
    /// See [`Replica::checkpoint_in_background`]. Declared after `conn`, so the connection
    /// (whose WAL hook holds the only way to wake the thread) closes before the thread is
    /// joined.
    checkpointer: Option<Checkpointer>,
    /// The follow-up tracker's order of one framework's action items, kept while the replica
    /// is unchanged (see [`crate::followup`]).
    pub(crate) followup_order: std::sync::Mutex<Option<crate::followup::Order>>,
}

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

impl Replica {
    fn meta(&self, key: &str) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?)
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
