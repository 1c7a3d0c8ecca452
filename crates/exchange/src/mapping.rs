//! Which column of a CSV file fills which field: detected from the header names Outlook,
//! Google Contacts, Excel sheets and this crate's own exports use, and overridden by the user
//! (`--map "Mobile Phone=phone"`, `--map "Department="` to leave a column out).
//!
//! Several columns may fill one field (Outlook's "Business Phone" and "Mobile Phone"): the first
//! non-empty one wins, and the others' values are kept in the record's notes ("Mobile Phone:
//! …"), so nothing in the file is dropped without a word. Columns that fill nothing are listed
//! in the mapping, for the user to see before importing.

use crate::csv::{letter, unescape_formula, Table};
use crate::records::{is_list, Incoming, Rows};
use desk_core::{Entity, Fields};
use serde::Serialize;
use serde_json::Value;

/// One column and the field it fills (none: not imported).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnMap {
    pub column: String,
    pub letter: String,
    pub field: Option<String>,
    /// The first non-empty value under it, to show beside the mapping.
    pub sample: Option<String>,
}

/// A mapping that cannot be used: an unknown column or field in an override.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MappingError(pub String);

/// The field a contact column fills, by its header (lower case, without spaces or
/// punctuation). `title` is a position unless the file also has "Job Title", as Outlook's
/// exports do, where "Title" is Mr, Dr or H.E.
fn contact_field(h: &str, has_job_title: bool) -> Option<&'static str> {
    Some(match h {
        "name" | "fullname" | "displayname" | "contactname" | "contact" => "name",
        "firstname" | "givenname" | "forename" | "first" => "given_name",
        "lastname" | "familyname" | "surname" | "last" => "family_name",
        "middlename" | "additionalname" => "middle_name",
        "nativename" | "namenative" | "localname" | "nameinnativescript" | "nameinlocalscript" => {
            "native_name"
        }
        "title" if has_job_title => "honorific",
        "nameprefix" | "prefix" | "salutation" | "honorific" | "honorifics" => "honorific",
        "jobtitle" | "title" | "position" | "designation" | "organization1title"
        | "organizationtitle" | "role" => "title",
        "company" | "organization" | "organisation" | "organization1name" | "organizationname"
        | "organisationname" | "org" | "agency" | "ministry" => "org",
        "emailaddress" | "email" | "email1value" | "mail" | "emailaddress1" | "email2address"
        | "email3address" | "email2value" | "email3value" => "email",
        "businessphone" | "phone" | "telephone" | "tel" | "phone1value" | "mobilephone"
        | "mobile" | "businessphone2" | "phone2value" | "phone3value" | "primaryphone" => "phone",
        "country"
        | "countryregion"
        | "businesscountryregion"
        | "address1country"
        | "nationality"
        | "homecountryregion" => "country",
        "notes" | "note" | "comments" | "remarks" => "notes",
        "categories" | "labels" | "groupmembership" | "tags" | "groups" => "tags",
        "language" | "languages" => "languages",
        "gender" | "sex" => "gender",
        "precedence" | "rank" => "precedence",
        "classification" => "classification",
        _ => return None,
    })
}

fn organisation_field(h: &str) -> Option<&'static str> {
    Some(match h {
        "name" | "organisation" | "organization" | "organisationname" | "organizationname"
        | "company" | "fullname" => "name",
        "acronym" | "abbreviation" | "shortname" => "acronym",
        "nativename" | "localname" | "nameinnativescript" => "native_name",
        "kind" | "type" | "category" => "kind",
        "country" | "countryregion" => "country",
        "parent" | "parentorganisation" | "parentorganization" => "parent",
        "website" | "web" | "url" | "webpage" | "homepage" => "website",
        "notes" | "note" | "comments" | "remarks" => "notes",
        "classification" => "classification",
        _ => return None,
    })
}

fn project_field(h: &str) -> Option<&'static str> {
    Some(match h {
        "code" | "projectcode" | "ref" | "reference" | "projectid" => "code",
        "title" | "projecttitle" | "name" | "projectname" | "project" => "title",
        "pillar" => "pillar",
        "sector" => "sector",
        "status" => "status",
        "leadcountry" | "lead" => "lead_country",
        "countries" | "participatingcountries" | "membercountries" => "countries",
        "agencies" | "implementingagencies" | "implementingagency" => "agencies",
        "partners" | "developmentpartners" | "donors" => "partners",
        "budget" | "totalbudget" | "budgetusd" | "cost" | "totalcost" => "budget",
        "currency" => "currency",
        "fundingsecured" | "funded" | "fundingsecuredusd" | "securedfunding" => "funding_secured",
        "startdate" | "start" => "start_date",
        "enddate" | "end" => "end_date",
        "summary" | "description" | "objectives" => "summary",
        "classification" => "classification",
        _ => return None,
    })
}

fn squash(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Fields a column may be mapped to for `entity` (its descriptor's, plus `middle_name` for a
/// contact, joined into the name).
pub fn targets(entity: Entity) -> Vec<&'static str> {
    let mut t: Vec<&'static str> = entity.desc().fields.iter().map(|f| f.name).collect();
    if entity == Entity::Contact {
        t.push("middle_name");
    }
    t
}

/// The detected mapping of `headers` for `entity`, then `overrides` (column → field; an empty
/// field leaves the column out). A column is named by its header or its letter.
pub fn detect(
    entity: Entity,
    table: &Table,
    overrides: &[(String, String)],
) -> Result<Vec<ColumnMap>, MappingError> {
    let squashed: Vec<String> = table.headers.iter().map(|h| squash(h)).collect();
    let has_job_title = squashed.iter().any(|h| h == "jobtitle");
    let allowed = targets(entity);
    let mut fields: Vec<Option<&'static str>> = squashed
        .iter()
        .map(|h| {
            // Outlook's "Title" beside "Job Title" is the honorific.
            if entity == Entity::Contact && h == "title" && has_job_title {
                return Some("honorific");
            }
            // Our own exports' headers are the field names.
            let own = allowed
                .iter()
                .find(|f| squash(f) == *h || **f == h)
                .copied();
            own.or(match entity {
                Entity::Contact => contact_field(h, has_job_title),
                Entity::Organisation => organisation_field(h),
                Entity::Project => project_field(h),
                _ => None,
            })
        })
        .collect();
    for (col, field) in overrides {
        let i = table
            .headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(col.trim()))
            .or_else(|| {
                (0..table.headers.len()).find(|i| letter(*i).eq_ignore_ascii_case(col.trim()))
            })
            .ok_or_else(|| {
                MappingError(format!(
                    "--map {col}={field}: the file has no column \"{col}\" (its columns: {})",
                    table.headers.join(", ")
                ))
            })?;
        let field = field.trim();
        fields[i] = if field.is_empty() {
            None
        } else {
            Some(
                allowed
                    .iter()
                    .find(|f| **f == field)
                    .copied()
                    .ok_or_else(|| {
                        MappingError(format!(
                            "--map {col}={field}: a {} has no field \"{field}\" (its fields: {})",
                            entity.name(),
                            allowed.join(", ")
                        ))
                    })?,
            )
        };
    }
    Ok(table
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| ColumnMap {
            column: h.clone(),
            letter: letter(i),
            field: fields[i].map(str::to_string),
            sample: table
                .rows
                .iter()
                .map(|r| r.cells[i].trim())
                .find(|c| !c.is_empty())
                .map(|c| c.chars().take(80).collect()),
        })
        .collect())
}

/// Google Contacts' labels (`* myContacts ::: Partners`), Outlook's categories (`A;B`) and
/// plain lists (`a, b`) as items; Google's own system labels are left out.
fn split_list(cell: &str) -> Vec<Value> {
    cell.split(":::")
        .flat_map(|p| p.split([';', ',']))
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with("* "))
        .map(|p| Value::String(p.to_string()))
        .collect()
}

fn gender(cell: &str) -> String {
    match cell.trim().to_lowercase().as_str() {
        "m" | "male" | "man" | "mr" => "male".into(),
        "f" | "female" | "woman" | "ms" | "mrs" => "female".into(),
        "" | "u" | "unknown" | "unspecified" | "other" | "n/a" => "unspecified".into(),
        other => other.to_string(),
    }
}

/// The rows of `table` as records to import, by `mapping`.
pub fn rows(entity: Entity, table: &Table, mapping: &[ColumnMap]) -> Vec<Incoming> {
    let mapper = RowMapper::new(entity, table, mapping);
    (0..table.rows.len()).map(|i| mapper.row(i)).collect()
}

/// What a mapped column fills, worked out once for all rows.
struct Target<'m> {
    /// Its index in the row, and its `ColumnMap`.
    index: usize,
    map: &'m ColumnMap,
    field: &'m str,
    /// Whether the field holds a list (cells split into items).
    list: bool,
    /// "Header (letter)", as errors name the column.
    label: String,
}

/// The rows of a table as records to import, by a mapping, one at a time ([`rows`] maps them
/// all; an import maps each only when it comes to it: [`crate::records::import_each`]).
pub struct RowMapper<'m> {
    entity: Entity,
    table: &'m Table,
    /// The field other columns' values go to when their field is already filled.
    overflow: Option<&'static str>,
    targets: Vec<Target<'m>>,
}

impl<'m> RowMapper<'m> {
    pub fn new(entity: Entity, table: &'m Table, mapping: &'m [ColumnMap]) -> Self {
        let d = entity.desc();
        let overflow = ["notes", "summary"]
            .into_iter()
            .find(|f| d.field(f).is_some());
        let targets = mapping
            .iter()
            .enumerate()
            .filter_map(|(index, m)| {
                let field = m.field.as_deref()?;
                Some(Target {
                    index,
                    map: m,
                    field,
                    list: d.field(field).map(|f| f.kind).is_some_and(is_list),
                    label: format!("{} ({})", m.column, m.letter),
                })
            })
            .collect();
        RowMapper {
            entity,
            table,
            overflow,
            targets,
        }
    }

    /// Data row `i` (counting from 0) as a record to import; `columns` says whether to note
    /// the column each field came from.
    fn map(&self, i: usize, with_columns: bool) -> Incoming {
        let row = &self.table.rows[i];
        let overflow = self.overflow;
        let mut fields = Fields::new();
        let mut columns = std::collections::HashMap::new();
        let mut extra: Vec<String> = Vec::new();
        let mut middle = String::new();
        for t in &self.targets {
            let field = t.field;
            let cell = unescape_formula(row.cells[t.index].trim());
            if cell.is_empty() {
                continue;
            }
            if field == "middle_name" {
                middle = cell.to_string();
                continue;
            }
            match fields.get_mut(field) {
                Some(Value::Array(items)) if t.list => {
                    for v in split_list(cell) {
                        if !items.contains(&v) {
                            items.push(v);
                        }
                    }
                }
                Some(Value::String(have)) if have == cell => {}
                Some(_) if Some(field) == overflow => {
                    if let Some(Value::String(n)) = fields.get_mut(field) {
                        n.push_str("\n\n");
                        n.push_str(cell);
                    }
                }
                Some(_) => extra.push(format!("{}: {cell}", t.map.column)),
                None => {
                    let v = if t.list {
                        Value::Array(split_list(cell))
                    } else if field == "gender" {
                        Value::String(gender(cell))
                    } else {
                        Value::String(cell.to_string())
                    };
                    fields.insert(field.to_string(), v);
                    if with_columns {
                        columns.insert(field.to_string(), t.label.clone());
                    }
                }
            }
        }
        if self.entity == Entity::Contact && !fields.contains_key("name") {
            let parts: Vec<&str> = [
                fields
                    .get("given_name")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                middle.as_str(),
                fields
                    .get("family_name")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            ]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect();
            if !parts.is_empty() {
                fields.insert("name".into(), Value::String(parts.join(" ")));
                if let Some(c) = columns
                    .get("given_name")
                    .or(columns.get("family_name"))
                    .cloned()
                {
                    columns.insert("name".into(), c);
                }
            }
        }
        if let (false, Some(of)) = (extra.is_empty(), overflow) {
            let mut n = fields
                .get(of)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            for e in extra {
                if !n.is_empty() {
                    n.push('\n');
                }
                n.push_str(&e);
            }
            fields.insert(of.to_string(), Value::String(n));
        }
        Incoming {
            at: row.row,
            fields,
            columns,
        }
    }
}

impl Rows for RowMapper<'_> {
    fn count(&self) -> usize {
        self.table.rows.len()
    }

    fn row(&self, i: usize) -> Incoming {
        self.map(i, true)
    }

    fn fields(&self, i: usize) -> (usize, Fields) {
        let row = self.map(i, false);
        (row.at, row.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::parse;

    fn map_of(entity: Entity, csv: &str) -> Vec<(String, Option<String>)> {
        let t = parse(csv, None).unwrap();
        detect(entity, &t, &[])
            .unwrap()
            .into_iter()
            .map(|m| (m.column, m.field))
            .collect()
    }

    #[test]
    fn outlook_headers_are_recognised() {
        let m = map_of(
            Entity::Contact,
            "Title,First Name,Middle Name,Last Name,Suffix,Company,Department,Job Title,Business Phone,Mobile Phone,E-mail Address,E-mail 2 Address,Notes,Categories,Business Country/Region\n",
        );
        let f = |c: &str| m.iter().find(|(h, _)| h == c).and_then(|(_, f)| f.clone());
        assert_eq!(f("Title").as_deref(), Some("honorific"));
        assert_eq!(f("Job Title").as_deref(), Some("title"));
        assert_eq!(f("E-mail Address").as_deref(), Some("email"));
        assert_eq!(f("Company").as_deref(), Some("org"));
        assert_eq!(f("Business Country/Region").as_deref(), Some("country"));
        assert_eq!(f("Department"), None);
        assert_eq!(f("Suffix"), None);
    }

    #[test]
    fn google_headers_are_recognised() {
        let m = map_of(
            Entity::Contact,
            "Name,Given Name,Additional Name,Family Name,Name Prefix,Organization 1 - Name,Organization 1 - Title,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Value,Group Membership\n",
        );
        let got: Vec<Option<&str>> = m.iter().map(|(_, f)| f.as_deref()).collect();
        assert_eq!(
            got,
            [
                Some("name"),
                Some("given_name"),
                Some("middle_name"),
                Some("family_name"),
                Some("honorific"),
                Some("org"),
                Some("title"),
                None,
                Some("email"),
                Some("phone"),
                Some("tags")
            ]
        );
    }

    #[test]
    fn overrides_by_header_or_letter_and_clear_errors() {
        let t = parse("Nom,Courriel,Service\nA,a@x.org,Protocol\n", None).unwrap();
        let m = detect(
            Entity::Contact,
            &t,
            &[("Nom".into(), "name".into()), ("b".into(), "email".into())],
        )
        .unwrap();
        assert_eq!(m[0].field.as_deref(), Some("name"));
        assert_eq!(m[1].field.as_deref(), Some("email"));
        assert_eq!(m[1].sample.as_deref(), Some("a@x.org"));
        let e = detect(Entity::Contact, &t, &[("Nope".into(), "name".into())]).unwrap_err();
        assert!(e.0.contains("no column \"Nope\""), "{e}");
        let e = detect(Entity::Contact, &t, &[("Nom".into(), "nickname".into())]).unwrap_err();
        assert!(e.0.contains("no field \"nickname\""), "{e}");
    }

    #[test]
    fn rows_join_names_split_lists_and_keep_extra_values_in_notes() {
        let t = parse(
            "First Name,Middle Name,Last Name,Business Phone,Mobile Phone,Categories,Notes,Gender\nThanh,,Bùi,+84 24 1,+84 9 2,\"* myContacts ::: SOM;Partners\",met in Hanoi,M\n",
            None,
        )
        .unwrap();
        let m = detect(Entity::Contact, &t, &[]).unwrap();
        let r = rows(Entity::Contact, &t, &m);
        let f = &r[0].fields;
        assert_eq!(f["name"], "Thanh Bùi");
        assert_eq!(f["phone"], "+84 24 1");
        assert_eq!(f["tags"], serde_json::json!(["SOM", "Partners"]));
        assert_eq!(f["notes"], "met in Hanoi\nMobile Phone: +84 9 2");
        assert_eq!(f["gender"], "male");
        assert_eq!(r[0].at, 2);
        assert_eq!(r[0].columns["phone"], "Business Phone (D)");
    }
}
