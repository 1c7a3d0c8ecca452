//! Where a replica's key lives, and opening a replica in a data directory.
//!
//! A replica is encrypted with a random 32-byte key made when it is created. The key is kept in
//! the OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
//! through `keyring`. Where no keychain exists (a server shell, CI), the replica is protected by
//! a passphrase instead (`DESK_PASSPHRASE` or a prompt, asked by the front end). Which of the two
//! a replica uses is recorded, with no secret, in `replica.json` beside `replica.db`.
//!
//! The sync token is kept the same way ([`sync_token`]: the keychain, else inside the encrypted
//! replica).
//!
//! What it is not: no prompts, no terminal I/O (the caller supplies the passphrase), and no
//! sync: which server and user a replica signs in as is `desk_sync::account`'s.

pub mod lock;

use desk_core::{Key, Replica};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const SERVICE: &str = "secretariat-desk";
pub const REPLICA_FILE: &str = "replica.db";
pub const META_FILE: &str = "replica.json";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no OS keychain is available ({0}); set DESK_PASSPHRASE to protect the replica with a passphrase instead")]
    NoKeychain(String),
    #[error("the key of replica {replica} is not in the OS keychain; it was created on another account or machine, or the keychain entry was removed")]
    KeyMissing { replica: String },
    #[error("this replica is protected by a passphrase; set DESK_PASSPHRASE or run interactively")]
    PassphraseNeeded,
    #[error("{path} is damaged: {message}")]
    BadMeta { path: String, message: String },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The app lock refused a PIN, or one being set: at `field`; `wait_secs` before the next
    /// try is checked.
    #[error("{message}")]
    Pin {
        field: &'static str,
        message: String,
        wait_secs: u64,
    },
    #[error(transparent)]
    Core(#[from] desk_core::Error),
}

pub type Result<T> = std::result::Result<T, KeyError>;

/// A place to keep secrets by account name.
pub trait SecretStore {
    fn get(&self, account: &str) -> Result<Option<String>>;
    fn set(&self, account: &str, secret: &str) -> Result<()>;
    /// Removes an entry (none there is not an error).
    fn remove(&self, account: &str) -> Result<()>;
}

/// Secrets held in memory for as long as the value lives: for tests, and for tools that must
/// not touch the OS keychain.
#[derive(Default)]
pub struct InMemory(Mutex<HashMap<String, String>>);

impl SecretStore for InMemory {
    fn get(&self, account: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned())
    }
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_string(), secret.to_string());
        Ok(())
    }
    fn remove(&self, account: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
        Ok(())
    }
}

/// The OS keychain through `keyring`. Entries are cached per account, so that a store whose
/// entries do not share state (keyring's mock) behaves like a real keychain within one process.
#[derive(Default)]
pub struct Keychain {
    entries: Mutex<HashMap<String, keyring::Entry>>,
}

impl Keychain {
    fn with_entry<T>(
        &self,
        account: &str,
        f: impl FnOnce(&keyring::Entry) -> keyring::Result<T>,
    ) -> Result<T> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| KeyError::NoKeychain("keychain cache poisoned".into()))?;
        if !entries.contains_key(account) {
            let e = keyring::Entry::new(SERVICE, account)
                .map_err(|e| KeyError::NoKeychain(e.to_string()))?;
            entries.insert(account.to_string(), e);
        }
        match entries.get(account) {
            Some(entry) => f(entry).map_err(|e| KeyError::NoKeychain(e.to_string())),
            None => Err(KeyError::NoKeychain("entry vanished".into())),
        }
    }
}

impl SecretStore for Keychain {
    fn get(&self, account: &str) -> Result<Option<String>> {
        self.with_entry(account, |e| match e.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(other) => Err(other),
        })
    }
    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.with_entry(account, |e| e.set_password(secret))
    }
    fn remove(&self, account: &str) -> Result<()> {
        self.with_entry(account, |e| match e.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(other) => Err(other),
        })
    }
}

#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    Keychain,
    Passphrase,
}

/// `replica.json`: what is needed to find the key; never the key itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplicaMeta {
    pub replica_id: String,
    pub key_source: KeySource,
    /// While a key change is being made: where the key before it is (its source, and for the
    /// keychain its entry's id), so a replica whose change was interrupted before the new file
    /// took the old one's place still opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<(KeySource, String)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Where replicas live when no directory is given: the OS data directory's `secretariat-desk`
/// (on Linux `~/.local/share/secretariat-desk`). Shared by the CLI and the app, so both open the
/// same replica by default.
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("secretariat-desk"))
}

pub fn replica_path(data_dir: &Path) -> PathBuf {
    data_dir.join(REPLICA_FILE)
}

fn read_meta(data_dir: &Path) -> Result<Option<ReplicaMeta>> {
    let path = data_dir.join(META_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| KeyError::BadMeta {
                path: path.display().to_string(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

fn account(meta: &ReplicaMeta) -> String {
    format!("replica-{}", meta.replica_id)
}

/// How `init` protects a new replica.
pub enum Protect<'a> {
    /// The OS keychain if there is one; otherwise fails with `NoKeychain`.
    Keychain(&'a dyn SecretStore),
    Passphrase(String),
}

/// Creates the replica in `data_dir` if there is none (returns true), else opens it (false).
pub fn init(
    data_dir: &Path,
    protect: Protect<'_>,
    store: &dyn SecretStore,
    passphrase: &dyn Fn() -> Option<String>,
) -> Result<(Replica, bool)> {
    if replica_path(data_dir).exists() {
        return Ok((open(data_dir, store, passphrase)?, false));
    }
    std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let replica_id = uuid_like();
    let (meta, key) = match protect {
        Protect::Passphrase(p) => (
            ReplicaMeta {
                replica_id,
                key_source: KeySource::Passphrase,
                previous: None,
            },
            Key::Passphrase(p),
        ),
        Protect::Keychain(kc) => {
            let meta = ReplicaMeta {
                replica_id,
                key_source: KeySource::Keychain,
                previous: None,
            };
            let key = Key::random()?;
            let hex = key.to_hex().unwrap_or_default();
            kc.set(&account(&meta), &hex)?;
            // Read back: some stores accept a write and keep nothing.
            if kc.get(&account(&meta))?.as_deref() != Some(hex.as_str()) {
                return Err(KeyError::NoKeychain(
                    "the keychain did not keep the key".into(),
                ));
            }
            (meta, key)
        }
    };
    write_meta(data_dir, &meta)?;
    let mut replica = Replica::init(&replica_path(data_dir), &key)?;
    replica.checkpoint_in_background(&key)?;
    Ok((replica, true))
}

/// Opens the replica in `data_dir` with its key from the keychain or the passphrase.
pub fn open(
    data_dir: &Path,
    store: &dyn SecretStore,
    passphrase: &dyn Fn() -> Option<String>,
) -> Result<Replica> {
    let path = replica_path(data_dir);
    if !path.exists() {
        return Err(desk_core::Error::NoReplica {
            path: data_dir.display().to_string(),
        }
        .into());
    }
    let meta = read_meta(data_dir)?.ok_or_else(|| KeyError::BadMeta {
        path: data_dir.join(META_FILE).display().to_string(),
        message: "missing: it says where the replica's key is".into(),
    })?;
    let key = match meta.key_source {
        KeySource::Keychain => keychain_key(store, &meta.replica_id)?,
        KeySource::Passphrase => Key::Passphrase(passphrase().ok_or(KeyError::PassphraseNeeded)?),
    };
    let (mut replica, key) = match (Replica::open(&path, &key), &meta.previous) {
        // A key change interrupted before the new file took the old one's place: the file
        // still opens with the key before it.
        (Err(desk_core::Error::WrongKey { .. }), Some((source, id))) => {
            let old = match source {
                KeySource::Keychain => keychain_key(store, id)?,
                KeySource::Passphrase => {
                    Key::Passphrase(passphrase().ok_or(KeyError::PassphraseNeeded)?)
                }
            };
            (Replica::open(&path, &old)?, old)
        }
        (opened, _) => (opened?, key),
    };
    // A long sync or import never waits while the log is copied into the file.
    replica.checkpoint_in_background(&key)?;
    Ok(replica)
}

fn keychain_key(store: &dyn SecretStore, replica_id: &str) -> Result<Key> {
    let missing = || KeyError::KeyMissing {
        replica: replica_id.to_string(),
    };
    let hex = store
        .get(&format!("replica-{replica_id}"))?
        .ok_or_else(missing)?;
    Key::from_hex(&hex).ok_or_else(missing)
}

fn write_meta(data_dir: &Path, meta: &ReplicaMeta) -> Result<()> {
    let meta_path = data_dir.join(META_FILE);
    let text = serde_json::to_string_pretty(meta).map_err(|e| KeyError::BadMeta {
        path: meta_path.display().to_string(),
        message: e.to_string(),
    })?;
    // Written whole under another name, then renamed: never half a file.
    let tmp = data_dir.join(format!("{META_FILE}.new"));
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &meta_path).map_err(io(&meta_path))
}

/// What a key change did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rekeyed {
    pub key_source: KeySource,
    /// Records in the replica (the same before and after: the copy is compared whole).
    pub records: u64,
}

/// Re-encrypts the replica in `data_dir`, open as `r`, under a new key: a fresh random key in
/// the OS keychain, or a passphrase. The replica is copied under the new key beside the old
/// file, the copy is opened with the new key and compared with the original (its canonical
/// dump, search index included), the new key is stored, and only then does the copy take the
/// old file's place (one rename); the old keychain entry goes last. Interrupted at any point,
/// the replica still opens, with the old key or the new one. Returns the replica reopened.
pub fn rekey(
    data_dir: &Path,
    r: Replica,
    protect: Protect<'_>,
    store: &dyn SecretStore,
) -> Result<(Replica, Rekeyed)> {
    let old = read_meta(data_dir)?.ok_or_else(|| KeyError::BadMeta {
        path: data_dir.join(META_FILE).display().to_string(),
        message: "missing: it says where the replica's key is".into(),
    })?;
    let path = replica_path(data_dir);
    let copy = data_dir.join(format!("{REPLICA_FILE}.rekey"));
    // A copy left by an interrupted change is not the replica: start again.
    let _ = std::fs::remove_file(&copy);
    let (meta, key) = match protect {
        Protect::Passphrase(p) => (
            ReplicaMeta {
                replica_id: uuid_like(),
                key_source: KeySource::Passphrase,
                previous: Some((old.key_source, old.replica_id.clone())),
            },
            Key::Passphrase(p),
        ),
        Protect::Keychain(_) => (
            ReplicaMeta {
                replica_id: uuid_like(),
                key_source: KeySource::Keychain,
                previous: Some((old.key_source, old.replica_id.clone())),
            },
            Key::random()?,
        ),
    };
    r.copy_rekeyed(&copy, &key)?;
    let same = {
        let copied = Replica::open(&copy, &key)?;
        copied.dump()? == r.dump()?
    };
    if !same {
        let _ = std::fs::remove_file(&copy);
        return Err(KeyError::Core(desk_core::Error::Io {
            path: copy.display().to_string(),
            source: std::io::Error::other(
                "the re-encrypted copy differs from the replica; nothing was changed",
            ),
        }));
    }
    let records = r.summary()?.counts.values().sum::<u64>();
    if let Some(hex) = key.to_hex() {
        let account = format!("replica-{}", meta.replica_id);
        store.set(&account, &hex)?;
        if store.get(&account)?.as_deref() != Some(hex.as_str()) {
            let _ = std::fs::remove_file(&copy);
            return Err(KeyError::NoKeychain(
                "the keychain did not keep the new key".into(),
            ));
        }
    }
    write_meta(data_dir, &meta)?;
    // The old connection (and its log) closed before the copy takes its place.
    drop(r);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data_dir.join(format!("{REPLICA_FILE}{suffix}")));
    }
    std::fs::rename(&copy, &path).map_err(io(&path))?;
    if old.key_source == KeySource::Keychain {
        store.remove(&account(&old))?;
    }
    let done = ReplicaMeta {
        previous: None,
        ..meta
    };
    write_meta(data_dir, &done)?;
    let mut replica = Replica::open(&path, &key)?;
    replica.checkpoint_in_background(&key)?;
    // For the server's audit log (sent with the next sync).
    let kept_in = match done.key_source {
        KeySource::Keychain => "a new key in the OS keychain",
        KeySource::Passphrase => "a new passphrase",
    };
    replica.record_audit(
        "rekey",
        &format!("the replica was re-encrypted under {kept_in} ({records} records)"),
    )?;
    Ok((
        replica,
        Rekeyed {
            key_source: done.key_source,
            records,
        },
    ))
}

/// Removes a revoked device's replica from this computer: its sync token and its key from the
/// OS keychain (the key of an interrupted key change too), then the replica file, its log
/// (`-wal`, `-shm`), `replica.json`, document files copied out to be opened (`opened/`) and
/// files left by an interrupted key change. What the device had not sent is lost, by design.
/// Returns the paths removed.
pub fn destroy(data_dir: &Path, r: Replica, store: &dyn SecretStore) -> Result<Vec<String>> {
    let token = format!("sync-token:{}", r.device_id());
    let meta = read_meta(data_dir)?;
    drop(r);
    // The data first: a key left behind opens nothing once its file is gone.
    let mut removed = Vec::new();
    for name in [
        REPLICA_FILE.to_string(),
        format!("{REPLICA_FILE}-wal"),
        format!("{REPLICA_FILE}-shm"),
        format!("{REPLICA_FILE}.rekey"),
        format!("{META_FILE}.new"),
        META_FILE.to_string(),
    ] {
        let p = data_dir.join(&name);
        match std::fs::remove_file(&p) {
            Ok(()) => removed.push(p.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&p)(e)),
        }
    }
    let opened = data_dir.join("opened");
    if opened.exists() {
        std::fs::remove_dir_all(&opened).map_err(io(&opened))?;
        removed.push(opened.display().to_string());
    }
    // Then the secrets: a token kept inside the replica went with it; one in the keychain,
    // and the replica's key, go now.
    // Where there is no keychain at all, nothing was ever put in one: nothing to remove.
    let gone = |r: Result<()>| match r {
        Err(KeyError::NoKeychain(_)) => Ok(()),
        other => other,
    };
    if std::env::var_os("DESK_NO_KEYCHAIN").is_none() {
        gone(store.remove(&token))?;
    }
    if let Some(meta) = meta {
        if meta.key_source == KeySource::Keychain {
            gone(store.remove(&account(&meta)))?;
        }
        if let Some((KeySource::Keychain, previous)) = &meta.previous {
            gone(store.remove(&format!("replica-{previous}")))?;
        }
    }
    Ok(removed)
}

/// Which protection the replica in `data_dir` uses, if there is one.
pub fn key_source(data_dir: &Path) -> Result<Option<KeySource>> {
    Ok(read_meta(data_dir)?.map(|m| m.key_source))
}

fn uuid_like() -> String {
    match Key::random().ok().and_then(|k| k.to_hex()) {
        Some(hex) => hex[..32].to_string(),
        None => format!("{:x}", std::process::id()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock_keychain() -> Keychain {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        Keychain::default()
    }

    #[test]
    fn keychain_round_trip_with_keyrings_mock_store() {
        let kc = mock_keychain();
        let dir = tempfile::tempdir().expect("tmp");
        let none = || None;
        let (mut r, created) = init(dir.path(), Protect::Keychain(&kc), &kc, &none).expect("init");
        assert!(created);
        r.create(
            desk_core::Entity::Contact,
            &serde_json::from_str(r#"{"name":"A"}"#).expect("json"),
        )
        .expect("create");
        drop(r);
        assert_eq!(
            key_source(dir.path()).expect("meta"),
            Some(KeySource::Keychain)
        );
        let meta: ReplicaMeta = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(META_FILE)).expect("meta"),
        )
        .expect("json");
        let secret = kc.get(&account(&meta)).expect("get").expect("stored");
        assert_eq!(secret.len(), 64);
        let text = std::fs::read_to_string(dir.path().join(META_FILE)).expect("meta");
        assert!(
            !text.contains(&secret),
            "the key must never be written beside the replica"
        );
        let (r, created) =
            init(dir.path(), Protect::Keychain(&kc), &kc, &none).expect("idempotent");
        assert!(!created);
        assert_eq!(r.count(desk_core::Entity::Contact).expect("count"), 1);
        // Another keychain (another user or machine) does not have the key.
        let other = Keychain::default();
        assert!(matches!(
            open(dir.path(), &other, &none),
            Err(KeyError::KeyMissing { .. })
        ));
    }

    fn contact(r: &mut Replica, name: &str) {
        r.create(
            desk_core::Entity::Contact,
            &serde_json::from_value(serde_json::json!({ "name": name })).expect("json"),
        )
        .expect("create");
    }

    fn meta_of(dir: &Path) -> ReplicaMeta {
        read_meta(dir).expect("meta").expect("there")
    }

    #[test]
    fn rekey_moves_the_replica_to_a_new_key_losing_nothing() {
        let kc = mock_keychain();
        let dir = tempfile::tempdir().expect("tmp");
        let none = || None;
        let (mut r, _) = init(dir.path(), Protect::Keychain(&kc), &kc, &none).expect("init");
        for n in ["Sok Chenda", "ພອນວິໄລ ສີສຸກ", "สมชาย ใจดี"]
        {
            contact(&mut r, n);
        }
        let before = r.dump().expect("dump");
        let first = meta_of(dir.path());
        let old_key = keychain_key(&kc, &first.replica_id).expect("key");
        // Keychain to a new keychain key: the old entry goes, the file opens only with the new.
        let (r, done) = rekey(dir.path(), r, Protect::Keychain(&kc), &kc).expect("rekey");
        assert_eq!((done.key_source, done.records), (KeySource::Keychain, 3));
        assert_eq!(r.dump().expect("dump"), before);
        drop(r);
        let second = meta_of(dir.path());
        assert_ne!(second.replica_id, first.replica_id);
        assert!(second.previous.is_none());
        assert_eq!(
            kc.get(&account(&first)).expect("get"),
            None,
            "the old key is gone"
        );
        assert!(matches!(
            Replica::open(&replica_path(dir.path()), &old_key),
            Err(desk_core::Error::WrongKey { .. })
        ));
        assert!(!dir.path().join("replica.db.rekey").exists());
        let mut r = open(dir.path(), &kc, &none).expect("opens with the new key");
        contact(&mut r, "Bùi Thanh Sơn");
        // To a passphrase, and back to the keychain.
        let after = r.dump().expect("dump");
        let (r, done) = rekey(
            dir.path(),
            r,
            Protect::Passphrase("a new long passphrase".into()),
            &kc,
        )
        .expect("to passphrase");
        assert_eq!(done.key_source, KeySource::Passphrase);
        drop(r);
        assert_eq!(kc.get(&account(&second)).expect("get"), None);
        assert!(matches!(
            open(dir.path(), &kc, &|| Some("wrong one".into())),
            Err(KeyError::Core(desk_core::Error::WrongKey { .. }))
        ));
        let r =
            open(dir.path(), &kc, &|| Some("a new long passphrase".into())).expect("passphrase");
        assert_eq!(r.dump().expect("dump"), after);
        let (r, _) = rekey(dir.path(), r, Protect::Keychain(&kc), &kc).expect("to keychain");
        drop(r);
        assert_eq!(
            open(dir.path(), &kc, &none)
                .expect("open")
                .dump()
                .expect("dump"),
            after
        );
    }

    #[test]
    fn a_key_change_interrupted_before_the_new_file_took_its_place_still_opens() {
        let kc = mock_keychain();
        let dir = tempfile::tempdir().expect("tmp");
        let none = || None;
        let (mut r, _) = init(dir.path(), Protect::Keychain(&kc), &kc, &none).expect("init");
        contact(&mut r, "Sok Chenda");
        drop(r);
        // The new key stored and replica.json naming it, the file not yet replaced.
        let old = meta_of(dir.path());
        let new = ReplicaMeta {
            replica_id: uuid_like(),
            key_source: KeySource::Keychain,
            previous: Some((KeySource::Keychain, old.replica_id.clone())),
        };
        let key = Key::random().expect("key");
        kc.set(&account(&new), &key.to_hex().expect("hex"))
            .expect("set");
        write_meta(dir.path(), &new).expect("meta");
        std::fs::write(dir.path().join("replica.db.rekey"), b"half a copy").expect("leftover");
        let r = open(dir.path(), &kc, &none).expect("opens with the key before");
        assert_eq!(r.count(desk_core::Entity::Contact).expect("count"), 1);
        // Changing the key again finishes cleanly, the leftover copy replaced.
        let (r, _) = rekey(dir.path(), r, Protect::Keychain(&kc), &kc).expect("rekey");
        assert_eq!(r.count(desk_core::Entity::Contact).expect("count"), 1);
        assert!(meta_of(dir.path()).previous.is_none());
    }

    #[test]
    fn a_destroyed_replica_leaves_nothing_readable_here_or_in_the_keychain() {
        let kc = mock_keychain();
        let dir = tempfile::tempdir().expect("tmp");
        let none = || None;
        let (mut r, _) = init(dir.path(), Protect::Keychain(&kc), &kc, &none).expect("init");
        contact(&mut r, "Aung Kyaw");
        sync_token::store(&mut r, &kc, "a-token").expect("token");
        let device = r.device_id().to_string();
        let meta = meta_of(dir.path());
        std::fs::create_dir_all(dir.path().join("opened/doc")).expect("opened");
        std::fs::write(dir.path().join("opened/doc/note.pdf"), b"restricted").expect("file");
        std::fs::write(dir.path().join("window.json"), b"{}").expect("window");
        let removed = destroy(dir.path(), r, &kc).expect("destroy");
        assert!(
            removed.iter().any(|p| p.ends_with("replica.db")),
            "{removed:?}"
        );
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["window.json"], "only the window's size is left");
        assert_eq!(kc.get(&account(&meta)).expect("get"), None);
        assert_eq!(kc.get(&format!("sync-token:{device}")).expect("get"), None);
        assert!(matches!(
            open(dir.path(), &kc, &none),
            Err(KeyError::Core(desk_core::Error::NoReplica { .. }))
        ));
    }

    /// A computer with no keychain at all (a headless machine): every call says so.
    struct NoKeychainHere;

    impl SecretStore for NoKeychainHere {
        fn get(&self, _: &str) -> Result<Option<String>> {
            Err(KeyError::NoKeychain("no Secret Service".into()))
        }
        fn set(&self, _: &str, _: &str) -> Result<()> {
            Err(KeyError::NoKeychain("no Secret Service".into()))
        }
        fn remove(&self, _: &str) -> Result<()> {
            Err(KeyError::NoKeychain("no Secret Service".into()))
        }
    }

    #[test]
    fn without_a_keychain_a_passphrase_replica_is_still_destroyed_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let pass = || Some("correct horse".to_string());
        let (mut r, _) = init(
            dir.path(),
            Protect::Passphrase("correct horse".into()),
            &NoKeychainHere,
            &pass,
        )
        .expect("init");
        contact(&mut r, "Aung Kyaw");
        let removed = destroy(dir.path(), r, &NoKeychainHere).expect("destroy");
        assert!(
            removed.iter().any(|p| p.ends_with("replica.json")),
            "{removed:?}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    #[test]
    fn passphrase_replica_needs_the_right_passphrase() {
        let kc = mock_keychain();
        let dir = tempfile::tempdir().expect("tmp");
        let right = || Some("correct horse".to_string());
        let wrong = || Some("battery staple".to_string());
        let none = || None;
        init(
            dir.path(),
            Protect::Passphrase("correct horse".into()),
            &kc,
            &right,
        )
        .expect("init");
        assert!(open(dir.path(), &kc, &right).is_ok());
        assert!(matches!(
            open(dir.path(), &kc, &wrong),
            Err(KeyError::Core(desk_core::Error::WrongKey { .. }))
        ));
        assert!(matches!(
            open(dir.path(), &kc, &none),
            Err(KeyError::PassphraseNeeded)
        ));
    }
}

/// Where a sync token lives: the OS keychain (account `sync-token:DEVICE`), or, where no
/// keychain answers (or `DESK_NO_KEYCHAIN` is set), inside the encrypted replica — never in a
/// plain file.
pub mod sync_token {
    use super::{Result, SecretStore};
    use desk_core::Replica;

    fn account(r: &Replica) -> String {
        format!("sync-token:{}", r.device_id())
    }

    fn keychain_allowed() -> bool {
        std::env::var_os("DESK_NO_KEYCHAIN").is_none()
    }

    /// Keeps `token`; returns where it went ("the OS keychain" or "the encrypted replica").
    pub fn store(r: &mut Replica, keychain: &dyn SecretStore, token: &str) -> Result<&'static str> {
        if keychain_allowed() && keychain.set(&account(r), token).is_ok() {
            r.set_setting("sync.token", None)?;
            return Ok("the OS keychain");
        }
        r.set_setting("sync.token", Some(token))?;
        Ok("the encrypted replica")
    }

    pub fn load(r: &Replica, keychain: &dyn SecretStore) -> Result<Option<String>> {
        if let Some(t) = r.setting("sync.token")? {
            return Ok(Some(t));
        }
        if !keychain_allowed() {
            return Ok(None);
        }
        Ok(keychain
            .get(&account(r))
            .ok()
            .flatten()
            .filter(|t| !t.is_empty()))
    }

    pub fn forget(r: &mut Replica, keychain: &dyn SecretStore) -> Result<()> {
        r.set_setting("sync.token", None)?;
        if keychain_allowed() {
            let _ = keychain.remove(&account(r));
        }
        Ok(())
    }
}
