//! The replica through its public API: create/edit/delete, validation, encryption, search.

mod common;
use common::*;
use desk_core::{Entity, Error, Key, ListQuery, Replica};
use serde_json::json;

#[test]
fn create_edit_delete_contact() {
    let (_d, mut r) = fresh();
    let org = r
        .create(Entity::Organisation, &fields(json!({"name": "Ministry of Foreign Affairs", "acronym": "MFA-TH", "country": "Thailand", "kind": "ministry"})))
        .expect("org");
    assert_eq!(org.str("country"), Some("TH"));
    let c = r
        .create(Entity::Contact, &fields(json!({"name": "Somchai Jaidee", "native_name": "สมชาย ใจดี", "org": "mfa-th", "email": "somchai@mfa.go.th", "tags": "focal_point, som_leader"})))
        .expect("contact");
    assert_eq!(c.str("org"), Some(org.id.as_str()));
    assert_eq!(c.fields["tags"], json!(["focal_point", "som_leader"]));
    assert_eq!(c.str("classification"), Some("internal"));
    let c2 = r
        .update(
            Entity::Contact,
            &c.id,
            &fields(json!({"title": "Director-General", "email": null})),
        )
        .expect("edit");
    assert_eq!(c2.str("title"), Some("Director-General"));
    assert!(c2.fields.get("email").is_none());
    assert_eq!(r.delete(Entity::Contact, &c.id).expect("rm"), 1);
    assert!(r.get(Entity::Contact, &c.id).expect("get").deleted);
    assert!(r
        .list(Entity::Contact, &ListQuery::default())
        .expect("list")
        .is_empty());
    let err = r
        .update(Entity::Contact, &c.id, &fields(json!({"title": "x"})))
        .expect_err("deleted");
    assert!(matches!(err, Error::Deleted { .. }));
    r.restore(Entity::Contact, &c.id).expect("restore");
    assert_eq!(
        r.list(Entity::Contact, &ListQuery::default())
            .expect("list")
            .len(),
        1
    );
}

#[test]
fn validation_names_the_field_and_writes_nothing() {
    let (_d, mut r) = fresh();
    let before = r.dump().expect("dump");
    let cases = [
        (Entity::Contact, json!({"name": "  "}), "contact.name"),
        (
            Entity::Contact,
            json!({"name": "A", "email": "not-an-email"}),
            "contact.email",
        ),
        (
            Entity::Contact,
            json!({"name": "A", "country": "XX"}),
            "contact.country",
        ),
        (
            Entity::Contact,
            json!({"name": "A", "shoe_size": 4}),
            "contact.shoe_size",
        ),
        (
            Entity::Meeting,
            json!({"title": "SOM", "start_date": "2026-03-05", "end_date": "2026-03-01"}),
            "meeting.end_date",
        ),
        (
            Entity::Meeting,
            json!({"title": "SOM", "start_date": "5 March"}),
            "meeting.start_date",
        ),
        (
            Entity::AgendaItem,
            json!({"meeting": "0190e6b0-0000-7000-8000-000000000000", "title": "x"}),
            "agenda_item.meeting",
        ),
        (
            Entity::Project,
            json!({"code": "P1", "title": "t", "budget": -5}),
            "project.budget",
        ),
        (
            Entity::Project,
            json!({"code": "P1", "title": "t", "pillar": "space"}),
            "project.pillar",
        ),
    ];
    for (entity, input, field) in cases {
        let err = r.create(entity, &fields(input)).expect_err(field);
        assert!(matches!(err, Error::Validation { .. }), "{err}");
        assert!(
            err.to_string().starts_with(field),
            "{err} should name {field}"
        );
    }
    assert_eq!(before, r.dump().expect("dump"));
}

#[test]
fn batch_is_all_or_nothing_and_names_the_row() {
    let (_d, mut r) = fresh();
    let rows = vec![
        fields(json!({"name": "One"})),
        fields(json!({"name": "Two", "email": "bad"})),
    ];
    let err = r
        .create_many(Entity::Contact, &rows, &mut |_| {})
        .expect_err("row 2");
    assert!(err.to_string().starts_with("row 2: contact.email"), "{err}");
    assert_eq!(r.count(Entity::Contact).expect("count"), 0);
}

#[test]
fn deleting_a_meeting_tombstones_its_children() {
    let (_d, mut r) = fresh();
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "12th SOM", "start_date": "2026-05-01"})),
        )
        .expect("m");
    let a = r
        .create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m.id, "title": "Adoption of the agenda"})),
        )
        .expect("a");
    let d = r
        .create(
            Entity::Decision,
            &fields(json!({"meeting": m.id, "agenda_item": a.id, "text": "Adopted."})),
        )
        .expect("d");
    assert_eq!(r.delete(Entity::Meeting, &m.id).expect("rm"), 3);
    assert!(r.get(Entity::Decision, &d.id).expect("d").deleted);
    // A child cannot come back while its parent is deleted.
    assert!(matches!(
        r.restore(Entity::AgendaItem, &a.id),
        Err(Error::Deleted { .. })
    ));
}

#[test]
fn decision_cannot_point_at_another_meetings_agenda_item() {
    let (_d, mut r) = fresh();
    let m1 = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "A", "start_date": "2026-05-01"})),
        )
        .expect("m1");
    let m2 = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "B", "start_date": "2026-06-01"})),
        )
        .expect("m2");
    let a = r
        .create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m1.id, "title": "x"})),
        )
        .expect("a");
    let err = r
        .create(
            Entity::Decision,
            &fields(json!({"meeting": m2.id, "agenda_item": a.id, "text": "t"})),
        )
        .expect_err("cross");
    assert_eq!(err.field(), Some("agenda_item"));
}

#[test]
fn wrong_key_is_a_clear_error_and_the_file_is_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("replica.db");
    {
        let mut r = Replica::init(&path, &key()).expect("init");
        r.create(Entity::Contact, &fields(json!({"name": "A"})))
            .expect("c");
    }
    let bytes = std::fs::read(&path).expect("read");
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "the file must be encrypted"
    );
    let err = Replica::open(&path, &Key::Raw([8u8; 32]))
        .err()
        .expect("wrong key");
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
    let err = Replica::open(&path, &Key::Passphrase("guess".into()))
        .err()
        .expect("wrong pass");
    assert!(matches!(err, Error::WrongKey { .. }), "{err}");
    assert_eq!(bytes, std::fs::read(&path).expect("read"));
    let r = Replica::open(&path, &key()).expect("right key");
    assert_eq!(r.count(Entity::Contact).expect("count"), 1);
}

#[test]
fn search_finds_substrings_in_every_script() {
    let (_d, mut r) = fresh();
    let names = [
        ("Somchai Jaidee", "สมชาย ใจดี"),
        ("Sok Chanthea", "សុខ ចាន់ថា"),
        ("Somphone Phommavong", "ສົມພອນ ພົມມະວົງ"),
        ("U Aung Kyaw", "ဦးအောင်ကျော်"),
        ("Nguyen Thi Thu Ha", "Nguyễn Thị Thu Hà"),
    ];
    for (latin, native) in names {
        r.create(
            Entity::Contact,
            &fields(json!({"name": latin, "native_name": native})),
        )
        .expect("c");
    }
    for (query, expect) in [
        ("ใจดี", "Somchai Jaidee"), // inside unspaced Thai
        ("ชาย", "Somchai Jaidee"),
        ("ចាន់", "Sok Chanthea"),         // Khmer
        ("ພົມມະ", "Somphone Phommavong"), // Lao
        ("အောင်", "U Aung Kyaw"),         // Myanmar
        ("Nguyễn", "Nguyen Thi Thu Ha"),
        ("nguyen", "Nguyen Thi Thu Ha"),
        ("thị", "Nguyen Thi Thu Ha"),
        ("Phomm", "Somphone Phommavong"),
        ("so", "Somchai Jaidee"), // two letters: word prefix
        ("สม", "Somchai Jaidee"),
    ] {
        let hits = r.search(query, 10).expect("search");
        assert!(
            hits.iter().any(|h| h.title == expect),
            "{query} should find {expect}: {hits:?}"
        );
    }
    assert!(r.search("zzz", 10).expect("search").is_empty());
}

#[test]
fn every_descriptor_field_has_its_column() {
    let (_d, r) = fresh();
    for e in Entity::ALL {
        let d = e.desc();
        let mut stmt = r
            .reader()
            .prepare(&format!("PRAGMA table_info({})", d.table))
            .expect("table_info");
        let cols: Vec<String> = stmt
            .query_map([], |row| row.get::<_, String>(1))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("cols");
        for f in d.fields {
            assert!(
                cols.iter().any(|c| c == f.name),
                "{}.{} has no column",
                d.table,
                f.name
            );
        }
        for meta in ["id", "_hlc", "_dev", "_fv", "_updated", "_deleted"] {
            assert!(cols.iter().any(|c| c == meta), "{} lacks {meta}", d.table);
        }
    }
}

#[test]
fn a_replica_from_a_newer_program_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("replica.db");
    {
        let r = Replica::init(&path, &key()).expect("init");
        r.reader()
            .pragma_update(None, "user_version", 99)
            .expect("bump");
    }
    let err = Replica::open(&path, &key()).err().expect("too new");
    assert!(
        matches!(err, Error::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
}

#[test]
fn change_log_records_each_field_change_with_its_base_version() {
    let (_d, mut r) = fresh();
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Sok Vanna", "email": "sok@mfa.gov.kh"})),
        )
        .expect("create");
    r.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"email": "vanna@mfa.gov.kh", "title": "Counsellor"})),
    )
    .expect("edit");
    r.delete(Entity::Contact, &c.id).expect("rm");
    let log = r.changes(0, 100).expect("log");
    assert_eq!(log.len(), 3);
    let (create, edit, rm) = (&log[0], &log[1], &log[2]);
    assert!(create.hlc < edit.hlc && edit.hlc < rm.hlc);
    assert_eq!(create.device, r.device_id());
    assert!(create.fields.iter().all(|f| f.base.0 == 0));
    let email = edit
        .fields
        .iter()
        .find(|f| f.field == "email")
        .expect("email change");
    assert_eq!(email.value, json!("vanna@mfa.gov.kh"));
    assert_eq!(
        email.base, create.hlc,
        "the editor had seen the created value"
    );
    let title = edit
        .fields
        .iter()
        .find(|f| f.field == "title")
        .expect("title change");
    assert_eq!(title.base.0, 0, "the title had never been written");
    assert_eq!(rm.fields[0].field, "_deleted");
    assert_eq!(rm.fields[0].value, json!(true));
    // Unchanged values make no entry.
    r.restore(Entity::Contact, &c.id).expect("restore");
    let n = r.changes(0, 100).expect("log").len();
    r.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"title": "Counsellor"})),
    )
    .expect("same");
    assert_eq!(r.changes(0, 100).expect("log").len(), n);
}

/// Every table's columns, in order, for comparing schemas.
fn schema_of(r: &Replica) -> Vec<(String, Vec<(String, String)>)> {
    let conn = r.reader();
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') ORDER BY name")
        .expect("master");
    let names: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .expect("names")
        .collect::<Result<_, _>>()
        .expect("names");
    names
        .into_iter()
        .map(|n| {
            let mut info = conn
                .prepare(&format!("PRAGMA table_info(\"{n}\")"))
                .expect("info");
            let cols: Vec<(String, String)> = info
                .query_map([], |row| {
                    Ok((row.get::<_, String>(1)?, row.get::<_, String>(2)?))
                })
                .expect("cols")
                .collect::<Result<_, _>>()
                .expect("cols");
            (n, cols)
        })
        .collect()
}

#[test]
fn an_upgraded_replica_has_the_schema_of_a_fresh_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let old = dir.path().join("old.db");
    drop(Replica::init_at_version(&old, &key(), 1).expect("v1"));
    let upgraded = Replica::open(&old, &key()).expect("upgrade");
    let fresh = Replica::init(&dir.path().join("fresh.db"), &key()).expect("fresh");
    assert_eq!(upgraded.schema_version(), desk_core::SCHEMA_VERSION);
    assert_eq!(schema_of(&upgraded), schema_of(&fresh));
}

#[test]
fn delegations_in_protocol_order_with_forms_of_address() {
    let (_d, mut r) = fresh();
    let contact = |r: &mut Replica, v: serde_json::Value| {
        r.create(Entity::Contact, &fields(v)).expect("contact").id
    };
    let somchai = contact(
        &mut r,
        json!({"name": "Somchai Jaidee", "given_name": "Somchai", "family_name": "Jaidee", "native_name": "สมชาย ใจดี", "honorific": "H.E.", "country": "TH"}),
    );
    let anong = contact(
        &mut r,
        json!({"name": "Anong Wongsawat", "given_name": "Anong", "family_name": "Wongsawat", "honorific": "Ms.", "country": "TH"}),
    );
    let aung = contact(
        &mut r,
        json!({"name": "Aung Kyaw", "native_name": "အောင်ကျော်", "honorific": "U", "country": "MM"}),
    );
    let an = contact(
        &mut r,
        json!({"name": "Nguyen Van An", "given_name": "Van An", "family_name": "Nguyen", "native_name": "Nguyễn Văn An", "gender": "male", "country": "VN"}),
    );
    let emily = contact(
        &mut r,
        json!({"name": "Emily Carter", "given_name": "Emily", "family_name": "Carter", "honorific": "Ms.", "country": "US"}),
    );
    let m = r
        .create(Entity::Meeting, &fields(json!({"title": "SOM", "start_date": "2026-12-08", "host_country": "VN", "precedence": "host_first"})))
        .expect("meeting")
        .id;
    for (c, del, role) in [
        (&anong, "TH", "delegate"),
        (&emily, "US", "observer"),
        (&aung, "MM", "head_of_delegation"),
        (&somchai, "TH", "head_of_delegation"),
        (&an, "VN", "head_of_delegation"),
    ] {
        r.create(
            Entity::Participant,
            &fields(json!({"meeting": m, "contact": c, "delegation": del, "role": role})),
        )
        .expect("p");
    }
    let dels = r.delegations(&m).expect("delegations");
    let labels: Vec<&str> = dels.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(
        labels,
        ["Viet Nam", "Myanmar", "Thailand", "United States"],
        "host first, then members, then others"
    );
    let th = &dels[2];
    assert_eq!(
        th.members[0].formal_name, "H.E. Somchai Jaidee",
        "head of delegation first"
    );
    assert_eq!(th.members[0].native_name.as_deref(), Some("ฯพณฯ สมชาย ใจดี"));
    assert_eq!(th.members[1].salutation, "Khun Anong");
    assert_eq!(
        dels[0].members[0].native_name.as_deref(),
        Some("Ông Nguyễn Văn An")
    );
    assert_eq!(
        dels[1].members[0].native_name.as_deref(),
        Some("ဦးအောင်ကျော်")
    );
}

#[test]
fn undo_walks_back_through_local_actions() {
    let (_d, mut r) = fresh();
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Sok Vanna", "email": "sok@mfa.gov.kh", "tags": "focal_point"})),
        )
        .expect("create");
    r.update(Entity::Contact, &c.id, &fields(json!({"email": "vanna@mfa.gov.kh", "title": "Counsellor", "tags": "som_leader, focal_point"})))
        .expect("edit");
    r.delete(Entity::Contact, &c.id).expect("rm");

    let u = r.undo().expect("undo").expect("something to undo");
    assert_eq!(u.records, vec![("contact".to_string(), c.id.clone())]);
    let back = r.get(Entity::Contact, &c.id).expect("get");
    assert!(!back.deleted, "undoing the delete restores");
    assert_eq!(back.str("email"), Some("vanna@mfa.gov.kh"));

    r.undo().expect("undo").expect("the edit");
    let back = r.get(Entity::Contact, &c.id).expect("get");
    assert_eq!(
        back.str("email"),
        Some("sok@mfa.gov.kh"),
        "the edit is undone field by field"
    );
    assert!(
        back.fields.get("title").is_none(),
        "a field that was never set is cleared again"
    );
    assert_eq!(back.fields["tags"], json!(["focal_point"]));

    r.undo().expect("undo").expect("the create");
    assert!(
        r.get(Entity::Contact, &c.id).expect("get").deleted,
        "undoing a create deletes"
    );
    assert_eq!(r.undo().expect("undo"), None, "nothing left to undo");
}

#[test]
fn undo_leaves_a_field_changed_since_alone() {
    let (_d, mut r) = fresh();
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "A", "title": "One"})),
        )
        .expect("c");
    r.update(Entity::Contact, &c.id, &fields(json!({"title": "Two"})))
        .expect("edit 1");
    // Another device edits the title later (applied through sync).
    let other = desk_core::Change {
        seq: 0,
        device: "01a20900-0000-7000-8000-00000000beef".into(),
        dev_seq: 1,
        tx: 1,
        entity: "contact".into(),
        record: c.id.clone(),
        hlc: desk_core::hlc::Hlc(u64::MAX >> 1),
        schema_version: desk_core::SCHEMA_VERSION,
        fields: vec![desk_core::FieldChange {
            field: "title".into(),
            value: json!("Three"),
            base: desk_core::hlc::Hlc(0),
            set: None,
        }],
    };
    r.apply_pull(&[other], &[], None).expect("apply");
    let u = r.undo().expect("undo").expect("report");
    assert_eq!(u.kept_newer, vec!["contact.title".to_string()]);
    assert_eq!(
        r.get(Entity::Contact, &c.id).expect("get").str("title"),
        Some("Three")
    );
}

fn remote(
    record: &str,
    entity: &str,
    dev_seq: i64,
    hlc: u64,
    base: u64,
    field: &str,
    value: serde_json::Value,
) -> desk_core::Change {
    desk_core::Change {
        seq: 0,
        device: "01a20900-0000-7000-8000-00000000cafe".into(),
        dev_seq,
        tx: dev_seq,
        entity: entity.into(),
        record: record.into(),
        hlc: desk_core::hlc::Hlc(hlc),
        schema_version: desk_core::SCHEMA_VERSION,
        fields: vec![desk_core::FieldChange {
            field: field.into(),
            value,
            base: desk_core::hlc::Hlc(base),
            set: None,
        }],
    }
}

#[test]
fn concurrent_edits_that_disagree_go_to_the_inbox_and_are_settled_by_an_edit() {
    let (_d, mut r) = fresh();
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Sok Vanna", "title": "Counsellor"})),
        )
        .expect("c");
    let created = r.changes(0, 10).expect("log")[0].hlc;
    r.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"title": "Minister Counsellor"})),
    )
    .expect("mine");
    // Elsewhere, someone who had only seen the created value changed the title too, later.
    let later = u64::MAX >> 2;
    r.apply_pull(
        &[remote(
            &c.id,
            "contact",
            1,
            later,
            created.0,
            "title",
            json!("Ambassador"),
        )],
        &[],
        None,
    )
    .expect("apply");
    assert_eq!(
        r.get(Entity::Contact, &c.id).expect("get").str("title"),
        Some("Ambassador"),
        "highest version wins for now"
    );
    let inbox = r.conflicts(false).expect("inbox");
    assert_eq!(inbox.len(), 1);
    let k = &inbox[0];
    assert_eq!(
        (k.kind.as_str(), k.field.as_str(), k.winner.as_str()),
        ("concurrent_edit", "title", "incoming")
    );
    assert_eq!(k.held, json!("Minister Counsellor"));
    assert_eq!(k.incoming, json!("Ambassador"));
    assert_eq!(k.label, "Sok Vanna");

    let rec = r
        .resolve_conflict(k.id, desk_core::Take::Mine)
        .expect("settle");
    assert_eq!(rec.str("title"), Some("Minister Counsellor"));
    assert!(r.conflicts(false).expect("inbox").is_empty());
    assert!(r.conflicts(true).expect("all")[0].resolved);
    assert!(
        r.resolve_conflict(k.id, desk_core::Take::Theirs).is_err(),
        "settled once"
    );

    // An edit made after seeing the current value is no conflict.
    let now = r.get(Entity::Contact, &c.id).expect("get");
    let seen = r.changes(0, 100).expect("log").last().expect("entry").hlc;
    r.apply_pull(
        &[remote(
            &now.id,
            "contact",
            2,
            later + 10,
            seen.0,
            "title",
            json!("Director"),
        )],
        &[],
        None,
    )
    .expect("apply");
    assert!(r.conflicts(false).expect("inbox").is_empty());
}

#[test]
fn an_edit_that_raced_a_delete_does_not_resurrect_the_record() {
    let (_d, mut r) = fresh();
    let c = r
        .create(Entity::Contact, &fields(json!({"name": "Aung Kyaw"})))
        .expect("c");
    let created = r.changes(0, 10).expect("log")[0].hlc;
    r.delete(Entity::Contact, &c.id).expect("rm");
    r.apply_pull(
        &[remote(
            &c.id,
            "contact",
            1,
            u64::MAX >> 2,
            created.0,
            "phone",
            json!("+95 1 234 567"),
        )],
        &[],
        None,
    )
    .expect("apply");
    let rec = r.get(Entity::Contact, &c.id).expect("get");
    assert!(rec.deleted, "no resurrection");
    assert_eq!(rec.str("phone"), Some("+95 1 234 567"), "the edit is kept");
    let k = r.conflicts(false).expect("inbox").remove(0);
    assert_eq!(k.kind, "edited_while_deleted");
    assert!(r
        .resolve_conflict(k.id, desk_core::Take::Value(json!("x")))
        .is_err());
    let back = r
        .resolve_conflict(k.id, desk_core::Take::Theirs)
        .expect("restore");
    assert!(!back.deleted, "only an explicit choice restores it");
}

#[test]
fn meeting_times_are_hours_and_minutes_at_the_venue() {
    let (_d, mut r) = fresh();
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "SOM", "start_date": "2026-12-10", "start_time": "9:30", "end_time": "1730"})),
        )
        .expect("create");
    assert_eq!(
        (m.str("start_time"), m.str("end_time")),
        (Some("09:30"), Some("17:30"))
    );
    for bad in ["25:00", "9:7", "noon", "12:60"] {
        let e = r
            .update(Entity::Meeting, &m.id, &fields(json!({"start_time": bad})))
            .expect_err(bad);
        assert_eq!(e.field(), Some("start_time"), "{bad}: {e}");
        assert!(e.to_string().contains("HH:MM"), "{e}");
    }
    assert_eq!(
        r.get(Entity::Meeting, &m.id)
            .expect("get")
            .str("start_time"),
        Some("09:30")
    );
}
