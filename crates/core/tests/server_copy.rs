//! The replica as a sync server's copy: background WAL checkpoints and the browse indexes it
//! drops. Real files, reopened.
mod common;
use common::*;
use desk_core::{Entity, Fields, Replica, BROWSE_INDEXES};
use serde_json::json;

fn contacts(from: usize, n: usize) -> Vec<Fields> {
    (from..from + n)
        .map(|i| {
            fields(json!({
                "name": format!("Delegate {i} of the Mekong-Lancang Cooperation Desk"),
                "native_name": "สมชาย ใจดี",
                "title": "Director, ACMECS Cooperation Division",
                "country": "TH",
                "email": format!("delegate.{i}@mfa.example.org"),
                "notes": "Focal point for the Master Plan review; prefers briefings in English.",
            }))
        })
        .collect()
}

fn indexes(r: &Replica) -> Vec<String> {
    let mut stmt = r
        .reader()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        .expect("prepare");
    let rows = stmt.query_map([], |row| row.get(0)).expect("query");
    let mut out: Vec<String> = rows.map(|r| r.expect("row")).collect();
    out.sort();
    out
}

#[test]
fn background_checkpoints_copy_the_log_and_lose_no_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("server.db");
    let mut r = Replica::init(&path, &key()).expect("init");
    r.checkpoint_in_background(&key())
        .expect("checkpoint thread");
    // Enough commits to grow the log past the wake-up mark (1,000 pages) more than once.
    for batch in 0..20 {
        r.create_many(Entity::Contact, &contacts(batch * 300, 300), &mut |_| {})
            .expect("contacts");
    }
    // Asked after every wake-up the commits sent: the thread has run and the whole log is in
    // the file (nothing else is reading).
    let c = r.checkpoint_now().expect("checkpoint");
    assert!(c.background_runs >= 1, "the thread never ran: {c:?}");
    assert!(c.frames > 0);
    assert_eq!(c.copied, c.frames, "{c:?}");
    // Fully copied, the log starts again at the next commit rather than growing.
    r.create_many(Entity::Contact, &contacts(6000, 1), &mut |_| {})
        .expect("one more");
    let after = r.checkpoint_now().expect("checkpoint");
    assert!(after.frames < 100, "the log kept growing: {after:?}");
    let dump = r.dump().expect("dump");
    drop(r);
    let r = Replica::open(&path, &key()).expect("reopen");
    assert_eq!(r.dump().expect("dump"), dump);
    assert!(dump.matches("Delegate ").count() >= 6001);
}

#[test]
fn without_a_thread_checkpoint_now_runs_in_place() {
    let (_dir, mut r) = fresh();
    r.create_many(Entity::Contact, &contacts(0, 50), &mut |_| {})
        .expect("contacts");
    let c = r.checkpoint_now().expect("checkpoint");
    assert_eq!(c.background_runs, 0);
    assert_eq!(c.copied, c.frames);
}

#[test]
fn a_server_copy_drops_only_the_browse_indexes_and_merges_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut source = Replica::init(&dir.path().join("source.db"), &key()).expect("source");
    source
        .create_many(Entity::Contact, &contacts(0, 40), &mut |_| {})
        .expect("contacts");
    let changes = source.outbox(usize::MAX).expect("outbox");

    let mut plain = Replica::init(&dir.path().join("plain.db"), &key()).expect("plain");
    plain.set_search_index(false);
    let path = dir.path().join("copy.db");
    let mut copy = Replica::init(&path, &key()).expect("copy");
    let all = indexes(&copy);
    for name in BROWSE_INDEXES {
        assert!(
            all.iter().any(|i| i == name),
            "{name} is listed as a browse index but a replica has no such index"
        );
    }
    copy.serve_only().expect("serve only");
    copy.serve_only().expect("twice is harmless");
    let kept = indexes(&copy);
    assert_eq!(kept.len(), all.len() - BROWSE_INDEXES.len(), "{kept:?}");
    assert!(kept.iter().all(|i| !BROWSE_INDEXES.contains(&i.as_str())));

    plain.apply_pull(&changes, &[], None).expect("plain merge");
    copy.apply_pull(&changes, &[], None).expect("copy merge");
    assert_eq!(copy.dump().expect("dump"), plain.dump().expect("dump"));
    drop(copy);
    // Reopening (migrations included) does not bring them back.
    let copy = Replica::open(&path, &key()).expect("reopen");
    assert_eq!(indexes(&copy), kept);
}
