"""Two replicas and the real desk-server on 127.0.0.1: the open app and a second replica made
by the real `desk` CLI, signed in as the same user. An edit made on the second replica appears
in the open app without a click; the same field edited on both lands in the app's conflicts
inbox, is settled there, and both replicas end with the same value."""

import json
import os
import subprocess

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import TARGET
from test_app import centre, desk_cli, field, find, keys, nav, open_hit, shot, text_of, toast, type_into, wait

PASSWORD = "e2e sync password"


def signed_in(driver, sync_server):
    """The app signed in to the test server (the sync test of test_app.py does it when the
    whole suite runs; alone, this module does it itself)."""
    wait(driver).until(lambda d: d.execute_script("return !!document.documentElement.dataset.interactive"))
    buttons = driver.find_elements(By.XPATH, "//button[normalize-space()='Sign in to sync…']")
    if buttons:
        buttons[0].click()
        form = wait(driver).until(lambda d: d.find_element(By.ID, "sync-form"))
        server = form.find_element(By.CSS_SELECTOR, "input[type=url]")
        server.clear()
        type_into(driver, server, sync_server)
        type_into(driver, form.find_element(By.CSS_SELECTOR, "input[autocomplete=username]"), "e2e")
        type_into(driver, form.find_element(By.CSS_SELECTOR, "input[type=password]"), PASSWORD)
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, 120).until(lambda d: "up to date" in text_of(d, "#sync-state"))


def other_replica(tmp_path, sync_server):
    env = dict(os.environ, DESK_DATA_DIR=str(tmp_path / "second"), DESK_PASSPHRASE="second replica",
               DESK_PASSWORD=PASSWORD, DESK_NO_KEYCHAIN="1")

    def run(*args):
        return subprocess.run([TARGET / "desk", *args], env=env, check=True, capture_output=True, text=True).stdout

    run("init")
    run("login", "--server", sync_server, "--user", "e2e")
    run("sync")
    return run


def test_edits_from_another_replica_appear_and_a_conflict_is_settled_in_the_inbox(driver, data_dir, sync_server, tmp_path):
    signed_in(driver, sync_server)
    run = other_replica(tmp_path, sync_server)
    contact = next(c for c in json.loads(run("contact", "list", "--json")) if c.get("native_name"))
    cid, name = contact["id"], contact["name"]
    find(driver, name)
    open_hit(driver, name)

    # An edit made on the second replica and synced shows in the open record, no click.
    run("contact", "edit", cid, "--title", "Deputy Permanent Secretary")
    run("sync")
    wait(driver, 60).until(lambda d: "Deputy Permanent Secretary" in text_of(d, "main"))

    # The same field edited on both before either sees the other's edit.
    run("contact", "edit", cid, "--title", "Ambassador (second office)")
    keys(driver, "e")
    title = wait(driver).until(lambda d: field(d, "title"))
    title.send_keys(Keys.CONTROL, "a")
    type_into(driver, title, "Ambassador (this office)")
    keys(driver, (Keys.CONTROL, Keys.ENTER))
    toast(driver, f"Saved {name}")
    run("sync")

    nav(driver, "Conflicts")
    wait(driver, 60).until(lambda d: name in text_of(d, ".conflicts ul"))
    item = driver.find_element(By.XPATH, f"//li[contains(@class,'conflict')][.//button[normalize-space()='{name}']]")
    sides = item.text
    assert "Ambassador (this office)" in sides and "Ambassador (second office)" in sides, sides
    shot(driver, "conflicts")
    centre(driver, item.find_element(By.XPATH, ".//button[normalize-space()='Keep mine']")).click()
    toast(driver, "Settled")
    wait(driver).until(lambda d: "Nothing to settle" in text_of(d, "main"))

    # The settled value reaches the server, then the second replica: both end equal.
    def settled_everywhere(d):
        run("sync")
        mine = json.loads(desk_cli(data_dir, "contact", "show", cid, "--json"))
        theirs = json.loads(run("contact", "show", cid, "--json"))
        return mine["title"] == theirs["title"] == "Ambassador (this office)"

    wait(driver, 60).until(settled_everywhere)
