#!/usr/bin/env bash
# Builds and runs the project's benchmarks and prints their tables.
#
#   scripts/bench.sh [--check] [--card] [MAILBOXES] [SECONDS] [ROUNDS]
#
# Default: the status benchmark, the sandbox's mailbox-status endpoint over 1,000,000 mailboxes
# beside a trivial axum handler, under wrk (64 connections, 10 s, 2 alternating rounds). It
# prints requests/s, p50, p99, the server's and wrk's CPU time per request for both (wrk shares
# the two cores, so what it spends is taken from the server), then the ratio and whether the
# goal (ratio >= 0.5, p99 < 10 ms) is met in every round.
#   --check  exit 1 when the goal is not met (the default only reports)
#   --card   also run the card benchmark (our crate vs OpenSC on the same virtual card); it
#            starts pcscd through scripts/rig/pcsc.sh and refuses if another pcscd runs.
#
# Not part of scripts/test.sh: a benchmark on a shared machine measures the machine as much
# as the code, and takes minutes (release build, seeding, runs).
# The seeded database is kept in $PEC_CACHE/bench/ and reused by later runs.
# wrk is installed with apt when missing (root or sudo).
set -euo pipefail
# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

CHECK=0
CARD=0
ARGS=()
for a in "$@"; do
  case "$a" in
    --check) CHECK=1 ;;
    --card) CARD=1 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option: $a" ;;
    *) ARGS+=("$a") ;;
  esac
done
MAILBOXES="${ARGS[0]:-1000000}"
SECONDS_PER_RUN="${ARGS[1]:-10}"
ROUNDS="${ARGS[2]:-2}"

if ! command -v wrk >/dev/null 2>&1; then
  log "Installing wrk (apt)"
  as_root apt-get install -y wrk >/dev/null || die "wrk is needed: apt-get install wrk"
fi

# Thin LTO off and parallel codegen: the full release profile (fat LTO, one codegen unit)
# takes many minutes to link on a 2-core machine and changes both servers alike, since they
# run in the same binary.
export CARGO_PROFILE_SERVER_LTO=false CARGO_PROFILE_SERVER_CODEGEN_UNITS=16

cd "$REPO_ROOT"
log "Building the status benchmark (server profile)"
cargo build --profile server -p pec-sandbox --example bench_status

mkdir -p "$PEC_CACHE/bench"
DB="$PEC_CACHE/bench/status-$MAILBOXES.sqlite"
log "Status benchmark: $MAILBOXES mailboxes, $SECONDS_PER_RUN s per run, $ROUNDS rounds (db $DB)"
OUT="$(mktemp "${TMPDIR:-/tmp}/pec-bench.XXXXXX")"
trap 'rm -f "$OUT"' EXIT
"$CARGO_TARGET_DIR/server/examples/bench_status" "$MAILBOXES" "$SECONDS_PER_RUN" "$DB" "$ROUNDS" | tee "$OUT"

STATUS=0
if [ "$CHECK" = 1 ] && ! grep -q 'met in every round: yes' "$OUT"; then
  warn "status benchmark: goal not met"
  STATUS=1
fi

if [ "$CARD" = 1 ]; then
  # shellcheck source=rig/pcsc.sh
  . "$REPO_ROOT/scripts/rig/pcsc.sh"
  log "Card benchmark: pec-card vs OpenSC (pcscd + vpcd + virtual card)"
  cargo build --release -p pec-card --example bench_vs_opensc
  RIG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pec-bench-pcsc.XXXXXX")"
  pcsc_rig_with "$RIG_DIR" "$CARGO_TARGET_DIR/release/examples/bench_vs_opensc" stincard-2048 5 || STATUS=1
  rm -rf "$RIG_DIR"
fi

exit "$STATUS"
