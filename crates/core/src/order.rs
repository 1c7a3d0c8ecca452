//! The order of numbered things (agenda items, decisions): by stated position, then by the
//! natural order of the number — `2` before `2.1` before `10`, numbers compared segment by
//! segment as numbers, other parts as text — never the text order (`1, 10, 11, …, 2`).
//!
//! One implementation: [`natural_key`] turns a number into a key whose plain (byte) order is
//! the natural order. Rust code compares with [`natural_cmp`]; SQL with the functions
//! [`register`] adds to every replica connection (`desk_natural(number)` and
//! `desk_position_order(position, number)`), which return the same keys — so lists, keyset
//! pages ([`crate::Replica::page`], whose cursors hold the key) and briefing packs agree.

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::cmp::Ordering;

/// Starts a run of digits in a key (a number sorts before text at the same place).
const NUM: char = '\u{1}';
/// Starts a run of other characters.
const TEXT: char = '\u{2}';
/// An absent number: after every present one.
const NONE: char = '\u{3}';

/// The value of a decimal digit in any of the scripts the desk writes (ASCII, Thai, Lao,
/// Khmer, Myanmar).
fn digit(c: char) -> Option<u32> {
    let base = match c {
        '0'..='9' => '0',
        '\u{0E50}'..='\u{0E59}' => '\u{0E50}',
        '\u{0ED0}'..='\u{0ED9}' => '\u{0ED0}',
        '\u{17E0}'..='\u{17E9}' => '\u{17E0}',
        '\u{1040}'..='\u{1049}' => '\u{1040}',
        _ => return None,
    };
    Some(c as u32 - base as u32)
}

/// A key whose byte order is the natural order of `s`: runs of digits compare by value
/// (`9` < `10`; `007` = `7`), other runs as lower-case text, a number before text at the same
/// place, and a prefix before what continues it (`2` < `2.1`).
pub fn natural_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if digit(c).is_some() {
            let mut digits = String::new();
            while let Some(d) = chars.peek().and_then(|c| digit(*c)) {
                if !(digits.is_empty() && d == 0) {
                    digits.push(char::from(b'0' + d as u8));
                }
                chars.next();
            }
            // The number of significant digits first: longer numbers are larger.
            out.push(NUM);
            out.push_str(&format!("{:04}", digits.len().min(9999)));
            out.push_str(&digits);
        } else {
            out.push(TEXT);
            while let Some(&c) = chars.peek() {
                if digit(c).is_some() {
                    break;
                }
                if !c.is_control() {
                    out.extend(c.to_lowercase());
                }
                chars.next();
            }
        }
    }
    out
}

/// Compares two numbers in natural order (see [`natural_key`]).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    natural_key(a).cmp(&natural_key(b))
}

/// The key of a record ordered by position, then number: records with a position first, by
/// position; then by the number's natural order; records with no number last.
pub fn position_order_key(position: Option<i64>, number: Option<&str>) -> String {
    let mut out = match position {
        // Offset so that every i64 is a non-negative, fixed-width decimal.
        Some(p) => format!("0{:020}", (i128::from(p) - i128::from(i64::MIN)) as u128),
        None => "1".to_string(),
    };
    match number.map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => out.push_str(&natural_key(n)),
        None => out.push(NONE),
    }
    out
}

/// Compares two records (position, number) as [`position_order_key`] orders them.
pub fn position_order_cmp(
    a: (Option<i64>, Option<&str>),
    b: (Option<i64>, Option<&str>),
) -> Ordering {
    position_order_key(a.0, a.1).cmp(&position_order_key(b.0, b.1))
}

fn text_arg(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

/// Adds `desk_natural(text)` (the [`natural_key`], NULL for NULL) and
/// `desk_position_order(position, number)` (the [`position_order_key`], never NULL) to a
/// connection. Every replica connection has them: the schema's list orders use them.
pub(crate) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("desk_natural", 1, flags, |ctx| {
        Ok(text_arg(ctx.get_raw(0)).map(|s| natural_key(&s)))
    })?;
    conn.create_scalar_function("desk_position_order", 2, flags, |ctx| {
        let position = match ctx.get_raw(0) {
            ValueRef::Integer(i) => Some(i),
            ValueRef::Real(f) => Some(f as i64),
            ValueRef::Text(t) => std::str::from_utf8(t)
                .ok()
                .and_then(|s| s.trim().parse().ok()),
            _ => None,
        };
        let number = text_arg(ctx.get_raw(1));
        Ok(position_order_key(position, number.as_deref()))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(items: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }

    #[test]
    fn numbers_one_to_twenty_in_natural_order() {
        let text_order: Vec<String> = {
            let mut v: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(text_order[..3], ["1", "10", "11"]);
        let refs: Vec<&str> = text_order.iter().map(String::as_str).collect();
        let want: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
        assert_eq!(sorted(&refs), want);
    }

    #[test]
    fn segments_compare_as_numbers_and_prefixes_come_first() {
        assert_eq!(
            sorted(&["10", "2.1", "2", "1.10", "1.9", "2.1.1", "1", "3a", "3", "3b"]),
            ["1", "1.9", "1.10", "2", "2.1", "2.1.1", "3", "3a", "3b", "10"]
        );
        assert_eq!(natural_cmp("007", "7"), Ordering::Equal);
        assert_eq!(natural_cmp("Item 9", "item 10"), Ordering::Less);
        assert_eq!(natural_cmp("A", "b"), Ordering::Less);
        // A number sorts before text at the same place.
        assert_eq!(natural_cmp("2.1", "2.a"), Ordering::Less);
        // Thai digits count as digits.
        assert_eq!(natural_cmp("๙", "๑๐"), Ordering::Less);
        assert_eq!(natural_cmp("2", "10"), Ordering::Less);
    }

    #[test]
    fn position_first_then_number_then_nothing() {
        let mut v = vec![
            (None, Some("10")),
            (None, None),
            (Some(2), Some("1")),
            (None, Some("2")),
            (Some(1), Some("9")),
            (None, Some("2.1")),
            (Some(-5), None),
        ];
        v.sort_by(|a, b| position_order_cmp(*a, *b));
        assert_eq!(
            v,
            [
                (Some(-5), None),
                (Some(1), Some("9")),
                (Some(2), Some("1")),
                (None, Some("2")),
                (None, Some("2.1")),
                (None, Some("10")),
                (None, None),
            ]
        );
    }

    #[test]
    fn sql_functions_return_the_same_keys() {
        let conn = Connection::open_in_memory().expect("memory db");
        register(&conn).expect("register");
        let k: String = conn
            .query_row("SELECT desk_natural('2.10')", [], |r| r.get(0))
            .expect("natural");
        assert_eq!(k, natural_key("2.10"));
        let n: Option<String> = conn
            .query_row("SELECT desk_natural(NULL)", [], |r| r.get(0))
            .expect("null");
        assert_eq!(n, None);
        let p: String = conn
            .query_row("SELECT desk_position_order(3, '4.1')", [], |r| r.get(0))
            .expect("position");
        assert_eq!(p, position_order_key(Some(3), Some("4.1")));
        let mut stmt = conn
            .prepare(
                "SELECT n FROM (SELECT '10' n UNION ALL SELECT '2' UNION ALL SELECT '2.1' \
                 UNION ALL SELECT '1') ORDER BY desk_natural(n)",
            )
            .expect("prepare");
        let order: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(order, ["1", "2", "2.1", "10"]);
    }
}
