//! Search of a meeting's parts and documents (with the meeting they belong to), one- and
//! two-letter queries at the start of any word, and the migration that indexes the records of
//! an older replica.

mod common;
use common::*;
use desk_core::{Entity, Replica, SearchHit};
use serde_json::json;

fn titles(hits: &[SearchHit]) -> Vec<&str> {
    hits.iter().map(|h| h.title.as_str()).collect()
}

fn meeting_with_parts(r: &mut Replica) -> String {
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "Twelfth Senior Officials' Meeting", "short_title": "12th SOM", "start_date": "2026-03-10"})),
        )
        .expect("meeting")
        .id;
    let item = r
        .create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m, "number": "4.2", "title": "Cross-border electricity trade", "purpose": "endorsement of the roadmap"})),
        )
        .expect("agenda")
        .id;
    r.create(
        Entity::Decision,
        &fields(json!({"meeting": m, "agenda_item": item, "number": "D-7", "text": "The meeting endorsed the hydropower interconnection roadmap."})),
    )
    .expect("decision");
    r.create(
        Entity::Action,
        &fields(json!({"meeting": m, "title": "Circulate the interconnection study", "owner": "Lao PDR, Ministry of Energy and Mines"})),
    )
    .expect("action");
    r.create(
        Entity::Document,
        &fields(json!({"title": "Regional grid concept note", "symbol": "ACMECS/SOM/2026/1/DOC/003rev1", "meeting": m, "filename": "grid-note.pdf"})),
    )
    .expect("document");
    r.create(
        Entity::Document,
        &fields(json!({"title": "Unfiled grid memo"})),
    )
    .expect("document");
    m
}

#[test]
fn meeting_parts_and_documents_are_found_with_their_meeting() {
    let (_d, mut r) = fresh();
    let m = meeting_with_parts(&mut r);
    for (query, entity, title) in [
        (
            "electricity",
            "agenda_item",
            "Cross-border electricity trade",
        ),
        ("roadmap", "agenda_item", "Cross-border electricity trade"),
        (
            "hydropower",
            "decision",
            "The meeting endorsed the hydropower interconnection roadmap.",
        ),
        (
            "D-7",
            "decision",
            "The meeting endorsed the hydropower interconnection roadmap.",
        ),
        (
            "interconnection study",
            "action",
            "Circulate the interconnection study",
        ),
        (
            "energy and mines",
            "action",
            "Circulate the interconnection study",
        ),
        ("DOC/003", "document", "Regional grid concept note"),
        ("grid-note", "document", "Regional grid concept note"),
    ] {
        let hits = r.search(query, 10).expect("search");
        let hit = hits
            .iter()
            .find(|h| h.entity == entity)
            .unwrap_or_else(|| panic!("{query}: no {entity} in {hits:?}"));
        assert_eq!(hit.title, title, "{query}");
        let parent = hit.parent.as_ref().expect("parent");
        assert_eq!(
            (parent.entity, parent.id.as_str(), parent.label.as_str()),
            ("meeting", m.as_str(), "12th SOM"),
            "{query}"
        );
    }
    // A hit's subtitle is the line a list shows under the record.
    let doc = r.search("grid-note", 5).expect("search").remove(0);
    assert_eq!(
        doc.subtitle,
        "ACMECS/SOM/2026/1/DOC/003rev1 · other · draft"
    );
    let item = r.search("electricity", 5).expect("search").remove(0);
    assert_eq!(item.subtitle, "4.2");
    // A document filed under no meeting has no parent; a meeting is nobody's part.
    let memo = r.search("unfiled", 10).expect("search");
    assert_eq!(titles(&memo), ["Unfiled grid memo"]);
    assert!(memo[0].parent.is_none());
    let meeting = r.search("twelfth", 10).expect("search");
    assert_eq!(meeting[0].entity, "meeting");
    assert!(meeting[0].parent.is_none());
    let json = serde_json::to_value(agenda_hit(&r)).expect("json");
    assert_eq!(json["parent"]["entity"], "meeting");
    // Deleted parts are no longer found.
    let action = r.search("circulate", 5).expect("search")[0].id.clone();
    r.delete(Entity::Action, &action).expect("delete");
    assert!(r.search("circulate", 5).expect("search").is_empty());
}

fn agenda_hit(r: &Replica) -> SearchHit {
    r.search("electricity", 1).expect("search").remove(0)
}

#[test]
fn one_letter_finds_name_starts_and_two_letters_the_start_of_any_word() {
    let (_d, mut r) = fresh();
    for (name, native) in [
        ("Bùi Thanh Sơn", None),
        ("Somchai Jaidee", Some("สมชาย ใจดี")),
        ("Thongloun Sisoulith", None),
        ("Anna Grosso", None),
    ] {
        let mut f = json!({ "name": name });
        if let Some(n) = native {
            f["native_name"] = json!(n);
        }
        r.create(Entity::Contact, &fields(f)).expect("contact");
    }
    r.create(
        Entity::Organisation,
        &fields(json!({"name": "Ministry of Foreign Affairs", "acronym": "MOFA"})),
    )
    .expect("org");
    r.create(
        Entity::Project,
        &fields(json!({"code": "SC-07", "title": "Southern Economic Corridor"})),
    )
    .expect("project");
    r.create(
        Entity::Meeting,
        &fields(json!({"title": "Special Working Group on Water", "start_date": "2026-05-01"})),
    )
    .expect("meeting");

    let has = |q: &str, t: &str| {
        let hits = r.search(q, 20).expect("search");
        hits.iter().any(|h| h.title == t)
    };
    // Later words, without and with diacritics, any case.
    for (q, t) in [
        ("So", "Bùi Thanh Sơn"),
        ("sơ", "Bùi Thanh Sơn"),
        ("th", "Bùi Thanh Sơn"),
        ("si", "Thongloun Sisoulith"),
        ("fo", "Ministry of Foreign Affairs"),
        ("ec", "Southern Economic Corridor"),
        ("wa", "Special Working Group on Water"),
        ("สม", "Somchai Jaidee"),
    ] {
        assert!(has(q, t), "{q} should find {t}");
    }
    // One letter finds the start of the name (a keystroke in the palette must stay cheap);
    // later words from two letters on.
    assert!(has("B", "Bùi Thanh Sơn") && has("s", "Somchai Jaidee"));
    assert!(!has("S", "Bùi Thanh Sơn"));
    assert!(!has("G", "Special Working Group on Water"));
    // Not inside a word: "ss" is in "Grosso" but starts no word; "on" ends "Sơn".
    assert!(!has("ss", "Anna Grosso"));
    assert!(!has("on", "Bùi Thanh Sơn"));
    assert!(!has("ai", "Somchai Jaidee"));

    // Field starts rank before word starts.
    let hits = r.search("th", 20).expect("search");
    let t = titles(&hits);
    let field_start = t.iter().position(|x| *x == "Thongloun Sisoulith");
    let word_start = t.iter().position(|x| *x == "Bùi Thanh Sơn");
    assert!(field_start < word_start, "{t:?}");
    let hits = r.search("so", 20).expect("search");
    let t = titles(&hits);
    assert!(
        t.iter().position(|x| *x == "Somchai Jaidee")
            < t.iter().position(|x| *x == "Bùi Thanh Sơn"),
        "{t:?}"
    );
}

#[test]
fn opening_an_older_replica_indexes_the_newly_searched_records() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("replica.db");
    {
        // Records this program writes, in a file taken back to version 5 (what the later
        // versions added is removed: this program's writes name the columns of today).
        let mut r = Replica::init(&path, &key()).expect("init");
        meeting_with_parts(&mut r);
        r.reader()
            .execute_batch(
                "DROP INDEX indicator_value_indicator; DROP TABLE indicator_value; \
                 ALTER TABLE agenda_item DROP COLUMN rank; \
                 ALTER TABLE decision DROP COLUMN rank; \
                 DROP INDEX document_agenda_item; ALTER TABLE document DROP COLUMN agenda_item; \
                 DROP INDEX document_meeting; \
                 ALTER TABLE meeting DROP COLUMN start_time; ALTER TABLE meeting DROP COLUMN end_time; \
                 DROP TABLE audit_outbox; ALTER TABLE device DROP COLUMN user; \
                 PRAGMA user_version = 5;",
            )
            .expect("back to version 5");
        // A version-5 program indexed none of these: take their entries out, as it left them.
        r.reader()
            .execute("DELETE FROM search_tri WHERE rowid >= (5 << 40)", [])
            .expect("unindex");
        assert!(r.search("electricity", 5).expect("search").is_empty());
        assert_eq!(
            r.reader()
                .pragma_query_value(None, "user_version", |v| v.get::<_, i64>(0))
                .expect("version"),
            5
        );
    }
    let r = Replica::open(&path, &key()).expect("upgrade");
    assert_eq!(r.schema_version(), desk_core::SCHEMA_VERSION);
    for q in [
        "electricity",
        "hydropower",
        "interconnection study",
        "grid-note",
    ] {
        assert!(!r.search(q, 5).expect("search").is_empty(), "{q}");
    }
    // The same index a replica made at the current version holds.
    let (_d2, mut fresh_r) = fresh();
    meeting_with_parts(&mut fresh_r);
    let count = |r: &Replica| {
        r.reader()
            .query_row("SELECT count(*) FROM search_tri", [], |v| {
                v.get::<_, i64>(0)
            })
            .expect("count")
    };
    assert_eq!(count(&r), count(&fresh_r));
}

#[test]
fn a_whole_email_address_finds_its_contact() {
    let (_d, mut r) = fresh();
    r.create(
        Entity::Contact,
        &fields(json!({"name": "Chea Rithy", "email": "rithy.0@mfa.example.kh"})),
    )
    .expect("create");
    for q in [
        "rithy.0@mfa.example.kh",
        "RITHY.0@MFA.EXAMPLE.KH",
        "rithy.0",
    ] {
        assert_eq!(
            titles(&r.search(q, 5).expect("search")),
            ["Chea Rithy"],
            "{q}"
        );
    }
}
