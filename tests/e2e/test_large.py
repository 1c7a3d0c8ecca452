"""The large replica (100,000 contacts, 10,000 meetings) in the real app: the contact list is
scrolled, then taken to its last row by the keyboard, loading page after page through the
core's keyset cursor, and that row opens as the contact it names."""

import re

import pytest
from selenium.webdriver.common.keys import Keys

from conftest import TARGET, app_on, make_replica
from test_app import keys, open_list, shot, text_of, wait


@pytest.fixture(scope="module")
def large():
    yield from app_on(make_replica(TARGET, "large"))


def row_title(driver, i):
    """The title a row shows, or "" while it is not in the DOM or its page is still loading."""
    t = text_of(driver, f"#row-{i} .title")
    return "" if t == "Loading…" else t


def count(driver):
    """The list's total, as its header shows it (digits whatever the locale's separators)."""
    digits = re.sub(r"[^0-9]", "", text_of(driver, ".list .head .count").split(" ")[0])
    return int(digits or 0)


def test_the_100k_contact_list_scrolls_to_its_last_row(large):
    d = large
    wait(d, 120).until(lambda d: d.execute_script("return document.documentElement.dataset.interactive"))
    open_list(d, "Contacts")
    total = wait(d).until(lambda d: count(d) if count(d) > 1000 else 0)
    assert total >= 100_000, text_of(d, ".head .count")

    # Scrolled as a wheel would, a screenful at a time: rows keep arriving.
    for step in range(1, 31):
        d.execute_script("document.querySelector('.rows').scrollTop += 20 * 50 * arguments[0]", step)
        top = d.execute_script("return document.querySelector('.rows').scrollTop")
        first = top // 50
        wait(d, 60).until(lambda d: row_title(d, first + 1) != "")

    # End goes to the last contact; every page before it comes through the cursor.
    d.execute_script("document.querySelector('.rows').focus()")
    keys(d, Keys.END)
    wait(d, 300).until(lambda d: row_title(d, total - 1) != "")
    assert row_title(d, total - 2) != ""
    last = row_title(d, total - 1)
    shot(d, "contacts-end")

    # The last row is a real contact: Enter opens it.
    keys(d, Keys.ENTER)
    wait(d).until(lambda d: text_of(d, "#record-title") == last)
