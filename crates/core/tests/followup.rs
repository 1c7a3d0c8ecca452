//! The follow-up tracker: every action item of a framework's meetings, filtered by where it
//! stands, by country and status, with its meeting, decision and where it was last reported.

mod common;
use common::*;
use desk_core::{due_state, DueFilter, DueState, Entity, FollowupQuery, Replica};
use serde_json::json;

struct World {
    som: String,
    wg: String,
    /// Titles of the ACMECS actions.
    acmecs: Vec<&'static str>,
}

fn world(r: &mut Replica) -> World {
    let meeting = |r: &mut Replica, title: &str, short: &str, framework: &str, start: &str| {
        r.create(
            Entity::Meeting,
            &fields(json!({"title": title, "short_title": short, "framework": framework, "start_date": start})),
        )
        .expect("meeting")
        .id
    };
    let som = meeting(r, "ACMECS SOM 2025", "SOM 2025", "ACMECS", "2025-08-19");
    let wg = meeting(
        r,
        "ACMECS Working Group on Connectivity",
        "WG-C 2026",
        "ACMECS",
        "2026-04-21",
    );
    let musp = meeting(
        r,
        "Mekong-U.S. Partnership SOM",
        "MUSP 2025",
        "Mekong-U.S. Partnership",
        "2025-06-05",
    );
    let d1 = r
        .create(
            Entity::Decision,
            &fields(json!({"meeting": som, "text": "Noted the report."})),
        )
        .expect("decision")
        .id;
    let d2 = r
        .create(
            Entity::Decision,
            &fields(json!({"meeting": som, "text": "Endorsed the roadmap."})),
        )
        .expect("decision")
        .id;
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Somchai Jaidee", "country": "TH"})),
        )
        .expect("contact")
        .id;
    let action = |r: &mut Replica, v: serde_json::Value| {
        r.create(Entity::Action, &fields(v)).expect("action").id
    };
    action(
        r,
        json!({"meeting": som, "decision": d2, "title": "Overdue roadmap", "owner_country": "TH", "owner_contact": c, "due_date": "2026-04-01", "status": "ongoing", "reported_at": wg, "evidence": "Draft circulated"}),
    );
    action(
        r,
        json!({"meeting": som, "decision": d1, "title": "Due soon report", "owner": "ACMECS Interim Secretariat", "due_date": "2026-05-05"}),
    );
    action(
        r,
        json!({"meeting": wg, "title": "Open later", "owner_country": "VN", "due_date": "2026-12-31"}),
    );
    action(
        r,
        json!({"meeting": wg, "title": "Undated", "owner_country": "TH"}),
    );
    action(
        r,
        json!({"meeting": wg, "title": "Done already", "owner_country": "TH", "due_date": "2026-01-31", "status": "completed"}),
    );
    let gone = action(
        r,
        json!({"meeting": wg, "title": "Deleted", "due_date": "2026-01-31"}),
    );
    r.delete(Entity::Action, &gone).expect("delete");
    action(
        r,
        json!({"meeting": musp, "title": "Other framework", "owner_country": "TH", "due_date": "2026-01-31"}),
    );
    World {
        som,
        wg,
        acmecs: vec![
            "Overdue roadmap",
            "Due soon report",
            "Open later",
            "Undated",
            "Done already",
        ],
    }
}

fn q(due: DueFilter) -> FollowupQuery {
    FollowupQuery {
        framework: "ACMECS".into(),
        due,
        as_of: "2026-05-01".into(),
        ..Default::default()
    }
}

fn titles(r: &Replica, q: &FollowupQuery) -> Vec<String> {
    r.followup(q)
        .expect("followup")
        .into_iter()
        .map(|x| x.title)
        .collect()
}

#[test]
fn every_action_of_the_framework_with_its_meeting_decision_and_report() {
    let (_d, mut r) = fresh();
    let w = world(&mut r);
    let rows = r.followup(&q(DueFilter::Any)).expect("followup");
    // By due date (the completed one first: it was due earliest), undated last.
    let got: Vec<&str> = rows.iter().map(|x| x.title.as_str()).collect();
    assert_eq!(
        got,
        [
            "Done already",
            "Overdue roadmap",
            "Due soon report",
            "Open later",
            "Undated"
        ]
    );
    let mut want = w.acmecs.clone();
    want.sort();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, want);
    let overdue = &rows[1];
    assert_eq!(overdue.meeting.id, w.som);
    assert_eq!(overdue.meeting.label, "SOM 2025");
    assert_eq!(overdue.meeting.date.as_deref(), Some("2025-08-19"));
    // The decision's number follows the meeting's order of decisions (none was typed).
    let d = overdue.decision.as_ref().expect("decision");
    assert_eq!(
        (d.number.as_deref(), d.text.as_str()),
        (Some("2"), "Endorsed the roadmap.")
    );
    assert_eq!(overdue.responsible, "Thailand");
    assert_eq!(
        overdue.owner_contact_name.as_deref(),
        Some("Somchai Jaidee")
    );
    assert_eq!(overdue.evidence.as_deref(), Some("Draft circulated"));
    assert_eq!(
        overdue.reported_at.as_ref().map(|m| m.id.as_str()),
        Some(w.wg.as_str())
    );
    assert_eq!(rows[2].responsible, "ACMECS Interim Secretariat");
    // The due state is the one rule's, for every row.
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).expect("date");
    for row in &rows {
        let rec = r.get(Entity::Action, &row.id).expect("action");
        assert_eq!(row.due, due_state(&rec, as_of), "{}", row.title);
    }
    assert_eq!(
        rows.iter().map(|x| x.due).collect::<Vec<_>>(),
        [
            DueState::Done,
            DueState::Overdue,
            DueState::DueSoon,
            DueState::Open,
            DueState::Open
        ]
    );
}

#[test]
fn filters_by_state_country_status_and_meeting_date() {
    let (_d, mut r) = fresh();
    world(&mut r);
    assert_eq!(titles(&r, &q(DueFilter::Overdue)), ["Overdue roadmap"]);
    assert_eq!(titles(&r, &q(DueFilter::DueSoon)), ["Due soon report"]);
    assert_eq!(titles(&r, &q(DueFilter::Open)), ["Open later", "Undated"]);
    assert_eq!(titles(&r, &q(DueFilter::Done)), ["Done already"]);
    assert_eq!(
        titles(&r, &q(DueFilter::Pending)),
        [
            "Overdue roadmap",
            "Due soon report",
            "Open later",
            "Undated"
        ]
    );
    let thai = FollowupQuery {
        owner_country: Some("Thailand".into()),
        ..q(DueFilter::Pending)
    };
    assert_eq!(titles(&r, &thai), ["Overdue roadmap", "Undated"]);
    let ongoing = FollowupQuery {
        status: Some("ongoing".into()),
        ..q(DueFilter::Any)
    };
    assert_eq!(titles(&r, &ongoing), ["Overdue roadmap"]);
    let before = FollowupQuery {
        before: Some("2026-04-21".into()),
        ..q(DueFilter::Any)
    };
    assert_eq!(titles(&r, &before), ["Overdue roadmap", "Due soon report"]);
    let other = FollowupQuery {
        framework: "Mekong-U.S. Partnership".into(),
        ..q(DueFilter::Any)
    };
    assert_eq!(titles(&r, &other), ["Other framework"]);
    let none = FollowupQuery {
        framework: "Friends of the Mekong".into(),
        ..q(DueFilter::Any)
    };
    assert!(titles(&r, &none).is_empty());
    // The day decides: a month later the report is overdue too.
    let later = FollowupQuery {
        as_of: "2026-06-01".into(),
        ..q(DueFilter::Overdue)
    };
    assert_eq!(titles(&r, &later), ["Overdue roadmap", "Due soon report"]);
}

#[test]
fn bad_queries_name_their_part() {
    let (_d, mut r) = fresh();
    world(&mut r);
    for (bad, part) in [
        (
            FollowupQuery {
                as_of: "May".into(),
                ..q(DueFilter::Any)
            },
            "as_of",
        ),
        (
            FollowupQuery {
                as_of: String::new(),
                ..q(DueFilter::Any)
            },
            "as_of",
        ),
        (
            FollowupQuery {
                before: Some("soon".into()),
                ..q(DueFilter::Any)
            },
            "before",
        ),
        (
            FollowupQuery {
                owner_country: Some("Atlantis".into()),
                ..q(DueFilter::Any)
            },
            "owner_country",
        ),
        (
            FollowupQuery {
                status: Some("finished".into()),
                ..q(DueFilter::Any)
            },
            "status",
        ),
    ] {
        let err = r.followup(&bad).expect_err("refused");
        assert_eq!(err.field(), Some(part), "{err}");
    }
    assert_eq!(DueFilter::named("due-soon"), Some(DueFilter::DueSoon));
    assert_eq!(DueFilter::named("later"), None);
    assert_eq!(
        serde_json::to_value(DueFilter::DueSoon).expect("json"),
        json!("due_soon")
    );
}

#[test]
fn frameworks_are_listed_most_meetings_first() {
    let (_d, mut r) = fresh();
    world(&mut r);
    let fw = r.frameworks().expect("frameworks");
    let names: Vec<_> = fw.iter().map(|f| (f.name.as_str(), f.meetings)).collect();
    assert_eq!(names, [("ACMECS", 2), ("Mekong-U.S. Partnership", 1)]);
}

#[test]
fn pages_of_the_tracker_put_together_are_the_whole_list_and_count_it() {
    let (_d, mut r) = fresh();
    let w = world(&mut r);
    // More rows than a page: a second meeting's worth, some with equal due dates (the order
    // then follows the meeting, title and id).
    for k in 0..17 {
        let country = ["TH", "VN", "KH"][k % 3];
        let status = ["ongoing", "completed", "not_started"][k % 3];
        r.create(
            Entity::Action,
            &fields(json!({"meeting": w.wg, "title": format!("Extra {}", k % 5), "owner_country": country,
                "due_date": format!("2026-0{}-1{}", 4 + k % 3, k % 4), "status": status})),
        )
        .expect("action");
    }
    for due in [
        DueFilter::Any,
        DueFilter::Pending,
        DueFilter::Overdue,
        DueFilter::Done,
        DueFilter::Open,
    ] {
        let whole = r.followup(&q(due)).expect("whole");
        for limit in [1, 2, 3, 7, 100] {
            let mut joined = Vec::new();
            let mut offset = 0;
            loop {
                let page = r.followup_page(&q(due), offset, limit).expect("page");
                assert_eq!(page.total as usize, whole.len(), "{due:?} total");
                assert!(page.rows.len() <= limit);
                if page.rows.is_empty() {
                    break;
                }
                offset += page.rows.len();
                joined.extend(page.rows);
            }
            assert_eq!(joined, whole, "{due:?} in pages of {limit}");
        }
    }
    // Past the end: nothing, the same count.
    let past = r
        .followup_page(&q(DueFilter::Any), 1_000, 10)
        .expect("past");
    assert!(past.rows.is_empty());
    assert_eq!(past.total as usize, w.acmecs.len() + 17);
}

#[test]
fn a_frameworks_meetings_latest_first_for_reported_at() {
    let (_d, mut r) = fresh();
    let w = world(&mut r);
    let ms = r.framework_meetings("ACMECS", 10).expect("meetings");
    let ids: Vec<&str> = ms.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [w.wg.as_str(), w.som.as_str()]);
    assert_eq!(ms[0].label, "WG-C 2026");
    assert_eq!(r.framework_meetings("ACMECS", 1).expect("one").len(), 1);
    assert!(r
        .framework_meetings("Nobody's", 10)
        .expect("none")
        .is_empty());
}

#[test]
fn the_tracker_follows_every_write_whoever_makes_it() {
    // The tracker keeps a framework's order between pages while the replica is unchanged; a
    // write here, an undo, or a write by another handle on the file (the `desk` CLI beside the
    // app) must show on the next page asked for.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("replica.db");
    let mut app = Replica::init(&path, &key()).expect("init");
    let w = world(&mut app);
    let shown = |r: &Replica, due| -> Vec<String> {
        let page = r.followup_page(&q(due), 0, 100).expect("page");
        assert_eq!(page.total as usize, page.rows.len());
        page.rows.into_iter().map(|x| x.title).collect()
    };
    let all = shown(&app, DueFilter::Any);
    assert_eq!(all.len(), w.acmecs.len());
    let added = app
        .create(
            Entity::Action,
            &fields(json!({"meeting": w.wg, "title": "Added here", "due_date": "2026-04-30"})),
        )
        .expect("action")
        .id;
    assert!(shown(&app, DueFilter::Any).contains(&"Added here".to_string()));
    assert!(shown(&app, DueFilter::Overdue).contains(&"Added here".to_string()));
    app.update(
        Entity::Action,
        &added,
        &fields(json!({"status": "completed"})),
    )
    .expect("complete");
    assert!(!shown(&app, DueFilter::Overdue).contains(&"Added here".to_string()));
    assert!(shown(&app, DueFilter::Done).contains(&"Added here".to_string()));
    app.undo().expect("undo");
    assert!(shown(&app, DueFilter::Overdue).contains(&"Added here".to_string()));

    let mut cli = Replica::open(&path, &key()).expect("open beside");
    cli.create(
        Entity::Action,
        &fields(json!({"meeting": w.som, "title": "Added by the CLI", "owner_country": "KH"})),
    )
    .expect("action by the CLI");
    let mut country = q(DueFilter::Any);
    country.owner_country = Some("KH".into());
    let page = app.followup_page(&country, 0, 10).expect("page");
    assert_eq!(
        page.rows
            .iter()
            .map(|x| x.title.as_str())
            .collect::<Vec<_>>(),
        ["Added by the CLI"]
    );
    cli.delete(Entity::Action, &added)
        .expect("delete by the CLI");
    assert!(!shown(&app, DueFilter::Any).contains(&"Added here".to_string()));
    // A meeting moved to another framework takes its action items with it.
    cli.update(
        Entity::Meeting,
        &w.wg,
        &fields(json!({"framework": "Mekong-U.S. Partnership"})),
    )
    .expect("refile the meeting");
    let left = shown(&app, DueFilter::Any);
    assert!(
        left.iter()
            .all(|t| !["Open later", "Undated", "Done already"].contains(&t.as_str())),
        "{left:?}"
    );
    assert_eq!(left, titles(&app, &q(DueFilter::Any)));
}
