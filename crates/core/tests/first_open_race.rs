//! Regression: the first replicas a process opens, from several threads at once, all open.
//! SQLite marks itself initialised before SQLCipher's own start-up has finished, so a thread
//! that opened in that window got "An error occurred with PRAGMA key or rekey" (seen in CI).
//! This binary is its own process, so its one test really is the first open.

use desk_core::{Entity, Key, Replica};
use std::sync::{Arc, Barrier};

#[test]
fn first_opens_from_many_threads_at_once_all_succeed() {
    let dir = tempfile::tempdir().expect("tmp");
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let path = dir.path().join(format!("r{i}.db"));
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let key = if i % 2 == 0 {
                    Key::Raw([i as u8; 32])
                } else {
                    Key::Passphrase(format!("pass {i}"))
                };
                Replica::init(&path, &key).map(|r| r.count(Entity::Contact))
            })
        })
        .collect();
    for h in handles {
        let r = h.join().expect("thread");
        assert!(matches!(r, Ok(Ok(0))), "{r:?}");
    }
}
