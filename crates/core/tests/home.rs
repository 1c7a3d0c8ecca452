//! The home view (`Replica::home`) on a small hand-made replica.

mod common;
use common::*;
use desk_core::{AttentionReason, DueState, Entity, Replica};
use serde_json::{json, Value};

fn mk(r: &mut Replica, e: Entity, v: Value) -> String {
    r.create(e, &fields(v)).expect("create").id
}

fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

#[test]
fn home_lists_what_needs_attention() {
    let (_d, mut r) = fresh();
    // Meetings: one past, fourteen from the day on (only twelve shown), one deleted.
    let past = mk(
        &mut r,
        Entity::Meeting,
        json!({"title": "11th SOM", "short_title": "11th SOM", "start_date": "2026-01-10"}),
    );
    let mut upcoming = Vec::new();
    for i in 0..14 {
        upcoming.push(mk(
            &mut r,
            Entity::Meeting,
            json!({"title": format!("Meeting {i:02}"), "start_date": format!("2026-{:02}-01", 3 + i % 10), "end_date": format!("2026-{:02}-02", 3 + i % 10)}),
        ));
    }
    let gone = mk(
        &mut r,
        Entity::Meeting,
        json!({"title": "Deleted", "start_date": "2026-03-01"}),
    );
    r.delete(Entity::Meeting, &gone).expect("delete");

    // Actions of the past meeting, as of 2026-03-01.
    let action =
        |r: &mut Replica, title: &str, due: Option<&str>, status: &str, owner: Option<&str>| {
            let mut v = json!({"meeting": past, "title": title, "status": status});
            if let Some(d) = due {
                v["due_date"] = json!(d);
            }
            if let Some(o) = owner {
                v["owner_country"] = json!(o);
            }
            mk(r, Entity::Action, v)
        };
    action(&mut r, "late VN", Some("2026-02-01"), "ongoing", Some("VN"));
    action(
        &mut r,
        "soon TH",
        Some("2026-03-08"),
        "not_started",
        Some("TH"),
    );
    action(&mut r, "late TH", Some("2026-02-20"), "ongoing", Some("TH"));
    action(&mut r, "late nobody", Some("2026-01-20"), "ongoing", None);
    action(&mut r, "later", Some("2026-03-09"), "ongoing", Some("TH"));
    action(&mut r, "done", Some("2026-02-01"), "completed", Some("TH"));
    action(
        &mut r,
        "overtaken",
        Some("2026-02-01"),
        "overtaken",
        Some("KH"),
    );
    action(&mut r, "no date", None, "ongoing", Some("KH"));
    let removed = action(&mut r, "deleted", Some("2026-02-01"), "ongoing", Some("KH"));
    r.delete(Entity::Action, &removed).expect("delete");

    // Projects, each with its updates.
    let project = |r: &mut Replica, code: &str, status: &str, updates: &[(&str, &str)]| {
        let id = mk(
            r,
            Entity::Project,
            json!({"code": code, "title": format!("Project {code}"), "status": status}),
        );
        for (period_end, rag) in updates {
            mk(
                r,
                Entity::Update,
                json!({"project": id, "period_end": period_end, "rag": rag}),
            );
        }
        id
    };
    project(
        &mut r,
        "P-RED",
        "ongoing",
        &[("2025-12-31", "green"), ("2026-02-28", "red")],
    );
    project(
        &mut r,
        "P-WAS-RED",
        "ongoing",
        &[("2025-12-31", "red"), ("2026-02-28", "green")],
    );
    project(&mut r, "P-AMBER", "approved", &[("2026-02-28", "amber")]);
    project(&mut r, "P-STALE", "ongoing", &[("2025-11-20", "green")]);
    project(&mut r, "P-NONE", "suspended", &[]);
    project(&mut r, "P-DONE", "completed", &[]);
    project(&mut r, "P-PROPOSED", "proposed", &[]);
    let gone = project(&mut r, "P-GONE", "ongoing", &[("2026-02-28", "red")]);
    r.delete(Entity::Project, &gone).expect("delete");

    let home = r.home(day("2026-03-01")).expect("home");
    assert_eq!(home.as_of, "2026-03-01");
    assert_eq!(home.upcoming.len(), 12);
    let starts: Vec<&str> = home
        .upcoming
        .iter()
        .map(|v| v.record.str("start_date").unwrap_or_default())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "soonest first");
    assert!(starts.iter().all(|s| *s >= "2026-03-01"));
    assert!(home
        .upcoming
        .iter()
        .all(|v| v.record.id != gone && v.record.id != past));
    assert_eq!(home.upcoming[0].subtitle, "2026-03-01 to 2026-03-02");

    let actions: Vec<(&str, Option<&str>, DueState)> = home
        .actions
        .iter()
        .map(|a| (a.action.label.as_str(), a.owner_country.as_deref(), a.due))
        .collect();
    assert_eq!(
        actions,
        [
            ("late TH", Some("TH"), DueState::Overdue),
            ("soon TH", Some("TH"), DueState::DueSoon),
            ("late VN", Some("VN"), DueState::Overdue),
            ("late nobody", None, DueState::Overdue),
        ]
    );
    let m = home.actions[0].meeting.as_ref().expect("meeting");
    assert_eq!(
        (m.entity, m.id.as_str(), m.label.as_str()),
        ("meeting", past.as_str(), "11th SOM")
    );
    assert_eq!(home.actions[0].action.due, Some(DueState::Overdue));

    let projects: Vec<(&str, AttentionReason, Option<&str>)> = home
        .projects
        .iter()
        .map(|p| {
            (
                p.project.record.str("code").unwrap_or_default(),
                p.reason,
                p.rag.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        projects,
        [
            ("P-RED", AttentionReason::Red, Some("red")),
            ("P-AMBER", AttentionReason::Amber, Some("amber")),
            ("P-STALE", AttentionReason::Stale, Some("green")),
            ("P-NONE", AttentionReason::NoUpdate, None),
        ]
    );
    assert_eq!(home.projects[2].last_update.as_deref(), Some("2025-11-20"));

    let json = serde_json::to_value(&home).expect("json");
    assert_eq!(json["projects"][3]["reason"], "no_update");
    assert_eq!(json["actions"][1]["due"], "due_soon");
    assert_eq!(json["actions"][0]["action"]["due"], "overdue");
}

#[test]
fn an_empty_replica_has_an_empty_home() {
    let (_d, r) = fresh();
    let home = r.home(day("2026-03-01")).expect("home");
    assert!(home.upcoming.is_empty() && home.actions.is_empty() && home.projects.is_empty());
}
