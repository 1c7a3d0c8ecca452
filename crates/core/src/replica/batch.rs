//! Batches: many writes in one transaction, each row tried on its own (imports).
//!
//! An import brings thousands of rows through the same writer path as a typed edit (the same
//! validation, change log, search index and undo), in one transaction that is one undo step.
//! Rows run under savepoints ([`Batch::attempt`]), one row or a group of rows at a time (the
//! caller tries a group's rows again one by one when one of them fails): a row that fails
//! leaves nothing of itself behind, so the caller can report every bad row at once and then
//! decide — commit the good ones, or write nothing. A dry run does all of the work and rolls it
//! back.

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
        Ok(self
            .w
            .tx
            .prepare_cached(by_id_sql(entity, false))?
            .query_row([id], |r| row_to_record(d, r))
            .optional()?)
    }

    /// Whether a live (not deleted) record of `entity` has the id `id`, as this batch sees it:
    /// [`Batch::get`] without reading the record (an import asks it of every organisation name).
    pub fn is_live(&self, entity: Entity, id: &str) -> Result<bool> {
        let deleted: Option<bool> = self
            .w
            .tx
            .prepare_cached(by_id_sql(entity, true))?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(deleted == Some(false))
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

    /// Runs one row's writes (or a group of rows') under a savepoint: on error, everything they
    /// wrote is undone (rows, change-log entries, search entries) and the error returned; the
    /// batch goes on.
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

/// The SELECT of a record by id (every column, or `deleted_only` its `_deleted`), made once per
/// entity: a batch asks it once or twice per imported row.
fn by_id_sql(entity: Entity, deleted_only: bool) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        [false, true]
            .iter()
            .flat_map(|only| Entity::ALL.iter().map(move |e| (*only, e.desc())))
            .map(|(only, d)| {
                if only {
                    format!("SELECT _deleted FROM {} WHERE id = ?1", d.table)
                } else {
                    format!("{} WHERE id = ?1", select_sql(d))
                }
            })
            .collect()
    });
    let i = Entity::ALL.iter().position(|e| *e == entity).unwrap_or(0);
    &all[i + if deleted_only { Entity::ALL.len() } else { 0 }]
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
