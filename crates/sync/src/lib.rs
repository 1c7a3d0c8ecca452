//! The sync client: one sync round (push the outbox, pull what is new, then files), over any
//! [`Transport`] — the HTTP one ([`http`]) in the app and the `desk` CLI — and the app's
//! background loop ([`background`]).
//!
//! - [`sync`]: pushes the outbox in order, records each acknowledgement (only then does an
//!   entry leave the outbox), then pulls the server's history after its cursor, applying each
//!   batch and advancing the cursor in one transaction. Interrupted at any point, the next run
//!   resumes; run twice, the second changes nothing.
//! - [`verify`]: compares the replica's digest of its records with the server's.
//!
//! What it is not: no server code — no hub, no accounts, no password hashing, no axum, no
//! PostgreSQL client (that is `desk-server`, which the desktop app never links). The wire types
//! it speaks are `desk-protocol`'s, re-exported here under the names front ends use.

use desk_core::{Change, Replica};
use std::sync::Mutex;

pub mod account;
pub mod background;
pub mod bundle;
pub mod explain;
pub mod http;
pub mod lease;

/// What a user is (the core's: the server decides with the same type).
pub use desk_core::Role;
/// A page of the server's history.
pub use desk_protocol::v1::PullPage as PullReply;
/// The server's answer to a push.
pub use desk_protocol::v1::PushAnswer as PushReply;
pub use desk_protocol::v1::{Checksum, Denied, START_SNAPSHOT};
/// The binary codec of the wire (`desk-protocol`'s).
pub use desk_protocol::wire;

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
    /// The token was not accepted (see [`Denied`]).
    #[error("{1}")]
    Denied(Denied, String),
    /// A change names a record its user may not see (or would create one they could not).
    #[error("out of scope: {0}")]
    OutOfScope(String),
    /// The user's role does not allow the change (a partner writing, a focal point
    /// reclassifying).
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The user's role changed: the device pulls again from zero under the new one.
    #[error("the user's role changed: pull again from the start")]
    Rescope,
    /// This client is older than the server accepts: update the app (nothing is lost: the
    /// outbox waits).
    #[error("{0}")]
    UpgradeRequired(String),
    /// No such thing that this user may see (a file no visible document names).
    #[error("not found: {0}")]
    NotFound(String),
    /// A sign-in named a device registered to another user.
    #[error("{0}")]
    DeviceTaken(String),
    /// A pushed change is malformed: a value no local edit could store, an unknown field, a
    /// new record without a required field. The message names the change and the field;
    /// nothing of the batch was stored.
    #[error("{0}")]
    BadChange(String),
    /// Past one of the server's limits (a file's size, a user's quota): `.0` is the code.
    #[error("{1}")]
    Limit(&'static str, String),
    /// Bad input (a request, a user name, a password).
    #[error("{0}")]
    Invalid(String),
    /// The server's store failed (PostgreSQL unreachable, a disk error): nothing was stored.
    #[error("the server's store failed: {0}")]
    Store(String),
}

impl From<desk_protocol::wire::WireError> for SyncError {
    fn from(e: desk_protocol::wire::WireError) -> SyncError {
        SyncError::Invalid(e.to_string())
    }
}

/// The digest of `r`'s records that `keep` selects (see [`Checksum`]).
pub fn checksum(
    r: &Replica,
    head: i64,
    keep: &dyn Fn(&desk_core::Record) -> bool,
) -> Result<Checksum, SyncError> {
    let (records, digest) = r.records_digest(keep)?;
    Ok(Checksum {
        head,
        records,
        digest,
    })
}

/// A long-poll to run on another thread (see [`Transport::detached_wait`]).
pub type DetachedWait = Box<dyn FnOnce() -> Result<PullReply, SyncError> + Send>;

/// How a client reaches the server.
pub trait Transport {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError>;
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError>;
    /// [`Transport::pull`] that, when nothing is new after `after`, waits up to `wait_secs`
    /// for something to arrive (long-poll) instead of answering at once.
    fn pull_wait(
        &mut self,
        after: i64,
        limit: usize,
        wait_secs: u32,
    ) -> Result<PullReply, SyncError> {
        let _ = wait_secs;
        self.pull(after, limit)
    }
    /// A long-poll ([`Transport::pull_wait`] for one change after `after`) that runs apart from
    /// this transport — its own thread and connection — so a loop waiting for news can act on
    /// a local edit meanwhile. `None` when this transport cannot (the loop then waits inline).
    fn detached_wait(&self, after: i64, wait_secs: u32) -> Option<DetachedWait> {
        let _ = (after, wait_secs);
        None
    }
    /// [`Transport::pull`] during an initial sync: `snapshot` is what the server answered
    /// to the first pull (0 when not in one). Transports that cannot pass it fall back to
    /// plain pulls, which converge to the same state with more changes on the way.
    fn pull_snapshot(
        &mut self,
        after: i64,
        snapshot: i64,
        limit: usize,
    ) -> Result<PullReply, SyncError> {
        let _ = snapshot;
        self.pull(after, limit)
    }
    /// How much of file `sha` the server holds (a file no document visible to this device
    /// names is "not found").
    fn blob_status(&mut self, sha: &str) -> Result<desk_core::BlobStatus, SyncError> {
        let _ = sha;
        Err(SyncError::Invalid("this transport moves no files".into()))
    }
    /// Hands this device's audit events to the server's audit log; the highest number it now
    /// has. `None`: this transport carries no audit events (they stay queued for one that does).
    fn audit(
        &mut self,
        events: &[desk_protocol::v1::AuditEvent],
    ) -> Result<Option<i64>, SyncError> {
        let _ = events;
        Ok(None)
    }
    /// What the server asks of its devices (the offline lease). `None`: this transport cannot
    /// say (the policy kept from the last server stands).
    fn policy(&mut self) -> Result<Option<desk_protocol::v1::Policy>, SyncError> {
        Ok(None)
    }
    /// Gives the server the public key this device signs its hand-carried bundles with.
    /// `None`: this transport cannot (it is sent by the next one that can).
    fn device_key(&mut self, public_key: &str) -> Result<Option<()>, SyncError> {
        let _ = public_key;
        Ok(None)
    }
    /// The users of `devices`, as the server knows them. `None`: this transport cannot say.
    fn authors(&mut self, devices: &[String]) -> Result<Option<Vec<(String, String)>>, SyncError> {
        let _ = devices;
        Ok(None)
    }
    /// Sends bytes of file `sha` (`size` bytes) from `offset`.
    fn blob_put(
        &mut self,
        sha: &str,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<desk_core::BlobStatus, SyncError> {
        let _ = (sha, size, offset, data);
        Err(SyncError::Invalid("this transport moves no files".into()))
    }
    /// Fetches up to `len` bytes of file `sha` from `offset`.
    fn blob_get(&mut self, sha: &str, offset: u64, len: usize) -> Result<Vec<u8>, SyncError> {
        let _ = (sha, offset, len);
        Err(SyncError::Invalid("this transport moves no files".into()))
    }
    /// The server's digest of what this device may see ([`Checksum`]).
    fn checksum(&mut self) -> Result<Checksum, SyncError> {
        Err(SyncError::Invalid(
            "this transport cannot ask for a checksum".into(),
        ))
    }
}

/// Whether a replica holds exactly what the server says its user may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Same {
        records: u64,
    },
    /// The replica differs: a full pull from zero repairs it.
    Differs {
        server: Checksum,
        here: Checksum,
    },
    /// The server moved on since the last pull: sync and verify again.
    Behind {
        cursor: i64,
        head: i64,
    },
}

/// Compares the replica's digest with the server's.
pub fn verify(r: &Replica, t: &mut dyn Transport) -> Result<Verification, SyncError> {
    let server = t.checksum()?;
    let cursor = r.pull_cursor()?;
    if cursor != server.head {
        return Ok(Verification::Behind {
            cursor,
            head: server.head,
        });
    }
    let here = checksum(r, server.head, &|_| true)?;
    Ok(if here.digest == server.digest {
        Verification::Same {
            records: here.records,
        }
    } else {
        Verification::Differs { server, here }
    })
}

/// What a sync run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub pulled: usize,
    pub applied: usize,
    /// Records removed because this device's user may no longer see them.
    pub purged: usize,
    /// Own edits the server kept aside for review (their records left the user's scope).
    pub quarantined: usize,
    /// Own edits the server stamped again (this device's clock is ahead).
    pub restamped: usize,
    /// The user's role changed: the replica was emptied and pulled again.
    pub rescoped: bool,
    /// Documents' files sent to and received from the server (whole files).
    pub files_sent: usize,
    pub files_received: usize,
    /// This device's audit events (packs made, key changes) now in the server's audit log.
    pub audited: usize,
}

/// Progress of a sync run, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncProgress {
    Pushed { done: usize, left: usize },
    Pulled { done: usize, cursor: i64 },
}

/// Changes per request, pushed or pulled (the server's largest page). Each page is one
/// transaction on the replica: bigger pages mean fewer commits, fewer search-index flushes and
/// merges (an initial sync applies ~20% faster than with pages of 500), and still hold a
/// shared replica's lock for only tens of milliseconds.
pub const BATCH: usize = 2_000;

/// One sync run: push the whole outbox, then pull everything new. Errors leave the replica
/// consistent (every step is its own transaction) and the next run picks up where this one
/// stopped. A revoked device wipes its replica here, on first contact; a device whose user's
/// role changed empties it and pulls again under the new role.
pub fn sync(
    r: &mut Replica,
    t: &mut dyn Transport,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    sync_with(r, t, BATCH, progress)
}

/// [`sync`] with `page` changes per request.
pub fn sync_with(
    r: &mut Replica,
    t: &mut dyn Transport,
    page: usize,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    run(r, t, page, progress)
}

/// [`sync`] for a replica the app shares with its user: the lock is held only between
/// network calls, so editing goes on during a long sync.
pub fn sync_shared(
    m: &Mutex<Option<Replica>>,
    t: &mut dyn Transport,
    page: usize,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    let mut access = m;
    run(&mut access, t, page, progress)
}

/// How the sync loop reaches the replica: directly, or through a lock.
trait Access {
    fn with(
        &mut self,
        f: &mut dyn FnMut(&mut Replica) -> Result<(), SyncError>,
    ) -> Result<(), SyncError>;
}

impl Access for Replica {
    fn with(
        &mut self,
        f: &mut dyn FnMut(&mut Replica) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        f(self)
    }
}

impl Access for &Mutex<Option<Replica>> {
    fn with(
        &mut self,
        f: &mut dyn FnMut(&mut Replica) -> Result<(), SyncError>,
    ) -> Result<(), SyncError> {
        // A panic elsewhere while holding the lock leaves the replica as SQLite left it
        // (transactions roll back): still safe to use.
        let mut guard = self.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_mut() {
            Some(r) => f(r),
            None => Err(SyncError::Invalid("the replica is locked".into())),
        }
    }
}

fn get<T>(
    a: &mut dyn Access,
    f: impl FnOnce(&mut Replica) -> Result<T, SyncError>,
) -> Result<T, SyncError> {
    let mut f = Some(f);
    let mut out = None;
    a.with(&mut |r| {
        if let Some(f) = f.take() {
            out = Some(f(r)?);
        }
        Ok(())
    })?;
    out.ok_or_else(|| SyncError::Invalid("the replica was not reached".into()))
}

fn run(
    a: &mut dyn Access,
    t: &mut dyn Transport,
    page: usize,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    match sync_once(a, t, page.max(1), progress) {
        Err(SyncError::Denied(Denied::Revoked, msg)) => {
            get(a, |r| Ok(r.wipe()?))?;
            Err(SyncError::Denied(Denied::Revoked, msg))
        }
        Ok(report) => {
            get(a, |r| {
                Ok(r.set_setting(LAST_OK, Some(&now_ms().to_string()))?)
            })?;
            Ok(report)
        }
        other => other,
    }
}

/// When this replica last finished a round with the server (milliseconds since 1970, in the
/// replica's local settings): "last synced" in the app's sync bar.
const LAST_OK: &str = "sync.last_ok";

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// When this replica last finished a round with the server, in milliseconds since 1970.
pub fn last_success(r: &Replica) -> Result<Option<u64>, SyncError> {
    Ok(r.setting(LAST_OK)?.and_then(|v| v.parse().ok()))
}

fn sync_once(
    a: &mut dyn Access,
    t: &mut dyn Transport,
    page: usize,
    progress: &mut dyn FnMut(SyncProgress),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let mut refused = None;
    let (device, waiting) = get(a, |r| Ok((r.device_id().to_string(), r.outbox_len()?)))?;
    loop {
        let (batch, before) = get(a, |r| Ok((r.outbox(page)?, r.acknowledged()?)))?;
        if batch.is_empty() {
            break;
        }
        let reply = match t.push(&device, &batch) {
            // The server will not take these edits (a partner's, or out of the user's scope):
            // they stay in the outbox, and this replica still receives everyone else's work.
            Err(e @ (SyncError::NotPermitted(_) | SyncError::OutOfScope(_))) => {
                refused = Some(e);
                break;
            }
            other => other?,
        };
        let now = get(a, |r| {
            r.acknowledge(reply.acked)?;
            Ok(r.acknowledged()?)
        })?;
        if now <= before {
            // The server is missing an earlier change than this batch starts with (it lost
            // nothing it acknowledged, so this cannot persist): stop rather than spin.
            return Err(SyncError::Network(format!(
                "the server acknowledged nothing new (at {now}); try again"
            )));
        }
        report.pushed += batch.iter().filter(|c| c.dev_seq <= now).count();
        report.quarantined += reply.quarantined;
        report.restamped += reply.restamped;
        progress(SyncProgress::Pushed {
            done: report.pushed,
            left: waiting.saturating_sub(report.pushed),
        });
    }
    loop {
        let after = get(a, |r| Ok(r.pull_cursor()?))?;
        let snapshot = get(a, |r| {
            Ok(match r.setting(SNAPSHOT)?.and_then(|v| v.parse().ok()) {
                Some(s) => s,
                // A first pull asks for a snapshot, unless the replica holds records already
                // (made here before it ever synced): a cut stream would never purge one of
                // them its user may no longer see.
                None if after == 0 && !r.holds_records()? => START_SNAPSHOT,
                None => 0,
            })
        })?;
        let reply = match t.pull_snapshot(after, snapshot, page) {
            Err(SyncError::Rescope) if !report.rescoped => {
                get(a, |r| Ok(r.wipe()?))?;
                report.rescoped = true;
                continue;
            }
            other => other?,
        };
        if reply.cursor <= after && reply.changes.is_empty() && reply.purged.is_empty() {
            break;
        }
        report.applied += get(a, |r| {
            Ok(r.apply_pull(&reply.changes, &reply.purged, Some(reply.cursor))?)
        })?;
        if reply.snapshot != snapshot {
            // Kept beside the cursor (if lost, later pages come one change at a time: the same
            // end state).
            let v = reply.snapshot.to_string();
            get(a, |r| {
                Ok(r.set_setting(SNAPSHOT, (reply.snapshot > 0).then_some(v.as_str()))?)
            })?;
        }
        report.pulled += reply.changes.len();
        report.purged += reply.purged.len();
        progress(SyncProgress::Pulled {
            done: report.pulled,
            cursor: reply.cursor,
        });
        if !reply.more {
            break;
        }
    }
    files(a, t, &mut report)?;
    audit(a, t, &mut report)?;
    authors(a, t)?;
    if let Some(public) = get(a, bundle::key_to_send)? {
        if t.device_key(&public)?.is_some() {
            get(a, |r| bundle::key_sent(r, &public))?;
        }
    }
    if let Some(p) = t.policy()? {
        get(a, |r| lease::set_policy(r, p.lease_days))?;
    }
    match refused {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// The local setting holding an initial sync's snapshot sequence ([`PullReply::snapshot`]); a
/// first pull passes [`START_SNAPSHOT`] to ask for one.
const SNAPSHOT: &str = "sync.snapshot";

/// The users of devices whose changes this replica holds and has no name for (its own too),
/// for records' histories by person.
fn authors(a: &mut dyn Access, t: &mut dyn Transport) -> Result<(), SyncError> {
    let unnamed = get(
        a,
        |r| Ok(r.unnamed_devices(desk_protocol::v1::AUTHORS_MAX)?),
    )?;
    if unnamed.is_empty() {
        return Ok(());
    }
    if let Some(names) = t.authors(&unnamed)? {
        get(a, |r| Ok(r.name_devices(&names)?))?;
    }
    Ok(())
}

/// This device's audit events (packs made, key changes), after everything else, a batch at a
/// time; each batch the server has is marked sent (a repeat after a lost answer is kept once
/// there).
fn audit(
    a: &mut dyn Access,
    t: &mut dyn Transport,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    loop {
        let events = get(a, |r| Ok(r.audit_unsent(desk_protocol::v1::AUDIT_BATCH)?))?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        let Some(acked) = t.audit(&events)? else {
            return Ok(());
        };
        get(a, |r| Ok(r.audit_acked(acked)?))?;
        report.audited += events.iter().filter(|e| e.seq <= acked).count();
        if acked < last {
            return Err(SyncError::Network(format!(
                "the server took audit events up to {acked} of {last}; try again"
            )));
        }
    }
}

/// Documents' files, on their own queue after the records: each file the server lacks is
/// sent from where the server's copy ends, each one missing here fetched from where ours
/// ends, a chunk at a time; an interrupted transfer resumes, a damaged one starts again.
fn files(
    a: &mut dyn Access,
    t: &mut dyn Transport,
    report: &mut SyncReport,
) -> Result<(), SyncError> {
    let chunk = desk_core::blobs::CHUNK;
    // Files the server has confirmed whole are not asked about again (one request per held
    // file per round would be hundreds per round for a busy replica).
    let unconfirmed = get(a, |r| Ok(r.unconfirmed_blobs()?))?;
    let confirm = |a: &mut dyn Access, sha: &str| get(a, |r| Ok(r.confirm_blob_sent(sha)?));
    for sha in unconfirmed {
        let mut there = match t.blob_status(&sha) {
            Ok(s) => s,
            // Not (yet) visible to this user on the server, or refused: not ours to send.
            Err(SyncError::NotFound(_) | SyncError::NotPermitted(_)) => continue,
            Err(e) => return Err(e),
        };
        if there.complete {
            confirm(a, &sha)?;
            continue;
        }
        let size = get(a, |r| Ok(r.blob_status(&sha)?.map_or(0, |s| s.size)))?;
        while !there.complete {
            let at = there.have;
            let data = get(a, |r| Ok(r.read_blob(&sha, at, chunk, false)?))?;
            there = t.blob_put(&sha, size, at, &data)?;
            if there.have <= at && !there.complete {
                return Err(SyncError::Network(format!(
                    "the server took nothing of file {sha} at byte {at}; try again"
                )));
            }
        }
        confirm(a, &sha)?;
        report.files_sent += 1;
    }
    for sha in get(a, |r| Ok(r.missing_blobs()?))? {
        let there = match t.blob_status(&sha) {
            Ok(s) => s,
            Err(SyncError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        if !there.complete {
            continue; // its author has not sent it yet
        }
        let mut have = get(a, |r| Ok(r.blob_status(&sha)?.map_or(0, |s| s.have)))?;
        loop {
            let data = t.blob_get(&sha, have, chunk)?;
            if data.is_empty() {
                return Err(SyncError::Network(format!(
                    "the server sent nothing of file {sha} at byte {have}; try again"
                )));
            }
            let s = get(a, |r| Ok(r.append_blob(&sha, there.size, have, &data)?))?;
            have = s.have;
            if s.complete {
                break;
            }
        }
        confirm(a, &sha)?;
        report.files_received += 1;
    }
    Ok(())
}
