// Issue 15, end to end at batch 1: a report batch with `next` stores the batch, then claims for the worker in
// the same exchange (docs/leases.md, "The report that claims"). A malformed `next` is refused before anything is
// stored; a batch whose every attempt is stale claims nothing; a resent batch claims again; the worker daemon asks for its next work with the
// report that ends an attempt, so a worker of one slot takes a job's tasks one report each.

import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

final class ReportThatClaimsTests: XCTestCase {
    private func state(_ cluster: InProcessCluster, of task: TaskID) throws -> String {
        let connection = try PostgresConnection(conninfo: cluster.database, applicationName: "report-claims-test")
        defer { connection.close() }
        return try connection.queryOne("SELECT state FROM tasks WHERE id = $1", [.int(task.rawValue)]).string("state")
    }

    private func claimsByReport(_ http: RawHTTP) async throws -> Double {
        let answer = try await http.send("GET", APIRoute.metrics.path(), token: "admin")
        XCTAssertEqual(answer.status, 200)
        let parsed = try ParsedExposition(String(decoding: answer.body, as: UTF8.self), format: .openMetrics)
        return parsed.value("llmops_task_claims_by_report_total") ?? 0
    }

    func testAReportWithNextStoresTheBatchThenClaimsAndABadNextStoresNothing() async throws {
        let cluster = try InProcessCluster()
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let leased = try await ReportRequests.lease(cluster, http, job: "first", tasks: 1)
        let done = leased.assignments[0]
        _ = try await cluster.admin.submit([ReportRequests.job("more", type: "noop", tasks: 3)])
        let report = ReportBatch(
            workerID: leased.worker, completions: [CompletionReport(taskID: done.taskID, attemptID: done.attemptID)])
        func next(_ worker: WorkerID, maxTasks: Int) -> PollRequest {
            PollRequest(workerID: worker, maxTasks: maxTasks, waitSeconds: 30, available: .zero)
        }

        // Refused before anything is stored: the completion is not applied, nothing is claimed.
        for (bad, field) in [
            (next(leased.worker, maxTasks: 0), "next.maxTasks"), (next(leased.worker, maxTasks: 1025), "next.maxTasks"),
            (next(WorkerID(leased.worker.rawValue + 1), maxTasks: 1), "next.workerID"),
        ] {
            var refused = report
            refused.next = bad
            let answer = try await http.send(
                "POST", APIRoute.workerReports.path(), token: leased.token, json: refused)
            try ReportRequests.expect(answer, 400, .badRequest, mentions: field)
            XCTAssertEqual(try state(cluster, of: done.taskID), "running", "a refused batch stores nothing")
        }
        let noneYet = try await claimsByReport(http)
        XCTAssertEqual(noneYet, 0)

        // Stored, then claimed without waiting (the next's waitSeconds is not used): two of the three queued tasks.
        var claiming = report
        claiming.next = next(leased.worker, maxTasks: 2)
        let started = Date()
        let answer = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: claiming)
        XCTAssertEqual(answer.status, 200, String(decoding: answer.body, as: UTF8.self))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "a report's claim does not hold the answer")
        let response = try answer.decoded(ReportBatchResponse.self)
        XCTAssertEqual(response.accepted, 1)
        let assignments = try XCTUnwrap(response.assignments)
        XCTAssertEqual(assignments.map(\.jobName), ["more", "more"])
        XCTAssertEqual(try state(cluster, of: done.taskID), "succeeded")
        for assignment in assignments { XCTAssertEqual(try state(cluster, of: assignment.taskID), "running") }
        let claimed = try await claimsByReport(http)
        XCTAssertEqual(claimed, 2)

        // Every attempt named is stale (a failure of the attempt that completed): 409, nothing stored or claimed.
        var staleBatch = ReportBatch(
            workerID: leased.worker,
            failures: [FailureReport(taskID: done.taskID, attemptID: done.attemptID, message: "late", retryable: true)])
        staleBatch.next = next(leased.worker, maxTasks: 2)
        let stale = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: staleBatch)
        try ReportRequests.expect(stale, 409, .staleAttempt, mentions: "nothing was changed")
        let afterStale = try await claimsByReport(http)
        XCTAssertEqual(afterStale, 2, "a stale batch claims nothing")

        // A batch resent (its answer lost) is applied once and claims again, as a poll asked again would.
        let resent = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: claiming)
        XCTAssertEqual(resent.status, 200, String(decoding: resent.body, as: UTF8.self))
        let again = try resent.decoded(ReportBatchResponse.self)
        XCTAssertEqual(
            [again.accepted, again.duplicates, again.assignments?.count], [0, 1, 1], "the last queued task")

        // Without `next` the answer has no assignments member, as before.
        let plain = ReportBatch(
            workerID: leased.worker,
            completions: [CompletionReport(taskID: assignments[0].taskID, attemptID: assignments[0].attemptID)])
        let plainAnswer = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: plain)
        XCTAssertEqual(plainAnswer.status, 200)
        XCTAssertNil(try plainAnswer.decoded(ReportBatchResponse.self).assignments)
        await cluster.shutdown()
    }

    func testADaemonOfOneSlotTakesItsNextTaskWithTheReportThatEndsTheLast() async throws {
        let cluster = try InProcessCluster()
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        _ = cluster.startWorker(name: "one-slot", maxTasks: 1)
        try await waitUntil("the worker registered", timeoutSeconds: 20) {
            try await cluster.admin.workers().count == 1
        }
        let tasks = 6
        _ = try await cluster.admin.submit([ReportRequests.job("serial", type: "noop", tasks: tasks)])
        try await waitUntil("the job's \(tasks) tasks succeeded", timeoutSeconds: 60) {
            let tasks = try await cluster.admin.tasks(job: "serial")
            return tasks.count == 6 && tasks.allSatisfy { $0.state == .succeeded }
        }
        // The first task comes from a poll; each later one from the report of the one before. The poll loop may
        // still take one when its one-second wait for a slot ends between a task's end and its report.
        let byReport = try await claimsByReport(http)
        XCTAssertGreaterThanOrEqual(byReport, Double(tasks - 2), "tasks claimed by the reports of the ones before")
        XCTAssertLessThanOrEqual(byReport, Double(tasks - 1), "the first task cannot come from a report")
        await cluster.shutdown()
    }
}
