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

struct Row {
    dot: Dot,
    hlc: i64,
    pos: i64,
    whole: bool,
}

fn rows(c: &Connection, record: &str, field: &str) -> Result<Vec<Row>> {
    let mut stmt = c.prepare_cached(
        "SELECT elem, dev, seq, hlc, pos, legacy FROM set_dot WHERE record = ?1 AND field = ?2",
    )?;
    let out = stmt.query_map(params![record, field], |r| {
        Ok(Row {
            dot: Dot {
                elem: r.get(0)?,
                dev: r.get(1)?,
                seq: r.get(2)?,
            },
            hlc: r.get(3)?,
            pos: r.get(4)?,
            whole: r.get::<_, i64>(5)? != 0,
        })
    })?;
    Ok(out.collect::<rusqlite::Result<_>>()?)
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

fn insert(c: &Connection, record: &str, field: &str, row: &Row) -> Result<()> {
    c.prepare_cached(
        "INSERT OR IGNORE INTO set_dot (record, field, elem, dev, seq, hlc, pos, legacy) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        record,
        field,
        row.dot.elem,
        row.dot.dev,
        row.dot.seq,
        row.hlc,
        row.pos,
        i64::from(row.whole)
    ])?;
    Ok(())
}

/// A whole write of `value` (at `version`, by change `seq` of its device) into a dotted field:
/// its elements become whole dots, and of all whole writes only the newest one's stay.
fn whole(
    c: &Connection,
    record: &str,
    field: &str,
    value: &Value,
    version: &Version,
    seq: i64,
) -> Result<()> {
    for (pos, elem) in elems(value).into_iter().enumerate() {
        insert(
            c,
            record,
            field,
            &Row {
                dot: Dot {
                    elem,
                    dev: version.device.clone(),
                    seq,
                },
                hlc: version.hlc.0 as i64,
                pos: pos as i64,
                whole: true,
            },
        )?;
    }
    // The newest whole write (by version), whether or not it had elements, is remembered by
    // an empty marker so an older one arriving later does not come back.
    insert(
        c,
        record,
        field,
        &Row {
            dot: Dot {
                elem: String::new(),
                dev: version.device.clone(),
                seq,
            },
            hlc: version.hlc.0 as i64,
            pos: -1,
            whole: true,
        },
    )?;
    let newest: Option<(i64, String)> = c
        .prepare_cached(
            "SELECT hlc, dev FROM set_dot WHERE record = ?1 AND field = ?2 AND legacy = 1 \
             ORDER BY hlc DESC, dev DESC LIMIT 1",
        )?
        .query_row(params![record, field], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((h, d)) = newest {
        c.prepare_cached(
            "DELETE FROM set_dot WHERE record = ?1 AND field = ?2 AND legacy = 1 \
             AND NOT (hlc = ?3 AND dev = ?4)",
        )?
        .execute(params![record, field, h, d])?;
    }
    Ok(())
}

/// Makes a plain field dotted: its value (held at `version`) becomes whole dots of its
/// writer. Nothing to do if it is dotted already.
pub(crate) fn materialize(
    c: &Connection,
    record: &str,
    field: &str,
    held: &Value,
    version: &Version,
) -> Result<()> {
    if dotted(c, record, field)? {
        return Ok(());
    }
    let seq = if version.hlc == Hlc::ZERO {
        0
    } else {
        writer_seq(c, record, version)?
    };
    whole(c, record, field, held, version, seq)
}

/// The live elements, in the order of their first dot's clock (then device, position).
pub(crate) fn value(c: &Connection, record: &str, field: &str) -> Result<Value> {
    let mut first: BTreeMap<String, (i64, String, i64)> = BTreeMap::new();
    for r in rows(c, record, field)? {
        if r.dot.elem.is_empty() {
            continue; // a whole write's marker
        }
        let key = (r.hlc, r.dot.dev.clone(), r.pos);
        match first.get(&r.dot.elem) {
            Some(k) if *k <= key => {}
            _ => {
                first.insert(r.dot.elem.clone(), key);
            }
        }
    }
    if first.is_empty() {
        return Ok(Value::Null);
    }
    let mut order: Vec<((i64, String, i64), String)> =
        first.into_iter().map(|(e, k)| (k, e)).collect();
    order.sort();
    Ok(Value::Array(
        order.into_iter().map(|(_, e)| Value::String(e)).collect(),
    ))
}

/// A local edit of a dotted field to the list `wanted`: the elements not held yet are added
/// with this change's dot (`dev`, `seq` at `hlc`), every dot of the elements no longer wanted
/// is removed. `None` when it changes nothing (the same elements, in whatever order).
pub(crate) fn edit(
    c: &Connection,
    record: &str,
    field: &str,
    wanted: &Value,
    dev: &str,
    seq: i64,
    hlc: Hlc,
) -> Result<Option<SetOps>> {
    let held = rows(c, record, field)?;
    let live: BTreeSet<&str> = held
        .iter()
        .filter(|r| !r.dot.elem.is_empty())
        .map(|r| r.dot.elem.as_str())
        .collect();
    let wanted = elems(wanted);
    let want: BTreeSet<&str> = wanted.iter().map(String::as_str).collect();
    let mut ops = SetOps::default();
    for e in &wanted {
        if !live.contains(e.as_str()) && !ops.add.contains(e) {
            ops.add.push(e.clone());
        }
    }
    for r in &held {
        if !r.dot.elem.is_empty() && !want.contains(r.dot.elem.as_str()) {
            ops.del.push(r.dot.clone());
        }
    }
    if ops.add.is_empty() && ops.del.is_empty() {
        return Ok(None);
    }
    apply(c, record, field, &ops, dev, seq, hlc)?;
    Ok(Some(ops))
}

/// Applies a set edit made by change `seq` of `dev` at `hlc`.
pub(crate) fn apply(
    c: &Connection,
    record: &str,
    field: &str,
    ops: &SetOps,
    dev: &str,
    seq: i64,
    hlc: Hlc,
) -> Result<()> {
    for (pos, elem) in ops.add.iter().enumerate() {
        insert(
            c,
            record,
            field,
            &Row {
                dot: Dot {
                    elem: elem.clone(),
                    dev: dev.to_string(),
                    seq,
                },
                hlc: hlc.0 as i64,
                pos: pos as i64,
                whole: false,
            },
        )?;
    }
    let mut del = c.prepare_cached(
        "DELETE FROM set_dot WHERE record = ?1 AND field = ?2 AND elem = ?3 AND dev = ?4 \
         AND seq = ?5",
    )?;
    for d in &ops.del {
        del.execute(params![record, field, d.elem, d.dev, d.seq])?;
    }
    Ok(())
}

/// A whole write arriving at a dotted field (see [`whole`]).
pub(crate) fn apply_whole(
    c: &Connection,
    record: &str,
    field: &str,
    value: &Value,
    version: &Version,
    seq: i64,
) -> Result<()> {
    whole(c, record, field, value, version, seq)
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
