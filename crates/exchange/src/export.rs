//! Records out: CSV of contacts, organisations and projects, in the form this crate's CSV import
//! reads back (headers are field names; references by name), and the rule every export shares
//! for restricted records.

use desk_core::{display_value, Entity, FieldKind, ListQuery, Record, Replica};
use std::collections::HashMap;

/// Why an export was not written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{count} of the {what} are restricted: say so explicitly (--include-restricted) to export them, and keep the file as you keep them")]
    Restricted { count: usize, what: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Format(String),
    #[error(transparent)]
    Replica(#[from] desk_core::Error),
}

/// Refuses records classified `restricted` unless `include` says to export them.
pub fn guard_restricted<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    what: &str,
    include: bool,
) -> Result<usize, ExportError> {
    let count = records
        .into_iter()
        .filter(|r| r.str("classification") == Some("restricted"))
        .count();
    if count > 0 && !include {
        return Err(ExportError::Restricted {
            count,
            what: what.to_string(),
        });
    }
    Ok(count)
}

/// Every live record of `entity`, in the descriptor's order.
pub fn live(r: &Replica, entity: Entity) -> Result<Vec<Record>, ExportError> {
    Ok(r.list(entity, &ListQuery::default())?)
}

/// The live meetings of a framework (its name in any case); none is an error naming it.
pub fn framework_meetings(r: &Replica, framework: &str) -> Result<Vec<Record>, ExportError> {
    let list: Vec<Record> = live(r, Entity::Meeting)?
        .into_iter()
        .filter(|m| {
            m.str("framework")
                .is_some_and(|f| f.trim().eq_ignore_ascii_case(framework.trim()))
        })
        .collect();
    if list.is_empty() {
        return Err(ExportError::Unsupported(format!(
            "no meetings of the framework \"{framework}\""
        )));
    }
    Ok(list)
}

/// The entities exported as CSV.
pub const CSV_ENTITIES: [Entity; 3] = [Entity::Contact, Entity::Organisation, Entity::Project];

/// Live records of `entity` as CSV (see [`crate::csv::write`]): one column per field, named as
/// the field; references as the referenced record's name (organisations by acronym where they have one); lists joined with "; ".
pub fn csv(r: &Replica, entity: Entity, include_restricted: bool) -> Result<String, ExportError> {
    if !CSV_ENTITIES.contains(&entity) {
        return Err(ExportError::Unsupported(format!(
            "CSV exports contacts, organisations and projects, not {}s",
            entity.name().replace('_', " ")
        )));
    }
    let recs = live(r, entity)?;
    guard_restricted(&recs, &format!("{}s", entity.name()), include_restricted)?;
    let d = entity.desc();
    let headers: Vec<&str> = d.fields.iter().map(|f| f.name).collect();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut rows = Vec::with_capacity(recs.len());
    for rec in &recs {
        let mut row = Vec::with_capacity(d.fields.len());
        for f in d.fields {
            let v = rec.fields.get(f.name);
            let cell = match (f.kind, v) {
                (_, None) => String::new(),
                (FieldKind::Ref(target), Some(v)) => {
                    let id = display_value(v);
                    match names.get(&id) {
                        Some(n) => n.clone(),
                        None => {
                            // Organisations by acronym where they have one: several share a
                            // name ("Ministry of Foreign Affairs"), and the import finds both.
                            let n = r
                                .get(target, &id)
                                .map(|t| match t.str("acronym") {
                                    Some(a) if target == Entity::Organisation => a.to_string(),
                                    _ => r.label(&t),
                                })
                                .unwrap_or(id.clone());
                            names.insert(id, n.clone());
                            n
                        }
                    }
                }
                (_, Some(serde_json::Value::Array(items))) => items
                    .iter()
                    .map(display_value)
                    .collect::<Vec<_>>()
                    .join("; "),
                (_, Some(v)) => display_value(v),
            };
            row.push(cell);
        }
        rows.push(row);
    }
    Ok(crate::csv::write(&headers, &rows))
}
