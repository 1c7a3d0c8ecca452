//! Two processes writing one replica (the app open, the `desk` CLI beside it): each write
//! continues the device's change sequence and clock from what the other stored, so no change is
//! refused or stamped twice, and every change waits in the outbox.

mod common;
use common::*;
use desk_core::{Entity, Replica};
use serde_json::json;

#[test]
fn two_handles_on_one_replica_interleave_writes_without_clashing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("replica.db");
    let mut app = Replica::init(&path, &key()).expect("init");
    let mut cli = Replica::open(&path, &key()).expect("open");
    let mut ids = Vec::new();
    for n in 0..5 {
        let (w, who) = if n % 2 == 0 {
            (&mut app, "app")
        } else {
            (&mut cli, "cli")
        };
        ids.push(
            w.create(
                Entity::Contact,
                &fields(json!({"name": format!("Contact {n} by {who}")})),
            )
            .expect("create")
            .id,
        );
    }
    app.update(
        Entity::Contact,
        &ids[1],
        &fields(json!({"title": "Director"})),
    )
    .expect("update what the other wrote");
    let out = app.outbox(100).expect("outbox");
    let seqs: Vec<i64> = out.iter().map(|c| c.dev_seq).collect();
    let mut unique = seqs.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), seqs.len(), "{seqs:?}");
    assert_eq!(seqs.len(), 6, "{seqs:?}");
    // Stamps keep rising across the two writers.
    let stamps: Vec<_> = out.iter().map(|c| c.hlc).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    assert_eq!(cli.outbox(100).expect("outbox").len(), 6);
}
