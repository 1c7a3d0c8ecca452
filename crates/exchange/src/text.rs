//! Bytes to text: the encodings files from Outlook, Google and Excel arrive in.
//!
//! UTF-8 with or without a byte-order mark, UTF-16 (Excel's "Unicode text", with a BOM or
//! recognised by its zero bytes) and Windows-1252 (Excel's "CSV" in Western locales). Without a
//! BOM, valid UTF-8 is UTF-8 and anything else Windows-1252, unless the caller names the
//! encoding; a byte that is not text in the encoding is an error naming its line and column.

use std::fmt;

/// A text encoding this crate reads.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-16le")]
    Utf16Le,
    #[serde(rename = "utf-16be")]
    Utf16Be,
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl Encoding {
    /// Names accepted for `--encoding`.
    pub const NAMES: &'static [&'static str] =
        &["utf-8", "utf-16", "utf-16le", "utf-16be", "windows-1252"];

    /// The encoding a name stands for (`utf-16` is little-endian, as Windows writes it, unless
    /// a BOM says otherwise).
    pub fn named(name: &str) -> Option<Encoding> {
        match name.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "utf-16" | "utf16" | "utf-16le" | "utf16le" | "unicode" => Some(Encoding::Utf16Le),
            "utf-16be" | "utf16be" => Some(Encoding::Utf16Be),
            "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" | "ansi" => {
                Some(Encoding::Windows1252)
            }
            _ => None,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Windows1252 => "Windows-1252",
        })
    }
}

/// Text that was not readable in its encoding, at a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TextError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Decoded text and what it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub encoding: Encoding,
    /// Whether the file began with a byte-order mark (not part of `text`).
    pub bom: bool,
}

/// Decodes `bytes`, in `forced` if given, else as detected (see the module documentation).
pub fn decode(bytes: &[u8], forced: Option<Encoding>) -> Result<Decoded, TextError> {
    let (bom_enc, rest) = if let Some(r) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (Some(Encoding::Utf8), r)
    } else if let Some(r) = bytes.strip_prefix(b"\xFF\xFE") {
        (Some(Encoding::Utf16Le), r)
    } else if let Some(r) = bytes.strip_prefix(b"\xFE\xFF") {
        (Some(Encoding::Utf16Be), r)
    } else {
        (None, bytes)
    };
    let encoding = match (forced, bom_enc) {
        // A BOM is the file's own word on its encoding; only UTF-16's byte order yields to it.
        (
            Some(Encoding::Utf16Le | Encoding::Utf16Be),
            Some(b @ (Encoding::Utf16Le | Encoding::Utf16Be)),
        ) => b,
        (Some(f), _) => f,
        (None, Some(b)) => b,
        (None, None) => detect(rest),
    };
    // The BOM is left out of the text when it belongs to the encoding read.
    let body = match bom_enc {
        Some(b) if b == encoding || is_utf16(b) && is_utf16(encoding) => rest,
        _ => bytes,
    };
    let text = match encoding {
        Encoding::Utf8 => utf8(body)?,
        Encoding::Utf16Le | Encoding::Utf16Be => utf16(body, encoding == Encoding::Utf16Be)?,
        Encoding::Windows1252 => windows_1252(body)?,
    };
    if let Some(at) = text.find('\0') {
        let (line, column) = position(&text, at);
        return Err(TextError {
            line,
            column,
            message: format!(
                "a NUL character: this is not {encoding} text (a spreadsheet's binary file? save it as CSV)"
            ),
        });
    }
    Ok(Decoded {
        text,
        encoding,
        bom: body.len() != bytes.len(),
    })
}

fn is_utf16(e: Encoding) -> bool {
    matches!(e, Encoding::Utf16Le | Encoding::Utf16Be)
}

/// UTF-16 without a BOM shows as zero bytes in every other place (ASCII text); else UTF-8 if
/// it is valid UTF-8, else Windows-1252.
fn detect(bytes: &[u8]) -> Encoding {
    let head = &bytes[..bytes.len().min(4096)];
    let pairs = head.len() / 2;
    if pairs >= 2 {
        let even = head.iter().step_by(2).filter(|b| **b == 0).count();
        let odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
        if odd * 10 >= pairs * 4 && even == 0 {
            return Encoding::Utf16Le;
        }
        if even * 10 >= pairs * 4 && odd == 0 {
            return Encoding::Utf16Be;
        }
    }
    if std::str::from_utf8(bytes).is_ok() {
        Encoding::Utf8
    } else {
        Encoding::Windows1252
    }
}

/// Line and column (1-based, in characters) of byte offset `at` of `text`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

fn utf8(bytes: &[u8]) -> Result<String, TextError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let good = &bytes[..e.valid_up_to()];
            // Everything before the bad byte is valid UTF-8.
            let text = String::from_utf8_lossy(good);
            let (line, column) = position(&text, text.len());
            Err(TextError {
                line,
                column,
                message: format!(
                    "byte 0x{:02X} is not UTF-8 (save the file as UTF-8, or name its encoding: {})",
                    bytes[e.valid_up_to()],
                    Encoding::NAMES.join(", ")
                ),
            })
        }
    }
}

fn utf16(bytes: &[u8], big_endian: bool) -> Result<String, TextError> {
    if bytes.len() % 2 == 1 {
        let text = utf16(&bytes[..bytes.len() - 1], big_endian)?;
        let (line, column) = position(&text, text.len());
        return Err(TextError {
            line,
            column,
            message: "the file ends in the middle of a UTF-16 character (truncated?)".into(),
        });
    }
    let units = bytes.chunks_exact(2).map(|p| {
        if big_endian {
            u16::from_be_bytes([p[0], p[1]])
        } else {
            u16::from_le_bytes([p[0], p[1]])
        }
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => out.push(c),
            Err(e) => {
                let (line, column) = position(&out, out.len());
                return Err(TextError {
                    line,
                    column,
                    message: format!(
                        "0x{:04X} is not UTF-16 text (a lone surrogate)",
                        e.unpaired_surrogate()
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Windows-1252's characters for bytes 0x80–0x9F (0 where the code page has none); the other
/// bytes are the Unicode code points of the same number.
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// The character Windows-1252 gives byte `b`, if any.
pub fn cp1252_char(b: u8) -> Option<char> {
    match b {
        0x80..=0x9F => match CP1252_HIGH[usize::from(b - 0x80)] {
            0 => None,
            u => char::from_u32(u32::from(u)),
        },
        _ => Some(char::from(b)),
    }
}

fn windows_1252(bytes: &[u8]) -> Result<String, TextError> {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match cp1252_char(b) {
            Some(c) => out.push(c),
            None => {
                let (line, column) = position(&out, out.len());
                return Err(TextError {
                    line,
                    column,
                    message: format!(
                        "byte 0x{b:02X} is neither UTF-8 nor Windows-1252 text (name the file's encoding: {})",
                        Encoding::NAMES.join(", ")
                    ),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for u in s.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    }

    #[test]
    fn utf8_with_and_without_a_bom() {
        let d = decode("Name\nสมชาย".as_bytes(), None).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding, d.bom),
            ("Name\nสมชาย", Encoding::Utf8, false)
        );
        let mut with = b"\xEF\xBB\xBF".to_vec();
        with.extend_from_slice("Bùi".as_bytes());
        let d = decode(&with, None).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding, d.bom),
            ("Bùi", Encoding::Utf8, true)
        );
    }

    #[test]
    fn utf16_by_bom_or_by_its_zero_bytes() {
        let d = decode(&utf16le("First Name;Nguyễn\r\n", true), None).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding, d.bom),
            ("First Name;Nguyễn\r\n", Encoding::Utf16Le, true)
        );
        let d = decode(&utf16le("First Name,Last Name", false), None).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("First Name,Last Name", Encoding::Utf16Le)
        );
        let mut be = vec![0xFE, 0xFF];
        for u in "ລາວ".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode(&be, None).unwrap().text, "ລາວ");
        let odd = &utf16le("ab", true)[..5];
        assert!(decode(odd, None).unwrap_err().message.contains("truncated"));
    }

    #[test]
    fn windows_1252_when_not_utf8() {
        // "Café – Œuvre" as Excel writes it in a Western locale.
        let d = decode(b"Caf\xE9 \x96 \x8Cuvre", None).unwrap();
        assert_eq!(
            (d.text.as_str(), d.encoding),
            ("Café – Œuvre", Encoding::Windows1252)
        );
        let e = decode(b"ok\nab\x81", None).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.contains("0x81"), "{e}");
    }

    #[test]
    fn a_named_encoding_that_does_not_fit_is_an_error_naming_where() {
        let e = decode(b"Name\nJos\xE9 Ramos", Some(Encoding::Utf8)).unwrap_err();
        assert_eq!((e.line, e.column), (2, 4), "{e}");
        assert!(e.message.contains("not UTF-8"), "{e}");
        let e = decode(b"a\0b", None).unwrap_err();
        assert!(e.message.contains("NUL"), "{e}");
        assert_eq!(Encoding::named("CP1252"), Some(Encoding::Windows1252));
        assert_eq!(Encoding::named("klingon"), None);
    }
}
