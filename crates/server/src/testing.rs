//! Test support (not part of the API): where a test's hub keeps its store, so the hub and
//! server suites run unchanged against SQLite and, when `DESK_TEST_POSTGRES` names a
//! PostgreSQL server (the URL of its maintenance database, as `scripts/test-postgres`
//! prints), against PostgreSQL.

use crate::error::HubError;
use crate::hub::Hub;
use crate::store::postgres::{PgStore, TestDatabase};
use std::path::{Path, PathBuf};

/// A test's store: a SQLite file, or a database of its own on the test PostgreSQL server
/// (dropped with this value).
pub enum TestStore {
    Sqlite(PathBuf),
    Postgres(TestDatabase),
}

/// The key of the tests' SQLite stores.
pub const KEY: desk_core::Key = desk_core::Key::Raw([9u8; 32]);

impl TestStore {
    /// A new store for a test: `dir/hub.db`, or a fresh PostgreSQL database.
    pub fn new(dir: &Path) -> Result<TestStore, HubError> {
        match std::env::var("DESK_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => TestStore::postgres(&url),
            _ => Ok(TestStore::Sqlite(dir.join("hub.db"))),
        }
    }

    fn postgres(url: &str) -> Result<TestStore, HubError> {
        Ok(TestStore::Postgres(TestDatabase::create(url)?))
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        !matches!(self, TestStore::Sqlite(_))
    }

    /// What `desk-server --db` takes to open this store.
    pub fn spec(&self) -> String {
        match self {
            TestStore::Sqlite(p) => p.display().to_string(),
            TestStore::Postgres(db) => db.url.clone(),
        }
    }

    /// Opens (or reopens) a hub on this store.
    pub fn open(&self) -> Result<Hub, HubError> {
        match self {
            TestStore::Sqlite(p) => Hub::open(p, &KEY),
            TestStore::Postgres(db) => Hub::with_store(Box::new(PgStore::connect(&db.url)?)),
        }
    }
}
