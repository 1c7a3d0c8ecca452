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
pub fn unlock(
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
        let record = r.get(e, &id)?;
        Ok(view(r, record, true))
    })
}

/// A meeting's delegations in protocol order, with forms of address.
#[tauri::command]
pub fn delegations(
    state: State<'_, AppState>,
    meeting_id: String,
) -> Result<Vec<desk_core::protocol::Delegation>, CommandError> {
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
