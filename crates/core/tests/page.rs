//! Keyset paging (`Replica::page`): every matching row exactly once, in order, in either
//! direction, with ties and empty sort fields; totals; errors that name the query's part.

mod common;
use common::*;
use desk_core::{DueState, Entity, FieldFilter, FilterKind, Page, PageQuery, Record, Replica};
use serde_json::json;

/// 40 contacts: names with ties (and ties differing only in case), a third without a title,
/// countries TH / VN / KH in turn, every fifth tagged.
fn contacts(r: &mut Replica) -> Vec<Record> {
    let names = ["Anan", "bua", "Chai", "anan", "Dara", "Bua", "Anan", "Ek"];
    let titles = ["Director", "adviser", "Minister", "director"];
    let countries = ["TH", "VN", "KH"];
    (0..40)
        .map(|i| {
            let mut f = json!({
                "name": format!("{} {}", names[i % names.len()], i / 16),
                "country": countries[i % 3],
            });
            if i % 3 != 0 {
                f["title"] = json!(titles[i % titles.len()]);
            }
            if i % 5 == 0 {
                f["tags"] = json!("focal_point");
            }
            r.create(Entity::Contact, &fields(f)).expect("contact")
        })
        .collect()
}

/// The order `page` promises: by the field without regard to ASCII case, then id; records
/// without a value last; all reversed but the empty ones' place with `descending`.
fn expected(mut recs: Vec<Record>, field: &str, descending: bool) -> Vec<String> {
    let key = |r: &Record| r.str(field).map(str::to_ascii_lowercase);
    recs.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        match (ka.is_none(), kb.is_none()) {
            (false, true) => std::cmp::Ordering::Less,
            (true, false) => std::cmp::Ordering::Greater,
            _ => {
                let o = (ka, &a.id).cmp(&(kb, &b.id));
                if descending {
                    o.reverse()
                } else {
                    o
                }
            }
        }
    });
    recs.into_iter().map(|r| r.id).collect()
}

/// Walks every page; checks each page's total and size.
fn walk(r: &Replica, entity: Entity, q: &PageQuery) -> Vec<String> {
    let mut ids = Vec::new();
    let mut q = q.clone();
    let mut pages = 0;
    loop {
        let page: Page = r.page(entity, &q).expect("page");
        pages += 1;
        assert!(pages < 1000, "the walk does not end");
        let limit = q.limit.unwrap_or(100) as usize;
        assert!(page.rows.len() <= limit);
        if page.next.is_some() {
            assert_eq!(page.rows.len(), limit, "only the last page is short");
        }
        ids.extend(page.rows.iter().map(|v| v.record.id.clone()));
        match page.next {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    ids
}

#[test]
fn walking_every_page_returns_each_row_once_in_order() {
    let (_d, mut r) = fresh();
    let all = contacts(&mut r);
    for descending in [false, true] {
        for (field, limit) in [("title", 7), ("name", 3), ("title", 1), ("country", 100)] {
            let q = PageQuery {
                sort: Some(field.into()),
                descending,
                limit: Some(limit),
                ..Default::default()
            };
            let got = walk(&r, Entity::Contact, &q);
            assert_eq!(
                got,
                expected(all.clone(), field, descending),
                "{field} descending={descending} limit={limit}"
            );
            assert_eq!(r.page(Entity::Contact, &q).expect("page").total, 40);
        }
    }
    // The default order is the entity's list order: contacts by name.
    let got = walk(
        &r,
        Entity::Contact,
        &PageQuery {
            limit: Some(6),
            ..Default::default()
        },
    );
    assert_eq!(got, expected(all, "name", false));
}

#[test]
fn filters_restrict_rows_and_total() {
    let (_d, mut r) = fresh();
    let all = contacts(&mut r);
    // A country filter takes a name as well as a code.
    let q = PageQuery {
        filters: vec![FieldFilter {
            field: "country".into(),
            op: FilterKind::Eq,
            value: "Viet Nam".into(),
        }],
        sort: Some("title".into()),
        limit: Some(4),
        ..Default::default()
    };
    let vn: Vec<Record> = all
        .iter()
        .filter(|c| c.str("country") == Some("VN"))
        .cloned()
        .collect();
    assert_eq!(
        walk(&r, Entity::Contact, &q),
        expected(vn.clone(), "title", false)
    );
    assert_eq!(
        r.page(Entity::Contact, &q).expect("page").total,
        vn.len() as u64
    );

    let tagged = PageQuery {
        filters: vec![FieldFilter {
            field: "tags".into(),
            op: FilterKind::Contains,
            value: "focal_point".into(),
        }],
        limit: Some(3),
        ..Default::default()
    };
    let want: Vec<Record> = all
        .iter()
        .filter(|c| c.fields.get("tags").is_some())
        .cloned()
        .collect();
    assert_eq!(want.len(), 8);
    assert_eq!(
        walk(&r, Entity::Contact, &tagged),
        expected(want, "name", false)
    );

    // Deleted records are left out unless asked for.
    r.delete(Entity::Contact, &all[0].id).expect("delete");
    assert_eq!(
        r.page(Entity::Contact, &PageQuery::default())
            .expect("page")
            .total,
        39
    );
    let with_deleted = PageQuery {
        include_deleted: true,
        ..Default::default()
    };
    assert_eq!(
        r.page(Entity::Contact, &with_deleted).expect("page").total,
        40
    );
}

#[test]
fn date_ranges_children_and_due_states() {
    let (_d, mut r) = fresh();
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "12th SOM", "start_date": "2026-03-01"})),
        )
        .expect("meeting");
    let other = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "13th SOM", "start_date": "2026-09-01"})),
        )
        .expect("meeting");
    let dues = [
        Some("2026-02-01"),
        Some("2026-03-12"),
        None,
        Some("2026-03-15"),
        Some("2026-04-30"),
        Some("2026-03-10"),
    ];
    let mut actions = Vec::new();
    for (i, due) in dues.iter().enumerate() {
        let mut f = json!({"meeting": m.id, "title": format!("Action {i}")});
        if let Some(d) = due {
            f["due_date"] = json!(d);
        }
        if i == 5 {
            f["status"] = json!("completed");
        }
        actions.push(r.create(Entity::Action, &fields(f)).expect("action"));
    }
    r.create(
        Entity::Action,
        &fields(json!({"meeting": other.id, "title": "Elsewhere", "due_date": "2026-03-11"})),
    )
    .expect("action");

    let q = PageQuery {
        parent: Some(m.id.clone()),
        filters: vec![
            FieldFilter {
                field: "due_date".into(),
                op: FilterKind::From,
                value: "2026-03-10".into(),
            },
            FieldFilter {
                field: "due_date".into(),
                op: FilterKind::To,
                value: "2026-03-15".into(),
            },
        ],
        as_of: Some("2026-03-11".into()),
        ..Default::default()
    };
    let page = r.page(Entity::Action, &q).expect("page");
    assert_eq!(page.total, 3);
    let got: Vec<(&str, Option<DueState>)> = page
        .rows
        .iter()
        .map(|v| (v.label.as_str(), v.due))
        .collect();
    assert_eq!(
        got,
        [
            ("Action 5", Some(DueState::Done)),
            ("Action 1", Some(DueState::DueSoon)),
            ("Action 3", Some(DueState::DueSoon)),
        ]
    );
    // Without a date, no due state; on other entities, never.
    let page = r
        .page(
            Entity::Action,
            &PageQuery {
                parent: Some(m.id.clone()),
                ..Default::default()
            },
        )
        .expect("page");
    assert_eq!(page.total, 6);
    assert!(page.rows.iter().all(|v| v.due.is_none()));
    // Actions by due date: those with none come last.
    assert_eq!(page.rows.last().map(|v| v.label.as_str()), Some("Action 2"));
    let json = serde_json::to_value(&page.rows[0]).expect("json");
    assert!(json.get("due").is_none());
    assert_eq!(json["subtitle"], "2026-02-01 · not started");

    // Meetings come newest first by default; `descending` reverses that.
    let newest = r
        .page(Entity::Meeting, &PageQuery::default())
        .expect("page");
    assert_eq!(newest.rows[0].record.id, other.id);
    let oldest = r
        .page(
            Entity::Meeting,
            &PageQuery {
                descending: true,
                ..Default::default()
            },
        )
        .expect("page");
    assert_eq!(oldest.rows[0].record.id, m.id);
}

#[test]
fn errors_name_the_part_at_fault() {
    let (_d, mut r) = fresh();
    contacts(&mut r);
    let field_of = |q: PageQuery| {
        let e = r.page(Entity::Contact, &q).expect_err("refused");
        e.field().map(str::to_string)
    };
    let f = |field: &str, op: FilterKind, value: &str| FieldFilter {
        field: field.into(),
        op,
        value: value.into(),
    };
    let cases = [
        (
            PageQuery {
                sort: Some("notes".into()),
                ..Default::default()
            },
            "sort",
        ),
        (
            PageQuery {
                sort: Some("nope".into()),
                ..Default::default()
            },
            "sort",
        ),
        (
            PageQuery {
                filters: vec![f("notes", FilterKind::Eq, "x")],
                ..Default::default()
            },
            "filter",
        ),
        (
            PageQuery {
                filters: vec![f("country", FilterKind::Eq, "Atlantis")],
                ..Default::default()
            },
            "filter",
        ),
        (
            PageQuery {
                filters: vec![f("tags", FilterKind::Eq, "x")],
                ..Default::default()
            },
            "filter",
        ),
        (
            PageQuery {
                filters: vec![f("country", FilterKind::Contains, "TH")],
                ..Default::default()
            },
            "filter",
        ),
        (
            PageQuery {
                filters: vec![f("gender", FilterKind::Eq, "other")],
                ..Default::default()
            },
            "filter",
        ),
        (
            PageQuery {
                after: Some("not a cursor".into()),
                ..Default::default()
            },
            "after",
        ),
        (
            PageQuery {
                limit: Some(0),
                ..Default::default()
            },
            "limit",
        ),
        (
            PageQuery {
                limit: Some(1001),
                ..Default::default()
            },
            "limit",
        ),
        (
            PageQuery {
                as_of: Some("tomorrow".into()),
                ..Default::default()
            },
            "as_of",
        ),
        (
            PageQuery {
                parent: Some("x".into()),
                ..Default::default()
            },
            "parent",
        ),
    ];
    for (q, field) in cases {
        assert_eq!(field_of(q.clone()), Some(field.to_string()), "{q:?}");
    }
    // A cursor made for another order is refused, not misread.
    let first = r
        .page(
            Entity::Contact,
            &PageQuery {
                limit: Some(2),
                ..Default::default()
            },
        )
        .expect("page");
    let q = PageQuery {
        sort: Some("title".into()),
        after: first.next,
        ..Default::default()
    };
    assert_eq!(field_of(q), Some("after".to_string()));
}

#[test]
fn query_json_shape() {
    let q: PageQuery = serde_json::from_value(json!({
        "sort": "name",
        "filters": [{"field": "country", "op": "eq", "value": "TH"}],
        "limit": 50
    }))
    .expect("a partial query deserialises");
    assert_eq!(q.filters[0].op, FilterKind::Eq);
    assert!(!q.descending && q.after.is_none());
}

#[test]
fn subtitles_name_what_tells_records_apart() {
    let (_d, mut r) = fresh();
    let org = r
        .create(
            Entity::Organisation,
            &fields(json!({"name": "Ministry of Foreign Affairs", "acronym": "MFA-TH", "country": "TH", "kind": "ministry"})),
        )
        .expect("org");
    let partner = r
        .create(
            Entity::Organisation,
            &fields(json!({"name": "Asian Development Bank", "kind": "development_partner"})),
        )
        .expect("org");
    let c = r
        .create(
            Entity::Contact,
            &fields(json!({"name": "Somchai Jaidee", "title": "Director-General", "org": org.id, "country": "TH"})),
        )
        .expect("contact");
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "12th SOM", "start_date": "2026-03-10", "end_date": "2026-03-11", "city": "Bangkok", "host_country": "TH"})),
        )
        .expect("meeting");
    let p1 = r
        .create(
            Entity::Participant,
            &fields(json!({"meeting": m.id, "contact": c.id, "delegation": "TH", "role": "head_of_delegation"})),
        )
        .expect("participant");
    let p2 = r
        .create(
            Entity::Participant,
            &fields(json!({"meeting": m.id, "contact": c.id, "delegation_org": partner.id, "role": "observer", "attendance": "confirmed"})),
        )
        .expect("participant");
    let sub = |rec: &Record| r.subtitle(rec);
    assert_eq!(sub(&org), "MFA-TH · ministry · Thailand");
    assert_eq!(sub(&c), "Director-General · MFA-TH · Thailand");
    assert_eq!(sub(&m), "2026-03-10 to 2026-03-11 · Bangkok · Thailand");
    assert_eq!(sub(&p1), "Thailand · head of delegation · invited");
    assert_eq!(sub(&p2), "Asian Development Bank · observer · confirmed");
    // The page carries the same line, and the participant's label is its contact's name.
    let page = r
        .page(
            Entity::Participant,
            &PageQuery {
                parent: Some(m.id.clone()),
                ..Default::default()
            },
        )
        .expect("page");
    let lines: Vec<(&str, &str)> = page
        .rows
        .iter()
        .map(|v| (v.label.as_str(), v.subtitle.as_str()))
        .collect();
    assert!(lines.contains(&("Somchai Jaidee", "Thailand · head of delegation · invited")));
    assert_eq!(lines.len(), 2);
}

/// Agenda items numbered 1 to 20 with no position, created out of order: every page, and the
/// list, give them in natural order (not 1, 10, 11, …, 2); positions come first; decisions too.
#[test]
fn agenda_items_and_decisions_in_natural_number_order() {
    let (_d, mut r) = fresh();
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "20th SOM", "start_date": "2026-03-01"})),
        )
        .expect("meeting");
    let mut numbers: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    numbers.sort(); // text order: 1, 10, 11, …, 19, 2, 20, 3, …
    numbers.extend(["2.1".to_string(), "10.2".to_string(), "2.10".to_string()]);
    for n in &numbers {
        r.create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m.id, "number": n, "title": format!("Item {n}")})),
        )
        .expect("item");
        r.create(
            Entity::Decision,
            &fields(json!({"meeting": m.id, "number": n, "text": format!("Decision {n}")})),
        )
        .expect("decision");
    }
    let mut want: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    want.insert(2, "2.1".into());
    want.insert(3, "2.10".into());
    want.insert(12, "10.2".into());
    let number_of = |r: &Replica, e: Entity, id: &str| -> String {
        r.get(e, id)
            .expect("get")
            .str("number")
            .unwrap_or("")
            .to_string()
    };
    for entity in [Entity::AgendaItem, Entity::Decision] {
        for limit in [1, 4, 100] {
            let q = PageQuery {
                parent: Some(m.id.clone()),
                limit: Some(limit),
                ..Default::default()
            };
            let got: Vec<String> = walk(&r, entity, &q)
                .iter()
                .map(|id| number_of(&r, entity, id))
                .collect();
            assert_eq!(got, want, "{entity:?}, {limit} a page");
            let desc: Vec<String> = walk(
                &r,
                entity,
                &PageQuery {
                    descending: true,
                    ..q.clone()
                },
            )
            .iter()
            .map(|id| number_of(&r, entity, id))
            .collect();
            let mut rev = want.clone();
            rev.reverse();
            assert_eq!(desc, rev, "{entity:?} descending, {limit} a page");
        }
        // Sorting by number says the same.
        let by_number: Vec<String> = walk(
            &r,
            entity,
            &PageQuery {
                parent: Some(m.id.clone()),
                sort: Some("number".into()),
                limit: Some(3),
                ..Default::default()
            },
        )
        .iter()
        .map(|id| number_of(&r, entity, id))
        .collect();
        assert_eq!(by_number, want, "{entity:?} by number");
        let listed: Vec<String> = r
            .list(
                entity,
                &desk_core::ListQuery {
                    parent: Some(m.id.clone()),
                    ..Default::default()
                },
            )
            .expect("list")
            .iter()
            .map(|rec| rec.str("number").unwrap_or("").to_string())
            .collect();
        assert_eq!(listed, want, "{entity:?} list");
    }
    // A stated position comes first, whatever the number.
    let twenty = r
        .list(
            Entity::AgendaItem,
            &desk_core::ListQuery {
                parent: Some(m.id.clone()),
                ..Default::default()
            },
        )
        .expect("list")
        .into_iter()
        .find(|a| a.str("number") == Some("20"))
        .expect("item 20");
    r.update(
        Entity::AgendaItem,
        &twenty.id,
        &fields(json!({"position": 1})),
    )
    .expect("position");
    let first = r
        .page(
            Entity::AgendaItem,
            &PageQuery {
                parent: Some(m.id.clone()),
                limit: Some(2),
                ..Default::default()
            },
        )
        .expect("page");
    let got: Vec<&str> = first
        .rows
        .iter()
        .map(|v| v.record.str("number").unwrap_or(""))
        .collect();
    assert_eq!(got, ["20", "1"]);
}
