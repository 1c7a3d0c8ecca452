"""Laptops that travel, in the real app. The app lock: without a PIN, Ctrl+L sends the user to choose one; with one,
Ctrl+L closes the replica and the page starts again showing nothing of it, the shell answers no
record command, a wrong PIN is refused, and the right one (typed, then Enter: keyboard only)
opens the app again where it was. Then remote wipe: the laptop signs in, an administrator
revokes it, and "Sync now" removes the replica and its keys, the server records the wipe and
the app says why it has nothing. Runs on its own replica and app, so a failure here leaves the
other tests' app as it was."""

import json
import os
import subprocess

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import PASSPHRASE, TARGET, app_on, make_replica, serve
from test_app import axe_violations, centre, keys, nav, shot, sign_in, text_of, toast, type_into, wait


@pytest.fixture(scope="module")
def driver():
    yield from app_on(make_replica(TARGET))


def interactive(d):
    return d.execute_script("return !!document.documentElement.dataset.interactive")


INVOKE = """
const done = arguments[arguments.length - 1];
window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
  .then(v => done({ok: v}), e => done({err: e}));
"""


def test_locking_closes_the_replica_until_the_pin_is_given(driver):
    wait(driver, 60).until(interactive)
    wait(driver).until(lambda d: "Upcoming meetings" in text_of(d, "main"))
    home = text_of(driver, "main")
    assert "ACMECS" in home

    # No PIN yet: the shell refuses to lock, and Settings opens at the app lock.
    keys(driver, (Keys.CONTROL, "l"))
    toast(driver, "choose a PIN first")
    wait(driver).until(lambda d: text_of(d, "#settings-title") == "Settings")
    assert driver.execute_async_script(INVOKE, "lock_policy", {})["ok"] == {"pin_set": False, "idle_minutes": 10}
    type_into(driver, driver.find_element(By.ID, "new-pin"), "25")
    driver.find_element(By.ID, "new-pin").send_keys(Keys.ENTER)
    wait(driver).until(lambda d: "4 to 256 characters" in text_of(d, "#pin-error"))
    pin = driver.find_element(By.ID, "new-pin")
    type_into(driver, pin, "80")
    pin.send_keys(Keys.ENTER)
    toast(driver, "PIN set")
    assert driver.execute_async_script(INVOKE, "lock_policy", {})["ok"]["pin_set"] is True
    nav(driver, "Home")
    wait(driver).until(lambda d: "Upcoming meetings" in text_of(d, "main"))

    keys(driver, (Keys.CONTROL, "l"))
    wait(driver).until(lambda d: text_of(d, "h1") == "Secretariat Desk is locked")
    page = driver.execute_script("return document.body.innerText")
    assert "ACMECS" not in page and "Upcoming meetings" not in page, page
    # The shell itself answers no record command while locked.
    for cmd, args in [("search", {"query": "ACMECS"}), ("summary", {}), ("home", {})]:
        answer = driver.execute_async_script(INVOKE, cmd, args)
        assert "err" in answer and answer["err"]["kind"] == "wrong_key", (cmd, answer)
    assert driver.execute_async_script(INVOKE, "status", {})["ok"]["unlocked"] is False
    shot(driver, "lock")
    assert axe_violations(driver) == []

    # A wrong PIN is refused at the field; the right one, typed and Enter, opens the app.
    box = wait(driver).until(lambda d: d.find_element(By.ID, "pin"))
    assert driver.switch_to.active_element == box, "the PIN field has the focus"
    type_into(driver, box, "1111")
    box.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: "not the PIN" in text_of(d, "#unlock-error"))
    assert driver.execute_async_script(INVOKE, "status", {})["ok"]["unlocked"] is False
    box = driver.find_element(By.ID, "pin")
    wait(driver).until(lambda d: box.get_attribute("value") == "")
    keys(driver, "2580", Keys.ENTER)
    wait(driver, 30).until(lambda d: "Upcoming meetings" in text_of(d, "main"))
    assert "ACMECS" in text_of(driver, "main")
    assert driver.execute_async_script(INVOKE, "search", {"query": "ACMECS"})["ok"], "records answer again"


@pytest.fixture(scope="module")
def server():
    yield from serve()


def test_a_revoked_laptop_removes_its_replica_and_says_why(driver, server):
    """Runs after the lock test on the same app: signed in, then revoked by an administrator;
    the next sync removes the replica and its keys, the server records the wipe, and the app
    shows why it has nothing."""
    url, db = server
    wait(driver, 60).until(interactive)
    data_dir = driver.execute_async_script(INVOKE, "status", {})["ok"]["data_dir"]
    sign_in(driver, url)
    device = driver.execute_async_script(INVOKE, "summary", {})["ok"]["device"]
    admin = lambda *a: subprocess.run([TARGET / "desk-server", *a, "--db", db], check=True, capture_output=True, text=True).stdout
    assert f"{device}\te2e\tactive" in admin("device", "list")

    admin("device", "revoke", device)
    nav(driver, "Settings")
    centre(driver, wait(driver).until(lambda d: d.find_element(By.XPATH, "//button[normalize-space()='Sync now']"))).click()
    wait(driver, 60).until(lambda d: text_of(d, "h1") == "This computer's access was revoked")
    assert "the server has the removal on record" in text_of(driver, "[role=alert]")
    shot(driver, "revoked")
    # Nothing of the replica is left in its folder (the window's size may stay), and the
    # server lists the device as wiped.
    left = sorted(os.listdir(data_dir))
    assert set(left) <= {"window.json"}, left
    assert "revoked, wiped " in next(l for l in admin("device", "list").splitlines() if l.startswith(device))
    assert driver.execute_async_script(INVOKE, "search", {"query": "ACMECS"})["err"]["kind"] == "wrong_key"


def test_past_the_offline_lease_the_app_opens_with_a_code_and_warns_until_it_syncs():
    """The app started forty days after its last sync (its clock moved by faketime) with a
    thirty-day lease and no network: locked, with the reason; Sync now cannot get through; an
    administrator's one-time code opens it and the sync bar warns; once the server is back,
    Sync now sends what was done and the lease starts again."""
    running = serve()
    url, db = next(running)
    data_dir = make_replica(TARGET)
    admin = lambda *a: subprocess.run([TARGET / "desk-server", *a, "--db", db], check=True, capture_output=True, text=True).stdout
    admin("policy", "lease", "30")
    env = dict(os.environ, DESK_DATA_DIR=data_dir, DESK_PASSPHRASE=PASSPHRASE,
               DESK_PASSWORD="e2e sync password", DESK_NO_KEYCHAIN="1")
    desk = lambda *a: subprocess.run([TARGET / "desk", *a], env=env, check=True, capture_output=True, text=True).stdout
    desk("login", "--server", url, "--user", "e2e")
    desk("sync")
    assert "Offline lease of 30 days: 29 days left" in desk("lease"), "whole days left, counted down"
    device = json.loads(desk("--json", "summary"))["device"]
    next(running, None)  # the server stops: the laptop goes where there is no network
    for driver in app_on(data_dir, wrap=("faketime", "-f", "+40d")):
        wait(driver, 60).until(lambda d: text_of(d, "h1") == "This computer has been offline too long")
        assert "more than 30 days" in text_of(driver, "#lease-message")
        assert "ACMECS" not in driver.execute_script("return document.body.innerText")
        shot(driver, "lease")
        assert axe_violations(driver) == []
        driver.find_element(By.XPATH, "//button[normalize-space()='Sync now']").click()
        wait(driver, 60).until(lambda d: text_of(d, "#unlock-error") != "")
        assert text_of(driver, "h1") == "This computer has been offline too long"
        box = driver.find_element(By.ID, "unlock-code")
        type_into(driver, box, "AAAA-AAAA-02-AAAA-AAAA-AAAA")
        box.send_keys(Keys.ENTER)
        wait(driver).until(lambda d: "not for this computer" in text_of(d, "#unlock-error"))
        code = admin("device", "unlock-code", device, "2").strip()
        box.clear()
        type_into(driver, box, code)
        box.send_keys(Keys.ENTER)
        wait(driver, 30).until(lambda d: "Upcoming meetings" in text_of(d, "main"))
        wait(driver).until(lambda d: "within 48 hours" in text_of(d, "#lease-warning"))
        shot(driver, "lease-warning")
        # Back in the office: the same server at the same address; Sync now renews the lease.
        again = serve(db, url.removeprefix("http://"))
        next(again)
        try:
            centre(driver, driver.find_element(By.XPATH, "//footer[@id='sync-bar']//button[normalize-space()='Sync now']")).click()
            wait(driver, 60).until(lambda d: not d.find_elements(By.ID, "lease-warning"))
            assert "unlock-code" in admin("audit")
        finally:
            next(again, None)


def test_the_app_carries_sync_by_hand_through_a_stopped_server(tmp_path):
    """No network at all: the app writes a bundle from its sync settings, the back office
    takes it in and answers with the server stopped, and the app takes the answer — a
    colleague's contact arrives, and the app's own edit is on the server."""
    running = serve()
    url, db = next(running)
    env = lambda d: dict(os.environ, DESK_DATA_DIR=d, DESK_PASSPHRASE=PASSPHRASE,
                         DESK_PASSWORD="e2e sync password", DESK_NO_KEYCHAIN="1")
    desk = lambda d, *a: subprocess.run([TARGET / "desk", *a], env=env(d), check=True, capture_output=True, text=True).stdout
    data_dir = make_replica(TARGET)
    desk(data_dir, "login", "--server", url, "--user", "e2e")
    desk(data_dir, "sync")
    colleague = str(tmp_path / "colleague")
    desk(colleague, "init")
    desk(colleague, "login", "--server", url, "--user", "e2e")
    desk(colleague, "contact", "add", "--name", "Bounthavy Sisouphanh", "--native-name", "ບຸນທະວີ ສີສຸພັນ")
    desk(colleague, "sync")
    device = json.loads(desk(data_dir, "--json", "summary"))["device"]
    next(running, None)  # the server stops; from here only files move
    admin = lambda *a: subprocess.run([TARGET / "desk-server", *a, "--db", db], check=True, capture_output=True, text=True).stdout
    for driver in app_on(data_dir):
        wait(driver, 60).until(interactive)
        made = driver.execute_async_script(INVOKE, "create", {"entityName": "contact", "fields": {"name": "Sok Chenda", "native_name": "សុខ ចិន្តា"}})
        assert "ok" in made, made
        nav(driver, "Settings")
        to = wait(driver).until(lambda d: d.find_element(By.ID, "bundle-to"))
        wait(driver).until(lambda d: (to.get_attribute("value") or "").endswith(".deskbundle"))
        out = str(tmp_path / "for-the-server.deskbundle")
        to.clear()
        type_into(driver, to, out)
        to.send_keys(Keys.ENTER)
        toast(driver, "Bundle 1 written: 1 change, 0 audit events and 0 files")
        assert "1 changes" in admin("import", out)
        answer = str(tmp_path / "answer.deskbundle")
        admin("export", "--device", device, "--out", answer)
        shot(driver, "bundle")
        assert axe_violations(driver) == []
        centre(driver, driver.find_element(By.ID, "bundle-in")).send_keys(answer)
        toast(driver, "Took the server's bundle 1")
        wait(driver).until(lambda d: "0 of yours still to send" in text_of(d, "#toasts"))
        hits = driver.execute_async_script(INVOKE, "search", {"query": "ບຸນທະວີ"})["ok"]
        assert [h["title"] for h in hits] == ["Bounthavy Sisouphanh"], hits
        # Taken twice: refused at the file, nothing applied.
        driver.find_element(By.ID, "bundle-in").send_keys(answer)
        wait(driver).until(lambda d: "imported already" in text_of(d, "#bundle-error"))
