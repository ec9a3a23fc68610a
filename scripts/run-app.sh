#!/usr/bin/env bash
# Builds and opens PEC Desktop. Does its own set-up first (idempotent).
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

log "Starting PEC Desktop ($PEC_APP_BIN)"
"$PEC_APP_BIN" "$@"
