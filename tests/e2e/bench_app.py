"""Benchmarks of the real desktop app on the large demo replica (100,000 contacts, 10,000
meetings), under Xvfb through WebDriver. Run by scripts/bench-app, which builds the release
binaries and makes the replica; prints one line per measure and a JSON summary.

What is measured, and how "done" is detected: every view of the UI, once its data is in the DOM
and the browser has drawn the next frame (an animation frame, then a posted message), fires a `desk-painted` event and
sets <html data-painted="view:key">; the first such mark after start also sets
<html data-interactive="epoch ms"> (ui/src/lib/perf.ts).

- cold start: from launching the app (no WebDriver session: that slows a start) to the first
  screen showing its data and accepting input; the UI tells the shell (`interactive`), which
  logs the page's clock. Each run is a new process; the replica's file is in the OS page cache
  after the first run (not dropped: that needs a privileged host). The replica's key is in the
  OS keychain (gnome-keyring on a private D-Bus session), as on an official's laptop; with
  --pass-data the same is measured for a replica protected by a passphrase, where each start
  derives the key (PBKDF2, as SQLCipher does).
- memory: proportional set size (PSS, /proc/PID/smaps_rollup) of the app and every process
  under it (WebKit's web and network processes), after the contact list is opened, scrolled
  and taken to its last row: in an app started for it (the issue's protocol), 2 s after the
  scroll and again at rest (32 s after: the replica gives back SQLite's cache when left alone
  for 20 s); and in the session of the other measures, after the palette and the meetings.
  With BENCH_SMAPS_DIR set, each process's /proc/PID/smaps is saved there at each moment
  (what is heap, what is a library). --starts 0, --rounds 0 or --opens 0 skip a measure.
- palette: keydown (a capture listener, before the app sees the key) to the palette's painted
  mark for the new query, one key at a time, queries in six scripts.
- meeting: a click on the 600-delegate meeting in the palette (pointer-down, capture) to its
  record page painted with its fields, agenda and the first screenful of delegates; then to
  all 600 delegates laid out (they follow in steps after that first paint).
- decision capture: on that meeting's page, a decision typed into the composer (D) and Enter
  (keydown) to the agenda painted with it (the core has written it and answered the new
  proceedings).
- pack preview: on that meeting's page, a click on "Briefing pack…" (pointer-down) to the first
  page of the generated pack painted in the dialog (compose, lay out, write the PDF, render
  page 1 with Poppler, show it).
- tracker: a click on "Follow-up" to the tracker painted with the largest framework's pending
  action items; then each filter change (the select's change event) to the table painted."""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

sys.path.insert(0, str(Path(__file__).parent))
from conftest import PASSPHRASE, Driver  # noqa: E402

BIG_MEETING = "Special ACMECS Senior Officials' Meeting on the Review of the ACMECS Master Plan"
QUERIES = ["Somchai", "สมชาย", "សុភា", "ສົມພອນ", "မင်း", "Nguyễn", "so", "Mekong Institute",
           "financing plan", "Special ACMECS"]

# Installed once per page: collects painted marks, and times the last keydown / pointer-down.
PROBE = """
if (!window.__bench) {
  window.__bench = { marks: [], key: 0, press: 0 };
  window.addEventListener('keydown', () => { window.__bench.key = performance.now(); }, true);
  window.addEventListener('pointerdown', () => { window.__bench.press = performance.now(); }, true);
  window.addEventListener('mousedown', () => { window.__bench.press = performance.now(); }, true);
  window.addEventListener('change', () => { window.__bench.change = performance.now(); }, true);
  window.addEventListener('desk-painted', (e) => { window.__bench.marks.push(e.detail); });
}
"""


def wait(driver, seconds=60):
    return WebDriverWait(driver, seconds)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs) + 0.5) - 1))]


def summary(xs):
    if not xs:  # a measure skipped (--starts 0, --rounds 0, --opens 0)
        return None
    return {"n": len(xs), "p50": round(statistics.median(xs), 1), "p95": round(pct(xs, 95), 1),
            "max": round(max(xs), 1)}


def app_pids(binary):
    """Processes running `binary` (by /proc/PID/exe)."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "exe") == str(binary):
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def tree(pid):
    """`pid` and every process under it."""
    children = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int(Path(p / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p.name))
            except (OSError, ValueError):
                pass
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        todo.extend(children.get(q, []))
    return out


def pss_kib(pid):
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def name(pid):
    return Path(f"/proc/{pid}/comm").read_text().strip()


def interactive(d):
    wait(d, 120).until(lambda d: d.execute_script("return document.documentElement.dataset.interactive"))
    return int(d.execute_script("return document.documentElement.dataset.interactive")) / 1000


def cold_start(binary, data, runs, passphrase):
    """Starts the app directly (no WebDriver session, which slows a start), `runs` times, and
    reads the line the shell logs when the UI says it is interactive (its page clock, epoch ms)."""
    out = []
    env = dict(os.environ, DESK_DATA_DIR=data)
    env.pop("DESK_PASSPHRASE", None)
    if passphrase:
        env["DESK_PASSPHRASE"] = passphrase
    how = "passphrase" if passphrase else "keychain"
    for _ in range(runs):
        began = time.time()
        app = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            at = None
            deadline = time.monotonic() + 120
            for line in app.stderr:
                m = re.search(r"interactive at (\d+) ms since the epoch", line)
                if m:
                    at = int(m.group(1)) / 1000
                    break
                if time.monotonic() > deadline:
                    break
            assert at is not None, "the app never reported being interactive"
            ms = (at - began) * 1000
            out.append(ms)
            print(f"cold start ({how}): {ms:.0f} ms from launch to interactive", flush=True)
        finally:
            app.terminate()
            app.wait(timeout=20)
    return out


def start_breakdown(d):
    """Where a start's time went, in a WebDriver session: the UI's start-up marks from the
    page's navigation start (the time before it is the native side: GTK, WebKit's processes)."""
    steps = d.execute_script(
        "return performance.getEntriesByType('mark').filter(m => m.name.startsWith('desk:'))"
        ".map(m => [m.name.slice(5), Math.round(m.startTime)])")
    ready = int(d.execute_script("return document.documentElement.dataset.interactive"))
    origin = d.execute_script("return performance.timeOrigin")
    parts = ", ".join(f"{n} +{t}" for n, t in steps)
    print(f"start-up in the page, from navigation start: {parts}, interactive +{ready - origin:.0f} ms", flush=True)


def painted_since(d, n, view, key):
    """Waits for a painted mark of `view`/`key` after the first `n` marks; returns it."""
    return wait(d).until(lambda d: d.execute_script(
        "return window.__bench.marks.slice(arguments[0]).find(m => m.view === arguments[1] && m.key === arguments[2]) || null",
        n, view, key))


def marks(d):
    return d.execute_script("return window.__bench.marks.length")


def palette(d, rounds):
    out = []
    for _ in range(rounds):
        for q in QUERIES:
            d.find_element(By.TAG_NAME, "body").send_keys(Keys.CONTROL, "k")
            box = wait(d).until(lambda d: d.find_element(By.ID, "palette-input"))
            for i, ch in enumerate(q):
                n = marks(d)
                box.send_keys(ch)
                mark = painted_since(d, n, "palette", q[: i + 1])
                key = d.execute_script("return window.__bench.key")
                out.append(mark["at"] - key)
            box.send_keys(Keys.ESCAPE)
            wait(d).until(lambda d: not d.find_elements(By.ID, "palette-input"))
    print(f"palette: {summary(out)} ms keystroke to painted", flush=True)
    return out


def meeting(d, runs):
    out, everyone = [], []
    # Where the time went: pointer-down to the page asking the core (the palette closed, the
    # page mounted); the reads (record, child counts, delegations); state set; drawn.
    steps = {"to ask": [], "read": [], "set": [], "update": [], "to frame": [], "draw": []}
    for _ in range(runs):
        # From the meetings list each time, so the meeting page is made afresh.
        n = marks(d)
        d.find_element(By.XPATH, "//nav[contains(@class,'side')]//button[normalize-space()='Meetings']").click()
        painted_since(d, n, "list", "meeting")
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.CONTROL, "k")
        box = wait(d).until(lambda d: d.find_element(By.ID, "palette-input"))
        n = marks(d)
        box.send_keys(BIG_MEETING)
        painted_since(d, n, "palette", BIG_MEETING)
        hits = d.execute_script(
            "return [...document.querySelectorAll('#palette-hits li[role=option] .title')].map(t => t.textContent.trim())")
        assert BIG_MEETING in hits, f"the palette did not find the meeting: {hits}"
        hit = d.find_elements(By.CSS_SELECTOR, "#palette-hits li[role=option]")[hits.index(BIG_MEETING)]
        n = marks(d)
        hit.click()
        mark = wait(d).until(lambda d: d.execute_script(
            "return window.__bench.marks.slice(arguments[0]).find(m => m.view === 'record') || null", n))
        press = d.execute_script("return window.__bench.press")
        out.append(mark["at"] - press)
        st = mark.get("steps") or {}
        if st:
            for name, (a, b) in {"to ask": (press, st["asked"]), "read": (st["asked"], st["got"]),
                                 "set": (st["got"], st["set"]), "update": (st["set"], st["flushed"]),
                                 "to frame": (st["flushed"], st["frame"]), "draw": (st["frame"], mark["at"])}.items():
                steps[name].append(b - a)
        # The rest of the delegates are laid out in steps after the first screen is painted.
        done = wait(d).until(lambda d: d.execute_script(
            "return window.__bench.marks.slice(arguments[0]).find(m => m.view === 'delegates') || null", n))
        members = d.execute_script("return document.querySelectorAll('.delegations ul li').length")
        assert members == 600, f"the meeting shows {members} delegates, not 600"
        everyone.append(done["at"] - press)
    print(f"meeting with 600 delegates: {summary(out)} ms click to painted", flush=True)
    print(f"  all 600 delegates laid out: {summary(everyone)} ms click to painted", flush=True)
    print("  steps (p50 / p95 ms): " + ", ".join(
        f"{k} {statistics.median(v):.1f} / {pct(v, 95):.1f}" for k, v in steps.items() if v), flush=True)
    return out


# The shell lets the replica give back SQLite's cache after REST_AFTER (20 s) without a command
# or a write, looking every REST_CHECK (5 s): src-tauri/src/state.rs.
AT_REST_AFTER_S = 32


def memory(d, binary, label, at_rest=False):
    """The issue's measure: the contact list opened, scrolled through and taken to its last row,
    then the PSS of the app's process tree; with `at_rest`, again once the app has been left
    alone long enough for the replica to rest (there is no event to wait for: a fixed wait)."""
    d.find_element(By.XPATH, "//nav[contains(@class,'side')]//button[normalize-space()='Contacts']").click()
    wait(d).until(lambda d: d.execute_script("return document.documentElement.dataset.painted") == "list:contact")
    total = int(re.sub(r"[^0-9]", "", d.find_element(By.CSS_SELECTOR, ".list .head .count").text.split(" ")[0]))
    for step in range(1, 41):
        d.execute_script("document.querySelector('.rows').scrollTop = arguments[0] * 50 * 500", step)
    d.execute_script("document.querySelector('.rows').focus()")
    ActionChains(d).send_keys(Keys.END).perform()
    wait(d, 300).until(lambda d: d.execute_script(
        "const t = document.querySelector(`#row-${arguments[0]} .title`); return t && t.textContent !== 'Loading…'",
        total - 1))
    # Settle: a painted frame after the last page, then let WebKit's idle collection run.
    d.execute_async_script("const done = arguments[arguments.length - 1];"
                           "requestAnimationFrame(() => requestAnimationFrame(() => done(true)))")
    time.sleep(2)
    out = {"after_scroll": pss_tree(binary, f"{label}, 2 s after scrolling {total:,} contacts to the end")}
    if at_rest:
        time.sleep(AT_REST_AFTER_S - 2)
        out["at_rest"] = pss_tree(binary, f"{label}, at rest ({AT_REST_AFTER_S} s after the scroll)")
    return out, total


def pss_tree(binary, what):
    (app,) = app_pids(binary)
    parts = {p: pss_kib(p) for p in tree(app)}
    mib = sum(parts.values()) / 1024
    detail = ", ".join(f"{name(p)} {k / 1024:.0f}" for p, k in sorted(parts.items(), key=lambda x: -x[1]) if k)
    print(f"memory: {mib:.0f} MiB PSS — {what} ({detail})", flush=True)
    if os.environ.get("BENCH_SMAPS_DIR"):
        out = Path(os.environ["BENCH_SMAPS_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        for p in parts:
            try:
                (out / f"{name(p)}-{p}.smaps").write_text(Path(f"/proc/{p}/smaps").read_text())
            except OSError:
                pass
    return round(mib)


def view_painted_since(d, n, view):
    return wait(d).until(lambda d: d.execute_script(
        "return window.__bench.marks.slice(arguments[0]).find(m => m.view === arguments[1]) || null", n, view))


def capture(d, count):
    """Decisions typed on the big meeting's page (open after `meeting`): Enter to painted."""
    if count == 0:
        return []
    d.find_element(By.CSS_SELECTOR, ".proceedings [data-row^='item:']").click()
    ActionChains(d).send_keys("d").perform()
    wait(d).until(lambda d: d.execute_script("return !!document.activeElement.closest('.composer')"))
    out = []
    # Where the time went, per capture: key-down to the shell's `capture` called; the core's
    # write and the proceedings read back (the call's round trip); the page's state set; the
    # DOM updated; the frame that shows it begun; drawn.
    steps = {"to call": [], "write and read": [], "set": [], "update": [], "to frame": [], "draw": []}
    for i in range(count):
        ActionChains(d).send_keys(f"Decision {i + 1} of the benchmark: the Meeting noted the report").perform()
        n = marks(d)
        ActionChains(d).send_keys(Keys.ENTER).perform()
        mark = view_painted_since(d, n, "capture")
        key = d.execute_script("return window.__bench.key")
        out.append(mark["at"] - key)
        st = mark.get("steps") or {}
        if st:
            for name, (a, b) in {"to call": (key, st["asked"]), "write and read": (st["asked"], st["got"]),
                                 "set": (st["got"], st["set"]), "update": (st["set"], st["updated"]),
                                 "to frame": (st["updated"], st["frame"]), "draw": (st["frame"], mark["at"])}.items():
                steps[name].append(b - a)
    ActionChains(d).send_keys(Keys.ESCAPE).perform()
    print(f"decision capture: {summary(out)} ms Enter to painted", flush=True)
    print("  steps (p50 / p95 ms): " + ", ".join(
        f"{k} {statistics.median(v):.1f} / {pct(v, 95):.1f}" for k, v in steps.items() if v), flush=True)
    return out


def pack(d, runs):
    """The briefing pack dialog on the big meeting's page (open after `capture`)."""
    out = []
    for _ in range(runs):
        n = marks(d)
        d.find_element(By.XPATH, "//button[contains(., 'Briefing pack…')]").click()
        mark = view_painted_since(d, n, "pack-preview")
        out.append(mark["at"] - d.execute_script("return window.__bench.press"))
        ok = d.execute_script(
            "const i = document.querySelector('dialog.pack [data-page=\"1\"] img'); return !!i && i.naturalWidth > 0")
        assert ok, "the first page is not shown"
        ActionChains(d).send_keys(Keys.ESCAPE).perform()
        wait(d).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog.pack"))
    print(f"pack preview: {summary(out)} ms click to first page painted", flush=True)
    return out


def framework_near(d, size):
    """The framework whose action items (all of them) number nearest `size`, and that number,
    read from the tracker itself."""
    # The tracker shown afresh, on its default filter ("Still to do").
    for button, view in (("Home", "home"), ("Follow-up", "tracker")):
        n = marks(d)
        d.find_element(By.XPATH, f"//nav[contains(@class,'side')]//button[normalize-space()='{button}']").click()
        view_painted_since(d, n, view)
    d.find_element(By.XPATH, "//fieldset[contains(@class,'stands')]//label[input[@value='pending']]").click()
    frame = lambda: Select(d.find_element(By.XPATH, "//label[contains(., 'Framework')]/select"))
    names = [o.get_attribute("value") for o in frame().options]
    counts = {}
    for name in names:
        if frame().first_selected_option.get_attribute("value") != name:
            n = marks(d)
            frame().select_by_value(name)
            view_painted_since(d, n, "tracker")
        n = marks(d)
        d.find_element(By.XPATH, "//fieldset[contains(@class,'stands')]//label[input[@value='any']]").click()
        view_painted_since(d, n, "tracker")
        text = d.execute_script("return document.querySelector('.tracker .count')?.textContent ?? ''")
        counts[name] = int(re.sub(r"[^0-9]", "", text.split(" ")[0]) or 0)
        # Back to the default filter for the next framework.
        n = marks(d)
        d.find_element(By.XPATH, "//fieldset[contains(@class,'stands')]//label[input[@value='pending']]").click()
        view_painted_since(d, n, "tracker")
    best = min(counts, key=lambda k: abs(counts[k] - size))
    return best, counts[best]


def tracker(d, runs, framework=None):
    """Opening the follow-up tracker (on `framework`, else the one with most meetings), and
    changing its filters."""
    opens, filters = [], []
    for _ in range(runs):
        n = marks(d)
        d.find_element(By.XPATH, "//nav[contains(@class,'side')]//button[normalize-space()='Home']").click()
        view_painted_since(d, n, "home")
        n = marks(d)
        d.find_element(By.XPATH, "//nav[contains(@class,'side')]//button[normalize-space()='Follow-up']").click()
        mark = view_painted_since(d, n, "tracker")
        opens.append(mark["at"] - d.execute_script("return window.__bench.press"))
        if framework is not None:
            n = marks(d)
            Select(d.find_element(By.XPATH, "//label[contains(., 'Framework')]/select")).select_by_value(framework)
            view_painted_since(d, n, "tracker")
        rows = d.execute_script("return document.querySelectorAll('.tracker tbody tr').length")
        assert rows > 0, "the tracker shows no action items"
        for label, value in [("Where it stands", "overdue"), ("Responsible country", "TH"),
                             ("Responsible country", ""), ("Where it stands", "any"), ("Where it stands", "pending")]:
            n = marks(d)
            if label == "Where it stands":
                d.find_element(By.XPATH, f"//fieldset[contains(@class,'stands')]//label[input[@value='{value}']]").click()
            else:
                Select(d.find_element(By.XPATH, f"//label[contains(., '{label}')]/select")).select_by_value(value)
            mark = view_painted_since(d, n, "tracker")
            filters.append(mark["at"] - d.execute_script("return window.__bench.change"))
            shown = d.execute_script("return document.querySelector('.tracker .count')?.textContent ?? ''")
            st = mark.get("steps") or {}
            change = d.execute_script("return window.__bench.change")
            parts = ""
            if st:
                parts = (f": to ask {st['asked'] - change:.0f}, read {st['got'] - st['asked']:.0f}, "
                         f"update {st['flushed'] - st['got']:.0f}, to frame {st['frame'] - st['flushed']:.0f}, "
                         f"draw {mark['at'] - st['frame']:.0f}")
            print(f"  {label} = {value or 'any'}: {filters[-1]:.0f} ms ({shown}){parts}", flush=True)
    print(f"tracker open: {summary(opens)} ms click to painted", flush=True)
    print(f"tracker filter: {summary(filters)} ms change to painted", flush=True)
    return opens, filters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", required=True, type=Path, help="directory of the release binaries")
    ap.add_argument("--data", required=True, help="data directory of the large replica, its key in the OS keychain")
    ap.add_argument("--pass-data", help="the same replica protected by a passphrase instead (cold starts only)")
    ap.add_argument("--starts", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--opens", type=int, default=10)
    ap.add_argument("--captures", type=int, default=20)
    ap.add_argument("--packs", type=int, default=3)
    ap.add_argument("--memory", type=int, default=1, help="0: skip the memory measure")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    binary = (a.target / "secretariat-desk").resolve()
    tauri = Driver(a.target, a.data, passphrase=None)
    try:
        starts = cold_start(binary, a.data, a.starts, None)
        pass_starts = cold_start(binary, a.pass_data, a.starts, PASSPHRASE) if a.pass_data else []
        mem, total, mem_session = {}, 0, None
        if a.memory:
            # The protocol, in an app of its own: started, the contact list opened and
            # scrolled to its end.
            d = tauri.session()
            try:
                interactive(d)
                mem, total = memory(d, binary, "fresh start", at_rest=True)
            finally:
                d.quit()
        d = tauri.session()
        try:
            interactive(d)
            start_breakdown(d)
            d.execute_script(PROBE)
            keys = palette(d, a.rounds)
            opens = meeting(d, a.opens)
            # The same after a working session (the palette in six scripts, the 600-delegate
            # meeting opened again and again): the fonts of five scripts and what the meeting
            # page keeps come on top.
            if a.memory and (a.rounds or a.opens):
                mem_session = memory(d, binary, "after the palette and meetings")[0]["after_scroll"]
            if a.captures or a.packs:
                meeting(d, 1)
            captures = capture(d, a.captures)
            packs = pack(d, a.packs)
            tracker_opens, tracker_filters = tracker(d, a.rounds)
            # The case: a framework of about 2,000 action items.
            near_2000 = None
            if a.rounds:
                name, size = framework_near(d, 2000)
                print(f"tracker of {name} ({size:,} action items):", flush=True)
                _, filters_2000 = tracker(d, a.rounds, framework=name)
                near_2000 = {"framework": name, "actions": size, "filter_ms": summary(filters_2000)}
        finally:
            d.quit()
    finally:
        tauri.stop()
    result = {
        "cold_start_ms": summary(starts),
        "cold_start_passphrase_ms": summary(pass_starts) if pass_starts else None,
        "palette_keystroke_ms": summary(keys),
        "meeting_600_open_ms": summary(opens),
        "decision_capture_ms": summary(captures),
        "pack_preview_ms": summary(packs),
        "tracker_open_ms": summary(tracker_opens),
        "tracker_filter_ms": summary(tracker_filters),
        "tracker_near_2000": near_2000,
        "memory_pss_mib": mem.get("after_scroll"),
        "memory_at_rest_pss_mib": mem.get("at_rest"),
        "memory_after_session_pss_mib": mem_session,
        "contacts": total,
    }
    print(json.dumps(result, indent=2))
    if a.json:
        a.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
