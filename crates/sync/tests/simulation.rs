//! Deterministic simulation: 8 replicas and a hub, random creates, edits, deletes, restores,
//! changes of who may see a record and documents with files, while replicas go offline, die
//! and start again between transactions, and come back, over a network
//! that drops requests, loses replies (the server committed, the client never heard), repeats
//! requests and delivers late ones out of order; the server restarts now and then. Replicas 0–4
//! belong to the secretariat, 5 and 6 to the focal points of Thailand and Cambodia, 7 to a
//! development partner (reads only). Every run is seeded; a failure prints its seed.
//!
//! After each run, with everyone back online: every secretariat replica equals the hub (same
//! dump), a secretariat laptop set up only now from the initial sync's snapshot included; every
//! other replica (a focal point's and a partner's set up only now among them) holds exactly the
//! records its role may see, each equal to the hub's, and no id of any other record anywhere (records, history, conflicts); every edit ever
//! made is in the hub's history exactly once, or kept aside for review (an edit to a record that
//! left its author's scope meanwhile); no record came back from a delete except by a restore
//! newer than the delete; every outbox is empty.
//!
//! `SIM_SEEDS=N` runs N seeds (CI runs 300, on SQLite and again on PostgreSQL; `SIM_SEEDS=10000 cargo test -p desk-sync --release
//! --test simulation` is the long run), `SIM_SEED=S` one seed.

use desk_core::{Change, Entity, Fields, Key, ListQuery, Replica};
use desk_sync::testing::TestStore;
use desk_sync::{sync, Direct, Hub, Principal, PullReply, PushReply, Role, SyncError, Transport};
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
                let _ = self.hub.push(self.who, device, batch)?;
                Err(SyncError::Network("reply lost".into()))
            }
            20..=27 => {
                self.late
                    .push((self.who.clone(), device.to_string(), batch.to_vec()));
                Err(SyncError::Network("request delayed".into()))
            }
            28..=35 => {
                let _ = self.hub.push(self.who, device, batch)?;
                self.hub.push(self.who, device, batch)
            }
            _ => self.hub.push(self.who, device, batch),
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
                self.hub.pull_snapshot(self.who, after, snapshot, short)
            }
            _ => self.hub.pull_snapshot(self.who, after, snapshot, limit),
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

    for _step in 0..60 {
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
        for (r, who) in replicas.iter_mut().zip(&roles) {
            record_new(r, &mut made);
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
        assert!(
            r.missing_blobs().expect("files").is_empty(),
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
        // The oracle: the hub's records this role may see, by their own classification.
        let visible: Vec<_> = all
            .iter()
            .filter(|c| {
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
        let ids: std::collections::HashSet<&str> = visible.iter().map(|c| c.id.as_str()).collect();
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
                && exercised.left_out > 0,
            "the runs never purged ({}), kept an edit aside ({}), moved a file ({}) or left a \
             superseded write out of an initial sync ({}): the simulation lost its teeth",
            exercised.purged,
            exercised.quarantined,
            exercised.files,
            exercised.left_out
        );
    }
    eprintln!(
        "{seeds} seeds: {} records purged from replicas, {} edits kept aside for review, {} files \
         fetched, {} changes an initial sync did without",
        exercised.purged, exercised.quarantined, exercised.files, exercised.left_out
    );
}
