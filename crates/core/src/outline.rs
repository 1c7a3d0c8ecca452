//! A meeting's proceedings as the meeting page shows them while the meeting runs: the agenda in
//! its order with the numbers shown for it, under each item its talking points and the
//! decisions taken on it, under each decision the action items that follow from it (with who is
//! responsible and where each stands on a given day), then the decisions taken on no item and
//! the action items that follow from no decision. One read, so the page never assembles
//! records itself, and the order, numbers and due states are the ones the briefing pack
//! prints ([`crate::order`], [`crate::followup::due_state`]).

use crate::error::Result;
use crate::followup::{due_state, responsible, DueState};
use crate::replica::{Record, Replica};
use crate::schema::Entity;
use crate::ListQuery;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;

/// An action item as the proceedings show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutlineAction {
    pub id: String,
    pub title: String,
    /// Who is responsible as people read it: the owner, else the responsible country's name.
    pub responsible: String,
    pub due_date: Option<String>,
    pub status: String,
    /// Where it stands on the outline's day.
    pub due: DueState,
}

/// A decision, with the action items that follow from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutlineDecision {
    pub id: String,
    /// Its number as shown ([`Replica::display_numbers`]).
    pub number: Option<String>,
    pub text: String,
    pub actions: Vec<OutlineAction>,
}

/// A talking point (or background note) of an agenda item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutlinePoint {
    pub id: String,
    pub kind: String,
    pub text: String,
}

/// An agenda item with what was said and decided on it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutlineItem {
    pub id: String,
    /// Its number as shown: typed, else following the order.
    pub number: Option<String>,
    pub title: String,
    pub points: Vec<OutlinePoint>,
    pub decisions: Vec<OutlineDecision>,
    /// The meeting's documents filed under this item, each in its latest version.
    pub documents: Vec<OutlineDocument>,
}

/// A document filed under an agenda item, as the outline lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OutlineDocument {
    pub id: String,
    pub title: String,
    pub symbol: Option<String>,
    pub version: i64,
    pub status: String,
}

/// A meeting's proceedings ([`Replica::outline`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MeetingOutline {
    pub meeting: String,
    /// The live agenda items in agenda order.
    pub items: Vec<OutlineItem>,
    /// Decisions taken on no agenda item (or on one since deleted), in their order.
    pub other_decisions: Vec<OutlineDecision>,
    /// Action items that follow from no decision (or from one since deleted).
    pub other_actions: Vec<OutlineAction>,
    /// Talking points of no agenda item.
    pub other_points: Vec<OutlinePoint>,
}

fn text(rec: &Record, f: &str) -> String {
    rec.str(f).unwrap_or_default().to_string()
}

fn action_of(rec: &Record, as_of: NaiveDate) -> OutlineAction {
    OutlineAction {
        id: rec.id.clone(),
        title: text(rec, "title"),
        responsible: responsible(rec.str("owner"), rec.str("owner_country")),
        due_date: rec.str("due_date").map(str::to_string),
        status: text(rec, "status"),
        due: due_state(rec, as_of),
    }
}

fn point_of(rec: &Record) -> OutlinePoint {
    OutlinePoint {
        id: rec.id.clone(),
        kind: text(rec, "kind"),
        text: text(rec, "text"),
    }
}

impl Replica {
    /// The proceedings of a live meeting (see the module). Due states are for `as_of`.
    pub fn outline(&self, meeting: &str, as_of: NaiveDate) -> Result<MeetingOutline> {
        // The meeting must exist (and be live): a deleted one has no proceedings to show.
        let m = self.get(Entity::Meeting, meeting)?;
        if m.deleted {
            return Err(crate::Error::Deleted {
                entity: Entity::Meeting.name(),
                id: meeting.to_string(),
            });
        }
        let under = |e: Entity| {
            self.list(
                e,
                &ListQuery {
                    parent: Some(meeting.to_string()),
                    ..ListQuery::default()
                },
            )
        };
        let items = under(Entity::AgendaItem)?;
        let decisions = under(Entity::Decision)?;
        let actions = under(Entity::Action)?;
        let points = under(Entity::TalkingPoint)?;
        let item_numbers = self.display_numbers(Entity::AgendaItem, meeting)?;
        let decision_numbers = self.display_numbers(Entity::Decision, meeting)?;

        let mut by_decision: HashMap<&str, Vec<OutlineAction>> = HashMap::new();
        let mut other_actions = Vec::new();
        let decision_ids: std::collections::HashSet<&str> =
            decisions.iter().map(|d| d.id.as_str()).collect();
        for a in &actions {
            match a.str("decision").filter(|d| decision_ids.contains(d)) {
                Some(d) => by_decision.entry(d).or_default().push(action_of(a, as_of)),
                None => other_actions.push(action_of(a, as_of)),
            }
        }

        let item_ids: std::collections::HashSet<&str> =
            items.iter().map(|i| i.id.as_str()).collect();
        let mut decisions_by_item: HashMap<&str, Vec<OutlineDecision>> = HashMap::new();
        let mut other_decisions = Vec::new();
        for d in &decisions {
            let shown = OutlineDecision {
                id: d.id.clone(),
                number: decision_numbers.get(&d.id).cloned(),
                text: text(d, "text"),
                actions: by_decision.remove(d.id.as_str()).unwrap_or_default(),
            };
            match d.str("agenda_item").filter(|i| item_ids.contains(i)) {
                Some(i) => decisions_by_item.entry(i).or_default().push(shown),
                None => other_decisions.push(shown),
            }
        }

        let mut points_by_item: HashMap<&str, Vec<OutlinePoint>> = HashMap::new();
        let mut other_points = Vec::new();
        for p in &points {
            match p.str("agenda_item").filter(|i| item_ids.contains(i)) {
                Some(i) => points_by_item.entry(i).or_default().push(point_of(p)),
                None => other_points.push(point_of(p)),
            }
        }

        let mut documents_by_item: HashMap<String, Vec<OutlineDocument>> = HashMap::new();
        for d in self.meeting_documents(meeting)? {
            let Some(item) = d.str("agenda_item").filter(|i| item_ids.contains(i)) else {
                continue;
            };
            documents_by_item
                .entry(item.to_string())
                .or_default()
                .push(OutlineDocument {
                    id: d.id.clone(),
                    title: text(&d, "title"),
                    symbol: d.str("symbol").map(str::to_string),
                    version: d
                        .fields
                        .get("version")
                        .and_then(|v| v.as_i64())
                        .unwrap_or(1),
                    status: text(&d, "status"),
                });
        }
        let items = items
            .iter()
            .map(|i| OutlineItem {
                id: i.id.clone(),
                number: item_numbers.get(&i.id).cloned(),
                title: text(i, "title"),
                points: points_by_item.remove(i.id.as_str()).unwrap_or_default(),
                decisions: decisions_by_item.remove(i.id.as_str()).unwrap_or_default(),
                documents: documents_by_item.remove(&i.id).unwrap_or_default(),
            })
            .collect();
        Ok(MeetingOutline {
            meeting: meeting.to_string(),
            items,
            other_decisions,
            other_actions,
            other_points,
        })
    }
}
