//! Deterministic simulation: 8 replicas and a hub, random creates, edits, deletes, restores,
//! changes of who may see a record and documents with files, while replicas go offline, die
//! and start again between transactions, and come back, over a network
//! that drops requests, loses replies (the server committed, the client never heard), repeats
//! requests and delivers late ones out of order; the server restarts now and then. Replicas 0–4
//! belong to the secretariat, 5 and 6 to the focal points of Thailand and Cambodia, 7 to a
//! development partner (reads only). Replica 4 is a courier: it never syncs online, only by
//! hand-carried bundles, some of which are lost and some taken twice (refused the second time).
//! Every run is seeded; a failure prints its seed.
//!
//! After each run, with everyone back online: every secretariat replica equals the hub (same
//! dump), a secretariat laptop set up only now from the initial sync's snapshot included; every
//! other replica (a focal point's and a partner's set up only now among them) holds exactly the
//! records its role may see, each equal to the hub's, and no id of any other record anywhere (records, history, conflicts); every edit ever
//! made is in the hub's history exactly once, or kept aside for review (an edit to a record that
//! left its author's scope meanwhile); no record came back from a delete except by a restore
//! newer than the delete; every outbox is empty.
//!
//! `SIM_SEEDS=N` runs N seeds (CI runs 300, on SQLite and again on PostgreSQL; `SIM_SEEDS=10000 cargo test -p desk-server --release
//! --test simulation` is the long run), `SIM_SEED=S` one seed.

mod direct;

use desk_core::{Change, Entity, Fields, Key, ListQuery, Replica};
use desk_server::testing::TestStore;
use desk_server::{Hub, HubError, Principal, Role};
use desk_sync::{sync, PullReply, PushReply, SyncError, Transport};
use direct::{client_error, Direct};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A network between one client and the hub that misbehaves on purpose.
struct BadNet<'a> {
    hub: &'a mut Hub,
    who: &'a Principal,
    rng: &'a mut Rng,
    /// Push requests held back, delivered later (out of order).
    late: &'a mut Vec<(Principal, String, Vec<Change>)>,
}

impl Transport for BadNet<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        // Deliver a late request first, sometimes.
        if !self.late.is_empty() && self.rng.chance(30) {
            let (w, d, b) = self.late.remove(self.rng.below(self.late.len()));
            let _ = self.hub.push(&w, &d, &b);
        }
        match self.rng.below(100) {
            0..=9 => Err(SyncError::Network("request dropped".into())),
            10..=19 => {
                let _ = self
                    .hub
                    .push(self.who, device, batch)
                    .map_err(client_error)?;
                Err(SyncError::Network("reply lost".into()))
            }
            20..=27 => {
                self.late
                    .push((self.who.clone(), device.to_string(), batch.to_vec()));
                Err(SyncError::Network("request delayed".into()))
            }
            28..=35 => {
                let _ = self
                    .hub
                    .push(self.who, device, batch)
                    .map_err(client_error)?;
                self.hub.push(self.who, device, batch).map_err(client_error)
            }
            _ => self.hub.push(self.who, device, batch).map_err(client_error),
        }
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        self.pull_snapshot(after, 0, limit)
    }
    fn pull_snapshot(
        &mut self,
        after: i64,
        snapshot: i64,
        limit: usize,
    ) -> Result<PullReply, SyncError> {
        match self.rng.below(100) {
            0..=9 => Err(SyncError::Network("pull dropped".into())),
            // A smaller page than asked for: the client must loop on `more`.
            10..=29 => {
                let short = 1 + self.rng.below(limit.min(7));
                self.hub
                    .pull_snapshot(self.who, after, snapshot, short)
                    .map_err(client_error)
            }
            _ => self
                .hub
                .pull_snapshot(self.who, after, snapshot, limit)
                .map_err(client_error),
        }
    }
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Fields::new(),
    }
}

const TITLES: [&str; 4] = ["Director", "Deputy Director", "Desk Officer", "Counsellor"];
const NAMES: [&str; 5] = [
    "Somchai Jaidee",
    "Nguyễn Văn An",
    "សុខ វណ្ណា",
    "အောင်ကျော်",
    "ສົມພອນ",
];

fn contacts(r: &Replica) -> Vec<(String, bool)> {
    r.list(
        Entity::Contact,
        &ListQuery {
            include_deleted: true,
            ..Default::default()
        },
    )
    .expect("list")
    .into_iter()
    .map(|c| (c.id, c.deleted))
    .collect()
}

/// A random classification and scope (as typed: comma-separated countries).
fn classification(rng: &mut Rng) -> (&'static str, String) {
    match rng.below(4) {
        0 => ("public", String::new()),
        1 => ("internal", String::new()),
        _ => {
            let scope: Vec<&str> = ["TH", "KH", "VN"]
                .into_iter()
                .filter(|_| rng.chance(50))
                .collect();
            ("restricted", scope.join(","))
        }
    }
}

const SIM_TAGS: [&str; 4] = ["focal_point", "som_leader", "energy", "water"];

/// What the runs exercised, so a run that never purged or kept anything aside fails.
#[derive(Default)]
struct Seen {
    purged: usize,
    quarantined: usize,
    files: usize,
    /// Changes of the history an initial sync did not need (superseded writes left out).
    left_out: usize,
    /// The attacker's tries, by kind (see `Mallory`).
    attacks: [usize; 5],
    /// Server bundles the courier took.
    bundles: usize,
}

/// A signed-in focal point of Thailand who attacks the hub at random steps: signing in as
/// another user's device, reading a file by naming its hash, pushing values no local edit
/// could store, hiding shared records from others by pointing them at its own restricted
/// records, and replaying history it may not see now. Every attempt must fail or do no harm.
struct Mallory {
    who: Principal,
    device: String,
    seq: i64,
    /// Files it named without holding them (honest replicas seeing those documents never get
    /// the file: they are left out of the "no file missing" check).
    named: Vec<String>,
    /// Attacks tried, by kind.
    tried: [usize; 5],
}

impl Mallory {
    fn new() -> Mallory {
        Mallory {
            who: Principal {
                user: "mallory".into(),
                role: Role::FocalPoint("TH".into()),
            },
            device: "01900000-0000-7000-8000-00000000dead".into(),
            seq: 0,
            named: Vec::new(),
            tried: [0; 5],
        }
    }

    fn change(&mut self, entity: &str, record: &str, fields: Value) -> Change {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Change {
            seq: 0,
            device: self.device.clone(),
            dev_seq: self.seq + 1,
            tx: self.seq + 1,
            entity: entity.into(),
            record: record.into(),
            hlc: desk_core::hlc::Hlc::new(now, 0),
            schema_version: desk_core::SCHEMA_VERSION,
            fields: fields
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| desk_core::FieldChange {
                            field: k.clone(),
                            value: v.clone(),
                            base: desk_core::hlc::Hlc::ZERO,
                            set: None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Pushes one change; its sequence number is used only when the hub takes it.
    fn push(&mut self, hub: &mut Hub, c: Change) -> Result<PushReply, SyncError> {
        let r = hub
            .push(&self.who.clone(), &self.device.clone(), &[c])
            .map_err(client_error);
        if r.is_ok() {
            self.seq += 1;
        }
        r
    }

    fn id(rng: &mut Rng) -> String {
        format!(
            "01900000-0000-7000-8000-{:012x}",
            rng.next() & 0xffff_ffff_ffff
        )
    }

    fn attack(&mut self, seed: u64, rng: &mut Rng, hub: &mut Hub, replicas: &[Replica]) {
        let kind = rng.below(5);
        if kind == 0 && (!seed.is_multiple_of(10) || self.tried[0] > 0) {
            return; // (a sign-in costs two password hashes: one seed in ten tries it, once)
        }
        self.tried[kind] += 1;
        // What each other role sees now (records, deleted ones included): nothing of it may go.
        let others = [
            Role::FocalPoint("KH".into()),
            Role::Partner,
            Role::FocalPoint("VN".into()),
        ];
        let seen = |hub: &Hub| -> Vec<u64> {
            others
                .iter()
                .map(|r| {
                    hub.checksum(&Principal {
                        user: "probe".into(),
                        role: r.clone(),
                    })
                    .expect("checksum")
                    .records
                })
                .collect()
        };
        let before = seen(hub);
        let head = hub.head();
        match kind {
            0 => {
                // Sign in as a secretariat laptop (its device id travels in every change).
                // (Not the courier's: its device is signed in to a user of its own.)
                let victim = replicas[rng.below(COURIER)].device_id().to_string();
                let pw = "victim's password";
                let store = hub.store_mut();
                desk_server::auth::add_user(store, "victim", pw, &Role::Secretariat).expect("user");
                desk_server::auth::add_user(store, "mallory", pw, &self.who.role).expect("user");
                desk_server::auth::login(store, "victim", pw, &victim).expect("owner signs in");
                let err = desk_server::auth::login(store, "mallory", pw, &victim)
                    .expect_err("a sign-in as another user's device");
                assert!(
                    matches!(err, HubError::DeviceTaken(_)),
                    "seed {seed}: {err}"
                );
            }
            1 => {
                // Name the hash of a file it may not read in a public document of its own.
                let docs = hub
                    .state()
                    .list(Entity::Document, &ListQuery::default())
                    .expect("documents");
                let Some(d) = docs.get(rng.below(docs.len().max(1))) else {
                    return;
                };
                let Some(sha) = d.str("sha256").map(String::from) else {
                    return;
                };
                let c = self.change(
                    "document",
                    &Self::id(rng),
                    json!({"title": "Mine", "sha256": sha, "classification": "public"}),
                );
                if self.push(hub, c).is_ok() {
                    self.named.push(sha.clone());
                }
                // It may read the file only through a document it may see that someone else
                // wrote (honest authors hold their files).
                let legit = docs.iter().any(|x| {
                    x.str("sha256") == Some(sha.as_str())
                        && self.who.role.sees(
                            x.str("classification").unwrap_or("internal"),
                            &x.fields
                                .get("scope")
                                .and_then(Value::as_array)
                                .map(|a| {
                                    a.iter()
                                        .filter_map(|v| v.as_str().map(String::from))
                                        .collect::<Vec<_>>()
                                })
                                .unwrap_or_default(),
                        )
                });
                if !legit {
                    assert!(
                        hub.blob_get(&self.who, &sha, 0, 1 << 20).is_err(),
                        "seed {seed}: a file reached a user by naming its hash"
                    );
                }
            }
            2 => {
                // Values no local edit could store.
                let known = contacts(hub.state());
                let target = known
                    .get(rng.below(known.len().max(1)))
                    .map_or_else(|| Self::id(rng), |(id, _)| id.clone());
                let fields = match rng.below(6) {
                    0 => json!({"title": {"a": 1}}),
                    1 => json!({"name": "x".repeat(5000)}),
                    2 => json!({"email": "not an address"}),
                    3 => json!({"country": "../../etc/passwd"}),
                    4 => json!({"org": Self::id(rng)}),
                    _ => json!({"colour": "red"}),
                };
                let c = self.change("contact", &target, fields);
                let err = self.push(hub, c).expect_err("a malformed change");
                assert!(
                    matches!(err, SyncError::BadChange(_) | SyncError::OutOfScope(_)),
                    "seed {seed}: {err}"
                );
                assert_eq!(hub.head(), head, "seed {seed}: a refused change was stored");
            }
            3 => {
                // Point a contact others see at an organisation only Thailand may see.
                let org = Self::id(rng);
                let c = self.change(
                    "organisation",
                    &org,
                    json!({"name": "Mallory Ltd", "classification": "restricted", "scope": ["TH"]}),
                );
                if self.push(hub, c).is_err() {
                    return;
                }
                let before = seen(hub);
                let known = contacts(hub.state());
                let Some((target, _)) = known.get(rng.below(known.len().max(1))).cloned() else {
                    return;
                };
                let c = self.change("contact", &target, json!({"org": org}));
                let _ = self.push(hub, c);
                assert_eq!(
                    seen(hub),
                    before,
                    "seed {seed}: a focal point's edit hid records from others"
                );
                return;
            }
            _ => {
                // Replay the history from zero in tiny pages as a user added now: nothing of
                // a record it may not see now may come.
                let late = Principal {
                    user: "late".into(),
                    role: Role::FocalPoint("KH".into()),
                };
                let visible: std::collections::HashSet<String> = hub
                    .state()
                    .list(
                        Entity::Contact,
                        &ListQuery {
                            include_deleted: true,
                            ..Default::default()
                        },
                    )
                    .expect("contacts")
                    .into_iter()
                    .chain(
                        hub.state()
                            .list(
                                Entity::Document,
                                &ListQuery {
                                    include_deleted: true,
                                    ..Default::default()
                                },
                            )
                            .expect("documents"),
                    )
                    .filter(|r| {
                        let scope: Vec<String> = r
                            .fields
                            .get("scope")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str().map(String::from))
                                    .collect()
                            })
                            .unwrap_or_default();
                        late.role
                            .sees(r.str("classification").unwrap_or("internal"), &scope)
                    })
                    .map(|r| r.id)
                    .collect();
                let limit = 1 + rng.below(3);
                let mut after = 0;
                loop {
                    let page = hub.pull_snapshot(&late, after, 0, limit).expect("pull");
                    for c in &page.changes {
                        assert!(
                            visible.contains(&c.record),
                            "seed {seed}: a user added now received {} {}, which it may not see now",
                            c.entity,
                            c.record
                        );
                    }
                    after = page.cursor;
                    if !page.more {
                        break;
                    }
                }
            }
        }
        let after = seen(hub);
        assert!(
            after.iter().zip(&before).all(|(a, b)| a >= b),
            "seed {seed}: an attack hid records from other users ({before:?} -> {after:?})"
        );
    }
}

/// The replica that syncs only by hand-carried bundles (a secretariat laptop).
const COURIER: usize = 4;

/// The courier's sign-in: a device registered to its user, its token in a keychain of its own
/// (a bundle's key comes from it).
struct Courier {
    keys: desk_keys::InMemory,
    device: String,
}

impl Courier {
    fn sign_in(hub: &mut Hub, r: &mut Replica, user: &str) -> Courier {
        let pw = "courier's password";
        desk_server::auth::add_user(hub.store_mut(), user, pw, &Role::Secretariat).expect("user");
        let login =
            desk_server::auth::login(hub.store_mut(), user, pw, r.device_id()).expect("login");
        let keys = desk_keys::InMemory::default();
        desk_keys::sync_token::store(r, &keys, &login.token).expect("token");
        // Its one online moment: the server learns the key its bundles are signed with.
        let public = desk_sync::bundle::key_to_send(r)
            .expect("key")
            .expect("unsent");
        let me = desk_server::Session {
            device: r.device_id().to_string(),
            who: Principal {
                user: user.into(),
                role: Role::Secretariat,
            },
            rescope: false,
        };
        desk_server::auth::set_device_key(hub.store_mut(), &me, &public).expect("key");
        desk_sync::bundle::key_sent(r, &public).expect("noted");
        Courier {
            keys,
            device: r.device_id().to_string(),
        }
    }

    /// One trip to the back office and back: the laptop's bundle (lost `lose`% of the time,
    /// taken twice `twice`% — the second refused, changing nothing), then the server's answer
    /// (the same). Returns what the laptop took, if anything.
    fn trip(
        &self,
        seed: u64,
        rng: &mut Rng,
        hub: &mut Hub,
        r: &mut Replica,
        lose: u64,
        twice: u64,
    ) -> Option<desk_sync::bundle::Taken> {
        let (out, _) = desk_sync::bundle::export(r, &self.keys, 0).expect("courier export");
        if !rng.chance(lose) {
            let before = hub.history().expect("history").len();
            if let Err(e) = desk_server::bundles::import(hub, &out) {
                panic!("seed {seed}: the courier's bundle was refused: {e}");
            }
            if rng.chance(twice) {
                let after = hub.history().expect("history").len();
                assert!(
                    desk_server::bundles::import(hub, &out).is_err(),
                    "seed {seed}: a bundle taken twice"
                );
                assert_eq!(hub.history().expect("history").len(), after, "seed {seed}");
                assert!(after >= before);
            }
        }
        let mut nonce = [0u8; 12];
        nonce.iter_mut().for_each(|b| *b = rng.next() as u8);
        let (back, _) = desk_server::bundles::export(hub, &self.device, 0, nonce)
            .unwrap_or_else(|e| panic!("seed {seed}: no answer for the courier: {e}"));
        if rng.chance(lose) {
            return None;
        }
        let taken = desk_sync::bundle::import(r, &self.keys, &back, 0).unwrap_or_else(|e| {
            panic!("seed {seed}: the courier refused the server's bundle: {e}")
        });
        if rng.chance(twice) {
            let dump = r.dump().expect("dump");
            assert!(
                desk_sync::bundle::import(r, &self.keys, &back, 0).is_err(),
                "seed {seed}: the server's bundle taken twice"
            );
            assert_eq!(r.dump().expect("dump"), dump, "seed {seed}");
        }
        Some(taken)
    }
}

fn run(seed: u64, exercised: &mut Seen) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([9u8; 32]);
    let store = TestStore::new(dir.path()).expect("store");
    let mut hub = store.open().expect("hub");
    let mut replicas: Vec<Replica> = (0..8)
        .map(|i| Replica::init(&dir.path().join(format!("r{i}.db")), &key).expect("replica"))
        .collect();
    let roles: Vec<Principal> = (0..8)
        .map(|i| Principal {
            user: format!("user{i}"),
            role: match i {
                0..=4 => Role::Secretariat,
                5 => Role::FocalPoint("TH".into()),
                6 => Role::FocalPoint("KH".into()),
                _ => Role::Partner,
            },
        })
        .collect();
    let mut online = [true; 8];
    let mut late: Vec<(Principal, String, Vec<Change>)> = Vec::new();
    // Every change made anywhere: (device, dev_seq).
    let mut made: BTreeMap<(String, i64), ()> = BTreeMap::new();
    let record_new = |r: &Replica, made: &mut BTreeMap<(String, i64), ()>| {
        for c in r.outbox(usize::MAX).expect("outbox") {
            made.insert((c.device.clone(), c.dev_seq), ());
        }
    };

    let courier = Courier::sign_in(&mut hub, &mut replicas[COURIER], &roles[COURIER].user);
    let mut mallory = Mallory::new();
    for _step in 0..60 {
        if rng.chance(10) {
            mallory.attack(seed, &mut rng, &mut hub, &replicas);
        }
        let i = rng.below(8);
        let op = rng.below(100);
        let role = &roles[i].role;
        if *role == Role::Partner && (op < 62 || (65..=67).contains(&op)) {
            // A partner reads; its replica never writes.
            continue;
        }
        match op {
            0..=14 => {
                let name = NAMES[rng.below(NAMES.len())];
                let (class, scope) = match role {
                    // A focal point creates only what it may see itself.
                    Role::FocalPoint(c) => match rng.below(3) {
                        0 => ("public", String::new()),
                        1 => ("internal", String::new()),
                        _ => ("restricted", format!("{c},VN")),
                    },
                    _ => classification(&mut rng),
                };
                let _ = replicas[i].create(
                    Entity::Contact,
                    &fields(json!({"name": name, "title": TITLES[rng.below(4)],
                        "tags": [SIM_TAGS[rng.below(SIM_TAGS.len())]],
                        "classification": class, "scope": scope})),
                );
            }
            15..=49 => {
                let known = contacts(&replicas[i]);
                if !known.is_empty() {
                    let (id, _) = &known[rng.below(known.len())];
                    let f = if *role == Role::Secretariat && rng.chance(25) {
                        // Who may see it changes.
                        let (class, scope) = classification(&mut rng);
                        json!({"classification": class, "scope": scope})
                    } else if rng.chance(50) {
                        json!({"title": TITLES[rng.below(4)]})
                    } else if rng.chance(50) {
                        // Tags, an add-wins set: one added or dropped.
                        let mut t: Vec<String> = replicas[i]
                            .get(Entity::Contact, id)
                            .ok()
                            .and_then(|c| c.fields.get("tags").cloned())
                            .and_then(|v| serde_json::from_value(v).ok())
                            .unwrap_or_default();
                        let tag = SIM_TAGS[rng.below(SIM_TAGS.len())].to_string();
                        if t.contains(&tag) {
                            t.retain(|x| *x != tag);
                        } else {
                            t.push(tag);
                        }
                        json!({ "tags": t })
                    } else {
                        json!({"name": NAMES[rng.below(NAMES.len())]})
                    };
                    // Editing a deleted record is refused locally; that is fine.
                    let _ = replicas[i].update(Entity::Contact, id, &fields(f));
                }
            }
            50..=57 => {
                let known = contacts(&replicas[i]);
                if let Some((id, false)) = known.get(rng.below(known.len().max(1))).cloned() {
                    let _ = replicas[i].delete(Entity::Contact, &id);
                }
            }
            58..=61 => {
                let known = contacts(&replicas[i]);
                if let Some((id, true)) = known.get(rng.below(known.len().max(1))).cloned() {
                    let _ = replicas[i].restore(Entity::Contact, &id);
                }
            }
            62..=64 => online[i] = !online[i],
            65..=67 => {
                // A document with a file (a few KB, random bytes).
                let len = 100 + rng.below(3000);
                let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let (class, scope) = match role {
                    Role::FocalPoint(c) => ("restricted", c.to_string()),
                    _ => classification(&mut rng),
                };
                if let Ok(sha) = replicas[i].put_blob(&data) {
                    let _ = replicas[i].create(
                        Entity::Document,
                        &fields(json!({"title": "Concept note", "sha256": sha,
                            "classification": class, "scope": scope})),
                    );
                }
            }
            68 => {
                // The replica's process dies between two transactions and starts again.
                let path = replicas[i].path().to_path_buf();
                let fresh = Replica::open(&path, &key).expect("reopen replica");
                replicas[i] = fresh;
            }
            69 => {
                // The server process dies and restarts: it carries on from its store.
                drop(hub);
                hub = store.open().expect("hub restart");
            }
            _ if i == COURIER => {
                record_new(&replicas[i], &mut made);
                if let Some(t) = courier.trip(seed, &mut rng, &mut hub, &mut replicas[i], 20, 20) {
                    exercised.purged += t.purged;
                    exercised.bundles += 1;
                }
            }
            _ => {
                if online[i] {
                    record_new(&replicas[i], &mut made);
                    let mut net = BadNet {
                        hub: &mut hub,
                        who: &roles[i],
                        rng: &mut rng,
                        late: &mut late,
                    };
                    // Failures are expected here; the next sync resumes.
                    if let Ok(rep) = sync(&mut replicas[i], &mut net, &mut |_| {}) {
                        exercised.purged += rep.purged;
                        exercised.quarantined += rep.quarantined;
                        exercised.files += rep.files_received;
                    }
                }
            }
        }
        record_new(&replicas[i], &mut made);
    }

    // Everyone back online, the network healed (late requests finally arrive, harmlessly).
    for (w, d, b) in late.drain(..) {
        let _ = hub.push(&w, &d, &b);
    }
    for _round in 0..2 {
        for (k, (r, who)) in replicas.iter_mut().zip(&roles).enumerate() {
            record_new(r, &mut made);
            if k == COURIER {
                // Its last trips arrive: nothing lost, nothing twice.
                courier
                    .trip(seed, &mut rng, &mut hub, r, 0, 0)
                    .expect("a clean trip");
                continue;
            }
            let mut t = Direct {
                hub: &mut hub,
                who: who.clone(),
            };
            let rep = sync(r, &mut t, &mut |_| {}).expect("clean sync");
            exercised.purged += rep.purged;
            exercised.quarantined += rep.quarantined;
            exercised.files += rep.files_received;
        }
    }

    // The courier's last trip: files of documents that reached it on the one before (a
    // bundle brings files asked for by the one it answers).
    courier
        .trip(seed, &mut rng, &mut hub, &mut replicas[COURIER], 0, 0)
        .expect("a clean trip");

    // A secretariat laptop set up now starts from nothing: its initial sync gets current
    // rows (superseded writes left out), in small pages, and must end equal to the others.
    let mut newcomer = Replica::init(&dir.path().join("newcomer.db"), &key).expect("newcomer");
    let mut t = Direct {
        hub: &mut hub,
        who: Principal {
            user: "newcomer".into(),
            role: Role::Secretariat,
        },
    };
    let rep = desk_sync::sync_with(&mut newcomer, &mut t, 1 + (seed % 7) as usize, &mut |_| {})
        .expect("initial sync");
    let history = hub.history().expect("history").len();
    assert!(
        rep.applied <= history,
        "seed {seed}: more applied than held"
    );
    exercised.left_out += history - rep.applied;
    assert!(
        newcomer.dump().expect("dump") == replicas[0].dump().expect("dump"),
        "seed {seed}: a replica synced from nothing differs from one that followed along"
    );

    // Newcomers of the other roles start from nothing too: their snapshot must hold exactly
    // what they may see now, and no other id (checked below with everyone else).
    let mut roles = roles;
    for (n, role) in [Role::FocalPoint("KH".into()), Role::Partner]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("newcomer-{n}.db"));
        let mut r = Replica::init(&path, &key).expect("newcomer");
        let who = Principal {
            user: format!("newcomer-{n}"),
            role,
        };
        let mut t = Direct {
            hub: &mut hub,
            who: who.clone(),
        };
        desk_sync::sync_with(&mut r, &mut t, 1 + (seed / 7 % 5) as usize, &mut |_| {})
            .expect("initial sync");
        replicas.push(r);
        roles.push(who);
    }

    let expected = hub.state().dump().expect("hub dump");
    let every = |r: &Replica| {
        let mut v = Vec::new();
        for e in [Entity::Contact, Entity::Document] {
            v.extend(
                r.list(
                    e,
                    &ListQuery {
                        include_deleted: true,
                        ..Default::default()
                    },
                )
                .expect("list"),
            );
        }
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    let all = every(hub.state());
    let orgs: Vec<String> = hub
        .state()
        .list(Entity::Organisation, &ListQuery::default())
        .expect("organisations")
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert!(
        hub.missing_files().expect("files").is_empty(),
        "seed {seed}: the hub lacks a file"
    );
    for (k, r) in replicas.iter().enumerate() {
        assert!(
            r.outbox(1).expect("outbox").is_empty(),
            "seed {seed}: replica {k} still has unsent changes"
        );
        let role = &roles[k].role;
        // (Files named only in the attacker's documents never come: it never held them.)
        let lacking: Vec<String> = r
            .missing_blobs()
            .expect("files")
            .into_iter()
            .filter(|sha| !mallory.named.contains(sha))
            .collect();
        assert!(
            lacking.is_empty(),
            "seed {seed}: replica {k} lacks files of documents it holds"
        );
        if *role == Role::Secretariat {
            // Records against the hub (whose store keeps no search index); the whole dump,
            // search entries too, against the first secretariat replica.
            let full = r.dump().expect("dump");
            let first = replicas[0].dump().expect("dump");
            assert!(
                full == first,
                "seed {seed}: replica {k} differs from replica 0 (search entries?)"
            );
            let got = full
                .split("## search\n")
                .next()
                .unwrap_or_default()
                .to_string();
            assert!(
                got == expected,
                "seed {seed}: replica {k} differs from the hub\n--- hub\n{expected}\n--- replica\n{got}"
            );
            continue;
        }
        // The oracle: the hub's records this role may see, by their own classification and
        // that of the organisation they name (the attacker's, restricted to Thailand).
        let sees = |c: &desk_core::Record| {
            let scope: Vec<String> = c
                .fields
                .get("scope")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            role.sees(c.str("classification").unwrap_or("internal"), &scope)
        };
        let visible: Vec<_> = all
            .iter()
            .filter(|c| {
                sees(c)
                    && c.str("org").is_none_or(|o| {
                        !orgs.iter().any(|x| x == o) || role.sees("restricted", &["TH".to_string()])
                    })
            })
            .cloned()
            .collect();
        let mut visible = visible;
        visible.sort_by(|a, b| a.id.cmp(&b.id));
        let held = every(r);
        assert_eq!(
            held, visible,
            "seed {seed}: replica {k} ({role:?}) does not hold exactly what it may see"
        );
        let mut ids: std::collections::HashSet<&str> =
            visible.iter().map(|c| c.id.as_str()).collect();
        // The attacker's own organisations (restricted to Thailand) are Thailand's to hold.
        if role.sees("restricted", &["TH".to_string()]) {
            ids.extend(orgs.iter().map(String::as_str));
        }
        for c in r.changes(0, usize::MAX).expect("log") {
            assert!(
                ids.contains(c.record.as_str()),
                "seed {seed}: replica {k} ({role:?}) keeps history of {} it may not see",
                c.record
            );
        }
        for c in r.conflicts(true).expect("conflicts") {
            assert!(
                ids.contains(c.record.as_str()),
                "seed {seed}: replica {k} ({role:?}) keeps a conflict on {} it may not see",
                c.record
            );
        }
    }
    for (n, t) in mallory.tried.iter().enumerate() {
        exercised.attacks[n] += t;
    }
    // No acknowledged edit lost, none applied twice: the history holds each change once.
    let mut seen: HashMap<(String, i64), usize> = HashMap::new();
    let history = hub.history().expect("history");
    for c in &history {
        *seen.entry((c.device.clone(), c.dev_seq)).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "seed {seed}: a change twice in the history"
    );
    let aside: std::collections::HashSet<(String, i64)> = hub
        .quarantined()
        .expect("quarantine")
        .into_iter()
        .map(|(d, s, _, _)| (d, s))
        .collect();
    for key in made.keys() {
        assert!(
            seen.contains_key(key) ^ aside.contains(key),
            "seed {seed}: change {key:?} is not exactly once in the history or kept aside"
        );
    }
    // No resurrection: a record is live exactly when its newest delete-or-restore (by clock,
    // then device) is a restore (or it was never deleted). Edits never bring it back.
    let mut last: HashMap<&str, (u64, &str, bool)> = HashMap::new();
    for c in &history {
        for f in c.fields.iter().filter(|f| f.field == "_deleted") {
            let deleted = f.value == Value::Bool(true);
            let v = (c.hlc.0, c.device.as_str(), deleted);
            let e = last.entry(c.record.as_str()).or_insert(v);
            if (v.0, v.1) > (e.0, e.1) {
                *e = v;
            }
        }
    }
    for (id, deleted) in contacts(hub.state()) {
        let want = last.get(id.as_str()).is_some_and(|v| v.2);
        assert_eq!(
            deleted, want,
            "seed {seed}: record {id} deleted={deleted}, the newest delete/restore says {want}"
        );
    }
}

#[test]
fn replicas_converge_through_a_bad_network() {
    let mut exercised = Seen::default();
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run(seed, &mut exercised);
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    for seed in 1..=seeds {
        run(seed, &mut exercised);
    }
    if seeds >= 20 {
        assert!(
            exercised.purged > 0
                && exercised.quarantined > 0
                && exercised.files > 0
                && exercised.left_out > 0
                && exercised.bundles > 0
                && exercised.attacks.iter().all(|n| *n > 0),
            "the runs never purged ({}), kept an edit aside ({}), moved a file ({}) or left a \
             superseded write out of an initial sync ({}), carried a bundle ({}), or tried every \
             attack ({:?}): the simulation lost its teeth",
            exercised.purged,
            exercised.quarantined,
            exercised.files,
            exercised.left_out,
            exercised.bundles,
            exercised.attacks
        );
    }
    eprintln!(
        "{seeds} seeds: {} records purged from replicas, {} edits kept aside for review, {} files \
         fetched, {} changes an initial sync did without, {} server bundles carried to the courier; \
         attacks tried (sign-in as another's device, file by hash, malformed, hiding, replay): {:?}",
        exercised.purged,
        exercised.quarantined,
        exercised.files,
        exercised.left_out,
        exercised.bundles,
        exercised.attacks
    );
}
