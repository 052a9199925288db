#!/usr/bin/env bash
# History listings at 10M rows (docs/history.md): builds and runs Benchmarks/HistoryBench, which fills the same
# events and log lines into week-partitioned tables and into the unpartitioned tables of the migration before
# (the anchor, same server, same run), times the API's listing queries on both and prints the ratios, then times the
# migration itself on the unpartitioned copy. Takes ~15-30 minutes on 2 cores and ~8 GB of disk under $TMPDIR.
#   bash scripts/bench-history.sh [--events 10000000] [--lines 10000000] [--days 30] [--jobs 1000] [--runs 200]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product HistoryBench >/dev/null
exec .build/release/HistoryBench "$@"
