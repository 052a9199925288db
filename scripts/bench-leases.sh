#!/usr/bin/env bash
# Lease throughput side by side, in one run on one machine (docs/leases.md): the raw PostgreSQL anchor (pgbench running
# Benchmarks/leases/claim_complete_b{1,64}.sql: claim with FOR UPDATE SKIP LOCKED, complete, two transactions), then
# StoreBench (the store alone) and ControlBench (HTTP end to end), each at batch 1 and 64, 8 workers, fsync on.
# Prints one table: tasks/s, the ratio to raw at the same batch and queue depth, p99 claim latency, and fairness
# (max/min tasks per worker).
#   bash scripts/bench-leases.sh [--queued 10000] [--deep 1000000] [--drain-b1 2000] [--drain-b64 0] [--skip-control]
#                                [--no-build]
# --queued N: tasks queued when each run starts. --deep M: repeat everything with M queued (slow: minutes to submit).
# --drain-b1 / --drain-b64: tasks claimed+completed per run (0: all queued); batch 1 runs at ~100s of tasks/s, so
# by default it drains a part of the queue. --no-build: run the StoreBench/ControlBench already in .build/release
# (e.g. from the CI-style `--build-tests -Xswiftc -enable-testing` build, which a plain build would redo from scratch).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
QUEUED=10000 DEEP=0 DRAIN_B1=2000 DRAIN_B64=0 SKIP_CONTROL=0 WORKERS=8 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --queued) QUEUED=$2; shift 2 ;;
    --deep) DEEP=$2; shift 2 ;;
    --drain-b1) DRAIN_B1=$2; shift 2 ;;
    --drain-b64) DRAIN_B64=$2; shift 2 ;;
    --skip-control) SKIP_CONTROL=1; shift ;;
    --no-build) BUILD=0; shift ;;
    *) echo "bench-leases.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done

[ "$BUILD" = 0 ] || swift build -c release --product StoreBench >/dev/null
[ "$BUILD" = 0 ] || [ "$SKIP_CONTROL" = 1 ] || swift build -c release --product ControlBench >/dev/null

# A throwaway server for the raw anchor (scripts/lib/throwaway-postgres.sh).
source scripts/lib/throwaway-postgres.sh
RAW=("${PG[@]}")

ROWS=()
HEADER=$(printf '%-14s %9s %6s %8s %7s %14s %8s' "what" "queued" "batch" "tasks/s" "vs raw" "claim latency" "max/min")
# Each row is printed when measured (a later failure keeps it) and again in the table at the end.
row() { ROWS+=("$(printf '%-14s %9s %6s %8s %7s %14s %8s' "$@")"); echo "${ROWS[-1]}"; }

# raw BATCH QUEUED DRAIN: sets RAW_RATE (tasks/s) and RAW_CLAIM_MS (mean latency of the claim statement)
raw() {
  local batch=$1 queued=$2 drain=$3
  "$PSQL" "${RAW[@]}" -q -v queued="$queued" -f Benchmarks/leases/schema.sql postgres >/dev/null
  local per=$(( drain / batch / WORKERS )); [ "$per" -ge 1 ] || per=1
  local out; out=$("$PGBENCH" "${RAW[@]}" -n -r -c "$WORKERS" -j 2 -t "$per" -f "Benchmarks/leases/claim_complete_b$batch.sql" postgres 2>&1)
  local tps; tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
  RAW_CLAIM_MS=$(echo "$out" | awk '/WITH claimed/ {print $1; exit}')
  RAW_RATE=$(awk -v t="$tps" -v b="$batch" 'BEGIN { printf "%.0f", t * b }')
  # Its dead rows go with it: left, this server's autovacuum would clean them up while the Swift benches that
  # follow run on the same 2 cores (docs/leases.md, "The model's runs paid for the run before them").
  "$PSQL" "${RAW[@]}" -qc "TRUNCATE raw_tasks" postgres
}

# value KEY OUTPUT -> the KEY=value of a bench's RESULT line
value() { echo "$2" | sed -n "s/.*RESULT.* $1=\([^ ]*\).*/\1/p" | tail -1; }

run_depth() {
  local queued=$1
  for batch in 64 1; do
    local drain=$([ "$batch" = 1 ] && echo "$DRAIN_B1" || echo "$DRAIN_B64")
    [ "$drain" -gt 0 ] && [ "$drain" -le "$queued" ] || drain=$queued
    raw "$batch" "$queued" "$drain"
    local raw_rate=$RAW_RATE
    row "raw pgbench" "$queued" "$batch" "$raw_rate" "1.00" "avg ${RAW_CLAIM_MS:-?}ms" "-"
    local out
    out=$(.build/release/StoreBench --tasks "$queued" --drain "$drain" --workers "$WORKERS" --batch "$batch" 2>&1) \
      || { echo "$out" >&2; row "StoreBench" "$queued" "$batch" "failed" "-" "-" "-"; continue; }
    local rate; rate=$(value tasks_per_s "$out")
    row "StoreBench" "$queued" "$batch" "$rate" "$(awk -v a="$rate" -v b="$raw_rate" 'BEGIN{printf "%.2f", a/b}')" \
      "p99 $(value p99_claim_ms "$out")ms" "$(value fairness "$out")"
    FAIR+=("StoreBench q=$queued b=$batch per worker: $(value per_worker "$out")")
    if [ "$SKIP_CONTROL" = 0 ]; then
      out=$(.build/release/ControlBench --tasks "$queued" --drain "$drain" --workers "$WORKERS" --batch "$batch" 2>&1) \
        || { echo "$out" >&2; row "ControlBench" "$queued" "$batch" "failed" "-" "-" "-"; continue; }
      rate=$(value tasks_per_s "$out")
      row "ControlBench" "$queued" "$batch" "$rate" "$(awk -v a="$rate" -v b="$raw_rate" 'BEGIN{printf "%.2f", a/b}')" \
        "p99 $(value p99_claim_ms "$out")ms" "$(value fairness "$out")"
      FAIR+=("ControlBench q=$queued b=$batch per worker: $(value per_worker "$out")")
      # In the same order: claims answered with nothing, and each worker's slowest exchange (a low count from a few
      # long waits, or from a worker slow throughout).
      FAIR+=("  empty answers: $(value empty_per_worker "$out"); slowest exchange ms: $(value slowest_ms_per_worker "$out")")
    fi
  done
}

FAIR=()
echo "$HEADER"
run_depth "$QUEUED"
[ "$DEEP" = 0 ] || run_depth "$DEEP"

echo "lease throughput, $WORKERS workers, fsync on, $(nproc) cores, $("$PGBENCH" --version | head -1)"
echo "$HEADER"
for r in "${ROWS[@]}"; do echo "$r"; done
for f in "${FAIR[@]}"; do echo "$f"; done
