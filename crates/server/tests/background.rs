//! The app's background loop: it retries with backoff through failures, reports each state,
//! and stops (wiping the replica) when the device is revoked.

mod direct;

use desk_core::{Change, Entity, Fields, Key, Replica};
use desk_server::testing::TestStore;
use desk_server::Hub;
use desk_sync::background::{follow, Backoff, SyncEvent};
use desk_sync::{Denied, PullReply, PushReply, SyncError, Transport};
use direct::Direct;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

/// A transport that fails the first `failures` calls the way a dead network does, or always
/// answers "revoked".
struct Flaky<'a> {
    inner: Direct<'a>,
    failures: usize,
    revoked: bool,
}

impl Flaky<'_> {
    fn gate(&mut self) -> Result<(), SyncError> {
        if self.revoked {
            return Err(SyncError::Denied(Denied::Revoked, "revoked".into()));
        }
        if self.failures > 0 {
            self.failures -= 1;
            return Err(SyncError::Network("connection refused".into()));
        }
        Ok(())
    }
}

impl Transport for Flaky<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        self.gate()?;
        self.inner.push(device, batch)
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.gate()?;
        self.inner.pull(after, limit)
    }
}

fn setup(dir: &tempfile::TempDir) -> (Hub, Mutex<Option<Replica>>, TestStore) {
    let key = Key::Raw([4u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let hub = store.open().expect("hub");
    let mut r = Replica::init(&dir.path().join("r.db"), &key).expect("replica");
    let mut f = Fields::new();
    f.insert("name".into(), json!("Aung Kyaw"));
    r.create(Entity::Contact, &f).expect("create");
    (hub, Mutex::new(Some(r)), store)
}

#[test]
fn the_loop_backs_off_through_failures_then_catches_up() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut hub, replica, _store) = setup(&dir);
    let mut t = Flaky {
        inner: Direct::admin(&mut hub),
        failures: 3,
        revoked: false,
    };
    let stop = AtomicBool::new(false);
    let (_wake_tx, wake) = mpsc::channel();
    let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(4));
    let mut events = Vec::new();
    follow(&replica, &mut t, &stop, &wake, &mut backoff, 0, &mut |e| {
        if matches!(e, SyncEvent::Idle { .. }) {
            stop.store(true, Ordering::SeqCst);
        }
        events.push(e);
    });
    let offline = events
        .iter()
        .filter(|e| matches!(e, SyncEvent::Offline { .. }))
        .count();
    assert_eq!(offline, 3, "{events:?}");
    assert!(
        matches!(events.last(), Some(SyncEvent::Idle { pushed: 1, .. })),
        "{events:?}"
    );
    assert_eq!(hub.history().expect("history").len(), 1);
    assert_eq!(
        backoff.fail(),
        Duration::from_millis(1),
        "reset after success"
    );
}

#[test]
fn a_revoked_device_stops_the_loop_and_is_wiped() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut hub, replica, _store) = setup(&dir);
    let mut t = Flaky {
        inner: Direct::admin(&mut hub),
        failures: 0,
        revoked: true,
    };
    let stop = AtomicBool::new(false);
    let (_wake_tx, wake) = mpsc::channel();
    let mut events = Vec::new();
    follow(
        &replica,
        &mut t,
        &stop,
        &wake,
        &mut Backoff::default(),
        0,
        &mut |e| events.push(e),
    );
    assert!(
        matches!(
            events.last(),
            Some(SyncEvent::Stopped {
                code: "revoked",
                ..
            })
        ),
        "{events:?}"
    );
    let guard = replica.lock().expect("lock");
    let r = guard.as_ref().expect("replica");
    assert_eq!(r.count(Entity::Contact).expect("count"), 0, "wiped");
}
