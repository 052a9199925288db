#!/usr/bin/env bash
# What each part of a lease costs, beside the raw anchor, in one run (docs/leases.md, "A model of the lease"). pgbench
# runs one worker's loop at batch 64 (8 clients, fsync on) against the control plane's own schema (migrated by
# `opsctl serve`): the claim and completion as the control plane runs them (printed from TaskSQL by StoreBench), the
# same without its batch events, with two task indexes trimmed, the design's floor (the lease alone, nothing else),
# and the narrow lease design (narrow_lease.sql: queue and lease tables beside a task row whose updates are HOT),
# its tables kept by the lease statements or by triggers on `tasks` (narrow_trigger.sql).
# No HTTP and no Swift in the loop: the numbers say what the database allows each variant.
#   bash scripts/bench-lease-model.sh [--queued 100000] [--rounds 2] [--no-build]
# Prints per round: tasks/s and the ratio to raw `FOR UPDATE SKIP LOCKED` measured in the same round.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
QUEUED=100000 ROUNDS=2 BUILD=1 WORKERS=8
while [ $# -gt 0 ]; do
  case "$1" in
    --queued) QUEUED=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "bench-lease-model.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done
source scripts/lib/lease-model-setup.sh

# database DDL...: a copy of the migrated schema with the variant's DDL on top.
database() {
  local name=$1; shift
  "$PSQL" "${PG[@]}" -qc "CREATE DATABASE $name" postgres
  "$PSQL" "${PG[@]}" -q -v ON_ERROR_STOP=1 -f "$WORK/schema.sql" "$name" >/dev/null
  for ddl in "$@"; do
    case "$ddl" in
      *.sql) "$PSQL" "${PG[@]}" -q -v ON_ERROR_STOP=1 -f "$MODEL/$ddl" "$name" >/dev/null ;;
      *) "$PSQL" "${PG[@]}" -q -v ON_ERROR_STOP=1 -c "$ddl" "$name" >/dev/null ;;
    esac
  done
}
database today
database trimmed trim_task_indexes.sql
database narrow narrow_lease.sql
database narrow80 narrow_lease.sql "ALTER TABLE tasks SET (fillfactor = 80)"
database narrowtrig narrow_lease.sql narrow_trigger.sql
"$PSQL" "${PG[@]}" -qc "CREATE DATABASE raw" postgres

PER=$(( QUEUED * 95 / 100 / 64 / WORKERS ))
# loop DATABASE SCRIPT EVENTS [PROBE]: tasks/s of one run over a freshly filled queue.
loop() {
  local db=$1 script=$2 events=$3 probe=${4:-1} mode=prepared
  if [ "$db" = raw ]; then
    "$PSQL" "${PG[@]}" -q -v queued="$QUEUED" -f Benchmarks/leases/schema.sql raw >/dev/null 2>&1; mode=simple
  else
    "$PSQL" "${PG[@]}" -q -v queued="$QUEUED" -f "$MODEL/setup.sql" "$db" >/dev/null
  fi
  [[ "$db" != narrow* ]] || "$PSQL" "${PG[@]}" -q -f "$MODEL/narrow_lease_setup.sql" "$db" >/dev/null
  "$PSQL" "${PG[@]}" -qc CHECKPOINT "$db"
  local out; out=$("$PGBENCH" "${PG[@]}" -n -M "$mode" -D events="$events" -D probe="$probe" -c "$WORKERS" -j 2 -t "$PER" -f "$script" "$db" 2>&1)
  echo "$out" | grep -q "number of failed transactions: 0 " && ! echo "$out" | grep -q "Run was aborted" || { echo "$out" >&2; echo "pgbench failed on $db/$script" >&2; exit 1; }
  echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | awk '{ printf "%.0f", $1 * 64 }'
}

printf '%-5s %-58s %8s %7s\n' round "lease design (batch 64, $QUEUED queued, $WORKERS clients)" tasks/s "vs raw"
for round in $(seq 1 "$ROUNDS"); do
  raw=$(loop raw Benchmarks/leases/claim_complete_b64.sql 0)
  printf '%-5s %-58s %8s %7s\n' "$round" "raw FOR UPDATE SKIP LOCKED (the anchor)" "$raw" 1.00
  while IFS='|' read -r db script events probe what; do
    rate=$(loop "$db" "$script" "$events" "$probe")
    printf '%-5s %-58s %8s %7s\n' "$round" "$what" "$rate" "$(awk -v a="$rate" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')"
  done <<VARIANTS
today|$WORK/today_b64.sql|1|1|today: lease in the task row, 1 event per job per batch
today|$WORK/today_b64.sql|0|1|  today without the batch events
trimmed|$WORK/today_b64.sql|1|1|  today with 2 task indexes trimmed
today|$MODEL/lease_in_task_b64.sql|0|1|the floor: the lease alone, no events
narrow|$MODEL/narrow_lease_b64.sql|0|0|narrow lease: queue and lease rows, HOT task row, no events
narrow|$MODEL/narrow_lease_b64.sql|0|1|  the same with the job probe
narrow|$MODEL/narrow_lease_b64.sql|1|1|  the same with the job probe and batch events
narrow80|$MODEL/narrow_lease_b64.sql|1|1|  the same, the task table's fillfactor 80 (fewer HOT updates)
narrowtrig|$MODEL/narrow_trigger_b64.sql|1|1|  the narrow tables kept by triggers on tasks, probe and events
VARIANTS
done
echo "$(nproc) cores, $("$PGBENCH" --version | head -1), fsync on"
