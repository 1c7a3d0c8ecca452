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
            record,
            refs,
        }
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
        row("updated", &self.record.updated_at);
        if self.record.deleted {
            row("deleted", "yes");
        }
        out
    }
}
