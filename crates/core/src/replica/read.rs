//! Reading records and views of them: one record, lists, counts, labels, the summary and
//! the canonical dump.

use super::sql::{row_to_record, select_sql};
use super::{Fields, Replica};
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::migrations::SCHEMA_VERSION;
use crate::schema::{Entity, FieldKind};
use crate::validate::resolve_ref;
use rusqlite::types::Value as Sql;
use rusqlite::OptionalExtension;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// A record as the UI and the command line see it: its fields plus id and times.
#[cfg_attr(feature = "specta", derive(specta::Type))]
// TypeScript has a `Record` of its own.
#[cfg_attr(feature = "specta", specta(rename = "RecordData"))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub entity: &'static str,
    pub id: String,
    #[serde(flatten)]
    pub fields: Fields,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl Record {
    pub fn str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

/// Which records `list` returns.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only children of this parent (an agenda's meeting, a milestone's project).
    pub parent: Option<String>,
    pub limit: Option<usize>,
    pub offset: usize,
    pub include_deleted: bool,
    /// Only records whose field compares so with the value (fields of the entity only; text
    /// comparison, as stored).
    pub filters: Vec<Filter>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub field: String,
    pub op: FilterOp,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    Eq,
    /// Differs (an unset field differs from every value).
    Ne,
    Lt,
}

impl Filter {
    pub fn eq(field: &str, value: impl Into<String>) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Eq,
            value: value.into(),
        }
    }
    pub fn ne(field: &str, value: impl Into<String>) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Ne,
            value: value.into(),
        }
    }
    pub fn lt(field: &str, value: impl Into<String>) -> Filter {
        Filter {
            field: field.to_string(),
            op: FilterOp::Lt,
            value: value.into(),
        }
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub path: String,
    pub device: String,
    pub schema_version: i64,
    pub counts: BTreeMap<&'static str, u64>,
    pub changes: u64,
}

impl Replica {
    /// One record, live or deleted.
    pub fn get(&self, entity: Entity, id: &str) -> Result<Record> {
        let d = entity.desc();
        let sql = format!("{} WHERE id = ?1", select_sql(d));
        // Cached: lists resolve a reference or two per row through here.
        self.conn
            .prepare_cached(&sql)?
            .query_row([id], |r| row_to_record(d, r))
            .optional()?
            .ok_or_else(|| Error::NotFound {
                entity: d.name,
                id: id.to_string(),
            })
    }

    pub fn list(&self, entity: Entity, q: &ListQuery) -> Result<Vec<Record>> {
        let d = entity.desc();
        let mut sql = select_sql(d);
        let mut args: Vec<Sql> = Vec::new();
        let mut conds = Vec::new();
        if !q.include_deleted {
            conds.push("_deleted = 0".to_string());
        }
        if let Some(parent) = &q.parent {
            let (pf, _) = d.parent.ok_or_else(|| {
                Error::invalid(
                    d.name,
                    "parent",
                    format!("{} records have no parent", d.name),
                )
            })?;
            conds.push(format!("{pf} = ?"));
            args.push(Sql::Text(parent.clone()));
        }
        for f in &q.filters {
            // Only the entity's own field names reach the SQL text.
            let field = d.fields.iter().find(|x| x.name == f.field).ok_or_else(|| {
                Error::invalid(
                    d.name,
                    "filter",
                    format!("{} has no field {}", d.name, f.field),
                )
            })?;
            conds.push(match f.op {
                FilterOp::Eq => format!("{} = ?", field.name),
                FilterOp::Ne => format!("({0} IS NULL OR {0} != ?)", field.name),
                FilterOp::Lt => format!("{} < ?", field.name),
            });
            args.push(Sql::Text(f.value.clone()));
        }
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY {}", d.order_by));
        sql.push_str(&format!(
            " LIMIT {} OFFSET {}",
            q.limit.map_or(-1, |l| l as i64),
            q.offset
        ));
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| row_to_record(d, r))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Live records of an entity.
    pub fn count(&self, entity: Entity) -> Result<u64> {
        let sql = format!(
            "SELECT count(*) FROM {} WHERE _deleted = 0",
            entity.desc().table
        );
        Ok(self.conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// The replica's clock after its latest committed change (a local edit, or changes that
    /// arrived by sync, whose clocks the replica's clock has observed): what "data as of" means
    /// on anything made from it. None for an empty replica. One row read (a scan of the change
    /// log for its highest clock took 0.36 s on the large demo replica).
    pub fn data_as_of(&self) -> Result<Option<Hlc>> {
        let h = self.meta("hlc")?.parse::<u64>().unwrap_or(0);
        Ok((h > 0).then_some(Hlc(h)))
    }

    pub fn summary(&self) -> Result<Summary> {
        let mut counts = BTreeMap::new();
        for e in Entity::ALL {
            counts.insert(e.name(), self.count(e)?);
        }
        let changes: i64 = self
            .conn
            .query_row("SELECT count(*) FROM change_log", [], |r| r.get(0))?;
        Ok(Summary {
            path: self.path.display().to_string(),
            device: self.device.clone(),
            schema_version: SCHEMA_VERSION,
            counts,
            changes: changes as u64,
        })
    }

    /// Resolves an id or natural key (acronym, project code, exact name) to a live record's id.
    pub fn resolve(&self, entity: Entity, text: &str) -> Result<String> {
        resolve_ref(&self.conn, entity.desc(), text)
            .map_err(|message| Error::invalid(entity.name(), "id", message))
    }

    /// A short human label for a record: its title, or for a reference title (a participant's
    /// contact) the referenced record's title.
    pub fn label(&self, rec: &Record) -> String {
        let Some(d) = Entity::parse(rec.entity).map(Entity::desc) else {
            return rec.id.clone();
        };
        let raw = rec
            .fields
            .get(d.title)
            .map(display_value)
            .unwrap_or_default();
        if let Some(FieldKind::Ref(target)) = d.field(d.title).map(|f| f.kind) {
            if let Ok(t) = self.get(target, &raw) {
                return self.label(&t);
            }
        }
        raw
    }

    /// Whether this replica holds any record at all (deleted ones included).
    pub fn holds_records(&self) -> Result<bool> {
        for e in Entity::ALL {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", e.desc().table);
            if self.conn.query_row(&sql, [], |r| r.get::<_, bool>(0))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A canonical text dump of every record table (all columns but the rowid, ordered by id)
    /// and of the search index. Two replicas with the same state give the same dump.
    pub fn dump(&self) -> Result<String> {
        let mut out = String::new();
        let devices: std::collections::HashMap<i64, String> = {
            let mut stmt = self.conn.prepare("SELECT n, id FROM device")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for e in Entity::ALL {
            let d = e.desc();
            out.push_str(&format!("## {}\n", d.table));
            let cols: Vec<String> = {
                let mut stmt = self
                    .conn
                    .prepare(&format!("PRAGMA table_info({})", d.table))?;
                let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
                names
                    .collect::<rusqlite::Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|c| c != "rowid")
                    .collect()
            };
            let sql = format!("SELECT {} FROM {} ORDER BY id", cols.join(", "), d.table);
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                let mut line = Vec::with_capacity(cols.len());
                for (i, col) in cols.iter().enumerate() {
                    let v = r.get::<_, Sql>(i)?;
                    // Device numbers are local to a file: show the device ids instead.
                    let v = match (col.as_str(), v) {
                        ("_dev", Sql::Integer(n)) => {
                            Sql::Text(devices.get(&n).cloned().unwrap_or_default())
                        }
                        ("_fv", Sql::Text(fv)) => {
                            let m: BTreeMap<String, (u64, i64)> =
                                serde_json::from_str(&fv).unwrap_or_default();
                            let m: BTreeMap<String, (u64, String)> = m
                                .into_iter()
                                .map(|(k, (h, n))| {
                                    (k, (h, devices.get(&n).cloned().unwrap_or_default()))
                                })
                                .collect();
                            Sql::Text(serde_json::to_string(&m).unwrap_or_default())
                        }
                        (_, v) => v,
                    };
                    line.push(format!("{v:?}"));
                }
                out.push_str(&line.join("|"));
                out.push('\n');
            }
        }
        if self.search_index {
            out.push_str("## search\n");
            for rec in crate::search::indexed_records(&self.conn)? {
                out.push_str(&rec);
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// A value as plain text for tables and labels: lists joined with ", ".
pub fn display_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}
