#!/usr/bin/env bash
# A real OS-keychain round trip for `desk`: Secret Service (gnome-keyring) on a private D-Bus
# session, no passphrase anywhere. The replica's key must go into the keychain and come back
# out of it in a later process, and a different keychain must not open the replica.
# Usage: tests/keychain/run.sh PATH/TO/desk
set -uo pipefail
desk="$1"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset DESK_PASSPHRASE
export DESK_DATA_DIR="$work/data"
mkdir -p "$work/keyring1" "$work/keyring2"
passed=0
failed=0
check() { # name, command…
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name" >&2; fi
}

# Each session gets its own keyring files (gnome-keyring keeps them under XDG_DATA_HOME).
# Session 1: create the replica, write to it, read it back from a new process.
XDG_DATA_HOME="$work/keyring1" dbus-run-session -- bash -c '
  echo -n "unlock-pass" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  "$0" init >/dev/null && "$0" contact add --name "Sok Vanna" >/dev/null && "$0" --json summary
' "$desk" >"$work/summary.json" 2>"$work/err1" || true
check "init stores the key in the keychain" grep -q '"key_source": "keychain"' "$DESK_DATA_DIR/replica.json"
check "a later process reads the key back from the keychain" grep -q '"contact": 1' "$work/summary.json"
check "the key is not beside the replica" bash -c '! grep -qiE "[0-9a-f]{64}" "$1"' _ "$DESK_DATA_DIR/replica.json"

# Session 2: another keychain (another user, another machine) cannot open it.
XDG_DATA_HOME="$work/keyring2" dbus-run-session -- bash -c '
  echo -n "other-pass" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  "$0" summary
' "$desk" >/dev/null 2>"$work/err2"
status=$?
check "another keychain cannot open the replica" test "$status" -ne 0
check "and says why" grep -q "not in the OS keychain" "$work/err2"

# Session 1 again: the key changed (`desk rekey`): a new keychain entry, every record kept.
old_id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["replica_id"])' "$DESK_DATA_DIR/replica.json")
XDG_DATA_HOME="$work/keyring1" dbus-run-session -- bash -c '
  echo -n "unlock-pass" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  "$0" rekey >/dev/null && "$0" --json summary
' "$desk" >"$work/rekeyed.json" 2>"$work/err3" || true
check "rekey keeps every record under the new key" grep -q '"contact": 1' "$work/rekeyed.json"
check "rekey names a new keychain entry" bash -c '! grep -q "$1" "$2"' _ "$old_id" "$DESK_DATA_DIR/replica.json"

echo "keychain: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
