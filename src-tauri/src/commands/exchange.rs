//! Data in and out: the import dialog (a file's bytes checked in a dry run — mapping, first
//! rows, every refused row — then imported with progress, one undo step) and the export
//! actions of the lists, the meeting page, the tracker and the portfolio (written to the path
//! the user confirms). Reading, matching, validating and writing are `desk-exchange`'s and the
//! core's; the same functions serve `desk import` and `desk export`.

use super::{today, with};
use crate::error::CommandError;
use crate::state::AppState;
use desk_core::{Entity, ErrorKind, Fields};
use desk_exchange::export::ExportError;
use desk_exchange::import::ImportError;
use desk_exchange::mapping::ColumnMap;
use desk_exchange::records::{Options, Report};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::State;

fn bad(field: &str, message: impl Into<String>) -> CommandError {
    CommandError {
        kind: ErrorKind::Validation,
        field: Some(field.into()),
        message: message.into(),
    }
}

impl From<ImportError> for CommandError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::Replica(e) => e.into(),
            ImportError::Mapping(m) => bad("map", m.0),
            other => bad("file", other.to_string()),
        }
    }
}

impl From<ExportError> for CommandError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Replica(e) => e.into(),
            ExportError::Restricted { .. } => bad("include_restricted", e.to_string()),
            other => bad("kind", other.to_string()),
        }
    }
}

impl From<desk_exchange::backup::BackupError> for CommandError {
    fn from(e: desk_exchange::backup::BackupError) -> Self {
        use desk_exchange::backup::BackupError;
        match e {
            BackupError::Replica(e) => e.into(),
            BackupError::Restricted(_) => bad("include_restricted", e.to_string()),
            other => bad("kind", other.to_string()),
        }
    }
}

/// What the import dialog sends: the file, what its rows are, and how to read it.
#[derive(Debug, Deserialize, specta::Type)]
pub struct ImportRequest {
    pub filename: String,
    pub data_base64: String,
    /// contact, organisation or project (CSV; a vCard is contacts).
    pub entity: String,
    /// An encoding name (`utf-8`, `utf-16le`, `windows-1252` …); none: detected.
    pub encoding: Option<String>,
    /// `,`, `;` or a tab; none: detected.
    pub delimiter: Option<String>,
    /// Column (header) → field; an empty field leaves the column out.
    pub map: Vec<(String, String)>,
    /// Check only (the preview), or write.
    pub dry_run: bool,
    pub skip_invalid: bool,
}

/// What the dialog shows: how the file was read, the mapping and the fields it may choose
/// from, the first rows as records, and the report (of a dry run, or of the import).
#[derive(Debug, Serialize, specta::Type)]
pub struct ImportOutcome {
    /// "csv" or "vcard".
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub mapping: Vec<ColumnMap>,
    pub targets: Vec<String>,
    pub preview: Vec<Fields>,
    pub report: Report,
}

/// A vCard by its name or its first line; anything else is read as CSV.
fn is_vcard(filename: &str, data: &[u8]) -> bool {
    let lower = filename.to_lowercase();
    lower.ends_with(".vcf")
        || lower.ends_with(".vcard")
        || data
            .iter()
            .take(64)
            .filter(|b| **b != 0)
            .map(|b| b.to_ascii_uppercase() as char)
            .collect::<String>()
            .trim_start_matches('\u{FEFF}')
            .contains("BEGIN:VCARD")
}

/// Imports (or with `dry_run`, checks) a CSV or vCard file, emitting `import-progress`
/// events ({stage, done, total}) as it goes.
#[tauri::command(async)]
#[specta::specta]
pub fn import_file<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    state: State<'_, AppState>,
    request: ImportRequest,
) -> Result<ImportOutcome, CommandError> {
    use base64::Engine;
    let max = desk_exchange::import::MAX_FILE_BYTES as usize;
    if request.data_base64.len() / 4 * 3 > max {
        return Err(bad(
            "file",
            format!(
                "{} is {} MB; an import takes files up to {} MB (split it into parts)",
                request.filename,
                request.data_base64.len() / 4 * 3 / (1024 * 1024),
                max / (1024 * 1024)
            ),
        ));
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(request.data_base64.as_bytes())
        .map_err(|e| {
            bad(
                "file",
                format!("the file's bytes did not arrive whole ({e})"),
            )
        })?;
    let opts = Options {
        dry_run: request.dry_run,
        skip_invalid: request.skip_invalid,
    };
    let mut guard = state.replica();
    let r = guard.as_mut().ok_or_else(crate::error::locked)?;
    let mut progress = |p: desk_core::Progress| crate::events::import_progress(&app, &p);
    if is_vcard(&request.filename, &data) {
        let done = desk_exchange::cards::import(r, &data, opts, &mut progress)?;
        return Ok(ImportOutcome {
            format: "vcard".into(),
            encoding: None,
            delimiter: None,
            mapping: Vec::new(),
            targets: Vec::new(),
            preview: done.preview,
            report: done.report,
        });
    }
    let entity = super::entity(&request.entity)?;
    let encoding = match request.encoding.as_deref().filter(|e| !e.is_empty()) {
        Some(name) => Some(desk_exchange::text::Encoding::named(name).ok_or_else(|| {
            bad(
                "encoding",
                format!(
                    "\"{name}\" is not an encoding this reads: {}",
                    desk_exchange::text::Encoding::NAMES.join(", ")
                ),
            )
        })?),
        None => None,
    };
    let delimiter = match request.delimiter.as_deref() {
        None | Some("") => None,
        Some("\t" | "tab") => Some('\t'),
        Some(d) if d.chars().count() == 1 => d.chars().next(),
        Some(d) => return Err(bad("delimiter", format!("\"{d}\" is not one character"))),
    };
    let done = desk_exchange::import::csv(
        r,
        entity,
        &data,
        &desk_exchange::import::CsvOptions {
            encoding,
            delimiter,
            map: request.map,
            import: opts,
        },
        &mut progress,
    )?;
    Ok(ImportOutcome {
        format: "csv".into(),
        encoding: Some(done.encoding.to_string()),
        delimiter: Some(done.delimiter.to_string()),
        mapping: done.mapping,
        targets: desk_exchange::mapping::targets(entity)
            .into_iter()
            .map(str::to_string)
            .collect(),
        preview: done.preview,
        report: done.report,
    })
}

/// What to export.
#[derive(Debug, Deserialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportRequest {
    /// Contacts, organisations or projects as CSV.
    Csv { entity: String },
    /// Every contact as vCards (3 or 4).
    Vcard { version: u8 },
    /// One meeting's event.
    MeetingIcs { meeting: String },
    /// A framework's meetings as one calendar.
    FrameworkIcs { framework: String },
    /// The follow-up matrix of a framework.
    FollowupXlsx { framework: String },
    /// A meeting's participants by delegation.
    ParticipantsXlsx { meeting: String },
    /// The project portfolio.
    PortfolioXlsx,
    /// A backup of the whole replica (JSON), document files too when `files`.
    Backup { files: bool },
}

impl ExportRequest {
    fn extension(&self) -> &'static str {
        match self {
            ExportRequest::Csv { .. } => "csv",
            ExportRequest::Vcard { .. } => "vcf",
            ExportRequest::MeetingIcs { .. } | ExportRequest::FrameworkIcs { .. } => "ics",
            ExportRequest::Backup { .. } => "json",
            _ => "xlsx",
        }
    }

    /// A file name for the export, from what it holds.
    fn file_name(&self, r: &desk_core::Replica) -> String {
        let meeting = |id: &str| {
            r.get(Entity::Meeting, id)
                .ok()
                .and_then(|m| m.str("short_title").or(m.str("title")).map(str::to_string))
                .unwrap_or_else(|| "meeting".into())
        };
        let stem = match self {
            ExportRequest::Csv { entity } => format!("{entity}s"),
            ExportRequest::Vcard { .. } => "contacts".into(),
            ExportRequest::MeetingIcs { meeting: m } => meeting(m),
            ExportRequest::FrameworkIcs { framework } => format!("{framework} meetings"),
            ExportRequest::FollowupXlsx { framework } => format!("{framework} follow-up"),
            ExportRequest::ParticipantsXlsx { meeting: m } => {
                format!("{} participants", meeting(m))
            }
            ExportRequest::PortfolioXlsx => "Portfolio".into(),
            ExportRequest::Backup { .. } => "Secretariat Desk backup".into(),
        };
        format!(
            "{} {}.{}",
            super::file_name_from(&stem),
            today(),
            self.extension()
        )
    }

    fn bytes(&self, r: &desk_core::Replica, restricted: bool) -> Result<Vec<u8>, CommandError> {
        use desk_exchange::{calendar, cards, export, reports, vcard, xlsx};
        let zoneinfo = std::path::Path::new(desk_exchange::ical::SYSTEM_ZONEINFO);
        let xlsx = |book: Result<xlsx::Workbook, ExportError>| -> Result<Vec<u8>, CommandError> {
            xlsx::write(&book?).map_err(|e| bad("kind", e.to_string()))
        };
        Ok(match self {
            ExportRequest::Csv { entity } => {
                export::csv(r, super::entity(entity)?, restricted)?.into_bytes()
            }
            ExportRequest::Vcard { version } => {
                let v = if *version == 3 {
                    vcard::Version::V3
                } else {
                    vcard::Version::V4
                };
                cards::export(r, v, restricted)?.into_bytes()
            }
            ExportRequest::MeetingIcs { meeting } => calendar::ics(
                r,
                &calendar::Selection::Meeting(meeting.clone()),
                restricted,
                zoneinfo,
            )?
            .into_bytes(),
            ExportRequest::FrameworkIcs { framework } => calendar::ics(
                r,
                &calendar::Selection::Framework(framework.clone()),
                restricted,
                zoneinfo,
            )?
            .into_bytes(),
            ExportRequest::FollowupXlsx { framework } => {
                xlsx(reports::followup(r, framework, today(), restricted))?
            }
            ExportRequest::ParticipantsXlsx { meeting } => {
                xlsx(reports::participants(r, meeting, restricted))?
            }
            ExportRequest::PortfolioXlsx => xlsx(reports::portfolio(r, today(), restricted))?,
            ExportRequest::Backup { files } => desk_exchange::backup::to_json(
                &desk_exchange::backup::export(r, *files, restricted)?,
            ),
        })
    }
}

/// Where an export is saved unless the user says otherwise: the Documents folder (else the
/// home folder), named after what it holds and today's date.
#[tauri::command]
#[specta::specta]
pub fn export_path(
    state: State<'_, AppState>,
    request: ExportRequest,
) -> Result<String, CommandError> {
    let name = with(&state, |r| Ok(request.file_name(r)))?;
    Ok(export_dir().join(name).display().to_string())
}

/// Where files the user takes away are suggested: `DESK_EXPORT_DIR`, else the Documents folder
/// (else the home folder).
pub fn export_dir() -> PathBuf {
    std::env::var_os("DESK_EXPORT_DIR")
        .map(PathBuf::from)
        .or_else(dirs_documents)
        .unwrap_or_else(std::env::temp_dir)
}

fn dirs_documents() -> Option<PathBuf> {
    let home = PathBuf::from(std::env::var_os("HOME")?);
    let docs = home.join("Documents");
    Some(if docs.is_dir() { docs } else { home })
}

/// Where an export went.
#[derive(Debug, Serialize, specta::Type)]
pub struct Exported {
    pub path: String,
    pub bytes: u32,
}

/// Writes an export to `to` (replaced in one step): refused unless it ends in the format's
/// extension and its folder exists, or when it holds restricted records and
/// `include_restricted` is not set (the error names that field).
#[tauri::command(async)]
#[specta::specta]
pub fn export_file(
    state: State<'_, AppState>,
    request: ExportRequest,
    to: String,
    include_restricted: bool,
) -> Result<Exported, CommandError> {
    let path = super::save_path(&to, request.extension())?;
    let bytes = {
        let guard = state.replica();
        let r = guard.as_ref().ok_or_else(crate::error::locked)?;
        request.bytes(r, include_restricted)?
    };
    desk_brief::write_file(&path, &bytes)?;
    Ok(Exported {
        path: path.display().to_string(),
        bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
    })
}
