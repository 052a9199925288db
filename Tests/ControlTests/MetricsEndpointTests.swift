// Issue 17, "Prometheus /metrics": the scrape of a control plane, through its router, against a real PostgreSQL.
// The text must parse (a strict parser of the lines the exposition writes: `ExpositionParser.swift`), counters must
// count what the worker protocol did, histograms must be cumulative, label values escaped, request durations
// labelled by route pattern (never the raw path), gauges read from the database, and the scope enforced. Before,
// `GET /metrics` was a 404.

import APITypes
import ClusterModel
import Foundation
import HTTPServer
import Postgres
import TestSupport
import XCTest

@testable import Control

final class MetricsEndpointTests: InProcessRouterTestCase {
    // MARK: Helpers

    private func send(
        _ method: String, _ path: String, token: String? = "admin", json: String = "", accept: String? = nil
    ) -> HTTPResponse {
        var headers: HTTPHeaders = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        if let accept { headers["Accept"] = accept }
        return router.handle(HTTPRequest(method: method, path: path, headers: headers, body: Data(json.utf8)))
    }

    private func send<Body: Encodable>(_ line: APIRequestLine, token: String, body: Body) throws -> HTTPResponse {
        send(
            line.method.rawValue, line.path, token: token,
            json: String(decoding: try WireCoding.encode(body), as: UTF8.self))
    }

    /// One scrape, parsed strictly as OpenMetrics.
    private func scrape(token: String = "admin") throws -> ParsedExposition {
        let response = send("GET", APIRoute.metrics.path(), token: token)
        XCTAssertEqual(response.status, 200, String(decoding: response.bodyBytes, as: UTF8.self))
        XCTAssertEqual(response.headers["Content-Type"], "application/openmetrics-text; version=1.0.0; charset=utf-8")
        return try ParsedExposition(String(decoding: response.bodyBytes, as: UTF8.self), format: .openMetrics)
    }

    /// Scrapes until `condition` holds (the database's gauges are cached for a second).
    private func scrape(until what: String, _ condition: (ParsedExposition) -> Bool) throws -> ParsedExposition {
        var last = try scrape()
        try waitUntil(what, timeoutSeconds: 10, intervalSeconds: 0.2) {
            last = try scrape()
            return condition(last)
        }
        return last
    }

    private func registerWorker(name: String = "w1") throws -> (id: WorkerID, token: String) {
        let request = RegisterWorkerRequest(
            name: name, resources: Resources(cpuMillis: 4000, memoryBytes: 4 << 30), version: "test",
            kinds: [], maxConcurrentTasks: 4)
        let response = try send(APIRoute.workerRegister.request(), token: "join", body: request)
        XCTAssertEqual(response.status, 200)
        let registered = try WireCoding.decode(RegisterWorkerResponse.self, from: response.bodyBytes)
        return (registered.workerID, try XCTUnwrap(registered.workerToken))
    }

    private func submit(_ name: String, queue: String = "default", cpu: String = "1") {
        let manifest =
            #"{"documents":[{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"\#(name)"},"spec":{"type":"noop","queue":"\#(queue)","resources":{"cpu":"\#(cpu)","memory":"64Mi"}}}]}"#
        let response = send("POST", APIRoute.manifests.path(), json: manifest)
        XCTAssertEqual(response.status, 201, String(decoding: response.bodyBytes, as: UTF8.self))
    }

    private func poll(_ worker: (id: WorkerID, token: String), maxTasks: Int = 4) throws -> [TaskAssignment] {
        let response = try send(
            APIRoute.workerPoll.request(), token: worker.token,
            body: PollRequest(workerID: worker.id, maxTasks: maxTasks, waitSeconds: 0, available: .zero))
        XCTAssertEqual(response.status, 200, String(decoding: response.bodyBytes, as: UTF8.self))
        return try WireCoding.decode(PollResponse.self, from: response.bodyBytes).assignments
    }

    private func report(_ worker: (id: WorkerID, token: String), _ batch: ReportBatch) throws {
        let response = try send(APIRoute.workerReports.request(), token: worker.token, body: batch)
        XCTAssertEqual(response.status, 200, String(decoding: response.bodyBytes, as: UTF8.self))
    }

    // MARK: Tests

    /// Claims and reports are counted as they happen; the jobs gauge follows the database.
    func testCountersIncreaseWithClaimsAndReports() throws {
        let before = try scrape()
        XCTAssertEqual(before.types["llmops_task_claims"], "counter")
        XCTAssertEqual(before.value("llmops_task_claims_total"), 0)
        XCTAssertNil(before.value("llmops_report_items_total", ["kind": "completion"]))

        let worker = try registerWorker()
        submit("first")
        submit("second")
        let assignments = try poll(worker)
        XCTAssertEqual(assignments.count, 2)
        try report(
            worker,
            ReportBatch(
                workerID: worker.id,
                completions: assignments.map { CompletionReport(taskID: $0.taskID, attemptID: $0.attemptID) }))

        let after = try scrape(until: "both jobs counted as succeeded") {
            $0.value("llmops_jobs", ["state": "succeeded", "queue": "default"]) == 2
        }
        XCTAssertEqual(after.value("llmops_task_claims_total"), 2)
        XCTAssertEqual(after.value("llmops_report_items_total", ["kind": "completion"]), 2)
        XCTAssertEqual(after.value("llmops_report_batches_total", ["outcome": "applied"]), 1)
        XCTAssertEqual(after.value("llmops_workers", ["state": "alive"]), 1)
        XCTAssertEqual(after.value("llmops_worker_capacity", ["state": "alive", "resource": "cpu_millis"]), 4000)
        XCTAssertEqual(after.value("llmops_cluster_state_up"), 1)
        XCTAssertEqual(after.value("llmops_db_pool_max_connections"), 8)
        XCTAssertNotNil(after.value("llmops_db_pool_connections", ["state": "idle"]))
    }

    /// Request durations are labelled by the route's pattern and status class, never by the raw path; each
    /// series' buckets are cumulative and end in `+Inf` = `_count` (the parser checks that for every series).
    func testRequestDurationsAreLabelledByRoutePatternAndBucketsAreCumulative() throws {
        for name in ["alpha", "beta", "gamma"] {
            XCTAssertEqual(send("GET", APIRoute.job.path(name)).status, 404)
        }
        XCTAssertEqual(send("GET", "/no/such/path/secret-name").status, 404)
        XCTAssertEqual(send("BREW", "/v1/jobs").status, 405)
        let parsed = try scrape()
        let name = "llmops_http_request_duration_seconds"
        XCTAssertEqual(parsed.types[name], "histogram")
        XCTAssertEqual(
            parsed.value(name + "_count", ["method": "GET", "route": "/v1/jobs/{name}", "status_class": "4xx"]), 3)
        XCTAssertEqual(
            parsed.value(name + "_bucket", ["route": "/v1/jobs/{name}", "status_class": "4xx", "le": "+Inf"]), 3)
        XCTAssertEqual(parsed.value(name + "_count", ["method": "GET", "route": "unmatched"]), 1)
        XCTAssertEqual(parsed.value(name + "_count", ["method": "other", "route": "unmatched"]), 1)
        let labelValues = parsed.samples.flatMap { $0.labels.values }
        for raw in ["alpha", "beta", "gamma", "secret-name", "BREW"] {
            XCTAssertFalse(labelValues.contains { $0.contains(raw) }, "the raw path part \(raw) became a label")
        }
    }

    /// A queue name with a quote, a backslash and a line feed comes back whole through the escaping.
    func testLabelValuesAreEscaped() throws {
        let queue = "we\"ird\\queue\nname"
        try pool.withConnection { c in
            _ = try c.execute("INSERT INTO queues (name, weight) VALUES ($1, 2.5)", [.text(queue)])
        }
        let response = send("GET", APIRoute.metrics.path())
        let text = String(decoding: response.bodyBytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#"llmops_queue_weight{queue="we\"ird\\queue\nname"} 2.5"#), text)
        let parsed = try ParsedExposition(text, format: .openMetrics)
        XCTAssertEqual(parsed.value("llmops_queue_weight", ["queue": queue]), 2.5)
    }

    /// `Accept: text/plain` gets the classic format: its content type, counters' families named with `_total`,
    /// no `# EOF`. Prometheus' own Accept header gets OpenMetrics.
    func testClassicTextFormatWhenOnlyTextPlainIsAccepted() throws {
        let classic = send("GET", APIRoute.metrics.path(), accept: "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        XCTAssertEqual(classic.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        let text = String(decoding: classic.bodyBytes, as: UTF8.self)
        XCTAssertFalse(text.contains("# EOF"))
        let parsed = try ParsedExposition(text, format: .prometheusText)
        XCTAssertEqual(parsed.types["llmops_task_claims_total"], "counter")
        XCTAssertEqual(parsed.value("llmops_task_claims_total"), 0)

        let prometheusAccept =
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        let openMetrics = send("GET", APIRoute.metrics.path(), accept: prometheusAccept)
        XCTAssertEqual(
            openMetrics.headers["Content-Type"], "application/openmetrics-text; version=1.0.0; charset=utf-8")
        XCTAssertTrue(String(decoding: openMetrics.bodyBytes, as: UTF8.self).hasSuffix("# EOF\n"))
    }

    /// No token: 401; a viewer token: 200; a submitter (held to its queues) is refused the scrape of every queue.
    func testScopeViewerScrapesSubmitterAndAnonymousDoNot() throws {
        XCTAssertEqual(send("GET", APIRoute.metrics.path(), token: nil).status, 401)
        func create(_ request: CreateTokenRequest) throws -> String {
            let response = try send(APIRoute.createToken.request(), token: "admin", body: request)
            XCTAssertEqual(response.status, 201)
            return try WireCoding.decode(CreatedTokenResponse.self, from: response.bodyBytes).secret
        }
        let viewer = try create(CreateTokenRequest(name: "prometheus", scope: .viewer))
        let submitter = try create(CreateTokenRequest(name: "ci", scope: .submitter, queues: ["research"]))
        _ = try scrape(token: viewer)
        let refused = send("GET", APIRoute.metrics.path(), token: submitter)
        XCTAssertEqual(refused.status, 403)
        let message = try WireCoding.decode(APIErrorBody.self, from: refused.bodyBytes).error.message
        XCTAssertTrue(message.contains("viewer token"), message)
    }

    /// The latest loss, tokens/s and step of a running job, from the metrics its worker reported.
    func testTrainingGaugesOfARunningJob() throws {
        let worker = try registerWorker()
        submit("trainer", queue: "research")
        let attempt = try XCTUnwrap(try poll(worker).first)
        let now = Date()
        let points = [("loss", 10, 3.5), ("loss", 20, 2.25), ("tokens_per_second", 20, 1234.5), ("lr", 20, 0.001)]
        try report(
            worker,
            ReportBatch(
                workerID: worker.id,
                metrics: points.map {
                    MetricReport(
                        taskID: attempt.taskID, attemptID: attempt.attemptID, name: $0.0, step: Int64($0.1),
                        value: $0.2, time: now)
                }))
        let labels = ["job": "trainer", "queue": "research"]
        let parsed = try scrape(until: "the trainer's loss") { $0.value("llmops_training_loss", labels) != nil }
        XCTAssertEqual(parsed.value("llmops_training_loss", labels), 2.25)
        XCTAssertEqual(parsed.value("llmops_training_step", labels), 20)
        XCTAssertEqual(parsed.value("llmops_training_tokens_per_second", labels), 1234.5)
        XCTAssertEqual(parsed.value("llmops_tasks", ["state": "running", "queue": "research"]), 1)
        XCTAssertEqual(parsed.value("llmops_queue_usage", ["queue": "research", "resource": "cpu_millis"]), 1000)
        XCTAssertEqual(parsed.value("llmops_report_items_total", ["kind": "metric"]), 4)
    }

    /// A scheduling pass records its duration, and the jobs it leaves waiting by their reason.
    func testSchedulingPassDurationAndPendingReasons() throws {
        submit("too-big", cpu: "64")
        let loop = SchedulingLoop(
            pool: pool, conninfo: conninfo, signals: services.signals, intervalSeconds: 1, replicaName: "metrics-test",
            telemetry: services.telemetry, log: { _ in })
        XCTAssertTrue(loop.leadOnce())
        try loop.passOnce()
        let parsed = try scrape()
        XCTAssertEqual(parsed.value("llmops_scheduling_pass_duration_seconds_count", ["result": "committed"]), 1)
        XCTAssertEqual(parsed.value("llmops_scheduler_pending_jobs", ["reason": "never_fits"]), 1)
        XCTAssertEqual(parsed.value("llmops_scheduler_pending_tasks", ["reason": "never_fits"]), 1)
    }

    /// A lease that passes its deadline is counted by the sweep that expires it.
    func testLeaseExpiriesAreCounted() throws {
        let worker = try registerWorker()
        submit("abandoned")
        let leased = try services.leases.claimNext(for: worker.id, limit: 1, leaseDurationSeconds: 0.2)
        XCTAssertEqual(leased.count, 1)
        let sweeps = BackgroundSweeps(services: services, log: { _ in })
        try waitUntil("the lease expired", timeoutSeconds: 10, intervalSeconds: 0.1) {
            try sweeps.sweepOnce()
            return services.telemetry.leaseExpiries.value(["requeued"]) == 1
        }
        XCTAssertEqual(try scrape().value("llmops_lease_expiries_total", ["outcome": "requeued"]), 1)
    }

    /// Many scrapes at once cost one read of the database: the first reads, the others wait for its result
    /// (single flight), and scrapes within the cache's age read nothing.
    func testConcurrentScrapesReadTheDatabaseOnce() throws {
        let gauges = ClusterGauges(pool: pool, maxAgeSeconds: 3600)
        let counts = Locked<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            let families = gauges.families()
            counts.mutate { $0.append(families.count) }
        }
        XCTAssertEqual(gauges.reads, 1)
        XCTAssertEqual(Set(counts.value).count, 1, "every scrape got the same families")
        _ = gauges.families()
        XCTAssertEqual(gauges.reads, 1)
        let parsed = try ParsedExposition(
            MetricExposition.render(gauges.families(), format: .openMetrics), format: .openMetrics)
        XCTAssertEqual(parsed.value("llmops_cluster_state_reads_total"), 1)
        XCTAssertEqual(parsed.value("llmops_cluster_state_up"), 1)
    }

    /// The pool says how many checkouts wait now and have ever waited.
    func testPoolUsageCountsWaits() throws {
        let small = PostgresPool(conninfo: conninfo, maxConnections: 1)
        defer { small.close() }
        let release = DispatchSemaphore(value: 0)
        let held = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) {
            try? small.withConnection { _ in
                held.signal()
                release.wait()
            }
        }
        held.wait()
        XCTAssertEqual(small.usage, PostgresPoolUsage(maxConnections: 1, inUse: 1, idle: 0, waiting: 0, waitsTotal: 0))
        DispatchQueue.global().async(group: done) { try? small.withConnection { _ in } }
        try waitUntil("a checkout waits") { small.usage.waiting == 1 }
        release.signal()
        done.wait()
        XCTAssertEqual(small.usage, PostgresPoolUsage(maxConnections: 1, inUse: 0, idle: 1, waiting: 0, waitsTotal: 1))
    }
}
