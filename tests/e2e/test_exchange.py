"""Data in and out in the real app: a CSV file imported through the import dialog (its
columns, first rows and refused rows shown before anything is written; a column mapped by
hand; the valid rows imported, one undo step), and the follow-up tracker exported to a
spreadsheet whose cells are the tracker's rows."""

import json
import zipfile

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import EXPORTS
from test_app import axe_violations, centre, desk_cli, nav, open_list, shot, text_of, texts, toast, wait

CSV = (
    "First Name,Last Name,Company,Job Title,E-mail Address,Courriel,Business Country/Region,Native name\n"
    "Somsak,Wongsawat,Mekong Institute,Programme Officer,somsak.w@example.org,,Thailand,สมศักดิ์ วงศ์สวัสดิ์\n"
    "Bad,Address,Mekong Institute,Intern,not-an-address,,Thailand,ບໍ່ດີ\n"
    "Chanthy,Keo,MFAIC,Counsellor,,chanthy.keo@example.org,Cambodia,កែវ ចន្ធី\n"
)


def contacts_named(data_dir, *names):
    listed = json.loads(desk_cli(data_dir, "contact", "list", "--json"))
    return [c for c in listed if c["name"] in names]


def test_a_csv_is_checked_shown_and_imported_through_the_dialog(driver, data_dir, tmp_path):
    sheet = tmp_path / "outlook-contacts.csv"
    sheet.write_text(CSV, encoding="utf-8")
    open_list(driver, "Contacts")
    centre(driver, wait(driver).until(lambda d: next(b for b in d.find_elements(By.CSS_SELECTOR, ".list .head button") if b.text == "Import…"))).click()
    picker = wait(driver).until(lambda d: d.find_element(By.ID, "import-file"))
    picker.send_keys(str(sheet))
    # The dry run: how each column is read, the first rows, and the refused row by row and column.
    wait(driver).until(lambda d: "3 rows read" in text_of(d, "#import-summary"))
    assert "1 refused" in text_of(driver, "#import-summary")
    refused = texts(driver, "ul.refused li")
    assert refused == ["Row 3, column E-mail Address (E): 'not-an-address' is not a valid e-mail address"], refused
    mapping = Select(driver.find_element(By.CSS_SELECTOR, "select[aria-label='Field for column E-mail Address']"))
    assert mapping.first_selected_option.get_attribute("value") == "email"
    assert "Somsak Wongsawat" in text_of(driver, ".import .preview")
    button = lambda: next(b for b in driver.find_elements(By.CSS_SELECTOR, ".import button[type=submit]"))
    assert not button().is_enabled(), "nothing is imported while a row is refused"
    assert contacts_named(data_dir, "Somsak Wongsawat") == [], "a dry run writes nothing"
    # "Courriel" is not a header the dialog knows: mapped by hand, the dry run runs again.
    Select(centre(driver, driver.find_element(By.CSS_SELECTOR, "select[aria-label='Field for column Courriel']"))).select_by_value("email")
    wait(driver).until(lambda d: "chanthy.keo@example.org" in text_of(d, ".import .preview"))
    shot(driver, "import-dialog")
    driver.set_script_timeout(60)
    assert axe_violations(driver) == []
    centre(driver, driver.find_element(By.XPATH, "//label[contains(., 'Import the other rows')]/input")).click()
    wait(driver).until(lambda d: button().is_enabled())
    assert "Import 2 contacts" in button().text
    button().click()
    toast(driver, "Imported: 2 new contacts")
    made = contacts_named(data_dir, "Somsak Wongsawat", "Chanthy Keo", "Bad Address")
    assert sorted(c["name"] for c in made) == ["Chanthy Keo", "Somsak Wongsawat"]
    keo = next(c for c in made if c["name"] == "Chanthy Keo")
    assert keo["email"] == "chanthy.keo@example.org" and keo["country"] == "KH"
    org = json.loads(desk_cli(data_dir, "org", "show", keo["org"], "--json"))
    assert org["acronym"] == "MFAIC", "MFAIC was found by its acronym, not made again"
    # The import is one undo step.
    centre(driver, wait(driver).until(lambda d: next(b for b in d.find_elements(By.CSS_SELECTOR, "#toasts button") if b.text == "Undo"))).click()
    toast(driver, "Undone: 2 records put back")
    assert contacts_named(data_dir, "Somsak Wongsawat", "Chanthy Keo") == []


def test_the_tracker_exports_its_follow_up_matrix_to_a_spreadsheet(driver, data_dir):
    nav(driver, "Follow-up")
    wait(driver).until(lambda d: text_of(d, "#tracker-title") == "Follow-up")
    framework = Select(driver.find_element(By.CSS_SELECTOR, ".tracker .filters select")).first_selected_option.get_attribute("value")
    centre(driver, wait(driver).until(lambda d: next(b for b in d.find_elements(By.CSS_SELECTOR, ".tracker .head button") if b.text == "Export…" and b.is_enabled()))).click()
    to = wait(driver).until(lambda d: d.find_element(By.ID, "export-to"))
    wait(driver).until(lambda d: (to.get_attribute("value") or "").endswith(".xlsx"))
    path = to.get_attribute("value")
    assert path.startswith(str(EXPORTS)) and f"{framework} follow-up" in path, path
    shot(driver, "export-dialog")
    assert axe_violations(driver) == []
    driver.find_element(By.CSS_SELECTOR, ".export button[type=submit]").click()
    wait(driver).until(lambda d: "Saved " in text_of(d, ".export .note"))
    rows = json.loads(desk_cli(data_dir, "followup", "--framework", framework, "--json"))
    with zipfile.ZipFile(path) as book:
        assert book.testzip() is None
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert '<pane ySplit="1"' in sheet and "<autoFilter" in sheet
    assert sheet.count("<row ") == len(rows) + 1
    for r in rows[:5]:
        assert r["title"].replace("&", "&amp;").replace("<", "&lt;") in sheet, r["title"]
    driver.find_element(By.CSS_SELECTOR, ".export button[type=button]").click()
    wait(driver).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog.export"))
