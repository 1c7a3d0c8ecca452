//! Full-text search over contacts, organisations, projects, meetings, agenda items, decisions,
//! action items and documents, in every script.
//!
//! Why a trigram index (measured in `tests/replica.rs` and the bench; see
//! `docs/design/search.md`): FTS5's default tokenizer splits at spaces and marks, so it finds
//! nothing inside unspaced Thai, Lao, Khmer or Myanmar text. The trigram tokenizer finds any
//! substring of three or more characters in any script, which is what a user typing part of a
//! name expects, with no dictionary. Text is folded before indexing and querying (`text::fold`), so Vietnamese
//! matches with or without diacritics. One- and two-letter queries cannot use trigrams for a
//! field's start; they match the start of the first two search fields of contacts,
//! organisations, projects and meetings (name and native name, code and title…) through
//! ordinary indexes, and the start of a later word in them through the trigram " xy" (a space
//! and the letters), which the folded text has wherever a word starts after the first.

use crate::error::Result;
use crate::schema::{Entity, EntityDesc};
use crate::text::fold;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

pub(crate) const SHIFT: i64 = 40;

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub entity: &'static str,
    pub id: String,
    pub title: String,
    pub subtitle: String,
    /// The record a hit belongs to, for the UI to open (an agenda item's, decision's, action
    /// item's or document's meeting).
    pub parent: Option<HitParent>,
}

/// The record a search hit or a listed row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct HitParent {
    pub entity: &'static str,
    pub id: String,
    /// Its label: for a meeting, its short title, else its title.
    pub label: String,
}

/// The folded text indexed for a record. Of an e-mail address only the part before the `@` is
/// indexed: it is what tells people apart (the domain is shared by a whole ministry, and
/// indexing it would double the index of a large contact list for little use).
fn body(d: &EntityDesc, get: impl Fn(&str) -> Option<String>) -> String {
    let parts: Vec<String> = d
        .search
        .iter()
        .filter_map(|f| {
            let v = get(f)?;
            Some(match d.field(f).map(|x| x.kind) {
                Some(crate::schema::FieldKind::Email) => {
                    v.split('@').next().unwrap_or_default().to_string()
                }
                _ => v,
            })
        })
        .collect();
    fold(&parts.join("\n"))
}

/// The indexed text of a row, from its search fields' values in `d.search` order.
fn row_body(d: &EntityDesc, vals: &[Option<String>]) -> String {
    body(d, |f| {
        d.search
            .iter()
            .position(|s| *s == f)
            .and_then(|i| vals.get(i).cloned().flatten())
    })
}

fn insert(conn: &Connection, fts_rowid: i64, text: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    conn.prepare_cached("INSERT INTO search_tri (rowid, body) VALUES (?1, ?2)")?
        .execute(params![fts_rowid, text])?;
    Ok(())
}

/// Indexes a record just created (nothing to remove first).
pub(crate) fn index_new(
    conn: &Connection,
    d: &EntityDesc,
    rowid: i64,
    values: &BTreeMap<&'static str, Value>,
) -> Result<()> {
    let text = body(d, |f| {
        values.get(f).and_then(Value::as_str).map(str::to_string)
    });
    insert(conn, (d.search_code << SHIFT) | rowid, &text)
}

/// Rebuilds the entry of one record from its row (removed if the record is deleted).
pub(crate) fn reindex(conn: &Connection, entity: Entity, rowid: i64) -> Result<()> {
    let d = entity.desc();
    let fts_rowid = (d.search_code << SHIFT) | rowid;
    conn.prepare_cached("DELETE FROM search_tri WHERE rowid = ?1")?
        .execute([fts_rowid])?;
    let sql = format!(
        "SELECT _deleted, {} FROM {} WHERE rowid = ?1",
        d.search.join(", "),
        d.table
    );
    let row: Option<(bool, Vec<Option<String>>)> = conn
        .prepare_cached(&sql)?
        .query_row([rowid], |r| {
            let mut vals = Vec::new();
            for i in 0..d.search.len() {
                vals.push(r.get::<_, Option<String>>(i + 1)?);
            }
            Ok((r.get(0)?, vals))
        })
        .optional()?;
    if let Some((false, vals)) = row {
        insert(conn, fts_rowid, &row_body(d, &vals))?;
    }
    Ok(())
}

/// The rowids in the search index, for consistency checks and dumps.
pub(crate) fn indexed_rowids(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare("SELECT rowid FROM search_tri ORDER BY rowid")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The indexed records as "entity id" (row numbers are local to a replica; ids are not), sorted.
pub(crate) fn indexed_records(conn: &Connection) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for fts_rowid in indexed_rowids(conn)? {
        let code = fts_rowid >> SHIFT;
        let rowid = fts_rowid & ((1 << SHIFT) - 1);
        let entity = SEARCHED.iter().find(|e| e.desc().search_code == code);
        let line = match entity {
            Some(e) => {
                let id: Option<String> = conn
                    .query_row(
                        &format!("SELECT id FROM {} WHERE rowid = ?1", e.desc().table),
                        [rowid],
                        |r| r.get(0),
                    )
                    .optional()?;
                format!(
                    "{} {}",
                    e.name(),
                    id.unwrap_or_else(|| format!("<missing row {rowid}>"))
                )
            }
            None => format!("<unknown index entry {fts_rowid}>"),
        };
        out.push(line);
    }
    out.sort();
    Ok(out)
}

/// A meeting as the parent of a hit or row: its short title, else its title; none if the
/// meeting is not here or deleted.
pub(crate) fn meeting_parent(conn: &Connection, id: &str) -> Result<Option<HitParent>> {
    Ok(conn
        .prepare_cached(
            "SELECT coalesce(short_title, title) FROM meeting WHERE id = ?1 AND _deleted = 0",
        )?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .map(|label| HitParent {
            entity: Entity::Meeting.name(),
            id: id.to_string(),
            label: label.unwrap_or_default(),
        }))
}

/// Quotes a term for an FTS5 query string.
fn quote(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// A LIKE prefix pattern. Wildcards in the query are dropped rather than escaped, because an
/// ESCAPE clause would keep SQLite from using the index for the prefix.
fn like_prefix(term: &str) -> String {
    let mut s: String = term.chars().filter(|c| !matches!(c, '%' | '_')).collect();
    s.push('%');
    s
}

/// The searched entities, in the order their hits are gathered.
pub(crate) const SEARCHED: [Entity; 8] = [
    Entity::Contact,
    Entity::Organisation,
    Entity::Project,
    Entity::Meeting,
    Entity::AgendaItem,
    Entity::Decision,
    Entity::Action,
    Entity::Document,
];

/// The entities whose names answer one- and two-letter queries (people type a letter or two
/// to find a person, an organisation, a project or a meeting; the parts of meetings are found
/// from three letters on).
const SHORT: [Entity; 4] = [
    Entity::Contact,
    Entity::Organisation,
    Entity::Project,
    Entity::Meeting,
];

/// Whether a folded word of the first two search fields starts with `q` (not only the field).
fn word_starts(vals: &[Option<String>], q: &str) -> bool {
    vals.iter()
        .take(2)
        .flatten()
        .any(|v| fold(v).split_whitespace().any(|w| w.starts_with(q)))
}

/// Finds records whose indexed text contains the query. Every whitespace-separated term of
/// three or more characters must occur as a substring; a query of only one or two characters
/// matches the start of a word of a record's name fields (contacts, organisations, projects,
/// meetings). Results are balanced across entities and ranked: titles starting with the query
/// first, then titles with a word starting with it. Hits of a meeting's parts (agenda items,
/// decisions, action items) and of documents name their meeting ([`SearchHit::parent`]).
pub fn search(conn: &Connection, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
    // An e-mail address is looked up by the part the index holds, the one before the `@`.
    let q: String = fold(query)
        .split_whitespace()
        .map(|t| match t.split_once('@') {
            Some((local, _)) if !local.is_empty() => local,
            _ => t,
        })
        .collect::<Vec<_>>()
        .join(" ");
    let q = q.trim();
    if q.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let terms: Vec<&str> = q
        .split_whitespace()
        .filter(|t| t.chars().count() >= 3)
        .collect();
    let per_entity = (limit * 4).max(50) as i64;
    let mut hits = Vec::new();
    let entities: &[Entity] = if terms.is_empty() { &SHORT } else { &SEARCHED };
    for &entity in entities {
        let d = entity.desc();
        let subtitle = d.subtitle.map_or("NULL".to_string(), |s| format!("t.{s}"));
        let map = |r: &rusqlite::Row<'_>| {
            Ok(SearchHit {
                entity: d.name,
                id: r.get(0)?,
                title: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                subtitle: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                parent: None,
            })
        };
        let lo = d.search_code << SHIFT;
        let hi = lo | ((1 << SHIFT) - 1);
        let candidates = format!(
            "SELECT t.id, t.{}, {subtitle}, {} FROM search_tri s JOIN {} t ON t.rowid = (s.rowid & {}) \
             WHERE search_tri MATCH ?1 AND s.rowid BETWEEN ?2 AND ?3",
            d.title,
            d.search.iter().map(|f| format!("t.{f}")).collect::<Vec<_>>().join(", "),
            d.table,
            (1i64 << SHIFT) - 1,
        );
        let values = |r: &rusqlite::Row<'_>| -> rusqlite::Result<Vec<Option<String>>> {
            (0..d.search.len())
                .map(|i| r.get::<_, Option<String>>(3 + i))
                .collect()
        };
        if terms.is_empty() {
            // One or two characters: a prefix of the first two search fields, by index.
            // As typed (NFC: "Hà" finds "Hà…") and folded ("ha" finds "Ha…"): LIKE ignores
            // case for ASCII letters only, so both forms are asked.
            let mut patterns = vec![like_prefix(&crate::text::nfc(query.trim()))];
            let folded = like_prefix(q);
            if !patterns.contains(&folded) {
                patterns.push(folded);
            }
            let mut found = 0;
            for col in d.search.iter().take(2) {
                let sql = format!(
                    "SELECT t.id, t.{}, {subtitle} FROM {} t WHERE t.{col} LIKE ?1 AND +t._deleted = 0 LIMIT ?2",
                    d.title, d.table
                );
                let mut stmt = conn.prepare_cached(&sql)?;
                for pattern in &patterns {
                    for h in stmt.query_map(params![pattern, per_entity], map)? {
                        hits.push(h?);
                        found += 1;
                    }
                }
            }
            // Then, for two letters, the start of a later word ("so" and "th" find "Bùi Thanh
            // Sơn"): the folded text keeps words apart with spaces, so the trigram " so" marks
            // every word starting "so" after a field's first. One letter looks at field starts
            // only: asking " sa" OR " sb" … of the index for every entity cost more than a
            // keystroke may (the palette answers each one), for hits nobody reads. Only when
            // the field starts leave room: they rank first.
            if found >= limit as i64 || q.contains(char::is_whitespace) || q.chars().count() != 2 {
                continue;
            }
            let expr = quote(&format!(" {q}"));
            let mut stmt = conn.prepare_cached(&candidates)?;
            let mut rows = stmt.query(params![expr, lo, hi])?;
            let mut more = 0;
            while let Some(r) = rows.next()? {
                if word_starts(&values(r)?, q) {
                    hits.push(map(r)?);
                    more += 1;
                    if more >= per_entity {
                        break;
                    }
                }
            }
        } else {
            // The index holds trigrams without positions: ask for records holding every
            // trigram of every term, then keep those whose text really contains each term.
            let mut grams: Vec<String> = Vec::new();
            for t in &terms {
                let chars: Vec<char> = t.chars().collect();
                for w in chars.windows(3) {
                    let g: String = w.iter().collect();
                    if !grams.contains(&g) {
                        grams.push(g);
                    }
                }
            }
            let expr = grams
                .iter()
                .map(|g| quote(g))
                .collect::<Vec<_>>()
                .join(" AND ");
            let mut stmt = conn.prepare_cached(&candidates)?;
            let mut rows = stmt.query(params![expr, lo, hi])?;
            let mut found = 0;
            while let Some(r) = rows.next()? {
                // The same text the index was built from.
                let text = row_body(d, &values(r)?);
                if terms.iter().all(|t| text.contains(t)) {
                    hits.push(map(r)?);
                    found += 1;
                    if found >= per_entity {
                        break;
                    }
                }
            }
        }
    }
    let first = q.split_whitespace().next().unwrap_or(q);
    let rank = |h: &SearchHit| {
        let t = fold(&h.title);
        if t.starts_with(first) {
            0u8
        } else if t.split_whitespace().any(|w| w.starts_with(first)) {
            1
        } else {
            2
        }
    };
    let mut ranked: Vec<(u8, usize, SearchHit)> = hits
        .into_iter()
        .map(|h| (rank(&h), h.title.chars().count(), h))
        .collect();
    ranked.sort_by(|a, b| (a.0, a.1, &a.2.title, &a.2.id).cmp(&(b.0, b.1, &b.2.title, &b.2.id)));
    ranked.dedup_by(|a, b| a.2.id == b.2.id);
    let mut out: Vec<SearchHit> = ranked.into_iter().take(limit).map(|(_, _, h)| h).collect();
    for h in &mut out {
        h.parent = hit_parent(conn, h)?;
    }
    Ok(out)
}

/// The meeting a hit belongs to: the parent of an agenda item, decision or action item; the
/// meeting a document is filed under.
fn hit_parent(conn: &Connection, h: &SearchHit) -> Result<Option<HitParent>> {
    let Some(d) = Entity::parse(h.entity).map(Entity::desc) else {
        return Ok(None);
    };
    let field = match (d.entity, d.parent) {
        (_, Some((field, Entity::Meeting))) => field,
        (Entity::Document, _) => "meeting",
        _ => return Ok(None),
    };
    let meeting: Option<String> = conn
        .prepare_cached(&format!("SELECT {field} FROM {} WHERE id = ?1", d.table))?
        .query_row([&h.id], |r| r.get(0))
        .optional()?
        .flatten();
    match meeting {
        Some(id) => meeting_parent(conn, &id),
        None => Ok(None),
    }
}

/// Fills the index for every live record of `entities` (a migration that makes them
/// searchable). Entries already there are rebuilt, not doubled.
pub(crate) fn index_all(conn: &Connection, entities: &[Entity]) -> Result<()> {
    for &e in entities {
        let d = e.desc();
        let rowids: Vec<i64> = {
            let mut stmt =
                conn.prepare(&format!("SELECT rowid FROM {} WHERE _deleted = 0", d.table))?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for rowid in rowids {
            reindex(conn, e, rowid)?;
        }
    }
    Ok(())
}
