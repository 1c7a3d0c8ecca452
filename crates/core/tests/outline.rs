//! A meeting's proceedings (the meeting page during the meeting): agenda order and numbers,
//! decisions under their items, actions under their decisions, the rest apart, due states on
//! the day asked.

mod common;
use chrono::NaiveDate;
use common::*;
use desk_core::{DueState, Entity, Replica};
use serde_json::json;

fn create(r: &mut Replica, e: Entity, v: serde_json::Value) -> String {
    r.create(e, &fields(v)).expect("create").id
}

#[test]
fn proceedings_nest_decisions_and_actions_under_items_in_agenda_order() {
    let (_d, mut r) = fresh();
    let m = create(
        &mut r,
        Entity::Meeting,
        json!({"title": "ACMECS SOM", "framework": "ACMECS", "start_date": "2026-08-19"}),
    );
    let other = create(
        &mut r,
        Entity::Meeting,
        json!({"title": "Another meeting", "start_date": "2026-01-01"}),
    );
    let opening = create(
        &mut r,
        Entity::AgendaItem,
        json!({"meeting": m, "title": "Opening"}),
    );
    let report = create(
        &mut r,
        Entity::AgendaItem,
        json!({"meeting": m, "title": "Master Plan progress"}),
    );
    let aob = create(
        &mut r,
        Entity::AgendaItem,
        json!({"meeting": m, "title": "Any other business"}),
    );
    // Moved: the report comes first.
    r.move_record(Entity::AgendaItem, &report, None)
        .expect("move");
    let d1 = create(
        &mut r,
        Entity::Decision,
        json!({"meeting": m, "agenda_item": report, "text": "Noted the progress report."}),
    );
    let d2 = create(
        &mut r,
        Entity::Decision,
        json!({"meeting": m, "agenda_item": report, "text": "Endorsed the roadmap."}),
    );
    let loose = create(
        &mut r,
        Entity::Decision,
        json!({"meeting": m, "text": "Thanked the host."}),
    );
    create(
        &mut r,
        Entity::Action,
        json!({"meeting": m, "decision": d2, "title": "Circulate the roadmap", "owner_country": "TH", "due_date": "2026-09-01"}),
    );
    create(
        &mut r,
        Entity::Action,
        json!({"meeting": m, "decision": d2, "title": "Report at the Summit", "owner": "Mekong Institute", "due_date": "2026-12-31", "status": "completed"}),
    );
    create(
        &mut r,
        Entity::Action,
        json!({"meeting": m, "title": "Book the venue", "due_date": "2026-09-05"}),
    );
    create(
        &mut r,
        Entity::TalkingPoint,
        json!({"meeting": m, "agenda_item": opening, "text": "Welcome the delegations."}),
    );
    // Records of another meeting stay out.
    create(
        &mut r,
        Entity::AgendaItem,
        json!({"meeting": other, "title": "Elsewhere"}),
    );

    let o = r
        .outline(&m, NaiveDate::from_ymd_opt(2026, 9, 3).expect("day"))
        .expect("outline");
    let titles: Vec<_> = o
        .items
        .iter()
        .map(|i| (i.number.as_deref(), i.title.as_str()))
        .collect();
    assert_eq!(
        titles,
        [
            (Some("1"), "Master Plan progress"),
            (Some("2"), "Opening"),
            (Some("3"), "Any other business")
        ]
    );
    let first = &o.items[0];
    assert_eq!(first.id, report);
    let texts: Vec<_> = first
        .decisions
        .iter()
        .map(|d| (d.number.as_deref(), d.text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (Some("1"), "Noted the progress report."),
            (Some("2"), "Endorsed the roadmap.")
        ]
    );
    assert_eq!(first.decisions[0].id, d1);
    let acts = &first.decisions[1].actions;
    assert_eq!(acts.len(), 2);
    let circulate = acts
        .iter()
        .find(|a| a.title == "Circulate the roadmap")
        .expect("action");
    assert_eq!(circulate.responsible, "Thailand");
    assert_eq!(circulate.due, DueState::Overdue);
    let summit = acts
        .iter()
        .find(|a| a.title == "Report at the Summit")
        .expect("action");
    assert_eq!(
        (summit.responsible.as_str(), summit.due),
        ("Mekong Institute", DueState::Done)
    );
    assert_eq!(o.items[1].points.len(), 1);
    assert_eq!(o.items[1].points[0].text, "Welcome the delegations.");
    assert!(o.items[2].decisions.is_empty());
    assert_eq!(o.other_decisions.len(), 1);
    assert_eq!(o.other_decisions[0].id, loose);
    assert_eq!(o.other_actions.len(), 1);
    assert_eq!(o.other_actions[0].title, "Book the venue");
    assert_eq!(o.other_actions[0].due, DueState::DueSoon);

    // A deleted item's decisions are listed apart, not lost.
    r.delete(Entity::AgendaItem, &aob).expect("delete");
    let d3 = create(
        &mut r,
        Entity::Decision,
        json!({"meeting": m, "agenda_item": opening, "text": "Adopted the agenda."}),
    );
    r.delete(Entity::AgendaItem, &opening)
        .expect("delete opening");
    let o = r
        .outline(&m, NaiveDate::from_ymd_opt(2026, 9, 3).expect("day"))
        .expect("outline");
    assert_eq!(o.items.len(), 1);
    // Deleting an item deletes its parts or leaves them apart; either way nothing shows under a
    // deleted item and nothing crashes.
    assert!(o
        .items
        .iter()
        .all(|i| i.decisions.iter().all(|d| d.id != d3)));
}

#[test]
fn a_deleted_or_unknown_meeting_has_no_proceedings() {
    let (_d, mut r) = fresh();
    let day = NaiveDate::from_ymd_opt(2026, 9, 3).expect("day");
    let err = r.outline("nope", day).expect_err("unknown");
    assert!(err.to_string().contains("nope"), "{err}");
    let m = create(
        &mut r,
        Entity::Meeting,
        json!({"title": "SOM", "start_date": "2026-01-01"}),
    );
    r.delete(Entity::Meeting, &m).expect("delete");
    let err = r.outline(&m, day).expect_err("deleted");
    assert!(err.to_string().contains("deleted"), "{err}");
}
