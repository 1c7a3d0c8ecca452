//! Values to and from SQL, and the statements made once per entity.

use super::Record;
use crate::hlc::Hlc;
use crate::schema::{Entity, EntityDesc, FieldKind};
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use serde_json::{Map, Value};

pub(super) fn select_cols(d: &EntityDesc) -> String {
    let mut s = String::from("SELECT id, _hlc, _updated, _deleted, rowid, _dev");
    for f in d.fields {
        s.push_str(", ");
        s.push_str(f.name);
    }
    s
}

pub(super) fn select_sql(d: &EntityDesc) -> String {
    format!("{} FROM {}", select_cols(d), d.table)
}

pub(super) fn row_to_record(d: &EntityDesc, r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    let mut fields = Map::new();
    for (i, f) in d.fields.iter().enumerate() {
        let v = from_sql(f.kind, r.get::<_, Sql>(6 + i)?);
        if !v.is_null() {
            fields.insert(f.name.to_string(), v);
        }
    }
    Ok(Record {
        entity: d.name,
        id: r.get(0)?,
        fields,
        created_at: Hlc(r.get::<_, i64>(1)? as u64).to_rfc3339(),
        updated_at: Hlc(r.get::<_, i64>(2)? as u64).to_rfc3339(),
        deleted: r.get(3)?,
    })
}

/// `INSERT INTO table (id, _hlc, _dev, _updated, field…) VALUES (?, …)`, made once per entity.
/// The cached INSERT of every column of an entity; `or_skip`: one that does nothing when a
/// record with that id exists (applying changes from elsewhere).
pub(super) fn insert_sql(entity: Entity, or_skip: bool) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        [false, true]
            .iter()
            .flat_map(|skip| Entity::ALL.iter().map(move |e| (*skip, e)))
            .map(|(skip, e)| {
                let d = e.desc();
                let cols: Vec<&str> = ["id", "_hlc", "_dev", "_updated"]
                    .into_iter()
                    .chain(d.fields.iter().map(|f| f.name))
                    .collect();
                let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
                format!(
                    "INSERT INTO {} ({}) VALUES ({}){}",
                    d.table,
                    cols.join(", "),
                    marks.join(", "),
                    if skip {
                        " ON CONFLICT (id) DO NOTHING"
                    } else {
                        ""
                    }
                )
            })
            .collect()
    });
    let i = Entity::ALL.iter().position(|e| *e == entity).unwrap_or(0);
    &all[i + if or_skip { Entity::ALL.len() } else { 0 }]
}

/// A stored value as an SQL parameter, borrowing text rather than copying it.
pub(super) fn bind(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::String(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        other => ToSqlOutput::Owned(to_sql(other)),
    }
}

pub(crate) fn to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        Value::Array(_) | Value::Object(_) => Sql::Text(v.to_string()),
    }
}

pub(super) fn from_sql(kind: FieldKind, v: Sql) -> Value {
    match (kind, v) {
        (_, Sql::Null) => Value::Null,
        (FieldKind::List | FieldKind::CountryList | FieldKind::RefList(_), Sql::Text(s)) => {
            serde_json::from_str(&s).unwrap_or(Value::String(s))
        }
        (FieldKind::Real { .. }, Sql::Integer(i)) => serde_json::Number::from_f64(i as f64)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (_, Sql::Integer(i)) => Value::from(i),
        (_, Sql::Real(f)) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        (_, Sql::Text(s)) => Value::String(s),
        (_, Sql::Blob(_)) => Value::Null,
    }
}
