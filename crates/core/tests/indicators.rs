//! Indicator history: dated values as child records, the latest by date then by the order
//! written, the value recorded on the indicator itself as a point, and values added in two
//! offices brought together by sync.

mod common;
use common::*;
use desk_core::{Entity, IndicatorSeries, Replica};
use serde_json::json;

fn indicator(r: &mut Replica, extra: serde_json::Value) -> String {
    let p = r
        .create(
            Entity::Project,
            &fields(json!({"code": "SC-01", "title": "Southern Economic Corridor"})),
        )
        .expect("project");
    let mut v = json!({"project": p.id, "name": "Border crossings upgraded", "unit": "crossings", "baseline": 0, "target": 12});
    if let (Some(v), serde_json::Value::Object(x)) = (v.as_object_mut(), extra) {
        v.extend(x);
    }
    r.create(Entity::Indicator, &fields(v))
        .expect("indicator")
        .id
}

fn add(r: &mut Replica, ind: &str, date: &str, value: f64) -> String {
    r.create(
        Entity::IndicatorValue,
        &fields(json!({"indicator": ind, "date": date, "value": value})),
    )
    .expect("value")
    .id
}

fn points(s: &IndicatorSeries) -> Vec<(String, f64)> {
    s.points.iter().map(|p| (p.date.clone(), p.value)).collect()
}

#[test]
fn the_latest_point_is_the_current_actual() {
    let (_d, mut r) = fresh();
    let ind = indicator(&mut r, json!({"actual": 3, "as_of": "2026-03-31"}));
    // The value recorded on the indicator is the first point.
    let s = r.indicator_series(&ind).expect("series");
    assert_eq!(points(&s), [("2026-03-31".to_string(), 3.0)]);
    assert_eq!(s.points[0].id, None);
    assert_eq!((s.baseline, s.target), (Some(0.0), Some(12.0)));
    assert_eq!(s.unit.as_deref(), Some("crossings"));
    add(&mut r, &ind, "2026-09-30", 7.0);
    add(&mut r, &ind, "2026-06-30", 5.0);
    let s = r.indicator_series(&ind).expect("series");
    assert_eq!(
        points(&s),
        [
            ("2026-03-31".to_string(), 3.0),
            ("2026-06-30".to_string(), 5.0),
            ("2026-09-30".to_string(), 7.0)
        ]
    );
    assert_eq!(s.latest.as_ref().map(|p| p.value), Some(7.0));
    // Same day, written later: the later one is current.
    let corrected = add(&mut r, &ind, "2026-09-30", 8.0);
    let s = r.indicator_series(&ind).expect("series");
    assert_eq!(
        s.latest.as_ref().and_then(|p| p.id.clone()),
        Some(corrected.clone())
    );
    // A value deleted leaves the series.
    r.delete(Entity::IndicatorValue, &corrected)
        .expect("delete");
    let s = r.indicator_series(&ind).expect("series");
    assert_eq!(s.latest.as_ref().map(|p| p.value), Some(7.0));
    // The same value entered again as a point on its day is shown once.
    add(&mut r, &ind, "2026-03-31", 3.0);
    assert_eq!(r.indicator_series(&ind).expect("series").points.len(), 3);
    // The project's indicators, with their series.
    let project = r.get(Entity::Indicator, &ind).expect("get");
    let all = r
        .project_indicators(project.str("project").expect("project"))
        .expect("project indicators");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].latest.as_ref().map(|p| p.value), Some(7.0));
}

#[test]
fn an_indicator_without_values_has_an_empty_series_and_bad_values_are_refused() {
    let (_d, mut r) = fresh();
    let ind = indicator(&mut r, json!({}));
    let s = r.indicator_series(&ind).expect("series");
    assert!(s.points.is_empty() && s.latest.is_none());
    for (bad, field) in [
        (json!({"indicator": ind, "value": 1}), "date"),
        (json!({"indicator": ind, "date": "2026-01-01"}), "value"),
        (
            json!({"indicator": ind, "date": "31/01/2026", "value": 1}),
            "date",
        ),
        (
            json!({"indicator": ind, "date": "2026-01-01", "value": "many"}),
            "value",
        ),
        (json!({"date": "2026-01-01", "value": 1}), "indicator"),
    ] {
        let err = r
            .create(Entity::IndicatorValue, &fields(bad))
            .expect_err("refused");
        assert_eq!(err.field(), Some(field), "{err}");
    }
    assert!(r.indicator_series("nope").is_err());
    // Values go with their indicator.
    add(&mut r, &ind, "2026-01-01", 1.0);
    assert_eq!(r.delete(Entity::Indicator, &ind).expect("delete"), 2);
    assert_eq!(r.count(Entity::IndicatorValue).expect("count"), 0);
}

#[test]
fn values_added_in_two_offices_are_both_kept() {
    let (_da, mut a) = fresh();
    let ind = indicator(&mut a, json!({"actual": 3, "as_of": "2026-03-31"}));
    let (_db, mut b) = fresh();
    b.apply_pull(&a.changes(0, 10_000).expect("log"), &[], None)
        .expect("copy");
    add(&mut a, &ind, "2026-06-30", 5.0);
    add(&mut b, &ind, "2026-09-30", 6.0);
    let from_a = a.changes(0, 10_000).expect("a");
    let from_b = b.changes(0, 10_000).expect("b");
    a.apply_pull(&from_b, &[], None).expect("a applies");
    b.apply_pull(&from_a, &[], None).expect("b applies");
    let sa = a.indicator_series(&ind).expect("a series");
    let sb = b.indicator_series(&ind).expect("b series");
    assert_eq!(sa, sb);
    assert_eq!(
        points(&sa),
        [
            ("2026-03-31".to_string(), 3.0),
            ("2026-06-30".to_string(), 5.0),
            ("2026-09-30".to_string(), 6.0)
        ]
    );
    assert_eq!(sa.latest.as_ref().map(|p| p.value), Some(6.0));
}
