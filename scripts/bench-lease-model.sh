#!/usr/bin/env bash
# What each part of a lease costs, beside the raw anchor, in one run (docs/leases.md, "A model of the lease"). pgbench
# runs one worker's loop at batch 64 (8 clients, fsync on) against the control plane's own schema (migrated by
# `opsctl serve`): the claim and completion as the control plane runs them (printed from TaskSQL by StoreBench), the
# same without its batch events, with two task indexes trimmed, the design's floor (the lease alone, nothing else),
# and the narrow lease design (narrow_lease.sql: queue and lease tables beside a task row whose updates are HOT),
# its tables kept by the lease statements or by triggers on `tasks` (narrow_trigger.sql).
# No HTTP and no Swift in the loop: the numbers say what the database allows each variant.
#   bash scripts/bench-lease-model.sh [--queued 100000] [--rounds 2] [--only REGEX] [--shared-buffers 128MB]
#                                     [--sweep] [--no-build]
# Prints per round: tasks/s and the ratio to raw `FOR UPDATE SKIP LOCKED` measured in the same round, and what each
# run wrote per task (WAL bytes, full-page images), the checkpoints during it, and the pages backends wrote themselves
# (shared buffers full of dirty pages).
# --only REGEX: run the variants whose printed name matches (grep -E; raw always runs), e.g. 'today:|floor'.
# --shared-buffers: the server's shared_buffers (default 128MB, as every lease bench).
# --sweep: beside each variant's loop, the control plane's vacuum sweep (TaskVacuum): every second, each of the
# variant's lease tables (tasks; task_queue and task_leases of the narrow design) with at least 20,000 dead rows and
# 5 % of its live ones is vacuumed (SKIP_LOCKED). Raw runs without it, as in bench-leases.sh. The last column counts
# the vacuums issued, including those skipped while autovacuum held the table.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
QUEUED=100000 ROUNDS=2 BUILD=1 WORKERS=8 ONLY=. SWEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --queued) QUEUED=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --shared-buffers) LEASE_BENCH_SHARED_BUFFERS=$2; shift 2 ;;
    --sweep) SWEEP=1; shift ;;
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
# fill DATABASE N: the variant's tables emptied, then N queued tasks (its set-up files).
fill() {
  local db=$1 queued=$2
  if [ "$db" = raw ]; then
    "$PSQL" "${PG[@]}" -q -v queued="$queued" -f Benchmarks/leases/schema.sql raw >/dev/null 2>&1
  else
    "$PSQL" "${PG[@]}" -q -v queued="$queued" -f "$MODEL/setup.sql" "$db" >/dev/null
  fi
  [[ "$db" != narrow* ]] || "$PSQL" "${PG[@]}" -q -f "$MODEL/narrow_lease_setup.sql" "$db" >/dev/null
}

# sweep DATABASE: TaskVacuumPolicy.standard and TaskVacuum.runOnce, every second, until killed; prints how many
# vacuums it issued when it ends.
sweep() {
  local db=$1 vacuums=0
  trap 'echo "$vacuums"; exit 0' TERM
  while true; do
    for table in $("$PSQL" "${PG[@]}" -Atq -c "SELECT relname FROM pg_stat_user_tables
        WHERE relname IN ('tasks', 'task_queue', 'task_leases')
          AND n_dead_tup >= 20000 AND n_dead_tup >= 0.05 * n_live_tup" "$db"); do
      # Its WARNING when autovacuum holds the table (skipped, as TaskVacuum's is) is not printed; still counted.
      "$PSQL" "${PG[@]}" -q -c "VACUUM (SKIP_LOCKED) $table" "$db" 2>/dev/null && vacuums=$((vacuums + 1))
    done
    sleep 1 & wait $!
  done
}

# loop DATABASE SCRIPT EVENTS [PROBE]: tasks/s of one run over a freshly filled queue.
loop() {
  local db=$1 script=$2 events=$3 probe=${4:-1} mode=prepared
  [ "$db" != raw ] || mode=simple
  fill "$db" "$QUEUED"
  "$PSQL" "${PG[@]}" -qc CHECKPOINT "$db"
  local before; before=$(io_counters)
  local sweeper="" vacuums=-
  if [ "$SWEEP" = 1 ] && [ "$db" != raw ]; then sweep "$db" >"$WORK/sweep.out" & sweeper=$!; fi
  local out; out=$("$PGBENCH" "${PG[@]}" -n -M "$mode" -D events="$events" -D probe="$probe" -c "$WORKERS" -j 2 -t "$PER" -f "$script" "$db" 2>&1)
  if [ -n "$sweeper" ]; then kill -TERM "$sweeper"; wait "$sweeper" || true; vacuums=$(cat "$WORK/sweep.out"); fi
  echo "$out" | grep -q "number of failed transactions: 0 " && ! echo "$out" | grep -q "Run was aborted" || { echo "$out" >&2; echo "pgbench failed on $db/$script" >&2; exit 1; }
  echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | awk '{ printf "%.0f", $1 * 64 }'
  # What the run wrote, per task: WAL bytes, full-page images, checkpoints, pages written by backends themselves.
  echo "$before $(io_counters)" | awk -v tasks=$(( PER * WORKERS * 64 )) \
    '{ printf " %8.0f %8.3f %5d %9d", ($5 - $1) / tasks, ($6 - $2) / tasks, $7 - $3, $8 - $4 }'
  echo " $vacuums"
  # The run's dead rows go with it. Left, autovacuum would clean them up during the next variant's run, on the
  # same 2 cores: with 1,000,000 queued the first narrow variant after the floor ran at 0.62 of raw, the next two
  # (doing more) at 1.04-1.07 (docs/leases.md, "The model's runs paid for the run before them").
  fill "$db" 0
}
# io_counters: WAL bytes, full-page images, checkpoints and backend buffer writes so far (the whole server).
io_counters() {
  "$PSQL" "${PG[@]}" -Atq -F ' ' -c "SELECT w.wal_bytes, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req,
    b.buffers_backend FROM pg_stat_wal w, pg_stat_bgwriter b" postgres
}

# row ROUND WHAT TASKS/S VS-RAW WAL FPI CHECKPOINTS WRITES VACUUMS: one line of the table (the header too).
row() { printf '%-5s %-58s %8s %7s %8s %8s %5s %9s %8s\n' "$@"; }

row round "lease design (batch 64, $QUEUED queued, $WORKERS clients)" tasks/s "vs raw" "WAL B/t" "FPI/t" ckpts \
  "be writes" vacuums
for round in $(seq 1 "$ROUNDS"); do
  # loop prints "tasks/s WAL FPI checkpoints writes vacuums"; taken whole first, so that its failure stops the script.
  line=$(loop raw Benchmarks/leases/claim_complete_b64.sql 0); read -r raw wal fpi ckpts writes vacuums <<<"$line"
  row "$round" "raw FOR UPDATE SKIP LOCKED (the anchor)" "$raw" 1.00 "$wal" "$fpi" "$ckpts" "$writes" "$vacuums"
  while IFS='|' read -r db script events probe what; do
    echo "$what" | grep -Eq -- "$ONLY" || continue
    line=$(loop "$db" "$script" "$events" "$probe"); read -r rate wal fpi ckpts writes vacuums <<<"$line"
    row "$round" "$what" "$rate" "$(awk -v a="$rate" -v b="$raw" 'BEGIN { printf "%.2f", a / b }')" "$wal" "$fpi" \
      "$ckpts" "$writes" "$vacuums"
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
echo "$(nproc) cores, $("$PGBENCH" --version | head -1), fsync on, shared_buffers ${LEASE_BENCH_SHARED_BUFFERS:-128MB}"
