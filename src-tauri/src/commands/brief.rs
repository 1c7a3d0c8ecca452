//! Briefing packs: the Print button. Options are checked, the file named and the PDF written by
//! `desk_brief::print`; the shell only chooses the folder.

use super::with;
use crate::error::CommandError;
use crate::state::AppState;
use desk_core::{Entity, ErrorKind};
use serde::Serialize;
use std::path::PathBuf;
use tauri::State;

/// What the UI shows after printing a briefing pack.
#[derive(Debug, Serialize, specta::Type)]
pub struct BriefResult {
    pub file: String,
    pub pages: usize,
    pub bytes: usize,
    pub millis: u64,
    pub contents: Vec<BriefEntry>,
}

#[derive(Debug, Serialize, specta::Type)]
pub struct BriefEntry {
    pub level: u8,
    pub title: String,
    pub page: usize,
}

/// Prints a meeting's briefing pack to PDF: composed under the replica lock, laid out and
/// written outside it (on a worker thread, so the window stays responsive). Without `path`,
/// into "Briefing packs" in the user's documents folder (or beside the replica).
#[allow(clippy::too_many_arguments)]
#[tauri::command(async)]
#[specta::specta]
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
    let opts = desk_brief::Choices {
        paper,
        sections,
        classification,
        buddhist_era: buddhist_era.unwrap_or(false),
        previous_meetings: None,
    }
    .options()?;
    let pack = with(&state, |r| {
        let id = r
            .resolve(Entity::Meeting, &meeting_id)
            .unwrap_or(meeting_id.clone());
        desk_brief::compose(r, &id, &opts)
    })?;
    let file = match path {
        Some(p) => PathBuf::from(p),
        None => {
            let dir = documents()
                .unwrap_or_else(|| state.data_dir.clone())
                .join("Briefing packs");
            std::fs::create_dir_all(&dir).map_err(|e| CommandError {
                kind: ErrorKind::Unavailable,
                field: Some("path".into()),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
            dir.join(desk_brief::pack_file_name(&pack.short_title))
        }
    };
    let out = desk_brief::render(&pack, opts.paper)?;
    desk_brief::write_file(&file, &out.pdf)?;
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

/// The user's documents folder, where it exists.
fn documents() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .map(|h| h.join("Documents"))
        .filter(|d| d.is_dir())
}
