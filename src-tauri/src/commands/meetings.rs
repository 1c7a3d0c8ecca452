//! The meeting-day and monitoring workflows: a meeting's proceedings (agenda, decisions, action
//! items, talking points) in one view, moving agenda items and decisions, the follow-up tracker
//! of a framework's action items, and a project's indicator series. Order, numbers, due states
//! and who is responsible all come from the core.

use super::{entity, today, with};
use crate::error::CommandError;
use crate::state::AppState;
use desk_core::{FollowupQuery, FollowupRow, Framework, IndicatorSeries, MeetingOutline, Record};
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

/// The follow-up tracker: a framework's action items the query admits (as of today on this
/// computer unless the query names a day).
#[tauri::command]
#[specta::specta]
pub fn followup(
    state: State<'_, AppState>,
    mut query: FollowupQuery,
) -> Result<Vec<FollowupRow>, CommandError> {
    if query.as_of.trim().is_empty() {
        query.as_of = today().to_string();
    }
    with(&state, |r| r.followup(&query))
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
