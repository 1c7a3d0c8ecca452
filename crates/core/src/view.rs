//! A record as people read it: its label (a participant's contact name, say, not an id) and,
//! for each reference field, the label of the record it points to. The desktop app returns it
//! as JSON; the `desk` CLI prints its [`RecordView::lines`]. Both get the labels from here, so
//! they name things the same way.

use crate::replica::{display_value, Record, Replica};
use crate::schema::{Entity, FieldKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// A record with its label and, when asked for, the labels of the records it references.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordView {
    #[serde(flatten)]
    pub record: Record,
    pub label: String,
    /// The line shown under the label in lists: what tells records with like titles apart
    /// (a contact's position, organisation and country; a participant's delegation and role;
    /// a meeting's dates and place), references named by their labels. See
    /// [`Replica::subtitle`].
    pub subtitle: String,
    /// For action items listed with a date ([`crate::PageQuery::as_of`]): overdue, due soon,
    /// open or done, decided by [`crate::followup::due_state`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<crate::followup::DueState>,
    /// For agenda items and decisions: the number shown, typed or following the order
    /// ([`Replica::display_numbers`]); none for other records and deleted ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_number: Option<String>,
    /// Reference field → the label of the record it names (only those that resolve).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub refs: BTreeMap<&'static str, String>,
}

/// Width of the name column in [`RecordView::lines`].
const NAME_WIDTH: usize = 18;

impl Replica {
    /// `record` with its label; with `with_refs`, also the label of each record its reference
    /// fields name (a reference that does not resolve here is left out).
    pub fn view(&self, record: Record, with_refs: bool) -> RecordView {
        let number = self.display_number(&record).ok().flatten();
        self.view_numbered(record, with_refs, number)
    }

    /// [`Replica::view`] with the record's shown number already known (lists work out the
    /// numbers of a meeting's items once).
    pub(crate) fn view_numbered(
        &self,
        record: Record,
        with_refs: bool,
        display_number: Option<String>,
    ) -> RecordView {
        let mut refs = BTreeMap::new();
        if with_refs {
            if let Some(d) = Entity::parse(record.entity).map(Entity::desc) {
                for f in d.fields {
                    if let (FieldKind::Ref(target), Some(id)) = (f.kind, record.str(f.name)) {
                        if let Ok(t) = self.get(target, id) {
                            refs.insert(f.name, self.label(&t));
                        }
                    }
                }
            }
        }
        RecordView {
            label: self.label(&record),
            subtitle: self.subtitle_numbered(&record, display_number.as_deref()),
            due: None,
            display_number,
            record,
            refs,
        }
    }

    /// The line under a record's label in lists and search: for each entity, what an official
    /// needs to tell two records with like titles apart, references named by their labels,
    /// parts joined with " · " (empty parts left out):
    /// - organisation: acronym · kind · country;
    /// - contact: position · organisation (acronym, else name) · country;
    /// - project: code · status · lead country;
    /// - milestone: due date · status; indicator: unit; update: RAG status;
    /// - meeting: dates · city · host country;
    /// - agenda item: number (as shown: typed, or following the order) · lead country;
    /// - participant: delegation (country, else organisation) · role · attendance;
    /// - decision: number (as shown); talking point: kind; indicator value: value · note;
    /// - action item: due date · responsible (owner, else country) · status;
    /// - document: symbol · kind · status.
    pub fn subtitle(&self, rec: &Record) -> String {
        let number = self.display_number(rec).ok().flatten();
        self.subtitle_numbered(rec, number.as_deref())
    }

    fn subtitle_numbered(&self, rec: &Record, number: Option<&str>) -> String {
        let Some(e) = Entity::parse(rec.entity) else {
            return String::new();
        };
        let text = |f: &str| rec.fields.get(f).map(display_value).unwrap_or_default();
        let word = |f: &str| text(f).replace('_', " ");
        let country = |f: &str| {
            rec.str(f)
                .map(|c| crate::schema::country(c).map_or(c.to_string(), |x| x.name.to_string()))
                .unwrap_or_default()
        };
        let label_of = |target: Entity, f: &str| {
            rec.str(f)
                .and_then(|id| self.get(target, id).ok())
                .map(|t| self.label(&t))
                .unwrap_or_default()
        };
        let org = |f: &str| {
            rec.str(f)
                .and_then(|id| self.get(Entity::Organisation, id).ok())
                .map(|o| {
                    o.str("acronym")
                        .map(str::to_string)
                        .unwrap_or_else(|| self.label(&o))
                })
                .unwrap_or_default()
        };
        let shown = || number.map(str::to_string).unwrap_or_else(|| text("number"));
        let parts: Vec<String> = match e {
            Entity::Organisation => vec![text("acronym"), word("kind"), country("country")],
            Entity::Contact => vec![text("title"), org("org"), country("country")],
            Entity::Project => vec![text("code"), word("status"), country("lead_country")],
            Entity::Milestone => vec![text("due_date"), word("status")],
            Entity::Indicator => vec![text("unit")],
            Entity::IndicatorValue => vec![text("value"), text("note")],
            Entity::Update => vec![text("rag").to_uppercase()],
            Entity::Meeting => {
                let start = text("start_date");
                let end = text("end_date");
                let dates = if end.is_empty() || end == start {
                    start
                } else {
                    format!("{start} to {end}")
                };
                vec![dates, text("city"), country("host_country")]
            }
            Entity::AgendaItem => vec![shown(), country("lead_country")],
            Entity::Participant => {
                let delegation = match country("delegation") {
                    c if c.is_empty() => label_of(Entity::Organisation, "delegation_org"),
                    c => c,
                };
                vec![delegation, word("role"), word("attendance")]
            }
            Entity::Decision => vec![shown()],
            Entity::Action => {
                let owner = match text("owner") {
                    o if o.is_empty() => country("owner_country"),
                    o => o,
                };
                vec![text("due_date"), owner, word("status")]
            }
            Entity::TalkingPoint => vec![word("kind")],
            Entity::Document => vec![text("symbol"), word("kind"), word("status")],
        };
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
    }
}

impl RecordView {
    /// The record as aligned text, one line per item: its id, each field that has a value in
    /// schema order (named with spaces; a reference followed by its label in parentheses;
    /// multi-line text indented under the first line), when it was last updated, and whether
    /// it is deleted.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut row = |name: &str, text: &str| {
            let mut parts = text.split('\n');
            out.push(format!(
                "{name:<NAME_WIDTH$} {}",
                parts.next().unwrap_or_default()
            ));
            for more in parts {
                out.push(format!("{:NAME_WIDTH$} {more}", ""));
            }
        };
        row("id", &self.record.id);
        if let Some(d) = Entity::parse(self.record.entity).map(Entity::desc) {
            for f in d.fields {
                if let Some(v) = self.record.fields.get(f.name) {
                    let mut text = display_value(v);
                    if let Some(label) = self.refs.get(f.name) {
                        text = format!("{text} ({label})");
                    }
                    row(&f.name.replace('_', " "), &text);
                }
            }
        }
        if let Some(n) = &self.display_number {
            if self.record.str("number") != Some(n.as_str()) {
                row("shown number", n);
            }
        }
        row("updated", &self.record.updated_at);
        if self.record.deleted {
            row("deleted", "yes");
        }
        out
    }
}

/// What a list shows of a record, without its fields: a list of 100,000 contacts holds these,
/// not the records (a tenth of the memory in the app's web view).
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub entity: &'static str,
    pub id: String,
    pub label: String,
    /// As [`RecordView::subtitle`].
    pub subtitle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<crate::followup::DueState>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl From<RecordView> for Row {
    fn from(v: RecordView) -> Row {
        Row {
            entity: v.record.entity,
            id: v.record.id,
            label: v.label,
            subtitle: v.subtitle,
            due: v.due,
            deleted: v.record.deleted,
        }
    }
}

/// A [`crate::Page`] as a list shows it: [`Row`]s, the cursor and the total.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Serialize)]
pub struct RowPage {
    pub rows: Vec<Row>,
    pub next: Option<String>,
    pub total: u64,
}

impl From<crate::Page> for RowPage {
    fn from(p: crate::Page) -> RowPage {
        RowPage {
            rows: p.rows.into_iter().map(Row::from).collect(),
            next: p.next,
            total: p.total,
        }
    }
}

#[cfg(test)]
mod row_tests {
    use crate::{Entity, PageQuery, Replica, RowPage};
    use serde_json::json;

    #[test]
    fn a_row_is_the_view_without_the_fields() {
        let dir = tempfile::tempdir().expect("dir");
        let mut r =
            Replica::init(&dir.path().join("r.db"), &crate::Key::Raw([7u8; 32])).expect("replica");
        let fields = json!({"name": "Mekong Institute", "acronym": "MI", "country": "TH"});
        let id = r
            .create(Entity::Organisation, fields.as_object().expect("fields"))
            .expect("org")
            .id;
        let page: RowPage = r
            .page(Entity::Organisation, &PageQuery::default())
            .expect("page")
            .into();
        let row = serde_json::to_value(&page.rows[0]).expect("json");
        assert_eq!(row["id"], json!(id));
        assert_eq!(row["entity"], "organisation");
        assert_eq!(row["label"], "Mekong Institute");
        assert!(
            row.get("acronym").is_none() && row.get("deleted").is_none(),
            "{row}"
        );
        assert_eq!(page.total, 1);
    }
}
