#!/usr/bin/env bash
# The signature benchmark: a CAdES-BES .p7m of a 200 kB PDF on the same virtual STIncard, pec-sign's
# native DF_DS signer against OpenSC (opensc-pkcs11.so through `openssl cms -sign` and libp11's
# PKCS#11 engine), in one run. Prints a table of APDUs and wall time (medians) and the ratio;
# the goal is at most half of OpenSC's.
#
#   scripts/bench-sign.sh [ROUNDS]      (default 5)
#
# Starts pcscd through scripts/rig/pcsc.sh (refuses if another pcscd runs: use /work/isolate
# or a machine of its own). Not part of scripts/test.sh (timing belongs in benchmarks).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=rig/pcsc.sh
. "$REPO_ROOT/scripts/rig/pcsc.sh"
cd "$REPO_ROOT"

ROUNDS="${1:-5}"
log "Building the signature benchmark (release)"
cargo build --release -p pec-sign --example bench_vs_opensc
RIG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pec-bench-sign.XXXXXX")"
trap 'rm -rf "$RIG_DIR"' EXIT
log "Signature benchmark: pec-sign vs OpenSC (pcscd + vpcd + virtual STIncard), $ROUNDS rounds"
pcsc_rig_with "$RIG_DIR" "$CARGO_TARGET_DIR/release/examples/bench_vs_opensc" "$ROUNDS"
