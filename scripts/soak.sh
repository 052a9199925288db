#!/usr/bin/env bash
# The long form of the chaos and fuzz suite (issue 16, point 6; docs/security.md): the same test the test command
# runs in its short form (ControlTests.ChaosTests), for longer, with more tasks and more mutated requests, once per
# seed. Usage: bash scripts/soak.sh [--seconds 600] [--tasks 1000] [--mutations 50000] [--seeds "1 2 3"]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600 tasks=1000 mutations=50000 seeds="1 2 3"
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --tasks) tasks=$2; shift 2 ;;
    --mutations) mutations=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--tasks N] [--mutations N] [--seeds \"1 2 3\"]" >&2; exit 2 ;;
  esac
done
source scripts/install-deps.sh
bash scripts/install-test-deps.sh
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --build-tests -Xswiftc -enable-testing
for seed in $seeds; do
  echo "== soak: seed $seed, $seconds s of kills, $tasks tasks, $mutations mutated requests"
  OPS_CHAOS_SECONDS=$seconds OPS_CHAOS_TASKS=$tasks OPS_CHAOS_MUTATIONS=$mutations OPS_CHAOS_SEED=$seed \
    swift test -c release --skip-build -Xswiftc -enable-testing --disable-swift-testing \
      --filter ControlTests.ChaosTests 2>&1 | grep -E "CHAOS|FUZZ|error|passed|failed" 
done
