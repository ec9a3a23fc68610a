#!/usr/bin/env bash
# Runs every test of the project: static checks, Rust tests, UI tests, and end-to-end tests
# of the real app window. Does its own set-up first (idempotent). Every service it starts
# (pcscd, D-Bus, gnome-keyring, Dovecot, Xvfb, tauri-driver) is stopped at the end by process id.
#
# The last line is the overall count, e.g. `summary: 120 passed, 0 failed`.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

cd "$REPO_ROOT"
bash "$REPO_ROOT/scripts/setup.sh"

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pec-test.XXXXXX")"
export RUN_DIR
# Services first (they may use files in RUN_DIR), then the run's files: a run leaves nothing
# behind in /tmp (the installers' test alone unpacks a few hundred MB there).
trap 'services_stop; rm -rf "$RUN_DIR"' EXIT
trap 'exit 130' INT TERM

# Plain output: the counts below are parsed from it.
export NO_COLOR=1 FORCE_COLOR=0

PASSED=0
FAILED=0
SKIPPED=0
FAILED_STEPS=()

# Adds the counts printed by cargo test ("test result: ok. 3 passed; 0 failed; 1 ignored")
# and vitest ("Tests  2 failed | 5 passed (7)") in a step's output.
count_results() {
  local file="$1" p f s
  read -r p f s < <(awk '
    /^test result: / {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed/) p += $i
        if ($(i+1) ~ /^failed/) f += $i
        if ($(i+1) ~ /^ignored/) s += $i
      }
    }
    /^schemathesis: [0-9]+ passed/ { p += $2; f += $4 }
    /^supply-chain: [0-9]+ passed/ { p += $2; f += $4; s += $6 }
    /^fuzz: [0-9]+ passed/ { p += $2; f += $4 }
    /^bundle: [0-9]+ passed/ { p += $2; f += $4 }
    /^ *Tests +[0-9]/ {
      for (i = 1; i <= NF; i++) {
        if ($(i+1) == "passed") p += $i
        if ($(i+1) == "failed") f += $i
        if ($(i+1) == "skipped") s += $i
      }
    }
    END { print p + 0, f + 0, s + 0 }' "$file")
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  SKIPPED=$((SKIPPED + s))
}

# Runs one step, shows its output, counts its tests, and remembers whether it failed.
step() {
  local name="$1"; shift
  local out="$RUN_DIR/step-${#FAILED_STEPS[@]}-$RANDOM.log"
  log "$name"
  if "$@" 2>&1 | tee "$out"; then
    count_results "$out"
  else
    count_results "$out"
    FAILED_STEPS+=("$name")
  fi
}

finish() {
  log "Done"
  if [ "${#FAILED_STEPS[@]}" -gt 0 ]; then
    printf 'failed steps:\n' >&2
    printf '  - %s\n' "${FAILED_STEPS[@]}" >&2
    # A failed step without a failing test (a build error, say) still fails the run.
    [ "$FAILED" -gt 0 ] || FAILED=1
  fi
  if [ "$SKIPPED" -gt 0 ]; then
    printf 'summary: %d passed, %d failed, %d skipped\n' "$PASSED" "$FAILED" "$SKIPPED"
  else
    printf 'summary: %d passed, %d failed\n' "$PASSED" "$FAILED"
  fi
  [ "${#FAILED_STEPS[@]}" -eq 0 ]
}

# --- static checks -------------------------------------------------------------------------
step "rustfmt" cargo fmt --all --check
step "UI build" build_ui
step "svelte-check" bash -c 'cd ui && npm run --silent check'
step "clippy" cargo clippy --workspace --all-targets --features pec-app/custom-protocol -- -D warnings
# cargo deny (licences, bans, sources; advisories when a database is here), npm audit of the
# UI's production dependencies, GitHub Actions pinned by commit.
step "supply chain" bash "$REPO_ROOT/scripts/rig/supply-chain.sh"

# --- unit and integration tests ------------------------------------------------------------
# The card tests run through the real PC/SC stack (pcscd + vpcd + the virtual card), the
# vault tests through a real Secret Service (gnome-keyring on a private D-Bus session bus),
# the mailbox backup tests against a real IMAPS server (Dovecot on loopback).
start_pcscd
start_dbus
start_keyring
start_dovecot
step "Rust tests" cargo test --workspace --exclude pec-e2e --features pec-app/custom-protocol
step "UI unit tests" bash -c 'cd ui && npx vitest run'
step "API fuzzing (schemathesis)" bash "$REPO_ROOT/scripts/rig/api-fuzz.sh"
# Every cargo-fuzz target (CNS answers, ATR, certificates, EF_DatiPersonali, the CIE's secure
# messaging, GET DATA TLVs and SOD, chains, revocation answers, CMS, mail headers, validators)
# for a short run each: 13 targets, 10 s each unless PEC_FUZZ_SECONDS says otherwise.
export PEC_FUZZ_SECONDS="${PEC_FUZZ_SECONDS:-10}"
step "fuzzing (cargo fuzz, short runs)" bash "$REPO_ROOT/scripts/rig/fuzz.sh"

# --- end to end: the real app window ---------------------------------------------------------
step "app build" cargo build -p pec-app --features custom-protocol
if [ -x "$PEC_APP_BIN" ]; then
  # Dovecot, started above for the Rust tests, is still up: the backup end-to-end test saves
  # a mailbox of it through the app (start_tauri_driver makes the app trust its CA).
  [ "${PEC_IMAP_RIG:-}" = 1 ] || start_dovecot
  start_xvfb
  start_tauri_driver
  export PEC_E2E_APP="$PEC_APP_BIN"
  export PEC_E2E_SCREENSHOTS="$REPO_ROOT/target/e2e-screenshots"
  rm -rf "$PEC_E2E_SCREENSHOTS"
  step "end-to-end tests" cargo test -p pec-e2e --no-fail-fast -- --test-threads=1
  log "Screenshots: $PEC_E2E_SCREENSHOTS"
else
  FAILED_STEPS+=("end-to-end tests (no app binary)")
fi

# The installers: the plain and the branded .deb, from the debug build just tested (release
# builds with LTO would not fit CI's time on a cold cache), checked, installed into throwaway
# roots with dpkg and smoke-tested through WebDriver. `./scripts/bundle-test.sh` alone does
# the same with release packages and prints the size table.
step "installers (.deb build, install, smoke test)" \
  env PEC_BUNDLE_NO_SETUP=1 bash "$REPO_ROOT/scripts/bundle-test.sh" --debug

finish
