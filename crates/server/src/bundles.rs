//! Sync by hand-carried file, on the server (`desk-server import FILE`, `desk-server export
//! --device ID`): a device's bundle goes through the same checks as an online push — the
//! device must be registered, not revoked and signed in (its token's hash is the bundle's key),
//! its bundle must bear its signature (the key an online sync gave), its changes are validated
//! and merged by [`Hub::push`] under its user's role, its audit
//! events by [`auth::device_audit`] — and the answer is what an online pull would send that
//! user after the cursor the device's last bundle carried. Each side numbers its bundles; one
//! taken before is refused whole (a replay), as is one changed, cut short or for another
//! device (see `desk_protocol::bundle`).

use crate::access::{Principal, Role};
use crate::auth::{self, Session};
use crate::error::HubError;
use crate::hub::Hub;
use crate::store::TablesExt;
use desk_protocol::bundle::{self, Direction, Header, ToDevice, ToServer};
use desk_protocol::v1::Policy;

/// What importing a device's bundle did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub device: String,
    pub user: String,
    pub number: i64,
    /// Changes new to the server (repeats of ones it had are not counted).
    pub acked: i64,
    pub changes: usize,
    pub audit: usize,
    /// Documents' files stored, and why any was not (its quota, its size).
    pub files: usize,
    pub files_refused: Vec<String>,
}

/// A device as a bundle needs it.
struct Holder {
    who: Principal,
    key: [u8; 32],
    bundle_in: i64,
    bundle_out: i64,
    cursor: i64,
    rescope: bool,
    wanted: Vec<String>,
    /// The public key its bundles are signed with, once an online sync gave it.
    sign_key: Option<[u8; 32]>,
}

/// A device's row as stored.
struct Row {
    user: String,
    token: Option<String>,
    revoked: bool,
    bundle_in: i64,
    bundle_out: i64,
    cursor: i64,
    rescope: bool,
    role: String,
    disabled: bool,
    wanted: Option<String>,
    sign_key: Option<String>,
}

fn holder(hub: &Hub, device: &str) -> Result<Holder, HubError> {
    let row = hub.store().read_with(|sql| {
        sql.row(
            "SELECT d.\"user\", d.token, d.revoked, d.bundle_in, d.bundle_out, d.bundle_cursor, \
             d.rescope, u.role, u.disabled, d.bundle_wanted, d.sign_key FROM srv_device d \
             JOIN srv_user u ON u.name = d.\"user\" WHERE d.id = $1",
            &[device.into()],
        )?
        .map(|r| {
            Ok::<_, HubError>(Row {
                user: r.text(0)?,
                token: r.opt_text(1)?,
                revoked: r.flag(2)?,
                bundle_in: r.int(3)?,
                bundle_out: r.int(4)?,
                cursor: r.int(5)?,
                rescope: r.flag(6)?,
                role: r.text(7)?,
                disabled: r.flag(8)?,
                wanted: r.opt_text(9)?,
                sign_key: r.opt_text(10)?,
            })
        })
        .transpose()
    })?;
    let Some(row) = row else {
        return Err(HubError::NotFound(format!(
            "no device '{device}' has signed in to this server"
        )));
    };
    if row.revoked || row.disabled {
        return Err(HubError::Denied(
            desk_protocol::v1::Denied::Revoked,
            format!("device {device} is revoked: its bundles are refused"),
        ));
    }
    let Some(token) = row.token else {
        return Err(HubError::Invalid(format!(
            "device {device} is signed out: it must sign in again before bundles can be sealed for it"
        )));
    };
    Ok(Holder {
        who: Principal {
            user: row.user,
            role: Role::parse(&row.role).map_err(HubError::Invalid)?,
        },
        key: bundle::key(&token),
        bundle_in: row.bundle_in,
        bundle_out: row.bundle_out,
        cursor: row.cursor,
        rescope: row.rescope,
        wanted: row
            .wanted
            .and_then(|w| serde_json::from_str(&w).ok())
            .unwrap_or_default(),
        sign_key: row.sign_key.as_deref().and_then(bundle::key_from_hex),
    })
}

fn refused(e: bundle::BundleError) -> HubError {
    HubError::Invalid(e.to_string())
}

/// Takes a device's bundle: refused whole (nothing stored) unless it is authentic, for this
/// server's device, newer than the last taken from it, and every change passes the push's
/// checks.
pub fn import(hub: &mut Hub, bytes: &[u8]) -> Result<Imported, HubError> {
    let header = bundle::peek(bytes).map_err(refused)?;
    if header.direction != Direction::ToServer {
        return Err(HubError::Invalid(
            "this bundle is the server's answer for a device: it is imported on that device (desk sync --import)".into(),
        ));
    }
    let device = header.device.clone();
    let h = holder(hub, &device)?;
    let Some(sign_key) = h.sign_key else {
        return Err(HubError::Invalid(format!(
            "device {device} has not given this server the key its bundles are signed with: it must sync online once (after signing in) before its bundles are taken"
        )));
    };
    let signed = bundle::verify(&sign_key, bytes).map_err(refused)?;
    let (header, body): (Header, ToServer) = bundle::open(&h.key, signed).map_err(refused)?;
    if header.number <= h.bundle_in {
        return Err(HubError::Invalid(format!(
            "bundle {} of device {device} was imported already (the last taken was {}): nothing was applied",
            header.number, h.bundle_in
        )));
    }
    let answer = hub.push(&h.who, &device, &body.changes)?;
    let session = Session {
        device: device.clone(),
        who: h.who.clone(),
        rescope: h.rescope,
    };
    let audited = auth::device_audit(hub.store_mut(), &session, &body.audit)?;
    // Files after the records that name them, each through the upload's own checks.
    let (mut files, mut files_refused) = (0, Vec::new());
    for f in &body.files {
        if hub.blob_status(&h.who, &f.sha256).is_ok_and(|s| s.complete) {
            continue;
        }
        match hub.blob_put(&h.who, &f.sha256, f.data.len() as u64, 0, &f.data) {
            Ok(s) if s.complete => files += 1,
            Ok(_) => files_refused.push(format!("{}: incomplete", f.sha256)),
            Err(e) => files_refused.push(format!("{}: {e}", f.sha256)),
        }
    }
    let wanted =
        serde_json::to_string(&body.wanted).map_err(|e| HubError::Invalid(e.to_string()))?;
    let (number, pulled, n_changes, n_audit) = (
        header.number,
        body.pulled.max(0),
        body.changes.len(),
        body.audit.len(),
    );
    let user = h.who.user.clone();
    hub.store_mut().write_with(|sql| {
        sql.exec(
            "UPDATE srv_device SET bundle_in = $2, bundle_cursor = $3, last_seen = $4, \
             bundle_wanted = $5 WHERE id = $1",
            &[
                device.as_str().into(),
                number.into(),
                pulled.into(),
                auth::now_secs().into(),
                wanted.as_str().into(),
            ],
        )?;
        auth::audit(
            sql,
            Some(&user),
            Some(&device),
            "bundle",
            &format!(
                "imported bundle {number}: {n_changes} changes (stored up to {}), {n_audit} audit events (up to {audited}), {files} files",
                answer.acked
            ),
        )
    })?;
    Ok(Imported {
        device,
        user,
        number,
        acked: answer.acked,
        changes: n_changes,
        audit: n_audit,
        files,
        files_refused,
    })
}

/// The most changes one answer carries (a device further behind takes several bundles, or
/// syncs online).
pub const EXPORT_MAX: usize = 200_000;

/// Seals the server's answer for `device`: everything its user may see after the cursor its
/// last bundle carried, what the server holds of its changes and audit events, the policy and
/// the names of the devices in it. `now` is the time (ms), `nonce` fresh random bytes.
pub fn export(
    hub: &mut Hub,
    device: &str,
    now: i64,
    nonce: [u8; 12],
) -> Result<(Vec<u8>, ToDevice), HubError> {
    let h = holder(hub, device)?;
    if h.rescope {
        return Err(HubError::Invalid(format!(
            "the role of {}'s user changed: device {device} must sync online once (its replica is filled again under the new role)",
            h.who.user
        )));
    }
    let mut changes = Vec::new();
    let mut purged = Vec::new();
    let mut cursor = h.cursor;
    loop {
        let page = hub.pull(&h.who, cursor, crate::MAX_PULL)?;
        changes.extend(page.changes);
        purged.extend(page.purged);
        cursor = page.cursor;
        if !page.more || changes.len() >= EXPORT_MAX {
            break;
        }
    }
    // An empty push answers with what the server holds of this device (it stores nothing).
    let acked = hub.push(&h.who, device, &[])?.acked;
    let audit_acked = hub.store().read_with(|sql| {
        sql.row(
            "SELECT coalesce(max(origin_seq), 0) FROM srv_audit WHERE device = $1",
            &[device.into()],
        )?
        .map_or(Ok(0), |r| r.int(0))
    })?;
    let mut named: Vec<String> = changes.iter().map(|c| c.device.clone()).collect();
    named.push(device.to_string());
    named.sort();
    named.dedup();
    let mut authors = Vec::new();
    for chunk in named.chunks(desk_protocol::v1::AUTHORS_MAX) {
        authors.extend(auth::device_users(hub.store(), chunk)?);
    }
    // The files it asked for that its user may read (the rest of them with the next bundle).
    let mut files = Vec::new();
    let mut bytes = 0usize;
    for sha in &h.wanted {
        let Ok(status) = hub.blob_status(&h.who, sha) else {
            continue;
        };
        if !status.complete
            || (bytes + status.size as usize > bundle::FILES_MAX && !files.is_empty())
        {
            continue;
        }
        if let Ok(data) = hub.blob_get(&h.who, sha, 0, status.size as usize) {
            bytes += data.len();
            files.push(bundle::FileData {
                sha256: sha.clone(),
                data,
            });
        }
    }
    let body = ToDevice {
        files,
        acked,
        audit_acked,
        changes,
        purged,
        cursor,
        policy: Policy {
            lease_days: auth::lease_days(hub.store())?,
        },
        authors,
    };
    let number = h.bundle_out + 1;
    let header = Header {
        device: device.to_string(),
        direction: Direction::ToDevice,
        number,
        made_at: now,
    };
    let bytes = bundle::seal(&h.key, &header, &body, nonce).map_err(refused)?;
    let user = h.who.user.clone();
    let n = body.changes.len();
    hub.store_mut().write_with(|sql| {
        sql.exec(
            "UPDATE srv_device SET bundle_out = $2 WHERE id = $1",
            &[device.into(), number.into()],
        )?;
        auth::audit(
            sql,
            Some(&user),
            Some(device),
            "bundle",
            &format!("exported bundle {number}: {n} changes after {}", h.cursor),
        )
    })?;
    Ok((bytes, body))
}
