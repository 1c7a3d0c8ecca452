//! Sign-in throttling: failed sign-ins are counted per user name and per client address; past
//! a threshold each further attempt must wait out a lockout that doubles per failure up to a
//! cap. A locked-out attempt is answered at once (429): no password is checked, so it tells
//! nothing. A success clears both counts. Memory is bounded: at most `MAX_ENTRIES` of each.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How failed sign-ins are throttled (config keys `login_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed sign-ins for one user name before its lockouts begin.
    pub user_failures: u32,
    /// Failed sign-ins from one client address (any user names) before its lockouts begin.
    pub client_failures: u32,
    /// The first lockout; each further failure doubles it…
    pub lockout: Duration,
    /// …up to this.
    pub lockout_max: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            user_failures: 5,
            client_failures: 20,
            lockout: Duration::from_secs(5),
            lockout_max: Duration::from_secs(15 * 60),
        }
    }
}

/// Entries kept per table (user names, client addresses); beyond it the stalest go.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

struct Table<K> {
    threshold: u32,
    entries: HashMap<K, Entry>,
}

/// When an entry's lockout ends, if it has one.
fn locked_until(threshold: u32, e: &Entry, l: &LoginLimits) -> Option<Instant> {
    let over = e.failures.checked_sub(threshold)?;
    let factor = 1u32.checked_shl(over.min(30)).unwrap_or(u32::MAX);
    let wait = l.lockout.saturating_mul(factor).min(l.lockout_max);
    Some(e.last + wait)
}

/// An entry is forgotten once it has been quiet (and unlocked) for the longest lockout.
fn stale(threshold: u32, e: &Entry, now: Instant, l: &LoginLimits) -> bool {
    let free = locked_until(threshold, e, l).unwrap_or(e.last);
    now.saturating_duration_since(free) > l.lockout_max
}

impl<K: Hash + Eq + Clone> Table<K> {
    /// How long `key` must still wait, if it is locked out.
    fn wait(&self, key: &K, now: Instant, l: &LoginLimits) -> Option<Duration> {
        let e = self.entries.get(key)?;
        let until = locked_until(self.threshold, e, l)?;
        (until > now).then(|| until - now)
    }

    fn fail(&mut self, key: &K, now: Instant, l: &LoginLimits) {
        let threshold = self.threshold;
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, e| !stale(threshold, e, now, l));
            if self.entries.len() >= MAX_ENTRIES {
                let oldest = self
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    self.entries.remove(&k);
                }
            }
        }
        let e = self.entries.entry(key.clone()).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if stale(threshold, e, now, l) {
            e.failures = 0;
        }
        e.failures = e.failures.saturating_add(1);
        e.last = now;
    }
}

/// The throttle's state (one per server).
pub struct Throttle {
    limits: LoginLimits,
    inner: Mutex<(Table<String>, Table<IpAddr>)>,
}

/// What to do with a sign-in attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Check the password; the attempt already counts as a failure until [`Throttle::success`].
    Go,
    /// Locked out for this long: answer 429 without checking anything.
    Wait(Duration),
}

impl Throttle {
    pub fn new(limits: LoginLimits) -> Throttle {
        let users = Table {
            threshold: limits.user_failures,
            entries: HashMap::new(),
        };
        let clients = Table {
            threshold: limits.client_failures,
            entries: HashMap::new(),
        };
        Throttle {
            inner: Mutex::new((users, clients)),
            limits,
        }
    }

    /// Called before a password is checked. An attempt that goes ahead counts against its user
    /// name at once, so many guesses at one account sent together cannot all slip under the
    /// threshold; against its client address only once it has failed ([`Throttle::failed`]),
    /// so many people signing in at once behind one address (a proxy, an office) are not
    /// locked out for being many.
    pub fn attempt(&self, user: &str, client: IpAddr) -> Attempt {
        self.attempt_at(user, client, Instant::now())
    }

    fn attempt_at(&self, user: &str, client: IpAddr, now: Instant) -> Attempt {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (users, clients) = &mut *g;
        let user = user.to_string();
        let l = &self.limits;
        let wait = users.wait(&user, now, l).max(clients.wait(&client, now, l));
        if let Some(w) = wait {
            return Attempt::Wait(w);
        }
        users.fail(&user, now, l);
        Attempt::Go
    }

    /// The password was wrong (or the user unknown): the client address counts a failure.
    pub fn failed(&self, client: IpAddr) {
        self.failed_at(client, Instant::now());
    }

    fn failed_at(&self, client: IpAddr, now: Instant) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.1.fail(&client, now, &self.limits);
    }

    /// The password was right: both counts start again.
    pub fn success(&self, user: &str, client: IpAddr) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.0.entries.remove(user);
        g.1.entries.remove(&client);
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (g.0.entries.len(), g.1.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            user_failures: 3,
            client_failures: 5,
            lockout: Duration::from_secs(10),
            lockout_max: Duration::from_secs(60),
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn lockouts_double_up_to_the_cap_and_a_success_clears_them() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        let s = Duration::from_secs;
        for _ in 0..3 {
            assert_eq!(t.attempt_at("ann", A, t0), Attempt::Go);
        }
        assert_eq!(t.attempt_at("ann", B, t0), Attempt::Wait(s(10)));
        assert_eq!(t.attempt_at("ann", A, t0 + s(4)), Attempt::Wait(s(6)));
        // Another user from the same address is not held up by ann's lockout.
        assert_eq!(t.attempt_at("bob", A, t0), Attempt::Go);
        t.success("bob", A);
        // After the lockout: one more try, then twice as long, then capped.
        assert_eq!(t.attempt_at("ann", A, t0 + s(10)), Attempt::Go);
        assert_eq!(t.attempt_at("ann", A, t0 + s(11)), Attempt::Wait(s(19)));
        assert_eq!(t.attempt_at("ann", A, t0 + s(30)), Attempt::Go);
        assert_eq!(t.attempt_at("ann", A, t0 + s(30)), Attempt::Wait(s(40)));
        assert_eq!(t.attempt_at("ann", A, t0 + s(70)), Attempt::Go);
        assert_eq!(t.attempt_at("ann", A, t0 + s(70)), Attempt::Wait(s(60)));
        t.success("ann", A);
        assert_eq!(t.attempt_at("ann", A, t0 + s(70)), Attempt::Go);
    }

    #[test]
    fn one_address_guessing_many_names_is_locked_out() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(t.attempt_at(&format!("u{i}"), A, t0), Attempt::Go);
            t.failed_at(A, t0);
        }
        assert!(matches!(t.attempt_at("u9", A, t0), Attempt::Wait(_)));
        assert_eq!(t.attempt_at("u9", B, t0), Attempt::Go);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        for i in 0..(MAX_ENTRIES + 50) {
            let ip = IpAddr::V6(std::net::Ipv6Addr::from(i as u128));
            let at = t0 + Duration::from_millis(i as u64);
            let _ = t.attempt_at(&format!("user{i}"), ip, at);
            t.failed_at(ip, at);
        }
        assert_eq!(t.len(), (MAX_ENTRIES, MAX_ENTRIES));
        // The newest are kept, the oldest went.
        assert!(matches!(
            t.attempt_at(&format!("user{}", MAX_ENTRIES + 49), A, t0),
            Attempt::Go
        ));
    }
}
