//! Accounts on the sync server: users with a role and an argon2 password hash, devices signed
//! in with a bearer token (only its SHA-256 is stored), revocation, and the audit log. The
//! tables live in the hub's store beside the history (SQLite or PostgreSQL: one piece of SQL,
//! see [`crate::store::Sql`]).

use crate::access::{Principal, Role};
use crate::error::HubError;
use crate::store::{Sql, Tables, TablesExt};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use std::fmt::Write as _;

/// How long a token lasts without signing in again (local work never waits on it).
pub const TOKEN_DAYS: i64 = 30;

/// Why a request's token was not accepted (the wire's).
pub use desk_protocol::v1::Denied;

/// A request's verified identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub device: String,
    pub who: Principal,
    /// The user's role changed since this device last pulled: it must pull again from zero.
    pub rescope: bool,
}

/// A user as `desk-server user list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub devices: i64,
}

/// A device as `desk-server device list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub user: String,
    pub expires: i64,
    pub revoked: bool,
    pub last_seen: Option<i64>,
    /// When the (revoked) device confirmed it had removed its replica, files and keys.
    pub wiped: Option<i64>,
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn token_hash(token: &str) -> String {
    desk_protocol::unlock::token_hash(token)
}

fn bad(message: String) -> HubError {
    HubError::Invalid(message)
}

/// The most of a user name or device an audit entry keeps (in characters; longer is cut).
pub const AUDIT_NAME_MAX: usize = 120;
/// The most of an audit entry's detail it keeps.
pub const AUDIT_DETAIL_MAX: usize = 1_000;

/// `s` cut to `max` characters (marked with "…"), so no request can make the log grow by more.
fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", &s[..at])),
    }
}

pub(crate) fn audit(
    sql: &mut dyn Sql,
    user: Option<&str>,
    device: Option<&str>,
    action: &str,
    detail: &str,
) -> Result<(), HubError> {
    let user = user.map(|u| clip(u, AUDIT_NAME_MAX));
    let device = device.map(|d| clip(d, AUDIT_NAME_MAX));
    let (user, device) = (user.as_deref(), device.as_deref());
    let detail = &*clip(detail, AUDIT_DETAIL_MAX);
    sql.exec(
        "INSERT INTO srv_audit (at, \"user\", device, action, detail) VALUES ($1, $2, $3, $4, $5)",
        &[
            now_secs().into(),
            user.into(),
            device.into(),
            action.into(),
            detail.into(),
        ],
    )?;
    Ok(())
}

fn check_name(name: &str) -> Result<(), HubError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(bad(format!(
            "user name '{name}': 1–64 letters, digits, '.', '-', '_' or '@'"
        )))
    }
}

fn hash_password(password: &str) -> Result<String, HubError> {
    if password.chars().count() < 8 {
        return Err(bad("the password must have at least 8 characters".into()));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| bad(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| bad(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| bad(e.to_string()))?
        .to_string())
}

/// Adds a user (or replaces the password and role of an existing one). A role change makes
/// every device of the user pull again from zero under the new role.
pub fn add_user(
    store: &mut dyn Tables,
    name: &str,
    password: &str,
    role: &Role,
) -> Result<(), HubError> {
    check_name(name)?;
    let hash = hash_password(password)?;
    let role = role.as_string();
    store.write_with(|sql| {
        let old = sql
            .row("SELECT role FROM srv_user WHERE name = $1", &[name.into()])?
            .map(|r| r.text(0))
            .transpose()?;
        sql.exec(
            "INSERT INTO srv_user (name, password, role, created) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET password = excluded.password, role = excluded.role, \
             disabled = 0",
            &[name.into(), hash.into(), (&role).into(), now_secs().into()],
        )?;
        if old.as_deref().is_some_and(|o| o != role) {
            sql.exec(
                "UPDATE srv_device SET rescope = 1 WHERE \"user\" = $1",
                &[name.into()],
            )?;
        }
        let what = match old {
            Some(o) if o != role => format!("role {o} -> {role}; password set"),
            Some(_) => "password set".into(),
            None => format!("added with role {role}"),
        };
        audit(sql, Some(name), None, "user", &what)
    })
}

/// Changes a user's role; their devices pull again from zero (records no longer in scope go).
pub fn set_role(store: &mut dyn Tables, name: &str, role: &Role) -> Result<(), HubError> {
    let role = role.as_string();
    let n = store.write_with(|sql| {
        let n = sql.exec(
            "UPDATE srv_user SET role = $1 WHERE name = $2",
            &[(&role).into(), name.into()],
        )?;
        if n > 0 {
            sql.exec(
                "UPDATE srv_device SET rescope = 1 WHERE \"user\" = $1",
                &[name.into()],
            )?;
            audit(sql, Some(name), None, "role", &role)?;
        }
        Ok(n)
    })?;
    if n == 0 {
        return Err(bad(format!("no user named '{name}'")));
    }
    Ok(())
}

/// Disables a user and revokes every device of theirs.
pub fn disable_user(store: &mut dyn Tables, name: &str) -> Result<usize, HubError> {
    let (n, devices) = store.write_with(|sql| {
        let n = sql.exec(
            "UPDATE srv_user SET disabled = 1 WHERE name = $1",
            &[name.into()],
        )?;
        let d = sql.exec(
            "UPDATE srv_device SET revoked = 1 WHERE \"user\" = $1",
            &[name.into()],
        )?;
        if n > 0 {
            audit(
                sql,
                Some(name),
                None,
                "disable",
                &format!("{d} devices revoked"),
            )?;
        }
        Ok((n, d))
    })?;
    if n == 0 {
        return Err(bad(format!("no user named '{name}'")));
    }
    Ok(devices as usize)
}

/// Revokes one device: its token stops working and on its next contact it wipes its replica.
pub fn revoke_device(store: &mut dyn Tables, device: &str) -> Result<(), HubError> {
    let n = store.write_with(|sql| {
        let n = sql.exec(
            "UPDATE srv_device SET revoked = 1 WHERE id = $1",
            &[device.into()],
        )?;
        if n > 0 {
            audit(sql, None, Some(device), "revoke", "device revoked")?;
        }
        Ok(n)
    })?;
    if n == 0 {
        return Err(bad(format!("no device '{device}' has signed in")));
    }
    Ok(())
}

/// Replaces a device's token (a laptop's token may have been copied): the token it holds stops
/// working at once, and the device's user signs in again to get a new one; the device keeps
/// its replica and its unsent changes (it is not revoked). Audited.
pub fn rotate_device(store: &mut dyn Tables, device: &str) -> Result<(), HubError> {
    // The stored hash becomes the hash of a random token nobody was given.
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| bad(format!("no randomness: {e}")))?;
    let unusable = token_hash(&hex(&raw));
    let n = store.write_with(|sql| {
        let n = sql.exec(
            "UPDATE srv_device SET token = $1 WHERE id = $2 AND revoked = 0",
            &[unusable.into(), device.into()],
        )?;
        if n > 0 {
            audit(
                sql,
                None,
                Some(device),
                "rotate",
                "token replaced: the device signs in again",
            )?;
        }
        Ok(n)
    })?;
    if n == 0 {
        return Err(bad(format!(
            "no active device '{device}' (unknown, or revoked)"
        )));
    }
    Ok(())
}

pub fn users(store: &dyn Tables) -> Result<Vec<User>, HubError> {
    store.read_with(|sql| {
        sql.rows(
            "SELECT u.name, u.role, u.disabled, (SELECT count(*) FROM srv_device d \
             WHERE d.\"user\" = u.name AND d.revoked = 0) FROM srv_user u ORDER BY u.name",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(User {
                name: r.text(0)?,
                role: r.text(1)?,
                disabled: r.flag(2)?,
                devices: r.int(3)?,
            })
        })
        .collect()
    })
}

pub fn devices(store: &dyn Tables) -> Result<Vec<Device>, HubError> {
    store.read_with(|sql| {
        sql.rows(
            "SELECT id, \"user\", expires, revoked, last_seen, wiped FROM srv_device \
             ORDER BY \"user\", id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(Device {
                id: r.text(0)?,
                user: r.text(1)?,
                expires: r.int(2)?,
                revoked: r.flag(3)?,
                last_seen: r.opt_int(4)?,
                wiped: r.opt_int(5)?,
            })
        })
        .collect()
    })
}

/// The audit log, newest first: (time, user, device, action, detail).
pub type AuditEntry = (i64, Option<String>, Option<String>, String, String);

pub fn audit_log(store: &dyn Tables, limit: usize) -> Result<Vec<AuditEntry>, HubError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    store.read_with(|sql| {
        sql.rows(
            "SELECT at, \"user\", device, action, detail FROM srv_audit ORDER BY id DESC \
             LIMIT $1",
            &[limit.into()],
        )?
        .iter()
        .map(|r| {
            Ok((
                r.int(0)?,
                r.opt_text(1)?,
                r.opt_text(2)?,
                r.text(3)?,
                r.text(4)?,
            ))
        })
        .collect()
    })
}

/// What a sign-in returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub token: String,
    pub role: Role,
    pub expires: i64,
}

/// A user's stored credentials: (argon2 hash, role, disabled).
pub type Credentials = (String, String, bool);

/// Reads what [`verify`] needs (step one of a sign-in; cheap, under the store's lock).
pub fn credentials(store: &dyn Tables, user: &str) -> Result<Option<Credentials>, HubError> {
    store.read_with(|sql| {
        sql.row(
            "SELECT password, role, disabled FROM srv_user WHERE name = $1",
            &[user.into()],
        )?
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.flag(2)?)))
        .transpose()
    })
}

/// Checks a password against its argon2 hash (step two; deliberately slow, so a server runs
/// it without holding the store). An unknown user's password is checked against a dummy hash
/// made the same way, so the time taken does not tell whether a user name exists.
pub fn verify(credentials: Option<&Credentials>, password: &str) -> bool {
    let hash: &str = match credentials {
        Some((hash, _, _)) => hash,
        None => dummy_hash(),
    };
    let matches = argon2_matches(hash, password);
    matches && credentials.is_some()
}

/// A hash of a random password nobody knows, made once (on the first unknown user's sign-in)
/// with the same parameters as real ones.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut raw = [0u8; 16];
        // Without randomness the password is all zeros: still never accepted (no user).
        let _ = getrandom::fill(&mut raw);
        SaltString::encode_b64(&raw)
            .ok()
            .and_then(|salt| {
                Argon2::default()
                    .hash_password(hex(&raw).as_bytes(), &salt)
                    .ok()
                    .map(|h| h.to_string())
            })
            .unwrap_or_default()
    })
}

fn argon2_matches(hash: &str, password: &str) -> bool {
    #[cfg(test)]
    verify_tests::ARGON2_RUNS.with(|n| n.set(n.get() + 1));
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Step three: issues the device's token if the password was right (audits either way). A
/// revoked device stays revoked (a lost laptop that turns up gets a new replica).
pub fn issue(
    store: &mut dyn Tables,
    user: &str,
    credentials: Option<Credentials>,
    verified: bool,
    device: &str,
) -> Result<Login, HubError> {
    let Some((_, role, disabled)) = credentials.filter(|_| verified) else {
        store.write_with(|sql| audit(sql, Some(user), Some(device), "login", "refused"))?;
        return Err(HubError::Denied(
            Denied::Unknown,
            "wrong user name or password".into(),
        ));
    };
    if disabled {
        return Err(HubError::Denied(
            Denied::Revoked,
            "this user is disabled".into(),
        ));
    }
    let held = store.read_with(|sql| {
        sql.row(
            "SELECT revoked, \"user\" FROM srv_device WHERE id = $1",
            &[device.into()],
        )?
        .map(|r| Ok((r.flag(0)?, r.text(1)?)))
        .transpose()
    })?;
    // A device belongs to the user who registered it: device ids travel in every pulled
    // change, so naming one must never sign another user in as it (its pushes would be
    // taken for the owner's and the owner's next edits dropped as repeats).
    if held.as_ref().is_some_and(|(_, owner)| owner != user) {
        store.write_with(|sql| {
            audit(
                sql,
                Some(user),
                Some(device),
                "login",
                "refused: the device belongs to another user",
            )
        })?;
        return Err(HubError::DeviceTaken(
            "this device is registered to another user: sign in from a replica of your own \
             (a new data folder gets a new device id)"
                .into(),
        ));
    }
    let revoked = held.is_some_and(|(r, _)| r);
    if revoked {
        return Err(HubError::Denied(
            Denied::Revoked,
            "this device's access was revoked; set up a new replica".into(),
        ));
    }
    let role = Role::parse(&role).map_err(bad)?;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| bad(format!("no randomness: {e}")))?;
    let token = hex(&raw);
    let expires = now_secs() + TOKEN_DAYS * 86_400;
    let hash = token_hash(&token);
    store.write_with(|sql| {
        // Only this user's device is updated (one registered meanwhile by another user's
        // sign-in keeps its owner).
        let n = sql.exec(
            "INSERT INTO srv_device (id, \"user\", token, issued, expires, rescope) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             \"user\" = excluded.\"user\", token = excluded.token, issued = excluded.issued, \
             expires = excluded.expires, rescope = CASE WHEN srv_device.rescope > \
             excluded.rescope THEN srv_device.rescope ELSE excluded.rescope END \
             WHERE srv_device.\"user\" = excluded.\"user\"",
            &[
                device.into(),
                user.into(),
                hash.into(),
                now_secs().into(),
                expires.into(),
                false.into(),
            ],
        )?;
        if n == 0 {
            return Err(HubError::DeviceTaken(
                "this device is registered to another user".into(),
            ));
        }
        audit(sql, Some(user), Some(device), "login", "signed in")
    })?;
    Ok(Login {
        token,
        role,
        expires,
    })
}

/// Signs a device in (the three steps above in one call). Wrong user or password: the same
/// answer for both, and audited.
pub fn login(
    store: &mut dyn Tables,
    user: &str,
    password: &str,
    device: &str,
) -> Result<Login, HubError> {
    let c = credentials(store, user)?;
    let ok = verify(c.as_ref(), password);
    issue(store, user, c, ok, device)
}

/// Signs out the device `token` belongs to: the token stops working at once (audited). The
/// device stays registered, not revoked: it may sign in again.
pub fn logout(store: &mut dyn Tables, token: &str) -> Result<Session, HubError> {
    let s = authenticate(store, token)?;
    store.write_with(|sql| {
        sql.exec(
            "UPDATE srv_device SET token = NULL WHERE id = $1 AND token = $2",
            &[s.device.as_str().into(), token_hash(token).into()],
        )?;
        audit(
            sql,
            Some(&s.who.user),
            Some(&s.device),
            "logout",
            "signed out",
        )
    })?;
    Ok(s)
}

/// A revoked device says it has removed its replica, its files and its keys: the server notes
/// when (`device list`) and audits it once. Only the revoked device's own token is accepted
/// here (it works for nothing else); an active device has nothing to confirm.
pub fn confirm_wipe(store: &mut dyn Tables, token: &str) -> Result<String, HubError> {
    let hash = token_hash(token);
    store.write_with(|sql| {
        let row = sql
            .row(
                "SELECT id, \"user\", revoked, wiped FROM srv_device WHERE token = $1",
                &[hash.as_str().into()],
            )?
            .map(|r| Ok::<_, HubError>((r.text(0)?, r.text(1)?, r.flag(2)?, r.opt_int(3)?)))
            .transpose()?;
        let Some((device, user, revoked, wiped)) = row else {
            return Err(HubError::Denied(
                Denied::Unknown,
                Denied::Unknown.message().into(),
            ));
        };
        if !revoked {
            return Err(HubError::Conflict(
                "not_revoked",
                "this device is not revoked: there is no wipe to confirm".into(),
            ));
        }
        if wiped.is_none() {
            sql.exec(
                "UPDATE srv_device SET wiped = $2 WHERE id = $1",
                &[device.as_str().into(), now_secs().into()],
            )?;
            audit(
                sql,
                Some(&user),
                Some(&device),
                "wipe",
                "the device confirmed its replica, files and keys removed",
            )?;
        }
        Ok(device)
    })
}

/// Events a device reports (`POST /v1/audit`: packs it made, key changes) go into the audit
/// log under the user and device of the token they came with — never names from the body.
/// Refused whole, nothing written, unless every event is an audited action with a detail of
/// at most `AUDIT_DETAIL_MAX` characters, numbered from 1 (a number twice is kept once), at most
/// `AUDIT_BATCH` of them (`desk_protocol::v1`). An event the log already has (the same device and number) is
/// kept once. The device's clock is kept in the detail beside the server's time. Returns the
/// highest number now in the log.
pub fn device_audit(
    store: &mut dyn Tables,
    s: &Session,
    events: &[desk_protocol::v1::AuditEvent],
) -> Result<i64, HubError> {
    use desk_protocol::v1;
    if events.len() > v1::AUDIT_BATCH {
        return Err(HubError::Limit(
            "too_large",
            format!(
                "{} audit events in one request; at most {}",
                events.len(),
                v1::AUDIT_BATCH
            ),
        ));
    }
    for e in events {
        let refuse = |why: String| HubError::Invalid(format!("audit event {}: {why}", e.seq));
        if e.seq < 1 {
            return Err(refuse("events are numbered from 1".into()));
        }
        if !v1::AUDIT_ACTIONS.contains(&e.action.as_str()) {
            return Err(refuse(format!(
                "'{}' is not an action a device reports",
                clip(&e.action, 40)
            )));
        }
        if e.detail.chars().count() > v1::AUDIT_DETAIL_MAX {
            return Err(refuse(format!(
                "the detail is longer than {} characters",
                v1::AUDIT_DETAIL_MAX
            )));
        }
    }
    // In order, each number once (a device's retry may repeat or reorder them).
    let mut events: Vec<&desk_protocol::v1::AuditEvent> = events.iter().collect();
    events.sort_by_key(|e| e.seq);
    events.dedup_by_key(|e| e.seq);
    let last = events.last().map_or(0, |e| e.seq);
    store.write_with(|sql| {
        for e in &events {
            let when = chrono::DateTime::from_timestamp_millis(e.at).map_or_else(
                || "unknown".to_string(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
            sql.exec(
                "INSERT INTO srv_audit (at, \"user\", device, action, detail, origin_seq) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    now_secs().into(),
                    s.who.user.as_str().into(),
                    s.device.as_str().into(),
                    e.action.as_str().into(),
                    format!("{} (device clock {when})", e.detail).into(),
                    e.seq.into(),
                ],
            )?;
        }
        Ok(())
    })?;
    Ok(last)
}

/// The users of `devices` (those the server knows), for records' histories by person. A
/// device's user is no secret from a colleague whose replica holds that device's changes;
/// ids are random, so none is learnt by guessing. At most `AUTHORS_MAX` asked.
pub fn device_users(
    store: &dyn Tables,
    devices: &[String],
) -> Result<Vec<(String, String)>, HubError> {
    use desk_protocol::v1::AUTHORS_MAX;
    if devices.len() > AUTHORS_MAX {
        return Err(HubError::Limit(
            "too_large",
            format!(
                "{} devices asked about at once; at most {AUTHORS_MAX}",
                devices.len()
            ),
        ));
    }
    store.read_with(|sql| {
        let mut out = Vec::new();
        for d in devices {
            if let Some(r) = sql.row(
                "SELECT \"user\" FROM srv_device WHERE id = $1",
                &[d.as_str().into()],
            )? {
                out.push((d.clone(), r.text(0)?));
            }
        }
        Ok(out)
    })
}

/// The offline lease: how many days a device may go without reaching the server before the
/// app locks its replica (None: no lease). Kept in `srv_meta`.
pub fn lease_days(store: &dyn Tables) -> Result<Option<u32>, HubError> {
    store.read_with(|sql| {
        Ok(sql
            .row("SELECT value FROM srv_meta WHERE key = 'lease_days'", &[])?
            .map(|r| r.text(0))
            .transpose()?
            .and_then(|v| v.parse().ok()))
    })
}

/// The longest offline lease an administrator may set (days).
pub const LEASE_MAX_DAYS: u32 = 365;

/// Sets (or with None lifts) the offline lease. Audited.
pub fn set_lease_days(store: &mut dyn Tables, days: Option<u32>) -> Result<(), HubError> {
    if let Some(d) = days {
        if !(1..=LEASE_MAX_DAYS).contains(&d) {
            return Err(bad(format!(
                "a lease is 1 to {LEASE_MAX_DAYS} days, not {d}"
            )));
        }
    }
    store.write_with(|sql| {
        match days {
            Some(d) => sql.exec(
                "INSERT INTO srv_meta (key, value) VALUES ('lease_days', $1) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[d.to_string().into()],
            )?,
            None => sql.exec("DELETE FROM srv_meta WHERE key = 'lease_days'", &[])?,
        };
        let what = days.map_or("no offline lease".to_string(), |d| {
            format!("devices lock after {d} days without reaching the server")
        });
        audit(sql, None, None, "policy", &what)
    })
}

/// A one-time code that unlocks `device` past its lease for `days`, offline (see
/// `desk_protocol::unlock`). The device must hold a sign-in (its token's hash keys the code).
/// Audited.
pub fn unlock_code(store: &mut dyn Tables, device: &str, days: u32) -> Result<String, HubError> {
    let mut random = [0u8; 5];
    getrandom::fill(&mut random).map_err(|e| bad(format!("no randomness: {e}")))?;
    store.write_with(|sql| {
        let row = sql.row(
            "SELECT token, \"user\" FROM srv_device WHERE id = $1 AND revoked = 0",
            &[device.into()],
        )?;
        let Some(r) = row else {
            return Err(HubError::NotFound(format!(
                "no active device '{device}' (unknown, or revoked)"
            )));
        };
        let Some(hash) = r.opt_text(0)? else {
            return Err(bad(format!(
                "device {device} is signed out: signing in again renews its lease, no code is needed"
            )));
        };
        let user = r.text(1)?;
        let code = desk_protocol::unlock::make(&hash, device, random, days);
        let days = days.clamp(1, desk_protocol::unlock::MAX_DAYS);
        audit(
            sql,
            Some(&user),
            Some(device),
            "unlock-code",
            &format!("a one-time unlock code for {days} days issued"),
        )?;
        Ok(code)
    })
}

/// Keeps the public key (hex) `device` signs its hand-carried bundles with. Audited when it
/// changes.
pub fn set_device_key(
    store: &mut dyn Tables,
    s: &Session,
    public_key: &str,
) -> Result<(), HubError> {
    let ok = public_key.len() == 64 && public_key.bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(bad("a device's bundle key is 32 bytes in hex".into()));
    }
    let key = public_key.to_ascii_lowercase();
    store.write_with(|sql| {
        let n = sql.exec(
            "UPDATE srv_device SET sign_key = $2 WHERE id = $1 \
             AND (sign_key IS NULL OR sign_key != $2)",
            &[s.device.as_str().into(), key.as_str().into()],
        )?;
        if n > 0 {
            audit(
                sql,
                Some(&s.who.user),
                Some(&s.device),
                "bundle-key",
                "the key its hand-carried bundles are signed with",
            )?;
        }
        Ok(())
    })
}

/// Checks a bearer token.
pub fn authenticate(store: &dyn Tables, token: &str) -> Result<Session, HubError> {
    let row = store.read_with(|sql| {
        sql.row(
            "SELECT d.id, d.\"user\", d.expires, d.revoked, d.rescope, u.role, u.disabled \
             FROM srv_device d JOIN srv_user u ON u.name = d.\"user\" WHERE d.token = $1",
            &[token_hash(token).into()],
        )?
        .map(|r| {
            Ok((
                r.text(0)?,
                r.text(1)?,
                r.int(2)?,
                r.flag(3)?,
                r.flag(4)?,
                r.text(5)?,
                r.flag(6)?,
            ))
        })
        .transpose()
    })?;
    let Some((device, user, expires, revoked, rescope, role, disabled)) = row else {
        return Err(HubError::Denied(
            Denied::Unknown,
            Denied::Unknown.message().into(),
        ));
    };
    if revoked || disabled {
        return Err(HubError::Denied(
            Denied::Revoked,
            Denied::Revoked.message().into(),
        ));
    }
    if expires < now_secs() {
        return Err(HubError::Denied(
            Denied::Expired,
            Denied::Expired.message().into(),
        ));
    }
    Ok(Session {
        device,
        who: Principal {
            user,
            role: Role::parse(&role).map_err(bad)?,
        },
        rescope,
    })
}

/// Whether a device must pull again from zero (its user's role changed).
pub(crate) fn clear_rescope(sql: &mut dyn Sql, device: &str) -> Result<(), HubError> {
    sql.exec(
        "UPDATE srv_device SET rescope = 0, last_seen = $2 WHERE id = $1",
        &[device.into(), now_secs().into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod verify_tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Argon2 verifications run on this thread.
        pub(super) static ARGON2_RUNS: Cell<usize> = const { Cell::new(0) };
    }

    fn runs() -> usize {
        ARGON2_RUNS.with(Cell::get)
    }

    #[test]
    fn an_unknown_user_costs_an_argon2_check_like_a_known_one() {
        let hash = hash_password("the right password").expect("hash");
        let known: Credentials = (hash, "partner".into(), false);
        let before = runs();
        assert!(verify(Some(&known), "the right password"));
        assert!(!verify(Some(&known), "a wrong password"));
        assert_eq!(runs() - before, 2);
        // Unknown: the dummy hash is checked (one argon2 run), and never matches.
        let before = runs();
        assert!(!verify(None, "the right password"));
        assert!(!verify(None, ""));
        assert_eq!(runs() - before, 2);
        assert!(PasswordHash::new(dummy_hash()).is_ok(), "{}", dummy_hash());
        assert_eq!(
            PasswordHash::new(dummy_hash()).map(|h| h.algorithm.to_string()),
            PasswordHash::new(&known.0).map(|h| h.algorithm.to_string())
        );
    }

    #[test]
    fn audit_text_is_clipped() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("ééééé", 3), "ééé…");
        assert_eq!(
            clip(&"x".repeat(5000), AUDIT_DETAIL_MAX).chars().count(),
            1001
        );
    }
}
