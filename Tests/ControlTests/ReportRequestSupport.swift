// Helpers for the tests of what a request body may hold and what a refused report batch leaves behind
// (issue 22, points 2, 7 and 8): a worker registered over plain HTTP with attempts it leased, report items,
// row counts and error checks.

import APIClient
import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

enum ReportRequests {
    /// A worker registered over HTTP (kinds: noop) and the attempts it leased of a fresh noop job.
    struct Leased {
        let worker: WorkerID
        let token: String
        let assignments: [TaskAssignment]
    }

    static func lease(_ cluster: InProcessCluster, _ http: RawHTTP, job: String, tasks: Int) async throws -> Leased {
        let request = RegisterWorkerRequest(
            name: "worker-\(job)", resources: Resources(cpuMillis: 64_000, memoryBytes: 64 << 30),
            version: "test", kinds: ["noop"], maxConcurrentTasks: tasks)
        let registered = try await http.send("POST", APIRoute.workerRegister.path(), token: "join", json: request)
        XCTAssertEqual(registered.status, 200, String(decoding: registered.body, as: UTF8.self))
        let registration = try registered.decoded(RegisterWorkerResponse.self)
        let token = try XCTUnwrap(registration.workerToken)
        _ = try await cluster.admin.submit([Self.job(job, type: "noop", tasks: tasks)])
        var assignments: [TaskAssignment] = []
        try await waitUntil("\(tasks) task(s) of \(job) leased", timeoutSeconds: 20) {
            let poll = try await http.send(
                "POST", APIRoute.workerPoll.path(), token: token,
                json: PollRequest(workerID: registration.workerID, maxTasks: tasks, waitSeconds: 1, available: .zero))
            assignments += try poll.decoded(PollResponse.self).assignments
            return assignments.count == tasks
        }
        return Leased(
            worker: registration.workerID, token: token, assignments: assignments.sorted { $0.taskIndex < $1.taskIndex }
        )
    }

    /// A job manifest of `tasks` tasks of `type`, with the kind's settings when given.
    static func job(_ name: String, type: String, tasks: Int, settings: AnyJSON? = nil) -> AnyJSON {
        var spec: [String: AnyJSON] = [
            "type": .string(type), "tasks": .int(Int64(tasks)), "resources": ["cpu": 1, "memory": "64Mi"],
        ]
        if let settings { spec[type] = settings }
        return ["apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)], "spec": .object(spec)]
    }

    static func count(_ cluster: InProcessCluster, _ table: String) throws -> Int {
        let connection = try PostgresConnection(conninfo: cluster.database, applicationName: "report-request-test")
        defer { connection.close() }
        return try connection.queryOne("SELECT count(*) AS n FROM \(table)").int("n")
    }

    static func line(_ a: TaskAssignment, _ sequence: Int64, _ text: String) -> LogLineReport {
        LogLineReport(
            taskID: a.taskID, attemptID: a.attemptID, sequence: sequence, time: Date(), stream: .stdout, message: text)
    }

    static func metric(_ a: TaskAssignment, _ name: String, step: Int64 = 1) -> MetricReport {
        MetricReport(taskID: a.taskID, attemptID: a.attemptID, name: name, step: step, value: 1.5, time: Date())
    }

    /// Expects `status` with `code` and a message containing `mentions`.
    static func expect(
        _ response: HTTPResponseSpec, _ status: Int, _ code: APIErrorCode, mentions: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(response.status, status, String(decoding: response.body, as: UTF8.self), file: file, line: line)
        let error = try response.apiError()
        XCTAssertEqual(error.error.code, code, "\(error)", file: file, line: line)
        XCTAssertTrue(
            error.error.message.contains(mentions), "expected \"\(mentions)\" in: \(error.error.message)", file: file,
            line: line)
    }
}
