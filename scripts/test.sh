#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need (Node 22, the MCP conformance suite and the MCP
# TypeScript SDK and Inspector, pinned in scripts/node; PostgreSQL 15; Chromium) idempotently, starts a throw-away
# PostgreSQL on loopback for the storage tests (stopped on exit), then runs every test project in the solution.
# Usage: scripts/test.sh [extra arguments for dotnet test]
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/lib/dotnet.sh
source scripts/lib/dotnet.sh
gatehouse_require_dotnet

if ! command -v npm >/dev/null 2>&1; then
    echo "test.sh: npm is missing; installing Debian's nodejs and npm" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`, which downloads a
# browser of its own); Playwright's driver comes with its NuGet package.
if [[ ! -x /usr/bin/chromium ]]; then
    echo "test.sh: /usr/bin/chromium is missing; installing Debian's chromium" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
# shellcheck source=scripts/lib/test-tools.sh
source scripts/lib/test-tools.sh
# shellcheck source=scripts/lib/postgres.sh
source scripts/lib/postgres.sh
trap gatehouse_postgres_stop EXIT
gatehouse_postgres_start

results="$repo_root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
log="$results/dotnet-test.log"

set +e
dotnet test --solution Gatehouse.slnx --results-directory "$results" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One closing line in the plain form CI reads: "N passed, N failed, N skipped".
awk '/^  total:/{t+=$2} /^  failed:/{f+=$2} /^  succeeded:/{s+=$2} /^  skipped:/{k+=$2}
     END { if (t > 0) printf "Tests: %d passed, %d failed, %d skipped\n", s, f, k }' "$log"
exit "$status"
