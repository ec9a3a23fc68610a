#!/usr/bin/env bash
# Short runs of every cargo-fuzz target of the project (crates/*/fuzz), as a step of the test
# command: each target runs for PEC_FUZZ_SECONDS (default 20) from its seeds; a crash, a
# panic or a timeout fails it (libFuzzer exits non-zero and leaves the input in the run's
# artifacts directory, printed below).
#
# The machine's one toolchain is stable, so the targets are built without a sanitizer (safe
# Rust: a panic is the bug libFuzzer catches), with RUSTC_BOOTSTRAP for the coverage flags
# cargo-fuzz passes. Prints `fuzz: N passed, M failed` last.
set -uo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT"

SECONDS_EACH="${PEC_FUZZ_SECONDS:-20}"
command -v cargo-fuzz >/dev/null 2>&1 || { echo "cargo-fuzz is missing: run scripts/setup.sh"; echo "fuzz: 0 passed, 1 failed"; exit 1; }
work="$(mktemp -d "${TMPDIR:-/tmp}/pec-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
target_dir="${CARGO_TARGET_DIR:-$PEC_CACHE/target}/fuzz"

passed=0
failed=0
for dir in crates/*/fuzz; do
  crate="$(dirname "$dir")"
  targets="$(sed -n 's/^name = "\(.*\)"$/\1/p' "$dir/Cargo.toml" | grep -v -- '-fuzz$')"
  for target in $targets; do
    corpus="$work/$(basename "$crate")-$target"
    mkdir -p "$corpus" "$work/artifacts"
    seeds=()
    [ -d "$dir/seeds/$target" ] && seeds=("$REPO_ROOT/$dir/seeds/$target")
    printf -- '--- %s %s (%ss)\n' "$crate" "$target" "$SECONDS_EACH"
    if (cd "$crate" && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none \
          --target-dir "$target_dir" "$target" "$corpus" "${seeds[@]}" -- \
          -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
          -artifact_prefix="$work/artifacts/" -print_final_stats=1) >"$work/$target.log" 2>&1; then
      passed=$((passed + 1))
      grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$work/$target.log" | tail -n 1
    else
      failed=$((failed + 1))
      tail -n 40 "$work/$target.log"
      echo "FAILED: $crate $target; inputs kept in $PEC_CACHE/fuzz-artifacts"
      mkdir -p "$PEC_CACHE/fuzz-artifacts"
      cp "$work"/artifacts/* "$PEC_CACHE/fuzz-artifacts/" 2>/dev/null || true
    fi
  done
done
printf 'fuzz: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
