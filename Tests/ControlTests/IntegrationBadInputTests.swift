// Issue 2: bad manifests and bad requests get clear 4xx JSON errors and change nothing. A control plane
// on a real PostgreSQL and real HTTP (in-process here: nothing about processes is tested), plus the
// `opsctl` binary for the manifests of manifests/examples/bad. Every case checks the status, the error
// code, a telling part of the message, and that no row was added or changed anywhere.

import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class IntegrationBadInputTests: XCTestCase {
    private var cluster: ProcessCluster!
    private var controlPlane: ControlPlane!
    private var http: RawHTTP!

    override func setUpWithError() throws {
        cluster = try ProcessCluster()
        controlPlane = ControlPlane(
            configuration: ControlPlaneConfiguration(
                databaseURL: cluster.databaseURL, adminToken: Secret(cluster.adminToken),
                joinToken: Secret(cluster.joinToken),
                artifactDirectory: cluster.directory.path + "/artifacts", leaseSeconds: 30, heartbeatSeconds: 5,
                maxBodyBytes: 64 << 10), log: { _ in })
        try controlPlane.start()
        http = RawHTTP(baseURL: controlPlane.baseURL)
    }

    override func tearDown() {
        controlPlane?.stop()
        cluster?.shutdown()
        controlPlane = nil
        cluster = nil
    }

    /// Every table a request could touch, with a digest of the mutable columns, so "changed nothing" is checked.
    private func snapshot() throws -> [String: String] {
        try cluster.sql { c in
            var result: [String: String] = [:]
            for (table, digest) in [
                ("jobs", "string_agg(id || state || cancel_requested::text, ',' ORDER BY id)"),
                ("tasks", "string_agg(id || state || attempts, ',' ORDER BY id)"),
                ("task_attempts", "string_agg(id || state, ',' ORDER BY id)"),
                ("workers", "string_agg(id || state || coalesce(token_hash, ''), ',' ORDER BY id)"),
                ("events", "max(id)::text"), ("task_logs", "max(id)::text"), ("metrics", "max(id)::text"),
                ("artifacts", "max(id)::text"), ("job_dependencies", "count(*)::text"),
            ] {
                let row = try c.queryOne("SELECT count(*)::text || ':' || coalesce(\(digest), '') AS d FROM \(table)")
                result[table] = try row.string("d")
            }
            return result
        }
    }

    /// Sends the request and checks: the status, the JSON error code, that the message (and details) contain
    /// `mentions`, and that the database did not change.
    @discardableResult
    private func expectRefused(
        _ method: String, _ path: String, token: String?, body: Data?, status: Int, code: APIErrorCode,
        mentions: [String], file: StaticString = #filePath, line: UInt = #line
    ) async throws -> APIErrorBody {
        let before = try snapshot()
        let response = try await http.send(method, path, token: token, body: body)
        XCTAssertEqual(
            response.status, status, "\(method) \(path): \(String(decoding: response.body, as: UTF8.self))", file: file,
            line: line)
        let error = try response.apiError()
        XCTAssertEqual(error.error.code, code, "\(method) \(path): \(error)", file: file, line: line)
        let text = ([error.error.message] + (error.error.details ?? [])).joined(separator: "\n")
        for expected in mentions {
            XCTAssertTrue(
                text.contains(expected),
                "\(method) \(path): expected the error to mention \"\(expected)\", got:\n\(text)", file: file,
                line: line)
        }
        XCTAssertEqual(try snapshot(), before, "\(method) \(path) changed the database", file: file, line: line)
        return error
    }

    private func manifests(_ documents: String...) throws -> Data {
        let values = try documents.map { try WireCoding.decode(AnyJSON.self, from: Data($0.utf8)) }
        return try WireCoding.encode(SubmitManifestsRequest(documents: values, dryRun: false, source: "test.yaml"))
    }

    private func register(_ name: String) async throws -> RegisterWorkerResponse {
        let request = RegisterWorkerRequest(
            name: name, resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30), version: "test",
            kinds: ["noop"], maxConcurrentTasks: 2)
        let response = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: cluster.joinToken, json: request)
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        return try response.decoded(RegisterWorkerResponse.self)
    }

    // MARK: Manifests

    func testBadManifestsAreRefusedWithFieldPathsAndChangeNothing() async throws {
        // One good job already exists, so the bad submissions have something they could have disturbed.
        let good = try await http.send(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"exists"},"spec":{"type":"noop","tasks":2}}"#
            ))
        XCTAssertEqual(good.status, 201, String(decoding: good.body, as: UTF8.self))

        // Wrong types.
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                """
                {"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"wrong-types"},
                 "spec":{"type":"sleep","replicas":"two","priority":"high",
                         "resources":{"accelerators":[{"type":"gpu-h100","count":"two"}]}}}
                """), status: 422, code: .invalidManifest,
            mentions: [
                #"spec.replicas: expected an integer between 1 and 4096, got "two""#,
                #"spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got "two""#,
                "spec.priority",
            ])
        // Unknown fields, with a suggestion.
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                """
                {"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"unknown-fields","lables":{}},"spec":{"type":"noop","replcas":2}}
                """), status: 422, code: .invalidManifest,
            mentions: [#"spec.replcas: unknown field (did you mean "replicas"?)"#, #"metadata.lables: unknown field"#])
        // Missing names.
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                """
                {"apiVersion":"llmops/v1","kind":"Job","metadata":{},"spec":{"type":"noop"}}
                """), status: 422, code: .invalidManifest, mentions: ["metadata.name: missing required field"])
        // A cycle in after:, next to a valid document (the whole submission is refused, the valid one too).
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"fine"},"spec":{"type":"noop"}}"#,
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"a"},"spec":{"type":"noop","after":["c"]}}"#,
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"b"},"spec":{"type":"noop","after":["a", "exists"]}}"#,
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"c"},"spec":{"type":"noop","after":["b"]}}"#
            ), status: 422, code: .invalidManifest, mentions: ["spec.after: dependency cycle", "a -> c -> b -> a"])
        // A job that depends on itself.
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"selfish"},"spec":{"type":"noop","after":["selfish"]}}"#
            ), status: 422, code: .invalidManifest, mentions: ["dependency cycle"])
        // A dependency on a job that exists nowhere.
        let unknown = try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"orphan"},"spec":{"type":"noop","after":["no-such-job"]}}"#
            ), status: 400, code: .badRequest, mentions: ["no-such-job"])
        XCTAssertFalse(unknown.error.message.isEmpty)
        // A document that is not a mapping at all.
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            body: try manifests(#"["not", "a", "manifest"]"#),
            status: 422, code: .invalidManifest, mentions: ["expected a mapping"])
    }

    /// The example bad manifests through the real CLI: exit status 1, and stderr carries the field paths of
    /// the `.errors` file next to each (line numbers are the CLI's; the server's messages name the paths).
    func testExampleBadManifestsThroughOpsctl() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let directory = root.appendingPathComponent("manifests/examples/bad")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }
            .sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5)
        let before = try snapshot()
        for file in files {
            let expected = try String(
                contentsOf: directory.appendingPathComponent(file.replacingOccurrences(of: ".yaml", with: ".errors")),
                encoding: .utf8
            )
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
            let result = try cluster.run(
                ["apply", "-f", directory.appendingPathComponent(file).path], server: controlPlane.baseURL)
            // 1: a bad manifest (found by opsctl's local validation, the same validator the server runs);
            // 2 is kept for usage errors (unknown flags or commands).
            XCTAssertEqual(result.status, 1, "\(file): \(result.stdout)\(result.stderr)")
            for line in expected {
                // "file.yaml:12: spec.x: message" → "spec.x: message"
                let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                let message =
                    parts.count == 3 && Int(parts[1]) != nil ? parts[2].trimmingCharacters(in: .whitespaces) : line
                let path = message.split(separator: ":").first.map(String.init) ?? message
                XCTAssertTrue(
                    result.stderr.contains(path), "\(file): stderr should name \(path) (\(line)):\n\(result.stderr)")
            }
        }
        XCTAssertEqual(try snapshot(), before)
    }

    // MARK: Requests

    func testBadRequestsAreRefusedAndChangeNothing() async throws {
        let admin = cluster.adminToken
        let one = try await register("node-1")
        let two = try await register("node-2")
        let tokenOne = try XCTUnwrap(one.workerToken)
        let tokenTwo = try XCTUnwrap(two.workerToken)
        let good = try await http.send(
            "POST", APIRoute.manifests.path(), token: admin,
            body: try manifests(
                #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"work"},"spec":{"type":"noop"}}"#))
        XCTAssertEqual(good.status, 201)
        let validSubmission = try manifests(
            #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"more"},"spec":{"type":"noop"}}"#)

        // Tokens.
        try await expectRefused(
            "GET", APIRoute.jobs.path(), token: nil, body: nil, status: 401, code: .unauthorized,
            mentions: ["missing bearer token"])
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: nil, body: validSubmission, status: 401, code: .unauthorized,
            mentions: ["missing bearer token"])
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: "not-a-token", body: validSubmission, status: 401,
            code: .unauthorized,
            mentions: ["not valid"])
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: tokenOne, body: validSubmission, status: 403, code: .forbidden,
            mentions: ["needs the admin token"])
        try await expectRefused(
            "POST", APIRoute.cancelJob.path("work"), token: tokenOne, body: Data("{}".utf8), status: 403,
            code: .forbidden,
            mentions: ["needs the admin token"])
        try await expectRefused(
            "GET", APIRoute.jobs.path(), token: cluster.joinToken, body: nil, status: 403, code: .forbidden,
            mentions: ["needs the admin token"])
        // A worker token acting for another worker.
        let heartbeatForTwo = try WireCoding.encode(
            HeartbeatRequest(workerID: two.workerID, attempts: [], draining: true))
        try await expectRefused(
            "POST", APIRoute.workerHeartbeat.path(), token: tokenOne, body: heartbeatForTwo, status: 403,
            code: .forbidden,
            mentions: ["worker \(one.workerID) may not act for worker \(two.workerID)"])
        let pollForTwo = try WireCoding.encode(
            PollRequest(workerID: two.workerID, maxTasks: 1, waitSeconds: 0, available: .zero))
        try await expectRefused(
            "POST", APIRoute.workerPoll.path(), token: tokenOne, body: pollForTwo, status: 403, code: .forbidden,
            mentions: ["may not act for worker \(two.workerID)"])
        try await expectRefused(
            "POST", APIRoute.workerDeregister.path(), token: tokenOne,
            body: try WireCoding.encode(DeregisterWorkerRequest(workerID: two.workerID, releasedAttempts: [])),
            status: 403, code: .forbidden, mentions: ["may not act for worker"])
        // The join token only registers.
        try await expectRefused(
            "POST", APIRoute.workerPoll.path(), token: cluster.joinToken, body: pollForTwo, status: 403,
            code: .forbidden,
            mentions: ["join token may only register"])

        // Bodies: too large, not JSON, the wrong shape, out-of-range values.
        var huge = Data(
            #"{"documents":[{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"huge"},"spec":{"type":"noop","queue":""#
                .utf8)
        huge.append(Data(repeating: UInt8(ascii: "x"), count: 200 << 10))
        huge.append(Data(#""}}]}"#.utf8))
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: admin, body: huge, status: 413, code: .payloadTooLarge,
            mentions: ["65536"])
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: admin, body: Data(#"{"documents": [ {"apiVersion": "#.utf8),
            status: 400, code: .badRequest, mentions: ["malformed JSON"])
        try await expectRefused(
            "POST", APIRoute.manifests.path(), token: admin, body: Data(), status: 400, code: .badRequest,
            mentions: ["body is empty"])
        try await expectRefused(
            "POST", APIRoute.workerPoll.path(), token: tokenOne, body: Data(#"{"maxTasks": 1}"#.utf8),
            status: 400, code: .badRequest, mentions: ["malformed JSON", "workerID"])
        let zeroTasks = try WireCoding.encode(
            PollRequest(workerID: one.workerID, maxTasks: 0, waitSeconds: 0, available: .zero))
        try await expectRefused(
            "POST", APIRoute.workerPoll.path(), token: tokenOne, body: zeroTasks, status: 400, code: .badRequest,
            mentions: ["maxTasks: expected an integer in 1...1024, got 0"])
        try await expectRefused(
            "GET", APIRoute.withQuery(APIRoute.jobs.path(), [("state", "sleeping")]), token: admin, body: nil,
            status: 400, code: .badRequest, mentions: ["query parameter state", "sleeping"])
        try await expectRefused(
            "GET", "/v1/nothing-here", token: admin, body: nil, status: 404, code: .notFound, mentions: ["no route"])
        try await expectRefused(
            "DELETE", APIRoute.jobs.path(), token: admin, body: nil, status: 405, code: .methodNotAllowed,
            mentions: ["DELETE"])
        try await expectRefused(
            "GET", APIRoute.job.path("no-such-job"), token: admin, body: nil, status: 404, code: .notFound,
            mentions: ["no job named no-such-job"])

        // Reports: only the holder of an attempt may report it, a retried report changes nothing twice, and a
        // late report for a finished attempt is refused with 409.
        let poll = try await http.send(
            "POST", APIRoute.workerPoll.path(), token: tokenOne,
            json: PollRequest(workerID: one.workerID, maxTasks: 4, waitSeconds: 5, available: .zero))
        let assignment = try XCTUnwrap(
            try poll.decoded(PollResponse.self).assignments.first, "the job's task is leased to node-1")
        let completion = ReportBatch(
            workerID: one.workerID,
            completions: [
                CompletionReport(
                    taskID: assignment.taskID, attemptID: assignment.attemptID,
                    result: ["ok": true])
            ])
        var stolen = completion
        stolen.workerID = two.workerID
        try await expectRefused(
            "POST", APIRoute.workerReports.path(), token: tokenTwo, body: try WireCoding.encode(stolen), status: 409,
            code: .staleAttempt, mentions: ["\(assignment.attemptID)", "nothing was changed"])
        let first = try await http.send("POST", APIRoute.workerReports.path(), token: tokenOne, json: completion)
        XCTAssertEqual(first.status, 200, String(decoding: first.body, as: UTF8.self))
        XCTAssertEqual(try first.decoded(ReportBatchResponse.self).accepted, 1)
        let afterFirst = try snapshot()
        let retried = try await http.send("POST", APIRoute.workerReports.path(), token: tokenOne, json: completion)
        XCTAssertEqual(retried.status, 200)
        let retriedResponse = try retried.decoded(ReportBatchResponse.self)
        XCTAssertEqual(retriedResponse.accepted, 0)
        XCTAssertEqual(retriedResponse.duplicates, 1)
        XCTAssertEqual(try snapshot(), afterFirst, "a retried report changes nothing")
        let late = ReportBatch(
            workerID: one.workerID,
            failures: [
                FailureReport(
                    taskID: assignment.taskID, attemptID: assignment.attemptID,
                    message: "late", retryable: true)
            ])
        try await expectRefused(
            "POST", APIRoute.workerReports.path(), token: tokenOne, body: try WireCoding.encode(late), status: 409,
            code: .staleAttempt, mentions: ["no longer live"])
        XCTAssertEqual(try cluster.count("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'"), 1)
    }
}
