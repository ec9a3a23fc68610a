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
  # firma digitale: SoftHSM2 as a real PKCS#11 token for pec-sign's tests, and OpenSSL's PKCS#11
  # engine for the signature benchmark against OpenSC (scripts/bench-sign.sh)
  softhsm2 libengine-pkcs11-openssl
  # the mailbox backup's IMAP test server (scripts/rig/dovecot.sh) and its throwaway certificates
  dovecot-imapd openssl
  # the OS keyring on Linux (Secret Service)
  gnome-keyring libsecret-tools
  # the API fuzzer (schemathesis, from PyPI, in a venv)
  python3 python3-venv
  # checking the .deb: the desktop entry validator, and dpkg-shlibdeps (dpkg-dev) for the
  # libraries the binary links
  desktop-file-utils dpkg-dev
  # Reads the Windows/macOS installer settings in scripts/bundle-test.sh.
  jq
  # Reads the rig's X clipboard in the end-to-end test of the app password's copy button: an
  # independent client, as a user's paste would be.
  xclip
  # unpacking the Node.js release when the system's is too old (Debian 12 ships 18)
  xz-utils ca-certificates
)
TAURI_DRIVER_VERSION="2.1.0"
# Supply-chain and fuzzing tools of the test command (scripts/rig/supply-chain.sh, fuzz.sh).
CARGO_DENY_VERSION="0.20.2"
CARGO_FUZZ_VERSION="0.13.2"
# The Tauri CLI (bundler) used by scripts/bundle.sh; keep it at the version of the tauri
# crate in Cargo.lock.
TAURI_CLI_VERSION="2.12.5"
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19
# The Node.js release installed into $PEC_TOOLS when the system has none new enough: an LTS
# line that Vite 8 accepts (^20.19 || >=22.12). Its tarball is checked against the release's
# SHASUMS256.txt. PEC_NODE_DIST may point at a mirror (or a file:// copy).
NODE_VERSION="22.12.0"
NODE_DIST="${PEC_NODE_DIST:-https://nodejs.org/dist}"

install_apt_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    log "Debian packages: all present"
    return
  fi
  log "Installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

node_new_enough() {
  local version major minor
  version="$(node --version 2>/dev/null || true)"
  version="${version#v}"
  major="${version%%.*}"
  minor="${version#*.}"; minor="${minor%%.*}"
  [ -n "$version" ] && [ "$major" -gt "$NODE_MIN_MAJOR" ] 2>/dev/null ||
    { [ "$major" = "$NODE_MIN_MAJOR" ] && [ "$minor" -ge "$NODE_MIN_MINOR" ] 2>/dev/null; }
}

# Node.js: the system's if it is new enough, else the official release unpacked into
# $PEC_TOOLS/node (on PATH through $PEC_TOOLS/bin, see lib/common.sh). Debian 12's own
# nodejs is 18, which Vite 8 refuses.
install_node() {
  if node_new_enough; then
    log "Node.js $(node --version)"
    return
  fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64) arch=arm64 ;;
    *) die "Node.js ${NODE_MIN_MAJOR}.${NODE_MIN_MINOR}+ is needed and no release is known for $(uname -m)" ;;
  esac
  local name="node-v${NODE_VERSION}-linux-${arch}"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/pec-node.XXXXXX")"
  log "Installing Node.js $NODE_VERSION into $PEC_TOOLS/node (the system's is $(node --version 2>/dev/null || echo missing))"
  if ! curl -fsSL -o "$work/SHASUMS256.txt" "$NODE_DIST/v${NODE_VERSION}/SHASUMS256.txt" ||
     ! curl -fsSL -o "$work/$name.tar.xz" "$NODE_DIST/v${NODE_VERSION}/$name.tar.xz"; then
    rm -rf "$work"
    die "could not download Node.js $NODE_VERSION from $NODE_DIST (set PEC_NODE_DIST to a mirror)"
  fi
  if ! (cd "$work" && grep " $name.tar.xz\$" SHASUMS256.txt | sha256sum --check --status); then
    rm -rf "$work"
    die "the Node.js $NODE_VERSION download does not match its published SHA-256"
  fi
  rm -rf "$PEC_TOOLS/node"
  mkdir -p "$PEC_TOOLS/node" "$PEC_TOOLS/bin"
  tar -xJf "$work/$name.tar.xz" -C "$PEC_TOOLS/node" --strip-components=1
  rm -rf "$work"
  local tool
  for tool in node npm npx; do
    ln -sf "$PEC_TOOLS/node/bin/$tool" "$PEC_TOOLS/bin/$tool"
  done
  hash -r
  node_new_enough || die "the installed Node.js does not run: $("$PEC_TOOLS/bin/node" --version 2>&1 || true)"
  log "Node.js $(node --version)"
}

# Rust: rustup's stable toolchain with rustfmt and clippy, when cargo is missing (rustup
# installs into ~/.cargo, which lib/common.sh puts on PATH).
install_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    log "Installing the Rust toolchain (rustup, stable, with rustfmt and clippy)"
    curl --proto '=https' --tlsv1.2 -fsSL https://sh.rustup.rs |
      sh -s -- -y --no-modify-path --profile minimal --component rustfmt --component clippy ||
      die "could not install Rust with rustup"
    hash -r
  fi
  local component
  for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
      command -v rustup >/dev/null 2>&1 ||
        die "$component is missing and rustup is not there to add it"
      log "Adding the Rust component $component"
      rustup component add "$component"
    fi
  done
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

# A cargo tool at a pinned version into $PEC_TOOLS, built in its own target dir (like
# tauri-driver above), skipped when the stamp says that version is there.
install_cargo_tool() {
  local crate="$1" version="$2" binary="$3"
  local stamp="$PEC_TOOLS/$crate.version"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$version" ] && [ -x "$PEC_TOOLS/bin/$binary" ] ||
    "$binary" --version 2>/dev/null | grep -qF " $version"; then
    log "$crate $version: present"
    return
  fi
  log "Installing $crate $version (cargo install)"
  CARGO_TARGET_DIR="$PEC_CACHE/tools-target" \
    cargo install "$crate" --locked --force --version "$version" --root "$PEC_TOOLS"
  echo "$version" >"$stamp"
}

# What the supply-chain step of the test command checks against, fetched here so that the
# test command itself sends nothing beyond loopback (scripts/rig/supply-chain.sh): the RustSec
# advisory database (`cargo deny fetch db`, into $CARGO_HOME/advisory-dbs) and npm's audit
# report of the UI's production dependencies, stored by the hash of ui/package-lock.json.
# Both need the network (GitHub, the npm registry's audit service); without it set-up goes on
# and the supply-chain step fails, saying which copy is missing.
fetch_supply_chain_data() {
  log "RustSec advisory database (cargo deny fetch db)"
  if ! (cd "$REPO_ROOT" && cargo deny fetch db); then
    warn "the RustSec advisory database could not be fetched: the supply-chain step will fail until it is"
  fi
  log "npm audit report of ui/package-lock.json (production dependencies)"
  local lock_hash report
  lock_hash="$(sha256sum "$REPO_ROOT/ui/package-lock.json" | cut -c1-64)"
  report="$PEC_CACHE/npm-audit/$lock_hash.json"
  mkdir -p "$PEC_CACHE/npm-audit"
  # npm audit exits non-zero when it finds something: the report's presence is what counts.
  (cd "$REPO_ROOT/ui" && npm audit --omit=dev --json) >"$report.part" 2>/dev/null || true
  if grep -q '"auditReportVersion"' "$report.part"; then
    mv "$report.part" "$report"
  else
    rm -f "$report.part"
    warn "npm audit could not reach the registry's audit service: the supply-chain step will fail until it can"
  fi
}

# The fuzz workspaces (crates/*/fuzz) have lockfiles of their own: their crates are fetched
# here, so that the test command's fuzzing step builds them without the network.
fetch_fuzz_crates() {
  local manifest
  for manifest in "$REPO_ROOT"/crates/*/fuzz/Cargo.toml; do
    log "Crates of $(basename "$(dirname "$(dirname "$manifest")")")'s fuzz targets (cargo fetch)"
    cargo fetch --locked --manifest-path "$manifest"
  done
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
install_node
install_rust
install_npm_packages
install_tauri_driver
install_cargo_tool cargo-deny "$CARGO_DENY_VERSION" cargo-deny
install_cargo_tool cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz
fetch_fuzz_crates
fetch_supply_chain_data
install_tauri_cli
log "Set-up complete"
