//! Follow-up of action items: whether one is overdue, due soon, open or done, decided here once
//! against an explicit date, so the briefing pack, the CLI and the app never disagree.

use crate::replica::Record;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// How many days ahead an action counts as due soon.
pub const DUE_SOON_DAYS: i64 = 7;

/// The statuses that close an action (see `schema::ACTION_STATUSES`): completed, or overtaken
/// by events. Nothing is due of a closed action.
pub const CLOSED_STATUSES: &[&str] = &["completed", "overtaken"];

/// Where an action item stands on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum DueState {
    /// Not closed and its due date is before the date.
    Overdue,
    /// Not closed and due on the date or within [`DUE_SOON_DAYS`] days after it.
    DueSoon,
    /// Not closed, and due later or with no due date.
    Open,
    /// Completed or overtaken.
    Done,
}

/// Where `action` stands on `as_of`. A due date that is not a valid date counts as none.
pub fn due_state(action: &Record, as_of: NaiveDate) -> DueState {
    state_of(action.str("status"), action.str("due_date"), as_of)
}

/// [`due_state`] from the two fields it reads.
pub fn state_of(status: Option<&str>, due_date: Option<&str>, as_of: NaiveDate) -> DueState {
    if status.is_some_and(|s| CLOSED_STATUSES.contains(&s)) {
        return DueState::Done;
    }
    let Some(due) = due_date.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) else {
        return DueState::Open;
    };
    if due < as_of {
        DueState::Overdue
    } else if (due - as_of).num_days() <= DUE_SOON_DAYS {
        DueState::DueSoon
    } else {
        DueState::Open
    }
}

/// Parses a YYYY-MM-DD date.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::ACTION_STATUSES;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("date")
    }

    #[test]
    fn states_around_the_date() {
        let on = d("2026-03-10");
        let st = |status, due| state_of(status, due, on);
        assert_eq!(st(Some("ongoing"), Some("2026-03-09")), DueState::Overdue);
        assert_eq!(st(None, Some("2025-12-31")), DueState::Overdue);
        assert_eq!(st(Some("ongoing"), Some("2026-03-10")), DueState::DueSoon);
        assert_eq!(
            st(Some("not_started"), Some("2026-03-17")),
            DueState::DueSoon
        );
        assert_eq!(st(Some("ongoing"), Some("2026-03-18")), DueState::Open);
        assert_eq!(st(Some("ongoing"), None), DueState::Open);
        assert_eq!(st(Some("ongoing"), Some("soon")), DueState::Open);
        assert_eq!(st(Some("completed"), Some("2020-01-01")), DueState::Done);
        assert_eq!(st(Some("overtaken"), Some("2020-01-01")), DueState::Done);
    }

    #[test]
    fn closed_statuses_are_action_statuses() {
        for s in CLOSED_STATUSES {
            assert!(ACTION_STATUSES.contains(s), "{s}");
        }
    }

    #[test]
    fn serialises_in_snake_case() {
        assert_eq!(
            serde_json::to_string(&DueState::DueSoon).expect("json"),
            "\"due_soon\""
        );
    }
}
