#!/usr/bin/env bash
# Runs every fuzz target of crates/card (libFuzzer through cargo-fuzz) for a short time each,
# from its seeds, and prints one line `fuzz: N passed, M failed` for the test command.
#
#   scripts/rig/fuzz-card.sh [SECONDS]     (default 10 per target; PEC_FUZZ_SECONDS too)
#
# Nightly Rust is used when rustup has it; otherwise the stable compiler with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz needs -Z flags for the sanitizer coverage), so a machine with
# only the stable toolchain still fuzzes. Builds go to $PEC_CACHE/fuzz-target; the corpus
# grows in crates/card/fuzz/corpus (ignored by git), crashes land in fuzz/artifacts.
set -uo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

SECS="${1:-${PEC_FUZZ_SECONDS:-10}}"
FUZZ_DIR="$REPO_ROOT/crates/card"
TARGET_DIR="$PEC_CACHE/fuzz-target"
command -v cargo-fuzz >/dev/null 2>&1 || die "cargo-fuzz is missing (scripts/setup.sh installs it)"

TOOLCHAIN=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  TOOLCHAIN=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

cd "$FUZZ_DIR"
passed=0
failed=0
for t in $(cargo "${TOOLCHAIN[@]}" fuzz list); do
  mkdir -p "fuzz/corpus/$t"
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds=("fuzz/seeds/$t")
  log "fuzz $t (${SECS}s)"
  if cargo "${TOOLCHAIN[@]}" fuzz run --target-dir "$TARGET_DIR" "$t" "fuzz/corpus/$t" "${seeds[@]}" \
      -- -max_total_time="$SECS" -rss_limit_mb=2048 2>&1 | tail -n 3; then
    passed=$((passed + 1))
  else
    echo "fuzz target $t FAILED (see crates/card/fuzz/artifacts/$t)"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
