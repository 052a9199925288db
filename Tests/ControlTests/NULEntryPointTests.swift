// Issue 16, point 3: NUL bytes in log lines, metric names, progress messages, worker names or JSON results gave
// 500s (PostgreSQL stores U+0000 neither in text nor in jsonb). `ReportNULTests` covers a report's fields; this
// table sends one request per route and text field that reaches the database — registration (every field, a
// label key, the new `workerToken`), heartbeat, poll, every report item, manifests (job and queue documents), the
// training exchange, the blob list, every path and query parameter — each holding one NUL in an otherwise valid
// request. Each must be a 400 naming the field, never a 5xx, and none may change a row.

import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

final class NULEntryPointTests: XCTestCase {
    private struct Case {
        let method: String
        let path: String
        let token: String
        let body: Data?
        /// What the 400's message must contain: the field's path and the reason.
        let mentions: String
    }

    func testEveryRouteRefusesANULWith400NamingTheFieldAndChangesNothing() async throws {
        let cluster = try InProcessCluster(leaseSeconds: 60)
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let leased = try await ReportRequests.lease(cluster, http, job: "nul", tasks: 1)
        let a = leased.assignments[0]
        let job = try await cluster.admin.job("nul")
        let before = try Self.rowCounts(cluster)

        let nul = "\u{0}"
        let sha = String(repeating: "a", count: 64)
        func register(_ edit: (inout RegisterWorkerRequest) -> Void) throws -> Data {
            var request = RegisterWorkerRequest(
                name: "fresh", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
                kinds: ["noop"], maxConcurrentTasks: 1)
            edit(&request)
            return try WireCoding.encode(request)
        }
        func report(_ batch: ReportBatch) throws -> Data { try WireCoding.encode(batch) }
        func manifest(_ document: AnyJSON) throws -> Data {
            try WireCoding.encode(SubmitManifestsRequest(documents: [document]))
        }
        func artifact(_ edit: (inout ArtifactRecord) -> Void) throws -> Data {
            var record = ArtifactRecord(
                name: "ckpt", location: "/tmp/ckpt", sha256: sha, bytes: 1, kind: "checkpoint", metadata: nil)
            edit(&record)
            return try report(
                ReportBatch(
                    workerID: leased.worker,
                    artifacts: [ArtifactReport(taskID: a.taskID, attemptID: a.attemptID, artifact: record)]))
        }
        let worker = leased.token
        let problem = "contains a NUL byte (U+0000), which PostgreSQL cannot store"
        let cases: [Case] = [
            // Registration: every text field, a label's and an accelerator's key, the worker's own token.
            Case(
                method: "POST", path: APIRoute.workerRegister.path(), token: "join",
                body: try register { $0.name = "node\(nul)1" }, mentions: "name: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerRegister.path(), token: "join",
                body: try register { $0.version = "1.0\(nul)" }, mentions: "version: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerRegister.path(), token: "join",
                body: try register { $0.kinds = ["noop", "sh\(nul)ell"] }, mentions: "kinds[1]: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerRegister.path(), token: "join",
                body: try register { $0.labels = ["zo\(nul)ne": "a"] },
                mentions: "labels: a key contains a NUL byte (U+0000)"),
            Case(
                method: "POST", path: APIRoute.workerRegister.path(), token: "join",
                body: try register { $0.resources.accelerators = [AcceleratorType(rawValue: "gpu\(nul)"): 1] },
                mentions: "resources.accelerators: a key contains a NUL byte (U+0000)"),
            Case(
                method: "POST", path: APIRoute.workerRegister.path(), token: "join",
                body: try register { $0.workerToken = String(repeating: "b", count: 40) + nul },
                mentions: "workerToken: \(problem)"),
            // Heartbeat and poll.
            Case(
                method: "POST", path: APIRoute.workerHeartbeat.path(), token: worker,
                body: try WireCoding.encode(
                    HeartbeatRequest(workerID: leased.worker, attempts: [], cachedShards: ["http://x/a\(nul)"])),
                mentions: "cachedShards[0]: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerPoll.path(), token: worker,
                body: try WireCoding.encode(
                    PollRequest(
                        workerID: leased.worker, maxTasks: 1, waitSeconds: 0,
                        available: Resources(cpuMillis: 1000, accelerators: [AcceleratorType(rawValue: "gpu\(nul)"): 1])
                    )),
                mentions: "available.accelerators: a key contains a NUL byte (U+0000)"),
            // Reports: every item's text, an artifact's fields, a result's key and value.
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try report(
                    ReportBatch(workerID: leased.worker, logs: [ReportRequests.line(a, 1, "printed \(nul) this")])),
                mentions: "logs[0].message: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try report(
                    ReportBatch(workerID: leased.worker, metrics: [ReportRequests.metric(a, "lo\(nul)ss")])),
                mentions: "metrics[0].name: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try report(
                    ReportBatch(
                        workerID: leased.worker,
                        progress: [
                            ProgressReport(taskID: a.taskID, attemptID: a.attemptID, fraction: 0.1, message: "\(nul)")
                        ])),
                mentions: "progress[0].message: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try artifact { $0.name = "ck\(nul)pt" }, mentions: "artifacts[0].artifact.name: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try artifact { $0.location = "/tmp/\(nul)" },
                mentions: "artifacts[0].artifact.location: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try report(
                    ReportBatch(
                        workerID: leased.worker,
                        completions: [
                            CompletionReport(
                                taskID: a.taskID, attemptID: a.attemptID, result: .object(["ke\(nul)y": 1]))
                        ])),
                mentions: "completions[0].result: a key contains a NUL byte (U+0000)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try report(
                    ReportBatch(
                        workerID: leased.worker,
                        completions: [
                            CompletionReport(
                                taskID: a.taskID, attemptID: a.attemptID,
                                result: ["nested": ["deep": [.string("x\(nul)")]]])
                        ])),
                mentions: "completions[0].result.nested.deep[0]: \(problem)"),
            Case(
                method: "POST", path: APIRoute.workerReports.path(), token: worker,
                body: try report(
                    ReportBatch(
                        workerID: leased.worker,
                        failures: [
                            FailureReport(taskID: a.taskID, attemptID: a.attemptID, message: "\(nul)", retryable: false)
                        ])),
                mentions: "failures[0].message: \(problem)"),
            // Manifests: a job's name, type, queue and settings; a queue document's name; the source label.
            Case(
                method: "POST", path: APIRoute.manifests.path(), token: "admin",
                body: try manifest(ReportRequests.job("j\(nul)", type: "noop", tasks: 1)),
                mentions: "documents[0].metadata.name: \(problem)"),
            Case(
                method: "POST", path: APIRoute.manifests.path(), token: "admin",
                body: try manifest(ReportRequests.job("j", type: "no\(nul)op", tasks: 1)),
                mentions: "documents[0].spec.type: \(problem)"),
            Case(
                method: "POST", path: APIRoute.manifests.path(), token: "admin",
                body: try manifest(
                    ReportRequests.job(
                        "j", type: "shell", tasks: 1, settings: ["command": ["sh", "-c", .string("echo \(nul)")]])),
                mentions: "documents[0].spec.shell.command[2]: \(problem)"),
            Case(
                method: "POST", path: APIRoute.manifests.path(), token: "admin",
                body: try manifest(
                    [
                        "apiVersion": "llmops/v1", "kind": "Queue", "metadata": ["name": .string("q\(nul)")],
                        "spec": ["weight": 1],
                    ]),
                mentions: "documents[0].metadata.name: \(problem)"),
            Case(
                method: "POST", path: APIRoute.manifests.path(), token: "admin",
                body: try WireCoding.encode(
                    SubmitManifestsRequest(
                        documents: [ReportRequests.job("j", type: "noop", tasks: 1)], source: "a\(nul).yaml")),
                mentions: "source: \(problem)"),
            // The training exchange and the blob list.
            Case(
                method: "PUT", path: APIRoute.putExchangeEntry.path(job.id.description, "entry"), token: worker,
                body: try WireCoding.encode(
                    ExchangePutRequest(location: "cp://blobs/\(nul)", sha256: sha, bytes: 1, exclusive: false)),
                mentions: "location: \(problem)"),
            Case(
                method: "PUT", path: APIRoute.putExchangeEntry.path(job.id.description, "en\(nul)try"), token: worker,
                body: try WireCoding.encode(
                    ExchangePutRequest(location: "cp://blobs/\(sha)", sha256: sha, bytes: 1, exclusive: false)),
                mentions: "path parameter name: contains a NUL byte"),
            Case(
                method: "POST", path: APIRoute.missingBlobs.path(), token: worker,
                body: try WireCoding.encode(MissingBlobsRequest(sha256: [sha + nul])),
                mentions: "sha256[0]: \(problem)"),
        ]
        // Every path parameter and a query parameter of each kind.
        let parameters: [(String, String, String)] = [
            ("POST", APIRoute.cancelJob.path("nul\(nul)"), "admin"),
            ("GET", APIRoute.job.path("nul\(nul)"), "admin"),
            ("GET", APIRoute.jobLogs.path("nul\(nul)"), "admin"),
            ("GET", APIRoute.dataset.path("d\(nul)"), "admin"),
            ("GET", APIRoute.datasetFiles.path("d\(nul)"), worker),
            ("DELETE", APIRoute.deleteQueue.path("default\(nul)"), "admin"),
            ("DELETE", APIRoute.deleteExchangeEntry.path(job.id.description, "e\(nul)"), worker),
            ("GET", APIRoute.jobs.path() + "?queue=default%00", "admin"),
            ("GET", APIRoute.jobMetrics.path("nul") + "?name=loss%00", "admin"),
            ("GET", APIRoute.listExchange.path(job.id.description) + "?prefix=a%00", worker),
        ]
        let all =
            cases
            + parameters.map { Case(method: $0.0, path: $0.1, token: $0.2, body: nil, mentions: "contains a NUL byte") }
        for item in all {
            let response = try await http.send(item.method, item.path, token: item.token, body: item.body)
            let text = String(decoding: response.body, as: UTF8.self)
            XCTAssertEqual(response.status, 400, "\(item.method) \(item.path) → \(text)")
            XCTAssertTrue(
                text.contains(item.mentions), "\(item.method) \(item.path): expected \"\(item.mentions)\" in \(text)")
        }
        XCTAssertEqual(try Self.rowCounts(cluster), before, "no refused request changed a row")
        let task = try await cluster.admin.tasks(job: "nul").first
        XCTAssertEqual(task?.state, .running)
        await cluster.shutdown()
    }

    /// Rows of every table a refused request could have written.
    private static func rowCounts(_ cluster: InProcessCluster) throws -> [String: Int] {
        let connection = try PostgresConnection(conninfo: cluster.database, applicationName: "nul-entry-test")
        defer { connection.close() }
        var counts: [String: Int] = [:]
        for table in [
            "workers", "jobs", "tasks", "task_attempts", "events", "task_logs", "metrics", "artifacts", "queues",
            "training_exchange", "datasets",
        ] {
            counts[table] = try connection.queryOne("SELECT count(*) AS n FROM \(table)").int("n")
        }
        return counts
    }
}
