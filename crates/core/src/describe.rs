//! The descriptors as the UI receives them: every entity with its label, parent, fields (each
//! with a label, a kind the UI can build an input from, whether it is required, its default
//! and help), and which fields a list may sort or filter on ([`Replica::page`] checks against
//! the same lists). One source: [`describe`] is derived from [`crate::schema`].
//!
//! [`Replica::page`]: crate::Replica::page

use crate::schema::{Country, Entity, EntityDesc, Field, FieldKind, COUNTRIES};
use serde::Serialize;

/// One entity as the UI describes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct EntitySchema {
    /// The name used in the change log, JSON and errors ("agenda_item").
    pub name: &'static str,
    /// "Agenda item".
    pub label: String,
    /// "Agenda items".
    pub plural: String,
    pub parent: Option<ParentSchema>,
    /// The field shown as a record's title.
    pub title: &'static str,
    pub fields: Vec<FieldSchema>,
    /// Whether records carry their own classification and scope (children inherit).
    pub classified: bool,
    /// Whether [`crate::Replica::search`] finds records of this entity.
    pub searchable: bool,
    /// Fields a list may sort on.
    pub sorts: Vec<&'static str>,
    /// Fields a list may filter on: enums, countries, references, dates, lists.
    pub filters: Vec<&'static str>,
    /// The order of a list that names no sort (the entity's usual list order).
    pub default_sort: &'static str,
    pub default_descending: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ParentSchema {
    /// The field holding the parent's id ("meeting").
    pub field: &'static str,
    /// The parent's entity name ("meeting").
    pub entity: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct FieldSchema {
    pub name: &'static str,
    /// "Native name".
    pub label: String,
    pub kind: KindSchema,
    pub required: bool,
    pub default: Option<&'static str>,
    pub help: &'static str,
    /// Set by the core's own operations, not typed: an agenda item's or decision's `rank` (a
    /// move sets it). Forms and record pages leave it out.
    pub managed: bool,
    /// A set of fields shown together: "brief" for an agenda item's brief (objectives, points
    /// to make, their objectives, our response, press line, background), edited beside the
    /// agenda.
    pub group: Option<&'static str>,
}

/// A field's kind, tagged: `{"type": "text", "max": 300}`, `{"type": "enum", "options": [...]}`,
/// `{"type": "ref", "entity": "contact"}`, `{"type": "long_text"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KindSchema {
    Text { max: usize },
    LongText,
    Email,
    Country,
    CountryList,
    Date,
    TimeZone,
    Time,
    Currency,
    Int { min: i64, max: i64 },
    Real { min: f64 },
    Enum { options: Vec<&'static str> },
    Ref { entity: &'static str },
    RefList { entity: &'static str },
    List,
    Sha256,
}

impl From<FieldKind> for KindSchema {
    fn from(k: FieldKind) -> KindSchema {
        match k {
            FieldKind::Text(max) => KindSchema::Text { max },
            FieldKind::LongText => KindSchema::LongText,
            FieldKind::Email => KindSchema::Email,
            FieldKind::Country => KindSchema::Country,
            FieldKind::CountryList => KindSchema::CountryList,
            FieldKind::Date => KindSchema::Date,
            FieldKind::TimeZone => KindSchema::TimeZone,
            FieldKind::Time => KindSchema::Time,
            FieldKind::Currency => KindSchema::Currency,
            FieldKind::Int { min, max } => KindSchema::Int { min, max },
            FieldKind::Real { min } => KindSchema::Real { min },
            FieldKind::Enum(options) => KindSchema::Enum {
                options: options.to_vec(),
            },
            FieldKind::Ref(e) => KindSchema::Ref { entity: e.name() },
            FieldKind::RefList(e) => KindSchema::RefList { entity: e.name() },
            FieldKind::List => KindSchema::List,
            FieldKind::Sha256 => KindSchema::Sha256,
        }
    }
}

/// Every entity, in [`Entity::ALL`] order.
pub fn describe() -> Vec<EntitySchema> {
    Entity::ALL.into_iter().map(entity_schema).collect()
}

/// The countries this replica knows (members first), for pickers.
pub fn countries() -> Vec<Country> {
    COUNTRIES.to_vec()
}

fn entity_schema(e: Entity) -> EntitySchema {
    let d = e.desc();
    let label = entity_label(e).to_string();
    let (default_sort, default_descending) = default_sort(d);
    EntitySchema {
        name: d.name,
        plural: format!("{label}s"),
        label,
        parent: d.parent.map(|(field, p)| ParentSchema {
            field,
            entity: p.name(),
        }),
        title: d.title,
        fields: d
            .fields
            .iter()
            .map(|f| FieldSchema {
                name: f.name,
                label: field_label(f.name),
                kind: f.kind.into(),
                required: f.required,
                default: f.default,
                help: f.help,
                managed: f.name == crate::order::RANK_FIELD,
                group: (e == Entity::AgendaItem && crate::schema::BRIEF_FIELDS.contains(&f.name))
                    .then_some("brief"),
            })
            .collect(),
        classified: d.classified,
        searchable: !d.search.is_empty(),
        sorts: d
            .fields
            .iter()
            .filter(|f| sortable(f) && f.name != crate::order::RANK_FIELD)
            .map(|f| f.name)
            .collect(),
        filters: d
            .fields
            .iter()
            .filter(|f| filterable(f))
            .map(|f| f.name)
            .collect(),
        default_sort,
        default_descending,
    }
}

/// Whether a list may be ordered by this field: one-valued fields people compare (not long
/// text, lists, references — ids order nothing — or hashes).
pub(crate) fn sortable(f: &Field) -> bool {
    matches!(
        f.kind,
        FieldKind::Text(_)
            | FieldKind::Email
            | FieldKind::Country
            | FieldKind::Date
            | FieldKind::TimeZone
            | FieldKind::Time
            | FieldKind::Currency
            | FieldKind::Int { .. }
            | FieldKind::Real { .. }
            | FieldKind::Enum(_)
    )
}

/// Whether a list may be filtered by this field: enums, countries, references, dates, lists.
pub(crate) fn filterable(f: &Field) -> bool {
    matches!(
        f.kind,
        FieldKind::Enum(_)
            | FieldKind::Country
            | FieldKind::CountryList
            | FieldKind::Ref(_)
            | FieldKind::RefList(_)
            | FieldKind::Date
            | FieldKind::List
    )
}

/// The first key of the entity's list order (`order_by`), and whether it is descending.
pub(crate) fn default_sort(d: &EntityDesc) -> (&'static str, bool) {
    let first = d.order_by.split(',').next().unwrap_or(d.title).trim();
    // A key through an order function (`desk_natural(number)`) names its first argument.
    let first = first.split_once('(').map_or(first, |(_, arg)| arg);
    let mut words = first.split_whitespace();
    let field = words.next().unwrap_or(d.title).trim_end_matches(')');
    let descending = words.any(|w| w.eq_ignore_ascii_case("DESC"));
    match d.field(field) {
        Some(f) if sortable(f) => (f.name, descending),
        _ => (d.title, false),
    }
}

fn entity_label(e: Entity) -> &'static str {
    match e {
        Entity::Organisation => "Organisation",
        Entity::Contact => "Contact",
        Entity::Project => "Project",
        Entity::Milestone => "Milestone",
        Entity::Indicator => "Indicator",
        Entity::IndicatorValue => "Indicator value",
        Entity::Update => "Progress update",
        Entity::Meeting => "Meeting",
        Entity::AgendaItem => "Agenda item",
        Entity::Participant => "Participant",
        Entity::Decision => "Decision",
        Entity::Action => "Action item",
        Entity::TalkingPoint => "Talking point",
        Entity::Document => "Document",
    }
}

/// "native_name" → "Native name"; a few names are spelt out.
fn field_label(name: &str) -> String {
    let special = match name {
        "org" => Some("Organisation"),
        "rag" => Some("RAG status"),
        "sha256" => Some("SHA-256"),
        "delegation_org" => Some("Delegation organisation"),
        "as_of" => Some("As of"),
        _ => None,
    };
    if let Some(s) = special {
        return s.to_string();
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_and_field_is_described_in_order() {
        let all = describe();
        assert_eq!(all.len(), Entity::ALL.len());
        for (s, e) in all.iter().zip(Entity::ALL) {
            let d = e.desc();
            assert_eq!(s.name, d.name);
            assert_eq!(s.title, d.title);
            let names: Vec<_> = s.fields.iter().map(|f| f.name).collect();
            let want: Vec<_> = d.fields.iter().map(|f| f.name).collect();
            assert_eq!(names, want, "{}", d.name);
            for (fs, f) in s.fields.iter().zip(d.fields) {
                assert_eq!(fs.required, f.required);
                assert_eq!(fs.default, f.default);
                assert!(
                    !fs.label.is_empty() && !fs.label.contains('_'),
                    "{}",
                    fs.label
                );
            }
            for x in s.sorts.iter().chain(&s.filters) {
                assert!(d.field(x).is_some(), "{}.{x}", d.name);
            }
            // Only a move sets a rank: no form shows it and no list sorts by it.
            for f in &s.fields {
                assert_eq!(f.managed, f.name == "rank", "{}.{}", d.name, f.name);
            }
            assert!(!s.sorts.contains(&"rank"), "{}", d.name);
            assert!(s.sorts.contains(&s.default_sort), "{}", d.name);
            assert_eq!(s.searchable, !d.search.is_empty());
        }
        assert_eq!(all[7].label, "Agenda item");
        assert_eq!(all[7].plural, "Agenda items");
        assert_eq!(
            all[7].parent,
            Some(ParentSchema {
                field: "meeting",
                entity: "meeting"
            })
        );
        let contact = &all[1];
        assert_eq!(contact.fields[1].label, "Native name");
        assert!(contact.filters.contains(&"org") && contact.filters.contains(&"country"));
        assert!(!contact.sorts.contains(&"notes"));
        assert_eq!(all[6].default_sort, "start_date");
        assert!(all[6].default_descending);
    }

    #[test]
    fn kinds_map_one_to_one() {
        let cases = [
            (FieldKind::Text(40), r#"{"type":"text","max":40}"#),
            (FieldKind::LongText, r#"{"type":"long_text"}"#),
            (FieldKind::Email, r#"{"type":"email"}"#),
            (FieldKind::Country, r#"{"type":"country"}"#),
            (FieldKind::CountryList, r#"{"type":"country_list"}"#),
            (FieldKind::Date, r#"{"type":"date"}"#),
            (FieldKind::TimeZone, r#"{"type":"time_zone"}"#),
            (FieldKind::Time, r#"{"type":"time"}"#),
            (FieldKind::Currency, r#"{"type":"currency"}"#),
            (
                FieldKind::Int { min: 0, max: 9 },
                r#"{"type":"int","min":0,"max":9}"#,
            ),
            (FieldKind::Real { min: 0.5 }, r#"{"type":"real","min":0.5}"#),
            (
                FieldKind::Enum(&["a", "b"]),
                r#"{"type":"enum","options":["a","b"]}"#,
            ),
            (
                FieldKind::Ref(Entity::AgendaItem),
                r#"{"type":"ref","entity":"agenda_item"}"#,
            ),
            (
                FieldKind::RefList(Entity::Project),
                r#"{"type":"ref_list","entity":"project"}"#,
            ),
            (FieldKind::List, r#"{"type":"list"}"#),
            (FieldKind::Sha256, r#"{"type":"sha256"}"#),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (kind, json) in cases {
            let k = KindSchema::from(kind);
            assert_eq!(serde_json::to_string(&k).expect("json"), json);
            assert!(seen.insert(json), "two kinds map to {json}");
        }
        // Every kind used by a descriptor is one of the cases above (the match in `from` is
        // exhaustive, so a new FieldKind fails to compile until it is mapped here).
        for e in Entity::ALL {
            for f in e.desc().fields {
                let json = serde_json::to_string(&KindSchema::from(f.kind)).expect("json");
                let tag = json.split('"').nth(3).unwrap_or_default().to_string();
                assert!(
                    seen.iter().any(|s| s.contains(&format!("\"{tag}\""))),
                    "{}.{}: {json}",
                    e.name(),
                    f.name
                );
            }
        }
    }

    #[test]
    fn countries_are_all_listed_with_members_first() {
        let cs = countries();
        assert_eq!(cs.len(), COUNTRIES.len());
        assert!(cs.iter().take(5).all(|c| c.member));
        let v = serde_json::to_value(cs[0]).expect("json");
        assert_eq!(v["code"], "KH");
        assert!(v.get("aliases").is_none());
    }
}
