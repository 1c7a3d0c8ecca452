//! Who may see and write what: roles, and the server's index of every record's visibility
//! through time.
//!
//! A record's *own* visibility comes from its classification and scope (organisations,
//! contacts, projects, meetings, documents carry them) or, for a child (agenda item,
//! participant, decision…), from its parent. A record is *visible* to a role when it is itself
//! and every record it refers to is too — so no id of a record the role may not see ever
//! reaches it, not even inside another record. The rule per role:
//!
//! | role                  | public | internal | restricted                 |
//! |-----------------------|--------|----------|----------------------------|
//! | admin, secretariat    | yes    | yes      | yes                        |
//! | country focal point C | yes    | yes      | only if C is in its scope  |
//! | partner               | yes    | no       | no                         |
//!
//! Visibility changes over time (a meeting is restricted, a contact moves to a restricted
//! organisation), so the [`Index`] keeps, per record, the history of the fields that decide it,
//! stamped with server sequence numbers: "was X visible to this role at sequence s" has an
//! exact answer, which is what lets each device's pull stream be a pure function of the
//! server's history (see [`crate::Hub::pull`]).
//!
//! What each role may see is [`Role`]'s (desk-core's, shared with the client).

use desk_core::hlc::{Hlc, Version};
use desk_core::sets::Dots;
pub use desk_core::Role;
use desk_core::{Change, Entity, FieldKind};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// A signed-in user, as the hub sees each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
}

impl Principal {
    pub fn admin() -> Principal {
        Principal {
            user: "admin".into(),
            role: Role::Admin,
        }
    }
}

/// The fields of a record that decide who sees it, as of one server sequence number.
#[derive(Debug, Clone, Default, PartialEq)]
struct State {
    /// field -> (version, value); only the deciding fields (classification, scope, parent,
    /// references). For a list of references edited as a set, the merged list.
    fields: BTreeMap<String, (Version, Value)>,
    /// field -> device sequence of the change that wrote its (whole) value.
    writers: BTreeMap<String, i64>,
    /// Lists of references edited as add-wins sets: the same dots a replica holds
    /// (`desk_core::sets::Dots`), so the merged links are computed by the same code.
    sets: BTreeMap<String, Dots>,
}

impl State {
    fn str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(|(_, v)| v.as_str())
    }
    fn list(&self, field: &str) -> Vec<String> {
        match self.fields.get(field).map(|(_, v)| v) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }
}

struct Node {
    entity: Entity,
    /// (server sequence, state from then on); the first entry is the record's creation.
    history: Vec<(i64, State)>,
    /// Every server sequence number that changed this record.
    seqs: Vec<i64>,
}

impl Node {
    fn at(&self, seq: i64) -> Option<&State> {
        let i = self.history.partition_point(|(s, _)| *s <= seq);
        (i > 0).then(|| &self.history[i - 1].1)
    }
}

/// The fields of an entity that decide visibility: classification and scope when it carries
/// them, its parent, and every reference.
fn deciding(entity: Entity, field: &str) -> bool {
    let d = entity.desc();
    if d.classified && (field == "classification" || field == "scope") {
        return true;
    }
    if d.parent.is_some_and(|(p, _)| p == field) {
        return true;
    }
    matches!(
        d.field(field).map(|f| f.kind),
        Some(FieldKind::Ref(_) | FieldKind::RefList(_))
    )
}

/// Whether a field's value names records: the parent and references.
fn names_records(entity: Entity, field: &str) -> bool {
    let d = entity.desc();
    d.parent.is_some_and(|(p, _)| p == field)
        || matches!(
            d.field(field).map(|f| f.kind),
            Some(FieldKind::Ref(_) | FieldKind::RefList(_))
        )
}

/// Ids a field value names (a reference or a list of them).
fn ids(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if !s.is_empty() => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Every record the server holds, with the history of what decides its visibility.
#[derive(Default)]
pub struct Index {
    nodes: FxHashMap<String, Node>,
    /// (server sequence, the record whose deciding fields changed there), in sequence order.
    events: Vec<(i64, String)>,
    /// target -> records that name it as parent or reference (at any time).
    dependents: FxHashMap<String, FxHashSet<String>>,
    /// The last server sequence observed.
    pub head: i64,
    /// While a trial runs ([`Index::try_at`]): the dependents it added, to take back.
    journal: Option<Vec<(String, String)>>,
}

impl Index {
    /// Takes in one change of the server's history (in sequence order).
    pub fn observe(&mut self, c: &Change) {
        self.observe_at(c, c.seq);
    }

    /// Takes in change `c` as the server's history holds it at sequence `seq`.
    pub fn observe_at(&mut self, c: &Change, seq: i64) {
        self.head = self.head.max(seq);
        let Some(entity) = Entity::parse(&c.entity) else {
            return;
        };
        let incoming = Version {
            hlc: c.hlc,
            device: c.device.clone(),
        };
        let node = match self.nodes.get_mut(c.record.as_str()) {
            Some(n) => n,
            None => self.nodes.entry(c.record.clone()).or_insert(Node {
                entity,
                history: Vec::new(),
                seqs: Vec::new(),
            }),
        };
        node.seqs.push(seq);
        let mut state = match node.history.last() {
            Some((_, s)) => s.clone(),
            None => State::default(),
        };
        let mut changed = node.history.is_empty();
        for f in &c.fields {
            if !deciding(entity, &f.field) {
                continue;
            }
            if desk_core::sets::is_set(entity.desc(), &f.field)
                && (f.set.is_some() || state.sets.contains_key(&f.field))
            {
                // A list of references merged element by element: the refs are the merged
                // list, as every replica computes it.
                let held = state.fields.get(&f.field).cloned();
                let writer = state.writers.get(&f.field).copied();
                let dots = state
                    .sets
                    .entry(f.field.clone())
                    .or_insert_with(|| match &held {
                        Some((v, value)) if v.hlc != Hlc::ZERO => {
                            let mut d = Dots::default();
                            d.whole(&ids(value), v, writer.unwrap_or(-(v.hlc.0 as i64)));
                            d
                        }
                        _ => Dots::unwritten(),
                    });
                match &f.set {
                    Some(ops) => dots.apply(ops, &c.device, c.dev_seq, c.hlc),
                    None => dots.whole(&ids(&f.value), &incoming, c.dev_seq),
                }
                let now = dots.elems();
                for id in &now {
                    if self
                        .dependents
                        .entry(id.clone())
                        .or_default()
                        .insert(c.record.clone())
                    {
                        if let Some(j) = &mut self.journal {
                            j.push((id.clone(), c.record.clone()));
                        }
                    }
                }
                let version = match held {
                    Some((v, _)) if !desk_protocol::merge::wins(&incoming, &v) => v,
                    _ => incoming.clone(),
                };
                state.fields.insert(
                    f.field.clone(),
                    (
                        version,
                        Value::Array(now.into_iter().map(Value::String).collect()),
                    ),
                );
                changed = true;
                continue;
            }
            let newer = state
                .fields
                .get(&f.field)
                .is_none_or(|(v, _)| desk_protocol::merge::wins(&incoming, v));
            if newer {
                // (Classification and scope name no records: "internal" is not a target.)
                if names_records(entity, &f.field) {
                    for id in ids(&f.value) {
                        if self
                            .dependents
                            .entry(id.clone())
                            .or_default()
                            .insert(c.record.clone())
                        {
                            if let Some(j) = &mut self.journal {
                                j.push((id, c.record.clone()));
                            }
                        }
                    }
                }
                state
                    .fields
                    .insert(f.field.clone(), (incoming.clone(), f.value.clone()));
                state.writers.insert(f.field.clone(), c.dev_seq);
                changed = true;
            }
        }
        if changed {
            node.history.push((seq, state));
            // (Changes arrive in sequence order; anything else is placed where it belongs.)
            if self.events.last().is_none_or(|(s, _)| *s < seq) {
                self.events.push((seq, c.record.clone()));
            } else {
                let at = self.events.partition_point(|(s, _)| *s < seq);
                if self.events[at].0 != seq {
                    self.events.insert(at, (seq, c.record.clone()));
                }
            }
        }
    }

    /// Observes `changes` as if they were held at the sequences after `head` (the current
    /// one), runs `judge` on the result, and takes them back out: the index is left as it was,
    /// whatever `judge` says. How the server asks what a push would do before storing it.
    pub fn try_at<T>(&mut self, changes: &[Change], judge: impl FnOnce(&Index, i64) -> T) -> T {
        let head = self.head;
        self.journal = Some(Vec::new());
        for (i, c) in changes.iter().enumerate() {
            self.observe_at(c, head + 1 + i as i64);
        }
        let verdict = judge(self, head);
        for c in changes {
            if let Some(n) = self.nodes.get_mut(c.record.as_str()) {
                n.history.retain(|(s, _)| *s <= head);
                n.seqs.retain(|s| *s <= head);
                if n.seqs.is_empty() {
                    self.nodes.remove(c.record.as_str());
                }
            }
        }
        for (target, dependent) in self.journal.take().unwrap_or_default() {
            if let Some(d) = self.dependents.get_mut(&target) {
                d.remove(&dependent);
                if d.is_empty() {
                    self.dependents.remove(&target);
                }
            }
        }
        let at = self.events.partition_point(|(s, _)| *s <= head);
        self.events.truncate(at);
        self.head = head;
        verdict
    }

    pub fn contains(&self, id: &str) -> bool {
        self.nodes.contains_key(id)
    }

    pub fn entity(&self, id: &str) -> Option<Entity> {
        self.nodes.get(id).map(|n| n.entity)
    }

    /// Every server sequence that changed `id`, up to `at`.
    pub fn seqs(&self, id: &str, at: i64) -> Vec<i64> {
        self.nodes.get(id).map_or_else(Vec::new, |n| {
            n.seqs.iter().copied().filter(|s| *s <= at).collect()
        })
    }

    /// The server sequence of `id`'s first change.
    pub fn first_seq(&self, id: &str) -> Option<i64> {
        self.nodes.get(id).and_then(|n| n.seqs.first().copied())
    }

    /// The record whose deciding fields changed at `seq`, if they did.
    pub fn event_at(&self, seq: i64) -> Option<&str> {
        let at = self.events.partition_point(|(s, _)| *s < seq);
        self.events
            .get(at)
            .filter(|(s, _)| *s == seq)
            .map(|(_, r)| r.as_str())
    }

    /// `id`'s own visibility at `at`: its classification, or its parent's (a record not yet
    /// created is not visible).
    pub fn own_visible(&self, role: &Role, id: &str, at: i64) -> bool {
        let mut id = id.to_string();
        for _ in 0..8 {
            let Some(node) = self.nodes.get(&id) else {
                return false;
            };
            let Some(state) = node.at(at) else {
                return false;
            };
            let d = node.entity.desc();
            if d.classified {
                return role.sees(
                    state.str("classification").unwrap_or("internal"),
                    &state.list("scope"),
                );
            }
            match d.parent.and_then(|(p, _)| state.str(p)) {
                Some(parent) => id = parent.to_string(),
                None => return matches!(role, Role::Admin | Role::Secretariat),
            }
        }
        false
    }

    /// `id`'s visibility at `at`: its own, and that of every record it names.
    pub fn visible(&self, role: &Role, id: &str, at: i64) -> bool {
        if matches!(role, Role::Admin | Role::Secretariat) {
            return self.nodes.get(id).is_some_and(|n| n.at(at).is_some());
        }
        if !self.own_visible(role, id, at) {
            return false;
        }
        let Some(state) = self.nodes.get(id).and_then(|n| n.at(at)) else {
            return false;
        };
        state.fields.values().all(|(_, v)| {
            ids(v)
                .iter()
                .all(|t| !self.nodes.contains_key(t) || self.own_visible(role, t, at))
        })
    }

    /// Whether `role` could see `id` at any point of its history (an edit to it made offline
    /// before access was lost is kept for review rather than refused as a probe).
    pub fn ever_visible(&self, role: &Role, id: &str) -> bool {
        let mut points: Vec<i64> = Vec::new();
        let mut next = vec![id.to_string()];
        let mut seen = HashSet::new();
        while let Some(x) = next.pop() {
            if !seen.insert(x.clone()) || seen.len() > 64 {
                continue;
            }
            if let Some(n) = self.nodes.get(&x) {
                for (s, st) in &n.history {
                    points.push(*s);
                    for (_, v) in st.fields.values() {
                        next.extend(ids(v));
                    }
                }
            }
        }
        points.iter().any(|&s| self.visible(role, id, s))
    }

    /// The records whose visibility can change when `id`'s deciding fields do: itself, its
    /// descendants, and every record naming one of those.
    pub fn affected(&self, id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut next = vec![id.to_string()];
        while let Some(x) = next.pop() {
            if !seen.insert(x.clone()) {
                continue;
            }
            out.push(x.clone());
            if let Some(deps) = self.dependents.get(&x) {
                for dep in deps {
                    // Children inherit (recurse); referrers depend on this one only.
                    let is_child = self.nodes.get(dep).is_some_and(|n| {
                        n.entity.desc().parent.is_some_and(|(p, _)| {
                            n.history
                                .iter()
                                .any(|(_, st)| st.str(p) == Some(x.as_str()))
                        })
                    });
                    if is_child {
                        next.push(dep.clone());
                    } else if seen.insert(dep.clone()) {
                        out.push(dep.clone());
                    }
                }
            }
        }
        out
    }

    /// `c` as `role` may receive it at `at`: references to records it may not see are blanked
    /// (only ever values that lost the merge: a record whose winning reference is hidden is
    /// itself hidden, so nothing a replica converges to is changed).
    pub fn redact(&self, role: &Role, mut c: Change, at: i64) -> Change {
        if matches!(role, Role::Admin | Role::Secretariat) {
            return c;
        }
        let Some(entity) = Entity::parse(&c.entity) else {
            return c;
        };
        for f in &mut c.fields {
            let hidden = |t: &str| self.nodes.contains_key(t) && !self.own_visible(role, t, at);
            match entity.desc().field(&f.field).map(|d| d.kind) {
                Some(FieldKind::Ref(_)) if f.value.as_str().is_some_and(hidden) => {
                    f.value = Value::Null;
                }
                Some(FieldKind::RefList(_)) => {
                    if let Value::Array(a) = &mut f.value {
                        a.retain(|v| !v.as_str().is_some_and(hidden));
                    }
                    // A set edit names elements too: no hidden id in it either.
                    if let Some(ops) = &mut f.set {
                        ops.add.retain(|e| !hidden(e));
                        ops.del.retain(|d| !hidden(&d.elem));
                    }
                }
                _ => {}
            }
        }
        c
    }
}

/// Clocks further ahead of the server than this are stamped again on arrival.
pub const MAX_CLOCK_LEAD_MS: u64 = 5 * 60 * 1000;

/// Whether a change's clock is implausibly far ahead of `now_ms`.
pub fn too_far_ahead(hlc: Hlc, now_ms: u64) -> bool {
    hlc.millis() > now_ms.saturating_add(MAX_CLOCK_LEAD_MS)
}
