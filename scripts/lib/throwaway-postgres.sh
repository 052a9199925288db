# Sourced by the lease benchmarks (scripts/bench-leases.sh, scripts/bench-lease-model.sh): one throwaway PostgreSQL
# with the settings the Swift benches give theirs (fsync on, synchronous commit, 128 MB shared buffers), reached
# over a Unix socket in a private directory, stopped and removed on exit. As root it runs as the postgres user, like
# the tests' EmbeddedPostgres. Sets PGBIN, PSQL, PGBENCH, WORK and PG (the connection options, an array).
# LEASE_BENCH_SHARED_BUFFERS overrides the 128 MB (scripts/bench-lease-model.sh --shared-buffers).

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if ! command -v pgbench >/dev/null && [ ! -x "$PGBIN/pgbench" ]; then
  echo "pgbench missing: installing Debian's postgresql-contrib / postgresql-client" >&2
  apt-get update -qq && apt-get install -y -qq postgresql-contrib postgresql-client >/dev/null
fi
PGBENCH=$([ -x "$PGBIN/pgbench" ] && echo "$PGBIN/pgbench" || command -v pgbench)
PSQL=$([ -x "$PGBIN/psql" ] && echo "$PGBIN/psql" || command -v psql)

WORK=$(mktemp -d /tmp/bench-postgres.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then chown postgres "$WORK"; AS=(runuser -u postgres --); fi
PGPORT_=$((20000 + RANDOM % 20000))
throwaway_postgres_cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap throwaway_postgres_cleanup EXIT
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust --no-locale -E UTF8 >/dev/null
PG_SETTINGS_="-c fsync=on -c synchronous_commit=on -c shared_buffers=${LEASE_BENCH_SHARED_BUFFERS:-128MB}"
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
  -o "-p $PGPORT_ -k $WORK -c listen_addresses='' $PG_SETTINGS_" start >/dev/null
PG=(-h "$WORK" -p "$PGPORT_" -U postgres)
