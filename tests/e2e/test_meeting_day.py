"""Meeting day and monitoring in the real app, checked against the replica through the real
`desk` CLI: an agenda item, ten decisions and ten action items captured by keyboard alone; the
agenda reordered with Alt+↑ and the move undone; an item's brief written beside the agenda;
attendance taken; the follow-up tracker filtered and updated in place; a project's indicator
given a new value on its chart; the portfolio and a project's milestones on their timeline;
the settings and conflicts screens."""

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from conftest import OPENED
from test_app import axe_violations, centre, desk_cli, save_form, find, keys, nav, open_hit, shot, text_of, texts, toast, wait

MEETING = "ACMECS Senior Officials' Meeting 2026"
ITEM = "Mekong water data sharing ข้อมูลน้ำ"
PAPERS_ITEM = "Cooperation with Development Partners"
MEETING_SHORT = "ACMECS SOM 2026"


def meeting_id(data_dir):
    ms = json.loads(desk_cli(data_dir, "meeting", "list", "--json"))
    return next(m["id"] for m in ms if m["title"] == MEETING)


def cli_list(data_dir, cmd, meeting):
    return json.loads(desk_cli(data_dir, cmd, "list", "--meeting", meeting, "--json"))


def open_meeting(driver):
    # The app has shown its first view (when this module runs first, it may still be starting).
    wait(driver).until(lambda d: d.execute_script("return !!document.documentElement.dataset.interactive"))
    find(driver, "Senior Officials")
    open_hit(driver, MEETING)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".proceedings .agenda .item [data-row]"))


def active(driver):
    return driver.switch_to.active_element


def in_composer(driver):
    return driver.execute_script("return !!document.activeElement.closest('.composer')")


def stands(driver, value):
    """The tracker's "Where it stands" choice, by keyboard: focus its radio, then Space."""
    radio = driver.find_element(By.CSS_SELECTOR, f"input[name='tracker-due'][value='{value}']")
    driver.execute_script("arguments[0].focus()", radio)
    radio.send_keys(Keys.SPACE)


def rows_under(driver, item_id, kind):
    return driver.execute_script(
        "const b = document.querySelector(`[data-row='item:${arguments[0]}']`);"
        "const li = b && b.closest('li.item');"
        "return li ? li.querySelectorAll(`[data-row^='${arguments[1]}:']`).length : 0",
        item_id, kind,
    )


def test_an_agenda_of_five_built_and_reordered_by_keyboard_and_a_delegation_of_three(driver, data_dir):
    wait(driver).until(lambda d: d.execute_script("return !!document.documentElement.dataset.interactive"))
    title = "ACMECS Working Group on Water Data 2027"
    m = json.loads(desk_cli(data_dir, "meeting", "add", "--title", title, "--short-title", "WG Water 2027",
                            "--start-date", "2027-02-02", "--json"))["id"]
    find(driver, "Working Group on Water")
    open_hit(driver, title)
    wait(driver).until(lambda d: "No agenda yet" in text_of(d, ".proceedings"))
    keys(driver, "n")
    wait(driver).until(in_composer)
    items = ["Opening", "Adoption of the agenda", "Data sharing", "Gauging stations", "Closing"]
    for n, t in enumerate(items, start=1):
        keys(driver, t, Keys.ENTER)
        wait(driver).until(lambda d: len(texts(d, ".agenda .item-head .text")) == n)
    keys(driver, Keys.ESCAPE)
    order = lambda: [i["title"] for i in cli_list(data_dir, "agenda", m)]
    assert order() == items
    # The last one, selected, up two places; then down one.
    keys(driver, (Keys.ALT, Keys.ARROW_UP))
    wait(driver).until(lambda d: order() == ["Opening", "Adoption of the agenda", "Data sharing", "Closing", "Gauging stations"])
    keys(driver, (Keys.ALT, Keys.ARROW_UP))
    wait(driver).until(lambda d: order() == ["Opening", "Adoption of the agenda", "Closing", "Data sharing", "Gauging stations"])
    keys(driver, (Keys.ALT, Keys.ARROW_DOWN))
    wait(driver).until(lambda d: order() == ["Opening", "Adoption of the agenda", "Data sharing", "Closing", "Gauging stations"])
    wait(driver).until(lambda d: texts(d, ".agenda .item-head .text") == order())
    assert texts(driver, ".agenda .item-head .num") == ["1", "2", "3", "4", "5"]

    # Three delegates from contacts, found by their names in Thai, Khmer and Vietnamese.
    for typed, name in [("ณรงค์ ศรีสุข", "Narong Srisuk"), ("ជា រិទ្ធី", "Chea Rithy"), ("Hoàng Thị Lan", "Hoang Thi Lan")]:
        centre(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Add participant']")).click()
        contact = wait(driver).until(lambda d: d.find_element(By.ID, "f-contact"))
        contact.send_keys(typed)
        wait(driver).until(lambda d: any(name in t for t in texts(d, "[id='f-contact-list'] li[role=option] strong")))
        contact.send_keys(Keys.ENTER)
        save_form(driver)
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "article.record[data-entity=participant]"))
        driver.find_element(By.CSS_SELECTOR, ".crumb button").click()
        wait(driver).until(lambda d: name in d.execute_script("return document.querySelector('.delegations')?.textContent ?? ''"))
    heads = texts(driver, ".delegations > li > strong")
    assert heads == ["Cambodia", "Thailand", "Viet Nam"], heads
    centre(driver, driver.find_element(By.CSS_SELECTOR, ".delegations"))
    shot(driver, "agenda-and-delegations")


def test_ten_decisions_and_ten_actions_by_keyboard_alone(driver, data_dir):
    open_meeting(driver)
    m = meeting_id(data_dir)
    before_items = len(cli_list(data_dir, "agenda", m))

    keys(driver, "n")
    wait(driver).until(in_composer)
    keys(driver, ITEM, Keys.ENTER)
    wait(driver).until(lambda d: len(cli_list(data_dir, "agenda", m)) == before_items + 1)
    keys(driver, Keys.ESCAPE)
    item = next(i for i in cli_list(data_dir, "agenda", m) if i["title"] == ITEM)
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"[data-row='item:{item['id']}']"))

    # Ten decisions: D once, then each typed and Enter.
    keys(driver, "d")
    wait(driver).until(in_composer)
    decisions = [f"Decision {n}: the Meeting agreed on step {n} of data sharing" for n in range(1, 10)]
    decisions.append("ที่ประชุมเห็นชอบ · កិច្ចប្រជុំបានយល់ព្រម · ກອງປະຊຸມຕົກລົງ · အစည်းအဝေးက သဘောတူ · Hội nghị nhất trí")
    for n, text in enumerate(decisions, start=1):
        keys(driver, text, Keys.ENTER)
        wait(driver).until(lambda d: rows_under(d, item["id"], "decision") == n)
    keys(driver, Keys.ESCAPE)

    # Ten action items under the last decision: title, Tab, country, Tab, Tab (agency), due, Enter.
    keys(driver, "a")
    wait(driver).until(in_composer)
    countries = ["TH", "KH", "LA", "MM", "Viet Nam"]
    for n in range(1, 11):
        keys(driver, f"Action {n}: share gauge data", Keys.TAB, countries[n % 5], Keys.TAB, Keys.TAB,
             f"2027-01-{n:02d}", Keys.ENTER)
        wait(driver).until(lambda d: rows_under(d, item["id"], "action") == n)
    keys(driver, Keys.ESCAPE)
    shot(driver, "meeting-day")

    stored = [d for d in cli_list(data_dir, "decision", m) if d.get("agenda_item") == item["id"]]
    assert sorted(d["text"] for d in stored) == sorted(decisions)
    last = next(d for d in stored if d["text"] == decisions[-1])
    actions = [a for a in cli_list(data_dir, "action", m) if a.get("decision") == last["id"]]
    assert len(actions) == 10
    assert {a["owner_country"] for a in actions} == {"TH", "KH", "LA", "MM", "VN"}
    assert sorted(a["due_date"] for a in actions) == [f"2027-01-{n:02d}" for n in range(1, 11)]
    # The numbers shown follow the order the core gives.
    shown = texts(driver, f"[data-row='item:{item['id']}'] .num")
    assert shown == [str(before_items + 1)], shown


def test_a_bad_due_date_is_refused_at_the_field_and_nothing_is_written(driver, data_dir):
    m = meeting_id(data_dir)
    before = len(cli_list(data_dir, "action", m))
    keys(driver, "a")
    wait(driver).until(in_composer)
    keys(driver, "Report on gauges", Keys.TAB, "TH", Keys.TAB, Keys.TAB, "next week", Keys.ENTER)
    wait(driver).until(lambda d: "due_date" in text_of(d, ".composer .field-error") or "date" in text_of(d, ".composer .field-error"))
    assert len(cli_list(data_dir, "action", m)) == before
    keys(driver, Keys.ESCAPE)


def test_the_agenda_reorders_by_keyboard_and_the_move_undoes(driver, data_dir):
    m = meeting_id(data_dir)
    order = lambda: [i["title"] for i in cli_list(data_dir, "agenda", m)]
    before = order()
    assert before[-1] == ITEM
    item = next(i for i in cli_list(data_dir, "agenda", m) if i["title"] == ITEM)
    centre(driver, driver.find_element(By.CSS_SELECTOR, f"[data-row='item:{item['id']}']")).click()
    keys(driver, (Keys.ALT, Keys.ARROW_UP))
    toast(driver, "Agenda item moved")
    wait(driver).until(lambda d: order()[-2] == ITEM)
    assert order()[-1] == before[-2]
    shown = lambda d: texts(d, ".agenda .item-head .text")
    wait(driver).until(lambda d: shown(d)[-2] == ITEM)
    # Numbers follow the new order.
    assert texts(driver, f"[data-row='item:{item['id']}'] .num") == [str(len(before) - 1)]
    keys(driver, (Keys.CONTROL, "z"))
    wait(driver).until(lambda d: order() == before)
    wait(driver).until(lambda d: shown(d)[-1] == ITEM)


def test_an_items_brief_is_written_beside_the_agenda(driver, data_dir):
    m = meeting_id(data_dir)
    item = next(i for i in cli_list(data_dir, "agenda", m) if i["title"] == ITEM)
    centre(driver, driver.find_element(By.CSS_SELECTOR, f"[data-row='item:{item['id']}']")).click()
    keys(driver, "b")
    wait(driver).until(lambda d: d.execute_script("return !!document.activeElement.closest('aside.brief')"))
    assert active(driver).get_attribute("id") == "f-objectives"
    keys(driver, "Agree a common gauge data format")
    keys(driver, (Keys.CONTROL, Keys.ENTER))
    toast(driver, "Brief saved")
    got = json.loads(desk_cli(data_dir, "agenda", "show", item["id"], "--json"))
    assert got["objectives"] == "Agree a common gauge data format"


def test_attendance_is_taken_on_the_meeting_page(driver, data_dir):
    m = meeting_id(data_dir)
    centre(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Take attendance']")).click()
    select = centre(driver, wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "select.attend")))
    label = select.get_attribute("aria-label")
    Select(select).select_by_value("attended")
    name = label.removeprefix("Attendance of ")

    def attended(d):
        people = cli_list(data_dir, "participant", m)
        return any(p.get("attendance") == "attended" for p in people)

    wait(driver).until(attended)
    assert name


def test_a_participant_whose_contact_is_created_in_the_picker(driver, data_dir):
    m = meeting_id(data_dir)
    centre(driver, driver.find_element(By.XPATH, "//button[normalize-space()='Add participant']")).click()
    contact = wait(driver).until(lambda d: d.find_element(By.ID, "f-contact"))
    name = "ສົມພອນ ວົງສາ"
    contact.send_keys(name)
    create = wait(driver).until(lambda d: next((li for li in d.find_elements(By.CSS_SELECTOR, "[id='f-contact-list'] li.create")
                                                 if name in li.text), None))
    assert create.get_attribute("aria-selected") == "true"
    contact.send_keys(Keys.ENTER)
    toast(driver, f"Created {name}")
    save_form(driver)
    wait(driver).until(lambda d: text_of(d, "#record-title") == name)
    people = cli_list(data_dir, "participant", m)
    made = [c for c in json.loads(desk_cli(data_dir, "contact", "list", "--json")) if c["name"] == name]
    assert len(made) == 1 and any(p["contact"] == made[0]["id"] for p in people)
    driver.find_element(By.CSS_SELECTOR, ".crumb button").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".proceedings"))


def test_the_tracker_filters_and_updates_in_place(driver, data_dir):
    nav(driver, "Follow-up")
    wait(driver).until(lambda d: text_of(d, "#tracker-title") == "Follow-up")
    wait(driver).until(lambda d: "Action 3: share gauge data" in text_of(d, "table"))
    shot(driver, "tracker")
    # An overdue action item brought up to date from the tracker.
    stands(driver, "overdue")
    wait(driver).until(lambda d: "Action 3: share gauge data" not in text_of(d, "main") and d.find_elements(By.CSS_SELECTOR, "tbody tr"))
    late = driver.find_element(By.CSS_SELECTOR, "tbody tr td:first-child button.link").text
    assert "overdue" in text_of(driver, "tbody tr:first-child")
    rows = len(driver.find_elements(By.CSS_SELECTOR, "tbody tr"))
    done = lambda: sum(a["title"] == late and a["status"] == "completed"
                       for a in json.loads(desk_cli(data_dir, "action", "list", "--json")))
    before = done()
    # The status cell opens its choice on Enter (a select only while one is changed).
    centre(driver, driver.find_element(By.CSS_SELECTOR, "tbody tr:first-child button.status")).send_keys(Keys.ENTER)
    first = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "tbody tr:first-child select"))
    Select(first).select_by_value("completed")
    toast(driver, "Status changed")
    # It is no longer overdue: the row leaves the list, and the replica holds the new status.
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "tbody tr")) == rows - 1)
    assert done() == before + 1
    stands(driver, "pending")
    wait(driver).until(lambda d: "Action 3: share gauge data" in text_of(d, "table"))
    Select(driver.find_element(By.XPATH, "//label[contains(., 'Responsible country')]/select")).select_by_value("LA")
    wait(driver).until(lambda d: "Action 3: share gauge data" not in text_of(d, "table") and "Action 2: share gauge data" in text_of(d, "table"))
    assert "Action 7: share gauge data" in text_of(driver, "table")

    row = "Action 2: share gauge data"
    centre(driver, driver.find_element(By.XPATH, f"//button[contains(., 'Change the status of {row}')]")).click()
    status = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f"select[aria-label='Status of {row}']"))
    Select(status).select_by_value("completed")
    toast(driver, "Status changed")
    m = meeting_id(data_dir)
    done = lambda: next(a for a in cli_list(data_dir, "action", m) if a["title"] == row)
    wait(driver).until(lambda d: done()["status"] == "completed")
    # Still to do (the default) no longer lists it.
    wait(driver).until(lambda d: row not in text_of(d, "main"))

    stands(driver, "done")
    wait(driver).until(lambda d: row in text_of(d, "table"))
    centre(driver, driver.find_element(By.XPATH, f"//button[contains(., 'Edit evidence for {row}')]")).click()
    box = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f"textarea[aria-label='Evidence for {row}']"))
    box.send_keys("Data shared on the MRC portal", Keys.ENTER)
    toast(driver, "Evidence saved")
    wait(driver).until(lambda d: done().get("evidence") == "Data shared on the MRC portal")

    # Recorded as reported at this meeting (the framework's meetings, latest first).
    centre(driver, driver.find_element(By.XPATH, f"//button[contains(., 'Change where {row} was reported')]")).click()
    where = Select(wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, f"select[aria-label='Reported at, for {row}']")))
    where.select_by_value(m)
    toast(driver, "Reported at")
    wait(driver).until(lambda d: done().get("reported_at") == m)
    wait(driver).until(lambda d: MEETING_SHORT in text_of(d, "table"))


def test_a_project_indicator_gets_a_new_value_on_its_chart(driver, data_dir):
    project = json.loads(desk_cli(data_dir, "project", "list", "--json"))[0]
    find(driver, project["title"])
    open_hit(driver, project["title"])
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".indicators svg"))
    before = len(driver.find_elements(By.CSS_SELECTOR, ".indicators li.ind:first-child circle"))
    for n, (day, value) in enumerate([("2026-10-31", "3900"), ("2026-11-30", "4200")], start=1):
        centre(driver, driver.find_element(By.XPATH, "(//button[normalize-space()='Record a value'])[1]")).click()
        date = wait(driver).until(lambda d: d.find_element(By.XPATH, "//form[contains(@class,'add')]//label[contains(., 'Date')]/input"))
        date.send_keys(day)
        driver.find_element(By.XPATH, "//form[contains(@class,'add')]//label[contains(., 'Value')]/input").send_keys(value, Keys.ENTER)
        toast(driver, "Value recorded")
        wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".indicators li.ind:first-child circle")) == before + n)
    assert "4,200" in text_of(driver, ".indicators li.ind:first-child .about")
    shot(driver, "project")


def test_documents_are_attached_versioned_and_opened_from_the_replica(driver, data_dir, tmp_path):
    open_meeting(driver)
    first = tmp_path / "Draft_Joint_Statement.pdf"
    first.write_bytes(b"%PDF-1.4 draft joint statement, 10th Summit " + "ร่างแถลงการณ์ร่วม".encode())
    # Filed under an agenda item as it is attached.
    under = Select(centre(driver, wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "select[aria-label='Agenda item new files are for']"))))
    under.select_by_value(next(o.get_attribute("value") for o in under.options if PAPERS_ITEM in o.get_attribute("textContent")))
    picker = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "input[type=file][aria-label='Attach files to the meeting']"))
    picker.send_keys(str(first))
    toast(driver, "1 document attached")
    docs = lambda: [d for d in json.loads(desk_cli(data_dir, "document", "list", "--json")) if d["title"] == "Draft Joint Statement"]
    wait(driver).until(lambda d: len(docs()) == 1 and docs()[0].get("filename") == first.name)
    v1 = docs()[0]
    item = next(i for i in cli_list(data_dir, "agenda", meeting_id(data_dir)) if i["title"] == PAPERS_ITEM)
    assert v1["agenda_item"] == item["id"] and v1["meeting"] == meeting_id(data_dir)
    back = tmp_path / "back.pdf"
    desk_cli(data_dir, "document", "save", v1["id"], "-o", str(back))
    assert back.read_bytes() == first.read_bytes()
    # The agenda lists it under its item.
    wait(driver).until(lambda d: "Draft Joint Statement" in d.execute_script(
        "const b = document.querySelector(`[data-row='item:${arguments[0]}']`);"
        "return b ? b.closest('li.item').querySelector('.docs')?.textContent ?? '' : ''", item["id"]))

    # Opened in the system's viewer: the file it is handed holds the attached bytes.
    centre(driver, driver.find_element(By.XPATH, "//section[contains(@class,'documents')]//button[normalize-space()='Open']")).click()
    opened = OPENED / "files" / first.name
    wait(driver).until(lambda d: opened.exists() and opened.read_bytes() == first.read_bytes())

    second = tmp_path / "Draft_Joint_Statement_Rev1.pdf"
    second.write_bytes(b"%PDF-1.4 draft joint statement, revision 1")
    box = wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "input[type=file][aria-label='New version of Draft Joint Statement']"))
    box.send_keys(str(second))
    toast(driver, "New version attached")
    wait(driver).until(lambda d: len(docs()) == 2)
    latest = next(d for d in docs() if d.get("previous") == v1["id"])
    assert latest["version"] == 2 and latest["filename"] == second.name
    assert next(d for d in docs() if d["id"] == v1["id"])["status"] == "superseded"
    # The meeting lists the latest version; the earlier one is a click away.
    wait(driver).until(lambda d: "v2" in text_of(d, ".documents"))
    centre(driver, driver.find_element(By.XPATH, "//section[contains(@class,'documents')]//button[normalize-space()='Earlier versions']")).click()
    wait(driver).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".documents .versions li")) == 2)
    # The new version stays under the item; filed under the meeting as a whole from its row.
    assert latest["agenda_item"] == item["id"]
    shot(driver, "documents")
    centre(driver, driver.find_element(By.XPATH, "//button[contains(., 'File Draft Joint Statement under an agenda item')]")).click()
    row = Select(wait(driver).until(lambda d: d.find_element(By.CSS_SELECTOR, "select[aria-label='Agenda item of Draft Joint Statement']")))
    row.select_by_value("")
    toast(driver, "Filed under the meeting")
    wait(driver).until(lambda d: "agenda_item" not in next(x for x in docs() if x["id"] == latest["id"]))


def test_the_portfolio_and_a_projects_milestones_on_their_timeline(driver, data_dir):
    projects = json.loads(desk_cli(data_dir, "project", "list", "--json"))
    # Earlier tests' toasts dismissed, for clean screenshots.
    driver.execute_script("document.querySelectorAll('.toast button.close').forEach(b => b.click())")
    nav(driver, "Portfolio")
    wait(driver).until(lambda d: (d.execute_script("return document.documentElement.dataset.painted") or "").startswith("portfolio"))
    rows = lambda: len(driver.find_elements(By.CSS_SELECTOR, ".portfolio tbody tr"))
    assert rows() == len(projects)
    assert "%" in text_of(driver, ".portfolio tbody"), "funding secured as a share of the budget"
    # Only those needing attention (the core's rule: red, amber, not reported on, never).
    centre(driver, driver.find_element(By.XPATH, "//label[contains(., 'Needing attention only')]/input")).click()
    wait(driver).until(lambda d: rows() < len(projects))
    assert driver.find_elements(By.CSS_SELECTOR, ".portfolio tbody tr.attention"), "the rows left need attention"
    shot(driver, "portfolio")
    driver.find_element(By.XPATH, "//label[contains(., 'Needing attention only')]/input").click()
    wait(driver).until(lambda d: rows() == len(projects))

    # A milestone past its due date, added with `desk`, shows late on the project's timeline.
    p = projects[0]
    desk_cli(data_dir, "milestone", "add", "--project", p["id"], "--title", "Feasibility study ការសិក្សា",
             "--due-date", "2020-03-31", "--status", "delayed")
    centre(driver, driver.find_element(By.XPATH, f"//section[contains(@class,'portfolio')]//button[contains(., '{p['code']}')]")).click()
    wait(driver).until(lambda d: "Feasibility study ការសិក្សា" in text_of(d, ".milestones"))
    late = driver.execute_script(
        "return [...document.querySelectorAll('.milestones .list li')].filter(li => li.textContent.includes('Feasibility study')).map(li => li.className)")
    assert late and "late" in late[0], late
    assert driver.find_elements(By.CSS_SELECTOR, ".milestones .axis .mark.late")
    centre(driver, driver.find_element(By.CSS_SELECTOR, ".milestones"))
    shot(driver, "project-timeline")


@pytest.mark.parametrize("screen", ["meeting", "tracker", "portfolio", "project"])
def test_meeting_day_and_monitoring_screens_have_no_serious_accessibility_violations(driver, screen):
    driver.set_script_timeout(60)
    keys(driver, Keys.ESCAPE)
    if screen == "meeting":
        open_meeting(driver)
    elif screen == "tracker":
        nav(driver, "Follow-up")
        wait(driver).until(lambda d: (d.execute_script("return document.documentElement.dataset.painted") or "").startswith("tracker"))
    else:
        nav(driver, "Portfolio")
        wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".portfolio tbody tr"))
        if screen == "project":
            driver.find_element(By.CSS_SELECTOR, ".portfolio tbody tr button.link").click()
            wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".milestones"))
    bad = axe_violations(driver)
    keys(driver, Keys.ESCAPE)
    assert bad == [], bad


def test_settings_and_conflicts_screens(driver, data_dir):
    nav(driver, "Settings")
    wait(driver).until(lambda d: data_dir in text_of(d, "main"))
    assert "Secretariat Desk 0." in text_of(driver, "main")
    nav(driver, "Conflicts")
    wait(driver).until(lambda d: "Nothing to settle" in text_of(d, "main"))
