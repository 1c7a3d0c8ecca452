//! Contacts as vCards (see [`crate::vcard`] for the format): import with the matching and
//! merging of [`crate::records`], export of every live contact.
//!
//! A card's Latin FN is the contact's name, its native-script name (a second FN in 4.0,
//! `X-NATIVE-NAME` in 3.0) the native name; N gives the honorific, given and family names; ORG
//! the organisation (matched or created as for CSV), TITLE the position, the first e-mail and
//! telephone the contact's (the others are kept in the notes), ADR's country the country,
//! CATEGORIES the tags, LANG and GENDER (4.0) the languages and gender, NOTE the notes. vCard
//! 3.0 has no LANG or GENDER, so a 3.0 export leaves them out.

use crate::export::{guard_restricted, live, ExportError};
use crate::import::ImportError;
use crate::records::{self, Incoming, Options, Report};
use crate::vcard::{self, Card, Typed, Version};
use desk_core::{Entity, Fields, Progress, Replica};
use serde_json::Value;
use std::collections::HashMap;

fn text(s: &str) -> Option<Value> {
    let s = s.trim();
    (!s.is_empty()).then(|| Value::String(s.to_string()))
}

/// A card as contact fields, with the property each came from (for errors).
fn incoming(card: &Card) -> Incoming {
    let mut f = Fields::new();
    let mut columns = HashMap::new();
    let mut put = |f: &mut Fields, field: &str, v: Option<Value>, prop: &str| {
        if let Some(v) = v {
            f.insert(field.to_string(), v);
            columns.insert(field.to_string(), prop.to_string());
        }
    };
    put(&mut f, "name", text(&card.formatted_name), "FN");
    put(
        &mut f,
        "native_name",
        card.native_name.as_ref().and_then(|(n, _)| text(n)),
        "FN (native script)",
    );
    put(&mut f, "honorific", text(&card.prefix), "N (prefix)");
    put(&mut f, "given_name", text(&card.given), "N (given name)");
    put(&mut f, "family_name", text(&card.family), "N (family name)");
    put(
        &mut f,
        "title",
        card.title.as_deref().and_then(text),
        "TITLE",
    );
    put(&mut f, "org", card.org.as_deref().and_then(text), "ORG");
    put(
        &mut f,
        "country",
        card.country.as_deref().and_then(text),
        "ADR (country)",
    );
    put(
        &mut f,
        "email",
        card.emails.first().and_then(|e| text(&e.value)),
        "EMAIL",
    );
    put(
        &mut f,
        "phone",
        card.phones.first().and_then(|p| text(&p.value)),
        "TEL",
    );
    let list = |items: &[String]| {
        let v: Vec<Value> = items
            .iter()
            .filter(|i| !i.trim().is_empty())
            .map(|i| Value::String(i.trim().to_string()))
            .collect();
        (!v.is_empty()).then_some(Value::Array(v))
    };
    put(&mut f, "tags", list(&card.categories), "CATEGORIES");
    put(&mut f, "languages", list(&card.languages), "LANG");
    let gender = match card
        .gender
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("M") => Some("male"),
        Some("F") => Some("female"),
        _ => None,
    };
    put(&mut f, "gender", gender.map(Value::from), "GENDER");
    let mut notes: Vec<String> = card.note.iter().cloned().collect();
    notes.extend(
        card.emails
            .iter()
            .skip(1)
            .map(|e| format!("E-mail: {}", e.value)),
    );
    notes.extend(card.phones.iter().skip(1).map(|p| {
        let kind = p.types.iter().find(|t| *t != "pref" && *t != "voice");
        match kind {
            Some(k) => format!("Telephone ({k}): {}", p.value),
            None => format!("Telephone: {}", p.value),
        }
    }));
    put(&mut f, "notes", text(&notes.join("\n")), "NOTE");
    Incoming {
        at: card.line,
        fields: f,
        columns,
    }
}

/// What a vCard import read and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VcardReport {
    pub cards: usize,
    /// The first cards as the contact fields they become.
    pub preview: Vec<Fields>,
    pub report: Report,
}

/// Imports the contacts of a vCard file (one or many cards; 2.1, 3.0 or 4.0). Errors are said
/// of the line where the card begins.
pub fn import(
    r: &mut Replica,
    bytes: &[u8],
    opts: Options,
    progress: &mut dyn FnMut(Progress),
) -> Result<VcardReport, ImportError> {
    let text = crate::text::decode(bytes, None)?;
    let cards = vcard::parse(&text.text)?;
    let rows: Vec<Incoming> = cards.iter().map(incoming).collect();
    let preview = rows
        .iter()
        .take(crate::import::PREVIEW_ROWS)
        .map(|r| r.fields.clone())
        .collect();
    let report = records::import(r, Entity::Contact, &rows, opts, progress)?;
    Ok(VcardReport {
        cards: cards.len(),
        preview,
        report,
    })
}

/// Every live contact as a vCard file of `version`.
pub fn export(
    r: &Replica,
    version: Version,
    include_restricted: bool,
) -> Result<String, ExportError> {
    let contacts = live(r, Entity::Contact)?;
    guard_restricted(&contacts, "contacts", include_restricted)?;
    let mut orgs: HashMap<String, (String, Option<String>)> = HashMap::new();
    let mut cards = Vec::with_capacity(contacts.len());
    for c in &contacts {
        let s = |f: &str| c.str(f).unwrap_or_default().to_string();
        let list = |f: &str| -> Vec<String> {
            c.fields
                .get(f)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let org = match c.str("org") {
            Some(id) => {
                if !orgs.contains_key(id) {
                    let found = r
                        .get(Entity::Organisation, id)
                        .map(|o| (r.label(&o), o.str("acronym").map(str::to_string)))
                        .unwrap_or_default();
                    orgs.insert(id.to_string(), found);
                }
                orgs.get(id).cloned()
            }
            None => None,
        };
        let language = c
            .str("country")
            .and_then(native_language)
            .map(str::to_string);
        cards.push(Card {
            formatted_name: s("name"),
            native_name: c.str("native_name").map(|n| (n.to_string(), language)),
            family: s("family_name"),
            given: s("given_name"),
            prefix: s("honorific"),
            org: org
                .as_ref()
                .map(|(name, _)| name.clone())
                .filter(|n| !n.is_empty()),
            title: c.str("title").map(str::to_string),
            emails: c
                .str("email")
                .map(|e| {
                    vec![Typed {
                        value: e.to_string(),
                        types: vec!["work".into()],
                    }]
                })
                .unwrap_or_default(),
            phones: c
                .str("phone")
                .map(|p| {
                    vec![Typed {
                        value: p.to_string(),
                        types: vec!["work".into()],
                    }]
                })
                .unwrap_or_default(),
            languages: list("languages"),
            gender: match c.str("gender") {
                Some("male") => Some("M".into()),
                Some("female") => Some("F".into()),
                _ => None,
            },
            categories: list("tags"),
            note: c.str("notes").map(str::to_string),
            uid: Some(c.id.clone()),
            country: c
                .str("country")
                .and_then(desk_core::schema::country)
                .map(|k| k.name.to_string()),
            ..Card::default()
        });
    }
    Ok(vcard::write(&cards, version))
}

/// The language tag of a country's national script, for a native-script name's LANGUAGE.
fn native_language(country: &str) -> Option<&'static str> {
    Some(match country {
        "KH" => "km",
        "LA" => "lo",
        "MM" => "my",
        "TH" => "th",
        "VN" => "vi",
        _ => return None,
    })
}
