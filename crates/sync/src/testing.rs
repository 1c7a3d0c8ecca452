//! Test support (not part of the API): where a test's hub keeps its store, so the hub and
//! server suites run unchanged against SQLite and, when `DESK_TEST_POSTGRES` names a
//! PostgreSQL server (the URL of its maintenance database, as `scripts/test-postgres`
//! prints), against PostgreSQL.

use crate::{Hub, SyncError};
use std::path::{Path, PathBuf};

/// A test's store: a SQLite file, or a database of its own on the test PostgreSQL server
/// (dropped with this value).
pub enum TestStore {
    Sqlite(PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(crate::pg::TestDatabase),
}

/// The key of the tests' SQLite stores.
pub const KEY: desk_core::Key = desk_core::Key::Raw([9u8; 32]);

impl TestStore {
    /// A new store for a test: `dir/hub.db`, or a fresh PostgreSQL database.
    pub fn new(dir: &Path) -> Result<TestStore, SyncError> {
        match std::env::var("DESK_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => TestStore::postgres(&url),
            _ => Ok(TestStore::Sqlite(dir.join("hub.db"))),
        }
    }

    #[cfg(feature = "postgres")]
    fn postgres(url: &str) -> Result<TestStore, SyncError> {
        Ok(TestStore::Postgres(crate::pg::TestDatabase::create(url)?))
    }

    #[cfg(not(feature = "postgres"))]
    fn postgres(_: &str) -> Result<TestStore, SyncError> {
        Err(SyncError::Store(
            "DESK_TEST_POSTGRES is set but desk-sync was built without its `postgres` feature"
                .into(),
        ))
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        !matches!(self, TestStore::Sqlite(_))
    }

    /// What `desk-server --db` takes to open this store.
    pub fn spec(&self) -> String {
        match self {
            TestStore::Sqlite(p) => p.display().to_string(),
            #[cfg(feature = "postgres")]
            TestStore::Postgres(db) => db.url.clone(),
        }
    }

    /// Opens (or reopens) a hub on this store.
    pub fn open(&self) -> Result<Hub, SyncError> {
        match self {
            TestStore::Sqlite(p) => Hub::open(p, &KEY),
            #[cfg(feature = "postgres")]
            TestStore::Postgres(db) => {
                Hub::with_store(Box::new(crate::pg::PgStore::connect(&db.url)?))
            }
        }
    }
}
