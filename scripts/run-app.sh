#!/usr/bin/env bash
# Builds and opens PEC Desktop. Does its own set-up first (idempotent). With no provider
# configured the app starts its embedded sandbox provider and offers the demo accounts.
# Arguments after the command go to the app. With no graphical session (no DISPLAY or
# WAYLAND_DISPLAY) the app runs on a virtual X server, so the command still works over SSH
# or in CI; the window is then not visible.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

bash "$REPO_ROOT/scripts/setup.sh"
build_app

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pec-run.XXXXXX")"
export RUN_DIR
# Services first (they may use files in RUN_DIR), then the run's files: a run leaves nothing
# behind in /tmp (the installers' test alone unpacks a few hundred MB there).
trap 'services_stop; rm -rf "$RUN_DIR"' EXIT
trap 'exit 130' INT TERM

if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  warn "no graphical session found: starting the app on a virtual X server (Xvfb)"
  start_xvfb
fi
# The session token goes to the OS keyring. Without a session bus (SSH, CI) there is none, so
# start a private bus with a throwaway gnome-keyring; sessions then last only for this run.
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  warn "no D-Bus session bus: starting one with a throwaway keyring for this run"
  start_dbus
  start_keyring
fi

# With no PC/SC service running (so no real reader in use), put the virtual card in a virtual
# reader, so the card method can be tried end to end: the embedded sandbox trusts its test CA.
# PEC_VIRTUAL_CARD picks the profile (default stincard-2048: Mario Rossi, PIN 12345678);
# PEC_VIRTUAL_CARD=none turns it off.
if [ "${PEC_VIRTUAL_CARD:-stincard-2048}" != none ] && ! pgrep -x pcscd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    warn "the virtual card needs its own pcscd, which needs root: run as root, or start pcscd with vsmartcard-vpcd and run pec-card-sim yourself"
  else
    start_pcscd
    (cd "$REPO_ROOT" && cargo build -q -p pec-card-sim)
    "$CARGO_TARGET_DIR/debug/pec-card-sim" --profile "${PEC_VIRTUAL_CARD:-stincard-2048}" \
      >"$RUN_DIR/card-sim.log" 2>&1 &
    _service_started "$!" "virtual card"
    log "virtual card ${PEC_VIRTUAL_CARD:-stincard-2048} in \"Virtual PCD 00 00\" (PIN 12345678)"
  fi
fi

log "Starting PEC Desktop ($PEC_APP_BIN)"
"$PEC_APP_BIN" "$@"
