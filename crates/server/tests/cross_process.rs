//! The real `desk-server` and `desk` processes over 127.0.0.1: two replicas edit the same and
//! different fields offline and converge; the server is killed (SIGKILL) and restarted on its
//! store and nothing acknowledged is lost; a client killed mid-apply resumes; the same batch
//! twice is stored once; bad requests get a machine-readable 4xx and change nothing; a country
//! focal point never receives another country's restricted record, not even its id, and loses
//! what is reclassified away from it; a revoked device is wiped on next contact; a client whose
//! clock runs three days fast does not win later edits.
//!
//! Needs the `desk` binary beside `desk-server` (`cargo test --workspace` builds both).

mod common;

use common::{Server, Store, PASSWORD};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn desk_bin() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_desk-server")).with_file_name("desk");
    assert!(
        p.exists(),
        "{} missing: build it first (cargo build -p desk-cli)",
        p.display()
    );
    p
}

struct Desk(tempfile::TempDir);

impl Desk {
    fn new() -> Desk {
        let d = Desk(tempfile::tempdir().expect("tmp"));
        d.ok(&["init"]);
        d
    }
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(desk_bin());
        c.args(args)
            .env("DESK_DATA_DIR", self.0.path())
            .env("DESK_PASSPHRASE", "correct horse battery")
            .env("DESK_PASSWORD", PASSWORD)
            // No keychain on a test machine: the token goes inside the encrypted replica.
            .env("DESK_NO_KEYCHAIN", "1");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run desk")
    }
    /// Starts `desk sync --progress --page 5` (against `server`, or the one signed in to) and
    /// reads its progress until a line starting with `prefix` (a batch confirmed: "sent", a
    /// page applied: "received"). Returns the running process, that line, and the rest of its
    /// output (kept open so the process can go on writing).
    fn sync_until(
        &self,
        server: Option<&str>,
        prefix: &str,
    ) -> (
        Child,
        String,
        std::io::Lines<BufReader<std::process::ChildStderr>>,
    ) {
        let mut args = vec!["sync"];
        if let Some(url) = server {
            args.extend(["--server", url]);
        }
        args.extend(["--progress", "--page", "5"]);
        let mut child = self
            .command(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sync");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if line.starts_with(prefix) {
                return (child, line, lines);
            }
            seen.push(line);
        }
        let _ = child.wait();
        panic!("no line starting with {prefix:?}: {seen:?}");
    }
    fn login(&self, s: &Server, user: &str) {
        self.ok(&["login", "--server", &s.url, "--user", user]);
    }
    fn device(&self) -> String {
        self.json(&["summary"])["device"]
            .as_str()
            .expect("device")
            .to_string()
    }
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "desk {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        serde_json::from_str(&self.ok(&a)).expect("json")
    }
    fn sync(&self, s: &Server) -> Value {
        self.json(&["sync", "--server", &s.url])
    }
    fn records(&self) -> String {
        // The record tables, without the search section's local details.
        self.ok(&["dump"])
    }
}

#[test]
fn two_offline_replicas_converge_through_a_killed_and_restarted_server() {
    let store = Store::new();
    let db = store.spec();
    let server = Server::start(&db);
    server.user("alice", &["secretariat"]);
    server.user("bob", &["secretariat"]);
    let (a, b) = (Desk::new(), Desk::new());
    a.login(&server, "alice");
    b.login(&server, "bob");

    let id = a.json(&[
        "contact",
        "add",
        "--name",
        "Somchai Jaidee",
        "--title",
        "Director",
    ])["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(a.sync(&server)["pushed"], 1);
    assert_eq!(b.sync(&server)["applied"], 1);

    // Offline: different fields, and the same field with different values.
    a.ok(&[
        "contact",
        "edit",
        &id,
        "--email",
        "somchai@mfa.go.th",
        "--phone",
        "+66 2 643 5000",
    ]);
    b.ok(&["contact", "edit", &id, "--title", "Director-General"]);
    a.ok(&["contact", "edit", &id, "--native-name", "สมชาย ใจดี"]);
    b.ok(&["contact", "edit", &id, "--native-name", "นายสมชาย ใจดี"]);
    a.sync(&server);
    b.sync(&server);
    a.sync(&server);
    assert_eq!(a.records(), b.records(), "replicas differ after sync");
    let c = a.json(&["contact", "show", &id]);
    assert_eq!(c["email"], "somchai@mfa.go.th");
    assert_eq!(c["title"], "Director-General");
    // The concurrent edit of the same field is kept for a person to settle, on the replica
    // whose value lost.
    let conflicts = a.json(&["conflicts"]).as_array().expect("list").len()
        + b.json(&["conflicts"]).as_array().expect("list").len();
    assert!(conflicts >= 1, "the native-name clash is in an inbox");

    // The server dies hard; A keeps working offline, then the server comes back on its store.
    server.kill();
    a.ok(&["contact", "edit", &id, "--title", "Ambassador"]);
    let out = a.run(&["sync", "--server", "http://127.0.0.1:9"]);
    assert!(!out.status.success(), "no server: sync fails");
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not be reached"));
    let server = Server::start(&db);
    assert_eq!(a.sync(&server)["pushed"], 1, "the unsent edit was kept");
    b.sync(&server);
    assert_eq!(b.json(&["contact", "show", &id])["title"], "Ambassador");
    assert_eq!(a.records(), b.records());

    // A third replica starting from nothing receives the whole history.
    let c3 = Desk::new();
    c3.login(&server, "alice");
    c3.sync(&server);
    assert_eq!(c3.json(&["contact", "show", &id])["title"], "Ambassador");
}

#[test]
fn the_same_batch_twice_is_stored_once_and_bad_requests_change_nothing() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("alice", &["secretariat"]);
    let plain = reqwest::blocking::Client::new();
    let a = Desk::new();
    a.ok(&["contact", "add", "--name", "Aung Kyaw"]);
    a.ok(&["contact", "add", "--name", "Sok Vanna"]);
    let log = a.json(&["log"]);
    let device = log[0]["device"].as_str().expect("device").to_string();
    let token = login(&server, "alice", &device);
    let http = Authed(plain.clone(), token.clone());
    let batch = json!({"device": device, "changes": log});
    for _ in 0..2 {
        let r = http
            .post(format!("{}/v1/push", server.url))
            .json(&batch)
            .send()
            .expect("push");
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().expect("json")["acked"], 2);
    }
    let r = http
        .get(format!("{}/v1/pull?after=0", server.url))
        .send()
        .expect("pull");
    // A pull from zero that does not ask for a snapshot replays the history.
    assert_eq!(r.headers()["x-desk-snapshot"], "0");
    let r = http
        .get(format!("{}/v1/pull?after=0&snapshot=-1", server.url))
        .send()
        .expect("pull");
    // One that asks starts an initial sync: the snapshot is the history's head.
    assert_eq!(r.headers()["x-desk-snapshot"], "2");
    let page: Value = r.json().expect("json");
    assert_eq!(page["changes"].as_array().expect("changes").len(), 2);
    let r = http
        .get(format!("{}/v1/pull?after=2&snapshot=2", server.url))
        .send()
        .expect("pull");
    assert_eq!(r.headers()["x-desk-snapshot"], "0", "past it: no snapshot");

    let bad = |r: reqwest::blocking::Response, status: u16, code: &str| {
        assert_eq!(r.status().as_u16(), status);
        let v: Value = r.json().expect("machine-readable error");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
    };
    let url = |p: &str| format!("{}{p}", server.url);
    // No token, a made-up token, a wrong password: 401, nothing stored.
    bad(
        plain
            .post(url("/v1/push"))
            .json(&batch)
            .send()
            .expect("no token"),
        401,
        "unauthenticated",
    );
    bad(
        plain
            .get(url("/v1/pull?after=0"))
            .bearer_auth("0".repeat(64))
            .send()
            .expect("made-up token"),
        401,
        "unauthenticated",
    );
    bad(
        plain
            .post(url("/v1/login"))
            .json(&json!({"user": "alice", "password": "not the password", "device": device}))
            .send()
            .expect("wrong password"),
        401,
        "unauthenticated",
    );
    // A token pushes only for its own device.
    bad(
        http.post(url("/v1/push"))
            .json(&json!({"device": "another-device", "changes": []}))
            .send()
            .expect("other device"),
        403,
        "refused",
    );
    bad(
        http.post(url("/v1/push"))
            .header("content-type", "application/json")
            .body("{\"device\": \"x\", \"changes\": [")
            .send()
            .expect("truncated"),
        400,
        "bad_request",
    );
    bad(
        http.post(url("/v1/push"))
            .json(&json!({"device": "x", "changes": [1]}))
            .send()
            .expect("malformed"),
        422,
        "bad_request",
    );
    bad(
        http.post(url("/v1/push"))
            .json(&json!({"device": "someone-else", "changes": log}))
            .send()
            .expect("foreign"),
        403,
        "refused",
    );
    let mut unknown = log[0].clone();
    unknown["entity"] = json!("no_such_entity");
    unknown["dev_seq"] = json!(3);
    bad(
        http.post(url("/v1/push"))
            .json(&json!({"device": device, "changes": [unknown]}))
            .send()
            .expect("unknown entity"),
        422,
        "invalid_change",
    );
    // Oversized: refused once the body passes the limit; the server answers and stays up.
    let addr = server.url.trim_start_matches("http://").to_string();
    let tcp = std::net::TcpStream::connect(&addr).expect("connect");
    let mut writer = tcp.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        use std::io::Write;
        let size = 40 * 1024 * 1024;
        let _ = write!(writer, "POST /v1/push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..40 {
            if writer.write_all(&chunk).is_err() {
                break; // the server stopped reading: expected
            }
        }
    });
    let mut answer = String::new();
    {
        use std::io::Read;
        let mut reader = tcp;
        let _ = reader.read_to_string(&mut answer);
    }
    let _ = sender.join();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("\"too_large\""), "{answer}");
    bad(
        http.get(url("/v1/pull?after=abc"))
            .send()
            .expect("bad query"),
        400,
        "bad_request",
    );
    bad(
        http.get(url("/v1/nothing")).send().expect("404"),
        404,
        "not_found",
    );
    // Still serving, still two changes.
    let page: Value = http
        .get(url("/v1/pull?after=0"))
        .send()
        .expect("pull")
        .json()
        .expect("json");
    assert_eq!(
        page["changes"].as_array().expect("changes").len(),
        2,
        "{page}"
    );
}

/// Signs a device in over raw HTTP; returns its token.
fn login(server: &Server, user: &str, device: &str) -> String {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/login", server.url))
        .json(&json!({"user": user, "password": PASSWORD, "device": device}))
        .send()
        .expect("login");
    assert_eq!(r.status(), 200, "login as {user}");
    r.json::<Value>().expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// A client that sends a bearer token with every request.
struct Authed(reqwest::blocking::Client, String);

impl Authed {
    fn get(&self, url: String) -> reqwest::blocking::RequestBuilder {
        self.0.get(url).bearer_auth(&self.1)
    }
    fn post(&self, url: String) -> reqwest::blocking::RequestBuilder {
        self.0.post(url).bearer_auth(&self.1)
    }
    /// Every page of the stream after `after`, as raw text (to search for ids in) and parsed.
    fn pull_all(&self, server: &Server, after: i64) -> (String, Vec<Value>) {
        let (mut raw, mut pages, mut after) = (String::new(), Vec::new(), after);
        loop {
            let r = self
                .get(format!("{}/v1/pull?after={after}&limit=7", server.url))
                .send()
                .expect("pull");
            assert_eq!(r.status(), 200);
            let text = r.text().expect("text");
            let page: Value = serde_json::from_str(&text).expect("json");
            raw.push_str(&text);
            after = page["cursor"].as_i64().expect("cursor");
            let more = page["more"] == true;
            pages.push(page);
            if !more {
                return (raw, pages);
            }
        }
    }
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

#[test]
fn a_focal_point_never_receives_another_countrys_restricted_record_not_even_its_id() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    server.user("th", &["focal-point", "--country", "TH"]);
    server.user("kh", &["focal-point", "--country", "Cambodia"]);
    let sec = Desk::new();
    sec.login(&server, "sec");
    // Public and restricted meetings; a restricted contact sitting in the public meeting.
    let open = id_of(&sec.json(&[
        "meeting",
        "add",
        "--title",
        "ACMECS SOM",
        "--start-date",
        "2027-02-01",
        "--classification",
        "public",
    ]));
    let secret = id_of(&sec.json(&[
        "meeting",
        "add",
        "--title",
        "KH bilateral",
        "--start-date",
        "2027-02-02",
        "--classification",
        "restricted",
        "--scope",
        "KH",
    ]));
    let secret_item = id_of(&sec.json(&[
        "agenda",
        "add",
        "--meeting",
        &secret,
        "--title",
        "Border posts",
    ]));
    let hidden_contact = id_of(&sec.json(&[
        "contact",
        "add",
        "--name",
        "Sok Vanna",
        "--classification",
        "restricted",
        "--scope",
        "KH",
    ]));
    let hidden_seat = id_of(&sec.json(&[
        "participant",
        "add",
        "--meeting",
        &open,
        "--contact",
        &hidden_contact,
        "--delegation",
        "KH",
    ]));
    let open_item = id_of(&sec.json(&[
        "agenda",
        "add",
        "--meeting",
        &open,
        "--title",
        "Master Plan review",
    ]));
    sec.sync(&server);

    // Raw HTTP as Thailand's focal point: none of Cambodia's restricted ids, anywhere.
    let th_device = "th-laptop";
    let th = Authed(
        reqwest::blocking::Client::new(),
        login(&server, "th", th_device),
    );
    let (raw, _) = th.pull_all(&server, 0);
    for (what, id) in [
        ("meeting", &secret),
        ("agenda item", &secret_item),
        ("contact", &hidden_contact),
        ("participant naming it", &hidden_seat),
    ] {
        assert!(
            !raw.contains(id.as_str()),
            "TH received the restricted {what} {id}"
        );
    }
    for id in [&open, &open_item] {
        assert!(raw.contains(id.as_str()), "TH is missing {id}");
    }
    // Cambodia's focal point sees them.
    let kh = Authed(
        reqwest::blocking::Client::new(),
        login(&server, "kh", "kh-laptop"),
    );
    let (raw_kh, _) = kh.pull_all(&server, 0);
    for id in [&secret, &secret_item, &hidden_contact, &hidden_seat] {
        assert!(raw_kh.contains(id.as_str()), "KH is missing {id}");
    }
    // Probing: an edit to a record TH never saw is refused, answered as one to a record that
    // does not exist (a new record must come whole), and nothing is stored.
    let probe = json!({"device": th_device, "changes": [{
        "seq": 0, "device": th_device, "dev_seq": 1, "tx": 1, "entity": "meeting", "record": secret,
        "hlc": 1, "schema_version": 2, "fields": [{"field": "title", "value": "mine now", "base": 0}]}]});
    let r = th
        .post(format!("{}/v1/push", server.url))
        .json(&probe)
        .send()
        .expect("probe");
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().expect("json")["error"]["code"],
        "invalid_change"
    );
    assert_eq!(
        sec.json(&["meeting", "show", &secret])["title"],
        "KH bilateral"
    );

    // A real TH replica holds the public meeting; when the secretariat restricts it to
    // Cambodia, TH's next sync removes it, its agenda and its history.
    let th_desk = Desk::new();
    th_desk.login(&server, "th");
    th_desk.sync(&server);
    assert_eq!(
        th_desk.json(&["meeting", "show", &open])["title"],
        "ACMECS SOM"
    );
    let verified = th_desk.ok(&["sync", "--verify"]);
    assert!(verified.contains("Verified: the 2 records"), "{verified}");
    sec.ok(&[
        "meeting",
        "edit",
        &open,
        "--classification",
        "restricted",
        "--scope",
        "KH",
    ]);
    sec.sync(&server);
    let report = th_desk.sync(&server);
    assert!(report["purged"].as_u64().expect("purged") >= 1, "{report}");
    let gone = th_desk.run(&["meeting", "show", &open]);
    assert_eq!(
        gone.status.code(),
        Some(4),
        "the meeting is gone from TH's replica"
    );
    let dump = th_desk.ok(&["dump"]);
    let log = th_desk.ok(&["log", "--limit", "10000000"]);
    for id in [&open, &open_item] {
        assert!(
            !dump.contains(id.as_str()) && !log.contains(id.as_str()),
            "{id} left behind"
        );
    }
    // And a TH focal point may not reclassify what it sees.
    let th_item = id_of(&th_desk.json(&[
        "contact",
        "add",
        "--name",
        "Somchai Jaidee",
        "--classification",
        "internal",
    ]));
    th_desk.sync(&server);
    th_desk.ok(&["contact", "edit", &th_item, "--classification", "public"]);
    let refused = th_desk.run(&["sync"]);
    assert_eq!(
        refused.status.code(),
        Some(8),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not permitted"));
}

#[test]
fn a_revoked_device_removes_its_replica_on_next_contact() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let (a, lost) = (Desk::new(), Desk::new());
    a.login(&server, "sec");
    lost.login(&server, "sec");
    a.ok(&[
        "contact",
        "add",
        "--name",
        "Aung Kyaw",
        "--classification",
        "restricted",
    ]);
    a.sync(&server);
    lost.sync(&server);
    assert_eq!(
        lost.json(&["contact", "list"])
            .as_array()
            .expect("list")
            .len(),
        1
    );

    let device = lost.device();
    assert!(server.admin(&["device", "list"]).contains(&device));
    server.admin(&["device", "revoke", &device]);
    let listed = server.admin(&["device", "list"]);
    assert!(listed.contains("revoked, wipe not confirmed"), "{listed}");
    let out = lost.run(&["sync"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("revoked"), "{said}");
    assert!(said.contains("the server has the wipe on record"), "{said}");
    // The server knows: the device is listed as wiped, and the audit log says so once.
    let listed = server.admin(&["device", "list"]);
    let row = listed
        .lines()
        .find(|l| l.starts_with(&device))
        .expect("the device is listed");
    assert!(row.contains("revoked, wiped "), "{row}");
    // Nothing of the replica is left on the laptop: no file holds the record or its history.
    let left: Vec<String> = std::fs::read_dir(lost.0.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let gone = lost.run(&["contact", "list"]);
    assert_eq!(gone.status.code(), Some(4), "no replica here any more");
    // A new replica on that laptop is a new device: it must be signed in, and starts empty.
    lost.ok(&["init"]);
    assert_ne!(lost.device(), device);
    assert!(lost
        .json(&["contact", "list"])
        .as_array()
        .expect("list")
        .is_empty());
    // The other device carries on; the audit log tells the story.
    a.ok(&["contact", "add", "--name", "Sok Vanna"]);
    assert_eq!(a.sync(&server)["pushed"], 1);
    let audit = server.admin(&["audit"]);
    assert!(
        audit.contains("revoke") && audit.contains("login"),
        "{audit}"
    );
    assert_eq!(
        audit
            .matches("the device confirmed its replica, files and keys removed")
            .count(),
        1,
        "{audit}"
    );
}

#[test]
fn a_client_clock_three_days_fast_does_not_win_later_edits() {
    let faketime = Path::new("/usr/bin/faketime");
    assert!(
        faketime.exists(),
        "faketime missing: run scripts/setup (Debian package faketime)"
    );
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let (fast, normal) = (Desk::new(), Desk::new());
    fast.login(&server, "sec");
    normal.login(&server, "sec");
    let id = id_of(&normal.json(&[
        "contact",
        "add",
        "--name",
        "Somchai Jaidee",
        "--title",
        "Director",
    ]));
    normal.sync(&server);
    fast.sync(&server);
    // The fast laptop edits (its clock says three days from now) and syncs...
    let run_fast = |args: &[&str]| {
        let c = fast.command(args);
        let program = c.get_program().to_owned();
        let mut f = Command::new(faketime);
        f.arg("-f").arg("+3d").arg(program).args(c.get_args());
        for (k, v) in c.get_envs() {
            if let Some(v) = v {
                f.env(k, v);
            }
        }
        let out = f.output().expect("faketime desk");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run_fast(&["contact", "edit", &id, "--title", "Deputy Director"]);
    let out = run_fast(&["sync"]);
    assert!(out.contains("clock is ahead"), "{out}");
    // ...then, later in real time, the other laptop edits the same field.
    normal.sync(&server);
    normal.ok(&["contact", "edit", &id, "--title", "Director-General"]);
    normal.sync(&server);
    fast.sync(&server);
    for d in [&fast, &normal] {
        assert_eq!(
            d.json(&["contact", "show", &id])["title"],
            "Director-General"
        );
    }
    assert_eq!(
        fast.records(),
        normal.records(),
        "both hold the server's stamps"
    );
    assert!(server.admin(&["audit"]).contains("restamp"));
}

#[test]
fn a_client_killed_mid_apply_resumes_where_it_stopped() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let (a, b) = (Desk::new(), Desk::new());
    a.login(&server, "sec");
    b.login(&server, "sec");
    a.ok(&["demo"]);
    a.sync(&server);
    // B pulls in small pages and reports each; it is killed after the first page committed.
    let (mut child, first, _rest) = b.sync_until(None, "received");
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(first.starts_with("received 5"), "{first}");
    // Part of the history is there (the demo is hundreds of 5-change pages), consistent; the
    // next sync completes it.
    let part = b
        .json(&["log", "--limit", "10000000"])
        .as_array()
        .expect("log")
        .len();
    let whole = a
        .json(&["log", "--limit", "10000000"])
        .as_array()
        .expect("log")
        .len();
    assert!(
        part >= 5 && part < whole,
        "killed mid-sync: {part} of {whole}"
    );
    b.sync(&server);
    assert_eq!(a.records(), b.records());
}

#[test]
fn a_waiting_pull_returns_with_the_change_that_arrives_and_binary_garbage_is_refused() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let a = Desk::new();
    a.login(&server, "sec");
    let watcher = Authed(
        reqwest::blocking::Client::new(),
        login(&server, "sec", "watcher"),
    );
    let url = format!("{}/v1/pull?after=0&wait=50", server.url);
    let waiting = std::thread::spawn(move || {
        let r = watcher.get(url).send().expect("long-poll");
        assert_eq!(r.status(), 200);
        r.json::<Value>().expect("json")
    });
    a.ok(&["contact", "add", "--name", "Aung Kyaw"]);
    a.sync(&server);
    let page = waiting.join().expect("thread");
    let changes = page["changes"].as_array().expect("changes");
    assert_eq!(changes.len(), 1, "{page}");
    assert!(
        changes[0]["fields"].to_string().contains("Aung Kyaw"),
        "{page}"
    );

    let t = login(&server, "sec", "prober");
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(t)
        .header("content-type", "application/x-desk-sync")
        .body(vec![0x78u8, 0x9c, 1, 2, 3])
        .send()
        .expect("garbage");
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().expect("json")["error"]["code"],
        "bad_request"
    );
}

#[test]
fn the_server_reads_its_config_file_and_names_what_is_wrong_in_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("from-config.db");
    let conf = dir.path().join("desk-server.conf");
    std::fs::write(
        &conf,
        format!("# test\ndb = {}\nlisten = \"127.0.0.1:0\"\n", db.display()),
    )
    .expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_desk-server"))
        .args(["--config", &conf.to_string_lossy()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    assert!(
        db.exists(),
        "the store named in the config file was created"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(dir.path().join("from-config.db.key")).expect("key");
        assert_eq!(key.permissions().mode() & 0o777, 0o600);
    }
    let _ = child.kill();
    let _ = child.wait();

    std::fs::write(&conf, "db = x.db\nport = 80\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_desk-server"))
        .args(["--config", &conf.to_string_lossy()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(":2: unknown setting 'port'"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_desk-server"))
        .args(["user", "add", "x", "--role", "king"])
        .args(["--db", &db.to_string_lossy()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role 'king'"));
}

#[test]
fn a_client_too_old_for_the_server_is_refused_before_anything_is_stored() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let a = Desk::new();
    a.ok(&["contact", "add", "--name", "Aung Kyaw"]);
    let log = a.json(&["log"]);
    let device = a.device();
    let http = Authed(
        reqwest::blocking::Client::new(),
        login(&server, "sec", &device),
    );
    let r = http
        .post(format!("{}/v1/push", server.url))
        .header("x-desk-schema", "1")
        .json(&json!({"device": device, "changes": log}))
        .send()
        .expect("push");
    assert_eq!(r.status(), 426);
    assert_eq!(
        r.json::<Value>().expect("json")["error"]["code"],
        "upgrade_required"
    );
    let page: Value = http
        .get(format!("{}/v1/pull?after=0", server.url))
        .send()
        .expect("pull")
        .json()
        .expect("json");
    assert!(
        page["changes"].as_array().expect("changes").is_empty(),
        "nothing stored"
    );
    // A change from a schema newer than the server's is refused too (the server upgrades first).
    let mut newer = log.clone();
    newer[0]["schema_version"] = json!(99);
    let r = http
        .post(format!("{}/v1/push", server.url))
        .json(&json!({"device": device, "changes": newer}))
        .send()
        .expect("push");
    assert_eq!(r.status(), 422);
    // The replica's outbox is intact: a current client sends it.
    a.login(&server, "sec");
    assert_eq!(a.sync(&server)["pushed"], 1);
}

#[test]
fn a_documents_file_travels_with_it_and_leaves_with_it() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    server.user("th", &["focal-point", "--country", "TH"]);
    let (a, th) = (Desk::new(), Desk::new());
    a.login(&server, "sec");
    th.login(&server, "th");
    let file = store.path().join("concept note.pdf");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 241) as u8).collect();
    std::fs::write(&file, &data).expect("file");
    let doc = id_of(&a.json(&[
        "document",
        "add",
        "--title",
        "Concept note",
        "--classification",
        "internal",
    ]));
    let attached = a.json(&["document", "attach", &doc, &file.to_string_lossy()]);
    assert_eq!(attached["filename"], "concept note.pdf");
    assert_eq!(a.sync(&server)["files_sent"], 1);
    assert_eq!(th.sync(&server)["files_received"], 1);
    let out = store.path().join("copy.pdf");
    th.ok(&["document", "save", &doc, "-o", &out.to_string_lossy()]);
    assert_eq!(std::fs::read(&out).expect("copy"), data);
    // Restricted away from Thailand: the document and its cached file leave TH's replica.
    a.ok(&[
        "document",
        "edit",
        &doc,
        "--classification",
        "restricted",
        "--scope",
        "KH",
    ]);
    a.sync(&server);
    th.sync(&server);
    let gone = th.run(&["document", "save", &doc, "-o", &out.to_string_lossy()]);
    assert_eq!(gone.status.code(), Some(4));
    let sha = attached["sha256"].as_str().expect("sha");
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/v1/blobs/{sha}?offset=0", server.url))
        .bearer_auth(login(&server, "th", "th-raw"))
        .send()
        .expect("raw get");
    assert_eq!(r.status(), 404, "not served to TH any more");
}

#[test]
fn the_server_killed_mid_push_and_mid_pull_loses_nothing() {
    let store = Store::new();
    let db = store.spec();
    let server = Server::start(&db);
    server.user("sec", &["secretariat"]);
    let (a, b) = (Desk::new(), Desk::new());
    a.login(&server, "sec");
    b.login(&server, "sec");
    a.ok(&["demo"]);
    let made = a
        .json(&["log", "--limit", "10000000"])
        .as_array()
        .expect("log")
        .len();

    // Mid-push: A sends 5 changes a request; the server dies after the first is confirmed.
    let (mut child, first, _rest) = a.sync_until(Some(&server.url), "sent");
    server.kill();
    assert!(
        !child.wait().expect("sync ends").success(),
        "{first}: the sync fails"
    );
    let server = Server::start(&db);
    a.sync(&server);
    // Every change exactly once on the server, none lost, none twice.
    let token = login(&server, "sec", "auditor");
    let auditor = Authed(reqwest::blocking::Client::new(), token);
    let (_, pages) = auditor.pull_all(&server, 0);
    let held: usize = pages
        .iter()
        .map(|p| p["changes"].as_array().expect("changes").len())
        .sum();
    assert_eq!(held, made, "the server holds each of A's changes once");

    // Mid-pull: B fetches 5 a request; the server dies after the first page is applied.
    let (mut child, _, _rest) = b.sync_until(Some(&server.url), "received");
    server.kill();
    assert!(!child.wait().expect("sync ends").success());
    let part = b
        .json(&["log", "--limit", "10000000"])
        .as_array()
        .expect("log")
        .len();
    assert!(
        part >= 5 && part < made,
        "stopped part way: {part} of {made}"
    );
    let server = Server::start(&db);
    b.sync(&server);
    assert_eq!(a.records(), b.records());
}

/// The text of page `n` of a PDF (Poppler's pdftotext), and how many pages it has (pdfinfo).
fn pdf_pages(pdf: &Path) -> Vec<String> {
    let info = Command::new("pdfinfo")
        .arg(pdf)
        .output()
        .expect("pdfinfo (poppler-utils)");
    let pages: usize = String::from_utf8_lossy(&info.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count");
    (1..=pages)
        .map(|n| {
            let out = Command::new("pdftotext")
                .args(["-f", &n.to_string(), "-l", &n.to_string(), "-layout"])
                .arg(pdf)
                .arg("-")
                .output()
                .expect("pdftotext");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

#[test]
fn packs_made_and_key_changes_reach_the_servers_audit_log_with_who_and_which_device() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("ana", &["secretariat"]);
    let a = Desk::new();
    a.ok(&["demo"]);
    a.login(&server, "ana");
    a.sync(&server);
    let meeting = &a.json(&["meeting", "list"])[0];
    let (id, title) = (
        meeting["id"].as_str().expect("id"),
        meeting["title"].as_str().expect("title"),
    );
    let pdf = a.0.path().join("pack.pdf");
    a.ok(&[
        "brief",
        id,
        "--output",
        pdf.to_str().expect("path"),
        "--prepared-for",
        "Ana Phommachanh",
    ]);
    // The watermark on every page.
    let pages = pdf_pages(&pdf);
    assert!(pages.len() > 2, "{} pages", pages.len());
    for (i, text) in pages.iter().enumerate() {
        assert!(
            text.contains("Prepared for Ana Phommachanh"),
            "page {} has no watermark:\n{text}",
            i + 1
        );
    }
    // Offline the event waits in the replica; the next sync hands it over.
    assert!(!server.admin(&["audit"]).contains("\tpack\t"));
    a.sync(&server);
    let device = a.device();
    let audit = server.admin(&["audit"]);
    let line = audit
        .lines()
        .find(|l| l.contains("\tpack\t"))
        .unwrap_or_else(|| panic!("no pack in the audit log:\n{audit}"));
    assert!(
        line.contains(&format!(
            "\tana\t{device}\tpack\tbriefing pack of {title} ({id}): {} pages",
            pages.len()
        )),
        "{line}"
    );
    assert!(
        line.contains("Ana Phommachanh") && line.contains("device clock"),
        "{line}"
    );
    // Sent once: another sync adds nothing.
    a.sync(&server);
    assert_eq!(server.admin(&["audit"]).matches("\tpack\t").count(), 1);

    // A key change too (the replica then opens with the new passphrase).
    let out = a
        .command(&["rekey", "--passphrase"])
        .env("DESK_NEW_PASSPHRASE", "a new long passphrase")
        .output()
        .expect("rekey");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = a
        .command(&["sync", "--server", &server.url])
        .env("DESK_PASSPHRASE", "a new long passphrase")
        .output()
        .expect("sync");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let audit = server.admin(&["audit"]);
    assert!(
        audit.contains(&format!(
            "\tana\t{device}\trekey\tthe replica was re-encrypted under a new passphrase"
        )),
        "{audit}"
    );
}

#[test]
fn a_records_history_says_which_user_moved_the_deadline() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("alice", &["secretariat"]);
    server.user("bob", &["secretariat"]);
    let (a, b) = (Desk::new(), Desk::new());
    a.login(&server, "alice");
    b.login(&server, "bob");
    let meeting = id_of(&a.json(&[
        "meeting",
        "add",
        "--title",
        "ACMECS SOM",
        "--start-date",
        "2027-02-01",
    ]));
    let action = id_of(&a.json(&[
        "action",
        "add",
        "--meeting",
        &meeting,
        "--title",
        "Circulate the report",
        "--due-date",
        "2027-01-15",
    ]));
    a.sync(&server);
    b.sync(&server);
    b.ok(&["action", "edit", &action, "--due-date", "2027-03-01"]);
    b.sync(&server);
    a.sync(&server);
    let h = a.json(&["log", &action]);
    assert_eq!(h["entity"], "action", "{h}");
    let entries = h["history"].as_array().expect("history");
    assert_eq!(entries.len(), 2, "{h}");
    let (moved, made) = (&entries[0], &entries[1]);
    assert_eq!(
        (moved["user"].as_str(), moved["here"].as_bool()),
        (Some("bob"), Some(false)),
        "{h}"
    );
    assert_eq!(moved["device"], b.device().as_str());
    let due = moved["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["field"] == "due_date")
        .expect("the due date moved");
    assert_eq!(
        (due["value"].as_str(), due["was"].as_str()),
        (Some("2027-03-01"), Some("2027-01-15"))
    );
    assert_eq!(
        (made["user"].as_str(), made["what"].as_str()),
        (Some("alice"), Some("created"))
    );
    let text = a.ok(&["log", &action]);
    assert!(
        text.contains("bob (device ") && text.contains("due_date: 2027-03-01 (was 2027-01-15)"),
        "{text}"
    );
    assert!(text.contains("alice (this device)  created"), "{text}");
    // A record nobody here has: a clear error naming it.
    let out = a.run(&["log", "01a2-no-such-record"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bundles_carried_by_hand_sync_two_laptops_through_a_stopped_server() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("alice", &["secretariat"]);
    server.user("bob", &["secretariat"]);
    let (a, b) = (Desk::new(), Desk::new());
    a.login(&server, "alice");
    b.login(&server, "bob");
    a.sync(&server);
    b.sync(&server);
    let db = server.db.clone();
    let dir = tempfile::tempdir().expect("tmp");
    let file = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let admin = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_desk-server"))
            .args(args)
            .args(["--db", &db])
            .output()
            .expect("desk-server")
    };
    let admin_ok = |args: &[&str]| {
        let out = admin(args);
        assert!(
            out.status.success(),
            "desk-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // While it serves, the store takes no bundle (it would be a second writer).
    a.ok(&["contact", "add", "--name", "Vongsa Phommachanh"]);
    a.ok(&["sync", "--export", &file("a1.bundle")]);
    let busy = admin(&["import", &file("a1.bundle")]);
    assert!(!busy.status.success(), "imported beside a running server");
    server.kill();

    // No network from here: the back office takes Alice's bundle and answers Bob's.
    assert!(admin_ok(&["import", &file("a1.bundle")]).contains("1 changes"));
    let again = admin(&["import", &file("a1.bundle")]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("imported already"));
    admin_ok(&[
        "export",
        "--device",
        &b.device(),
        "--out",
        &file("b1.bundle"),
    ]);
    let taken = b.ok(&["sync", "--import", &file("b1.bundle")]);
    assert!(taken.contains("received 1 changes (1 new here)"), "{taken}");
    assert!(b.ok(&["contact", "list"]).contains("Vongsa Phommachanh"));
    // Alice's laptop refuses Bob's bundle, and a damaged one.
    let wrong = a.run(&["sync", "--import", &file("b1.bundle")]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not this one"));
    admin_ok(&[
        "export",
        "--device",
        &a.device(),
        "--out",
        &file("a-answer.bundle"),
    ]);
    let mut bytes = std::fs::read(file("a-answer.bundle")).expect("read");
    let n = bytes.len() - 3;
    bytes[n] ^= 1;
    std::fs::write(file("a-bad.bundle"), &bytes).expect("write");
    let bad = a.run(&["sync", "--import", &file("a-bad.bundle")]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("changed after it was made"));
    // The good one empties Alice's outbox: the server holds her change.
    let taken = a.ok(&["sync", "--import", &file("a-answer.bundle")]);
    assert!(taken.contains("0 of yours still to send"), "{taken}");
    let audit = admin_ok(&["audit"]);
    assert!(
        audit.contains("imported bundle 1") && audit.contains("exported bundle 1"),
        "{audit}"
    );
}
