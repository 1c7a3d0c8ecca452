//! The app lock: a PIN (or passphrase) the user chose, which the desktop app asks for before it
//! opens the replica again after locking, and at start. It is kept as an argon2id hash inside
//! the encrypted replica (a local setting, never synced), never the key itself, so a thief who
//! edits files beside the replica cannot remove it; wrong tries are counted there too, and from
//! the third on each one waits longer than the last ([`delay_after`]), across restarts.
//!
//! What it does not do: stop someone who has the unlocked OS session *and* reads the replica's
//! key out of the OS keychain with other tools. A replica protected by a passphrase has no such
//! gap (the passphrase is asked for as before); the `desk` CLI is unaffected.

use crate::{KeyError, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use desk_core::Replica;

const PIN: &str = "lock.pin";
const FAILURES: &str = "lock.failures";
const RETRY_AT: &str = "lock.retry_at_ms";
const IDLE: &str = "lock.idle_minutes";

/// Minutes without use after which the app locks, unless the user chose otherwise.
pub const DEFAULT_IDLE_MINUTES: u32 = 10;
/// The idle times the user may choose from (minutes).
pub const IDLE_MINUTES: std::ops::RangeInclusive<u32> = 1..=240;
/// The shortest and longest PIN or passphrase accepted (characters).
pub const PIN_MIN: usize = 4;
pub const PIN_MAX: usize = 256;
/// Wrong tries allowed before any wait.
pub const FREE_TRIES: u32 = 2;
/// The longest wait between tries (seconds).
pub const MAX_DELAY_SECS: u64 = 15 * 60;

/// What the app shows and enforces, from the replica's settings.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockPolicy {
    /// Whether a PIN is set (without one, the app cannot lock itself).
    pub pin_set: bool,
    pub idle_minutes: u32,
}

/// The wait before the next try after `failures` wrong ones in a row: none for the first
/// [`FREE_TRIES`], then 5 s, doubling, at most [`MAX_DELAY_SECS`].
pub fn delay_after(failures: u32) -> u64 {
    if failures <= FREE_TRIES {
        return 0;
    }
    let doublings = (failures - FREE_TRIES - 1).min(16);
    (5u64 << doublings).min(MAX_DELAY_SECS)
}

/// The replica's lock policy.
pub fn policy(r: &Replica) -> Result<LockPolicy> {
    let idle = r
        .setting(IDLE)?
        .and_then(|m| m.parse().ok())
        .filter(|m| IDLE_MINUTES.contains(m))
        .unwrap_or(DEFAULT_IDLE_MINUTES);
    Ok(LockPolicy {
        pin_set: r.setting(PIN)?.is_some(),
        idle_minutes: idle,
    })
}

/// Sets the idle time (minutes, within [`IDLE_MINUTES`]).
pub fn set_idle_minutes(r: &mut Replica, minutes: u32) -> Result<LockPolicy> {
    if !IDLE_MINUTES.contains(&minutes) {
        return Err(KeyError::Pin {
            field: "idle_minutes",
            message: format!(
                "the app can lock after {} to {} minutes without use, not {minutes}",
                IDLE_MINUTES.start(),
                IDLE_MINUTES.end()
            ),
            wait_secs: 0,
        });
    }
    r.set_setting(IDLE, Some(&minutes.to_string()))?;
    policy(r)
}

/// Sets, changes or (with `new` None) removes the PIN. When one is set, `current` must be it
/// (the wrong one counts as a wrong try, as at the lock screen).
pub fn set_pin(
    r: &mut Replica,
    current: Option<&str>,
    new: Option<&str>,
    now_ms: u64,
) -> Result<LockPolicy> {
    if r.setting(PIN)?.is_some() {
        check(r, current, now_ms).map_err(|e| match e {
            KeyError::Pin {
                message, wait_secs, ..
            } => KeyError::Pin {
                field: "current",
                message,
                wait_secs,
            },
            other => other,
        })?;
    }
    match new {
        Some(pin) => {
            let n = pin.chars().count();
            if !(PIN_MIN..=PIN_MAX).contains(&n) || pin.trim() != pin {
                return Err(KeyError::Pin {
                    field: "pin",
                    message: format!(
                        "a PIN has {PIN_MIN} to {PIN_MAX} characters, with no space at either end"
                    ),
                    wait_secs: 0,
                });
            }
            let hash = hash(pin)?;
            r.set_setting(PIN, Some(&hash))?;
        }
        None => r.set_setting(PIN, None)?,
    }
    r.set_setting(FAILURES, None)?;
    r.set_setting(RETRY_AT, None)?;
    policy(r)
}

fn hash(pin: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| KeyError::NoKeychain(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| KeyError::BadMeta {
        path: "lock".into(),
        message: e.to_string(),
    })?;
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| KeyError::BadMeta {
            path: "lock".into(),
            message: e.to_string(),
        })
}

/// Lets the app past the lock: Ok when no PIN is set or `pin` is it. A wrong or missing PIN
/// is refused (missing costs no try); a wrong one is counted, and a try before the wait after
/// the last wrong one is refused unchecked. `now_ms` is the wall clock (ms since 1970).
pub fn check(r: &mut Replica, pin: Option<&str>, now_ms: u64) -> Result<()> {
    let Some(stored) = r.setting(PIN)? else {
        return Ok(());
    };
    let Some(pin) = pin.filter(|p| !p.is_empty()) else {
        return Err(KeyError::Pin {
            field: "pin",
            message: "the app is locked: enter your PIN".into(),
            wait_secs: 0,
        });
    };
    let retry_at: u64 = r
        .setting(RETRY_AT)?
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    if now_ms < retry_at {
        let wait = (retry_at - now_ms).div_ceil(1000);
        return Err(KeyError::Pin {
            field: "pin",
            message: format!("too many wrong tries: wait {wait} s before the next"),
            wait_secs: wait,
        });
    }
    let right = PasswordHash::new(&stored)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false);
    if right {
        r.set_setting(FAILURES, None)?;
        r.set_setting(RETRY_AT, None)?;
        return Ok(());
    }
    let failures = r
        .setting(FAILURES)?
        .and_then(|f| f.parse::<u32>().ok())
        .unwrap_or(0)
        .saturating_add(1);
    let wait = delay_after(failures);
    r.set_setting(FAILURES, Some(&failures.to_string()))?;
    r.set_setting(RETRY_AT, Some(&(now_ms + wait * 1000).to_string()))?;
    Err(KeyError::Pin {
        field: "pin",
        message: if wait == 0 {
            "that is not the PIN".into()
        } else {
            format!("that is not the PIN; wait {wait} s before the next try")
        },
        wait_secs: wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use desk_core::Key;

    fn replica() -> (tempfile::TempDir, Replica) {
        let dir = tempfile::tempdir().unwrap();
        let r = Replica::init(&dir.path().join("r.db"), &Key::Passphrase("p".into())).unwrap();
        (dir, r)
    }

    fn wait_of(e: KeyError) -> (String, u64) {
        match e {
            KeyError::Pin {
                field, wait_secs, ..
            } => (field.to_string(), wait_secs),
            other => panic!("not a PIN error: {other}"),
        }
    }

    #[test]
    fn delays_grow_after_the_free_tries_and_stop_growing() {
        let waits: Vec<u64> = (0..8).map(delay_after).collect();
        assert_eq!(waits, vec![0, 0, 0, 5, 10, 20, 40, 80]);
        assert_eq!(delay_after(40), MAX_DELAY_SECS);
        assert_eq!(delay_after(u32::MAX), MAX_DELAY_SECS);
    }

    #[test]
    fn no_pin_lets_anyone_past_and_a_set_one_is_needed() {
        let (_d, mut r) = replica();
        check(&mut r, None, 0).unwrap();
        assert!(!policy(&r).unwrap().pin_set);
        set_pin(&mut r, None, Some("4821"), 0).unwrap();
        assert!(policy(&r).unwrap().pin_set);
        // Stored as an argon2id hash, never the PIN.
        let stored = r.setting(PIN).unwrap().unwrap();
        assert!(stored.starts_with("$argon2id$") && !stored.contains("4821"));
        assert_eq!(
            wait_of(check(&mut r, None, 0).unwrap_err()),
            ("pin".into(), 0)
        );
        check(&mut r, Some("4821"), 0).unwrap();
    }

    #[test]
    fn wrong_tries_wait_longer_and_longer_and_the_right_one_resets() {
        let (_d, mut r) = replica();
        set_pin(&mut r, None, Some("correct horse"), 0).unwrap();
        let mut now = 1_000_000;
        assert_eq!(wait_of(check(&mut r, Some("x1"), now).unwrap_err()).1, 0);
        assert_eq!(wait_of(check(&mut r, Some("x2"), now).unwrap_err()).1, 0);
        assert_eq!(wait_of(check(&mut r, Some("x3"), now).unwrap_err()).1, 5);
        // Within the wait even the right PIN is refused unchecked, and costs no try.
        let (_, left) = wait_of(check(&mut r, Some("correct horse"), now + 1_000).unwrap_err());
        assert_eq!(left, 4);
        now += 5_000;
        assert_eq!(wait_of(check(&mut r, Some("x4"), now).unwrap_err()).1, 10);
        now += 10_000;
        check(&mut r, Some("correct horse"), now).unwrap();
        // Reset: two free tries again.
        assert_eq!(wait_of(check(&mut r, Some("x"), now).unwrap_err()).1, 0);
    }

    #[test]
    fn the_count_survives_closing_the_replica() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let key = Key::Passphrase("p".into());
        {
            let mut r = Replica::init(&path, &key).unwrap();
            set_pin(&mut r, None, Some("2468"), 0).unwrap();
            for _ in 0..3 {
                let _ = check(&mut r, Some("0000"), 0);
            }
        }
        let mut r = Replica::open(&path, &key).unwrap();
        assert_eq!(wait_of(check(&mut r, Some("2468"), 0).unwrap_err()).1, 5);
        check(&mut r, Some("2468"), 5_000).unwrap();
    }

    #[test]
    fn changing_or_removing_needs_the_current_pin_and_bad_ones_are_refused() {
        let (_d, mut r) = replica();
        assert_eq!(
            wait_of(set_pin(&mut r, None, Some("12"), 0).unwrap_err()).0,
            "pin"
        );
        assert_eq!(
            wait_of(set_pin(&mut r, None, Some(" 1234"), 0).unwrap_err()).0,
            "pin"
        );
        assert!(!policy(&r).unwrap().pin_set);
        set_pin(&mut r, None, Some("1234"), 0).unwrap();
        assert_eq!(
            wait_of(set_pin(&mut r, Some("9999"), None, 0).unwrap_err()).0,
            "current"
        );
        assert!(policy(&r).unwrap().pin_set);
        set_pin(&mut r, Some("1234"), Some("5678"), 0).unwrap();
        check(&mut r, Some("5678"), 0).unwrap();
        set_pin(&mut r, Some("5678"), None, 0).unwrap();
        check(&mut r, None, 0).unwrap();
    }

    #[test]
    fn idle_time_has_a_default_and_bounds() {
        let (_d, mut r) = replica();
        assert_eq!(policy(&r).unwrap().idle_minutes, DEFAULT_IDLE_MINUTES);
        assert_eq!(set_idle_minutes(&mut r, 30).unwrap().idle_minutes, 30);
        assert_eq!(
            wait_of(set_idle_minutes(&mut r, 0).unwrap_err()).0,
            "idle_minutes"
        );
        assert_eq!(policy(&r).unwrap().idle_minutes, 30);
    }
}
