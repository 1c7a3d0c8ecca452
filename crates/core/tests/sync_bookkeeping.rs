//! The client side of sync bookkeeping: the outbox holds this replica's own changes until the
//! server acknowledges them; pulled batches and the cursor commit together; clocks move on.

use desk_core::{Entity, Fields, Key, Replica};
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Fields::new(),
    }
}

fn replica(dir: &tempfile::TempDir, name: &str) -> Replica {
    Replica::init(&dir.path().join(name), &Key::Raw([1u8; 32])).expect("init")
}

#[test]
fn outbox_holds_own_changes_until_acknowledged() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    let c = a
        .create(Entity::Contact, &fields(json!({"name": "Somchai Jaidee"})))
        .expect("create");
    a.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"title": "Director"})),
    )
    .expect("edit");
    let out = a.outbox(10).expect("outbox");
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|ch| ch.device == a.device_id()));
    assert_eq!(out.iter().map(|ch| ch.dev_seq).collect::<Vec<_>>(), [1, 2]);

    // B receives them; they are not B's to send.
    b.apply_pull(&out, &[], Some(2)).expect("apply");
    assert!(b.outbox(10).expect("b outbox").is_empty());
    assert_eq!(b.pull_cursor().expect("cursor"), 2);

    a.acknowledge(1).expect("ack");
    assert_eq!(a.outbox(10).expect("outbox").len(), 1);
    a.acknowledge(2).expect("ack");
    a.acknowledge(1).expect("a late, repeated ack is harmless");
    assert_eq!(a.acknowledged().expect("acked"), 2);
    assert!(a.outbox(10).expect("outbox").is_empty());
    // A new edit joins the outbox.
    a.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"title": "Director-General"})),
    )
    .expect("edit");
    assert_eq!(a.outbox(10).expect("outbox")[0].dev_seq, 3);
}

#[test]
fn a_failed_batch_leaves_the_cursor_and_data_as_they_were() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    a.create(Entity::Contact, &fields(json!({"name": "Aung Kyaw"})))
        .expect("create");
    let mut batch = a.outbox(10).expect("outbox");
    b.apply_pull(&batch, &[], Some(1)).expect("first batch");
    let before = b.dump().expect("dump");
    a.create(Entity::Contact, &fields(json!({"name": "Sok Vanna"})))
        .expect("create");
    batch = a.outbox(10).expect("outbox");
    let mut bad = batch[1].clone();
    bad.entity = "no_such_entity".into();
    let err = b
        .apply_pull(&[batch[1].clone(), bad], &[], Some(3))
        .expect_err("bad change");
    assert!(err.to_string().contains("no_such_entity"), "{err}");
    assert_eq!(b.pull_cursor().expect("cursor"), 1, "cursor not advanced");
    assert_eq!(
        b.dump().expect("dump"),
        before,
        "nothing of the batch applied"
    );
}

#[test]
fn our_clock_moves_past_changes_that_arrive() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    let c = a
        .create(Entity::Contact, &fields(json!({"name": "Tran Thi Ha"})))
        .expect("create");
    let mut batch = a.outbox(10).expect("outbox");
    // As if A's clock ran an hour ahead.
    let ahead = batch[0].hlc.0 + (3_600_000u64 << 16);
    batch[0].hlc = desk_protocol::hlc::Hlc(ahead);
    b.apply_pull(&batch, &[], Some(1)).expect("apply");
    b.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"title": "Counsellor"})),
    )
    .expect("edit");
    let mine = b.outbox(10).expect("outbox");
    assert!(
        mine[0].hlc.0 > ahead,
        "the edit made after seeing A's change is stamped after it"
    );
    assert_eq!(
        b.data_as_of().expect("as of").map(|h| h.0),
        Some(mine[0].hlc.0)
    );
}

#[test]
fn a_purge_removes_a_record_its_children_history_conflicts_and_search_entries() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    let m = a
        .create(
            Entity::Meeting,
            &fields(json!({"title": "Special SOM on border posts", "start_date": "2027-03-01"})),
        )
        .expect("meeting");
    a.create(
        Entity::AgendaItem,
        &fields(json!({"meeting": m.id, "title": "Border posts"})),
    )
    .expect("item");
    let keep = a
        .create(Entity::Contact, &fields(json!({"name": "Sok Vanna"})))
        .expect("contact");
    let all = a.outbox(100).expect("outbox");
    b.apply_pull(&all, &[], Some(all.len() as i64))
        .expect("b has it");
    // B's own edit to the meeting, acknowledged, and a conflict on it.
    b.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"venue": "Vientiane"})),
    )
    .expect("edit");
    b.acknowledge(1).expect("ack");
    a.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"venue": "Phnom Penh"})),
    )
    .expect("edit a");
    let clash = a.outbox(100).expect("outbox");
    b.apply_pull(&clash[clash.len() - 1..], &[], None)
        .expect("clash");
    assert_eq!(b.conflicts(false).expect("conflicts").len(), 1);
    assert!(!b.search("border", 10).expect("search").is_empty());
    // B's unsent edit to the meeting stays in its outbox through the purge.
    b.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"city": "Vientiane"})),
    )
    .expect("unsent");

    let gone = desk_core::RecordRef {
        entity: "meeting".into(),
        id: m.id.clone(),
    };
    b.apply_pull(&[], &[gone], Some(99)).expect("purge");
    assert!(b.get(Entity::Meeting, &m.id).is_err());
    assert_eq!(
        b.count(Entity::AgendaItem).expect("count"),
        0,
        "children go too"
    );
    assert!(b.conflicts(true).expect("conflicts").is_empty());
    assert!(b.search("border", 10).expect("search").is_empty());
    assert!(b.search("special", 10).expect("search").is_empty());
    let log = b.changes(0, usize::MAX).expect("log");
    assert!(
        log.iter()
            .all(|c| c.record == keep.id || (c.device == b.device_id() && c.dev_seq > 1)),
        "only the contact's history and B's unsent edit remain: {log:?}"
    );
    assert_eq!(b.outbox(10).expect("outbox").len(), 1);
    assert_eq!(b.pull_cursor().expect("cursor"), 99);
    assert!(b.dump().expect("dump").contains("Sok Vanna"));
    assert!(!b.dump().expect("dump").contains(&m.id));
}

#[test]
fn a_wipe_empties_the_replica_but_keeps_unsent_edits() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    for n in ["Sok Vanna", "Aung Kyaw"] {
        a.create(Entity::Contact, &fields(json!({"name": n})))
            .expect("create");
    }
    a.acknowledge(1).expect("ack");
    a.apply_pull(&[], &[], Some(7)).expect("cursor");
    assert_eq!(a.wipe().expect("wipe"), 2);
    assert_eq!(a.count(Entity::Contact).expect("count"), 0);
    assert!(a.search("sok", 10).expect("search").is_empty());
    assert_eq!(a.outbox(10).expect("outbox").len(), 1, "the unsent create");
    assert_eq!(a.pull_cursor().expect("cursor"), 0);
}

#[test]
fn a_change_stamped_again_by_the_server_takes_the_new_stamp_everywhere() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    let c = a
        .create(Entity::Contact, &fields(json!({"name": "Somchai Jaidee"})))
        .expect("create");
    a.update(
        Entity::Contact,
        &c.id,
        &fields(json!({"title": "Director"})),
    )
    .expect("edit");
    let mut out = a.outbox(10).expect("outbox");
    // The server lowered the edit's stamp (as if A's clock were far ahead).
    let lower = desk_core::hlc::Hlc(out[0].hlc.0 + 1);
    out[1].hlc = lower;
    a.apply_pull(&out, &[], Some(2))
        .expect("own changes back, restamped");
    b.apply_pull(&out, &[], Some(2)).expect("b");
    assert_eq!(a.dump().expect("a"), b.dump().expect("b"));
    assert_eq!(a.changes(0, 10).expect("log")[1].hlc, lower);
}

#[test]
fn changes_from_a_newer_schema_apply_what_is_known_and_wait_for_the_rest() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    let c = a
        .create(Entity::Contact, &fields(json!({"name": "Somchai Jaidee"})))
        .expect("create");
    let mut out = a.outbox(10).expect("outbox");
    // As a newer build would send it: a field and an entity this build does not know.
    let newer = desk_core::SCHEMA_VERSION + 1;
    out[0].schema_version = newer;
    out[0].fields.push(desk_core::FieldChange {
        field: "signal_handle".into(),
        value: json!("@somchai"),
        base: desk_core::hlc::Hlc::ZERO,
        set: None,
    });
    let mut booking = out[0].clone();
    booking.dev_seq = 2;
    booking.entity = "venue_booking".into();
    booking.record = "01900000-0000-7000-8000-0000000000b1".into();
    assert_eq!(
        b.apply_pull(&[out[0].clone(), booking.clone()], &[], Some(2))
            .expect("apply"),
        2
    );
    assert_eq!(
        b.get(Entity::Contact, &c.id)
            .expect("known part")
            .str("name"),
        Some("Somchai Jaidee")
    );
    assert_eq!(b.deferred_count().expect("deferred"), 2);
    // Again: nothing new, nothing doubled.
    assert_eq!(
        b.apply_pull(&[out[0].clone(), booking], &[], Some(2))
            .expect("again"),
        0
    );
    assert_eq!(b.deferred_count().expect("deferred"), 2);
    // The same unknown field from a change of this schema is simply wrong.
    let mut wrong = out[0].clone();
    wrong.schema_version = desk_core::SCHEMA_VERSION;
    wrong.dev_seq = 3;
    assert!(b.apply_pull(&[wrong], &[], None).is_err());

    // After an upgrade that knows them, deferred changes apply in full on open. (Simulated:
    // a deferred change whose fields this build knows.)
    let mut later = out[0].clone();
    later.dev_seq = 9;
    later.fields = vec![desk_core::FieldChange {
        field: "title".into(),
        value: json!("Director-General"),
        base: desk_core::hlc::Hlc::ZERO,
        set: None,
    }];
    let path = b.path().to_path_buf();
    let json = serde_json::to_string(&later).expect("json");
    b.with_transaction(|tx| {
        tx.execute(
            "INSERT INTO deferred (device, dev_seq, record, change) VALUES (?1, 9, ?2, ?3)",
            desk_core::rusqlite::params![later.device, later.record, json],
        )
        .map(|_| ())
    })
    .expect("deferred row");
    drop(b);
    let b = Replica::open(&path, &Key::Raw([1u8; 32])).expect("reopen");
    assert_eq!(
        b.get(Entity::Contact, &c.id).expect("contact").str("title"),
        Some("Director-General")
    );
    assert_eq!(
        b.deferred_count().expect("deferred"),
        2,
        "the unknown ones still wait"
    );
}

#[test]
fn a_purged_documents_cached_file_goes_with_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let sha = a.put_blob(b"the concept note").expect("blob");
    let kept_sha = a.put_blob(b"another file").expect("blob");
    let d = a
        .create(
            Entity::Document,
            &fields(json!({"title": "Note", "sha256": sha})),
        )
        .expect("doc");
    a.create(
        Entity::Document,
        &fields(json!({"title": "Other", "sha256": kept_sha})),
    )
    .expect("doc");
    let gone = desk_core::RecordRef {
        entity: "document".into(),
        id: d.id,
    };
    a.apply_pull(&[], &[gone], Some(1)).expect("purge");
    assert!(a.blob_status(&sha).expect("status").is_none());
    assert!(a.blob_status(&kept_sha).expect("status").is_some());
}

#[test]
fn long_text_keeps_both_versions_in_view_until_settled() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    let m = a
        .create(
            Entity::Meeting,
            &fields(json!({"title": "SOM", "start_date": "2027-02-01", "notes": "Draft"})),
        )
        .expect("meeting");
    let first = a.outbox(10).expect("outbox");
    b.apply_pull(&first, &[], None).expect("b");
    a.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"notes": "Agreed: Thai proposal", "venue": "Bangkok"})),
    )
    .expect("a edits");
    b.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"notes": "Agreed: Lao proposal", "venue": "Vientiane"})),
    )
    .expect("b edits");
    let from_b = b.outbox(10).expect("outbox");
    a.apply_pull(&from_b, &[], None).expect("clash");
    let held = a.get(Entity::Meeting, &m.id).expect("get");
    let shown = a.with_unsettled(held.clone()).expect("view");
    let notes = shown.str("notes").expect("notes");
    assert!(
        notes.contains("Thai proposal") && notes.contains("Lao proposal"),
        "{notes}"
    );
    assert!(notes.contains("not yet settled"));
    // A short field shows the winner only; the stored record is unchanged.
    assert_eq!(shown.str("venue"), held.str("venue"));
    assert!(!held
        .str("notes")
        .expect("notes")
        .contains("not yet settled"));
    // Settled: one version again.
    let c = a
        .conflicts(false)
        .expect("inbox")
        .into_iter()
        .find(|c| c.field == "notes")
        .expect("notes conflict");
    a.resolve_conflict(
        c.id,
        desk_core::Take::Value(json!("Agreed: joint proposal")),
    )
    .expect("settle");
    let shown = a
        .with_unsettled(a.get(Entity::Meeting, &m.id).expect("get"))
        .expect("view");
    assert_eq!(shown.str("notes"), Some("Agreed: joint proposal"));
}

#[test]
fn a_pulled_change_no_local_edit_could_make_is_refused_and_nothing_of_its_page_applies() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = replica(&dir, "a.db");
    let mut b = replica(&dir, "b.db");
    a.create(Entity::Contact, &fields(json!({"name": "Somchai Jaidee"})))
        .expect("create");
    let m = a
        .create(
            Entity::Meeting,
            &fields(json!({"title": "ACMECS SOM", "start_date": "2026-03-01"})),
        )
        .expect("meeting");
    let good = a.outbox(10).expect("outbox");
    let poisoned = [
        ("start_date", json!({"y": 2026}), "meeting.start_date"),
        ("status", json!("exploded"), "meeting.status"),
        ("timezone", json!("../../etc/passwd"), "meeting.timezone"),
        ("title", json!("x".repeat(200_000)), "limit is 2000"),
        ("notes", json!("n".repeat(100_001)), "limit is 100000"),
        ("chair", json!("Somchai Jaidee"), "not a record id"),
        ("colour", json!("red"), "unknown field"),
    ];
    for (field, value, says) in poisoned {
        let mut bad = good[1].clone();
        bad.dev_seq = 3;
        bad.fields = vec![desk_core::FieldChange {
            field: field.into(),
            value,
            base: desk_core::hlc::Hlc::ZERO,
            set: None,
        }];
        let page = [good[0].clone(), good[1].clone(), bad];
        let err = b.apply_pull(&page, &[], Some(3)).expect_err(field);
        assert!(err.to_string().contains(says), "{field}: {err}");
        assert!(
            err.to_string().contains(&format!("{}/3", a.device_id())),
            "names the change: {err}"
        );
        assert_eq!(b.pull_cursor().expect("cursor"), 0, "{field}");
        assert!(
            b.get(Entity::Meeting, &m.id).is_err(),
            "{field}: page half applied"
        );
    }
    b.apply_pull(&good, &[], Some(2))
        .expect("the good page applies");
}
