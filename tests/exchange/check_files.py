"""The files `desk export` writes, read by independent implementations: Python's icalendar,
vobject and openpyxl (PyPI). Each must parse without error and see the right values: dates,
times with their zones, native-script names, typed cells, formula-looking text kept as text.

Run by tests/exchange/run.sh (which installs the pinned readers) with the `desk` binary:
    python check_files.py /path/to/desk
"""

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile

import icalendar
import openpyxl
import vobject

DESK = sys.argv[1]
WORK = tempfile.mkdtemp(prefix="desk-exchange-")
ENV = dict(os.environ, DESK_DATA_DIR=os.path.join(WORK, "replica"), DESK_PASSPHRASE="correct horse battery")


def desk(*args):
    out = subprocess.run([DESK, *args], env=ENV, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"desk {' '.join(args)} failed: {out.stderr}")
    return out.stdout


def desk_json(*args):
    return json.loads(desk("--json", *args))


def path(name):
    return os.path.join(WORK, name)


desk("init")
desk("demo")

# Six scripts on records that travel in every format.
PEOPLE = [
    ("Sok Chenda", "សុខ ចិន្ដា", "KH"),
    ("Phonevilay Sisouk", "ພອນວິໄລ ສີສຸກ", "LA"),
    ("Aung Kyaw", "အောင်ကျော်", "MM"),
    ("Somchai Jaidee", "สมชาย ใจดี", "TH"),
    ("Bui Thanh Son", "Bùi Thanh Sơn", "VN"),
]
contacts = {}
for name, native, country in PEOPLE:
    c = desk_json("contact", "add", "--name", name, "--native-name", native, "--country", country,
                  "--email", name.lower().replace(" ", ".") + "@example.org")
    contacts[name] = c["id"]
yangon = desk_json("meeting", "add", "--title", "Mekong–Lancang မြန်မာ ការប្រជុំ ການປະຊຸມ การประชุม Hội nghị",
                   "--framework", "ACMECS", "--start-date", "2027-02-10", "--end-date", "2027-02-11",
                   "--start-time", "09:30", "--end-time", "17:00", "--timezone", "Asia/Yangon",
                   "--venue", "Yangon Convention Centre", "--host-country", "MM")
for name in contacts:
    desk("participant", "add", "--meeting", yangon["id"], "--contact", contacts[name], "--attendance", "confirmed")
action = desk_json("action", "add", "--meeting", yangon["id"], "--title", "=HYPERLINK(\"http://x\",\"y\")",
                   "--owner-country", "MM", "--due-date", "2020-01-31")

# iCalendar ---------------------------------------------------------------------------------
desk("export", "ics", "--framework", "ACMECS", "-o", path("acmecs.ics"))
with open(path("acmecs.ics"), "rb") as f:
    cal = icalendar.Calendar.from_ical(f.read())
events = [e for e in cal.walk("VEVENT")]
meetings = [m for m in desk_json("meeting", "list") if m.get("framework") == "ACMECS"]
assert len(events) == len(meetings), (len(events), len(meetings))
ev = next(e for e in events if str(e["UID"]) == f"{yangon['id']}@secretariat-desk")
start = ev.decoded("DTSTART")
assert isinstance(start, dt.datetime) and start.tzinfo is not None, start
assert start.utcoffset() == dt.timedelta(hours=6, minutes=30), start.utcoffset()
assert (start.hour, start.minute) == (9, 30), start
end = ev.decoded("DTEND")
assert (end.date(), end.hour) == (dt.date(2027, 2, 11), 17), end
assert start.astimezone(dt.timezone.utc).hour == 3, start.astimezone(dt.timezone.utc)
assert "မြန်မာ" in str(ev["SUMMARY"]) and "ການປະຊຸມ" in str(ev["SUMMARY"]), ev["SUMMARY"]
attendees = ev.get("ATTENDEE")
attendees = attendees if isinstance(attendees, list) else [attendees]
assert len(attendees) == 5, attendees
assert all(str(a).startswith("mailto:") for a in attendees), attendees
all_day = [e for e in events if not isinstance(e.decoded("DTSTART"), dt.datetime)]
for e in all_day:
    assert e.decoded("DTEND") > e.decoded("DTSTART")
# A second export keeps every UID (a calendar updates the events instead of adding others).
desk("export", "ics", "--framework", "ACMECS", "-o", path("again.ics"))
with open(path("again.ics"), "rb") as f:
    again = icalendar.Calendar.from_ical(f.read())
assert sorted(str(e["UID"]) for e in again.walk("VEVENT")) == sorted(str(e["UID"]) for e in events)
print(f"icalendar {icalendar.__version__}: {len(events)} events; Yangon opens {start.isoformat()}")

# vCard -------------------------------------------------------------------------------------
for version in ("3", "4"):
    desk("export", "vcard", "--version", version, "-o", path(f"contacts{version}.vcf"))
    with open(path(f"contacts{version}.vcf"), encoding="utf-8") as f:
        cards = list(vobject.readComponents(f.read()))
    total = desk_json("summary")["counts"]["contact"]
    assert len(cards) == total, (len(cards), total)
    for name, native, _country in PEOPLE:
        card = next(c for c in cards if any(fn.value == name for fn in c.contents["fn"]))
        if version == "4":
            natives = [fn.value for fn in card.contents["fn"] if fn.value != name]
        else:
            natives = [x.value for x in card.contents.get("x-native-name", [])]
        assert natives == [native], (version, name, natives)
        assert card.email.value == name.lower().replace(" ", ".") + "@example.org", card.email.value
        assert "n" in card.contents, card  # N is present (empty parts when only the full name is known)
    print(f"vobject: vCard {version}.0, {len(cards)} cards, native names in five scripts")

# XLSX --------------------------------------------------------------------------------------
desk("export", "xlsx", "followup", "--framework", "ACMECS", "--as-of", "2026-12-07", "-o", path("followup.xlsx"))
book = openpyxl.load_workbook(path("followup.xlsx"))
sheet = book.worksheets[0]
header = [c.value for c in sheet[1]]
assert header[:4] == ["Meeting", "Meeting date", "Decision", "Action"], header
assert sheet.freeze_panes == "A2", sheet.freeze_panes
assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.auto_filter.ref
rows = list(sheet.iter_rows(min_row=2))
followup = desk_json("followup", "--framework", "ACMECS", "--as-of", "2026-12-07")
assert len(rows) == len(followup), (len(rows), len(followup))
due = header.index("Due")
dates = [r[due].value for r in rows if r[due].value is not None]
assert dates and all(isinstance(d, dt.datetime) for d in dates), dates[:3]
meeting_dates = [r[1].value for r in rows]
assert all(isinstance(d, dt.datetime) for d in meeting_dates), meeting_dates[:3]
stands = header.index("Where it stands")
formula = next(r for r in rows if r[3].value and r[3].value.startswith("=HYPERLINK"))
assert formula[3].data_type == "s" and formula[3].quotePrefix, (formula[3].data_type, formula[3].quotePrefix)
assert formula[stands].value == "Overdue"
assert formula[0].fill.fgColor.rgb.endswith("FFC7CE"), formula[0].fill.fgColor.rgb
assert sheet.column_dimensions["D"].width > 10
print(f"openpyxl {openpyxl.__version__}: follow-up matrix, {len(rows)} rows, frozen header, filter, dates typed")

desk("export", "xlsx", "participants", "--meeting", yangon["id"], "-o", path("participants.xlsx"))
sheet = openpyxl.load_workbook(path("participants.xlsx")).worksheets[0]
natives = [r[3].value for r in sheet.iter_rows(min_row=2)]
# As protocol writes them (with the native form of address, e.g. คุณสมชาย ใจดี).
assert len(natives) == len(PEOPLE) and all(any(n in x for x in natives) for _, n, _ in PEOPLE), natives
numbers = [r[0].value for r in sheet.iter_rows(min_row=2)]
assert numbers == list(range(1, len(PEOPLE) + 1)), numbers

desk("export", "xlsx", "portfolio", "--include-restricted", "--as-of", "2026-12-07", "-o", path("portfolio.xlsx"))
sheet = openpyxl.load_workbook(path("portfolio.xlsx")).worksheets[0]
header = [c.value for c in sheet[1]]
budget = header.index("Budget")
values = [r[budget].value for r in sheet.iter_rows(min_row=2) if r[budget].value is not None]
assert values and all(isinstance(v, (int, float)) for v in values), values[:3]
funded = header.index("Funded")
assert all(0 <= r[funded].value <= 1 for r in sheet.iter_rows(min_row=2) if r[funded].value is not None)
print(f"openpyxl: participants in protocol order with native names; portfolio with {len(values)} budgets as numbers")
print("all files read by independent implementations")
