//! Initial sync: a replica set up after months of editing gets the records as they are now
//! (each new record whole, superseded writes left out), not every edit ever made — and ends
//! byte for byte where a replica that followed along all the time is.

use desk_core::{Entity, Fields, Key, Replica};
use desk_sync::testing::TestStore;
use desk_sync::{sync, sync_with, Direct, Principal, Role};
use serde_json::json;

fn secretariat(user: &str) -> Principal {
    Principal {
        user: user.into(),
        role: Role::Secretariat,
    }
}

fn fields(pairs: &[(&str, serde_json::Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

#[test]
fn a_new_replica_gets_current_rows_not_every_edit_and_ends_equal() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([6u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let mut hub = store.open().expect("hub");
    let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
    let mut b = Replica::init(&dir.path().join("b.db"), &key).expect("b");

    // Two offices edit the same contacts for a while, syncing now and then.
    let mut ids = Vec::new();
    for i in 0..30 {
        let c = a
            .create(
                Entity::Contact,
                &fields(&[
                    ("name", json!(format!("Contact {i}"))),
                    ("country", json!("TH")),
                ]),
            )
            .expect("create");
        ids.push(c.id);
    }
    for (r, u) in [(&mut a, "a"), (&mut b, "b")] {
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat(u),
        };
        sync(r, &mut t, &mut |_| {}).expect("sync");
    }
    for round in 0..8 {
        for (i, id) in ids.iter().enumerate() {
            let (r, who) = if (i + round) % 2 == 0 {
                (&mut a, "a")
            } else {
                (&mut b, "b")
            };
            if r.get(Entity::Contact, id).map_or(true, |c| c.deleted) {
                continue; // deleted (or not arrived here yet)
            }
            let f = match round % 3 {
                0 => fields(&[("title", json!(format!("Title {round} by {who}")))]),
                1 => fields(&[
                    ("phone", json!(format!("+66 2 {round}{i:03}"))),
                    ("title", json!(null)),
                ]),
                _ => fields(&[("notes", json!(format!("Round {round}: met in Vientiane")))]),
            };
            r.update(Entity::Contact, id, &f).expect("edit");
        }
        // Deletes and a restore along the way.
        if round == 3 {
            a.delete(Entity::Contact, &ids[0]).expect("delete");
            a.delete(Entity::Contact, &ids[1]).expect("delete");
        }
        if round == 5 {
            a.restore(Entity::Contact, &ids[1]).expect("restore");
        }
        for (r, u) in [(&mut a, "a"), (&mut b, "b")] {
            let mut t = Direct {
                hub: &mut hub,
                who: secretariat(u),
            };
            sync(r, &mut t, &mut |_| {}).expect("sync");
        }
    }
    for (r, u) in [(&mut a, "a"), (&mut b, "b")] {
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat(u),
        };
        sync(r, &mut t, &mut |_| {}).expect("final sync");
    }
    let history = hub.history().expect("history").len();

    // A laptop set up today, in pages of every size from one change up.
    for page in [1, 3, 17, 1000] {
        let mut c = Replica::init(&dir.path().join(format!("c{page}.db")), &key).expect("c");
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat("c"),
        };
        let rep = sync_with(&mut c, &mut t, page, &mut |_| {}).expect("initial sync");
        assert!(
            c.dump().expect("dump") == a.dump().expect("dump"),
            "pages of {page}: the new replica differs from one that followed along"
        );
        eprintln!(
            "pages of {page}: {} of {history} changes applied",
            rep.applied
        );
        // Every record's first change comes; of the edits, only those still holding a value.
        assert!(
            rep.applied < history / 2,
            "pages of {page}: {} of {history} changes applied",
            rep.applied
        );
        assert!(rep.applied >= ids.len());
        // And it carries on like any replica: an edit made here reaches the others.
        c.update(
            Entity::Contact,
            &ids[2],
            &fields(&[("title", json!(format!("Ambassador ({page})")))]),
        )
        .expect("edit on the new replica");
        sync(&mut c, &mut t, &mut |_| {}).expect("sync");
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat("a"),
        };
        sync(&mut a, &mut t, &mut |_| {}).expect("sync");
        assert_eq!(
            a.get(Entity::Contact, &ids[2]).expect("get").fields["title"],
            json!(format!("Ambassador ({page})"))
        );
    }
}
