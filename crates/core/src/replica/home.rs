//! The home view: what needs an official's attention on a given day — the next meetings,
//! action items overdue or due within a week, and projects reported red or amber, not
//! reported on for a reporting period, or never reported on. Live records only.

use super::page::{FieldFilter, FilterKind, PageQuery};
use super::sql::{row_to_record, select_cols};
use super::Replica;
use crate::error::Result;
use crate::followup::{due_state, DueState, CLOSED_STATUSES, DUE_SOON_DAYS};
use crate::schema::Entity;
use crate::search::HitParent;
use crate::view::RecordView;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;

/// Meetings shown as upcoming.
pub const UPCOMING_MAX: u32 = 12;
/// Action items shown at most.
pub const ACTIONS_MAX: usize = 200;
/// A project whose latest update ended longer ago than this is stale. The schema has no
/// reporting-period field, so this is one quarter (92 days).
pub const REPORTING_PERIOD_DAYS: i64 = 92;
/// The project statuses that are expected to report: approved, ongoing, suspended.
pub const REPORTING_STATUSES: &[&str] = &["approved", "ongoing", "suspended"];

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Home {
    /// The day it was made for, YYYY-MM-DD.
    pub as_of: String,
    /// Meetings starting on or after the day, soonest first, at most 12.
    pub upcoming: Vec<RecordView>,
    /// Action items not done that are overdue or due within 7 days, at most 200, by
    /// responsible country (none last), then due date.
    pub actions: Vec<ActionDue>,
    /// Projects expected to report (approved, ongoing, suspended) whose latest update is red
    /// or amber, is older than a reporting period, or that have none: red, amber, stale, no
    /// update, each by project code.
    pub projects: Vec<ProjectAttention>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ActionDue {
    pub action: RecordView,
    /// The meeting where it was agreed.
    pub meeting: Option<HitParent>,
    /// ISO code of the responsible country.
    pub owner_country: Option<String>,
    /// Overdue or due soon.
    pub due: DueState,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ProjectAttention {
    pub project: RecordView,
    /// The latest update's RAG status.
    pub rag: Option<String>,
    /// The end of the latest update's reporting period, YYYY-MM-DD.
    pub last_update: Option<String>,
    pub reason: AttentionReason,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AttentionReason {
    /// The latest update is red.
    Red,
    /// The latest update is amber.
    Amber,
    /// The latest update is older than a reporting period (92 days).
    Stale,
    /// No update at all.
    NoUpdate,
}

impl AttentionReason {
    /// Why a project with this latest update (period end, RAG) needs attention on `as_of`;
    /// none when it does not.
    pub fn of(latest: Option<(&str, &str)>, as_of: NaiveDate) -> Option<AttentionReason> {
        let Some((period_end, rag)) = latest else {
            return Some(AttentionReason::NoUpdate);
        };
        match rag {
            "red" => return Some(AttentionReason::Red),
            "amber" => return Some(AttentionReason::Amber),
            _ => {}
        }
        let ended = crate::followup::parse_date(period_end)?;
        ((as_of - ended).num_days() > REPORTING_PERIOD_DAYS).then_some(AttentionReason::Stale)
    }
}

impl Replica {
    /// The home view on `as_of`; see [`Home`].
    pub fn home(&self, as_of: NaiveDate) -> Result<Home> {
        let day = as_of.format("%Y-%m-%d").to_string();
        let upcoming = self
            .page(
                Entity::Meeting,
                &PageQuery {
                    filters: vec![FieldFilter {
                        field: "start_date".into(),
                        op: FilterKind::From,
                        value: day.clone(),
                    }],
                    sort: Some("start_date".into()),
                    limit: Some(UPCOMING_MAX),
                    ..Default::default()
                },
            )?
            .rows;
        Ok(Home {
            actions: self.actions_due(as_of)?,
            projects: self.projects_needing_attention(as_of)?,
            upcoming,
            as_of: day,
        })
    }

    fn actions_due(&self, as_of: NaiveDate) -> Result<Vec<ActionDue>> {
        let d = Entity::Action.desc();
        let until = (as_of + chrono::Duration::days(DUE_SOON_DAYS))
            .format("%Y-%m-%d")
            .to_string();
        let closed = CLOSED_STATUSES
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "{} FROM {} t WHERE t._deleted = 0 AND t.due_date IS NOT NULL AND t.due_date <= ?1 \
             AND (t.status IS NULL OR t.status NOT IN ({closed})) \
             AND EXISTS (SELECT 1 FROM meeting m WHERE m.id = t.meeting AND m._deleted = 0) \
             ORDER BY t.owner_country IS NULL, t.owner_country, t.due_date, t.id LIMIT {ACTIONS_MAX}",
            select_cols(d),
            d.table
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let records = stmt
            .query_map([&until], |r| row_to_record(d, r))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut meetings: HashMap<String, Option<HitParent>> = HashMap::new();
        let mut out = Vec::with_capacity(records.len());
        for rec in records {
            let due = due_state(&rec, as_of);
            if !matches!(due, DueState::Overdue | DueState::DueSoon) {
                continue;
            }
            let meeting = match rec.str("meeting") {
                Some(mid) => {
                    if !meetings.contains_key(mid) {
                        let p = self.meeting_parent(mid)?;
                        meetings.insert(mid.to_string(), p);
                    }
                    meetings.get(mid).cloned().flatten()
                }
                None => None,
            };
            let owner_country = rec.str("owner_country").map(str::to_string);
            let mut action = self.view(rec, false);
            action.due = Some(due);
            out.push(ActionDue {
                action,
                meeting,
                owner_country,
                due,
            });
        }
        Ok(out)
    }

    /// A meeting as the parent of a hit or row: its short title, else its title.
    pub(crate) fn meeting_parent(&self, id: &str) -> Result<Option<HitParent>> {
        crate::search::meeting_parent(&self.conn, id)
    }

    fn projects_needing_attention(&self, as_of: NaiveDate) -> Result<Vec<ProjectAttention>> {
        let d = Entity::Project.desc();
        let statuses = REPORTING_STATUSES
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        // The latest live update of each project (SQLite takes the bare `rag` from the row
        // with the max).
        let sql = format!(
            "{}, u.pe, u.rag FROM {} t LEFT JOIN \
             (SELECT project, max(period_end) AS pe, rag FROM project_update \
              WHERE _deleted = 0 GROUP BY project) u ON u.project = t.id \
             WHERE t._deleted = 0 AND t.status IN ({statuses})",
            select_cols(d),
            d.table
        );
        let n = d.fields.len();
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    row_to_record(d, r)?,
                    r.get::<_, Option<String>>(6 + n)?,
                    r.get::<_, Option<String>>(7 + n)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        for (rec, last_update, rag) in rows {
            let latest = last_update
                .as_deref()
                .map(|p| (p, rag.as_deref().unwrap_or_default()));
            let Some(reason) = AttentionReason::of(latest, as_of) else {
                continue;
            };
            out.push(ProjectAttention {
                project: self.view(rec, false),
                rag,
                last_update,
                reason,
            });
        }
        out.sort_by(|a, b| {
            let code = |p: &ProjectAttention| p.project.record.str("code").map(str::to_lowercase);
            (a.reason, code(a)).cmp(&(b.reason, code(b)))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        let on = NaiveDate::from_ymd_opt(2026, 6, 30).expect("date");
        assert_eq!(
            AttentionReason::of(None, on),
            Some(AttentionReason::NoUpdate)
        );
        assert_eq!(
            AttentionReason::of(Some(("2026-06-01", "red")), on),
            Some(AttentionReason::Red)
        );
        assert_eq!(
            AttentionReason::of(Some(("2020-01-01", "amber")), on),
            Some(AttentionReason::Amber)
        );
        // 92 days is still current; 93 is stale.
        assert_eq!(AttentionReason::of(Some(("2026-03-30", "green")), on), None);
        assert_eq!(
            AttentionReason::of(Some(("2026-03-29", "green")), on),
            Some(AttentionReason::Stale)
        );
    }
}
