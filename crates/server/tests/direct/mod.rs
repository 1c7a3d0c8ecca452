//! A transport straight to a hub in the same process, acting as one user: the client's sync
//! round (`desk_sync::sync`) against the server's [`Hub`] with no HTTP between them. For the
//! hub's suites; the server itself never links the client.
#![allow(dead_code)] // each test binary uses its own part of this

use desk_core::{BlobStatus, Change};
use desk_server::{Hub, HubError, Principal};
use desk_sync::{Checksum, PullReply, PushReply, SyncError, Transport};

/// A transport straight to a hub in the same process, acting as `who`.
pub struct Direct<'a> {
    pub hub: &'a mut Hub,
    pub who: Principal,
}

impl<'a> Direct<'a> {
    /// As an administrator (sees and writes everything).
    pub fn admin(hub: &'a mut Hub) -> Direct<'a> {
        Direct {
            hub,
            who: Principal::admin(),
        }
    }
}

/// The client's error for the hub's: the same situation, the same message (what a client
/// reading the HTTP error body would get, without the round trip).
pub fn client_error(e: HubError) -> SyncError {
    match e {
        HubError::Replica(e) => SyncError::Replica(e),
        HubError::Refused {
            device,
            dev_seq,
            message,
        } => SyncError::Refused {
            device,
            dev_seq,
            message,
        },
        HubError::Denied(d, m) => SyncError::Denied(d, m),
        HubError::OutOfScope(m) => SyncError::OutOfScope(m),
        HubError::NotPermitted(m) => SyncError::NotPermitted(m),
        HubError::Rescope => SyncError::Rescope,
        HubError::UpgradeRequired(m) => SyncError::UpgradeRequired(m),
        HubError::NotFound(m) => SyncError::NotFound(m),
        HubError::DeviceTaken(m) => SyncError::DeviceTaken(m),
        HubError::BadChange(m) => SyncError::BadChange(m),
        HubError::Limit(code, m) => SyncError::Limit(code, m),
        HubError::Invalid(m) => SyncError::Invalid(m),
        // As the HTTP client reads a 4xx code it has no variant for.
        HubError::Conflict(code, m) => SyncError::Invalid(format!("{m} ({code})")),
        HubError::Store(m) => SyncError::Store(m),
    }
}

impl Transport for Direct<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        self.hub
            .push(&self.who, device, batch)
            .map_err(client_error)
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.hub.pull(&self.who, after, limit).map_err(client_error)
    }
    fn pull_snapshot(
        &mut self,
        after: i64,
        snapshot: i64,
        limit: usize,
    ) -> Result<PullReply, SyncError> {
        self.hub
            .pull_snapshot(&self.who, after, snapshot, limit)
            .map_err(client_error)
    }
    fn checksum(&mut self) -> Result<Checksum, SyncError> {
        self.hub.checksum(&self.who).map_err(client_error)
    }
    fn blob_status(&mut self, sha: &str) -> Result<BlobStatus, SyncError> {
        self.hub.blob_status(&self.who, sha).map_err(client_error)
    }
    fn blob_put(
        &mut self,
        sha: &str,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<BlobStatus, SyncError> {
        self.hub
            .blob_put(&self.who, sha, size, offset, data)
            .map_err(client_error)
    }
    fn blob_get(&mut self, sha: &str, offset: u64, len: usize) -> Result<Vec<u8>, SyncError> {
        self.hub
            .blob_get(&self.who, sha, offset, len)
            .map_err(client_error)
    }
}
