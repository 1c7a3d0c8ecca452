//! Locks the app when the desktop says the person has left it: the machine is about to sleep
//! (logind's `PrepareForSleep(true)` on the system bus), this login session is locked (logind's
//! `Lock` on our session's object), or the screen saver came on (`ActiveChanged(true)` of
//! `org.freedesktop.ScreenSaver` / `org.gnome.ScreenSaver` on the session bus). Each is a D-Bus
//! signal from the well-known name that owns the service; where a bus or a service is missing
//! (a headless machine, another desktop) the app locks only when idle or asked.

use dbus::blocking::Connection;
use dbus::message::{MatchRule, Message};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// Why the desktop asked for a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Away {
    Sleep,
    SessionLocked,
    ScreenSaver,
}

const LOGIN1: &str = "org.freedesktop.login1";

/// Listens on `conn` (the system bus) for logind's signals: sleep, and `Lock` of `session`
/// (our session's object path, when known — another user's session locking is not ours).
pub fn watch_logind(
    conn: &Connection,
    session: Option<dbus::Path<'static>>,
    tell: Sender<Away>,
) -> Result<(), dbus::Error> {
    let sleep = MatchRule::new_signal("org.freedesktop.login1.Manager", "PrepareForSleep")
        .with_sender(LOGIN1);
    when_true(conn, sleep, tell.clone(), Away::Sleep)?;
    if let Some(path) = session {
        let lock = MatchRule::new_signal("org.freedesktop.login1.Session", "Lock")
            .with_sender(LOGIN1)
            .with_path(path);
        conn.add_match(lock, move |(): (), _: &Connection, _: &Message| {
            let _ = tell.send(Away::SessionLocked);
            true
        })?;
    }
    Ok(())
}

/// Listens on `conn` (the session bus) for a screen saver coming on.
pub fn watch_screensaver(conn: &Connection, tell: Sender<Away>) -> Result<(), dbus::Error> {
    for iface in ["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"] {
        let rule = MatchRule::new_signal(iface, "ActiveChanged").with_sender(iface);
        when_true(conn, rule, tell.clone(), Away::ScreenSaver)?;
    }
    Ok(())
}

/// Tells `away` whenever a signal matching `rule` carries `true` (sleep starting, a screen
/// saver coming on; not waking, not going off).
fn when_true(
    conn: &Connection,
    rule: MatchRule<'static>,
    tell: Sender<Away>,
    away: Away,
) -> Result<(), dbus::Error> {
    conn.add_match(rule, move |(on,): (bool,), _: &Connection, _: &Message| {
        if on {
            let _ = tell.send(away);
        }
        true
    })?;
    Ok(())
}

/// This process's logind session object, if logind knows it.
fn own_session(conn: &Connection) -> Option<dbus::Path<'static>> {
    let proxy = conn.with_proxy(LOGIN1, "/org/freedesktop/login1", Duration::from_secs(2));
    let (path,): (dbus::Path<'static>,) = proxy
        .method_call(
            "org.freedesktop.login1.Manager",
            "GetSessionByPID",
            (std::process::id(),),
        )
        .ok()?;
    Some(path)
}

/// Serves a connection's matches for as long as the process lives.
fn serve(conn: Connection) {
    while conn.process(Duration::from_secs(60)).is_ok() {}
}

/// Starts watching both buses (each on its own thread; a bus that is not there is skipped)
/// and returns what they hear.
pub fn watch() -> std::sync::mpsc::Receiver<Away> {
    let (tx, rx) = std::sync::mpsc::channel();
    let system = tx.clone();
    std::thread::spawn(move || {
        if let Ok(conn) = Connection::new_system() {
            let session = own_session(&conn);
            if watch_logind(&conn, session, system).is_ok() {
                serve(conn);
            }
        }
    });
    std::thread::spawn(move || {
        if let Ok(conn) = Connection::new_session() {
            if watch_screensaver(&conn, tx).is_ok() {
                serve(conn);
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    //! On a private D-Bus daemon of our own: a test connection takes logind's and the screen
    //! saver's names and sends their signals, as the desktop would.
    use super::*;
    use dbus::channel::Channel;
    use std::io::BufRead;

    struct Bus {
        daemon: std::process::Child,
        address: String,
    }

    impl Bus {
        fn start() -> Bus {
            let mut daemon = std::process::Command::new("dbus-daemon")
                .args(["--session", "--nofork", "--print-address=1"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("dbus-daemon (Debian's dbus-daemon package)");
            let mut line = String::new();
            std::io::BufReader::new(daemon.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("address");
            Bus {
                daemon,
                address: line.trim().to_string(),
            }
        }
        fn connect(&self) -> Connection {
            let mut ch = Channel::open_private(&self.address).expect("connect");
            ch.register().expect("hello");
            Connection::from(ch)
        }
    }

    impl Drop for Bus {
        fn drop(&mut self) {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
        }
    }

    fn signal(from: &Connection, path: &str, iface: &str, member: &str, arg: Option<bool>) {
        let mut m = Message::new_signal(path, iface, member).expect("signal");
        if let Some(a) = arg {
            m = m.append1(a);
        }
        dbus::channel::Sender::send(from.channel(), m).expect("sent");
        from.channel().flush();
    }

    /// What the watcher heard, once `n` signals arrived (or after 20 s without them).
    fn heard(watcher: &Connection, rx: &std::sync::mpsc::Receiver<Away>, n: usize) -> Vec<Away> {
        let mut got = Vec::new();
        for _ in 0..200 {
            watcher
                .process(Duration::from_millis(100))
                .expect("process");
            got.extend(rx.try_iter());
            if got.len() >= n {
                break;
            }
        }
        got
    }

    #[test]
    fn sleep_our_session_locking_and_a_screen_saver_lock_the_app_and_nothing_else_does() {
        let bus = Bus::start();
        let watcher = bus.connect();
        let desktop = bus.connect();
        for name in [LOGIN1, "org.gnome.ScreenSaver"] {
            desktop
                .request_name(name, false, false, true)
                .expect("name");
        }
        let ours = dbus::Path::from("/org/freedesktop/login1/session/_32");
        let (tx, rx) = std::sync::mpsc::channel();
        watch_logind(&watcher, Some(ours), tx.clone()).expect("logind");
        watch_screensaver(&watcher, tx).expect("screensaver");
        let manager = "org.freedesktop.login1.Manager";
        let session = "org.freedesktop.login1.Session";
        // Waking up, another session locking, a screen saver going off: no lock.
        signal(
            &desktop,
            "/org/freedesktop/login1",
            manager,
            "PrepareForSleep",
            Some(false),
        );
        signal(
            &desktop,
            "/org/freedesktop/login1/session/_35",
            session,
            "Lock",
            None,
        );
        signal(
            &desktop,
            "/org/gnome/ScreenSaver",
            "org.gnome.ScreenSaver",
            "ActiveChanged",
            Some(false),
        );
        // Then the three that lock.
        signal(
            &desktop,
            "/org/freedesktop/login1",
            manager,
            "PrepareForSleep",
            Some(true),
        );
        signal(
            &desktop,
            "/org/freedesktop/login1/session/_32",
            session,
            "Lock",
            None,
        );
        signal(
            &desktop,
            "/org/gnome/ScreenSaver",
            "org.gnome.ScreenSaver",
            "ActiveChanged",
            Some(true),
        );
        assert_eq!(
            heard(&watcher, &rx, 3),
            vec![Away::Sleep, Away::SessionLocked, Away::ScreenSaver]
        );

        // A process that does not own logind's name cannot send its signals.
        let stranger = bus.connect();
        signal(
            &stranger,
            "/org/freedesktop/login1",
            manager,
            "PrepareForSleep",
            Some(true),
        );
        signal(
            &desktop,
            "/org/freedesktop/login1",
            manager,
            "PrepareForSleep",
            Some(true),
        );
        assert_eq!(heard(&watcher, &rx, 1), vec![Away::Sleep]);
        watcher
            .process(Duration::from_millis(200))
            .expect("process");
        assert_eq!(rx.try_iter().count(), 0);
    }
}
