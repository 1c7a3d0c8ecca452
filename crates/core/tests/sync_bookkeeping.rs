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
    b.apply_pulled(&out, Some(2)).expect("apply");
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
    b.apply_pulled(&batch, Some(1)).expect("first batch");
    let before = b.dump().expect("dump");
    a.create(Entity::Contact, &fields(json!({"name": "Sok Vanna"})))
        .expect("create");
    batch = a.outbox(10).expect("outbox");
    let mut bad = batch[1].clone();
    bad.entity = "no_such_entity".into();
    let err = b
        .apply_pulled(&[batch[1].clone(), bad], Some(3))
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
    b.apply_pulled(&batch, Some(1)).expect("apply");
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
