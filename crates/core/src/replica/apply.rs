//! Applying changes made elsewhere: a page pulled from the sync server (with its purges and
//! cursor), the server's own merge, and changes deferred until an upgrade.

use super::open::{BATCH_CACHE_MIB, BATCH_CHANGES};
use super::sql::{bind, insert_sql, to_sql};
use super::{set_meta, Change, FieldChange, RecordRef, Replica, SetOps, Tx};
use crate::error::{Error, Result};
use crate::hlc::{Clock, Hlc, Version};
use crate::migrations::SCHEMA_VERSION;
use crate::schema::{Entity, EntityDesc};
use crate::search;
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

impl Replica {
    /// Applies changes made elsewhere (a page pulled from the sync server, or a log replayed)
    /// in one transaction: the one way in for them. Per field the highest (clock, device)
    /// version wins whatever the order of arrival; a change already applied (same device and
    /// sequence) is skipped. Returns how many were new.
    ///
    /// `purged`: the records the server says this replica may no longer hold (its user lost
    /// the right to see them): in the same transaction they are removed with their children,
    /// their history, their conflicts and their search entries. This replica's own edits to
    /// them that the server has not yet acknowledged stay in the outbox (the server keeps them
    /// for review), so nothing typed here is lost unsent.
    ///
    /// `cursor`: how far the server's stream has been applied, recorded in the same
    /// transaction, so an interrupted sync resumes after the last batch that committed and a
    /// batch applied twice changes nothing. `None` (replaying a log) leaves it as it is.
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
        let cache = batch_cache(changes.len() + purged.len());
        let applied = match self.write_batch(cache, |w| {
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
                if w.apply(c, false)? {
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
        self.write_batch(batch_cache(ready.len()), |w| {
            for (device, dev_seq, c) in &ready {
                w.apply(c, true)?;
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

    /// Applies `changes` as [`Replica::apply_pull`] does (no purges, no cursor) and runs `also`
    /// (on tables outside the record schema) in the same transaction: both commit or neither
    /// does. For the sync server's store, which merges pushed changes beside its own tables.
    pub fn apply_changes_and(
        &mut self,
        changes: &[Change],
        also: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>,
    ) -> Result<usize> {
        if let Some(max) = changes.iter().map(|c| c.hlc).max() {
            self.clock.observe(max);
        }
        self.write_batch(batch_cache(changes.len()), |w| {
            let mut applied = 0;
            for c in changes {
                if w.apply(c, false)? {
                    applied += 1;
                }
            }
            also(&w.tx)?;
            Ok(applied)
        })
    }
}

/// The page cache for applying `n` changes: a batch's above [`BATCH_CHANGES`], else as at rest.
fn batch_cache(n: usize) -> u32 {
    if n > BATCH_CHANGES {
        BATCH_CACHE_MIB
    } else {
        0
    }
}

impl Tx<'_> {
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
        self.apply(&part, false).map(Some)
    }

    /// Applies one change from elsewhere; false if it was already applied. Each field merges
    /// on its own: it takes the incoming value only if the incoming version is the highest.
    /// With `redo`, a change applied before in part (deferred) is merged again in full and its
    /// log entry completed.
    fn apply(&mut self, c: &Change, redo: bool) -> Result<bool> {
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
            // The higher version still wins; both values go to the inbox. Not for a rank:
            // two moves of one item are no clash a person could settle better (the later
            // move holds, and every replica shows the same order).
            if kind.is_some()
                && f.field != crate::order::RANK_FIELD
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
