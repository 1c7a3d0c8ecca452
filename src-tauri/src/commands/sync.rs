//! Sync: sign in and out (`desk_sync::account`), the status the UI shows, one round now, and
//! the background loop (`desk_sync::background`), which reports through `sync` events.

use super::with;
use crate::error::{joined, locked, CommandError};
use crate::events;
use crate::state::AppState;
use desk_core::ErrorKind;
use desk_keys::Keychain;
use desk_sync::account::{self, Account};
use desk_sync::background::SyncEvent;
use serde::Serialize;
use tauri::{Manager, State};

/// Where the replica syncs, for the UI.
#[derive(Debug, Serialize, specta::Type)]
pub struct SyncStatus {
    pub signed_in: bool,
    pub server: Option<String>,
    pub user: Option<String>,
    pub running: bool,
    pub last: Option<SyncEvent>,
    /// Local changes not yet accepted by the server.
    pub pending: u64,
    /// When a round with the server last finished, in milliseconds since 1970.
    pub last_success_ms: Option<u64>,
    /// The offline lease (the server's policy) and where this computer stands.
    pub lease: desk_sync::lease::Lease,
}

/// The account the open replica is signed in with, if any.
fn current(state: &AppState) -> Result<Option<Account>, CommandError> {
    let guard = state.replica();
    let Some(r) = guard.as_ref() else {
        return Ok(None);
    };
    Ok(account::current(r, &Keychain::default())?)
}

#[tauri::command]
#[specta::specta]
pub fn sync_status(state: State<'_, AppState>) -> Result<SyncStatus, CommandError> {
    let signed_in = current(&state)?.is_some();
    let (server, user, pending, last_success_ms, lease) = {
        let guard = state.replica();
        match guard.as_ref() {
            Some(r) => {
                let (server, user) = account::last_sign_in(r)?;
                let pending = r.outbox_len().map_err(desk_sync::SyncError::from)? as u64;
                let lease = desk_sync::lease::state(r, state.now())?;
                (server, user, pending, desk_sync::last_success(r)?, lease)
            }
            None => (None, None, 0, None, desk_sync::lease::Lease::None),
        }
    };
    let l = state.sync_loop();
    Ok(SyncStatus {
        signed_in,
        server,
        user,
        running: l.running,
        last: l.last.clone(),
        pending,
        last_success_ms,
        lease,
    })
}

/// A round reached the server: the offline lease starts again from now (the app's clock).
fn renewed(state: &AppState) {
    {
        let mut guard = state.replica();
        let Some(r) = guard.as_mut() else {
            return;
        };
        if desk_sync::lease::contacted(r, state.now()).is_err() {
            return;
        }
    }
    state.note_lease();
}

/// Stops the background loop (signing out, locking): it ends after the call it is in, and a
/// loop started later is a new one (the old one no longer speaks for it).
pub fn stop_sync(state: &AppState) {
    let mut l = state.sync_loop();
    l.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    l.stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Woken, it sees `stop` at once instead of after its wait.
    if let Some(w) = l.wake.take() {
        let _ = w.send(());
    }
    l.last = None;
    l.running = false;
}

/// Starts the background loop if this replica is signed in and none runs. It reports through
/// `sync` events ({state: syncing|idle|offline|stopped, …}); a command that writes wakes it
/// (`AppState::replica`).
pub fn start_sync<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    let state = app.state::<AppState>();
    let Ok(Some(acct)) = current(&state) else {
        return;
    };
    let mut l = state.sync_loop();
    if l.running {
        return;
    }
    let wake = desk_sync::background::Wake::new();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    l.running = true;
    l.wake = Some(wake.handle());
    l.stop = stop.clone();
    drop(l);
    let app = app.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        // A stopped loop reports nothing more and leaves the state to its successor.
        let current = |l: &crate::state::SyncLoop| std::sync::Arc::ptr_eq(&l.stop, &stop);
        let report = |e: SyncEvent| {
            if matches!(e, SyncEvent::Idle { .. }) {
                renewed(&state);
            }
            let mut l = state.sync_loop();
            if current(&l) {
                l.last = Some(e.clone());
                drop(l);
                events::sync(&app, &e);
            }
        };
        let mut revoked = false;
        match desk_sync::http::Http::new(&acct.server, Some(&acct.token)) {
            Ok(mut t) => desk_sync::background::follow(
                state.replica_lock(),
                &mut t,
                &stop,
                &wake,
                &mut desk_sync::background::Backoff::default(),
                desk_sync::background::LONG_POLL_SECS,
                &mut |e| {
                    revoked |= matches!(
                        e,
                        SyncEvent::Stopped {
                            code: "revoked",
                            ..
                        }
                    );
                    report(e)
                },
            ),
            // No HTTP client could be made here (no TLS support): nothing to retry.
            Err(e) => report(SyncEvent::Stopped {
                code: "invalid",
                message: e.to_string(),
            }),
        }
        let mut l = state.sync_loop();
        if current(&l) {
            l.running = false;
            drop(l);
            if revoked {
                wipe(&app);
            }
        }
    });
}

/// This device's access was revoked (the sync round has emptied the replica): the replica,
/// its files and its keys leave this computer, the server is told, and the UI shows why
/// nothing is left (the `revoked` event). Unsent edits are lost, by design.
fn wipe<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    let state = app.state::<AppState>();
    stop_sync(&state);
    let Some(r) = state.replica().take() else {
        return;
    };
    let wiped = match account::wipe(&state.data_dir, r, &Keychain::default()) {
        Ok(w) => events::Wiped {
            files_removed: w.removed.len() as u32,
            confirmed: w.confirmed.is_ok(),
            problem: w.confirmed.err().map(|e| e.to_string()),
        },
        Err(e) => events::Wiped {
            files_removed: 0,
            confirmed: false,
            problem: Some(e.to_string()),
        },
    };
    events::revoked(app, &wiped);
}

/// Signs this replica in to a sync server (the token goes to the OS keychain, else inside the
/// encrypted replica) and starts syncing in the background. The replica is not locked while
/// the server answers.
#[tauri::command]
#[specta::specta]
pub async fn sync_login<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    server: String,
    user: String,
    password: String,
) -> Result<SyncStatus, CommandError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let device = with(&state, |r| Ok(r.device_id().to_string()))?;
        let signed = account::sign_in(&server, &user, &password, &device)?;
        {
            let mut guard = state.replica();
            let r = guard.as_mut().ok_or_else(locked)?;
            account::keep(r, &Keychain::default(), &server, &user, &signed)?;
        }
        start_sync(&handle);
        sync_status(state)
    })
    .await
    .map_err(joined)?
}

/// One full round now (push, then pull), reported like the background loop's; starts the
/// loop if none runs (one that does has nothing new to do: this round did it).
#[tauri::command]
#[specta::specta]
pub async fn sync_now<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<SyncEvent, CommandError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let acct = current(&state)?.ok_or_else(|| CommandError {
            kind: ErrorKind::Validation,
            field: Some("server".into()),
            message: "not signed in to a sync server".into(),
        })?;
        let mut t = desk_sync::http::Http::new(&acct.server, Some(&acct.token))?;
        let round =
            desk_sync::sync_shared(state.replica_lock(), &mut t, desk_sync::BATCH, &mut |p| {
                let (pushed, pulled) = match p {
                    desk_sync::SyncProgress::Pushed { done, .. } => (done, 0),
                    desk_sync::SyncProgress::Pulled { done, .. } => (0, done),
                };
                events::sync(&handle, &SyncEvent::Syncing { pushed, pulled });
            });
        let report = match round {
            Err(e @ desk_sync::SyncError::Denied(desk_sync::Denied::Revoked, _)) => {
                wipe(&handle);
                return Err(e.into());
            }
            other => other?,
        };
        renewed(&state);
        let done = SyncEvent::Idle {
            pushed: report.pushed,
            pulled: report.pulled,
            purged: report.purged,
            kept_for_review: report.quarantined,
            restamped: report.restamped,
        };
        state.sync_loop().last = Some(done.clone());
        events::sync(&handle, &done);
        start_sync(&handle);
        Ok(done)
    })
    .await
    .map_err(joined)?
}

/// Signs out: stops the loop, forgets the token and the account here, then tells the server
/// (best effort, without holding the replica: offline, the token lapses on its own). The
/// replica and its unsent edits stay.
#[tauri::command]
#[specta::specta]
pub async fn sync_logout<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<SyncStatus, CommandError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        stop_sync(&state);
        let was = {
            let mut guard = state.replica();
            let r = guard.as_mut().ok_or_else(locked)?;
            account::forget(r, &Keychain::default())?
        };
        let _ = account::tell_server(was.as_ref());
        sync_status(state)
    })
    .await
    .map_err(joined)?
}

/// Where a bundle for the server is suggested: the export folder, named after this device and
/// the bundle's number.
#[tauri::command]
#[specta::specta]
pub fn bundle_path(state: State<'_, AppState>) -> Result<String, CommandError> {
    let name = with(&state, |r| {
        let next = r
            .setting("bundle.out")?
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
            + 1;
        let device: String = r.device_id().chars().take(8).collect();
        Ok(format!("secretariat-desk-{device}-{next}.deskbundle"))
    })?;
    Ok(super::exchange::export_dir()
        .join(name)
        .display()
        .to_string())
}

/// Writes this device's unsent changes, audit events and files to `to`, sealed for the server
/// (sync by hand-carried file: `desk-server import`).
#[tauri::command]
#[specta::specta]
pub fn bundle_export(
    state: State<'_, AppState>,
    to: String,
) -> Result<desk_sync::bundle::Made, CommandError> {
    let path = super::save_path(&to, "deskbundle")?;
    let (bytes, made) = {
        let mut guard = state.replica();
        let r = guard.as_mut().ok_or_else(locked)?;
        desk_sync::bundle::export(r, &Keychain::default(), state.now() as i64)?
    };
    desk_brief::write_file(&path, &bytes)?;
    Ok(made)
}

/// Takes the server's bundle for this device (`desk-server export --device ID`), picked by the
/// user and read by the page: refused whole unless authentic, for this device and new.
#[tauri::command]
#[specta::specta]
pub fn bundle_import(
    state: State<'_, AppState>,
    data_base64: String,
) -> Result<desk_sync::bundle::Taken, CommandError> {
    use base64::Engine;
    if data_base64.len() as u64 / 4 * 3 > desk_protocol::bundle::MAX_FILE {
        return Err(CommandError {
            kind: ErrorKind::Validation,
            field: Some("file".into()),
            message: format!(
                "a bundle is at most {} MB",
                desk_protocol::bundle::MAX_FILE >> 20
            ),
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data_base64.as_bytes())
        .map_err(|e| CommandError {
            kind: ErrorKind::Validation,
            field: Some("file".into()),
            message: format!("the file could not be read: {e}"),
        })?;
    let mut guard = state.replica();
    let r = guard.as_mut().ok_or_else(locked)?;
    let taken =
        desk_sync::bundle::import(r, &Keychain::default(), &bytes, state.now()).map_err(|e| {
            CommandError {
                field: Some("file".into()),
                ..CommandError::from(e)
            }
        })?;
    drop(guard);
    state.note_lease();
    Ok(taken)
}
