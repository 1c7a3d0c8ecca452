//! Copying the WAL into the database file: on a thread of its own with a second connection,
//! or now, on demand.

use super::open::open_keyed;
use super::{Key, Replica};
use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};

/// The thread that copies the WAL into the database file for [`Replica::checkpoint_in_background`].
pub(super) struct Checkpointer {
    ask: std::sync::mpsc::SyncSender<Wake>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Why the checkpoint thread wakes: a commit left the log long, or someone waits for one.
enum Wake {
    Grown,
    Now(std::sync::mpsc::Sender<rusqlite::Result<Checkpoint>>),
}

/// What a checkpoint did: WAL frames (pages) in the log, and how many of them are now in the
/// database file (all of them unless a reader still needed older ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    pub frames: i64,
    pub copied: i64,
    /// Checkpoints the background thread has run because commits woke it (not counting this).
    pub background_runs: u64,
}

fn passive_checkpoint(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get(1)?, r.get(2)?))
    })
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // The WAL hook's sender went with the connection (dropped first); with ours gone the
        // thread's loop ends.
        let (gone, _) = std::sync::mpsc::sync_channel(1);
        drop(std::mem::replace(&mut self.ask, gone));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// WAL frames (pages) after which a commit wakes the checkpoint thread (~4 MB).
const CHECKPOINT_AT: i32 = 1_000;
/// WAL frames after which the writer checkpoints itself (~80 MB): under a steady stream of
/// commits the thread copies most of the log, but only a writer that finds it fully copied
/// restarts it, so without this the log would grow for as long as the stream lasts.
const CHECKPOINT_INLINE_AT: i32 = 20_000;

impl Replica {
    /// Hands WAL checkpoints to a thread of its own with a second connection: a sync push or
    /// pull, or an import, then never waits while the log is copied into the database file
    /// (the server's stores and the `desk`/app replicas opened by `desk-keys` use it). A
    /// commit that leaves the log over ~4 MB wakes the thread, which checkpoints passively —
    /// it neither waits for nor blocks the writer; past ~80 MB (a long stream of commits) the
    /// writer copies what the thread has not, so the log restarts. Replaces SQLite's automatic
    /// checkpoint on this connection.
    pub fn checkpoint_in_background(&mut self, key: &Key) -> Result<()> {
        if self.checkpointer.is_some() {
            return Ok(());
        }
        let synchronous: i64 = self
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))?;
        let (path, key) = (self.path.clone(), key.clone());
        let (ask, woken) = std::sync::mpsc::sync_channel::<Wake>(1);
        let counted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let thread = std::thread::Builder::new()
            .name("desk-checkpoint".into())
            .spawn(move || {
                // Opened here rather than by the caller: deriving a passphrase's key costs the
                // caller nothing. Should it fail, the thread ends and the writer checkpoints
                // itself, as SQLite would.
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let Ok(conn) = open_keyed(&path, &key, flags) else {
                    return;
                };
                let _ = conn.pragma_update(None, "synchronous", synchronous);
                while let Ok(wake) = woken.recv() {
                    let done = passive_checkpoint(&conn);
                    match wake {
                        // Busy (another checkpoint running) or an I/O error: the next wake-up
                        // tries again, and the writer sees any real I/O error itself.
                        Wake::Grown => {
                            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Wake::Now(reply) => {
                            let _ = reply.send(done.map(|(frames, copied)| Checkpoint {
                                frames,
                                copied,
                                background_runs: counted.load(std::sync::atomic::Ordering::Relaxed),
                            }));
                        }
                    }
                }
            })
            .map_err(|source| Error::Io {
                path: self.path.display().to_string(),
                source,
            })?;
        let nudge = ask.clone();
        self.checkpointer = Some(Checkpointer {
            ask,
            thread: Some(thread),
        });
        // After a reset the log file is cut back to this size rather than kept at its peak.
        self.conn
            .pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        self.conn.wal_hook(Some(
            move |wal: &mut rusqlite::hooks::Wal, frames: std::ffi::c_int| {
                // The commit has happened: an error returned from here would make it report a
                // failure all the same, so a checkpoint that cannot run now (busy) is left to
                // the next commit.
                let passive = rusqlite::wal::CheckpointMode::PASSIVE;
                if frames >= CHECKPOINT_INLINE_AT {
                    // The thread cannot keep the log short while commits keep coming (the log
                    // restarts only when a write finds it fully copied): here the writer
                    // copies what the thread has not, and the next write restarts the log.
                    let _ = wal.checkpoint_v2(passive);
                } else if frames >= CHECKPOINT_AT {
                    // Full: a wake-up is already pending. Gone: the thread could not open.
                    if let Err(std::sync::mpsc::TrySendError::Disconnected(_)) =
                        nudge.try_send(Wake::Grown)
                    {
                        let _ = wal.checkpoint_v2(passive);
                    }
                }
                Ok(())
            },
        ))?;
        Ok(())
    }

    /// Copies the WAL into the database file now, as far as readers allow, and waits for it
    /// (on the background thread when there is one, after any checkpoint already asked of it).
    pub fn checkpoint_now(&mut self) -> Result<Checkpoint> {
        if let Some(c) = &self.checkpointer {
            let (reply, answer) = std::sync::mpsc::channel();
            if c.ask.send(Wake::Now(reply)).is_ok() {
                if let Ok(done) = answer.recv() {
                    return Ok(done?);
                }
            }
            // The thread could not open the file: here, then.
        }
        let (frames, copied) = passive_checkpoint(&self.conn)?;
        Ok(Checkpoint {
            frames,
            copied,
            background_runs: 0,
        })
    }
}
