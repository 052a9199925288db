#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs the whole suite
# (unit tests plus integration tests with a real throwaway PostgreSQL and real processes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
bash scripts/install-test-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build --build-tests
swift test --skip-build "$@"
