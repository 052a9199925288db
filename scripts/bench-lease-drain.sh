#!/usr/bin/env bash
# The runnable head over a long drain (docs/leases.md): the control plane's own batch-64 claim and completion (as
# scripts/bench-lease-model.sh runs them, 8 clients, fsync on) drain a deep queue in phases, in two databases whose
# phases alternate: `a` as autovacuum leaves it, `b` vacuumed (`VACUUM tasks`) either between phases, untimed
# (--vacuum between), or every 2 s during its phases, timed (--vacuum during, as TaskVacuumSweep does). After each
# phase it prints the rate, the dead-row estimate, autovacuum's count and the buffers a 64-row read of the runnable
# head touches.
#   bash scripts/bench-lease-drain.sh [--queued 1000000] [--phases 10] [--vacuum between|during] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
QUEUED=1000000 PHASES=10 VACUUM=between BUILD=1 WORKERS=8
while [ $# -gt 0 ]; do
  case "$1" in
    --queued) QUEUED=$2; shift 2 ;;
    --phases) PHASES=$2; shift 2 ;;
    --vacuum) VACUUM=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "bench-lease-drain.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done
case "$VACUUM" in between|during) ;; *) echo "bench-lease-drain.sh: --vacuum takes between or during" >&2; exit 2 ;; esac
source scripts/lib/lease-model-setup.sh
for db in a b; do
  "$PSQL" "${PG[@]}" -qc "CREATE DATABASE $db" postgres
  "$PSQL" "${PG[@]}" -q -v ON_ERROR_STOP=1 -f "$WORK/schema.sql" "$db" >/dev/null
  "$PSQL" "${PG[@]}" -q -v queued="$QUEUED" -f "$MODEL/setup.sql" "$db" >/dev/null
done
"$PSQL" "${PG[@]}" -qc CHECKPOINT postgres

PER=$(( QUEUED * 95 / 100 / 64 / WORKERS / PHASES ))
head_buffers() {
  "$PSQL" "${PG[@]}" -Atc "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) SELECT id FROM tasks
    WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 64" "$1" | grep -m1 Buffers | sed 's/^ *Buffers: //'
}
table_stats() {
  "$PSQL" "${PG[@]}" -Atc "SELECT n_dead_tup || ' dead, ' || autovacuum_count || ' autovacuum(s)'
    FROM pg_stat_user_tables WHERE relname = 'tasks'" "$1"
}
printf '%-5s %-3s %8s  %s\n' phase db tasks/s "after the phase: dead rows, autovacuums | a 64-row read of the runnable head"
for phase in $(seq 1 "$PHASES"); do
  for db in a b; do
    VACUUMING=
    if [ "$db" = b ] && [ "$VACUUM" = during ]; then
      ( while :; do "$PSQL" "${PG[@]}" -qc "VACUUM tasks" b; sleep 2; done ) & VACUUMING=$!
    fi
    out=$("$PGBENCH" "${PG[@]}" -n -M prepared -D events=1 -c "$WORKERS" -j 2 -t "$PER" -f "$WORK/today_b64.sql" "$db" 2>&1)
    [ -z "$VACUUMING" ] || { kill "$VACUUMING"; wait "$VACUUMING" 2>/dev/null || true; }
    echo "$out" | grep -q "number of failed transactions: 0 " || { echo "$out" >&2; echo "pgbench failed on $db" >&2; exit 1; }
    rate=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | awk '{ printf "%.0f", $1 * 64 }')
    printf '%-5s %-3s %8s  %s | %s\n' "$phase" "$db" "$rate" "$(table_stats "$db")" "$(head_buffers "$db")"
    if [ "$db" = b ] && [ "$VACUUM" = between ]; then "$PSQL" "${PG[@]}" -qc "VACUUM tasks" b; fi
  done
done
echo "b vacuumed $VACUUM phases; $(nproc) cores, $("$PGBENCH" --version | head -1), fsync on"
