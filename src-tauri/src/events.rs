//! The events the shell sends the UI, by name: `sync` (what the background sync is doing, a
//! [`SyncEvent`]), `demo-progress` (`{stage, done, total}` while demo data loads) and
//! `import-progress` (the same, while a file is imported) and `locked` (the app locked itself). Sending
//! is best effort: a window that has gone away misses them.

use desk_sync::background::SyncEvent;
use tauri::{AppHandle, Emitter, Runtime};

pub const SYNC: &str = "sync";
pub const DEMO_PROGRESS: &str = "demo-progress";
pub const IMPORT_PROGRESS: &str = "import-progress";
/// The app locked itself (the desktop went to sleep or locked the session): the UI starts again.
pub const LOCKED: &str = "locked";

pub fn locked<R: Runtime>(app: &AppHandle<R>) {
    let _ = app.emit(LOCKED, ());
}

pub fn sync<R: Runtime>(app: &AppHandle<R>, e: &SyncEvent) {
    let _ = app.emit(SYNC, e);
}

pub fn demo_progress<R: Runtime>(app: &AppHandle<R>, p: &desk_core::Progress) {
    let _ = app.emit(DEMO_PROGRESS, p);
}

pub fn import_progress<R: Runtime>(app: &AppHandle<R>, p: &desk_core::Progress) {
    let _ = app.emit(IMPORT_PROGRESS, p);
}
