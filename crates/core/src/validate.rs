//! Turning user input into stored values: every field is checked against its descriptor, and
//! an error names the entity and the field. Input may be typed JSON or plain strings from the
//! command line ("12.5", "KH,LA", "2026-03-01"); the result is the canonical stored value.

use crate::error::{Error, Result};
use crate::schema::{country, EntityDesc, Field, FieldKind};
use crate::text::nfc;
use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

/// Normalises one input value for `field`. `Value::Null` (or an empty string) clears the field.
pub(crate) fn normalize(conn: &Connection, d: &EntityDesc, f: &Field, v: &Value) -> Result<Value> {
    let bad = |msg: String| Error::invalid(d.name, f.name, msg);
    if is_blank(v) {
        if f.required {
            return Err(bad("is required and cannot be empty".into()));
        }
        return Ok(Value::Null);
    }
    Ok(match f.kind {
        FieldKind::Text(max) => Value::String(text(v, max, true).map_err(bad)?),
        FieldKind::LongText => Value::String(text(v, LONG_TEXT_MAX, false).map_err(bad)?),
        FieldKind::Email => {
            let s = text(v, 254, true).map_err(bad)?;
            if !is_email(&s) {
                return Err(bad(format!("'{s}' is not a valid e-mail address")));
            }
            Value::String(s)
        }
        FieldKind::Country => Value::String(country_code(v).map_err(bad)?),
        FieldKind::CountryList => {
            let mut codes = Vec::new();
            for item in list(v).map_err(bad)? {
                let code = country_code(&Value::String(item)).map_err(bad)?;
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            Value::from(codes)
        }
        FieldKind::Date => {
            let s = scalar(v).map_err(bad)?;
            let date = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| bad(format!("'{s}' is not a date in the form YYYY-MM-DD")))?;
            Value::String(date.format("%Y-%m-%d").to_string())
        }
        FieldKind::Time => {
            let s = scalar(v).map_err(bad)?.trim().to_string();
            // 9:30, 09:30 and 0930 are all half past nine.
            let digits: String = s.chars().filter(|c| *c != ':').collect();
            let parsed = match (s.split_once(':'), digits.len()) {
                (Some((h, m)), _) if m.len() == 2 => {
                    h.parse::<u32>().ok().zip(m.parse::<u32>().ok())
                }
                (None, 4) => digits[..2]
                    .parse::<u32>()
                    .ok()
                    .zip(digits[2..].parse::<u32>().ok()),
                _ => None,
            };
            match parsed {
                Some((h, m)) if h < 24 && m < 60 && digits.chars().all(|c| c.is_ascii_digit()) => {
                    Value::String(format!("{h:02}:{m:02}"))
                }
                _ => {
                    return Err(bad(format!(
                        "'{s}' is not a time of day in the form HH:MM (24-hour), e.g. 09:30"
                    )))
                }
            }
        }
        FieldKind::TimeZone => {
            let s = scalar(v).map_err(bad)?.trim().to_string();
            if !is_time_zone(&s) {
                return Err(bad(format!(
                    "'{s}' is not an IANA time zone name such as Asia/Bangkok"
                )));
            }
            Value::String(s)
        }
        FieldKind::Currency => {
            let s = scalar(v).map_err(bad)?.trim().to_ascii_uppercase();
            if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(bad(format!(
                    "'{s}' is not a three-letter ISO 4217 currency code"
                )));
            }
            Value::String(s)
        }
        FieldKind::Int { min, max } => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| bad(format!("{v} is not a whole number")))?;
            if n < min || n > max {
                return Err(bad(format!("{n} is out of range {min}..={max}")));
            }
            Value::from(n)
        }
        FieldKind::Real { min } => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().replace(',', "").parse::<f64>().ok(),
                _ => None,
            }
            .filter(|n| n.is_finite())
            .ok_or_else(|| bad(format!("{v} is not a number")))?;
            if n < min {
                return Err(bad(format!("{n} must not be negative")));
            }
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| bad(format!("{v} is not a number")))?
        }
        FieldKind::Enum(allowed) => {
            let s = scalar(v)
                .map_err(bad)?
                .trim()
                .to_lowercase()
                .replace([' ', '-'], "_");
            if !allowed.contains(&s.as_str()) {
                return Err(bad(format!("'{s}' is not one of {}", allowed.join(", "))));
            }
            Value::String(s)
        }
        FieldKind::Ref(target) => {
            let s = scalar(v).map_err(bad)?;
            Value::String(resolve_ref(conn, target.desc(), s.trim()).map_err(&bad)?)
        }
        FieldKind::RefList(target) => {
            let mut ids = Vec::new();
            for item in list(v).map_err(bad)? {
                let id = resolve_ref(conn, target.desc(), &item).map_err(&bad)?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Value::from(ids)
        }
        FieldKind::List => {
            let mut items = Vec::new();
            for item in list(v).map_err(bad)? {
                let item = nfc(&item);
                if item.chars().count() > 200 {
                    return Err(bad("an item is longer than 200 characters".into()));
                }
                if item.chars().any(char::is_control) {
                    return Err(bad("an item contains a control character".into()));
                }
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            Value::from(items)
        }
        FieldKind::Sha256 => {
            let s = scalar(v).map_err(bad)?.trim().to_ascii_lowercase();
            if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("is not a SHA-256 hash (64 hex digits)".into()));
            }
            Value::String(s)
        }
    })
}

/// Checks a value as it travels in a change (already canonical: an id, not a name; a country
/// code, not its name): its type, length, range, enumeration and format, by the same
/// descriptor as a local edit. Used where a change made elsewhere arrives — the sync server
/// checks every pushed change with it, and a replica every pulled one — so nothing a device
/// sends can store a value no local edit could. Whether a reference names a record is not
/// checked here (the receiver decides what it may name).
pub fn check_stored(d: &EntityDesc, f: &Field, v: &Value) -> Result<()> {
    let bad = |msg: String| Error::invalid(d.name, f.name, msg);
    if is_blank(v) {
        if f.required {
            return Err(bad("is required and cannot be empty".into()));
        }
        return match v {
            Value::Null | Value::String(_) | Value::Array(_) => Ok(()),
            other => Err(bad(format!("expected text or a list, got {other}"))),
        };
    }
    let text = |max: usize, single_line: bool| -> Result<()> {
        let s = scalar(v).map_err(bad)?;
        let n = s.chars().count();
        if n > max {
            return Err(bad(format!("is {n} characters long; the limit is {max}")));
        }
        if let Some(c) = s
            .chars()
            .find(|&c| c.is_control() && (single_line || (c != '\n' && c != '\t')))
        {
            return Err(bad(format!(
                "contains the control character U+{:04X}",
                c as u32
            )));
        }
        Ok(())
    };
    let items = |max_items: usize| -> Result<Vec<&str>> {
        let Value::Array(a) = v else {
            return Err(bad(format!("expected a list, got {v}")));
        };
        if a.len() > max_items {
            return Err(bad(format!(
                "has {} items; the limit is {max_items}",
                a.len()
            )));
        }
        a.iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| bad(format!("expected text, got {i}")))
            })
            .collect()
    };
    let id = |s: &str| -> Result<()> {
        if uuid::Uuid::parse_str(s).is_err() {
            return Err(bad(format!("'{}' is not a record id", clip(s))));
        }
        Ok(())
    };
    let code = |s: &str| -> Result<()> {
        match country(s) {
            Some(c) if c.code == s => Ok(()),
            _ => Err(bad(format!("'{}' is not a known country code", clip(s)))),
        }
    };
    match f.kind {
        FieldKind::Text(max) => text(max, true),
        FieldKind::LongText => text(LONG_TEXT_MAX, false),
        FieldKind::Email => {
            text(254, true)?;
            let s = scalar(v).map_err(bad)?;
            if !is_email(s) {
                return Err(bad(format!("'{}' is not a valid e-mail address", clip(s))));
            }
            Ok(())
        }
        FieldKind::Country => code(scalar(v).map_err(bad)?),
        FieldKind::CountryList => items(MAX_ITEMS)?.into_iter().try_for_each(code),
        FieldKind::Date => {
            let s = scalar(v).map_err(bad)?;
            match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) if d.format("%Y-%m-%d").to_string() == s => Ok(()),
                _ => Err(bad(format!(
                    "'{}' is not a date in the form YYYY-MM-DD",
                    clip(s)
                ))),
            }
        }
        FieldKind::Time => {
            let s = scalar(v).map_err(bad)?;
            let ok = s.len() == 5
                && s.as_bytes()[2] == b':'
                && s[..2].parse::<u32>().is_ok_and(|h| h < 24)
                && s[3..].parse::<u32>().is_ok_and(|m| m < 60)
                && s.bytes()
                    .enumerate()
                    .all(|(i, b)| i == 2 || b.is_ascii_digit());
            if !ok {
                return Err(bad(format!("'{}' is not a time of day HH:MM", clip(s))));
            }
            Ok(())
        }
        FieldKind::TimeZone => {
            let s = scalar(v).map_err(bad)?;
            if s.len() > 64 || !is_time_zone(s) {
                return Err(bad(format!(
                    "'{}' is not an IANA time zone name such as Asia/Bangkok",
                    clip(s)
                )));
            }
            Ok(())
        }
        FieldKind::Currency => {
            let s = scalar(v).map_err(bad)?;
            if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(bad(format!(
                    "'{}' is not a three-letter ISO 4217 currency code",
                    clip(s)
                )));
            }
            Ok(())
        }
        FieldKind::Int { min, max } => match v.as_i64() {
            Some(n) if n >= min && n <= max => Ok(()),
            Some(n) => Err(bad(format!("{n} is out of range {min}..={max}"))),
            None => Err(bad(format!(
                "{} is not a whole number",
                clip(&v.to_string())
            ))),
        },
        FieldKind::Real { min } => match v.as_f64() {
            Some(n) if n.is_finite() && n >= min => Ok(()),
            Some(n) if n.is_finite() => Err(bad(format!("{n} must not be negative"))),
            _ => Err(bad(format!("{} is not a number", clip(&v.to_string())))),
        },
        FieldKind::Enum(allowed) => {
            let s = scalar(v).map_err(bad)?;
            if !allowed.contains(&s) {
                return Err(bad(format!(
                    "'{}' is not one of {}",
                    clip(s),
                    allowed.join(", ")
                )));
            }
            Ok(())
        }
        FieldKind::Ref(_) => id(scalar(v).map_err(bad)?),
        FieldKind::RefList(_) => items(MAX_ITEMS)?.into_iter().try_for_each(id),
        FieldKind::List => {
            for item in items(MAX_ITEMS)? {
                if item.chars().count() > 200 {
                    return Err(bad("an item is longer than 200 characters".into()));
                }
                if item.chars().any(char::is_control) {
                    return Err(bad("an item contains a control character".into()));
                }
            }
            Ok(())
        }
        FieldKind::Sha256 => {
            let s = scalar(v).map_err(bad)?;
            if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(bad("is not a SHA-256 hash (64 lowercase hex digits)".into()));
            }
            Ok(())
        }
    }
}

/// Checks one element a set edit adds to a list field (see [`crate::sets`]), as
/// [`check_stored`] checks a whole list.
pub fn check_element(d: &EntityDesc, f: &Field, elem: &str) -> Result<()> {
    check_stored(
        d,
        &Field {
            required: false,
            ..*f
        },
        &Value::Array(vec![Value::String(elem.to_string())]),
    )
}

/// Checks a change made elsewhere before it is merged: a known entity and record id, each
/// field known and written at most once, each value by [`check_stored`] (a required field may
/// travel blank here: a reference the receiver may not follow is blanked on its way), the
/// deletion mark a boolean, and a set edit only on a list field, adding valid elements. The
/// error names the change (`device/dev_seq`), the entity and the field.
pub fn check_change(c: &crate::Change) -> Result<()> {
    let bad = |message: String| Error::BadChange {
        seq: c.seq,
        message: format!("change {}/{}: {message}", clip(&c.device), c.dev_seq),
    };
    let bad_id =
        |s: &str| s.trim().is_empty() || s.chars().count() > 100 || s.chars().any(char::is_control);
    if bad_id(&c.device) {
        return Err(bad(
            "the device id must be 1–100 characters, none of them control characters".into(),
        ));
    }
    let entity = crate::Entity::parse(&c.entity)
        .ok_or_else(|| bad(format!("unknown entity '{}'", clip(&c.entity))))?;
    let d = entity.desc();
    if uuid::Uuid::parse_str(&c.record).is_err() {
        return Err(bad(format!("'{}' is not a record id", clip(&c.record))));
    }
    for (i, f) in c.fields.iter().enumerate() {
        if c.fields[..i].iter().any(|g| g.field == f.field) {
            return Err(bad(format!(
                "{}.{} is written twice",
                d.name,
                clip(&f.field)
            )));
        }
        if f.field == "_deleted" {
            if !f.value.is_boolean() || f.set.is_some() {
                return Err(bad(format!("{}._deleted must be true or false", d.name)));
            }
            continue;
        }
        let field = d
            .field(&f.field)
            .ok_or_else(|| bad(format!("unknown field {}.{}", d.name, clip(&f.field))))?;
        let loose = Field {
            required: false,
            ..*field
        };
        check_stored(d, &loose, &f.value).map_err(|e| bad(e.to_string()))?;
        if let Some(ops) = &f.set {
            if !crate::sets::is_set(d, &f.field) {
                return Err(bad(format!(
                    "{}.{} is not a list edited element by element",
                    d.name, f.field
                )));
            }
            if ops.add.len() + ops.del.len() > 2 * MAX_ITEMS {
                return Err(bad(format!("{}.{}: too many set edits", d.name, f.field)));
            }
            for e in ops.add.iter().chain(ops.del.iter().map(|x| &x.elem)) {
                check_element(d, field, e).map_err(|e| bad(e.to_string()))?;
            }
            if let Some(x) = ops.del.iter().find(|x| bad_id(&x.dev)) {
                return Err(bad(format!(
                    "{}.{}: a removal names device '{}'",
                    d.name,
                    f.field,
                    clip(&x.dev)
                )));
            }
        }
    }
    Ok(())
}

/// The longest free text (notes, minutes) a field holds, in characters.
pub const LONG_TEXT_MAX: usize = 100_000;
/// The most items a list field holds.
pub const MAX_ITEMS: usize = 1_000;

/// At most 60 characters of `s`, for an error message that quotes what it refused.
fn clip(s: &str) -> String {
    if s.chars().count() <= 60 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(60).collect();
    out.push('…');
    out
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn scalar(v: &Value) -> Result<&str, String> {
    v.as_str().ok_or_else(|| format!("expected text, got {v}"))
}

fn text(v: &Value, max: usize, single_line: bool) -> Result<String, String> {
    let s = nfc(scalar(v)?.trim());
    let n = s.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; the limit is {max}"));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| c.is_control() && (single_line || (c != '\n' && c != '\t')))
    {
        return Err(format!("contains the control character U+{:04X}", c as u32));
    }
    Ok(s)
}

/// A JSON array of strings, or one comma-separated string.
fn list(v: &Value) -> Result<Vec<String>, String> {
    let items: Vec<String> = match v {
        Value::Array(items) => items
            .iter()
            .map(|i| scalar(i).map(str::to_string))
            .collect::<Result<_, _>>()?,
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        other => return Err(format!("expected a list, got {other}")),
    };
    if items.len() > MAX_ITEMS {
        return Err(format!(
            "has {} items; the limit is {MAX_ITEMS}",
            items.len()
        ));
    }
    Ok(items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}

fn country_code(v: &Value) -> Result<String, String> {
    let s = scalar(v)?;
    country(s)
        .map(|c| c.code.to_string())
        .ok_or_else(|| format!("'{s}' is not a known country code or name"))
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(char::is_whitespace)
}

fn is_time_zone(s: &str) -> bool {
    if s == "UTC" {
        return true;
    }
    let mut parts = s.split('/');
    let area_ok = parts.next().is_some_and(|a| {
        matches!(
            a,
            "Africa"
                | "America"
                | "Antarctica"
                | "Asia"
                | "Atlantic"
                | "Australia"
                | "Europe"
                | "Indian"
                | "Pacific"
                | "Etc"
        )
    });
    let rest: Vec<&str> = parts.collect();
    area_ok
        && !rest.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        })
}

/// Resolves a reference typed by a user: an id, or a natural key (an organisation's acronym or
/// name, a project's code, a contact's or meeting's exact name). It must match one live record.
pub(crate) fn resolve_ref(
    conn: &Connection,
    target: &EntityDesc,
    s: &str,
) -> Result<String, String> {
    let lookup = |sql: &str| -> Result<Vec<String>, String> {
        let mut stmt = conn.prepare_cached(sql).map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([s], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?;
        rows.take(2)
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())
    };
    if uuid::Uuid::parse_str(s).is_ok() {
        let sql = format!("SELECT _deleted FROM {} WHERE id = ?1", target.table);
        // Cached: an import resolves a reference or two for every row it writes.
        let deleted: Option<bool> = conn
            .prepare_cached(&sql)
            .and_then(|mut stmt| stmt.query_row([s], |r| r.get(0)).optional())
            .map_err(|e| e.to_string())?;
        return match deleted {
            Some(false) => Ok(s.to_string()),
            Some(true) => Err(format!("{} {s} is deleted", target.name)),
            None => Err(format!("no {} with id {s}", target.name)),
        };
    }
    let key_cols: &[&str] = match target.name {
        "organisation" => &["acronym", "name"],
        "project" => &["code"],
        "contact" | "meeting" => &["name", "short_title", "title"],
        _ => &[],
    };
    for col in key_cols {
        if target.field(col).is_none() {
            continue;
        }
        let sql = format!(
            "SELECT id FROM {} WHERE {col} = ?1 COLLATE NOCASE AND _deleted = 0 LIMIT 2",
            target.table
        );
        let found = lookup(&sql)?;
        match found.len() {
            1 => return Ok(found.into_iter().next().unwrap_or_default()),
            0 => continue,
            _ => {
                return Err(format!(
                    "'{s}' matches more than one {}; give its id",
                    target.name
                ))
            }
        }
    }
    Err(format!("no {} with id or name '{s}'", target.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last@mfa.go.th", "x+y@sub.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@.co", "a b@c.co", "a@b..co", "a@b.co.",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn time_zones() {
        assert!(is_time_zone("Asia/Bangkok"));
        assert!(is_time_zone("Asia/Ho_Chi_Minh"));
        assert!(is_time_zone("America/Argentina/Buenos_Aires"));
        assert!(is_time_zone("UTC"));
        assert!(!is_time_zone("Bangkok"));
        assert!(!is_time_zone("Asia/"));
        assert!(!is_time_zone("Mars/Olympus"));
    }

    #[test]
    fn lists_split_on_commas_and_drop_blanks() {
        assert_eq!(
            list(&Value::from("a, b,,c ")).unwrap_or_default(),
            vec!["a", "b", "c"]
        );
    }
}
