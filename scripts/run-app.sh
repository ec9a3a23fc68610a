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
trap 'services_stop' EXIT
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

log "Starting PEC Desktop ($PEC_APP_BIN)"
"$PEC_APP_BIN" "$@"
