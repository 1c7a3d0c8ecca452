//! What a client (signed in or not) cannot do to the real `desk-server` process, over raw
//! HTTP on 127.0.0.1: make it read or inflate a body before its token is checked; hold a
//! request head, an idle connection or more connections than the limit; hold more than a few
//! waiting pulls per device; guess passwords quickly; grow the audit log with huge names or
//! forge lines in it; keep using a token after signing out.
//!
//! No test sleeps to synchronise or asserts a timing: each waits for what the server does
//! (an answer, a closed connection) with a generous upper bound. Needs the `desk` binary beside
//! `desk-server` for the `desk logout` test (`cargo build -p desk-cli`).

mod common;

use common::{Server, Store, PASSWORD};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The longest any test waits for the server to answer or close (far above what is expected).
const BOUND: Duration = Duration::from_secs(60);

/// Starts `desk-server` on `store` with these extra config lines (limits).
fn start_with(store: &Store, config: &str) -> Server {
    let conf = store.path().join("desk-server.conf");
    std::fs::write(&conf, config).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_desk-server"))
        .args(["--config", &conf.to_string_lossy()])
        .args(["--db", &store.spec(), "--listen", "127.0.0.1:0"])
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
    Server {
        child,
        url,
        db: store.spec(),
    }
}

/// Connects to the server at `url` (`http://127.0.0.1:PORT`).
fn connect(url: &str) -> TcpStream {
    let tcp = TcpStream::connect(url.trim_start_matches("http://")).expect("connect");
    tcp.set_read_timeout(Some(BOUND)).expect("timeout");
    tcp
}

/// An answer read off a socket.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Reads one answer (the server closes after it: requests here say `Connection: close`, or
/// the server closes because it did not read the body). Panics if nothing comes within BOUND.
fn read_answer(tcp: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset after the answer arrived (the server closed with the body unread).
            Err(e) if !raw.is_empty() && e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no answer from the server ({e}); so far: {raw:?}"),
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// Sends a whole request (`Connection: close`) and reads its answer.
fn request(url: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut tcp = connect(url);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tcp.write_all(head.as_bytes()).expect("send head");
    // The body from another thread while this one reads: a server that answers without
    // reading it all is heard before it closes (and resets) the connection.
    let mut writer = tcp.try_clone().expect("clone");
    let body = body.to_vec();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&body);
    });
    let a = read_answer(&mut tcp);
    let _ = sender.join();
    a
}

fn login_raw(url: &str, user: &str, password: &str, device: &str) -> Answer {
    let body = json!({"user": user, "password": password, "device": device}).to_string();
    request(
        url,
        "POST",
        "/v1/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

fn login(url: &str, user: &str, device: &str) -> String {
    let a = login_raw(url, user, PASSWORD, device);
    assert_eq!(a.status, 200, "login as {user}: {}", a.body);
    a.json()["token"].as_str().expect("token").to_string()
}

/// Waits (up to BOUND) for the server to close `tcp` without answering a request; returns what
/// it sent first, if anything.
fn closed_by_server(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    match tcp.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server did not close the connection: {e}"),
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// A field of `/proc/PID/status` in kB (VmRSS, VmHWM).
fn status_kb(s: &Server, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{}/status", s.child.id())).expect("status");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// Raw deflate of `n` zero bytes (fixed Huffman codes: a literal 0, then copies of 258 bytes
/// at distance 1, 13 bits each): a bomb of ~1/1300 its inflated size, made without deflating.
fn deflate_zeros(n: usize) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }
    impl Bits {
        /// `count` bits of `value`, least significant first (how deflate packs fields).
        fn put(&mut self, value: u64, count: u32) {
            self.acc |= value << self.len;
            self.len += count;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// A Huffman code: most significant bit first.
        fn code(&mut self, code: u32, count: u32) {
            let rev = (0..count).fold(0u64, |r, i| {
                r | u64::from((code >> i) & 1) << (count - 1 - i)
            });
            self.put(rev, count);
        }
    }
    let mut b = Bits {
        out: Vec::with_capacity(n / 150),
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // the final block
    b.put(1, 2); // fixed Huffman codes
    b.code(0b0011_0000, 8); // literal 0
    let mut left = n - 1;
    while left >= 258 {
        b.code(0b1100_0101, 8); // length 258 (code 285)
        b.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        b.code(0b0011_0000, 8);
    }
    b.code(0, 7); // end of block
    if b.len > 0 {
        b.out.push(b.acc as u8);
    }
    b.out
}

const MB: u64 = 1024;

#[test]
fn a_push_with_a_made_up_token_is_refused_before_its_body_is_read_or_inflated() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let fake = format!("Bearer {}", "0".repeat(64));
    let bomb = deflate_zeros(300 * 1024 * 1024);
    assert!(bomb.len() < 3 * 1024 * 1024, "{}", bomb.len());
    let _ = server.admin(&["user", "list"]);
    let peak = status_kb(&server, "VmHWM");

    // A deflate bomb (300 MB inflated) with a made-up token: 401, not inflated.
    let a = request(
        &server.url,
        "POST",
        "/v1/push",
        &[
            ("Authorization", &fake),
            ("Content-Type", "application/x-desk-sync"),
        ],
        &bomb,
    );
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        a.body
    );
    // A body declared far past the limit, none of it sent: 401 at once (not 413, and not a
    // wait for the body).
    let mut tcp = connect(&server.url);
    write!(
        tcp,
        "POST /v1/push HTTP/1.1\r\nHost: test\r\nAuthorization: {fake}\r\n\
         Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
    )
    .expect("send");
    let a = read_answer(&mut tcp);
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        a.body
    );
    // A file's chunk, sent chunked, its first piece sent and the rest never: 401 at once.
    let mut tcp = connect(&server.url);
    write!(
        tcp,
        "PUT /v1/blobs/{}?size=100000000 HTTP/1.1\r\nHost: test\r\nAuthorization: {fake}\r\n\
         Transfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n",
        "a".repeat(64)
    )
    .expect("send");
    let a = read_answer(&mut tcp);
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        a.body
    );
    let grew = status_kb(&server, "VmHWM").saturating_sub(peak);
    assert!(grew < 48 * MB, "the server's peak memory grew by {grew} kB");

    // With a real token the bomb is inflated only up to the limit, then refused (413).
    let token = login(&server.url, "sec", "bomber");
    let peak = status_kb(&server, "VmHWM");
    let a = request(
        &server.url,
        "POST",
        "/v1/push",
        &[
            ("Authorization", &format!("Bearer {token}")),
            ("Content-Type", "application/x-desk-sync"),
        ],
        &bomb,
    );
    assert_eq!(
        (a.status, a.code().as_str()),
        (413, "too_large"),
        "{}",
        a.body
    );
    let message = a.json()["error"]["message"].to_string();
    assert!(message.contains("64 MB limit"), "{message}");
    // 64 MB of inflated data at most (and some slack), where 300 MB were asked for.
    let grew = status_kb(&server, "VmHWM").saturating_sub(peak);
    assert!(
        grew < 160 * MB,
        "the server's peak memory grew by {grew} kB"
    );
    let health = request(&server.url, "GET", "/v1/health", &[], b"");
    assert_eq!(health.status, 200);
}

#[test]
fn a_request_head_held_open_and_an_idle_connection_are_closed_after_the_header_timeout() {
    let store = Store::new();
    let server = start_with(&store, "header_timeout_secs = 2\n");
    // Half a request head, then nothing: closed, never served.
    let mut tcp = connect(&server.url);
    tcp.write_all(b"GET /v1/health HTTP/1.1\r\nHost: test\r\n")
        .expect("send");
    let got = closed_by_server(&mut tcp);
    assert!(!got.contains("200 OK"), "{got}");
    // A whole request on a kept-alive connection is answered; left idle, it is closed.
    let mut tcp = connect(&server.url);
    tcp.write_all(b"GET /v1/health HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("send");
    let got = closed_by_server(&mut tcp);
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains("\"ok\":true"), "{got}");
    // A head over 64 KB: 431.
    let big = "a".repeat(70 * 1024);
    let a = request(&server.url, "GET", "/v1/health", &[("X-Big", &big)], b"");
    assert_eq!(a.status, 431, "{}", a.head);
}

#[test]
fn past_the_connection_limit_a_connection_is_refused_and_health_answers_once_stragglers_go() {
    let store = Store::new();
    let server = start_with(&store, "max_connections = 20\nheader_timeout_secs = 5\n");
    // Twenty half-sent requests hold every connection the server allows.
    let mut held: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut t = connect(&server.url);
            t.write_all(b"GET /v1/health HTTP/1.1\r\nHost: test\r\n")
                .expect("send");
            t
        })
        .collect();
    // More are answered 503 "busy" at once, not queued behind them.
    for _ in 0..5 {
        let mut t = connect(&server.url);
        t.write_all(b"GET /v1/health HTTP/1.1\r\nHost: test\r\n")
            .expect("send");
        let a = read_answer(&mut t);
        assert_eq!((a.status, a.code().as_str()), (503, "busy"), "{}", a.body);
        assert!(a.header("retry-after").is_some(), "{}", a.head);
    }
    // The stragglers are dropped after the header timeout…
    for t in &mut held {
        let got = closed_by_server(t);
        assert!(!got.contains("200 OK"), "{got}");
    }
    // …and the server answers again.
    let a = request(&server.url, "GET", "/v1/health", &[], b"");
    assert_eq!(a.status, 200, "{}", a.body);
}

#[test]
fn a_device_may_hold_four_waiting_pulls_and_a_fifth_is_refused_429() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("partner1", &["partner"]);
    let token = login(&server.url, "partner1", "laptop");
    let (tx, rx) = std::sync::mpsc::channel();
    let waiting: Vec<_> = (0..5)
        .map(|i| {
            let mut tcp = connect(&server.url);
            let tx = tx.clone();
            let token = token.clone();
            std::thread::spawn(move || {
                write!(
                    tcp,
                    "GET /v1/pull?after=0&wait=60 HTTP/1.1\r\nHost: test\r\n\
                     Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
                )
                .expect("send");
                let mut raw = Vec::new();
                let _ = tcp.read_to_end(&mut raw);
                let _ = tx.send((i, String::from_utf8_lossy(&raw).into_owned()));
            })
        })
        .collect();
    // Exactly one of the five is answered at once: 429, with Retry-After and a machine-readable
    // code; the other four wait (for news, or the 60 s).
    let (_, first) = rx.recv_timeout(BOUND).expect("an answer");
    assert!(first.starts_with("HTTP/1.1 429"), "{first}");
    assert!(
        first.to_ascii_lowercase().contains("retry-after: "),
        "{first}"
    );
    assert!(first.contains("\"too_many_waits\""), "{first}");
    // A pull that does not wait is still served.
    let a = request(
        &server.url,
        "GET",
        "/v1/pull?after=0",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    drop(server);
    for w in waiting {
        let _ = w.join();
    }
}

#[test]
fn failed_sign_ins_are_throttled_per_user_and_per_address_without_telling_who_exists() {
    let store = Store::new();
    let server = start_with(
        &store,
        "login_user_failures = 3\nlogin_client_failures = 6\nlogin_lockout_secs = 600\n",
    );
    server.user("alice", &["secretariat"]);
    server.user("bob", &["secretariat"]);
    // A wrong password and an unknown user get the same answer.
    let wrong = login_raw(&server.url, "alice", "not the password", "d1");
    assert_eq!(
        (wrong.status, wrong.code().as_str()),
        (401, "unauthenticated")
    );
    let unknown = login_raw(&server.url, "nobody", "not the password", "d1");
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(unknown.json(), wrong.json());
    for _ in 0..2 {
        let a = login_raw(&server.url, "alice", "not the password", "d1");
        assert_eq!(a.status, 401);
    }
    // Three failures for alice: even the right password now waits, and is not checked.
    let a = login_raw(&server.url, "alice", PASSWORD, "d1");
    assert_eq!(
        (a.status, a.code().as_str()),
        (429, "too_many_attempts"),
        "{}",
        a.body
    );
    let retry: u64 = a
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=600).contains(&retry), "{retry}");
    let wrong_locked = login_raw(&server.url, "alice", "not the password", "d1");
    assert_eq!(wrong_locked.status, 429);
    assert_eq!(wrong_locked.code(), a.code());
    // Another user from the same address is not held up (four failures so far < six)…
    let b = login_raw(&server.url, "bob", PASSWORD, "d2");
    assert_eq!(b.status, 200, "{}", b.body);
    // …until this address has six failures in a row, over any user names.
    for user in ["carol", "carol", "dave", "dave", "bob", "bob"] {
        let a = login_raw(&server.url, user, "not the password", "d3");
        assert_eq!(a.status, 401, "{user}: {}", a.body);
    }
    let b = login_raw(&server.url, "bob", PASSWORD, "d2");
    assert_eq!(
        (b.status, b.code().as_str()),
        (429, "too_many_attempts"),
        "{}",
        b.body
    );
    assert!(b.header("retry-after").is_some());
}

#[test]
fn a_huge_user_name_is_refused_before_it_reaches_the_audit_log() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let before = server.admin(&["audit", "--limit", "1000"]);
    // 8 MB: refused unread (the sign-in body limit).
    let huge = "x".repeat(8 * 1024 * 1024);
    let a = login_raw(&server.url, &huge, "whatever password", "d1");
    assert_eq!(
        (a.status, a.code().as_str()),
        (413, "too_large"),
        "{}",
        a.body
    );
    // Within the body limit but longer than any user name: 400.
    let long = "y".repeat(1000);
    let a = login_raw(&server.url, &long, "whatever password", "d1");
    assert_eq!(
        (a.status, a.code().as_str()),
        (400, "bad_request"),
        "{}",
        a.body
    );
    let after = server.admin(&["audit", "--limit", "1000"]);
    assert_eq!(before, after, "nothing was audited");
    assert!(!after.contains("xxxxxxxx") && !after.contains("yyyyyyyy"));
}

#[test]
fn the_audit_log_shows_user_text_escaped() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    // Control characters in a name or device id are refused before anything is audited...
    let user = "eve\n2099-01-01 00:00 UTC\tsec\tforged\tlogin\tsigned in";
    let device = "laptop\u{1b}[31mred\u{1b}]0;title\u{7}\r";
    let a = login_raw(&server.url, user, "not the password", "laptop");
    assert_eq!(a.status, 400);
    let a = login_raw(&server.url, "eve", "not the password", device);
    assert_eq!(a.status, 400);
    // ...and what does reach the log (a bidirectional override reverses what follows it on
    // a terminal) is shown escaped.
    let a = login_raw(
        &server.url,
        "eve",
        "not the password",
        "laptop\u{202e}exe.gnp",
    );
    assert_eq!(a.status, 401);
    let out = server.admin(&["audit"]);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\r'),
        "{out:?}"
    );
    assert!(!out.contains('\u{202e}'), "{out:?}");
    assert!(
        !out.lines().any(|l| l.starts_with("2099")),
        "a forged line: {out}"
    );
    assert!(out.contains("laptop\\u{202e}exe.gnp"), "{out}");
    assert_eq!(
        out.lines().count(),
        2,
        "the user added, the refused sign-in: {out}"
    );
}

#[test]
fn after_logout_the_token_is_refused_and_the_device_may_sign_in_again() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let token = login(&server.url, "sec", "laptop-1");
    let auth = format!("Bearer {token}");
    let pull = |auth: &str| {
        request(
            &server.url,
            "GET",
            "/v1/pull?after=0",
            &[("Authorization", auth)],
            b"",
        )
    };
    assert_eq!(pull(&auth).status, 200);
    let a = request(
        &server.url,
        "POST",
        "/v1/logout",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(a.status, 204, "{}", a.body);
    let a = pull(&auth);
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        a.body
    );
    let a = request(
        &server.url,
        "POST",
        "/v1/logout",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        a.body
    );
    let a = request(&server.url, "POST", "/v1/logout", &[], b"");
    assert_eq!(
        (a.status, a.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        a.body
    );
    // Not revoked: the device is listed as active and signs in again.
    let devices = server.admin(&["device", "list"]);
    assert!(devices.contains("laptop-1\tsec\tactive"), "{devices}");
    let again = login(&server.url, "sec", "laptop-1");
    assert_eq!(pull(&format!("Bearer {again}")).status, 200);
    let audit = server.admin(&["audit"]);
    assert!(audit.contains("laptop-1\tlogout\tsigned out"), "{audit}");
}

#[test]
fn only_a_revoked_device_can_confirm_its_wipe_and_its_token_does_nothing_else() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let active = login(&server.url, "sec", "laptop-1");
    let lost = login(&server.url, "sec", "laptop-2");
    let post = |auth: &str| {
        request(
            &server.url,
            "POST",
            "/v1/wiped",
            &[("Authorization", auth)],
            b"",
        )
    };
    // No token, a made-up one, an active device's: nothing to confirm, nothing recorded.
    let a = request(&server.url, "POST", "/v1/wiped", &[], b"");
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(post("Bearer made-up").status, 401);
    let a = post(&format!("Bearer {active}"));
    assert_eq!(
        (a.status, a.code().as_str()),
        (409, "not_revoked"),
        "{}",
        a.body
    );
    assert!(a.body.contains("not revoked"), "{}", a.body);
    server.admin(&["device", "revoke", "laptop-2"]);
    // The revoked token reads nothing, and confirms the wipe (twice: recorded once).
    let pull = request(
        &server.url,
        "GET",
        "/v1/pull?after=0",
        &[("Authorization", &format!("Bearer {lost}"))],
        b"",
    );
    assert_eq!(pull.status, 401, "{}", pull.body);
    assert_eq!(post(&format!("Bearer {lost}")).status, 204);
    assert_eq!(post(&format!("Bearer {lost}")).status, 204);
    let devices = server.admin(&["device", "list"]);
    assert!(devices.contains("laptop-1\tsec\tactive"), "{devices}");
    assert!(
        devices.contains("laptop-2\tsec\trevoked, wiped "),
        "{devices}"
    );
    let audit = server.admin(&["audit"]);
    assert_eq!(audit.matches("laptop-2\twipe\t").count(), 1, "{audit}");
    assert!(!audit.contains("laptop-1\twipe"), "{audit}");
}

#[test]
fn a_device_reports_only_its_own_audit_events_within_bounds_and_each_once() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let token = login(&server.url, "sec", "laptop-1");
    let auth = format!("Bearer {token}");
    let post = |auth: &str, body: &serde_json::Value| {
        request(
            &server.url,
            "POST",
            "/v1/audit",
            &[
                ("Authorization", auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    };
    let event = |seq: i64, action: &str, detail: &str| serde_json::json!({"seq": seq, "at": 1_796_600_000_000i64, "action": action, "detail": detail});
    let logged = || server.admin(&["audit"]);
    // No token, or a made-up one: refused before the body is read.
    let one = serde_json::json!({"events": [event(1, "pack", "x")]});
    assert_eq!(post("", &one).status, 401);
    assert_eq!(post("Bearer made-up", &one).status, 401);
    // Refused whole, nothing written: an action a device may not report (even beside a good
    // one), a detail too long, a number below 1, too many at once.
    for (body, status) in [
        (
            serde_json::json!({"events": [event(1, "pack", "ok"), event(2, "revoke", "forged")]}),
            422,
        ),
        (
            serde_json::json!({"events": [event(1, "pack", &"x".repeat(1_001))]}),
            422,
        ),
        (
            serde_json::json!({"events": [event(0, "pack", "numbered from 1")]}),
            422,
        ),
        (
            serde_json::json!({"events": (1..=201).map(|i| event(i, "pack", "x")).collect::<Vec<_>>()}),
            413,
        ),
    ] {
        let a = post(&auth, &body);
        assert_eq!(a.status, status, "{}", a.body);
    }
    assert!(!logged().contains("\tpack\t"), "{}", logged());
    // A body naming another user or device changes nothing: the token says who.
    let forged = serde_json::json!({"events": [{"seq": 1, "at": 0, "action": "pack",
        "detail": "pack of the SOM", "user": "admin", "device": "laptop-9"}]});
    let a = post(&auth, &forged);
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.contains("\"acked\":1"), "{}", a.body);
    // Sent again (its answer lost): kept once.
    assert_eq!(post(&auth, &forged).status, 200);
    let audit = logged();
    assert_eq!(audit.matches("\tpack\t").count(), 1, "{audit}");
    assert!(
        audit
            .contains("\tsec\tlaptop-1\tpack\tpack of the SOM (device clock 1970-01-01 00:00 UTC)"),
        "{audit}"
    );
    assert!(!audit.contains("laptop-9"), "{audit}");
}

#[test]
fn authors_are_named_only_for_a_valid_token_and_a_bounded_list() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    server.user("fp", &["focal-point:KH"]);
    let token = login(&server.url, "sec", "laptop-1");
    login(&server.url, "fp", "laptop-kh");
    let post = |auth: &str, body: serde_json::Value| {
        request(
            &server.url,
            "POST",
            "/v1/authors",
            &[
                ("Authorization", auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    };
    let auth = format!("Bearer {token}");
    assert_eq!(
        post(
            "Bearer made-up",
            serde_json::json!({"devices": ["laptop-kh"]})
        )
        .status,
        401
    );
    let a = post(
        &auth,
        serde_json::json!({"devices": ["laptop-kh", "laptop-1", "never-seen"]}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let answer: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(
        answer["authors"],
        serde_json::json!([["laptop-kh", "fp"], ["laptop-1", "sec"]])
    );
    let many: Vec<String> = (0..501).map(|i| format!("d{i}")).collect();
    assert_eq!(
        post(&auth, serde_json::json!({ "devices": many })).status,
        413
    );
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

fn desk(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(desk_bin())
        .args(args)
        .env("DESK_DATA_DIR", dir)
        .env("DESK_PASSPHRASE", "correct horse battery")
        .env("DESK_PASSWORD", PASSWORD)
        .env("DESK_NO_KEYCHAIN", "1")
        .output()
        .expect("run desk")
}

fn desk_ok(dir: &Path, args: &[&str]) -> String {
    let out = desk(dir, args);
    assert!(
        out.status.success(),
        "desk {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn desk_logout_signs_out_on_the_server_and_still_works_offline() {
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let replica = tempfile::tempdir().expect("tmp");
    let dir = replica.path();
    desk_ok(dir, &["init"]);
    desk_ok(dir, &["login", "--server", &server.url, "--user", "sec"]);
    desk_ok(dir, &["sync"]);
    desk_ok(dir, &["logout"]);
    let audit = server.admin(&["audit"]);
    assert!(audit.contains("\tlogout\tsigned out"), "{audit}");
    // Offline: the server is gone, and signing out still works here.
    desk_ok(dir, &["login", "--server", &server.url, "--user", "sec"]);
    server.kill();
    desk_ok(dir, &["logout"]);
    let out = desk(dir, &["sync"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not signed in"),
        "{err}"
    );
}

#[test]
fn a_batch_too_large_for_one_push_is_sent_in_parts_and_all_of_it_arrives() {
    use desk_sync::Transport;
    let store = Store::new();
    let server = Server::start(&store.spec());
    server.user("sec", &["secretariat"]);
    let replica = tempfile::tempdir().expect("tmp");
    let dir = replica.path();
    desk_ok(dir, &["init"]);
    for name in [
        "Aung Kyaw",
        "Sok Vanna",
        "Somchai Jaidee",
        "Nguyen Van An",
        "Maria Santos",
    ] {
        desk_ok(dir, &["contact", "add", "--name", name]);
    }
    let log: Vec<desk_core::Change> =
        serde_json::from_str(&desk_ok(dir, &["--json", "log"])).expect("changes");
    assert_eq!(log.len(), 5);
    let device = log[0].device.clone();
    let token = login(&server.url, "sec", &device);
    for binary in [true, false] {
        let mut http = desk_sync::http::Http::new(&server.url, Some(&token)).expect("client");
        http.binary = binary;
        // As if the server took one change per request.
        (http.max_body, http.max_inflated) = if binary {
            (1_000_000, 1)
        } else {
            (1, 1_000_000)
        };
        let reply = http.push(&device, &log).expect("push");
        assert_eq!(reply.acked, 5);
        assert_eq!(http.pushes_sent, 5, "one change per request");
    }
    let page = http_pull(&server, &token);
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(5), "{page}");
}

fn http_pull(s: &Server, token: &str) -> Value {
    request(
        &s.url,
        "GET",
        "/v1/pull?after=0",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
    .json()
}

#[test]
fn on_shutdown_a_waiting_pull_answers_at_once_and_serve_returns() {
    // In-process (as the desktop app's tests run it), over raw HTTP on 127.0.0.1.
    let dir = tempfile::tempdir().expect("tmp");
    let mut hub =
        desk_server::Hub::new(&dir.path().join("hub.db"), &desk_core::Key::Raw([7u8; 32]))
            .expect("hub");
    desk_server::auth::add_user(
        hub.store_mut(),
        "ana",
        PASSWORD,
        &desk_server::Role::Secretariat,
    )
    .expect("user");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = desk_server::Limits {
        waits_per_device: 1,
        ..desk_server::Limits::default()
    };
    let served = rt.spawn(desk_server::serve_with(listener, hub, limits, async {
        let _ = stopped.await;
    }));
    let token = login(&url, "ana", "laptop");
    // Two waiting pulls for a device allowed one: one is refused at once (429), the other
    // waits.
    let (tx, rx) = std::sync::mpsc::channel();
    let pulls: Vec<_> = (0..2)
        .map(|_| {
            let (tx, url, token) = (tx.clone(), url.clone(), token.clone());
            std::thread::spawn(move || {
                let a = request(
                    &url,
                    "GET",
                    "/v1/pull?after=0&wait=60",
                    &[("Authorization", &format!("Bearer {token}"))],
                    b"",
                );
                let _ = tx.send(a);
            })
        })
        .collect();
    let refused = rx.recv_timeout(BOUND).expect("an answer");
    assert_eq!(refused.status, 429, "{}", refused.body);
    // Shutting down: the waiting one answers now, well before its 60 s are up.
    let _ = stop.send(());
    let a = rx
        .recv_timeout(Duration::from_secs(45))
        .expect("the waiting pull answers on shutdown");
    assert_eq!(a.status, 200, "{}", a.body);
    for p in pulls {
        p.join().expect("thread");
    }
    rt.block_on(async { tokio::time::timeout(BOUND, served).await })
        .expect("serve returns")
        .expect("task")
        .expect("served");
}

#[test]
fn a_request_body_that_stops_arriving_is_dropped_after_the_idle_timeout() {
    let store = Store::new();
    let server = start_with(&store, "idle_timeout_secs = 2\n");
    server.user("sec", &["secretariat"]);
    let token = login(&server.url, "sec", "laptop");
    let mut tcp = connect(&server.url);
    write!(
        tcp,
        "POST /v1/push HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"device\": "
    )
    .expect("send");
    let a = read_answer(&mut tcp);
    assert_eq!(
        (a.status, a.code().as_str()),
        (408, "timeout"),
        "{}",
        a.body
    );
}
