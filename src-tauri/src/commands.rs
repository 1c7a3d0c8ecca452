//! Tauri commands: each one call into the core. Errors reach the UI as `{kind, field, message}`.

use crate::state::AppState;
use desk_core::demo::Size;
use desk_core::{Entity, ErrorKind, Fields, ListQuery, Record, Replica, SearchHit, Summary};
use desk_keys::{KeyError, Keychain, Protect};
use serde::Serialize;
use tauri::{Emitter, State};

/// What the UI receives when a command fails.
#[derive(Debug, Serialize)]
pub struct CommandError {
    pub kind: ErrorKind,
    pub field: Option<String>,
    pub message: String,
}

impl From<desk_core::Error> for CommandError {
    fn from(e: desk_core::Error) -> Self {
        CommandError {
            kind: e.kind(),
            field: e.field().map(str::to_string),
            message: e.to_string(),
        }
    }
}

impl From<KeyError> for CommandError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Core(core) => core.into(),
            KeyError::PassphraseNeeded => CommandError {
                kind: ErrorKind::WrongKey,
                field: Some("passphrase".into()),
                message: e.to_string(),
            },
            other => CommandError {
                kind: ErrorKind::Unavailable,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

fn locked() -> CommandError {
    CommandError {
        kind: ErrorKind::WrongKey,
        field: Some("passphrase".into()),
        message: "the replica is locked; unlock it first".into(),
    }
}

fn entity(name: &str) -> Result<Entity, CommandError> {
    Entity::parse(name).ok_or_else(|| desk_core::Error::UnknownEntity(name.to_string()).into())
}

/// Runs `f` on the open replica.
fn with<T>(
    state: &AppState,
    f: impl FnOnce(&mut Replica) -> Result<T, desk_core::Error>,
) -> Result<T, CommandError> {
    let mut guard = state.replica();
    let r = guard.as_mut().ok_or_else(locked)?;
    Ok(f(r)?)
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub unlocked: bool,
    pub exists: bool,
    pub data_dir: String,
    /// "keychain" or "passphrase" once the replica exists.
    pub key_source: Option<desk_keys::KeySource>,
}

#[tauri::command]
pub fn status(state: State<'_, AppState>) -> Result<Status, CommandError> {
    Ok(Status {
        unlocked: state.replica().is_some(),
        exists: desk_keys::replica_path(&state.data_dir).exists(),
        data_dir: state.data_dir.display().to_string(),
        key_source: desk_keys::key_source(&state.data_dir)?,
    })
}

/// Opens the replica (creating it on first run): with the keychain's key, or the passphrase
/// given here or in the environment.
#[tauri::command]
pub fn unlock<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    passphrase: Option<String>,
) -> Result<Summary, CommandError> {
    let pass = passphrase
        .filter(|p| !p.is_empty())
        .or_else(|| state.env_passphrase.clone());
    let kc = Keychain::default();
    let ask = || pass.clone();
    let protect = match &pass {
        Some(p) => Protect::Passphrase(p.clone()),
        None => Protect::Keychain(&kc),
    };
    let (replica, _) = desk_keys::init(&state.data_dir, protect, &kc, &ask)?;
    let summary = replica.summary()?;
    *state.replica() = Some(replica);
    // Signed in earlier: keep in step with the server in the background.
    start_sync(&app);
    Ok(summary)
}

#[tauri::command]
pub fn summary(state: State<'_, AppState>) -> Result<Summary, CommandError> {
    with(&state, |r| r.summary())
}

#[tauri::command]
pub fn search(
    state: State<'_, AppState>,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<SearchHit>, CommandError> {
    with(&state, |r| r.search(&query, limit.unwrap_or(20)))
}

/// A record with the label the UI shows for it (a participant's contact name, say) and, for
/// each reference field, the label of the record it points to.
#[derive(Debug, Serialize)]
pub struct RecordView {
    #[serde(flatten)]
    pub record: Record,
    pub label: String,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub refs: std::collections::BTreeMap<&'static str, String>,
}

fn view(r: &Replica, record: Record, with_refs: bool) -> RecordView {
    let mut refs = std::collections::BTreeMap::new();
    if with_refs {
        if let Some(d) = Entity::parse(record.entity).map(Entity::desc) {
            for f in d.fields {
                if let (desk_core::FieldKind::Ref(target), Some(id)) = (f.kind, record.str(f.name))
                {
                    if let Ok(t) = r.get(target, id) {
                        refs.insert(f.name, r.label(&t));
                    }
                }
            }
        }
    }
    RecordView {
        label: r.label(&record),
        record,
        refs,
    }
}

#[tauri::command]
pub fn list(
    state: State<'_, AppState>,
    entity_name: String,
    parent: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
) -> Result<Vec<RecordView>, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| {
        let q = ListQuery {
            parent,
            limit,
            offset: offset.unwrap_or(0),
            include_deleted: false,
            filters: Vec::new(),
        };
        Ok(r.list(e, &q)?
            .into_iter()
            .map(|record| view(r, record, false))
            .collect())
    })
}

#[tauri::command]
pub fn get(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
) -> Result<RecordView, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| {
        // Long text with an unsettled second version shows both.
        let record = r.with_unsettled(r.get(e, &id)?)?;
        Ok(view(r, record, true))
    })
}

/// A meeting's delegations in protocol order, with forms of address.
#[tauri::command]
pub fn delegations(
    state: State<'_, AppState>,
    meeting_id: String,
) -> Result<Vec<desk_core::precedence::Delegation>, CommandError> {
    with(&state, |r| r.delegations(&meeting_id))
}

#[tauri::command]
pub fn create(
    state: State<'_, AppState>,
    entity_name: String,
    fields: Fields,
) -> Result<Record, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.create(e, &fields))
}

#[tauri::command]
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
pub fn remove(
    state: State<'_, AppState>,
    entity_name: String,
    id: String,
) -> Result<usize, CommandError> {
    let e = entity(&entity_name)?;
    with(&state, |r| r.delete(e, &id))
}

#[tauri::command]
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
pub fn conflicts(
    state: State<'_, AppState>,
    all: Option<bool>,
) -> Result<Vec<desk_core::Conflict>, CommandError> {
    with(&state, |r| r.conflicts(all.unwrap_or(false)))
}

/// Settles a conflict: `take` is "mine" or "theirs", or a `value` is given.
#[tauri::command]
pub fn resolve_conflict(
    state: State<'_, AppState>,
    id: i64,
    take: Option<String>,
    value: Option<serde_json::Value>,
) -> Result<Record, CommandError> {
    let take = match (take.as_deref(), value) {
        (Some("mine"), _) => desk_core::Take::Mine,
        (Some("theirs"), _) => desk_core::Take::Theirs,
        (_, Some(v)) => desk_core::Take::Value(v),
        _ => {
            return Err(CommandError {
                kind: ErrorKind::Validation,
                field: Some("take".into()),
                message: "say which value to keep: mine, theirs, or a value".into(),
            })
        }
    };
    with(&state, |r| r.resolve_conflict(id, take))
}

/// Undoes the last local change; null when there is nothing to undo.
#[tauri::command]
pub fn undo(state: State<'_, AppState>) -> Result<Option<desk_core::UndoReport>, CommandError> {
    with(&state, |r| r.undo())
}

/// Loads demo data, emitting `demo-progress` events ({stage, done, total}) as it goes.
#[tauri::command]
pub fn load_demo<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    size: Option<String>,
) -> Result<Summary, CommandError> {
    let size = size.as_deref().and_then(Size::parse).unwrap_or(Size::Small);
    with(&state, |r| {
        r.load_demo(size, &mut |p| {
            let _ = app.emit("demo-progress", p);
        })?;
        r.summary()
    })
}

/// What the UI shows after printing a briefing pack.
#[derive(Debug, Serialize)]
pub struct BriefResult {
    pub file: String,
    pub pages: usize,
    pub bytes: usize,
    pub millis: u64,
    pub contents: Vec<BriefEntry>,
}

#[derive(Debug, Serialize)]
pub struct BriefEntry {
    pub level: u8,
    pub title: String,
    pub page: usize,
}

fn brief_error(e: desk_brief::Error) -> CommandError {
    match e {
        desk_brief::Error::Replica(e) => e.into(),
        other => CommandError {
            kind: ErrorKind::Unavailable,
            field: None,
            message: other.to_string(),
        },
    }
}

/// A file name from a meeting's title: letters, digits and spaces kept, the rest dropped.
fn pack_file_name(title: &str) -> String {
    let base: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let base = if base.is_empty() {
        "Meeting".to_string()
    } else {
        base
    };
    format!(
        "{} briefing pack.pdf",
        base.chars().take(80).collect::<String>()
    )
}

/// Prints a meeting's briefing pack to PDF: composed under the replica lock, laid out and
/// written outside it (on a worker thread, so the window stays responsive). Without `path`,
/// into "Briefing packs" in the user's documents folder (or beside the replica).
#[allow(clippy::too_many_arguments)]
#[tauri::command(async)]
pub fn brief(
    state: State<'_, AppState>,
    meeting_id: String,
    path: Option<String>,
    paper: Option<String>,
    sections: Option<Vec<String>>,
    classification: Option<String>,
    buddhist_era: Option<bool>,
) -> Result<BriefResult, CommandError> {
    let started = std::time::Instant::now();
    let mut opts = desk_brief::Options {
        paper: match paper.as_deref() {
            None | Some("a4") => desk_brief::Paper::A4,
            Some("letter") => desk_brief::Paper::Letter,
            Some(other) => {
                return Err(CommandError {
                    kind: ErrorKind::Validation,
                    field: Some("paper".into()),
                    message: format!("paper must be a4 or letter, not {other}"),
                })
            }
        },
        classification: classification.filter(|c| !c.trim().is_empty()),
        buddhist_era: buddhist_era.unwrap_or(false),
        ..Default::default()
    };
    if let Some(list) = sections {
        let mut kinds = Vec::new();
        for s in &list {
            kinds.push(
                desk_brief::SectionKind::parse(s).ok_or_else(|| CommandError {
                    kind: ErrorKind::Validation,
                    field: Some("sections".into()),
                    message: format!("no section called {s}"),
                })?,
            );
        }
        opts.sections = kinds;
    }
    let pack = with(&state, |r| {
        let id = r
            .resolve(Entity::Meeting, &meeting_id)
            .unwrap_or(meeting_id.clone());
        desk_brief::compose(r, &id, &opts)
    })?;
    let file = match path {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let dir = dirs_documents()
                .unwrap_or_else(|| state.data_dir.clone())
                .join("Briefing packs");
            std::fs::create_dir_all(&dir).map_err(|e| CommandError {
                kind: ErrorKind::Unavailable,
                field: Some("path".into()),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
            dir.join(pack_file_name(&pack.short_title))
        }
    };
    let out = desk_brief::render(&pack, opts.paper).map_err(brief_error)?;
    let tmp = file.with_extension("pdf.partial");
    std::fs::write(&tmp, &out.pdf)
        .and_then(|_| std::fs::rename(&tmp, &file))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CommandError {
                kind: ErrorKind::Unavailable,
                field: Some("path".into()),
                message: format!("cannot write {}: {e}", file.display()),
            }
        })?;
    Ok(BriefResult {
        file: file.display().to_string(),
        pages: out.pages,
        bytes: out.pdf.len(),
        millis: started.elapsed().as_millis() as u64,
        contents: out
            .contents
            .into_iter()
            .map(|c| BriefEntry {
                level: c.level,
                title: c.title,
                page: c.page,
            })
            .collect(),
    })
}

fn dirs_documents() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .map(|h| h.join("Documents"))
        .filter(|d| d.is_dir())
}

/// A background task that could not finish (it panicked or was cancelled).
fn joined(e: tauri::Error) -> CommandError {
    CommandError {
        kind: ErrorKind::Internal,
        field: None,
        message: e.to_string(),
    }
}

fn sync_error(e: desk_sync::SyncError) -> CommandError {
    let kind = match &e {
        desk_sync::SyncError::Replica(core) => core.kind(),
        desk_sync::SyncError::Network(_) => ErrorKind::Unavailable,
        desk_sync::SyncError::Denied(..) => ErrorKind::WrongKey,
        _ => ErrorKind::Validation,
    };
    CommandError {
        kind,
        field: None,
        message: e.to_string(),
    }
}

/// Where the replica syncs, for the UI.
#[derive(Debug, Serialize)]
pub struct SyncStatus {
    pub signed_in: bool,
    pub server: Option<String>,
    pub user: Option<String>,
    pub running: bool,
    pub last: Option<desk_sync::background::SyncEvent>,
}

/// The server and token this replica signed in with, if any.
fn account(state: &AppState) -> Result<Option<(String, String)>, CommandError> {
    let guard = state.replica();
    let Some(r) = guard.as_ref() else {
        return Ok(None);
    };
    let server = r.setting("sync.server")?;
    let token = desk_keys::sync_token::load(r, &Keychain::default())?;
    Ok(server.zip(token))
}

#[tauri::command]
pub fn sync_status(state: State<'_, AppState>) -> Result<SyncStatus, CommandError> {
    let signed_in = account(&state)?.is_some();
    let (server, user) = {
        let guard = state.replica();
        match guard.as_ref() {
            Some(r) => (r.setting("sync.server")?, r.setting("sync.user")?),
            None => (None, None),
        }
    };
    let l = state.sync_loop();
    Ok(SyncStatus {
        signed_in,
        server,
        user,
        running: l.running,
        last: l.last.clone(),
    })
}

/// Starts the background loop if this replica is signed in and none runs; wakes it if one
/// does. It reports through `sync` events ({state: syncing|idle|offline|stopped, …}).
pub fn start_sync<R: tauri::Runtime>(app: &tauri::AppHandle<R>) {
    use tauri::Manager;
    let state = app.state::<AppState>();
    let Ok(Some((server, token))) = account(&state) else {
        return;
    };
    let mut l = state.sync_loop();
    if l.running {
        if let Some(w) = &l.wake {
            let _ = w.send(());
        }
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    l.running = true;
    l.wake = Some(tx);
    l.stop = stop.clone();
    drop(l);
    let app = app.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let report = |e: desk_sync::background::SyncEvent| {
            state.sync_loop().last = Some(e.clone());
            let _ = app.emit("sync", &e);
        };
        match desk_sync::http::Http::new(&server, Some(&token)) {
            Ok(mut t) => desk_sync::background::follow(
                state.replica_lock(),
                &mut t,
                &stop,
                &rx,
                &mut desk_sync::background::Backoff::default(),
                desk_sync::background::LONG_POLL_SECS,
                &mut |e| report(e),
            ),
            Err(e) => report(desk_sync::background::SyncEvent::Stopped {
                code: "invalid",
                message: e.to_string(),
            }),
        }
        state.sync_loop().running = false;
    });
}

/// Signs this replica in to a sync server (the token goes to the OS keychain, else inside the
/// encrypted replica) and starts syncing in the background.
#[tauri::command]
pub async fn sync_login<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    server: String,
    user: String,
    password: String,
) -> Result<SyncStatus, CommandError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        use tauri::Manager;
        let state = handle.state::<AppState>();
        let device = with(&state, |r| Ok(r.device_id().to_string()))?;
        let signed = desk_sync::http::Http::new(&server, None)
            .and_then(|h| h.login(&user, &password, &device))
            .map_err(sync_error)?;
        {
            let mut guard = state.replica();
            let r = guard.as_mut().ok_or_else(locked)?;
            desk_keys::sync_token::store(r, &Keychain::default(), &signed.token)?;
            r.set_setting("sync.server", Some(&server))?;
            r.set_setting("sync.user", Some(&user))?;
        }
        start_sync(&handle);
        sync_status(state)
    })
    .await
    .map_err(joined)?
}

/// One full round now (push, then pull), reported like the background loop's; also wakes it.
#[tauri::command]
pub async fn sync_now<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<desk_sync::background::SyncEvent, CommandError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        use desk_sync::background::SyncEvent;
        use tauri::Manager;
        let state = handle.state::<AppState>();
        let (server, token) = account(&state)?.ok_or_else(|| CommandError {
            kind: ErrorKind::Validation,
            field: Some("server".into()),
            message: "not signed in to a sync server".into(),
        })?;
        let mut t = desk_sync::http::Http::new(&server, Some(&token)).map_err(sync_error)?;
        let report =
            desk_sync::sync_shared(state.replica_lock(), &mut t, desk_sync::BATCH, &mut |p| {
                let (pushed, pulled) = match p {
                    desk_sync::SyncProgress::Pushed { done, .. } => (done, 0),
                    desk_sync::SyncProgress::Pulled { done, .. } => (0, done),
                };
                let _ = handle.emit("sync", SyncEvent::Syncing { pushed, pulled });
            })
            .map_err(sync_error)?;
        let done = SyncEvent::Idle {
            pushed: report.pushed,
            pulled: report.pulled,
            purged: report.purged,
            kept_for_review: report.quarantined,
            restamped: report.restamped,
        };
        state.sync_loop().last = Some(done.clone());
        let _ = handle.emit("sync", &done);
        start_sync(&handle);
        Ok(done)
    })
    .await
    .map_err(joined)?
}

/// Forgets the token and stops the loop; the replica and its unsent edits stay.
#[tauri::command]
pub fn sync_logout(state: State<'_, AppState>) -> Result<SyncStatus, CommandError> {
    {
        let mut l = state.sync_loop();
        l.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        l.wake = None;
        l.last = None;
    }
    {
        let mut guard = state.replica();
        let r = guard.as_mut().ok_or_else(locked)?;
        desk_keys::sync_token::forget(r, &Keychain::default())?;
    }
    sync_status(state)
}
