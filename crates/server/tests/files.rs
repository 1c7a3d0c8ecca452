//! Documents' files on their own queue: sent and fetched in chunks by SHA-256, resumed after
//! an interruption, refetched when damaged, and never served to a user who may not see a
//! document naming them.

mod direct;

use desk_core::{Change, Entity, Fields, Key, Replica};
use desk_server::testing::TestStore;
use desk_server::{HubError, Principal, Role};
use desk_sync::{sync, PullReply, PushReply, SyncError, Transport};
use direct::Direct;
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Fields::new(),
    }
}

/// Passes everything through, but breaks file downloads on purpose.
struct Faulty<'a> {
    inner: Direct<'a>,
    /// Fail the download after this many chunks.
    cut_after: Option<usize>,
    /// Flip a byte of every chunk fetched.
    corrupt: bool,
    /// How many times the server was asked how much of a file it holds.
    asked: usize,
}

impl Transport for Faulty<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        self.inner.push(device, batch)
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.inner.pull(after, limit)
    }
    fn blob_status(&mut self, sha: &str) -> Result<desk_core::BlobStatus, SyncError> {
        self.asked += 1;
        self.inner.blob_status(sha)
    }
    fn blob_put(
        &mut self,
        sha: &str,
        size: u64,
        offset: u64,
        data: &[u8],
    ) -> Result<desk_core::BlobStatus, SyncError> {
        self.inner.blob_put(sha, size, offset, data)
    }
    fn blob_get(&mut self, sha: &str, offset: u64, len: usize) -> Result<Vec<u8>, SyncError> {
        if let Some(n) = self.cut_after.as_mut() {
            if *n == 0 {
                return Err(SyncError::Network("connection reset".into()));
            }
            *n -= 1;
        }
        let mut data = self.inner.blob_get(sha, offset, len)?;
        if self.corrupt {
            if let Some(b) = data.first_mut() {
                *b ^= 0x20;
            }
        }
        Ok(data)
    }
}

fn sec() -> Principal {
    Principal {
        user: "sec".into(),
        role: Role::Secretariat,
    }
}

#[test]
fn files_travel_resume_and_are_verified() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([2u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let mut hub = store.open().expect("hub");
    let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
    let mut b = Replica::init(&dir.path().join("b.db"), &key).expect("b");
    let data: Vec<u8> = (0..(2 * desk_core::blobs::CHUNK + 777))
        .map(|i| (i % 253) as u8)
        .collect();
    let sha = a.put_blob(&data).expect("blob");
    let doc = a
        .create(
            Entity::Document,
            &fields(json!({"title": "Concept note", "sha256": sha, "filename": "note.pdf", "classification": "internal"})),
        )
        .expect("doc");
    let r = sync(
        &mut a,
        &mut Direct {
            hub: &mut hub,
            who: sec(),
        },
        &mut |_| {},
    )
    .expect("a sync");
    assert_eq!(r.files_sent, 1);
    assert!(hub.blob_status(&sec(), &sha).expect("status").complete);
    // Confirmed whole on the server: later rounds do not ask about it again.
    let mut counting = Faulty {
        inner: Direct {
            hub: &mut hub,
            who: sec(),
        },
        cut_after: None,
        corrupt: false,
        asked: 0,
    };
    sync(&mut a, &mut counting, &mut |_| {}).expect("a again");
    assert_eq!(counting.asked, 0, "no status request for a confirmed file");

    // B's download is cut after the first chunk: the record arrives, the file is partial.
    let mut cut = Faulty {
        inner: Direct {
            hub: &mut hub,
            who: sec(),
        },
        cut_after: Some(1),
        corrupt: false,
        asked: 0,
    };
    assert!(sync(&mut b, &mut cut, &mut |_| {}).is_err());
    assert!(b.get(Entity::Document, &doc.id).is_ok());
    let partial = b.blob_status(&sha).expect("status").expect("some");
    assert_eq!(
        (partial.have, partial.complete),
        (desk_core::blobs::CHUNK as u64, false)
    );
    // Damaged in transit: refused, dropped, fetched again next time.
    let mut bad = Faulty {
        inner: Direct {
            hub: &mut hub,
            who: sec(),
        },
        cut_after: None,
        corrupt: true,
        asked: 0,
    };
    let err = sync(&mut b, &mut bad, &mut |_| {}).expect_err("damaged");
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(b.blob_status(&sha).expect("status").is_none());
    let r = sync(
        &mut b,
        &mut Direct {
            hub: &mut hub,
            who: sec(),
        },
        &mut |_| {},
    )
    .expect("clean");
    assert_eq!(r.files_received, 1);
    assert_eq!(b.read_blob(&sha, 0, data.len(), false).expect("read"), data);
    assert!(b.missing_blobs().expect("missing").is_empty());
}

#[test]
fn a_file_is_never_served_to_a_user_who_may_not_see_its_document() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([2u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let mut hub = store.open().expect("hub");
    let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
    let sha = a.put_blob(b"KH position paper").expect("blob");
    a.create(
        Entity::Document,
        &fields(json!({"title": "Position", "sha256": sha, "classification": "restricted", "scope": "KH"})),
    )
    .expect("doc");
    sync(
        &mut a,
        &mut Direct {
            hub: &mut hub,
            who: sec(),
        },
        &mut |_| {},
    )
    .expect("sync");
    let th = Principal {
        user: "th".into(),
        role: Role::FocalPoint("TH".into()),
    };
    assert!(matches!(
        hub.blob_status(&th, &sha),
        Err(HubError::NotFound(_))
    ));
    assert!(matches!(
        hub.blob_get(&th, &sha, 0, 10),
        Err(HubError::NotFound(_))
    ));
    let kh = Principal {
        user: "kh".into(),
        role: Role::FocalPoint("KH".into()),
    };
    assert_eq!(
        hub.blob_get(&kh, &sha, 0, 100).expect("kh reads"),
        b"KH position paper"
    );
    let mut t = Replica::init(&dir.path().join("t.db"), &key).expect("t");
    let r = sync(
        &mut t,
        &mut Direct {
            hub: &mut hub,
            who: th,
        },
        &mut |_| {},
    )
    .expect("sync");
    assert_eq!(r.files_received, 0);
    assert!(t.blob_status(&sha).expect("status").is_none());
}
