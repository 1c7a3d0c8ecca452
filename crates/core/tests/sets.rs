//! Add-wins sets: list fields (tags, languages, agencies, partners, countries) merge element
//! by element. An element one office adds survives another's concurrent removal; removals of
//! what was seen take effect; every replica ends with the same list whatever the order in
//! which edits arrive (through a server, which delivers in one order to all).

use desk_core::{Change, Entity, Fields, Key, Replica};
use proptest::prelude::*;
use serde_json::{json, Value};

fn replica(dir: &std::path::Path, name: &str) -> Replica {
    Replica::init(&dir.join(name), &Key::Raw([7u8; 32])).expect("replica")
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Fields::new(),
    }
}

/// The server, reduced to what matters here: one log, in the order changes arrived.
#[derive(Default)]
struct Log {
    all: Vec<Change>,
}

impl Log {
    fn push(&mut self, r: &mut Replica) {
        let out = r.outbox(usize::MAX).expect("outbox");
        if let Some(last) = out.last() {
            let n = last.dev_seq;
            self.all.extend(out);
            r.acknowledge(n).expect("ack");
        }
    }
    fn pull(&self, r: &mut Replica) {
        let after = r.pull_cursor().expect("cursor") as usize;
        let mut page: Vec<Change> = self.all[after.min(self.all.len())..].to_vec();
        for (i, c) in page.iter_mut().enumerate() {
            c.seq = (after + i + 1) as i64;
        }
        r.apply_pull(&page, &[], Some(self.all.len() as i64))
            .expect("apply");
    }
    fn sync(&mut self, r: &mut Replica) {
        self.push(r);
        self.pull(r);
    }
}

fn tags(r: &Replica, id: &str) -> Value {
    let c = r.get(Entity::Contact, id).expect("contact");
    c.fields.get("tags").cloned().unwrap_or(Value::Null)
}

#[test]
fn concurrent_adds_both_stay_and_a_seen_element_removed_elsewhere_goes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut a, mut b, mut c) = (
        replica(dir.path(), "a"),
        replica(dir.path(), "b"),
        replica(dir.path(), "c"),
    );
    let mut log = Log::default();
    let id = a
        .create(
            Entity::Contact,
            &fields(json!({"name": "Somchai", "tags": ["focal_point"]})),
        )
        .expect("create")
        .id;
    for r in [&mut a, &mut b, &mut c] {
        log.sync(r);
    }
    // Offline, each office edits the tags.
    a.update(
        Entity::Contact,
        &id,
        &fields(json!({"tags": ["focal_point", "som_leader"]})),
    )
    .expect("a");
    b.update(
        Entity::Contact,
        &id,
        &fields(json!({"tags": ["focal_point", "energy"]})),
    )
    .expect("b");
    c.update(Entity::Contact, &id, &fields(json!({"tags": []})))
        .expect("c");
    for r in [&mut c, &mut a, &mut b] {
        log.sync(r);
    }
    for r in [&mut a, &mut b, &mut c] {
        log.sync(r);
    }
    // Both additions stay (neither office lost its edit); the tag C removed, having seen
    // it, goes.
    for r in [&a, &b, &c] {
        assert_eq!(tags(r, &id), json!(["som_leader", "energy"]));
    }
    // A list written whole into the same history (a new replica replaying it) agrees.
    let mut d = replica(dir.path(), "d");
    log.pull(&mut d);
    assert_eq!(tags(&d, &id), json!(["som_leader", "energy"]));
    assert_eq!(
        d.dump().expect("dump"),
        a.dump().expect("dump"),
        "replayed from the log: the same rows"
    );
    // No conflict to settle: the sets merged.
    assert!(a.conflicts(false).expect("conflicts").is_empty());
}

#[test]
fn an_add_concurrent_with_a_removal_of_the_same_element_wins() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut a, mut b) = (replica(dir.path(), "a"), replica(dir.path(), "b"));
    let mut log = Log::default();
    let id = a
        .create(
            Entity::Contact,
            &fields(json!({"name": "Vanna", "languages": ["km", "fr"]})),
        )
        .expect("create")
        .id;
    log.sync(&mut a);
    log.sync(&mut b);
    // A drops French; B, not knowing, adds English and re-asserts nothing. Then B, still
    // offline, removes French and adds it back (a new add of its own).
    a.update(Entity::Contact, &id, &fields(json!({"languages": ["km"]})))
        .expect("a");
    b.update(
        Entity::Contact,
        &id,
        &fields(json!({"languages": ["km", "en"]})),
    )
    .expect("b");
    b.update(
        Entity::Contact,
        &id,
        &fields(json!({"languages": ["km", "en", "fr"]})),
    )
    .expect("b again");
    log.sync(&mut a);
    log.sync(&mut b);
    log.sync(&mut a);
    let want = json!(["km", "en", "fr"]);
    assert_eq!(
        a.get(Entity::Contact, &id).expect("a").fields["languages"],
        want
    );
    assert_eq!(
        b.get(Entity::Contact, &id).expect("b").fields["languages"],
        want
    );
}

#[derive(Debug, Clone)]
enum Step {
    /// Replica `r` sets the tags to those of `mask` (bit i: tag i).
    Set(usize, u8),
    /// Replica `r` syncs (pushes, then pulls).
    Sync(usize),
}

const TAGS: [&str; 5] = ["focal_point", "som_leader", "energy", "water", "transport"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0usize..3, 0u8..32).prop_map(|(r, m)| Step::Set(r, m)),
        (0usize..3).prop_map(Step::Sync),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any interleaving of offline edits and syncs ends, once everyone has synced twice, with
    /// the same tags on every replica, and the same rows (versions included).
    #[test]
    fn any_interleaving_converges(steps in proptest::collection::vec(step(), 1..40)) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut rs: Vec<Replica> = (0..3).map(|i| replica(dir.path(), &format!("r{i}"))).collect();
        let mut log = Log::default();
        let id = rs[0]
            .create(Entity::Contact, &fields(json!({"name": "Aung", "tags": ["water"]})))
            .expect("create")
            .id;
        log.sync(&mut rs[0]);
        for r in rs.iter_mut() {
            log.pull(r);
        }
        for s in steps {
            match s {
                Step::Set(i, mask) => {
                    let want: Vec<&str> = TAGS
                        .iter()
                        .enumerate()
                        .filter(|(b, _)| mask & (1 << b) != 0)
                        .map(|(_, t)| *t)
                        .collect();
                    rs[i]
                        .update(Entity::Contact, &id, &fields(json!({"tags": want})))
                        .expect("edit");
                }
                Step::Sync(i) => log.sync(&mut rs[i]),
            }
        }
        for _ in 0..2 {
            for r in rs.iter_mut() {
                log.sync(r);
            }
        }
        let first = rs[0].dump().expect("dump");
        for r in &rs[1..] {
            prop_assert_eq!(tags(r, &id), tags(&rs[0], &id));
            prop_assert!(r.dump().expect("dump") == first, "rows differ");
        }
        let mut fresh = replica(dir.path(), "fresh");
        log.pull(&mut fresh);
        prop_assert!(fresh.dump().expect("dump") == first, "a replay differs");
    }
}
