//! Add-wins sets for list fields (tags, languages, agencies, partners, countries).
//!
//! A list field starts *plain*: its value is written whole and merges like any field (the
//! highest version wins). The first time it is edited on a replica of this version it becomes
//! *dotted*: each element is held with the *dots* that put it there — a dot is the device and
//! sequence of the change that added it (stable when the server re-stamps a change's clock).
//! The plain value becomes dots of its writer ("whole" dots). An edit then sends what it
//! added (dotted with its own id) and the dots it removed: it can only remove adds it has
//! seen, so an element another device added meanwhile survives — add-wins — and nothing
//! anyone added is lost.
//!
//! Writes without set edits (creates, and history from before) keep their meaning — the
//! newest whole write wins — among themselves, independently of the dotted edits, so
//! whatever the order of arrival every replica ends with the same elements: the newest whole
//! write's, plus the edits' adds, minus the dots they removed. The server's order delivers
//! every add before any removal that saw it, so removed dots need no tombstones. Elements are
//! listed in the order of their first dot's clock (a set keeps no user reordering).
//!
//! Lists of references (an agenda item's linked projects) are sets too; the server's
//! visibility index keeps the same dots in memory, so a record naming a record hidden from a
//! user is hidden from them whichever office added the link. `scope` stays an ordinary
//! field: it decides who may see a record, and only the secretariat sets it.

use crate::error::Result;
use crate::hlc::{Hlc, Version};
use crate::replica::{Dot, SetOps};
use crate::schema::{EntityDesc, FieldKind};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Whether `field` of `d` merges as an add-wins set.
pub fn is_set(d: &EntityDesc, field: &str) -> bool {
    field != "scope"
        && matches!(
            d.field(field).map(|f| f.kind),
            Some(FieldKind::List | FieldKind::CountryList | FieldKind::RefList(_))
        )
}

/// The elements of a list value (a null or a non-list: none).
pub(crate) fn elems(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One field's dots: (element, device, sequence) -> (clock, position, from a whole write).
/// The element "" marks a whole write (so the newest whole write is known even when it had no
/// elements). Pure: the replica keeps these rows in `set_dot`, the server's visibility index
/// in memory — one implementation of the merge for both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dots {
    rows: BTreeMap<(String, String, i64), (i64, i64, bool)>,
}

impl Dots {
    /// The dots of a field that was never written (only the "never written" whole marker).
    pub fn unwritten() -> Dots {
        let mut d = Dots::default();
        d.whole(
            &[],
            &Version {
                hlc: Hlc::ZERO,
                device: String::new(),
            },
            0,
        );
        d
    }

    /// A whole write of `elems` (at `version`, by change `seq` of its device): its elements
    /// become whole dots, and of all whole writes only the newest one's stay.
    pub fn whole(&mut self, elems: &[String], version: &Version, seq: i64) {
        let hlc = version.hlc.0 as i64;
        for (pos, e) in elems
            .iter()
            .cloned()
            .enumerate()
            .chain([(usize::MAX, String::new())])
        {
            let pos = if pos == usize::MAX { -1 } else { pos as i64 };
            self.rows
                .entry((e, version.device.clone(), seq))
                .or_insert((hlc, pos, true));
        }
        let newest = self
            .rows
            .iter()
            .filter(|(_, (_, _, whole))| *whole)
            .map(|((_, d, _), (h, _, _))| (*h, d.clone()))
            .max();
        if let Some((h, d)) = newest {
            self.rows
                .retain(|(_, dev, _), (hh, _, whole)| !*whole || (*hh == h && *dev == d));
        }
    }

    /// A set edit made by change `seq` of `dev` at `hlc`: its adds dotted with that change,
    /// the dots it removed gone.
    pub fn apply(&mut self, ops: &SetOps, dev: &str, seq: i64, hlc: Hlc) {
        for (pos, e) in ops.add.iter().enumerate() {
            self.rows
                .entry((e.clone(), dev.to_string(), seq))
                .or_insert((hlc.0 as i64, pos as i64, false));
        }
        for d in &ops.del {
            self.rows.remove(&(d.elem.clone(), d.dev.clone(), d.seq));
        }
    }

    /// The edit that turns these dots into the list `wanted`: elements not held are added,
    /// every dot of the elements no longer wanted removed. `None` when it changes nothing.
    pub fn edit(&self, wanted: &Value) -> Option<SetOps> {
        let live: BTreeSet<&str> = self.live().collect();
        let wanted = elems(wanted);
        let want: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
        let mut ops = SetOps::default();
        for e in &wanted {
            if !live.contains(e.as_str()) && !ops.add.contains(e) {
                ops.add.push(e.clone());
            }
        }
        for (e, dev, seq) in self.rows.keys() {
            if !e.is_empty() && !want.contains(e.as_str()) {
                ops.del.push(Dot {
                    elem: e.clone(),
                    dev: dev.clone(),
                    seq: *seq,
                });
            }
        }
        (!ops.add.is_empty() || !ops.del.is_empty()).then_some(ops)
    }

    /// The live elements (unordered, each once).
    fn live(&self) -> impl Iterator<Item = &str> + '_ {
        let mut seen = BTreeSet::new();
        self.rows
            .keys()
            .map(|(e, _, _)| e.as_str())
            .filter(move |e| !e.is_empty() && seen.insert(*e))
    }

    /// The live elements, sorted (for the server's visibility index).
    pub fn elems(&self) -> Vec<String> {
        let set: BTreeSet<&str> = self.live().collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// The list as stored: the live elements in the order of their first dot's clock (then
    /// device, position); null when none.
    pub fn value(&self) -> Value {
        let mut first: BTreeMap<&str, (i64, &str, i64)> = BTreeMap::new();
        for ((e, dev, _), (hlc, pos, _)) in &self.rows {
            if e.is_empty() {
                continue;
            }
            let key = (*hlc, dev.as_str(), *pos);
            match first.get(e.as_str()) {
                Some(k) if *k <= key => {}
                _ => {
                    first.insert(e.as_str(), key);
                }
            }
        }
        if first.is_empty() {
            return Value::Null;
        }
        let mut order: Vec<((i64, &str, i64), &str)> =
            first.into_iter().map(|(e, k)| (k, e)).collect();
        order.sort();
        Value::Array(
            order
                .into_iter()
                .map(|(_, e)| Value::String(e.to_string()))
                .collect(),
        )
    }
}

/// Whether the field is dotted here.
pub(crate) fn dotted(c: &Connection, record: &str, field: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT 1 FROM set_dot WHERE record = ?1 AND field = ?2 LIMIT 1")?
            .query_row(params![record, field], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}

/// The device sequence of the change that wrote `version` on `record` (every replica holds
/// the change a standing value came from); by its clock if it cannot be found.
fn writer_seq(c: &Connection, record: &str, version: &Version) -> Result<i64> {
    let seq: Option<i64> = c
        .prepare_cached(
            "SELECT c.dev_seq FROM change_log c JOIN device d ON d.n = c.device \
             WHERE c.record = ?1 AND d.id = ?2 AND c.hlc = ?3",
        )?
        .query_row(params![record, version.device, version.hlc.0 as i64], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(seq.unwrap_or(-(version.hlc.0 as i64)))
}

fn load(c: &Connection, record: &str, field: &str) -> Result<Dots> {
    let mut stmt = c.prepare_cached(
        "SELECT elem, dev, seq, hlc, pos, legacy FROM set_dot WHERE record = ?1 AND field = ?2",
    )?;
    let rows = stmt.query_map(params![record, field], |r| {
        Ok((
            (r.get(0)?, r.get(1)?, r.get(2)?),
            (r.get(3)?, r.get(4)?, r.get::<_, i64>(5)? != 0),
        ))
    })?;
    Ok(Dots {
        rows: rows.collect::<rusqlite::Result<_>>()?,
    })
}

/// Writes what changed from `before` to `after`.
fn save(c: &Connection, record: &str, field: &str, before: &Dots, after: &Dots) -> Result<()> {
    let mut del = c.prepare_cached(
        "DELETE FROM set_dot WHERE record = ?1 AND field = ?2 AND elem = ?3 AND dev = ?4 \
         AND seq = ?5",
    )?;
    for (e, dev, seq) in before.rows.keys() {
        if !after.rows.contains_key(&(e.clone(), dev.clone(), *seq)) {
            del.execute(params![record, field, e, dev, seq])?;
        }
    }
    let mut put = c.prepare_cached(
        "INSERT OR REPLACE INTO set_dot (record, field, elem, dev, seq, hlc, pos, legacy) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (k, v) in &after.rows {
        if before.rows.get(k) != Some(v) {
            put.execute(params![
                record,
                field,
                k.0,
                k.1,
                k.2,
                v.0,
                v.1,
                i64::from(v.2)
            ])?;
        }
    }
    Ok(())
}

/// The dots of a field, made from its plain value (held at `version`) if it has none yet.
fn dots_of(
    c: &Connection,
    record: &str,
    field: &str,
    held: &Value,
    version: &Version,
) -> Result<(Dots, Dots)> {
    let stored = load(c, record, field)?;
    if !stored.rows.is_empty() {
        return Ok((stored.clone(), stored));
    }
    let mut d = Dots::default();
    if version.hlc == Hlc::ZERO {
        d = Dots::unwritten();
    } else {
        let seq = writer_seq(c, record, version)?;
        d.whole(&elems(held), version, seq);
    }
    Ok((stored, d))
}

/// A local edit of a set field to the list `wanted` (the field's plain value, if it has no
/// dots yet, is held at `version`), made by change `seq` of `dev` at `hlc`. Returns the edit
/// and the list now stored, or `None` when it changes nothing (the same elements).
#[allow(clippy::too_many_arguments)]
pub(crate) fn edit(
    c: &Connection,
    record: &str,
    field: &str,
    held: &Value,
    version: &Version,
    wanted: &Value,
    dev: &str,
    seq: i64,
    hlc: Hlc,
) -> Result<Option<(SetOps, Value)>> {
    let (before, mut dots) = dots_of(c, record, field, held, version)?;
    let Some(ops) = dots.edit(wanted) else {
        return Ok(None);
    };
    dots.apply(&ops, dev, seq, hlc);
    save(c, record, field, &before, &dots)?;
    Ok(Some((ops, dots.value())))
}

/// Merges an incoming write of a set field — a set edit, or a whole value — made by change
/// `seq` at `incoming`; `held`/`version` are the field's plain value here if it has no dots
/// yet. Returns the list now stored.
pub(crate) fn merge(
    c: &Connection,
    record: &str,
    field: &str,
    held: &Value,
    version: &Version,
    change: (&Option<SetOps>, &Value, &Version, i64),
) -> Result<Value> {
    let (ops, value, incoming, seq) = change;
    let (before, mut dots) = dots_of(c, record, field, held, version)?;
    match ops {
        Some(ops) => dots.apply(ops, &incoming.device, seq, incoming.hlc),
        None => dots.whole(&elems(value), incoming, seq),
    }
    save(c, record, field, &before, &dots)?;
    Ok(dots.value())
}

/// The server re-stamped change `seq` of `dev`: its dots take the new clock.
pub(crate) fn restamp(c: &Connection, dev: &str, seq: i64, hlc: Hlc) -> Result<()> {
    c.prepare_cached("UPDATE set_dot SET hlc = ?3 WHERE dev = ?1 AND seq = ?2")?
        .execute(params![dev, seq, hlc.0 as i64])?;
    Ok(())
}

/// Forgets the dots of a record (purged).
pub(crate) fn forget(c: &Connection, record: &str) -> Result<()> {
    c.prepare_cached("DELETE FROM set_dot WHERE record = ?1")?
        .execute([record])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(hlc: u64, dev: &str) -> Version {
        Version {
            hlc: Hlc(hlc),
            device: dev.into(),
        }
    }
    fn list(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn whole_writes_keep_the_newest_whatever_their_order_and_edits_commute_with_them() {
        let add = SetOps {
            add: list(&["energy"]),
            del: Vec::new(),
        };
        let mut one = Dots::unwritten();
        one.whole(&list(&["water", "transport"]), &v(10, "a"), 1);
        one.apply(&add, "b", 4, Hlc(12));
        one.whole(&list(&["water"]), &v(20, "c"), 2);
        let mut two = Dots::unwritten();
        two.whole(&list(&["water"]), &v(20, "c"), 2);
        two.apply(&add, "b", 4, Hlc(12));
        two.whole(&list(&["water", "transport"]), &v(10, "a"), 1);
        assert_eq!(one, two);
        assert_eq!(one.value(), serde_json::json!(["energy", "water"]));
        // A removal takes only the dots it names: "water" re-added elsewhere stays.
        let mut three = one.clone();
        let drop = three.edit(&serde_json::json!(["energy"])).expect("an edit");
        three.apply(
            &SetOps {
                add: list(&["water"]),
                del: Vec::new(),
            },
            "d",
            9,
            Hlc(30),
        );
        three.apply(&drop, "e", 1, Hlc(31));
        assert_eq!(three.value(), serde_json::json!(["energy", "water"]));
        assert_eq!(
            one.edit(&serde_json::json!(["water", "energy"])),
            None,
            "order alone is no edit"
        );
    }
}
