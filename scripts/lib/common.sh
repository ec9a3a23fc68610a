# Shared by the project's commands. Source it; it defines paths and small helpers only.
# shellcheck shell=bash

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export REPO_ROOT

# Build outputs and tools live outside the clone, so that a fresh clone (as CI makes on
# every run) reuses them and stays fast.
export PEC_CACHE="${PEC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pec-desktop}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PEC_CACHE/target}"
export PEC_TOOLS="$PEC_CACHE/tools"
export PATH="$PEC_TOOLS/bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# The app binary the run and test commands build (debug profile, UI embedded, strict CSP).
export PEC_APP_BIN="$CARGO_TARGET_DIR/debug/pec-app"

log() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "this step needs root (or sudo) to run: $*"
  fi
}

build_ui() {
  log "Building the UI (Vite)"
  (cd "$REPO_ROOT/ui" && npm run --silent build)
}

# The UI is embedded at compile time (generate_context!), so build it first.
build_app() {
  build_ui
  log "Building the app"
  (cd "$REPO_ROOT" && cargo build -p pec-app --features custom-protocol)
}
