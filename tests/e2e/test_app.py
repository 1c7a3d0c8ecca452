"""The real app, driven as a person would, under Xvfb through WebDriver: the encrypted demo
replica opens on Home; meetings open with agenda and delegations in protocol order; Ctrl+K
finds records in every script; a contact is created with a Khmer name and a Thai organisation,
found again by a syllable, edited, refused a malformed e-mail at the field (the replica
unchanged), undone, deleted and restored; a meeting is made with an agenda item and a
participant from the forms; one flow is done by keyboard alone; the main screens pass an
axe-core scan; the briefing pack prints; signing in syncs to a real server. Screenshots of the
main screens are saved beside the build (target/e2e-*.png)."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from selenium.common.exceptions import NoSuchFrameException, StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import PASSPHRASE, ROOT, TARGET, TICK_START, TICK_STOP

SHOTS = TARGET.parent
AXE = ROOT / "ui" / "node_modules" / "axe-core" / "axe.min.js"


def wait(driver, seconds=20):
    # A script cut short by the page reloading (locking reloads it, by design) is asked again,
    # as a stale element is.
    return WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException, NoSuchFrameException))


def centre(driver, element):
    """Scrolls `element` to the middle of the window, clear of the sync bar and the toasts."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    return element


def texts(driver, css):
    # Read in one script call: lists re-render as results arrive, so element handles taken
    # one by one can go stale between calls.
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent.trim())", css
    )


def text_of(driver, css):
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css
    )


def keys(driver, *sequence):
    """Types into whatever has the focus, as a keyboard would (chords as tuples)."""
    chain = ActionChains(driver)
    for k in sequence:
        if isinstance(k, tuple):
            *mods, key = k
            for m in mods:
                chain.key_down(m)
            chain.send_keys(key)
            for m in reversed(mods):
                chain.key_up(m)
        else:
            chain.send_keys(k)
    chain.perform()


def nav(driver, name):
    # A button may carry a count after its name ("Conflicts 1").
    named = lambda b: b.text == name or (b.text.startswith(name) and b.text[len(name):].strip().isdigit())
    button = wait(driver).until(
        lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "nav.side button") if named(b)), None))
    button.click()


def click_row(driver, title):
    """Clicks the row of a list whose title is `title` (rows are numbered by position)."""
    i = texts(driver, ".rows .row .title").index(title)
    first = int(driver.execute_script("return document.querySelector('.rows .row').id.slice(4)"))
    driver.find_element(By.ID, f"row-{first + i}").click()


def open_list(driver, name):
    nav(driver, name)
    wait(driver).until(lambda d: text_of(d, "#list-title") == name)
    wait(driver).until(lambda d: len(texts(d, ".rows .row .title")) > 0 or "No " in text_of(d, ".rows"))


def type_into(driver, element, text):
    """Types `text` and waits until the field holds all of it (WebKit's driver returns before
    the last keys are handled)."""
    element.send_keys(text)
    wait(driver).until(lambda d: text in (element.get_attribute("value") or ""))


def find(driver, query):
    """Ctrl+K and the query, typed into the palette."""
    wait(driver).until(lambda d: d.execute_script("return !!document.documentElement.dataset.interactive"))
    keys(driver, (Keys.CONTROL, "k"))
    box = wait(driver).until(lambda d: d.find_element(By.ID, "palette-input"))
    box.clear()
    type_into(driver, box, query)
    return box


# WebKit's driver takes a screenshot after the page next draws. Without GPU compositing (the
# app's default) a page that has stopped changing is not drawn again, and the screenshot would
# wait for ever: while it is taken, one pixel in a corner changes its (almost nil) shade.


def shot(driver, name):
    """A screenshot once the fonts the page asked for have loaded and the page has painted
    what the DOM holds (two animation frames)."""
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));"
    )
    driver.execute_script(TICK_START)
    try:
        driver.save_screenshot(str(SHOTS / f"e2e-{name}.png"))
    finally:
        driver.execute_script(TICK_STOP)


def palette_titles(driver):
    return texts(driver, "#palette-hits li[role=option] .title")


def open_hit(driver, title):
    wait(driver).until(lambda d: title in palette_titles(d))
    i = palette_titles(driver).index(title)
    driver.find_elements(By.CSS_SELECTOR, "#palette-hits li[role=option]")[i].click()
    wait(driver).until(lambda d: text_of(d, "#record-title") == title)


def field(driver, name):
    return driver.find_element(By.ID, f"f-{name}")


def save_form(driver):
    driver.find_element(By.CSS_SELECTOR, "dialog.form button[type=submit]").click()


def toast(driver, words):
    wait(driver).until(lambda d: words in text_of(d, "#toasts"))


def desk_cli(data_dir, *args):
    env = dict(os.environ, DESK_DATA_DIR=data_dir, DESK_PASSPHRASE=PASSPHRASE)
    out = subprocess.run([TARGET / "desk", *args], env=env, check=True, capture_output=True, text=True)
    return out.stdout


def test_home_then_a_meeting_with_agenda_and_delegations(driver):
    wait(driver).until(lambda d: "Upcoming meetings" in text_of(d, "main"))
    wait(driver).until(lambda d: "Action items overdue or due this week" in text_of(d, "main"))
    shot(driver, "home")
    open_list(driver, "Meetings")
    wait(driver).until(lambda d: "ACMECS Senior Officials' Meeting 2026" in texts(d, ".rows .row .title"))
    assert "8 meetings" in text_of(driver, ".count")
    shot(driver, "meetings")
    click_row(driver, "ACMECS Senior Officials' Meeting 2026")
    wait(driver).until(lambda d: "Adoption of the agenda" in text_of(d, "main"))
    page = text_of(driver, "main")
    assert "Agenda and proceedings" in page and "Delegations" in page
    delegations = text_of(driver, ".delegations")
    assert delegations.index("Cambodia") < delegations.index("Viet Nam"), "protocol order"
    shot(driver, "meeting")


def test_the_palette_finds_thai_and_khmer_and_opens_a_record(driver):
    find(driver, "กระทรวง")
    wait(driver).until(lambda d: any("Ministry of Foreign Affairs" in t for t in palette_titles(d)))
    box = driver.find_element(By.ID, "palette-input")
    box.clear()
    type_into(driver, box, "ក្រសួង")
    wait(driver).until(
        lambda d: "Ministry of Foreign Affairs and International Cooperation" in palette_titles(d)
    )
    shot(driver, "palette")
    open_hit(driver, "Ministry of Foreign Affairs and International Cooperation")


def test_a_contact_from_create_to_restore(driver, data_dir):
    open_list(driver, "Contacts")
    driver.find_element(By.XPATH, "//button[normalize-space()='New contact']").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "f-name").is_displayed())
    type_into(driver, field(driver, "name"), "Bùi Thanh Sơn")
    type_into(driver, field(driver, "native_name"), "ប៊ុយ ថាញ់ សឺន")
    type_into(driver, field(driver, "title"), "Counsellor")
    org = field(driver, "org")
    type_into(driver, org, "กระทรวงการต่างประเทศ")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[id='f-org-list'] li[role=option]")) > 0)
    org.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: "Ministry of Foreign Affairs" in text_of(d, "dialog.form .chosen"))
    shot(driver, "contact-form")
    save_form(driver)
    wait(driver).until(lambda d: text_of(d, "#record-title") == "Bùi Thanh Sơn")
    page = text_of(driver, "main")
    assert "ប៊ុយ ថាញ់ សឺន" in page and "Ministry of Foreign Affairs" in page
    toast(driver, "Created Bùi Thanh Sơn")

    # Found again by a Khmer syllable, and by the start of a word of the name ("So").
    find(driver, "ថាញ់")
    wait(driver).until(lambda d: "Bùi Thanh Sơn" in palette_titles(d))
    box = driver.find_element(By.ID, "palette-input")
    box.clear()
    type_into(driver, box, "So")
    open_hit(driver, "Bùi Thanh Sơn")
    contact_id = driver.find_element(By.CSS_SELECTOR, "article.record").get_attribute("data-id")
    before = json.loads(desk_cli(data_dir, "contact", "show", contact_id, "--json"))

    # A malformed e-mail: the core's message at the e-mail field, and nothing written.
    driver.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Edit')]").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "f-email").is_displayed())
    type_into(driver, field(driver, "email"), "son.bui-at-mofa")
    field(driver, "title").clear()
    type_into(driver, field(driver, "title"), "Minister Counsellor")
    save_form(driver)
    error = wait(driver).until(lambda d: d.find_element(By.ID, "f-email-error"))
    assert "e-mail" in error.text.lower() or "email" in error.text.lower(), error.text
    assert field(driver, "email").get_attribute("aria-invalid") == "true"
    assert driver.switch_to.active_element.get_attribute("id") == "f-email", "focus goes to the field"
    shot(driver, "field-error")
    after = json.loads(desk_cli(data_dir, "contact", "show", contact_id, "--json"))
    assert after == before, "a refused edit writes nothing"

    # Corrected, saved, then undone from the toast.
    field(driver, "email").clear()
    type_into(driver, field(driver, "email"), "son.bui@mofa.gov.vn")
    save_form(driver)
    toast(driver, "Saved Bùi Thanh Sơn")
    wait(driver).until(lambda d: "Minister Counsellor" in text_of(d, "main"))
    undo = driver.find_element(By.XPATH, "//div[@id='toasts']//button[normalize-space()='Undo']")
    undo.click()
    wait(driver).until(lambda d: "Minister Counsellor" not in text_of(d, "main"))
    assert "Counsellor" in text_of(driver, "main")
    assert "son.bui@mofa.gov.vn" not in text_of(driver, "main")

    # Deleted, then restored.
    driver.find_element(By.XPATH, "//button[normalize-space()='Delete']").click()
    wait(driver).until(lambda d: len(d.find_elements(By.XPATH, "//button[normalize-space()='Restore']")) == 1)
    assert json.loads(desk_cli(data_dir, "contact", "show", contact_id, "--json")).get("deleted") is True
    driver.find_element(By.XPATH, "//button[normalize-space()='Restore']").click()
    wait(driver).until(lambda d: len(d.find_elements(By.XPATH, "//button[normalize-space()='Delete']")) == 1)
    assert not json.loads(desk_cli(data_dir, "contact", "show", contact_id, "--json")).get("deleted")

    # Its history says who did each of those, newest first (a replica never signed in: this
    # computer), with what a field held before.
    centre(driver, driver.find_element(By.CSS_SELECTOR, "details.history summary")).click()
    wait(driver).until(lambda d: len(texts(d, "details.history li .line")) == 5)
    lines = texts(driver, "details.history li .line")
    assert [l.split()[-1] for l in lines] == ["restored", "deleted", "edited", "edited", "created"], lines
    assert all("this computer" in l for l in lines), lines
    history = text_of(driver, "details.history")
    assert "Minister Counsellor" in history and "(was Minister Counsellor)" in history, history
    shot(driver, "history")


def test_a_meeting_with_an_agenda_item_and_a_participant_from_the_forms(driver):
    open_list(driver, "Meetings")
    driver.find_element(By.XPATH, "//button[normalize-space()='New meeting']").click()
    wait(driver).until(lambda d: d.find_element(By.ID, "f-title").is_displayed())
    for name, value in {
        "title": "Special ACMECS Senior Officials' Meeting on Water Security",
        "short_title": "Special SOM 2027",
        "start_date": "2027-03-10",
        "end_date": "2027-03-11",
        "city": "Vientiane",
        "host_country": "Lao PDR",
    }.items():
        if driver.find_elements(By.ID, f"f-{name}"):
            type_into(driver, field(driver, name), value)
    save_form(driver)
    wait(driver).until(
        lambda d: text_of(d, "#record-title") == "Special ACMECS Senior Officials' Meeting on Water Security"
    )
    driver.find_element(By.XPATH, "//button[normalize-space()='Add agenda item']").click()
    box = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, ".composer textarea"))
    type_into(driver, box, "Mekong water data sharing")
    box.send_keys(Keys.ENTER)
    wait(driver).until(lambda d: "Mekong water data sharing" in texts(d, ".agenda .item-head .text"))
    assert texts(driver, ".agenda .item-head .num") == ["1"]
    box.send_keys(Keys.ESCAPE)
    centre(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Add participant']")).click()
    contact = wait(driver).until(lambda d: d.find_element(By.ID, "f-contact"))
    type_into(driver, contact, "Bùi Thanh")
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[id='f-contact-list'] li[role=option]")) > 0)
    contact.send_keys(Keys.ENTER)
    save_form(driver)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.record[data-entity=participant]"))
    assert text_of(driver, "#record-title") == "Bùi Thanh Sơn"
    driver.find_element(By.CSS_SELECTOR, ".crumb button").click()
    # Delegates below the window skip layout (content-visibility), so innerText leaves them out.
    wait(driver).until(lambda d: "Bùi Thanh Sơn" in d.execute_script("return document.querySelector('.delegations')?.textContent ?? ''"))
    # The proceedings are asked for on their own, beside the record and its delegations: the
    # agenda may be shown a moment later.
    wait(driver).until(lambda d: "Mekong water data sharing" in texts(d, ".agenda .item-head .text"))
    page = text_of(driver, "main")
    assert "Mekong water data sharing" in page and "Participants" in page


def test_keyboard_only_find_edit_and_save(driver):
    keys(driver, (Keys.CONTROL, "h"))
    wait(driver).until(lambda d: "Upcoming meetings" in text_of(d, "main"))
    keys(driver, (Keys.CONTROL, "k"))
    wait(driver).until(lambda d: d.switch_to.active_element.get_attribute("id") == "palette-input")
    keys(driver, "Bùi Thanh")
    wait(driver).until(lambda d: "Bùi Thanh Sơn" in palette_titles(d))
    keys(driver, Keys.ENTER)
    wait(driver).until(lambda d: text_of(d, "#record-title") == "Bùi Thanh Sơn")
    keys(driver, "e")
    wait(driver).until(lambda d: d.switch_to.active_element.get_attribute("id") == "f-name")
    keys(driver, Keys.TAB, Keys.TAB, Keys.TAB, Keys.TAB)  # native name, honorific, given, family
    keys(driver, Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "f-title"
    keys(driver, (Keys.CONTROL, "a"), "Ambassador")
    keys(driver, (Keys.CONTROL, Keys.ENTER))
    toast(driver, "Saved Bùi Thanh Sơn")
    wait(driver).until(lambda d: "Ambassador" in text_of(d, "main"))
    keys(driver, (Keys.CONTROL, "z"))
    wait(driver).until(lambda d: "Ambassador" not in text_of(d, "main"))


def axe_violations(driver):
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', nodes: [String(e)]}]));"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("screen", ["home", "list", "record", "form", "palette"])
def test_main_screens_have_no_serious_accessibility_violations(driver, screen):
    driver.set_script_timeout(60)
    keys(driver, Keys.ESCAPE)
    if screen == "home":
        keys(driver, (Keys.CONTROL, "h"))
        wait(driver).until(lambda d: "Upcoming meetings" in text_of(d, "main"))
    elif screen == "list":
        open_list(driver, "Contacts")
    elif screen in ("record", "form"):
        find(driver, "Bùi Thanh")
        open_hit(driver, "Bùi Thanh Sơn")
        if screen == "form":
            keys(driver, "e")
            wait(driver).until(lambda d: d.find_element(By.ID, "f-name").is_displayed())
    else:
        find(driver, "ក្រសួង")
        wait(driver).until(lambda d: len(palette_titles(d)) > 0)
    bad = axe_violations(driver)
    keys(driver, Keys.ESCAPE)
    assert bad == [], bad


def test_one_click_prints_the_briefing_pack(driver, tmp_path):
    keys(driver, Keys.ESCAPE)
    find(driver, "Senior Officials' Meeting 2026")
    open_hit(driver, "ACMECS Senior Officials' Meeting 2026")
    # One click: the dialog opens and generates the pack with the defaults, then previews it.
    driver.find_element(By.XPATH, "//button[contains(., 'Briefing pack…')]").click()
    wait(driver, 60).until(lambda d: "pages" in text_of(d, "dialog.pack .done"))
    path = Path(text_of(driver, "dialog.pack .done .path").strip())
    assert path.name == "ACMECS SOM 2026 briefing pack.pdf", path
    assert path.read_bytes().startswith(b"%PDF-")
    pages = int(text_of(driver, "dialog.pack .done strong").split()[0])
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert f"Pages:           {pages}" in info or f"Pages: {pages}" in " ".join(info.split()), info
    # The first page is previewed inside the app (WebKitGTK shows no PDF by itself).
    wait(driver, 30).until(lambda d: d.execute_script(
        "const i = document.querySelector('dialog.pack [data-page=\"1\"] img'); return !!i && i.complete && i.naturalWidth > 0"))
    shot(driver, "pack")
    # A copy saved elsewhere; a name without .pdf is refused at the field, nothing written.
    box = centre(driver, driver.find_element(By.XPATH, "//dialog//label[contains(., 'Save a copy as')]/input"))
    box.clear()
    type_into(driver, box, str(tmp_path / "som-pack.txt"))
    centre(driver, driver.find_element(By.XPATH, "//dialog//button[normalize-space()='Save copy']")).click()
    wait(driver).until(lambda d: ".pdf" in text_of(d, "dialog.pack .field-error"))
    assert not (tmp_path / "som-pack.txt").exists()
    box.clear()
    type_into(driver, box, str(tmp_path / "som-pack.pdf"))
    centre(driver, driver.find_element(By.XPATH, "//dialog//button[normalize-space()='Save copy']")).click()
    wait(driver).until(lambda d: "Saved a copy" in text_of(d, "dialog.pack"))
    assert (tmp_path / "som-pack.pdf").read_bytes() == path.read_bytes()
    # Only the agenda, on Letter paper, with a marking: generated again.
    for label in texts(driver, "dialog.pack fieldset.sections label.check"):
        if label != "Annotated agenda":
            centre(driver, driver.find_element(By.XPATH, f"//dialog//label[normalize-space()='{label}']/input")).click()
    centre(driver, driver.find_element(By.XPATH, "//dialog//label[normalize-space()='US Letter']/input")).click()
    centre(driver, driver.find_element(By.XPATH, "//dialog//button[normalize-space()='Generate again']")).click()
    wait(driver, 60).until(lambda d: text_of(d, "dialog.pack .done strong") not in ("", f"{pages} pages"))
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    assert "612 x 792" in info, info
    keys(driver, Keys.ESCAPE)
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog.pack"))


def sign_in(driver, url):
    """Signs the app in from the sync bar as the test server's user, and waits for the first
    round to finish."""
    driver.find_element(By.XPATH, "//button[normalize-space()='Sign in to sync…']").click()
    form = wait(driver).until(lambda d: d.find_element(By.ID, "sync-form"))
    server = form.find_element(By.CSS_SELECTOR, "input[type=url]")
    server.clear()
    type_into(driver, server, url)
    type_into(driver, form.find_element(By.CSS_SELECTOR, "input[autocomplete=username]"), "e2e")
    type_into(driver, form.find_element(By.CSS_SELECTOR, "input[type=password]"), "e2e sync password")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, 120).until(lambda d: "up to date" in text_of(d, "#sync-state"))


def test_signing_in_syncs_the_replica_to_the_server(driver, sync_server, tmp_path):
    sign_in(driver, sync_server)
    wait(driver, 30).until(lambda d: "Nothing waiting to be sent" in text_of(d, "#sync-bar"))
    assert "Last synced" in text_of(driver, "#sync-bar")
    shot(driver, "synced")
    # Another replica signed in as the same user receives what the app sent.
    env = dict(os.environ, DESK_DATA_DIR=str(tmp_path / "other"), DESK_PASSPHRASE="other replica",
               DESK_PASSWORD="e2e sync password", DESK_NO_KEYCHAIN="1")
    run = lambda *a: subprocess.run([TARGET / "desk", *a], env=env, check=True, capture_output=True, text=True)
    run("init")
    run("login", "--server", sync_server, "--user", "e2e")
    run("sync")
    out = run("contact", "list", "--json").stdout
    assert "Bùi Thanh Sơn" in out, "the contact made in the app reached the other replica"
