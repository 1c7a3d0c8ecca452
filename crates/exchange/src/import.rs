//! Import of whole files: read (bounded), decoded, parsed, mapped and brought in through
//! [`crate::records`], with a report a person can act on.

use crate::csv::CsvError;
use crate::mapping::{ColumnMap, MappingError};
use crate::records::{self, Options, Report, Rows};
use crate::text::{Encoding, TextError};
use desk_core::{Entity, Fields, Progress, Replica};
use serde::Serialize;
use std::io::Read;
use std::path::Path;

/// The largest file an import reads: about 200,000 contacts of an Outlook export. A bigger one
/// is refused before it is read (split it, or export fewer columns).
pub const MAX_FILE_BYTES: u64 = 40 * 1024 * 1024;

/// Rows shown before anything is written.
pub const PREVIEW_ROWS: usize = 5;

/// Why a file was not imported. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {message}")]
    File { path: String, message: String },
    #[error("{path} is {size} MB; {reader} takes files up to {max} MB{advice}")]
    TooBig {
        path: String,
        size: u64,
        max: u64,
        reader: &'static str,
        advice: &'static str,
    },
    #[error("{0}")]
    Text(#[from] TextError),
    #[error("{0}")]
    Csv(#[from] CsvError),
    #[error("{0}")]
    Mapping(#[from] MappingError),
    #[error("{0}")]
    Vcard(#[from] crate::vcard::VcardError),
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Replica(#[from] desk_core::Error),
}

/// Reads a file to import, refusing one larger than [`MAX_FILE_BYTES`] before reading it.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ImportError> {
    read_bounded(path, MAX_FILE_BYTES, "an import", " (split it into parts)")
}

/// Reads a backup to restore, up to [`crate::backup::MAX_BACKUP_BYTES`].
pub fn read_backup(path: &Path) -> Result<Vec<u8>, ImportError> {
    read_bounded(path, crate::backup::MAX_BACKUP_BYTES, "a restore", "")
}

/// Reads `path` whole, refusing it before reading when it is larger than `max` (and bounded
/// even if the file grows while it is read).
fn read_bounded(
    path: &Path,
    max: u64,
    reader: &'static str,
    advice: &'static str,
) -> Result<Vec<u8>, ImportError> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| ImportError::File {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let too_big = |size: u64| ImportError::TooBig {
        path: shown.clone(),
        size: size.div_ceil(1024 * 1024),
        max: max / (1024 * 1024),
        reader,
        advice,
    };
    if size > max {
        return Err(too_big(size));
    }
    let mut data = Vec::with_capacity(size as usize);
    file.take(max + 1)
        .read_to_end(&mut data)
        .map_err(|e| ImportError::File {
            path: shown.clone(),
            message: e.to_string(),
        })?;
    if data.len() as u64 > max {
        return Err(too_big(data.len() as u64));
    }
    Ok(data)
}

/// How to read a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    pub encoding: Option<Encoding>,
    pub delimiter: Option<char>,
    /// Column (header or letter) → field; an empty field leaves the column out.
    pub map: Vec<(String, String)>,
    pub import: Options,
}

/// What a CSV import read and did.
#[derive(Debug, Clone, Serialize)]
pub struct CsvReport {
    pub encoding: Encoding,
    pub delimiter: char,
    pub mapping: Vec<ColumnMap>,
    /// The first rows as the record fields they become.
    pub preview: Vec<Fields>,
    pub report: Report,
}

/// Imports CSV `bytes` as records of `entity` (contact, organisation or project).
pub fn csv(
    r: &mut Replica,
    entity: Entity,
    bytes: &[u8],
    opts: &CsvOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<CsvReport, ImportError> {
    if !records::IMPORTABLE.contains(&entity) {
        return Err(ImportError::Unsupported(format!(
            "CSV imports contacts, organisations and projects, not {}s",
            entity.name().replace('_', " ")
        )));
    }
    let text = crate::text::decode(bytes, opts.encoding)?;
    let encoding = text.encoding;
    let table = crate::csv::parse(&text.text, opts.delimiter)?;
    // The table holds its own copies of the cells.
    drop(text);
    let mapping = crate::mapping::detect(entity, &table, &opts.map)?;
    if !mapping.iter().any(|m| m.field.is_some()) {
        return Err(MappingError(format!(
            "no column of this file fills a {} field (its columns: {}); name them with --map COLUMN=FIELD",
            entity.name(),
            table.headers.join(", ")
        ))
        .into());
    }
    // Each row becomes fields only when the import comes to it (see `records::import_each`).
    let mapper = crate::mapping::RowMapper::new(entity, &table, &mapping);
    let preview = (0..table.rows.len().min(PREVIEW_ROWS))
        .map(|i| mapper.fields(i).1)
        .collect();
    let report = records::import_each(r, entity, &mapper, opts.import, progress)?;
    Ok(CsvReport {
        encoding,
        delimiter: table.delimiter,
        mapping,
        preview,
        report,
    })
}
