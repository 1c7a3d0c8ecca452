//! Records: search, list, show (as a [`RecordView`]: labels and resolved references, from the
//! core), create, update, delete, restore, delegations in protocol order, the conflict inbox,
//! undo.

use super::{entity, with};
use crate::error::CommandError;
use crate::state::AppState;
use desk_core::{Fields, Record, RecordView, SearchHit};
use tauri::State;

#[tauri::command]
#[specta::specta]
pub fn search(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<SearchHit>, CommandError> {
    with(&state, |r| r.search(&query, limit.unwrap_or(20)))
}

/// One record with its label and the labels of the records it references.
#[tauri::command]
#[specta::specta]
pub fn get(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
) -> Result<RecordView, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| {
        // Long text with an unsettled second version shows both.
        let record = r.with_unsettled(r.get(e, &id)?)?;
        Ok(r.view(record, true))
    })
}

/// A record's history by person, newest first: who changed which fields to what, and when.
#[tauri::command]
#[specta::specta]
pub fn record_history(
    state: State<'_, AppState>,
    id: String,
) -> Result<Vec<desk_core::HistoryEntry>, CommandError> {
    with(&state, |r| Ok(r.history(&id, desk_core::HISTORY_MAX)?.1))
}

/// A meeting's delegations in protocol order, with forms of address.
#[tauri::command]
#[specta::specta]
pub fn delegations(
    state: State<'_, AppState>,
    meeting_id: String,
) -> Result<Vec<desk_core::precedence::Delegation>, CommandError> {
    with(&state, |r| r.delegations(&meeting_id))
}

#[tauri::command]
#[specta::specta]
pub fn create(
    state: State<'_, AppState>,
    entity_name: String,
    fields: Fields,
) -> Result<Record, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.create(e, &fields))
}

#[tauri::command]
#[specta::specta]
pub fn update(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
    fields: Fields,
) -> Result<Record, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.update(e, &id, &fields))
}

/// Deletes a record and its parts; returns how many records were deleted.
#[tauri::command]
#[specta::specta]
pub fn remove(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
) -> Result<usize, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.delete(e, &id))
}

#[tauri::command]
#[specta::specta]
pub fn restore(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
) -> Result<Record, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.restore(e, &id))
}

/// The conflict inbox (unsettled only unless `all`).
#[tauri::command]
#[specta::specta]
pub fn conflicts(
    state: State<'_, AppState>,
    all: Option<bool>,
) -> Result<Vec<desk_core::Conflict>, CommandError> {
    with(&state, |r| r.conflicts(all.unwrap_or(false)))
}

/// Settles a conflict: `take` is "mine" or "theirs", or a `value` is given (see
/// `desk_core::Take::choose`).
#[tauri::command]
#[specta::specta]
pub fn resolve_conflict(
    state: State<'_, AppState>,
    id: i64,
    take: Option<String>,
    value: Option<serde_json::Value>,
) -> Result<Record, CommandError> {
    let take = desk_core::Take::choose(take.as_deref(), value)?;
    with(&state, |r| r.resolve_conflict(id, take))
}

/// Undoes the last local change; null when there is nothing to undo.
#[tauri::command]
#[specta::specta]
pub fn undo(state: State<'_, AppState>) -> Result<Option<desk_core::UndoReport>, CommandError> {
    with(&state, |r| r.undo())
}

/// The entity descriptors (fields, kinds, enums, required, help, references): the UI builds its
/// forms, lists and filters from them, so a field added in the core appears with no UI code.
#[tauri::command]
#[specta::specta]
pub fn describe() -> Vec<desk_core::EntitySchema> {
    desk_core::describe()
}

/// The countries the core knows, by code and name.
#[tauri::command]
#[specta::specta]
pub fn countries() -> Vec<desk_core::schema::Country> {
    desk_core::countries()
}

/// One page of an entity's records as a list shows them (rows: label, subtitle, due state), by keyset (`query.after` is the previous page's `next`),
/// filtered and sorted as asked, with the total. Due states are computed as of today on this
/// computer unless the query names a date.
#[tauri::command]
#[specta::specta]
pub fn page(
    state: State<'_, AppState>,
    entity_name: String,
    mut query: desk_core::PageQuery,
) -> Result<desk_core::RowPage, CommandError> {
    let e = entity(&entity_name)?;
    if query.as_of.is_none() {
        query.as_of = Some(super::today().to_string());
    }
    with(&state, |r| r.page(e, &query).map(desk_core::RowPage::from))
}

/// The home screen: upcoming meetings, action items overdue or due this week, projects that
/// need attention, all as of today on this computer.
#[tauri::command]
#[specta::specta]
pub fn home(state: State<'_, AppState>) -> Result<desk_core::Home, CommandError> {
    with(&state, |r| r.home(super::today()))
}
