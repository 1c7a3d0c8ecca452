//! The app's background loop: it retries with backoff through failures, reports each state,
//! and stops (wiping the replica) when the device is revoked.

mod direct;

use desk_core::{Change, Entity, Fields, Key, Replica};
use desk_server::testing::TestStore;
use desk_server::Hub;
use desk_sync::background::{follow, Backoff, SyncEvent, Wake};
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
    let wake = Wake::new();
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
    let wake = Wake::new();
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

/// A transport whose long-polls run apart and answer only when the test says: what each
/// answers is sent on `answers`; each wait begun is told on `began`.
struct Waits<'a> {
    inner: Direct<'a>,
    answers: std::sync::Arc<Mutex<mpsc::Receiver<Result<PullReply, SyncError>>>>,
    began: mpsc::Sender<()>,
}

impl Transport for Waits<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        self.inner.push(device, batch)
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.inner.pull(after, limit)
    }
    fn detached_wait(&self, _after: i64, _wait_secs: u32) -> Option<desk_sync::DetachedWait> {
        let _ = self.began.send(());
        let answers = self.answers.clone();
        Some(Box::new(move || {
            let next = answers.lock().expect("answers").recv();
            next.unwrap_or_else(|_| Err(SyncError::Network("the test ended".into())))
        }))
    }
}

fn idle_pushed(events: &mpsc::Receiver<SyncEvent>) -> usize {
    loop {
        match events
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
        {
            SyncEvent::Idle { pushed, .. } => return pushed,
            SyncEvent::Syncing { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn an_edit_goes_to_the_server_while_the_loop_waits_for_news() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut hub, replica, _store) = setup(&dir);
    let (answer, answers) = mpsc::channel();
    let (began, waits) = mpsc::channel();
    let mut t = Waits {
        inner: Direct::admin(&mut hub),
        answers: std::sync::Arc::new(Mutex::new(answers)),
        began,
    };
    let stop = AtomicBool::new(false);
    let wake = Wake::new();
    let waker = wake.handle();
    let (event, events) = mpsc::channel();
    let wait_begun = || {
        waits
            .recv_timeout(Duration::from_secs(60))
            .expect("a wait begun")
    };
    let edit = |name: &str| {
        let mut f = Fields::new();
        f.insert("name".into(), json!(name));
        replica
            .lock()
            .expect("lock")
            .as_mut()
            .expect("replica")
            .create(Entity::Contact, &f)
            .expect("create");
        waker.send(()).expect("wake");
    };
    // Should an assertion below fail, the loop is stopped, so the scope can end.
    struct StopOnDrop<'a>(&'a AtomicBool, mpsc::Sender<()>);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
            let _ = self.1.send(());
        }
    }
    std::thread::scope(|s| {
        let _stop = StopOnDrop(&stop, wake.handle());
        s.spawn(|| {
            let wake = wake;
            follow(
                &replica,
                &mut t,
                &stop,
                &wake,
                // A failed wait backs off a minute: the next wake-up cuts it short.
                &mut Backoff::new(Duration::from_secs(60), Duration::from_secs(60)),
                25,
                &mut |e| {
                    let _ = event.send(e);
                },
            )
        });
        assert_eq!(idle_pushed(&events), 1, "the first round sends the contact");
        // The loop waits for news; the wait fails the way a network does: offline, with the
        // retry time (the answer is given once the wait has begun, so no round overtakes it).
        wait_begun();
        answer
            .send(Err(SyncError::Network("connection reset".into())))
            .expect("fail the wait");
        match events.recv_timeout(Duration::from_secs(60)).expect("event") {
            SyncEvent::Offline { message, .. } => assert!(message.contains("reset"), "{message}"),
            other => panic!("expected offline, got {other:?}"),
        }
        // An edit cuts the back-off short and is sent; the loop waits for news again, and a
        // second edit is sent at once while that wait has not answered.
        edit("Bounmy Phommachanh");
        assert_eq!(idle_pushed(&events), 1, "sent at once");
        wait_begun();
        edit("Nguyễn Thị Lan");
        assert_eq!(idle_pushed(&events), 1, "sent at once");
        assert!(waits.try_recv().is_err(), "one wait for news at a time");
        // News: the wait answers, a round runs, and a new wait begins.
        answer
            .send(Ok(PullReply::default()))
            .expect("answer the wait");
        assert_eq!(idle_pushed(&events), 0);
        wait_begun();
    });
    assert_eq!(
        hub.history().expect("history").len(),
        3,
        "all three contacts reached the server"
    );
}
