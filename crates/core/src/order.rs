//! The order of numbered things (agenda items, decisions): by stated position, then by the
//! natural order of the number — `2` before `2.1` before `10`, numbers compared segment by
//! segment as numbers, other parts as text — never the text order (`1, 10, 11, …, 2`).
//!
//! One implementation: [`natural_key`] turns a number into a key whose plain (byte) order is
//! the natural order. Rust code compares with [`natural_cmp`]; SQL with the functions
//! [`register`] adds to every replica connection (`desk_natural(number)` and
//! `desk_position_order(position, number)`), which return the same keys — so lists, keyset
//! pages ([`crate::Replica::page`], whose cursors hold the key) and briefing packs agree.
//!
//! Agenda items and decisions can also be *moved* ([`crate::Replica::move_record`]): a move
//! writes only the moved record's `rank`, a fractional key between its new neighbours' order
//! keys ([`order_key`], [`rank_between`]), so moves made offline in two offices merge field
//! by field like any edit. `desk_rank_order(…)` is that key in SQL. The numbers shown for
//! them follow the order ([`display_numbers`]). See `docs/design/replica.md`.

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

/// The digits of ranks, in byte order: `0`–`9`, `A`–`Z`, `a`–`z` (62 of them).
const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The field a move writes (agenda items and decisions).
pub const RANK_FIELD: &str = "rank";

/// The longest rank (the `rank` field's limit). A rank grows by about one character per six
/// moves into the same gap, so this is never reached in practice; a move that would pass it
/// is refused rather than truncated.
pub const RANK_MAX: usize = 500;

fn rank_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'Z' => Some(b - b'A' + 10),
        b'a'..=b'z' => Some(b - b'a' + 36),
        _ => None,
    }
}

/// Whether `s` is a rank a move could have written: 1 to [`RANK_MAX`] characters from
/// `0-9A-Za-z`, not ending in `0` (so there is always room before it). Anything else in the
/// `rank` field (typed by hand) is ignored: the record orders by position and number.
pub fn is_rank(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= RANK_MAX
        && s.bytes().all(|b| rank_digit(b).is_some())
        && !s.ends_with('0')
}

/// A key strictly between `lo` and `hi` in byte order (`lo` may be empty: the top; `hi` none:
/// the bottom), made of rank digits. It is never a prefix of `hi` — it is below `hi` at its
/// first differing digit — so anything appended to it stays between the two. None when no key
/// fits: `lo` is not below `hi`, a bound has characters that are not rank digits, or `hi` is
/// `lo` followed by zeros.
pub fn key_between(lo: &str, hi: Option<&str>) -> Option<String> {
    let digits = |s: &str| s.bytes().map(rank_digit).collect::<Option<Vec<u8>>>();
    let a = digits(lo)?;
    let b = match hi {
        Some(h) => Some(digits(h)?),
        None => None,
    };
    // Whether the key made so far equals `hi`'s prefix (so it is bounded by `hi`'s digits).
    let mut bounded = b.is_some();
    let mut out: Vec<u8> = Vec::new();
    for i in 0.. {
        if i > 2 * RANK_MAX + 2 {
            return None;
        }
        // -1: `lo` has ended (any digit here makes the key greater).
        let lo_d = a.get(i).map_or(-1, |d| i16::from(*d));
        let hi_d = if bounded {
            // `hi` ended while the key still equals it: `hi` is not above `lo`.
            i16::from(*b.as_ref().and_then(|b| b.get(i))?)
        } else {
            DIGITS.len() as i16
        };
        if hi_d < lo_d {
            return None;
        }
        if hi_d - lo_d >= 2 {
            out.push((lo_d + (hi_d - lo_d) / 2) as u8);
            break;
        }
        if hi_d - lo_d == 1 && lo_d >= 0 {
            // Take `lo`'s digit: below `hi` from here on, whatever follows; it must now
            // exceed the rest of `lo`.
            out.push(lo_d as u8);
            bounded = false;
        } else {
            // Equal digits, or `lo` ended where `hi` has a 0: follow `hi`.
            out.push(hi_d as u8);
        }
    }
    Some(
        out.into_iter()
            .map(|d| char::from(DIGITS[d as usize]))
            .collect(),
    )
}

/// The rank a move writes: a key between the new neighbours' order keys, then four digits
/// made from the end of the record's id, so two offices moving different items into the
/// same gap at once get different ranks (ordered by id), and a later move can still go
/// between them. None when no key fits or it would be longer than [`RANK_MAX`].
pub fn rank_between(lo: &str, hi: Option<&str>, id: &str) -> Option<String> {
    let mut key = key_between(lo, hi)?;
    // The id's last four letters and digits, each written as a digit of the upper half
    // (hex digits one to one): a later move into the gap just before this key halves a high
    // digit several times before it must go a digit deeper, so keys stay short.
    let tail: Vec<u8> = id
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| match char::from(b).to_digit(16) {
            Some(h) => 32 + h as u8,
            None => 32 + rank_digit(b).unwrap_or(0) % 30,
        })
        .collect();
    key.extend(
        tail[tail.len().saturating_sub(4)..]
            .iter()
            .map(|d| char::from(DIGITS[usize::from(*d)])),
    );
    if key.ends_with('0') {
        key.push('V');
    }
    (key.len() <= RANK_MAX).then_some(key)
}

/// The order key of a record that can be moved (agenda items, decisions): its rank when it
/// has a valid one ([`is_rank`]); otherwise a key made from its position and number
/// ([`position_order_key`], each byte written as two rank digits, which keeps its order) and
/// its id. Ranks and these keys are one space: a move puts a rank between any two keys, so
/// records never moved keep their place by position and number, and only the moved record
/// is written. Keys are unique (the id is part of either kind, up to a rank collision, which
/// the order then breaks by id).
pub fn order_key(
    rank: Option<&str>,
    position: Option<i64>,
    number: Option<&str>,
    id: &str,
) -> String {
    if let Some(r) = rank.filter(|r| is_rank(r)) {
        return r.to_string();
    }
    let legacy = position_order_key(position, number);
    let mut out = String::with_capacity(2 * legacy.len() + 34);
    for b in legacy.bytes() {
        out.push(char::from(DIGITS[usize::from(b) / DIGITS.len()]));
        out.push(char::from(DIGITS[usize::from(b) % DIGITS.len()]));
    }
    out.extend(id.chars().filter(char::is_ascii_alphanumeric));
    // Never ends in 0: there is always room before it.
    out.push('V');
    out
}

/// The number shown for a record with no number of its own, from the one shown before it:
/// `1` first; the last run of digits counted on (`2.1` → `2.2`, `9` → `10`, `Item 3` →
/// `Item 4`, in the script it is written in, keeping leading zeros); a single letter after a
/// digit counted on (`3a` → `3b`); anything else after the last digits dropped (`4 bis` →
/// `5`); and `1` after a number with no digits at all.
pub fn next_number(prev: Option<&str>) -> String {
    let Some(prev) = prev.map(str::trim).filter(|p| !p.is_empty()) else {
        return "1".to_string();
    };
    let chars: Vec<char> = prev.chars().collect();
    let n = chars.len();
    // "3a" → "3b".
    if n >= 2 {
        let last = chars[n - 1];
        if digit(chars[n - 2]).is_some() && last.is_ascii_alphabetic() && !matches!(last, 'z' | 'Z')
        {
            let mut out: String = chars[..n - 1].iter().collect();
            out.push(char::from(last as u8 + 1));
            return out;
        }
    }
    let Some(end) = chars.iter().rposition(|c| digit(*c).is_some()) else {
        return "1".to_string();
    };
    let mut start = end;
    while start > 0 && digit(chars[start - 1]).is_some() {
        start -= 1;
    }
    // The digits' script: that of the run's last digit.
    let zero = chars[end] as u32 - digit(chars[end]).unwrap_or(0);
    let mut value: Vec<u32> = chars[start..=end]
        .iter()
        .map(|c| digit(*c).unwrap_or(0))
        .collect();
    // Add one, carrying.
    let mut i = value.len();
    loop {
        if i == 0 {
            value.insert(0, 1);
            break;
        }
        i -= 1;
        if value[i] == 9 {
            value[i] = 0;
        } else {
            value[i] += 1;
            break;
        }
    }
    let mut out: String = chars[..start].iter().collect();
    out.extend(
        value
            .iter()
            .map(|d| char::from_u32(zero + d).unwrap_or('0')),
    );
    out
}

/// The numbers shown for records in their order: a number someone typed as typed; one not
/// typed follows the number shown before it ([`next_number`]): `1, 2, 3`; after a typed
/// `2.1`, `2.2`.
pub fn display_numbers<'a>(typed: impl IntoIterator<Item = Option<&'a str>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in typed {
        let shown = match t.map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => t.to_string(),
            None => next_number(out.last().map(String::as_str)),
        };
        out.push(shown);
    }
    out
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
        let position = int_arg(ctx.get_raw(0));
        let number = text_arg(ctx.get_raw(1));
        Ok(position_order_key(position, number.as_deref()))
    })?;
    // desk_rank_order(position, number, rank, id) and desk_rank_order(number, rank, id):
    // the [`order_key`] of agenda items and of decisions (which have no position).
    conn.create_scalar_function("desk_rank_order", 4, flags, |ctx| {
        let position = int_arg(ctx.get_raw(0));
        let number = text_arg(ctx.get_raw(1));
        let rank = text_arg(ctx.get_raw(2));
        let id = text_arg(ctx.get_raw(3)).unwrap_or_default();
        Ok(order_key(rank.as_deref(), position, number.as_deref(), &id))
    })?;
    conn.create_scalar_function("desk_rank_order", 3, flags, |ctx| {
        let number = text_arg(ctx.get_raw(0));
        let rank = text_arg(ctx.get_raw(1));
        let id = text_arg(ctx.get_raw(2)).unwrap_or_default();
        Ok(order_key(rank.as_deref(), None, number.as_deref(), &id))
    })?;
    Ok(())
}

fn int_arg(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Real(f) => Some(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
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
    fn keys_between_fall_strictly_between() {
        let cases: [(&str, Option<&str>); 10] = [
            ("", None),
            ("", Some("1")),
            ("", Some("01")),
            ("", Some("0001V")),
            ("U", Some("V")),
            ("Uz", Some("V")),
            ("Uzzz", Some("V")),
            ("a", None),
            ("zzz", None),
            ("0m0H", Some("0m0I")),
        ];
        for (lo, hi) in cases {
            let k = key_between(lo, hi).expect("a key fits");
            assert!(k.as_str() > lo, "{lo:?} < {k:?}");
            if let Some(hi) = hi {
                assert!(k.as_str() < hi, "{k:?} < {hi:?}");
                // Never a prefix of the upper bound: anything appended stays below it.
                assert!(!hi.starts_with(&k), "{k:?} prefix of {hi:?}");
                assert!(format!("{k}zzzz").as_str() < hi);
            }
        }
        // No room, or bounds out of order, or not rank digits.
        assert_eq!(key_between("", Some("0")), None);
        assert_eq!(key_between("V", Some("V")), None);
        assert_eq!(key_between("b", Some("a")), None);
        assert_eq!(key_between("a b", None), None);
    }

    #[test]
    fn repeated_moves_into_one_gap_stay_ordered_and_short() {
        // Each new item goes right after the first one: keys shrink towards it.
        let first = order_key(
            None,
            Some(0),
            Some("1"),
            "0192f000-0000-7000-8000-00000000000a",
        );
        let last = order_key(
            None,
            Some(1),
            Some("2"),
            "0192f000-0000-7000-8000-00000000000b",
        );
        let mut next = last.clone();
        for i in 0..300 {
            let id = format!("0192f000-0000-7000-8000-{i:012}");
            let k = rank_between(&first, Some(next.as_str()), &id).expect("fits");
            assert!(is_rank(&k), "{k}");
            assert!(first < k && k < next, "{first} < {k} < {next}");
            next = k;
        }
        assert!(next.len() < 200, "{} characters", next.len());
        // And to the top, again and again.
        let mut top = first;
        for i in 0..300 {
            let k = rank_between("", Some(top.as_str()), &format!("id{i:04}")).expect("fits");
            assert!(k < top);
            top = k;
        }
    }

    #[test]
    fn order_keys_keep_position_then_number_order_and_ranks_go_between() {
        let id = |n: u8| format!("0192f000-0000-7000-8000-0000000000{n:02}");
        let mut items = [
            (None, Some("10"), id(1)),
            (None, None, id(2)),
            (Some(2), Some("1"), id(3)),
            (None, Some("2"), id(4)),
            (Some(1), Some("9"), id(5)),
            (None, Some("2.1"), id(6)),
            (None, None, id(7)),
        ];
        items.sort_by_key(|(p, n, i)| order_key(None, *p, *n, i));
        let got: Vec<&str> = items.iter().map(|x| x.2.as_str()).collect();
        let want = [id(5), id(3), id(4), id(6), id(1), id(2), id(7)];
        assert_eq!(got, want.iter().map(String::as_str).collect::<Vec<_>>());
        // A valid rank is the key; anything else typed in the field is ignored.
        assert_eq!(order_key(Some("U1"), Some(3), None, "x"), "U1");
        assert_eq!(
            order_key(Some("not a rank"), Some(3), None, "x"),
            order_key(None, Some(3), None, "x")
        );
        assert!(!is_rank("U0") && !is_rank("") && is_rank("U0V"));
    }

    #[test]
    fn numbers_follow_the_order() {
        assert_eq!(display_numbers([None, None, None]), ["1", "2", "3"]);
        assert_eq!(
            display_numbers([
                Some("1"),
                Some("2"),
                Some("2.1"),
                None,
                None,
                Some("3"),
                None
            ]),
            ["1", "2", "2.1", "2.2", "2.3", "3", "4"]
        );
        assert_eq!(next_number(Some("9")), "10");
        assert_eq!(next_number(Some("2.9")), "2.10");
        assert_eq!(next_number(Some("Item 3")), "Item 4");
        assert_eq!(next_number(Some("3a")), "3b");
        assert_eq!(next_number(Some("4 bis")), "5");
        assert_eq!(next_number(Some("07")), "08");
        assert_eq!(next_number(Some("๙")), "๑๐");
        assert_eq!(next_number(Some("Opening")), "1");
        assert_eq!(next_number(None), "1");
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
        let k: String = conn
            .query_row("SELECT desk_rank_order(3, '4.1', NULL, 'ab-cd')", [], |r| {
                r.get(0)
            })
            .expect("rank order");
        assert_eq!(k, order_key(None, Some(3), Some("4.1"), "ab-cd"));
        let k: String = conn
            .query_row("SELECT desk_rank_order('4.1', 'U1', 'ab-cd')", [], |r| {
                r.get(0)
            })
            .expect("rank order");
        assert_eq!(k, "U1");
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
