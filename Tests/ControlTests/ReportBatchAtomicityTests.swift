// Issue 22, point 8: a refused report batch stores nothing. Before, logs and metrics were committed before a
// later item of the same batch was refused: a 400, a 409 conflict, or the 409 that says "nothing was changed"
// (every attempt named is stale) all left rows behind. Now the batch is validated whole first and written in
// one transaction, which a refusal rolls back.

import APITypes
import ClusterModel
import Foundation
import TestSupport
import XCTest

final class ReportBatchAtomicityTests: XCTestCase {
    func testABatchRefusedPartWayStoresNothing() async throws {
        let cluster = try InProcessCluster()
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let leased = try await ReportRequests.lease(cluster, http, job: "batches", tasks: 2)
        let (a, b) = (leased.assignments[0], leased.assignments[1])
        let sha = String(repeating: "b", count: 64)

        // 400: logs and metrics first, then an artifact with a malformed checksum.
        let invalid = ReportBatch(
            workerID: leased.worker, logs: [ReportRequests.line(a, 1, "one"), ReportRequests.line(a, 2, "two")],
            metrics: [ReportRequests.metric(a, "loss")],
            artifacts: [
                ArtifactReport(
                    taskID: a.taskID, attemptID: a.attemptID,
                    artifact: ArtifactRecord(name: "ckpt", location: "/tmp/ckpt", sha256: "not-hex", bytes: 1))
            ])
        let invalidAnswer = try await http.send(
            "POST", APIRoute.workerReports.path(), token: leased.token, json: invalid)
        try ReportRequests.expect(invalidAnswer, 400, .badRequest, mentions: "artifacts[0].artifact.sha256")
        XCTAssertEqual(
            try ReportRequests.count(cluster, "task_logs"), 0, "a batch refused as invalid stores no log line")
        XCTAssertEqual(try ReportRequests.count(cluster, "metrics"), 0, "a batch refused as invalid stores no metric")

        // 409 conflict: an artifact registered again with other content, after logs of another attempt.
        let first = ReportBatch(
            workerID: leased.worker,
            artifacts: [
                ArtifactReport(
                    taskID: a.taskID, attemptID: a.attemptID,
                    artifact: ArtifactRecord(name: "ckpt", location: "/tmp/ckpt", sha256: sha, bytes: 1))
            ])
        let registered = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: first)
        XCTAssertEqual(registered.status, 200, String(decoding: registered.body, as: UTF8.self))
        var other = first
        other.logs = [ReportRequests.line(b, 1, "b's line")]
        other.artifacts[0].artifact.sha256 = String(repeating: "c", count: 64)
        let conflictAnswer = try await http.send(
            "POST", APIRoute.workerReports.path(), token: leased.token, json: other)
        try ReportRequests.expect(conflictAnswer, 409, .conflict, mentions: "already registered")
        XCTAssertEqual(
            try ReportRequests.count(cluster, "task_logs"), 0, "a batch refused as conflicting stores no log line")

        // 409 stale: every attempt named is no longer live ("nothing was changed"), after its logs and metrics.
        let done = ReportBatch(
            workerID: leased.worker, completions: [CompletionReport(taskID: a.taskID, attemptID: a.attemptID)])
        let completed = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: done)
        XCTAssertEqual(completed.status, 200, String(decoding: completed.body, as: UTF8.self))
        let late = ReportBatch(
            workerID: leased.worker, logs: [ReportRequests.line(a, 3, "late")],
            metrics: [ReportRequests.metric(a, "late")],
            failures: [
                FailureReport(taskID: a.taskID, attemptID: a.attemptID, message: "late failure", retryable: true)
            ])
        let staleAnswer = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: late)
        try ReportRequests.expect(staleAnswer, 409, .staleAttempt, mentions: "nothing was changed")
        XCTAssertEqual(
            try ReportRequests.count(cluster, "task_logs"), 0, "a 409 that says nothing was changed stored no log line")
        XCTAssertEqual(
            try ReportRequests.count(cluster, "metrics"), 0, "a 409 that says nothing was changed stored no metric")

        // A batch naming a live attempt next to the stale one is applied (200) and lists the stale one.
        let mixed = ReportBatch(
            workerID: leased.worker, logs: [ReportRequests.line(b, 1, "b's line")],
            failures: [
                FailureReport(taskID: a.taskID, attemptID: a.attemptID, message: "late failure", retryable: true)
            ])
        let applied = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: mixed)
        XCTAssertEqual(applied.status, 200, String(decoding: applied.body, as: UTF8.self))
        XCTAssertEqual(try applied.decoded(ReportBatchResponse.self).staleAttempts, [a.attemptID])
        XCTAssertEqual(try ReportRequests.count(cluster, "task_logs"), 1)
        await cluster.shutdown()
    }
}
