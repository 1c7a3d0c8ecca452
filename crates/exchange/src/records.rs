//! Bringing records in: rows from any file, as field values, through the core's one writer
//! path, matched against what the replica already holds.
//!
//! One import is one transaction ([`desk_core::Replica::batch`]) and one undo step. Each row is
//! tried on its own, so every bad row is reported at once (row, column, what is wrong); then
//! nothing is written, unless `skip_invalid` asks for the valid rows. A dry run does all of it
//! and rolls it back.
//!
//! Matching (so re-importing a file changes nothing and an address book merges into the one
//! already here): a contact is the same as an existing one with the same e-mail address, or the
//! same name and organisation; an organisation one with the same name, acronym or native name;
//! a project one with the same code. A matched record gains the fields it lacked; values that
//! differ from what it holds are kept as they are and reported, never overwritten silently.
//! An organisation named in a contact row is matched the same way, or created.

use desk_core::text::fold;
use desk_core::{Entity, FieldKind, Fields, Progress, Replica};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// One record to bring in: where it came from (`at`: row or line), its fields as read (text,
/// or lists of text; the core parses and validates them), and for each field the column it was
/// read from (to name it in errors).
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub at: usize,
    pub fields: Fields,
    pub columns: HashMap<String, String>,
}

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Check and report, write nothing.
    pub dry_run: bool,
    /// Write the valid rows even when some are not (they are reported).
    pub skip_invalid: bool,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub at: usize,
    /// The file's column (header, or property), where the error is about one.
    pub column: Option<String>,
    /// The record field, where the error is about one.
    pub field: Option<String>,
    pub message: String,
}

/// A row that matched a record already here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merged {
    pub at: usize,
    pub id: String,
    pub label: String,
    /// Fields the record lacked, filled from the row.
    pub filled: Vec<String>,
    /// Fields where the row says something else: the record's value was kept.
    pub differing: Vec<Differing>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Differing {
    pub field: String,
    pub kept: String,
    pub offered: String,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub entity: String,
    /// Rows (or cards) read.
    pub read: usize,
    /// Records created (not counting organisations made for contacts).
    pub created: usize,
    /// Rows that matched a record here: those that added to it, and those that changed nothing.
    pub merged: Vec<Merged>,
    pub unchanged: usize,
    /// Organisations created because a contact row named one not found here.
    pub organisations_created: Vec<String>,
    pub invalid: Vec<RowError>,
    /// Whether anything was written (false for a dry run, or when invalid rows stopped it).
    pub written: bool,
    pub dry_run: bool,
}

impl Report {
    /// Rows that would be or were written (created or added to an existing record).
    pub fn writes(&self) -> usize {
        self.created + self.merged.iter().filter(|m| !m.filled.is_empty()).count()
    }
}

/// The records already here, by the keys rows are matched on.
#[derive(Default)]
struct Known {
    /// Folded key → id.
    keys: HashMap<String, String>,
    /// Organisations by folded name, acronym and native name (for contacts' `org`).
    orgs: HashMap<String, String>,
}

fn contact_keys(name: &str, org: &str, email: &str) -> Vec<String> {
    let mut k = Vec::with_capacity(2);
    if !email.trim().is_empty() {
        k.push(format!("e:{}", email.trim().to_lowercase()));
    }
    if !name.trim().is_empty() {
        k.push(format!("n:{}\u{1}{}", fold(name.trim()), org));
    }
    k
}

fn org_keys(rec: &Fields) -> Vec<String> {
    ["name", "acronym", "native_name"]
        .iter()
        .filter_map(|f| rec.get(*f).and_then(Value::as_str))
        .filter(|v| !v.trim().is_empty())
        .map(|v| fold(v.trim()))
        .collect()
}

fn str_of<'a>(f: &'a Fields, name: &str) -> &'a str {
    f.get(name).and_then(Value::as_str).unwrap_or("")
}

impl Known {
    fn load(r: &Replica, entity: Entity) -> desk_core::Result<Known> {
        let mut k = Known::default();
        let conn = r.reader();
        let mut orgs = conn.prepare(
            "SELECT id, name, acronym, native_name FROM organisation WHERE _deleted = 0",
        )?;
        let rows = orgs.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                [
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ],
            ))
        })?;
        for row in rows {
            let (id, names) = row?;
            for n in names.into_iter().flatten().filter(|n| !n.trim().is_empty()) {
                k.orgs.entry(fold(n.trim())).or_insert_with(|| id.clone());
            }
        }
        match entity {
            Entity::Contact => {
                let mut stmt = conn.prepare(
                    "SELECT id, name, coalesce(org, ''), coalesce(email, '') FROM contact \
                     WHERE _deleted = 0",
                )?;
                let rows = stmt.query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                })?;
                for row in rows {
                    let (id, name, org, email) = row?;
                    for key in contact_keys(&name, &org, &email) {
                        k.keys.entry(key).or_insert_with(|| id.clone());
                    }
                }
            }
            Entity::Organisation => {
                k.keys = k.orgs.clone();
            }
            Entity::Project => {
                let mut stmt = conn.prepare("SELECT id, code FROM project WHERE _deleted = 0")?;
                let rows = stmt.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, code) = row?;
                    k.keys.entry(fold(code.trim())).or_insert(id);
                }
            }
            _ => {}
        }
        Ok(k)
    }

    fn keys_of(&self, entity: Entity, f: &Fields) -> Vec<String> {
        match entity {
            Entity::Contact => {
                contact_keys(str_of(f, "name"), str_of(f, "org"), str_of(f, "email"))
            }
            Entity::Organisation => org_keys(f),
            Entity::Project => vec![fold(str_of(f, "code").trim())]
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The entities this module imports.
pub const IMPORTABLE: [Entity; 3] = [Entity::Contact, Entity::Organisation, Entity::Project];

/// Imports `rows` as records of `entity` (contacts, organisations or projects); see the module
/// documentation. An error is returned only when the replica itself fails; bad rows are in the
/// report.
pub fn import(
    r: &mut Replica,
    entity: Entity,
    rows: &[Incoming],
    opts: Options,
    progress: &mut dyn FnMut(Progress),
) -> desk_core::Result<Report> {
    let mut known = Known::load(r, entity)?;
    let total = rows.len() as u64;
    r.batch(rows.len(), |b| {
        let mut report = Report {
            entity: entity.name().to_string(),
            read: rows.len(),
            dry_run: opts.dry_run,
            ..Report::default()
        };
        for (i, row) in rows.iter().enumerate() {
            match b.attempt(|b| one(b, entity, row, &known)) {
                Ok(done) => done.apply(&mut known, &mut report),
                Err(e) => report.invalid.push(row_error(row, &e)),
            }
            if (i + 1) % 1000 == 0 {
                progress(Progress {
                    stage: "import",
                    done: i as u64 + 1,
                    total,
                });
            }
        }
        progress(Progress {
            stage: "import",
            done: total,
            total,
        });
        let commit = !opts.dry_run && (report.invalid.is_empty() || opts.skip_invalid);
        report.written = commit && report.writes() > 0;
        Ok((report, commit))
    })
}

fn row_error(row: &Incoming, e: &desk_core::Error) -> RowError {
    let field = e.field().map(str::to_string);
    let column = field.as_ref().and_then(|f| row.columns.get(f).cloned());
    let message = match e {
        desk_core::Error::Validation { message, .. } => message.clone(),
        other => other.to_string(),
    };
    RowError {
        at: row.at,
        column,
        field,
        message,
    }
}

/// What one row did, applied to the import's state only once the row has succeeded (a row
/// that fails is rolled back whole, organisations it made included).
#[derive(Default)]
struct Done {
    created: bool,
    unchanged: bool,
    merged: Option<Merged>,
    keys: Vec<(String, String)>,
    orgs: Vec<(String, String)>,
    orgs_created: Vec<String>,
}

impl Done {
    fn apply(self, known: &mut Known, report: &mut Report) {
        report.created += usize::from(self.created);
        report.unchanged += usize::from(self.unchanged);
        report.merged.extend(self.merged);
        report.organisations_created.extend(self.orgs_created);
        for (k, id) in self.keys {
            known.keys.entry(k).or_insert(id);
        }
        for (k, id) in self.orgs {
            known.orgs.entry(k).or_insert(id);
        }
    }
}

/// One row: matched and merged, or created.
fn one(
    b: &mut desk_core::Batch<'_, '_>,
    entity: Entity,
    row: &Incoming,
    known: &Known,
) -> desk_core::Result<Done> {
    let mut done = Done::default();
    let mut fields = row.fields.clone();
    match entity {
        Entity::Contact => resolve_org(b, &mut fields, "org", known, &mut done)?,
        Entity::Organisation => resolve_org(b, &mut fields, "parent", known, &mut done)?,
        _ => {}
    }
    let keys = known.keys_of(entity, &fields);
    let existing = keys
        .iter()
        .find_map(|k| {
            known
                .keys
                .get(k)
                .or_else(|| done.keys.iter().find(|(o, _)| o == k).map(|(_, id)| id))
        })
        .cloned();
    let id = match existing.and_then(|id| b.get(entity, &id).ok().flatten()) {
        Some(rec) if !rec.deleted => {
            let mut fill = Fields::new();
            let mut differing = Vec::new();
            for (name, v) in &fields {
                let new = b.normalize(entity, name, v)?;
                if new.is_null() {
                    continue;
                }
                match rec.fields.get(name) {
                    None | Some(Value::Null) => {
                        fill.insert(name.clone(), new);
                    }
                    Some(old) if same(old, &new, email_field(entity, name)) => {}
                    Some(old) => differing.push(Differing {
                        field: name.clone(),
                        kept: desk_core::display_value(old),
                        offered: desk_core::display_value(&new),
                    }),
                }
            }
            if fill.is_empty() && differing.is_empty() {
                done.unchanged = true;
            } else {
                if !fill.is_empty() {
                    b.update(entity, &rec.id, &fill)?;
                }
                done.merged = Some(Merged {
                    at: row.at,
                    id: rec.id.clone(),
                    label: str_of(&rec.fields, entity.desc().title).to_string(),
                    filled: fill.keys().cloned().collect(),
                    differing,
                });
            }
            rec.id
        }
        _ => {
            done.created = true;
            b.create(entity, &fields)?
        }
    };
    done.keys.extend(keys.into_iter().map(|k| (k, id.clone())));
    if entity == Entity::Organisation {
        done.orgs
            .extend(org_keys(&fields).into_iter().map(|k| (k, id.clone())));
    }
    Ok(done)
}

fn email_field(entity: Entity, name: &str) -> bool {
    entity
        .desc()
        .field(name)
        .is_some_and(|f| f.kind == FieldKind::Email)
}

/// Same values, lists compared as sets (a merged list may hold its items in another order),
/// e-mail addresses without regard to case.
fn same(a: &Value, b: &Value, email: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if email => x.trim().eq_ignore_ascii_case(y.trim()),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().all(|i| y.contains(i)),
        (Value::String(x), Value::String(y)) => x.trim() == y.trim(),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// An organisation named in a row (by id, name, acronym or native name) becomes its id; one
/// not found is created with that name.
fn resolve_org(
    b: &mut desk_core::Batch<'_, '_>,
    fields: &mut Fields,
    field: &str,
    known: &Known,
    done: &mut Done,
) -> desk_core::Result<()> {
    let Some(name) = fields.get(field).and_then(Value::as_str).map(str::trim) else {
        return Ok(());
    };
    if name.is_empty() {
        fields.remove(field);
        return Ok(());
    }
    let name = name.to_string();
    let id = match known.orgs.get(&fold(&name)) {
        Some(id) => id.clone(),
        None if b
            .get(Entity::Organisation, &name)?
            .is_some_and(|o| !o.deleted) =>
        {
            name.clone()
        }
        None => {
            let mut org = Fields::new();
            org.insert("name".into(), Value::String(name.clone()));
            let id = b.create(Entity::Organisation, &org).map_err(|e| match e {
                desk_core::Error::Validation { message, .. } => desk_core::Error::Validation {
                    entity: "contact",
                    field: field.to_string(),
                    message: format!("organisation \"{name}\": {message}"),
                },
                other => other,
            })?;
            done.orgs.push((fold(&name), id.clone()));
            done.orgs_created.push(name.clone());
            id
        }
    };
    fields.insert(field.to_string(), Value::String(id));
    Ok(())
}

/// Whether `kind` holds several values (lists), for readers that split cells.
pub fn is_list(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::List | FieldKind::CountryList | FieldKind::RefList(_)
    )
}
