// Postgres: the only module that touches libpq (through the CPostgres system target). It owns:
// - `PostgresConnection` — one `PGconn`, parameterized queries only (`query(_:_:)`), typed rows, transactions.
// - `PostgresPool` — a small bounded pool that health-checks connections on checkout and recovers by itself
//   after the server restarts.
// - `PostgresListener` — LISTEN/NOTIFY on a dedicated connection and thread (poll(), no busy waiting), with
//   reconnect + re-LISTEN and a "you may have missed notifications" signal.
// - `EmbeddedPostgres` — a local server run from Debian's binaries in a state directory (used by `opsctl up`
//   and by the tests through `TestSupport`).
//
// See docs/postgres-store.md for the full API.
