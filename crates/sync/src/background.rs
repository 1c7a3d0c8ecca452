//! The app's background sync: a loop that keeps a shared replica in step with the server —
//! a full round (push, then pull) whenever woken, then a long-poll for news; on failure it
//! backs off (1 s, doubling, at most 5 min; a wake-up cuts the wait short) and says so. It
//! holds the replica's lock only between network calls, and reports what it does as
//! [`SyncEvent`]s for the UI (progress, idle with a summary, offline with the retry time,
//! signed out).

use crate::explain::classify;
use crate::{sync_shared, SyncError, SyncProgress, SyncReport, Transport, BATCH};
use desk_core::Replica;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the loop is doing, for the UI.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SyncEvent {
    Syncing {
        pushed: usize,
        pulled: usize,
    },
    /// Up to date; the summary of the round that got there.
    Idle {
        pushed: usize,
        pulled: usize,
        purged: usize,
        kept_for_review: usize,
        restamped: usize,
    },
    /// The server could not be reached (or failed); the next try is in `retry_in_secs`.
    Offline {
        message: String,
        retry_in_secs: u64,
    },
    /// The server refused this device (not signed in, expired, revoked, out of scope…): the
    /// loop stops until the user acts. Local work goes on.
    Stopped {
        code: &'static str,
        message: String,
    },
}

/// Exponential backoff: `first`, doubling, at most `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }
    /// The wait before the next try (and doubles the one after).
    pub fn fail(&mut self) -> Duration {
        let now = self.next;
        self.next = (self.next * 2).min(self.max);
        now
    }
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(300))
    }
}

/// How long a long-poll waits for news before the loop goes round again.
pub const LONG_POLL_SECS: u32 = 25;

fn idle(r: &SyncReport) -> SyncEvent {
    SyncEvent::Idle {
        pushed: r.pushed,
        pulled: r.pulled,
        purged: r.purged,
        kept_for_review: r.quarantined,
        restamped: r.restamped,
    }
}

/// Errors after which trying again cannot help until a person acts (see [`classify`]).
fn fatal(e: &SyncError) -> bool {
    classify(e).fatal
}

/// How the loop is woken: a local edit or "Sync now" sends on a [`Wake::handle`]; the loop's
/// own long-poll, running apart, says through it that news came (or the wait failed).
pub struct Wake {
    tx: Sender<()>,
    rx: Receiver<()>,
}

impl Wake {
    pub fn new() -> Wake {
        let (tx, rx) = mpsc::channel();
        Wake { tx, rx }
    }
    /// A sender that starts a round at once (several before the round starts make one round).
    pub fn handle(&self) -> Sender<()> {
        self.tx.clone()
    }
}

impl Default for Wake {
    fn default() -> Wake {
        Wake::new()
    }
}

/// The answer of a long-poll running apart, once it has come.
type Waiting = Arc<Mutex<Option<Result<crate::PullReply, SyncError>>>>;

/// The running long-poll's answer, taken, if it has come.
fn answer_of(waiting: &Option<Waiting>) -> Option<Result<crate::PullReply, SyncError>> {
    waiting
        .as_ref()
        .and_then(|w| w.lock().unwrap_or_else(|p| p.into_inner()).take())
}

/// Runs until `stop` is set (checked between steps; wake the loop after setting it) or the
/// server refuses this device. A wake-up starts a round at once — after a local edit or "Sync
/// now", also while the loop is waiting for news, when the transport can wait apart
/// ([`Transport::detached_wait`]; at most one such wait at a time, so a device holds one of the
/// server's long-polls). `long_poll` is the wait for news between rounds (0: none, a round per
/// wake-up).
pub fn follow(
    replica: &Mutex<Option<Replica>>,
    t: &mut dyn Transport,
    stop: &AtomicBool,
    wake: &Wake,
    backoff: &mut Backoff,
    long_poll: u32,
    on: &mut dyn FnMut(SyncEvent),
) {
    let mut waiting: Option<Waiting> = None;
    while !stop.load(Ordering::SeqCst) {
        // Wake-ups that came before this round are served by it.
        while wake.rx.try_recv().is_ok() {}
        let mut last = (0, 0);
        on(SyncEvent::Syncing {
            pushed: 0,
            pulled: 0,
        });
        let round = sync_shared(replica, t, BATCH, &mut |p| {
            match p {
                SyncProgress::Pushed { done, .. } => last.0 = done,
                SyncProgress::Pulled { done, .. } => last.1 = done,
            }
            on(SyncEvent::Syncing {
                pushed: last.0,
                pulled: last.1,
            });
        });
        let mut wait = match round {
            Ok(report) => {
                backoff.reset();
                on(idle(&report));
                // A wait that answered while the round ran is done with: its news came with the
                // round (its wake-up may have been taken as the round began), so wait anew.
                let answered = answer_of(&waiting);
                if let Some(r) = answered {
                    waiting = None;
                    if let Err(e) = r {
                        if fatal(&e) {
                            stopped(&e, on);
                            return;
                        }
                    }
                }
                if long_poll == 0 || waiting.is_some() {
                    // No waiting for news, or a wait that started before this round still runs.
                    None
                } else {
                    // Wait for news without holding the replica; apply it in the next round.
                    let cursor = replica
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_ref()
                        .and_then(|r| r.pull_cursor().ok())
                        .unwrap_or(0);
                    match t.detached_wait(cursor, long_poll) {
                        Some(job) => {
                            let slot: Waiting = Arc::default();
                            let (answer, woken) = (slot.clone(), wake.handle());
                            std::thread::spawn(move || {
                                let r = job();
                                *answer.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                                let _ = woken.send(());
                            });
                            waiting = Some(slot);
                            None
                        }
                        None => match t.pull_wait(cursor, 1, long_poll) {
                            Ok(_) => continue,
                            Err(e) if !fatal(&e) => Some((backoff.fail(), e.to_string())),
                            Err(e) => {
                                stopped(&e, on);
                                return;
                            }
                        },
                    }
                }
            }
            Err(e) => {
                if fatal(&e) {
                    stopped(&e, on);
                    return;
                }
                Some((backoff.fail(), e.to_string()))
            }
        };
        loop {
            let timeout = match wait.take() {
                Some((d, message)) => {
                    on(SyncEvent::Offline {
                        message,
                        retry_in_secs: d.as_secs().max(1),
                    });
                    d
                }
                None => Duration::from_secs(3600),
            };
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match wake.rx.recv_timeout(timeout) {
                Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let answered = answer_of(&waiting);
            match answered {
                // A local wake-up or the timeout (a wait may still run): a round.
                None => {}
                // News: a round applies it.
                Some(Ok(_)) => waiting = None,
                Some(Err(e)) if fatal(&e) => {
                    stopped(&e, on);
                    return;
                }
                // The wait failed the way a network does: back off before the next round (a
                // wake-up still cuts it short).
                Some(Err(e)) => {
                    waiting = None;
                    wait = Some((backoff.fail(), e.to_string()));
                    continue;
                }
            }
            break;
        }
    }
}

fn stopped(e: &SyncError, on: &mut dyn FnMut(SyncEvent)) {
    let p = classify(e);
    on(SyncEvent::Stopped {
        code: p.code,
        message: p.message,
    });
}
