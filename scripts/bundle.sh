#!/usr/bin/env bash
# Builds the app's .deb with the Tauri bundler (offline): the plain package, or with
# --branding FILE an association's branded one (branding/README.md).
#
#   ./scripts/bundle.sh                                  # PEC Desktop
#   ./scripts/bundle.sh --branding branding/<id>.toml    # e.g. PEC Artigiani Demo (no embedded sandbox)
#   ./scripts/bundle.sh --hello-world                    # the bare Tauri app sizes are compared with
#   ./scripts/bundle.sh --debug [...]                    # the same from the debug build (quick; the
#                                                        # test command's package checks use it)
#
# A branding file with any problem stops the build before anything is compiled, with the
# list of problems. The last line printed is `deb: PATH`.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() { sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

BRANDING=""
HELLO=0
SETUP=1
PROFILE=release
DEBUG_FLAG=()
while [ $# -gt 0 ]; do
  case "$1" in
    --branding) [ $# -ge 2 ] || usage; BRANDING="$2"; shift 2 ;;
    --hello-world) HELLO=1; shift ;;
    --no-setup) SETUP=0; shift ;;
    --debug) PROFILE=debug; DEBUG_FLAG=(--debug); shift ;;
    -h|--help) usage ;;
    *) printf 'unknown argument: %s\n' "$1" >&2; usage ;;
  esac
done
[ -z "$BRANDING" ] || [ "$HELLO" = 0 ] || die "--branding and --hello-world do not go together"

cd "$REPO_ROOT"
[ "$SETUP" = 0 ] || bash "$REPO_ROOT/scripts/setup.sh"
command -v tauri >/dev/null 2>&1 || die "the Tauri CLI is missing: run scripts/setup.sh"

DEB_DIR="$CARGO_TARGET_DIR/$PROFILE/bundle/deb"

# The .deb the bundler just wrote for package name $1 (it names files after the product).
newest_deb() {
  local name="$1" deb
  for deb in "$DEB_DIR"/*.deb; do
    [ -f "$deb" ] || continue
    [ "$(dpkg-deb -f "$deb" Package)" = "$name" ] || continue
    [ "$deb" -nt "$STAMP" ] && { echo "$deb"; return 0; }
  done
  die "the bundler wrote no .deb for package $name in $DEB_DIR"
}

STAMP="$(mktemp)"
trap 'rm -f "$STAMP"' EXIT

# The bundler compresses with gzip; Debian's own packages use xz, which every supported
# Debian and Ubuntu dpkg reads, and which takes about a quarter off what users download
# (16.3 MB of binary: 7.1 MiB as gzip, 5.1 MiB as xz). Release packages only: xz at its
# strongest setting is slow on a debug build's 200 MB, whose size means nothing anyway.
# Prints the line `deb: PATH` the callers read.
finish_deb() {
  local deb="$1" dir
  if [ "$PROFILE" = release ]; then
    dir="$(mktemp -d)"
    dpkg-deb -R "$deb" "$dir/root"
    dpkg-deb --root-owner-group -Zxz -z9 -Sextreme -b "$dir/root" "$deb" >/dev/null
    rm -rf "$dir"
  fi
  printf 'deb: %s\n' "$deb"
}

if [ "$HELLO" = 1 ]; then
  log "Bundling the bare Tauri hello-world (bench/hello-world)"
  (cd "$REPO_ROOT/bench/hello-world" && tauri build --ci "${DEBUG_FLAG[@]}" --bundles deb --features custom-protocol)
  finish_deb "$(newest_deb hello-world-bench)"
  exit 0
fi

build_ui

if [ -z "$BRANDING" ]; then
  # tauri-build copies a branded build's resources next to the binary for dev runs; a stale
  # copy there would brand a plain binary started from the build directory.
  rm -f "$CARGO_TARGET_DIR/$PROFILE/branding.json"
  log "Bundling PEC Desktop (.deb, $PROFILE build)"
  (cd "$REPO_ROOT/src-tauri" && tauri build --ci "${DEBUG_FLAG[@]}" --bundles deb --features custom-protocol)
  finish_deb "$(newest_deb pec-desktop)"
  exit 0
fi

[ -f "$BRANDING" ] || die "no branding file at $BRANDING"
log "Checking the branding file $BRANDING"
cargo build --quiet -p pec-branding
BRANDING_TOOL="$CARGO_TARGET_DIR/debug/pec-branding"
# Everything for this build in one directory: resource, logo, icons, overlay.
OUT="$CARGO_TARGET_DIR/branding/$(basename "${BRANDING%.*}")"
rm -rf "$OUT"
"$BRANDING_TOOL" build "$BRANDING" --out "$OUT" --base "$REPO_ROOT/src-tauri/tauri.conf.json" ||
  die "the branding file $BRANDING is not valid (see above); nothing was built"
PACKAGE="$(cat "$OUT/package-name")"

log "Making the icons from the logo"
LOGO="$(ls "$OUT"/logo.* | head -n 1)"
tauri icon "$LOGO" -o "$OUT/icons" >/dev/null
tauri icon "$LOGO" -o "$OUT/icons" --png 16,24,48,256 >/dev/null

log "Bundling the branded package $PACKAGE (.deb, $PROFILE build, without the embedded sandbox)"
# A branded build presets its association's provider: it carries no built-in sandbox server,
# no demo accounts and no test CA (the `embedded-sandbox` feature is off; see src-tauri/Cargo.toml).
(cd "$REPO_ROOT/src-tauri" &&
  tauri build --ci "${DEBUG_FLAG[@]}" --bundles deb --features custom-protocol --config "$OUT/tauri.overlay.json" \
    -- --no-default-features)
# The resource copy tauri-build leaves beside the binary for dev runs would brand the next
# plain binary started from the build directory (the end-to-end tests start it there).
rm -f "$CARGO_TARGET_DIR/$PROFILE/branding.json"
finish_deb "$(newest_deb "$PACKAGE")"
