//! What the server's process tests share: a `desk-server` started on a test store (SQLite, or
//! PostgreSQL when `DESK_TEST_POSTGRES` is set) and administered beside it.
#![allow(dead_code)] // each test binary uses its own part of this

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Server {
    pub child: Child,
    pub url: String,
    pub db: String,
}

/// The server's store for one test: SQLite in a folder of its own, or a database of its own on
/// the PostgreSQL server `DESK_TEST_POSTGRES` names (see `desk_server::testing`).
pub struct Store {
    // Before `_dir`: a PostgreSQL database is dropped first.
    pub inner: desk_server::testing::TestStore,
    _dir: tempfile::TempDir,
}

impl Store {
    pub fn new() -> Store {
        let dir = tempfile::tempdir().expect("tmp");
        Store {
            inner: desk_server::testing::TestStore::new(dir.path()).expect("test store"),
            _dir: dir,
        }
    }
    /// What `desk-server --db` takes.
    pub fn spec(&self) -> String {
        self.inner.spec()
    }
    /// The test's own folder (for files beside the store).
    pub fn path(&self) -> &Path {
        self._dir.path()
    }
}

pub const PASSWORD: &str = "correct horse battery";

impl Server {
    /// `desk-server` administration on this server's store (run beside the live server, as an
    /// operator would).
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_desk-server"))
            .args(args)
            .args(["--db", &self.db])
            .env("DESK_PASSWORD", PASSWORD)
            .output()
            .expect("desk-server admin");
        assert!(
            out.status.success(),
            "desk-server {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Adds a user with the test password.
    pub fn user(&self, name: &str, role: &[&str]) {
        let mut a = vec!["user", "add", name, "--role"];
        a.extend_from_slice(role);
        self.admin(&a);
    }

    pub fn start(db: &str) -> Server {
        Server::start_as(db, &[], None)
    }

    /// `desk-server` with extra flags, under `faketime OFFSET` when given (e.g. "+8d": a
    /// server whose clock is days ahead).
    pub fn start_as(db: &str, flags: &[&str], faketime: Option<&str>) -> Server {
        let bin = env!("CARGO_BIN_EXE_desk-server");
        let mut cmd = Command::new(bin);
        if let Some(offset) = faketime {
            // libfaketime preloaded into the server itself, as the `faketime` wrapper does, but
            // without the wrapper: killing the wrapper would leave the server running (holding
            // the test's stderr, so whatever reads it never sees the end).
            assert!(
                Path::new("/usr/bin/faketime").exists(),
                "faketime missing: run scripts/setup (Debian package faketime)"
            );
            cmd.env("LD_PRELOAD", "/usr/$LIB/faketime/libfaketime.so.1")
                .env("FAKETIME", offset);
        }
        let mut child = cmd
            .args(["--db", db, "--listen", "127.0.0.1:0"])
            .args(flags)
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
            db: db.to_string(),
        }
    }
    /// SIGKILL: no chance to flush or say goodbye.
    pub fn kill(mut self) {
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
