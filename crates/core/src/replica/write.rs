//! The write transaction: local creates, updates, deletes and restores, the checks they
//! pass, and the change-log entries they append.

use super::sql::{bind, insert_sql, to_sql};
use super::{now_millis, Fields, Record, Replica, SetOps, Tx};
use crate::error::{Error, Result};
use crate::hlc::Version;
use crate::migrations::SCHEMA_VERSION;
use crate::schema::{Entity, EntityDesc, FieldKind};
use crate::search;
use crate::validate::normalize;
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Progress of long work, for a progress bar: `done` of `total` units of `stage`.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: u64,
}

impl Replica {
    /// Runs `f` as one transaction stamped with one clock reading; commits only if it succeeds.
    ///
    /// The transaction takes the write lock at its start, and continues the clock, the
    /// device's change sequence and the transaction count from what is stored when another
    /// process wrote meanwhile (the `desk` CLI beside the open app, on the same replica): two
    /// writers never stamp two changes with one sequence number.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        self.write_then(|w| f(w).map(|out| (out, true)))
    }

    /// [`Replica::write`], where `f` also says whether to commit: when it says no (a dry run,
    /// an import with bad rows), everything it wrote is rolled back and its answer returned.
    pub(crate) fn write_then<T>(
        &mut self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<(T, bool)>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let stored = |key: &str| -> Result<i64> {
            let v: String =
                tx.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))?;
            Ok(v.parse::<i64>().unwrap_or(0))
        };
        let (stored_hlc, stored_seq, stored_tx) =
            (stored("hlc")?, stored("dev_seq")?, stored("tx")?);
        self.clock
            .observe(crate::hlc::Hlc(stored_hlc.max(0) as u64));
        let hlc = self.clock.tick(now_millis());
        let tx_no = self.next_tx.max(stored_tx);
        let mut w = Tx {
            tx,
            device: &self.device,
            hlc,
            next_dev_seq: self.next_dev_seq.max(stored_seq),
            search: self.search_index,
            tx_no,
            reindex: BTreeSet::new(),
            devices: std::collections::HashMap::new(),
        };
        let (out, commit) = f(&mut w)?;
        if !commit {
            // Dropping the transaction rolls it back; the clock only moved on, harmlessly.
            return Ok(out);
        }
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
        let cache = match rows.len() {
            n if n > 10_000 => super::open::IMPORT_CACHE_MIB,
            n if n > super::open::BATCH_CHANGES => super::open::BATCH_CACHE_MIB,
            _ => 0,
        };
        self.write_batch(cache, |w| {
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
        })
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
    pub(super) fn locate(&self, d: &EntityDesc, id: &str) -> Result<(i64, bool)> {
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
        if entity == Entity::Participant {
            self.default_delegation(&mut values)?;
        }
        self.default_parent_of_ref(d, &mut values)?;
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

    /// A participant created with no delegation (neither a country nor an organisation) joins
    /// the delegation of the contact's country, or else of the contact's organisation's
    /// country, as a person filling in the list would: a Thai minister-counsellor sits with
    /// Thailand. Not for those who attend for no country: the roles secretariat, development
    /// partner and interpreter, and staff of a secretariat, development partner or
    /// international organisation (whatever their nationality). The value is part of the
    /// create, so every replica sees the same delegation; clearing it later is kept.
    fn default_delegation(&self, values: &mut BTreeMap<&'static str, Value>) -> Result<()> {
        if values.contains_key("delegation") || values.contains_key("delegation_org") {
            return Ok(());
        }
        let role = values.get("role").and_then(Value::as_str).unwrap_or("");
        if matches!(role, "secretariat" | "development_partner" | "interpreter") {
            return Ok(());
        }
        let Some(contact) = values.get("contact").and_then(Value::as_str) else {
            return Ok(());
        };
        let found: Option<(Option<String>, Option<String>, Option<String>)> = self
            .tx
            .prepare_cached(
                "SELECT c.country, o.country, o.kind FROM contact c \
                 LEFT JOIN organisation o ON o.id = c.org AND o._deleted = 0 WHERE c.id = ?1",
            )?
            .query_row([contact], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((own, org_country, org_kind)) = found else {
            return Ok(());
        };
        if matches!(
            org_kind.as_deref(),
            Some("secretariat" | "development_partner" | "international_organisation")
        ) {
            return Ok(());
        }
        if let Some(code) = own.or(org_country).filter(|c| !c.is_empty()) {
            values.insert("delegation", Value::String(code));
        }
        Ok(())
    }

    /// A record with no parent of its own that names both a meeting and one of its parts (a
    /// document for an agenda item) takes the part's meeting when it names none: a paper filed
    /// under item 3 belongs to item 3's meeting, as a person would file it.
    fn default_parent_of_ref(
        &self,
        d: &EntityDesc,
        values: &mut BTreeMap<&'static str, Value>,
    ) -> Result<()> {
        if d.parent.is_some() {
            return Ok(());
        }
        for (f, tpf, td) in refs_to_parts(d) {
            if values.contains_key(tpf) {
                continue;
            }
            let Some(Value::String(tid)) = values.get(f) else {
                continue;
            };
            let parent = self.parent_of(td, tpf, tid)?;
            if let Some(p) = parent {
                values.insert(tpf, Value::String(p));
            }
        }
        Ok(())
    }

    /// What record `tid` of `td` names in its field `tpf` (the meeting an agenda item is of).
    fn parent_of(&self, td: &EntityDesc, tpf: &str, tid: &str) -> Result<Option<String>> {
        let sql = format!("SELECT {tpf} FROM {} WHERE id = ?1", td.table);
        Ok(self
            .tx
            .prepare_cached(&sql)?
            .query_row([tid], |r| r.get(0))
            .optional()?
            .flatten())
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
                    let tparent = self.parent_of(td, tpf, tid)?;
                    if tparent.as_deref() != Some(parent) {
                        return Err(Error::invalid(
                            d.name,
                            f.name,
                            format!("{} {tid} belongs to another {}", td.name, pe.name()),
                        ));
                    }
                }
            }
        } else {
            // No parent, but a reference to a part and to what it is part of (a document's
            // agenda item and meeting): the two must agree.
            for (f, tpf, td) in refs_to_parts(d) {
                let (Some(Value::String(tid)), Some(Value::String(parent))) =
                    (v.get(f), v.get(tpf))
                else {
                    continue;
                };
                let tparent = self.parent_of(td, tpf, tid)?;
                if tparent.as_deref() != Some(parent.as_str()) {
                    return Err(Error::invalid(
                        d.name,
                        f,
                        format!("{} {tid} belongs to another {tpf}", td.name),
                    ));
                }
            }
        }
        Ok(())
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
}

/// The reference fields of a parentless entity `d` whose target is part of something `d` also
/// references by the same field name (a document's `agenda_item`, whose `meeting` the document
/// also names): (field, the shared field, the target's descriptor).
fn refs_to_parts(
    d: &EntityDesc,
) -> impl Iterator<Item = (&'static str, &'static str, &'static EntityDesc)> + '_ {
    d.fields.iter().filter_map(move |f| {
        let FieldKind::Ref(target) = f.kind else {
            return None;
        };
        let td = target.desc();
        let (tpf, tpe) = td.parent?;
        let shared = d
            .fields
            .iter()
            .any(|g| g.name == tpf && g.kind == FieldKind::Ref(tpe));
        shared.then_some((f.name, tpf, td))
    })
}

fn json_object_1(k: &str, v: &Value) -> String {
    let mut m = Map::new();
    m.insert(k.to_string(), v.clone());
    Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::Key;
    use super::*;
    use crate::precedence::DelegationKey;
    use serde_json::json;

    fn fields(v: Value) -> Fields {
        match v {
            Value::Object(m) => m,
            _ => Fields::new(),
        }
    }

    #[test]
    fn a_participant_without_delegation_joins_the_contact_s_country() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut r =
            Replica::init(&dir.path().join("replica.db"), &Key::Raw([7u8; 32])).expect("init");
        let m = r
            .create(
                Entity::Meeting,
                &fields(json!({"title": "SOM", "start_date": "2026-03-01"})),
            )
            .expect("meeting");
        let add = |r: &mut Replica, contact: Value, participant: Value| {
            let c = r
                .create(Entity::Contact, &fields(contact))
                .expect("contact");
            let mut p = fields(participant);
            p.insert("meeting".into(), json!(m.id));
            p.insert("contact".into(), json!(c.id));
            r.create(Entity::Participant, &p).expect("participant")
        };
        // A Thai minister-counsellor: Thailand, from the contact's country.
        let th = add(
            &mut r,
            json!({"name": "Anong Wongsawat", "country": "TH", "title": "Minister-Counsellor"}),
            json!({}),
        );
        assert_eq!(th.str("delegation"), Some("TH"));
        // A Vietnamese ambassador known only by a ministry: Viet Nam, from the organisation.
        let mofa = r
            .create(
                Entity::Organisation,
                &fields(json!({"name": "Ministry of Foreign Affairs", "acronym": "MOFA-VN", "kind": "ministry", "country": "VN"})),
            )
            .expect("org");
        let vn = add(
            &mut r,
            json!({"name": "Nguyen Van An", "org": mofa.id, "title": "Ambassador"}),
            json!({"role": "head_of_delegation"}),
        );
        assert_eq!(vn.str("delegation"), Some("VN"));
        // A stated delegation is kept.
        let kept = add(
            &mut r,
            json!({"name": "Sok Vanna", "country": "KH"}),
            json!({"delegation": "LA"}),
        );
        assert_eq!(kept.str("delegation"), Some("LA"));
        // Secretariat staff and partners' staff attend for no country.
        let sec = add(
            &mut r,
            json!({"name": "Somchai Jaidee", "country": "TH"}),
            json!({"role": "secretariat"}),
        );
        assert_eq!(sec.str("delegation"), None);
        let adb = r
            .create(
                Entity::Organisation,
                &fields(json!({"name": "Asian Development Bank", "acronym": "ADB", "kind": "development_partner", "country": "PH"})),
            )
            .expect("org");
        let partner = add(
            &mut r,
            json!({"name": "Hiroshi Tanaka", "country": "JP", "org": adb.id}),
            json!({}),
        );
        assert_eq!(partner.str("delegation"), None);
        let nobody = add(&mut r, json!({"name": "Unknown Person"}), json!({}));
        assert_eq!(nobody.str("delegation"), None);
        // The delegations follow: Thailand and Viet Nam, not "Secretariat and others".
        let dels = r.delegations(&m.id).expect("delegations");
        let find = |id: &str| {
            dels.iter()
                .find(|d| d.members.iter().any(|p| p.participant_id == id))
                .map(|d| d.key.clone())
        };
        assert_eq!(
            find(&th.id),
            Some(DelegationKey::Country { code: "TH".into() })
        );
        assert_eq!(
            find(&vn.id),
            Some(DelegationKey::Country { code: "VN".into() })
        );
        assert_eq!(find(&sec.id), Some(DelegationKey::Unassigned));
        // The default went into the change log: sync sends the same value.
        let logged: String = r
            .reader()
            .query_row(
                "SELECT fields FROM change_log WHERE record = ?1",
                [&th.id],
                |row| row.get(0),
            )
            .expect("logged");
        assert!(logged.contains("\"delegation\":\"TH\""), "{logged}");
    }
}
