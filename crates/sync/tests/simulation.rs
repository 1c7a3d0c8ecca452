//! Deterministic simulation: 8 replicas and a hub, random creates, edits, deletes and restores
//! while replicas go offline and come back, over a network that drops requests, loses replies
//! (the server committed, the client never heard), repeats requests and delivers late ones out
//! of order; the server restarts now and then. Every run is seeded; a failure prints its seed.
//!
//! After each run, with everyone back online: every replica equals the hub (same dump); every
//! edit ever made is in the hub's history exactly once; no record came back from a delete except
//! by a restore that is newer than the delete; every outbox is empty.
//!
//! `SIM_SEEDS=N` runs N seeds (CI runs 100; `SIM_SEEDS=10000 cargo test -p desk-sync --release
//! --test simulation` is the long run), `SIM_SEED=S` one seed.

use desk_core::{Change, Entity, Fields, Key, ListQuery, Replica};
use desk_sync::{sync, Direct, Hub, PullReply, PushReply, SyncError, Transport};
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
    rng: &'a mut Rng,
    /// Push requests held back, delivered later (out of order).
    late: &'a mut Vec<(String, Vec<Change>)>,
}

impl Transport for BadNet<'_> {
    fn push(&mut self, device: &str, batch: &[Change]) -> Result<PushReply, SyncError> {
        // Deliver a late request first, sometimes.
        if !self.late.is_empty() && self.rng.chance(30) {
            let (d, b) = self.late.remove(self.rng.below(self.late.len()));
            let _ = self.hub.push(&d, &b);
        }
        match self.rng.below(100) {
            0..=9 => Err(SyncError::Network("request dropped".into())),
            10..=19 => {
                let _ = self.hub.push(device, batch)?;
                Err(SyncError::Network("reply lost".into()))
            }
            20..=27 => {
                self.late.push((device.to_string(), batch.to_vec()));
                Err(SyncError::Network("request delayed".into()))
            }
            28..=35 => {
                let _ = self.hub.push(device, batch)?;
                self.hub.push(device, batch)
            }
            _ => self.hub.push(device, batch),
        }
    }
    fn pull(&mut self, after: i64, limit: usize) -> Result<PullReply, SyncError> {
        match self.rng.below(100) {
            0..=9 => Err(SyncError::Network("pull dropped".into())),
            // A smaller page than asked for: the client must loop on `more`.
            10..=29 => self.hub.pull(after, 1 + self.rng.below(limit.min(7))),
            _ => self.hub.pull(after, limit),
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

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dir = tempfile::tempdir().expect("tmp");
    let key = Key::Raw([9u8; 32]);
    let mut hub = Hub::new(&dir.path().join("hub.db"), &key).expect("hub");
    let mut replicas: Vec<Replica> = (0..8)
        .map(|i| Replica::init(&dir.path().join(format!("r{i}.db")), &key).expect("replica"))
        .collect();
    let mut online = [true; 8];
    let mut late: Vec<(String, Vec<Change>)> = Vec::new();
    // Every change made anywhere: (device, dev_seq).
    let mut made: BTreeMap<(String, i64), ()> = BTreeMap::new();
    let record_new = |r: &Replica, made: &mut BTreeMap<(String, i64), ()>| {
        for c in r.outbox(usize::MAX).expect("outbox") {
            made.insert((c.device.clone(), c.dev_seq), ());
        }
    };

    for _step in 0..60 {
        let i = rng.below(8);
        match rng.below(100) {
            0..=14 => {
                let name = NAMES[rng.below(NAMES.len())];
                let _ = replicas[i].create(
                    Entity::Contact,
                    &fields(json!({"name": name, "title": TITLES[rng.below(4)]})),
                );
            }
            15..=49 => {
                let known = contacts(&replicas[i]);
                if !known.is_empty() {
                    let (id, _) = &known[rng.below(known.len())];
                    let f = if rng.chance(50) {
                        json!({"title": TITLES[rng.below(4)]})
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
            62..=68 => online[i] = !online[i],
            69 => {
                // The server process dies and restarts: it carries on from its store.
                drop(hub);
                hub = Hub::open(&dir.path().join("hub.db"), &key).expect("hub restart");
            }
            _ => {
                if online[i] {
                    record_new(&replicas[i], &mut made);
                    let mut net = BadNet {
                        hub: &mut hub,
                        rng: &mut rng,
                        late: &mut late,
                    };
                    // Failures are expected here; the next sync resumes.
                    let _ = sync(&mut replicas[i], &mut net, &mut |_| {});
                }
            }
        }
        record_new(&replicas[i], &mut made);
    }

    // Everyone back online, the network healed (late requests finally arrive, harmlessly).
    for (d, b) in late.drain(..) {
        let _ = hub.push(&d, &b);
    }
    for _round in 0..2 {
        for r in replicas.iter_mut() {
            record_new(r, &mut made);
            sync(r, &mut Direct(&mut hub), &mut |_| {}).expect("clean sync");
        }
    }

    let expected = hub.state().dump().expect("hub dump");
    for (k, r) in replicas.iter().enumerate() {
        assert!(
            r.outbox(1).expect("outbox").is_empty(),
            "seed {seed}: replica {k} still has unsent changes"
        );
        let got = r.dump().expect("dump");
        assert!(
            got == expected,
            "seed {seed}: replica {k} differs from the hub\n--- hub\n{expected}\n--- replica\n{got}"
        );
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
    for key in made.keys() {
        assert!(
            seen.contains_key(key),
            "seed {seed}: change {key:?} never reached the server"
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
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run(seed);
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    for seed in 1..=seeds {
        run(seed);
    }
}
