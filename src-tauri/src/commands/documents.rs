//! Documents of a meeting: listed in their latest versions, earlier versions on request, a new
//! version, a file attached (chosen in the file dialog: its bytes; or dropped on the window:
//! its path), and a file opened in the system's viewer. What a version carries over and how a
//! file is stored and checked are the core's (`desk_core::Replica::new_document_version`,
//! `attach_file`, `document_file`).

use super::with;
use crate::error::CommandError;
use crate::state::AppState;
use desk_core::{ErrorKind, Fields, Record, RecordView};
use std::path::PathBuf;
use tauri::State;

/// The largest file attached through the app (a meeting document, not a video).
const MAX_FILE: usize = 100 * 1024 * 1024;

fn too_big(name: &str, len: usize) -> CommandError {
    CommandError {
        kind: ErrorKind::Validation,
        field: Some("file".into()),
        message: format!(
            "{name} is {} MB; files up to {} MB can be attached",
            len / (1024 * 1024),
            MAX_FILE / (1024 * 1024)
        ),
    }
}

/// A meeting's live documents, each in its latest version.
#[tauri::command]
#[specta::specta]
pub fn meeting_documents(
    state: State<'_, AppState>,
    meeting_id: String,
) -> Result<Vec<RecordView>, CommandError> {
    with(&state, |r| {
        let docs = r.meeting_documents(&meeting_id)?;
        Ok(docs.into_iter().map(|d| r.view(d, true)).collect())
    })
}

/// Every version of a document, oldest first.
#[tauri::command]
#[specta::specta]
pub fn document_versions(
    state: State<'_, AppState>,
    document_id: String,
) -> Result<Vec<RecordView>, CommandError> {
    with(&state, |r| {
        let docs = r.document_versions(&document_id)?;
        Ok(docs.into_iter().map(|d| r.view(d, true)).collect())
    })
}

/// A new version of a document (`fields`: what changes, e.g. its symbol); the old one is
/// marked superseded. One undo step.
#[tauri::command]
#[specta::specta]
pub fn new_document_version(
    state: State<'_, AppState>,
    document_id: String,
    fields: Fields,
) -> Result<Record, CommandError> {
    with(&state, |r| r.new_document_version(&document_id, &fields))
}

/// Attaches a file chosen in the file dialog: its name and bytes (base64).
#[tauri::command(async)]
#[specta::specta]
pub fn attach_file(
    state: State<'_, AppState>,
    document_id: String,
    filename: String,
    data_base64: String,
) -> Result<Record, CommandError> {
    use base64::Engine;
    if data_base64.len() / 4 * 3 > MAX_FILE {
        return Err(too_big(&filename, data_base64.len() / 4 * 3));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(data_base64.as_bytes())
        .map_err(|e| CommandError {
            kind: ErrorKind::Validation,
            field: Some("file".into()),
            message: format!("the file's bytes did not arrive whole ({e})"),
        })?;
    with(&state, |r| r.attach_file(&document_id, &filename, &data))
}

/// Attaches a file dropped on the window, by its path.
#[tauri::command(async)]
#[specta::specta]
pub fn attach_path(
    state: State<'_, AppState>,
    document_id: String,
    path: String,
) -> Result<Record, CommandError> {
    let p = PathBuf::from(&path);
    let unreadable = |e: std::io::Error| CommandError {
        kind: ErrorKind::Validation,
        field: Some("file".into()),
        message: format!("cannot read {path}: {e}"),
    };
    let len = std::fs::metadata(&p).map_err(unreadable)?.len() as usize;
    if len > MAX_FILE {
        return Err(too_big(&path, len));
    }
    let data = std::fs::read(&p).map_err(unreadable)?;
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .to_string();
    with(&state, |r| r.attach_file(&document_id, &name, &data))
}

/// Opens a document's file in the system's viewer: written, checked against its hash, to
/// "opened" in the data directory (replaced on every open), then handed to `xdg-open`.
/// Returns the path opened.
#[tauri::command(async)]
#[specta::specta]
pub fn open_document(
    state: State<'_, AppState>,
    document_id: String,
) -> Result<String, CommandError> {
    let (data, name) = with(&state, |r| {
        let data = r.document_file(&document_id)?;
        let rec = r.get(desk_core::Entity::Document, &document_id)?;
        Ok((data, rec.str("filename").unwrap_or("document").to_string()))
    })?;
    // Only the file's own name, never a path it might carry.
    let safe = super::file_name_from(&name);
    let dir = state.data_dir.join("opened").join(&document_id);
    let file = dir.join(if safe.trim_matches('.').is_empty() {
        "document".into()
    } else {
        safe
    });
    let failed = |e: std::io::Error| CommandError {
        kind: ErrorKind::Unavailable,
        field: None,
        message: format!("cannot write {}: {e}", file.display()),
    };
    std::fs::create_dir_all(&dir).map_err(failed)?;
    desk_brief::write_file(&file, &data)?;
    super::open_with_system(&file)?;
    Ok(file.display().to_string())
}
