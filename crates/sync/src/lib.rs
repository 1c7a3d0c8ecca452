//! Sync: the client loop and the server's relay, independent of the transport.
//!
//! - [`Hub`]: the server's side. Accepts each device's changes exactly once and in order (a
//!   high-water mark per device: repeats are skipped, a gap is refused until the missing batch
//!   is resent), merges them into its own replica with the same per-field rule every replica
//!   uses, and keeps every accepted change in its history, numbered by a server sequence.
//! - [`sync`]: the client's side. Pushes the outbox in order, records each acknowledgement
//!   (only then does an entry leave the outbox), then pulls the server's history after its
//!   cursor, applying each batch and advancing the cursor in one transaction. Interrupted at any
//!   point, the next run resumes; run twice, the second changes nothing.
//!
//! The HTTP server and `desk sync` wrap these two; the deterministic simulation
//! (`tests/simulation.rs`) drives them through a network that drops, repeats and reorders.

use desk_core::{Change, Replica};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Replica(#[from] desk_core::Error),
    /// The transport failed (no answer, dropped connection): nothing is lost; run again.
    #[error("the sync server could not be reached: {0}")]
    Network(String),
    /// The server refused a change (it names which and why); nothing of the batch was stored.
    #[error("the server refused the change {device}/{dev_seq}: {message}")]
    Refused {
        device: String,
        dev_seq: i64,
        message: String,
    },
}

/// The server's answer to a push: every change of this device up to `acked` is durably stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushReply {
    pub acked: i64,
}

/// A page of the server's history after a cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct PullReply {
    pub changes: Vec<Change>,
    /// The server sequence of the last change in `changes` (the cursor to ask after next).
    pub cursor: i64,
    pub more: bool,
}

/// How a client reaches the server.
pub trait Transport {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError>;
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError>;
}

/// The server's state: a replica of its own. Its change log is the server's history (the
/// order of arrival is the server sequence), the high-water marks are the highest sequence held
/// per device, and the records are the merged state — all durable, so a restarted hub carries on
/// exactly where it stopped.
pub struct Hub {
    state: Replica,
}

impl Hub {
    /// Opens the hub's store at `path`, creating it on first use.
    pub fn open(path: &Path, key: &desk_core::Key) -> Result<Hub, SyncError> {
        let state = if path.exists() {
            Replica::open(path, key)?
        } else {
            Replica::init(path, key)?
        };
        Ok(Hub { state })
    }

    /// A hub with a new store at `path`.
    pub fn new(path: &Path, key: &desk_core::Key) -> Result<Hub, SyncError> {
        Ok(Hub {
            state: Replica::init(path, key)?,
        })
    }

    /// The merged state (what every replica converges to).
    pub fn state(&self) -> &Replica {
        &self.state
    }

    /// Every accepted change, in server order (no edit is ever dropped from it).
    pub fn history(&self) -> Result<Vec<Change>, SyncError> {
        Ok(self.state.changes(0, usize::MAX)?)
    }

    /// Accepts `device`'s changes in sequence. Repeats (at or below the high-water mark) are
    /// skipped; a change after a gap stops the batch there (the client resends from the ack).
    /// A change claiming another device is refused and nothing of the batch is stored. The
    /// accepted changes, the history and the mark commit in one transaction.
    pub fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        if let Some(c) = batch.iter().find(|c| c.device != device) {
            return Err(SyncError::Refused {
                device: c.device.clone(),
                dev_seq: c.dev_seq,
                message: format!("pushed by {device}, not by its author"),
            });
        }
        let mut high = self.state.high_water(device)?;
        let mut accepted = Vec::new();
        let mut ordered: Vec<&Change> = batch.iter().collect();
        ordered.sort_by_key(|c| c.dev_seq);
        for c in ordered {
            if c.dev_seq <= high {
                continue;
            }
            if c.dev_seq != high + 1 {
                break;
            }
            high = c.dev_seq;
            accepted.push(c.clone());
        }
        if !accepted.is_empty() {
            self.state.apply_changes(&accepted)?;
        }
        Ok(PushReply { acked: high })
    }

    /// The history after server sequence `after`, at most `limit` changes.
    pub fn pull(&self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        let limit = limit.max(1);
        let mut changes = self.state.changes(after, limit + 1)?;
        let more = changes.len() > limit;
        changes.truncate(limit);
        let cursor = changes.last().map_or(after, |c| c.seq);
        Ok(PullReply {
            changes,
            cursor,
            more,
        })
    }
}

/// What a sync run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub pulled: usize,
    pub applied: usize,
}

/// Progress of a sync run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncProgress {
    Pushed { done: usize, left: usize },
    Pulled { done: usize, cursor: i64 },
}

pub const BATCH: usize = 500;

/// One sync run: push the whole outbox, then pull everything new. Errors leave the replica
/// consistent (every step is its own transaction) and the next run picks up where this one
/// stopped.
pub fn sync(
    r: &mut Replica,
    t: &mut dyn Transport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let device = r.device_id().to_string();
    loop {
        let batch = r.outbox(BATCH)?;
        if batch.is_empty() {
            break;
        }
        let before = r.acknowledged()?;
        let reply = t.push(&device, &batch)?;
        r.acknowledge(reply.acked)?;
        let now = r.acknowledged()?;
        if now <= before {
            // The server is missing an earlier change than this batch starts with (it lost
            // nothing it acknowledged, so this cannot persist): stop rather than spin.
            return Err(SyncError::Network(format!(
                "the server acknowledged nothing new (at {now}); try again"
            )));
        }
        report.pushed += batch.iter().filter(|c| c.dev_seq <= now).count();
        progress(SyncProgress::Pushed {
            done: report.pushed,
            left: r.outbox(usize::MAX)?.len(),
        });
    }
    loop {
        let after = r.pull_cursor()?;
        let reply = t.pull(after, BATCH)?;
        if reply.cursor <= after && reply.changes.is_empty() {
            break;
        }
        report.applied += r.apply_pulled(&reply.changes, Some(reply.cursor))?;
        report.pulled += reply.changes.len();
        progress(SyncProgress::Pulled {
            done: report.pulled,
            cursor: reply.cursor,
        });
        if !reply.more {
            break;
        }
    }
    Ok(report)
}

pub mod http;

/// A transport straight to a hub in the same process (tests, and a replica syncing with a
/// local server library).
pub struct Direct<'a>(pub &'a mut Hub);

impl Transport for Direct<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        self.0.push(device, batch)
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.0.pull(after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use desk_core::{Entity, Fields, Key};

    fn contact(r: &mut Replica, name: &str) {
        let mut f = Fields::new();
        f.insert("name".into(), name.into());
        r.create(Entity::Contact, &f).expect("create");
    }

    #[test]
    fn the_hub_takes_each_change_once_and_in_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = Key::Raw([2u8; 32]);
        let mut hub = Hub::new(&dir.path().join("hub.db"), &key).expect("hub");
        let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
        for n in ["One", "Two", "Three"] {
            contact(&mut a, n);
        }
        let out = a.outbox(10).expect("outbox");
        let dev = a.device_id().to_string();
        // A gap (change 2 before 1): nothing accepted, ack stays at 0.
        assert_eq!(hub.push(&dev, &out[1..2]).expect("push").acked, 0);
        assert!(hub.history().expect("history").is_empty());
        // In order; then the same batch again is harmless.
        assert_eq!(hub.push(&dev, &out[..2]).expect("push").acked, 2);
        assert_eq!(hub.push(&dev, &out).expect("push").acked, 3);
        assert_eq!(hub.push(&dev, &out).expect("again").acked, 3);
        assert_eq!(hub.history().expect("history").len(), 3);
        // Nobody pushes another device's changes.
        let err = hub.push("someone-else", &out).expect_err("foreign");
        assert!(matches!(err, SyncError::Refused { .. }), "{err}");
        assert_eq!(hub.history().expect("history").len(), 3);
        // Pages of the history.
        let p = hub.pull(1, 1).expect("pull");
        assert_eq!((p.changes.len(), p.cursor, p.more), (1, 2, true));
        let p = hub.pull(2, 10).expect("pull");
        assert_eq!((p.changes.len(), p.cursor, p.more), (1, 3, false));
        assert!(hub.pull(3, 10).expect("pull").changes.is_empty());
        // Restarted, the hub knows its history and its marks.
        drop(hub);
        let mut hub = Hub::open(&dir.path().join("hub.db"), &key).expect("reopen");
        assert_eq!(hub.history().expect("history").len(), 3);
        assert_eq!(hub.push(&dev, &out).expect("after restart").acked, 3);
        assert_eq!(hub.history().expect("history").len(), 3);
    }
}
