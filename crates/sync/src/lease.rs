//! The offline lease on the device: the server's policy says how many days a device may go
//! without reaching it (learnt at each sync); past that the desktop app keeps the replica
//! locked until a sync gets through or a one-time unlock code (`desk_protocol::unlock`) is
//! entered. Nothing is lost: the outbox stays and is sent by the next sync. Every function
//! takes the time (ms since 1970), so the app's clock — and a test's — is the one that counts.

use crate::account;
use crate::SyncError;
use desk_core::Replica;
use desk_keys::SecretStore;
use serde::Serialize;

const DAYS: &str = "lease.days";
const CONTACT: &str = "lease.contact";
const UNTIL: &str = "lease.unlocked_until";
const USED: &str = "lease.codes_used";
/// How many used codes are remembered (a code is refused once seen).
const USED_KEPT: usize = 200;

pub const DAY_MS: u64 = 86_400_000;
/// From this many days before the end, the app warns.
pub const WARN_DAYS: u64 = 3;

/// Where this device stands.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Lease {
    /// No lease (the server sets none, or this replica has never synced).
    None,
    Ok {
        days_left: u32,
        days: u32,
    },
    /// Fewer than [`WARN_DAYS`] left: reach the server soon.
    Warning {
        hours_left: u32,
        days: u32,
    },
    /// Past it: the app locks until a sync gets through or an unlock code is entered.
    Expired {
        days_over: u32,
        days: u32,
    },
}

fn get(r: &Replica, name: &str) -> Result<Option<u64>, SyncError> {
    Ok(r.setting(name)?.and_then(|v| v.parse().ok()))
}

/// Keeps the server's policy (from a sync round).
pub fn set_policy(r: &mut Replica, days: Option<u32>) -> Result<(), SyncError> {
    let v = days.map(|d| d.to_string());
    Ok(r.set_setting(DAYS, v.as_deref())?)
}

/// A sync round reached the server at `now`: the lease starts again.
pub fn contacted(r: &mut Replica, now: u64) -> Result<(), SyncError> {
    r.set_setting(CONTACT, Some(&now.to_string()))?;
    Ok(r.set_setting(UNTIL, None)?)
}

/// When the lease ends (ms since 1970), if there is one.
pub fn deadline(r: &Replica) -> Result<Option<u64>, SyncError> {
    let (Some(days), Some(contact)) = (get(r, DAYS)?, get(r, CONTACT)?) else {
        return Ok(None);
    };
    let by_contact = contact.saturating_add(days.saturating_mul(DAY_MS));
    Ok(Some(by_contact.max(get(r, UNTIL)?.unwrap_or(0))))
}

/// Where the lease stands at `now`.
pub fn state(r: &Replica, now: u64) -> Result<Lease, SyncError> {
    let (Some(days), Some(end)) = (get(r, DAYS)?, deadline(r)?) else {
        return Ok(Lease::None);
    };
    let days = days.min(u64::from(u32::MAX)) as u32;
    Ok(if now >= end {
        Lease::Expired {
            days_over: ((now - end) / DAY_MS) as u32,
            days,
        }
    } else if end - now < WARN_DAYS * DAY_MS {
        Lease::Warning {
            hours_left: (end - now).div_ceil(3_600_000) as u32,
            days,
        }
    } else {
        Lease::Ok {
            days_left: ((end - now) / DAY_MS) as u32,
            days,
        }
    })
}

/// Enters a one-time unlock code: checked against this device's sign-in, refused if used
/// before; extends the lease by the days it grants from `now`. Returns those days.
pub fn unlock(
    r: &mut Replica,
    keychain: &dyn SecretStore,
    code: &str,
    now: u64,
) -> Result<u32, SyncError> {
    let token = account::token(r, keychain)?.ok_or_else(|| {
        SyncError::Invalid(
            "this computer is not signed in to a sync server: there is no lease to unlock".into(),
        )
    })?;
    let granted =
        desk_protocol::unlock::check(&token, r.device_id(), code).map_err(SyncError::Invalid)?;
    let used = r.setting(USED)?.unwrap_or_default();
    if used.split(' ').any(|n| n == granted.nonce) {
        return Err(SyncError::Invalid(
            "this unlock code has been used already: ask for a new one".into(),
        ));
    }
    let mut kept: Vec<&str> = used.split(' ').filter(|n| !n.is_empty()).collect();
    kept.push(&granted.nonce);
    let from = kept.len().saturating_sub(USED_KEPT);
    let used = kept[from..].join(" ");
    r.set_setting(USED, Some(&used))?;
    let until = now.saturating_add(u64::from(granted.days) * DAY_MS);
    r.set_setting(UNTIL, Some(&until.to_string()))?;
    Ok(granted.days)
}

#[cfg(test)]
mod tests {
    use super::*;

    use desk_keys::InMemory as Memory;

    const T0: u64 = 1_796_600_000_000;

    #[test]
    fn the_lease_runs_from_the_last_contact_warns_then_expires_and_a_code_extends_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Replica::init(&dir.path().join("r.db"), &desk_core::Key::Raw([4; 32])).unwrap();
        let kc = Memory::default();
        assert_eq!(state(&r, T0).unwrap(), Lease::None);
        set_policy(&mut r, Some(30)).unwrap();
        assert_eq!(
            state(&r, T0).unwrap(),
            Lease::None,
            "never synced: nothing to count from"
        );
        contacted(&mut r, T0).unwrap();
        assert_eq!(
            state(&r, T0 + DAY_MS).unwrap(),
            Lease::Ok {
                days_left: 29,
                days: 30
            }
        );
        assert_eq!(
            state(&r, T0 + 28 * DAY_MS).unwrap(),
            Lease::Warning {
                hours_left: 48,
                days: 30
            }
        );
        let late = T0 + 34 * DAY_MS + 5;
        assert_eq!(
            state(&r, late).unwrap(),
            Lease::Expired {
                days_over: 4,
                days: 30
            }
        );

        // A code needs a sign-in; then works once, for this device, for its days.
        let dev = r.device_id().to_string();
        let code =
            desk_protocol::unlock::make(&desk_protocol::unlock::token_hash("tok"), &dev, [9; 5], 5);
        assert!(unlock(&mut r, &kc, &code, late).is_err(), "not signed in");
        desk_keys::sync_token::store(&mut r, &kc, "tok").unwrap();
        assert_eq!(unlock(&mut r, &kc, &code, late).unwrap(), 5);
        assert_eq!(
            state(&r, late + DAY_MS).unwrap(),
            Lease::Ok {
                days_left: 4,
                days: 30
            }
        );
        let again = unlock(&mut r, &kc, &code, late).unwrap_err();
        assert!(again.to_string().contains("used already"), "{again}");
        let other = desk_protocol::unlock::make(
            &desk_protocol::unlock::token_hash("tok"),
            "another-laptop",
            [8; 5],
            5,
        );
        assert!(unlock(&mut r, &kc, &other, late).is_err());
        assert_eq!(
            state(&r, late + 6 * DAY_MS).unwrap(),
            Lease::Expired {
                days_over: 1,
                days: 30
            }
        );
        // Reaching the server starts the lease again; lifting the policy ends it.
        contacted(&mut r, late + 6 * DAY_MS).unwrap();
        assert!(matches!(
            state(&r, late + 7 * DAY_MS).unwrap(),
            Lease::Ok { days_left: 29, .. }
        ));
        set_policy(&mut r, None).unwrap();
        assert_eq!(state(&r, late + 90 * DAY_MS).unwrap(), Lease::None);
    }
}
