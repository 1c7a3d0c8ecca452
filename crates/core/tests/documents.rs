//! Document versions: a new version carries the document over with the next number and names
//! the one it supersedes, which is marked superseded, in one undo step; the chain reads oldest
//! first from any of its versions; only the latest is versioned again.

mod common;
use common::*;
use desk_core::{Entity, Replica};
use serde_json::json;

fn doc(r: &mut Replica) -> (String, String) {
    let m = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "ACMECS SOM", "start_date": "2026-08-19"})),
        )
        .expect("meeting")
        .id;
    let d = r
        .create(
            Entity::Document,
            &fields(json!({"title": "Draft Joint Statement", "symbol": "ACMECS/SOM/2026/DOC/3", "kind": "statement", "meeting": m, "classification": "restricted"})),
        )
        .expect("document")
        .id;
    (m, d)
}

#[test]
fn a_new_version_carries_the_document_over_and_supersedes_the_old() {
    let (_dir, mut r) = fresh();
    let (m, v1) = doc(&mut r);
    let v2 = r
        .new_document_version(
            &v1,
            &fields(json!({"symbol": "ACMECS/SOM/2026/DOC/3/Rev.1"})),
        )
        .expect("v2");
    assert_eq!(v2.str("title"), Some("Draft Joint Statement"));
    assert_eq!(v2.str("meeting"), Some(m.as_str()));
    assert_eq!(v2.str("classification"), Some("restricted"));
    assert_eq!(v2.str("symbol"), Some("ACMECS/SOM/2026/DOC/3/Rev.1"));
    assert_eq!(v2.fields["version"], json!(2));
    assert_eq!(v2.str("previous"), Some(v1.as_str()));
    assert_eq!(v2.str("status"), Some("draft"));
    assert_eq!(
        r.get(Entity::Document, &v1).expect("v1").str("status"),
        Some("superseded")
    );

    let v3 = r
        .new_document_version(&v2.id, &fields(json!({})))
        .expect("v3");
    for from in [&v1, &v2.id, &v3.id] {
        let chain: Vec<_> = r
            .document_versions(from)
            .expect("chain")
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(
            chain,
            [v1.clone(), v2.id.clone(), v3.id.clone()],
            "from {from}"
        );
    }

    // Only the latest is versioned again; the rest is refused naming the field, nothing written.
    let before = r.summary().expect("summary").changes;
    let err = r
        .new_document_version(&v1, &fields(json!({})))
        .expect_err("not the latest");
    assert!(err.to_string().contains("previous"), "{err}");
    let err = r
        .new_document_version(&v3.id, &fields(json!({"version": 9})))
        .expect_err("version is not given");
    assert!(err.to_string().contains("version"), "{err}");
    let err = r
        .new_document_version(&v3.id, &fields(json!({"status": "lost"})))
        .expect_err("bad status");
    assert!(err.to_string().contains("status"), "{err}");
    assert_eq!(r.summary().expect("summary").changes, before);

    // One undo step takes the new version back and the old one's status with it.
    r.undo().expect("undo");
    assert!(r.get(Entity::Document, &v3.id).expect("v3").deleted);
    assert_eq!(
        r.get(Entity::Document, &v2.id).expect("v2").str("status"),
        Some("draft")
    );
}

#[test]
fn a_document_filed_under_an_agenda_item_is_listed_under_it_in_every_version() {
    let (_dir, mut r) = fresh();
    let (m, _) = doc(&mut r);
    let item = r
        .create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m, "title": "Master Plan review"})),
        )
        .expect("item")
        .id;
    // Filed under the item with no meeting named: it takes the item's meeting.
    let paper = r
        .create(
            Entity::Document,
            &fields(json!({"title": "ແຜນແມ່ບົດ review", "symbol": "ACMECS/SOM/2026/DOC/4", "agenda_item": item})),
        )
        .expect("paper");
    assert_eq!(paper.str("meeting"), Some(m.as_str()));
    let day = chrono::NaiveDate::from_ymd_opt(2026, 8, 19).expect("date");
    let listed = |r: &Replica| -> Vec<(String, i64)> {
        r.outline(&m, day).expect("outline").items[0]
            .documents
            .iter()
            .map(|d| (d.id.clone(), d.version))
            .collect()
    };
    assert_eq!(listed(&r), vec![(paper.id.clone(), 1)]);
    // A new version stays under the item, and only it is listed.
    let v2 = r
        .new_document_version(&paper.id, &fields(json!({})))
        .expect("v2");
    assert_eq!(v2.str("agenda_item"), Some(item.as_str()));
    assert_eq!(listed(&r), vec![(v2.id.clone(), 2)]);

    // An item of another meeting is refused at the field, and nothing is written.
    let other = r
        .create(
            Entity::Meeting,
            &fields(json!({"title": "MLC SOM", "start_date": "2026-09-01"})),
        )
        .expect("other meeting")
        .id;
    let before = r.dump().expect("dump");
    let err = r
        .update(Entity::Document, &v2.id, &fields(json!({"meeting": other})))
        .expect_err("item of another meeting");
    assert!(
        matches!(&err, desk_core::Error::Validation { field, .. } if field == "agenda_item"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("belongs to another meeting"),
        "{err}"
    );
    assert_eq!(r.dump().expect("dump"), before);
}
