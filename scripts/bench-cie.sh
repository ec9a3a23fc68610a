#!/usr/bin/env bash
# The CIE benchmark: "read the certificate, verify the PIN, sign" on each virtual
# CIE through pcscd + vpcd, ours, as a table: APDUs, VERIFYs, wall time.
#
#   scripts/bench-cie.sh [ROUNDS] [PROFILE...]     (default: 5 rounds, the four lots)
#
# It starts pcscd through scripts/rig/pcsc.sh (run it inside /work/isolate on a shared
# machine; it refuses when another pcscd runs) and stops it at the end. Not part of
# scripts/test.sh: timing goals are reported, never asserted.
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=rig/pcsc.sh
. "$REPO_ROOT/scripts/rig/pcsc.sh"

cd "$REPO_ROOT"
log "Building the benchmark (release)"
cargo build --release -p pec-card --example bench_cie
RIG="$(mktemp -d "${TMPDIR:-/tmp}/pec-bench-cie.XXXXXX")"
trap 'pcsc_rig_stop "$RIG"; rm -rf "$RIG"' EXIT
pcsc_rig_start "$RIG"
log "ours: pec-card on the virtual CIEs"
"$CARGO_TARGET_DIR/release/examples/bench_cie" "$@"
