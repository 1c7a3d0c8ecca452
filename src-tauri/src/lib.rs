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

pub mod bindings;
pub mod commands;
pub mod error;
pub mod events;
pub mod session;
pub mod state;
pub mod window;

pub use state::AppState;

/// The commands the UI may call, listed once. `[Wry]` marks a command generic over the runtime:
/// the invoke handler takes it for any runtime (the mock one in tests), the TypeScript export
/// for the real one.
macro_rules! app_commands {
    ($then:ident) => {
        $then! {
            commands::status,
            commands::unlock[Wry],
            commands::summary,
            records::search,
            records::get,
            records::delegations,
            records::create,
            records::update,
            records::remove,
            records::restore,
            records::undo,
            brief::brief,
            brief::brief_choices,
            brief::pack_page,
            brief::open_pack,
            brief::print_pack,
            brief::save_pack_as,
            records::conflicts,
            records::resolve_conflict,
            commands::load_demo[Wry],
            sync::sync_status,
            sync::sync_login[Wry],
            sync::sync_now[Wry],
            sync::sync_logout[Wry],
            records::describe,
            records::countries,
            records::page,
            records::home,
            commands::interactive,
            meetings::outline,
            meetings::capture,
            meetings::move_record,
            meetings::followup,
            meetings::framework_meetings,
            meetings::portfolio,
            meetings::milestones,
            meetings::frameworks,
            meetings::indicators,
            documents::meeting_documents,
            documents::document_versions,
            documents::new_document_version,
            documents::attach_file,
            documents::attach_path,
            documents::open_document,
            exchange::import_file[Wry],
            exchange::export_path,
            exchange::export_file,
            commands::lock_now,
            commands::lock_policy,
            commands::set_lock_pin,
            commands::set_idle_lock,
            records::record_history,
            commands::lease_sync[Wry],
            sync::bundle_path,
            sync::bundle_export,
            sync::bundle_import,
        }
    };
}

macro_rules! invoke_handler {
    ($($($seg:ident)::+ $([$rt:ident])?),* $(,)?) => {
        tauri::generate_handler![$($($seg)::+),*]
    };
}

macro_rules! specta_commands {
    ($($($seg:ident)::+ $([$rt:ident])?),* $(,)?) => {
        tauri_specta::collect_commands![$($($seg)::+ $(::<tauri::$rt>)?),*]
    };
}

/// The commands with their signatures and types, for `ui/src/bindings.ts` (written by
/// [`bindings::typescript`]; a test fails when the committed file differs).
pub fn specta() -> tauri_specta::Builder<tauri::Wry> {
    use commands::{brief, documents, exchange, meetings, records, sync};
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(app_commands!(specta_commands))
        .typ::<desk_sync::background::SyncEvent>()
        .typ::<desk_core::Progress>()
        .typ::<events::Wiped>()
}

/// Builds the app on any Tauri runtime (the real one, or the mock runtime in tests).
pub fn build<R: tauri::Runtime>(
    builder: tauri::Builder<R>,
    state: AppState,
    context: tauri::Context<R>,
) -> tauri::Result<tauri::App<R>> {
    use commands::{brief, documents, exchange, meetings, records, sync};
    use tauri::Manager;
    builder
        .manage(state)
        .invoke_handler(app_commands!(invoke_handler))
        .setup(|app| {
            if let Some(w) = app.get_webview_window("main") {
                window::restore(&w, &app.state::<AppState>().data_dir);
            }
            // Left alone, the replica gives back what SQLite keeps for speed.
            let handle = app.handle().clone();
            std::thread::spawn(move || {
                let mut rest = state::Rest::default();
                loop {
                    std::thread::sleep(state::REST_CHECK);
                    handle.state::<AppState>().rest_if_idle(&mut rest);
                }
            });
            // The desktop's sleep, session lock and screen saver lock the app (when a PIN is
            // set): the replica closes and the UI starts again at the lock screen.
            let handle = app.handle().clone();
            std::thread::spawn(move || {
                for _away in session::watch() {
                    if let Ok(true) = commands::lock(&handle.state::<AppState>()) {
                        events::locked(&handle);
                    }
                }
            });
            Ok(())
        })
        .on_window_event(|w, event| {
            if let tauri::WindowEvent::CloseRequested { .. } = event {
                window::remember(w);
            }
        })
        .build(context)
}

/// The app's own configuration, compiled in from the repository's tauri.conf.json.
pub fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!("../tauri.conf.json")
}
