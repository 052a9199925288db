#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite
# (unit tests plus integration tests with a real throwaway PostgreSQL and real processes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
bash scripts/install-test-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
# The layout is checked first: `swift format` with .swift-format (4 spaces, 120 columns); fix with scripts/format.sh.
bash scripts/format.sh --check
# Release mode: the suite has numeric and simulation tests that debug builds run 10-50x slower.
swift build -c release --build-tests -Xswiftc -enable-testing
# The suite is XCTest only; with Swift Testing disabled, the runner's last line is XCTest's own summary.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test -c release --skip-build -Xswiftc -enable-testing --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# A plain closing line: "N passed, N failed".
passed=$(grep -cE "^Test Case '.*' passed" "$log" || true)
failed=$(grep -cE "^Test Case '.*' failed" "$log" || true)
echo "$passed passed, $failed failed"
exit "$status"
