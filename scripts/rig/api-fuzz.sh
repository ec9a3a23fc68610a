#!/usr/bin/env bash
# Property-based fuzzing of the provider API: schemathesis generates requests from the
# OpenAPI document the sandbox serves and checks that no answer is a server error and every answer
# matches its schema. Runs against the real sandbox binary on a free loopback port with a
# throw-away SQLite file, signed in as a seeded demo account.
#
# Env: PEC_CACHE (default ~/.cache/pec-desktop) holds the Python venv; CARGO_TARGET_DIR as usual;
#      PEC_FUZZ_EXAMPLES (default 25) test cases per operation; PEC_FUZZ_MAX_TIME (optional, s).
# Last line: "schemathesis: N passed, M failed" (operations). Exit status non-zero on findings.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${PEC_CACHE:-$HOME/.cache/pec-desktop}"
VENV="$CACHE/venv-schemathesis"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
EXAMPLES="${PEC_FUZZ_EXAMPLES:-25}"

# Pinned, so a new release cannot change what a green run means.
SCHEMATHESIS_VERSION="4.32.5"
if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *"$SCHEMATHESIS_VERSION"* ]]; then
  mkdir -p "$CACHE"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

(cd "$ROOT" && cargo build --quiet -p pec-sandbox --bin pec-sandbox)
BIN="$TARGET_DIR/debug/pec-sandbox"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# Port 0: the server picks a free port and prints it, so there is no race for the port.
RUST_LOG=warn "$BIN" serve --addr 127.0.0.1:0 --db "$WORK/sandbox.sqlite" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 100); do
  BASE="$(sed -n 's/^listening on //p' "$WORK/server.out" | head -n1)"
  [[ -n "$BASE" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; echo "schemathesis: 0 passed, 1 failed"; exit 1; }
  sleep 0.1
done
if [[ -z "$BASE" ]]; then
  echo "sandbox did not start" >&2
  echo "schemathesis: 0 passed, 1 failed"
  exit 1
fi

TOKEN="$(curl -fsS -X POST "$BASE/v1/sessions" -H 'content-type: application/json' \
  -d '{"login":"mario.rossi@pec.sandbox.test","password":"Demo-Password-1"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

set +e
# From the work dir: schemathesis leaves its own files (.schemathesis/) in the current directory.
cd "$WORK"
# Excluded: signing out (it would end the fuzzer's own session) and moving the sandbox clock
# (it would expire that session); both are covered by the integration tests.
"$VENV/bin/schemathesis" run "$BASE/openapi.json" \
  --checks not_a_server_error,response_schema_conformance \
  --header "Authorization: Bearer $TOKEN" \
  --max-examples "$EXAMPLES" \
  ${PEC_FUZZ_MAX_TIME:+--max-time "$PEC_FUZZ_MAX_TIME"} \
  --exclude-path /v1/sessions/current \
  --exclude-path /sandbox/clock/advance \
  --exclude-path /sandbox/clock/set \
  --generation-database none \
  --no-color \
  --report junit --report-junit-path "$WORK/junit.xml"
STATUS=$?
set -e

read -r PASSED FAILED < <(python3 - "$WORK/junit.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
cases = root.iter("testcase")
passed = failed = 0
for c in cases:
    if c.find("failure") is not None or c.find("error") is not None:
        failed += 1
    elif c.find("skipped") is None:
        passed += 1
print(passed, failed)
PY
)
if [[ $STATUS -ne 0 && $FAILED -eq 0 ]]; then
  FAILED=1
fi
echo "schemathesis: $PASSED passed, $FAILED failed"
[[ $STATUS -eq 0 && $FAILED -eq 0 ]]
