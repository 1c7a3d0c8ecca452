//! Accounts on the sync server: users with a role and an argon2 password hash, devices signed
//! in with a bearer token (only its SHA-256 is stored), revocation, and the audit log. The
//! tables live in the hub's own encrypted store, beside the records.

use crate::access::{Principal, Role};
use crate::SyncError;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use desk_core::rusqlite::{self, params, OptionalExtension};
use desk_core::Replica;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

pub(crate) const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS srv_user (name TEXT PRIMARY KEY, password TEXT NOT NULL, \
  role TEXT NOT NULL, created INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srv_device (id TEXT PRIMARY KEY, user TEXT NOT NULL, \
  token TEXT UNIQUE, issued INTEGER NOT NULL, expires INTEGER NOT NULL, \
  revoked INTEGER NOT NULL DEFAULT 0, last_seen INTEGER, rescope INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS srv_audit (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, \
  user TEXT, device TEXT, action TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS srv_quarantine (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, \
  device TEXT NOT NULL, dev_seq INTEGER NOT NULL, entity TEXT NOT NULL, record TEXT NOT NULL, \
  reason TEXT NOT NULL, change TEXT NOT NULL, UNIQUE (device, dev_seq));
";

/// How long a token lasts without signing in again (local work never waits on it).
pub const TOKEN_DAYS: i64 = 30;

/// Why a request's token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No such token (never issued, or replaced by a newer sign-in).
    Unknown,
    Expired,
    /// The device (or its user) was revoked: the device wipes its replica.
    Revoked,
}

impl Denied {
    pub fn code(self) -> &'static str {
        match self {
            Denied::Unknown => "unauthenticated",
            Denied::Expired => "expired",
            Denied::Revoked => "revoked",
        }
    }
    pub fn message(self) -> &'static str {
        match self {
            Denied::Unknown => "not signed in (or signed in again elsewhere): run `desk login`",
            Denied::Expired => "the sign-in has expired: run `desk login` again",
            Denied::Revoked => "this device's access was revoked",
        }
    }
}

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
    hex(&Sha256::digest(token.as_bytes()))
}

fn bad(message: String) -> SyncError {
    SyncError::Invalid(message)
}

pub(crate) fn audit(
    tx: &rusqlite::Transaction<'_>,
    user: Option<&str>,
    device: Option<&str>,
    action: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO srv_audit (at, user, device, action, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![now_secs(), user, device, action, detail])?;
    Ok(())
}

fn check_name(name: &str) -> Result<(), SyncError> {
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

fn hash_password(password: &str) -> Result<String, SyncError> {
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
    store: &mut Replica,
    name: &str,
    password: &str,
    role: &Role,
) -> Result<(), SyncError> {
    check_name(name)?;
    let hash = hash_password(password)?;
    let role = role.as_string();
    store.with_transaction(|tx| {
        let old: Option<String> = tx
            .query_row("SELECT role FROM srv_user WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        tx.execute(
            "INSERT INTO srv_user (name, password, role, created) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (name) DO UPDATE SET password = excluded.password, role = excluded.role, \
             disabled = 0",
            params![name, hash, role, now_secs()],
        )?;
        if old.as_deref().is_some_and(|o| o != role) {
            tx.execute("UPDATE srv_device SET rescope = 1 WHERE user = ?1", [name])?;
        }
        let what = match old {
            Some(o) if o != role => format!("role {o} -> {role}; password set"),
            Some(_) => "password set".into(),
            None => format!("added with role {role}"),
        };
        audit(tx, Some(name), None, "user", &what)
    })?;
    Ok(())
}

/// Changes a user's role; their devices pull again from zero (records no longer in scope go).
pub fn set_role(store: &mut Replica, name: &str, role: &Role) -> Result<(), SyncError> {
    let role = role.as_string();
    let n = store.with_transaction(|tx| {
        let n = tx.execute(
            "UPDATE srv_user SET role = ?1 WHERE name = ?2",
            params![role, name],
        )?;
        if n > 0 {
            tx.execute("UPDATE srv_device SET rescope = 1 WHERE user = ?1", [name])?;
            audit(tx, Some(name), None, "role", &role)?;
        }
        Ok(n)
    })?;
    if n == 0 {
        return Err(bad(format!("no user named '{name}'")));
    }
    Ok(())
}

/// Disables a user and revokes every device of theirs.
pub fn disable_user(store: &mut Replica, name: &str) -> Result<usize, SyncError> {
    let (n, devices) = store.with_transaction(|tx| {
        let n = tx.execute("UPDATE srv_user SET disabled = 1 WHERE name = ?1", [name])?;
        let d = tx.execute("UPDATE srv_device SET revoked = 1 WHERE user = ?1", [name])?;
        if n > 0 {
            audit(
                tx,
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
    Ok(devices)
}

/// Revokes one device: its token stops working and on its next contact it wipes its replica.
pub fn revoke_device(store: &mut Replica, device: &str) -> Result<(), SyncError> {
    let n = store.with_transaction(|tx| {
        let n = tx.execute("UPDATE srv_device SET revoked = 1 WHERE id = ?1", [device])?;
        if n > 0 {
            audit(tx, None, Some(device), "revoke", "device revoked")?;
        }
        Ok(n)
    })?;
    if n == 0 {
        return Err(bad(format!("no device '{device}' has signed in")));
    }
    Ok(())
}

pub fn users(store: &Replica) -> Result<Vec<User>, SyncError> {
    let mut stmt = store.reader().prepare(
        "SELECT u.name, u.role, u.disabled, (SELECT count(*) FROM srv_device d \
         WHERE d.user = u.name AND d.revoked = 0) FROM srv_user u ORDER BY u.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(User {
            name: r.get(0)?,
            role: r.get(1)?,
            disabled: r.get(2)?,
            devices: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn devices(store: &Replica) -> Result<Vec<Device>, SyncError> {
    let mut stmt = store.reader().prepare(
        "SELECT id, user, expires, revoked, last_seen FROM srv_device ORDER BY user, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Device {
            id: r.get(0)?,
            user: r.get(1)?,
            expires: r.get(2)?,
            revoked: r.get(3)?,
            last_seen: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The audit log, newest first: (time, user, device, action, detail).
pub type AuditEntry = (i64, Option<String>, Option<String>, String, String);

pub fn audit_log(store: &Replica, limit: usize) -> Result<Vec<AuditEntry>, SyncError> {
    let mut stmt = store.reader().prepare(
        "SELECT at, user, device, action, detail FROM srv_audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
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
pub fn credentials(store: &Replica, user: &str) -> Result<Option<Credentials>, SyncError> {
    Ok(store
        .reader()
        .query_row(
            "SELECT password, role, disabled FROM srv_user WHERE name = ?1",
            [user],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// Checks a password against its argon2 hash (step two; deliberately slow, so a server runs
/// it without holding the store).
pub fn verify(credentials: Option<&Credentials>, password: &str) -> bool {
    credentials.is_some_and(|(hash, _, _)| {
        PasswordHash::new(hash).is_ok_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
    })
}

/// Step three: issues the device's token if the password was right (audits either way). A
/// revoked device stays revoked (a lost laptop that turns up gets a new replica).
pub fn issue(
    store: &mut Replica,
    user: &str,
    credentials: Option<Credentials>,
    verified: bool,
    device: &str,
) -> Result<Login, SyncError> {
    let Some((_, role, disabled)) = credentials.filter(|_| verified) else {
        store.with_transaction(|tx| audit(tx, Some(user), Some(device), "login", "refused"))?;
        return Err(SyncError::Denied(
            Denied::Unknown,
            "wrong user name or password".into(),
        ));
    };
    if disabled {
        return Err(SyncError::Denied(
            Denied::Revoked,
            "this user is disabled".into(),
        ));
    }
    let revoked: bool = store
        .reader()
        .query_row(
            "SELECT revoked FROM srv_device WHERE id = ?1",
            [device],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false);
    if revoked {
        return Err(SyncError::Denied(
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
    store.with_transaction(|tx| {
        let other: Option<String> = tx
            .query_row("SELECT user FROM srv_device WHERE id = ?1", [device], |r| {
                r.get(0)
            })
            .optional()?;
        // A device signed in by another user before starts again from zero as this one.
        let rescope = other.is_some_and(|o| o != user);
        tx.execute(
            "INSERT INTO srv_device (id, user, token, issued, expires, rescope) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET user = excluded.user, \
             token = excluded.token, issued = excluded.issued, expires = excluded.expires, \
             rescope = max(rescope, excluded.rescope)",
            params![device, user, hash, now_secs(), expires, rescope],
        )?;
        audit(tx, Some(user), Some(device), "login", "signed in")
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
    store: &mut Replica,
    user: &str,
    password: &str,
    device: &str,
) -> Result<Login, SyncError> {
    let c = credentials(store, user)?;
    let ok = verify(c.as_ref(), password);
    issue(store, user, c, ok, device)
}

/// Checks a bearer token.
pub fn authenticate(store: &Replica, token: &str) -> Result<Session, SyncError> {
    let row: Option<(String, String, i64, bool, bool, String, bool)> = store
        .reader()
        .query_row(
            "SELECT d.id, d.user, d.expires, d.revoked, d.rescope, u.role, u.disabled \
             FROM srv_device d JOIN srv_user u ON u.name = d.user WHERE d.token = ?1",
            [token_hash(token)],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    let Some((device, user, expires, revoked, rescope, role, disabled)) = row else {
        return Err(SyncError::Denied(
            Denied::Unknown,
            Denied::Unknown.message().into(),
        ));
    };
    if revoked || disabled {
        return Err(SyncError::Denied(
            Denied::Revoked,
            Denied::Revoked.message().into(),
        ));
    }
    if expires < now_secs() {
        return Err(SyncError::Denied(
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
pub(crate) fn clear_rescope(tx: &rusqlite::Transaction<'_>, device: &str) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE srv_device SET rescope = 0, last_seen = ?2 WHERE id = ?1",
        params![device, now_secs()],
    )?;
    Ok(())
}
