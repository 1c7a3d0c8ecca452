//! Sync by hand-carried file with no HTTP anywhere: two replicas and the server's hub exchange
//! bundles (device → server → other device and back), with the same merge and scope rules as
//! online sync; a bundle replayed, changed, cut short or for another device is refused whole
//! and changes nothing; a lost bundle loses nothing (the next one carries the same outbox).

use desk_core::{Entity, Fields, Key, Replica};
use desk_keys::{sync_token, InMemory};
use desk_server::{auth, bundles, Hub, Role, Session};

const PASSWORD: &str = "long enough password";

fn fields(v: serde_json::Value) -> Fields {
    serde_json::from_value(v).expect("fields")
}

/// A replica signed in to the hub as `user` (its token kept in `keys`), as `desk login` leaves
/// it; no network is used afterwards.
struct Laptop {
    _dir: tempfile::TempDir,
    r: Replica,
    keys: InMemory,
}

impl Laptop {
    fn new(hub: &mut Hub, user: &str) -> Laptop {
        let dir = tempfile::tempdir().expect("tmp");
        let mut r = Replica::init(&dir.path().join("r.db"), &Key::Raw([2; 32])).expect("replica");
        let keys = InMemory::default();
        let login = auth::login(hub.store_mut(), user, PASSWORD, r.device_id()).expect("login");
        sync_token::store(&mut r, &keys, &login.token).expect("token");
        // What its first online round does: give the server its bundle-signing key.
        let public = desk_sync::bundle::key_to_send(&mut r)
            .expect("key")
            .expect("not sent yet");
        let me = Session {
            device: r.device_id().to_string(),
            who: desk_server::Principal {
                user: user.into(),
                role: login.role,
            },
            rescope: false,
        };
        auth::set_device_key(hub.store_mut(), &me, &public).expect("key kept");
        desk_sync::bundle::key_sent(&mut r, &public).expect("noted");
        Laptop { _dir: dir, r, keys }
    }
    fn carry_out(&mut self) -> Vec<u8> {
        desk_sync::bundle::export(&mut self.r, &self.keys, 1_796_600_000_000)
            .expect("export")
            .0
    }
    fn carry_in(&mut self, bytes: &[u8]) -> Result<desk_sync::bundle::Taken, desk_sync::SyncError> {
        desk_sync::bundle::import(&mut self.r, &self.keys, bytes, 1_796_700_000_000)
    }
    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .r
            .list(Entity::Contact, &Default::default())
            .expect("list")
            .iter()
            .map(|c| c.str("name").unwrap_or_default().to_string())
            .collect();
        v.sort();
        v
    }
}

fn hub() -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().expect("tmp");
    let mut hub = Hub::new(&dir.path().join("hub.db"), &Key::Raw([9; 32])).expect("hub");
    for (u, role) in [
        ("ana", Role::Secretariat),
        ("bob", Role::Secretariat),
        ("kh", Role::FocalPoint("KH".into())),
    ] {
        auth::add_user(hub.store_mut(), u, PASSWORD, &role).expect("user");
    }
    (dir, hub)
}

/// The server's answer for a laptop.
fn answer(hub: &mut Hub, l: &Laptop) -> Vec<u8> {
    bundles::export(hub, l.r.device_id(), 1_796_650_000_000, [3; 12])
        .expect("export")
        .0
}

#[test]
fn two_laptops_and_the_server_converge_by_bundles_alone() {
    let (_d, mut hub) = hub();
    let mut a = Laptop::new(&mut hub, "ana");
    let mut b = Laptop::new(&mut hub, "bob");
    let c =
        a.r.create(
            Entity::Contact,
            &fields(serde_json::json!({"name": "Somchai Jaidee", "title": "Director"})),
        )
        .expect("contact");
    a.r.record_audit("pack", "briefing pack of the SOM")
        .expect("audit");
    let from_a = a.carry_out();
    let done = bundles::import(&mut hub, &from_a).expect("import");
    assert_eq!(
        (done.user.as_str(), done.changes, done.audit),
        ("ana", 1, 1)
    );
    let logged = auth::audit_log(hub.store(), 20).expect("audit");
    assert!(logged
        .iter()
        .any(|(_, u, _, a, d)| u.as_deref() == Some("ana") && a == "pack" && d.contains("SOM")));

    // Bob's laptop takes the server's answer: Ana's contact arrives.
    bundles::import(&mut hub, &b.carry_out()).expect("bob's first");
    let taken = b.carry_in(&answer(&mut hub, &b)).expect("take");
    assert_eq!(taken.applied, 1);
    assert_eq!(b.names(), ["Somchai Jaidee"]);
    // Bob edits; the edit travels back to Ana by two more bundles, and Ana's outbox empties.
    b.r.update(
        Entity::Contact,
        &c.id,
        &fields(serde_json::json!({"title": "Deputy Director"})),
    )
    .expect("edit");
    bundles::import(&mut hub, &b.carry_out()).expect("bob's edit");
    assert_eq!(a.r.outbox_len().expect("outbox"), 1);
    let for_a = answer(&mut hub, &a);
    let taken = a.carry_in(&for_a).expect("take");
    assert_eq!(taken.waiting, 0, "the server holds Ana's changes");
    assert!(a.r.audit_unsent(10).expect("audit").is_empty());
    assert_eq!(
        a.r.get(Entity::Contact, &c.id).expect("get").str("title"),
        Some("Deputy Director")
    );
    assert_eq!(
        a.r.dump().expect("dump"),
        b.r.dump().expect("dump"),
        "converged"
    );
    // Bob's name for Ana's history came with it.
    let (_, h) = a.r.history(&c.id, 10).expect("history");
    assert_eq!(h[0].user.as_deref(), Some("bob"));

    // Taken twice: refused, nothing applied (either way round).
    let before = a.r.dump().expect("dump");
    let again = a.carry_in(&for_a).unwrap_err().to_string();
    assert!(again.contains("imported already"), "{again}");
    let replay = bundles::import(&mut hub, &from_a).unwrap_err().to_string();
    assert!(replay.contains("imported already"), "{replay}");
    // Changed or cut short: refused whole.
    let mut tampered = for_a.clone();
    let n = tampered.len() - 10;
    tampered[n] ^= 0x40;
    assert!(a.carry_in(&tampered).is_err());
    assert!(a.carry_in(&for_a[..for_a.len() / 2]).is_err());
    // For another device: refused before it is opened.
    let wrong = b.carry_in(&for_a).unwrap_err().to_string();
    assert!(wrong.contains("not this one"), "{wrong}");
    assert_eq!(a.r.dump().expect("dump"), before, "nothing applied");
}

#[test]
fn a_lost_bundle_loses_nothing_and_scope_and_revocation_hold_as_online() {
    let (_d, mut hub) = hub();
    let mut a = Laptop::new(&mut hub, "ana");
    let mut kh = Laptop::new(&mut hub, "kh");
    a.r.create(
        Entity::Contact,
        &fields(serde_json::json!({"name": "Chanthy Keo", "country": "KH", "classification": "restricted", "scope": "KH"})),
    )
    .expect("kh contact");
    a.r.create(
        Entity::Contact,
        &fields(serde_json::json!({"name": "Nguyen Van An", "country": "VN", "classification": "restricted", "scope": "VN"})),
    )
    .expect("vn contact");
    let _lost = a.carry_out();
    let second = a.carry_out();
    bundles::import(&mut hub, &second).expect("the next one carries the same outbox");
    bundles::import(&mut hub, &kh.carry_out()).expect("kh");
    kh.carry_in(&answer(&mut hub, &kh)).expect("take");
    assert_eq!(
        kh.names(),
        ["Chanthy Keo"],
        "a focal point receives only their country's"
    );

    // A revoked laptop's bundle is refused, and none is made for it.
    auth::revoke_device(hub.store_mut(), kh.r.device_id()).expect("revoke");
    let refused = bundles::import(&mut hub, &kh.carry_out())
        .unwrap_err()
        .to_string();
    assert!(refused.contains("revoked"), "{refused}");
    assert!(bundles::export(&mut hub, kh.r.device_id(), 0, [1; 12]).is_err());
}

#[test]
fn a_bundle_needs_its_devices_signature_not_only_the_sealing_key() {
    let (_d, mut hub) = hub();
    let mut a = Laptop::new(&mut hub, "ana");
    a.r.create(
        Entity::Contact,
        &fields(serde_json::json!({"name": "Forged Entry"})),
    )
    .expect("contact");
    let real = a.carry_out();
    // Someone who read the server's store knows the token's hash, so the sealing key: they can
    // seal a bundle, but not sign it as the device (here: signed with another key).
    let (other, _) = desk_protocol::bundle::signing_key().expect("key");
    let sealed = &real[..real.len() - desk_protocol::bundle::SIGNATURE];
    let forged = desk_protocol::bundle::sign(&other, sealed.to_vec()).expect("sign");
    let err = bundles::import(&mut hub, &forged).unwrap_err().to_string();
    assert!(err.contains("changed after it was made"), "{err}");
    assert!(
        hub.history().expect("history").is_empty(),
        "nothing applied"
    );
    bundles::import(&mut hub, &real).expect("the device's own");
    // A laptop that never gave its key (never synced online) can make no bundle.
    let dir = tempfile::tempdir().expect("tmp");
    let mut fresh = Replica::init(&dir.path().join("r.db"), &Key::Raw([2; 32])).expect("replica");
    let keys = InMemory::default();
    let login = auth::login(hub.store_mut(), "bob", PASSWORD, fresh.device_id()).expect("login");
    sync_token::store(&mut fresh, &keys, &login.token).expect("token");
    let err = desk_sync::bundle::export(&mut fresh, &keys, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sync online once"), "{err}");
}
