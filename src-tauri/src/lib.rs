//! The desktop shell of Secretariat Desk: Tauri commands that delegate, one call each, to
//! `desk-core` (records, search, demo data) and `desk-keys` (opening the encrypted replica).
//! No business rules live here: validation, the change log and search are the core's.

pub mod commands;
pub mod state;

pub use state::AppState;

/// Builds the app on any Tauri runtime (the real one, or the mock runtime in tests).
pub fn build<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    state: AppState,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    builder
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::unlock,
            commands::summary,
            commands::search,
            commands::list,
            commands::get,
            commands::delegations,
            commands::create,
            commands::update,
            commands::remove,
            commands::restore,
            commands::undo,
            commands::brief,
            commands::conflicts,
            commands::resolve_conflict,
            commands::load_demo,
            commands::sync_status,
            commands::sync_login,
            commands::sync_now,
            commands::sync_logout,
        ])
        .build(context)
}

/// The app's own configuration, compiled in from the repository's tauri.conf.json.
pub fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!("../tauri.conf.json")
}
