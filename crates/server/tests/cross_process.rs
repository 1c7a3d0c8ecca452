//! The real `desk-server` and `desk` processes over 127.0.0.1: two replicas edit the same and
//! different fields offline and converge; the server is killed (SIGKILL) and restarted on its
//! store and nothing acknowledged is lost; the same batch twice is stored once; bad requests get
//! a machine-readable 4xx and change nothing.
//!
//! Needs the `desk` binary beside `desk-server` (`cargo test --workspace` builds both).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_desk-server"))
            .args(["--db", &db.to_string_lossy(), "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start desk-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("server says where it listens");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        Server { child, url }
    }
    /// SIGKILL: no chance to flush or say goodbye.
    fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    fn run(&self, args: &[&str]) -> Output {
        Command::new(desk_bin())
            .args(args)
            .env("DESK_DATA_DIR", self.0.path())
            .env("DESK_PASSPHRASE", "correct horse battery")
            .output()
            .expect("run desk")
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
    let store = tempfile::tempdir().expect("tmp");
    let db = store.path().join("hub.db");
    let server = Server::start(&db);
    let (a, b) = (Desk::new(), Desk::new());

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
    c3.sync(&server);
    assert_eq!(c3.json(&["contact", "show", &id])["title"], "Ambassador");
}

#[test]
fn the_same_batch_twice_is_stored_once_and_bad_requests_change_nothing() {
    let store = tempfile::tempdir().expect("tmp");
    let server = Server::start(&store.path().join("hub.db"));
    let http = reqwest::blocking::Client::new();
    let a = Desk::new();
    a.ok(&["contact", "add", "--name", "Aung Kyaw"]);
    a.ok(&["contact", "add", "--name", "Sok Vanna"]);
    let log = a.json(&["log"]);
    let device = log[0]["device"].as_str().expect("device").to_string();
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
    let page: Value = http
        .get(format!("{}/v1/pull?after=0", server.url))
        .send()
        .expect("pull")
        .json()
        .expect("json");
    assert_eq!(page["changes"].as_array().expect("changes").len(), 2);

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
        let _ = write!(writer, "POST /v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
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
    assert_eq!(page["changes"].as_array().expect("changes").len(), 2);
}
