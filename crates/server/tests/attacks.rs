//! The real `desk-server` attacked over raw HTTP by users with valid accounts: a focal point
//! signing in as another user's laptop, reading a file by naming its hash, pushing values no
//! local edit could store, hiding shared records from others, reading the past of records
//! restricted before it joined; and references to missing records, probes of hidden ids.
//! Each test states the rule it checks; each failed before the server enforced it.

mod common;

use common::{Server, Store};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

/// A device signed in over raw HTTP, numbering its own changes as a replica would.
struct Device {
    http: reqwest::blocking::Client,
    url: String,
    token: String,
    id: String,
    seq: i64,
}

static CLOCK: AtomicU64 = AtomicU64::new(0);

/// A hybrid-clock reading (milliseconds << 16), strictly increasing within the test binary.
fn hlc() -> u64 {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let next = ms << 16;
    let prev = CLOCK.fetch_max(next, Ordering::SeqCst);
    if prev >= next {
        CLOCK.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        next
    }
}

fn uuid() -> String {
    // A v7-shaped id from the clock and a counter: unique within the test.
    let n = hlc();
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        (n >> 32) as u32,
        (n >> 16) as u16,
        (n >> 4) & 0xfff,
        n & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

fn login_raw(server: &Server, user: &str, device: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("{}/v1/login", server.url))
        .json(&json!({"user": user, "password": common::PASSWORD, "device": device}))
        .send()
        .expect("login")
}

impl Device {
    fn login(server: &Server, user: &str) -> Device {
        let id = format!("{user}-{}", uuid());
        let r = login_raw(server, user, &id);
        assert_eq!(r.status(), 200, "login as {user}");
        let token = r.json::<Value>().expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string();
        Device {
            http: reqwest::blocking::Client::new(),
            url: server.url.clone(),
            token,
            id,
            seq: 0,
        }
    }

    /// A change of this device's next sequence number.
    fn change(&mut self, entity: &str, record: &str, fields: Value) -> Value {
        self.seq += 1;
        let fields: Vec<Value> = fields
            .as_object()
            .expect("fields")
            .iter()
            .map(|(k, v)| json!({"field": k, "value": v, "base": 0}))
            .collect();
        json!({"seq": 0, "device": self.id, "dev_seq": self.seq, "tx": self.seq,
               "entity": entity, "record": record, "hlc": hlc(), "schema_version": 4,
               "fields": fields})
    }

    /// Pushes `changes`; on a refusal the sequence numbers are given back (nothing stored).
    fn push(&mut self, changes: &[Value]) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/v1/push", self.url))
            .bearer_auth(&self.token)
            .json(&json!({"device": self.id, "changes": changes}))
            .send()
            .expect("push");
        let status = r.status().as_u16();
        let body: Value = r.json().unwrap_or(Value::Null);
        if status != 200 {
            self.seq -= changes.len() as i64;
        }
        (status, body)
    }

    /// Creates a record (one change), which must be accepted; its id.
    fn create(&mut self, entity: &str, fields: Value) -> String {
        let id = uuid();
        let c = self.change(entity, &id, fields);
        let (status, body) = self.push(&[c]);
        assert_eq!(status, 200, "create {entity}: {body}");
        id
    }

    fn edit(&mut self, entity: &str, id: &str, fields: Value) -> (u16, Value) {
        let c = self.change(entity, id, fields);
        self.push(&[c])
    }

    /// Every page of what this device may pull, from zero, in pages of `limit`, with or
    /// without asking for a snapshot: the raw text of every page.
    fn pull_all(&self, limit: usize, snapshot: bool) -> String {
        let (mut raw, mut after, mut snap) = (String::new(), 0i64, if snapshot { -1 } else { 0 });
        for _ in 0..10_000 {
            let r = self
                .http
                .get(format!(
                    "{}/v1/pull?after={after}&limit={limit}&snapshot={snap}",
                    self.url
                ))
                .bearer_auth(&self.token)
                .send()
                .expect("pull");
            assert_eq!(r.status(), 200);
            if snapshot {
                snap = r
                    .headers()
                    .get("x-desk-snapshot")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
            let text = r.text().expect("text");
            let page: Value = serde_json::from_str(&text).expect("json");
            raw.push_str(&text);
            after = page["cursor"].as_i64().expect("cursor");
            if page["more"] != true {
                return raw;
            }
        }
        panic!("the pull never ended");
    }

    fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .expect("get")
    }

    fn put_file(&self, sha: &str, size: usize, offset: usize, data: &[u8]) -> (u16, Value) {
        let r = self
            .http
            .put(format!(
                "{}/v1/blobs/{sha}?size={size}&offset={offset}",
                self.url
            ))
            .bearer_auth(&self.token)
            .body(data.to_vec())
            .send()
            .expect("put");
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    }
}

/// A server with a secretariat officer, the focal points of Thailand and Cambodia, a partner.
fn world() -> (Store, Server) {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    server.user("th", &["focal-point", "--country", "TH"]);
    server.user("kh", &["focal-point", "--country", "KH"]);
    server.user("partner", &["partner"]);
    (store, server)
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("")
}

fn sha256_hex(data: &[u8]) -> String {
    use std::fmt::Write as _;
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin.take().expect("stdin").write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut s = String::new();
    let _ = write!(s, "{}", text.split_whitespace().next().unwrap_or(""));
    s
}

#[test]
fn a_sign_in_naming_another_users_device_is_refused_and_the_owner_loses_nothing() {
    let (_store, server) = world();
    let mut laptop = Device::login(&server, "sec");
    let first = laptop.create("contact", json!({"name": "Somchai Jaidee"}));
    // The focal point names the laptop's device id (it travels in every pulled change).
    let r = login_raw(&server, "th", &laptop.id);
    assert_eq!(r.status(), 403);
    assert_eq!(code(&r.json().expect("json")), "device_taken");
    // The laptop is still signed in, and its next edit is stored, not taken for a repeat.
    let (status, body) = laptop.edit("contact", &first, json!({"title": "Director"}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["acked"], 2);
    let raw = laptop.pull_all(100, false);
    assert!(raw.contains("Director"), "the owner's edit was lost");
    // The owner may sign in again on its own device.
    assert_eq!(login_raw(&server, "sec", &laptop.id).status(), 200);
}

#[test]
fn naming_a_files_hash_grants_nothing_only_its_holders_documents_do() {
    let (_store, server) = world();
    let mut kh = Device::login(&server, "kh");
    let secret = b"KH restricted annex: negotiating position".repeat(50);
    let sha = sha256_hex(&secret);
    kh.create(
        "document",
        json!({"title": "Annex", "sha256": sha, "classification": "restricted", "scope": ["KH"]}),
    );
    let (status, body) = kh.put_file(&sha, secret.len(), 0, &secret);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["complete"], true);
    assert_eq!(kh.get(&format!("/v1/blobs/{sha}")).status(), 200);

    // Thailand's focal point copies the hash into a public document of its own.
    let mut th = Device::login(&server, "th");
    th.create(
        "document",
        json!({"title": "Mine", "sha256": sha, "classification": "public"}),
    );
    assert_eq!(th.get(&format!("/v1/blobs/{sha}")).status(), 404);
    let status = th.get(&format!("/v1/blobs/{sha}/status"));
    assert_eq!(status.status(), 200);
    assert_eq!(status.json::<Value>().expect("json")["complete"], false);
    // Sending bytes it does not hold gets it nothing either.
    let fake = vec![0u8; secret.len()];
    let (status, _) = th.put_file(&sha, fake.len(), 0, &fake);
    assert_eq!(status, 422, "damaged upload");
    assert_eq!(th.get(&format!("/v1/blobs/{sha}")).status(), 404);
    // Nor does a partner, who sees Thailand's public document.
    let partner = Device::login(&server, "partner");
    assert_eq!(partner.get(&format!("/v1/blobs/{sha}")).status(), 404);
    // The secretariat reads it through Cambodia's document.
    let sec = Device::login(&server, "sec");
    let r = sec.get(&format!("/v1/blobs/{sha}"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().expect("bytes").len(), secret.len().min(1 << 20));
}

#[test]
fn a_wrong_size_declared_first_blocks_nobody_and_oversized_files_are_refused() {
    let (_store, server) = world();
    let data = b"the real concept note".repeat(40);
    let sha = sha256_hex(&data);
    let mut th = Device::login(&server, "th");
    let mut kh = Device::login(&server, "kh");
    // Both name the file; Thailand's focal point starts first with a wrong size.
    th.create("document", json!({"title": "Copy", "sha256": sha}));
    kh.create("document", json!({"title": "Concept note", "sha256": sha}));
    let (status, body) = th.put_file(&sha, 2, 0, b"x");
    assert_eq!(status, 200, "{body}");
    // The author's upload is its own and completes.
    let (status, body) = kh.put_file(&sha, data.len(), 0, &data);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["complete"], true);
    assert_eq!(kh.get(&format!("/v1/blobs/{sha}")).status(), 200);
    // A terabyte is refused before anything is stored.
    let big = "a".repeat(64);
    kh.create("document", json!({"title": "Huge", "sha256": big}));
    let (status, body) = kh.put_file(&big, 1 << 40, 0, b"x");
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "too_large");
}

#[test]
fn pushed_changes_are_checked_as_a_local_edit_is_and_a_bad_one_stores_nothing() {
    let (_store, server) = world();
    let mut sec = Device::login(&server, "sec");
    let meeting = sec.create(
        "meeting",
        json!({"title": "ACMECS SOM", "start_date": "2026-03-01"}),
    );
    let before = sec.pull_all(1000, false);
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "meeting",
            "start_date",
            json!({"start_date": {"y": 2026}}),
            "date",
        ),
        ("meeting", "status", json!({"status": "exploded"}), "one of"),
        (
            "meeting",
            "timezone",
            json!({"timezone": "../../etc/passwd"}),
            "time zone",
        ),
        (
            "meeting",
            "title",
            json!({"title": "x".repeat(200_000)}),
            "limit is 2000",
        ),
        (
            "meeting",
            "notes",
            json!({"notes": "n".repeat(3 << 20)}),
            "limit is 100000",
        ),
        ("meeting", "title", json!({"title": null}), "required"),
        (
            "meeting",
            "colour",
            json!({"colour": "red"}),
            "unknown field",
        ),
    ];
    for (entity, field, fields, says) in cases {
        let (status, body) = sec.edit(entity, &meeting, fields);
        assert_eq!(status, 422, "{field}: {body}");
        assert_eq!(code(&body), "invalid_change", "{field}");
        let m = message(&body);
        assert!(m.contains(&format!("{entity}.{field}")), "{field}: {m}");
        assert!(m.contains(says), "{field}: {m}");
        assert!(m.contains(&format!("{}/", sec.id)), "names the change: {m}");
    }
    // A contact with no name, and an edit to a made-up id (it would create a title-less
    // meeting): both refused, naming the required field.
    let (status, body) = sec.edit("contact", &uuid(), json!({"title": "Director"}));
    assert_eq!((status, code(&body)), (422, "invalid_change"), "{body}");
    assert!(message(&body).contains("contact.name"), "{body}");
    let (status, body) = sec.edit("meeting", &uuid(), json!({"title": "Mine now"}));
    assert_eq!((status, code(&body)), (422, "invalid_change"), "{body}");
    assert!(message(&body).contains("meeting.start_date"), "{body}");
    // A reference to a missing record: 422 naming the field, no database message.
    let (status, body) = sec.edit("meeting", &meeting, json!({"chair": uuid()}));
    assert_eq!((status, code(&body)), (422, "invalid_change"), "{body}");
    assert!(message(&body).contains("meeting.chair"), "{body}");
    assert!(
        !message(&body).to_lowercase().contains("constraint"),
        "{body}"
    );
    // Nothing of any of it was stored; a good edit still goes through.
    assert_eq!(sec.pull_all(1000, false), before);
    let (status, body) = sec.edit("meeting", &meeting, json!({"status": "confirmed"}));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_hidden_id_and_a_made_up_one_get_the_same_answer() {
    let (_store, server) = world();
    let mut kh = Device::login(&server, "kh");
    let hidden = kh.create(
        "meeting",
        json!({"title": "KH bilateral", "start_date": "2026-02-01",
               "classification": "restricted", "scope": ["KH"]}),
    );
    let mut th = Device::login(&server, "th");
    let made_up = uuid();
    let (s1, b1) = th.edit("meeting", &hidden, json!({"title": "probe"}));
    let (s2, b2) = th.edit("meeting", &made_up, json!({"title": "probe"}));
    assert_eq!((s1, code(&b1)), (s2, code(&b2)), "{b1} / {b2}");
    assert_eq!(
        message(&b1).replace(&hidden, "ID"),
        message(&b2).replace(&made_up, "ID")
    );
    // Pointing a reference at either: the same answer too.
    let mine = th.create(
        "meeting",
        json!({"title": "TH meeting", "start_date": "2026-02-02"}),
    );
    let (s1, b1) = th.edit("meeting", &mine, json!({"chair": hidden}));
    let (s2, b2) = th.edit("meeting", &mine, json!({"chair": made_up}));
    assert_eq!((s1, code(&b1)), (s2, code(&b2)), "{b1} / {b2}");
    assert_eq!(s1, 422);
}

#[test]
fn a_focal_point_cannot_hide_shared_records_from_others() {
    let (_store, server) = world();
    let mut sec = Device::login(&server, "sec");
    let internal = sec.create(
        "meeting",
        json!({"title": "Internal SOM", "start_date": "2026-03-01", "classification": "internal"}),
    );
    let public = sec.create(
        "meeting",
        json!({"title": "Public Summit", "start_date": "2026-04-01", "classification": "public"}),
    );
    let mut th = Device::login(&server, "th");
    let own = th.create(
        "contact",
        json!({"name": "Somchai Jaidee", "classification": "restricted", "scope": ["TH"]}),
    );
    for m in [&internal, &public] {
        let (status, body) = th.edit("meeting", m, json!({"chair": own}));
        assert_eq!(status, 403, "{body}");
        assert_eq!(code(&body), "not_permitted");
        assert!(message(&body).contains(m.as_str()), "{body}");
    }
    // Cambodia and the partner still see them.
    let kh = Device::login(&server, "kh");
    let raw = kh.pull_all(100, false);
    assert!(raw.contains(&internal) && raw.contains(&public));
    let partner = Device::login(&server, "partner");
    assert!(partner.pull_all(100, false).contains(&public));
    // A chair everyone who sees the meeting may see is fine.
    let open = th.create(
        "contact",
        json!({"name": "Nguyễn Văn An", "classification": "internal"}),
    );
    let (status, body) = th.edit("meeting", &internal, json!({"chair": open}));
    assert_eq!(status, 200, "{body}");
    // The secretariat may still restrict what it chooses (a permitted reclassification).
    let (status, body) = sec.edit("meeting", &public, json!({"chair": own}));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_user_added_later_never_receives_the_past_of_a_record_restricted_before() {
    let (_store, server) = world();
    let mut sec = Device::login(&server, "sec");
    let meeting = sec.create(
        "meeting",
        json!({"title": "Early talks", "start_date": "2026-01-10",
               "notes": "early notes, not for Thailand"}),
    );
    let item = sec.create(
        "agenda_item",
        json!({"meeting": meeting, "title": "Item one", "annotation": "item notes"}),
    );
    let (status, body) = sec.edit(
        "meeting",
        &meeting,
        json!({"classification": "restricted", "scope": ["KH"]}),
    );
    assert_eq!(status, 200, "{body}");
    sec.create(
        "contact",
        json!({"name": "Public person", "classification": "public"}),
    );
    // A Thai user created only now.
    server.user("th-late", &["focal-point", "--country", "TH"]);
    let late = Device::login(&server, "th-late");
    for (limit, snapshot) in [
        (1, false),
        (2, false),
        (1000, false),
        (1, true),
        (1000, true),
    ] {
        let raw = late.pull_all(limit, snapshot);
        assert!(raw.contains("Public person"), "limit {limit}: {raw}");
        // No version of either record: not a change naming it, not a word of its text. (A
        // replay may still name a record that was visible and stopped being, in `purged`,
        // for the devices that hold it: an id, never a version.)
        let changes: String = raw
            .split("\"purged\"")
            .map(|page| page.split("\"changes\"").nth(1).unwrap_or(""))
            .collect();
        for leak in [meeting.as_str(), item.as_str()] {
            assert!(
                !changes.contains(leak),
                "limit {limit}, snapshot {snapshot}: a version of {leak} reached a user added later"
            );
        }
        for leak in ["early notes", "item notes", "Early talks", "Item one"] {
            assert!(
                !raw.contains(leak),
                "limit {limit}, snapshot {snapshot}: '{leak}' reached a user added later"
            );
        }
    }
}

#[test]
fn each_user_has_a_file_quota_and_unfinished_uploads_are_removed_when_stale() {
    let store = Store::new();
    let server = Server::start_as(&store.spec(), &["--file-quota-mb", "1"], None);
    server.user("kh", &["focal-point", "--country", "KH"]);
    let mut kh = Device::login(&server, "kh");
    let first: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let second: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
    let (a, b) = (sha256_hex(&first), sha256_hex(&second));
    kh.create("document", json!({"title": "First", "sha256": a}));
    kh.create("document", json!({"title": "Second", "sha256": b}));
    let (status, body) = kh.put_file(&a, first.len(), 0, &first);
    assert_eq!(
        (status, body["complete"].clone()),
        (200, json!(true)),
        "{body}"
    );
    // 0.7 MB held; another 0.7 MB would pass the 1 MB quota.
    let (status, body) = kh.put_file(&b, second.len(), 0, &second[..1000]);
    assert_eq!(status, 413, "{body}");
    assert_eq!(code(&body), "quota_exceeded");
    drop(server);

    // Without the quota, an upload left half done...
    let server = Server::start_as(&store.spec(), &[], None);
    let kh = Device::login(&server, "kh");
    let (status, body) = kh.put_file(&b, second.len(), 0, &second[..1000]);
    assert_eq!((status, body["have"].clone()), (200, json!(1000)), "{body}");
    drop(server);
    // ...is still there the next day, and gone when a server starts a week and a day later.
    let server = Server::start_as(&store.spec(), &[], Some("+1d"));
    let kh = Device::login(&server, "kh");
    let st: Value = kh
        .get(&format!("/v1/blobs/{b}/status"))
        .json()
        .expect("json");
    assert_eq!(st["have"], 1000, "{st}");
    drop(server);
    let server = Server::start_as(&store.spec(), &[], Some("+8d"));
    let kh = Device::login(&server, "kh");
    let st: Value = kh
        .get(&format!("/v1/blobs/{b}/status"))
        .json()
        .expect("json");
    assert_eq!(st["have"], 0, "a stale upload was kept: {st}");
}
