#!/usr/bin/env bash
# The long form of the API fuzz test (docs/api.md): schemathesis against a live control plane with a real
# PostgreSQL, every check, many examples per operation. The test suite's APIFuzzTests runs the same with 6.
#   bash scripts/api-fuzz.sh [--examples 100] [--no-build]
# --no-build: run the test binary already in .build/release (from the CI-style build with -enable-testing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
EXAMPLES=100 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --examples) EXAMPLES=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "api-fuzz.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done
bash scripts/install-test-deps.sh
if [ "$BUILD" = 1 ]; then
  swift build -c release --build-tests -Xswiftc -enable-testing
fi
OPS_API_FUZZ_MAX_EXAMPLES=$EXAMPLES swift test -c release --skip-build -Xswiftc -enable-testing \
  --disable-swift-testing --filter 'ControlTests.APIFuzzTests'
