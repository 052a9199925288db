#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite
# (unit tests plus integration tests with a real throwaway PostgreSQL and real processes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
bash scripts/install-test-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
# Release mode: the suite has numeric and simulation tests that debug builds run 10-50x slower.
swift build -c release --build-tests -Xswiftc -enable-testing
swift test -c release --skip-build -Xswiftc -enable-testing "$@"
