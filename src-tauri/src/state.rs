//! What the shell holds between commands: where the replica is, and the open replica.

use desk_core::Replica;
use desk_sync::background::SyncEvent;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The background sync loop, when one runs.
#[derive(Default)]
pub struct SyncLoop {
    pub running: bool,
    pub wake: Option<mpsc::Sender<()>>,
    pub stop: Arc<AtomicBool>,
    /// What it last reported (the UI asks on start; later ones arrive as `sync` events).
    pub last: Option<SyncEvent>,
}

pub struct AppState {
    pub data_dir: PathBuf,
    /// A passphrase from the environment (`DESK_PASSPHRASE`), for machines without a keychain.
    pub env_passphrase: Option<String>,
    replica: Mutex<Option<Replica>>,
    pub sync: Mutex<SyncLoop>,
    /// When the shell began (start-up diagnostics: see `commands::interactive`).
    pub started: std::time::Instant,
    /// The wall clock (ms since 1970): the app lock's waits and the offline lease count by it
    /// (a test gives its own).
    clock: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// When the offline lease of the open replica ends, if it has one (checked before every
    /// record command; noted when the replica opens and after each sync round or bundle).
    lease_end: Mutex<Option<u64>>,
    /// Commands that have taken the replica (see [`AppState::rest_if_idle`]).
    uses: AtomicU64,
}

/// How long the replica is left alone — no command takes it, the sync writes nothing to it —
/// before it gives back the memory SQLite keeps for speed ([`Replica::rest`]) and the C
/// allocator hands it to the OS: ~9 MB of the app's after a long list has been scrolled,
/// read again from the file on the next view.
pub const REST_AFTER: Duration = Duration::from_secs(20);
/// How often the shell looks (see `lib.rs`).
pub const REST_CHECK: Duration = Duration::from_secs(5);

/// When the open replica rests: once per quiet spell of [`REST_AFTER`].
#[derive(Debug, Default)]
pub struct Rest {
    seen: Option<(u64, u64)>,
    since: Option<Instant>,
    rested: bool,
}

impl Rest {
    /// `stamp`: commands that took the replica and rows written to it so far. True when the
    /// replica should rest now: the stamp has not moved for [`REST_AFTER`] and it has not
    /// rested since it last moved.
    pub fn tick(&mut self, stamp: (u64, u64), now: Instant) -> bool {
        match self.since {
            Some(since) if self.seen == Some(stamp) => {
                if self.rested || now.saturating_duration_since(since) < REST_AFTER {
                    return false;
                }
                self.rested = true;
                true
            }
            _ => {
                self.seen = Some(stamp);
                self.since = Some(now);
                self.rested = false;
                false
            }
        }
    }
}

impl AppState {
    pub fn new(data_dir: PathBuf, env_passphrase: Option<String>) -> AppState {
        AppState {
            data_dir,
            env_passphrase,
            replica: Mutex::new(None),
            sync: Mutex::new(SyncLoop::default()),
            started: std::time::Instant::now(),
            clock: Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            }),
            lease_end: Mutex::new(None),
            uses: AtomicU64::new(0),
        }
    }

    /// The same with another clock (tests of the offline lease).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> AppState {
        self.clock = Arc::new(clock);
        self
    }

    /// When the open replica's offline lease ends, as last noted.
    pub fn lease_end(&self) -> Option<u64> {
        *self.lease_end.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes when the open replica's offline lease ends (none: no replica open, or no lease).
    pub fn note_lease(&self) {
        let end = self
            .replica()
            .as_ref()
            .and_then(|r| desk_sync::lease::deadline(r).ok().flatten());
        *self.lease_end.lock().unwrap_or_else(|p| p.into_inner()) = end;
    }

    /// Now, on the app's clock (ms since 1970).
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// `DESK_DATA_DIR` (default: the OS data dir, as the `desk` CLI) and `DESK_PASSPHRASE`.
    pub fn from_env() -> AppState {
        let data_dir = std::env::var_os("DESK_DATA_DIR")
            .map(PathBuf::from)
            .or_else(desk_keys::default_data_dir)
            .unwrap_or_else(|| PathBuf::from("secretariat-desk"));
        let pass = std::env::var("DESK_PASSPHRASE")
            .ok()
            .filter(|p| !p.is_empty());
        AppState::new(data_dir, pass)
    }

    /// The replica's lock itself (the sync loop takes it only between network calls).
    pub fn replica_lock(&self) -> &Mutex<Option<Replica>> {
        &self.replica
    }

    pub fn sync_loop(&self) -> MutexGuard<'_, SyncLoop> {
        self.sync.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets the open replica give back its caches when it has been left alone for
    /// [`REST_AFTER`] (called every [`REST_CHECK`]; a replica in use is not waited for).
    pub fn rest_if_idle(&self, rest: &mut Rest) {
        let Ok(guard) = self.replica.try_lock() else {
            return;
        };
        let Some(r) = guard.as_ref() else {
            return;
        };
        if rest.tick(
            (self.uses.load(Ordering::Relaxed), r.writes()),
            Instant::now(),
        ) {
            // Nothing is lost if it cannot: the caches stay.
            let _ = r.rest();
            drop(guard);
            // What SQLite freed lies among other allocations: glibc keeps it until asked.
            desk_trim::give_back_free_memory();
        }
    }

    /// The open replica, held for one command. A command that logged a change (an edit, an
    /// undo, a restore…) wakes the background sync when it lets go, so the change goes to the
    /// server at once rather than after the loop's wait for news. Bookkeeping (the lease's
    /// renewal after a round) does not: the loop would wake itself.
    pub fn replica(&self) -> ReplicaGuard<'_> {
        // A panic while holding the lock leaves the replica as SQLite left it (transactions
        // roll back), so the guard is still safe to use.
        let guard = self.replica.lock().unwrap_or_else(|p| p.into_inner());
        self.uses.fetch_add(1, Ordering::Relaxed);
        let logged = guard.as_ref().map(Replica::local_seq);
        ReplicaGuard {
            guard: Some(guard),
            logged,
            sync: &self.sync,
            empty: None,
        }
    }
}

/// See [`AppState::replica`].
pub struct ReplicaGuard<'a> {
    guard: Option<MutexGuard<'a, Option<Replica>>>,
    /// The last change this device had logged when the command took the replica.
    logged: Option<i64>,
    sync: &'a Mutex<SyncLoop>,
    empty: Option<Replica>,
}

impl std::ops::Deref for ReplicaGuard<'_> {
    type Target = Option<Replica>;
    fn deref(&self) -> &Option<Replica> {
        // The guard is there until dropped; `empty` is never seen.
        self.guard.as_deref().unwrap_or(&self.empty)
    }
}

impl std::ops::DerefMut for ReplicaGuard<'_> {
    fn deref_mut(&mut self) -> &mut Option<Replica> {
        match self.guard.as_deref_mut() {
            Some(g) => g,
            None => &mut self.empty,
        }
    }
}

impl Drop for ReplicaGuard<'_> {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        let wrote = match (guard.as_ref(), self.logged) {
            (Some(r), Some(before)) => r.local_seq() != before,
            // Opened here: nothing of the user's written yet.
            _ => false,
        };
        // The replica first, then the loop's lock (never both held).
        drop(guard);
        if wrote {
            let l = self.sync.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(w) = &l.wake {
                let _ = w.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_that_logs_a_change_wakes_the_sync_and_bookkeeping_does_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = AppState::new(dir.path().to_path_buf(), None);
        let r = Replica::init(&dir.path().join("r.db"), &desk_core::Key::Raw([3u8; 32]))
            .expect("replica");
        *state.replica() = Some(r);
        let (tx, woken) = mpsc::channel();
        state.sync_loop().wake = Some(tx);
        let mut guard = state.replica();
        let r = guard.as_mut().expect("open");
        // The lease's renewal after a round, a read: no change to send.
        r.set_setting("sync.test", Some("1")).expect("setting");
        r.count(desk_core::Entity::Contact).expect("count");
        drop(guard);
        assert!(woken.try_recv().is_err(), "bookkeeping woke the loop");
        let mut f = desk_core::Fields::new();
        f.insert("name".into(), serde_json::json!("Chanthavong Saysana"));
        let id = state
            .replica()
            .as_mut()
            .expect("open")
            .create(desk_core::Entity::Contact, &f)
            .expect("create")
            .id;
        assert!(woken.try_recv().is_ok(), "an edit wakes the loop");
        state
            .replica()
            .as_mut()
            .expect("open")
            .delete(desk_core::Entity::Contact, &id)
            .expect("delete");
        assert!(woken.try_recv().is_ok(), "so does a delete");
        assert!(woken.try_recv().is_err(), "once per command");
    }

    #[test]
    fn the_replica_rests_once_per_quiet_spell() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut rest = Rest::default();
        assert!(!rest.tick((1, 10), at(0)), "first look: the spell starts");
        assert!(!rest.tick((1, 10), at(19)));
        assert!(rest.tick((1, 10), at(20)), "left alone for REST_AFTER");
        assert!(!rest.tick((1, 10), at(60)), "once per spell");
        // A command, then a sync round writing, each start a new spell.
        assert!(!rest.tick((2, 10), at(61)));
        assert!(!rest.tick((2, 12), at(75)));
        assert!(!rest.tick((2, 12), at(94)));
        assert!(rest.tick((2, 12), at(95)));
    }
}
