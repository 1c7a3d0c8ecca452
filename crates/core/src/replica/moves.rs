//! Moving agenda items and decisions, and the numbers shown for them. A move is one edit of
//! the moved record's `rank` (see [`crate::order`]): one transaction, one change-log entry,
//! undone by [`Replica::undo`] and merged by sync like any edit.

use super::{Fields, Record, Replica, Tx};
use crate::error::{Error, Result};
use crate::order::{display_numbers, order_key, rank_between};
use crate::schema::{Entity, EntityDesc};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use std::collections::HashMap;

/// One live sibling as the order sees it.
struct Placed {
    id: String,
    key: String,
    number: Option<String>,
}

/// Whether records of `d` can be moved (they have a rank and a parent).
fn movable(d: &EntityDesc) -> Option<&'static str> {
    match (d.field("rank"), d.parent) {
        (Some(_), Some((pf, _))) => Some(pf),
        _ => None,
    }
}

/// The live records of `d` under `parent` in their order (the order `list` and `page` give).
fn placed(conn: &Connection, d: &EntityDesc, pf: &str, parent: &str) -> Result<Vec<Placed>> {
    let position = if d.field("position").is_some() {
        "position"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT id, {position}, number, rank FROM {} WHERE {pf} = ?1 AND _deleted = 0",
        d.table
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([parent], |r| {
        let id: String = r.get(0)?;
        let position: Option<i64> = r.get(1)?;
        let number: Option<String> = r.get(2)?;
        let rank: Option<String> = r.get(3)?;
        let key = order_key(rank.as_deref(), position, number.as_deref(), &id);
        Ok(Placed { id, key, number })
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    out.sort_by(|a, b| (&a.key, &a.id).cmp(&(&b.key, &b.id)));
    Ok(out)
}

/// Each live record's number as shown under `parent`, by id (see [`display_numbers`]).
pub(crate) fn numbers_under(
    conn: &Connection,
    d: &EntityDesc,
    parent: &str,
) -> Result<HashMap<String, String>> {
    let Some(pf) = movable(d) else {
        return Ok(HashMap::new());
    };
    let placed = placed(conn, d, pf, parent)?;
    let shown = display_numbers(placed.iter().map(|p| p.number.as_deref()));
    Ok(placed.into_iter().map(|p| p.id).zip(shown).collect())
}

impl Replica {
    /// Moves an agenda item or decision right after `after` (a live sibling: an item of the
    /// same meeting), or to the top with `None`. Writes one field of one record — its `rank`,
    /// a key strictly between its new neighbours' order keys — in one transaction: one
    /// change, undone by [`Replica::undo`], merged by sync like any edit, so two offices
    /// reordering offline each keep their moves and every replica shows the same order. A
    /// move to where the record already is writes nothing. (Only when the new neighbours
    /// share a key, which hand-typed ranks can cause, do the tied ones get a rank too.)
    pub fn move_record(&mut self, entity: Entity, id: &str, after: Option<&str>) -> Result<Record> {
        self.write(|w| w.move_after(entity, id, after))?;
        self.get(entity, id)
    }

    /// The numbers shown for the live agenda items (or decisions) of a meeting, by record
    /// id: a typed number as typed, and for the others one that follows the order (`1, 2, 3`;
    /// after a typed `2.1`, `2.2`). Record views ([`crate::RecordView::display_number`]),
    /// subtitles and briefing packs all show these.
    pub fn display_numbers(
        &self,
        entity: Entity,
        meeting: &str,
    ) -> Result<HashMap<String, String>> {
        let d = entity.desc();
        if movable(d).is_none() {
            return Err(Error::invalid(
                d.name,
                "number",
                format!("{} records are not numbered by their order", d.name),
            ));
        }
        numbers_under(&self.conn, d, meeting)
    }

    /// The number shown for one record ([`Replica::display_numbers`]); none for records not
    /// numbered by their order, and for deleted ones.
    pub fn display_number(&self, rec: &Record) -> Result<Option<String>> {
        let Some(d) = Entity::parse(rec.entity).map(Entity::desc) else {
            return Ok(None);
        };
        let Some(pf) = movable(d) else {
            return Ok(None);
        };
        if rec.deleted {
            return Ok(None);
        }
        // A typed number is shown as typed: no need to read the siblings.
        if let Some(n) = rec.str("number").map(str::trim).filter(|n| !n.is_empty()) {
            return Ok(Some(n.to_string()));
        }
        let Some(parent) = rec.str(pf) else {
            return Ok(None);
        };
        Ok(numbers_under(&self.conn, d, parent)?.remove(&rec.id))
    }
}

impl Tx<'_> {
    pub(crate) fn move_after(
        &mut self,
        entity: Entity,
        id: &str,
        after: Option<&str>,
    ) -> Result<()> {
        let d = entity.desc();
        let pf = movable(d).ok_or_else(|| {
            Error::invalid(
                d.name,
                "rank",
                format!("{} records cannot be moved", d.name),
            )
        })?;
        let (_, deleted) = self.locate(d, id)?;
        if deleted {
            return Err(Error::Deleted {
                entity: d.name,
                id: id.to_string(),
            });
        }
        let parent: String = self
            .tx
            .query_row(
                &format!("SELECT {pf} FROM {} WHERE id = ?1", d.table),
                [id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten()
            .unwrap_or_default();
        let all = placed(&self.tx, d, pf, &parent)?;
        let me = all.iter().find(|p| p.id == id).map(|p| p.key.clone());
        let others: Vec<&Placed> = all.iter().filter(|p| p.id != id).collect();
        // Index in `others` of the first record that comes after the moved one.
        let next_at = match after {
            None => 0,
            Some(a) if a == id => {
                return Err(Error::invalid(
                    d.name,
                    "after",
                    "cannot place a record after itself",
                ))
            }
            Some(a) => {
                let k = others.iter().position(|p| p.id == a).ok_or_else(|| {
                    Error::invalid(
                        d.name,
                        "after",
                        format!("{a} is not a live {} of the same {pf}", d.name),
                    )
                })?;
                k + 1
            }
        };
        let lo = next_at
            .checked_sub(1)
            .map(|k| others[k].key.clone())
            .unwrap_or_default();
        // Records after the gap whose key is not above `lo` (hand-typed equal ranks) are
        // placed after the moved one too.
        let mut end = next_at;
        while end < others.len() && others[end].key <= lo {
            end += 1;
        }
        let hi = others.get(end).map(|p| p.key.clone());
        if let Some(me) = &me {
            if end == next_at && *me > lo && hi.as_ref().is_none_or(|h| me < h) {
                return Ok(());
            }
        }
        let mut last = lo;
        let mut writes: Vec<(String, String)> = Vec::new();
        for rid in std::iter::once(id).chain(others[next_at..end].iter().map(|p| p.id.as_str())) {
            let rank = rank_between(&last, hi.as_deref(), rid).ok_or_else(|| {
                Error::invalid(
                    d.name,
                    "rank",
                    "no room left between these records (a rank would pass 500 characters)",
                )
            })?;
            last = rank.clone();
            writes.push((rid.to_string(), rank));
        }
        for (rid, rank) in writes {
            let mut f = Fields::new();
            f.insert("rank".into(), Value::String(rank));
            self.update(entity, &rid, &f)?;
        }
        Ok(())
    }
}
