// HistoryBench: the listings the API runs over history (events newest first, a job's events, a job's log lines)
// at 10M rows, on the week-partitioned tables (migration "history partitions") against the same queries on the
// same rows in the unpartitioned tables of the migration before it: the anchor, measured in the same run on the
// same server. Prints each query's median and p99 and the ratio partitioned / unpartitioned. docs/history.md has
// the numbers; bash scripts/bench-history.sh runs it.
//
//   swift run -c release HistoryBench [--events 10000000] [--lines 10000000] [--days 30] [--jobs 1000] [--runs 200]
//
// Rows are spread evenly over the last `--days` days, ids growing with time as the control plane writes them; each
// job owns 1/jobs of the events (interleaved over every day) and the log lines of one attempt (one day). The
// partitioned database gets its week partitions from the maintenance pass (`HistoryPartitions.maintain` with the
// clock set to each day of the window), as a control plane running for that long would have made them.

import BenchmarkSupport
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport

let eventCount = argument("--events", 10_000_000)
let lineCount = argument("--lines", 10_000_000)
let days = argument("--days", 30)
let jobCount = argument("--jobs", 1000)
let runs = argument("--runs", 200)
/// The API's default page (`ListPaging.defaultLimit`).
let pageSize = 500

let directory = try TemporaryDirectory.make(prefix: "llmops-historybench-")
let server = EmbeddedPostgres(
    .init(
        directory: directory.path + "/pg", database: "flat",
        settings: ["fsync": "on", "synchronous_commit": "on", "shared_buffers": "512MB", "max_wal_size": "4GB"]))
defer {
    try? server.destroy()
    directory.remove()
}
try server.start()
try server.createDatabaseIfMissing("partitioned")
let flat = PostgresPool(conninfo: server.conninfo(database: "flat"), maxConnections: 2)
let partitioned = PostgresPool(conninfo: server.conninfo(database: "partitioned"), maxConnections: 2)
let history = Migrations.all.first { $0.name == "history partitions" }!
try Migrations.apply(to: flat, migrations: Migrations.all.filter { $0.version < history.version })
// The store's event reader expects `actor` (migration "api tokens", after the history one): the anchor gets the
// column for the measurement and loses it again before it is migrated below, so both read the same rows alike.
try flat.withConnection { _ = try $0.execute("ALTER TABLE events ADD COLUMN actor text") }
try Migrations.apply(to: partitioned)

func execute(_ pool: PostgresPool, _ sql: String, _ params: [PostgresValue?] = []) throws {
    try pool.withConnection { _ = try $0.execute(sql, params) }
}

// Partitions for the past: the migration's one partition for everything before this week goes (it is empty), and
// the maintenance pass runs once per day of the window with its clock on that day.
let nowSeconds = try partitioned.withConnection {
    try $0.queryOne("SELECT extract(epoch FROM now())::float8 AS s").double("s")
}
let windowSeconds = Double(days) * 86_400
try partitioned.withConnection { c in
    let before = """
        SELECT relname FROM pg_class
        WHERE relispartition AND relkind = 'r' AND relname ~ '^(events|task_logs|metrics)_before_'
        """
    for row in try c.query(before) {
        _ = try c.execute("DROP TABLE \(try row.string("relname"))")
    }
}
for day in stride(from: days, through: 0, by: -1) {
    try HistoryPartitions(pool: partitioned).maintain(
        retentionDays: 0, nowSeconds: nowSeconds - Double(day) * 86_400)
}
let partitionCount = try partitioned.withConnection {
    try $0.queryOne("SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'events'::regclass").int("n")
}

// The same rows into both databases; a partitioned log line also carries its attempt's start (its partition key).
func fill(partitioned: Bool) -> [String] {
    let lineKey = partitioned ? ", attempt_started_at" : ""
    let lineKeyValue = partitioned ? ", x.started_at" : ""
    // Ended attempts: their own table since migration 30 (the view `task_attempts` reads it), the table itself before.
    let endedAttempts = partitioned ? "attempts_ended" : "task_attempts"
    return [
        "INSERT INTO workers (name, cpu_millis, memory_bytes, state) VALUES ('w', 1000, 1000, 'alive')",
        """
        INSERT INTO jobs (name, type, state) SELECT 'job-' || g, 'shell', 'succeeded' FROM generate_series(1, \(jobCount)) g
        """,
        "INSERT INTO tasks (job_id, task_index, state) SELECT id, 0, 'succeeded' FROM jobs ORDER BY id",
        """
        INSERT INTO \(endedAttempts) (task_id, number, worker_id, state, lease_seconds, lease_deadline, started_at)
        SELECT id, 1, 1, 'succeeded', 60, now(), to_timestamp(\(nowSeconds) - \(windowSeconds) * (1 - id::float8 / \(jobCount)))
        FROM tasks ORDER BY id
        """,
        """
        INSERT INTO events (at, entity, entity_id, job_id, old_state, new_state, reason)
        SELECT to_timestamp(\(nowSeconds) - \(windowSeconds) * (1 - g::float8 / \(eventCount))), 'task', g,
            g % \(jobCount) + 1, 'running', 'succeeded', 'exit status 0'
        FROM generate_series(1, \(eventCount)) g
        """,
        """
        INSERT INTO task_logs (job_id, task_id, attempt_id, seq, at, line, attempt_number\(lineKey))
        SELECT x.a, x.a, x.a, g, now(), 'step ' || g || ' loss 2.345 tokens/s 12345', 1\(lineKeyValue)
        FROM generate_series(1, \(lineCount)) g, LATERAL (
            SELECT id AS a, started_at FROM task_attempts WHERE id = (g::bigint - 1) * \(jobCount) / \(lineCount) + 1) x
        """,
        "ANALYZE",
    ]
}
for (name, pool) in [("unpartitioned", flat), ("partitioned", partitioned)] {
    let took = try seconds { for statement in fill(partitioned: pool === partitioned) { try execute(pool, statement) } }
    print("filled \(name): \(eventCount) events, \(lineCount) log lines in \(String(format: "%.0f", took)) s")
}
print("partitions of events: \(partitionCount) (the weeks of the last \(days) days, the next week, the default)")

struct Query {
    let name: String
    let run: (PostgresPool) throws -> Int
}

let deepEvent = Int64(eventCount / 10)
let aJob = JobID(rawValue: Int64(jobCount / 2))
let lineOfJob = Int64(lineCount / jobCount)
let queries = [
    Query(name: "events, first page") {
        try EventStore(pool: $0).newestFirst(job: nil, afterID: 0, beforeID: nil, limit: pageSize).count
    },
    Query(name: "events, deep cursor (id \(deepEvent))") {
        try EventStore(pool: $0).newestFirst(job: nil, afterID: 0, beforeID: deepEvent, limit: pageSize).count
    },
    Query(name: "events of a job, first page") {
        try EventStore(pool: $0).newestFirst(job: aJob, afterID: 0, beforeID: nil, limit: pageSize).count
    },
    Query(name: "events of a job, deep cursor") {
        try EventStore(pool: $0).newestFirst(job: aJob, afterID: 0, beforeID: deepEvent, limit: pageSize).count
    },
    Query(name: "log lines of a job, first page") {
        try TaskLogStore(pool: $0).list(job: aJob, afterID: 0, limit: pageSize).count
    },
    Query(name: "log lines of a job, deep cursor") {
        let from = (aJob.rawValue - 1) * lineOfJob + lineOfJob / 2
        return try TaskLogStore(pool: $0).list(job: aJob, afterID: from, limit: pageSize).count
    },
]

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// Median and p99 in milliseconds over `runs` runs, after 20 warm-up runs (both databases fit in the cache).
func measure(_ query: Query, on pool: PostgresPool) throws -> (median: Double, p99: Double) {
    for _ in 0..<20 {
        let rows = try query.run(pool)
        precondition(rows == pageSize, "\(query.name): \(rows) rows, not a full page")
    }
    var samples: [Double] = []
    for _ in 0..<runs { samples.append(try seconds { _ = try query.run(pool) } * 1000) }
    samples.sort()
    return (percentile(samples, 0.5), percentile(samples, 0.99))
}

print(
    "\(pageSize) rows a page, \(runs) runs each, milliseconds; ratio = partitioned / unpartitioned (medians)")
print(
    "query".padding(toLength: 34, withPad: " ", startingAt: 0)
        + "  flat med   flat p99  parts med  parts p99   ratio")
for query in queries {
    let anchor = try measure(query, on: flat)
    let measured = try measure(query, on: partitioned)
    let cells = [anchor.median, anchor.p99, measured.median, measured.p99].map { String(format: "%9.3f", $0) }
    print(
        query.name.padding(toLength: 34, withPad: " ", startingAt: 0) + "  " + cells.joined(separator: "  ")
            + String(format: "  %6.2f", measured.median / anchor.median))
}

// What the migration costs on a database this size: the anchor migrated in place.
try flat.withConnection { _ = try $0.execute("ALTER TABLE events DROP COLUMN actor") }
let migrationSeconds = try seconds { try Migrations.apply(to: flat) }
print(
    "migrating the unpartitioned database (\(eventCount) events, \(lineCount) lines): \(String(format: "%.0f", migrationSeconds)) s"
)
flat.close()
partitioned.close()
