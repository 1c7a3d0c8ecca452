//! The hub: the server's side of sync, independent of HTTP. It accepts each device's changes
//! exactly once and in order (a high-water mark per device: repeats are skipped, a gap is
//! refused until the missing batch is resent), checks them ([`crate::guard`], who may see and
//! write what: [`crate::access`]), merges them into its own replica with the same per-field
//! rule every replica uses, and keeps every accepted change in its history, numbered by a
//! server sequence; it answers pulls with what each user may see, as a snapshot on a first
//! sync. Files are in [`crate::hubfiles`], accounts in [`crate::auth`].

use crate::access::{self, Principal};
use crate::auth::{self, Session};
use crate::error::HubError;
use crate::store::{self, TablesExt};
use crate::{guard, hubfiles};
use desk_core::{Change, Entity, RecordRef, Replica, Role};
use desk_protocol::v1::{Checksum, PullPage, PushAnswer, START_SNAPSHOT};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

/// The server's side of sync. Its store ([`store::Store`]: SQLite by default, PostgreSQL for
/// production) keeps the history (the order of arrival is the server sequence), the
/// high-water marks (the highest sequence held per device), the merged records, accounts, the
/// audit log, changes kept for review and files — all durable, so a restarted hub carries on
/// exactly where it stopped. The visibility index ([`access::Index`]) is rebuilt from the
/// history on open.
pub struct Hub {
    pub(crate) store: Box<dyn store::Store>,
    pub(crate) index: access::Index,
    pub(crate) files: hubfiles::FileLimits,
}

/// The oldest client schema this server accepts (older clients are refused with 426 before
/// anything is stored; their outboxes wait for the update).
pub const MIN_CLIENT_SCHEMA: i64 = 4;

/// Changes read from the history per query while building a pull page.
const SCAN: usize = 1_000;

impl Hub {
    /// Opens the hub's SQLite store at `path`, creating it on first use.
    pub fn open(path: &Path, key: &desk_core::Key) -> Result<Hub, HubError> {
        Hub::with_store(Box::new(store::SqliteStore::open(path, key)?))
    }

    /// A hub with a new SQLite store at `path`.
    pub fn new(path: &Path, key: &desk_core::Key) -> Result<Hub, HubError> {
        Hub::with_store(Box::new(store::SqliteStore::create(path, key)?))
    }

    /// A hub on any store (e.g. `pg::PgStore`).
    pub fn with_store(store: Box<dyn store::Store>) -> Result<Hub, HubError> {
        let mut hub = Hub {
            store,
            index: access::Index::default(),
            files: hubfiles::FileLimits::default(),
        };
        hub.catch_up()?;
        Ok(hub)
    }

    fn catch_up(&mut self) -> Result<(), HubError> {
        loop {
            let page = self.store.changes(self.index.head, 10_000)?;
            if page.is_empty() {
                return Ok(());
            }
            for c in &page {
                self.index.observe(c);
            }
        }
    }

    /// Files that documents name but the server does not hold whole (yet: their senders have
    /// not finished), by SHA-256.
    pub fn missing_files(&self) -> Result<Vec<String>, HubError> {
        let named: Vec<String> = {
            let mut stmt = self.store.state().reader().prepare(
                "SELECT DISTINCT sha256 FROM document WHERE sha256 IS NOT NULL AND sha256 != '' \
                 ORDER BY sha256",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<desk_core::rusqlite::Result<_>>()?
        };
        let mut missing = Vec::new();
        for sha in named {
            let held = self.store.read_with(|sql| store::blob_status(sql, &sha))?;
            if !held.is_some_and(|s| s.complete) {
                missing.push(sha);
            }
        }
        Ok(missing)
    }

    /// The digest of what `who` may see now (see [`Checksum`]).
    pub fn checksum(&self, who: &Principal) -> Result<Checksum, HubError> {
        let head = self.index.head;
        let (records, digest) = self
            .store
            .state()
            .records_digest(&|rec| self.index.visible(&who.role, &rec.id, head))?;
        Ok(Checksum {
            head,
            records,
            digest,
        })
    }

    /// The server sequence of the newest change held.
    pub fn head(&self) -> i64 {
        self.index.head
    }

    /// The merged state (what every replica converges to).
    pub fn state(&self) -> &Replica {
        self.store.state()
    }

    /// The store, for reading accounts ([`auth`]).
    pub fn store(&self) -> &dyn store::Store {
        &*self.store
    }

    /// The store, for account administration ([`auth`]).
    pub fn store_mut(&mut self) -> &mut dyn store::Store {
        &mut *self.store
    }

    /// Where the store is (no password), for messages.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Every accepted change, in server order (no edit is ever dropped from it).
    pub fn history(&self) -> Result<Vec<Change>, HubError> {
        let mut all = Vec::new();
        loop {
            let page = self
                .store
                .changes(all.last().map_or(0, |c: &Change| c.seq), 10_000)?;
            if page.is_empty() {
                return Ok(all);
            }
            all.extend(page);
        }
    }

    /// Changes kept aside for review: (device, dev_seq, record, reason).
    pub fn quarantined(&self) -> Result<Vec<(String, i64, String, String)>, HubError> {
        store::quarantined(&*self.store)
    }

    fn high_water(&self, device: &str) -> Result<i64, HubError> {
        let q = self.store.read_with(|sql| {
            sql.row(
                "SELECT coalesce(max(dev_seq), 0) FROM srv_quarantine WHERE device = $1",
                &[device.into()],
            )?
            .map_or(Ok(0), |r| r.int(0))
        })?;
        Ok(self.store.high_water(device)?.max(q))
    }

    /// Checks a bearer token ([`auth::authenticate`]).
    pub fn authenticate(&self, token: &str) -> Result<Session, HubError> {
        auth::authenticate(&*self.store, token)
    }

    /// Accepts `device`'s changes in sequence, as `who`. Repeats (at or below the high-water
    /// mark) are skipped; a change after a gap stops the batch there (the client resends from
    /// the ack). A change claiming another device, naming a record `who` may not see, or that
    /// `who` may not make is refused and nothing of the batch is stored — except an edit to a
    /// record `who` could see before and no longer can (made offline before access was lost):
    /// it is kept aside for review and acknowledged, so the device's outbox moves on. A clock
    /// more than [`access::MAX_CLOCK_LEAD_MS`] ahead of the server's is stamped again (and
    /// audited), so a device whose clock runs days fast does not win every later conflict.
    /// Everything commits in one transaction.
    pub fn push(
        &mut self,
        who: &Principal,
        device: &str,
        batch: &[Change],
    ) -> Result<PushAnswer, HubError> {
        if let Some(c) = batch.iter().find(|c| c.device != device) {
            return Err(HubError::Refused {
                device: c.device.clone(),
                dev_seq: c.dev_seq,
                message: format!("pushed by {device}, not by its author"),
            });
        }
        let mut high = self.high_water(device)?;
        // Indexes into the batch, in sequence order: the changes are not copied unless the
        // server must re-stamp one (a batch in order, all new, passes through as it came).
        let mut ordered: Vec<usize> = (0..batch.len())
            .filter(|&i| batch[i].dev_seq > high)
            .collect();
        ordered.sort_by_key(|&i| batch[i].dev_seq);
        if !ordered.is_empty() && !who.role.may_write() {
            return Err(HubError::NotPermitted(format!(
                "{} ({}) may read but not change records",
                who.user,
                who.role.as_string()
            )));
        }
        let head = self.index.head;
        let sees_all = matches!(who.role, Role::Admin | Role::Secretariat);
        let now_ms = auth::now_secs().max(0) as u64 * 1000;
        // (index in the batch, the server's stamp when it re-stamped the change)
        let mut keep: Vec<(usize, Option<desk_core::hlc::Hlc>)> = Vec::new();
        let mut aside: Vec<(&Change, &'static str)> = Vec::new();
        let mut restamped = Vec::new();
        // Records created earlier in this batch, and their entities.
        let mut created: HashMap<String, Entity> = HashMap::new();
        for i in ordered {
            let c = &batch[i];
            if c.dev_seq != high + 1 {
                break;
            }
            high = c.dev_seq;
            if c.schema_version > self.store.state().schema_version() {
                return Err(HubError::Invalid(format!(
                    "change {device}/{} has schema version {}; this server knows up to {}: \
                     upgrade the server",
                    c.dev_seq,
                    c.schema_version,
                    self.store.state().schema_version()
                )));
            }
            let seen = |id: &str| {
                sees_all
                    || self.index.visible(&who.role, id, head)
                    || self.index.ever_visible(&who.role, id)
            };
            guard::validate(&self.index, c, &created, &seen)?;
            match self.check(who, c, head, &created)? {
                Verdict::Accept => {}
                Verdict::Aside(reason) => {
                    aside.push((c, reason));
                    continue;
                }
            }
            if !self.index.contains(&c.record) {
                if let Some(e) = Entity::parse(&c.entity) {
                    created.insert(c.record.clone(), e);
                }
            }
            if access::too_far_ahead(c.hlc, now_ms) {
                let now = self.store.tick();
                restamped.push((c.dev_seq, c.hlc, now));
                keep.push((i, Some(now)));
            } else {
                keep.push((i, None));
            }
        }
        let owned: Vec<Change>;
        let keep: &[Change] = match keep.first() {
            Some(&(first, _))
                if keep
                    .iter()
                    .enumerate()
                    .all(|(k, &(i, stamp))| i == first + k && stamp.is_none()) =>
            {
                &batch[first..first + keep.len()]
            }
            None => &[],
            Some(_) => {
                owned = keep
                    .iter()
                    .map(|&(i, stamp)| {
                        let mut c = batch[i].clone();
                        if let Some(hlc) = stamp {
                            c.hlc = hlc;
                        }
                        c
                    })
                    .collect();
                &owned
            }
        };
        guard::no_shrink(&mut self.index, &who.role, keep)?;
        let claims = self.claims(who, keep)?;
        let user = who.user.clone();
        let reply = PushAnswer {
            acked: high,
            quarantined: aside.len(),
            restamped: restamped.len(),
        };
        if keep.is_empty() && aside.is_empty() {
            return Ok(reply);
        }
        self.store.accept(keep, &mut |sql| {
            hubfiles::record_claims(sql, &user, &claims)?;
            for (c, reason) in &aside {
                sql.exec(
                    "INSERT INTO srv_quarantine (at, device, dev_seq, entity, record, reason, \
                     change) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                    &[
                        auth::now_secs().into(),
                        device.into(),
                        c.dev_seq.into(),
                        (&c.entity).into(),
                        (&c.record).into(),
                        (*reason).into(),
                        serde_json::to_string(c).unwrap_or_default().into(),
                    ],
                )?;
                auth::audit(
                    sql,
                    Some(&user),
                    Some(device),
                    "quarantine",
                    &format!(
                        "{}/{} on {} {}: {reason}",
                        device, c.dev_seq, c.entity, c.record
                    ),
                )?;
            }
            for (seq, was, now) in &restamped {
                auth::audit(
                    sql,
                    Some(&user),
                    Some(device),
                    "restamp",
                    &format!(
                        "{device}/{seq}: clock {} is ahead of the server; stamped {}",
                        was.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                )?;
            }
            auth::audit(
                sql,
                Some(&user),
                Some(device),
                "push",
                &format!("{} changes up to {high}", keep.len()),
            )
        })?;
        // The accepted changes took the next sequence numbers, in order: index them as they
        // are (reading them back is the slow way, kept for anything unexpected).
        if self.store.last_seq()? == head + keep.len() as i64 {
            for (i, c) in keep.iter().enumerate() {
                self.index.observe_at(c, head + 1 + i as i64);
            }
        } else {
            self.catch_up()?;
        }
        Ok(reply)
    }

    /// Whether `who` may make change `c` (checked against the state at `head`, plus the
    /// records created earlier in the same batch).
    fn check(
        &self,
        who: &Principal,
        c: &Change,
        head: i64,
        created: &HashMap<String, Entity>,
    ) -> Result<Verdict, HubError> {
        let role = &who.role;
        if matches!(role, Role::Admin | Role::Secretariat) {
            return Ok(Verdict::Accept);
        }
        let entity = Entity::parse(&c.entity)
            .ok_or_else(|| HubError::Invalid(format!("unknown entity {}", c.entity)))?;
        let d = entity.desc();
        let field = |name: &str| c.fields.iter().find(|f| f.field == name).map(|f| &f.value);
        let out = |what: &str| {
            HubError::OutOfScope(format!(
                "change {}/{} {what} ({} {})",
                c.device, c.dev_seq, c.entity, c.record
            ))
        };
        let visible = |id: &str| {
            created.contains_key(id)
                || !self.index.contains(id)
                || self.index.own_visible(role, id, head)
        };
        if self.index.contains(&c.record) && !created.contains_key(&c.record) {
            if !self.index.visible(role, &c.record, head) {
                if self.index.ever_visible(role, &c.record) {
                    return Ok(Verdict::Aside("the record left the user's scope"));
                }
                // The same answer as for a record that does not exist (see `guard`).
                return Err(guard::unseen(c, &format!("names {} {}", d.name, c.record)));
            }
            if d.classified
                && c.fields
                    .iter()
                    .any(|f| f.field == "classification" || f.field == "scope")
            {
                return Err(HubError::NotPermitted(format!(
                    "{} ({}) may not change who sees {} {}",
                    who.user,
                    role.as_string(),
                    c.entity,
                    c.record
                )));
            }
        } else if d.classified {
            let class = field("classification")
                .and_then(|v| v.as_str())
                .unwrap_or("internal");
            let scope: Vec<String> = match field("scope") {
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            if !role.sees(class, &scope) {
                return Err(out("would create a record this user could not see"));
            }
        } else if let Some((p, _)) = d.parent {
            match field(p).and_then(|v| v.as_str()) {
                Some(parent) if visible(parent) => {}
                other => {
                    let id = other.unwrap_or_default();
                    return Err(guard::unseen(c, &format!("sets {}.{p} to {id}", d.name)));
                }
            }
        }
        for f in &c.fields {
            let is_ref = d.parent.is_some_and(|(p, _)| p == f.field)
                || matches!(
                    d.field(&f.field).map(|x| x.kind),
                    Some(desk_core::FieldKind::Ref(_) | desk_core::FieldKind::RefList(_))
                );
            if !is_ref {
                continue;
            }
            let targets: Vec<&str> = match &f.value {
                serde_json::Value::String(s) => vec![s.as_str()],
                serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => Vec::new(),
            };
            if let Some(t) = targets.iter().find(|t| !visible(t)) {
                return Err(guard::unseen(
                    c,
                    &format!("sets {}.{} to {t}", d.name, f.field),
                ));
            }
        }
        Ok(Verdict::Accept)
    }

    /// Called before a pull: a device whose user's role changed must start again from zero
    /// (it wipes what it holds and pulls everything its new role may see).
    pub fn begin_pull(&mut self, session: &Session, after: i64) -> Result<(), HubError> {
        if session.rescope {
            if after > 0 {
                return Err(HubError::Rescope);
            }
            let device = session.device.clone();
            self.store
                .write_with(|sql| auth::clear_rescope(sql, &device))?;
        }
        Ok(())
    }

    /// The history after server sequence `after` as `who` may see it, at most about `limit`
    /// changes. The stream is a pure function of the history: a change is sent when its record
    /// is visible to `who` at that change's sequence; when a record becomes visible, its whole
    /// history up to then comes with it; when it stops being visible, it is named in `purged`
    /// (only ever a record the device was sent). References to records `who` may not see are
    /// blanked in values that lost the merge, so no hidden id travels.
    pub fn pull(&self, who: &Principal, after: i64, limit: usize) -> Result<PullPage, HubError> {
        self.pull_snapshot(who, after, 0, limit)
    }

    /// [`Hub::pull`] within an initial sync. A pull from zero starts one: the answer's
    /// `snapshot` is the head at that moment, `S`, and every change up to `S` then comes as a
    /// snapshot — each record `who` may see at `S` whole where its first change is met, as it
    /// stood at `S`: of its changes up to `S`, each cut to the fields it wrote that were not
    /// overwritten by `S` (its first change always comes, for its create version), with the
    /// references blanked that `who` may not follow at `S`. Records `who` may not see at `S`
    /// do not come at all, whatever their past. Pulls that pass `S` back skip the rest of
    /// those changes; changes after `S` come one by one as always (visibility followed from
    /// `S` on). So a laptop set up after months of editing receives current rows, not every
    /// edit, and a record never arrives half-built. Only a first pull that asks, passing
    /// [`START_SNAPSHOT`], starts one; any other pull from zero (a device holding records of
    /// its own already, a transport that cannot pass the value) gets the history change by
    /// change, which converges to the same state.
    pub fn pull_snapshot(
        &self,
        who: &Principal,
        after: i64,
        snapshot: i64,
        limit: usize,
    ) -> Result<PullPage, HubError> {
        let limit = limit.max(1);
        let role = &who.role;
        let snapshot = match snapshot {
            START_SNAPSHOT if after == 0 => self.index.head,
            s if s < 0 => 0,
            s => s,
        };
        let cut = if after < snapshot { snapshot } else { 0 };
        if matches!(role, Role::Admin | Role::Secretariat) {
            return self.pull_all(after, cut, limit);
        }
        // Nothing of a record `who` may not see now is sent, whatever it was when written: a
        // user added after a record was restricted gets none of its past versions (a device
        // that held it gets its purge further on, where it stopped being visible).
        let now = self.index.head;
        let shown = |id: &str, at: i64| {
            self.index.visible(role, id, at) && self.index.visible(role, id, now)
        };
        let mut out: Vec<Change> = Vec::new();
        let mut sent: HashSet<(String, i64)> = HashSet::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut purged: BTreeSet<String> = BTreeSet::new();
        // Lost and found again within this page: purged first (whatever the device did to it
        // meanwhile goes, e.g. an edit kept aside), then its whole history again.
        let mut regained: HashSet<String> = HashSet::new();
        let mut pos = after;
        let mut scanned = 0usize;
        'scan: loop {
            let page = self.store.changes(pos, SCAN)?;
            if page.is_empty() {
                break;
            }
            for c in page {
                let s = c.seq;
                if s <= cut {
                    // The snapshot: a record visible at the cut comes at its first change, as
                    // it stood then; nothing else up to the cut.
                    if self.index.first_seq(&c.record) == Some(s) && shown(&c.record, cut) {
                        let mut whole = Vec::new();
                        self.whole(c, cut, &|id| shown(id, cut), &mut done, &mut whole)?;
                        for h in whole {
                            if sent.insert((h.device.clone(), h.dev_seq)) {
                                out.push(self.index.redact(role, h, cut));
                            }
                        }
                    }
                    pos = s;
                    scanned += 1;
                    if out.len() >= limit || scanned >= limit.saturating_mul(20) {
                        break 'scan;
                    }
                    continue;
                }
                if let Some(x) = self.index.event_at(s) {
                    for y in self.index.affected(x) {
                        let before = self.index.visible(role, &y, s - 1);
                        let then = self.index.visible(role, &y, s);
                        if before && !then {
                            regained.remove(&y);
                            purged.insert(y);
                        } else if !before && then && self.index.visible(role, &y, now) {
                            if purged.contains(&y) {
                                // Its history comes again, from the start and in order (the
                                // record is rebuilt from nothing after the purge).
                                regained.insert(y.clone());
                                out.retain(|c| c.record != y);
                            }
                            for h in self.store.changes_at(&self.index.seqs(&y, s))? {
                                let key = (h.device.clone(), h.dev_seq);
                                if sent.insert(key) || regained.contains(&y) {
                                    out.push(self.index.redact(role, h, s));
                                }
                            }
                        }
                    }
                }
                if shown(&c.record, s) && sent.insert((c.device.clone(), c.dev_seq)) {
                    out.push(self.index.redact(role, c, s));
                }
                pos = s;
                scanned += 1;
                if out.len() >= limit || scanned >= limit.saturating_mul(20) {
                    break 'scan;
                }
            }
        }
        out.retain(|c| !purged.contains(&c.record) || regained.contains(&c.record));
        // A regained record's history may now be in the page twice: once is enough.
        let mut once = HashSet::new();
        out.retain(|c| once.insert((c.device.clone(), c.dev_seq)));
        let purged = purged
            .into_iter()
            .filter_map(|id| {
                self.index.entity(&id).map(|e| RecordRef {
                    entity: e.name().to_string(),
                    id,
                })
            })
            .collect();
        Ok(PullPage {
            changes: out,
            purged,
            cursor: pos,
            more: pos < self.index.head,
            snapshot: cut,
        })
    }
}

impl Hub {
    /// The record of `first` (its first change) as it stood at `cut`: its changes up to then,
    /// cut by [`as_of_snapshot`].
    fn as_of(&self, first: Change, cut: i64) -> Result<Vec<Change>, HubError> {
        let seqs = self.index.seqs(&first.record, cut);
        Ok(if seqs.len() < 2 {
            vec![first]
        } else {
            as_of_snapshot(self.store.changes_at(&seqs)?)
        })
    }

    /// The record of `first` (its first change) as it stood at `cut`, into `out` — preceded
    /// by each record it names that `may` be sent and whose first change comes after its own
    /// (up to `cut`), as those stood then, so a replica never holds a reference to a record
    /// it has not received (the replica's references are foreign keys, checked at each page's
    /// commit). `done` holds the records already put in this page; one sent ahead is sent
    /// again at its own place in a later page, which a replica takes as a repeat.
    fn whole(
        &self,
        first: Change,
        cut: i64,
        may: &dyn Fn(&str) -> bool,
        done: &mut HashSet<String>,
        out: &mut Vec<Change>,
    ) -> Result<(), HubError> {
        if !done.insert(first.record.clone()) {
            return Ok(());
        }
        let own = first.seq;
        let changes = self.as_of(first, cut)?;
        for c in &changes {
            let Some(entity) = Entity::parse(&c.entity) else {
                continue;
            };
            for f in &c.fields {
                if guard::target(entity, &f.field).is_none() {
                    continue;
                }
                let named: Vec<&str> = match &f.value {
                    serde_json::Value::String(s) => vec![s.as_str()],
                    serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                    _ => Vec::new(),
                };
                let added = f.set.iter().flat_map(|o| o.add.iter().map(String::as_str));
                for id in named.into_iter().chain(added) {
                    let Some(at) = self.index.first_seq(id) else {
                        continue;
                    };
                    if at > own && at <= cut && !done.contains(id) && may(id) {
                        if let Some(y) = self.store.changes_at(&[at])?.pop() {
                            self.whole(y, cut, may, done, out)?;
                        }
                    }
                }
            }
        }
        out.extend(changes);
        Ok(())
    }

    /// [`Hub::pull_snapshot`] for a user who sees everything; `snapshot` is 0 outside an
    /// initial sync.
    fn pull_all(&self, after: i64, snapshot: i64, limit: usize) -> Result<PullPage, HubError> {
        let head = self.index.head;
        let mut out: Vec<Change> = Vec::new();
        let mut done: HashSet<String> = HashSet::new();
        let mut pos = after;
        'scan: loop {
            let page = self.store.changes(pos, SCAN.max(limit + 1))?;
            if page.is_empty() {
                break;
            }
            for c in page {
                if out.len() >= limit {
                    break 'scan;
                }
                pos = c.seq;
                if c.seq > snapshot {
                    out.push(c);
                    continue;
                }
                if self.index.first_seq(&c.record) != Some(c.seq) {
                    continue; // came with its record's first change
                }
                self.whole(c, snapshot, &|_| true, &mut done, &mut out)?;
            }
        }
        Ok(PullPage {
            changes: out,
            purged: Vec::new(),
            cursor: pos,
            more: pos < head,
            snapshot,
        })
    }
}

/// One record's changes (in order) cut to what still stands: each field written only by the
/// change with the highest version among them; a change left with nothing is dropped, except
/// the first (the record's create version). A set field edited element by element keeps every
/// write (each one's adds and removals count, see `desk_core::sets`).
fn as_of_snapshot(changes: Vec<Change>) -> Vec<Change> {
    let sets: HashSet<String> = changes
        .iter()
        .flat_map(|c| c.fields.iter())
        .filter(|f| f.set.is_some())
        .map(|f| f.field.clone())
        .collect();
    let mut last: HashMap<String, (desk_core::hlc::Hlc, String)> = HashMap::new();
    for c in &changes {
        for f in &c.fields {
            let v = (c.hlc, c.device.clone());
            match last.get(&f.field) {
                Some(held) if *held >= v => {}
                _ => {
                    last.insert(f.field.clone(), v);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(changes.len());
    for (i, mut c) in changes.into_iter().enumerate() {
        c.fields.retain(|f| {
            sets.contains(&f.field)
                || last
                    .get(&f.field)
                    .is_some_and(|(h, d)| *h == c.hlc && *d == c.device)
        });
        if i == 0 || !c.fields.is_empty() {
            out.push(c);
        }
    }
    out
}

enum Verdict {
    Accept,
    /// Kept for review, acknowledged, not merged.
    Aside(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;
    // (Written when the hub answered with the sync crate's error; the hub's own has the same
    // variants.)
    use crate::error::HubError as SyncError;
    use desk_core::{Entity, Fields, Key};

    fn contact(r: &mut Replica, name: &str) {
        let mut f = Fields::new();
        f.insert("name".into(), name.into());
        r.create(Entity::Contact, &f).expect("create");
    }

    #[test]
    fn the_hub_takes_each_change_once_and_in_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = Key::Raw([2u8; 32]);
        let mut hub = Hub::new(&dir.path().join("hub.db"), &key).expect("hub");
        let mut a = Replica::init(&dir.path().join("a.db"), &key).expect("a");
        for n in ["One", "Two", "Three"] {
            contact(&mut a, n);
        }
        let out = a.outbox(10).expect("outbox");
        let dev = a.device_id().to_string();
        let admin = Principal::admin();
        // A gap (change 2 before 1): nothing accepted, ack stays at 0.
        assert_eq!(hub.push(&admin, &dev, &out[1..2]).expect("push").acked, 0);
        assert!(hub.history().expect("history").is_empty());
        // In order; then the same batch again is harmless.
        assert_eq!(hub.push(&admin, &dev, &out[..2]).expect("push").acked, 2);
        assert_eq!(hub.push(&admin, &dev, &out).expect("push").acked, 3);
        assert_eq!(hub.push(&admin, &dev, &out).expect("again").acked, 3);
        assert_eq!(hub.history().expect("history").len(), 3);
        // Nobody pushes another device's changes.
        let err = hub.push(&admin, "someone-else", &out).expect_err("foreign");
        assert!(matches!(err, SyncError::Refused { .. }), "{err}");
        assert_eq!(hub.history().expect("history").len(), 3);
        // Pages of the history.
        let p = hub.pull(&admin, 1, 1).expect("pull");
        assert_eq!((p.changes.len(), p.cursor, p.more), (1, 2, true));
        let p = hub.pull(&admin, 2, 10).expect("pull");
        assert_eq!((p.changes.len(), p.cursor, p.more), (1, 3, false));
        assert!(hub.pull(&admin, 3, 10).expect("pull").changes.is_empty());
        // Restarted, the hub knows its history and its marks.
        drop(hub);
        let mut hub = Hub::open(&dir.path().join("hub.db"), &key).expect("reopen");
        assert_eq!(hub.history().expect("history").len(), 3);
        assert_eq!(
            hub.push(&admin, &dev, &out).expect("after restart").acked,
            3
        );
        assert_eq!(hub.history().expect("history").len(), 3);
    }
}
