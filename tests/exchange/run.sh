#!/usr/bin/env bash
# Reads the files `desk export` writes with independent implementations (Python's icalendar,
# vobject and openpyxl from PyPI), installed pinned into a venv in the cache outside the clone
# (idempotent). Usage: tests/exchange/run.sh PATH/TO/desk
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/secretariat-desk/venv-exchange"
want="icalendar==7.3.2 vobject==0.9.9 openpyxl==3.1.5"
if [ "$(cat "$venv/.pinned" 2>/dev/null)" != "$want" ]; then
  echo "exchange: installing $want"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check $want
  echo "$want" >"$venv/.pinned"
fi
exec "$venv/bin/python" "$here/check_files.py" "$1"
