//! vCard round trips and de-duplication, iCalendar and XLSX exports, on real replicas (the
//! files are also read by independent implementations in tests/exchange/, run by scripts/test).

mod common;
use common::{fields, fresh};
use desk_core::{Entity, ListQuery, Replica};
use desk_exchange::calendar::{self, Selection};
use desk_exchange::records::Options;
use desk_exchange::vcard::Version;
use desk_exchange::{cards, reports};
use serde_json::{json, Value};
use std::path::Path;

const PEOPLE: [(&str, &str, &str); 5] = [
    ("Sok Chenda", "សុខ ចិន្ដា", "KH"),
    ("Phonevilay Sisouk", "ພອນວິໄລ ສີສຸກ", "LA"),
    ("Aung Kyaw", "အောင်ကျော်", "MM"),
    ("Somchai Jaidee", "สมชาย ใจดี", "TH"),
    ("Bui Thanh Son", "Bùi Thanh Sơn", "VN"),
];

fn demo() -> (tempfile::TempDir, Replica) {
    let (d, mut r) = fresh();
    r.load_demo(desk_core::demo::Size::Small, &mut |_| {})
        .expect("demo");
    for (name, native, country) in PEOPLE {
        r.create(
            Entity::Contact,
            &fields(json!({"name": name, "native_name": native, "country": country,
                "notes": "Line; one, \\ two\nthree", "tags": ["som", "focal point"], "languages": ["en"], "gender": "female"})),
        )
        .expect("create");
    }
    (d, r)
}

/// The contact fields a vCard carries, organisation by name, sorted.
fn carried(r: &Replica, v3: bool) -> Vec<String> {
    let mut keep = vec![
        "name",
        "native_name",
        "honorific",
        "given_name",
        "family_name",
        "title",
        "org",
        "country",
        "email",
        "phone",
        "tags",
        "notes",
    ];
    if !v3 {
        keep.extend(["languages", "gender"]);
    }
    let mut out: Vec<String> = r
        .list(Entity::Contact, &ListQuery::default())
        .expect("list")
        .iter()
        .map(|c| {
            keep.iter()
                .map(|f| match (*f, c.fields.get(*f)) {
                    ("org", Some(Value::String(id))) => {
                        r.label(&r.get(Entity::Organisation, id).expect("org"))
                    }
                    ("gender", Some(Value::String(g))) if g == "unspecified" => String::new(),
                    (_, v) => v.cloned().unwrap_or_default().to_string(),
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn vcard_round_trips_contacts_in_six_languages_both_versions() {
    let (_a, from) = demo();
    for (version, v3) in [(Version::V4, false), (Version::V3, true)] {
        let text = cards::export(&from, version, true).expect("export");
        assert!(text.contains("สมชาย ใจดี"));
        let (_b, mut into) = fresh();
        let out = cards::import(&mut into, text.as_bytes(), Options::default(), &mut |_| {})
            .expect("import");
        assert!(out.report.invalid.is_empty(), "{:?}", out.report.invalid);
        assert_eq!(
            out.cards,
            from.count(Entity::Contact).expect("count") as usize
        );
        assert_eq!(carried(&into, v3), carried(&from, v3), "{version:?}");
    }
}

#[test]
fn reimporting_cards_changes_nothing_and_merges_are_reported() {
    let (_a, from) = demo();
    let text = cards::export(&from, Version::V4, true).expect("export");
    let (_b, mut into) = fresh();
    cards::import(&mut into, text.as_bytes(), Options::default(), &mut |_| {}).expect("first");
    let before = into.dump().expect("dump");
    let again =
        cards::import(&mut into, text.as_bytes(), Options::default(), &mut |_| {}).expect("again");
    assert_eq!((again.report.created, again.report.written), (0, false));
    assert_eq!(again.report.unchanged, again.cards);
    assert_eq!(into.dump().expect("dump"), before);
    // A card for a known person (same name, no e-mail) adds a telephone number and reports it.
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Somchai Jaidee\r\nN:Jaidee;Somchai;;;\r\nTEL;TYPE=CELL:+66 81 234 5678\r\nEND:VCARD\r\n";
    let out =
        cards::import(&mut into, card.as_bytes(), Options::default(), &mut |_| {}).expect("merge");
    assert_eq!(out.report.created, 0);
    assert!(
        out.report.merged[0].filled.contains(&"phone".to_string()),
        "{:?}",
        out.report.merged
    );
}

#[test]
fn broken_vcards_are_refused_naming_the_line() {
    let (_a, mut r) = fresh();
    let truncated = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:B\r\n";
    let e = cards::import(
        &mut r,
        truncated.as_bytes(),
        Options::default(),
        &mut |_| {},
    )
    .expect_err("truncated");
    assert!(e.to_string().contains("line 5"), "{e}");
    let bad_mail = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEMAIL:not-mail\r\nEND:VCARD\r\n";
    let out = cards::import(&mut r, bad_mail.as_bytes(), Options::default(), &mut |_| {})
        .expect("report");
    assert_eq!(out.report.invalid[0].column.as_deref(), Some("EMAIL"));
    assert_eq!(r.count(Entity::Contact).expect("count"), 0);
}

fn zoneinfo() -> &'static Path {
    Path::new(desk_exchange::ical::SYSTEM_ZONEINFO)
}

#[test]
fn calendars_of_a_meeting_a_range_and_a_framework_with_stable_uids() {
    let (_a, mut r) = demo();
    let acmecs = calendar::ics(
        &r,
        &Selection::Framework("ACMECS".into()),
        false,
        zoneinfo(),
    )
    .expect("ics");
    let uids: Vec<&str> = acmecs.lines().filter(|l| l.starts_with("UID:")).collect();
    assert!(uids.len() >= 2, "{acmecs}");
    assert!(
        acmecs.contains("BEGIN:VTIMEZONE\r\nTZID:Asia/Bangkok"),
        "{acmecs}"
    );
    assert!(acmecs.contains("DTSTART;TZID=Asia/Bangkok:"), "{acmecs}");
    assert!(acmecs.contains("ATTENDEE;CN="), "{acmecs}");
    // Exported again after an edit: the same UIDs, a higher SEQUENCE for the edited meeting.
    let m = r
        .list(Entity::Meeting, &ListQuery::default())
        .expect("meetings")
        .into_iter()
        .find(|m| m.str("framework") == Some("ACMECS"))
        .expect("an ACMECS meeting");
    let one = calendar::ics(&r, &Selection::Meeting(m.id.clone()), false, zoneinfo()).expect("one");
    let seq = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("SEQUENCE:"))
            .map(str::to_string)
    };
    r.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"venue": "Sofitel, Vientiane"})),
    )
    .expect("edit");
    let after =
        calendar::ics(&r, &Selection::Meeting(m.id.clone()), false, zoneinfo()).expect("one");
    let uid = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("UID:"))
            .map(str::to_string)
    };
    assert_eq!(uid(&after), uid(&one));
    assert_ne!(seq(&after), seq(&one));
    assert!(after.contains("Sofitel\\, Vientiane"), "{after}");
    // A range takes the meetings with a day in it; an empty framework is an error.
    let from = chrono::NaiveDate::from_ymd_opt(2000, 1, 1).expect("day");
    let to = chrono::NaiveDate::from_ymd_opt(2100, 1, 1).expect("day");
    let all = calendar::ics(&r, &Selection::Range { from, to }, false, zoneinfo()).expect("range");
    let n = r.count(Entity::Meeting).expect("count") as usize;
    assert_eq!(all.matches("BEGIN:VEVENT").count(), n);
    assert!(calendar::ics(
        &r,
        &Selection::Framework("Nowhere".into()),
        false,
        zoneinfo()
    )
    .is_err());
    // A restricted meeting is exported only when asked.
    r.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"classification": "restricted"})),
    )
    .expect("restrict");
    let e = calendar::ics(&r, &Selection::Meeting(m.id.clone()), false, zoneinfo())
        .expect_err("restricted");
    assert!(e.to_string().contains("--include-restricted"), "{e}");
    let ok = calendar::ics(&r, &Selection::Meeting(m.id.clone()), true, zoneinfo()).expect("asked");
    assert!(ok.contains("CLASS:CONFIDENTIAL"));
}

#[test]
fn spreadsheets_of_the_followup_matrix_participants_and_portfolio() {
    let (_a, r) = demo();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).expect("day");
    let q = desk_core::FollowupQuery {
        framework: "ACMECS".into(),
        due: desk_core::DueFilter::Any,
        owner_country: None,
        status: None,
        as_of: "2026-12-07".into(),
        before: None,
    };
    let rows = r.followup(&q).expect("followup");
    let book = reports::followup(&r, "ACMECS", day, false).expect("followup");
    let sheet = &book.sheets[0];
    assert_eq!(sheet.rows.len(), rows.len());
    let overdue = rows
        .iter()
        .filter(|x| x.due == desk_core::DueState::Overdue)
        .count();
    assert!(overdue > 0);
    assert_eq!(sheet.rows.iter().filter(|x| x.marked).count(), overdue);
    let bytes = desk_exchange::xlsx::write(&book).expect("xlsx");
    assert_eq!(&bytes[..2], b"PK");

    let meeting = r
        .list(Entity::Meeting, &ListQuery::default())
        .expect("meetings")
        .into_iter()
        .find(|m| r.delegations(&m.id).is_ok_and(|d| !d.is_empty()))
        .expect("a meeting with participants");
    let book = reports::participants(&r, &meeting.id, false).expect("participants");
    let delegations = r.delegations(&meeting.id).expect("delegations");
    let order: Vec<String> = delegations
        .iter()
        .flat_map(|d| d.members.iter().map(|m| m.formal_name.clone()))
        .collect();
    let names: Vec<String> = book.sheets[0]
        .rows
        .iter()
        .map(|x| match &x.cells[2] {
            desk_exchange::xlsx::Cell::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, order);

    let book = reports::portfolio(&r, day, true).expect("portfolio");
    let portfolio = r.portfolio(day).expect("rows");
    assert_eq!(book.sheets[0].rows.len(), portfolio.len());
    assert_eq!(
        book.sheets[0].rows.iter().filter(|x| x.marked).count(),
        portfolio.iter().filter(|p| p.attention.is_some()).count()
    );
}
