#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need when it is missing
# (Debian's chromium for the browser tests, redis-server for the cluster tests, iproute2, nftables
# and curl for the silent-client test's network namespace), runs every test project, and ends on
# one summary line.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-packages.sh chromium redis-server ip:iproute2 nft:nftables curl

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# One test project at a time (-m:1): the cluster tests check real-time promises (counts exact within
# 15 s of a silo kill) on real processes and must not share the two cores with the browser tests.
dotnet test Presence.sln -m:1 "$@" 2>&1 | tee "$log" || status=$?

# One line per test assembly: "Passed!  - Failed: 0, Passed: 19, Skipped: 0, Total: 19, ..."
summary=$(grep -E '(Passed|Failed)! +- Failed: ' "$log" | awk -F'[:,]' '
  { failed += $2; passed += $4; skipped += $6; assemblies++ }
  END { if (assemblies) printf "%d passed, %d failed, %d skipped", passed, failed, skipped }')
if [ -z "$summary" ]; then
  echo "tests: no test ran (see the build output above)"
  exit 1
fi
echo "tests: $summary"
exit "$status"
