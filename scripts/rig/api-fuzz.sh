#!/usr/bin/env bash
# Property-based fuzzing of the provider API: schemathesis generates requests from the OpenAPI
# document the sandbox serves and runs **all** its checks on every answer (no server error,
# status codes, content types and bodies as documented, schema-valid data accepted and
# schema-invalid data refused, authentication enforced, no resource used after it was deleted
# or missing after it was created, no object of one account readable by another), in every
# phase: the document's examples, coverage of each constraint's boundaries, random fuzzing,
# and stateful sequences that follow the document's links from one operation to the next.
#
# Against the real sandbox binary on a free loopback port with a throw-away SQLite file, in
# three runs:
#   1. the provider API (/v1), signed in as two demo accounts (acc-demo-mario and
#      acc-demo-acme, Web Fuzzing Commons auth with both as peers): every object one of them
#      reads is replayed as the other, who must not get it;
#   2. the registry and renewal portals, the public routes and the sandbox back office, each
#      with its own credentials (portal sessions signed in by schemathesis, the run's
#      back-office secret from the 0600 file the server writes);
#   3. the portals' sign-ins themselves.
# scripts/rig/api_fuzz_hooks.py teaches the fuzzer the rules a JSON Schema cannot state
# (check characters, cross-field equalities, the sniffed type of an uploaded document).
#
# Env: PEC_CACHE (default ~/.cache/pec-desktop) holds the Python venv; CARGO_TARGET_DIR as usual;
#      PEC_FUZZ_EXAMPLES (default 25) test cases per operation; PEC_FUZZ_MAX_TIME (optional, s);
#      PEC_FUZZ_SEED (optional) to repeat a run.
# Last line: "schemathesis: N passed, M failed" (operations of the four runs). Exit status non-zero
# on findings.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${PEC_CACHE:-$HOME/.cache/pec-desktop}"
VENV="$CACHE/venv-schemathesis"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
EXAMPLES="${PEC_FUZZ_EXAMPLES:-25}"
HOOKS="$ROOT/scripts/rig/api_fuzz_hooks.py"

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

# Port 0: the server picks a free port and prints it, so there is no race for the port. The
# back-office secret of this run goes to a file only this user can read, never to a log.
RUST_LOG=warn "$BIN" serve --addr 127.0.0.1:0 --db "$WORK/sandbox.sqlite" \
  --sandbox-secret-file "$WORK/sandbox-secret" >"$WORK/server.out" 2>"$WORK/server.err" &
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
# Read by schemathesis through its config (`${PEC_SANDBOX_SECRET}`); its reports filter any
# header named like a secret or a token.
PEC_SANDBOX_SECRET="$(cat "$WORK/sandbox-secret")"
export PEC_SANDBOX_SECRET

# The two accounts of run 1, signed in by schemathesis itself (Web Fuzzing Commons).
login() {
  printf '{"name": "%s", "loginEndpointAuth": {"endpoint": "/v1/sessions", "verb": "POST",
    "contentType": "application/json",
    "payloadRaw": "{\\"login\\": \\"%s\\", \\"password\\": \\"Demo-Password-1\\"}",
    "token": {"extractFrom": "body", "extractSelector": "/access_token", "sendIn": "header",
              "sendName": "Authorization", "sendTemplate": "Bearer {token}"}}}' "$1" "$2"
}
cat >"$WORK/accounts.json" <<EOF
{"schemaVersion": "0.2.0", "auth": [$(login mario acc-demo-mario), $(login acme acc-demo-acme)]}
EOF

# What the runs share. Positive-data acceptance also accepts 402 (a payment the card
# network refuses) and 410 (a code, captcha or link that has expired): refusals that the
# state of the world decides, as 409 and 429 are, not the request's shape.
common_config() {
  cat <<EOF
hooks = "$HOOKS"
max-failures = 50
${PEC_FUZZ_SEED:+seed = $PEC_FUZZ_SEED}
${PEC_FUZZ_MAX_TIME:+max-time = $PEC_FUZZ_MAX_TIME}

[generation]
max-examples = $EXAMPLES
database = "none"

[checks]
enabled = true

[checks.positive_data_acceptance]
EOF
  if [[ -n "${POSITIVE_DATA:-}" ]]; then
    echo "$POSITIVE_DATA"
  else
    echo 'expected-statuses = ["2xx", "3xx", "401", "402", "403", "404", "409", "410", "429", "5xx"]'
  fi
}

# Run 1: the provider API as two accounts. Signing out would end the fuzzer's own session;
# it is covered by the integration tests.
{
  common_config
  cat <<EOF

[phases.stateful]
max-steps = 12

[auth.wfc]
path = "$WORK/accounts.json"
peers = ["mario", "acme"]
refresh_interval = 600

[[operations]]
include-path-regex = "^/(sandbox|registry|renewal|guida|guide|csc)/"
enabled = false

[[operations]]
include-path = "/v1/sessions/current"
enabled = false
EOF
} >"$WORK/provider.toml"

# Run 2: the portals, the public routes and the back office. Moving the sandbox clock would
# expire the portal sessions schemathesis holds; it is covered by the integration tests.
{
  common_config
  cat <<EOF

[phases.stateful]
max-steps = 12

[auth.openapi.sandbox_secret]
api_key = "\${PEC_SANDBOX_SECRET}"

[auth.dynamic.openapi.registry_session]
path = "/registry/v1/sessions"
payload = { username = "mario.rossi", password = "Demo-Password-1" }
extract_selector = "/access_token"

[auth.dynamic.openapi.renewal_session]
path = "/renewal/v1/sessions"
payload = { company_tax_code = "00743110157", password = "Demo-Password-1" }
extract_selector = "/access_token"

[[operations]]
include-path-regex = "^/(v1|csc)/"
enabled = false

[[operations]]
include-path-regex = "^/sandbox/clock/(advance|set)$"
enabled = false

[[operations]]
include-path-regex = "^/(registry|renewal)/v1/sessions$"
enabled = false
EOF
} >"$WORK/portals.toml"

# Run 3: the portals' sign-ins, last: the wrong passwords the fuzzer sends trip their per-IP
# limit (then 429), which would stop run 2 from signing in.
{
  common_config
  cat <<EOF

# Nothing links from a sign-in, so there is nothing stateful to follow.
[phases.stateful]
enabled = false

[[operations]]
include-path-regex = "^(?!/(registry|renewal)/v1/sessions$)"
enabled = false
EOF
} >"$WORK/sign-ins.toml"

# Run 4: the remote-signature service (CSC API v2), last for the same reason as run 3: its
# sign-in shares the per-IP limit. `auth/login` is signed in with HTTP Basic as the test
# account firma.mario; the bearer-token operations carry a token of firma.chiara, signed in
# here (schemathesis' own sign-in cannot send HTTP Basic), so that the fuzzer's wrong
# passwords, which lock firma.mario, do not take the token away. The document states the subset of the standard this service implements (see
# `narrow_csc_requests` in crates/sandbox/src/openapi.rs), so positive-data acceptance runs
# here too, with one difference the standard makes: a refusal the service's state decides (a
# used SAD, an OTP already used in its step) is a 400 there, not a 409 or 410. Run 4 therefore
# accepts 400 for a valid request, and the hooks' check
# `csc_valid_requests_are_refused_only_for_state` fails any 400 that is not one of those.
{
  POSITIVE_DATA='expected-statuses = ["2xx", "400", "429"]' common_config
  cat <<EOF

[phases.stateful]
enabled = false

[auth.openapi.csc_basic]
username = "firma.mario"
password = "Firma-Password-1"

[[operations]]
include-path-regex = "^(?!/csc/)"
enabled = false

[[operations]]
include-path-regex = "^/csc/v2/(credentials|signatures)/"
headers = { Authorization = "Bearer \${PEC_CSC_TOKEN}" }
EOF
} >"$WORK/csc.toml"

# firma.chiara's token (an hour long), read by run 4's config like the back-office secret.
PEC_CSC_TOKEN="$(python3 - "$BASE" <<'PY'
import base64, json, sys, urllib.request
request = urllib.request.Request(
    sys.argv[1] + "/csc/v2/auth/login", data=b"{}", method="POST",
    headers={"Content-Type": "application/json",
             "Authorization": "Basic " + base64.b64encode(b"firma.chiara:Firma-Password-1").decode()})
print(json.load(urllib.request.urlopen(request, timeout=10))["access_token"])
PY
)"
export PEC_CSC_TOKEN

set +e
# From the work dir: schemathesis leaves its own files (.schemathesis/) in the current directory.
cd "$WORK"
STATUS=0
for run in provider portals sign-ins csc; do
  echo "== schemathesis: $run"
  "$VENV/bin/schemathesis" --config-file "$WORK/$run.toml" run "$BASE/openapi.json" \
    --no-color \
    --report junit --report-junit-path "$WORK/junit-$run.xml"
  s=$?
  [[ $s -ne 0 ]] && STATUS=$s
done
set -e

read -r PASSED FAILED < <(python3 - "$WORK"/junit-*.xml <<'PY'
import sys, xml.etree.ElementTree as ET
passed = failed = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except Exception:
        failed += 1
        continue
    for c in root.iter("testcase"):
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
