//! Accounts, roles and scope through the hub's public API: who receives what, what a push may
//! do, sign-in and revocation, and a role change that makes a device start again.

mod direct;

use desk_core::{Entity, Fields, Key, Replica};
use desk_server::store::TablesExt;
use desk_server::testing::TestStore;
use desk_server::{auth, Denied, Hub, HubError, Principal, Role};
use desk_sync::{sync, SyncError};
use direct::Direct;
use serde_json::json;

fn fields(v: serde_json::Value) -> Fields {
    match v {
        serde_json::Value::Object(m) => m,
        _ => Fields::new(),
    }
}

fn who(role: Role) -> Principal {
    Principal {
        user: "someone".into(),
        role,
    }
}

fn th() -> Principal {
    who(Role::FocalPoint("TH".into()))
}

struct World {
    _dir: tempfile::TempDir,
    hub: Hub,
    // After `hub`: a PostgreSQL test database is dropped once the hub has let go of it.
    _store: TestStore,
    sec: Replica,
    dir: std::path::PathBuf,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([3u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let hub = store.open().expect("hub");
    let sec = Replica::init(&dir.path().join("sec.db"), &key).expect("sec");
    let path = dir.path().to_path_buf();
    World {
        _dir: dir,
        hub,
        _store: store,
        sec,
        dir: path,
    }
}

impl World {
    fn replica(&self, name: &str) -> Replica {
        Replica::init(&self.dir.join(name), &Key::Raw([3u8; 32])).expect("replica")
    }
    fn sec_sync(&mut self) {
        let mut t = Direct {
            hub: &mut self.hub,
            who: who(Role::Secretariat),
        };
        sync(&mut self.sec, &mut t, &mut |_| {}).expect("secretariat sync");
    }
}

#[test]
fn roles_parse_and_decide() {
    assert_eq!(
        Role::parse("focal-point:Lao PDR"),
        Ok(Role::FocalPoint("LA".into()))
    );
    assert_eq!(Role::parse("Secretariat"), Ok(Role::Secretariat));
    assert!(Role::parse("focal-point:Atlantis").is_err());
    assert!(Role::parse("king").is_err());
    let th = Role::FocalPoint("TH".into());
    assert!(th.sees("internal", &[]));
    assert!(th.sees("restricted", &["KH".into(), "TH".into()]));
    assert!(!th.sees("restricted", &["KH".into()]));
    assert!(!th.sees("restricted", &[]));
    assert!(Role::Partner.sees("public", &[]));
    assert!(!Role::Partner.sees("internal", &[]));
    assert!(Role::Secretariat.sees("restricted", &[]));
}

#[test]
fn a_focal_point_receives_what_it_may_see_loses_it_and_gets_it_back_whole() {
    let mut w = world();
    let m = w
        .sec
        .create(
            Entity::Meeting,
            &fields(json!({"title": "ACMECS SOM", "start_date": "2027-02-01", "classification": "internal"})),
        )
        .expect("meeting");
    let item = w
        .sec
        .create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m.id, "title": "Review"})),
        )
        .expect("item");
    let hidden = w
        .sec
        .create(
            Entity::Contact,
            &fields(json!({"name": "Sok Vanna", "classification": "restricted", "scope": "KH"})),
        )
        .expect("contact");
    w.sec_sync();

    let mut t = w.replica("th.db");
    let r = sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    assert_eq!(r.purged, 0);
    assert!(t.get(Entity::AgendaItem, &item.id).is_ok());
    assert!(
        t.get(Entity::Contact, &hidden.id).is_err(),
        "restricted to KH"
    );

    // Restricted to Cambodia: Thailand's replica loses the meeting and its agenda.
    w.sec
        .update(
            Entity::Meeting,
            &m.id,
            &fields(json!({"classification": "restricted", "scope": "KH"})),
        )
        .expect("restrict");
    w.sec
        .update(
            Entity::AgendaItem,
            &item.id,
            &fields(json!({"title": "Review (closed)"})),
        )
        .expect("edit while hidden");
    w.sec_sync();
    let r = sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    assert_eq!(r.purged, 2, "the meeting and its agenda item");
    assert!(t.get(Entity::Meeting, &m.id).is_err());
    assert!(t.get(Entity::AgendaItem, &item.id).is_err());
    assert!(t.changes(0, usize::MAX).expect("log").is_empty());

    // Opened to Thailand again: the whole record comes back, with what changed meanwhile.
    w.sec
        .update(Entity::Meeting, &m.id, &fields(json!({"scope": "KH,TH"})))
        .expect("widen");
    w.sec_sync();
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    assert_eq!(
        t.get(Entity::AgendaItem, &item.id)
            .expect("back")
            .str("title"),
        Some("Review (closed)")
    );
    assert_eq!(
        t.get(Entity::Meeting, &m.id).expect("back"),
        w.sec.get(Entity::Meeting, &m.id).expect("sec")
    );
}

#[test]
fn a_hidden_contact_never_reaches_a_focal_point_even_inside_another_record() {
    let mut w = world();
    let m = w
        .sec
        .create(
            Entity::Meeting,
            &fields(
                json!({"title": "SOM", "start_date": "2027-02-01", "classification": "public"}),
            ),
        )
        .expect("meeting");
    let hidden = w
        .sec
        .create(
            Entity::Contact,
            &fields(json!({"name": "Sok Vanna", "classification": "restricted", "scope": "KH"})),
        )
        .expect("hidden");
    let shown = w
        .sec
        .create(
            Entity::Contact,
            &fields(json!({"name": "Somchai Jaidee", "classification": "public"})),
        )
        .expect("shown");
    // A seat first given to the hidden contact, then to the visible one: the seat is visible
    // now, and its history must not carry the hidden id.
    let seat = w
        .sec
        .create(
            Entity::Participant,
            &fields(json!({"meeting": m.id, "contact": hidden.id, "delegation": "KH"})),
        )
        .expect("seat");
    w.sec
        .update(
            Entity::Participant,
            &seat.id,
            &fields(json!({"contact": shown.id})),
        )
        .expect("reseat");
    w.sec_sync();
    let page = w.hub.pull(&th(), 0, 1000).expect("pull");
    let wire = serde_json::to_string(&page.changes).expect("json");
    assert!(
        !wire.contains(&hidden.id),
        "the hidden contact's id travelled: {wire}"
    );
    assert!(wire.contains(&seat.id) && wire.contains(&shown.id));
    let partner = w.hub.pull(&who(Role::Partner), 0, 1000).expect("pull");
    let wire = serde_json::to_string(&partner.changes).expect("json");
    assert!(wire.contains(&m.id) && !wire.contains(&hidden.id));
    // The replica converges on what the secretariat holds for that seat.
    let mut t = w.replica("th.db");
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    assert_eq!(
        t.get(Entity::Participant, &seat.id).expect("seat"),
        w.sec.get(Entity::Participant, &seat.id).expect("sec seat")
    );
}

#[test]
fn pushes_are_checked_change_by_change() {
    let mut w = world();
    let kh_only = w
        .sec
        .create(
            Entity::Meeting,
            &fields(json!({"title": "KH bilateral", "start_date": "2027-02-01", "classification": "restricted", "scope": "KH"})),
        )
        .expect("meeting");
    let open = w
        .sec
        .create(
            Entity::Meeting,
            &fields(
                json!({"title": "SOM", "start_date": "2027-02-01", "classification": "internal"}),
            ),
        )
        .expect("meeting");
    w.sec_sync();
    let history_len = w.hub.history().expect("history").len();

    // A partner reads only.
    let mut p = w.replica("partner.db");
    p.create(
        Entity::Contact,
        &fields(json!({"name": "Jane Doe", "classification": "public"})),
    )
    .expect("local");
    let err = sync(
        &mut p,
        &mut Direct {
            hub: &mut w.hub,
            who: who(Role::Partner),
        },
        &mut |_| {},
    )
    .expect_err("partner push");
    assert!(matches!(err, SyncError::NotPermitted(_)), "{err}");
    // Refused edits stay in its outbox, and it still receives what it may read.
    assert_eq!(p.outbox(10).expect("outbox").len(), 1);
    assert!(
        p.pull_cursor().expect("cursor") > 0,
        "pulled despite the refusal"
    );

    // Thailand may not create what it could not see, nor a child of what it cannot see.
    let mut t = w.replica("th.db");
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("first sync");
    t.create(
        Entity::Contact,
        &fields(json!({"name": "Sok Vanna", "classification": "restricted", "scope": "KH"})),
    )
    .expect("local create");
    let err = sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect_err("invisible create");
    assert!(matches!(err, SyncError::OutOfScope(_)), "{err}");
    let mut crafted = w.sec.changes(0, 1).expect("a change")[0].clone();
    crafted.device = "th-device".into();
    crafted.dev_seq = 1;
    crafted.record = "01900000-0000-7000-8000-000000000001".into();
    crafted.entity = "agenda_item".into();
    crafted.fields = vec![desk_core::FieldChange {
        field: "meeting".into(),
        value: json!(kh_only.id),
        base: desk_core::hlc::Hlc::ZERO,
        set: None,
    }];
    let err = w
        .hub
        .push(&th(), "th-device", &[crafted])
        .expect_err("child of hidden");
    // (Answered as a child of a meeting that does not exist would be.)
    assert!(matches!(err, HubError::BadChange(_)), "{err}");

    // Nor reclassify what it sees.
    let mut t2 = w.replica("th2.db");
    sync(
        &mut t2,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    t2.update(
        Entity::Meeting,
        &open.id,
        &fields(json!({"classification": "public"})),
    )
    .expect("local");
    let err = sync(
        &mut t2,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect_err("reclassify");
    assert!(matches!(err, SyncError::NotPermitted(_)), "{err}");
    assert_eq!(
        w.hub.history().expect("history").len(),
        history_len,
        "nothing stored"
    );
}

#[test]
fn an_offline_edit_to_a_record_that_left_scope_is_kept_aside_not_lost() {
    let mut w = world();
    let m = w
        .sec
        .create(
            Entity::Meeting,
            &fields(
                json!({"title": "SOM", "start_date": "2027-02-01", "classification": "internal"}),
            ),
        )
        .expect("meeting");
    w.sec_sync();
    let mut t = w.replica("th.db");
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    t.update(
        Entity::Meeting,
        &m.id,
        &fields(json!({"notes": "Thai position: support"})),
    )
    .expect("offline edit");
    w.sec
        .update(
            Entity::Meeting,
            &m.id,
            &fields(json!({"classification": "restricted", "scope": "KH"})),
        )
        .expect("restrict");
    w.sec_sync();
    let r = sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    assert_eq!((r.quarantined, r.purged), (1, 1));
    assert!(t.outbox(10).expect("outbox").is_empty());
    let aside = w.hub.quarantined().expect("aside");
    assert_eq!(aside.len(), 1);
    assert_eq!(aside[0].2, m.id);
    assert!(w
        .sec
        .get(Entity::Meeting, &m.id)
        .expect("m")
        .str("notes")
        .is_none());
}

#[test]
fn sign_in_tokens_revocation_and_a_role_change() {
    let mut w = world();
    auth::add_user(w.hub.store_mut(), "nok", "short", &th().role).expect_err("short password");
    auth::add_user(w.hub.store_mut(), "bad name!", "long enough pw", &th().role).expect_err("name");
    auth::add_user(w.hub.store_mut(), "nok", "long enough pw", &th().role).expect("user");
    let err = auth::login(w.hub.store_mut(), "nok", "wrong password", "dev-1").expect_err("wrong");
    assert!(matches!(err, HubError::Denied(Denied::Unknown, _)));
    let l = auth::login(w.hub.store_mut(), "nok", "long enough pw", "dev-1").expect("login");
    let s = w.hub.authenticate(&l.token).expect("token");
    assert_eq!(
        (s.device.as_str(), s.who.role.clone()),
        ("dev-1", th().role)
    );
    assert!(matches!(
        w.hub.authenticate("deadbeef"),
        Err(HubError::Denied(Denied::Unknown, _))
    ));
    // Only the hash is stored.
    let stored = w
        .hub
        .store()
        .read_with(|sql| sql.row("SELECT token FROM srv_device WHERE id = 'dev-1'", &[]))
        .expect("read")
        .expect("row")
        .text(0)
        .expect("text");
    assert_ne!(stored, l.token);

    // A role change: the device must start again from zero.
    auth::set_role(w.hub.store_mut(), "nok", &Role::FocalPoint("KH".into())).expect("role");
    let s = w.hub.authenticate(&l.token).expect("token");
    assert!(matches!(w.hub.begin_pull(&s, 5), Err(HubError::Rescope)));
    w.hub.begin_pull(&s, 0).expect("from zero is fine");
    let s = w.hub.authenticate(&l.token).expect("token");
    assert!(!s.rescope && s.who.role == Role::FocalPoint("KH".into()));

    // A rotation: the token held stops working; signing in again gives a new one.
    auth::rotate_device(w.hub.store_mut(), "dev-1").expect("rotate");
    assert!(matches!(
        w.hub.authenticate(&l.token),
        Err(HubError::Denied(Denied::Unknown, _))
    ));
    let l = auth::login(w.hub.store_mut(), "nok", "long enough pw", "dev-1").expect("again");
    w.hub.authenticate(&l.token).expect("the new token works");
    assert!(auth::rotate_device(w.hub.store_mut(), "no-such-device").is_err());

    auth::revoke_device(w.hub.store_mut(), "dev-1").expect("revoke");
    assert!(
        auth::rotate_device(w.hub.store_mut(), "dev-1").is_err(),
        "a revoked device stays revoked"
    );
    assert!(matches!(
        w.hub.authenticate(&l.token),
        Err(HubError::Denied(Denied::Revoked, _))
    ));
    assert!(matches!(
        auth::login(w.hub.store_mut(), "nok", "long enough pw", "dev-1"),
        Err(HubError::Denied(Denied::Revoked, _))
    ));
    let log = auth::audit_log(w.hub.store(), 50).expect("audit");
    for action in ["user", "login", "role", "rotate", "revoke"] {
        assert!(
            log.iter().any(|e| e.3 == action),
            "audit has {action}: {log:?}"
        );
    }
}

#[test]
fn a_checksum_tells_a_replica_in_step_from_one_that_diverged() {
    let mut w = world();
    w.sec
        .create(
            Entity::Meeting,
            &fields(json!({"title": "KH bilateral", "start_date": "2027-02-01", "classification": "restricted", "scope": "KH"})),
        )
        .expect("meeting");
    let open = w
        .sec
        .create(Entity::Contact, &fields(json!({"name": "Somchai Jaidee"})))
        .expect("contact");
    w.sec_sync();
    let mut t = w.replica("th.db");
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    let v = desk_sync::verify(
        &t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
    )
    .expect("verify");
    assert_eq!(v, desk_sync::Verification::Same { records: 1 });
    // Behind: the server moved on.
    w.sec
        .update(
            Entity::Contact,
            &open.id,
            &fields(json!({"title": "Director"})),
        )
        .expect("edit");
    w.sec_sync();
    let v = desk_sync::verify(
        &t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
    )
    .expect("verify");
    assert!(matches!(v, desk_sync::Verification::Behind { .. }), "{v:?}");
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("sync");
    // A record lost locally (a damaged replica) is noticed.
    let cursor = t.pull_cursor().expect("cursor");
    t.apply_pull(
        &[],
        &[desk_core::RecordRef {
            entity: "contact".into(),
            id: open.id.clone(),
        }],
        Some(cursor),
    )
    .expect("lose it");
    let v = desk_sync::verify(
        &t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
    )
    .expect("verify");
    assert!(
        matches!(v, desk_sync::Verification::Differs { .. }),
        "{v:?}"
    );
}

#[test]
fn project_links_merge_as_a_set_and_a_link_to_a_hidden_project_never_reaches_a_focal_point() {
    let mut w = world();
    let m = w
        .sec
        .create(
            Entity::Meeting,
            &fields(
                json!({"title": "SOM", "start_date": "2027-02-01", "classification": "public"}),
            ),
        )
        .expect("meeting");
    let item = w
        .sec
        .create(
            Entity::AgendaItem,
            &fields(json!({"meeting": m.id, "title": "Connectivity"})),
        )
        .expect("item");
    let open = w
        .sec
        .create(
            Entity::Project,
            &fields(json!({"code": "ACMECS-T1", "title": "Southern corridor", "classification": "public"})),
        )
        .expect("open project");
    let closed = w
        .sec
        .create(
            Entity::Project,
            &fields(json!({"code": "ACMECS-K9", "title": "Border survey", "classification": "restricted", "scope": "KH"})),
        )
        .expect("closed project");
    w.sec_sync();
    let mut sec2 = w.replica("sec2.db");
    let mut t2 = Direct {
        hub: &mut w.hub,
        who: who(Role::Secretariat),
    };
    sync(&mut sec2, &mut t2, &mut |_| {}).expect("sec2");

    // Two secretariat officers link a project each, offline: both links stay.
    w.sec
        .update(
            Entity::AgendaItem,
            &item.id,
            &fields(json!({"projects": [open.id]})),
        )
        .expect("link open");
    sec2.update(
        Entity::AgendaItem,
        &item.id,
        &fields(json!({"projects": [closed.id]})),
    )
    .expect("link closed");
    w.sec_sync();
    let mut t2 = Direct {
        hub: &mut w.hub,
        who: who(Role::Secretariat),
    };
    sync(&mut sec2, &mut t2, &mut |_| {}).expect("sec2");
    w.sec_sync();
    let links = |r: &Replica| {
        let mut l: Vec<String> = r.get(Entity::AgendaItem, &item.id).expect("item").fields
            ["projects"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        l.sort();
        l
    };
    let mut both = vec![open.id.clone(), closed.id.clone()];
    both.sort();
    assert_eq!(links(&w.sec), both);
    assert_eq!(links(&sec2), both);

    // Thailand's focal point: the item names a project restricted to Cambodia, so it is
    // hidden, and that project's id travels nowhere — not in values, not in set edits.
    let page = w.hub.pull(&th(), 0, 1000).expect("pull");
    let wire = serde_json::to_string(&page.changes).expect("json");
    assert!(
        !wire.contains(&closed.id),
        "the hidden project's id travelled: {wire}"
    );
    let mut t = w.replica("th.db");
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("th");
    assert!(t.get(Entity::AgendaItem, &item.id).is_err(), "hidden");
    assert!(t.get(Entity::Project, &open.id).is_ok());

    // The restricted link removed: the item comes back to Thailand with the open link only.
    w.sec
        .update(
            Entity::AgendaItem,
            &item.id,
            &fields(json!({"projects": [open.id]})),
        )
        .expect("unlink");
    w.sec_sync();
    sync(
        &mut t,
        &mut Direct {
            hub: &mut w.hub,
            who: th(),
        },
        &mut |_| {},
    )
    .expect("th again");
    assert_eq!(links(&t), vec![open.id.clone()]);
    assert!(
        !t.dump().expect("dump").contains(&closed.id),
        "no trace of the hidden project on Thailand's replica"
    );
    assert!(
        !serde_json::to_string(&t.changes(0, usize::MAX).expect("log"))
            .expect("json")
            .contains(&closed.id)
    );
}

#[derive(Debug, Clone)]
enum LinkStep {
    /// Secretariat replica `r` sets the item's links to the projects of `mask` (bit i:
    /// project i; even projects are public, odd ones restricted to Cambodia).
    Link(usize, u8),
    /// Replica `r` syncs.
    Sync(usize),
}

fn link_step() -> impl proptest::strategy::Strategy<Value = LinkStep> {
    use proptest::prelude::*;
    prop_oneof![
        (0usize..2, 0u8..16).prop_map(|(r, m)| LinkStep::Link(r, m)),
        (0usize..2).prop_map(LinkStep::Sync),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

    /// Whatever two offices do to an item's project links offline, Thailand's focal point
    /// holds the item exactly when every project it (now, merged) links is one Thailand may
    /// see — the server's index and the replicas' merge agree — and no restricted project's
    /// id ever reaches Thailand.
    #[test]
    fn visibility_follows_the_merged_links(steps in proptest::collection::vec(link_step(), 1..24)) {
        let mut w = world();
        let m = w
            .sec
            .create(
                Entity::Meeting,
                &fields(json!({"title": "SOM", "start_date": "2027-02-01", "classification": "public"})),
            )
            .expect("meeting");
        let item = w
            .sec
            .create(Entity::AgendaItem, &fields(json!({"meeting": m.id, "title": "Links"})))
            .expect("item");
        let projects: Vec<String> = (0..4)
            .map(|i| {
                let f = if i % 2 == 0 {
                    json!({"code": format!("P{i}"), "title": "open", "classification": "public"})
                } else {
                    json!({"code": format!("P{i}"), "title": "closed", "classification": "restricted", "scope": "KH"})
                };
                w.sec.create(Entity::Project, &fields(f)).expect("project").id
            })
            .collect();
        w.sec_sync();
        let mut other = w.replica("sec2.db");
        let sec = who(Role::Secretariat);
        sync(&mut other, &mut Direct { hub: &mut w.hub, who: sec.clone() }, &mut |_| {}).expect("sync");
        let mut th_replica = w.replica("th.db");
        for s in steps {
            match s {
                LinkStep::Link(r, mask) => {
                    let want: Vec<&String> = projects
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, p)| p)
                        .collect();
                    let target = if r == 0 { &mut w.sec } else { &mut other };
                    target
                        .update(Entity::AgendaItem, &item.id, &fields(json!({"projects": want})))
                        .expect("link");
                }
                LinkStep::Sync(0) => w.sec_sync(),
                LinkStep::Sync(_) => {
                    sync(&mut other, &mut Direct { hub: &mut w.hub, who: sec.clone() }, &mut |_| {})
                        .expect("sync");
                }
            }
            // Thailand follows along now and then, too.
            sync(&mut th_replica, &mut Direct { hub: &mut w.hub, who: th() }, &mut |_| {})
                .expect("th");
        }
        for _ in 0..2 {
            w.sec_sync();
            sync(&mut other, &mut Direct { hub: &mut w.hub, who: sec.clone() }, &mut |_| {})
                .expect("sync");
        }
        sync(&mut th_replica, &mut Direct { hub: &mut w.hub, who: th() }, &mut |_| {})
            .expect("th");
        let merged: Vec<String> = w
            .hub
            .state()
            .get(Entity::AgendaItem, &item.id)
            .expect("item")
            .fields
            .get("projects")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        // The odd ones are restricted to Cambodia.
        let closed: Vec<&String> = projects
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, p)| p)
            .collect();
        let may_see = !merged.iter().any(|p| closed.contains(&p));
        proptest::prop_assert_eq!(
            th_replica.get(Entity::AgendaItem, &item.id).is_ok(),
            may_see,
            "links {:?}", merged
        );
        let trace = format!(
            "{}{}",
            th_replica.dump().expect("dump"),
            serde_json::to_string(&th_replica.changes(0, usize::MAX).expect("log")).expect("json")
        );
        for c in &closed {
            proptest::prop_assert!(!trace.contains(c.as_str()), "a restricted project reached Thailand");
        }
        // The secretariat replicas agree with the hub.
        let hub_rows = w.hub.state().get(Entity::AgendaItem, &item.id).expect("hub item");
        proptest::prop_assert_eq!(w.sec.get(Entity::AgendaItem, &item.id).expect("sec"), hub_rows.clone());
        proptest::prop_assert_eq!(other.get(Entity::AgendaItem, &item.id).expect("other"), hub_rows);
    }
}
