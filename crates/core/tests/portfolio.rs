//! The project portfolio (`Replica::portfolio`): every live project with its pillar, status,
//! lead country, budget, funding secured, latest monitoring update and milestones.

mod common;
use common::*;
use desk_core::{AttentionReason, Entity, Replica};
use serde_json::{json, Value};

fn mk(r: &mut Replica, e: Entity, v: Value) -> String {
    r.create(e, &fields(v)).expect("create").id
}

#[test]
fn each_live_project_with_its_latest_update_funding_and_milestones() {
    let (_d, mut r) = fresh();
    let road = mk(
        &mut r,
        Entity::Project,
        json!({"code": "SC-02", "title": "Cross-border road ផ្លូវ", "pillar": "seamless_connectivity", "status": "ongoing",
               "lead_country": "KH", "budget": 12_000_000.0, "funding_secured": 3_000_000.0}),
    );
    let grid = mk(
        &mut r,
        Entity::Project,
        json!({"code": "sc-01", "title": "Power grid ສາຍສົ່ງ", "status": "ongoing", "lead_country": "LA"}),
    );
    let idea = mk(
        &mut r,
        Entity::Project,
        json!({"code": "SE-09", "title": "Proposed single window", "status": "proposed", "budget": 0.0, "funding_secured": 0.0}),
    );
    let gone = mk(
        &mut r,
        Entity::Project,
        json!({"code": "SE-10", "title": "Deleted", "status": "ongoing"}),
    );
    r.delete(Entity::Project, &gone).expect("delete");
    // Road: amber in Q1, green in Q2 (the latest); a deleted later red one does not count.
    for (end, rag) in [("2026-03-31", "amber"), ("2026-06-30", "green")] {
        mk(
            &mut r,
            Entity::Update,
            json!({"project": road, "period_end": end, "rag": rag}),
        );
    }
    let late = mk(
        &mut r,
        Entity::Update,
        json!({"project": road, "period_end": "2026-09-30", "rag": "red"}),
    );
    r.delete(Entity::Update, &late).expect("delete update");
    for (title, status) in [("Design", "done"), ("Tender", "done"), ("Works", "delayed")] {
        mk(
            &mut r,
            Entity::Milestone,
            json!({"project": road, "title": title, "status": status}),
        );
    }
    let day = chrono::NaiveDate::from_ymd_opt(2026, 8, 1).expect("day");
    let rows = r.portfolio(day).expect("portfolio");
    let codes: Vec<&str> = rows.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(
        codes,
        ["sc-01", "SC-02", "SE-09"],
        "by code, any case; the deleted left out"
    );

    let road_row = &rows[1];
    assert_eq!(road_row.id, road);
    assert_eq!(road_row.pillar.as_deref(), Some("seamless_connectivity"));
    assert_eq!(road_row.lead_country_name.as_deref(), Some("Cambodia"));
    assert_eq!(road_row.currency.as_deref(), Some("USD"));
    assert_eq!(road_row.funded_percent, Some(25.0));
    assert_eq!(road_row.rag.as_deref(), Some("green"));
    assert_eq!(road_row.last_update.as_deref(), Some("2026-06-30"));
    assert_eq!(
        road_row.attention, None,
        "green and reported within a period"
    );
    assert_eq!((road_row.milestones, road_row.milestones_done), (3, 2));

    // Never reported on: needs attention; a proposed project is not expected to report.
    assert_eq!(rows[0].id, grid);
    assert_eq!(rows[0].attention, Some(AttentionReason::NoUpdate));
    assert_eq!(rows[0].funded_percent, None);
    assert_eq!(rows[2].id, idea);
    assert_eq!(rows[2].attention, None);
    assert_eq!(rows[2].funded_percent, None, "no share of a zero budget");

    // Months later the green update is stale.
    let later = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("day");
    let rows = r.portfolio(later).expect("portfolio");
    assert_eq!(rows[1].attention, Some(AttentionReason::Stale));
}

#[test]
fn a_projects_milestones_by_date_with_the_late_ones_marked() {
    let (_d, mut r) = fresh();
    let p = mk(
        &mut r,
        Entity::Project,
        json!({"code": "SC-03", "title": "Bridge", "status": "ongoing"}),
    );
    for (title, due, status) in [
        ("Works", Some("2026-09-30"), "on_track"),
        ("Design", Some("2026-01-31"), "done"),
        ("Tender", Some("2026-04-30"), "delayed"),
        ("Handover", None, "planned"),
        ("Old plan", Some("2025-12-31"), "dropped"),
    ] {
        let mut v = json!({"project": p, "title": title, "status": status});
        if let Some(d) = due {
            v["due_date"] = json!(d);
        }
        mk(&mut r, Entity::Milestone, v);
    }
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("day");
    let ms = r.milestones(&p, day).expect("milestones");
    let got: Vec<(&str, bool)> = ms.iter().map(|m| (m.title.as_str(), m.late)).collect();
    assert_eq!(
        got,
        [
            ("Old plan", false),
            ("Design", false),
            ("Tender", true),
            ("Works", false),
            ("Handover", false)
        ]
    );
    assert!(r.milestones("no-such-project", day).is_err());
    r.delete(Entity::Project, &p).expect("delete");
    assert!(
        r.milestones(&p, day).is_err(),
        "a deleted project has no timeline"
    );
}

#[test]
fn indicator_progress_is_the_mean_way_from_baseline_to_target_of_the_latest_values() {
    let (_d, mut r) = fresh();
    let p = mk(
        &mut r,
        Entity::Project,
        json!({"code": "SC-07", "title": "Paperless trade", "status": "ongoing"}),
    );
    let other = mk(
        &mut r,
        Entity::Project,
        json!({"code": "SC-08", "title": "No indicators", "status": "ongoing"}),
    );
    // Days to clear a truck: baseline 10, target 2 (going down), latest 6 → 50 %.
    let days = mk(
        &mut r,
        Entity::Indicator,
        json!({"project": p, "name": "Clearance days", "baseline": 10.0, "target": 2.0}),
    );
    for (date, value) in [("2026-01-31", 8.0), ("2026-06-30", 6.0)] {
        mk(
            &mut r,
            Entity::IndicatorValue,
            json!({"indicator": days, "date": date, "value": value}),
        );
    }
    // Border posts: 0 → 4, the record's own actual of 6 counts as past the target: 100 %.
    mk(
        &mut r,
        Entity::Indicator,
        json!({"project": p, "name": "Posts", "baseline": 0.0, "target": 4.0, "actual": 6.0, "as_of": "2026-05-01"}),
    );
    // No target: counted, but no progress.
    mk(
        &mut r,
        Entity::Indicator,
        json!({"project": p, "name": "Users", "baseline": 0.0}),
    );
    let day = chrono::NaiveDate::from_ymd_opt(2026, 8, 1).expect("day");
    let rows = r.portfolio(day).expect("portfolio");
    let row = rows.iter().find(|x| x.id == p).expect("row");
    assert_eq!((row.indicators, row.indicator_progress), (3, Some(75.0)));
    // The same rule as a project page's series.
    let series = r.project_indicators(&p).expect("series");
    let each: Vec<Option<f64>> = series.iter().map(|s| s.progress()).collect();
    assert_eq!(each, [Some(50.0), Some(100.0), None]);
    let none = rows.iter().find(|x| x.id == other).expect("row");
    assert_eq!((none.indicators, none.indicator_progress), (0, None));
}
