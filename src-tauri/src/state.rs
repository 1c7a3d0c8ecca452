//! What the shell holds between commands: where the replica is, and the open replica.

use desk_core::Replica;
use desk_sync::background::SyncEvent;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

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

    /// The open replica, held for one command. A command that logged a change (an edit, an
    /// undo, a restore…) wakes the background sync when it lets go, so the change goes to the
    /// server at once rather than after the loop's wait for news. Bookkeeping (the lease's
    /// renewal after a round) does not: the loop would wake itself.
    pub fn replica(&self) -> ReplicaGuard<'_> {
        // A panic while holding the lock leaves the replica as SQLite left it (transactions
        // roll back), so the guard is still safe to use.
        let guard = self.replica.lock().unwrap_or_else(|p| p.into_inner());
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
}
