"""Signs the fuzzing devices in and seeds a little data, for scripts/fuzz-api.

usage: seed.py BASE_URL USER PASSWORD FP_USER FP_PASSWORD
(prints shell assignments for the run's environment)

Over the server's own HTTP API: signs in the device the fuzzer's token belongs to (USER's), a
second one whose token /v1/logout may revoke, and a device of FP_USER (a focal point, for the
pass that exercises the scope checks); learns the newest replica schema the server knows (the
422 a push from the future gets names it); pushes two documents (one whose file it then sends
whole, one whose file never comes), a contact, and a restricted contact the focal point may not
see, so that pulls, checksums, blob requests and edits of existing records have something to
work on.
"""

import hashlib
import re
import shlex
import sys
import time
import uuid

import requests

base, user, password, fp_user, fp_password = sys.argv[1:6]
device = "fuzz-" + uuid.uuid4().hex[:12]
http = requests.Session()


def login(who, secret, dev):
    r = http.post(f"{base}/v1/login", json={"user": who, "password": secret, "device": dev})
    if r.status_code != 200:
        sys.exit(f"seed: signing {who} in failed: {r.status_code} {r.text}")
    return r.json()["token"]


token = login(user, password, device)
logout_token = login(user, password, device + "-logout")
fp_token = login(fp_user, fp_password, device + "-fp")
auth = {"Authorization": f"Bearer {token}"}


def change(seq, entity, fields, schema):
    return {
        "seq": 0,
        "device": device,
        "dev_seq": seq,
        "tx": seq,
        "entity": entity,
        "record": str(uuid.uuid4()),
        "hlc": (int(time.time() * 1000) << 16) + seq,
        "schema_version": schema,
        "fields": [{"field": k, "value": v, "base": 0} for k, v in fields.items()],
    }


def push(changes):
    return http.post(f"{base}/v1/push", headers=auth, json={"device": device, "changes": changes})


# A change from a schema far in the future is refused, naming the newest the server knows.
r = push([change(1, "contact", {"name": "Probe"}, 1_000_000)])
m = re.search(r"knows up to (\d+)", r.text)
schema = int(m.group(1)) if r.status_code == 422 and m else 1

data = b"Secretariat Desk: a file for the API fuzzer\n" * 3
sha = hashlib.sha256(data).hexdigest()
part = b"a file the server never receives whole\n"
sha_part = hashlib.sha256(part).hexdigest()
seed = [
    change(1, "document", {"title": "Fuzz seed", "sha256": sha, "filename": "seed.txt"}, schema),
    change(2, "document", {"title": "Fuzz seed, file pending", "sha256": sha_part}, schema),
    change(3, "contact", {"name": "Fuzz Seed", "classification": "internal"}, schema),
    change(
        4,
        "contact",
        {"name": "Fuzz Restricted", "classification": "restricted", "scope": ["KH"]},
        schema,
    ),
]
r = push(seed)
if r.status_code != 200 or r.json().get("acked") != len(seed):
    sys.exit(f"seed: the push was refused: {r.status_code} {r.text}")
r = http.put(
    f"{base}/v1/blobs/{sha}",
    params={"size": len(data), "offset": 0},
    data=data,
    headers={**auth, "Content-Type": "application/octet-stream"},
)
if r.status_code != 200 or not r.json().get("complete"):
    sys.exit(f"seed: the file upload was refused: {r.status_code} {r.text}")
# Half of the second file: its status says what is held, a GET says not found.
r = http.put(
    f"{base}/v1/blobs/{sha_part}",
    params={"size": len(part), "offset": 0},
    data=part[:10],
    headers={**auth, "Content-Type": "application/octet-stream"},
)
if r.status_code != 200:
    sys.exit(f"seed: the partial upload was refused: {r.status_code} {r.text}")

for k, v in {
    "DESK_FUZZ_TOKEN": token,
    "DESK_FUZZ_LOGOUT_TOKEN": logout_token,
    "DESK_FUZZ_DEVICE": device,
    "DESK_FUZZ_NEXT_SEQ": len(seed) + 1,
    "DESK_FUZZ_SCHEMA": schema,
    "DESK_FUZZ_SHA": sha,
    "DESK_FUZZ_SHA_PART": sha_part,
    "DESK_FUZZ_RECORDS": ",".join(f"{c['entity']}:{c['record']}" for c in seed),
    "DESK_FUZZ_FP_TOKEN": fp_token,
    "DESK_FUZZ_FP_DEVICE": device + "-fp",
}.items():
    print(f"{k}={shlex.quote(str(v))}")
