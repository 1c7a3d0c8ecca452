//! Moving agenda items and decisions: one change per move, undo, numbers that follow the
//! order, and (property) two replicas reordering concurrently converge with every item once.

mod common;
use common::*;
use desk_core::{Entity, ListQuery, PageQuery, Replica};
use proptest::prelude::*;
use serde_json::json;

fn meeting(r: &mut Replica, title: &str) -> String {
    r.create(
        Entity::Meeting,
        &fields(json!({"title": title, "start_date": "2026-03-01"})),
    )
    .expect("meeting")
    .id
}

/// Items with positions 0.. and the given numbers (None: no number); their ids in order.
fn items(r: &mut Replica, m: &str, numbers: &[Option<&str>]) -> Vec<String> {
    numbers
        .iter()
        .enumerate()
        .map(|(k, n)| {
            let mut v = json!({"meeting": m, "title": format!("Item {k}"), "position": k});
            if let Some(n) = n {
                v["number"] = json!(n);
            }
            r.create(Entity::AgendaItem, &fields(v)).expect("item").id
        })
        .collect()
}

fn order(r: &Replica, e: Entity, m: &str) -> Vec<String> {
    r.list(
        e,
        &ListQuery {
            parent: Some(m.to_string()),
            ..Default::default()
        },
    )
    .expect("list")
    .into_iter()
    .map(|x| x.id)
    .collect()
}

fn paged(r: &Replica, e: Entity, m: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut q = PageQuery {
        parent: Some(m.to_string()),
        limit: Some(2),
        ..Default::default()
    };
    loop {
        let page = r.page(e, &q).expect("page");
        out.extend(page.rows.iter().map(|v| v.record.id.clone()));
        match page.next {
            Some(c) => q.after = Some(c),
            None => return out,
        }
    }
}

/// The ids at these indexes.
fn at(ids: &[String], ks: &[usize]) -> Vec<String> {
    ks.iter().map(|k| ids[*k].clone()).collect()
}

fn shown(r: &Replica, e: Entity, m: &str) -> Vec<String> {
    let numbers = r.display_numbers(e, m).expect("numbers");
    order(r, e, m)
        .iter()
        .map(|id| numbers.get(id).cloned().unwrap_or_default())
        .collect()
}

#[test]
fn a_move_is_one_change_of_one_field_and_undo_takes_it_back() {
    let (_d, mut r) = fresh();
    let m = meeting(&mut r, "SOM");
    let ids = items(
        &mut r,
        &m,
        &[Some("1"), Some("2"), Some("3"), Some("4"), Some("5")],
    );
    let before = r.changes(0, 10_000).expect("log").len();
    r.move_record(Entity::AgendaItem, &ids[4], Some(ids[0].as_str()))
        .expect("move");
    let log = r.changes(0, 10_000).expect("log");
    assert_eq!(log.len(), before + 1, "one change");
    let last = log.last().expect("entry");
    assert_eq!(last.record, ids[4]);
    assert_eq!(
        last.fields
            .iter()
            .map(|f| f.field.as_str())
            .collect::<Vec<_>>(),
        ["rank"]
    );
    let want = at(&ids, &[0, 4, 1, 2, 3]);
    assert_eq!(order(&r, Entity::AgendaItem, &m), want);
    assert_eq!(paged(&r, Entity::AgendaItem, &m), want);
    // Typed numbers stay as typed.
    assert_eq!(shown(&r, Entity::AgendaItem, &m), ["1", "5", "2", "3", "4"]);
    // Moving it where it is writes nothing.
    r.move_record(Entity::AgendaItem, &ids[4], Some(ids[0].as_str()))
        .expect("again");
    assert_eq!(r.changes(0, 10_000).expect("log").len(), before + 1);
    // Undo: back where it was.
    r.undo().expect("undo").expect("something undone");
    assert_eq!(order(&r, Entity::AgendaItem, &m), ids);
    // To the top, then after the last.
    r.move_record(Entity::AgendaItem, &ids[2], None)
        .expect("top");
    assert_eq!(order(&r, Entity::AgendaItem, &m)[0], ids[2]);
    r.move_record(Entity::AgendaItem, &ids[2], Some(ids[4].as_str()))
        .expect("bottom");
    assert_eq!(
        order(&r, Entity::AgendaItem, &m),
        at(&ids, &[0, 1, 3, 4, 2])
    );
}

#[test]
fn numbers_not_typed_follow_the_order() {
    let (_d, mut r) = fresh();
    let m = meeting(&mut r, "SOM");
    let ids = items(&mut r, &m, &[None, None, Some("2.1"), None, None]);
    assert_eq!(
        shown(&r, Entity::AgendaItem, &m),
        ["1", "2", "2.1", "2.2", "2.3"]
    );
    r.move_record(Entity::AgendaItem, &ids[4], None)
        .expect("top");
    assert_eq!(
        shown(&r, Entity::AgendaItem, &m),
        ["1", "2", "3", "2.1", "2.2"]
    );
    // The views, their subtitles and the record's own view say the same.
    let page = r
        .page(
            Entity::AgendaItem,
            &PageQuery {
                parent: Some(m.clone()),
                ..Default::default()
            },
        )
        .expect("page");
    let numbers: Vec<Option<&str>> = page
        .rows
        .iter()
        .map(|v| v.display_number.as_deref())
        .collect();
    assert_eq!(
        numbers,
        [Some("1"), Some("2"), Some("3"), Some("2.1"), Some("2.2")]
    );
    assert!(
        page.rows[0].subtitle.starts_with('1'),
        "{}",
        page.rows[0].subtitle
    );
    let one = r.view(r.get(Entity::AgendaItem, &ids[4]).expect("get"), false);
    assert_eq!(one.display_number.as_deref(), Some("1"));
    // A deleted item has no number and the others close up.
    r.delete(Entity::AgendaItem, &ids[0]).expect("delete");
    assert_eq!(shown(&r, Entity::AgendaItem, &m), ["1", "2", "2.1", "2.2"]);
}

#[test]
fn decisions_move_too_and_bad_moves_are_refused() {
    let (_d, mut r) = fresh();
    let m = meeting(&mut r, "SOM");
    let other = meeting(&mut r, "Other");
    let ds: Vec<String> = (1..=3)
        .map(|k| {
            r.create(
                Entity::Decision,
                &fields(
                    json!({"meeting": m, "number": k.to_string(), "text": format!("Decision {k}")}),
                ),
            )
            .expect("decision")
            .id
        })
        .collect();
    r.move_record(Entity::Decision, &ds[2], None).expect("top");
    assert_eq!(order(&r, Entity::Decision, &m), at(&ds, &[2, 0, 1]));
    assert_eq!(paged(&r, Entity::Decision, &m), at(&ds, &[2, 0, 1]));
    // Their typed numbers stay with them.
    assert_eq!(shown(&r, Entity::Decision, &m), ["3", "1", "2"]);
    let elsewhere = items(&mut r, &other, &[Some("1")]);
    let a = items(&mut r, &m, &[Some("1"), Some("2")]);
    let before = r.dump().expect("dump");
    for (what, res) in [
        (
            "after itself",
            r.move_record(Entity::AgendaItem, &a[0], Some(a[0].as_str())),
        ),
        (
            "another meeting's item",
            r.move_record(Entity::AgendaItem, &a[0], Some(elsewhere[0].as_str())),
        ),
        ("a contact", r.move_record(Entity::Contact, &a[0], None)),
        ("unknown", r.move_record(Entity::AgendaItem, "nope", None)),
    ] {
        assert!(res.is_err(), "{what}");
    }
    assert_eq!(
        before,
        r.dump().expect("dump"),
        "refused moves wrote nothing"
    );
    r.delete(Entity::AgendaItem, &a[1]).expect("delete");
    let after_delete = r.dump().expect("dump");
    assert!(r
        .move_record(Entity::AgendaItem, &a[0], Some(a[1].as_str()))
        .is_err());
    assert!(r.move_record(Entity::AgendaItem, &a[1], None).is_err());
    assert_eq!(
        after_delete,
        r.dump().expect("dump"),
        "refused moves wrote nothing"
    );
}

#[test]
fn hand_typed_equal_ranks_still_leave_room() {
    let (_d, mut r) = fresh();
    let m = meeting(&mut r, "SOM");
    let ids = items(&mut r, &m, &[None, None, None, None]);
    for id in &ids[1..3] {
        r.update(Entity::AgendaItem, id, &fields(json!({"rank": "U1"})))
            .expect("rank");
    }
    // The two with a rank come after the others (whose keys come from their positions),
    // tied, in the order of their ids.
    let o = order(&r, Entity::AgendaItem, &m);
    assert_eq!(o[..2], at(&ids, &[0, 3]));
    // Between the two tied items.
    r.move_record(Entity::AgendaItem, &ids[0], Some(o[2].as_str()))
        .expect("move");
    assert_eq!(
        order(&r, Entity::AgendaItem, &m),
        [o[1].clone(), o[2].clone(), ids[0].clone(), o[3].clone()]
    );
}

/// Two offices with the same agenda each move items offline; both then receive the other's
/// changes: the same order everywhere, every item exactly once, the moves each made kept
/// (the last write of an item's rank wins, as for any field).
#[test]
fn concurrent_moves_into_the_same_gap_converge() {
    let (_da, mut a) = fresh();
    let m = meeting(&mut a, "SOM");
    let ids = items(&mut a, &m, &[Some("1"), Some("2"), Some("3"), Some("4")]);
    let (_db, mut b) = fresh();
    b.apply_pull(&a.changes(0, 10_000).expect("log"), &[], None)
        .expect("copy");
    // Both put a different item between 1 and 2.
    a.move_record(Entity::AgendaItem, &ids[2], Some(ids[0].as_str()))
        .expect("a");
    b.move_record(Entity::AgendaItem, &ids[3], Some(ids[0].as_str()))
        .expect("b");
    exchange(&mut a, &mut b);
    let oa = order(&a, Entity::AgendaItem, &m);
    assert_eq!(oa, order(&b, Entity::AgendaItem, &m));
    assert_eq!(oa[0], ids[0]);
    assert_eq!(oa[3], ids[1]);
    let mut both = vec![oa[1].clone(), oa[2].clone()];
    both.sort();
    assert_eq!(both, at(&ids, &[2, 3]));
    // And an item can go between the two that arrived together.
    a.move_record(Entity::AgendaItem, &ids[1], Some(oa[1].as_str()))
        .expect("between");
    exchange(&mut a, &mut b);
    let oa = order(&a, Entity::AgendaItem, &m);
    assert_eq!(oa, order(&b, Entity::AgendaItem, &m));
    assert_eq!(oa[2], ids[1]);
    // Both move the same item: the later move holds, and that is no conflict to settle.
    a.move_record(Entity::AgendaItem, &ids[0], Some(oa[3].as_str()))
        .expect("a moves it");
    b.move_record(Entity::AgendaItem, &ids[0], Some(oa[1].as_str()))
        .expect("b moves it");
    exchange(&mut a, &mut b);
    assert_eq!(
        order(&a, Entity::AgendaItem, &m),
        order(&b, Entity::AgendaItem, &m)
    );
    assert!(a.conflicts(false).expect("conflicts").is_empty());
    assert!(b.conflicts(false).expect("conflicts").is_empty());
}

fn exchange(a: &mut Replica, b: &mut Replica) {
    let from_a = a.changes(0, usize::MAX >> 1).expect("a log");
    let from_b = b.changes(0, usize::MAX >> 1).expect("b log");
    a.apply_pull(&from_b, &[], None).expect("a applies");
    b.apply_pull(&from_a, &[], None).expect("b applies");
}

/// A move in the list model: `item` goes right after `after` (to the top with none).
fn model_move(list: &mut Vec<String>, item: &str, after: Option<&str>) {
    list.retain(|x| x != item);
    let at = match after {
        Some(a) => list.iter().position(|x| x == a).map_or(0, |k| k + 1),
        None => 0,
    };
    list.insert(at, item.to_string());
}

fn play(r: &mut Replica, ids: &[String], moves: &[(usize, Option<usize>)]) {
    for (item, after) in moves {
        let item = &ids[*item % ids.len()];
        let after = after.map(|k| ids[k % ids.len()].clone());
        if after.as_deref() == Some(item.as_str()) {
            continue;
        }
        r.move_record(Entity::AgendaItem, item, after.as_deref())
            .expect("move");
    }
}

fn moves() -> impl Strategy<Value = Vec<(usize, Option<usize>)>> {
    proptest::collection::vec((0..8usize, proptest::option::of(0..8usize)), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn two_replicas_moving_concurrently_converge(
        n in 2..8usize,
        numbered in any::<bool>(),
        first in moves(),
        ours in moves(),
        theirs in moves(),
    ) {
        let (_da, mut a) = fresh();
        let m = meeting(&mut a, "SOM");
        let numbers: Vec<Option<String>> = (0..n)
            .map(|k| numbered.then(|| (k + 1).to_string()))
            .collect();
        let refs: Vec<Option<&str>> = numbers.iter().map(|x| x.as_deref()).collect();
        let ids = items(&mut a, &m, &refs);
        // Some history both share.
        play(&mut a, &ids, &first);
        let (_db, mut b) = fresh();
        b.apply_pull(&a.changes(0, usize::MAX >> 1).expect("log"), &[], None).expect("copy");

        // Each replica's moves do what a person sees in a list.
        for (r, ms) in [(&mut a, &ours), (&mut b, &theirs)] {
            let mut model = order(r, Entity::AgendaItem, &m);
            let before = r.changes(0, usize::MAX >> 1).expect("log").len();
            let mut writes = 0;
            for (item, after) in ms.iter() {
                let item = ids[*item % n].clone();
                let after = after.map(|k| ids[k % n].clone());
                if after.as_deref() == Some(item.as_str()) {
                    continue;
                }
                let was = order(r, Entity::AgendaItem, &m);
                r.move_record(Entity::AgendaItem, &item, after.as_deref()).expect("move");
                model_move(&mut model, &item, after.as_deref());
                let now = order(r, Entity::AgendaItem, &m);
                prop_assert_eq!(&now, &model);
                if now != was { writes += 1; }
            }
            // One change per move that changed the order (none for a move to where it was).
            let after = r.changes(0, usize::MAX >> 1).expect("log").len();
            prop_assert!(after - before <= ms.len());
            prop_assert!(after - before >= writes);
        }

        exchange(&mut a, &mut b);
        let oa = order(&a, Entity::AgendaItem, &m);
        let ob = order(&b, Entity::AgendaItem, &m);
        prop_assert_eq!(&oa, &ob);
        prop_assert_eq!(&paged(&a, Entity::AgendaItem, &m), &oa);
        let mut sorted = oa.clone();
        sorted.sort();
        let mut all = ids.clone();
        all.sort();
        prop_assert_eq!(sorted, all, "every item exactly once");
        prop_assert_eq!(shown(&a, Entity::AgendaItem, &m), shown(&b, Entity::AgendaItem, &m));
    }
}
