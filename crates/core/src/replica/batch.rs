//! Batches: many writes in one transaction, each row tried on its own (imports).
//!
//! An import brings thousands of rows through the same writer path as a typed edit (the same
//! validation, change log, search index and undo), in one transaction that is one undo step.
//! Each row runs under a savepoint ([`Batch::attempt`]): a row that fails leaves nothing of
//! itself behind, so the caller can report every bad row at once and then decide — commit the
//! good ones, or write nothing. A dry run does all of the work and rolls it back.

use super::sql::{row_to_record, select_sql};
use super::{Fields, Record, Replica, Tx};
use crate::error::{Error, Result};
use crate::schema::Entity;
use rusqlite::OptionalExtension;

/// Writes of one batch; see the module documentation.
pub struct Batch<'t, 'a> {
    w: &'t mut Tx<'a>,
}

impl Batch<'_, '_> {
    /// Creates a record as [`Replica::create`] does; returns its id.
    pub fn create(&mut self, entity: Entity, input: &Fields) -> Result<String> {
        self.w.insert(entity, input)
    }

    /// Changes fields of a live record as [`Replica::update`] does (unchanged values are not
    /// logged).
    pub fn update(&mut self, entity: Entity, id: &str, input: &Fields) -> Result<()> {
        self.w.update(entity, id, input)
    }

    /// A record as this batch sees it (its own writes included), or `None`.
    pub fn get(&self, entity: Entity, id: &str) -> Result<Option<Record>> {
        let d = entity.desc();
        let sql = format!("{} WHERE id = ?1", select_sql(d));
        Ok(self
            .w
            .tx
            .prepare_cached(&sql)?
            .query_row([id], |r| row_to_record(d, r))
            .optional()?)
    }

    /// A field's value as the core would store it (`Thailand` → `TH`, a list split, a date
    /// checked), or the error an edit would get; nothing is written. `Null` for a blank value
    /// of an optional field.
    pub fn normalize(
        &self,
        entity: Entity,
        field: &str,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let d = entity.desc();
        let f = d
            .field(field)
            .ok_or_else(|| Error::invalid(d.name, field, "unknown field"))?;
        crate::validate::normalize(&self.w.tx, d, f, value)
    }

    /// The transaction's connection, for reads that see this batch's own writes.
    pub fn reader(&self) -> &rusqlite::Connection {
        &self.w.tx
    }

    /// Runs one row's writes under a savepoint: on error, everything the row wrote is undone
    /// (rows, change-log entries, search entries) and the error returned; the batch goes on.
    pub fn attempt<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.w.tx.execute_batch("SAVEPOINT batch_row")?;
        let seq = self.w.next_dev_seq;
        let reindex = self.w.reindex.clone();
        match f(self) {
            Ok(out) => {
                self.w.tx.execute_batch("RELEASE batch_row")?;
                Ok(out)
            }
            Err(e) => {
                self.w
                    .tx
                    .execute_batch("ROLLBACK TO batch_row; RELEASE batch_row")?;
                self.w.next_dev_seq = seq;
                self.w.reindex = reindex;
                Err(e)
            }
        }
    }
}

impl Replica {
    /// Runs `f` as one batch: one transaction, one undo step, one clock reading. `f` returns
    /// its answer (a report) and whether to commit: when it says no (a dry run, or rows that
    /// failed), everything is rolled back and the answer still returned. An error from `f`
    /// writes nothing. `rows`, the expected number of records, sizes the page cache.
    pub fn batch<T>(
        &mut self,
        rows: usize,
        f: impl FnOnce(&mut Batch<'_, '_>) -> Result<(T, bool)>,
    ) -> Result<T> {
        let cache = match rows {
            n if n > 10_000 => super::open::IMPORT_CACHE_MIB,
            n if n > super::open::BATCH_CHANGES => super::open::BATCH_CACHE_MIB,
            _ => 0,
        };
        self.write_batch_then(cache, |w| f(&mut Batch { w }))
    }
}

impl Error {
    /// This error, said of row `row` of a batch (counting from 1).
    pub fn in_row(self, row: usize) -> Error {
        Error::InRow {
            row,
            source: Box::new(self),
        }
    }
}
