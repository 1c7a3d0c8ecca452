"""Fixtures for end-to-end tests of the real desktop app: a demo replica made with the real
`desk` binary, tauri-driver (WebDriver for Tauri, over WebKitWebDriver) on a free loopback
port, and a Selenium session that launches the real `secretariat-desk` binary."""

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.file_detector import UselessFileDetector

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"
PASSPHRASE = "e2e correct horse battery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(url, proc, deadline_s=60):
    """Polls the driver's /status until it answers (a readiness condition, not a fixed sleep)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"tauri-driver exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/status", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError("tauri-driver did not start")


def new_session(url, opts, proc, attempts=5):
    """Creates the WebDriver session. tauri-driver answers /status before the WebKit driver it
    starts behind it accepts connections, and then drops the first request now and then: a
    bounded number of tries, each a real attempt, with a short pause between them."""
    last = None
    for _ in range(attempts):
        if proc.poll() is not None:
            raise RuntimeError(f"tauri-driver exited with {proc.returncode}")
        try:
            return webdriver.Remote(command_executor=url, options=opts)
        except Exception as e:  # urllib3 ProtocolError / WebDriverException
            last = e
            time.sleep(0.5)
    raise RuntimeError(f"no WebDriver session after {attempts} attempts: {last}")


def make_replica(target, size="small"):
    """A fresh data directory with an encrypted demo replica made by the real `desk` binary."""
    d = tempfile.mkdtemp(prefix=f"desk-e2e-{size}-")
    env = dict(os.environ, DESK_DATA_DIR=d, DESK_PASSPHRASE=PASSPHRASE)
    subprocess.run([target / "desk", "init"], env=env, check=True, capture_output=True)
    subprocess.run([target / "desk", "demo", "--size", size], env=env, check=True, capture_output=True)
    return d


class Driver:
    """tauri-driver on free loopback ports, for the app binary in `target` and one data
    directory (its key from the passphrase, or with None from the OS keychain); `session()` launches the app (a new process each time) and returns Selenium's
    handle to it."""

    def __init__(self, target, data_dir, passphrase=PASSPHRASE, wrap=()):
        self.target = Path(target)
        port = free_port()
        env = dict(os.environ, DESK_DATA_DIR=data_dir, DESK_OPENER=str(OPENER), DESK_EXPORT_DIR=str(EXPORTS))
        env.pop("DESK_PASSPHRASE", None)
        if passphrase is not None:
            env["DESK_PASSPHRASE"] = passphrase
        # E2E_APP_LOG=FILE: the driver's and the app's (and WebKit's) output, appended there.
        log = open(os.environ["E2E_APP_LOG"], "ab") if os.environ.get("E2E_APP_LOG") else subprocess.DEVNULL
        # In a process group of its own, stopped whole: a wrapper such as faketime runs the
        # driver as its child, and stopping the wrapper alone left the driver (and WebKit's)
        # running after the tests.
        self.proc = subprocess.Popen(
            [*wrap, os.environ.get("TAURI_DRIVER", "tauri-driver"), "--port", str(port), "--native-port", str(free_port())],
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        if log is not subprocess.DEVNULL:
            log.close()  # the driver holds its own copy
        self.url = f"http://127.0.0.1:{port}"
        try:
            wait_until_listening(self.url, self.proc)
        except Exception:
            self.stop()
            raise

    def session(self):
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(self.target / "secretariat-desk")})
        d = new_session(self.url, opts, self.proc)
        d.implicitly_wait(0)
        # The app runs on this machine: a file input is given the path itself (Selenium would
        # otherwise try to upload the file, which WebKit's driver does not offer).
        d.file_detector = UselessFileDetector()
        return d

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=20)


@pytest.fixture(scope="session")
def data_dir():
    return make_replica(TARGET)


# What the app hands to the system's viewer (DESK_OPENER) lands here: a program that copies the
# file it is given, as a person's PDF reader would read it.
OPENED = Path(tempfile.mkdtemp(prefix="desk-e2e-opened-"))
OPENER = OPENED / "opener"
OPENER.write_text('#!/bin/sh\nset -e\nmkdir -p "$(dirname "$0")/files"\ncp -- "$1" "$(dirname "$0")/files/"\n')
OPENER.chmod(0o755)
# Where the app suggests saving exports (DESK_EXPORT_DIR; a person's Documents folder).
EXPORTS = Path(tempfile.mkdtemp(prefix="desk-e2e-exports-"))


def app_on(data_dir, wrap=()):
    """The app launched on `data_dir` for a fixture's lifetime: yields the Selenium session,
    then quits it and stops the driver. `wrap` runs the driver (and so the app) under another
    program, e.g. `faketime`."""
    tauri = Driver(TARGET, data_dir, wrap=wrap)
    try:
        d = tauri.session()
        yield d
        d.quit()
    finally:
        tauri.stop()


@pytest.fixture(scope="session")
def driver(data_dir):
    yield from app_on(data_dir)


def serve(db=None, listen="127.0.0.1:0"):
    """The real desk-server on a free loopback port (or `listen`), with one secretariat user
    ("e2e") in a new store (or on `db`): yields (its URL, its store's file), then stops it."""
    if db is None:
        d = tempfile.mkdtemp(prefix="desk-e2e-server-")
        db = str(Path(d) / "server.db")
        env = dict(os.environ, DESK_PASSWORD="e2e sync password")
        subprocess.run(
            [TARGET / "desk-server", "user", "add", "e2e", "--role", "secretariat", "--db", db],
            env=env, check=True, capture_output=True,
        )
    proc = subprocess.Popen(
        [TARGET / "desk-server", "--db", db, "--listen", listen],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on "), line
    yield line.removeprefix("listening on "), db
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def sync_server():
    for url, _db in serve():
        yield url


# Without GPU compositing WebKit redraws only when something changes, and its driver's
# screenshot waits for a redraw: a faint corner pixel changes while one is taken.
TICK_START = """
const dot = document.createElement('div');
dot.id = 'e2e-tick';
dot.style.cssText = 'position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;background:rgba(0,0,0,0.01)';
document.body.appendChild(dot);
let odd = false;
window.__e2eTick = setInterval(() => {
  odd = !odd;
  dot.style.background = odd ? 'rgba(0,0,0,0.02)' : 'rgba(0,0,0,0.01)';
}, 20);
"""
TICK_STOP = "clearInterval(window.__e2eTick); document.getElementById('e2e-tick')?.remove();"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that drove the app leaves a screenshot of what the app showed
    (target/e2e-failed-<test>.png) and the page's text, to see why."""
    outcome = yield
    report = outcome.get_result()
    d = item.funcargs.get("driver") if report.when == "call" and report.failed else None
    if d is not None:
        try:
            d.execute_script(TICK_START)
            d.save_screenshot(str(TARGET.parent / f"e2e-failed-{item.name}.png"))
            d.execute_script(TICK_STOP)
            report.sections.append(("the app's page", d.execute_script("return document.body.innerText")[:4000]))
        except Exception as e:  # the app may be gone: the failure itself says more
            report.sections.append(("the app's page", f"no screenshot: {e}"))
