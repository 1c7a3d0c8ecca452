//! Briefing packs: the pack dialog. Its choices come from `desk_brief` (sections, papers) and
//! the core (classifications); options are checked, the file named and the PDF written by
//! `desk_brief::print`; the shell chooses the folder. Then the written pack is previewed page by
//! page (rendered by Poppler's `pdftoppm`, the renderer the test suite reads packs with: WebKitGTK
//! shows no PDF by itself), opened in the system's PDF viewer, printed through the system's
//! print service (CUPS `lp`), or copied elsewhere.

use super::with;
use crate::error::{locked, CommandError};
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
    previous_meetings: Option<u32>,
    prepared_for: Option<String>,
) -> Result<BriefResult, CommandError> {
    let started = std::time::Instant::now();
    let reader = with(&state, |r| Ok(desk_sync::account::reader_name(r)))?;
    let opts = desk_brief::Choices {
        paper,
        sections,
        classification,
        buddhist_era: buddhist_era.unwrap_or(false),
        previous_meetings: previous_meetings.map(|n| n as usize),
        prepared_for,
        reader,
    }
    .options()?;
    let (id, pack) = with(&state, |r| {
        let id = r
            .resolve(Entity::Meeting, &meeting_id)
            .unwrap_or(meeting_id.clone());
        let pack = desk_brief::compose(r, &id, &opts)?;
        Ok((id, pack))
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
    {
        let mut guard = state.replica();
        let r = guard.as_mut().ok_or_else(locked)?;
        desk_brief::record_made(r, &id, &pack, &out, &file)?;
    }
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

/// One section a pack may hold.
#[derive(Debug, Serialize, specta::Type)]
pub struct PackSection {
    pub name: &'static str,
    pub title: &'static str,
}

/// What the pack dialog offers: sections in pack order, paper sizes, page markings, and how many
/// previous meetings' decisions are reprinted by default.
#[derive(Debug, Serialize, specta::Type)]
pub struct PackChoices {
    pub sections: Vec<PackSection>,
    pub papers: Vec<&'static str>,
    pub classifications: Vec<&'static str>,
    pub previous_meetings: u32,
}

#[tauri::command]
#[specta::specta]
pub fn brief_choices() -> PackChoices {
    PackChoices {
        sections: desk_brief::SectionKind::ALL
            .into_iter()
            .map(|k| PackSection {
                name: k.name(),
                title: k.title(),
            })
            .collect(),
        papers: desk_brief::Paper::NAMES.to_vec(),
        classifications: desk_core::schema::CLASSIFICATIONS.to_vec(),
        previous_meetings: desk_brief::Options::default().previous_meetings as u32,
    }
}

fn refused(field: &str, message: String) -> CommandError {
    CommandError {
        kind: ErrorKind::Validation,
        field: Some(field.into()),
        message,
    }
}

/// A pack file the UI names: a PDF that exists.
fn pack_file(file: &str) -> Result<PathBuf, CommandError> {
    let p = PathBuf::from(file);
    let is_pdf = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
    if !is_pdf || !p.is_file() {
        return Err(refused(
            "file",
            format!("{file} is not a briefing pack (a PDF file)"),
        ));
    }
    Ok(p)
}

/// A program the system provides, run to its end; `missing` says what to install when it is
/// not there.
fn run(program: &str, args: &[&std::ffi::OsStr], missing: &str) -> Result<Vec<u8>, CommandError> {
    let out = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| CommandError {
            kind: ErrorKind::Unavailable,
            field: None,
            message: if e.kind() == std::io::ErrorKind::NotFound {
                missing.to_string()
            } else {
                format!("{program} could not be started: {e}")
            },
        })?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(CommandError {
            kind: ErrorKind::Unavailable,
            field: None,
            message: format!("{program} failed: {}", said.trim()),
        });
    }
    Ok(out.stdout)
}

/// One page of a written pack as a PNG `data:` URL, `width` pixels wide (100–2400).
#[tauri::command(async)]
#[specta::specta]
pub fn pack_page(file: String, page: u32, width: u32) -> Result<String, CommandError> {
    use base64::Engine;
    let path = pack_file(&file)?;
    if page == 0 {
        return Err(refused("page", "pages are counted from 1".into()));
    }
    if !(100..=2400).contains(&width) {
        return Err(refused(
            "width",
            format!("a preview is 100 to 2400 pixels wide, not {width}"),
        ));
    }
    let (page, width) = (page.to_string(), width.to_string());
    let args: [&std::ffi::OsStr; 11] = [
        "-png".as_ref(),
        "-f".as_ref(),
        page.as_ref(),
        "-l".as_ref(),
        page.as_ref(),
        "-scale-to-x".as_ref(),
        width.as_ref(),
        "-scale-to-y".as_ref(),
        "-1".as_ref(),
        "-singlefile".as_ref(),
        path.as_os_str(),
    ];
    let png = run(
        "pdftoppm",
        &args,
        "page previews need Poppler's pdftoppm (Debian: apt-get install poppler-utils)",
    )
    .map_err(|e| {
        if e.message.contains("Wrong page range") {
            refused("page", format!("the pack has no page {page}"))
        } else {
            e
        }
    })?;
    if png.is_empty() {
        return Err(refused("page", format!("the pack has no page {page}")));
    }
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

/// Opens a written pack in the system's PDF viewer (`xdg-open`); returns at once.
#[tauri::command]
#[specta::specta]
pub fn open_pack(file: String) -> Result<(), CommandError> {
    super::open_with_system(&pack_file(&file)?)
}

/// Sends a written pack to the system's default printer (CUPS `lp`); returns what `lp` said
/// (the job it queued).
#[tauri::command(async)]
#[specta::specta]
pub fn print_pack(file: String) -> Result<String, CommandError> {
    let path = pack_file(&file)?;
    let out = run(
        "lp",
        &["--".as_ref(), path.as_os_str()],
        "no print service on this computer (CUPS: apt-get install cups-client), or open the pack in a PDF viewer and print from there",
    )?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Copies a written pack to `to` (a PDF file name in an existing folder); an existing file there
/// is replaced in one step.
#[tauri::command]
#[specta::specta]
pub fn save_pack_as(file: String, to: String) -> Result<String, CommandError> {
    let from = pack_file(&file)?;
    let to_path = super::save_path(&to, "pdf")?;
    let bytes =
        std::fs::read(&from).map_err(|e| refused("file", format!("cannot read {file}: {e}")))?;
    desk_brief::write_file(&to_path, &bytes)?;
    Ok(to_path.display().to_string())
}
