//! A small XLSX (Office Open XML spreadsheet) writer for lists and reports.
//!
//! What it is: [`write()`] turns a [`Workbook`] — sheets of typed cells under a header row — into
//! the bytes of an `.xlsx` file that Excel, LibreOffice and Python's openpyxl open; [`write_file`]
//! puts those bytes on disk without ever leaving a half-written file behind. The ZIP container is
//! written here too (deflated entries, no ZIP64), so the crate needs nothing beyond `flate2`.
//!
//! What every sheet gets:
//! - a bold header row that stays in view while scrolling (a frozen pane) and carries an
//!   autofilter over the header and all rows;
//! - typed cells: numbers as numbers, dates as Excel dates shown `yyyy-mm-dd`, text as inline
//!   text that Excel never evaluates — text that starts like a formula (`=`, `+`, `-`, `@`) is
//!   stored with Excel's own "quote prefix" mark, so it stays text even after someone edits it;
//! - column widths that fit their contents (wide East Asian characters count double, Thai, Lao,
//!   Khmer and Myanmar vowel and tone marks count nothing), within a cap;
//! - optionally, *marked* rows (for example overdue items) drawn in Excel's "bad" colours: a
//!   light red fill with dark red text. A row is marked by building it with [`Row::marked`].
//!
//! The same workbook always gives the same bytes: the ZIP headers carry a fixed timestamp
//! (1980-01-01 00:00) and the document properties carry no dates.
//!
//! What it is not: a general spreadsheet library. There are no formulas, merged cells, charts or
//! several fonts; it writes, it never reads.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Datelike, NaiveDate};
use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};

/// A whole spreadsheet file: one or more sheets, in tab order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workbook {
    /// The sheets, first tab first. A workbook needs at least one.
    pub sheets: Vec<Sheet>,
}

/// One sheet (tab) of a workbook: a header row of columns, then the data rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sheet {
    /// The tab's name. It is cleaned up when written: characters Excel forbids in sheet names
    /// (`[ ] : * ? / \` and control characters) become `_`, leading and trailing apostrophes
    /// are dropped, it is cut to 31 characters, and an empty name becomes `SheetN`. After that
    /// clean-up, two sheets of one workbook may not share a name (ignoring case) — that is an
    /// error, not something fixed silently.
    pub name: String,
    /// The columns, left to right. Their headers make row 1 of the sheet; their kinds choose
    /// number formats and widths.
    pub columns: Vec<Column>,
    /// The data rows, from row 2 on. A row may have fewer cells than there are columns (the
    /// missing ones are empty) but not more.
    pub rows: Vec<Row>,
}

impl Sheet {
    /// A sheet with the given name and columns and no rows yet.
    pub fn new(name: impl Into<String>, columns: Vec<Column>) -> Self {
        Sheet {
            name: name.into(),
            columns,
            rows: Vec::new(),
        }
    }
}

/// One column of a sheet: its header text, what kind of values it holds, and how wide it may get.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The text of the header cell (row 1).
    pub header: String,
    /// What the column holds; chooses the number format of its number cells, and whether its
    /// text wraps.
    pub kind: ColumnKind,
    /// The widest the column may get, in Excel's width units (roughly characters). `None`
    /// means 60. Columns are as wide as their longest content otherwise, and never narrower
    /// than 6.
    pub max_width: Option<f64>,
}

impl Column {
    /// A column with this header and kind, and the default width cap.
    pub fn new(header: impl Into<String>, kind: ColumnKind) -> Self {
        Column {
            header: header.into(),
            kind,
            max_width: None,
        }
    }

    /// The same column, but never wider than `width` (in Excel's width units).
    pub fn with_max_width(mut self, width: f64) -> Self {
        self.max_width = Some(width);
        self
    }
}

/// What a column holds. It decides how the column's number cells are shown and whether its
/// text wraps; it never changes what is stored in a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColumnKind {
    /// Short text. Numbers in it are shown as Excel's "General" format.
    #[default]
    Text,
    /// Long text (notes, descriptions): the column is at most 60 wide and its cells wrap onto
    /// several lines. In a sheet with such a column, all data cells sit at the top of their
    /// (taller) rows.
    WrapText,
    /// Plain numbers, shown as Excel's "General" format.
    Number,
    /// Amounts of money, shown as whole numbers with thousands separators (`#,##0`).
    Money,
    /// Fractions shown as percentages (`0%`): 0.25 shows as 25%.
    Percent,
    /// Dates, shown `yyyy-mm-dd`. (Date cells are shown that way in any column.)
    Date,
}

/// One data row of a sheet.
///
/// Design note: marking is a property of the row (not a parallel list of flags on the sheet), so
/// a marked row can't get out of step with its cells when rows are sorted or filtered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// The cells, left to right, one per column at most.
    pub cells: Vec<Cell>,
    /// Whether the row is drawn as needing attention (for example, overdue): every cell under a
    /// column, empty or not, gets a light red fill (`FFFFC7CE`) and dark red text (`FF9C0006`).
    pub marked: bool,
}

impl Row {
    /// An ordinary (unmarked) row.
    pub fn new(cells: Vec<Cell>) -> Self {
        Row {
            cells,
            marked: false,
        }
    }

    /// A marked row: drawn with a light red fill and dark red text.
    pub fn marked(cells: Vec<Cell>) -> Self {
        Row {
            cells,
            marked: true,
        }
    }
}

impl From<Vec<Cell>> for Row {
    fn from(cells: Vec<Cell>) -> Self {
        Row::new(cells)
    }
}

/// The value of one cell.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    /// Nothing. (Empty text is written as nothing too.)
    #[default]
    Empty,
    /// Text, stored as text and never evaluated as a formula. Line breaks are kept (as Excel's
    /// line feeds); characters XML cannot carry (control characters other than tab and line
    /// breaks) are dropped; text longer than Excel's 32,767-character cell limit is cut there
    /// and ends with `…`.
    Text(String),
    /// A number. It must be finite: NaN and infinities are an error, since Excel has no way to
    /// store them.
    Number(f64),
    /// A calendar date, stored as an Excel date (a day number) and shown `yyyy-mm-dd`. Dates
    /// Excel cannot show (before 1900-01-01 or after 9999-12-31) are written as text instead.
    Date(NaiveDate),
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<f64> for Cell {
    fn from(number: f64) -> Self {
        Cell::Number(number)
    }
}

impl From<i64> for Cell {
    /// A whole number. Beyond ±2^53 it loses precision, as it would in Excel itself.
    fn from(number: i64) -> Self {
        Cell::Number(number as f64)
    }
}

impl From<NaiveDate> for Cell {
    fn from(date: NaiveDate) -> Self {
        Cell::Date(date)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    /// `None` is an empty cell.
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Empty, Into::into)
    }
}

/// Why a workbook could not be written.
///
/// Sheet names in these errors are the names as given in [`Sheet::name`]; row numbers count
/// data rows from 1 and also give the spreadsheet row (the header is spreadsheet row 1).
#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    /// The workbook has no sheets; a spreadsheet file needs at least one.
    #[error("the workbook has no sheets; a spreadsheet needs at least one")]
    NoSheets,
    /// Two sheets end up with the same tab name (ignoring case, after clean-up).
    #[error(
        "sheets {first} and {second} are both named \"{name}\" (after clean-up, ignoring case); \
         sheet names in a workbook must differ"
    )]
    DuplicateSheetName {
        /// The clashing name, as it would appear on the tab.
        name: String,
        /// Position of the first sheet with that name, counting from 1.
        first: usize,
        /// Position of the second sheet with that name, counting from 1.
        second: usize,
    },
    /// A row has more cells than its sheet has columns.
    #[error(
        "sheet \"{sheet}\": data row {row} (spreadsheet row {}) has {cells} cells but the sheet \
         has only {columns} columns",
        row + 1
    )]
    RowTooLong {
        /// The sheet's name as given.
        sheet: String,
        /// The data row, counting from 1.
        row: usize,
        /// How many cells the row has.
        cells: usize,
        /// How many columns the sheet has.
        columns: usize,
    },
    /// A number cell holds NaN or an infinity.
    #[error(
        "sheet \"{sheet}\": data row {row} (spreadsheet row {}), column \"{column}\" holds {value}, \
         which a spreadsheet cannot store",
        row + 1
    )]
    NotFinite {
        /// The sheet's name as given.
        sheet: String,
        /// The data row, counting from 1.
        row: usize,
        /// The column's header.
        column: String,
        /// The value, as text (`NaN`, `inf` or `-inf`).
        value: String,
    },
    /// A sheet has more rows than Excel allows (1,048,576 including the header).
    #[error(
        "sheet \"{sheet}\" has {rows} data rows; Excel allows at most 1,048,575 under the header"
    )]
    TooManyRows {
        /// The sheet's name as given.
        sheet: String,
        /// How many data rows it has.
        rows: usize,
    },
    /// A sheet has more columns than Excel allows (16,384).
    #[error("sheet \"{sheet}\" has {columns} columns; Excel allows at most 16,384")]
    TooManyColumns {
        /// The sheet's name as given.
        sheet: String,
        /// How many columns it has.
        columns: usize,
    },
    /// The file would be too large for a plain ZIP container (some size or offset passes 4 GiB).
    #[error(
        "the spreadsheet is too large: {what} passes the 4 GiB limit of a ZIP file without ZIP64"
    )]
    TooLarge {
        /// Which part or size went over the limit.
        what: String,
    },
    /// Compressing a part of the file failed.
    #[error("could not compress {part}: {source}")]
    Compress {
        /// The part being compressed.
        part: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Writing the file to disk failed; any file that was already at the path is untouched.
    #[error("could not write {}: {source}", path.display())]
    Io {
        /// The file being written (or its temporary neighbour).
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Writes the workbook as the bytes of an `.xlsx` file.
///
/// The same workbook always gives the same bytes. Fails if there are no sheets, two sheet names
/// clash, a row is longer than its sheet's columns, a number is not finite, a sheet is larger
/// than Excel allows, or the file would pass 4 GiB.
pub fn write(book: &Workbook) -> Result<Vec<u8>, XlsxError> {
    if book.sheets.is_empty() {
        return Err(XlsxError::NoSheets);
    }
    let names = sheet_names(&book.sheets)?;

    let mut styles = StyleTable::new();
    let mut sheet_parts = Vec::with_capacity(book.sheets.len());
    let mut filters = Vec::with_capacity(book.sheets.len());
    for (index, (sheet, name)) in book.sheets.iter().zip(&names).enumerate() {
        let (xml, filter) = sheet_xml(sheet, index == 0, &mut styles)?;
        sheet_parts.push(xml);
        filters.push(filter.map(|range| (name.as_str(), range)));
    }

    let mut zip = ZipWriter::default();
    zip.add(
        "[Content_Types].xml",
        content_types_xml(names.len()).as_bytes(),
    )?;
    zip.add("_rels/.rels", ROOT_RELS.as_bytes())?;
    zip.add("docProps/core.xml", CORE_XML.as_bytes())?;
    zip.add("docProps/app.xml", APP_XML.as_bytes())?;
    zip.add("xl/workbook.xml", workbook_xml(&names, &filters).as_bytes())?;
    zip.add(
        "xl/_rels/workbook.xml.rels",
        workbook_rels_xml(names.len()).as_bytes(),
    )?;
    zip.add("xl/styles.xml", styles.xml().as_bytes())?;
    for (index, xml) in sheet_parts.iter().enumerate() {
        zip.add(
            &format!("xl/worksheets/sheet{}.xml", index + 1),
            xml.as_bytes(),
        )?;
    }
    zip.finish()
}

/// Writes the workbook to an `.xlsx` file at `path`, replacing any file already there.
///
/// The bytes go first to a temporary file in the same directory, which is flushed to disk and
/// then renamed over `path`; if anything fails, the temporary file is removed and whatever was
/// at `path` before is left as it was.
pub fn write_file(book: &Workbook, path: impl AsRef<Path>) -> Result<(), XlsxError> {
    let path = path.as_ref();
    let bytes = write(book)?;

    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workbook.xlsx".to_owned());
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));

    write_then_rename(&bytes, &temp, path).map_err(|source| {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&temp);
        XlsxError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Writes `bytes` to a new file `temp`, flushes it to disk and renames it to `path`.
fn write_then_rename(bytes: &[u8], temp: &Path, path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(temp, path)
}

// ---------------------------------------------------------------------------------------------
// Sheet names

/// The longest sheet name Excel accepts, in UTF-16 units.
const MAX_SHEET_NAME: usize = 31;

/// The cleaned-up tab name of every sheet; an error if two clash.
fn sheet_names(sheets: &[Sheet]) -> Result<Vec<String>, XlsxError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut names = Vec::with_capacity(sheets.len());
    for (index, sheet) in sheets.iter().enumerate() {
        let name = sanitize_sheet_name(&sheet.name, index + 1);
        if let Some(&first) = seen.get(&name.to_lowercase()) {
            return Err(XlsxError::DuplicateSheetName {
                name,
                first,
                second: index + 1,
            });
        }
        seen.insert(name.to_lowercase(), index + 1);
        names.push(name);
    }
    Ok(names)
}

/// A sheet name Excel accepts: no `[]:*?/\` or control characters, no apostrophe at either
/// end, at most 31 UTF-16 units (without cutting a base letter from its marks), not empty and
/// not Excel's reserved `History`.
fn sanitize_sheet_name(name: &str, position: usize) -> String {
    let replaced: String = name
        .chars()
        .map(|c| match c {
            '[' | ']' | ':' | '*' | '?' | '/' | '\\' => '_',
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => '_',
            c => c,
        })
        .collect();
    let trimmed = replaced.trim_matches('\'');

    let mut out = String::new();
    let mut units = 0;
    for c in trimmed.chars() {
        if units + c.len_utf16() > MAX_SHEET_NAME {
            // Don't leave a base letter whose marks were cut off.
            if char_width(c) == 0 {
                while let Some(last) = out.pop() {
                    if char_width(last) != 0 {
                        break;
                    }
                }
            }
            break;
        }
        units += c.len_utf16();
        out.push(c);
    }
    let out = out.trim_end_matches('\'').to_owned();

    if out.trim().is_empty() {
        format!("Sheet{position}")
    } else if out.eq_ignore_ascii_case("History") {
        format!("{out}_")
    } else {
        out
    }
}

/// A sheet name as it goes in a formula or defined name: in apostrophes, its own doubled.
fn quoted_sheet_name(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

// ---------------------------------------------------------------------------------------------
// Cell references, dates, text

/// Excel's most rows per sheet.
const MAX_ROWS: usize = 1_048_576;
/// Excel's most columns per sheet.
const MAX_COLUMNS: usize = 16_384;
/// Excel's most characters (UTF-16 units) in one cell.
const MAX_CELL_TEXT: usize = 32_767;

/// The letters of a column in A1 notation, from a 0-based index: 0 → `A`, 26 → `AA`.
fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// An A1 reference from a 0-based column and a 1-based row.
fn cell_ref(column: usize, row: usize) -> String {
    format!("{}{row}", column_letters(column))
}

/// `NaiveDate::num_days_from_ce` of 1899-12-30, Excel's day 0.
const EXCEL_EPOCH_DAYS_FROM_CE: i64 = 693_594;
/// Excel's day number of 9999-12-31, the last date it shows.
const EXCEL_LAST_SERIAL: i64 = 2_958_465;

/// Excel's day number ("serial") of a date, or `None` if Excel cannot show it.
///
/// From 1900-03-01 on it is the days since 1899-12-30. Excel counts a 29 February 1900 that
/// never was (day 60), so the first two months of 1900 are one lower: 1900-01-01 is day 1.
fn excel_serial(date: NaiveDate) -> Option<i64> {
    let days = i64::from(date.num_days_from_ce()) - EXCEL_EPOCH_DAYS_FROM_CE;
    match days {
        61..=EXCEL_LAST_SERIAL => Some(days),
        2..=60 => Some(days - 1),
        _ => None,
    }
}

/// Whether XML 1.0 can carry the character at all.
fn xml_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

/// Escapes text for XML element content or attribute values, dropping characters XML 1.0
/// forbids. Tab, line feed and carriage return are written as character references, so they
/// survive in attributes and a carriage return isn't folded into a line feed by XML parsers.
fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if xml_allowed(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Cell text as Excel should store it: characters XML forbids dropped, line breaks as line
/// feeds (Excel's in-cell break), cut at Excel's cell limit, and any literal `_xHHHH_` guarded
/// so Excel doesn't read it as one of its own character escapes.
fn cell_text(text: &str) -> String {
    let cleaned: String = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|&c| xml_allowed(c))
        .collect();

    let cut = if cleaned.encode_utf16().count() > MAX_CELL_TEXT {
        let mut out = String::new();
        let mut units = 0;
        for c in cleaned.chars() {
            if units + c.len_utf16() > MAX_CELL_TEXT - 1 {
                break;
            }
            units += c.len_utf16();
            out.push(c);
        }
        out.push('…');
        out
    } else {
        cleaned
    };

    // Excel reads `_xHHHH_` as the character U+HHHH; a literal one is written `_x005F_xHHHH_`.
    let bytes = cut.as_bytes();
    let mut out = String::with_capacity(cut.len());
    for (i, c) in cut.char_indices() {
        if c == '_' && looks_like_excel_escape(&bytes[i..]) {
            out.push_str("_x005F_");
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether the bytes start with `_xHHHH_` (H a hexadecimal digit).
fn looks_like_excel_escape(bytes: &[u8]) -> bool {
    bytes.len() >= 7
        && bytes[0] == b'_'
        && bytes[1] == b'x'
        && bytes[2..6].iter().all(u8::is_ascii_hexdigit)
        && bytes[6] == b'_'
}

/// Whether text would be taken for a formula if typed into a cell: it starts with `=`, `+`, `-`
/// or `@` (or their full-width forms, which East Asian input methods turn into those).
fn looks_like_formula(text: &str) -> bool {
    matches!(
        text.chars().next(),
        Some('=' | '+' | '-' | '@' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}')
    )
}

// ---------------------------------------------------------------------------------------------
// Widths

/// Default and largest width of a column, and the cap of a wrapping column.
const DEFAULT_MAX_WIDTH: f64 = 60.0;
/// Excel's own limit on a column's width.
const EXCEL_MAX_WIDTH: f64 = 255.0;
/// The narrowest column written.
const MIN_WIDTH: f64 = 6.0;
/// Room added to the longest content.
const PADDING: f64 = 2.0;
/// Room the autofilter's drop-down button takes in a header cell.
const FILTER_BUTTON: usize = 2;
/// How many characters Excel's "General" format shows of a number at the most.
const GENERAL_MAX_CHARS: usize = 11;

/// How many character cells a character takes: 2 for East Asian wide and full-width forms, 0
/// for combining marks (Latin diacritics; Thai, Lao, Khmer and Myanmar vowel and tone marks;
/// zero-width characters), 1 for the rest. An approximation of Unicode's East Asian Width and
/// general categories Mn/Me, good enough to size a column.
fn char_width(c: char) -> usize {
    let cp = u32::from(c);
    let zero = matches!(cp,
        0x0300..=0x036F
        | 0x0483..=0x0489
        | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E
        | 0x0EB1 | 0x0EB4..=0x0EBC | 0x0EC8..=0x0ECD
        | 0x102B..=0x103E | 0x1056..=0x1059 | 0x105E..=0x1060 | 0x1062..=0x1064
        | 0x1067..=0x106D | 0x1071..=0x1074 | 0x1082..=0x108D | 0x108F | 0x109A..=0x109D
        | 0x17B4..=0x17B5 | 0x17B7..=0x17BD | 0x17C6 | 0x17C9..=0x17D3 | 0x17DD
        | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF
        | 0x200B..=0x200F | 0x20D0..=0x20FF
        | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F
    );
    if zero {
        return 0;
    }
    let wide = matches!(cp,
        0x1100..=0x115F
        | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xA960..=0xA97F | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF
        | 0x20000..=0x2FFFD | 0x30000..=0x3FFFD
    );
    if wide {
        2
    } else {
        1
    }
}

/// How many character cells text takes on screen: its longest line, by [`char_width`].
fn display_width(text: &str) -> usize {
    text.split(['\n', '\r'])
        .map(|line| line.chars().map(char_width).sum())
        .max()
        .unwrap_or(0)
}

/// Digits of a whole number with thousands separators: 1234567 → `1,234,567`.
fn group_thousands(digits: &str) -> String {
    let lead = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        n => n,
    };
    let (head, tail) = digits.split_at(lead);
    let mut out = String::from(head);
    for group in tail.as_bytes().chunks(3) {
        out.push(',');
        out.extend(group.iter().map(|&b| char::from(b)));
    }
    out
}

/// How wide a number looks in a column of this kind.
fn number_width(value: f64, kind: ColumnKind) -> usize {
    let sign = usize::from(value.is_sign_negative() && value.round() != 0.0);
    match kind {
        ColumnKind::Money => {
            sign + group_thousands(&format!("{:.0}", value.abs().round()))
                .chars()
                .count()
        }
        ColumnKind::Percent => {
            let percent = (value * 100.0).round();
            usize::from(percent < 0.0) + format!("{:.0}", percent.abs()).len() + 1
        }
        _ => format!("{value}").len().min(GENERAL_MAX_CHARS),
    }
}

/// A finite number as it goes in `<v>`: the shortest text that reads back as the same number,
/// in exponent form when very large or very small (both are valid `xsd:double`).
fn number_xml(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// Width of a date as shown (`yyyy-mm-dd`).
const DATE_WIDTH: usize = 10;

/// The width to give a column: its longest content plus padding, at least [`MIN_WIDTH`], at most
/// the column's cap (60 unless set lower or higher; a wrapping column at most 60).
fn column_width(column: &Column, content: usize) -> f64 {
    let mut cap = match column.max_width {
        Some(w) if w.is_finite() && w > 0.0 => w.min(EXCEL_MAX_WIDTH),
        _ => DEFAULT_MAX_WIDTH,
    };
    if column.kind == ColumnKind::WrapText {
        cap = cap.min(DEFAULT_MAX_WIDTH);
    }
    (content as f64 + PADDING).max(MIN_WIDTH).min(cap)
}

// ---------------------------------------------------------------------------------------------
// Styles

/// The fonts of styles.xml: 0 normal, 1 bold (header), 2 dark red (marked rows).
const FONT_NORMAL: usize = 0;
const FONT_BOLD: usize = 1;
const FONT_MARKED: usize = 2;
/// The fills of styles.xml: 0 none and 1 gray125 (both required by Excel), 2 light red.
const FILL_NONE: usize = 0;
const FILL_MARKED: usize = 2;
/// Built-in number formats: General, `#,##0`, `0%`; and our custom date format.
const FMT_GENERAL: u32 = 0;
const FMT_MONEY: u32 = 3;
const FMT_PERCENT: u32 = 9;
const FMT_DATE: u32 = 164;

/// The font used throughout; Excel and LibreOffice fall back per script for characters it lacks.
const FONT_NAME: &str = "Calibri";

/// One cell format (an `<xf>` of styles.xml's cellXfs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct CellStyle {
    num_fmt: u32,
    font: usize,
    fill: usize,
    wrap: bool,
    top: bool,
    quote_prefix: bool,
}

/// The cell formats in use, numbered in the order first met; 0 is the plain default.
struct StyleTable {
    styles: Vec<CellStyle>,
    index: HashMap<CellStyle, usize>,
}

impl StyleTable {
    fn new() -> Self {
        let plain = CellStyle::default();
        StyleTable {
            styles: vec![plain],
            index: HashMap::from([(plain, 0)]),
        }
    }

    /// The number of a format, adding it if new.
    fn id(&mut self, style: CellStyle) -> usize {
        if let Some(&id) = self.index.get(&style) {
            return id;
        }
        let id = self.styles.len();
        self.styles.push(style);
        self.index.insert(style, id);
        id
    }

    /// styles.xml.
    fn xml(&self) -> String {
        let mut out = String::from(XML_DECLARATION);
        out.push_str(
            r#"<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
        );
        let _ = write!(
            out,
            r#"<numFmts count="1"><numFmt numFmtId="{FMT_DATE}" formatCode="yyyy-mm-dd"/></numFmts>"#
        );
        let _ = write!(
            out,
            concat!(
                r#"<fonts count="3">"#,
                r#"<font><sz val="11"/><name val="{f}"/><family val="2"/></font>"#,
                r#"<font><b/><sz val="11"/><name val="{f}"/><family val="2"/></font>"#,
                r#"<font><sz val="11"/><color rgb="FF9C0006"/><name val="{f}"/><family val="2"/></font>"#,
                r#"</fonts>"#
            ),
            f = FONT_NAME
        );
        out.push_str(concat!(
            r#"<fills count="3">"#,
            r#"<fill><patternFill patternType="none"/></fill>"#,
            r#"<fill><patternFill patternType="gray125"/></fill>"#,
            r#"<fill><patternFill patternType="solid"><fgColor rgb="FFFFC7CE"/><bgColor indexed="64"/></patternFill></fill>"#,
            r#"</fills>"#,
            r#"<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>"#,
            r#"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#,
        ));
        let _ = write!(out, r#"<cellXfs count="{}">"#, self.styles.len());
        for style in &self.styles {
            let _ = write!(
                out,
                r#"<xf numFmtId="{}" fontId="{}" fillId="{}" borderId="0" xfId="0""#,
                style.num_fmt, style.font, style.fill
            );
            if style.num_fmt != FMT_GENERAL {
                out.push_str(r#" applyNumberFormat="1""#);
            }
            if style.font != FONT_NORMAL {
                out.push_str(r#" applyFont="1""#);
            }
            if style.fill != FILL_NONE {
                out.push_str(r#" applyFill="1""#);
            }
            if style.quote_prefix {
                out.push_str(r#" quotePrefix="1""#);
            }
            if style.wrap || style.top {
                out.push_str(r#" applyAlignment="1"><alignment"#);
                if style.top {
                    out.push_str(r#" vertical="top""#);
                }
                if style.wrap {
                    out.push_str(r#" wrapText="1""#);
                }
                out.push_str("/></xf>");
            } else {
                out.push_str("/>");
            }
        }
        out.push_str("</cellXfs>");
        out.push_str(concat!(
            r#"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#,
            r#"<dxfs count="0"/>"#,
            r#"<tableStyles count="0" defaultTableStyle="TableStyleMedium2" defaultPivotStyle="PivotStyleLight16"/>"#,
            "</styleSheet>"
        ));
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Sheet XML

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";

/// Writes one cell with its style; empty cells are written only when styled (marked rows).
fn push_cell(out: &mut String, reference: &str, style: usize, body: CellBody<'_>) {
    let _ = write!(out, r#"<c r="{reference}""#);
    if style != 0 {
        let _ = write!(out, r#" s="{style}""#);
    }
    match body {
        CellBody::Empty => out.push_str("/>"),
        CellBody::Number(text) => {
            let _ = write!(out, "><v>{text}</v></c>");
        }
        CellBody::Text(text) => {
            let _ = write!(
                out,
                r#" t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>"#,
                escape_xml(text)
            );
        }
    }
}

/// What goes inside a cell element.
enum CellBody<'a> {
    Empty,
    /// A number, already formatted for `<v>`.
    Number(String),
    /// Text, already cleaned by [`cell_text`] (not yet escaped).
    Text(&'a str),
}

/// A worksheet's XML, and the range its autofilter covers (if it has columns).
fn sheet_xml(
    sheet: &Sheet,
    first: bool,
    styles: &mut StyleTable,
) -> Result<(String, Option<String>), XlsxError> {
    let ncols = sheet.columns.len();
    if ncols > MAX_COLUMNS {
        return Err(XlsxError::TooManyColumns {
            sheet: sheet.name.clone(),
            columns: ncols,
        });
    }
    if sheet.rows.len() >= MAX_ROWS {
        return Err(XlsxError::TooManyRows {
            sheet: sheet.name.clone(),
            rows: sheet.rows.len(),
        });
    }
    for (i, row) in sheet.rows.iter().enumerate() {
        if row.cells.len() > ncols {
            return Err(XlsxError::RowTooLong {
                sheet: sheet.name.clone(),
                row: i + 1,
                cells: row.cells.len(),
                columns: ncols,
            });
        }
    }

    let has_wrap = sheet.columns.iter().any(|c| c.kind == ColumnKind::WrapText);
    let last_row = sheet.rows.len() + 1;
    let range = (ncols > 0).then(|| {
        format!(
            "{}:{}",
            cell_ref(0, 1),
            cell_ref(ncols.saturating_sub(1), last_row)
        )
    });

    // Widths: the header's text plus its filter button, then every cell.
    let mut widths: Vec<usize> = sheet
        .columns
        .iter()
        .map(|c| display_width(&cell_text(&c.header)) + FILTER_BUTTON)
        .collect();

    let mut data = String::new();
    if ncols > 0 {
        data.push_str(r#"<row r="1">"#);
        for (c, column) in sheet.columns.iter().enumerate() {
            let text = cell_text(&column.header);
            let style = styles.id(CellStyle {
                font: FONT_BOLD,
                quote_prefix: looks_like_formula(&text),
                ..CellStyle::default()
            });
            let body = if text.is_empty() {
                CellBody::Empty
            } else {
                CellBody::Text(&text)
            };
            push_cell(&mut data, &cell_ref(c, 1), style, body);
        }
        data.push_str("</row>");
    }

    for (i, row) in sheet.rows.iter().enumerate() {
        let r = i + 2;
        let mut row_xml = String::new();
        for (c, column) in sheet.columns.iter().enumerate() {
            let cell = row.cells.get(c).unwrap_or(&Cell::Empty);
            let mut style = CellStyle {
                wrap: column.kind == ColumnKind::WrapText,
                top: has_wrap,
                ..CellStyle::default()
            };
            if row.marked {
                style.font = FONT_MARKED;
                style.fill = FILL_MARKED;
            }
            let text_owned;
            let body = match cell {
                Cell::Empty => CellBody::Empty,
                Cell::Text(text) => {
                    text_owned = cell_text(text);
                    if text_owned.is_empty() {
                        CellBody::Empty
                    } else {
                        CellBody::Text(&text_owned)
                    }
                }
                Cell::Number(value) => {
                    if !value.is_finite() {
                        return Err(XlsxError::NotFinite {
                            sheet: sheet.name.clone(),
                            row: i + 1,
                            column: column.header.clone(),
                            value: value.to_string(),
                        });
                    }
                    style.num_fmt = match column.kind {
                        ColumnKind::Money => FMT_MONEY,
                        ColumnKind::Percent => FMT_PERCENT,
                        _ => FMT_GENERAL,
                    };
                    widths[c] = widths[c].max(number_width(*value, column.kind));
                    CellBody::Number(number_xml(*value))
                }
                Cell::Date(date) => match excel_serial(*date) {
                    Some(serial) => {
                        style.num_fmt = FMT_DATE;
                        widths[c] = widths[c].max(DATE_WIDTH);
                        CellBody::Number(serial.to_string())
                    }
                    None => {
                        text_owned = date.to_string();
                        CellBody::Text(&text_owned)
                    }
                },
            };
            if let CellBody::Text(text) = &body {
                style.quote_prefix = looks_like_formula(text);
                widths[c] = widths[c].max(display_width(text));
            }
            if matches!(body, CellBody::Empty) && !row.marked {
                continue;
            }
            let style_id = styles.id(style);
            push_cell(&mut row_xml, &cell_ref(c, r), style_id, body);
        }
        if !row_xml.is_empty() {
            let _ = write!(data, r#"<row r="{r}">{row_xml}</row>"#);
        }
    }

    let mut out = String::from(XML_DECLARATION);
    out.push_str(concat!(
        r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
        r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#
    ));
    let _ = write!(
        out,
        r#"<dimension ref="{}"/>"#,
        range.as_deref().unwrap_or("A1")
    );
    out.push_str(r#"<sheetViews><sheetView"#);
    if first {
        out.push_str(r#" tabSelected="1""#);
    }
    out.push_str(r#" workbookViewId="0">"#);
    if ncols > 0 {
        out.push_str(concat!(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#,
            r#"<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>"#
        ));
    }
    out.push_str("</sheetView></sheetViews>");
    out.push_str(r#"<sheetFormatPr defaultRowHeight="15"/>"#);
    if ncols > 0 {
        out.push_str("<cols>");
        for (c, column) in sheet.columns.iter().enumerate() {
            let _ = write!(
                out,
                r#"<col min="{n}" max="{n}" width="{}" customWidth="1"/>"#,
                column_width(column, widths[c]),
                n = c + 1
            );
        }
        out.push_str("</cols>");
    }
    if data.is_empty() {
        out.push_str("<sheetData/>");
    } else {
        let _ = write!(out, "<sheetData>{data}</sheetData>");
    }
    if let Some(range) = &range {
        let _ = write!(out, r#"<autoFilter ref="{range}"/>"#);
    }
    out.push_str(concat!(
        r#"<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#,
        "</worksheet>"
    ));
    Ok((out, range))
}

// ---------------------------------------------------------------------------------------------
// Package parts

const ROOT_RELS: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    r#"<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>"#,
    r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>"#,
    r#"<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>"#,
    "</Relationships>"
);

/// Document properties without dates, so the output stays the same from run to run.
const CORE_XML: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" "#,
    r#"xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" "#,
    r#"xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
    "<dc:creator>Secretariat Desk</dc:creator>",
    "</cp:coreProperties>"
);

const APP_XML: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n",
    r#"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" "#,
    r#"xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">"#,
    "<Application>Secretariat Desk</Application>",
    "</Properties>"
);

fn content_types_xml(sheets: usize) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str(concat!(
        r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#,
        r#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#,
        r#"<Default Extension="xml" ContentType="application/xml"/>"#,
        r#"<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
        r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
        r#"<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>"#,
        r#"<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>"#,
    ));
    for n in 1..=sheets {
        let _ = write!(
            out,
            r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        );
    }
    out.push_str("</Types>");
    out
}

fn workbook_xml(names: &[String], filters: &[Option<(&str, String)>]) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str(concat!(
        r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" "#,
        r#"xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
        r#"<bookViews><workbookView activeTab="0"/></bookViews><sheets>"#
    ));
    for (i, name) in names.iter().enumerate() {
        let _ = write!(
            out,
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            escape_xml(name),
            n = i + 1
        );
    }
    out.push_str("</sheets>");
    if filters.iter().any(Option::is_some) {
        out.push_str("<definedNames>");
        for (i, filter) in filters.iter().enumerate() {
            if let Some((name, range)) = filter {
                let absolute = range
                    .split(':')
                    .map(absolute_ref)
                    .collect::<Vec<_>>()
                    .join(":");
                let _ = write!(
                    out,
                    r#"<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">{}</definedName>"#,
                    escape_xml(&format!("{}!{absolute}", quoted_sheet_name(name)))
                );
            }
        }
        out.push_str("</definedNames>");
    }
    out.push_str("</workbook>");
    out
}

/// `B12` → `$B$12`.
fn absolute_ref(reference: &str) -> String {
    let split = reference
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(reference.len());
    format!("${}${}", &reference[..split], &reference[split..])
}

fn workbook_rels_xml(sheets: usize) -> String {
    let mut out = String::from(XML_DECLARATION);
    out.push_str(
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    for n in 1..=sheets {
        let _ = write!(
            out,
            r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        );
    }
    let _ = write!(
        out,
        r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#,
        sheets + 1
    );
    out.push_str("</Relationships>");
    out
}

// ---------------------------------------------------------------------------------------------
// ZIP container

/// MS-DOS date of 1980-01-01 (the earliest a ZIP header can hold); the time is 00:00:00.
const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
const DOS_TIME_MIDNIGHT: u16 = 0;
/// "Version needed to extract" and "version made by": 2.0 (deflate), MS-DOS.
const ZIP_VERSION: u16 = 20;
const METHOD_DEFLATE: u16 = 8;

/// A ZIP archive being written in memory: deflated entries, no ZIP64, fixed timestamps.
#[derive(Default)]
struct ZipWriter {
    out: Vec<u8>,
    central: Vec<u8>,
    entries: usize,
}

fn to_u32(value: usize, what: impl FnOnce() -> String) -> Result<u32, XlsxError> {
    u32::try_from(value).map_err(|_| XlsxError::TooLarge { what: what() })
}

impl ZipWriter {
    /// Adds one file, deflated.
    fn add(&mut self, name: &str, data: &[u8]) -> Result<(), XlsxError> {
        let mut crc = Crc::new();
        crc.update(data);
        let crc = crc.sum();

        let compress_error = |source| XlsxError::Compress {
            part: name.to_owned(),
            source,
        };
        let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).map_err(compress_error)?;
        let compressed = encoder.finish().map_err(compress_error)?;

        let size = to_u32(data.len(), || format!("the size of {name}"))?;
        let compressed_size = to_u32(compressed.len(), || {
            format!("the compressed size of {name}")
        })?;
        let offset = to_u32(self.out.len(), || format!("the position of {name}"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| XlsxError::TooLarge {
            what: format!("the name {name}"),
        })?;

        // Local file header.
        let out = &mut self.out;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&ZIP_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&METHOD_DEFLATE.to_le_bytes());
        out.extend_from_slice(&DOS_TIME_MIDNIGHT.to_le_bytes());
        out.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&compressed_size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&compressed);

        // Central directory header.
        let cd = &mut self.central;
        cd.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        cd.extend_from_slice(&ZIP_VERSION.to_le_bytes()); // made by
        cd.extend_from_slice(&ZIP_VERSION.to_le_bytes()); // needed
        cd.extend_from_slice(&0u16.to_le_bytes()); // flags
        cd.extend_from_slice(&METHOD_DEFLATE.to_le_bytes());
        cd.extend_from_slice(&DOS_TIME_MIDNIGHT.to_le_bytes());
        cd.extend_from_slice(&DOS_DATE_1980_01_01.to_le_bytes());
        cd.extend_from_slice(&crc.to_le_bytes());
        cd.extend_from_slice(&compressed_size.to_le_bytes());
        cd.extend_from_slice(&size.to_le_bytes());
        cd.extend_from_slice(&name_len.to_le_bytes());
        cd.extend_from_slice(&0u16.to_le_bytes()); // extra field length
        cd.extend_from_slice(&0u16.to_le_bytes()); // comment length
        cd.extend_from_slice(&0u16.to_le_bytes()); // disk number start
        cd.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        cd.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        cd.extend_from_slice(&offset.to_le_bytes());
        cd.extend_from_slice(name.as_bytes());

        self.entries += 1;
        Ok(())
    }

    /// Appends the central directory and its end record, and returns the archive.
    fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        let cd_offset = to_u32(self.out.len(), || {
            "the central directory's position".to_owned()
        })?;
        let cd_size = to_u32(self.central.len(), || "the central directory".to_owned())?;
        let entries = u16::try_from(self.entries).map_err(|_| XlsxError::TooLarge {
            what: "the number of parts".to_owned(),
        })?;
        self.out.extend_from_slice(&self.central);
        let out = &mut self.out;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // this disk
        out.extend_from_slice(&0u16.to_le_bytes()); // disk with the central directory
        out.extend_from_slice(&entries.to_le_bytes());
        out.extend_from_slice(&entries.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Read;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("test value")
    }

    fn u16_at(b: &[u8], at: usize) -> usize {
        usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
    }

    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// A tiny ZIP reader: the central directory, each local header, inflate, CRC check.
    fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
        let eocd = bytes.len() - 22;
        assert_eq!(u32_at(bytes, eocd), 0x0605_4b50, "end of central directory");
        let entries = u16_at(bytes, eocd + 10);
        assert_eq!(entries, u16_at(bytes, eocd + 8));
        let cd_size = u32_at(bytes, eocd + 12) as usize;
        let mut at = u32_at(bytes, eocd + 16) as usize;
        assert_eq!(
            at + cd_size,
            eocd,
            "central directory ends at its end record"
        );

        let mut files = BTreeMap::new();
        for _ in 0..entries {
            assert_eq!(u32_at(bytes, at), 0x0201_4b50, "central directory header");
            assert_eq!(u16_at(bytes, at + 10), 8, "deflated");
            assert_eq!(u16_at(bytes, at + 12), 0, "fixed time");
            assert_eq!(u16_at(bytes, at + 14), 0x21, "fixed date 1980-01-01");
            let crc = u32_at(bytes, at + 16);
            let csize = u32_at(bytes, at + 20) as usize;
            let usize_ = u32_at(bytes, at + 24) as usize;
            let name_len = u16_at(bytes, at + 28);
            let extra = u16_at(bytes, at + 30);
            let comment = u16_at(bytes, at + 32);
            let local = u32_at(bytes, at + 42) as usize;
            let name =
                String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).expect("test value");
            at += 46 + name_len + extra + comment;

            assert_eq!(u32_at(bytes, local), 0x0403_4b50, "local header of {name}");
            assert_eq!(u32_at(bytes, local + 14), crc);
            assert_eq!(u32_at(bytes, local + 18) as usize, csize);
            assert_eq!(u32_at(bytes, local + 22) as usize, usize_);
            let data_at = local + 30 + u16_at(bytes, local + 26) + u16_at(bytes, local + 28);
            let mut data = Vec::new();
            flate2::read::DeflateDecoder::new(&bytes[data_at..data_at + csize])
                .read_to_end(&mut data)
                .expect("test value");
            assert_eq!(data.len(), usize_, "size of {name}");
            let mut check = Crc::new();
            check.update(&data);
            assert_eq!(check.sum(), crc, "CRC of {name}");
            files.insert(name, String::from_utf8(data).expect("test value"));
        }
        assert_eq!(at, eocd);
        files
    }

    /// The `n`th `<xf>` of styles.xml's cellXfs.
    fn cell_xf(styles: &str, n: usize) -> String {
        let start = styles.find("<cellXfs").expect("test value");
        let end = styles.find("</cellXfs>").expect("test value");
        let xfs = &styles[start..end];
        let piece = xfs.split("<xf ").nth(n + 1).expect("test value");
        piece.split("</xf>").next().expect("test value").to_owned()
    }

    /// The style number of the cell at `reference` in a sheet's XML.
    fn style_of(sheet: &str, reference: &str) -> usize {
        let at = sheet
            .find(&format!(r#"<c r="{reference}""#))
            .expect("test value");
        let rest = &sheet[at..];
        let tag_end = rest.find('>').expect("test value");
        let tag = &rest[..tag_end];
        match tag.find(r#" s=""#) {
            Some(s) => {
                let value = &tag[s + 4..];
                value[..value.find('"').expect("test value")]
                    .parse()
                    .expect("test value")
            }
            None => 0,
        }
    }

    fn sample() -> Workbook {
        Workbook {
            sheets: vec![
                Sheet {
                    name: "Tasks: 2026/Q4".to_owned(),
                    columns: vec![
                        Column::new("Title", ColumnKind::Text),
                        Column::new("Notes", ColumnKind::WrapText),
                        Column::new("Budget", ColumnKind::Money),
                        Column::new("Done", ColumnKind::Percent),
                        Column::new("Due", ColumnKind::Date),
                        Column::new("Count", ColumnKind::Number),
                    ],
                    rows: vec![
                        Row::new(vec![
                            "=SUM(A1)".into(),
                            "a <b> & \"c\" 'd'".into(),
                            Cell::Number(1_234_567.0),
                            Cell::Number(0.25),
                            Cell::Date(date(2026, 12, 7)),
                            Cell::Number(3.5),
                        ]),
                        Row::marked(vec!["-5 days".into(), Cell::Empty, Cell::Number(-12.0)]),
                        Row::new(vec!["สมชาย ใจดี".into()]),
                    ],
                },
                Sheet::new("Second", vec![Column::new("X", ColumnKind::Text)]),
            ],
        }
    }

    #[test]
    fn column_letters_go_past_z() {
        let cases = [
            (0, "A"),
            (25, "Z"),
            (26, "AA"),
            (51, "AZ"),
            (52, "BA"),
            (701, "ZZ"),
            (702, "AAA"),
            (16_383, "XFD"),
        ];
        for (index, letters) in cases {
            assert_eq!(column_letters(index), letters, "column {index}");
        }
        assert_eq!(cell_ref(27, 42), "AB42");
        assert_eq!(absolute_ref("AB42"), "$AB$42");
    }

    #[test]
    fn excel_serials() {
        assert_eq!(
            date(1899, 12, 30).num_days_from_ce() as i64,
            EXCEL_EPOCH_DAYS_FROM_CE
        );
        assert_eq!(excel_serial(date(1900, 3, 1)), Some(61));
        assert_eq!(excel_serial(date(2026, 12, 7)), Some(46363));
        assert_eq!(excel_serial(date(1900, 1, 1)), Some(1));
        assert_eq!(excel_serial(date(1900, 2, 28)), Some(59));
        assert_eq!(excel_serial(date(9999, 12, 31)), Some(EXCEL_LAST_SERIAL));
        assert_eq!(excel_serial(date(1899, 12, 31)), None);
        assert_eq!(excel_serial(date(10_000, 1, 1)), None);
    }

    #[test]
    fn xml_escaping_and_forbidden_characters() {
        assert_eq!(
            escape_xml("a&b<c>d\"e'f"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f"
        );
        assert_eq!(escape_xml("x\u{0}\u{1}\u{8}\u{B}\u{C}\u{1F}y"), "xy");
        assert_eq!(escape_xml("t\tn\nr\r"), "t&#9;n&#10;r&#13;");
        assert_eq!(escape_xml("\u{FFFE}\u{FFFF}ok\u{10000}"), "ok\u{10000}");
        assert_eq!(escape_xml("ไทย 中文 မြန်မာ"), "ไทย 中文 မြန်မာ");

        assert_eq!(cell_text("a\r\nb\rc\u{7}"), "a\nb\nc");
        assert_eq!(cell_text("_x0041_ and _x00_"), "_x005F_x0041_ and _x00_");
        let long = "é".repeat(MAX_CELL_TEXT + 10);
        let cut = cell_text(&long);
        assert_eq!(cut.encode_utf16().count(), MAX_CELL_TEXT);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn formula_like_text() {
        for text in ["=SUM(A1)", "+1", "-5 days", "@cmd", "＝1"] {
            assert!(looks_like_formula(text), "{text}");
        }
        for text in ["SUM", " =1", "5-1", ""] {
            assert!(!looks_like_formula(text), "{text}");
        }
    }

    #[test]
    fn widths_count_wide_and_combining_characters() {
        let thai = "สมชาย ใจดี";
        assert!(display_width(thai) < thai.chars().count());
        assert_eq!(display_width(thai), 9);
        assert_eq!(display_width("中文"), 4);
        assert_eq!(display_width("e\u{301}"), 1);
        assert_eq!(display_width("ab\nabcd"), 4);
        assert_eq!(display_width("မြန်မာ"), 3);
        assert_eq!(number_width(1_234_567.0, ColumnKind::Money), 9);
        assert_eq!(number_width(-1_234.4, ColumnKind::Money), 6);
        assert_eq!(number_width(0.25, ColumnKind::Percent), 3);
        assert_eq!(number_xml(3.5), "3.5");
        assert_eq!(number_xml(-12.0), "-12");
        assert_eq!(number_xml(0.0), "0");
        assert_eq!(number_xml(1e300), "1e300");
        assert_eq!(number_xml(-1.5e-7), "-1.5e-7");
        assert_eq!(number_xml(0.1), "0.1");
        assert_eq!(group_thousands("1"), "1");
        assert_eq!(group_thousands("123"), "123");
        assert_eq!(group_thousands("1234"), "1,234");
        assert_eq!(group_thousands("123456"), "123,456");
        assert_eq!(group_thousands(""), "");
        assert_eq!(
            number_width(1.0 / 3.0, ColumnKind::Number),
            GENERAL_MAX_CHARS
        );

        let text = Column::new("x", ColumnKind::Text);
        assert_eq!(column_width(&text, 1), MIN_WIDTH);
        assert_eq!(column_width(&text, 20), 22.0);
        assert_eq!(column_width(&text, 500), DEFAULT_MAX_WIDTH);
        assert_eq!(column_width(&text.clone().with_max_width(15.0), 20), 15.0);
        assert_eq!(column_width(&text.with_max_width(100.0), 90), 92.0);
        let wrap = Column::new("x", ColumnKind::WrapText).with_max_width(100.0);
        assert_eq!(column_width(&wrap, 90), DEFAULT_MAX_WIDTH);
    }

    #[test]
    fn sheet_names_are_cleaned() {
        assert_eq!(
            sanitize_sheet_name("a[b]c:d*e?f/g\\h", 1),
            "a_b_c_d_e_f_g_h"
        );
        assert_eq!(sanitize_sheet_name("", 3), "Sheet3");
        assert_eq!(sanitize_sheet_name("''", 2), "Sheet2");
        assert_eq!(sanitize_sheet_name("'quoted'", 1), "quoted");
        assert_eq!(sanitize_sheet_name("history", 1), "history_");
        let long = "x".repeat(40);
        assert_eq!(sanitize_sheet_name(&long, 1).len(), 31);
        // 30 letters then a Thai letter with its mark: the pair doesn't fit, the letter goes too.
        let thai = format!("{}ดี", "x".repeat(30));
        assert_eq!(sanitize_sheet_name(&thai, 1), "x".repeat(30));
        assert_eq!(quoted_sheet_name("Bob's"), "'Bob''s'");
    }

    #[test]
    fn workbook_round_trips_through_zip() {
        let bytes = write(&sample()).expect("test value");
        assert_eq!(
            bytes,
            write(&sample()).expect("test value"),
            "same input, same bytes"
        );
        let files = unzip(&bytes);
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "_rels/.rels",
                "docProps/app.xml",
                "docProps/core.xml",
                "xl/_rels/workbook.xml.rels",
                "xl/styles.xml",
                "xl/workbook.xml",
                "xl/worksheets/sheet1.xml",
                "xl/worksheets/sheet2.xml",
            ]
        );

        let sheet = &files["xl/worksheets/sheet1.xml"];
        let styles = &files["xl/styles.xml"];
        let workbook = &files["xl/workbook.xml"];

        assert!(sheet.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ));
        assert!(sheet.contains(r#"<autoFilter ref="A1:F4"/>"#));
        assert!(sheet.contains(r#"<dimension ref="A1:F4"/>"#));
        assert!(workbook.contains(r#"<sheet name="Tasks_ 2026_Q4" sheetId="1" r:id="rId1"/>"#));
        assert!(workbook.contains(concat!(
            r#"<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">"#,
            r#"&apos;Tasks_ 2026_Q4&apos;!$A$1:$F$4</definedName>"#
        )));
        assert!(workbook.contains(r#"localSheetId="1" hidden="1">&apos;Second&apos;!$A$1:$A$1<"#));

        // Typed cells.
        assert!(sheet.contains(r#"<c r="C2" s="#));
        assert!(sheet.contains("><v>1234567</v></c>"));
        assert!(sheet.contains("><v>46363</v></c>"));
        assert!(sheet.contains("><v>3.5</v></c>"));
        assert!(sheet.contains(
            r#" t="inlineStr"><is><t xml:space="preserve">a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;</t></is></c>"#
        ));
        assert!(!sheet.contains("<f>"), "no formulas, ever");
        assert!(cell_xf(styles, style_of(sheet, "C2")).contains(r#"numFmtId="3""#));
        assert!(cell_xf(styles, style_of(sheet, "D2")).contains(r#"numFmtId="9""#));
        assert!(cell_xf(styles, style_of(sheet, "E2")).contains(r#"numFmtId="164""#));
        assert!(styles.contains(r#"<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>"#));

        // Header: bold, no quote prefix.
        let header = cell_xf(styles, style_of(sheet, "A1"));
        assert!(header.contains(r#"fontId="1""#));
        assert!(!header.contains("quotePrefix"));

        // Formula-looking text: an inline string with a quote-prefix style.
        assert!(
            sheet.contains(r#" t="inlineStr"><is><t xml:space="preserve">=SUM(A1)</t></is></c>"#)
        );
        let sum = cell_xf(styles, style_of(sheet, "A2"));
        assert!(sum.contains(r#"quotePrefix="1""#), "{sum}");
        assert!(sum.contains(r#"fillId="0""#));

        // The marked row: quote prefix combined with the red fill and font; empty cells filled.
        let minus = cell_xf(styles, style_of(sheet, "A3"));
        assert!(minus.contains(r#"quotePrefix="1""#), "{minus}");
        assert!(minus.contains(r#"fontId="2""#) && minus.contains(r#"fillId="2""#));
        let empty = cell_xf(styles, style_of(sheet, "F3"));
        assert!(empty.contains(r#"fillId="2""#) && !empty.contains("quotePrefix"));
        assert!(sheet.contains(&format!(r#"<c r="F3" s="{}"/>"#, style_of(sheet, "F3"))));
        assert!(styles.contains(r#"<fgColor rgb="FFFFC7CE"/>"#));
        assert!(styles.contains(r#"<color rgb="FF9C0006"/>"#));
        assert!(cell_xf(styles, style_of(sheet, "C3")).contains(r#"numFmtId="3""#));

        // Unmarked short row: the missing cells are not written.
        assert!(sheet.contains(r#"<c r="A4""#));
        assert!(!sheet.contains(r#"<c r="B4""#));

        // Wrapping column.
        assert!(cell_xf(styles, style_of(sheet, "B2")).contains(r#"wrapText="1""#));

        // Widths: column A's widest content is "สมชาย ใจดี" (9 cells wide, one a mark) → 9 + 2;
        // C's is "1,234,567" → 9 + 2; E's a date → 10 + 2.
        assert!(sheet.contains(r#"<col min="1" max="1" width="11" customWidth="1"/>"#));
        assert!(sheet.contains(r#"<col min="3" max="3" width="11" customWidth="1"/>"#));
        assert!(sheet.contains(r#"<col min="5" max="5" width="12" customWidth="1"/>"#));

        // The default font, and the style count matches.
        assert!(styles.contains(r#"<name val="Calibri"/>"#));
        let count: usize = styles
            .split(r#"<cellXfs count=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("test value")
            .parse()
            .expect("test value");
        let xfs = &styles[styles.find("<cellXfs").expect("test value")
            ..styles.find("</cellXfs>").expect("test value")];
        assert_eq!(xfs.matches("<xf ").count(), count);

        let types = &files["[Content_Types].xml"];
        assert!(types.contains("/xl/worksheets/sheet2.xml"));
        assert!(files["xl/_rels/workbook.xml.rels"].contains(r#"Id="rId3""#));
    }

    #[test]
    fn duplicate_sheet_names_are_an_error() {
        let book = Workbook {
            sheets: vec![
                Sheet::new("Contacts", vec![]),
                Sheet::new("Other", vec![]),
                Sheet::new("contacts", vec![]),
            ],
        };
        let err = write(&book).expect_err("should fail");
        assert!(
            matches!(
                err,
                XlsxError::DuplicateSheetName {
                    first: 1,
                    second: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("sheets 1 and 3"), "{err}");

        // Names that only clash once cleaned up.
        let book = Workbook {
            sheets: vec![Sheet::new("a/b", vec![]), Sheet::new("a:b", vec![])],
        };
        assert!(matches!(
            write(&book),
            Err(XlsxError::DuplicateSheetName { .. })
        ));
    }

    #[test]
    fn rows_longer_than_the_columns_are_an_error() {
        let mut sheet = Sheet::new("People", vec![Column::new("Name", ColumnKind::Text)]);
        sheet.rows.push(Row::new(vec!["Ann".into()]));
        sheet
            .rows
            .push(Row::new(vec!["Bob".into(), "extra".into()]));
        let err = write(&Workbook {
            sheets: vec![sheet],
        })
        .expect_err("should fail");
        assert!(
            matches!(
                err,
                XlsxError::RowTooLong {
                    row: 2,
                    cells: 2,
                    columns: 1,
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("\"People\""), "{message}");
        assert!(
            message.contains("data row 2 (spreadsheet row 3)"),
            "{message}"
        );
    }

    #[test]
    fn other_errors() {
        assert!(matches!(
            write(&Workbook::default()),
            Err(XlsxError::NoSheets)
        ));
        let mut sheet = Sheet::new("N", vec![Column::new("Value", ColumnKind::Number)]);
        sheet.rows.push(Row::new(vec![Cell::Number(f64::NAN)]));
        let err = write(&Workbook {
            sheets: vec![sheet],
        })
        .expect_err("should fail");
        assert!(err.to_string().contains("column \"Value\""), "{err}");
    }

    #[test]
    fn dates_excel_cannot_show_become_text() {
        let mut sheet = Sheet::new("D", vec![Column::new("When", ColumnKind::Date)]);
        sheet
            .rows
            .push(Row::new(vec![Cell::Date(date(1850, 1, 2))]));
        let files = unzip(
            &write(&Workbook {
                sheets: vec![sheet],
            })
            .expect("test value"),
        );
        assert!(
            files["xl/worksheets/sheet1.xml"].contains(r#"<t xml:space="preserve">1850-01-02</t>"#)
        );
    }

    #[test]
    fn write_file_replaces_atomically() {
        let dir = tempfile::tempdir().expect("test value");
        let path = dir.path().join("out.xlsx");
        std::fs::write(&path, b"old").expect("test value");

        // A failing write leaves the old file alone.
        assert!(write_file(&Workbook::default(), &path).is_err());
        assert_eq!(std::fs::read(&path).expect("test value"), b"old");

        write_file(&sample(), &path).expect("test value");
        assert_eq!(
            std::fs::read(&path).expect("test value"),
            write(&sample()).expect("test value")
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("test value")
            .map(|e| e.expect("test value").file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
