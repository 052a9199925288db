// The long-poll is woken when the worker's own report frees the capacity its poll found used up (found by
// the replica test: polls sent while completions were still in flight slept their whole wait). Real
// PostgreSQL, real HTTP, the worker protocol spoken by hand so the race is deterministic.

import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class IntegrationLongPollTests: XCTestCase {
    private var cluster: ProcessCluster!
    private var controlPlane: ControlPlane!

    override func setUpWithError() throws {
        cluster = try ProcessCluster()
        controlPlane = try cluster.startInProcessControlPlane(leaseSeconds: 60, heartbeatSeconds: 10)
    }

    override func tearDown() {
        controlPlane?.stop()
        cluster?.shutdown()
        controlPlane = nil
        cluster = nil
    }

    func testWaitingPollIsWokenWhenTheWorkersReportFreesCapacity() async throws {
        let http = RawHTTP(baseURL: controlPlane.baseURL)
        let registration = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: cluster.joinToken,
            json: RegisterWorkerRequest(
                name: "one-slot", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
                kinds: ["noop"], maxConcurrentTasks: 1))
        let worker = try registration.decoded(RegisterWorkerResponse.self)
        let token = try XCTUnwrap(worker.workerToken)
        let document = try WireCoding.decode(
            AnyJSON.self,
            from: Data(
                """
                {"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"two"},"spec":{"type":"noop","tasks":2,"resources":{"cpu":1}}}
                """.utf8))
        let submitted = try await http.send(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            json: SubmitManifestsRequest(documents: [document], dryRun: false, source: nil))
        XCTAssertEqual(submitted.status, 201, String(decoding: submitted.body, as: UTF8.self))

        let poll = PollRequest(workerID: worker.workerID, maxTasks: 4, waitSeconds: 25, available: .zero)
        let first = try await http.send("POST", APIRoute.workerPoll.path(), token: token, json: poll).decoded(
            PollResponse.self)
        XCTAssertEqual(first.assignments.count, 1, "one cpu: one task at a time")
        let assignment = try XCTUnwrap(first.assignments.first)

        // The next poll finds the worker full and waits; the completion arrives meanwhile.
        let started = Date()
        let pollBody = try WireCoding.encode(poll)
        let waiting = Task {
            try await http.send("POST", APIRoute.workerPoll.path(), token: token, body: pollBody, timeoutSeconds: 60)
        }
        try await Task.sleep(nanoseconds: 500_000_000)
        let report = try await http.send(
            "POST", APIRoute.workerReports.path(), token: token,
            json: ReportBatch(
                workerID: worker.workerID,
                completions: [CompletionReport(taskID: assignment.taskID, attemptID: assignment.attemptID)]))
        XCTAssertEqual(report.status, 200, String(decoding: report.body, as: UTF8.self))
        let second = try await waiting.value.decoded(PollResponse.self)
        let waited = Date().timeIntervalSince(started)
        XCTAssertEqual(second.assignments.count, 1, "the waiting poll got the second task")
        XCTAssertNotEqual(second.assignments.first?.taskID, assignment.taskID)
        XCTAssertLessThan(waited, 15, "the poll was woken by the report, not by the end of its 25 s wait")
    }
}
