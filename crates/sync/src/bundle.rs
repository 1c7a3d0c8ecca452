//! Sync by hand-carried file, on the device (`desk sync --export FILE`, `desk sync --import
//! FILE`, the app's sync settings): the outbox and unsent audit events sealed for the server,
//! and the server's answer taken in with the same merge as an online pull. Both need the
//! device's sign-in (its token's hash keys the bundle), not the network.

use crate::{account, lease, SyncError};
use desk_core::Replica;
use desk_keys::SecretStore;
use desk_protocol::bundle::{self, Direction, FileData, Header, ToDevice, ToServer, FILES_MAX};
use serde::Serialize;

const OUT: &str = "bundle.out";
const IN: &str = "bundle.in";
/// The private half of the key this device signs its bundles with (hex; inside the encrypted
/// replica, never synced), and the public half the server has.
const SIGN: &str = "bundle.sign_key";
const SENT: &str = "bundle.key_sent";

/// This device's bundle-signing key: (private, public hex), made the first time.
fn signing(r: &mut Replica) -> Result<([u8; 32], String), SyncError> {
    let held = r.setting(SIGN)?.as_deref().and_then(bundle::key_from_hex);
    let private = match held {
        Some(k) => k,
        None => {
            let (private, _) = bundle::signing_key().map_err(invalid)?;
            r.set_setting(SIGN, Some(&bundle::key_to_hex(&private)))?;
            private
        }
    };
    let public = bundle::public_of(&private).map_err(invalid)?;
    Ok((private, bundle::key_to_hex(&public)))
}

/// The public key the server should hold for this device's bundles, if it does not yet (a sync
/// round sends it); [`key_sent`] notes that it does.
pub fn key_to_send(r: &mut Replica) -> Result<Option<String>, SyncError> {
    let (_, public) = signing(r)?;
    Ok((r.setting(SENT)?.as_deref() != Some(public.as_str())).then_some(public))
}

/// The server holds this device's public bundle key `public`.
pub fn key_sent(r: &mut Replica, public: &str) -> Result<(), SyncError> {
    Ok(r.set_setting(SENT, Some(public))?)
}

/// What a bundle for the server holds.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Made {
    pub number: i64,
    pub changes: usize,
    pub audit: usize,
    pub files: usize,
}

/// What taking the server's bundle did.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Taken {
    pub number: i64,
    /// Changes received, and how many of them were new here.
    pub received: usize,
    pub applied: usize,
    pub purged: usize,
    /// Own changes still waiting for the server after it.
    pub waiting: usize,
    /// Documents' files received.
    pub files: usize,
}

fn key(r: &Replica, keychain: &dyn SecretStore) -> Result<[u8; 32], SyncError> {
    let token = account::token(r, keychain)?.ok_or_else(|| {
        SyncError::Invalid(
            "this replica is not signed in to a sync server: sign in once (desk login) before carrying bundles".into(),
        )
    })?;
    Ok(bundle::key(&desk_protocol::unlock::token_hash(&token)))
}

fn setting(r: &Replica, name: &str) -> Result<i64, SyncError> {
    Ok(r.setting(name)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

fn invalid(e: bundle::BundleError) -> SyncError {
    SyncError::Invalid(e.to_string())
}

/// Seals this device's unsent changes and audit events for the server. `now` is the time (ms).
pub fn export(
    r: &mut Replica,
    keychain: &dyn SecretStore,
    now: i64,
) -> Result<(Vec<u8>, Made), SyncError> {
    let key = key(r, keychain)?;
    // Files the server has not confirmed (an online round confirms them), up to a bound.
    let mut files = Vec::new();
    let mut bytes = 0usize;
    for sha in r.unconfirmed_blobs()? {
        let size = r.blob_status(&sha)?.map_or(0, |s| s.size) as usize;
        if bytes + size > FILES_MAX && !files.is_empty() {
            break;
        }
        bytes += size;
        files.push(FileData {
            data: r.read_blob(&sha, 0, size, false)?,
            sha256: sha,
        });
    }
    let body = ToServer {
        changes: r.outbox(usize::MAX >> 1)?,
        audit: r.audit_unsent(usize::MAX >> 1)?,
        pulled: r.pull_cursor()?,
        files,
        wanted: r.missing_blobs()?,
    };
    let number = setting(r, OUT)? + 1;
    let header = Header {
        device: r.device_id().to_string(),
        direction: Direction::ToServer,
        number,
        made_at: now,
    };
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| SyncError::Invalid(format!("no randomness: {e}")))?;
    if r.setting(SENT)?.is_none() {
        return Err(SyncError::Invalid(
            "the server does not yet have the key this computer signs its bundles with: sync online once (after signing in) before carrying bundles".into(),
        ));
    }
    let (private, _) = signing(r)?;
    let sealed = bundle::seal(&key, &header, &body, nonce).map_err(invalid)?;
    let bytes = bundle::sign(&private, sealed).map_err(invalid)?;
    r.set_setting(OUT, Some(&number.to_string()))?;
    Ok((
        bytes,
        Made {
            number,
            changes: body.changes.len(),
            audit: body.audit.len(),
            files: body.files.len(),
        },
    ))
}

/// Takes the server's bundle for this device: refused whole, nothing applied, when it is not
/// authentic, for another device, or not newer than the last taken. Then as an online round:
/// the server's changes merged (purges first), the outbox and audit events it holds marked
/// sent, its policy and device names kept, the offline lease started again from when the
/// server made it (at most `now`).
pub fn import(
    r: &mut Replica,
    keychain: &dyn SecretStore,
    bytes: &[u8],
    now: u64,
) -> Result<Taken, SyncError> {
    let header = bundle::peek(bytes).map_err(invalid)?;
    if header.direction != Direction::ToDevice {
        return Err(SyncError::Invalid(
            "this bundle is for the server (desk-server import), not for a device".into(),
        ));
    }
    if header.device != r.device_id() {
        return Err(SyncError::Invalid(format!(
            "this bundle is for device {}, not this one ({}): nothing was applied",
            header.device,
            r.device_id()
        )));
    }
    let key = key(r, keychain)?;
    let (header, body): (Header, ToDevice) = bundle::open(&key, bytes).map_err(invalid)?;
    let last = setting(r, IN)?;
    if header.number <= last {
        return Err(SyncError::Invalid(format!(
            "the server's bundle {} was imported already (the last taken was {last}): nothing was applied",
            header.number
        )));
    }
    // Each file is checked against its name before anything is applied.
    for f in &body.files {
        if desk_protocol::unlock::sha256_hex(&f.data) != f.sha256 {
            return Err(SyncError::Invalid(format!(
                "the bundle's file {} does not match its name: nothing was applied",
                f.sha256
            )));
        }
    }
    let applied = r.apply_pull(&body.changes, &body.purged, Some(body.cursor))?;
    for f in &body.files {
        r.put_blob(&f.data)?;
    }
    if body.acked > r.acknowledged()? {
        r.acknowledge(body.acked)?;
    }
    r.audit_acked(body.audit_acked)?;
    lease::set_policy(r, body.policy.lease_days)?;
    r.name_devices(&body.authors)?;
    // The lease runs from when the server made the bundle (not from when it arrived).
    lease::contacted(r, u64::try_from(header.made_at).unwrap_or(0).min(now))?;
    r.set_setting(IN, Some(&header.number.to_string()))?;
    Ok(Taken {
        number: header.number,
        received: body.changes.len(),
        applied,
        purged: body.purged.len(),
        waiting: r.outbox_len()?,
        files: body.files.len(),
    })
}
