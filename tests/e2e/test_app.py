"""The real app, driven as a person would: the encrypted demo replica opens, meetings list,
a meeting shows its agenda and delegations, search finds text in Thai and Khmer."""

import os
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = Path(os.environ.get("CARGO_TARGET_DIR", Path(__file__).resolve().parents[2] / "target"))


def wait(driver, seconds=20):
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,))


def row_titles(driver):
    # Read in one script call: the list is re-rendered as results arrive, so element handles
    # taken one by one can go stale between calls.
    return driver.execute_script(
        "return [...document.querySelectorAll('#list .row .title')].map(e => e.textContent)"
    )


def test_meetings_open_with_agenda_and_delegations(driver):
    wait(driver).until(lambda d: "ACMECS Senior Officials' Meeting 2026" in row_titles(d))
    counts = driver.find_element(By.ID, "counts").text
    assert "8 meetings" in counts and "40 projects" in counts
    row = next(
        e for e in driver.find_elements(By.CSS_SELECTOR, "#list .row")
        if "ACMECS Senior Officials' Meeting 2026" in e.text
    )
    row.click()
    detail = wait(driver).until(EC.visibility_of_element_located((By.ID, "detail")))
    wait(driver).until(lambda d: "Adoption of the agenda" in d.find_element(By.ID, "detail").text)
    text = detail.text.lower()  # headings are upper-cased by CSS
    assert "agenda" in text and "delegations" in text
    assert "head of delegation" in text
    assert text.index("cambodia") < text.index("viet nam"), "delegations in protocol order"
    driver.save_screenshot(str(SHOTS / "e2e-meeting.png"))


def test_search_finds_thai_and_khmer(driver):
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys("กระทรวง")
    wait(driver).until(lambda d: "Ministry of Foreign Affairs" in row_titles(d))
    box.clear()
    box.send_keys("ក្រសួង")
    wait(driver).until(
        lambda d: "Ministry of Foreign Affairs and International Cooperation" in row_titles(d)
    )


def test_contacts_show_native_names_and_their_organisation(driver):
    driver.find_element(By.CSS_SELECTOR, "nav button[data-view=contact]").click()
    wait(driver).until(lambda d: len(row_titles(d)) >= 30)
    rows = driver.find_elements(By.CSS_SELECTOR, "#list .row")
    khmer = next(r for r in rows if any("\u1780" <= ch <= "\u17ff" for ch in r.text))
    khmer.click()
    wait(driver).until(lambda d: "native name" in d.find_element(By.ID, "detail").text)
    detail = driver.find_element(By.ID, "detail").text
    assert "Ministry of" in detail, "the organisation is shown by name, not by id"


def test_one_click_prints_the_briefing_pack(driver):
    # The session is shared: go back to the meetings list (and clear any search) first.
    driver.find_element(By.ID, "search").clear()
    driver.find_element(By.CSS_SELECTOR, "nav button[data-view='meeting']").click()
    wait(driver).until(lambda d: "ACMECS Senior Officials' Meeting 2026" in row_titles(d))
    row = next(
        e for e in driver.find_elements(By.CSS_SELECTOR, "#list .row")
        if "ACMECS Senior Officials' Meeting 2026" in e.text
    )
    row.click()
    button = wait(driver).until(EC.element_to_be_clickable((By.ID, "brief-button")))
    button.click()
    wait(driver, 60).until(lambda d: "pages" in d.find_element(By.ID, "brief-result").text)
    result = driver.find_element(By.ID, "brief-result")
    path = Path(result.get_attribute("data-file"))
    assert path.name == "ACMECS SOM 2026 briefing pack.pdf", result.text
    assert path.read_bytes().startswith(b"%PDF-")


def test_signing_in_syncs_the_replica_to_the_server(driver, sync_server, tmp_path):
    import subprocess

    target = Path(os.environ.get("CARGO_TARGET_DIR", Path(__file__).resolve().parents[2] / "target")) / "debug"
    driver.find_element(By.ID, "sync-button").click()
    wait(driver).until(EC.visibility_of_element_located((By.ID, "sync-panel")))
    server = driver.find_element(By.ID, "sync-server")
    server.clear()
    server.send_keys(sync_server)
    driver.find_element(By.ID, "sync-user").send_keys("e2e")
    driver.find_element(By.ID, "sync-password").send_keys("e2e sync password")
    driver.find_element(By.CSS_SELECTOR, "#sync-form button[type='submit']").click()
    wait(driver, 120).until(lambda d: "Up to date" in d.find_element(By.ID, "sync-state").text)
    assert not driver.find_element(By.ID, "sync-panel").is_displayed()
    # Another replica signed in as the same user receives what the app sent.
    env = dict(os.environ, DESK_DATA_DIR=str(tmp_path / "other"), DESK_PASSPHRASE="other replica",
               DESK_PASSWORD="e2e sync password", DESK_NO_KEYCHAIN="1")
    run = lambda *a: subprocess.run([target / "desk", *a], env=env, check=True, capture_output=True, text=True)
    run("init")
    run("login", "--server", sync_server, "--user", "e2e")
    run("sync")
    out = run("meeting", "list").stdout
    assert "ACMECS Senior Officials' Meeting 2026" in out, out
