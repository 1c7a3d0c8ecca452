//! Undo of the last local action, through the change log.
//!
//! An undo is an ordinary write (so it is logged and synced like any edit): each field the
//! action changed goes back to the value it had before — found in the log entry whose version
//! the action recorded as its base — a created record is deleted, a deleted one restored.
//! A field someone changed again since is left alone and reported, never overwritten.

use crate::error::Result;
use crate::hlc::Hlc;
use crate::replica::{Fields, Replica};
use crate::schema::Entity;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};

/// What an undo did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UndoReport {
    /// The transaction that was undone.
    pub tx: i64,
    /// (entity, record id) put back.
    pub records: Vec<(String, String)>,
    /// entity.field of records changed again since, left as they are.
    pub kept_newer: Vec<String>,
}

struct Entry {
    seq: i64,
    entity: String,
    record: String,
    hlc: i64,
    fields: Map<String, Value>,
    bases: Map<String, Value>,
}

impl Replica {
    /// Undoes the most recent local action not yet undone (undos themselves are not undone:
    /// repeated undo walks back through history). None when there is nothing to undo.
    pub fn undo(&mut self) -> Result<Option<UndoReport>> {
        let conn = self.reader();
        let tx: Option<i64> = conn
            .query_row(
                "SELECT max(tx) FROM change_log WHERE device = 1 \
                 AND tx NOT IN (SELECT tx FROM undo) AND tx NOT IN (SELECT by_tx FROM undo)",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let Some(tx) = tx else { return Ok(None) };
        let mut stmt = conn.prepare(
            "SELECT entity, record, hlc, fields, bases, seq FROM change_log \
             WHERE device = 1 AND tx = ?1 ORDER BY seq DESC",
        )?;
        let entries: Vec<Entry> = stmt
            .query_map([tx], |r| {
                let fields: String = r.get(3)?;
                let bases: Option<String> = r.get(4)?;
                Ok(Entry {
                    seq: r.get(5)?,
                    entity: r.get(0)?,
                    record: r.get(1)?,
                    hlc: r.get(2)?,
                    fields: serde_json::from_str(&fields).unwrap_or_default(),
                    bases: bases
                        .and_then(|b| serde_json::from_str(&b).ok())
                        .unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        drop(stmt);

        // Work out, before writing, what each record goes back to.
        enum Plan {
            Delete,
            Restore,
            Redelete,
            Set(Fields),
        }
        let mut plans: Vec<(Entity, String, Plan)> = Vec::new();
        let mut kept_newer = Vec::new();
        for e in &entries {
            let Some(entity) = Entity::parse(&e.entity) else {
                continue;
            };
            // The record's first entry made it.
            let first: i64 = self.reader().query_row(
                "SELECT min(seq) FROM change_log WHERE record = ?1",
                [&e.record],
                |r| r.get(0),
            )?;
            let created = first == e.seq;
            if created {
                plans.push((entity, e.record.clone(), Plan::Delete));
                continue;
            }
            if let Some(Value::Bool(deleted)) = e.fields.get("_deleted") {
                let plan = if *deleted {
                    Plan::Restore
                } else {
                    Plan::Redelete
                };
                plans.push((entity, e.record.clone(), plan));
                continue;
            }
            let mut back = Fields::new();
            for field in e.fields.keys() {
                if self.changed_since(&e.record, field, e.hlc)? {
                    kept_newer.push(format!("{}.{field}", e.entity));
                    continue;
                }
                let base = e.bases.get(field).and_then(Value::as_u64).unwrap_or(0);
                back.insert(field.clone(), self.value_at(&e.record, field, Hlc(base))?);
            }
            if !back.is_empty() {
                plans.push((entity, e.record.clone(), Plan::Set(back)));
            }
        }

        let records: Vec<(String, String)> = plans
            .iter()
            .map(|(e, id, _)| (e.name().to_string(), id.clone()))
            .collect();
        self.write(|w| {
            for (entity, id, plan) in &plans {
                match plan {
                    Plan::Delete | Plan::Redelete => {
                        w.delete(*entity, id)?;
                    }
                    Plan::Restore => w.restore(*entity, id)?,
                    Plan::Set(fields) => w.update(*entity, id, fields)?,
                }
            }
            let by_tx = w.tx_no();
            w.tx.execute(
                "INSERT INTO undo (tx, by_tx) VALUES (?1, ?2)",
                params![tx, by_tx],
            )?;
            Ok(())
        })?;
        Ok(Some(UndoReport {
            tx,
            records,
            kept_newer,
        }))
    }

    /// Log entries of a record matching a clock condition, as parsed field maps.
    fn entries_of(&self, record: &str, cond: &str, hlc: i64) -> Result<Vec<Map<String, Value>>> {
        let sql = format!(
            "SELECT fields FROM change_log WHERE record = ?1 AND hlc {cond} ?2 ORDER BY seq DESC"
        );
        let mut stmt = self.reader().prepare(&sql)?;
        let rows = stmt.query_map(params![record, hlc], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for row in rows {
            out.push(serde_json::from_str(&row?).unwrap_or_default());
        }
        Ok(out)
    }

    /// Whether a field of a record was written after `hlc` (by anyone).
    fn changed_since(&self, record: &str, field: &str, hlc: i64) -> Result<bool> {
        Ok(self
            .entries_of(record, ">", hlc)?
            .iter()
            .any(|f| f.contains_key(field)))
    }

    /// The value a field had at version `hlc` (null if never written).
    fn value_at(&self, record: &str, field: &str, hlc: Hlc) -> Result<Value> {
        if hlc.0 == 0 {
            return Ok(Value::Null);
        }
        Ok(self
            .entries_of(record, "=", hlc.0 as i64)?
            .into_iter()
            .find_map(|mut f| f.remove(field))
            .unwrap_or(Value::Null))
    }
}
