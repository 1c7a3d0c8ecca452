//! CSV as Outlook, Google Contacts and Excel write it (RFC 4180, leniently where they differ),
//! and as this crate writes it.
//!
//! The delimiter is a comma, a semicolon (Excel in locales with a decimal comma) or a tab, as
//! the header line shows, or as Excel's `sep=;` first line says. Rows are numbered as a
//! spreadsheet numbers them: the header is row 1. A row's cells beyond the header's columns
//! are an error unless they are empty (Excel's trailing separators); missing cells are empty.

use std::fmt;

/// What is wrong in a CSV file, and where (row as a spreadsheet shows it; column by letter
/// and header where there is one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CsvError {
    pub row: usize,
    pub column: Option<usize>,
    pub header: Option<String>,
    pub message: String,
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.row)?;
        if let Some(c) = self.column {
            write!(f, ", column {}", letter(c))?;
            if let Some(h) = self.header.as_deref().filter(|h| !h.is_empty()) {
                write!(f, " ({h})")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// A spreadsheet's column letter for a 0-based column index: A, B, … Z, AA, AB …
pub fn letter(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        out.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// One data row: its row number (header = 1) and its cells, as many as the header has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub row: usize,
    pub cells: Vec<String>,
}

/// A parsed file: headers (trimmed) and the rows under them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub delimiter: char,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// The delimiter of a header line: the most frequent of `,` `;` and tab outside quotes
/// (a comma when none appears).
fn sniff(first_line: &str) -> char {
    let mut counts = [(',', 0usize), (';', 0), ('\t', 0)];
    let mut quoted = false;
    for c in first_line.chars() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if c == *d {
                    *n += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(d, n)| (*n, *d == ','))
        .map_or(',', |(d, _)| *d)
}

/// The cell read so far, as a string of its own length (a big file's cells are held until the
/// import ends); `cell` keeps its buffer for the next one.
fn take_exact(cell: &mut String) -> String {
    let out = cell.as_str().to_owned();
    cell.clear();
    out
}

/// Splits `text` into records of cells, each with the row number it starts on.
fn records(text: &str, delimiter: char) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let mut out = Vec::new();
    let mut cells: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    // Whether the cell being read began with a quote, and whether that quote has closed.
    let mut was_quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
                any = true;
            }
            c if c == delimiter => {
                cells.push(take_exact(&mut cell));
                was_quoted = false;
                any = true;
            }
            '\r' | '\n' => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                if any || !cell.is_empty() {
                    cells.push(take_exact(&mut cell));
                    // The next record most likely has as many cells.
                    let next = Vec::with_capacity(cells.len());
                    out.push(std::mem::replace(&mut cells, next));
                }
                was_quoted = false;
                any = false;
            }
            c if was_quoted => {
                if !c.is_whitespace() {
                    return Err(CsvError {
                        row: out.len() + 1,
                        column: Some(cells.len()),
                        header: None,
                        message: format!(
                            "text after a closing quote ('{c}'): a quote inside a quoted cell must be doubled (\"\")"
                        ),
                    });
                }
            }
            c => {
                cell.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(CsvError {
            row: out.len() + 1,
            column: Some(cells.len()),
            header: None,
            message:
                "a quoted cell is not closed before the end of the file (is the file truncated?)"
                    .into(),
        });
    }
    if any || !cell.is_empty() {
        cells.push(cell);
        out.push(cells);
    }
    // Rows are records, not lines: a cell may span lines.
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(i, cells)| (i + 1, cells))
        .collect())
}

/// Parses CSV text (already decoded). `delimiter` overrides the one detected.
pub fn parse(text: &str, delimiter: Option<char>) -> Result<Table, CsvError> {
    let mut text = text;
    let mut forced = delimiter;
    // Excel's hint line: "sep=;".
    if let Some(rest) = text
        .strip_prefix("sep=")
        .or_else(|| text.strip_prefix("SEP="))
    {
        let mut it = rest.chars();
        if let Some(d) = it.next() {
            let after = it.as_str();
            if after.starts_with('\n') || after.starts_with("\r\n") {
                forced = forced.or(Some(d));
                text = after.trim_start_matches(['\r', '\n']);
            }
        }
    }
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = forced.unwrap_or_else(|| sniff(first_line));
    let mut recs = records(text, delimiter)?.into_iter();
    let Some((_, raw_headers)) = recs.next() else {
        return Err(CsvError {
            row: 1,
            column: None,
            header: None,
            message: "the file is empty: a header row is needed".into(),
        });
    };
    let headers: Vec<String> = raw_headers.iter().map(|h| h.trim().to_string()).collect();
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            continue;
        }
        if let Some(j) = headers[..i].iter().position(|o| o.eq_ignore_ascii_case(h)) {
            return Err(CsvError {
                row: 1,
                column: Some(i),
                header: Some(h.clone()),
                message: format!(
                    "the header \"{h}\" is also column {}'s: rename one of them",
                    letter(j)
                ),
            });
        }
    }
    let mut rows = Vec::new();
    for (row, mut cells) in recs {
        // A row of the header's columns all empty (Excel's empty lines ";;;") is skipped.
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if cells.len() > headers.len() {
            if let Some(extra) = cells[headers.len()..]
                .iter()
                .position(|c| !c.trim().is_empty())
            {
                let col = headers.len() + extra;
                return Err(CsvError {
                    row,
                    column: Some(col),
                    header: None,
                    message: format!(
                        "this row has {} cells but the header has {} columns: the cell \"{}\" has no column (an unquoted '{}' inside a cell?)",
                        cells.len(),
                        headers.len(),
                        clip(&cells[col]),
                        delimiter
                    ),
                });
            }
            cells.truncate(headers.len());
        }
        cells.resize(headers.len(), String::new());
        rows.push(Row { row, cells });
    }
    // Cells under an empty header must be empty: otherwise data would be dropped silently.
    for (i, h) in headers.iter().enumerate() {
        if !h.is_empty() {
            continue;
        }
        if let Some(r) = rows.iter().find(|r| !r.cells[i].trim().is_empty()) {
            return Err(CsvError {
                row: r.row,
                column: Some(i),
                header: None,
                message: "this column has data but no header: name it in row 1".into(),
            });
        }
    }
    Ok(Table {
        delimiter,
        headers,
        rows,
    })
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Whether a spreadsheet would take `s` for a formula: it starts with `=`, `+`, `-` or `@`
/// and is not a plain number or telephone number (`+66 2 123 4567`, `-12.5`).
pub fn looks_like_formula(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !matches!(first, '=' | '+' | '-' | '@') {
        return false;
    }
    let phone_or_number = first != '='
        && first != '@'
        && s.len() > 1
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.' | '/'));
    !phone_or_number
}

/// Writes rows as CSV: UTF-8 with a BOM (so Excel reads the scripts right), CRLF, cells quoted
/// when they hold the delimiter, a quote or a line break. A cell a spreadsheet would run as a
/// formula is written with a leading apostrophe, which [`unescape_formula`] removes on import.
pub fn write(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("\u{FEFF}");
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut first = true;
        for c in cells {
            if !first {
                out.push(',');
            }
            first = false;
            let escaped;
            let c = if looks_like_formula(c) {
                escaped = format!("'{c}");
                escaped.as_str()
            } else {
                c
            };
            if c.contains([',', '"', '\n', '\r', ';']) || c.starts_with(' ') || c.ends_with(' ') {
                out.push('"');
                out.push_str(&c.replace('"', "\"\""));
                out.push('"');
            } else {
                out.push_str(c);
            }
        }
        out.push_str("\r\n");
    };
    line(&mut out, &mut headers.iter().copied());
    for r in rows {
        line(&mut out, &mut r.iter().map(String::as_str));
    }
    out
}

/// A cell as imported: a leading apostrophe before a formula-looking text (as [`write`] and
/// spreadsheets protect them) is removed.
pub fn unescape_formula(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if looks_like_formula(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_like_a_spreadsheet() {
        let l: Vec<String> = [0, 25, 26, 51, 52, 701, 702]
            .iter()
            .map(|i| letter(*i))
            .collect();
        assert_eq!(l, ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn commas_semicolons_tabs_quotes_and_line_breaks() {
        let t = parse(
            "Name,Notes\r\n\"Bùi, Thanh Sơn\",\"said \"\"yes\"\"\nthen left\"\r\nສົມພອນ,\r\n",
            None,
        )
        .unwrap();
        assert_eq!(t.delimiter, ',');
        assert_eq!(t.headers, ["Name", "Notes"]);
        assert_eq!(
            t.rows[0].cells,
            ["Bùi, Thanh Sơn", "said \"yes\"\nthen left"]
        );
        assert_eq!(
            t.rows[1],
            Row {
                row: 3,
                cells: vec!["ສົມພອນ".into(), "".into()]
            }
        );
        let t = parse("Name;E-mail\nA;a@x.org\n", None).unwrap();
        assert_eq!((t.delimiter, t.rows[0].cells[1].as_str()), (';', "a@x.org"));
        let t = parse("sep=;\nName,Dept;E-mail\nA,B;a@x.org\n", None).unwrap();
        assert_eq!(t.headers, ["Name,Dept", "E-mail"]);
        let t = parse("Name\tE-mail\nA\ta@x.org", None).unwrap();
        assert_eq!(t.rows[0].cells, ["A", "a@x.org"]);
    }

    #[test]
    fn bad_files_are_refused_naming_row_and_column() {
        let e = parse("Name,Notes\nA,\"unfinished", None).unwrap_err();
        assert_eq!((e.row, e.column), (2, Some(1)));
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse("Name,Email,name\n", None).unwrap_err();
        assert_eq!((e.row, e.column), (1, Some(2)));
        assert!(e.to_string().contains("column A"), "{e}");
        let e = parse("Name,Email\nA,a@x.org\nB,b@x.org,extra\n", None).unwrap_err();
        assert_eq!(e.to_string(), "row 3, column C: this row has 3 cells but the header has 2 columns: the cell \"extra\" has no column (an unquoted ',' inside a cell?)");
        let e = parse("Name,\nA,lost\n", None).unwrap_err();
        assert_eq!((e.row, e.column), (2, Some(1)));
        let e = parse("Name\n\"A\"B\n", None).unwrap_err();
        assert_eq!(e.row, 2);
        assert!(parse("", None).unwrap_err().message.contains("empty"));
    }

    #[test]
    fn trailing_separators_and_empty_rows_are_not_data() {
        let t = parse("Name;Email;;\nA;a@x.org;;\n;;;\nB;;;\n", None).unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].cells, ["B", "", "", ""]);
    }

    #[test]
    fn formulas_are_neutralised_and_come_back() {
        assert!(looks_like_formula("=HYPERLINK(\"x\")"));
        assert!(looks_like_formula("@SUM(A1)"));
        assert!(looks_like_formula("-cmd"));
        assert!(!looks_like_formula("+66 2 123 4567"));
        assert!(!looks_like_formula("-12.5"));
        let out = write(
            &["Name", "Phone"],
            &[vec!["=1+1".into(), "+66 2 123 4567".into()]],
        );
        assert!(out.starts_with('\u{FEFF}'));
        assert!(out.contains("'=1+1,+66 2 123 4567\r\n"), "{out}");
        let t = parse(out.trim_start_matches('\u{FEFF}'), None).unwrap();
        assert_eq!(unescape_formula(&t.rows[0].cells[0]), "=1+1");
        assert_eq!(unescape_formula("'ok"), "'ok");
    }
}
