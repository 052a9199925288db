// MetricsBench: what a Prometheus scrape (`GET /metrics`, docs/observability.md) costs a control plane whose
// database holds `--jobs` jobs (`--running` of them running, each with `--steps` points of four training metrics),
// over real HTTP on 127.0.0.1. Three numbers, each a median and p99 of its runs: a scrape that reads the database
// (the 1 s cache expired before each), a scrape served from the cache, and the anchor measured in the same run on
// the same server: `GET /readyz`, one request that asks the database one thing. Prints the ratios to the anchor.
//
//   swift run -c release MetricsBench [--jobs 10000] [--running 1000] [--steps 200] [--runs 20]
//
// Rows are written straight into the tables (one alive worker holding every running task, leases and heartbeat a
// day ahead), so the sweeps and the scheduler find nothing to do while it measures.

import BenchmarkSupport
import Control
import Foundation
import HTTPClient
import Postgres
import TestSupport

let jobCount = argument("--jobs", 10_000)
let runningCount = min(argument("--running", 1_000), jobCount)
let steps = argument("--steps", 200)
let runs = argument("--runs", 20)

let directory = try TemporaryDirectory.make(prefix: "llmops-metricsbench-")
let server = EmbeddedPostgres(.init(directory: directory.path + "/pg", database: "bench"))
defer {
    try? server.destroy()
    directory.remove()
}
try server.start()
let conninfo = server.conninfo(database: "bench")
let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
try Migrations.apply(to: pool)

let seed: [(sql: String, parameters: [PostgresValue?])] = [
    (
        """
        INSERT INTO workers (name, cpu_millis, memory_bytes, state, last_heartbeat)
        VALUES ('bench-worker', 1000000000, 1099511627776, 'alive', now() + interval '1 day')
        """, []
    ),
    (
        """
        INSERT INTO jobs (name, type, queue, state, cpu_millis, memory_bytes)
        SELECT 'job-' || i, 'train', 'queue-' || (i % 10), CASE WHEN i <= $2 THEN 'running' ELSE 'succeeded' END,
            1000, 1073741824
        FROM generate_series(1, $1::int) i
        """, [.int(Int64(jobCount)), .int(Int64(runningCount))]
    ),
    (
        """
        INSERT INTO tasks (job_id, task_index, state, cpu_millis, memory_bytes, worker_id)
        SELECT j.id, 0, j.state, 1000, 1073741824, CASE WHEN j.state = 'running' THEN w.id END
        FROM jobs j, workers w
        """, []
    ),
    (
        """
        INSERT INTO task_attempts (task_id, number, worker_id, state, lease_seconds, lease_deadline)
        SELECT t.id, 1, w.id, CASE WHEN t.state = 'running' THEN 'active' ELSE 'succeeded' END, 60,
            now() + interval '1 day'
        FROM tasks t, workers w
        """, []
    ),
    (
        "UPDATE tasks t SET active_attempt_id = a.id FROM task_attempts a WHERE a.task_id = t.id AND t.state = 'running'",
        []
    ),
    (
        """
        INSERT INTO metrics (job_id, task_id, attempt_id, name, step, value)
        SELECT t.job_id, t.id, a.id, n, s, random()
        FROM tasks t JOIN task_attempts a ON a.task_id = t.id
        CROSS JOIN unnest(ARRAY['loss', 'lr', 'tokens_per_second', 'grad_norm']) n
        CROSS JOIN generate_series(1, $1::int) s
        WHERE t.state = 'running'
        """, [.int(Int64(steps))]
    ),
    ("ANALYZE", []),
]
let seedStart = Date()
try pool.withConnection { c in
    for statement in seed { _ = try c.execute(statement.sql, statement.parameters) }
}
print(
    "seeded \(jobCount) jobs (\(runningCount) running, \(runningCount * 4 * steps) metric points) in \(Int(Date().timeIntervalSince(seedStart))) s"
)
pool.close()

var configuration = ControlPlaneConfiguration(
    databaseURL: conninfo, adminToken: Secret("bench-admin"), joinToken: Secret("bench-join"),
    artifactDirectory: directory.path + "/artifacts")
configuration.replicaName = "metrics-bench"
let plane = ControlPlane(configuration: configuration, log: { _ in })
try plane.start()
defer { plane.stop() }
let client = HTTPClient(bearerToken: "bench-admin")

/// Seconds of one GET of `path`; the bytes of its body.
func get(_ path: String) throws -> (seconds: Double, bytes: Int) {
    let start = DispatchTime.now().uptimeNanoseconds
    let response = try client.send(HTTPClientRequest(url: plane.baseURL + path, timeoutSeconds: 30))
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    guard response.status == 200 else { fatalError("\(path): \(response.status) \(response.text)") }
    return (seconds, response.body.count)
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func milliseconds(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

_ = try get("/metrics")
_ = try get("/readyz")
var uncached: [Double] = []
var cached: [Double] = []
var anchor: [Double] = []
var bytes = 0
for _ in 0..<runs {
    // Past the cache's second: this scrape reads the database.
    Thread.sleep(forTimeInterval: 1.1)
    let scrape = try get("/metrics")
    uncached.append(scrape.seconds)
    bytes = scrape.bytes
    for _ in 0..<3 {
        cached.append(try get("/metrics").seconds)
        anchor.append(try get("/readyz").seconds)
    }
}
let anchorMedian = percentile(anchor, 0.5)
print("scrape body: \(bytes) bytes")
for (name, values) in [("anchor GET /readyz", anchor), ("scrape, database read", uncached), ("scrape, cached", cached)]
{
    print(
        "\(name): median \(milliseconds(percentile(values, 0.5))), p99 \(milliseconds(percentile(values, 0.99))), "
            + "median / anchor \(String(format: "%.2f", percentile(values, 0.5) / anchorMedian)) (\(values.count) runs)"
    )
}
