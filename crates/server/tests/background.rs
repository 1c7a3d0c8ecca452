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
/// answers is sent on `answers`; `started` counts the waits begun.
struct Waits<'a> {
    inner: Direct<'a>,
    answers: std::sync::Arc<Mutex<mpsc::Receiver<Result<PullReply, SyncError>>>>,
    started: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Transport for Waits<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        self.inner.push(device, batch)
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.inner.pull(after, limit)
    }
    fn detached_wait(&self, _after: i64, _wait_secs: u32) -> Option<desk_sync::DetachedWait> {
        self.started.fetch_add(1, Ordering::SeqCst);
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
    let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut t = Waits {
        inner: Direct::admin(&mut hub),
        answers: std::sync::Arc::new(Mutex::new(answers)),
        started: started.clone(),
    };
    let stop = AtomicBool::new(false);
    let wake = Wake::new();
    let (event, events) = mpsc::channel();
    let waker = wake.handle();
    std::thread::scope(|s| {
        s.spawn(|| {
            let wake = wake;
            follow(
                &replica,
                &mut t,
                &stop,
                &wake,
                // A failed wait backs off a minute: the test stops the loop within it.
                &mut Backoff::new(Duration::from_secs(60), Duration::from_secs(60)),
                25,
                &mut |e| {
                    let _ = event.send(e);
                },
            )
        });
        assert_eq!(idle_pushed(&events), 1, "the first round sends the contact");
        // Two edits, each waking the loop, while its wait for news has not answered.
        for name in ["Bounmy Phommachanh", "Nguyễn Thị Lan"] {
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
            assert_eq!(idle_pushed(&events), 1, "{name} sent at once");
        }
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "one wait for news at a time"
        );
        // News: the wait answers, a round runs and a new wait begins.
        answer
            .send(Ok(PullReply::default()))
            .expect("answer the wait");
        assert_eq!(idle_pushed(&events), 0);
        // A wait that fails the way a network does: offline, with the retry time.
        answer
            .send(Err(SyncError::Network("connection reset".into())))
            .expect("fail the wait");
        match events.recv_timeout(Duration::from_secs(60)).expect("event") {
            SyncEvent::Offline { message, .. } => assert!(message.contains("reset"), "{message}"),
            other => panic!("expected offline, got {other:?}"),
        }
        stop.store(true, Ordering::SeqCst);
        waker.send(()).expect("wake to stop");
    });
    assert_eq!(started.load(Ordering::SeqCst), 2);
    assert_eq!(
        hub.history().expect("history").len(),
        3,
        "all three contacts reached the server"
    );
}
