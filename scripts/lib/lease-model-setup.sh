# Sourced by the lease model's scripts (scripts/bench-lease-model.sh, scripts/bench-lease-drain.sh) after their
# options (BUILD=0 skips the builds): builds opsctl and StoreBench, starts the throwaway PostgreSQL
# (scripts/lib/throwaway-postgres.sh), and writes into $WORK today's batch-64 loop (today_b64.sql) and the control
# plane's migrated schema (schema.sql). Sets MODEL, the model's directory.
[ "$BUILD" = 0 ] || swift build -c release --product opsctl >/dev/null
[ "$BUILD" = 0 ] || swift build -c release --product StoreBench >/dev/null
MODEL=Benchmarks/leases/model
source scripts/lib/throwaway-postgres.sh

# Today's loop is the control plane's own claim and completion (TaskSQL), printed by StoreBench, not a copy.
.build/release/StoreBench --print-lease-statements | python3 "$MODEL/today_loop.py" >"$WORK/today_b64.sql"

# The control plane's schema: `opsctl serve` migrates an empty database, then is stopped once it leads scheduling.
"$PSQL" "${PG[@]}" -qc "CREATE DATABASE migrated" postgres
: >"$WORK/serve.log" # before the wait below reads it: the background child opens it only once it runs
OPS_ADMIN_TOKEN=model OPS_JOIN_TOKEN=model .build/release/opsctl serve --port $((30000 + RANDOM % 20000)) \
  --database-url "postgresql://postgres@/migrated?host=$WORK&port=$PGPORT_" >"$WORK/serve.log" 2>&1 &
SERVE=$!
for _ in $(seq 1 300); do grep -q "leads scheduling" "$WORK/serve.log" && break; sleep 0.1; done
kill "$SERVE" 2>/dev/null || true # gone already: its log says why (below)
wait "$SERVE" || true
grep -q "leads scheduling" "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; echo "opsctl serve did not migrate" >&2; exit 1; }
"$PGBIN/pg_dump" "${PG[@]}" -s migrated >"$WORK/schema.sql"
