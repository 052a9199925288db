// Issue 22, point 2: one NUL byte wedged a worker. A task printing `\0` made its report batch get a 500
// (PostgreSQL cannot store U+0000), the worker resent that batch forever, and the batch carried every other
// attempt's completion. Now: every text field of every request is checked for NULs (400 naming the field,
// nothing stored), the worker escapes NULs in what tasks print, and an item the control plane still refuses is
// split out of its batch and quarantined while the rest is delivered.

import APITypes
import ClusterModel
import Foundation
import TestSupport
import Workers
import XCTest

final class ReportNULTests: XCTestCase {
    /// Every text field of a report, a registration, a manifest and a path: 400 naming the field, nothing stored.
    func testTextWithANULIsRefusedWith400NamingTheFieldAndStoresNothing() async throws {
        let cluster = try InProcessCluster()
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let leased = try await ReportRequests.lease(cluster, http, job: "nul", tasks: 1)
        let a = leased.assignments[0]
        let sha = String(repeating: "a", count: 64)
        let cases: [(ReportBatch, String)] = [
            (
                ReportBatch(
                    workerID: leased.worker,
                    logs: ["fine", "ok", "still ok", "before\u{0}after"].enumerated().map {
                        ReportRequests.line(a, Int64($0.offset + 1), $0.element)
                    }), "logs[3].message"
            ),
            (ReportBatch(workerID: leased.worker, metrics: [ReportRequests.metric(a, "loss\u{0}")]), "metrics[0].name"),
            (
                ReportBatch(
                    workerID: leased.worker,
                    progress: [
                        ProgressReport(taskID: a.taskID, attemptID: a.attemptID, fraction: 0.5, message: "half\u{0}way")
                    ]),
                "progress[0].message"
            ),
            (
                ReportBatch(
                    workerID: leased.worker,
                    artifacts: [
                        ArtifactReport(
                            taskID: a.taskID, attemptID: a.attemptID,
                            artifact:
                                ArtifactRecord(
                                    name: "ckpt", location: "/tmp/ckpt", sha256: sha, bytes: 1, kind: "checkpoint",
                                    metadata: ["note": "a\u{0}b"]))
                    ]),
                "artifacts[0].artifact.metadata.note"
            ),
            (
                ReportBatch(
                    workerID: leased.worker,
                    completions: [
                        CompletionReport(taskID: a.taskID, attemptID: a.attemptID, result: ["out": ["x", "y\u{0}"]])
                    ]),
                "completions[0].result.out[1]"
            ),
            (
                ReportBatch(
                    workerID: leased.worker,
                    failures: [
                        FailureReport(taskID: a.taskID, attemptID: a.attemptID, message: "boom\u{0}", retryable: true)
                    ]),
                "failures[0].message"
            ),
        ]
        for (batch, field) in cases {
            let response = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: batch)
            try ReportRequests.expect(
                response, 400, .badRequest,
                mentions: "\(field): contains a NUL byte (U+0000), which PostgreSQL cannot store")
        }
        // Registration labels, a manifest and a job name in the path.
        let labelled = RegisterWorkerRequest(
            name: "labelled", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30),
            labels: ["zone": "a\u{0}"], version: "test", kinds: ["noop"], maxConcurrentTasks: 1)
        let labelAnswer = try await http.send("POST", APIRoute.workerRegister.path(), token: "join", json: labelled)
        try ReportRequests.expect(labelAnswer, 400, .badRequest, mentions: "labels.zone: contains a NUL byte")
        let manifest = SubmitManifestsRequest(documents: [ReportRequests.job("bad\u{0}name", type: "noop", tasks: 1)])
        let manifestAnswer = try await http.send("POST", APIRoute.manifests.path(), token: "admin", json: manifest)
        try ReportRequests.expect(
            manifestAnswer, 400, .badRequest, mentions: "documents[0].metadata.name: contains a NUL byte")
        let pathAnswer = try await http.send("GET", "/v1/jobs/a%2500b", token: "admin")
        try ReportRequests.expect(pathAnswer, 400, .badRequest, mentions: "contains a NUL byte")

        XCTAssertEqual(try ReportRequests.count(cluster, "task_logs"), 0)
        XCTAssertEqual(try ReportRequests.count(cluster, "metrics"), 0)
        XCTAssertEqual(try ReportRequests.count(cluster, "artifacts"), 0)
        XCTAssertEqual(try ReportRequests.count(cluster, "workers"), 1)
        XCTAssertEqual(try ReportRequests.count(cluster, "jobs"), 1)
        let task = try await cluster.admin.tasks(job: "nul").first
        XCTAssertEqual(task?.state, .running, "no refused report touched the task")
        await cluster.shutdown()
    }

    /// The issue's case: a shell task prints a NUL next to 20 others. Before, its batch got a 500 forever and
    /// held every other completion back; now the worker escapes the NUL (U+FFFD) and every task succeeds.
    func testATaskPrintingANULDoesNotWedgeItsWorker() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "shell", cpuMillis: 8000, maxTasks: 8)
        _ = try await cluster.admin.submit([
            ReportRequests.job(
                "prints-nul", type: "shell", tasks: 1,
                settings: ["command": ["sh", "-c", #"printf 'before\000after\n'"#]]),
            ReportRequests.job(
                "plain", type: "shell", tasks: 20, settings: ["command": ["sh", "-c", "echo task $OPS_TASK_INDEX"]]),
        ])
        try await waitUntil("both jobs succeed", timeoutSeconds: 30, intervalSeconds: 0.1) {
            let states = [try await cluster.admin.job("prints-nul").state, try await cluster.admin.job("plain").state]
            return states.allSatisfy { $0 == .succeeded }
        }
        let lines = try await cluster.admin.logs(job: "prints-nul").lines.map(\.message)
        XCTAssertTrue(lines.contains("before\u{FFFD}after"), "the NUL is stored as U+FFFD: \(lines)")
        await cluster.shutdown()
    }

    /// An item the control plane refuses on its own (here: a result and a metric name holding a NUL, which the
    /// worker does not escape) is split out of its batch and quarantined; every other item is delivered.
    func testTheWorkerQuarantinesAReportItemTheControlPlaneRefuses() async throws {
        let cluster = try InProcessCluster()
        let logged = LockedLines()
        var registry = ExecutorRegistry.builtins()
        registry.register(kind: "noop", UnstorableReportsExecutor())
        cluster.startWorker(
            name: "reports", cpuMillis: 8000, maxTasks: 8, registry: registry, log: { logged.append($0) })
        _ = try await cluster.admin.submit([ReportRequests.job("mixed", type: "noop", tasks: 12)])
        try await waitUntil("every task finishes", timeoutSeconds: 30, intervalSeconds: 0.1) {
            try await cluster.admin.tasks(job: "mixed").allSatisfy { $0.state == .succeeded || $0.state == .failed }
        }
        let tasks = try await cluster.admin.tasks(job: "mixed").sorted { $0.index < $1.index }
        XCTAssertEqual(tasks.map(\.state), [.failed] + Array(repeating: .succeeded, count: 11))
        let failure = tasks[0].lastError ?? ""
        XCTAssertTrue(
            failure.contains("refused") && failure.contains("completions[0].result.text"),
            "the refused completion fails its task and says why: \(failure)")
        XCTAssertEqual(tasks[0].attempts.count, 1, "a result another attempt would repeat is not retried")
        let metrics = try await cluster.admin.metrics(job: "mixed").map(\.name)
        XCTAssertEqual(metrics, ["good"], "the refused metric is dropped, the good one of the same task stored")
        XCTAssertTrue(
            logged.lines.contains { $0.contains("quarantined") && $0.contains("metrics[0].name") },
            logged.lines.joined(separator: "\n"))
        await cluster.shutdown()
    }
}

/// Reports the control plane cannot store, which the worker sends as they are: task 0's result holds a NUL,
/// task 1 records a metric whose name holds one (and a good one). Every other task just logs a line.
private struct UnstorableReportsExecutor: JobExecutor {
    func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        switch task.taskIndex {
        case 0:
            return TaskResult(result: ["text": "a\u{0}b"])
        case 1:
            context.metric("bad\u{0}name", step: 1, value: 1)
            context.metric("good", step: 1, value: 2)
        default:
            context.log("task \(task.taskIndex)")
        }
        return TaskResult(result: ["task": .int(Int64(task.taskIndex))])
    }
}

final class LockedLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
