//! `desk-server`: the sync hub over HTTP.
//!
//! ```text
//! desk-server [serve] [--config FILE] [--db FILE|sqlite:FILE|postgres://…] [--listen ADDR]
//!             [--max-connections N] [--header-timeout-secs N] … (every limit below)
//! desk-server user add NAME --role ROLE [--country C] [--password-stdin] [--db …]
//! desk-server user list | user role NAME ROLE | user disable NAME
//! desk-server device list | device revoke ID | device rotate ID | device unlock-code ID [DAYS]
//! desk-server policy | policy lease DAYS | policy lease off
//! desk-server import FILE | export --device ID [--out FILE]
//! desk-server audit [--limit N] | quarantine
//! ```
//!
//! With no flags it just runs on `./desk-server.db`, `127.0.0.1:8730`: the store (an encrypted
//! replica) is created on first start with a random key in `FILE.key` beside it (mode 0600). It
//! prints `listening on http://ADDR` once it accepts connections (`--listen 127.0.0.1:0` picks
//! a free port). `--db postgres://user[:password]@host[:port]/database` keeps everything in
//! PostgreSQL instead (see `desk_server::store::postgres`; a password belongs in the URL inside the config
//! file, mode 0600, rather than on the command line). Roles: `admin`, `secretariat`, `focal-point:COUNTRY`, `partner` (see
//! `desk_server::access`). The HTTP API is described in `docs/openapi.yaml`; every error is
//! `{"error": {"code", "message"}}` with a 4xx/5xx status.
//!
//! The limits (config key, or the same as a flag: `max_connections` → `--max-connections`):
//! `max_connections` (512), `header_timeout_secs` (10), `idle_timeout_secs` (30),
//! `waits_per_device` (4), `login_user_failures` (5), `login_client_failures` (20),
//! `login_lockout_secs` (5), `login_lockout_max_secs` (900), `trust_forwarded_for` (no),
//! `max_file_mb` (512), `file_quota_mb` (4096), `upload_expiry_hours` (168). See
//! [`desk_server::Limits`].

use desk_server::store::{self, SqliteStore, Tables};
use desk_server::{auth, serve_with, store_key, Hub, Limits, Role};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Settings from the command line and, below them, the config file.
struct Settings {
    /// A SQLite file (optionally `sqlite:FILE`) or a `postgres://` URL.
    db: String,
    listen: String,
    limits: Limits,
}

/// The config keys that set a limit (each also a flag: `_` → `-`).
const LIMIT_KEYS: [&str; 12] = [
    "max_connections",
    "header_timeout_secs",
    "idle_timeout_secs",
    "waits_per_device",
    "login_user_failures",
    "login_client_failures",
    "login_lockout_secs",
    "login_lockout_max_secs",
    "trust_forwarded_for",
    "max_file_mb",
    "file_quota_mb",
    "upload_expiry_hours",
];

/// Sets the limit `key` (one of [`LIMIT_KEYS`]) from its text.
fn set_limit(l: &mut Limits, key: &str, value: &str) -> Result<(), String> {
    let count = |max: u64| -> Result<u64, String> {
        value
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("{key} must be a whole number from 1 to {max}, not '{value}'"))
    };
    let secs = |max: u64| count(max).map(Duration::from_secs);
    match key {
        "max_connections" => l.max_connections = count(1_000_000)? as usize,
        "header_timeout_secs" => l.header_timeout = secs(3600)?,
        "idle_timeout_secs" => l.idle_timeout = secs(3600)?,
        "waits_per_device" => l.waits_per_device = count(1000)? as usize,
        "login_user_failures" => l.login.user_failures = count(1000)? as u32,
        "login_client_failures" => l.login.client_failures = count(100_000)? as u32,
        "login_lockout_secs" => l.login.lockout = secs(86_400)?,
        "login_lockout_max_secs" => l.login.lockout_max = secs(7 * 86_400)?,
        "max_file_mb" => l.files.max_file = count(1 << 20)? << 20,
        "file_quota_mb" => l.files.quota = count(1 << 30)? << 20,
        "upload_expiry_hours" => l.files.stale_secs = count(100_000)? as i64 * 3600,
        "trust_forwarded_for" => {
            l.trust_forwarded_for = match value.to_ascii_lowercase().as_str() {
                "yes" | "true" | "on" | "1" => true,
                "no" | "false" | "off" | "0" => false,
                _ => return Err(format!("{key} must be yes or no, not '{value}'")),
            }
        }
        _ => return Err(format!("unknown limit '{key}'")),
    }
    Ok(())
}

/// Reads `key = value` lines (`#` comments; keys `db`, `listen` and [`LIMIT_KEYS`]; quotes
/// optional).
fn read_config(path: &Path, s: &mut Settings) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("{}:{}: expected key = value", path.display(), n + 1))?;
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "db" => s.db = v,
            "listen" => s.listen = v,
            k if LIMIT_KEYS.contains(&k) => set_limit(&mut s.limits, k, &v)
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1))?,
            other => anyhow::bail!(
                "{}:{}: unknown setting '{other}' (db, listen, {})",
                path.display(),
                n + 1,
                LIMIT_KEYS.join(", ")
            ),
        }
    }
    Ok(())
}

const USAGE: &str = "\
desk-server [serve] [--config FILE] [--db FILE | postgres://USER@HOST/DB] [--listen ADDR]
    run the sync server (defaults: desk-server.db, 127.0.0.1:8730); limits (config key,
    or a flag: --max-connections N): max_connections 512, header_timeout_secs 10,
    idle_timeout_secs 30, waits_per_device 4, login_user_failures 5,
    login_client_failures 20, login_lockout_secs 5, login_lockout_max_secs 900,
    trust_forwarded_for no, max_file_mb 512, file_quota_mb 4096, upload_expiry_hours 168
desk-server user add NAME --role ROLE [--country C] [--password-stdin]
    add a user or set their password and role; the password comes from
    --password-stdin, DESK_PASSWORD or a prompt
    (ROLE: admin | secretariat | focal-point --country C | partner)
desk-server user list | user role NAME ROLE | user disable NAME
desk-server device list | device revoke DEVICE | device rotate DEVICE
desk-server device unlock-code DEVICE [DAYS]   a one-time code past the offline lease (7 days)
desk-server policy | policy lease DAYS | policy lease off   the offline lease
desk-server import FILE            take a device's hand-carried bundle (server stopped)
desk-server export --device ID [--out FILE]   the server's bundle for that device
desk-server audit [--limit N]      the audit log, newest first
desk-server quarantine             edits kept aside for review
Every command takes --db FILE and --config FILE.";

fn is_postgres(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

fn sqlite_path(db: &str) -> anyhow::Result<&Path> {
    if db.starts_with("postgres:") || db.starts_with("postgresql:") {
        anyhow::bail!(
            "--db {db}: a PostgreSQL store is named postgres://USER@HOST[:PORT]/DATABASE"
        );
    }
    Ok(Path::new(db.strip_prefix("sqlite:").unwrap_or(db)))
}

/// The server's tables alone, for the administrative commands (they run beside a live
/// server; on PostgreSQL they neither take its lock nor build a working copy).
fn open_tables(db: &str) -> anyhow::Result<Box<dyn Tables>> {
    if is_postgres(db) {
        let shown = store::postgres::redact(db);
        return Ok(Box::new(store::postgres::PgTables::connect(db).map_err(
            |e| anyhow::anyhow!("cannot open the store {shown}: {e}"),
        )?));
    }
    let path = sqlite_path(db)?;
    let key = store_key(path)?;
    Ok(Box::new(SqliteStore::open(path, &key).map_err(|e| {
        anyhow::anyhow!("cannot open the store {}: {e}", path.display())
    })?))
}

/// Opens the store `db` names: a `postgres://` (or `postgresql://`) URL, or a SQLite file
/// (plain or `sqlite:FILE`) whose key is kept beside it.
fn open_hub(db: &str) -> anyhow::Result<Hub> {
    if is_postgres(db) {
        let shown = store::postgres::redact(db);
        let store = store::postgres::PgStore::connect(db)
            .map_err(|e| anyhow::anyhow!("cannot open the store {shown}: {e}"))?;
        return Hub::with_store(Box::new(store))
            .map_err(|e| anyhow::anyhow!("cannot open the store {shown}: {e}"));
    }
    let path = sqlite_path(db)?;
    let key = store_key(path)?;
    Hub::open(path, &key)
        .map_err(|e| anyhow::anyhow!("cannot open the store {}: {e}", path.display()))
}

/// One process at a time moves history in a store: the server while it serves, or a bundle
/// import or export while it does not (a second writer would leave the serving one's view of
/// the history behind). Held until dropped. A PostgreSQL store has the same rule through its
/// advisory lock (taken when the hub opens).
fn serving(db: &str) -> anyhow::Result<Option<std::fs::File>> {
    if is_postgres(db) {
        return Ok(None);
    }
    let path = PathBuf::from(format!("{}.serving", sqlite_path(db)?.display()));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(Some(f)),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "{db} is in use by a running desk-server (or a bundle import or export): bundles are taken in and made while the server is stopped — stop it, run this, start it again"
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            anyhow::bail!("cannot lock {}: {e}", path.display())
        }
    }
}

/// `desk-server import FILE`: a device's hand-carried bundle into the store.
fn import_bundle(db: &str, file: &Path) -> anyhow::Result<()> {
    let bytes = desk_protocol::bundle::read_file(file).map_err(|e| anyhow::anyhow!("{e}"))?;
    let _only = serving(db)?;
    let mut hub = open_hub(db)?;
    let done = desk_server::bundles::import(&mut hub, &bytes)?;
    println!(
        "imported bundle {} of device {} ({}): {} changes (the server holds its changes up to {}), {} audit events",
        done.number,
        printable(&done.device),
        printable(&done.user),
        done.changes,
        done.acked,
        done.audit
    );
    eprintln!(
        "desk-server: answer with `desk-server export --device {}`",
        done.device
    );
    Ok(())
}

/// `desk-server export --device ID --out FILE`: the server's bundle for a device.
fn export_bundle(db: &str, device: &str, out: &Path) -> anyhow::Result<()> {
    let _only = serving(db)?;
    let mut hub = open_hub(db)?;
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let now = chrono::Utc::now().timestamp_millis();
    let (bytes, body) = desk_server::bundles::export(&mut hub, device, now, nonce)?;
    std::fs::write(out, &bytes)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    println!(
        "wrote {}: {} changes for device {device} (it takes them with desk sync --import)",
        out.display(),
        body.changes.len()
    );
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let p = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        if let Ok(p) = std::env::var("DESK_PASSWORD") {
            return Ok(p);
        }
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(p == again, "the passwords differ");
        p
    };
    Ok(p)
}

/// User-supplied text as the admin's terminal may show it: control characters (newlines,
/// escape sequences) and bidirectional overrides are written as `\u{…}` escapes (and `\` as
/// `\\`), so a name can neither forge a line nor drive the terminal.
fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || bidi => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn when(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn admin(
    words: &[String],
    role: Option<&str>,
    db: &str,
    password_stdin: bool,
    limit: usize,
) -> anyhow::Result<()> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let mut tables = open_tables(db)?;
    let t = tables.as_mut();
    match w.as_slice() {
        ["user", "add", name] => {
            let role = role.ok_or_else(|| anyhow::anyhow!("user add {name}: --role is needed"))?;
            let role = Role::parse(role).map_err(anyhow::Error::msg)?;
            let password = read_password(password_stdin)?;
            auth::add_user(t, name, &password, &role)?;
            println!("user {name}: {}", role.as_string());
        }
        ["user", "list"] => {
            for u in auth::users(t)? {
                let off = if u.disabled { "  (disabled)" } else { "" };
                println!(
                    "{}\t{}\t{} devices{off}",
                    printable(&u.name),
                    printable(&u.role),
                    u.devices
                );
            }
        }
        ["user", "role", name, role] => {
            let role = Role::parse(role).map_err(anyhow::Error::msg)?;
            auth::set_role(t, name, &role)?;
            println!(
                "user {name}: {} (their devices pull again)",
                role.as_string()
            );
        }
        ["user", "disable", name] => {
            let n = auth::disable_user(t, name)?;
            println!("user {name} disabled; {n} devices revoked");
        }
        ["device", "list"] => {
            for d in auth::devices(t)? {
                let state = match (d.revoked, d.wiped) {
                    (true, Some(at)) => format!("revoked, wiped {}", when(at)),
                    (true, None) => "revoked, wipe not confirmed".into(),
                    (false, _) => "active".into(),
                };
                let seen = d.last_seen.map(when).unwrap_or_else(|| "never".into());
                println!(
                    "{}\t{}\t{state}\texpires {}\tlast seen {seen}",
                    printable(&d.id),
                    printable(&d.user),
                    when(d.expires)
                );
            }
        }
        ["device", "rotate", id] => {
            auth::rotate_device(t, id)?;
            println!("device {id}: its token no longer works; its user signs in again (the replica and its unsent changes stay)");
        }
        ["device", "unlock-code", id, rest @ ..] => {
            let days = match rest {
                [] => 7,
                [d] => d.parse().map_err(|_| {
                    anyhow::anyhow!("device unlock-code {id} {d}: DAYS is a number from 1 to 30")
                })?,
                _ => anyhow::bail!("device unlock-code DEVICE [DAYS]"),
            };
            let code = auth::unlock_code(t, id, days)?;
            println!("{code}");
            eprintln!("device {id}: read this one-time code to its user; it unlocks that computer alone, once, for {} days", days.clamp(1, desk_protocol::unlock::MAX_DAYS));
        }
        ["policy"] => match auth::lease_days(t)? {
            Some(d) => println!("offline lease: {d} days"),
            None => println!("offline lease: none"),
        },
        ["policy", "lease", "off"] => {
            auth::set_lease_days(t, None)?;
            println!("offline lease: none");
        }
        ["policy", "lease", days] => {
            let d: u32 = days
                .parse()
                .map_err(|_| anyhow::anyhow!("policy lease {days}: DAYS is a number, or off"))?;
            auth::set_lease_days(t, Some(d))?;
            println!("offline lease: {d} days (devices are told on their next sync)");
        }
        ["device", "revoke", id] => {
            auth::revoke_device(t, id)?;
            println!("device {id} revoked: it wipes its replica on next contact");
        }
        ["audit"] => {
            for (at, user, device, action, detail) in auth::audit_log(t, limit)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    when(at),
                    printable(&user.unwrap_or_default()),
                    printable(&device.unwrap_or_default()),
                    printable(&action),
                    printable(&detail)
                );
            }
        }
        ["quarantine"] => {
            for (device, seq, record, reason) in store::quarantined(t)? {
                println!(
                    "{}/{seq}\t{}\t{}",
                    printable(&device),
                    printable(&record),
                    printable(&reason)
                );
            }
        }
        _ => anyhow::bail!("unknown command '{}'\n{USAGE}", w.join(" ")),
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("desk-server: {e:#}");
        std::process::exit(2);
    }
}

/// Opening the store and the administrative commands are plain blocking code (the PostgreSQL
/// client runs its own small runtime and must not be called from inside another's); only
/// serving runs on tokio.
fn run() -> anyhow::Result<()> {
    let mut s = Settings {
        db: "desk-server.db".into(),
        listen: "127.0.0.1:8730".into(),
        limits: Limits::default(),
    };
    let mut words = Vec::new();
    let mut limit_flags: Vec<(String, String)> = Vec::new();
    let (mut db, mut listen, mut config) = (None, None, None);
    let mut password_stdin = false;
    let mut limit = 50;
    let (mut role, mut country) = (None, None);
    let (mut device, mut output) = (None, None);
    let mut it = std::env::args();
    it.next(); // the program's own name
    while let Some(a) = it.next() {
        let mut value = |what: &str| it.next().ok_or_else(|| anyhow::anyhow!("{a} needs {what}"));
        match a.as_str() {
            "--db" => db = Some(value("a file or a postgres:// URL")?),
            "--listen" => listen = Some(value("an address")?),
            "--config" => config = Some(PathBuf::from(value("a file")?)),
            "--limit" => {
                limit = value("a number")?
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--limit needs a number"))?
            }
            "--password-stdin" => password_stdin = true,
            "--role" => role = Some(value("a role")?),
            "--country" => country = Some(value("a country")?),
            "--device" => device = Some(value("a device id")?),
            "--out" | "--output" => output = Some(PathBuf::from(value("a file")?)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            flag if flag
                .strip_prefix("--")
                .is_some_and(|k| LIMIT_KEYS.contains(&k.replace('-', "_").as_str())) =>
            {
                let key = flag.trim_start_matches("--").replace('-', "_");
                limit_flags.push((key, value("a value")?));
            }
            other if other.starts_with("--") => {
                anyhow::bail!("unknown option {other}\n{USAGE}")
            }
            _ => words.push(a),
        }
    }
    if let Some(c) = &config {
        read_config(c, &mut s)?;
    }
    if let Some(d) = db {
        s.db = d;
    }
    if let Some(l) = listen {
        s.listen = l;
    }
    for (k, v) in &limit_flags {
        set_limit(&mut s.limits, k, v)
            .map_err(|e| anyhow::anyhow!("--{}: {e}", k.replace('_', "-")))?;
    }
    if s.limits.login.lockout_max < s.limits.login.lockout {
        anyhow::bail!("login_lockout_max_secs must be at least login_lockout_secs");
    }
    match (words.first().map(String::as_str), words.len()) {
        (Some("import"), 2) => return import_bundle(&s.db, Path::new(&words[1])),
        (Some("import"), _) => anyhow::bail!("desk-server import FILE"),
        (Some("export"), 1) => {
            let device = device
                .ok_or_else(|| anyhow::anyhow!("desk-server export --device ID [--out FILE]"))?;
            let out = output.unwrap_or_else(|| PathBuf::from(format!("{device}.deskbundle")));
            return export_bundle(&s.db, &device, &out);
        }
        (Some("export"), _) => anyhow::bail!("desk-server export --device ID [--out FILE]"),
        _ => {}
    }
    if !(words.is_empty() || words == ["serve"]) {
        let role = match (role, country) {
            (Some(r), Some(c)) if !r.contains(':') => Some(format!("{r}:{c}")),
            (Some(r), _) => Some(r),
            (None, Some(_)) => anyhow::bail!("--country goes with --role focal-point"),
            (None, None) => None,
        };
        return admin(&words, role.as_deref(), &s.db, password_stdin, limit);
    }
    let _serving = serving(&s.db)?;
    let mut hub = open_hub(&s.db)?;
    // Unfinished uploads untouched for longer than the limit go now (and on each upload).
    let swept = hub
        .set_file_limits(s.limits.files)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if swept > 0 {
        eprintln!("desk-server: removed {swept} unfinished uploads untouched for too long");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start: {e}"))?;
    warn_about_open_files(s.limits.max_connections);
    runtime.block_on(listen_and_serve(hub, &s.listen, s.limits))
}

/// Each connection is a file descriptor: says so when `max_connections` leaves too little room
/// under the process's open-file limit (Linux; `LimitNOFILE` under systemd).
fn warn_about_open_files(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    // The store, the listener, blocking threads and refused connections need some too.
    if let Some(soft) = soft.filter(|n| max_connections.saturating_add(128) > *n) {
        eprintln!(
            "desk-server: warning: max_connections is {max_connections} but only {soft} files may \
             be open: lower max_connections or raise the limit (LimitNOFILE)"
        );
    }
}

async fn listen_and_serve(hub: Hub, listen: &str, limits: Limits) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    println!("listening on http://{}", listener.local_addr()?);
    serve_with(listener, hub, limits, async {
        // Ctrl-C, or SIGTERM from systemd: in-flight requests finish first.
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_forge_lines_or_drive_the_terminal() {
        let s = printable("eve\n2099-01-01 00:00 UTC\tadmin\x1b[31m\u{202e}\u{9b}\\");
        assert_eq!(
            s,
            "eve\\n2099-01-01 00:00 UTC\\tadmin\\u{1b}[31m\\u{202e}\\u{9b}\\\\"
        );
        assert_eq!(printable("Aung Kyaw ဦး"), "Aung Kyaw ဦး");
    }

    #[test]
    fn limits_are_read_and_checked() {
        let mut l = Limits::default();
        set_limit(&mut l, "max_connections", "20").expect("set");
        set_limit(&mut l, "trust_forwarded_for", "yes").expect("set");
        set_limit(&mut l, "login_lockout_secs", "60").expect("set");
        assert_eq!(l.max_connections, 20);
        assert!(l.trust_forwarded_for);
        assert_eq!(l.login.lockout, Duration::from_secs(60));
        let err = set_limit(&mut l, "header_timeout_secs", "0").expect_err("zero");
        assert!(err.contains("from 1 to"), "{err}");
        assert!(set_limit(&mut l, "waits_per_device", "many").is_err());
    }
}
