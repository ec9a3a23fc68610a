#!/usr/bin/env bash
# Supply-chain checks of the test command (issue 17):
#   - cargo deny: licences, bans (duplicates, wildcards), sources (crates.io only) and RustSec
#     advisories per deny.toml;
#   - npm audit --omit=dev of the UI's production dependencies;
#   - GitHub Actions pinned by commit, and no signing secret written to $GITHUB_ENV.
# Nothing here uses the network: the advisory database and the npm audit report are fetched by
# scripts/setup.sh (set-up, with network) and read here from those local copies; a missing
# copy fails its check and says how to get it. Prints `supply-chain: N passed, M failed` last.
set -uo pipefail
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT"

passed=0
failed=0
check() {
  local name="$1"; shift
  printf -- '--- %s\n' "$name"
  if "$@"; then
    passed=$((passed + 1))
    printf 'ok: %s\n' "$name"
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
  # fetched from here; cargo deny fails when there is none.
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
    echo "npm audit: no report for this ui/package-lock.json: run scripts/setup.sh (it asks the registry)"
    return 1
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
printf 'supply-chain: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" = 0 ]
