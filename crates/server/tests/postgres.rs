//! `desk-server --db postgres://…`: what is particular to the PostgreSQL store. (The whole
//! server suite — hub, files, simulation, processes — also runs against PostgreSQL: scripts/test
//! runs it a second time with `DESK_TEST_POSTGRES` set.)
//!
//! The tests marked `ignore` need that PostgreSQL server; scripts/test runs them with
//! `--include-ignored` once it has started one on 127.0.0.1.

mod common;

use common::{Server, Store};
use std::process::Command;

fn desk_server(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_desk-server"))
        .args(args)
        .env("DESK_PASSWORD", common::PASSWORD)
        .output()
        .expect("run desk-server");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn postgres_store() -> Store {
    let store = Store::new();
    assert!(
        store.inner.is_postgres(),
        "set DESK_TEST_POSTGRES to a PostgreSQL server's maintenance database (scripts/test does)"
    );
    store
}

fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).expect("connect to the test database")
}

#[test]
fn an_unreachable_or_misnamed_database_is_a_clear_error_that_hides_the_password() {
    let (code, err) = desk_server(&[
        "--db",
        "postgres://desk:hunter2@127.0.0.1:9/desk",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot connect to postgres://desk:***@127.0.0.1:9/desk"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password is not shown: {err}");
    let (code, err) = desk_server(&["user", "list", "--db", "postgres:desk"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("postgres://USER@HOST"), "{err}");
}

#[test]
#[ignore = "needs DESK_TEST_POSTGRES (scripts/test starts a PostgreSQL server)"]
fn what_the_server_accepts_lives_in_postgresql_and_a_second_server_is_refused() {
    let store = postgres_store();
    let server = Server::start(&store.spec());
    // Administration runs beside the live server (no lock, no working copy).
    server.user("sec", &["secretariat"]);
    assert!(server.admin(&["user", "list"]).contains("sec\tsecretariat"));

    // A second server on the same database would number changes twice: refused.
    let (code, err) = desk_server(&["--db", &store.spec(), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("another desk-server is serving"), "{err}");

    // Changes pushed over HTTP are rows in PostgreSQL, numbered from 1 without gaps.
    let dir = tempfile::tempdir().expect("tmp");
    let mut r = desk_core::Replica::init(&dir.path().join("r.db"), &desk_core::Key::Raw([1; 32]))
        .expect("replica");
    let mut f = desk_core::Fields::new();
    for name in ["Somchai", "Vanna", "Thida"] {
        f.insert("name".into(), serde_json::json!(name));
        r.create(desk_core::Entity::Contact, &f).expect("create");
    }
    let device = r.device_id().to_string();
    let login: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{}/v1/login", server.url))
        .json(&serde_json::json!({"user": "sec", "password": common::PASSWORD, "device": device}))
        .send()
        .expect("login")
        .json()
        .expect("json");
    let token = login["token"].as_str().expect("token").to_string();
    let mut t = desk_sync::http::Http::new(&server.url, Some(&token)).expect("client");
    let report = desk_sync::sync(&mut r, &mut t, &mut |_| {}).expect("sync");
    assert_eq!(report.pushed, 3);
    let mut db = client(&store.spec());
    let seqs: Vec<i64> = db
        .query("SELECT seq FROM srv_change ORDER BY seq", &[])
        .expect("history")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let devices: i64 = db
        .query_one("SELECT count(*) FROM srv_device WHERE id = $1", &[&device])
        .expect("devices")
        .get(0);
    assert_eq!(devices, 1);

    // Killed and restarted: the working copy is rebuilt from PostgreSQL and agrees with the
    // replica (the per-scope checksum).
    let pid = server.child.id();
    let copies = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(std::env::temp_dir())
            .expect("tmp")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(&format!("desk-server-copy-{pid}-"))
                })
            })
            .collect()
    };
    assert!(!copies().is_empty(), "a live server has its working copy");
    server.kill();
    assert!(!copies().is_empty(), "SIGKILL leaves it behind");
    let server = Server::start(&store.spec());
    assert!(
        copies().is_empty(),
        "the next server removes a dead one's copy"
    );
    let mut t = desk_sync::http::Http::new(&server.url, Some(&token)).expect("client");
    assert!(matches!(
        desk_sync::verify(&r, &mut t).expect("verify"),
        desk_sync::Verification::Same { records: 3 }
    ));
}

#[test]
#[ignore = "needs DESK_TEST_POSTGRES (scripts/test starts a PostgreSQL server)"]
fn a_database_written_by_a_newer_server_is_refused_not_misread() {
    let store = postgres_store();
    let (code, err) = desk_server(&["user", "list", "--db", &store.spec()]);
    assert_eq!(code, Some(0), "{err}");
    client(&store.spec())
        .execute("UPDATE srv_meta SET value = '99' WHERE key = 'format'", &[])
        .expect("update");
    let (code, err) = desk_server(&["--db", &store.spec(), "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("written by a newer desk-server"), "{err}");
}
