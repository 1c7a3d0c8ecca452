//! The events the shell sends the UI, by name: `sync` (what the background sync is doing, a
//! [`SyncEvent`]), `demo-progress` (`{stage, done, total}` while demo data loads) and
//! `import-progress` (the same, while a file is imported) `locked` (the app locked itself) and `revoked` (this device's access was revoked: its replica
//! is gone, a [`Wiped`]). Sending
//! is best effort: a window that has gone away misses them.

use desk_sync::background::SyncEvent;
use tauri::{AppHandle, Emitter, Runtime};

pub const SYNC: &str = "sync";
pub const DEMO_PROGRESS: &str = "demo-progress";
pub const IMPORT_PROGRESS: &str = "import-progress";
/// The app locked itself (the desktop went to sleep or locked the session): the UI starts again.
pub const LOCKED: &str = "locked";

/// This device's access was revoked and its replica, files and keys removed (`revoked`).
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct Wiped {
    pub files_removed: u32,
    /// Whether the server has the wipe on record.
    pub confirmed: bool,
    /// What went wrong removing or telling, if anything.
    pub problem: Option<String>,
}

pub const REVOKED: &str = "revoked";

pub fn revoked<R: Runtime>(app: &AppHandle<R>, w: &Wiped) {
    let _ = app.emit(REVOKED, w);
}

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
