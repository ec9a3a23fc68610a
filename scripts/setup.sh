#!/usr/bin/env bash
# Installs everything the run and test commands need on Debian 12. Idempotent: each step
# checks first and does nothing when its part is already there.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

APT_PACKAGES=(
  # building the Tauri app against WebKitGTK 4.1
  build-essential pkg-config curl wget file libwebkit2gtk-4.1-dev libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev
  # driving the real window: WebKitWebDriver, a virtual X server, a D-Bus session bus
  webkit2gtk-driver xvfb xauth dbus dbus-x11
  # smart cards: the PC/SC daemon, its headers, the virtual reader, and OpenSC as an independent reader
  pcscd libpcsclite-dev vsmartcard-vpcd opensc
  # the mailbox backup's IMAP test server (scripts/rig/dovecot.sh) and its throwaway certificates
  dovecot-imapd openssl
  # the OS keyring on Linux (Secret Service)
  gnome-keyring libsecret-tools
  # the API fuzzer (schemathesis, from PyPI, in a venv)
  python3 python3-venv
  # checking the .deb: the desktop entry validator, and dpkg-shlibdeps (dpkg-dev) for the
  # libraries the binary links
  desktop-file-utils dpkg-dev
)
TAURI_DRIVER_VERSION="2.1.0"
# The Tauri CLI (bundler) used by scripts/bundle.sh; keep it at the version of the tauri
# crate in Cargo.lock.
TAURI_CLI_VERSION="2.12.5"
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19

install_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  if ! command -v node >/dev/null 2>&1; then
    missing+=(nodejs npm)
  fi
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages: all present"
    return
  fi
  log "Installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

check_node() {
  local version major minor
  version="$(node --version 2>/dev/null || true)"
  version="${version#v}"
  major="${version%%.*}"
  minor="${version#*.}"; minor="${minor%%.*}"
  if [ -z "$version" ] || [ "$major" -lt "$NODE_MIN_MAJOR" ] ||
     { [ "$major" -eq "$NODE_MIN_MAJOR" ] && [ "$minor" -lt "$NODE_MIN_MINOR" ]; }; then
    die "Node.js ${NODE_MIN_MAJOR}.${NODE_MIN_MINOR} or newer is needed (found '${version:-none}'); Vite 8 requires it"
  fi
  log "Node.js $version"
}

check_rust() {
  command -v cargo >/dev/null 2>&1 ||
    die "cargo not found: install the Rust toolchain (rustup, stable) and run this again"
  cargo fmt --version >/dev/null 2>&1 || die "rustfmt missing: rustup component add rustfmt"
  cargo clippy --version >/dev/null 2>&1 || die "clippy missing: rustup component add clippy"
  log "$(cargo --version)"
}

install_npm_packages() {
  local ui="$REPO_ROOT/ui"
  # npm ci is exact (lockfile) but slow; skip it when node_modules matches the lockfile.
  if [ -f "$ui/node_modules/.package-lock.json" ] &&
     [ "$ui/node_modules/.package-lock.json" -nt "$ui/package-lock.json" ]; then
    log "npm packages: up to date"
    return
  fi
  log "Installing npm packages (npm ci)"
  (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
}

install_tauri_driver() {
  local stamp="$PEC_TOOLS/tauri-driver.version"
  if [ -x "$PEC_TOOLS/bin/tauri-driver" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$TAURI_DRIVER_VERSION" ]; then
    log "tauri-driver $TAURI_DRIVER_VERSION: present"
    return
  fi
  log "Installing tauri-driver $TAURI_DRIVER_VERSION (cargo install)"
  # Its own target dir: cargo install must not clobber the project's build cache.
  CARGO_TARGET_DIR="$PEC_CACHE/tools-target" \
    cargo install tauri-driver --locked --force --version "$TAURI_DRIVER_VERSION" --root "$PEC_TOOLS"
  echo "$TAURI_DRIVER_VERSION" >"$stamp"
}

# The Tauri CLI from its npm package, which carries a prebuilt binary per platform: seconds to
# install, where `cargo install tauri-cli` compiles ~600 crates (20+ minutes on a 2-core
# machine). It lives in its own prefix, not in ui/package.json: npm 11 writes only the
# current platform's optional binary package into a lockfile, which broke `npm ci` elsewhere.
# The exact version pins the CLI and its platform package (its optionalDependencies are exact).
install_tauri_cli() {
  local dir="$PEC_TOOLS/tauri-cli" stamp="$PEC_TOOLS/tauri-cli.version"
  if [ -x "$dir/node_modules/.bin/tauri" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$TAURI_CLI_VERSION" ]; then
    log "Tauri CLI $TAURI_CLI_VERSION: present"
    return
  fi
  log "Installing the Tauri CLI $TAURI_CLI_VERSION (npm package @tauri-apps/cli)"
  rm -rf "$dir"
  mkdir -p "$dir" "$PEC_TOOLS/bin"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    "@tauri-apps/cli@$TAURI_CLI_VERSION"
  "$dir/node_modules/.bin/tauri" --version | grep -qx "tauri-cli $TAURI_CLI_VERSION" ||
    die "the Tauri CLI in $dir does not report version $TAURI_CLI_VERSION"
  ln -sf "$dir/node_modules/.bin/tauri" "$PEC_TOOLS/bin/tauri"
  echo "$TAURI_CLI_VERSION" >"$stamp"
}

install_apt_packages
check_node
check_rust
install_npm_packages
install_tauri_driver
install_tauri_cli
log "Set-up complete"
