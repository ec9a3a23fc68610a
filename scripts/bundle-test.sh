#!/usr/bin/env bash
# The installer test: builds the plain and the branded .deb and a bare Tauri hello-world .deb,
# checks each package (fields, dependencies resolvable on this Debian, the libraries the
# binary links, desktop entry, icons), installs each with dpkg into a throwaway root, starts
# the installed binary under Xvfb through tauri-driver, and runs a WebDriver smoke test
# (tests/e2e/tests/installed.rs) that sees the right product name, provider and language.
# The branded package signs in to its preset provider: a sandbox served on the loopback
# address its branding file names. Ends with both packages' sizes against their goals: the
# plain .deb (with the embedded sandbox) under 5 MiB, the branded one (without it) under 4 MiB.
#
# Runs alone (./scripts/bundle-test.sh: release packages, the real sizes, also written to
# $CARGO_TARGET_DIR/release/bundle/sizes.md) or, with --debug, as a step of scripts/test.sh:
# the same packages from the debug build the end-to-end tests already made, so the install,
# package and smoke checks fit the test command's time. A debug package's size says nothing
# about the release one, so --debug prints its own sizes as such, with the last release
# measurement if there is one. The size goals are reported, not asserted: like timing goals
# they are a benchmark's figures. With --debug it ends by building the plain debug app again,
# so the binary the run and test commands use ($PEC_APP_BIN) is not left branded.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/services.sh
. "$REPO_ROOT/scripts/lib/services.sh"

BRANDING_FILE="$REPO_ROOT/branding/artigiani-demo.toml"
DEMO_PASSWORD="Demo-Password-1" # crates/sandbox/src/seed.rs
# The size goals: the plain package carries the embedded sandbox (SQLite, axum) besides what
# every build has (WebKit glue, TLS, a keyring client, PC/SC, IMAPS); the branded one does not.
MAX_PLAIN_BYTES=$((5 * 1024 * 1024))
MAX_BRANDED_BYTES=$((4 * 1024 * 1024))

DEBUG=()
PROFILE=release
for a in "$@"; do
  case "$a" in
    --debug) DEBUG=(--debug); PROFILE=debug ;;
    *) die "unknown argument: $a" ;;
  esac
done

cd "$REPO_ROOT"
[ "${PEC_BUNDLE_NO_SETUP:-0}" = 1 ] || bash "$REPO_ROOT/scripts/setup.sh"

OWN_RUN_DIR=0
if [ -z "${RUN_DIR:-}" ]; then
  RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pec-bundle-test.XXXXXX")"
  OWN_RUN_DIR=1
fi
RUN_DIR="$(mktemp -d "$RUN_DIR/bundle.XXXXXX")"
export RUN_DIR
cleanup() {
  services_stop
  [ "$OWN_RUN_DIR" = 0 ] || rm -rf "${RUN_DIR%/*}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FAILURES=0
CHECKS=0
check() {
  local what="$1"; shift
  CHECKS=$((CHECKS + 1))
  if "$@"; then
    printf '  ok: %s\n' "$what"
  else
    printf '  FAILED: %s\n' "$what"
    FAILURES=$((FAILURES + 1))
  fi
}

not() { ! "$@"; }
deb_of() { sed -n 's/^deb: //p' "$1" | tail -n 1; }

# --- build the three packages -----------------------------------------------------------------
log "Building the packages"
bash scripts/bundle.sh --no-setup "${DEBUG[@]}" | tee "$RUN_DIR/plain.out"
DEB_PLAIN="$(deb_of "$RUN_DIR/plain.out")"
bash scripts/bundle.sh --no-setup "${DEBUG[@]}" --branding "$BRANDING_FILE" | tee "$RUN_DIR/brand.out"
DEB_BRAND="$(deb_of "$RUN_DIR/brand.out")"
DEB_HELLO=""
if [ "$PROFILE" = release ]; then
  bash scripts/bundle.sh --no-setup --hello-world | tee "$RUN_DIR/hello.out"
  DEB_HELLO="$(deb_of "$RUN_DIR/hello.out")"
fi
# The sandbox the branded package signs in to.
cargo build --quiet -p pec
PEC_CLI="$CARGO_TARGET_DIR/debug/pec"

# An invalid branding file must stop the build, naming the field.
log "An invalid branding file fails the build"
mkdir -p "$RUN_DIR/bad-branding"
cp "$REPO_ROOT/branding/artigiani-demo.svg" "$RUN_DIR/bad-branding/"
sed -e 's|^primary = .*|primary = "navy"|' -e 's|^api_url = .*|api_url = "http://pec.example.it"|' \
  "$BRANDING_FILE" >"$RUN_DIR/bad-branding/bad.toml"
if bash scripts/bundle.sh --no-setup --branding "$RUN_DIR/bad-branding/bad.toml" >"$RUN_DIR/bad.out" 2>&1; then
  check "an invalid branding file fails the build" false
else
  check "an invalid branding file fails the build, naming colors.primary" grep -q 'colors.primary: must be a colour' "$RUN_DIR/bad.out"
  check "... and provider.api_url" grep -q 'provider.api_url: .*must use https' "$RUN_DIR/bad.out"
  check "... before building anything" grep -q 'nothing was built' "$RUN_DIR/bad.out"
fi

# --- Windows and macOS installer settings ---------------------------------------------------------
# Their bundlers do not run here (.github/workflows/bundles.yml); what they are given is checked.
log "Windows and macOS installer settings"
CONF="$REPO_ROOT/src-tauri/tauri.conf.json"
WORKFLOW="$REPO_ROOT/.github/workflows/bundles.yml"
check "NSIS installer in Italian first, English second" \
  test "$(jq -c '.bundle.windows.nsis.languages' "$CONF")" = '["Italian","English"]'
check "MSI (WiX) in Italian first, English second" \
  test "$(jq -c '.bundle.windows.wix.language' "$CONF")" = '["it-IT","en-US"]'
sign_script="$(jq -r '.bundle.windows.signCommand.args[] | select(endswith(".ps1"))' "$CONF")"
signs_each_file() { jq -e '.bundle.windows.signCommand.args | index("%1")' "$CONF" >/dev/null; }
check "Windows signing through signCommand, with the file as its argument" signs_each_file
check "the signCommand's script exists" test -f "$REPO_ROOT/src-tauri/$sign_script"
check "no certificate or key in the repository's signing setup" \
  not grep -Eqi 'BEGIN (CERTIFICATE|.*PRIVATE KEY)|certificateThumbprint' "$CONF" "$REPO_ROOT/src-tauri/$sign_script"
check "a universal macOS disk image (universal-apple-darwin)" \
  grep -q 'target: universal-apple-darwin' "$WORKFLOW"

# --- static checks of each package --------------------------------------------------------------
field() { dpkg-deb -f "$1" "$2"; }
has_depends() { field "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$2"; }

# Every package dpkg-shlibdeps finds for the binary's libraries must come with the declared
# Depends (directly or through them), or the app may not start on a clean system.
shlibs_covered() {
  local deb="$1" root="$2" bin="$3" work closure missing=()
  work="$(mktemp -d "$RUN_DIR/shlibs.XXXXXX")"
  mkdir -p "$work/debian"
  : >"$work/debian/control"
  (cd "$work" && dpkg-shlibdeps -O --ignore-missing-info "$root/$bin" 2>/dev/null) |
    sed -n 's/^shlibs:Depends=//p' | tr ',' '\n' | sed 's/^ *//; s/ .*//' | sort -u >"$work/needed"
  # shellcheck disable=SC2046
  closure="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances \
    $(field "$deb" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//') 2>/dev/null |
    sed -n 's/^ *\(Pre\)\{0,1\}Depends: //p; /^[a-z0-9]/p' | sed 's/[<>:].*//; s/ //g' | sort -u)"
  while read -r pkg; do
    [ -n "$pkg" ] || continue
    grep -qx "$pkg" <<<"$closure" || missing+=("$pkg")
  done <"$work/needed"
  printf '    libraries come from: %s\n' "$(tr '\n' ' ' <"$work/needed")"
  if [ "${#missing[@]}" -gt 0 ]; then
    printf '    not covered by Depends: %s\n' "${missing[*]}"
    return 1
  fi
}

# Installs $deb with dpkg into a fresh root of its own ($RUN_DIR/root-$label): a private
# dpkg database, so nothing on the host changes. Dependencies are checked separately against
# the host's apt (the root has no packages of its own to satisfy them).
install_into_root() {
  local deb="$1" root="$2"
  mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
  : >"$root/var/lib/dpkg/status"
  : >"$root/var/lib/dpkg/available"
  dpkg --root="$root" --force-depends --force-not-root --log=/dev/null -i "$deb" >"$root.dpkg.log" 2>&1 ||
    { cat "$root.dpkg.log"; return 1; }
}

is_installed() { dpkg --root="$1" -s "$2" 2>/dev/null | grep -q '^Status: install ok installed'; }
apt_simulate() { as_root apt-get install --simulate -qq "$1" >"$2" 2>&1 || { cat "$2"; return 1; }; }
desktop_entry_is() {
  grep -qx "Name=$2" "$1" && grep -qx "Exec=$3" "$1" && grep -qx "Icon=$3" "$1"
}
relations_replace_plain() {
  [ "$(dpkg-deb -f "$1" Conflicts Replaces Provides | grep -c '^[A-Za-z]*: pec-desktop$')" = 3 ]
}

inspect() {
  local label="$1" deb="$2" package="$3" product="$4" bin="$5" root
  root="$RUN_DIR/root-$label"
  log "Package $label: $(basename "$deb")"
  check "Package: $package" test "$(field "$deb" Package)" = "$package"
  check "installs with dpkg into a throwaway root" install_into_root "$deb" "$root"
  check "dpkg lists it as installed there" is_installed "$root" "$package"
  check "its binary is /usr/bin/$bin" test -x "$root/usr/bin/$bin"
  check "its dependencies resolve on this Debian (apt-get --simulate)" apt_simulate "$deb" "$root.apt.log"
  check "the binary's libraries are covered by Depends" shlibs_covered "$deb" "$root" "usr/bin/$bin"
  local desktop="$root/usr/share/applications/$product.desktop"
  check "desktop entry $product.desktop" test -f "$desktop"
  check "desktop entry is valid" desktop-file-validate "$desktop"
  check "desktop entry names $product and runs $bin" desktop_entry_is "$desktop" "$product" "$bin"
  if [ "$label" != hello-world ]; then
    check "Depends: libwebkit2gtk-4.1-0" has_depends "$deb" libwebkit2gtk-4.1-0
    check "Depends: pcscd (card readers work after install)" has_depends "$deb" pcscd
    check "Depends: libpcsclite1" has_depends "$deb" libpcsclite1
    local size
    for size in 16x16 24x24 32x32 48x48 64x64 128x128 256x256 512x512; do
      check "icon $size" test -f "$root/usr/share/icons/hicolor/$size/apps/$bin.png"
    done
  fi
}

inspect plain "$DEB_PLAIN" pec-desktop "PEC Desktop" pec-app
check "the plain package carries no branding" test ! -e "$RUN_DIR/root-plain/usr/lib/PEC Desktop/branding.json"
inspect branded "$DEB_BRAND" pec-artigiani-demo "PEC Artigiani Demo" pec-app
check "the branded package carries its branding" test -f "$RUN_DIR/root-branded/usr/lib/PEC Artigiani Demo/branding.json"
check "the branded package replaces the plain one" relations_replace_plain "$DEB_BRAND"
# The sandbox's start-up log line is in the binary only with the `embedded-sandbox` feature.
check "the plain binary carries the embedded sandbox" \
  grep -qa 'embedded sandbox started' "$RUN_DIR/root-plain/usr/bin/pec-app"
check "the branded binary carries no embedded sandbox (no server, demo accounts, test CA)" \
  not grep -qa 'embedded sandbox started' "$RUN_DIR/root-branded/usr/bin/pec-app"
check "the branded icon differs from the plain one" not cmp -s \
  "$RUN_DIR/root-plain/usr/share/icons/hicolor/128x128/apps/pec-app.png" \
  "$RUN_DIR/root-branded/usr/share/icons/hicolor/128x128/apps/pec-app.png"
[ -z "$DEB_HELLO" ] ||
  inspect hello-world "$DEB_HELLO" hello-world-bench "Hello World Bench" hello-world-bench

# --- the installed apps, through WebDriver ----------------------------------------------------
log "Starting the rig: Xvfb, D-Bus, keyring"
start_xvfb
start_dbus
start_keyring

BRAND_PROVIDER="$(sed -n 's/^api_url = "\(.*\)"/\1/p' "$BRANDING_FILE")"
BRAND_PORT="${BRAND_PROVIDER##*:}"
port_is_free "$BRAND_PORT" ||
  die "port $BRAND_PORT (the provider of $BRANDING_FILE) is taken: stop what listens there"
"$PEC_CLI" sandbox serve --addr "127.0.0.1:$BRAND_PORT" --db "$RUN_DIR/brand-sandbox.sqlite" \
  >"$RUN_DIR/brand-sandbox.log" 2>&1 &
_service_started $! pec-sandbox
wait_for_port "$BRAND_PORT" "pec sandbox serve" "$!"
log "Sandbox provider for the branded package on $BRAND_PROVIDER"

export PEC_E2E_SCREENSHOTS="$REPO_ROOT/target/e2e-screenshots"
mkdir -p "$PEC_E2E_SCREENSHOTS"
cargo build --quiet -p pec-e2e --features installed --tests

# One tauri-driver per package, each with its own private home: both packages are the same
# app (one identifier), and a first start must be a first start.
smoke() {
  local label="$1" outer="$RUN_DIR"
  RUN_DIR="$outer/$label"
  mkdir -p "$RUN_DIR"
  start_tauri_driver
  RUN_DIR="$outer"
  PEC_E2E_APP="$RUN_DIR/root-$label/usr/bin/pec-app" PEC_E2E_LABEL="$label" \
    cargo test -p pec-e2e --features installed --test installed 2>&1 | tee "$RUN_DIR/smoke-$label.log"
}
log "Smoke test: the plain package"
PEC_E2E_EXPECT_PRODUCT="PEC Desktop" PEC_E2E_EXPECT_LANG=it PEC_E2E_EXPECT_PROVIDER=embedded \
  smoke plain || FAILURES=$((FAILURES + 1))
log "Smoke test: the branded package"
PEC_E2E_EXPECT_PRODUCT="PEC Artigiani Demo" PEC_E2E_EXPECT_LANG=en \
  PEC_E2E_EXPECT_PROVIDER="$BRAND_PROVIDER" PEC_E2E_EXPECT_ASSOCIATION="Associazione Artigiani Demo" \
  PEC_E2E_PASSWORD="$DEMO_PASSWORD" smoke branded || FAILURES=$((FAILURES + 1))
log "Screenshots: $PEC_E2E_SCREENSHOTS/installed-*.png"

# --- sizes --------------------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
installed_bytes() { echo $(($(field "$1" Installed-Size) * 1024)); }
# goal NAME DEB MAX: one line of the size report.
goal() {
  local bytes met=no
  bytes="$(stat -c %s "$2")"
  [ "$bytes" -lt "$3" ] && met=yes
  printf 'size: %s .deb %s (installed %s), goal under %s: %s\n' "$1" "$(mib "$bytes")" \
    "$(mib "$(installed_bytes "$2")")" "$(mib "$3")" "$met"
}
TABLE="$CARGO_TARGET_DIR/release/bundle/sizes.md"
if [ "$PROFILE" = release ]; then
  HELLO_DEB_BYTES="$(stat -c %s "$DEB_HELLO")"
  {
    printf '| package | .deb | installed | goal | .deb vs hello-world |\n'
    printf '| --- | ---: | ---: | ---: | ---: |\n'
    for row in "pec-desktop (plain, embedded sandbox)|$DEB_PLAIN|$MAX_PLAIN_BYTES" \
      "pec-artigiani-demo (branded, no sandbox)|$DEB_BRAND|$MAX_BRANDED_BYTES" \
      "hello-world-bench (bare Tauri)|$DEB_HELLO|"; do
      IFS='|' read -r name deb max <<<"$row"
      d="$(stat -c %s "$deb")"
      printf '| %s | %s | %s | %s | %s× |\n' "$name" "$(mib "$d")" "$(mib "$(installed_bytes "$deb")")" \
        "${max:+< $(mib "$max")}" "$(awk -v a="$d" -v b="$HELLO_DEB_BYTES" 'BEGIN { printf "%.2f", a / b }')"
    done
  } >"$TABLE"
  log "Sizes of the release packages (goals: plain under 5 MiB, branded under 4 MiB)"
  cat "$TABLE"
  goal "plain" "$DEB_PLAIN" "$MAX_PLAIN_BYTES"
  goal "branded" "$DEB_BRAND" "$MAX_BRANDED_BYTES"
else
  log "Sizes of these debug packages (the goals, plain under 5 MiB and branded under 4 MiB, are for release packages)"
  goal "plain (debug build)" "$DEB_PLAIN" "$MAX_PLAIN_BYTES"
  goal "branded (debug build)" "$DEB_BRAND" "$MAX_BRANDED_BYTES"
  if [ -f "$TABLE" ]; then
    log "The last release measurement ($TABLE, from ./scripts/bundle-test.sh)"
    cat "$TABLE"
  fi
  # The branded package rebuilt the debug binary with its overlay and without the sandbox:
  # build the plain one again, for the run command and the next end-to-end run.
  log "Building the plain debug app again ($PEC_APP_BIN)"
  cargo build --quiet -p pec-app --features custom-protocol
  check "the debug app left in place is the plain one (it carries the embedded sandbox)" \
    grep -qa 'embedded sandbox started' "$PEC_APP_BIN"
fi

log "Bundle checks"
printf 'bundle: %d passed, %d failed\n' $((CHECKS - FAILURES)) "$FAILURES"
[ "$FAILURES" -eq 0 ]
