//! The composed pack of a demo meeting, snapshot-tested as an outline, and the composing rules.

use desk_brief::{compose, Block, Options, SectionKind};
use desk_core::demo::Size;
use desk_core::{Entity, Key, ListQuery, Replica};
use serde_json::json;

fn demo() -> (tempfile::TempDir, Replica) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([3u8; 32])).expect("init");
    r.load_demo(Size::Small, &mut |_| {}).expect("demo");
    (dir, r)
}

fn meeting(r: &Replica, title: &str) -> String {
    r.list(Entity::Meeting, &ListQuery::default())
        .expect("list")
        .into_iter()
        .find(|m| m.str("title") == Some(title))
        .expect("meeting")
        .id
}

/// Compares with the committed snapshot; `UPDATE_SNAPSHOTS=1` rewrites it (review the diff).
fn snapshot(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "snapshot {name} differs (UPDATE_SNAPSHOTS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn som_2026_pack_outline() {
    let (_d, r) = demo();
    let id = meeting(&r, "ACMECS Senior Officials' Meeting 2026");
    let pack = compose(&r, &id, &Options::default()).expect("compose");
    // The stamp is the time the demo was loaded: mask it.
    let outline = pack
        .outline()
        .lines()
        .map(|l| {
            if l.contains("Data as of") {
                "[INTERNAL] Data as of <load time>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    snapshot("som-2026.txt", &outline);
    // Same replica, same options: the same pack.
    assert_eq!(pack, compose(&r, &id, &Options::default()).expect("again"));
}

#[test]
fn sections_follow_protocol_and_mark_what_needs_attention() {
    let (_d, r) = demo();
    let id = meeting(&r, "ACMECS Senior Officials' Meeting 2026");
    let pack = compose(&r, &id, &Options::default()).expect("compose");
    let kinds: Vec<SectionKind> = pack.sections.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        SectionKind::ALL.to_vec(),
        "every section has data in the demo"
    );
    assert_eq!(pack.dates, "8–9 December 2026");
    let delegations = &pack.sections[2].blocks[0];
    let Block::Table { rows, .. } = delegations else {
        panic!("table")
    };
    assert_eq!(rows[0][0].text, "Cambodia");
    assert_eq!(rows[0][4].text, "head of delegation");
    let follow = &pack.sections[5];
    let overdue = follow.blocks.iter().any(|b| match b {
        Block::Table { rows, .. } => rows
            .iter()
            .any(|r| r[3].alert && r[3].text.contains("overdue")),
        _ => false,
    });
    assert!(overdue, "past-due open actions are marked");
}

#[test]
fn empty_sections_are_left_out_and_options_apply() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([4u8; 32])).expect("init");
    let m = r
        .create(Entity::Meeting, &serde_json::from_value(json!({"title": "Working Group", "start_date": "2026-12-30", "end_date": "2027-01-02", "classification": "restricted"})).expect("f"))
        .expect("m");
    let pack = compose(
        &r,
        &m.id,
        &Options {
            buddhist_era: true,
            ..Options::default()
        },
    )
    .expect("compose");
    assert!(
        pack.sections.is_empty(),
        "a meeting with no agenda, people or documents: just the cover"
    );
    assert_eq!(pack.classification, "RESTRICTED");
    assert_eq!(pack.dates, "30 December 2026 – 2 January 2027 (B.E. 2570)");
    let err = compose(
        &r,
        "01a20900-0000-7000-8000-000000000000",
        &Options::default(),
    )
    .expect_err("unknown");
    assert!(matches!(err, desk_core::Error::NotFound { .. }), "{err}");
}
