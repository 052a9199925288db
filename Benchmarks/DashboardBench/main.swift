// DashboardBench: the dashboard's job page of a running train job with its metric points (issue 17: under
// 100 ms p99 at 1,000 points), served over HTTP on 127.0.0.1 by a real control plane on a throwaway PostgreSQL,
// fetched by libcurl with the session cookie of a real sign-in. Anchors, measured in the same run on the same
// server and connection, interleaved with the page: `GET /healthz` (the server's floor) and the JSON of the same
// job, `GET /v1/jobs/{name}` (the API's own read). Prints median and p99 of each, the page's size and the
// ratios page / anchor. docs/dashboard.md has the numbers.
//
//   swift run -c release DashboardBench [--steps 1000] [--metrics 1] [--runs 300]
//
// The job has one running task with `--steps` points of each of `--metrics` step metrics (loss, lr, grad_norm,
// tokens_per_second; 1 → the 1,000 points of the issue, 4 → a train job logging every step), 200 log lines and
// its events; the page shows its charts, the table of every point, the log tail, tasks and events.

import APITypes
import BenchmarkSupport
import ClusterModel
import Control
import Foundation
import HTTPClient
import Postgres
import TestSupport

let steps = argument("--steps", 1_000)
let metricCount = min(4, max(1, argument("--metrics", 1)))
let runs = argument("--runs", 300)
let names = Array(["loss", "lr", "grad_norm", "tokens_per_second"].prefix(metricCount))

let postgres = try TestPostgres()
defer { postgres.destroy() }
let databaseURL = try postgres.freshDatabase(named: "dashboardbench")
let adminToken = Secret.random()
let artifacts = try TemporaryDirectory.make(prefix: "dashboardbench-")
defer { artifacts.remove() }
let controlPlane = ControlPlane(
    configuration: ControlPlaneConfiguration(
        databaseURL: databaseURL, adminToken: adminToken, joinToken: Secret.random(),
        artifactDirectory: artifacts.path), log: { _ in })
try controlPlane.start()
defer { controlPlane.stop() }

// A running train job as a worker leaves it: one attempt with its points, log lines and progress.
let pool = PostgresPool(conninfo: databaseURL, maxConnections: 2)
defer { pool.close() }
let store = ControlStore(pool: pool)
_ = try store.jobs.submit(NewJob(name: "bench-train", type: "train"))
let worker = try store.workers.register(
    name: "bench-worker", resources: Resources(cpuMillis: 8_000, memoryBytes: 8 << 30))
guard let lease = try store.leases.claimNext(for: worker).first else { fatalError("the job's task was not claimed") }
var points: [MetricPoint] = []
for step in 1...steps {
    for (index, name) in names.enumerated() {
        points.append(MetricPoint(name: name, step: Int64(step), value: 5 / Double(step) + Double(index)))
    }
}
for chunk in stride(from: 0, to: points.count, by: 1_000) {
    _ = try store.metrics.append(
        attempt: lease.attempt, points: Array(points[chunk..<min(chunk + 1_000, points.count)]))
}
_ = try store.logs.append(
    attempt: lease.attempt,
    lines: (1...200).map {
        LogLine(seq: Int64($0), line: "step \($0 * 5)/\(steps) loss 2.345 lr 3.00e-03 tokens/s 5120")
    })

let client = HTTPClient()
let base = controlPlane.baseURL
let signIn = try client.send(
    HTTPClientRequest(
        method: "POST", url: base + APIRoute.dashboardLogin.path(),
        headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Data("token=\(adminToken.value)".utf8)))
guard signIn.status == 303, let setCookie = signIn.header("Set-Cookie"),
    let cookie = setCookie.split(separator: ";").first
else { fatalError("sign-in failed: \(signIn.status) \(signIn.text)") }

struct Target {
    let label: String
    let request: HTTPClientRequest
    var milliseconds: [Double] = []
    var bytes = 0
}
var targets = [
    Target(
        label: "job page (HTML)",
        request: HTTPClientRequest(
            url: base + APIRoute.dashboardJob.path("bench-train"), headers: ["Cookie": String(cookie)])),
    Target(label: "anchor GET /healthz", request: HTTPClientRequest(url: base + APIRoute.healthz.path())),
    Target(
        label: "anchor GET /v1/jobs/{name} (JSON)",
        request: HTTPClientRequest(
            url: base + APIRoute.job.path("bench-train"), headers: ["Authorization": "Bearer \(adminToken.value)"])),
]
// Warm-up: connections, the pool's prepared plans, the page's first allocations.
for target in targets { for _ in 0..<10 { _ = try client.send(target.request) } }
for _ in 0..<runs {
    for index in targets.indices {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try client.send(targets[index].request)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        guard response.status == 200 else { fatalError("\(targets[index].label): \(response.status) \(response.text)") }
        targets[index].milliseconds.append(elapsed)
        targets[index].bytes = response.body.count
    }
}
let page = String(decoding: try client.send(targets[0].request).body, as: UTF8.self)
let drawn = page.components(separatedBy: " data-step=").count - 1
guard drawn == points.count else { fatalError("the page draws \(drawn) points of \(points.count)") }

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded(.up)))]
}
print(
    "DashboardBench: \(steps) steps × \(names.count) metric(s) = \(points.count) points, 200 log lines, \(runs) runs each"
)
for target in targets {
    let label = target.label.padding(toLength: 36, withPad: " ", startingAt: 0)
    print(
        label
            + String(
                format: "median %7.2f ms  p99 %7.2f ms  %8d bytes", percentile(target.milliseconds, 0.5),
                percentile(target.milliseconds, 0.99), target.bytes))
}
let pageP99 = percentile(targets[0].milliseconds, 0.99)
print(
    String(
        format:
            "RESULT points=%d page_p99_ms=%.2f healthz_p99_ms=%.2f json_p99_ms=%.2f page/healthz=%.1fx page/json=%.1fx",
        points.count, pageP99, percentile(targets[1].milliseconds, 0.99), percentile(targets[2].milliseconds, 0.99),
        pageP99 / percentile(targets[1].milliseconds, 0.99), pageP99 / percentile(targets[2].milliseconds, 0.99))
        + " budget_100ms=" + (pageP99 < 100 ? "met" : "MISSED"))
