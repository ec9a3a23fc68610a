#!/usr/bin/env bash
# Supply-chain checks of the test command:
#   - cargo deny: licences, bans (duplicates, wildcards), sources (crates.io only) and RustSec
#     advisories per deny.toml;
#   - npm audit --omit=dev of the UI's production dependencies;
#   - GitHub Actions pinned by commit, and no signing secret written to $GITHUB_ENV.
# Nothing here uses the network: the advisory database and the npm audit report are fetched by
# scripts/setup.sh and read here from those local copies. Where set-up could not reach their
# sources (GitHub for RustSec, the registry's audit service for npm: a machine that reaches
# package registries only), those two checks are reported as skipped, never as passed; the
# `audit` workflow (.github/workflows/audit.yml) runs them every day on a runner that
# reaches both. Prints `supply-chain: N passed, M failed, K skipped` last.
set -uo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT"

passed=0
failed=0
skipped=0
# A check returns 2 when the data it reads is not on this machine.
check() {
  local name="$1"; shift
  printf -- '--- %s\n' "$name"
  local rc=0
  "$@" || rc=$?
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
    printf 'ok: %s\n' "$name"
  elif [ "$rc" = 2 ]; then
    skipped=$((skipped + 1))
    printf 'SKIPPED: %s (the data was not reachable at set-up; the audit workflow checks it)\n' "$name"
  else
    failed=$((failed + 1))
    printf 'FAILED: %s\n' "$name"
  fi
}

deny() {
  command -v cargo-deny >/dev/null 2>&1 || { echo "cargo-deny is missing: run scripts/setup.sh"; return 1; }
  cargo deny --frozen --all-features --log-level error check licenses bans sources
}

advisories() {
  command -v cargo-deny >/dev/null 2>&1 || { echo "cargo-deny is missing: run scripts/setup.sh"; return 1; }
  # --frozen: the database as scripts/setup.sh fetched it into $CARGO_HOME/advisory-dbs, never
  # fetched from here.
  if ! compgen -G "${CARGO_HOME:-$HOME/.cargo}/advisory-dbs/*/crates" >/dev/null; then
    echo "no RustSec advisory database on this machine (scripts/setup.sh could not fetch it)"
    return 2
  fi
  if ! cargo deny --frozen --all-features check advisories; then
    echo "(no database, or an advisory: scripts/setup.sh fetches the database)"
    return 1
  fi
}

npm_audit() {
  local lock_hash report
  lock_hash="$(sha256sum ui/package-lock.json | cut -c1-64)"
  report="$PEC_CACHE/npm-audit/$lock_hash.json"
  if [ ! -s "$report" ]; then
    echo "npm audit: no report for this ui/package-lock.json (scripts/setup.sh asks the registry's audit service)"
    return 2
  fi
  echo "npm audit report of $(date -r "$report" -u +%Y-%m-%dT%H:%MZ) for this package-lock.json:"
  # The counts by severity; any vulnerability fails the check.
  node -e '
    const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).metadata.vulnerabilities;
    console.log(Object.entries(v).map(([k, n]) => `${k}: ${n}`).join(", "));
    process.exit(v.total === 0 ? 0 : 1);
  ' "$report"
}

workflows() {
  local bad=0 line
  # Every action by a full commit hash: a tag can be moved to other code.
  while IFS= read -r line; do
    echo "not pinned by commit: $line"
    bad=1
  done < <(grep -nE '^\s*-?\s*uses:' .github/workflows/*.yml | grep -vE 'uses:\s*[^@]+@[0-9a-f]{40}(\s|$)' || true)
  # Secrets stay in the step that uses them: nothing secret is written to $GITHUB_ENV.
  while IFS= read -r line; do
    echo "writes a secret to GITHUB_ENV: $line"
    bad=1
  done < <(grep -nE 'GITHUB_ENV' .github/workflows/*.yml | grep -E 'APPLE_|CERTIFICATE|PASSWORD|SECRET|TOKEN|\$\{!|secrets\.' || true)
  [ "$bad" = 0 ] && echo "workflows: every action pinned, no secret in GITHUB_ENV"
  return "$bad"
}

check "cargo deny (licences, bans, sources)" deny
check "cargo deny (advisories)" advisories
check "npm audit --omit=dev" npm_audit
check "workflows pinned, secrets not exported" workflows
printf 'supply-chain: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" = 0 ]
