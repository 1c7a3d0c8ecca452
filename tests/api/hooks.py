"""Schemathesis hooks for scripts/fuzz-api (loaded through SCHEMATHESIS_HOOKS).

Random pushes would all stop at the first sequence check (a change of another device is 403,
a `dev_seq` after a gap is skipped), so most generated pushes are given the token's device and
the next `dev_seq` after the server's high-water mark, and some a real entity and a fresh
record id: those get as far as the server's validation of each change. The rest keep what was
generated, so the refusals are exercised too. Long-polls are kept short, and some blob requests
name the file that the seed step stored, so that they get past "not found".

Settings come from the environment that scripts/fuzz-api sets:
  DESK_FUZZ_DEVICE    the device the token belongs to
  DESK_FUZZ_NEXT_SEQ  the next dev_seq the server expects from it
  DESK_FUZZ_SCHEMA    the newest replica schema version the server knows
  DESK_FUZZ_SHA       the SHA-256 of a file the server holds whole (a visible document names it)
  DESK_FUZZ_SHA_PART  the SHA-256 of a file a document names that the server has not got
  DESK_FUZZ_RECORDS   records that exist, as entity:id,… (some edits go to them)
"""

import json
import os
import random
import re
import threading
import time
import uuid

import schemathesis

DEVICE = os.environ.get("DESK_FUZZ_DEVICE", "")
SCHEMA = int(os.environ.get("DESK_FUZZ_SCHEMA", "1"))
SHAS = [s for s in (os.environ.get("DESK_FUZZ_SHA"), os.environ.get("DESK_FUZZ_SHA_PART")) if s]
RECORDS = [r.split(":", 1) for r in os.environ.get("DESK_FUZZ_RECORDS", "").split(",") if ":" in r]
SHA_RE = re.compile("[0-9a-f]{64}")
ENTITIES = [
    "organisation", "contact", "project", "milestone", "indicator", "update", "meeting",
    "agenda_item", "participant", "decision", "action", "talking_point", "document",
]

# Hypothesis reseeds the global `random` for every test case: the hooks draw from their own.
_rng = random.Random()
_lock = threading.Lock()
_next_seq = int(os.environ.get("DESK_FUZZ_NEXT_SEQ", "1"))
# Requests whose dev_seq this module chose, by id(case): their answers move the counter.
_pending = {}
# What the hooks did, printed by scripts/fuzz-api at the end.
STATS_FILE = os.environ.get("DESK_FUZZ_STATS")
_stats = {"pushes_filled": 0, "pushes_acked": 0, "changes_stored": 0, "push_statuses": {}}


def _valid_create():
    """A change that the server stores: a contact with a name."""
    return {
        "entity": "contact",
        "record": str(uuid.uuid4()),
        "fields": [
            {"field": "name", "value": "Fuzz " + uuid.uuid4().hex[:8], "base": 0},
            {"field": "classification", "value": "internal", "base": 0},
        ],
    }


def _fill_push(case):
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("changes"), list):
        return
    changes = [c for c in body["changes"] if isinstance(c, dict)]
    if len(changes) != len(body["changes"]) or _rng.random() < 0.15:
        # Leave one in seven as generated: another device, gaps, repeats.
        return
    global _next_seq
    with _lock:
        first = _next_seq
        if isinstance(body.get("device"), str):
            body["device"] = DEVICE
        now_hlc = int(time.time() * 1000) << 16
        for i, c in enumerate(changes):
            if isinstance(c.get("device"), str):
                c["device"] = DEVICE
            if isinstance(c.get("dev_seq"), int) and not isinstance(c.get("dev_seq"), bool):
                c["dev_seq"] = first + i
            roll = _rng.random()
            if roll < 0.25:
                # Entirely valid (apart from what a negative case broke elsewhere).
                for k, v in _valid_create().items():
                    if k in c:
                        c[k] = v
                for k, v in (("hlc", now_hlc + i), ("schema_version", SCHEMA), ("seq", 0)):
                    if isinstance(c.get(k), int) and not isinstance(c.get(k), bool):
                        c[k] = v
            elif roll < 0.7:
                # A real entity and a fresh id, or a record that exists (one the user may not
                # see, for a focal point): the fields are left to the fuzzer.
                entity, record = _rng.choice(ENTITIES), str(uuid.uuid4())
                if RECORDS and roll >= 0.55:
                    entity, record = _rng.choice(RECORDS)
                if isinstance(c.get("entity"), str):
                    c["entity"] = entity
                if isinstance(c.get("record"), str):
                    c["record"] = record
                if isinstance(c.get("schema_version"), int) and not isinstance(
                    c.get("schema_version"), bool
                ):
                    c["schema_version"] = _rng.randint(1, SCHEMA)
        _pending[id(case)] = first
        _stats["pushes_filled"] += 1


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    if path == "/v1/push":
        _fill_push(case)
    elif path == "/v1/pull" and isinstance(case.query, dict):
        wait = case.query.get("wait")
        # A valid wait (0–60) stays valid but short: an idle long-poll would hold the run up.
        if isinstance(wait, int) and not isinstance(wait, bool) and 1 < wait <= 60:
            case.query["wait"] = 1
    elif path.startswith("/v1/blobs/") and SHAS and isinstance(case.path_parameters, dict):
        # Only a well-formed name is swapped (for another well-formed one), so that a case meant
        # to break the name stays broken.
        sha = case.path_parameters.get("sha")
        if isinstance(sha, str) and SHA_RE.fullmatch(sha) and _rng.random() < 0.5:
            case.path_parameters["sha"] = _rng.choice(SHAS)


@schemathesis.hook
def after_call(context, case, response):
    if case.operation.path != "/v1/push":
        return
    global _next_seq
    with _lock:
        code = str(response.status_code)
        _stats["push_statuses"][code] = _stats["push_statuses"].get(code, 0) + 1
        first = _pending.pop(id(case), None)
        if response.status_code == 200:
            try:
                acked = int(json.loads(response.content)["acked"])
            except (ValueError, KeyError, TypeError):
                return
            if first is not None:
                _stats["pushes_acked"] += 1
                _stats["changes_stored"] += max(0, acked - first + 1)
            # The server's high-water mark for this device: the next push goes on from it.
            _next_seq = max(_next_seq, acked + 1)
        if STATS_FILE:
            with open(STATS_FILE, "w") as f:
                json.dump(_stats, f)
