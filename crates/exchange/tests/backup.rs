//! Whole-replica backups: export → restore into an empty replica gives the same state (compared
//! by dump, search index included), files and deletions too; damaged, foreign, newer and
//! restricted cases refused with nothing written.

mod common;
use common::{fields, fresh};
use desk_core::{Entity, Replica};
use desk_exchange::backup::{self, BackupError};
use serde_json::json;

/// A replica with names in six languages, an edit, a delete, a restore and a document file.
fn sample() -> (tempfile::TempDir, Replica) {
    let (d, mut r) = fresh();
    r.load_demo(desk_core::demo::Size::Small, &mut |_| {})
        .expect("demo");
    let names = [
        ("Sok Chenda", "សុខ ចិន្ដា"),
        ("Phonevilay Sisouk", "ພອນວິໄລ ສີສຸກ"),
        ("Aung Kyaw", "အောင်ကျော်"),
        ("Somchai Jaidee", "สมชาย ใจดี"),
        ("Bui Thanh Son", "Bùi Thanh Sơn"),
    ];
    let mut ids = Vec::new();
    for (n, native) in names {
        ids.push(
            r.create(
                Entity::Contact,
                &fields(json!({"name": n, "native_name": native, "tags": ["som"]})),
            )
            .expect("create")
            .id,
        );
    }
    r.update(
        Entity::Contact,
        &ids[0],
        &fields(json!({"title": "Secretary of State"})),
    )
    .expect("edit");
    r.delete(Entity::Contact, &ids[1]).expect("delete");
    r.delete(Entity::Contact, &ids[2]).expect("delete");
    r.restore(Entity::Contact, &ids[2]).expect("restore");
    let meeting = r
        .list(Entity::Meeting, &desk_core::ListQuery::default())
        .expect("meetings")[0]
        .id
        .clone();
    let doc = r
        .create(
            Entity::Document,
            &fields(
                json!({"meeting": meeting, "title": "Concept note", "symbol": "ACMECS/SOM/2026/1"}),
            ),
        )
        .expect("doc");
    r.attach_file(&doc.id, "note.txt", "ແຜນວຽກ — plan".as_bytes())
        .expect("attach");
    (d, r)
}

#[test]
fn a_backup_restores_an_identical_replica() {
    let (_a, r) = sample();
    let b = backup::export(&r, true, true).expect("export");
    assert_eq!(b.format, "secretariat-desk-backup");
    assert_eq!(b.files.len(), 1);
    assert!(b.records["contact"].iter().any(|c| c.deleted));
    let bytes = backup::to_json(&b);
    let (_b, mut into) = fresh();
    let read = backup::from_json(&bytes).expect("read");
    let done = backup::restore(&mut into, &read).expect("restore");
    assert_eq!(done.files, 1);
    assert_eq!(into.dump().expect("dump"), r.dump().expect("dump"));
    let doc = into
        .search("Concept note", 1)
        .expect("search")
        .into_iter()
        .next()
        .expect("found");
    assert_eq!(
        into.document_file(&doc.id).expect("file"),
        "ແຜນວຽກ — plan".as_bytes()
    );
    // Into a replica that holds records: refused, nothing changed.
    let before = into.dump().expect("dump");
    assert!(matches!(
        backup::restore(&mut into, &read),
        Err(BackupError::NotEmpty)
    ));
    assert_eq!(into.dump().expect("dump"), before);
}

#[test]
fn restricted_records_need_saying_so() {
    let (_a, mut r) = fresh();
    r.create(Entity::Contact, &fields(json!({"name": "Open"})))
        .expect("create");
    assert_eq!(
        backup::export(&r, false, false).expect("export").restricted,
        0
    );
    r.create(
        Entity::Contact,
        &fields(json!({"name": "Quiet", "classification": "restricted"})),
    )
    .expect("create");
    let e = backup::export(&r, false, false).expect_err("refused");
    assert!(matches!(e, BackupError::Restricted(1)), "{e}");
    assert!(e.to_string().contains("--include-restricted"));
    assert_eq!(
        backup::export(&r, false, true).expect("export").restricted,
        1
    );
}

#[test]
fn damaged_foreign_and_newer_files_are_refused_and_nothing_is_written() {
    let (_a, r) = sample();
    let good = backup::to_json(&backup::export(&r, true, true).expect("export"));
    let (_b, mut into) = fresh();
    let empty = into.dump().expect("dump");
    // Truncated.
    let e = backup::from_json(&good[..good.len() / 2]).expect_err("truncated");
    assert!(e.to_string().contains("not JSON"), "{e}");
    // Not ours, or newer than this build.
    assert!(matches!(
        backup::from_json(br#"{"format":"vcard"}"#),
        Err(BackupError::NotABackup(_))
    ));
    assert!(matches!(
        backup::from_json(br#"{"format":"secretariat-desk-backup","version":99}"#),
        Err(BackupError::TooNew(99))
    ));
    // A record edited by hand no longer matches its history: refused, the replica emptied again.
    let mut b = backup::from_json(&good).expect("read");
    b.records.get_mut("contact").expect("contacts")[0]
        .fields
        .insert("name".into(), json!("Someone Else"));
    let e = backup::restore(&mut into, &b).expect_err("damaged");
    assert!(
        e.to_string()
            .contains("differs from what its change log makes"),
        "{e}"
    );
    assert_eq!(into.dump().expect("dump"), empty);
    // A file whose bytes do not match its SHA-256: refused before anything is written.
    let mut b = backup::from_json(&good).expect("read");
    b.files[0].data = "AAAA".into();
    let e = backup::restore(&mut into, &b).expect_err("damaged file");
    assert!(e.to_string().contains("SHA-256"), "{e}");
    assert_eq!(into.dump().expect("dump"), empty);
}
