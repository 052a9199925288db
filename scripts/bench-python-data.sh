#!/usr/bin/env bash
# llmops.data (the Python SDK's reader: python3 + ctypes + libLLMOpsStreamC) as a ratio to the Swift stream it wraps,
# on the same shards in the same run (docs/python.md, "Measured"): packed samples per second of the Swift stream's
# 16-bit batches, of `Stream.fill_into` (1 and 16 batches a call) and of iterating `Stream.next_batch()`.
#   bash scripts/bench-python-data.sh [PythonDataBench options: --size-mb 300 --seq 1024 --batch 8 --rounds 2]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product LLMOpsStreamC >/dev/null
swift build -c release --product PythonDataBench >/dev/null
.build/release/PythonDataBench "$@"
