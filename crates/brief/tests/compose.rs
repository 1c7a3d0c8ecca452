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

fn obj(v: serde_json::Value) -> desk_core::Fields {
    serde_json::from_value(v).expect("fields")
}

/// The pack shows what the app shows: agenda numbers that follow moves, the follow-up
/// tracker's rows in its order, and each indicator's latest value.
#[test]
fn the_pack_shows_the_app_s_numbers_follow_up_rows_and_latest_values() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([5u8; 32])).expect("init");
    let p = r
        .create(
            Entity::Project,
            &obj(json!({"code": "SC-01", "title": "Southern Economic Corridor"})),
        )
        .expect("project");
    let ind = r
        .create(Entity::Indicator, &obj(json!({"project": p.id, "name": "Border crossings upgraded", "baseline": 0, "target": 12, "actual": 3, "as_of": "2026-03-31"})))
        .expect("indicator");
    r.create(
        Entity::IndicatorValue,
        &obj(json!({"indicator": ind.id, "date": "2026-09-30", "value": 7})),
    )
    .expect("value");
    r.create(
        Entity::IndicatorValue,
        &obj(json!({"indicator": ind.id, "date": "2026-06-30", "value": 5})),
    )
    .expect("value");
    let old = r
        .create(Entity::Meeting, &obj(json!({"title": "ACMECS SOM 2025", "short_title": "SOM 2025", "framework": "ACMECS", "start_date": "2025-08-19"})))
        .expect("old meeting");
    for (title, due) in [
        ("Report on the corridor", "2026-01-31"),
        ("Circulate the roadmap", "2025-11-30"),
    ] {
        r.create(
            Entity::Action,
            &obj(
                json!({"meeting": old.id, "title": title, "owner_country": "TH", "due_date": due}),
            ),
        )
        .expect("action");
    }
    let m = r
        .create(Entity::Meeting, &obj(json!({"title": "ACMECS SOM 2026", "framework": "ACMECS", "start_date": "2026-12-08"})))
        .expect("meeting");
    let items: Vec<String> = ["Opening", "Adoption of the agenda", "Corridor"]
        .iter()
        .map(|t| {
            let mut v = json!({"meeting": m.id, "title": t});
            if *t == "Corridor" {
                v["projects"] = json!([p.id]);
            }
            r.create(Entity::AgendaItem, &obj(v)).expect("item").id
        })
        .collect();
    r.move_record(Entity::AgendaItem, &items[2], None)
        .expect("move");
    let pack = compose(&r, &m.id, &Options::default()).expect("compose");
    let section = |k: SectionKind| pack.sections.iter().find(|s| s.kind == k).expect("section");
    let headings: Vec<&str> = section(SectionKind::Agenda)
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        headings,
        ["1. Corridor", "2. Opening", "3. Adoption of the agenda"]
    );
    let table = |k: SectionKind, first: &str| -> Vec<Vec<String>> {
        section(k)
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Table { columns, rows } if columns[0] == first => Some(
                    rows.iter()
                        .map(|r| r.iter().map(|c| c.text.clone()).collect())
                        .collect(),
                ),
                _ => None,
            })
            .expect("table")
    };
    let indicators = table(SectionKind::Projects, "Indicator");
    assert_eq!(
        indicators[0][4..],
        ["7".to_string(), "2026-09-30".to_string()]
    );
    let follow = table(SectionKind::FollowUp, "Action");
    let rows = r
        .followup(&desk_core::FollowupQuery {
            framework: "ACMECS".into(),
            due: desk_core::DueFilter::Pending,
            as_of: pack_day(&r),
            before: Some("2026-12-08".into()),
            ..Default::default()
        })
        .expect("followup");
    let want: Vec<(String, String)> = rows
        .iter()
        .map(|x| (x.title.clone(), x.meeting.label.clone()))
        .collect();
    let got: Vec<(String, String)> = follow
        .iter()
        .map(|x| (x[0].clone(), x[1].clone()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got[0].0, "Circulate the roadmap");
}

/// The day a pack is composed for: the date of the replica's latest change.
fn pack_day(r: &Replica) -> String {
    r.data_as_of()
        .expect("as of")
        .map(|h| h.to_rfc3339()[..10].to_string())
        .unwrap_or_default()
}
