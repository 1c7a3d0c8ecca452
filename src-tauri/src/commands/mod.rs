//! Tauri commands, by domain: [`records`] (records, search, conflicts, undo), [`brief`]
//! (briefing packs), [`documents`], [`meetings`] (proceedings, moves, follow-up, indicators), [`exchange`] (import and export of files), [`sync`] (sign-in and the background sync). Here: opening the replica and
//! what applies to all of it. Each command parses what the UI sent and makes one library call;
//! errors reach the UI as [`CommandError`]s, progress as [`crate::events`].

pub mod brief;
pub mod documents;
pub mod exchange;
pub mod meetings;
pub mod records;
pub mod sync;

use crate::error::{joined, locked, CommandError};
use crate::state::AppState;
use desk_core::demo::Size;
use desk_core::{Entity, Replica, Summary};
use desk_keys::{Keychain, Protect};
use serde::Serialize;
use tauri::{Manager, State};

fn entity(name: &str) -> Result<Entity, CommandError> {
    Entity::parse(name).ok_or_else(|| desk_core::Error::UnknownEntity(name.to_string()).into())
}

/// Today on this computer's clock: what "overdue" and "upcoming" are measured against in the
/// app (a briefing pack measures against its own as-of date; both through the core's rule).
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

/// Hands a file to the system's viewer for its type and returns at once; the viewer's process
/// is reaped when it exits. The viewer is `xdg-open`, or the program `DESK_OPENER` names (a
/// managed desktop's own viewer; the end-to-end tests' stand-in for a person's PDF reader).
fn open_with_system(file: &std::path::Path) -> Result<(), CommandError> {
    let opener = std::env::var_os("DESK_OPENER")
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "xdg-open".into());
    let mut child = std::process::Command::new(&opener)
        .arg(file)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CommandError {
            kind: desk_core::ErrorKind::Unavailable,
            field: None,
            message: format!(
                "no viewer could be started for {} ({}: {e})",
                file.display(),
                opener.to_string_lossy()
            ),
        })?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// A name for a file of ours from text that may hold anything: no folder separators, no
/// control characters.
fn file_name_from(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Where the user asked a file to be saved, if it ends in `.{ext}` and its folder exists;
/// else the error, at the field `to`.
fn save_path(to: &str, ext: &str) -> Result<std::path::PathBuf, CommandError> {
    let refused = |message: String| CommandError {
        kind: desk_core::ErrorKind::Validation,
        field: Some("to".into()),
        message,
    };
    let path = std::path::PathBuf::from(to.trim());
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
    {
        return Err(refused(format!("{} does not end in .{ext}", to.trim())));
    }
    match path.parent() {
        Some(dir) if dir.as_os_str().is_empty() || dir.is_dir() => Ok(path),
        parent => Err(refused(format!(
            "there is no folder {}",
            parent.map_or(String::new(), |d| d.display().to_string())
        ))),
    }
}

/// Runs `f` on the open replica.
fn with<T>(
    state: &AppState,
    f: impl FnOnce(&mut Replica) -> Result<T, desk_core::Error>,
) -> Result<T, CommandError> {
    lease_check(state)?;
    let mut guard = state.replica();
    let r = guard.as_mut().ok_or_else(locked)?;
    Ok(f(r)?)
}

/// The offline lease ran out while the app was open: the replica closes (as the app lock
/// closes it) and the UI starts again at the lease screen.
fn lease_check(state: &AppState) -> Result<(), CommandError> {
    let end = state.lease_end();
    if end.is_some_and(|end| state.now() >= end) {
        let still = {
            let guard = state.replica();
            match guard.as_ref() {
                Some(r) => lease_gate(state, r),
                None => Ok(()),
            }
        };
        if let Err(e) = still {
            sync::stop_sync(state);
            drop(state.replica().take());
            return Err(e);
        }
    }
    Ok(())
}

#[derive(Debug, Serialize, specta::Type)]
pub struct Status {
    pub unlocked: bool,
    pub exists: bool,
    pub data_dir: String,
    /// "keychain" or "passphrase" once the replica exists.
    pub key_source: Option<desk_keys::KeySource>,
    /// This app's version.
    pub version: String,
}

#[tauri::command]
#[specta::specta]
pub fn status(state: State<'_, AppState>) -> Result<Status, CommandError> {
    Ok(Status {
        unlocked: state.replica().is_some(),
        exists: desk_keys::replica_path(&state.data_dir).exists(),
        data_dir: state.data_dir.display().to_string(),
        key_source: desk_keys::key_source(&state.data_dir)?,
        version: env!("CARGO_PKG_VERSION").to_string(),
    })
}

/// The UI's first view is shown with its data (start-up diagnostics): logs when, on the page's
/// clock (`at_ms`, ms since the epoch), and how long after the shell began; returns the latter.
/// `scripts/bench-app` reads this line to time a cold start without a WebDriver session.
#[tauri::command]
#[specta::specta]
pub fn interactive(state: State<'_, AppState>, at_ms: f64) -> u64 {
    let ms = u64::try_from(state.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    eprintln!(
        "secretariat-desk: interactive at {at_ms:.0} ms since the epoch, {ms} ms after start"
    );
    ms
}

/// Opens the replica (creating it on first run): with the keychain's key, or the passphrase
/// given here or in the environment; and, when the app lock has a PIN, only with it. Past the
/// offline lease it stays closed unless `code` is a one-time unlock code for this computer
/// (or [`lease_sync`] gets a sync round through).
#[tauri::command]
#[specta::specta]
pub fn unlock<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    passphrase: Option<String>,
    pin: Option<String>,
    code: Option<String>,
) -> Result<Summary, CommandError> {
    let mut replica = open_checked(&state, passphrase, pin)?;
    if let Some(code) = code.filter(|c| !c.trim().is_empty()) {
        desk_sync::lease::unlock(&mut replica, &Keychain::default(), &code, state.now()).map_err(
            |e| CommandError {
                kind: desk_core::ErrorKind::Validation,
                field: Some("code".into()),
                message: CommandError::from(e).message,
            },
        )?;
    }
    lease_gate(&state, &replica)?;
    opened(&app, &state, replica)
}

/// Past the offline lease: opens the replica (PIN and all, as [`unlock`]) for one sync round
/// and keeps it open if the round gets through (the lease starts again); else it stays closed
/// and the error says why.
#[tauri::command]
#[specta::specta]
pub async fn lease_sync<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    passphrase: Option<String>,
    pin: Option<String>,
) -> Result<Summary, CommandError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let mut replica = open_checked(&state, passphrase, pin)?;
        let acct =
            desk_sync::account::current(&replica, &Keychain::default())?.ok_or_else(|| {
                CommandError {
                    kind: desk_core::ErrorKind::Validation,
                    field: Some("lease".into()),
                    message: "this computer is not signed in to a sync server".into(),
                }
            })?;
        let mut t = desk_sync::http::Http::new(&acct.server, Some(&acct.token))?;
        desk_sync::sync(&mut replica, &mut t, &mut |_| {}).map_err(|e| CommandError {
            field: Some("lease".into()),
            ..CommandError::from(e)
        })?;
        desk_sync::lease::contacted(&mut replica, state.now())?;
        opened(&handle, &state, replica)
    })
    .await
    .map_err(joined)?
}

/// The replica, opened and past the app lock's PIN (a wrong try is counted inside it, and it
/// closes again: nothing of it stays open).
fn open_checked(
    state: &AppState,
    passphrase: Option<String>,
    pin: Option<String>,
) -> Result<Replica, CommandError> {
    let pass = passphrase
        .filter(|p| !p.is_empty())
        .or_else(|| state.env_passphrase.clone());
    let kc = Keychain::default();
    let ask = || pass.clone();
    let protect = match &pass {
        Some(p) => Protect::Passphrase(p.clone()),
        None => Protect::Keychain(&kc),
    };
    let (mut replica, _) = desk_keys::init(&state.data_dir, protect, &kc, &ask)?;
    desk_keys::lock::check(&mut replica, pin.as_deref(), state.now())?;
    Ok(replica)
}

/// Refuses a replica past its offline lease (it is then closed by the caller dropping it).
fn lease_gate(state: &AppState, r: &Replica) -> Result<(), CommandError> {
    match desk_sync::lease::state(r, state.now())? {
        desk_sync::lease::Lease::Expired { days_over, days } => Err(CommandError {
            kind: desk_core::ErrorKind::WrongKey,
            field: Some("lease".into()),
            message: format!(
                "This computer has not reached the sync server for more than {days} days{}: connect and sync, or enter a one-time unlock code from your administrator. Nothing is lost: your unsent changes are sent by the next sync",
                if days_over > 0 { format!(" ({days_over} days over)") } else { String::new() }
            ),
        }),
        _ => Ok(()),
    }
}

/// Keeps an opened replica, notes its lease's end, and starts the background sync.
fn opened<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    state: &AppState,
    replica: Replica,
) -> Result<Summary, CommandError> {
    let summary = replica.summary()?;
    *state.replica() = Some(replica);
    state.note_lease();
    // Signed in earlier: keep in step with the server in the background.
    sync::start_sync(app);
    Ok(summary)
}

/// Locks the app now: the background sync stops and the replica closes, its keys wiped from
/// memory with it; every record command answers "locked" until [`unlock`] is given the PIN.
/// Refused while no PIN is set (the lock would open to anyone).
#[tauri::command]
#[specta::specta]
pub fn lock_now(state: State<'_, AppState>) -> Result<Status, CommandError> {
    lock(&state)?;
    status(state)
}

/// Closes the replica if it is open and something will be needed to open it again (a PIN, or
/// a passphrase not taken from the environment): whether it did.
pub fn lock(state: &AppState) -> Result<bool, CommandError> {
    let policy = {
        let guard = state.replica();
        guard.as_ref().map(desk_keys::lock::policy).transpose()?
    };
    let Some(desk_keys::lock::LockPolicy { pin_set, .. }) = policy else {
        return Ok(false);
    };
    let by_passphrase =
        desk_keys::key_source(&state.data_dir)? == Some(desk_keys::KeySource::Passphrase);
    let asked_to_open = pin_set || (by_passphrase && state.env_passphrase.is_none());
    if !asked_to_open {
        return Err(CommandError {
            kind: desk_core::ErrorKind::Validation,
            field: Some("pin".into()),
            message:
                "choose a PIN first (Settings › App lock): without one, anyone could unlock the app"
                    .into(),
        });
    }
    sync::stop_sync(state);
    let replica = state.replica().take();
    drop(replica);
    Ok(true)
}

/// The app lock's settings: whether a PIN is set, and the idle time.
#[tauri::command]
#[specta::specta]
pub fn lock_policy(
    state: State<'_, AppState>,
) -> Result<desk_keys::lock::LockPolicy, CommandError> {
    let guard = state.replica();
    let r = guard.as_ref().ok_or_else(locked)?;
    Ok(desk_keys::lock::policy(r)?)
}

/// Sets, changes or (with `pin` null) removes the app lock's PIN; `current` is the PIN set now.
#[tauri::command]
#[specta::specta]
pub fn set_lock_pin(
    state: State<'_, AppState>,
    current: Option<String>,
    pin: Option<String>,
) -> Result<desk_keys::lock::LockPolicy, CommandError> {
    let mut guard = state.replica();
    let r = guard.as_mut().ok_or_else(locked)?;
    Ok(desk_keys::lock::set_pin(
        r,
        current.as_deref(),
        pin.as_deref(),
        state.now(),
    )?)
}

/// Sets the minutes without use after which the app locks itself.
#[tauri::command]
#[specta::specta]
pub fn set_idle_lock(
    state: State<'_, AppState>,
    minutes: u32,
) -> Result<desk_keys::lock::LockPolicy, CommandError> {
    let mut guard = state.replica();
    let r = guard.as_mut().ok_or_else(locked)?;
    Ok(desk_keys::lock::set_idle_minutes(r, minutes)?)
}

#[tauri::command]
#[specta::specta]
pub fn summary(state: State<'_, AppState>) -> Result<Summary, CommandError> {
    with(&state, |r| r.summary())
}

/// Loads demo data, emitting `demo-progress` events ({stage, done, total}) as it goes.
#[tauri::command]
#[specta::specta]
pub fn load_demo<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    size: Option<String>,
) -> Result<Summary, CommandError> {
    let size = size.as_deref().and_then(Size::parse).unwrap_or(Size::Small);
    with(&state, |r| {
        r.load_demo(size, &mut |p| crate::events::demo_progress(&app, &p))?;
        r.summary()
    })
}
