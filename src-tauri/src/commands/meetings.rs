//! The meeting-day and monitoring workflows: a meeting's proceedings (agenda, decisions, action
//! items, talking points) in one view, moving agenda items and decisions, the follow-up tracker
//! of a framework's action items, and a project's indicator series. Order, numbers, due states
//! and who is responsible all come from the core.

use super::{entity, today, with};
use crate::error::CommandError;
use crate::state::AppState;
use desk_core::followup::MeetingRef;
use desk_core::{
    Entity, Fields, FollowupQuery, FollowupRow, Framework, IndicatorSeries, MeetingOutline,
    MilestonePoint, PortfolioRow, Record,
};
use serde::Serialize;
use tauri::State;

/// A meeting's proceedings, due states as of today on this computer.
#[tauri::command]
#[specta::specta]
pub fn outline(
    state: State<'_, AppState>,
    meeting_id: String,
) -> Result<MeetingOutline, CommandError> {
    with(&state, |r| r.outline(&meeting_id, today()))
}

/// A part of a meeting captured on its page, and the meeting's proceedings with it.
#[derive(Debug, Serialize, specta::Type)]
pub struct Captured {
    pub record: Record,
    pub outline: MeetingOutline,
}

/// Creates an agenda item, decision, action item or talking point and answers the meeting's
/// proceedings with it: one round trip for each thing captured during a meeting.
#[tauri::command]
#[specta::specta]
pub fn capture(
    state: State<'_, AppState>,
    entity_name: String,
    fields: Fields,
) -> Result<Captured, CommandError> {
    let e = entity(&entity_name)?;
    if !matches!(
        e,
        Entity::AgendaItem | Entity::Decision | Entity::Action | Entity::TalkingPoint
    ) {
        return Err(CommandError {
            kind: desk_core::ErrorKind::Validation,
            field: None,
            message: format!(
                "{entity_name} is not part of a meeting's proceedings (agenda items, decisions, action items, talking points)"
            ),
        });
    }
    with(&state, |r| {
        let record = r.create(e, &fields)?;
        let meeting = record.str("meeting").unwrap_or_default().to_string();
        let outline = r.outline(&meeting, today())?;
        Ok(Captured { record, outline })
    })
}

/// Moves an agenda item or decision right after `after` (a sibling), or to the top when
/// `after` is null: one change, undone by Ctrl+Z, merged by sync like any edit.
#[tauri::command]
#[specta::specta]
pub fn move_record(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
    after: Option<String>,
) -> Result<Record, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.move_record(e, &id, after.as_deref()))
}

/// One page of the follow-up tracker.
#[derive(Debug, Serialize, specta::Type)]
pub struct TrackerPage {
    /// Rows `offset..offset + limit` of the tracker, in its order.
    pub rows: Vec<FollowupRow>,
    /// How many action items the query admits in all.
    pub total: u32,
}

/// The follow-up tracker: a page of a framework's action items the query admits (as of today
/// on this computer unless the query names a day), in the core's order. Only the page crosses
/// to the UI (a framework's "all" runs to thousands).
#[tauri::command]
#[specta::specta]
pub fn followup(
    state: State<'_, AppState>,
    mut query: FollowupQuery,
    offset: u32,
    limit: u32,
) -> Result<TrackerPage, CommandError> {
    if query.as_of.trim().is_empty() {
        query.as_of = today().to_string();
    }
    with(&state, |r| {
        let page = r.followup_page(&query, offset as usize, limit.clamp(1, 1_000) as usize)?;
        Ok(TrackerPage {
            rows: page.rows,
            total: u32::try_from(page.total).unwrap_or(u32::MAX),
        })
    })
}

/// A framework's meetings, latest first, at most 100: where an action item's progress can be
/// recorded as reported.
#[tauri::command]
#[specta::specta]
pub fn framework_meetings(
    state: State<'_, AppState>,
    framework: String,
) -> Result<Vec<MeetingRef>, CommandError> {
    with(&state, |r| r.framework_meetings(&framework, 100))
}

/// The frameworks of the live meetings, most meetings first.
#[tauri::command]
#[specta::specta]
pub fn frameworks(state: State<'_, AppState>) -> Result<Vec<Framework>, CommandError> {
    with(&state, |r| r.frameworks())
}

/// A project's indicators, each with baseline, target and its actual values over time.
#[tauri::command]
#[specta::specta]
pub fn indicators(
    state: State<'_, AppState>,
    project_id: String,
) -> Result<Vec<IndicatorSeries>, CommandError> {
    with(&state, |r| r.project_indicators(&project_id))
}

/// The project portfolio, attention as of today on this computer.
#[tauri::command]
#[specta::specta]
pub fn portfolio(state: State<'_, AppState>) -> Result<Vec<PortfolioRow>, CommandError> {
    with(&state, |r| r.portfolio(today()))
}

/// A project's milestones by date, late ones (as of today on this computer) marked.
#[tauri::command]
#[specta::specta]
pub fn milestones(
    state: State<'_, AppState>,
    project_id: String,
) -> Result<Vec<MilestonePoint>, CommandError> {
    with(&state, |r| r.milestones(&project_id, today()))
}
