#!/usr/bin/env bash
# Shard fetch throughput of the blob store and of S3 (moto) vs curl of the same object, in one run
# (docs/storage.md). Needs moto and boto3 (scripts/install-test-deps.sh) and PostgreSQL (scripts/install-deps.sh).
#   bash scripts/bench-storage.sh [size-MiB, default 256] [repetitions, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product StorageBench >/dev/null
exec .build/release/StorageBench "${1:-256}" "${2:-3}"
