//! Initial sync: a replica set up after months of editing gets the records as they are now
//! (each new record whole, superseded writes left out), not every edit ever made — and ends
//! byte for byte where a replica that followed along all the time is.

mod direct;

use desk_core::{Entity, Fields, Key, Replica};
use desk_server::testing::TestStore;
use desk_server::{Principal, Role};
use desk_sync::{sync, sync_with};
use direct::Direct;
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

fn focal_point(user: &str, country: &str) -> Principal {
    Principal {
        user: user.into(),
        role: Role::FocalPoint(country.into()),
    }
}

/// A focal point's initial sync is a snapshot too: the records it may see now, as they stand,
/// with links to records it may not see left out — and nothing of what it saw only in the
/// past or never, not even an id.
#[test]
fn a_focal_points_new_replica_gets_what_it_may_see_now_and_no_other_id() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([6u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let mut hub = store.open().expect("hub");
    let mut sec = Replica::init(&dir.path().join("sec.db"), &key).expect("sec");
    // A Thai focal point's laptop that follows along from the start.
    let mut along = Replica::init(&dir.path().join("along.db"), &key).expect("along");
    let meeting = sec
        .create(
            Entity::Meeting,
            &fields(&[
                ("title", json!("SOM")),
                ("start_date", json!("2027-02-01")),
                ("classification", json!("public")),
            ]),
        )
        .expect("meeting");
    let mut projects = Vec::new();
    for i in 0..16 {
        let scope = if i % 2 == 0 { "TH" } else { "KH" };
        let p = sec
            .create(
                Entity::Project,
                &fields(&[
                    ("code", json!(format!("P{i}"))),
                    ("title", json!(format!("Project {i}"))),
                    ("classification", json!("restricted")),
                    ("scope", json!(scope)),
                ]),
            )
            .expect("project");
        projects.push(p.id);
    }
    // Agenda items link projects of both countries; item k names projects k and k+1.
    let mut items = Vec::new();
    for k in 0..8 {
        let it = sec
            .create(
                Entity::AgendaItem,
                &fields(&[
                    ("meeting", json!(meeting.id)),
                    ("title", json!(format!("Item {k}"))),
                    ("projects", json!([projects[2 * k]])),
                ]),
            )
            .expect("item");
        items.push(it.id);
    }
    let step = |hub: &mut desk_server::Hub, sec: &mut Replica, along: &mut Replica| {
        let mut t = Direct {
            hub: &mut *hub,
            who: secretariat("sec"),
        };
        sync(sec, &mut t, &mut |_| {}).expect("sync sec");
        let mut t = Direct {
            hub,
            who: focal_point("along", "TH"),
        };
        sync(along, &mut t, &mut |_| {}).expect("sync along");
    };
    step(&mut hub, &mut sec, &mut along);
    for round in 0..6 {
        for (i, id) in projects.iter().enumerate() {
            if sec.get(Entity::Project, id).map_or(true, |p| p.deleted) {
                continue;
            }
            sec.update(
                Entity::Project,
                id,
                &fields(&[("title", json!(format!("Project {i}, round {round}")))]),
            )
            .expect("edit");
        }
        match round {
            // Project 0 moves to Cambodia's scope; project 1 to Thailand's.
            1 => {
                sec.update(
                    Entity::Project,
                    &projects[0],
                    &fields(&[("scope", json!("KH"))]),
                )
                .expect("rescope");
                sec.update(
                    Entity::Project,
                    &projects[1],
                    &fields(&[("scope", json!("TH"))]),
                )
                .expect("rescope");
            }
            // An item gains a Cambodian project (it is hidden from Thailand from then on) and
            // another loses one; a project is deleted.
            2 => {
                sec.update(
                    Entity::AgendaItem,
                    &items[2],
                    &fields(&[("projects", json!([projects[4], projects[5]]))]),
                )
                .expect("link");
                sec.delete(Entity::Project, &projects[6]).expect("delete");
            }
            // Project 3 (Cambodian) opens up to everyone.
            4 => {
                sec.update(
                    Entity::Project,
                    &projects[3],
                    &fields(&[("classification", json!("internal"))]),
                )
                .expect("open up");
            }
            _ => {}
        }
        step(&mut hub, &mut sec, &mut along);
    }
    step(&mut hub, &mut sec, &mut along);
    let history = hub.history().expect("history");
    let hidden: Vec<&String> = projects
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || (i % 2 == 1 && *i != 1 && *i != 3))
        .map(|(_, id)| id)
        // Item 0 names project 0 (now Cambodian), item 2 project 5.
        .chain([&items[0], &items[2]])
        .collect();

    for page in [1, 3, 17, 1000] {
        let mut c = Replica::init(&dir.path().join(format!("fp{page}.db")), &key).expect("c");
        let mut t = Direct {
            hub: &mut hub,
            who: focal_point(&format!("fp{page}"), "TH"),
        };
        let rep = sync_with(&mut c, &mut t, page, &mut |_| {}).expect("initial sync");
        let dump = c.dump().expect("dump");
        assert!(
            dump == along.dump().expect("dump"),
            "pages of {page}: the new replica differs from one that followed along"
        );
        for id in &hidden {
            assert!(!dump.contains(id.as_str()), "pages of {page}: {id} is here");
            for ch in c.changes(0, usize::MAX).expect("log") {
                assert!(
                    !serde_json::to_string(&ch)
                        .expect("json")
                        .contains(id.as_str()),
                    "pages of {page}: the history names {id}"
                );
            }
        }
        // Seen now: the Thai projects (2, 4, … and 1), the opened-up 3; not the deleted 6's
        // edits after its delete. Far fewer changes than the history holds for them.
        assert!(c.get(Entity::Project, &projects[1]).is_ok());
        assert!(c.get(Entity::Project, &projects[3]).is_ok());
        let theirs = history
            .iter()
            .filter(|h| !hidden.iter().any(|id| **id == h.record))
            .count();
        eprintln!(
            "pages of {page}: {} of {theirs} changes applied",
            rep.applied
        );
        assert!(
            rep.applied < theirs / 2,
            "pages of {page}: {} of {theirs} changes applied",
            rep.applied
        );
        // It carries on like any replica: a later edit arrives one by one.
        sec.update(
            Entity::Project,
            &projects[2],
            &fields(&[("title", json!(format!("After the snapshot ({page})")))]),
        )
        .expect("edit");
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat("sec"),
        };
        sync(&mut sec, &mut t, &mut |_| {}).expect("sync");
        let mut t = Direct {
            hub: &mut hub,
            who: focal_point(&format!("fp{page}"), "TH"),
        };
        sync(&mut c, &mut t, &mut |_| {}).expect("sync");
        assert_eq!(
            c.get(Entity::Project, &projects[2]).expect("get").fields["title"],
            json!(format!("After the snapshot ({page})"))
        );
        let mut t = Direct {
            hub: &mut hub,
            who: focal_point("along", "TH"),
        };
        sync(&mut along, &mut t, &mut |_| {}).expect("sync along");
    }
}

/// A device that made records before it ever pulled takes no snapshot: the history comes
/// change by change, so one of its records that has left its user's scope meanwhile is purged
/// (a cut would simply never mention it, and it would stay).
#[test]
fn a_device_holding_its_own_records_replays_so_a_lost_one_is_purged() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([6u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let mut hub = store.open().expect("hub");
    let mut sec = Replica::init(&dir.path().join("sec.db"), &key).expect("sec");
    let mut f = Replica::init(&dir.path().join("f.db"), &key).expect("f");
    let made = f
        .create(
            Entity::Project,
            &fields(&[
                ("code", json!("TH-1")),
                ("title", json!("Made offline")),
                ("classification", json!("restricted")),
                ("scope", json!("TH")),
            ]),
        )
        .expect("create");
    // Its push arrives; the pull that should follow does not (the network went).
    let thai = focal_point("f", "TH");
    let outbox = f.outbox(usize::MAX).expect("outbox");
    let acked = hub.push(&thai, f.device_id(), &outbox).expect("push").acked;
    f.acknowledge(acked).expect("ack");
    // Meanwhile the secretariat hands the project to Cambodia.
    let mut t = Direct {
        hub: &mut hub,
        who: secretariat("sec"),
    };
    sync(&mut sec, &mut t, &mut |_| {}).expect("sync sec");
    sec.update(
        Entity::Project,
        &made.id,
        &fields(&[("scope", json!("KH"))]),
    )
    .expect("rescope");
    sync(&mut sec, &mut t, &mut |_| {}).expect("sync sec");
    // The device's first pull.
    let mut t = Direct {
        hub: &mut hub,
        who: thai,
    };
    let rep = sync_with(&mut f, &mut t, 2, &mut |_| {}).expect("first pull");
    assert_eq!(rep.purged, 1);
    assert!(f.get(Entity::Project, &made.id).is_err(), "still here");
    assert!(!f.dump().expect("dump").contains(&made.id));
}

#[test]
fn a_record_naming_one_created_after_it_arrives_after_what_it_names() {
    // A contact from the first week; months later its organisation is entered and linked,
    // and a meeting's chair is set to the contact. A laptop set up now reads the contact as it
    // stands (naming the organisation) at the contact's place in the history, before the
    // organisation's: the snapshot must send the organisation first, whatever the page size
    // (a replica's references are foreign keys, checked when each page commits).
    for page in [1, 2, 3, 50] {
        let dir = tempfile::tempdir().expect("tmp");
        let key = Key::Raw([7u8; 32]);
        let store = TestStore::new(dir.path()).expect("store");
        let mut hub = store.open().expect("hub");
        let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
        let contact = a
            .create(
                Entity::Contact,
                &fields(&[("name", json!("Bùi Thanh Sơn"))]),
            )
            .expect("contact");
        let meeting = a
            .create(
                Entity::Meeting,
                &fields(&[
                    ("title", json!("ACMECS SOM")),
                    ("start_date", json!("2026-03-01")),
                ]),
            )
            .expect("meeting");
        let org = a
            .create(
                Entity::Organisation,
                &fields(&[
                    ("name", json!("Ministry of Foreign Affairs")),
                    ("country", json!("VN")),
                ]),
            )
            .expect("org");
        a.update(
            Entity::Contact,
            &contact.id,
            &fields(&[("org", json!(org.id))]),
        )
        .expect("link");
        a.update(
            Entity::Meeting,
            &meeting.id,
            &fields(&[("chair", json!(contact.id))]),
        )
        .expect("chair");
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat("a"),
        };
        sync(&mut a, &mut t, &mut |_| {}).expect("sync");

        let mut b = Replica::init(&dir.path().join("b.db"), &key).expect("b");
        let mut t = Direct {
            hub: &mut hub,
            who: secretariat("b"),
        };
        sync_with(&mut b, &mut t, page, &mut |_| {})
            .unwrap_or_else(|e| panic!("pages of {page}: {e}"));
        assert_eq!(
            b.get(Entity::Contact, &contact.id)
                .expect("contact")
                .str("org"),
            Some(org.id.as_str())
        );
        assert_eq!(
            a.dump().expect("dump"),
            b.dump().expect("dump"),
            "pages of {page}"
        );
    }
}
