//! The desktop shell of Secretariat Desk (`desk-app`): the Tauri app that serves the web UI
//! (`ui/src`) and answers its commands, grouped by domain in [`commands`] (records, briefing
//! packs, sync), with errors in [`error`] and events in [`events`]; [`state`] holds the open
//! replica and the background sync loop between commands.
//!
//! What it is not: a place for rules. Each command parses what the UI sent and makes one call
//! into `desk-core` (records, validation, labels, conflicts), `desk-keys` (opening the encrypted
//! replica), `desk-brief` (options, PDF, writing the file) or `desk-sync` (the account, a round,
//! the background loop, the reading of sync errors), and returns its answer. The `desk` CLI
//! calls the same functions.

pub mod commands;
pub mod error;
pub mod events;
pub mod state;

pub use state::AppState;

/// Builds the app on any Tauri runtime (the real one, or the mock runtime in tests).
pub fn build<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    state: AppState,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    use commands::{brief, records, sync};
    builder
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::unlock,
            commands::summary,
            records::search,
            records::list,
            records::get,
            records::delegations,
            records::create,
            records::update,
            records::remove,
            records::restore,
            records::undo,
            brief::brief,
            records::conflicts,
            records::resolve_conflict,
            commands::load_demo,
            sync::sync_status,
            sync::sync_login,
            sync::sync_now,
            sync::sync_logout,
        ])
        .build(context)
}

/// The app's own configuration, compiled in from the repository's tauri.conf.json.
pub fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!("../tauri.conf.json")
}
