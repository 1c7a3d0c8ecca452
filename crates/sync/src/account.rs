//! The replica's sync account: which server and user it signed in as, and the token. The
//! token is kept by `desk-keys` (the OS keychain, else inside the encrypted replica); the
//! server and user are the replica's `sync.server` and `sync.user` settings, named here only.
//!
//! Signing in and out are split at the network call ([`sign_in`] then [`keep`]; [`forget`]
//! then [`tell_server`]), so a caller sharing the replica behind a lock need not hold it while
//! the server answers; [`login`] and [`logout`] do both steps for a caller that owns it.

use crate::http::{Http, SignedIn};
use crate::SyncError;
use desk_core::Replica;
use desk_keys::{sync_token, KeyError, SecretStore};
use std::path::Path;

const SERVER: &str = "sync.server";
const USER: &str = "sync.user";

/// Where a replica syncs and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub server: String,
    /// The user name given at sign-in (empty if the replica did not record one).
    pub user: String,
    pub token: String,
}

/// A sign-in just made.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub server: String,
    pub user: String,
    pub signed: SignedIn,
    /// Where the token went: "the OS keychain" or "the encrypted replica".
    pub token_in: &'static str,
}

/// How signing out went.
#[derive(Debug)]
pub enum SignedOut {
    /// There was no sign-in to forget.
    NotSignedIn,
    /// Forgotten here, and the server stopped honouring the token.
    Told,
    /// Forgotten here, but the server could not be told (offline): the token lapses on its
    /// own, or an administrator revokes the device.
    NotTold(SyncError),
}

fn keys(e: KeyError) -> SyncError {
    match e {
        KeyError::Core(core) => SyncError::Replica(core),
        // The token helpers fail only on the replica; anything else is reported as it is.
        other => SyncError::Invalid(other.to_string()),
    }
}

/// The server this replica signed in to, if any.
pub fn server(r: &Replica) -> Result<Option<String>, SyncError> {
    Ok(r.setting(SERVER)?)
}

/// The sync token, if this replica holds one.
pub fn token(r: &Replica, keychain: &dyn SecretStore) -> Result<Option<String>, SyncError> {
    sync_token::load(r, keychain).map_err(keys)
}

/// The account this replica is signed in with: its server and a token, or none.
pub fn current(r: &Replica, keychain: &dyn SecretStore) -> Result<Option<Account>, SyncError> {
    let Some(server) = server(r)? else {
        return Ok(None);
    };
    let Some(token) = token(r, keychain)? else {
        return Ok(None);
    };
    let user = r.setting(USER)?.unwrap_or_default();
    Ok(Some(Account {
        server,
        user,
        token,
    }))
}

/// Asks `server` to sign `device` in as `user` (the network step of [`login`]).
pub fn sign_in(
    server: &str,
    user: &str,
    password: &str,
    device: &str,
) -> Result<SignedIn, SyncError> {
    Http::new(server, None)?.login(user, password, device)
}

/// Keeps a sign-in: the token with `desk-keys`, the server and user as settings. Returns where
/// the token went.
pub fn keep(
    r: &mut Replica,
    keychain: &dyn SecretStore,
    server: &str,
    user: &str,
    signed: &SignedIn,
) -> Result<&'static str, SyncError> {
    let token_in = sync_token::store(r, keychain, &signed.token).map_err(keys)?;
    r.set_setting(SERVER, Some(server))?;
    r.set_setting(USER, Some(user))?;
    Ok(token_in)
}

/// Signs this replica in: [`sign_in`], then [`keep`].
pub fn login(
    r: &mut Replica,
    keychain: &dyn SecretStore,
    server: &str,
    user: &str,
    password: &str,
) -> Result<LoggedIn, SyncError> {
    let device = r.device_id().to_string();
    let signed = sign_in(server, user, password, &device)?;
    let token_in = keep(r, keychain, server, user, &signed)?;
    Ok(LoggedIn {
        server: server.to_string(),
        user: user.to_string(),
        signed,
        token_in,
    })
}

/// Forgets the token here (the local step of [`logout`]); returns the account there was, to
/// [`tell_server`]. Local work and unsent changes stay, and so do the server and user
/// ([`last_sign_in`]), so signing in again needs only the password.
pub fn forget(r: &mut Replica, keychain: &dyn SecretStore) -> Result<Option<Account>, SyncError> {
    let was = current(r, keychain)?;
    sync_token::forget(r, keychain).map_err(keys)?;
    Ok(was)
}

/// The server and user this replica last signed in as, signed in now or not.
pub fn last_sign_in(r: &Replica) -> Result<(Option<String>, Option<String>), SyncError> {
    Ok((r.setting(SERVER)?, r.setting(USER)?))
}

/// Who is at this replica, as a printed pack names them: the user it last signed in as, else
/// the computer's user (`USER`, `LOGNAME`).
pub fn reader_name(r: &Replica) -> Option<String> {
    last_sign_in(r)
        .ok()
        .and_then(|(_, user)| user)
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|n| !n.trim().is_empty())
}

/// Tells the server to stop honouring `account`'s token (best effort: see [`SignedOut`]).
pub fn tell_server(account: Option<&Account>) -> SignedOut {
    let Some(a) = account else {
        return SignedOut::NotSignedIn;
    };
    match Http::new(&a.server, Some(&a.token)).and_then(|h| h.logout()) {
        Ok(()) => SignedOut::Told,
        Err(e) => SignedOut::NotTold(e),
    }
}

/// What a revoked device's wipe did.
#[derive(Debug)]
pub struct Wiped {
    /// The files removed from this computer.
    pub removed: Vec<String>,
    /// Whether the server has it on record (it was told with the token the device held);
    /// offline, the wipe happened all the same, unconfirmed.
    pub confirmed: Result<(), SyncError>,
}

/// A revoked device leaves this computer: the replica (a sync round has emptied it already),
/// its log, opened document files and leftovers, its key and its token in the OS keychain
/// ([`desk_keys::destroy`]); then the server is told, so an administrator sees the wipe done.
pub fn wipe(data_dir: &Path, r: Replica, keychain: &dyn SecretStore) -> Result<Wiped, KeyError> {
    let account = current(&r, keychain).ok().flatten();
    let removed = desk_keys::destroy(data_dir, r, keychain)?;
    let confirmed = match account {
        Some(a) => Http::new(&a.server, Some(&a.token)).and_then(|h| h.confirm_wipe()),
        None => Err(SyncError::Invalid(
            "no sync account was left to confirm the wipe with".into(),
        )),
    };
    Ok(Wiped { removed, confirmed })
}

/// Signs this replica out: [`forget`], then [`tell_server`].
pub fn logout(r: &mut Replica, keychain: &dyn SecretStore) -> Result<SignedOut, SyncError> {
    let was = forget(r, keychain)?;
    Ok(tell_server(was.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use desk_keys::InMemory as Memory;

    #[test]
    fn an_account_is_kept_and_forgotten_in_one_place() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut r = Replica::init(&dir.path().join("r.db"), &desk_core::Key::Raw([3u8; 32]))
            .expect("replica");
        let kc = Memory::default();
        assert_eq!(current(&r, &kc).expect("current"), None);
        let signed = SignedIn {
            token: "t0k3n".into(),
            role: crate::Role::Secretariat,
            expires: 0,
        };
        keep(&mut r, &kc, "http://127.0.0.1:9", "ana", &signed).expect("keep");
        let a = current(&r, &kc).expect("current").expect("signed in");
        assert_eq!(
            (a.server.as_str(), a.user.as_str(), a.token.as_str()),
            ("http://127.0.0.1:9", "ana", "t0k3n")
        );
        assert_eq!(forget(&mut r, &kc).expect("forget"), Some(a));
        assert_eq!(current(&r, &kc).expect("current"), None);
        assert_eq!(
            last_sign_in(&r).expect("last"),
            (Some("http://127.0.0.1:9".into()), Some("ana".into()))
        );
        assert!(matches!(tell_server(None), SignedOut::NotSignedIn));
    }
}
