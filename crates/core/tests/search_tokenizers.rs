//! The measurement behind the search design (`docs/design/search.md`): what a user types —
//! part of a name, in scripts without spaces between words, Vietnamese without tones — against
//! FTS5's default tokenizer and against the replica's search.

mod common;
use common::*;
use desk_core::Entity;
use serde_json::json;

/// (stored name, what the user types)
const CASES: &[(&str, &str)] = &[
    ("สมชายใจดี", "ใจดี"),             // Thai, unspaced: the family name inside
    ("ศิริพร วงศ์สวัสดิ์", "สวัสดิ์"),        // Thai, the end of a word
    ("សុខវណ្ណា", "វណ្ណា"),                // Khmer, unspaced, with a subscript consonant
    ("ສົມພອນພົມມະວົງ", "ພົມມະ"),         // Lao, unspaced
    ("အောင်ကျော်ဇော်", "ကျော်"),         // Myanmar, unspaced
    ("Nguyễn Thị Thu Hà", "nguyen"), // Vietnamese without tones
    ("Trần Quốc Vượng", "vuong"),
    ("Phommavong", "mmav"), // Latin, inside a word
];

#[test]
fn the_default_tokenizer_misses_what_users_type_and_the_replica_finds_it() {
    // FTS5 as it comes: unicode61.
    let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
    conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(body);")
        .expect("fts5");
    for (i, (name, _)) in CASES.iter().enumerate() {
        conn.execute(
            "INSERT INTO t (rowid, body) VALUES (?1, ?2)",
            rusqlite::params![i as i64, name],
        )
        .expect("insert");
    }
    let default_hits = CASES
        .iter()
        .filter(|(_, q)| {
            let quoted = format!("\"{q}\"");
            conn.query_row("SELECT count(*) FROM t WHERE t MATCH ?1", [quoted], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_or(0)
                > 0
        })
        .count();

    let (_d, mut r) = fresh();
    for (name, _) in CASES {
        r.create(
            Entity::Contact,
            &fields(json!({"name": "x", "native_name": name})),
        )
        .expect("contact");
    }
    let ours = CASES
        .iter()
        .filter(|(_, q)| !r.search(q, 5).expect("search").is_empty())
        .count();

    println!(
        "found: default tokenizer {default_hits}/{n}, replica search {ours}/{n}",
        n = CASES.len()
    );
    // Measured: the default tokenizer finds 2 of the 8 (only where a vowel sign happens to
    // split the text at the same place as the query).
    assert!(
        default_hits * 2 < CASES.len(),
        "unicode61 found {default_hits} of {}",
        CASES.len()
    );
    assert_eq!(ours, CASES.len(), "the replica must find every case");
}
