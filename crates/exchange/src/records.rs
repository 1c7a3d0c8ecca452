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
//! same name and organisation unless both have e-mail addresses that differ (two people of one
//! name in one ministry); an organisation one with the same acronym, or the same name (or
//! native name) and country — several countries have a "Ministry of Foreign Affairs"; a project
//! one with the same code. A matched record gains the fields it lacked; values that differ
//! from what it holds are kept as they are and reported, never overwritten silently. An
//! organisation a contact row names is found by id, acronym, or a name only one organisation
//! has, or only one of the contact's country (several: the row is refused, asking for the
//! acronym), or else created.

use desk_core::text::fold;
use desk_core::{Entity, FieldKind, Fields, Progress, Replica};
use serde::Serialize;
use serde_json::Value;
use std::collections::hash_map::Entry;
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
#[cfg_attr(feature = "specta", derive(specta::Type))]
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

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Differing {
    pub field: String,
    pub kept: String,
    pub offered: String,
}

/// What an import did (or, in a dry run, would do).
#[cfg_attr(feature = "specta", derive(specta::Type))]
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
    /// Contacts and projects: folded key → id.
    keys: HashMap<String, String>,
    /// Organisations by `a:` acronym and `n:` name or native name (folded): several
    /// ministries share a name ("Ministry of Foreign Affairs"), so a key may name several.
    orgs: HashMap<String, Vec<String>>,
    /// An organisation's country code, to tell same-named ones apart.
    org_country: HashMap<String, String>,
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

/// An organisation's keys: `a:` its acronym, `n:` its name and its native name.
fn org_keys(rec: &Fields) -> Vec<String> {
    [("a", "acronym"), ("n", "name"), ("n", "native_name")]
        .iter()
        .filter_map(|(p, f)| {
            let v = rec.get(*f).and_then(Value::as_str)?.trim();
            (!v.is_empty()).then(|| format!("{p}:{}", fold(v)))
        })
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
            "SELECT id, name, acronym, native_name, coalesce(country, '') FROM organisation \
             WHERE _deleted = 0",
        )?;
        let rows = orgs.query_map([], |row| {
            let mut f = Fields::new();
            for (i, name) in ["name", "acronym", "native_name"].iter().enumerate() {
                if let Some(v) = row.get::<_, Option<String>>(i + 1)? {
                    f.insert((*name).to_string(), Value::String(v));
                }
            }
            Ok((row.get::<_, String>(0)?, f, row.get::<_, String>(4)?))
        })?;
        for row in rows {
            let (id, f, country) = row?;
            for key in org_keys(&f) {
                k.orgs.entry(key).or_default().push(id.clone());
            }
            k.org_country.insert(id, country);
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
            // Organisations are matched through `orgs` (see `Known::org`).
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

    /// The organisation a row names by `text`: an id, an acronym, or a name or native name that
    /// only one organisation has — or, of several, only one of the row's `country` (the Lao
    /// "Ministry of Foreign Affairs" for a Lao official); else an error asking for the
    /// acronym. `staged`: what earlier parts of this row made.
    fn org(
        &self,
        text: &str,
        country: &str,
        staged: &[(String, String)],
    ) -> Result<Option<String>, String> {
        let f = fold(text.trim());
        let find = |key: String| -> Vec<String> {
            let mut ids = self.orgs.get(&key).cloned().unwrap_or_default();
            ids.extend(
                staged
                    .iter()
                    .filter(|(k, _)| *k == key)
                    .map(|(_, id)| id.clone()),
            );
            ids.dedup();
            ids
        };
        if let Some(id) = find(format!("a:{f}")).into_iter().next() {
            return Ok(Some(id));
        }
        let named = find(format!("n:{f}"));
        let of_country: Vec<&String> = named
            .iter()
            .filter(|id| {
                !country.is_empty() && self.org_country.get(*id).is_some_and(|c| c == country)
            })
            .collect();
        match (named.len(), of_country.as_slice()) {
            (0, _) => Ok(None),
            (1, _) => Ok(named.into_iter().next()),
            (_, [one]) => Ok(Some((*one).clone())),
            (n, _) => Err(format!(
                "{n} organisations are named \"{}\": name it by its acronym instead",
                text.trim()
            )),
        }
    }

    /// An organisation row's match here: by acronym, else by name (or native name) and country.
    fn same_org(&self, f: &Fields, country: &str) -> Option<String> {
        let acronym = str_of(f, "acronym").trim();
        if !acronym.is_empty() {
            if let Some(id) = self
                .orgs
                .get(&format!("a:{}", fold(acronym)))
                .and_then(|v| v.first())
            {
                return Some(id.clone());
            }
        }
        for field in ["name", "native_name"] {
            let v = str_of(f, field).trim();
            if v.is_empty() {
                continue;
            }
            let ids = self.orgs.get(&format!("n:{}", fold(v)))?;
            let same_country: Vec<&String> = ids
                .iter()
                .filter(|id| self.org_country.get(*id).map(String::as_str).unwrap_or("") == country)
                .collect();
            if let [one] = same_country.as_slice() {
                return Some((*one).clone());
            }
        }
        None
    }

    fn keys_of(&self, entity: Entity, f: &Fields) -> Vec<String> {
        match entity {
            Entity::Contact => {
                contact_keys(str_of(f, "name"), str_of(f, "org"), str_of(f, "email"))
            }
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

/// Rows an import takes one at a time ([`import_each`]): a big file's rows become records'
/// fields only when the import comes to them, and are dropped after, so the file is never held
/// as 100,000 maps of fields at once.
pub trait Rows {
    /// How many rows there are.
    fn count(&self) -> usize;
    /// Row `i` (counting from 0), with the columns its fields came from.
    fn row(&self, i: usize) -> Incoming;
    /// Row `i`'s place (`Incoming::at`) and fields, without the columns: only an error needs
    /// those, and then [`Rows::row`] is asked.
    fn fields(&self, i: usize) -> (usize, Fields) {
        let row = self.row(i);
        (row.at, row.fields)
    }
}

/// Rows already made, in the order to import them.
struct Made<'a>(Vec<&'a Incoming>);

impl Rows for Made<'_> {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn row(&self, i: usize) -> Incoming {
        self.0[i].clone()
    }
    fn fields(&self, i: usize) -> (usize, Fields) {
        (self.0[i].at, self.0[i].fields.clone())
    }
}

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
    let rows = if entity == Entity::Organisation {
        parents_first(rows)
    } else {
        rows.iter().collect()
    };
    run(r, entity, &Made(rows), opts, progress)
}

/// [`import`] of rows made one at a time (see [`Rows`]). Organisations are all made first:
/// parents are imported before their children.
pub fn import_each(
    r: &mut Replica,
    entity: Entity,
    rows: &dyn Rows,
    opts: Options,
    progress: &mut dyn FnMut(Progress),
) -> desk_core::Result<Report> {
    if entity == Entity::Organisation {
        let rows: Vec<Incoming> = (0..rows.count()).map(|i| rows.row(i)).collect();
        return import(r, entity, &rows, opts, progress);
    }
    run(r, entity, rows, opts, progress)
}

/// The most rows tried together under one savepoint. A savepoint costs far more than a row:
/// SQLite's full-text index writes out what it holds at each one (so that a rollback to it is
/// possible), and pages changed under it are copied first; a savepoint per row made an index
/// segment per row and endless merging, and 100,000 contacts took twice as long to import
/// (docs/performance.md). The cap bounds what a bad row late in a group costs: the group's
/// rows tried again one by one.
const GROUP: usize = 16_384;

/// The import itself. Rows are tried in groups, each under one savepoint ([`Batch::attempt`]):
/// a group that fails is rolled back whole, what it added to `known` and the report taken
/// back, and its rows are tried again one by one, each under its own savepoint, as a single
/// row always is; so every row is written or refused exactly as if each were tried alone. A
/// group follows one that went through at twice its size (at most [`GROUP`]); after a refused
/// row, groups start again from one row, so a file with many bad rows is not tried twice over.
///
/// [`Batch::attempt`]: desk_core::Batch::attempt
fn run(
    r: &mut Replica,
    entity: Entity,
    rows: &dyn Rows,
    opts: Options,
    progress: &mut dyn FnMut(Progress),
) -> desk_core::Result<Report> {
    let mut known = Known::load(r, entity)?;
    let count = rows.count();
    // Up to two keys a row (e-mail, name), added as rows are imported.
    known.keys.reserve(2 * count);
    let total = count as u64;
    r.batch(count, |b| {
        let mut report = Report {
            entity: entity.name().to_string(),
            read: count,
            dry_run: opts.dry_run,
            ..Report::default()
        };
        // Every 1,000 rows, once each (the rows of a group tried again are not counted again).
        let mut counted = 0;
        let mut count_row = |i: usize| {
            if (i + 1).is_multiple_of(1000) && i + 1 > counted {
                counted = i + 1;
                progress(Progress {
                    stage: "import",
                    done: counted as u64,
                    total,
                });
            }
        };
        let mut at = 0;
        let mut size = 1;
        while at < count {
            let end = (at + size).min(count);
            let refused = report.invalid.len();
            let together = end - at > 1 && {
                let mark = Mark::of(&report);
                let mut undo = Undo::default();
                let went = b
                    .attempt(|b| {
                        for i in at..end {
                            let (row_at, fields) = rows.fields(i);
                            one(b, entity, row_at, fields, &known)?.apply(
                                &mut known,
                                &mut report,
                                Some(&mut undo),
                            );
                            count_row(i);
                        }
                        Ok(())
                    })
                    .is_ok();
                if !went {
                    undo.revert(&mut known);
                    mark.reset(&mut report);
                }
                went
            };
            if !together {
                for i in at..end {
                    let (row_at, fields) = rows.fields(i);
                    match b.attempt(|b| one(b, entity, row_at, fields, &known)) {
                        Ok(done) => done.apply(&mut known, &mut report, None),
                        Err(e) => report.invalid.push(row_error(&rows.row(i), &e)),
                    }
                    count_row(i);
                }
            }
            size = if report.invalid.len() > refused {
                1
            } else {
                (size * 2).min(GROUP)
            };
            at = end;
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

/// The report's counts before a group of rows, to go back to when the group is rolled back
/// (a group stops at its first refused row, so it adds nothing to `invalid`).
struct Mark {
    created: usize,
    unchanged: usize,
    merged: usize,
    organisations_created: usize,
}

impl Mark {
    fn of(report: &Report) -> Mark {
        Mark {
            created: report.created,
            unchanged: report.unchanged,
            merged: report.merged.len(),
            organisations_created: report.organisations_created.len(),
        }
    }

    fn reset(self, report: &mut Report) {
        report.created = self.created;
        report.unchanged = self.unchanged;
        report.merged.truncate(self.merged);
        report
            .organisations_created
            .truncate(self.organisations_created);
    }
}

/// What a group of rows added to [`Known`], to take back when the group is rolled back.
#[derive(Default)]
struct Undo {
    /// Keys added to `keys`.
    keys: Vec<String>,
    /// Keys of `orgs` an id was pushed to, in order.
    orgs: Vec<String>,
    /// Organisations whose country was set, with the country they had before.
    org_country: Vec<(String, Option<String>)>,
}

impl Undo {
    fn revert(self, known: &mut Known) {
        for k in self.keys {
            known.keys.remove(&k);
        }
        for k in self.orgs.into_iter().rev() {
            if let Some(ids) = known.orgs.get_mut(&k) {
                ids.pop();
                if ids.is_empty() {
                    known.orgs.remove(&k);
                }
            }
        }
        for (id, before) in self.org_country.into_iter().rev() {
            match before {
                Some(country) => known.org_country.insert(id, country),
                None => known.org_country.remove(&id),
            };
        }
    }
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
    org_country: Vec<(String, String)>,
    orgs_created: Vec<String>,
}

impl Done {
    /// Applies what the row did; `undo`, when given, keeps what it added to `known`.
    fn apply(self, known: &mut Known, report: &mut Report, mut undo: Option<&mut Undo>) {
        report.created += usize::from(self.created);
        report.unchanged += usize::from(self.unchanged);
        report.merged.extend(self.merged);
        report.organisations_created.extend(self.orgs_created);
        for (k, id) in self.keys {
            if let Entry::Vacant(e) = known.keys.entry(k) {
                if let Some(u) = undo.as_deref_mut() {
                    u.keys.push(e.key().clone());
                }
                e.insert(id);
            }
        }
        for (k, id) in self.orgs {
            if let Some(u) = undo.as_deref_mut() {
                if !known.orgs.get(&k).is_some_and(|ids| ids.contains(&id)) {
                    u.orgs.push(k.clone());
                }
            }
            let ids = known.orgs.entry(k).or_default();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        for (id, country) in self.org_country {
            let before = known.org_country.insert(id.clone(), country);
            if let Some(u) = undo.as_deref_mut() {
                u.org_country.push((id, before));
            }
        }
    }
}

/// One row: matched and merged, or created.
fn one(
    b: &mut desk_core::Batch<'_, '_>,
    entity: Entity,
    at: usize,
    mut fields: Fields,
    known: &Known,
) -> desk_core::Result<Done> {
    let mut done = Done::default();
    match entity {
        Entity::Contact => resolve_org(b, &mut fields, "org", entity, known, &mut done)?,
        Entity::Organisation => resolve_org(b, &mut fields, "parent", entity, known, &mut done)?,
        _ => {}
    }
    let keys = known.keys_of(entity, &fields);
    let existing = if entity == Entity::Organisation {
        let country = match fields.get("country") {
            Some(c) => desk_core::display_value(&b.normalize(entity, "country", c)?),
            None => String::new(),
        };
        known.same_org(&fields, &country)
    } else {
        let mut found = None;
        for k in &keys {
            let Some(id) = known.keys.get(k) else {
                continue;
            };
            // Two people of one name in one ministry are two people when their e-mail
            // addresses say so.
            if entity == Entity::Contact && k.starts_with("n:") {
                let theirs = b
                    .get(entity, id)?
                    .and_then(|c| c.str("email").map(str::to_lowercase));
                let ours = str_of(&fields, "email").trim().to_lowercase();
                if theirs.is_some_and(|t| !ours.is_empty() && t != ours) {
                    continue;
                }
            }
            found = Some(id.clone());
            break;
        }
        found
    };
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
                    at,
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
        let country = b
            .get(Entity::Organisation, &id)?
            .and_then(|o| o.str("country").map(str::to_string))
            .unwrap_or_default();
        done.org_country.push((id.clone(), country));
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

/// An organisation named in a row (see [`Known::org`]) becomes its id; one not found is
/// created with that name.
fn resolve_org(
    b: &mut desk_core::Batch<'_, '_>,
    fields: &mut Fields,
    field: &str,
    entity: Entity,
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
    let bad = |message: String| desk_core::Error::Validation {
        entity: entity.desc().name,
        field: field.to_string(),
        message,
    };
    let id = if could_be_id(&name) && b.is_live(Entity::Organisation, &name)? {
        name.clone()
    } else if let Some(id) = {
        let country = match fields.get("country") {
            Some(c) if entity == Entity::Contact => {
                desk_core::display_value(&b.normalize(entity, "country", c)?)
            }
            _ => String::new(),
        };
        known.org(&name, &country, &done.orgs).map_err(bad)?
    } {
        id
    } else {
        let mut org = Fields::new();
        org.insert("name".into(), Value::String(name.clone()));
        let id = b.create(Entity::Organisation, &org).map_err(|e| match e {
            desk_core::Error::Validation { message, .. } => {
                bad(format!("organisation \"{name}\": {message}"))
            }
            other => other,
        })?;
        done.orgs.push((format!("n:{}", fold(&name)), id.clone()));
        done.orgs_created.push(name.clone());
        id
    };
    fields.insert(field.to_string(), Value::String(id));
    Ok(())
}

/// Whether `text` could be a record's id, which is always a UUID (the core creates no other and
/// takes no other from elsewhere): 32 hex digits, perhaps with hyphens, braces or `urn:uuid:`.
/// Only such text is looked up as an id, saving a query for every organisation named by name.
fn could_be_id(text: &str) -> bool {
    let s = match (text.get(..9), text.get(9..)) {
        (Some(urn), Some(rest)) if urn.eq_ignore_ascii_case("urn:uuid:") => rest,
        _ => text,
    };
    (32..=38).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, b'-' | b'{' | b'}'))
}

/// Organisation rows ordered so that a row naming another row of the file as its parent comes
/// after it (the order of the file otherwise; a cycle is left as it is, and the core refuses
/// it).
fn parents_first(rows: &[Incoming]) -> Vec<&Incoming> {
    let keys: Vec<Vec<String>> = rows.iter().map(|r| org_keys(&r.fields)).collect();
    let parent_of = |r: &Incoming| -> Option<String> {
        let p = str_of(&r.fields, "parent").trim();
        (!p.is_empty()).then(|| fold(p))
    };
    let mut placed = vec![false; rows.len()];
    let mut out = Vec::with_capacity(rows.len());
    loop {
        let before = out.len();
        for (i, r) in rows.iter().enumerate() {
            if placed[i] {
                continue;
            }
            let waits = parent_of(r).is_some_and(|p| {
                (0..rows.len()).any(|j| j != i && !placed[j] && keys[j].iter().any(|k| k[2..] == p))
            });
            if !waits {
                placed[i] = true;
                out.push(r);
            }
        }
        if out.len() == rows.len() {
            return out;
        }
        if out.len() == before {
            out.extend(
                rows.iter()
                    .enumerate()
                    .filter(|(i, _)| !placed[*i])
                    .map(|(_, r)| r),
            );
            return out;
        }
    }
}

/// Whether `kind` holds several values (lists), for readers that split cells.
pub fn is_list(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::List | FieldKind::CountryList | FieldKind::RefList(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uuid_shaped_text_is_looked_up_as_an_id() {
        for id in [
            "0192f1b4-7c3e-7a51-9d2e-3b1f6a0c4e21",
            "0192F1B47C3E7A519D2E3B1F6A0C4E21",
            "{0192f1b4-7c3e-7a51-9d2e-3b1f6a0c4e21}",
            "urn:uuid:0192f1b4-7c3e-7a51-9d2e-3b1f6a0c4e21",
            "URN:UUID:0192f1b4-7c3e-7a51-9d2e-3b1f6a0c4e21",
        ] {
            assert!(could_be_id(id), "{id}");
        }
        for name in [
            "MFA-TH",
            "Ministry of Foreign Affairs",
            "Department of Water Resources, Thailand",
            "กระทรวงการต่างประเทศ",
            "",
        ] {
            assert!(!could_be_id(name), "{name}");
        }
    }
}
